"""``telemetry detect export --backend elasticsearch``: the rules as Elasticsearch queries
return the same matches from events the Elasticsearch sink stored as DuckDB finds."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli import telemetry
from conftest import POLICY, record_code
from telemetry_detect import Detector, shipped_pack

from telemetry_core import EventLog
from telemetry_core.testing.servers import elasticsearch_server

pytest.importorskip("telemetry_sink_elasticsearch")
CASES = yaml.safe_load((Path(__file__).parent / "pack_cases.yaml").read_text())


@pytest.fixture(scope="module")
def es() -> Iterator[Any]:
    with elasticsearch_server() as server:
        yield server


def _search(url: str, index: str, body: dict[str, Any]) -> set[str]:
    request = urllib.request.Request(
        f"{url.rstrip('/')}/{index}/_search", method="POST",
        data=json.dumps({**body, "size": 1000}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        hits = json.loads(response.read())["hits"]["hits"]
    return {hit["_source"]["__event_id__"] for hit in hits}


def test_exported_queries_match_what_duckdb_matches(es: Any, tmp_path: Path) -> None:
    codes = [code for name, case in CASES.items() if "field" not in case
             for code in case["match"] + case["near_miss"]]
    prefix = f"detect-{uuid.uuid4().hex[:8]}"
    log = EventLog(allowed_schemas=POLICY, sinks=[{
        "type": "elasticsearch", "hosts": es.url, "index": prefix + "-{schema_name}",
        "index_template": prefix, "spool_dir": str(tmp_path / "spool")}])
    try:
        recorded = record_code(log, codes)
        assert log.flush(timeout=60)
    finally:
        log.close()
    urllib.request.urlopen(f"{es.url.rstrip('/')}/{prefix}-*/_refresh", data=b"",
                           timeout=30).close()

    proc = telemetry("detect", "export", "--backend", "elasticsearch")
    # No correlations, and not the new-address rule (its field is derived from state).
    assert proc.returncode == 0 and "53 rules exported" in proc.stderr
    exported = {r["title"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert "Login from a new address" not in exported
    expected: dict[str, set[str]] = {title: set() for title in exported}
    lines = [json.dumps(e) for e in recorded]
    for match in Detector([shipped_pack()]).match_json(lines):
        expected[match.rule.title].add(match.event_id)

    compared = 0
    for title, record in exported.items():
        if record["approximate"]:
            continue  # Lucene regular expressions differ from RE2 (docs/detection.md)
        (body,) = record["query"] if isinstance(record["query"], list) else [record["query"]]
        assert _search(es.url, f"{prefix}-*", body) == expected[title], title
        compared += 1
    assert compared >= 9
    assert sum(len(ids) for ids in expected.values()) >= 10  # real matches were compared
