"""Terminals started and stopped: the ``server/terminal`` events.

jupyter_server_terminals announces nothing on jupyter_server's event bus, so the
extension wraps the server's one terminal manager instance (the web application's
``terminal_manager`` setting) where every terminal begins and ends:

- ``create``: the REST API's ``POST /api/terminals``, the only way a terminal starts
  (the terminal websocket refuses a name that does not exist);
- ``terminate``: ``DELETE /api/terminals/NAME`` and the culler;
- ``on_eof``: terminado's callback when the pty closes, also when the shell exits by
  itself (``exit`` typed in the terminal).

Terminals still running when the server stops end with its process (jupyter_server_terminals
0.5 does not terminate them itself): ``close`` records them stopped then.

Wrapping the instance, not replacing its class, keeps an administrator's own
``c.TerminalsExtensionApp.terminal_manager_class``.
"""

from __future__ import annotations

from typing import Any

from ._recorder import SERVER_TERMINAL, Recorder, log


class TerminalObserver:
    """Records each terminal once when it starts and once when it stops.

    The ``user`` of both events is the user who started the terminal (a stop caused by
    the culler or by the shell exiting happens outside any request).
    """

    def __init__(self, manager: Any, recorder: Recorder, request_user: Any) -> None:
        self._recorder = recorder
        self._request_user = request_user
        # Running terminals we recorded as started: name -> (terminado's terminal, user).
        # Names are reused, so a stop counts only for the same terminal object. Entries
        # leave when the terminal stops: no more than the manager's own terminal table.
        self._running: dict[str, tuple[Any, str | None]] = {}
        self._wrap(manager)

    def _wrap(self, manager: Any) -> None:
        create, terminate, on_eof = manager.create, manager.terminate, manager.on_eof

        def create_and_record(**kwargs: Any) -> Any:
            model = create(**kwargs)
            name = model.get("name") if isinstance(model, dict) else None
            if isinstance(name, str):
                self._started(name, manager.terminals.get(name))
            return model

        async def terminate_and_record(name: str, force: bool = False) -> None:
            term = manager.terminals.get(name)
            await terminate(name, force=force)
            self._stopped(name, term)

        def on_eof_and_record(ptywclients: Any) -> None:
            try:
                on_eof(ptywclients)
            finally:
                self._stopped(getattr(ptywclients, "term_name", None), ptywclients)

        manager.create = create_and_record
        manager.terminate = terminate_and_record
        manager.on_eof = on_eof_and_record

    def close(self) -> None:
        """Record every terminal still running as stopped: the server is exiting."""
        for name, (term, _) in list(self._running.items()):
            self._stopped(name, term)

    def _started(self, name: str, term: Any) -> None:
        user = self._request_user()
        self._running[name] = (term, user)
        self._recorder.record(SERVER_TERMINAL, {"action": "started", "terminal": name}, user)

    def _stopped(self, name: Any, term: Any) -> None:
        running = self._running.get(name) if isinstance(name, str) else None
        if running is None or running[0] is not term:
            return  # already recorded (terminate, then the pty's end), or another terminal
        del self._running[name]
        self._recorder.record(SERVER_TERMINAL, {"action": "stopped", "terminal": name},
                              running[1])


def observe_terminals(serverapp: Any, recorder: Recorder,
                      request_user: Any) -> TerminalObserver | None:
    """Wrap the server's terminal manager, if terminals are enabled."""
    manager = serverapp.web_app.settings.get("terminal_manager")
    if manager is None:
        return None  # terminals disabled, or jupyter_server_terminals not installed
    if not (all(callable(getattr(manager, m, None)) for m in ("create", "terminate", "on_eof"))
            and isinstance(getattr(manager, "terminals", None), dict)):
        log.warning("telemetry: the terminal manager %s is not a terminado NamedTermManager "
                    "(create, terminate, on_eof, terminals); terminals are not recorded",
                    type(manager).__name__)
        return None
    return TerminalObserver(manager, recorder, request_user)
