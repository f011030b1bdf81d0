"""Every runnable example in the README and the docs runs, so none can rot.

A fenced block whose info string is ``python`` is a complete program: it runs in a
fresh interpreter, in an empty temporary directory (so it runs from anywhere), with the
state directory and ``TMPDIR`` there too. ``python fragment`` marks a piece that needs a context the
page gives in words (a config file's ``c``, an ``eventlog`` made earlier); it is
checked to compile, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The pages whose examples are executed here (plugin READMEs are run by their suites).
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            info, code = match.group(1).split(), match.group(2)
            if info and info[0] == "python":
                line = text.count("\n", 0, match.start()) + 1
                kind = "fragment" if "fragment" in info[1:] else "program"
                found.append((f"{page.relative_to(ROOT)}:{line}", kind, code))
    return found


BLOCKS = _blocks()


def test_the_pages_have_examples():
    assert sum(kind == "program" for _, kind, _ in BLOCKS) >= 3


@pytest.mark.parametrize(("where", "kind", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_example_runs(where, kind, code, tmp_path):
    if kind == "fragment":
        compile(code, where, "exec")  # a fragment must at least be Python
        return
    # No link to schemas/: an example runs from any directory (the schemas ship with the
    # package), and what it writes to a temp dir lands in this test's.
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
           "TMPDIR": str(tmp_path / "tmp")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{where} failed:\n{proc.stderr[-3000:]}"
