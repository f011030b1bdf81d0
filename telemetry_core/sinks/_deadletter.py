"""The dead-letter file: events a sink rejected for good, with the reason, as JSON lines.

Each line: ``{"time": ..., "sink": ..., "reason": ..., "event_id": ..., "schema": ...,
"version": ..., "event": {the event as recorded}}``. An administrator can read it,
fix the cause and feed the events back. The file is bounded: past ``max_bytes`` it
is renamed to ``<name>.1`` (replacing the previous one) and a new file is started.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import orjson

from ._event import SinkEvent
from ._files import DEFAULT_FILE_MODE, make_dirs, open_private, write_all

log = logging.getLogger("telemetry_core.sinks")


class DeadLetterFile:
    """Appends rejected events to a JSON-lines file; one write per call."""

    def __init__(self, path: Path, *, sink: str, max_bytes: int, fsync: bool = False,
                 file_mode: int = DEFAULT_FILE_MODE) -> None:
        self.path = path
        self.file_mode = file_mode
        self.sink = sink
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.rotations = 0  # times the file was rotated (the older file was replaced)
        self._lock = threading.Lock()

    @staticmethod
    def _event_fragment(event: SinkEvent) -> orjson.Fragment | str:
        try:
            orjson.loads(event.json)
        except orjson.JSONDecodeError:
            return event.json.decode("utf-8", "replace")  # keep what we got, as text
        return orjson.Fragment(event.json)

    def write(self, rejected: Sequence[tuple[SinkEvent, str]]) -> None:
        """Append one line per (event, reason). Raises OSError when the disk refuses."""
        if not rejected:
            return
        now = datetime.now(timezone.utc).isoformat()
        data = b"".join(
            orjson.dumps({
                "time": now, "sink": self.sink, "reason": str(reason),
                "event_id": event.event_id, "schema": event.schema_id,
                "version": event.version, "event": self._event_fragment(event),
            }) + b"\n"
            for event, reason in rejected)
        with self._lock:
            make_dirs(self.path.parent, self.file_mode)
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                self.rotations += 1
                log.warning("dead-letter file %s reached %d bytes; rotated to %s.1",
                            self.path, self.max_bytes, self.path.name)
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND, self.file_mode)
            try:
                write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)


class _HasDeadLetters(Protocol):
    @property
    def dead_letter_path(self) -> Path: ...


def read_dead_letters(where: str | os.PathLike[str] | _HasDeadLetters) -> list[dict[str, Any]]:
    """The entries of a dead-letter file, oldest first: of a sink (a ``SinkHandler``) or
    at a path. Each is ``{"time", "sink", "reason", "event_id", "schema", "version",
    "event"}``; an empty list when nothing was rejected. For tools and tests; the file
    rotated away (``<name>.1``) is not read."""
    path = Path(where.dead_letter_path if hasattr(where, "dead_letter_path") else where)
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    return [orjson.loads(line) for line in lines if line.strip()]
