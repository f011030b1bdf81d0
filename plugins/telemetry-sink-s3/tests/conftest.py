"""Fixtures: a real S3 API server (moto, or TELEMETRY_TEST_S3_ENDPOINT), buckets, sinks.

Events are made the way the core makes them (same envelope fields, ``...Z`` UTC
timestamps) and handed to ``S3Sink.submit``, the core's fast path into a sink.
"""

from __future__ import annotations

import gzip
import itertools
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from telemetry_sink_s3 import S3Sink

from telemetry_core._plugins import create_sink
from telemetry_core.sinks import SinkEvent
from telemetry_core.testing.servers import s3_server

SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions"
_ids = itertools.count()


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
def make_sink(s3: Any, bucket: str, tmp_path: Path) -> Iterator[Callable[..., S3Sink]]:
    """Build a started ``s3`` sink through the entry point (its spool in the test's
    temporary directory); closed after the test."""
    sinks: list[S3Sink] = []

    def make(**options: Any) -> S3Sink:
        config = {"type": "s3", "bucket": bucket, "prefix": "events",
                  "endpoint_url": s3.endpoint_url, "region": s3.region,
                  "access_key_id": s3.access_key, "secret_access_key": s3.secret_key,
                  "retry_initial": 0.05, "retry_max": 0.5,
                  "spool_dir": str(tmp_path / f"spool-{len(sinks)}"), **options}
        sink = create_sink(config)
        assert isinstance(sink, S3Sink)
        sink.start()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()


def make_events(
    n: int,
    *,
    schema: str = SCHEMA,
    version: str = "1",
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    payload: int = 40,
) -> list[SinkEvent]:
    """``n`` enveloped events, one ``step`` apart from ``start`` (UTC)."""
    when = start or datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)
    events = []
    for _ in range(n):
        number = next(_ids)
        data = {
            "__timestamp__": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "__schema__": schema,
            "__schema_version__": version,
            "__metadata_version__": 1,
            "__event_id__": f"evt-{number:09d}",
            "action": "start", "kernel": f"k{number % 7}", "note": "x" * payload,
        }
        events.append(SinkEvent.from_json(orjson.dumps(data)))
        when += step
    return events


def read_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """Every object under ``prefix``: key -> its events, parsed line by line."""
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            if item["Key"].endswith(".gz"):
                body = gzip.decompress(body)
            assert body.endswith(b"\n"), item["Key"]
            objects[item["Key"]] = [orjson.loads(line) for line in body.splitlines()]
    return objects


def count_requests(sink: S3Sink) -> Counter[str]:
    """Count the HTTP requests the sink's client sends, by operation (retries included)."""
    counts: Counter[str] = Counter()

    def on_send(event_name: str, **_: Any) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1

    sink.client.meta.events.register("before-send.s3", on_send)
    return counts


@pytest.fixture
def new_events() -> Callable[..., list[SinkEvent]]:
    """:func:`make_events` as a fixture (test modules do not import conftest)."""
    return make_events


@pytest.fixture
def stored(s3: Any, bucket: str) -> Callable[[str], dict[str, list[dict[str, Any]]]]:
    """``stored(prefix)``: the test bucket's objects, read back with boto3."""
    client = s3.client()
    return lambda prefix="": read_objects(client, bucket, prefix)


@pytest.fixture
def requests_of() -> Callable[[S3Sink], Counter[str]]:
    """:func:`count_requests` as a fixture."""
    return count_requests
