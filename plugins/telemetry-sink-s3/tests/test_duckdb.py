"""Analytics-ready: the README's DuckDB query reads the sink's objects as a table."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telemetry_sink_s3 import safe_segment

duckdb = pytest.importorskip("duckdb")
README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_query() -> list[str]:
    """The statements of the SQL block after the ``duckdb-example`` marker in the README."""
    text = README.read_text()
    match = re.search(r"<!-- duckdb-example.*?-->\s*```sql\n(.*?)```", text, re.S)
    assert match, "README has no duckdb-example block"
    return [s for s in match[1].split(";") if s.strip()]


def test_the_readme_query_reads_the_objects(
        s3: Any, bucket: str, make_sink: Any, new_events: Any, tmp_path: Path) -> None:
    sink = make_sink(batch_size=100, batch_age=0.2)
    kernel = new_events(120, step=timedelta(minutes=1))  # three hours
    other = new_events(30, schema="myorg/notebook-opened", version="2.1.0")
    for event in kernel + other:
        sink.submit(event)
    assert sink.flush(timeout=60)
    # A repeat under another key (a batch regrouped after a restart): readers dedupe by id.
    assert sink.write_batch(kernel[100:] + other[:10]) is None

    client = s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page["Contents"]:
            target = tmp_path / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(target))

    con = duckdb.connect()
    rows: list[Any] = []
    for statement in _readme_query():
        local = statement.replace("'s3://my-bucket/telemetry/", f"'{tmp_path}/events/")
        rows = con.execute(local).fetchall()
    got = {(schema, version, str(dt)): n for schema, version, dt, n in rows}

    expected: Counter[tuple[str, str, str]] = Counter(
        (safe_segment(e.schema_id), e.version, e.timestamp[:10]) for e in kernel + other)
    assert got == dict(expected)
    assert sum(got.values()) == 150
