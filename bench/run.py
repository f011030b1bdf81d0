"""Run every benchmark in bench/ as its own process, print each one's table, and write
them all to bench/RESULTS.md with the date and the machine they ran on.

Each bench_*.py measures this project against its peers side by side in one run and
prints the ratios. Running them in separate processes keeps one benchmark's threads,
servers and caches from skewing the next. Pass names to run a subset:
``python bench/run.py core sinks``, which replaces those sections of RESULTS.md and keeps
the others (each section says when it ran); set BENCH_QUICK=1 for a short run. Sinks keep their
spools under a temporary XDG_STATE_HOME, never the user's ~/.local/state.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARIES = ("telemetry-core", "orjson", "msgspec", "jsonschema-rs", "confluent-kafka",
             "elasticsearch", "boto3", "jupyter_events", "jupyter_telemetry")


def machine() -> list[str]:
    """Lines that say where and with what the figures were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- CPU: {cpu}, {os.cpu_count()} cores visible",
            f"- Python {platform.python_version()} ({platform.python_implementation()}), "
            f"{platform.system()} {platform.release()}",
            f"- libraries: {', '.join(versions)}",
            f"- BENCH_QUICK={os.environ.get('BENCH_QUICK', '0')} (1: short runs, noisier)"]


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = []
    sections = []
    with tempfile.TemporaryDirectory(prefix="telemetry-bench-state-") as state:
        env = {**os.environ, "XDG_STATE_HOME": state, "TELEMETRY_BENCH_STATE": "1"}
        for index, script in enumerate(scripts, 1):
            print(f"\n=== [{index}/{len(scripts)}] {script.name} ===", flush=True)
            started = time.monotonic()
            proc = subprocess.run([sys.executable, str(script)], env=env,
                                  stdout=subprocess.PIPE, text=True)
            print(proc.stdout, end="", flush=True)
            took = time.monotonic() - started
            print(f"--- {script.name}: exit {proc.returncode}, {took:.1f}s", flush=True)
            when = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
            sections.append(f"## {script.name}\n\nexit {proc.returncode}, {took:.0f} s, ran "
                            f"{when}\n\n```\n{proc.stdout.strip()}\n```\n")
            if proc.returncode:
                failed.append(script.name)
    if wanted:  # a subset: keep the other benchmarks' sections from their own runs
        sections = _merged(HERE / "RESULTS.md", sections)
    (HERE / "RESULTS.md").write_text(
        "# Benchmark results\n\nWritten by `bench/run.py` (`nox -s bench`); every row of "
        "every benchmark, as printed.\n\n" + "\n".join(machine()) + "\n\n"
        + "\n".join(sections))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print(f"\nall {len(scripts)} benchmarks ran; bench/RESULTS.md written")
    return 0


def _merged(results: Path, fresh: list[str]) -> list[str]:
    """The sections of ``results`` with those in ``fresh`` replaced (by heading), in
    name order."""
    by_name: dict[str, str] = {}
    if results.exists():
        for part in results.read_text().split("\n## ")[1:]:
            by_name[part.split("\n", 1)[0]] = "## " + part.rstrip("\n") + "\n"
    for section in fresh:
        by_name[section.split("\n", 1)[0].removeprefix("## ")] = section
    return [by_name[name] for name in sorted(by_name)]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
