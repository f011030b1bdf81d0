"""Every mistake a user can make on the command line is one line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from telemetry_core import ConfigFileError, EventLog
from telemetry_core._cli import main

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("missing.py", None, "no such config file"),
    ("config.yaml", "EventLog: {}\n", "'.yaml' is not read"),
    ("config.toml", "[EventLog]\n", "'.toml' is not read"),
    ("broken.py", "c.EventLog.allowed_schemas = [\n", "broken.py:1: not valid Python"),
    ("broken.json", '{"EventLog": {,}}', "not a valid json config file"),
    ("raises.py", "raise RuntimeError('no')\n", "running the config file failed"),
    ("hash.py", "c.EventLog.redaction = 'hash'\n", "needs a secret"),
    ("schema.py", "c.EventLog.schema_files = ['/nonexistent/event.yaml']\n",
     "no such schema file"),
])
def test_a_bad_config_file_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch, name, text,
                                                   expected):
    monkeypatch.delenv("TELEMETRY_REDACTION_SECRET", raising=False)
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    code, out, err = _run(["notice", "--config", str(path)], capsys)
    assert code == 1
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("telemetry notice: error: ")
    assert expected in err


def test_debug_setting_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEMETRY_DEBUG", "1")
    with pytest.raises(ConfigFileError):
        main(["notice", "--config", str(tmp_path / "missing.py")])


def test_from_config_file_reads_python_and_json(tmp_path):
    py = tmp_path / "telemetry_config.py"
    py.write_text(f"c.EventLog.allowed_schemas = [{KERNEL!r}]\n")
    js = tmp_path / "telemetry_config.json"
    js.write_text(json.dumps({"EventLog": {"allowed_schemas": [KERNEL]}}))
    for path in (py, js):
        with EventLog.from_config_file(path) as eventlog:
            assert list(eventlog.allowed_schemas) == [KERNEL]
            assert eventlog.record_event(KERNEL, 1, {
                "kernel_id": "k", "kernel_name": "python3", "execution_count": 1,
                "status": "ok"}) is not None
    with pytest.raises(ConfigFileError, match="is not read"):
        EventLog.from_config_file(tmp_path / "config.yml")


@pytest.mark.parametrize("argv", [
    ["schema", "show", KERNEL, "--format", "json"],
    ["sinks", "--json"],
    ["sinks"],
    ["notice", "--format", "html"],
])
def test_output_cut_short_by_its_reader_ends_quietly(argv):
    # `telemetry ... | head`: the reader is gone before the command writes (here its end
    # of the pipe is closed at once, so every write meets a broken pipe).
    proc = subprocess.Popen([sys.executable, "-m", "telemetry_core._cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_the_tests_write_no_state_outside_their_temp_dirs(tmp_path):
    import os

    state = Path(os.environ["XDG_STATE_HOME"])
    assert str(state).startswith(str(Path(tmp_path).parents[1]))


# -- silent surprises -----------------------------------------------------------------


def test_an_allowed_schema_nobody_registered_is_warned_once(caplog):
    typo = "https://telemetry.jupyter.org/schemas/events/kernel/code-execute"
    with EventLog(allowed_schemas=[KERNEL, typo]) as eventlog:
        event = {"kernel_id": "k", "kernel_name": "python3", "execution_count": 1,
                 "status": "ok"}
        with caplog.at_level("WARNING", logger="telemetry_core"):
            for _ in range(3):
                assert eventlog.record_event(KERNEL, 1, event) is not None
        warnings = [r for r in caplog.records if "no registered schema" in r.getMessage()]
        assert len(warnings) == 1 and typo in warnings[0].getMessage()


def test_record_event_after_close_records_nothing_and_says_so(tmp_path, caplog):
    eventlog = EventLog(allowed_schemas=[KERNEL],
                        sinks=[{"type": "file", "path": str(tmp_path / "events") + "/"}])
    event = {"kernel_id": "k", "kernel_name": "python3", "execution_count": 1,
             "status": "ok"}
    assert eventlog.record_event(KERNEL, 1, event) is not None
    eventlog.close()
    with caplog.at_level("WARNING", logger="telemetry_core"):
        assert eventlog.record_event(KERNEL, 1, event) is None
        assert eventlog.record_event(KERNEL, 1, event) is None
    assert eventlog.stats()["after_close"] == 2
    assert sum("after EventLog.close()" in r.getMessage() for r in caplog.records) == 1
    lines = [line for f in (tmp_path / "events").rglob("*.jsonl")
             for line in f.read_text().splitlines()]
    assert len(lines) == 1


def test_schema_validate_reads_a_json_file_as_json(tmp_path, capsys):
    good = ('{"$id": "https://example.org/e", "version": 1, "type": "object", '
            '"properties": {"a": {"type": "string"}}}')
    (tmp_path / "good.json").write_text(good)
    (tmp_path / "comma.json").write_text(good[:-1] + ",}")  # YAML would accept this
    (tmp_path / "comma.yaml").write_text(good[:-1] + ",}")
    assert _run(["schema", "validate", str(tmp_path / "good.json")], capsys)[0] == 0
    code, _, err = _run(["schema", "validate", str(tmp_path / "comma.json")], capsys)
    assert code == 1 and "comma.json:1: not valid JSON" in err and "Traceback" not in err
    assert _run(["schema", "validate", str(tmp_path / "comma.yaml")], capsys)[0] == 0
