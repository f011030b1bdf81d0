"""Code executed, seen where the browser's websocket meets the kernel.

A subclass of jupyter_server's ``ZMQChannelsWebsocketConnection`` looks at each
``execute_request`` going to the kernel's shell channel and at each ``execute_reply``
coming back, then lets the parent class forward both unchanged. The user is the
server's ``current_user`` of the websocket handler; message headers are written by the
client and are never trusted for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from ._executions import Execution, PendingExecutions
from ._recorder import log, username_of

if TYPE_CHECKING:
    from ._server import ServerTelemetry

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
SETTINGS_KEY = "telemetry_core.jupyter"


class ObservingConnectionMixin:
    """Records code-executed events from the messages a kernel websocket carries.

    Mixed in before a ``ZMQChannelsWebsocketConnection`` (or an administrator's
    subclass of it); every method calls the parent's unchanged behaviour.
    """

    _telemetry_pending: PendingExecutions | None = None

    # -- the parent's hooks -------------------------------------------------------------

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        """Note an execute_request, then forward the message as the parent does."""
        try:
            self._telemetry_request(incoming_msg)
        except Exception as err:  # a malformed message: the parent decides what to do
            log.debug("telemetry: could not read an incoming kernel message (%s)",
                      type(err).__name__)
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        """Match an execute_reply to its request, then forward as the parent does."""
        try:
            self._telemetry_reply(stream, outgoing_msg)
        except Exception as err:
            log.debug("telemetry: could not read a kernel reply (%s)", type(err).__name__)
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]

    def disconnect(self) -> None:
        """Record requests still waiting (status unknown), then disconnect."""
        pending, self._telemetry_pending = self._telemetry_pending, None
        if pending is not None:
            pending.abandon_all()
        super().disconnect()  # type: ignore[misc]

    # -- reading messages ---------------------------------------------------------------

    def _telemetry_state(self) -> ServerTelemetry | None:
        handler = getattr(self, "websocket_handler", None)
        return handler.settings.get(SETTINGS_KEY) if handler is not None else None

    def _telemetry_request(self, ws_msg: Any) -> None:
        conn: Any = self
        if not conn.channels:
            return  # closed: the parent drops the message
        if conn.subprotocol == V1_PROTOCOL:
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            if channel != "shell" or len(parts) < 4:
                return
            header = orjson.loads(parts[0])
            if header.get("msg_type") != "execute_request":
                return
            content = orjson.loads(parts[3])
        else:
            msg = (deserialize_binary_message(ws_msg) if isinstance(ws_msg, bytes)
                   else orjson.loads(ws_msg))
            if msg.get("channel", "shell") != "shell":  # the parent assumes shell when absent
                return
            header = msg.get("header") or {}
            if header.get("msg_type") != "execute_request":
                return
            content = msg.get("content") or {}
        allowed = conn.multi_kernel_manager.allowed_message_types
        if allowed and "execute_request" not in allowed:
            return  # the parent will not send it to the kernel
        msg_id = header.get("msg_id")
        state = self._telemetry_state()
        if state is None or not isinstance(msg_id, str):
            return
        code = content.get("code")
        execution = Execution(
            kernel_id=conn.kernel_id, kernel_name=getattr(conn.kernel_manager, "kernel_name", None),
            source="websocket", code=code if isinstance(code, str) else None,
            user=username_of(conn.websocket_handler.current_user))
        if self._telemetry_pending is None:
            self._telemetry_pending = PendingExecutions(
                state.recorder, state.hooks.max_pending_executions)
        state.seen_on_websocket.add(msg_id)
        self._telemetry_pending.add(msg_id, execution)

    def _telemetry_reply(self, stream: Any, msg_list: list[Any]) -> None:
        pending = self._telemetry_pending
        if not pending:
            return
        conn: Any = self
        if isinstance(stream, str):
            stream = conn.channels.get(stream)
        if getattr(stream, "channel", None) != "shell":
            return
        _, parts = conn.session.feed_identities(msg_list)
        # parts: signature, header, parent header, metadata, content, buffers...
        parent = conn.session.unpack(_bytes(parts[2]))
        msg_id = parent.get("msg_id")
        if msg_id not in pending:
            return
        header = conn.session.unpack(_bytes(parts[1]))
        if header.get("msg_type") != "execute_reply":
            return
        content = conn.session.unpack(_bytes(parts[4]))
        pending.finish(msg_id, content.get("status"), content.get("execution_count"))


def _bytes(part: Any) -> bytes:
    return part if isinstance(part, bytes) else bytes(getattr(part, "bytes", part))


class TelemetryWebsocketConnection(  # type: ignore[misc]  # the base declares disconnect async
        ObservingConnectionMixin, ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel websocket connection, recording code-executed events.

    Set by the ``telemetry_core.jupyter`` server extension as
    ``ServerApp.kernel_websocket_connection_class``.
    """


def observing_class(base: type) -> type | None:
    """The connection class to use instead of ``base``, or None when ``base`` cannot be
    observed (it does not speak to the kernel through ``ZMQChannelsWebsocketConnection``,
    e.g. a gateway's)."""
    if isinstance(base, type) and issubclass(base, ObservingConnectionMixin):
        return base
    if base is ZMQChannelsWebsocketConnection:
        return TelemetryWebsocketConnection
    if isinstance(base, type) and issubclass(base, ZMQChannelsWebsocketConnection):
        return type(f"Telemetry{base.__name__}", (ObservingConnectionMixin, base),
                    {"__doc__": base.__doc__, "__module__": __name__})
    return None
