"""Helpers for the tests against real Jupyter processes: kernel websockets, the file sink."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

V1 = "v1.kernel.websocket.jupyter.org"


def read_events(directory: Path) -> list[dict[str, Any]]:
    """Every event the file sink wrote under ``directory``."""
    events = []
    for path in sorted(directory.rglob("*.jsonl")):
        events.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return events


def wait_events(directory: Path, schema_id: str, count: int = 1, timeout: float = 30,
                where: Callable[[dict[str, Any]], bool] = lambda e: True,
                **match: Any) -> list[dict[str, Any]]:
    """Wait until at least ``count`` events of ``schema_id`` that have the values in
    ``match`` and satisfy ``where`` are on disk; returns them all."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_events(directory) if e["__schema__"] == schema_id
                 and all(e.get(k) == v for k, v in match.items()) and where(e)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def execute_request(code: str, username: str = "mallory") -> dict[str, Any]:
    """An execute_request message whose header claims ``username``."""
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request",
                   "username": username, "session": uuid.uuid4().hex, "version": "5.3",
                   "date": "2026-01-01T00:00:00Z"},
        "parent_header": {}, "metadata": {},
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        "buffers": [],
    }


def pack_v1(channel: str, msg: dict[str, Any]) -> bytes:
    """The v1 websocket framing: 8-byte little-endian count and offsets, then the parts."""
    parts = [channel.encode()] + [json.dumps(msg[k]).encode() for k in
                                  ("header", "parent_header", "metadata", "content")]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    head = len(offsets).to_bytes(8, "little") + b"".join(
        o.to_bytes(8, "little") for o in offsets)
    return head + b"".join(parts)


def unpack_v1(frame: bytes) -> tuple[str, dict[str, Any]]:
    """Read a v1 frame into (channel, message) (header, parent_header, metadata, content)."""
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1):8 * (i + 2)], "little") for i in range(count)]
    parts = [frame[offsets[i]:offsets[i + 1]] for i in range(count - 1)]
    names = ("header", "parent_header", "metadata", "content")
    return parts[0].decode(), {n: json.loads(p) for n, p in zip(names, parts[1:5], strict=True)}


async def connect_kernel(base_url: str, token: str, kernel_id: str,
                         protocol: str | None) -> WebSocketClientConnection:
    """Open the kernel's channels websocket, with the v1 subprotocol or the legacy one."""
    url = base_url.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    request = HTTPRequest(url + f"?session_id={uuid.uuid4().hex}",
                          headers={"Authorization": f"token {token}"})
    return await websocket_connect(request, subprotocols=[protocol] if protocol else None)


async def run_code(ws: WebSocketClientConnection, code: str, protocol: str | None,
                   username: str = "mallory") -> dict[str, Any]:
    """Send ``code`` as an execute_request and return the matching execute_reply."""
    msg = execute_request(code, username)
    if protocol == V1:
        await ws.write_message(pack_v1("shell", msg), binary=True)
    else:
        await ws.write_message(json.dumps({**msg, "channel": "shell"}))
    while True:
        raw = await ws.read_message()
        if raw is None:
            raise ConnectionError("the kernel websocket closed")
        if isinstance(raw, bytes) and protocol == V1:
            channel, reply = unpack_v1(raw)
        else:
            reply = json.loads(raw)
            channel = reply.get("channel")
        if (channel == "shell" and reply["header"]["msg_type"] == "execute_reply"
                and reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]):
            return reply
