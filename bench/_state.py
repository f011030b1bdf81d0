"""Benchmarks keep sink state (spools, stats files) in a temporary directory.

Sinks spool under ``$XDG_STATE_HOME`` by default; a benchmark must never leave its
spools in the user's ``~/.local/state``. ``bench/run.py`` sets a temporary one for all
benchmarks; a benchmark run on its own (``python bench/bench_core.py``) makes its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

MARKER = "TELEMETRY_BENCH_STATE"


def use_temporary_state() -> str:
    """Point XDG_STATE_HOME at a temporary directory (removed at exit) unless run.py
    already did; returns the directory."""
    if os.environ.get(MARKER) and os.environ.get("XDG_STATE_HOME"):
        return os.environ["XDG_STATE_HOME"]
    state = tempfile.mkdtemp(prefix="telemetry-bench-state-")
    atexit.register(shutil.rmtree, state, True)
    os.environ["XDG_STATE_HOME"] = state
    os.environ[MARKER] = "1"
    return state
