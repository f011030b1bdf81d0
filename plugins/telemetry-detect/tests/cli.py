"""Run ``telemetry`` as a user does: the installed console script's entry point.

``telemetry(...)`` calls it in this process (fast: one interpreter start-up for the
suite), with stdout and stderr captured and the environment changed for the call;
``telemetry_process(...)`` runs the installed script in a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

TELEMETRY = Path(sys.executable).with_name("telemetry")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def telemetry(*args: str, env: dict[str, str] | None = None) -> Result:
    (script,) = entry_points(group="console_scripts", name="telemetry")
    main = script.load()
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(int(code), out.getvalue(), err.getvalue())


def telemetry_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TELEMETRY), *args], capture_output=True, text=True,
                          timeout=120)
