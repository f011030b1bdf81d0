"""`telemetry consent` honours the config's sinks and handlers, and its mistakes are one
line on stderr naming the store (never its password), with exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry_core._cli import main
from telemetry_core.consent import CONSENT_SCHEMA_ID

OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"


def test_grant_writes_the_decision_event_to_the_configs_file_sink(tmp_path: Path, capsys):
    config = tmp_path / "telemetry.json"
    config.write_text(json.dumps({"EventLog": {
        "allowed_schemas": {OPENED: {"allowed_properties": ["path"]}, CONSENT_SCHEMA_ID: {}},
        "consent_store": f"sqlite:///{tmp_path / 'consent.sqlite3'}",
        "sinks": [{"type": "file", "path": f"{tmp_path}/events/"}]}}))
    assert main(["consent", "grant", "--user", "ada", "--schema", OPENED,
                 "--config", str(config)]) == 0
    assert "recorded: yes of ada" in capsys.readouterr().out
    lines = [json.loads(line) for f in (tmp_path / "events").rglob("*") if f.is_file()
             for line in f.read_text().splitlines()]
    decisions = [e for e in lines if e["__schema__"] == CONSENT_SCHEMA_ID]
    assert len(decisions) == 1
    assert decisions[0]["scope"] == OPENED and decisions[0]["granted"] is True


def test_show_opens_no_sink(tmp_path: Path, capsys):
    config = tmp_path / "telemetry.json"
    config.write_text(json.dumps({"EventLog": {
        "allowed_schemas": [OPENED],
        "consent_store": f"sqlite:///{tmp_path / 'consent.sqlite3'}",
        "sinks": [{"type": "file", "path": f"{tmp_path}/events/"}]}}))
    assert main(["consent", "show", "--user", "ada", "--config", str(config)]) == 0
    assert not (tmp_path / "events").exists()


@pytest.mark.parametrize("store,named", [
    ("sqlite:///{tmp}/blocker/consent.sqlite3", "sqlite:///{tmp}/blocker/consent.sqlite3"),
    ("postgresql://ada:s3cret@127.0.0.1:1/db", "postgresql+psycopg://ada:***@127.0.0.1:1/db"),
])
def test_a_store_that_cannot_open_is_one_line_naming_it(tmp_path: Path, capsys, store, named):
    (tmp_path / "blocker").write_text("a file where the store's directory would be")
    code = main(["consent", "history", "--store", store.format(tmp=tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1, err
    assert named.format(tmp=tmp_path) in err and "s3cret" not in err
