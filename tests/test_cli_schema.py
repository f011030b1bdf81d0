"""``telemetry schema validate|show``, ``telemetry notice`` and ``telemetry demo``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import SCHEMA_ID, TEST_SCHEMA

from telemetry_core._cli import main
from telemetry_core._schema_registry import builtin_schema_paths

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"

BAD_SCHEMA = """\
$id: https://example.org/bad
version: 1
properties:
  __reserved: {}
  ok:
    type: string
  user:
    type: string
    pii: "yes"
  count:
    type: intger
"""


def test_validate_accepts_the_shipped_schemas(capsys):
    paths = [str(p) for p in builtin_schema_paths()]
    assert main(["schema", "validate", *paths]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (") == len(paths)


def test_validate_reports_file_line_path_and_why(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SCHEMA)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TEST_SCHEMA, indent=2))
    assert main(["schema", "validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: ok ({SCHEMA_ID}, version 1)" in captured.out
    err = captured.err
    assert f"{bad}:4: $.properties.__reserved: " in err and "reserved" in err
    assert f"{bad}:9: $.properties.user.pii: 'yes' is not of type 'boolean'" in err
    assert f"{bad}:11: $.properties.count.type: not valid JSON Schema" in err
    assert "1 of 2 schema file(s) have problems" in err


def test_validate_names_lines_in_json_files_too(tmp_path: Path, capsys):
    schema = json.loads(json.dumps(TEST_SCHEMA))
    schema["properties"]["count"]["minimum"] = "zero"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema, indent=2))
    assert main(["schema", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if '"minimum"' in text)
    assert f"{path}:{line}: $.properties.count.minimum:" in err


def test_validate_unreadable_files(tmp_path: Path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("properties: [\n")
    assert main(["schema", "validate", str(tmp_path / "missing.yaml"), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "missing.yaml: error:" in err and "broken.yaml: error:" in err


def test_show_prints_a_shipped_schema(capsys):
    assert main(["schema", "show", KERNEL]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["$id"] == KERNEL and shown["properties"]["code"]["pii"] is True
    assert main(["schema", "show", KERNEL, "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1


def test_show_keeps_multi_line_descriptions_as_blocks(capsys):
    assert main(["schema", "show", KERNEL]) == 0
    out = capsys.readouterr().out
    assert "\n\n\n" not in out and "description: |" in out
    original = yaml.safe_load(Path(builtin_schema_paths()[0].parent, "kernel-code-executed.yaml")
                              .read_text())
    assert yaml.safe_load(out) == original


def test_show_an_extra_schema_and_clear_errors(tmp_path: Path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(TEST_SCHEMA))
    assert main(["schema", "show", SCHEMA_ID, "--schema", str(path)]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["title"] == "Test event"
    assert main(["schema", "show", "https://example.org/nope"]) == 1
    assert "no schema 'https://example.org/nope' is registered; known ids:" in \
        capsys.readouterr().err
    assert main(["schema", "show", KERNEL, "9"]) == 1
    assert "has no version '9'; registered versions: 1" in capsys.readouterr().err


CONFIG = f"""
c.EventLog.allowed_schemas = {{
    "{KERNEL}": {{"allowed_properties": ["user"]}},
}}
c.EventLog.sinks = [{{"type": "file", "path": "/nonexistent/never-opened/"}}]
"""


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_notice_in_every_format(tmp_path: Path, capsys, fmt: str):
    config = tmp_path / "telemetry_config.py"
    config.write_text(CONFIG)
    assert main(["notice", "--config", str(config), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "Code executed on a kernel" in out
    if fmt == "json":
        (schema,) = json.loads(out)["schemas"]
        fates = {p["path"]: p["decision"] for p in schema["properties"]}
        assert fates["user"] == "kept" and fates["code"] == "redacted"
        assert fates["kernel_id"] == "kept"
    if fmt == "html":
        assert out.startswith("<section") and "<table>" in out
    if fmt == "markdown":
        assert "| `code` |" in out and "**redacted**" in out


def test_notice_with_a_json_config(tmp_path: Path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": [KERNEL]}}))
    assert main(["notice", "--config", str(config), "--format", "json"]) == 0
    (schema,) = json.loads(capsys.readouterr().out)["schemas"]
    assert {p["path"]: p["decision"] for p in schema["properties"]}["user"] == "redacted"


def test_notice_without_config_says_nothing_is_recorded(capsys):
    assert main(["notice"]) == 0
    assert "Nothing is recorded" in capsys.readouterr().out


def test_demo_writes_events_to_files_and_prints_the_notice(tmp_path: Path, capsys):
    out_dir = tmp_path / "events"
    assert main(["demo", "--dir", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "Recorded 7 events" in printed and "Telemetry transparency notice" in printed
    events = [json.loads(line) for path in sorted(out_dir.rglob("*.jsonl"))
              for line in path.read_text().splitlines()]
    assert len(events) == 7
    assert all(e["user"] is None for e in events if "user" in e)
    opened = [e for e in events if e["__schema__"].endswith("/contents/opened")]
    assert {e["path"] for e in opened} == {"analysis.ipynb", "s3://lake/trips.csv"}
    assert any(e.get("dataset", {}).get("owner", "x") is None for e in opened)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("telemetry-core ")
