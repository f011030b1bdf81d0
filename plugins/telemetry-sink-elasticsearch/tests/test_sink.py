"""The Elasticsearch sink against a real Elasticsearch API server."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch
from es_faulty_proxy import Fault, faulty_proxy
from es_helpers import (
    SCHEMA_A,
    SCHEMA_B,
    assert_indexed_exactly_once,
    indexed,
    make_event,
)
from es_tls import make_certificates
from telemetry_sink_elasticsearch import ElasticsearchSink

from telemetry_core.sinks import SinkConfigError, SinkHandler, TransientSinkError, create_sink
from telemetry_core.testing import wait_for
from telemetry_core.testing.servers import free_port

FAST = {"batch_age": 0.02, "retry_initial": 0.01, "retry_max": 0.1}


def sink(url: str, prefix: str, **options: Any) -> SinkHandler:
    """An elasticsearch sink built by name, as configuration builds it (the handler: its
    ``submit``/``flush`` run the framework, its ``.sink`` is the plugin's own half)."""
    config: dict[str, Any] = {"type": "elasticsearch", "hosts": [url],
                              "index": f"{prefix}-{{schema_path}}-{{date}}", **FAST, **options}
    built = create_sink(config)
    assert isinstance(built.sink, ElasticsearchSink)
    return built


def test_entry_point_names_the_sink_type() -> None:
    built = create_sink({"type": "elasticsearch", "hosts": "http://127.0.0.1:9"})
    assert type(built.sink) is ElasticsearchSink and built.label.startswith("elasticsearch/")


def test_events_are_searchable_and_equal_what_was_recorded(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(SCHEMA_A, command=f"cmd-{i}", n=i) for i in range(30)]
    events += [make_event(SCHEMA_B, "2", timestamp="2025-02-01T00:00:00.5Z", kernel=f"k{i % 3}")
               for i in range(12)]
    handler = sink(es_server.url, prefix, batch_size=10, index_template=f"{prefix}-tpl")
    for event in events:
        handler.submit(event)
    assert handler.flush(timeout=30)
    handler.close()

    # One index per schema and day, named by the documented rule.
    a = f"{prefix}-lab_command_v1-2025-01-31"
    b = f"{prefix}-kernel_actions_v2-2025-02-01"
    assert set(es.indices.get(index=f"{prefix}-*")) == {a, b}
    # One by one: each document is the event as recorded, under its id.
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events)
    es.indices.refresh(index=f"{prefix}-*")
    hits = es.search(index=f"{prefix}-*", size=100,
                     query={"term": {"__schema__": SCHEMA_B}})["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(e.event_id for e in events[30:])
    hits = es.search(index=a, query={"term": {"command": "cmd-7"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == [events[7].event_id]
    assert es.count(index=b, query={"term": {"kernel": "k1"}})["count"] == 4
    stats = handler.stats()
    assert stats["delivered"] == len(events) and stats["dead_lettered"] == 0


def test_index_template_created_at_start_up_maps_the_envelope(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    handler = sink(es_server.url, prefix, index_template=f"{prefix}-template",
                   mappings={"duration": {"type": "float"}})
    handler.start()
    got = es.indices.get_index_template(name=f"{prefix}-template")["index_templates"][0]
    assert got["index_template"]["index_patterns"] == [f"{prefix}-*-*"]
    event = make_event(SCHEMA_A, command="open", duration=3)
    handler.submit(event)
    assert handler.flush(timeout=30)
    handler.close()
    index = f"{prefix}-lab_command_v1-2025-01-31"
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["__timestamp__"]["type"] == "date_nanos"
    assert props["__schema__"]["type"] == "keyword"
    assert props["duration"]["type"] == "float"
    assert props["command"]["type"] == "keyword"  # strings: exact match...
    assert props["command"]["fields"]["text"]["type"] == "text"  # ...and full text
    es.indices.refresh(index=index)
    assert es.count(index=index, query={"range": {"__timestamp__": {"gte": "2025-01-31"}}}
                    )["count"] == 1
    assert es.count(index=index, query={"match": {"command.text": "open"}})["count"] == 1


def test_replayed_batch_creates_no_duplicates(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(n=i) for i in range(20)]
    handler = sink(es_server.url, prefix)
    handler.start()
    assert handler.sink.write_batch(events) is None
    # The same batch again (a retry after a lost answer, or a spool replay): all conflicts,
    # all counted as delivered, nothing new indexed.
    assert handler.sink.write_batch(events) is None
    assert handler.sink.write_batch(events[5:15]) is None
    assert handler.stats()["already_indexed"] == 30
    handler.close()
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events)


def test_unmappable_document_is_rejected_with_reason_and_the_rest_indexed(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    handler = sink(es_server.url, prefix, batch_size=100)
    handler.start()
    first = make_event(size=1)  # maps "size" as long
    assert handler.sink.write_batch([first]) is None
    batch = [make_event(size=i) for i in range(5)]
    bad = make_event(size={"bytes": 10})  # an object where a long is mapped
    batch.insert(2, bad)
    result = handler.sink.write_batch(batch)
    assert result is not None and not result.retry
    assert [event for event, _ in result.rejected] == [bad]
    reason = result.rejected[0][1]
    assert reason.startswith("400 ") and "size" in reason, reason
    handler.close()
    docs = indexed(es, f"{prefix}-*")
    assert sorted(docs) == sorted(e.event_id for e in [first, *batch] if e is not bad)


def test_unmappable_document_through_the_worker_is_dead_lettered(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    handler = sink(es_server.url, prefix, batch_size=100)
    handler.start()
    handler.submit(make_event(size=1))
    assert handler.flush(timeout=30)
    good = [make_event(size=i) for i in range(9)]
    for event in good[:4] + [make_event(size=[{"a": 1}])] + good[4:]:
        handler.submit(event)
    assert handler.flush(timeout=30)
    stats = handler.stats()
    handler.close()
    assert stats["dead_lettered"] == 1 and stats["delivered"] == 10
    assert len(indexed(es, f"{prefix}-*")) == 10


def test_throttled_and_failed_items_are_retried_alone(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(n=i) for i in range(10)]
    # The server indexes everything but the answer reports item 3 throttled and item 7
    # unavailable: those two are sent again (and conflict, so they count as delivered).
    with faulty_proxy(es_server.url, [Fault(items={3: 429, 7: 503})]) as proxy:
        handler = sink(proxy.url, prefix, batch_size=10)
        handler.start()
        result = handler.sink.write_batch(events)
        assert result is not None and not result.rejected
        assert list(result.retry) == [events[3], events[7]]
        assert handler.sink.write_batch(result.retry) is None
        assert handler.stats()["already_indexed"] == 2
        handler.close()
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events)


def test_whole_request_throttled_is_transient_and_bad_request_is_rejected(
        es_server: Any, prefix: str) -> None:
    faults = [Fault(status=429), Fault(status=503), Fault(status=400)]
    with faulty_proxy(es_server.url, faults) as proxy:
        handler = sink(proxy.url, prefix)
        handler.start()
        events = [make_event()]
        with pytest.raises(TransientSinkError, match="429"):
            handler.sink.write_batch(events)
        with pytest.raises(TransientSinkError, match="503"):
            handler.sink.write_batch(events)
        result = handler.sink.write_batch(events)  # dead-lettered, with what the server said
        assert result is not None and not result.retry
        assert [event for event, _ in result.rejected] == events
        assert "400" in result.rejected[0][1] and "injected" in result.rejected[0][1]
        assert handler.sink.write_batch(events) is None
        handler.close()


def test_worker_retries_throttled_batches_until_indexed(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(n=i) for i in range(25)]
    faults = [Fault(status=429), Fault(items={0: 429, 24: 500}), Fault(status=502)]
    with faulty_proxy(es_server.url, faults) as proxy:
        handler = sink(proxy.url, prefix, batch_size=25, batch_age=0.5)
        for event in events:
            handler.submit(event)
        # Delivered in the end, whether it waited in memory or in the spool.
        wait_for(lambda: handler.stats()["delivered"] == 25, "every event delivered")
        handler.close()
        stats = handler.stats()
    assert stats["retried"] > 0 and stats["delivered"] == 25 and stats["dead_lettered"] == 0
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events)


def test_large_batches_are_split_by_max_bulk_bytes(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(text="x" * 1000, n=i) for i in range(40)]
    handler = sink(es_server.url, prefix, max_bulk_bytes=8_000)
    handler.start()
    assert handler.sink.write_batch(events) is None
    assert handler.stats()["bulk_requests"] >= 5  # ~1.2 kB a document, 8 kB a request
    handler.close()
    assert len(indexed(es, f"{prefix}-*")) == 40


def test_a_later_request_of_a_split_batch_failing_keeps_the_earlier_outcomes(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(text="x" * 1000, n=i) for i in range(6)]  # 2 a request at 3 kB
    # Request 1 passes, 2 is throttled as a whole, the rest is not sent: retried later.
    with faulty_proxy(es_server.url, [Fault(), Fault(status=503)]) as proxy:
        handler = sink(proxy.url, prefix, max_bulk_bytes=3_000)
        handler.start()
        result = handler.sink.write_batch(events)
        assert result is not None and not result.rejected
        assert list(result.retry) == events[2:] and proxy.bulk_requests == 2
        # Request 1 passes, 2 is refused as a whole: its events are dead-lettered.
        proxy.faults = [Fault(), Fault(status=400)]
        result = handler.sink.write_batch(events[2:])
        assert result is not None and not result.retry
        assert [event for event, _ in result.rejected] == events[4:6]
        handler.close()
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events[:4])


def test_request_too_large_is_halved_until_it_fits(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    events = [make_event(n=i) for i in range(8)]
    with faulty_proxy(es_server.url, [Fault(status=413), Fault(status=413)]) as proxy:
        handler = sink(proxy.url, prefix)
        handler.start()
        assert handler.sink.write_batch(events) is None
        handler.close()
        # 8 refused, 4 refused, then 2 + 2 + 4.
        assert proxy.bulk_requests == 5
    assert len(indexed(es, f"{prefix}-*")) == 8


def test_start_up_fails_clearly_when_the_cluster_cannot_be_reached(prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    handler = sink(url, prefix, request_timeout=2)
    with pytest.raises(SinkConfigError) as info:
        handler.start()
    message = str(info.value)
    assert "cannot reach" in message and url in message and "'hosts'" in message
    assert "Connection refused" in message  # what the transport saw, not only "error"


def test_bad_configuration_is_a_clear_error() -> None:
    def build(**options: Any) -> SinkHandler:
        return create_sink({"type": "elasticsearch", **options})

    with pytest.raises(SinkConfigError, match="basic_auth"):
        build(basic_auth=["only-user"])
    with pytest.raises(SinkConfigError, match="not both"):
        build(api_key="k", basic_auth=["u", "p"])
    with pytest.raises(SinkConfigError, match=r"'index'.*uses \{nope\}"):
        build(index="t-{nope}")
    with pytest.raises(SinkConfigError, match="'ca_certs' '/no/such/ca.pem' is not a file"):
        build(hosts="https://es:9200", ca_certs="/no/such/ca.pem")
    with pytest.raises(SinkConfigError, match="bad connection settings: .*https"):
        build(hosts="http://es:9200", ca_certs=__file__).start()
    with pytest.raises(SinkConfigError, match="unknown option 'host'; did you mean 'hosts'"):
        build(host="http://x")


def test_event_without_a_usable_index_name_is_rejected(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    handler = sink(es_server.url, prefix, index="{schema}")
    handler.start()
    bad = make_event("---", n=1)  # legal characters, but no name may start with "-"
    result = handler.sink.write_batch([bad])
    handler.close()
    assert result is not None and result.rejected[0][0] is bad
    assert "no index name" in result.rejected[0][1]


def test_start_up_errors_say_what_the_cluster_answered(es_server: Any, prefix: str) -> None:
    unauthorized = Fault(status=401, path="/", error={
        "type": "security_exception", "reason": "unable to authenticate with provided credentials"})
    too_new = Fault(status=400, path="/", error={
        "type": "media_type_header_exception",
        "reason": "Invalid media-type value on headers [Accept, Content-Type]",
        "caused_by": {"type": "status_exception",
                      "reason": "Accept version must be either version 8 or 7, but found 9"}})
    with faulty_proxy(es_server.url, [unauthorized, too_new]) as proxy:
        with pytest.raises(SinkConfigError) as info:
            sink(proxy.url, prefix, api_key="revoked").start()
        assert "rejected the credentials (401)" in str(info.value)
        assert "unable to authenticate" in str(info.value) and "'api_key'" in str(info.value)
        with pytest.raises(SinkConfigError) as info:
            sink(proxy.url, prefix).start()
        assert proxy.url in str(info.value) and "[es8]" in str(info.value)


def test_a_key_that_may_only_write_is_accepted(es_server: Any, es: Elasticsearch,
                                               prefix: str) -> None:
    forbidden = Fault(status=403, path="/", error={
        "type": "security_exception", "reason": "action [cluster:monitor/main] is unauthorized"})
    with faulty_proxy(es_server.url, [forbidden]) as proxy:
        handler = sink(proxy.url, prefix)
        handler.start()  # warns, does not fail: writing is what this key is for
        event = make_event()
        assert handler.sink.write_batch([event]) is None
        handler.close()
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), [event])


@pytest.mark.needs_real_elasticsearch
def test_start_up_fails_clearly_when_credentials_are_rejected(
        es_server: Any, prefix: str) -> None:
    handler = sink(es_server.url, prefix, api_key="bm90LWEta2V5Om5vdC1hLWtleQ==")
    with pytest.raises(SinkConfigError, match="rejected the credentials"):
        handler.start()


@pytest.mark.needs_real_elasticsearch
def test_start_up_fails_clearly_when_the_template_is_refused(
        es_server: Any, prefix: str) -> None:
    handler = sink(es_server.url, prefix, index_template=f"{prefix}-bad",
                   mappings={"x": {"type": "no-such-type"}})
    with pytest.raises(SinkConfigError, match="refused the index template"):
        handler.start()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # expected
def test_tls_with_the_cluster_ca_verifies_and_indexes(
        es_server: Any, es: Elasticsearch, prefix: str, tmp_path: Any) -> None:
    certs = make_certificates(tmp_path)
    with faulty_proxy(es_server.url, [], tls=certs.server_context()) as proxy:
        assert proxy.url.startswith("https://")
        # Verification is on by default: a certificate from an unknown CA is refused.
        with pytest.raises(SinkConfigError, match="certificate verify failed"):
            sink(proxy.url, prefix).start()
        handler = sink(proxy.url, prefix, ca_certs=str(certs.ca_file))
        handler.start()
        events = [make_event(n=i) for i in range(3)]
        assert handler.sink.write_batch(events) is None
        handler.close()
        with pytest.warns(Warning, match="verify_certs=False is insecure"):
            unverified = sink(proxy.url, prefix, verify_certs=False, name="unverified")
            unverified.start()
            assert unverified.sink.write_batch(events) is None  # replayed: conflicts only
            unverified.close()
    assert_indexed_exactly_once(indexed(es, f"{prefix}-*"), events)
