"""Helpers of the Kafka sink tests: events as the core makes them, and a consumer that
reads topics back from offset 0."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from telemetry_core.sinks import SinkEvent

SCHEMA_A = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
SCHEMA_B = "https://example.org/my-org/button click/v2"


def make_event(seq: int, schema_id: str = SCHEMA_A, version: str = "1",
               **fields: object) -> SinkEvent:
    """An enveloped event as the core hands it to sinks (serialised once)."""
    body = {
        "__timestamp__": datetime.now(timezone.utc).isoformat(),
        "__schema__": schema_id,
        "__schema_version__": version,
        "__metadata_version__": 1,
        "__event_id__": str(uuid.uuid4()),
        "seq": seq,
        **fields,
    }
    return SinkEvent.from_json(orjson.dumps(body))


def consume(bootstrap: str, topics: Iterable[str], expected: int,
            timeout: float = 30.0, settle: float = 1.0) -> list[Message]:
    """Every message in ``topics`` from offset 0: stops once ``expected`` arrived and no
    more came for ``settle`` seconds (to see duplicates), or after ``timeout``."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"verify-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
    })
    try:
        metadata = consumer.list_topics(timeout=10)
        assignment = [TopicPartition(t, p, OFFSET_BEGINNING)
                      for t in topics if t in metadata.topics
                      for p in metadata.topics[t].partitions]
        consumer.assign(assignment)
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, 0.2)
            for msg in batch:
                assert msg.error() is None, msg.error()
                messages.append(msg)
            if batch:
                last = time.monotonic()
            elif len(messages) >= expected and time.monotonic() - last > settle:
                break
        return messages
    finally:
        consumer.close()


def wait_delivered(sink: Any, timeout: float) -> dict[str, int]:
    """Wait until every accepted event was delivered or dead-lettered (spooled ones
    replayed too: ``flush`` alone also returns once events are safe on disk)."""
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, int] = sink.stats()
        settled = stats["delivered"] + stats["dead_lettered"] + stats["dropped"]
        if settled >= stats["accepted"] or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


KERNEL_ACTION = {
    "$id": "https://events.example.org/jupyter_server/kernel_action/v1",
    "version": 1,
    "title": "A kernel action",
    "description": "A user started, restarted or stopped a kernel.",
    "type": "object",
    "required": ["action", "seq"],
    "properties": {
        "action": {"title": "Action", "description": "What happened.",
                   "enum": ["start", "restart", "stop"]},
        "seq": {"title": "Sequence", "description": "Order of recording.", "type": "integer"},
        "user": {"title": "User", "description": "Who did it.", "type": "string", "pii": True},
    },
}
CELL_RUN = {
    "$id": "https://events.example.org/lab/cell~run",
    "version": "2",
    "title": "A cell ran",
    "description": "A notebook cell was executed.",
    "type": "object",
    "required": ["seq"],
    "properties": {
        "seq": {"title": "Sequence", "description": "Order of recording.", "type": "integer"},
        "ms": {"title": "Duration", "description": "How long it ran.", "type": "integer"},
    },
}


def eventlog(bootstrap: str, topic: str, spool_dir: Any, **options: Any) -> Any:
    """An EventLog whose only sink is Kafka, configured as an administrator would."""
    from telemetry_core import EventLog

    sink = {"type": "kafka", "bootstrap.servers": bootstrap, "topic": topic,
            "spool_dir": str(spool_dir), "batch_age": 0.05, **options}
    log = EventLog(sinks=[sink], allowed_schemas=[KERNEL_ACTION["$id"], CELL_RUN["$id"]])
    log.register_schema(KERNEL_ACTION)
    log.register_schema(CELL_RUN)
    return log
