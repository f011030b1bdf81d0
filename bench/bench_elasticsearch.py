"""Elasticsearch sink throughput against raw ``elasticsearch.helpers.bulk``, same server, same run.

Events/s from the first call to the moment the server counts every document:

- raw ``helpers.bulk``: the same documents (the events as recorded, envelope included),
  ``_op_type=create`` with the event id as ``_id``, chunks of 500, errors collected (not
  raised) — what a careful hand-written indexer does;
- ``ElasticsearchSink.submit``: pre-built events handed to the sink (the sink's own cost);
- ``EventLog.record_event``: the whole path — allowed, validated, redacted, enveloped,
  serialised once, queued, bulk-indexed by the sink's worker.

Each timing ends with ``flush`` (ours), a refresh and a count that must equal N. Variants
alternate over several rounds, best round kept; the ratio is events/s against raw.

Run: ``python bench/bench_elasticsearch.py`` (``BENCH_QUICK=1`` for a short run). The server
is the noida-db emulator unless TELEMETRY_TEST_ELASTICSEARCH_URL names a cluster.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import orjson
from _state import use_temporary_state
from elasticsearch import Elasticsearch, helpers
from telemetry_sink_elasticsearch import ElasticsearchSink

from telemetry_core import EventLog
from telemetry_core.sinks import SinkEvent, SinkHandler
from telemetry_core.testing.servers import elasticsearch_server

use_temporary_state()  # spools in a temporary dir, never ~/.local/state

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = 3_000 if QUICK else 20_000
ROUNDS = 1 if QUICK else 5
BATCH = 500
SCHEMA: dict[str, Any] = {
    "$id": "https://events.example.org/bench/kernel-action",
    "version": 1,
    "title": "Kernel action",
    "description": "A kernel was started, restarted or stopped.",
    "type": "object",
    "required": ["action", "kernel_id"],
    "properties": {
        "action": {"title": "Action", "description": "What happened.",
                   "enum": ["start", "restart", "stop"]},
        "kernel_id": {"title": "Kernel", "description": "Which kernel.", "type": "string"},
        "status": {"title": "Status", "description": "Outcome.", "type": "string"},
        "msg": {"title": "Message", "description": "Details.", "type": "string"},
        "elapsed_ms": {"title": "Elapsed", "description": "Milliseconds.", "type": "integer"},
    },
}


def payload(i: int) -> dict[str, Any]:
    """A typical event body (~300 bytes once enveloped)."""
    return {"action": "restart", "kernel_id": f"k-{i % 97:04d}-{i:08d}", "status": "success",
            "msg": f"kernel restarted ({i})", "elapsed_ms": i % 5000}


def counted(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def sink_options(url: str, index: str, spool_dir: str) -> dict[str, Any]:
    return {"hosts": [url], "index": index, "batch_size": BATCH, "batch_age": 0.05,
            "spool_dir": spool_dir, "name": index}


def run_raw(es: Elasticsearch, docs: list[dict[str, Any]], index: str) -> float:
    start = time.perf_counter()
    ok, errors = helpers.bulk(
        es, ({"_op_type": "create", "_index": index, "_id": d["__event_id__"], "_source": d}
             for d in docs),
        chunk_size=BATCH, raise_on_error=False, stats_only=False)
    assert not errors and ok == len(docs), errors[:3]
    assert counted(es, index) == len(docs)
    return time.perf_counter() - start


def run_submit(url: str, es: Elasticsearch, events: list[SinkEvent], index: str,
               spool_dir: str) -> float:
    sink = SinkHandler(ElasticsearchSink, **sink_options(url, index, spool_dir))
    sink.start()
    start = time.perf_counter()
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=300)
    assert counted(es, index) == len(events)
    elapsed = time.perf_counter() - start
    sink.close()
    return elapsed


def run_eventlog(url: str, es: Elasticsearch, index: str, spool_dir: str) -> float:
    log = EventLog(sinks=[{"type": "elasticsearch", **sink_options(url, index, spool_dir)}],
                   allowed_schemas=[SCHEMA["$id"]], register_builtin_schemas=False)
    log.register_schema(SCHEMA)
    bodies = [payload(i) for i in range(N)]
    record = log.record_event
    sid = SCHEMA["$id"]
    start = time.perf_counter()
    for body in bodies:
        record(sid, 1, body)
    assert log.flush(timeout=300)
    assert counted(es, index) == N
    elapsed = time.perf_counter() - start
    log.close()
    return elapsed


def main() -> None:
    with elasticsearch_server() as server, tempfile.TemporaryDirectory() as tmp:
        es = Elasticsearch(server.url, request_timeout=120)
        # The same documents for raw and submit: events as EventLog records them.
        captured: list[dict[str, Any]] = []
        log = EventLog(allowed_schemas=[SCHEMA["$id"]], register_builtin_schemas=False)
        log.register_schema(SCHEMA)
        for i in range(N):
            recorded = log.record_event(SCHEMA["$id"], 1, payload(i))
            assert recorded is not None
            captured.append(recorded)
        events = [SinkEvent.from_json(orjson.dumps(d)) for d in captured]

        best: dict[str, float] = {}
        variants: list[tuple[str, Callable[[str], float]]] = [
            ("raw helpers.bulk", lambda ix: run_raw(es, captured, ix)),
            ("ElasticsearchSink.submit", lambda ix: run_submit(server.url, es, events, ix, tmp)),
            ("EventLog.record_event", lambda ix: run_eventlog(server.url, es, ix, tmp)),
        ]
        for r in range(ROUNDS):
            for v, (name, fn) in enumerate(variants):
                index = f"bench-{r}-{v}"
                elapsed = fn(index)
                best[name] = min(best.get(name, elapsed), elapsed)
                es.indices.delete(index=index)  # keep the server's state the same each time
        es.close()

    raw_rate = N / best["raw helpers.bulk"]
    print(f"\nElasticsearch: {N} events to indexed and counted, best of {ROUNDS} round(s), "
          f"server {'noida-db emulator' if server.emulator else server.url}")
    print(f"{'variant':<28}{'events/s':>12}{'us/event':>11}{'vs raw':>9}")
    for name, _ in variants:
        rate = N / best[name]
        print(f"{name:<28}{rate:>12,.0f}{1e6 / rate:>11.1f}{rate / raw_rate:>9.2f}")
    ratio = N / best["EventLog.record_event"] / raw_rate
    print(f"record_event -> indexed vs raw helpers.bulk: {ratio:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
