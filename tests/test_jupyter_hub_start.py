"""JupyterHub: a sink that cannot start stops the hub at start, naming the sink, the path
and why; hook failures say the same, never just the error's class."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from telemetry_core.jupyter.hub import configure

LOGIN = "https://telemetry.jupyter.org/schemas/events/hub/login"


def hub_config_file(tmp_path: Path, events: Path, after: str = "") -> Path:
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(f'''
from telemetry_core.jupyter.hub import configure

c.JupyterHub.authenticator_class = "dummy"
configure(c, eventlog_config={{
    "sinks": [{{"type": "file", "path": {str(events) + "/"!r}}}],
    "allowed_schemas": [{LOGIN!r}],
}})
{after}
''')
    return path


def test_hub_start_fails_with_the_reason_when_the_sink_directory_cannot_be_made(tmp_path):
    from jupyterhub.app import JupyterHub

    (tmp_path / "blocker").write_text("a file where the events directory would be")
    events = tmp_path / "blocker" / "events"
    app = JupyterHub()
    with pytest.raises(RuntimeError) as err:
        app.load_config_file(str(hub_config_file(tmp_path, events)))
    message = str(err.value)
    assert "the EventLog cannot start" in message
    assert "file sink" in message and str(events) in message


def test_a_working_config_builds_the_eventlog_at_start(tmp_path: Path):
    from jupyterhub.app import JupyterHub

    app = JupyterHub()
    app.load_config_file(str(hub_config_file(tmp_path, tmp_path / "events")))
    assert (tmp_path / "events").is_dir()  # the sink started with the hub, not later


def test_a_setting_after_configure_is_reported_once(tmp_path: Path, caplog):
    from traitlets.config import Config

    c = Config()
    hub = configure(c, {"allowed_schemas": [LOGIN],
                        "sinks": [{"type": "file", "path": f"{tmp_path}/events/"}]})
    c.EventLog.redaction = "hash"
    with caplog.at_level(logging.ERROR, logger="telemetry_core"):
        hub.recorder  # noqa: B018
        hub.recorder  # noqa: B018
    late = [r for r in caplog.records if "after configure()" in r.getMessage()]
    assert len(late) == 1 and "c.EventLog.redaction" in late[0].getMessage()
    hub.close()


def test_hook_failures_name_the_sink_and_path(tmp_path: Path, caplog):
    from telemetry_core.jupyter.hub import _after
    from telemetry_core.sinks import SinkConfigError

    def failing(spawner: object) -> None:
        raise SinkConfigError(f"file sink: cannot create the directory {tmp_path}/x")

    hook = _after(None, failing, returns_result=False)
    with caplog.at_level(logging.WARNING, logger="telemetry_core"):
        hook("spawner")  # never raises into the hub
    (record,) = [r for r in caplog.records if "hub hook failed" in r.getMessage()]
    assert f"SinkConfigError: file sink: cannot create the directory {tmp_path}/x" \
        in record.getMessage()
