"""The server extension's state: one EventLog, the listeners on jupyter_server's events.

jupyter_server announces kernel actions and contents operations on its own
``jupyter_events`` logger (``serverapp.event_logger``). Listeners here turn them into
this project's events, with the server-side user of the request that caused them.
"""

from __future__ import annotations

import atexit
import contextvars
import inspect
import mimetypes
import os
import time
from dataclasses import dataclass
from typing import Any

from .._eventlog import EventLog
from ._config import DatasetMatcher, TelemetryHooks, file_format
from ._executions import SeenRequests
from ._recorder import (
    DATASET_OPENED,
    FILE_OPENED,
    FILE_SAVED,
    KERNEL_LIFECYCLE,
    SERVER_SESSION,
    Recorder,
    log,
    username_of,
)

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
CONTENTS_SCHEMA = "https://events.jupyter.org/jupyter_server/contents_service/v1"
_KERNEL_ACTIONS = {"start": "started", "restart": "restarted", "interrupt": "interrupted",
                   "shutdown": "stopped"}


@dataclass(frozen=True)
class RequestInfo:
    """Who made the HTTP request being handled, and which path's content a GET reads."""

    user: str | None
    reads: str | None  # the contents API path a GET with content reads, else None


# Set while a request is handled (by the wrapped identity provider); jupyter_events
# listeners run as tasks created inside the request, so they see the same value.
current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "telemetry_core_jupyter_request", default=None)


class ServerTelemetry:
    """Everything the extension keeps for one jupyter_server process."""

    def __init__(self, serverapp: Any, eventlog: EventLog, hooks: TelemetryHooks) -> None:
        self.serverapp = serverapp
        self.eventlog = eventlog
        self.hooks = hooks
        self.recorder = Recorder(eventlog)
        self.is_dataset: DatasetMatcher = hooks.dataset_matcher()
        self.seen_on_websocket = SeenRequests()
        self._kernel_started: dict[str, float] = {}
        self.iopub: Any = None  # the IopubObserver, when "iopub" is a code source
        self.terminals: Any = None  # the TerminalObserver, once the server has started

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        """Wrap the identity provider and add the listeners the configuration asks for."""
        self._wrap_identity_provider()
        events = self.serverapp.event_logger
        if self.hooks.kernel_lifecycle or "iopub" in self.hooks.code_sources:
            events.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_action)
        if self.hooks.contents:
            events.add_listener(schema_id=CONTENTS_SCHEMA, listener=self._on_contents)
        if "iopub" in self.hooks.code_sources:
            from ._iopub import IopubObserver

            self.iopub = IopubObserver(self)
        if self.hooks.server_session:
            self.recorder.record(SERVER_SESSION, self._server_event("started"), self.owner)
        atexit.register(self.stop)

    def stop(self) -> None:
        """Record the server stopping and close the EventLog (flushing its sinks)."""
        atexit.unregister(self.stop)
        if self.iopub is not None:
            self.iopub.close()
        if self.terminals is not None:
            self.terminals.close()
        if self.hooks.server_session:
            self.recorder.record(SERVER_SESSION, self._server_event("stopped"), self.owner)
        self.eventlog.close()

    def _server_event(self, action: str) -> dict[str, Any]:
        from jupyter_server import __version__ as server_version

        return {"action": action, "scope": "server", "server_version": server_version}

    @property
    def owner(self) -> str | None:
        """The user a single-user server belongs to, when JupyterHub says so."""
        return os.environ.get("JUPYTERHUB_USER") or None

    # -- who is asking ----------------------------------------------------------------------

    def _wrap_identity_provider(self) -> None:
        provider = self.serverapp.identity_provider
        original = provider.get_user

        def get_user(handler: Any) -> Any:
            result = original(handler)
            if inspect.isawaitable(result):
                return _remember_async(handler, result)
            _remember(handler, result)
            return result

        provider.get_user = get_user

    def request_user(self) -> str | None:
        """The user of the request being handled, else the server's owner."""
        info = current_request.get()
        return info.user if info is not None and info.user else self.owner

    # -- listeners (jupyter_events calls them as tasks) ---------------------------------------

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("status") != "success":
            return
        action = _KERNEL_ACTIONS.get(data.get("action", ""))
        kernel_id = data.get("kernel_id")
        if action is None or not isinstance(kernel_id, str):
            return
        if self.iopub is not None:
            self.iopub.kernel_changed(kernel_id, action)
        if not self.hooks.kernel_lifecycle:
            return
        event: dict[str, Any] = {"action": action, "kernel_id": kernel_id}
        if data.get("kernel_name"):
            event["kernel_name"] = data["kernel_name"]
        if action == "started":
            self._kernel_started[kernel_id] = time.monotonic()
        elif action == "stopped":
            started = self._kernel_started.pop(kernel_id, None)
            if started is not None:
                event["lifetime_s"] = round(time.monotonic() - started, 3)
        self.recorder.record(KERNEL_LIFECYCLE, event, self.request_user())

    async def _on_contents(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        action, path = data.get("action"), data.get("path")
        if not isinstance(path, str):
            return
        path = path.strip("/")
        if action == "get":
            info = current_request.get()
            if info is not None and info.reads != path:
                # Not an open: ?content=0 (JupyterLab checks a file before saving), the
                # model a save returns, the entries of a directory listing.
                return
            self._opened(path)
        elif action in ("save", "upload"):
            self.recorder.record(FILE_SAVED, {"kind": self._kind(path), "action": action,
                                              "path": path}, self.request_user())

    def _opened(self, path: str) -> None:
        kind = self._kind(path)
        if kind == "directory" and not self.hooks.record_directories:
            return
        user = self.request_user()
        event: dict[str, Any] = {"kind": kind, "path": path}
        mimetype = mimetypes.guess_type(path)[0]
        if mimetype:
            event["mimetype"] = mimetype
        size = self._size(path)
        if size is not None:
            event["size_bytes"] = size
        self.recorder.record(FILE_OPENED, event, user)
        if kind == "dataset":
            dataset: dict[str, Any] = {"source": "contents-api", "access": "read", "path": path}
            suffix = file_format(path)
            if suffix:
                dataset["format"] = suffix
            if size is not None:
                dataset["size_bytes"] = size
            self.recorder.record(DATASET_OPENED, dataset, user)

    def _os_path(self, path: str) -> str | None:
        # FileContentsManager and its relatives map API paths to files; others
        # (databases, S3) have no local file, and then size and kind come from the name.
        to_os = getattr(self.serverapp.contents_manager, "_get_os_path", None)
        try:
            return to_os(path) if to_os is not None else None
        except Exception:
            return None

    def _kind(self, path: str) -> str:
        os_path = self._os_path(path)
        if os_path is not None and os.path.isdir(os_path):
            return "directory"
        if path.lower().endswith(".ipynb"):
            return "notebook"
        return "dataset" if self.is_dataset(path) else "file"

    def _size(self, path: str) -> int | None:
        os_path = self._os_path(path)
        try:
            return os.stat(os_path).st_size if os_path is not None else None
        except OSError:
            return None


def _request_info(handler: Any, user: Any) -> RequestInfo:
    reads = None
    try:
        if handler.request.method == "GET" and handler.get_query_argument("content", "1") != "0":
            path = handler.path_kwargs.get("path") or (handler.path_args or [""])[0]
            reads = path.strip("/") if isinstance(path, str) else None  # tornado decoded it
    except Exception:
        reads = None
    return RequestInfo(username_of(user), reads)


def _remember(handler: Any, user: Any) -> None:
    try:
        current_request.set(_request_info(handler, user))
    except Exception as err:
        log.debug("telemetry: could not note the request's user (%s)", type(err).__name__)


async def _remember_async(handler: Any, pending: Any) -> Any:
    user = await pending
    _remember(handler, user)
    return user
