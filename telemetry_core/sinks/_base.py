"""SinkHandler: the base class every sink stands on.

A sink plugin implements ``write_batch`` (and optionally ``open``/``close_sink``).
This class owns everything else: the bounded queue, the background worker that
batches by size and age, retries with backoff, the disk spool, the dead-letter
file, flush/close and the counters. No plugin writes its own.

NOTE (scaffold): queue, worker, batching and retry work; the disk spool, dead-letter
file and fork safety are being built under issue 3 behind this same interface.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from ._errors import PermanentSinkError, WriteResult
from ._event import SinkEvent

log = logging.getLogger("telemetry_core.sinks")


class SinkHandler(logging.Handler):
    """A ``logging.Handler`` that delivers events to a sink through a background worker.

    Subclasses set ``sink_type`` (the entry-point name), ``options`` (option name ->
    one-line description, shown by ``telemetry sinks``), may override the batching
    defaults, and implement :meth:`write_batch`.
    """

    sink_type: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}
    default_batch_size: ClassVar[int] = 500
    default_batch_age: ClassVar[float] = 1.0

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        batch_age: float | None = None,
        queue_max_events: int = 100_000,
        emit_timeout: float = 0.0,
        retry_initial: float = 0.1,
        retry_max: float = 30.0,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.batch_size = batch_size or self.default_batch_size
        self.batch_age = self.default_batch_age if batch_age is None else batch_age
        self.emit_timeout = emit_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._queue: queue.Queue[SinkEvent | None] = queue.Queue(maxsize=queue_max_events)
        self._pending = 0  # accepted but not yet delivered, dead-lettered or dropped
        self._pending_lock = threading.Condition()
        self._closed = False
        self.counters: dict[str, int] = dict.fromkeys(
            ("accepted", "delivered", "retried", "spooled", "replayed",
             "dead_lettered", "dropped"), 0)
        self._worker: threading.Thread | None = None

    # -- what a plugin implements ------------------------------------------------

    def open(self) -> None:
        """Connect and check configuration; raise ``SinkConfigError`` with a clear message."""

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Deliver ``events``; return None when all were delivered.

        Raise ``TransientSinkError`` to retry the whole batch, ``PermanentSinkError``
        to dead-letter it, or return a ``WriteResult`` for per-event outcomes.
        """
        raise NotImplementedError

    def close_sink(self) -> None:
        """Release the sink's connections; called once, after the last batch."""

    # -- what the core and logging call -------------------------------------------

    def start(self) -> None:
        """Open the sink and start the worker (idempotent)."""
        if self._worker is None:
            self.open()
            self._worker = threading.Thread(
                target=self._run, name=f"telemetry-sink-{self.sink_type}", daemon=True)
            self._worker.start()

    def submit(self, event: SinkEvent) -> None:
        """Enqueue one event. Never raises into the caller; blocks at most ``emit_timeout``."""
        if self._worker is None:
            self.start()
        with self._pending_lock:
            self._pending += 1
        try:
            self._queue.put(event, timeout=self.emit_timeout or None) if self.emit_timeout \
                else self._queue.put_nowait(event)
            self.counters["accepted"] += 1
        except queue.Full:
            self.counters["dropped"] += 1
            self._settle(1)
            log.warning("sink %s: queue full, event %s dropped", self.sink_type, event.event_id)

    def emit(self, record: logging.LogRecord) -> None:
        """Standard-logging entry point: the core attaches ``record.sink_event``."""
        try:
            event = getattr(record, "sink_event", None)
            if event is None:
                event = SinkEvent.from_json(self.format(record).encode())
            self.submit(event)
        except Exception:
            self.handleError(record)

    def flush(self, timeout: float | None = 30.0) -> bool:  # type: ignore[override]
        """Wait until everything accepted so far is delivered (or settled); True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._pending_lock:
            while self._pending > 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._pending_lock.wait(left)
        return True

    def close(self) -> None:
        """Drain, stop the worker and close the sink."""
        if not self._closed:
            self._closed = True
            if self._worker is not None:
                self.flush(timeout=30.0)
                self._queue.put(None)
                self._worker.join(timeout=30.0)
                self.close_sink()
        super().close()

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters, plus the current queue depth."""
        return {**self.counters, "queue_depth": self._queue.qsize()}

    # -- the worker -----------------------------------------------------------------

    def _settle(self, n: int) -> None:
        with self._pending_lock:
            self._pending -= n
            self._pending_lock.notify_all()

    def _next_batch(self) -> tuple[list[SinkEvent], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self.batch_age
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._next_batch()
            if batch:
                self._deliver(batch)

    def _deliver(self, batch: list[SinkEvent]) -> None:
        delay = self.retry_initial
        todo = batch
        while todo:
            try:
                result = self.write_batch(todo)
            except PermanentSinkError as exc:
                self.counters["dead_lettered"] += len(todo)
                log.error("sink %s rejected %d events: %s", self.sink_type, len(todo), exc)
                self._settle(len(todo))
                return
            except Exception as exc:  # transient, or a bug in the sink: retry
                log.warning("sink %s: write failed, retrying in %.2fs: %s",
                            self.sink_type, delay, exc)
                self.counters["retried"] += len(todo)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.retry_max)
                continue
            retry = list(result.retry) if result else []
            rejected = list(result.rejected) if result else []
            done = len(todo) - len(retry) - len(rejected)
            self.counters["delivered"] += done
            self.counters["dead_lettered"] += len(rejected)
            self._settle(done + len(rejected))
            if retry:
                self.counters["retried"] += len(retry)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.retry_max)
            todo = retry

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sink_type!r} {self.stats()}>"


def sink_options(handler_cls: type[SinkHandler]) -> dict[str, Any]:
    """The options a sink type documents, for ``telemetry sinks``."""
    return dict(handler_cls.options)
