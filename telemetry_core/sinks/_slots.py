"""Spool slots: one exclusively locked directory per running process under a sink's
spool directory (the layout is in ``_spool.py``).

The lock is what keeps two processes, or a forked child and its parent, from replaying
the same segments at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ._files import DEFAULT_FILE_MODE, make_dirs, open_private

SEGMENT_SUFFIX = ".seg"


class Slot:
    """An exclusively locked slot directory under a sink's spool directory."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    def release(self) -> None:
        """Unlock the slot (closing the descriptor drops the flock)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking.

        flock belongs to the open file description the parent shares, so an explicit
        unlock here would release the parent's lock; closing our copy does not.
        """
        self.release()


def _has_segments(directory: Path) -> bool:
    try:
        return any(p.name.endswith(SEGMENT_SUFFIX) for p in directory.iterdir())
    except FileNotFoundError:
        return False


def try_lock(path: Path, file_mode: int | None) -> int | None:
    """A descriptor holding the exclusive flock of ``path``, or None when another process
    holds it. ``path`` is created with ``file_mode`` if missing; with None it must exist
    and is left as it is (``telemetry spool`` inspects, it does not create or chmod)."""
    fd = (os.open(path, os.O_RDWR | os.O_CLOEXEC) if file_mode is None
          else open_private(path, os.O_RDWR, file_mode))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def acquire_slot(sink_dir: Path, max_slots: int,
                 file_mode: int = DEFAULT_FILE_MODE) -> Slot | None:
    """Lock a free slot, preferring one that holds a previous run's events; None if all busy.

    Raises OSError when the directory cannot be used (the caller then runs without a spool).
    """
    make_dirs(sink_dir, file_mode)
    leftovers = sorted(
        int(p.name[5:]) for p in sink_dir.glob("slot-*")
        if p.is_dir() and p.name[5:].isdigit() and _has_segments(p))
    for index in [*leftovers, *range(max_slots)]:
        if index >= max_slots:
            continue
        fd = try_lock(sink_dir / f"slot-{index}.lock", file_mode)
        if fd is not None:
            path = sink_dir / f"slot-{index}"
            try:
                make_dirs(path, file_mode)
            except OSError:
                os.close(fd)
                raise
            return Slot(path, fd)
    return None
