"""Misspelt EventLog arguments, settings and config sections are errors with "did you
mean", never silently ignored (an ignored allowed_schemas records nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from telemetry_core import EventLog
from telemetry_core._cli import main
from telemetry_core._config import ConfigError
from telemetry_core.server._settings import TelemetryServer

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"


def test_an_unknown_keyword_argument_is_a_type_error_with_a_suggestion():
    with pytest.raises(TypeError, match=r"EventLog\(\) got an unexpected keyword argument "
                                        r"'allowed_schema' \(did you mean 'allowed_schemas'\?\)"):
        EventLog(allowed_schema=[KERNEL])


def test_an_unknown_key_under_c_eventlog_is_an_error():
    config = Config({"EventLog": {"allowed_schema": [KERNEL]}})
    with pytest.raises(ConfigError, match=r"c\.EventLog\.allowed_schema .*did you mean "
                                          r"'allowed_schemas'"):
        EventLog(config=config)


def test_an_unknown_key_under_c_telemetryserver_is_an_error():
    with pytest.raises(ConfigError, match=r"c\.TelemetryServer\.tokenz .*did you mean 'tokens'"):
        TelemetryServer(config=Config({"TelemetryServer": {"tokenz": {}}}))


@pytest.mark.parametrize("section", ["EventLogs", "Eventlog", "TelemetryServr"])
def test_a_section_that_misspells_ours_is_an_error(section: str):
    config = Config({section: {"allowed_schemas": [KERNEL]}})
    with pytest.raises(ConfigError, match=rf"c\.{section} is not a configuration section; "
                                          r"did you mean c\.(EventLog|TelemetryServer)\?"):
        EventLog(config=config)


def test_other_applications_sections_pass():
    config = Config({"EventLogger": {"handlers": []}, "ServerApp": {"port": 1},
                     "EventLog": {"allowed_schemas": [KERNEL]}})
    assert list(EventLog(config=config).allowed_schemas) == [KERNEL]


def test_from_config_file_refuses_a_misspelt_setting(tmp_path: Path):
    path = tmp_path / "telemetry_config.py"
    path.write_text(f"c.EventLog.allowed_schema = [{KERNEL!r}]\n")
    with pytest.raises(ConfigError, match="did you mean 'allowed_schemas'"):
        EventLog.from_config_file(path)


def serve(tmp_path: Path, config: dict, *args: str) -> int:
    path = tmp_path / "serve.json"
    path.write_text(json.dumps(config))
    return main(["serve", "--config", str(path), "--port", "0", "--insecure-no-auth", *args])


def test_serve_refuses_a_misspelt_setting_before_listening(tmp_path: Path, capsys):
    assert serve(tmp_path, {"EventLog": {"allowed_schema": [KERNEL]}}) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'allowed_schemas'" in err
    assert "listening" not in err


def test_serve_refuses_a_misspelt_section(tmp_path: Path, capsys):
    assert serve(tmp_path, {"EventLogs": {"allowed_schemas": [KERNEL]}}) == 1
    assert "did you mean c.EventLog?" in capsys.readouterr().err


def test_serve_refuses_to_start_with_nothing_allowed(tmp_path: Path, capsys):
    assert serve(tmp_path, {"EventLog": {"sinks": []}}) == 1
    err = capsys.readouterr().err
    assert "refusing to start with nothing allowed" in err and "--allow-no-schemas" in err


def test_serve_starts_with_nothing_allowed_when_told_so(tmp_path: Path):
    import requests

    from telemetry_core.testing.servers import rest_server

    with rest_server({"EventLog": {}}, extra_args=("--allow-no-schemas",)) as server:
        answer = requests.get(server.api + "health", timeout=10)
        assert answer.status_code == 200
