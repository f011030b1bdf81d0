"""The C batch producer (_rdkafka.c) on real librdkafka, and the sink's choice between it
and confluent-kafka's produce(); what needs a broker uses the Tansu fixture.

Tests of the C module are skipped when it is off (TELEMETRY_SINK_KAFKA_PURE_PYTHON=1, or
not built); the others run, and must pass, in both modes.
"""

from __future__ import annotations

import logging
import sys

import pytest
from confluent_kafka import KafkaError
from kafka_test_helpers import SCHEMA_A, SCHEMA_B, consume, make_event
from telemetry_sink_kafka import KafkaSink, _native, topic_for
from telemetry_sink_kafka._native import rdkafka

from telemetry_core.sinks import SinkConfigError

needs_c = pytest.mark.skipif(rdkafka is None, reason=f"the C producer is off: {_native.why_not}")
BOTH_WAYS = pytest.mark.parametrize("native", [
    pytest.param(True, marks=needs_c, id="c-producer"),
    pytest.param(False, id="confluent-kafka"),
])
NOWHERE = {"bootstrap.servers": "127.0.0.1:1"}  # nothing listens on port 1
# A producer with no broker: every message times out after 0.5 s, each with a report.
NO_BROKER = {**NOWHERE, "message.timeout.ms": "500", "delivery.report.only.error": "false"}


def _sink(tmp_path, **options) -> KafkaSink:
    return KafkaSink(spool_dir=str(tmp_path), **options)


# -- which producer the sink uses ---------------------------------------------------------

@needs_c
def test_the_sink_uses_the_c_producer_by_default_and_not_when_turned_off():
    assert KafkaSink(topic="t", **NOWHERE).native is True
    assert KafkaSink(topic="t", native_producer=False, **NOWHERE).native is False


@pytest.mark.parametrize("callback", ["oauth_cb", "stats_cb"])
def test_a_python_callback_setting_falls_back_to_confluent_kafka(callback):
    sink = KafkaSink(topic="t", **NOWHERE, **{callback: lambda *args: ("token", 0.0)})
    assert sink.native is False


def test_describe_names_the_producer_in_use_and_why():
    description = _native.describe()
    if rdkafka is None:
        assert KafkaSink(topic="t", **NOWHERE).native is False
        assert "confluent-kafka" in description and _native.why_not in description
    else:
        assert _native.why_not is None and "_rdkafka.c" in description


# -- _rdkafka.Producer on librdkafka, no broker -------------------------------------------

@needs_c
def test_failures_lists_each_timed_out_position_until_the_next_batch_begins():
    producer = rdkafka.Producer(NO_BROKER)
    producer.begin()
    assert producer.produce([make_event(i) for i in range(5)], 0, "t", (), 0.0)[:2] == (5, 0)
    assert producer.flush(5) == 0
    failures = producer.failures()
    assert [position for position, _, _ in failures] == [0, 1, 2, 3, 4]
    for _, code, reason in failures:
        assert code == KafkaError._MSG_TIMED_OUT and reason
    producer.begin()
    assert producer.failures() == []


@needs_c
def test_produce_clears_the_shared_lock_flag_and_holds_the_bytearray():
    producer = rdkafka.Producer(NO_BROKER)
    flag = bytearray(1)
    producer.share_lock_flag(flag)
    with pytest.raises(BufferError):
        flag.extend(b"x")  # held: produce() writes to it without the interpreter lock
    producer.begin()
    assert producer.produce([make_event(i) for i in range(3)], 0, "t", (), 0.0)[:2] == (3, 0)
    assert flag == bytearray(1)  # set while it took the lock back, cleared since
    for bad in (b"\0", bytearray()):
        with pytest.raises(TypeError, match="bytearray of 1 byte"):
            producer.share_lock_flag(bad)
    producer.purge()
    del producer
    flag.extend(b"x")  # released with the producer


@needs_c
def test_reports_of_an_earlier_batch_are_ignored_after_begin():
    producer = rdkafka.Producer(NO_BROKER)
    producer.begin()
    producer.produce([make_event(i) for i in range(3)], 0, "t", (), 0.0)
    producer.begin()  # before their reports (timeouts) come
    assert producer.flush(5) == 0
    assert producer.failures() == []


@needs_c
def test_produce_stops_where_the_schema_changes_comparing_ids_by_value():
    events = [make_event(i, SCHEMA_A) for i in range(3)] + [make_event(i, SCHEMA_B)
                                                            for i in range(3, 5)]
    assert events[0].schema_id is not events[1].schema_id  # equal, not the same object
    producer = rdkafka.Producer(NO_BROKER)
    producer.begin()
    try:
        assert producer.produce(events, 0, "t", (), 0.0)[:2] == (3, 0)
        assert producer.produce(events, 3, "t", (), 0.0)[:2] == (5, 0)
    finally:
        producer.purge()


@needs_c
def test_produce_stops_with_queue_full_when_the_local_queue_is_full():
    producer = rdkafka.Producer({**NO_BROKER, "queue.buffering.max.messages": "10"})
    producer.begin()
    try:
        stop, code, reason, left = producer.produce([make_event(i) for i in range(30)], 0,
                                                    "t", (), 0.0)
        assert (stop, code, left) == (10, KafkaError._QUEUE_FULL, -1) and reason
    finally:
        producer.purge()


@needs_c
def test_an_unknown_setting_is_a_config_error_naming_it():
    with pytest.raises(rdkafka.ConfigError) as info:
        rdkafka.Producer({"no.such.setting": "1"})
    assert info.value.args[0] == "no.such.setting"


def _references_to_args(make) -> int:
    try:
        make()
    except ValueError as exc:
        args = exc.args
    return sys.getrefcount(args)


@needs_c
@pytest.mark.parametrize("settings", [{"no.such.setting": "1"},  # rd_kafka_conf_set fails
                                      {"enable.idempotence": "true", "acks": "1"}])  # new
def test_a_config_error_leaks_no_reference_to_its_args(settings):
    def python_raise():
        raise rdkafka.ConfigError("name", "reason")

    assert (_references_to_args(lambda: rdkafka.Producer(settings))
            == _references_to_args(python_raise))


# -- the sink, both ways ------------------------------------------------------------------

@BOTH_WAYS
def test_a_batch_larger_than_the_local_queue_is_all_delivered_in_order(
        kafka, topic, tmp_path, native):
    sink = _sink(tmp_path, topic=topic, native_producer=native, create_topics=True,
                 topic_partitions=1, **{"bootstrap.servers": kafka.bootstrap_servers,
                                        "queue.buffering.max.messages": 10})
    assert sink.native is native
    events = [make_event(i) for i in range(300)]
    sink.open()
    try:
        assert sink.write_batch(events) is None
    finally:
        sink.close_sink()
    messages = consume(kafka.bootstrap_servers, [topic], expected=len(events))
    assert [m.key().decode() for m in messages] == [e.event_id for e in events]


@needs_c
def test_a_mixed_batch_lands_in_each_schemas_topic_with_its_headers(kafka, topic, tmp_path):
    template = topic + ".{schema_name}"
    sink = _sink(tmp_path, topic=template, create_topics=True, topic_partitions=1,
                 **{"bootstrap.servers": kafka.bootstrap_servers})
    assert sink.native is True
    # runs of 1, 2 and 3 events of a schema, interleaved
    schemas = [(SCHEMA_A, "1"), (SCHEMA_B, "2"), (SCHEMA_B, "2"), (SCHEMA_A, "1"),
               (SCHEMA_A, "1"), (SCHEMA_A, "1"), (SCHEMA_B, "2")] * 20
    events = [make_event(i, schema, version) for i, (schema, version) in enumerate(schemas)]
    sink.open()
    try:
        assert sink.write_batch(events) is None
    finally:
        sink.close_sink()
    for schema, version in ((SCHEMA_A, "1"), (SCHEMA_B, "2")):
        wanted = [e for e in events if e.schema_id == schema]
        name = topic_for(template, schema, version)
        messages = consume(kafka.bootstrap_servers, [name], expected=len(wanted))
        assert [m.key().decode() for m in messages] == [e.event_id for e in wanted]
        for msg, event in zip(messages, wanted, strict=True):
            assert msg.value() == event.json
            assert dict(msg.headers()) == {"schema_id": schema.encode(),
                                           "schema_version": version.encode()}


class _LookedUpEvent:
    """An event whose fields are properties returning new objects on every read: the C
    producer cannot borrow them from slots, and must keep them alive itself."""

    def __init__(self, event) -> None:
        self._event = event

    line = property(lambda self: bytes(self._event.line))
    event_id = property(lambda self: "".join(self._event.event_id))
    schema_id = property(lambda self: self._event.schema_id)
    version = property(lambda self: self._event.version)


@needs_c
def test_fields_that_are_looked_up_rather_than_slots_are_produced_intact(kafka, topic):
    events = [make_event(i) for i in range(200)]
    producer = rdkafka.Producer({"bootstrap.servers": kafka.bootstrap_servers})
    producer.begin()
    stop, code, _, left = producer.produce([_LookedUpEvent(e) for e in events], 0, topic,
                                           (("schema_id", b"s"),), 30.0)
    assert (stop, code, left) == (len(events), 0, 0)
    assert producer.failures() == []
    messages = consume(kafka.bootstrap_servers, [topic], expected=len(events))
    assert sorted((m.key().decode(), m.value()) for m in messages) == sorted(
        (e.event_id, e.json) for e in events)


@needs_c
def test_an_event_whose_line_is_not_bytes_is_a_type_error_and_nothing_leaks():
    class Broken(_LookedUpEvent):
        line = property(lambda self: "not bytes")

    producer = rdkafka.Producer(NO_BROKER)
    producer.begin()
    events = [make_event(0), Broken(make_event(1))]
    line = events[0].line
    before = sys.getrefcount(line)
    for _ in range(3):
        with pytest.raises(TypeError, match="non-empty bytes"):
            producer.produce(events, 0, "t", (), 0.0)
    after = sys.getrefcount(line)
    assert after == before
    producer.purge()


@BOTH_WAYS
def test_settings_that_conflict_only_at_creation_are_a_start_up_error(tmp_path, native):
    sink = _sink(tmp_path, topic="t", native_producer=native,
                 **NOWHERE, **{"enable.idempotence": True, "acks": 1})
    with pytest.raises(SinkConfigError, match="invalid producer setting") as info:
        sink.open()
    # Both modes quote librdkafka's reason, which names acks. Neither says "acks=1": the
    # reason names no setting as rejected and each setting alone is valid, so the sink
    # finds no single culprit to quote with its value.
    assert "`acks` must be set to `all` when `enable.idempotence` is true" in str(info.value)


@needs_c
def test_librdkafka_log_lines_reach_python_from_the_c_producer(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sink = _sink(tmp_path, topic="t", connect_timeout=1, **NOWHERE)
    assert sink.native is True
    with pytest.raises(SinkConfigError, match="cannot reach the brokers"):
        sink.open()
    lines = [r.getMessage() for r in caplog.records
             if r.name == "telemetry_sink_kafka.librdkafka"]
    assert any("127.0.0.1:1" in line and "Connect" in line for line in lines), lines


@BOTH_WAYS
def test_undelivered_events_are_retried_and_error_callbacks_reach_python(
        tmp_path, caplog, native):
    caplog.set_level(logging.WARNING)
    sink = _sink(tmp_path, topic="t", native_producer=native, **NOWHERE,
                 **{"message.timeout.ms": 500})
    events = [make_event(i) for i in range(20)]
    result = sink.write_batch(events)  # not opened: the producer is made on first use
    sink.close_sink()
    assert result is not None and result.rejected == []
    assert [e.event_id for e in result.retry] == [e.event_id for e in events]
    assert sink.counters["kafka_delivery_errors"] == len(events)
    # librdkafka's error callback (_ALL_BROKERS_DOWN), handed on to _on_error
    assert any(r.name == "telemetry_sink_kafka" and "all brokers are down" in r.getMessage()
               for r in caplog.records)
