"""An optional webhook for people on call: each recorded alert as a JSON POST.

The body is Slack/Teams-compatible (``text``) and carries the alert exactly as the
EventLog recorded it, so it holds only what the policy allows. Posting happens on a
thread of its own behind a bounded queue: a slow or dead endpoint never delays
detection; an alert that finds the queue full is dropped and counted, a POST that fails
is retried with backoff a bounded number of times, then counted as failed.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson


def check_url(url: str) -> None:
    """``ValueError`` unless ``url`` is http(s)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("'webhook_url' must be an http:// or https:// URL")


class Webhook:
    """POSTs alerts to ``url`` from a background thread; ``count(name)`` records
    ``detect_webhook_sent``/``_dropped``/``_failed``."""

    def __init__(self, url: str, count: Callable[[str], None], max_queue: int = 1000,
                 timeout: float = 5.0, attempts: int = 3, backoff: float = 0.5) -> None:
        check_url(url)
        self.url, self.count = url, count
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="telemetry-detect-webhook",
                                        daemon=True)
        self._thread.start()

    def send(self, alert: dict[str, Any]) -> None:
        """Queue ``alert`` (as recorded) for posting; never blocks."""
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.count("detect_webhook_dropped")

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            self._post(alert)

    def _post(self, alert: dict[str, Any]) -> None:
        text = f"[{alert.get('level', '?')}] {alert.get('title', 'detection alert')}"
        body = orjson.dumps({"text": text, "alert": alert})
        for attempt in range(self.attempts):
            request = urllib.request.Request(self.url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        self.count("detect_webhook_sent")
                        return
            except (OSError, ValueError):
                pass  # urllib raises HTTPError (an OSError) for 4xx/5xx too
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff * 2**attempt)
        self.count("detect_webhook_failed")

    def close(self, timeout: float = 10.0) -> None:
        """Post what is queued (within ``timeout``), then stop the thread."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join(max(0.0, deadline - time.monotonic()))
