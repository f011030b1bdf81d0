"""Core benchmark: record the same valid events with telemetry_core, jupyter_events and
jupyter_telemetry, side by side in one run, to a handler that discards and to a file;
plus the floor (orjson serialise + write, no validation).

Prints microseconds per event and the ratios. ``BENCH_QUICK=1`` for a short run.
Each case runs in alternating rounds; the best round counts (least disturbed by
whatever else the machine is doing). Two clocks: wall time, and the process's CPU
time (all threads, kernel time included), which a busy shared machine disturbs less;
the ratios use CPU time.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from _state import use_temporary_state

use_temporary_state()  # spools in a temporary dir, never ~/.local/state

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = 3 if QUICK else 7
# Events per round: the peers are much slower, so they get fewer (per-event cost is
# what is compared, and each count is large enough to swamp timer overhead).
COUNTS = {"floor": 20_000, "telemetry_core": 20_000, "jupyter_events": 1_000,
          "jupyter_telemetry": 100}
if QUICK:
    COUNTS = {k: max(v // 10, 20) for k, v in COUNTS.items()}

SCHEMA_ID = "https://example.org/bench/code-executed"
SCHEMA: dict[str, Any] = {
    "$id": SCHEMA_ID,
    "version": "1",  # jupyter_events wants a string; telemetry_core takes both
    "title": "Code executed",
    "description": "A typical Jupyter event: a few scalars, an enum, a nested object.",
    "type": "object",
    "required": ["kernel_id", "status"],
    "properties": {
        "kernel_id": {"type": "string", "description": "kernel id"},
        "kernel_name": {"type": "string", "description": "kernel spec"},
        "execution_count": {"type": "integer", "minimum": 0, "description": "counter"},
        "status": {"enum": ["ok", "error", "aborted"], "description": "outcome"},
        "duration_ms": {"type": "number", "minimum": 0, "description": "wall time"},
        "user": {"type": "string", "pii": True, "description": "who ran it"},
        "cell": {"type": "object", "description": "where", "properties": {
            "notebook": {"type": "string", "description": "notebook"},
            "index": {"type": "integer", "description": "cell index"}}},
    },
}
EVENTS = [
    {"kernel_id": f"k-{i % 7}", "kernel_name": "python3", "execution_count": i,
     "status": ("ok", "error", "ok", "aborted")[i % 4], "duration_ms": 1.5 * i,
     "user": f"user{i % 13}", "cell": {"notebook": "analysis.ipynb", "index": i % 50}}
    for i in range(64)
]


class Discard(logging.Handler):
    """A handler that formats nothing and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def run_floor(tmp: Path, n: int, flush: bool = True,
              dumps: Callable[[Any], bytes] = orjson.dumps) -> Timing:
    """Serialise + write, no validation: the least any logger can do. With ``flush`` the
    bytes reach the OS per event, as logging.FileHandler does."""
    with open(tmp / f"floor-{flush}-{dumps.__name__}.jsonl", "ab") as f:
        write, events = f.write, EVENTS
        start = _clock()
        for i in range(n):
            write(dumps(events[i & 63]) + b"\n")
            if flush:
                f.flush()
        f.flush()
        return _since(start)


def stdlib_dumps(event: Any) -> bytes:
    """``json.dumps`` as bytes: what a hand-written logger would do."""
    return json.dumps(event).encode()


def make_core(handler: logging.Handler | None, sinks: list[dict[str, Any]] | None = None,
              caller_only: bool = False) -> Callable[[int], Timing]:
    """``caller_only``: the application thread's own CPU time, not waiting for the sink
    (what recording costs the caller; the sink's worker thread writes meanwhile)."""
    from telemetry_core import EventLog

    log = EventLog(handlers=[handler] if handler else [], sinks=sinks or [],
                   allowed_schemas=[SCHEMA_ID], register_builtin_schemas=False)
    log.register_schema(copy.deepcopy(SCHEMA))

    def run(n: int) -> Timing:
        record, events = log.record_event, EVENTS
        if caller_only:
            wall, cpu = time.perf_counter(), time.thread_time()
            for i in range(n):
                record(SCHEMA_ID, 1, events[i & 63])
            timing = time.perf_counter() - wall, time.thread_time() - cpu
            log.flush()
            return timing
        start = _clock()
        for i in range(n):
            record(SCHEMA_ID, 1, events[i & 63])
        log.flush()  # sinks write on a worker: count until the events are on disk
        return _since(start)

    return run


def make_jupyter_events(handler: logging.Handler) -> Callable[[int], Timing]:
    from jupyter_events import EventLogger

    log = EventLogger(handlers=[handler])
    log.register_event_schema(copy.deepcopy(SCHEMA))

    def run(n: int) -> Timing:
        emit, events = log.emit, EVENTS
        start = _clock()
        for i in range(n):
            emit(schema_id=SCHEMA_ID, data=events[i & 63])
        handler.flush()
        return _since(start)

    return run


def make_jupyter_telemetry(handler: logging.Handler) -> Callable[[int], Timing]:
    from jupyter_telemetry.eventlog import EventLog as OldEventLog

    log = OldEventLog(handlers=[handler], allowed_schemas=[SCHEMA_ID])
    schema = copy.deepcopy(SCHEMA)
    schema["version"] = 1
    log.register_schema(schema)

    def run(n: int) -> Timing:
        record, events = log.record_event, EVENTS
        start = _clock()
        for i in range(n):
            record(SCHEMA_ID, 1, events[i & 63])
        handler.flush()
        return _since(start)

    return run


def main() -> int:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cases: list[tuple[str, str, str, Callable[[int], Timing]]] = [
            ("floor", "file", "floor: orjson + write + flush, no validation",
             lambda n: run_floor(tmp, n)),
            ("floor", "buffered", "floor: orjson + buffered write (no flush)",
             lambda n: run_floor(tmp, n, flush=False)),
            ("floor", "json", "floor: json.dumps + write + flush",
             lambda n: run_floor(tmp, n, dumps=stdlib_dumps)),
            ("telemetry_core", "none", "telemetry_core, no handler (pipeline only)",
             make_core(None)),
            ("telemetry_core", "discard", "telemetry_core -> discarding handler",
             make_core(Discard())),
            ("jupyter_events", "discard", "jupyter_events -> discarding handler",
             make_jupyter_events(Discard())),
            ("jupyter_telemetry", "discard", "jupyter_telemetry -> discarding handler",
             make_jupyter_telemetry(Discard())),
            ("telemetry_core", "file", "telemetry_core -> logging.FileHandler",
             make_core(logging.FileHandler(tmp / "core.jsonl"))),
            ("telemetry_core", "sink", "telemetry_core -> file sink (until on disk)",
             make_core(None, [{"type": "file", "path": str(tmp / "sink") + "/"}])),
            ("telemetry_core", "caller", "telemetry_core -> file sink (caller thread)",
             make_core(None, [{"type": "file", "path": str(tmp / "caller") + "/"}],
                       caller_only=True)),
            ("jupyter_events", "file", "jupyter_events -> logging.FileHandler",
             make_jupyter_events(logging.FileHandler(tmp / "je.jsonl"))),
            ("jupyter_telemetry", "file", "jupyter_telemetry -> logging.FileHandler",
             make_jupyter_telemetry(logging.FileHandler(tmp / "jt.jsonl"))),
        ]
        best: dict[str, float] = {}
        best_wall: dict[str, float] = {}
        for case in cases:  # warm up: first calls compile validators, open files
            case[3](5)
        for _ in range(ROUNDS):
            for lib, _kind, label, run in cases:
                n = COUNTS[lib]
                wall, cpu = run(n)
                best[label] = min(best.get(label, cpu), cpu) / 1 if label in best else cpu
                best_wall[label] = min(best_wall.get(label, wall), wall)
        best = {k: v / COUNTS[lib] * 1e6 for (lib, _k, k, _r) in cases for v in [best[k]]}
        best_wall = {k: v / COUNTS[lib] * 1e6
                     for (lib, _k, k, _r) in cases for v in [best_wall[k]]}
        written = list(tmp.rglob("*.jsonl"))
        assert len(written) >= 6 and all(p.stat().st_size > 0 for p in written), \
            "every file case wrote events"

    floor = best["floor: orjson + write + flush, no validation"]
    core = {kind: best[label] for lib, kind, label, _ in cases if lib == "telemetry_core"}
    print(f"bench_core: best of {ROUNDS} rounds{' (BENCH_QUICK)' if QUICK else ''}; "
          f"events have 7 properties, one PII (redacted), one nested object\n")
    print(f"{'case':<46} {'CPU us/ev':>10} {'wall us/ev':>11} {'x floor':>8} "
          f"{'x telemetry_core':>17}")
    for lib, kind, label, _ in cases:
        us = best[label]
        peer = core.get("file" if kind in ("file", "sink", "caller", "buffered") else kind, us)
        versus = f"{us / peer:>16.1f}x" if lib not in ("telemetry_core", "floor") else ""
        versus = versus or ("  (no peer: they skip all work without handlers)"
                            if kind == "none" else "")
        print(f"{label:<46} {us:>10.2f} {best_wall[label]:>11.2f} {us / floor:>7.1f}x "
              f"{versus:>17}")
    je_file = best["jupyter_events -> logging.FileHandler"]
    json_floor = best["floor: json.dumps + write + flush"]
    sink_wall = best_wall["telemetry_core -> file sink (until on disk)"]
    to_disk = je_file / core["sink"]
    print(f"\nrecord_event to the file sink until on disk (CPU of both threads): "
          f"{core['sink']:.2f} us, {to_disk:.1f}x jupyter_events to a FileHandler "
          f"(target >= 30x: {'met' if to_disk >= 30 else 'NOT met'}); wall {sink_wall:.2f} us; "
          f"the recording thread alone: {je_file / core['caller']:.1f}x")
    handler_ratio = core["file"] / json_floor
    print(f"record_event through logging.FileHandler: {core['file']:.2f} us, "
          f"{handler_ratio:.2f}x json.dumps + write + flush alone ({json_floor:.2f} us; "
          f"target <= 1.5x: {'met' if handler_ratio <= 1.5 else 'NOT met'}); "
          f"{je_file / core['file']:.1f}x jupyter_events")
    je_discard = best["jupyter_events -> discarding handler"]
    print(f"to a discarding handler: {je_discard / core['discard']:.1f}x; the pipeline alone "
          f"(no handler): {je_file / core['none']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
