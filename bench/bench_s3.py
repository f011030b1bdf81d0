"""S3 sink against the file sink, same events, same run, against a moto S3 server.

For each contender, ``EventLog.record_event`` is called N times with the S3 sink
(``{"type": "s3", ...}``) or the built-in file sink (``{"type": "file", ...}``) as the
only sink, then ``flush`` is called:

- caller's cost: microseconds per event inside the ``record_event`` loop: what the
  application pays, as wall clock and as CPU of the calling thread. Both sinks run the
  same code in the caller (``SinkHandler.submit``); a difference is the sink thread's
  share of the GIL and of the cores. Target: the S3 sink no higher than the file sink.
- end to end: events/s from the first ``record_event`` until ``flush`` returns, i.e.
  until every event is stored (objects in S3, bytes in the file).
- The file sink runs twice: with its defaults (batches of 1,000) and with the S3 sink's
  batch size (10,000), because the batch size alone changes the caller's cost (bigger
  batches mean longer pauses in the sink thread while the caller records).
- sink CPU: CPU of this process's other threads (the sink's delivery thread: grouping,
  gzip, botocore); server CPU: the moto process's, for context.
- PUT requests (counted on the wire, from botocore's send events) per 10,000 events,
  against the number of batches the configuration allows: at most one PUT per batch
  per partition.

The in-memory queue holds the whole burst (no disk spool), so ``flush`` returning
means stored. Run: ``python bench/bench_s3.py`` (``BENCH_QUICK=1`` for a short run).
The server is moto in a child process (so its Python work does not compete with the
caller for the GIL) unless TELEMETRY_TEST_S3_ENDPOINT names another.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from _state import use_temporary_state

from telemetry_core import EventLog
from telemetry_core.testing.servers import s3_server

use_temporary_state()  # spools in a temporary dir, never ~/.local/state

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = 20_000 if QUICK else 200_000
ROUNDS = 1 if QUICK else 3
BATCH = 10_000
SCHEMA = "https://telemetry.jupyter.org/schemas/events/kernel/lifecycle"
# The whole burst stays in memory: the comparison is of the sinks, not of the spool.
ROOMY = {"queue_max_events": N + 1, "queue_max_bytes": 2**31, "spool": False,
         "stats_interval": 0}


def events(n: int) -> list[dict[str, Any]]:
    """``n`` kernel lifecycle events of a typical size."""
    return [{"action": "restarted", "kernel_id": str(uuid.uuid4()), "kernel_name": "python3",
             "lifetime_s": float(i % 3600)} for i in range(n)]


class Result:
    """The best (lowest) figures of one contender over the rounds."""

    def __init__(self) -> None:
        self.caller_wall = math.inf  # seconds in the record_event loop, wall clock
        self.caller_cpu = math.inf  # CPU seconds of the calling thread in that loop
        self.total = math.inf  # first record_event until flush returned
        self.sink_cpu = math.inf  # CPU seconds of this process's other threads (the sink's)
        self.server_cpu = math.inf  # CPU seconds the S3 server process spent

    def add(self, caller_wall: float, caller_cpu: float, total: float, sink: float,
            server: float) -> None:
        self.caller_wall = min(self.caller_wall, caller_wall)
        self.caller_cpu = min(self.caller_cpu, caller_cpu)
        self.total = min(self.total, total)
        self.sink_cpu = min(self.sink_cpu, sink)
        self.server_cpu = min(self.server_cpu, server)


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of process ``pid`` so far; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(sink_config: dict[str, Any] | None, data: list[dict[str, Any]],
            result: Result, server_pid: int | None, on_sink: Any = None) -> Any:
    """Record ``data`` through an EventLog whose only sink is ``sink_config``; returns it."""
    log = EventLog(sinks=[{**sink_config, **ROOMY}] if sink_config else [],
                   allowed_schemas=[SCHEMA])
    sink = log.sink_handlers[0] if sink_config else None
    if on_sink is not None:
        on_sink(sink)
    record = log.record_event
    server_before = process_cpu(server_pid)
    started, cpu_started, all_started = time.perf_counter(), time.thread_time(), time.process_time()
    for event in data:
        record(SCHEMA, 1, event)
    recorded, cpu_recorded = time.perf_counter(), time.thread_time()
    ok = log.flush(timeout=600)
    stored, all_stored = time.perf_counter(), time.process_time()
    stats = sink.stats() if sink is not None else {"delivered": len(data)}
    log.close()
    assert ok and stats["delivered"] == len(data), stats
    caller_cpu = cpu_recorded - cpu_started
    result.add(recorded - started, caller_cpu, stored - started,
               all_stored - all_started - caller_cpu, process_cpu(server_pid) - server_before)
    return sink


def main() -> None:
    data = events(N)
    tmp = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    results: dict[str, Result] = {}
    puts: Counter[str] = Counter()
    objects = 0
    try:
        with s3_server(process=True) as s3:  # its work does not share our GIL
            client = s3.client()
            pid = s3._proc.pid if s3._proc is not None else None

            def s3_config(**options: Any) -> dict[str, Any]:
                bucket = f"bench-{uuid.uuid4().hex[:12]}"
                client.create_bucket(Bucket=bucket)
                return {"type": "s3", "bucket": bucket, "endpoint_url": s3.endpoint_url,
                        "region": s3.region, "access_key_id": s3.access_key,
                        "secret_access_key": s3.secret_key, "batch_size": BATCH,
                        "spool_dir": str(tmp / f"spool-{bucket}"), **options}

            def file_config() -> dict[str, Any]:
                where = tmp / f"files-{uuid.uuid4().hex[:8]}"
                return {"type": "file", "path": f"{where}/", "spool_dir": str(where / "spool")}

            def count_puts(sink: Any) -> None:
                puts.clear()

                def on_send(event_name: str, **_: Any) -> None:
                    puts[event_name.rsplit(".", 1)[-1]] += 1

                sink.sink.client.meta.events.register("before-send.s3", on_send)

            contenders: dict[str, tuple[Any, Any]] = {
                "no sink (floor)": (lambda: None, None),
                "file sink": (file_config, None),  # its defaults: batches of 1000
                "file, batch 10k": (lambda: {**file_config(), "batch_size": BATCH}, None),
                "s3 sink": (s3_config, count_puts),  # the defaults: gzip level 1
                "s3 gzip 6": (lambda: s3_config(compresslevel=6), None),
                "s3 no gzip": (lambda: s3_config(compression="none"), None),
            }
            warm = Result()
            one_run(file_config(), data[:2000], warm, pid)  # imports, caches, the server
            one_run(s3_config(), data[:2000], warm, pid)
            for _ in range(ROUNDS):  # interleaved, so drift hits every contender alike
                for name, (config, on_sink) in contenders.items():
                    result = results.setdefault(name, Result())
                    sink = one_run(config(), data, result, pid, on_sink)
                    if name == "s3 sink":
                        objects = sink.stats()["objects_written"]
            endpoint = s3.endpoint_url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    peer = results["file sink"]
    print(f"\nS3 sink vs file sink: {N} events via EventLog.record_event until flush "
          f"returns, best of {ROUNDS}, batch_size {BATCH}, moto (child process) at {endpoint}")
    print("caller = the record_event loop (wall clock; CPU of the calling thread); "
          f"{os.cpu_count()} cores shared by the caller, the sink thread and the server")
    print(f"{'contender':16} {'caller us/ev':>12} {'vs file':>8} {'caller CPU us/ev':>17} "
          f"{'vs file':>8} {'end-to-end ev/s':>16} {'sink CPU us/ev':>15} "
          f"{'server CPU us/ev':>17}")
    for name, r in results.items():
        print(f"{name:16} {1e6 * r.caller_wall / N:12.2f} {r.caller_wall / peer.caller_wall:8.2f} "
              f"{1e6 * r.caller_cpu / N:17.2f} {r.caller_cpu / peer.caller_cpu:8.2f} "
              f"{N / r.total:16.0f} {1e6 * r.sink_cpu / N:15.2f} "
              f"{1e6 * r.server_cpu / N:17.2f}")
    s3r, same = results["s3 sink"], results["file, batch 10k"]
    print(f"s3 / file caller's cost: wall {s3r.caller_wall / peer.caller_wall:.2f}, "
          f"CPU {s3r.caller_cpu / peer.caller_cpu:.2f}; against the file sink with the same "
          f"batch size: wall {s3r.caller_wall / same.caller_wall:.2f}, "
          f"CPU {s3r.caller_cpu / same.caller_cpu:.2f} (target <= 1)")
    put_requests = puts["PutObject"] + puts["UploadPart"]
    batches = math.ceil(N / BATCH)
    print(f"PUT requests: {put_requests} for {N} events = "
          f"{put_requests * 10_000 / N:.2f} per 10,000 events; objects {objects}; "
          f"batches of {BATCH}: {batches} (target: PUTs <= batches x partitions)")


if __name__ == "__main__":
    main()
