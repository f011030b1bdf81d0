"""The detect sink's webhook: recorded alerts POSTed as JSON, retried, never blocking."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ALERT, POLICY, REVERSE_SHELL, record_code

from telemetry_core import EventLog
from telemetry_core.sinks import SinkConfigError
from telemetry_core.testing.servers import free_port


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that fails the first ``failures`` POSTs."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's spelling
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= failures:
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(failures=1)
    yield found
    found.server.shutdown()


def _run(tmp_path: Path, url: str, policy: dict[str, Any] = POLICY) -> dict[str, int]:
    log = EventLog(allowed_schemas=policy, sinks=[
        {"type": "detect", "webhook_url": url, "webhook_timeout": 2.0,
         "spool_dir": str(tmp_path / "spool")}])
    try:
        record_code(log, [REVERSE_SHELL, "x = 1"])
        assert log.flush(timeout=60)
        detect = log.sink_handlers[0]
    finally:
        log.close()  # posts what is queued before it returns
    return detect.stats()


def test_an_alert_is_posted_once_after_a_retry(tmp_path: Path, receiver: Receiver) -> None:
    stats = _run(tmp_path, receiver.url)
    assert receiver.attempts == 2 and len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["text"] == "[high] Reverse shell through /dev/tcp"
    assert body["alert"]["__schema__"] == ALERT and body["alert"]["user"] == "ana"
    assert "127.0.0.1/4444" not in json.dumps(body)  # never the matched code
    assert stats["detect_webhook_sent"] == 1 and stats["detect_webhook_failed"] == 0


def test_the_webhook_gets_the_alert_as_the_policy_recorded_it(tmp_path: Path,
                                                              receiver: Receiver) -> None:
    _run(tmp_path, receiver.url, {**POLICY, ALERT: {"consent": "required"}})
    (body,) = receiver.bodies
    assert body["alert"].get("user") is None


def test_a_dead_endpoint_is_counted_and_blocks_nothing(tmp_path: Path) -> None:
    stats = _run(tmp_path, f"http://127.0.0.1:{free_port()}/hook")
    assert stats["detect_alerts"] == 1 and stats["detect_webhook_failed"] == 1


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(SinkConfigError, match="'webhook_url' must be an http"):
        EventLog(allowed_schemas=POLICY, sinks=[
            {"type": "detect", "webhook_url": "file:///etc/passwd",
             "spool_dir": str(tmp_path / "spool")}])
