"""Reading a real Kafka topic back, and the ``kafka`` sink's config, for the tests that
put alerts on Kafka (test_kafka.py, test_e2e_jupyter.py). The broker is the session's
``kafka`` fixture (conftest.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")


def consume_all(bootstrap: str, topic: str, quiet: float = 3.0, timeout: float = 60.0,
                at_least: int = 0) -> list[dict[str, Any]]:
    """Every message of ``topic`` from offset 0 until ``at_least`` came and then none
    for ``quiet`` seconds (the broker's end offsets are not trusted), as JSON objects."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        deadline = time.monotonic() + timeout
        partitions: Any = {}
        while not partitions and time.monotonic() < deadline:  # the topic may come later
            metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
            partitions = metadata.partitions if metadata and not metadata.error else {}
            time.sleep(0 if partitions else 0.5)
        # Assigned, not subscribed: no group join to wait for.
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in partitions])
        found: list[dict[str, Any]] = []
        last = time.monotonic()
        while time.monotonic() < deadline and (
                len(found) < at_least or time.monotonic() - last < quiet):
            for message in consumer.consume(100, 0.2):
                if message.error() is None:
                    found.append(orjson.loads(message.value()))
                    last = time.monotonic()
        return found
    finally:
        consumer.close()


def kafka_sink(bootstrap: str, topic: str, spool_dir: Path) -> dict[str, Any]:
    """The ``kafka`` sink's config: topics created on first use, batches sent at once."""
    return {"type": "kafka", "bootstrap.servers": bootstrap, "topic": topic,
            "create_topics": True, "spool_dir": str(spool_dir), "batch_age": 0.05}
