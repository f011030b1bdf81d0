"""Fault tests: the server goes away while events are recorded, and comes back.

Each test starts its own server (the emulator starts in well under a second) so stopping it
cannot disturb other tests. They are skipped where the server cannot be restarted (an
external cluster given by URL).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from es_faulty_proxy import Fault, faulty_proxy
from es_helpers import COMMAND, assert_indexed_exactly_once, eventlog, indexed, make_event

from telemetry_core.sinks import SinkConfigError, TransientSinkError, create_sink
from telemetry_core.testing import wait_for
from telemetry_core.testing.servers import elasticsearch_server


@pytest.fixture
def own_server() -> Iterator[Any]:
    with elasticsearch_server() as server:
        if not server.can_restart:
            pytest.skip("the server given by URL cannot be stopped and started by tests")
        yield server


def test_cluster_down_while_recording_every_event_indexed_exactly_once(
        own_server: Any) -> None:
    log = eventlog(own_server.url, "down", batch_size=20, request_timeout=2)
    recorded = [log.record_event(COMMAND["$id"], 1, {"command_id": f"c{i}"})
                for i in range(40)]
    assert log.flush(timeout=30)
    own_server.stop()
    # The application keeps recording: nothing raises, nothing blocks.
    recorded += [log.record_event(COMMAND["$id"], 1, {"command_id": f"c{i}"})
                 for i in range(40, 100)]
    (sink,) = log.sink_handlers  # the sink this EventLog built, for its counters
    wait_for(lambda: sink.stats()["retried"] > 0, "a failed write to be retried")
    own_server.start()
    recorded += [log.record_event(COMMAND["$id"], 1, {"command_id": f"c{i}"})
                 for i in range(100, 120)]
    wait_for(lambda: sink.stats()["delivered"] == 120, "every event delivered")
    log.close()
    es = Elasticsearch(own_server.url, request_timeout=30)
    docs = indexed(es, "down-*")
    assert es.count(index="down-*")["count"] == len(recorded) == 120  # exactly once
    es.close()
    for event in recorded:
        assert event is not None and docs[event["__event_id__"]] == event


def test_write_while_down_is_transient_and_replay_after_restart_adds_no_duplicates(
        own_server: Any) -> None:
    handler = create_sink({"type": "elasticsearch", "hosts": own_server.url,
                           "index": "replay", "request_timeout": 2})
    handler.start()
    batch = [make_event(n=i) for i in range(30)]
    assert handler.sink.write_batch(batch[:20]) is None  # indexed before the outage
    own_server.stop()
    with pytest.raises(TransientSinkError, match=own_server.url.split("//")[1]):
        handler.sink.write_batch(batch)
    own_server.start()
    # The framework replays the whole failed batch: the 20 already there conflict.
    assert handler.sink.write_batch(batch) is None
    assert handler.stats()["already_indexed"] == 20
    handler.close()
    es = Elasticsearch(own_server.url, request_timeout=30)
    docs = indexed(es, "replay")
    es.close()
    assert_indexed_exactly_once(docs, batch)


def test_a_silent_server_is_bounded_by_request_timeout(es_server: Any) -> None:
    # Accepts connections, never answers: only the timeout ends the request.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        handler = create_sink({"type": "elasticsearch", "hosts": url, "index": "silent",
                               "request_timeout": 0.3})
        with pytest.raises(SinkConfigError, match="cannot reach .*timed out"):
            handler.start()
    # Started while the cluster answered, then a bulk answer never comes: transient.
    with faulty_proxy(es_server.url, [Fault(delay=2.0)]) as proxy:
        live = create_sink({"type": "elasticsearch", "hosts": proxy.url, "index": "silent",
                            "request_timeout": 0.3})
        live.start()
        with pytest.raises(TransientSinkError, match="timed out"):
            live.sink.write_batch([make_event()])
        live.close()
