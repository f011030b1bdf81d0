"""Private files: every file the sinks write may hold event data, so each is created with
the configured mode (default 0o600) and each directory with the matching search bits
(0o700), whatever the process's umask. One place, so no writer forgets.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FILE_MODE = 0o600


def dir_mode(file_mode: int) -> int:
    """Directory permissions for files of ``file_mode``: read implies search (0o640 -> 0o750)."""
    mode = file_mode | 0o700
    if file_mode & 0o040:
        mode |= 0o010
    if file_mode & 0o004:
        mode |= 0o001
    return mode


def make_dirs(path: Path, file_mode: int = DEFAULT_FILE_MODE) -> None:
    """Create ``path`` and missing parents with :func:`dir_mode` (existing ones are left)."""
    if path.is_dir():
        return
    if path.parent != path:
        make_dirs(path.parent, file_mode)
    try:
        os.mkdir(path, dir_mode(file_mode))
    except FileExistsError:
        return
    os.chmod(path, dir_mode(file_mode))  # mkdir's mode is filtered by the umask


def open_private(path: Path, flags: int, file_mode: int = DEFAULT_FILE_MODE) -> int:
    """``os.open`` that creates ``path`` with exactly ``file_mode`` (not filtered by umask)."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, file_mode)
    try:
        if os.fstat(fd).st_mode & 0o777 != file_mode:
            os.fchmod(fd, file_mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write part of them)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def replace_atomically(path: Path, data: bytes, file_mode: int = DEFAULT_FILE_MODE, *,
                       fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a private temporary file and a rename, so a
    reader (or the next run after a crash) sees the old file or the new one, whole."""
    tmp = path.with_name(path.name + ".tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC, file_mode)
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
