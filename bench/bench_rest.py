"""The REST API (``telemetry serve``) against jupyter_server's ``POST /api/events``, side by
side in one run, with the same client.

Both servers run as real subprocesses on 127.0.0.1 and write events to a file: jupyter_server
through a ``logging.FileHandler`` on its EventLogger (``c.EventLogger.handlers``), this
project through its file sink. Both record the same event schema (jupyter_server's own
``contents_service`` v1). The client: 1, then 3, processes, each with one keep-alive
connection (``http.client``) sending one request at a time, all started together; each
figure is events per second of wall time over all of them, with the latency of each
request (p50/p99). With one request in flight the client's own cost and the round trip
weigh on both servers alike; with three, the server's own cost decides. All three servers
run at once and the rows are measured in turn, ROUNDS times, so a busy machine slows
every row alike; the table shows each row's median round.

Rows:
- jupyter_server, single-event POSTs (the peer);
- telemetry serve, single-event POSTs. Target: at least 2x jupyter_server's events/s;
- telemetry serve, batched POSTs of 100 events. Target: at least 50x jupyter_server's
  single-event events/s;
- telemetry serve, single-event POSTs with ``acknowledgement = "durable"`` (the sinks are
  flushed, with fsync, before each answer): the price of that guarantee (no target);
- telemetry serve, single-event and batched POSTs whose events carry client ids: the
  price of remembering them (one read and one write of the recent-id SQLite file a
  request), against the rows without ids (no target);
- the floor: a tornado handler that reads the body and answers a fixed 200, doing
  nothing else. No tornado server, this one or jupyter_server, can beat it; the gap
  between it and jupyter_server bounds the single-event ratio any tornado server reaches
  on this machine.

Run: ``python bench/bench_rest.py`` (``BENCH_QUICK=1`` for a short run).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jupyter_server
from _state import use_temporary_state

from telemetry_core.testing.servers import free_port, rest_server
from telemetry_core.testing.servers import jupyter_server as start_jupyter

use_temporary_state()  # the servers' spools in a temporary dir, never ~/.local/state
QUICK = os.environ.get("BENCH_QUICK") == "1"
SECONDS = 2.0 if QUICK else 4.0  # per measurement, after a warm-up
ROUNDS = 2 if QUICK else 5  # rows measured in turn, round after round; medians shown
WARMUP = 100
CONNECTIONS = (1, 3)
SCHEMA_ID = "https://events.jupyter.org/jupyter_server/contents_service/v1"
SCHEMA_FILE = Path(jupyter_server.__file__).parent / "event_schemas/contents_service/v1.yaml"
BATCH = 100


FLOOR_SERVER = """
import asyncio, sys
from tornado import web

class Floor(web.RequestHandler):
    def post(self):
        self.request.body
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"results": []}')

async def main():
    app = web.Application([("/floor", Floor)], log_function=lambda handler: None)
    app.listen(int(sys.argv[1]), "127.0.0.1")
    await asyncio.Event().wait()

asyncio.run(main())
"""


@contextmanager
def floor_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", FLOOR_SERVER, str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def one_event(i: int, id_prefix: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema_id": SCHEMA_ID, "version": "1",
        "data": {"action": "get", "path": f"notebooks/analysis-{i % 1000}.ipynb"}}
    if id_prefix is not None:  # a client id: the server remembers it (on disk)
        event["id"] = f"{id_prefix}-{i}"
    return event


def bodies_with_ids(round_: int) -> tuple[list[bytes], list[bytes]]:
    """Single-event and batched bodies whose ids no earlier round sent, enough that no
    body is sent twice in a measurement (a duplicate costs less than a new event)."""
    prefix = f"round-{round_}"
    single = [json.dumps(one_event(i, prefix)).encode() for i in range(20_000)]
    batched = [json.dumps([one_event(i * BATCH + j, prefix + "b") for j in range(BATCH)]
                          ).encode() for i in range(int(2500 * SECONDS / 2))]
    return single, batched


class Client:
    """One keep-alive HTTP/1.1 connection; ``post`` returns the status, timed."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Content-Type": "application/json", **headers}

    def post(self, path: str, body: bytes) -> int:
        self.conn.request("POST", path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


def _client_run(args: tuple[str, dict[str, str], str, list[bytes], int, float]
                ) -> tuple[int, list[float]]:
    url, headers, path, bodies, ok, start_at = args
    client = Client(url, headers)
    for body in bodies[:WARMUP]:
        status = client.post(path, body)
        assert status == ok, status
    while time.time() < start_at:  # all connections start together
        time.sleep(0.001)
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS
    i = WARMUP  # the warm-up's bodies are not sent again (with ids: they are duplicates)
    while time.perf_counter() < deadline:
        body = bodies[i % len(bodies)]
        t0 = time.perf_counter()
        status = client.post(path, body)
        latencies.append(time.perf_counter() - t0)
        assert status == ok, status
        i += 1
    client.close()
    return i, latencies


def measure(url: str, headers: dict[str, str], path: str, bodies: list[bytes],
            events_per_body: int, ok: int, connections: int) -> dict[str, float]:
    """``connections`` clients send bodies in turn for SECONDS; events/s and latencies."""
    start_at = time.time() + 1.0 + 0.2 * connections
    jobs = [(url, headers, path, bodies[k::connections], ok, start_at)
            for k in range(connections)]
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        done = pool.map(_client_run, jobs)
    requests = sum(n for n, _ in done)
    latencies = sorted(x for _, lat in done for x in lat)
    return {"events_per_s": requests * events_per_body / SECONDS, "requests": requests,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000}


@contextmanager
def jupyter(tmp: Path) -> Iterator[Any]:
    # jupyter_server's own EventLogger, with a file handler (its documented way); this
    # project's extensions off, so the peer is jupyter_server alone.
    config = textwrap.dedent(f"""
        import logging
        c.EventLogger.handlers = [logging.FileHandler({str(tmp / 'jupyter-events.log')!r})]
        c.ServerApp.jpserver_extensions = {{"telemetry_core.server": False,
                                            "telemetry_core.jupyter": False}}
        c.ServerApp.log_level = "WARN"
        """)
    with start_jupyter(config, tmp=tmp / "jupyter") as server:
        yield server


def ours(tmp: Path, name: str, sinks_fsync: bool = False, **server: Any) -> Any:
    return rest_server({
        "EventLog": {"allowed_schemas": {SCHEMA_ID: {"allowed_categories": ["personal"],
                                                     "allowed_properties": ["path"]}},
                     "schema_files": [str(SCHEMA_FILE)],
                     "sinks": [{"type": "file", "path": f"{tmp}/{name}/",
                                "fsync": sinks_fsync}]},
        "TelemetryServer": server})


def main() -> int:
    bodies = [json.dumps(one_event(i)).encode() for i in range(5000)]
    batches = [json.dumps([one_event(i * BATCH + j) for j in range(BATCH)]).encode()
               for i in range(50)]
    rows: dict[tuple[str, int], dict[str, float]] = {}
    peer, single, batched, durable, floor = (
        "jupyter_server POST /api/events, 1 event", "telemetry serve, 1 event",
        f"telemetry serve, {BATCH} events", "telemetry serve, 1 event, durable (fsync)",
        "floor: tornado handler doing nothing, 1 event")
    single_ids, batched_ids = "telemetry serve, 1 event with id", \
        f"telemetry serve, {BATCH} events with ids"
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rest-") as tmp_name:
        tmp = Path(tmp_name)
        with jupyter(tmp) as peer_server, ours(tmp, "queued") as queued, \
                ours(tmp, "durable", acknowledgement="durable", sinks_fsync=True) \
                as durable_server, floor_server() as floor_url:
            ours_path = "/api/telemetry/events"
            plan = [
                (peer, peer_server.url.rstrip("/"),
                 {"Authorization": f"token {peer_server.token}"},
                 "/api/events", bodies, 1, 204),
                (single, queued.url, {"Authorization": f"Bearer {queued.token}"}, ours_path,
                 bodies, 1, 200),
                (batched, queued.url, {"Authorization": f"Bearer {queued.token}"}, ours_path,
                 batches, BATCH, 200),
                (durable, durable_server.url, {"Authorization": f"Bearer {durable_server.token}"},
                 ours_path, bodies, 1, 200),
                (floor, floor_url, {}, "/floor", bodies, 1, 200)]
            auth = {"Authorization": f"Bearer {queued.token}"}
            for round_ in range(ROUNDS):
                for n in CONNECTIONS:
                    with_ids, batches_with_ids = bodies_with_ids(round_ * 10 + n)
                    for name, url, headers, path, sent, per_body, ok in [
                            *plan, (single_ids, queued.url, auth, ours_path, with_ids, 1, 200),
                            (batched_ids, queued.url, auth, ours_path, batches_with_ids,
                             BATCH, 200)]:
                        runs.setdefault((name, n), []).append(
                            measure(url, headers, path, sent, per_body, ok, n))
    for key, measured in runs.items():
        measured.sort(key=lambda row: row["events_per_s"])
        rows[key] = measured[len(measured) // 2]
    print(f"REST API, median of {ROUNDS} rounds of {SECONDS:.0f} s a row; N keep-alive "
          "connections, each in its own process, one request in flight on each")
    print(f"{'row':<46} {'N':>2} {'events/s':>10} {'x peer':>7} {'p50 ms':>7} {'p99 ms':>7}")
    met = []
    for n in CONNECTIONS:
        base = rows[peer, n]["events_per_s"]
        for name in (peer, single, single_ids, batched, batched_ids, durable, floor):
            row = rows[name, n]
            print(f"{name:<46} {n:>2} {row['events_per_s']:>10,.0f} "
                  f"{row['events_per_s'] / base:>6.1f}x {row['p50_ms']:>7.2f} "
                  f"{row['p99_ms']:>7.2f}")
        ratio_single = rows[single, n]["events_per_s"] / base
        ratio_batched = rows[batched, n]["events_per_s"] / base
        met.append(f"N={n}: single-event >= 2x: {ratio_single:.1f}x "
                   f"{'met' if ratio_single >= 2 else 'NOT MET'}; batched >= 50x: "
                   f"{ratio_batched:.1f}x {'met' if ratio_batched >= 50 else 'NOT MET'}")
    print("targets, against jupyter_server at the same N:")
    print("\n".join(f"  {line}" for line in met))
    return 0


if __name__ == "__main__":
    sys.exit(main())
