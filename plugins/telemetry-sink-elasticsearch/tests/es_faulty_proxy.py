"""An HTTP proxy in front of the real server that turns chosen bulk answers into failures.

The emulator never throttles, so to see the sink's handling of 429 and 5xx this proxy
forwards every request to the real server and then, for the bulk requests it was told to,
either answers the whole request with an error (nothing forwarded) or rewrites chosen items'
statuses after the server really indexed them (as when a node accepted a document but the
answer said otherwise). Everything else passes through unchanged.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    """What to do to one bulk request: a whole-request status, or per-item statuses."""

    status: int | None = None  # answer the whole request with this status, unforwarded
    items: dict[int, int] = field(default_factory=dict)  # item position -> status to report


@dataclass
class Proxy:
    """The proxy's address and the faults still to apply, in order, to bulk requests."""

    url: str
    faults: list[Fault]
    bulk_requests: int = 0


_ERRORS = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception",
           500: "internal_server_error"}


def _error(status: int) -> dict[str, Any]:
    kind = _ERRORS.get(status, "exception")
    return {"type": kind, "reason": f"injected by the test proxy: {status} {kind}"}


@contextmanager
def faulty_proxy(upstream: str, faults: list[Fault]) -> Iterator[Proxy]:
    """Run the proxy on a free port of 127.0.0.1 while the block runs."""
    state = Proxy(url="", faults=list(faults))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            is_bulk = self.path.split("?")[0].endswith("/_bulk")
            fault = None
            if is_bulk:
                state.bulk_requests += 1
                fault = state.faults.pop(0) if state.faults else None
            if fault is not None and fault.status is not None:
                self._reply(fault.status, {"error": _error(fault.status),
                                           "status": fault.status}, {})
                return
            request = urllib.request.Request(
                upstream + self.path, data=body, method=self.command,
                headers={k: v for k, v in self.headers.items()
                         if k.lower() not in ("host", "content-length", "connection")})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, raw, headers = response.status, response.read(), response.headers
            except urllib.error.HTTPError as exc:
                status, raw, headers = exc.code, exc.read(), exc.headers
            if fault is not None and fault.items:
                answer = json.loads(raw)
                for position, item_status in fault.items.items():
                    if position >= len(answer["items"]):
                        continue
                    result = next(iter(answer["items"][position].values()))
                    result["status"] = item_status
                    result["error"] = _error(item_status)
                answer["errors"] = True
                raw = json.dumps(answer).encode()
            self._reply(status, raw, headers)

        def _reply(self, status: int, body: Any, headers: Any) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", headers.get("Content-Type",
                                                         "application/json") if headers
                             else "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_PUT = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
