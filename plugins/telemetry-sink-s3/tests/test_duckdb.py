"""Analytics-ready: the README's DuckDB query reads the sink's objects as a table."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telemetry_sink_s3 import schema_name

duckdb = pytest.importorskip("duckdb")
README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_query() -> list[str]:
    """The statements of the SQL block after the ``duckdb-example`` marker in the README."""
    text = README.read_text()
    match = re.search(r"<!-- duckdb-example.*?-->\s*```sql\n(.*?)```", text, re.S)
    assert match, "README has no duckdb-example block"
    return [s for s in match[1].split(";") if s.strip()]


def test_the_readme_query_reads_the_objects(
        s3: Any, bucket: str, make_log: Any, make_sink: Any, record: Any, sink_events: Any,
        tmp_path: Path) -> None:
    log, _ = make_log(batch_size=100, batch_age=0.2)
    first = record(log, 120, step=timedelta(minutes=1))  # three hours
    other = record(log, 30, schema="urn:example:notebook:opened")
    second = record(log, 20, version=2, step=timedelta(hours=12))  # two days
    assert log.flush(timeout=60)
    # A repeat under another key (a batch regrouped after a restart): readers dedupe by id.
    assert make_sink().sink.write_batch(sink_events(first[100:] + other[:10])) is None
    sent = first + other + second

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
        (schema_name(e["__schema__"]), str(e["__schema_version__"]), e["__timestamp__"][:10])
        for e in sent)
    assert got == dict(expected)
    assert sum(got.values()) == len(sent) == 170
