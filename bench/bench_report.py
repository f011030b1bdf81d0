"""`telemetry report` at scale: a month of events from 1,000 users (~10 million, the shape
the shipped schemas give: kernels, code runs, JupyterLab commands and notebook actions,
files, hub logins and spawns, consent), written as JSON lines the way the file sink lays
them out, then reported with DuckDB under a memory bound (spilling to a temp dir).

Prints the time and the report process's peak memory, and, side by side, the ad-hoc
approach operators use today: a plain Python loop (orjson) over the same files computing
one figure (active users per day). BENCH_REPORT_EVENTS sets the size (BENCH_QUICK=1:
1 million); BENCH_REPORT_MEMORY the DuckDB memory limit (default 1GB).
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

E = "https://telemetry.jupyter.org/schemas/events/"
QUICK = os.environ.get("BENCH_QUICK") == "1"
EVENTS = int(os.environ.get("BENCH_REPORT_EVENTS", 1_000_000 if QUICK else 10_000_000))
MEMORY = os.environ.get("BENCH_REPORT_MEMORY", "1GB")
USERS = 1000
DAYS = 30
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
#: (schema path, share of a user-day's events, body template); {k} kernel, {c} command
MIX = [
    ("kernel/code-executed", 0.40, '"kernel_id":"{k}","kernel_name":"{n}","execution_count":1,'
                                   '"status":"{s}","source":"websocket","duration_ms":12.5'),
    ("jupyterlab/notebook/cell-executed", 0.20, '"cell_index":3,"cell_type":"code",'
                                                '"success":true'),
    ("jupyterlab/command", 0.20, '"command_id":"{c}","source":"keyboard"'),
    ("jupyterlab/notebook/cell-edited", 0.12, '"cell_index":3,"cell_type":"code",'
                                              '"source_length":40'),
    ("contents/opened", 0.05, '"kind":"notebook","path":"{p}"'),
    ("contents/dataset-opened", 0.03, '"source":"contents-api","format":"csv",'
                                      '"access":"read","path":"data/d{d}.csv"'),
]
COMMANDS = [f"notebook:command-{i}" for i in range(200)]


def generate(root: Path) -> int:
    """Write about EVENTS events under ``root``/<schema>/<date>.jsonl; return the count."""
    rng = random.Random(1)
    per_user_day = EVENTS / (USERS * DAYS * 0.7)
    files: dict[tuple[str, str], list[str]] = defaultdict(list)
    written = 0
    kernel_n = 0
    for day in range(DAYS):
        date = (START + timedelta(days=day)).date().isoformat()
        for user in range(USERS):
            if rng.random() > 0.7:
                continue
            u = f"hmac-sha256:{user:064x}"
            base = START + timedelta(days=day, hours=8)
            n = int(per_user_day)

            def line(schema: str, second: int, body: str, base: datetime = base,
                     u: str = u) -> str:
                ts = (base + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                return (f'{{"__timestamp__":"{ts}","__schema__":"{E}{schema}",'
                        f'"__schema_version__":1,"__metadata_version__":1,'
                        f'"__event_id__":"{rng.getrandbits(64):016x}",{body},"user":"{u}"}}')

            kernel_n += 1
            k, kname = f"k{kernel_n}", ("python3" if user % 10 else "ir")
            rows = files[("login", date)]
            rows.append(line("hub/login", 0, '"authenticator":"GenericOAuthenticator"'))
            server = files[("server", date)]
            server.append(line("hub/server", 1, '"action":"spawning","source":"spawner",'
                                                '"server_name":""'))
            server.append(line("hub/server", 1 + rng.randrange(3, 40),
                               '"action":"started","source":"spawner","server_name":""'))
            life = files[("lifecycle", date)]
            life.append(line("kernel/lifecycle", 60, f'"action":"started","kernel_id":"{k}",'
                                                     f'"kernel_name":"{kname}"'))
            for i in range(n):
                schema, body = _pick(rng.random())
                text = body.format(k=k, n=kname, s="error" if rng.random() < 0.1 else "ok",
                                   c=COMMANDS[int(rng.paretovariate(1.2)) % len(COMMANDS)],
                                   p=f"course/week{i % 8}.ipynb", d=i % 50)
                files[(schema.rsplit("/", 1)[1], date)].append(line(schema, 61 + i * 20, text))
            life.append(line("kernel/lifecycle", 61 + n * 20,
                             f'"action":"stopped","kernel_id":"{k}","kernel_name":"{kname}",'
                             f'"lifetime_s":{n * 20 + 1}'))
            written += n + 5
        for (name, when), lines in files.items():
            target = root / name / f"{when}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a") as handle:
                handle.write("\n".join(lines) + "\n")
        files.clear()
    return written


def _pick(r: float) -> tuple[str, str]:
    """The schema and body template at ``r`` (0..1) of the mix's cumulative shares."""
    acc = 0.0
    for schema, share, body in MIX:
        acc += share
        if r < acc:
            return schema, body
    return MIX[-1][0], MIX[-1][2]


def plain_python(root: Path) -> tuple[float, int]:
    """One figure, ad hoc: active users per day with orjson over every file."""
    started = time.perf_counter()
    days: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.jsonl"):
        with open(path, "rb") as handle:
            for raw in handle:
                event = orjson.loads(raw)
                if event.get("user"):
                    days[event["__timestamp__"][:10]].add(event["user"])
    return time.perf_counter() - started, len(days)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        started = time.perf_counter()
        n = generate(work / "events")
        size = sum(p.stat().st_size for p in (work / "events").rglob("*.jsonl"))
        print(f"generated {n:,} events ({size / 1e9:.2f} GB of JSON lines, "
              f"{sum(1 for _ in (work / 'events').rglob('*.jsonl'))} files) "
              f"in {time.perf_counter() - started:.0f} s")
        telemetry = str(Path(sys.executable).with_name("telemetry"))
        started = time.perf_counter()
        done = subprocess.run(
            [telemetry, "report", "--events", str(work / "events"), "--since", "2026-10-01",
             "--until", "2026-11-01", "-o", str(work / "report.html"),
             "--memory-limit", MEMORY, "--temp-dir", str(work / "spill")],
            capture_output=True, text=True)
        report_s = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(done.stderr)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        plain_s, days = plain_python(work / "events")
        print()
        print(f"{'case':<58}{'seconds':>9}{'peak MB':>9}{'vs report':>11}")
        print(f"{f'telemetry report, every figure, memory_limit {MEMORY}':<58}"
              f"{report_s:>9.1f}{peak_mb:>9.0f}{1.0:>10.2f}x")
        print(f"{'plain Python + orjson, one figure (active users/day)':<58}"
              f"{plain_s:>9.1f}{'':>9}{plain_s / report_s:>10.2f}x")
        print(f"\n{n:,} events -> report in {report_s:.0f} s, peak memory {peak_mb:.0f} MB "
              f"({n / report_s / 1e6:.2f} M events/s; {days} days)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
