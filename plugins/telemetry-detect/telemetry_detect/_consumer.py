"""The streaming detector as a Kafka consumer group (``telemetry detect run``).

Workers with the same group id share the partitions of the topics the ``kafka`` sink
wrote, so more workers share the load. Each worker takes a bounded batch, evaluates the
compiled rules over it, records the alerts through its own EventLog (so they reach that
EventLog's sinks), flushes it, and only then commits the batch's offsets: a crash
re-evaluates at most one batch, and the alert ids, derived from rule and matched ids,
come out the same, so idempotent sinks keep one. Correlation windows live in the
worker's memory: they are lost on a restart and per worker (each sees its partitions).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson

from ._alerts import ALERT_SCHEMA, ALERT_VERSION, alerts

log = logging.getLogger(__name__)


class ConsumerDetector:
    """Rules of ``detector`` over the messages of ``topics`` (names, or ``^regex``)."""

    def __init__(self, detector: Any, eventlog: Any, consumer: Any, topics: list[str],
                 batch_size: int = 2000, batch_wait: float = 1.0,
                 flush_timeout: float = 60.0) -> None:
        self.detector = detector
        self.eventlog = eventlog
        self.consumer = consumer
        self.topics = topics
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.flush_timeout = flush_timeout
        self.counts = {"events": 0, "skipped": 0, "alerts": 0, "alerts_not_recorded": 0,
                       "batches": 0}

    def run(self, stop: threading.Event,
            progress: Callable[[dict[str, int]], None] | None = None) -> dict[str, int]:
        """Consume until ``stop`` is set; the counts. The batch in hand is finished and
        committed before returning; the consumer is closed (it leaves the group)."""
        self.consumer.subscribe(self.topics)
        try:
            while not stop.is_set():
                messages = self.consumer.consume(self.batch_size, self.batch_wait)
                if messages:
                    self._evaluate(messages)
                    self.consumer.commit(asynchronous=False)
                    self.counts["batches"] += 1
                    if progress is not None:
                        progress(self.counts)
        finally:
            self.consumer.close()
        return self.counts

    def _evaluate(self, messages: list[Any]) -> None:
        events = []
        for message in messages:
            if message.error() is not None:
                log.warning("kafka: %s", message.error())
                continue
            try:
                event = orjson.loads(message.value() or b"")
            except orjson.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.counts["skipped"] += 1  # not an event the kafka sink wrote
            elif event.get("__schema__") != ALERT_SCHEMA:  # never feed on alerts
                events.append(message.value())
        self.counts["events"] += len(events)
        if not events:
            return
        matches = self.detector.evaluate(self.detector.match_json(events))
        for event_id, data in alerts(matches):
            recorded = self.eventlog.record_event(ALERT_SCHEMA, ALERT_VERSION, data,
                                                  event_id=event_id)
            self.counts["alerts" if recorded is not None else "alerts_not_recorded"] += 1
        if matches and not self.eventlog.flush(timeout=self.flush_timeout):
            # Not committed: the batch is evaluated again (same alert ids).
            raise RuntimeError(f"alerts not delivered within {self.flush_timeout:.0f}s; "
                               "offsets not committed")
