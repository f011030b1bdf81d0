"""Alerts on a real Kafka topic: the ``detect`` sink next to the ``kafka`` sink."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ALERT, LOOK_ALIKE, POLICY, REVERSE_SHELL, record_code

from telemetry_core import EventLog

confluent_kafka = pytest.importorskip("confluent_kafka")


@pytest.fixture(scope="module")
def kafka() -> Iterator[Any]:
    from telemetry_core.testing.servers import kafka_server

    with kafka_server() as server:
        yield server


def consume_all(bootstrap: str, topic: str, quiet: float = 3.0, timeout: float = 60.0,
                at_least: int = 0) -> list[dict[str, Any]]:
    """Every message of ``topic`` from offset 0 until ``at_least`` came and then none
    for ``quiet`` seconds (the broker's end offsets are not trusted), as JSON objects."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        # Assigned, not subscribed: no group join to wait for.
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in partitions])
        found: list[dict[str, Any]] = []
        last = time.monotonic()
        deadline = last + timeout
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
    return {"type": "kafka", "bootstrap.servers": bootstrap, "topic": topic,
            "create_topics": True, "spool_dir": str(spool_dir), "batch_age": 0.05}


def test_one_alert_reaches_the_alert_topic(kafka: Any, tmp_path: Path) -> None:
    prefix = f"detect-{uuid.uuid4().hex[:8]}"
    log = EventLog(allowed_schemas=POLICY, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "spool-detect")},
        kafka_sink(kafka.bootstrap_servers, prefix + ".{schema_name}", tmp_path / "spool")])
    try:
        recorded = record_code(log, [LOOK_ALIKE, REVERSE_SHELL])
        # The detect sink records the alert while it delivers; flush again for it.
        assert log.flush(timeout=60) and log.flush(timeout=60)
    finally:
        log.close()
    alerts = consume_all(kafka.bootstrap_servers, f"{prefix}.alert")
    assert len(alerts) == 1, alerts
    assert alerts[0]["__schema__"] == ALERT
    assert alerts[0]["matched_event_ids"] == [recorded[1]["__event_id__"]]
    assert "127.0.0.1/4444" not in orjson.dumps(alerts[0]).decode()
    events = consume_all(kafka.bootstrap_servers, f"{prefix}.code-executed", quiet=1.0)
    assert sorted(e["__event_id__"] for e in events) == sorted(
        e["__event_id__"] for e in recorded)

