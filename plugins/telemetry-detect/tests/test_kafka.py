"""Alerts on a real Kafka topic: the ``detect`` sink next to the ``kafka`` sink."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli import TELEMETRY, telemetry
from conftest import ALERT, LOOK_ALIKE, POLICY, REVERSE_SHELL, record_code
from telemetry_detect import shipped_pack

from telemetry_core import EventLog

confluent_kafka = pytest.importorskip("confluent_kafka")

from kafka_helpers import consume_all, kafka_sink  # noqa: E402


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
    alerts = consume_all(kafka.bootstrap_servers, f"{prefix}.alert", at_least=1)
    assert len(alerts) == 1, alerts
    assert alerts[0]["__schema__"] == ALERT
    assert alerts[0]["matched_event_ids"] == [recorded[1]["__event_id__"]]
    assert "127.0.0.1/4444" not in orjson.dumps(alerts[0]).decode()
    events = consume_all(kafka.bootstrap_servers, f"{prefix}.code-executed",
                         at_least=len(recorded), quiet=1.0)
    assert sorted(e["__event_id__"] for e in events) == sorted(
        e["__event_id__"] for e in recorded)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_consumer_group_detector_records_one_alert(kafka: Any, tmp_path: Path,
                                                       stop: signal.Signals) -> None:
    bootstrap, prefix = kafka.bootstrap_servers, f"run-{uuid.uuid4().hex[:8]}"
    log = EventLog(allowed_schemas=POLICY, sinks=[
        kafka_sink(bootstrap, prefix + ".{schema_name}", tmp_path / "spool-events")])
    try:
        recorded = record_code(log, [LOOK_ALIKE, REVERSE_SHELL])
        assert log.flush(timeout=60)
    finally:
        log.close()
    # Planted among the events: an alert (a rule on alerts must not see it: the worker
    # never evaluates alerts) and a message that is no JSON object (skipped, counted).
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    planted = {**recorded[0], "__schema__": ALERT, "__event_id__": "planted", "level": "high"}
    for value in (orjson.dumps(planted), b"not json"):
        producer.produce(f"{prefix}.code-executed", value)
    assert producer.flush(30) == 0
    on_alerts = tmp_path / "rules"
    on_alerts.mkdir()
    (on_alerts / "on_alerts.yml").write_text(
        "title: any alert\nlogsource: {product: jupyter, category: detection_alert}\n"
        "detection:\n  s:\n    level: high\n  condition: s\nlevel: high\n")
    # The worker's alerts go to a topic its own pattern matches too.
    config = tmp_path / "detect.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": POLICY, "sinks": [
        kafka_sink(bootstrap, prefix + ".{schema_name}", tmp_path / "spool-alerts")]}}))
    worker = subprocess.Popen(
        [str(TELEMETRY), "detect", "run", "--rules", str(shipped_pack()), "--rules",
         str(on_alerts), "--kafka", bootstrap, "--topic",
         f"^{re.escape(prefix)}\\..*", "--group", f"{prefix}-detectors", "--config", str(config),
         "-X", "topic.metadata.refresh.interval.ms=1000", "-X", "session.timeout.ms=6000",
         "-X", "max.poll.interval.ms=10000", "--state-dir", str(tmp_path / "novelty")],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        alerts = consume_all(bootstrap, f"{prefix}.alert", at_least=1)
    finally:
        worker.send_signal(stop)
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert len(alerts) == 1, (alerts, stderr)
    assert alerts[0]["matched_event_ids"] == [recorded[1]["__event_id__"]]
    assert alerts[0]["title"] == "Reverse shell through /dev/tcp"
    assert "stopped: 2 events in" in stderr and "1 alerts recorded" in stderr, stderr
    assert "1 messages skipped" in stderr, stderr
    committed = _committed(bootstrap, f"{prefix}-detectors", f"{prefix}.code-executed")
    assert committed == 4  # offsets committed after the batch was evaluated
    # The new-address state is kept where --state-dir says, for the next start.
    assert stat.S_IMODE((tmp_path / "novelty" / "novelty.sqlite3").stat().st_mode) == 0o600


def _committed(bootstrap: str, group: str, topic: str) -> int:
    """The offsets ``group`` committed on ``topic``, summed over its partitions."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        offsets = consumer.committed([confluent_kafka.TopicPartition(topic, p)
                                      for p in partitions], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def test_bad_run_options_are_one_line_and_exit_1(tmp_path: Path) -> None:
    base = ("detect", "run", "--kafka", "127.0.0.1:9", "--topic", "t", "--group", "g",
            "--config", str(tmp_path / "unused.json"))
    proc = telemetry(*base, "-X", "security.protocol")
    assert proc.returncode == 1 and "-X security.protocol: expected KEY=VALUE" in proc.stderr
    proc = telemetry(*base, "--batch", "0")
    assert proc.returncode == 1 and "--batch must be at least 1" in proc.stderr
    assert "Traceback" not in proc.stderr
