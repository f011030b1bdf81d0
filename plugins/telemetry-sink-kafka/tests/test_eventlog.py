"""Events recorded through ``EventLog`` with a Kafka sink, consumed back one by one."""

from __future__ import annotations

from collections import defaultdict

import orjson
from kafka_test_helpers import CELL_RUN, KERNEL_ACTION, consume, eventlog


def test_recorded_events_are_consumed_back_one_by_one(kafka, topic, tmp_path):
    log = eventlog(kafka.bootstrap_servers, topic, tmp_path, batch_size=100)
    recorded = []
    for seq in range(600):
        if seq % 4:
            recorded.append(log.record_event(KERNEL_ACTION["$id"], 1, {
                "action": ("start", "restart", "stop")[seq % 3], "seq": seq, "user": "ada"}))
        else:
            recorded.append(log.record_event(CELL_RUN["$id"], "2", {"seq": seq, "ms": seq}))
    assert log.flush(timeout=60)
    log.close()

    messages = consume(kafka.bootstrap_servers, [topic], expected=len(recorded))
    by_id = {event["__event_id__"]: event for event in recorded}
    keys = [m.key().decode() for m in messages]
    assert sorted(keys) == sorted(by_id)  # every event once, nothing else
    per_partition: dict[int, list[int]] = defaultdict(list)
    for msg in messages:
        event = by_id[msg.key().decode()]
        assert orjson.loads(msg.value()) == event  # as recorded: "user" already redacted
        assert dict(msg.headers()) == {"schema_id": event["__schema__"].encode(),
                                       "schema_version": str(event["__schema_version__"]).encode()}
        per_partition[msg.partition()].append(event["seq"])
    for seqs in per_partition.values():
        assert seqs == sorted(seqs)
    assert all(event.get("user") is None for event in recorded)  # the policy held


def test_topic_template_through_eventlog(kafka, topic, tmp_path):
    log = eventlog(kafka.bootstrap_servers, topic + ".{schema_name}", tmp_path)
    kernel = [log.record_event(KERNEL_ACTION["$id"], 1, {"action": "start", "seq": i})
              for i in range(30)]
    cells = [log.record_event(CELL_RUN["$id"], "2", {"seq": i}) for i in range(20)]
    assert log.flush(timeout=60)
    log.close()
    for name, events in ((f"{topic}.kernel_action", kernel), (f"{topic}.cell_run", cells)):
        got = consume(kafka.bootstrap_servers, [name], expected=len(events))
        assert sorted(m.key().decode() for m in got) == sorted(e["__event_id__"] for e in events)
