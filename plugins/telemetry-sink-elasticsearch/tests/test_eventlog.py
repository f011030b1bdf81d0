"""Events recorded through ``EventLog`` with an elasticsearch sink, searched back one by one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from es_helpers import COMMAND, KERNEL, eventlog, indexed

from telemetry_core.sinks import SinkConfigError
from telemetry_core.testing.servers import free_port


def test_recorded_events_are_searchable_and_equal_what_was_recorded(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    log = eventlog(es_server.url, prefix)
    recorded = []
    for i in range(40):
        recorded.append(log.record_event(COMMAND["$id"], 1, {
            "command_id": f"docmanager:save-{i % 4}", "duration_ms": i, "user": "ada"}))
        if i % 4 == 0:
            recorded.append(log.record_event(KERNEL["$id"], "2",
                                             {"action": "start", "kernel": f"k{i}"}))
    assert log.flush(timeout=30)
    log.close()

    docs = indexed(es, f"{prefix}-*")
    assert len(docs) == len(recorded) == 50
    for event in recorded:  # one by one, envelope included; PII was redacted before
        assert event is not None
        assert docs[event["__event_id__"]] == event
        assert event.get("user", None) is None
    es.indices.refresh(index=f"{prefix}-*")

    def ids(**term: Any) -> set[str]:
        hits = es.search(index=f"{prefix}-*", size=100, query={"term": term})["hits"]["hits"]
        return {hit["_id"] for hit in hits}

    kernel = {e["__event_id__"] for e in recorded if e and e["__schema__"] == KERNEL["$id"]}
    assert ids(__schema__=KERNEL["$id"]) == kernel and len(kernel) == 10
    saves = {e["__event_id__"] for e in recorded
             if e and e.get("command_id") == "docmanager:save-1"}
    assert ids(command_id="docmanager:save-1") == saves and len(saves) == 10
    month = recorded[0]["__timestamp__"][:7].replace("-", ".")  # type: ignore[index]
    assert f"{prefix}-kernel_lifecycle-{month}" in es.indices.get(index=f"{prefix}-*")


def test_unmappable_event_is_dead_lettered_with_the_reason_and_the_rest_indexed(
        es_server: Any, es: Elasticsearch, prefix: str, tmp_path: Any) -> None:
    dead = tmp_path / "dead.jsonl"
    log = eventlog(es_server.url, prefix, dead_letter_path=str(dead), batch_size=100)
    first = log.record_event(COMMAND["$id"], 1, {"command_id": "a", "details": 1})
    assert log.flush(timeout=30)  # "details" is now mapped as a number
    good = [log.record_event(COMMAND["$id"], 1, {"command_id": "b", "details": i})
            for i in range(5)]
    bad = log.record_event(COMMAND["$id"], 1, {"command_id": "c", "details": {"x": 1}})
    good += [log.record_event(COMMAND["$id"], 1, {"command_id": "d", "details": i})
             for i in range(5)]
    assert log.flush(timeout=30)
    log.close()
    docs = indexed(es, f"{prefix}-*")
    assert set(docs) == {e["__event_id__"] for e in [first, *good] if e}
    lines = [orjson.loads(line) for line in dead.read_bytes().splitlines()]
    assert [line["event_id"] for line in lines] == [bad["__event_id__"]]  # type: ignore[index]
    assert "details" in lines[0]["reason"] and lines[0]["reason"].startswith("400 ")
    assert lines[0]["event"] == bad


def test_eventlog_start_up_fails_clearly_when_the_cluster_cannot_be_reached(
        prefix: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SinkConfigError, match="cannot reach http://127.0.0.1:"):
        eventlog(url, prefix, request_timeout=2)


def test_the_readme_queries_answer_as_documented(
        es_server: Any, es: Elasticsearch, prefix: str) -> None:
    log = eventlog(es_server.url, prefix)
    for i in range(12):
        log.record_event(COMMAND["$id"], 1, {"command_id": f"cmd-{i % 3}", "duration_ms": i})
    assert log.flush(timeout=30)
    log.close()
    es.indices.refresh(index=f"{prefix}-*")
    # "how many events of one schema"
    assert es.count(index=f"{prefix}-*", query={"term": {"__schema__": COMMAND["$id"]}}
                    )["count"] == 12
    # "the most used commands in the last 7 days"
    answer = es.search(index=f"{prefix}-*", size=0,
                       query={"range": {"__timestamp__": {"gte": "now-7d"}}},
                       aggs={"commands": {"terms": {"field": "command_id", "size": 20}}})
    buckets = answer["aggregations"]["commands"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in buckets} == {"cmd-0": 4, "cmd-1": 4, "cmd-2": 4}
    # the Python example: filters and newest first
    hits = es.search(index=f"{prefix}-*", query={"bool": {"filter": [
        {"term": {"__schema__": COMMAND["$id"]}},
        {"term": {"command_id": "cmd-1"}},
        {"range": {"__timestamp__": {"gte": "2025-01-01"}}},
    ]}}, sort=[{"__timestamp__": "desc"}, {"__event_id__": "desc"}])["hits"]["hits"]
    assert [h["_source"]["duration_ms"] for h in hits] == [10, 7, 4, 1]
