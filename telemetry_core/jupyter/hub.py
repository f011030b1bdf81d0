"""JupyterHub telemetry: logins, server spawns and stops, and the hub's server-action events.

Enable it with one call in ``jupyterhub_config.py``::

    from telemetry_core.jupyter.hub import configure

    configure(c, eventlog_config={
        "sinks": [{"type": "file", "path": "/var/log/jupyterhub/events/"}],
        "allowed_schemas": ["https://telemetry.jupyter.org/schemas/events/hub/login",
                            "https://telemetry.jupyter.org/schemas/events/hub/server"],
    })

Hooks already configured (``c.Authenticator.post_auth_hook``, ``c.Spawner.pre_spawn_hook``,
``c.Spawner.post_stop_hook``) keep running, before the recording. The EventLog is built
by ``configure`` from ``c.EventLog`` (``eventlog_config`` is written there), so a sink
that cannot start (a directory that cannot be created ...) stops the hub at start with
the reason, instead of failing at every event. Call it after any other ``c.EventLog``
line: a setting made later is reported, once, at the first event.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from ._recorder import HUB_LOGIN, HUB_SERVER, Recorder, log

__all__ = ["HubTelemetry", "configure"]

HUB_SERVER_ACTION_SCHEMA = "https://schema.jupyter.org/jupyterhub/events/server-action"


class HubTelemetry:
    """The hooks ``configure`` installs, and the EventLog they record into."""

    def __init__(self, config: Any) -> None:
        self._config = config
        self._recorder: Recorder | None = None
        self._built_from: dict[str, Any] = {}
        self._checked_late_settings = False

    def start(self) -> None:
        """Build the EventLog (and start its sinks) now: a mistake stops the hub at start,
        with a message naming the sink and why."""
        if self._recorder is not None:
            return
        from .._eventlog import EventLog

        self._built_from = dict(self._config.EventLog)
        try:
            self._recorder = Recorder(EventLog(config=self._config))
        except Exception as err:
            raise RuntimeError(f"telemetry (JupyterHub): the EventLog cannot start: {err}") \
                from err

    @property
    def recorder(self) -> Recorder:
        """The recorder and its EventLog (built by ``configure``, else on first use)."""
        self.start()
        assert self._recorder is not None
        if not self._checked_late_settings:
            self._checked_late_settings = True
            late = sorted(k for k, v in self._config.EventLog.items()
                          if k not in self._built_from or self._built_from[k] is not v)
            if late:
                log.error("telemetry: c.EventLog.%s was set after configure() and is not in "
                          "effect; call configure() after every c.EventLog line",
                          ", c.EventLog.".join(late))
        return self._recorder

    def close(self) -> None:
        """Close the EventLog (flushing its sinks), if one was built."""
        if self._recorder is not None:
            self._recorder.eventlog.close()

    def login(self, authenticator: Any, handler: Any, authentication: Any) -> None:
        """Record a login the Authenticator (and earlier post_auth_hooks) accepted."""
        if not isinstance(authentication, dict) or not authentication.get("name"):
            return  # rejected: JupyterHub refuses the login
        data = {"authenticator": type(authenticator).__name__}
        address = _remote_address(handler)
        if address is not None:
            data["remote_address"] = address  # personal data: the policy decides
        self.recorder.record(HUB_LOGIN, data, str(authentication["name"]))

    def spawning(self, spawner: Any) -> None:
        """Record that the hub is about to start a user's server."""
        self._server(spawner, "spawning")

    def stopped(self, spawner: Any) -> None:
        """Record that a user's server stopped (seen by the spawner)."""
        self._server(spawner, "stopped")

    def _server(self, spawner: Any, action: str) -> None:
        user = getattr(getattr(spawner, "user", None), "name", None)
        self.recorder.record(HUB_SERVER, {
            "action": action, "source": "spawner", "spawner": type(spawner).__name__,
            "server_name": getattr(spawner, "name", "") or ""}, user)

    def hub_event(self, capsule: dict[str, Any]) -> None:
        """Record one of the hub's own jupyter_events events (server-action)."""
        if capsule.get("__schema__") != HUB_SERVER_ACTION_SCHEMA:
            return
        action = {"start": "started", "stop": "stopped"}.get(capsule.get("action", ""))
        if action is None:
            return
        self.recorder.record(HUB_SERVER, {
            "action": action, "source": "hub",
            "server_name": str(capsule.get("servername") or "")}, capsule.get("username"))


#: The longest address hub/login records (its schema's maxLength): IPv6 with a zone.
_MAX_ADDRESS = 64


def _remote_address(handler: Any) -> str | None:
    """The login request's client address as tornado saw it (``request.remote_ip``: with
    the hub's ``xheaders``, the address the proxy reports), or None."""
    address = getattr(getattr(handler, "request", None), "remote_ip", None)
    if isinstance(address, str) and 0 < len(address) <= _MAX_ADDRESS:
        return address
    return None


class _HubEventBridge(logging.Handler):
    """A handler on the hub's jupyter_events EventLogger that passes events on."""

    def __init__(self, hub: HubTelemetry) -> None:
        super().__init__()
        self._hub = hub

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            try:
                self._hub.hub_event(record.msg)
            except Exception as err:
                log.warning("telemetry: hub event not recorded (%s)", _describe(err))


def _describe(err: BaseException) -> str:
    """The error's kind, and its message when it is one of ours: those name the sink, the
    path, the schema and the rule, never an event's values. Others' messages may."""
    if type(err).__module__.startswith("telemetry_core"):
        return f"{type(err).__name__}: {err}"
    return type(err).__name__


def _after(existing: Any, ours: Callable[..., None], returns_result: bool) -> Callable[..., Any]:
    """A hook that runs ``existing`` (sync or async) first, then ``ours``, never failing
    because of ``ours``. With ``returns_result``, ``ours`` also gets existing's result
    (post_auth_hook's authentication model) as its last argument, and it is returned."""

    def call_ours(args: tuple[Any, ...], result: Any) -> Any:
        try:
            ours(*args[:-1], result) if returns_result else ours(*args)
        except Exception as err:
            log.warning("telemetry: hub hook failed (%s)", _describe(err))
        return result

    def hook(*args: Any) -> Any:
        if not callable(existing):
            return call_ours(args, args[-1] if returns_result else None)
        result = existing(*args)
        if inspect.isawaitable(result):
            async def finish() -> Any:
                return call_ours(args, await result)

            return finish()
        return call_ours(args, result)

    return hook


def _configured(section: Any, name: str) -> Any:
    return section[name] if name in section else None


def configure(c: Any, eventlog_config: dict[str, Any] | None = None, *, logins: bool = True,
              spawns: bool = True, hub_events: bool = True) -> HubTelemetry:
    """Record JupyterHub activity; call it in ``jupyterhub_config.py`` with its ``c``.

    ``eventlog_config`` sets ``c.EventLog`` traits (``allowed_schemas``, ``sinks``, ...).
    ``logins``: ``Authenticator.post_auth_hook``; ``spawns``: ``Spawner.pre_spawn_hook``
    and ``post_stop_hook``; ``hub_events``: a handler on the hub's jupyter_events
    ``EventLogger`` for its server-action events. Returns the ``HubTelemetry``.
    """
    for name, value in (eventlog_config or {}).items():
        setattr(c.EventLog, name, value)
    hub = HubTelemetry(c)
    if logins:
        c.Authenticator.post_auth_hook = _after(
            _configured(c.Authenticator, "post_auth_hook"), hub.login, returns_result=True)
    if spawns:
        c.Spawner.pre_spawn_hook = _after(
            _configured(c.Spawner, "pre_spawn_hook"), hub.spawning, returns_result=False)
        c.Spawner.post_stop_hook = _after(
            _configured(c.Spawner, "post_stop_hook"), hub.stopped, returns_result=False)
    if hub_events:
        existing = _configured(c.EventLogger, "handlers") or []
        c.EventLogger.handlers = [*existing, _HubEventBridge(hub)]
    import atexit

    atexit.register(hub.close)
    hub.start()
    return hub
