"""Events submitted to the sink are consumed back from a real broker, one by one."""

from __future__ import annotations

from collections import defaultdict

import orjson
from confluent_kafka.admin import AdminClient
from kafka_test_helpers import SCHEMA_A, SCHEMA_B, consume, make_event
from telemetry_sink_kafka import KafkaSink, topic_for

from telemetry_core.sinks import create_sink, read_dead_letters
from telemetry_core.testing import NAMING_TEMPLATE, naming_cases


def _sink(kafka, spool_dir, **options) -> KafkaSink:
    sink = create_sink({"type": "kafka", "bootstrap.servers": kafka.bootstrap_servers,
                        "batch_age": 0.05, "spool_dir": str(spool_dir), **options})
    assert isinstance(sink.sink, KafkaSink)
    sink.start()
    return sink


def test_every_event_arrives_with_key_headers_and_bytes_in_order(kafka, topic, tmp_path):
    sink = _sink(kafka, tmp_path, topic=topic, batch_size=300)
    events = [make_event(i, SCHEMA_A if i % 3 else SCHEMA_B, "1" if i % 3 else "2",
                         user=f"u{i % 7}") for i in range(2000)]
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=60)
    sink.close()
    assert sink.stats()["delivered"] == len(events)

    messages = consume(kafka.bootstrap_servers, [topic], expected=len(events))
    by_id = {e.event_id: e for e in events}
    assert sorted(m.key().decode() for m in messages) == sorted(by_id)  # each once, none extra
    seqs_per_partition: dict[int, list[int]] = defaultdict(list)
    for msg in messages:
        event = by_id[msg.key().decode()]
        assert msg.value() == event.json  # the core's bytes, not re-serialised
        assert dict(msg.headers()) == {"schema_id": event.schema_id.encode(),
                                       "schema_version": event.version.encode()}
        seqs_per_partition[msg.partition()].append(orjson.loads(msg.value())["seq"])
    for seqs in seqs_per_partition.values():  # the idempotent producer keeps order
        assert seqs == sorted(seqs)


def test_topic_template_routes_by_schema(kafka, topic, tmp_path):
    sink = _sink(kafka, tmp_path, topic=topic + ".{schema_path}.v{version}")
    events = [make_event(i, SCHEMA_A if i % 2 else SCHEMA_B, "1" if i % 2 else "2")
              for i in range(200)]
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=60)
    sink.close()

    topic_a = f"{topic}.jupyter_server_kernel_actions_v1.v1"
    topic_b = f"{topic}.my-org_button_click_v2.v2"  # "/" and " " are not legal in a topic
    assert topic_for(sink.sink.topic.template, SCHEMA_B, "2") == topic_b
    assert topic_for(sink.sink.topic.template, SCHEMA_A, "1") == topic_a
    for name, schema in ((topic_a, SCHEMA_A), (topic_b, SCHEMA_B)):
        wanted = sorted(e.event_id for e in events if e.schema_id == schema)
        got = consume(kafka.bootstrap_servers, [name], expected=len(wanted))
        assert sorted(m.key().decode() for m in got) == wanted


def test_topics_are_created_with_the_configured_partitions(kafka, topic, tmp_path):
    sink = _sink(kafka, tmp_path, topic=topic, create_topics=True, topic_partitions=3)
    metadata = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=10)
    assert len(metadata.topics[topic].partitions) == 3
    assert sink.stats()["kafka_topics_created"] == 1
    sink.close()


def test_too_large_event_is_dead_lettered_and_the_rest_delivered(kafka, topic, tmp_path):
    sink = _sink(kafka, tmp_path, topic=topic, **{"message.max.bytes": 5000})
    small = [make_event(i) for i in range(20)]
    big = make_event(99, padding="x" * 20_000)
    for event in small[:10] + [big] + small[10:]:
        sink.submit(event)
    assert sink.flush(timeout=60)
    sink.close()
    stats = sink.stats()
    assert (stats["delivered"], stats["dead_lettered"]) == (20, 1)
    (letter,) = read_dead_letters(sink)
    assert letter["event_id"] == big.event_id and "MSG_SIZE_TOO_LARGE" in str(letter["reason"])
    got = consume(kafka.bootstrap_servers, [topic], expected=20)
    assert sorted(m.key().decode() for m in got) == sorted(e.event_id for e in small)


def test_a_plain_logging_record_becomes_a_message_without_a_key(kafka, topic, tmp_path):
    import logging

    sink = _sink(kafka, tmp_path, topic=topic)
    logger = logging.getLogger(f"kafka-sink-test-{topic}")
    logger.propagate = False
    logger.addHandler(sink)
    logger.warning({"hello": "kafka", "n": 1})  # standard logging, no EventLog envelope
    assert sink.flush(timeout=30)
    logger.removeHandler(sink)
    sink.close()
    (msg,) = consume(kafka.bootstrap_servers, [topic], expected=1)
    assert msg.key() is None
    assert orjson.loads(msg.value()) == {"hello": "kafka", "n": 1}


def test_topics_name_events_as_every_sink_does(kafka, topic, tmp_path):
    # The table every sink's naming test uses: UTC {date}/{hour} whatever the offset,
    # one {schema} per schema id; a topic named by time changes with each event's hour.
    sink = _sink(kafka, tmp_path, topic=f"{topic}.{NAMING_TEMPLATE}")
    cases = naming_cases()
    for event, _ in cases:
        sink.submit(event)
    assert sink.flush(timeout=60)
    sink.close()
    wanted = {event.event_id: f"{topic}.{name}" for event, name in cases}
    for event, _ in cases:
        assert topic_for(sink.sink.topic.template, event.schema_id, event.version,
                         event.timestamp) == wanted[event.event_id]
    got = consume(kafka.bootstrap_servers, sorted(set(wanted.values())), expected=len(cases))
    assert {m.key().decode(): m.topic() for m in got} == wanted
