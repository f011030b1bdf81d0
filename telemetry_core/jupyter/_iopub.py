"""Code executed, seen on the kernel's iopub broadcast (``execute_input``).

A second source beside the websocket: the kernel publishes every execution it runs on
iopub, whoever sent it (a browser, a client talking ZMQ to the kernel directly, another
extension). It cannot tell who sent the code: the user recorded is the server's owner
(``JUPYTERHUB_USER``) when known. Status comes from an ``error`` message for that
request, the duration from ``execute_input`` to the kernel's ``idle``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from ._executions import Execution, PendingExecutions, SeenRequests
from ._recorder import Recorder, log


class IopubHost(Protocol):
    """What the observer reads of the server's telemetry state (``ServerTelemetry`` is one;
    this module never imports it, which imports this one)."""

    serverapp: Any
    hooks: Any  # max_pending_executions
    recorder: Recorder
    seen_on_websocket: SeenRequests

    @property
    def owner(self) -> str | None: ...


class IopubObserver:
    """Subscribes to the iopub channel of each kernel the server starts."""

    def __init__(self, state: IopubHost) -> None:
        self._state = state
        self._watched: dict[str, tuple[Any, PendingExecutions]] = {}
        for kernel_id in state.serverapp.kernel_manager.list_kernel_ids():
            self._watch(kernel_id)

    def kernel_changed(self, kernel_id: str, action: str) -> None:
        """Follow the kernel's lifecycle: watch started kernels, forget stopped ones."""
        if action in ("started", "restarted"):
            self._watch(kernel_id)
        elif action == "stopped":
            self._unwatch(kernel_id)

    def close(self) -> None:
        """Stop watching every kernel."""
        for kernel_id in list(self._watched):
            self._unwatch(kernel_id)

    def _watch(self, kernel_id: str) -> None:
        if kernel_id in self._watched:
            return  # a restarted kernel keeps its ports; the subscription reconnects
        try:
            kernel = self._state.serverapp.kernel_manager.get_kernel(kernel_id)
            stream = kernel.connect_iopub()
        except Exception as err:
            log.warning("telemetry: cannot watch iopub of a kernel (%s)", type(err).__name__)
            return
        pending = PendingExecutions(self._state.recorder, self._state.hooks.max_pending_executions)
        stream.on_recv(partial(self._on_message, kernel_id, kernel, pending))
        self._watched[kernel_id] = (stream, pending)

    def _unwatch(self, kernel_id: str) -> None:
        stream, pending = self._watched.pop(kernel_id, (None, None))
        if stream is not None:
            stream.on_recv(None)
            stream.close()
        if pending is not None:
            pending.abandon_all()

    def _on_message(self, kernel_id: str, kernel: Any, pending: PendingExecutions,
                    msg_list: list[Any]) -> None:
        try:
            self._read(kernel_id, kernel, pending, msg_list)
        except Exception as err:
            log.debug("telemetry: could not read an iopub message (%s)", type(err).__name__)

    def _read(self, kernel_id: str, kernel: Any, pending: PendingExecutions,
              msg_list: list[Any]) -> None:
        session = kernel.session
        _, parts = session.feed_identities(msg_list)
        # parts: signature, header, parent header, metadata, content, buffers...
        msg_type = session.unpack(parts[1]).get("msg_type")
        if msg_type not in ("execute_input", "error", "status"):
            return  # output, the bulk of iopub, costs one small header parse
        msg_id = session.unpack(parts[2]).get("msg_id")
        if not isinstance(msg_id, str):
            return
        if msg_type == "execute_input":
            if msg_id in self._state.seen_on_websocket:
                return  # recorded by the websocket source, with the real user
            content = session.unpack(parts[4])
            code, count = content.get("code"), content.get("execution_count")
            pending.add(msg_id, Execution(
                kernel_id=kernel_id, kernel_name=getattr(kernel, "kernel_name", None),
                source="iopub", code=code if isinstance(code, str) else None,
                user=self._state.owner, execution_count=count if isinstance(count, int) else None))
            return
        execution = pending.get(msg_id)
        if execution is None:
            return
        if msg_type == "error":
            execution.errored = True
        elif session.unpack(parts[4]).get("execution_state") == "idle":
            pending.finish(msg_id, "error" if execution.errored else "ok", None)
