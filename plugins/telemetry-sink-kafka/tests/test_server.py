"""The kafka_server() launcher the tests stand on."""

from __future__ import annotations

import pytest

from telemetry_core.testing.servers import kafka_server


def test_a_cluster_named_by_the_environment_is_used_as_is(monkeypatch):
    monkeypatch.setenv("TELEMETRY_TEST_KAFKA_BOOTSTRAP", "kafka-1.example:9092")
    with kafka_server() as server:
        assert server.bootstrap_servers == "kafka-1.example:9092"
        assert not server.can_restart
        with pytest.raises(RuntimeError, match="not managed by the test launcher"):
            server.stop()


def test_the_embedded_broker_logs_to_a_file_and_restarts_on_its_port(monkeypatch, tmp_path):
    monkeypatch.delenv("TELEMETRY_TEST_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("TELEMETRY_TEST_CONTAINERS", raising=False)
    with kafka_server(log_dir=tmp_path) as server:
        port = server.port
        server.stop()
        assert not server.running
        server.start()
        assert server.running and server.port == port
        assert server.log_path == tmp_path / "kafka-broker.log"
        assert "listening on: tcp://127.0.0.1:" in server.log_path.read_text()
    assert not server.running
