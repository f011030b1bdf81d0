"""``telemetry detect export --backend elasticsearch``: the rules as Elasticsearch queries
return the same matches from events the Elasticsearch sink stored as DuckDB finds: every
exported rule of the pack, on its positives, its near misses, and both in other cases."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli import telemetry
from conftest import KERNEL, PII, POLICY, record_code
from telemetry_detect import Detector, shipped_pack

from telemetry_core import EventLog
from telemetry_core.testing.servers import elasticsearch_server

pytest.importorskip("telemetry_sink_elasticsearch")
CASES = yaml.safe_load((Path(__file__).parent / "pack_cases.yaml").read_text())
OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"
SAVED = "https://telemetry.jupyter.org/schemas/events/contents/saved"
#: What the tests record: kernel code, and the paths of files opened and saved.
EXPORT_POLICY = {**POLICY, **{sid: {"allowed_categories": [PII], "consent": "required"}
                              for sid in (OPENED, SAVED)}}
#: docs/detection.md: keyword fields long enough for code cells (the sink's default keeps
#: 1024 characters; 8191 four-byte characters still fit Lucene's 32766-byte term).
LONG_KEYWORDS = {name: {"type": "keyword", "ignore_above": 8191} for name in ("code", "path")}
PADDING = "x = 1  # padding\n" * 80  # makes a cell longer than 1024 characters


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


def _regexps(query: Any) -> Iterator[str]:
    """The values of the ``regexp`` queries in ``query``."""
    if isinstance(query, dict):
        for key, value in query.items():
            if key == "regexp":
                yield from (spec["value"] for spec in value.values())
            else:
                yield from _regexps(value)
    elif isinstance(query, list):
        for item in query:
            yield from _regexps(item)


def _variants(case: dict[str, Any]) -> list[str]:
    """Positives and near misses as written, in other cases, and inside a long cell."""
    values = []
    for value in case["match"] + case["near_miss"]:
        values += [value, value.swapcase(), value.upper()]
        if "field" not in case:
            values.append(PADDING + value)
    return list(dict.fromkeys(values))


def _record_cases(url: str, index_prefix: str, spool: Path, mappings: dict[str, Any] | None,
                  exported: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The variants of the cases of the exported rules, recorded to Elasticsearch."""
    sources = {Path(r["source"]).name for r in exported.values()}
    log = EventLog(allowed_schemas=EXPORT_POLICY, sinks=[{
        "type": "elasticsearch", "hosts": url, "index": index_prefix + "-{schema_name}",
        "index_template": index_prefix, "mappings": mappings, "spool_dir": str(spool)}])
    start = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    recorded = []
    try:
        for name, case in CASES.items():
            if name not in sources:
                continue  # e.g. a rule on a field the detector derives from its state
            for value in _variants(case):
                data = {case.get("field", "code"): value, **case.get("extra", {}), "user": "ana"}
                if "field" not in case:
                    data.update(kernel_id="k1", status="ok")
                when = start + timedelta(seconds=len(recorded))
                event = log.record_event(case.get("schema", KERNEL), 1, data,
                                         timestamp_override=when)
                assert event is not None
                recorded.append(event)
        assert log.flush(timeout=120)
    finally:
        log.close()
    urllib.request.urlopen(f"{url.rstrip('/')}/{index_prefix}-*/_refresh", data=b"",
                           timeout=30).close()
    return recorded


def _duckdb_matches(titles: Any, recorded: list[dict[str, Any]]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {title: set() for title in titles}
    detector = Detector([shipped_pack()])
    try:
        for match in detector.match_json([json.dumps(e) for e in recorded]):
            expected.setdefault(match.rule.title, set()).add(match.event_id)
    finally:
        detector.close()
    return expected


def _export(*args: str) -> dict[str, dict[str, Any]]:
    proc = telemetry("detect", "export", "--backend", "elasticsearch", *args)
    # No correlations, and not the new-address rule (its field is derived from state).
    assert proc.returncode == 0 and "53 rules exported" in proc.stderr
    exported = {r["title"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert "Login from a new address" not in exported
    return exported


def test_every_exported_rule_matches_what_duckdb_matches(es: Any, tmp_path: Path) -> None:
    prefix = f"detect-{uuid.uuid4().hex[:8]}"
    exported = _export()
    recorded = _record_cases(es.url, prefix, tmp_path / "spool", LONG_KEYWORDS, exported)
    expected = _duckdb_matches(exported, recorded)

    assert not [t for t, r in exported.items() if r["approximate"]]  # none left in the pack
    # Elasticsearch refuses a regexp longer than index.max_regex_length (1000 by default).
    assert max(len(v) for r in exported.values() for v in _regexps(r["query"])) < 1000
    for title, record in exported.items():
        assert _search(es.url, f"{prefix}-*", record["query"]) == expected[title], title
    # Real matches were compared, other-case spellings and long cells among them.
    found = {e["__event_id__"]: e for e in recorded}
    matched = [found[i] for title in exported for i in expected[title]]
    assert len(matched) >= 150
    assert any("SYSTEM:" in e.get("code", "") for e in matched)
    assert any(len(e.get("code", "")) > 1024 for e in matched)


def test_the_default_template_keeps_1024_characters(es: Any, tmp_path: Path) -> None:
    """The documented difference: with the sink's default template a longer value is not
    indexed as a keyword, so no query matches it (docs/detection.md says what to map)."""
    prefix = f"detect-{uuid.uuid4().hex[:8]}"
    exported = _export()
    recorded = _record_cases(es.url, prefix, tmp_path / "spool", None, exported)
    expected = _duckdb_matches(exported, recorded)
    long_ids = {e["__event_id__"] for e in recorded if len(e.get("code", "")) > 1024}
    for title, record in exported.items():
        found = _search(es.url, f"{prefix}-*", record["query"])
        assert found == expected[title] - long_ids, title
    assert any(ids & long_ids for ids in expected.values())


def test_lucene_strings_are_marked_approximate() -> None:
    exported = _export("--format", "lucene")
    assert all(r["approximate"] and "case-sensitively" in r["note"] for r in exported.values())
    assert all(isinstance(r["query"], str) for r in exported.values())


#: Rules of one's own: each string form the DSL backend writes, and negation.
OWN_RULES = {
    "startswith": "code|startswith: 'IMPORT os'",
    "endswith": "code|endswith: '.SH'",
    "literal_star": "code|contains: 'a\\*b'",
    "one_char": "code|contains: 'x?y'",
    "equals": "code: 'exact Value'",
    "operators": "code|contains: '<a>&~#@\"^$-'",
    "backslash": "code|contains: 'C:\\Users\\'",
    "anchored_re": "code|re: '(?i)^import\\s+os$'",
    "inline_wildcard": "code|contains: 'curl*| sh'",
    "re_flags": "code|re|i|s: 'import.[a-z]+$'",
    "accents": "code|contains: 'Données'",
}
OWN_CODES = ["import os", "IMPORT OS", "import   os", "import os\n", "from x import os",
             "run.sh", "RUN.SH", "run.sh ", "a*b", "A*B", "ab", "aXb", "x1y", "X-Y", "xy",
             "exact value", "EXACT VALUE", "exact value ", "<a>&~#@\"^$-", "<A>&~#@\"^$-",
             "<a>&~#@^$-", "C:\\Users\\ana", "c:\\users\\", "C:Users", "curl x | sh",
             "CURL -s x\n| sh", "curl x |sh", "Import os", "load('DONNÉES.csv')",
             "load('donnees.csv')"]


def test_own_rules_match_what_duckdb_matches(es: Any, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, selection in OWN_RULES.items():
        negated = "selection and not filter" if name == "endswith" else "selection"
        (rules / f"{name}.yml").write_text(
            f"title: {name}\nid: 00000000-0000-4000-8000-{len(name):012d}\nstatus: test\n"
            "level: low\nlogsource: {product: jupyter, category: code_execution}\n"
            f"detection:\n  selection:\n    {selection}\n"
            "  filter:\n    code|contains: ' '\n"
            f"  condition: {negated}\n")
    prefix = f"detect-{uuid.uuid4().hex[:8]}"
    log = EventLog(allowed_schemas=POLICY, sinks=[{
        "type": "elasticsearch", "hosts": es.url, "index": prefix + "-{schema_name}",
        "index_template": prefix, "spool_dir": str(tmp_path / "spool")}])
    try:
        recorded = record_code(log, OWN_CODES)
        assert log.flush(timeout=60)
    finally:
        log.close()
    urllib.request.urlopen(f"{es.url.rstrip('/')}/{prefix}-*/_refresh", data=b"",
                           timeout=30).close()
    proc = telemetry("detect", "export", "--backend", "elasticsearch", "--rules", str(rules))
    assert proc.returncode == 0, proc.stderr
    exported = {r["title"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert sorted(exported) == sorted(OWN_RULES)
    assert not [t for t, r in exported.items() if r["approximate"]]

    detector = Detector([rules])
    try:
        matches = detector.match_json([json.dumps(e) for e in recorded])
    finally:
        detector.close()
    expected: dict[str, set[str]] = {title: set() for title in exported}
    for match in matches:
        expected[match.rule.title].add(match.event_id)
    for title, record in exported.items():
        assert _search(es.url, f"{prefix}-*", record["query"]) == expected[title], title
    assert all(expected.values())  # each rule matched something
