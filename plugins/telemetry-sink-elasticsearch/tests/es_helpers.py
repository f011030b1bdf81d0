"""Helpers for the Elasticsearch sink tests: events as the core makes them, documents read back."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from telemetry_core import EventLog
from telemetry_core.sinks import SinkEvent

SCHEMA_A = "https://events.example.org/lab/command/v1"
SCHEMA_B = "https://events.example.org/Kernel Actions/v2"


_seq = itertools.count()


def make_event(schema_id: str = SCHEMA_A, version: str = "1", *,
               timestamp: str = "2025-01-31T10:00:00.000001Z", **fields: Any) -> SinkEvent:
    """A recorded event as the core hands it to sinks (envelope included, serialised once)."""
    event_id = f"{uuid.uuid4()}-{next(_seq)}"
    data = {"__timestamp__": timestamp, "__schema__": schema_id,
            "__schema_version__": version, "__metadata_version__": 1,
            "__event_id__": event_id, **fields}
    return SinkEvent(event_id=event_id, schema_id=schema_id, version=version,
                     timestamp=timestamp, json=orjson.dumps(data))


def indexed(es: Elasticsearch, index: str) -> dict[str, dict[str, Any]]:
    """Every document in ``index`` (a pattern), by ``_id``, after a refresh."""
    es.indices.refresh(index=index, allow_no_indices=True)
    total = es.count(index=index, allow_no_indices=True)["count"]
    if not total:
        return {}
    hits = es.search(index=index, size=total, query={"match_all": {}})["hits"]["hits"]
    assert len(hits) == total
    return {hit["_id"]: hit["_source"] for hit in hits}


def assert_indexed_exactly_once(docs: dict[str, dict[str, Any]],
                                recorded: list[SinkEvent]) -> None:
    """Every recorded event is a document, once, equal to what was recorded; nothing else."""
    assert len(docs) == len(recorded)
    assert set(docs) == {event.event_id for event in recorded}
    for event in recorded:
        assert docs[event.event_id] == event.data


COMMAND = {
    "$id": "https://events.example.org/lab/command",
    "version": 1,
    "title": "A command ran",
    "description": "A JupyterLab command ran.",
    "type": "object",
    "required": ["command_id"],
    "properties": {
        "command_id": {"title": "Command", "description": "Its id.", "type": "string"},
        "duration_ms": {"title": "Duration", "description": "How long.", "type": "integer"},
        "user": {"title": "User", "description": "Who.", "type": "string", "pii": True},
        "details": {"title": "Details", "description": "Anything.", },
    },
}
KERNEL = {
    "$id": "https://events.example.org/Kernel/Lifecycle",
    "version": "2",
    "title": "A kernel started or stopped",
    "description": "Kernel lifecycle.",
    "type": "object",
    "properties": {
        "action": {"title": "Action", "description": "What.", "enum": ["start", "stop"]},
        "kernel": {"title": "Kernel", "description": "Which.", "type": "string"},
    },
}


def eventlog(url: str, prefix: str, **options: Any) -> EventLog:
    """An EventLog whose only sink is elasticsearch, as an administrator configures it."""
    sink = {"type": "elasticsearch", "hosts": [url],
            "index": f"{prefix}-{{schema_path}}-{{year}}.{{month}}",
            "index_template": f"{prefix}-events", "batch_age": 0.02, "retry_initial": 0.02,
            "retry_max": 0.2, **options}
    log = EventLog(sinks=[sink], allowed_schemas=[COMMAND["$id"], KERNEL["$id"]])
    log.register_schema(COMMAND)
    log.register_schema(KERNEL)
    return log
