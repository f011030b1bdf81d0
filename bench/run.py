"""Run every benchmark in bench/ as its own process and print each one's table.

Each bench_*.py measures this project against its peers side by side in one run and
prints the ratios. Running them in separate processes keeps one benchmark's threads,
servers and caches from skewing the next. Pass names to run a subset:
``python bench/run.py core sinks``; set BENCH_QUICK=1 for a short run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = []
    for index, script in enumerate(scripts, 1):
        print(f"\n=== [{index}/{len(scripts)}] {script.name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)])
        print(f"--- {script.name}: exit {code}, {time.monotonic() - started:.1f}s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print(f"\nall {len(scripts)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
