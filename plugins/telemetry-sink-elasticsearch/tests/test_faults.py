"""Fault tests: the server goes away while events are recorded, and comes back.

Each test starts its own server (the emulator starts in well under a second) so stopping it
cannot disturb other tests. They are skipped where the server cannot be restarted (an
external cluster given by URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from es_helpers import assert_indexed_exactly_once, indexed, make_event, wait_for

from telemetry_core._plugins import create_sink
from telemetry_core.sinks import TransientSinkError
from telemetry_core.testing.servers import elasticsearch_server


@pytest.fixture
def own_server() -> Iterator[Any]:
    with elasticsearch_server() as server:
        if not server.can_restart:
            pytest.skip("the server given by URL cannot be stopped and started by tests")
        yield server


def test_server_down_while_recording_every_event_indexed_exactly_once(own_server: Any) -> None:
    handler = create_sink({
        "type": "elasticsearch", "hosts": own_server.url, "index": "faults-{date}",
        "batch_size": 20, "batch_age": 0.02, "retry_initial": 0.02, "retry_max": 0.2,
        "request_timeout": 2,
    })
    recorded = [make_event(n=i) for i in range(150)]
    for event in recorded[:50]:
        handler.submit(event)
    assert handler.flush(timeout=30)

    own_server.stop()
    for event in recorded[50:120]:  # recording goes on while the cluster is down
        handler.submit(event)
    wait_for(lambda: handler.stats()["retried"] > 0, "a failed write to be retried")
    assert handler.stats()["delivered"] == 50  # nothing more while it is down

    own_server.start()
    for event in recorded[120:]:
        handler.submit(event)
    # What waited in memory or in the spool is delivered once the cluster is back.
    wait_for(lambda: handler.stats()["delivered"] == len(recorded), "every event delivered")
    handler.close()
    stats = handler.stats()

    es = Elasticsearch(own_server.url, request_timeout=30)
    docs = indexed(es, "faults-*")
    es.close()
    assert_indexed_exactly_once(docs, recorded)
    assert stats["delivered"] == len(recorded) and stats["dead_lettered"] == 0


def test_write_while_down_is_transient_and_replay_after_restart_adds_no_duplicates(
        own_server: Any) -> None:
    handler = create_sink({"type": "elasticsearch", "hosts": own_server.url,
                           "index": "replay", "request_timeout": 2})
    handler.start()
    batch = [make_event(n=i) for i in range(30)]
    assert handler.write_batch(batch[:20]) is None  # indexed before the outage
    own_server.stop()
    with pytest.raises(TransientSinkError, match=own_server.url.split("//")[1]):
        handler.write_batch(batch)
    own_server.start()
    # The framework replays the whole failed batch: the 20 already there conflict.
    assert handler.write_batch(batch) is None
    assert handler.stats()["already_indexed"] == 20
    handler.close()
    es = Elasticsearch(own_server.url, request_timeout=30)
    docs = indexed(es, "replay")
    es.close()
    assert_indexed_exactly_once(docs, batch)
