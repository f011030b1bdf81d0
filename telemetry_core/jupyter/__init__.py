"""Server-side telemetry hooks for jupyter_server and JupyterHub.

Enable the jupyter_server extension ``telemetry_core.jupyter`` (installing
``telemetry-core[jupyter]`` enables it through ``jupyter-config/``) and configure the
EventLog in the server's config (``c.EventLog.allowed_schemas``, ``c.EventLog.sinks``)
and what is recorded (``c.TelemetryHooks``). See docs/jupyter.md.

It records code sent to kernels (``TelemetryWebsocketConnection``), kernel lifecycle,
files and datasets opened and saved, terminals started and stopped, and the server
starting and stopping, each with the server-side user. ``telemetry_core.jupyter.hub``
does the same for JupyterHub; ``telemetry_core.jupyter.kernel_audit`` is an optional
IPython extension for data files opened by code.
"""

from __future__ import annotations

from typing import Any

from ._config import DEFAULT_DATASET_PATTERNS, TelemetryHooks
from ._recorder import SCHEMA_IDS

__all__ = ["DEFAULT_DATASET_PATTERNS", "SCHEMA_IDS", "TelemetryHooks", "get_eventlog"]

EVENTLOG_SETTING = "telemetry_eventlog"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "telemetry_core.jupyter"}]


def _observe_websockets(serverapp: Any) -> None:
    # The kernel websocket handler takes its connection class from the web app's
    # settings on each connection; an administrator's own subclass is kept (and observed).
    from ._websocket import observing_class

    settings = serverapp.web_app.settings
    current = settings.get("kernel_websocket_connection_class")
    replacement = observing_class(current)
    if replacement is None:
        serverapp.log.warning(
            "telemetry: kernel_websocket_connection_class %s does not connect through "
            "ZMQChannelsWebsocketConnection; code executed is not recorded from websockets",
            getattr(current, "__name__", current))
        return
    settings["kernel_websocket_connection_class"] = replacement
    serverapp.kernel_websocket_connection_class = replacement


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from ._server import ServerTelemetry
    from ._websocket import SETTINGS_KEY

    hooks = TelemetryHooks(config=serverapp.config)
    state = ServerTelemetry(serverapp, get_eventlog(serverapp), hooks)
    serverapp.web_app.settings[SETTINGS_KEY] = state
    if "websocket" in hooks.code_sources:
        _observe_websockets(serverapp)
    state.start()
    serverapp.log.info("telemetry: recording %s", ", ".join(_sources(hooks)) or "nothing")


async def _start_jupyter_server_extension(serverapp: Any) -> None:
    # Runs once every extension is loaded, whatever their order: by now
    # jupyter_server_terminals has made the terminal manager, if terminals are enabled.
    from ._terminals import observe_terminals
    from ._websocket import SETTINGS_KEY

    state = serverapp.web_app.settings.get(SETTINGS_KEY)
    if state is not None and state.hooks.terminals:
        state.terminals = observe_terminals(serverapp, state.recorder, state.request_user)


def _sources(hooks: TelemetryHooks) -> list[str]:
    sources = [f"code executed ({s})" for s in hooks.code_sources]
    if hooks.kernel_lifecycle:
        sources.append("kernel lifecycle")
    if hooks.contents:
        sources.append("files and datasets opened and saved")
    if hooks.terminals:
        sources.append("terminals started and stopped")
    if hooks.server_session:
        sources.append("server start and stop")
    return sources


def get_eventlog(serverapp: Any) -> Any:
    """The one ``EventLog`` of this jupyter_server process, built on first use from the
    server's config (``c.EventLog.*``) and kept in the web application's settings under
    ``"telemetry_eventlog"``. Other server extensions (the REST API) share it."""
    settings = serverapp.web_app.settings
    eventlog = settings.get(EVENTLOG_SETTING)
    if eventlog is None:
        from .._eventlog import EventLog

        eventlog = settings[EVENTLOG_SETTING] = EventLog(config=serverapp.config)
    return eventlog
