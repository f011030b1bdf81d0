"""Fixtures: a real S3 API server (``s3_server()``: TELEMETRY_TEST_S3_ENDPOINT, LocalStack
with TELEMETRY_TEST_CONTAINERS=1, else moto on a free port), buckets, and
EventLogs whose ``sinks`` configuration names the ``s3`` sink.

Events are recorded through ``EventLog.record_event`` against test schemas (one with
two versions); ``timestamp_override`` spreads them over hours so partitions show. A few
tests call ``write_batch`` directly, with the recorded events as a sink receives them.
Test modules use these through fixtures, never by importing this file.
"""

from __future__ import annotations

import copy
import gzip
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from telemetry_sink_s3 import S3Sink

from telemetry_core import EventLog
from telemetry_core.sinks import SinkEvent, SinkHandler, create_sink
from telemetry_core.testing.servers import s3_server

SCHEMA = "https://example.org/telemetry/s3-sink-test"
OTHER = "urn:example:notebook:opened"
START = datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)
_SCHEMA_V1: dict[str, Any] = {
    "$id": SCHEMA,
    "version": 1,
    "title": "S3 sink test event",
    "description": "An event for the S3 sink tests.",
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"title": "Action", "description": "What happened.", "type": "string"},
        "kernel": {"title": "Kernel", "description": "Which kernel.", "type": "string"},
        "note": {"title": "Note", "description": "Padding.", "type": "string"},
        "n": {"title": "Number", "description": "Sequence number.", "type": "integer"},
    },
}


def _schemas() -> list[dict[str, Any]]:
    v2 = copy.deepcopy(_SCHEMA_V1)
    v2["version"] = 2
    other = copy.deepcopy(_SCHEMA_V1)
    other["$id"] = OTHER
    return [_SCHEMA_V1, v2, other]


@pytest.fixture(scope="session")
def s3() -> Iterator[Any]:
    """One S3 API server for the session."""
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"telemetry-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_config(s3: Any, bucket: str, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``s3_config(**options)``: an ``s3`` sink configuration for the test bucket, with
    short retries and its spool in the test's temporary directory."""
    count = iter(range(1000))

    def config(**options: Any) -> dict[str, Any]:
        return {"type": "s3", "bucket": bucket, "prefix": "events",
                "endpoint_url": s3.endpoint_url, "region": s3.region,
                "access_key_id": s3.access_key, "secret_access_key": s3.secret_key,
                "retry_initial": 0.05, "retry_max": 0.5,
                "spool_dir": str(tmp_path / f"spool-{next(count)}"), **options}

    return config


@pytest.fixture
def make_log(s3_config: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Any]]:
    """``make_log(**options)`` -> ``(EventLog, S3Sink)``: an EventLog configured with one
    ``s3`` sink, the test schemas registered and allowed; closed after the test."""
    logs: list[EventLog] = []

    def make(**options: Any) -> tuple[EventLog, S3Sink]:
        log = EventLog(sinks=[s3_config(**options)], allowed_schemas=[SCHEMA, OTHER],
                       register_builtin_schemas=False)
        logs.append(log)
        for schema in _schemas():
            log.register_schema(schema)
        (sink,) = log.sink_handlers  # the sink EventLog built from its configuration
        assert isinstance(sink.sink, S3Sink)
        return log, sink

    yield make
    for log in logs:
        log.close()


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sinks spool under $XDG_STATE_HOME by default: each test its own, never ~/.local.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def make_sink(s3_config: Callable[..., dict[str, Any]],
              ) -> Iterator[Callable[..., SinkHandler]]:
    """``make_sink(**options)``: a started ``s3`` sink on its own, built by type name
    (the handler; its ``.sink`` is the S3Sink)."""
    sinks: list[SinkHandler] = []

    def make(**options: Any) -> SinkHandler:
        sink = create_sink(s3_config(**options))
        assert isinstance(sink.sink, S3Sink)
        sinks.append(sink)
        sink.start()
        return sink

    yield make
    for sink in sinks:
        sink.close()


def _record(
    log: EventLog,
    n: int,
    *,
    schema: str = SCHEMA,
    version: int = 1,
    start: datetime = START,
    step: timedelta = timedelta(seconds=1),
    payload: int = 40,
) -> list[dict[str, Any]]:
    recorded = []
    when = start
    for i in range(n):
        event = {"action": "start", "kernel": f"k{i % 7}", "note": "x" * payload, "n": i}
        done = log.record_event(schema, version, event, timestamp_override=when)
        assert done is not None
        recorded.append(done)
        when += step
    return recorded


def _sink_events(recorded: list[dict[str, Any]]) -> list[SinkEvent]:
    return [SinkEvent.from_json(orjson.dumps(d)) for d in recorded]


def _read_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            if item["Key"].endswith(".gz"):
                body = gzip.decompress(body)
            assert body.endswith(b"\n"), item["Key"]
            objects[item["Key"]] = [orjson.loads(line) for line in body.splitlines()]
    return objects


def _count_requests(sink: Any) -> Counter[str]:
    counts: Counter[str] = Counter()

    def on_send(event_name: str, **_: Any) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1

    sink.sink.client.meta.events.register("before-send.s3", on_send)
    return counts


@pytest.fixture
def record() -> Callable[..., list[dict[str, Any]]]:
    """``record(log, n, schema=, version=, start=, step=, payload=)``: record ``n`` events
    ``step`` apart from ``start`` through ``log.record_event``; returns them as recorded."""
    return _record


@pytest.fixture
def sink_events() -> Callable[[list[dict[str, Any]]], list[SinkEvent]]:
    """``sink_events(recorded)``: recorded events as a sink receives them."""
    return _sink_events


@pytest.fixture
def stored(s3: Any, bucket: str) -> Callable[..., dict[str, list[dict[str, Any]]]]:
    """``stored(prefix="")``: the bucket's objects read back with boto3 (list, get, gunzip,
    parse): key -> its events in order."""
    client = s3.client()
    return lambda prefix="": _read_objects(client, bucket, prefix)


@pytest.fixture
def requests_of() -> Callable[[Any], Counter[str]]:
    """``requests_of(sink)``: a Counter of the HTTP requests the sink's client sends from
    now on, by operation (PutObject, UploadPart, ...; retries included)."""
    return _count_requests
