"""Start-up errors say which setting is wrong and what was expected; topic templates."""

from __future__ import annotations

import pytest
from telemetry_sink_kafka import KafkaSink, topic_for

from telemetry_core.sinks import SinkConfigError, create_sink, sink_class
from telemetry_core.testing.servers import free_port


def test_the_entry_point_provides_the_kafka_sink_type():
    assert sink_class("kafka") is KafkaSink


def test_unreachable_broker_is_a_clear_start_up_error(tmp_path):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    sink = create_sink({"type": "kafka", "bootstrap.servers": address, "topic": "t",
                        "connect_timeout": 1, "spool_dir": str(tmp_path)})
    with pytest.raises(SinkConfigError, match="cannot reach the brokers") as info:
        sink.start()
    assert address in str(info.value)


@pytest.mark.parametrize(("setting", "value"), [
    ("linger.ms", "soon"),  # librdkafka names it queue.buffering.max.ms: we name the key
    ("acks", "lots"),
    ("no.such.setting", 1),
])
def test_invalid_producer_setting_names_the_key(kafka, tmp_path, setting, value):
    sink = create_sink({"type": "kafka", "bootstrap.servers": kafka.bootstrap_servers,
                        "topic": "t", "spool_dir": str(tmp_path), setting: value})
    with pytest.raises(SinkConfigError, match="invalid producer setting") as info:
        sink.start()
    assert f"{setting}={value!r}" in str(info.value)


@pytest.mark.parametrize(("config", "message"), [
    ({"topic": "t"}, "'bootstrap.servers' is required"),
    ({"bootstrap.servers": "h:9092"}, "'topic' is required"),
    ({"bootstrap.servers": "h:9092", "topic": "a topic"}, "contains ' '"),
    ({"bootstrap.servers": "h:9092", "topic": "j.{user}"}, r"uses \{user\} The variables"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "topik": "t"}, "did you mean 'topic'"),
    ({"bootstrap.servers": "h:9092", "topic": "j.{schema_name"}, "malformed"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "on_delivery": "f"}, "set by the sink"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "transactional.id": "x"},
     "'transactional.id' is not supported"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "topic_partitions": "three"},
     r"'topic_partitions' must be a whole number, got 'three'"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "topic_partitions": 0},
     r"'topic_partitions': must be -1 \(the broker's default\) or >= 1, got 0"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "connect_timeout": 0},
     r"'connect_timeout' must be >= 0.001"),
    ({"bootstrap.servers": "h:9092", "topic": "t", "topic_config": ["retention.ms"]},
     "'topic_config' must be a mapping"),
])
def test_invalid_sink_options_fail_at_construction(config, message):
    with pytest.raises(SinkConfigError, match=message):
        create_sink({"type": "kafka", **config})


def test_framework_options_reach_the_base_class_and_the_rest_librdkafka():
    sink = create_sink({"type": "kafka", "bootstrap.servers": "h:9092", "topic": "t",
                        "batch_size": 7, "linger.ms": 50, "acks": 1})
    assert sink.delivery.batch_size == 7
    assert sink.sink.producer_config["linger.ms"] == 50
    assert sink.sink.producer_config["acks"] == 1  # the user overrides a safe default
    assert sink.sink.producer_config["enable.idempotence"] is True
    assert "batch_size" not in sink.sink.producer_config


def test_an_alias_of_a_defaulted_setting_replaces_the_default():
    sink = create_sink({"type": "kafka", "bootstrap.servers": "h:9092", "topic": "t",
                        "delivery.timeout.ms": 60000, "compression.codec": "zstd"})
    assert "message.timeout.ms" not in sink.sink.producer_config
    assert "compression.type" not in sink.sink.producer_config
    assert sink.sink.flush_timeout > 60  # write_batch waits for librdkafka's own timeout


@pytest.mark.parametrize(("template", "schema_id", "version", "topic"), [
    ("jupyter.{schema_name}", "https://events.jupyter.org/jupyter_server/kernel_actions/v1",
     "1", "jupyter.kernel_actions"),
    ("jupyter.{schema_path}", "https://events.jupyter.org/jupyter_server/kernel_actions/v1",
     "1", "jupyter.jupyter_server_kernel_actions_v1"),
    ("{schema}", "https://events.jupyter.org/a/b/v1", "1", "events.jupyter.org_a_b_v1"),
    ("{schema_name}", "https://x.org/a/b/2/v1", "1", "b"),
    ("e.{schema_name}.v{version}", "myorg.button_click", "2.1", "e.myorg.button_click.v2.1"),
    ("e.{schema_path}", "https://x.org/ü ber/$weird!/v3", "3", "e.ber_weird_v3"),
    ("static", "https://x.org/a/v1", "1", "static"),
])
def test_topic_templates(template, schema_id, version, topic):
    assert topic_for(template, schema_id, version) == topic


def test_topic_names_are_capped_at_kafkas_limit():
    # A long value is cut to 120 characters with a hash (the framework's rule) ...
    assert len(topic_for("t.{schema_name}", "org." + "x" * 400, "1")) == 122
    # ... and the whole topic to Kafka's 249.
    assert len(topic_for("t.{schema_name}.{schema}.{schema_path}", "a/" + "x" * 400, "1")) == 249


def test_a_missing_fixed_topic_is_named_at_start_up(kafka, tmp_path, caplog):
    sink = create_sink({"type": "kafka", "bootstrap.servers": kafka.bootstrap_servers,
                        "topic": "never-created-here", "spool_dir": str(tmp_path)})
    sink.start()
    sink.close()
    assert "topic 'never-created-here' does not exist yet" in caplog.text


def test_eventlog_refuses_to_start_with_an_unreachable_broker(tmp_path):
    from telemetry_core import EventLog

    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(SinkConfigError, match=f"cannot reach the brokers at bootstrap.servers="
                                              f"'{address}'"):
        EventLog(allowed_schemas=[], sinks=[{
            "type": "kafka", "bootstrap.servers": address, "topic": "t",
            "connect_timeout": 1, "spool_dir": str(tmp_path)}])
