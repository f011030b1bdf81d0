"""An HTTP proxy in front of the real server that turns chosen answers into failures.

The emulator never throttles and has no security, so to see the sink's handling of 429, 5xx,
401/403 and version refusals this proxy forwards every request to the real server and, for
the requests it was told to, either answers the whole request with an error (nothing
forwarded) or rewrites chosen bulk items' statuses after the server really indexed them (as
when a node accepted a document but the answer said otherwise). Everything else passes
through unchanged.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    """What to do to one request: a whole-request status, or (bulk) per-item statuses."""

    status: int | None = None  # answer the whole request with this status, unforwarded
    items: dict[int, int] = field(default_factory=dict)  # item position -> status to report
    path: str = "/_bulk"  # the request path it applies to (query string aside)
    error: dict[str, Any] | None = None  # the error object to answer with (else a generic one)
    delay: float = 0.0  # seconds to wait before anything else (a silent server)


@dataclass
class Proxy:
    """The proxy's address and the faults still to apply, in order, to matching requests."""

    url: str
    faults: list[Fault]
    bulk_requests: int = 0


_ERRORS = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception",
           500: "internal_server_error"}


def _error(status: int) -> dict[str, Any]:
    kind = _ERRORS.get(status, "exception")
    return {"type": kind, "reason": f"injected by the test proxy: {status} {kind}"}


@contextmanager
def faulty_proxy(upstream: str, faults: list[Fault],
                 tls: ssl.SSLContext | None = None) -> Iterator[Proxy]:
    """Run the proxy on a free port of 127.0.0.1 while the block runs (HTTPS with ``tls``)."""
    state = Proxy(url="", faults=list(faults))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = self.path.split("?")[0]
            if path.endswith("/_bulk"):
                state.bulk_requests += 1
            fault = next((f for f in state.faults if f.path == path
                          or (f.path == "/_bulk" and path.endswith("/_bulk"))), None)
            if fault is not None:
                state.faults.remove(fault)
                time.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                self._reply(fault.status, {"error": fault.error or _error(fault.status),
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
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
