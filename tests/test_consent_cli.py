"""`telemetry consent ...` and `telemetry notice` with consent modes, deployment facts
and a user's decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from telemetry_core import EventLog
from telemetry_core._cli import main
from telemetry_core._notice import render_notice

OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"
KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
DEPLOYMENT = {
    "controller": "Example University, Research Computing",
    "contact": "privacy@example.edu",
    "retention": "Events are deleted after 13 months.",
    "regimes": {"GDPR": {"legal_basis": "Art. 6(1)(e): a task in the public interest",
                         "required_reason": "Needed to operate the service securely."},
                "FERPA": {"statement": "Records are education records under FERPA."}},
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "telemetry.json"
    path.write_text(json.dumps({"EventLog": {
        "allowed_schemas": {OPENED: {"allowed_properties": ["path"]}, KERNEL: {}},
        "consent_store": f"sqlite:///{tmp_path / 'consent.sqlite3'}",
        "deployment": DEPLOYMENT}}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_grant_show_revoke_history(config, capsys):
    cfg = ("--config", str(config))
    code, out, _ = run(capsys, "consent", "show", "--user", "ada", "--format", "json", *cfg)
    assert code == 0
    state = json.loads(out)
    assert {s["schema_id"]: (s["consent"], s["recorded"]) for s in state["schemas"]} == {
        OPENED: ("opt-in", False), KERNEL: ("required", True)}
    assert run(capsys, "consent", "grant", "--user", "ada", "--schema", OPENED, *cfg)[0] == 0
    code, out, _ = run(capsys, "consent", "show", "--user", "ada", "--schema", OPENED, *cfg)
    assert f"{OPENED}: opt-in; granted; recorded" in out
    assert run(capsys, "consent", "revoke", "--user", "ada", "--schema", OPENED, *cfg)[0] == 0
    run(capsys, "consent", "grant", "--user", "bob", "--schema", OPENED, *cfg)
    code, out, _ = run(capsys, "consent", "history", "--format", "json", *cfg)
    history = json.loads(out)
    assert [(d["user"], d["granted"], d["via"]) for d in history] == [
        ("ada", True, "cli"), ("ada", False, "cli"), ("bob", True, "cli")]
    code, out, _ = run(capsys, "consent", "history", "--user", "ada", *cfg)
    assert out.count("  ada  ") == 2 and "bob" not in out


def test_cli_errors_are_one_clear_line(config, capsys):
    cfg = ("--config", str(config))
    code, _, err = run(capsys, "consent", "grant", "--user", "ada", "--schema", KERNEL, *cfg)
    assert code == 1 and "only required schemas" in err
    code, _, err = run(capsys, "consent", "grant", "--user", "a b", "--schema", OPENED, *cfg)
    assert code == 1 and "malformed user id" in err
    code, _, err = run(capsys, "consent", "revoke", "--user", "ada", "--schema", "nope", *cfg)
    assert code == 1 and "unknown consent scope" in err


def test_notice_shows_modes_facts_version_and_a_users_decisions(config, capsys):
    run(capsys, "consent", "grant", "--user", "ada", "--schema", OPENED, "--config",
        str(config))
    code, out, _ = run(capsys, "notice", "--user", "ada", "--config", str(config))
    assert code == 0
    assert "Consent: opt-in: recorded only for users who said yes" in out
    assert "Consent: required: recorded for everyone; it cannot be refused" in out
    assert "Who collects: Example University, Research Computing" in out
    assert "GDPR: Why required events cannot be refused: Needed to operate" in out
    assert "Consent of ada:" in out and f"yes to {OPENED}" in out
    code, out, _ = run(capsys, "notice", "--format", "json", "--config", str(config))
    data = json.loads(out)
    assert data["notice_version"].startswith("n-") and data["deployment"] == DEPLOYMENT
    assert "user" not in data


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_deployment_facts_are_in_every_format(fmt):
    log = EventLog(allowed_schemas=[KERNEL], deployment=DEPLOYMENT)
    text = render_notice(log, fmt)
    for fact in ("Example University, Research Computing", "privacy@example.edu",
                 "deleted after 13 months", "Art. 6(1)(e)", "education records under FERPA",
                 log.consent.notice_version):
        assert fact in text


@pytest.mark.parametrize("bad, message", [
    ({"owner": "x"}, "unknown key"),
    ({"regimes": {"CCPA": {"statement": "x"}}}, "unknown regime 'CCPA'"),
    ({"regimes": {"GDPR": {"basis": "x"}}}, "must be a dict with keys"),
    ({"contact": ""}, "non-empty string"),
])
def test_bad_deployment_facts_are_refused(bad: dict[str, Any], message: str):
    with pytest.raises(Exception, match=message):
        EventLog(deployment=bad)


def test_store_option_picks_another_store(config, capsys, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    cfg = ("--config", str(config))
    assert run(capsys, "consent", "grant", "--user", "ada", "--schema", OPENED, "--store", other,
               *cfg)[0] == 0
    _, out, _ = run(capsys, "consent", "history", "--format", "json", "--store", other, *cfg)
    assert [d["user"] for d in json.loads(out)] == ["ada"]
    _, out, _ = run(capsys, "consent", "history", "--format", "json", *cfg)
    assert json.loads(out) == []
