"""The stats file each running sink writes in its spool slot, read by ``telemetry sinks --stats``.

A sink's counters live in its own process; another process can only see them if the
sink writes them down. Each sink rewrites ``stats.json`` in its slot directory every
``stats_interval`` seconds and when it closes, with its pid and the time written, so a
reader can tell a live sink from a stale file.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import orjson

from ._files import DEFAULT_FILE_MODE, replace_atomically

STATS_FILE = "stats.json"


def default_spool_root() -> Path:
    """``$XDG_STATE_HOME/telemetry/spool``, else ``~/.local/state/telemetry/spool``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "spool"


def add_spool_root_argument(parser: argparse.ArgumentParser, more: str = "") -> None:
    """The ``--spool-root`` option of ``telemetry sinks --stats`` and ``telemetry spool``."""
    parser.add_argument("--spool-root", type=Path, default=None,
                        help="where the spool dirs are (default: $XDG_STATE_HOME/telemetry/"
                             "spool or ~/.local/state/telemetry/spool)" + more)


def write_stats(slot_dir: Path, payload: dict[str, Any],
                file_mode: int = DEFAULT_FILE_MODE) -> None:
    """Replace the slot's stats file atomically (readers never see half a file)."""
    replace_atomically(slot_dir / STATS_FILE, orjson.dumps(
        {**payload, "pid": os.getpid(), "written": time.time()}), file_mode)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_all_stats(root: Path) -> list[dict[str, Any]]:
    """One entry per slot under ``root/<sink dir>/slot-N``: counters, liveness, disk use."""
    rows = []
    for stats_path in sorted(root.glob(f"*/slot-*/{STATS_FILE}")):
        try:
            data = orjson.loads(stats_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        slot = stats_path.parent
        spool_bytes = sum(p.stat().st_size for p in slot.glob("*.seg"))
        rows.append({
            "sink_dir": slot.parent.name, "slot": slot.name,
            "alive": _alive(int(data.get("pid", 0))) if data.get("pid") else False,
            "spool_bytes_on_disk": spool_bytes, **data,
        })
    return rows
