"""The S3 path: the real S3 sink writes the week to moto (Hive-style keys, gzip), and the
report reads it in place through DuckDB's httpfs (path-style, plain http endpoint)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SINCE, UNTIL, record_week
from telemetry_report import build_report

from telemetry_core.testing.servers import s3_server

pytest.importorskip("telemetry_sink_s3")


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with s3_server() as server:
        yield server


def test_the_report_reads_what_the_s3_sink_wrote(s3: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"telemetry-{uuid.uuid4().hex[:12]}"
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    sink = {"type": "s3", "bucket": bucket, "prefix": "events",
            "endpoint_url": s3.endpoint_url, "region": s3.region,
            "access_key_id": s3.access_key, "secret_access_key": s3.secret_key,
            "spool_dir": str(tmp_path / "spool")}
    record_week(tmp_path / "unused", sink=sink)
    keys = [o["Key"] for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in p.get("Contents", [])]
    assert keys and all("/schema=" in k and "/dt=" in k and k.endswith(".jsonl.gz")
                        for k in keys)

    # the same week through the file sink, for the expected figures
    expected = build_report(str(record_week(tmp_path / "files").path), since=SINCE,
                            until=UNTIL, min_group_size=0)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_REGION", s3.region)
    got = build_report(f"s3://{bucket}/events", since=SINCE, until=UNTIL, min_group_size=0)
    assert got["files_scanned"] == len(keys)
    assert got["events"] == expected["events"] > 1000
    assert got["figures"] == expected["figures"]


def test_partitions_outside_the_period_are_not_read(s3: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"telemetry-{uuid.uuid4().hex[:12]}"
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    lines = "".join(
        f'{{"__timestamp__":"2026-11-0{day}T10:00:00.000000Z","__schema__":"urn:x",'
        f'"__schema_version__":1,"user":"u{n}"}}\n' for day in (2, 3, 4) for n in range(3))
    for day in (2, 3, 4):
        mine = "".join(x + "\n" for x in lines.splitlines() if f"-0{day}T" in x)
        client.put_object(Bucket=bucket, Body=mine.encode(),
                          Key=f"events/schema=x/version=1/dt=2026-11-0{day}/hour=10/a.jsonl")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    got = build_report(f"s3://{bucket}/events", since=SINCE + timedelta(days=1),
                       until=SINCE + timedelta(days=2), min_group_size=0)
    assert (got["files_scanned"], got["events"]) == (2, 3)  # dt=11-03 and 11-04 (no row)
