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
    assert f"{prefix}-kernel-lifecycle-{month}" in es.indices.get(index=f"{prefix}-*")


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
