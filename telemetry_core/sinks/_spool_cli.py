"""``telemetry spool list|clean``: the spool directories on this machine, and tidying them.

A sink's spool dir (``<spool root>/<type>-<name>``) holds one ``slot-N`` directory per
process that used it, each locked (``slot-N.lock``) while that process runs. A process
that ended cleanly leaves an empty slot; one that crashed, or could not deliver before
exit, leaves events that the next process with the same sink configuration replays.
``list`` shows each slot; ``clean`` removes slots whose owner is gone and which hold no
events, and with ``--force`` also those holding events, after saying how many would be
lost. A slot is removed while holding its lock, so a running process never loses one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from ._slots import SEGMENT_SUFFIX, try_lock
from ._spool import read_cursor
from ._stats import STATS_FILE, add_spool_root_argument, default_spool_root


@dataclass(frozen=True)
class SlotInfo:
    """One slot of one spool dir, as ``telemetry spool list`` shows it."""

    path: Path
    size_bytes: int
    waiting: int
    owner_alive: bool
    pid: int | None

    @property
    def lock_path(self) -> Path:
        """The slot's lock file, beside it."""
        return self.path.with_name(self.path.name + ".lock")


def waiting_events(slot_dir: Path) -> int:
    """Events in a slot's segments not yet delivered (the lines after its cursor)."""
    try:
        cursor: tuple[int, int] | None = read_cursor(slot_dir)
    except (OSError, ValueError, UnicodeDecodeError):
        cursor = None  # the spool then replays from its oldest segment, so all count
    count = 0
    for path in sorted(slot_dir.glob(f"*{SEGMENT_SUFFIX}")):
        if not path.name[: -len(SEGMENT_SUFFIX)].isdigit():
            continue
        seg = int(path.name[: -len(SEGMENT_SUFFIX)])
        if cursor is not None and seg < cursor[0]:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        count += data.count(b"\n", cursor[1] if cursor and seg == cursor[0] else 0)
    return count


def _owner_alive(lock_path: Path) -> bool:
    try:
        fd = try_lock(lock_path, None)
    except FileNotFoundError:
        return False  # no lock file: no process ever locked this slot, or it was cleaned
    if fd is None:
        return True
    os.close(fd)  # closing drops the lock just taken
    return False


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _pid(slot_dir: Path) -> int | None:
    try:
        pid = orjson.loads((slot_dir / STATS_FILE).read_bytes()).get("pid")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def list_slots(root: Path) -> list[SlotInfo]:
    """Every ``<root>/<sink dir>/slot-N`` with its size, waiting events and owner."""
    slots = []
    for path in sorted(root.glob("*/slot-*")):
        if path.is_dir() and path.name[5:].isdigit():
            slots.append(SlotInfo(path, _size(path), waiting_events(path),
                                  _owner_alive(path.with_name(path.name + ".lock")),
                                  _pid(path)))
    return slots


def remove_slot(slot: SlotInfo, *, force: bool) -> int | None:
    """Remove a slot whose owner is gone; the events lost, or None when it was kept
    (its owner runs, or it holds events and ``force`` is off). The lock is held while
    removing, so no process can take the slot meanwhile."""
    try:
        fd = try_lock(slot.lock_path, None)
    except FileNotFoundError:  # a slot without its lock file: take it by creating one
        fd = try_lock(slot.lock_path, 0o600)
    if fd is None:
        return None
    try:
        waiting = waiting_events(slot.path)  # again, under the lock
        if waiting and not force:
            return None
        shutil.rmtree(slot.path)
        slot.lock_path.unlink(missing_ok=True)
    finally:
        os.close(fd)
    sink_dir = slot.path.parent
    if not any(sink_dir.iterdir()):  # dead-letter files, if any, keep it
        sink_dir.rmdir()
    return waiting


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry spool list|clean`` to the ``telemetry`` parser."""
    p = subparsers.add_parser(
        "spool", help="list the sinks' spool directories, or remove stale ones",
        description="Spool directories hold events a sink could not deliver yet, one slot "
                    "per process. 'list' shows them; 'clean' removes slots whose process "
                    "is gone and which hold no events (--force: also those with events).")
    p.add_argument("action", choices=("list", "clean"))
    add_spool_root_argument(p)
    p.add_argument("--force", action="store_true",
                   help="clean: also remove stale slots that hold events (they are lost)")
    p.add_argument("--json", action="store_true", help="list: machine-readable output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    root = args.spool_root or default_spool_root()
    slots = list_slots(root)
    if args.action == "list":
        return _show(root, slots, args.json)
    removed = kept_busy = kept_events = lost = 0
    stale_with_events = [s for s in slots if not s.owner_alive and s.waiting]
    if args.force and stale_with_events:
        print(f"--force: removing {len(stale_with_events)} stale slot(s) holding "
              f"{sum(s.waiting for s in stale_with_events)} undelivered events; they are "
              "lost", file=sys.stderr)
    for slot in slots:
        if slot.owner_alive:
            kept_busy += 1
            continue
        result = remove_slot(slot, force=args.force)
        if result is None:
            kept_events += 1 if slot.waiting else 0
            kept_busy += 0 if slot.waiting else 1
            continue
        removed += 1
        lost += result
        print(f"removed {slot.path}" + (f" ({result} events lost)" if result else ""))
    print(f"{removed} slot(s) removed; {kept_busy} in use kept" + (
        f"; {kept_events} stale slot(s) holding "
        f"{sum(s.waiting for s in stale_with_events)} events kept (the next process with "
        "the same sink configuration delivers them; --force removes them)"
        if kept_events else "") + (f"; {lost} events lost" if lost else ""))
    return 0


def _show(root: Path, slots: list[SlotInfo], as_json: bool) -> int:
    if as_json:
        print(orjson.dumps([{"path": str(s.path), "sink_dir": s.path.parent.name,
                             "slot": s.path.name, "size_bytes": s.size_bytes,
                             "events_waiting": s.waiting, "owner_alive": s.owner_alive,
                             "pid": s.pid} for s in slots],
                           option=orjson.OPT_INDENT_2).decode())
        return 0
    if not slots:
        print(f"No spool directories under {root}.")
        return 0
    print(f"Spool slots under {root}:")
    table = [("sink dir", "slot", "size", "waiting", "pid", "owner")]
    for s in slots:
        table.append((s.path.parent.name, s.path.name, str(s.size_bytes), str(s.waiting),
                      str(s.pid or "?"), "running" if s.owner_alive else "gone"))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
