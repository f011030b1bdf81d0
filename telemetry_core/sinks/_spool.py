"""The disk spool: append-only segment files that hold events while a sink is down or slow.

One sink's spool directory holds one *slot* per running process::

    <spool_dir>/slot-0.lock      flock held by the process that owns slot-0, for its life
    <spool_dir>/slot-0/          that process's segments, cursor, dead-letter and stats files
        00000001000000000000.seg     segments, read in name order, one event a line:
                                     ["event_id","schema_id","version","timestamp"] TAB json NL
        cursor                       "<segment> <offset>": how far the head was delivered

The lock is what keeps two processes, or a forked child and its parent, from replaying
the same segments at once. A process that starts takes a free slot that still holds
events (a previous run's leftovers) before an empty one, and replays it.

Only the sink's worker threads touch a ``Spool``: the spooler thread appends at the
tail (and evicts the oldest segment under ``drop_oldest``), the delivery thread peeks,
commits and (after failed direct attempts) writes in front of the head. Every method
that reads or changes the segments, the cursor or the last peek takes one lock.
Segment numbers leave room below the first one for writes in front.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from ._event import SinkEvent
from ._files import DEFAULT_FILE_MODE, make_dirs, open_private, replace_atomically, write_all
from ._slots import SEGMENT_SUFFIX

log = logging.getLogger("telemetry_core.sinks")

FIRST_SEGMENT = 10**12  # segments written in front of the head count down from here
FSYNC_POLICIES = ("never", "batch", "always")
_CURSOR = "cursor"
QUARANTINE_FILE = "quarantine.jsonl"


def encode(event: SinkEvent) -> bytes:
    """One spool line. The header keeps the SinkEvent fields exact, whatever the JSON holds."""
    body = event.json
    if b"\n" in body:  # pretty-printed JSON would break the framing
        body = orjson.dumps(orjson.loads(body))
    header = (event.event_id, event.schema_id, event.version, event.timestamp)
    # orjson escapes tabs inside strings, so the first tab ends the header.
    return b"%b\t%b\n" % (orjson.dumps(header), body)


def decode(line: bytes) -> SinkEvent | str:
    """The event of one spool line, or why the line is damaged (then it is never delivered).

    The body is checked to be UTF-8 JSON holding one object: a line cut or overwritten
    on disk must not reach a sink's output as an event.
    """
    head, sep, raw = line.rstrip(b"\n").partition(b"\t")
    try:
        event_id, schema_id, version, timestamp = orjson.loads(head)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return "the header is not the four event fields"
    if not sep or not raw:
        return "no event after the header"
    try:
        data = orjson.loads(raw)  # orjson rejects invalid UTF-8 too
    except orjson.JSONDecodeError as exc:
        return f"the event is not UTF-8 JSON ({exc.msg})"
    if not isinstance(data, dict):
        return f"the event is not a JSON object but {type(data).__name__}"
    return SinkEvent(str(event_id), str(schema_id), str(version), str(timestamp), raw)


def read_cursor(slot_dir: Path) -> tuple[int, int]:
    """``(segment, offset)`` the slot's head was delivered up to; FileNotFoundError when
    nothing was delivered yet, ValueError (or OSError) when the cursor is damaged."""
    seg_text, off_text = (slot_dir / _CURSOR).read_text().split()
    return int(seg_text), int(off_text)


class Spool:
    """Bounded, ordered, crash-safe storage of events in append-only segment files.

    ``append`` adds at the tail, ``prepend`` in front of the head; ``peek`` reads from
    the head without consuming and ``commit`` consumes what was peeked (at least once:
    a crash between delivery and commit delivers those events again).

    A damaged line (its header or event unreadable) is never delivered: ``peek`` moves it
    to ``quarantine.jsonl`` with the reason, once, and counts it. A segment or cursor
    that is not a regular file is renamed aside (``*.damaged``) and counted; the
    events around it are delivered.
    """

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int,
                 fsync: str = "batch", file_mode: int = DEFAULT_FILE_MODE) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"spool_fsync must be one of {FSYNC_POLICIES}, got {fsync!r}")
        self.dir = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(1, segment_bytes)
        self.fsync = fsync
        self.file_mode = file_mode
        self.corrupt_lines = 0  # damaged lines moved to the quarantine file (logged)
        self.damaged_files = 0  # segments or cursor files renamed aside at start-up
        self.quarantine_path = directory / QUARANTINE_FILE
        self._quarantined: set[tuple[int, int]] = set()  # (segment, offset) moved already
        self._lock = threading.Lock()
        self._segments: list[int] = []
        self._sizes: dict[int, int] = {}
        self._cursor: tuple[int, int] | None = None  # (segment, offset) inside the head
        self._tail_fd: int | None = None
        self._tail_seg = -1
        self._peek_pos: list[tuple[int, int]] = []
        self._peek_end: tuple[int, int] | None = None
        self._load()

    # -- state on disk -----------------------------------------------------------

    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:020d}{SEGMENT_SUFFIX}"

    def _load(self) -> None:
        make_dirs(self.dir, self.file_mode)
        for p in self.dir.iterdir():
            if p.name.endswith(".tmp"):  # a front segment or cursor cut short by a crash
                if p.is_file():
                    p.unlink(missing_ok=True)
                else:
                    self._set_aside(p, "is not a regular file")
            elif p.name.endswith(SEGMENT_SUFFIX) and p.name[:-4].isdigit():
                if p.is_file() and not p.is_symlink():
                    self._segments.append(int(p.name[:-4]))
                else:
                    self._set_aside(p, "is not a regular file")
        self._segments.sort()
        for seg in list(self._segments):
            try:
                self._sizes[seg] = self._path(seg).stat().st_size
            except OSError as exc:
                self._segments.remove(seg)
                self._set_aside(self._path(seg), f"cannot be read ({exc.strerror})")
        if self._segments:
            self._cut_torn_tail(self._segments[-1])
        cursor = self.dir / _CURSOR
        try:
            seg, off = read_cursor(self.dir)
            if seg in self._sizes and 0 <= off <= self._sizes[seg]:
                self._cursor = (seg, off)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            # Replaying from the start of the oldest segment delivers some events twice
            # (at least once, as after a crash); losing the spool would lose them.
            self._set_aside(cursor, f"is damaged ({exc}); replaying from the oldest segment")

    def _set_aside(self, path: Path, why: str) -> None:
        """Rename a damaged spool entry out of the way, so that start-up goes on."""
        self.damaged_files += 1
        aside = path.with_name(f"{path.name}.damaged")
        n = 1
        while aside.exists():
            aside, n = path.with_name(f"{path.name}.damaged-{n}"), n + 1
        try:
            os.replace(path, aside)
            log.warning("spool %s: %s %s; renamed to %s", self.dir, path.name, why, aside.name)
        except OSError as exc:
            log.warning("spool %s: %s %s and cannot be renamed (%s); ignored", self.dir,
                        path.name, why, exc.strerror)

    def _cut_torn_tail(self, seg: int) -> None:
        """A process killed in the middle of a write leaves half a line: cut it off."""
        path = self._path(seg)
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            log.warning("spool %s: cut %d bytes of a torn last line", path, len(data) - keep)
            os.truncate(path, keep)
            self._sizes[seg] = keep

    def _write_cursor(self) -> None:
        path = self.dir / _CURSOR
        if self._cursor is None:
            path.unlink(missing_ok=True)
            return
        replace_atomically(path, f"{self._cursor[0]} {self._cursor[1]}\n".encode(),
                           self.file_mode, fsync=self.fsync != "never")

    def _sync_dir(self) -> None:
        if self.fsync != "never":
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- size --------------------------------------------------------------------

    def _pending_bytes(self) -> int:
        total = sum(self._sizes.values())
        if self._cursor is not None:
            total -= self._cursor[1]
        return total

    @property
    def pending_bytes(self) -> int:
        """Bytes of events not yet delivered."""
        with self._lock:
            return self._pending_bytes()

    def is_empty(self) -> bool:
        """True when no undelivered event is left."""
        return self.pending_bytes == 0

    # -- writing -----------------------------------------------------------------

    def _fit(self, items: Sequence[SinkEvent]) -> tuple[list[bytes], int]:
        """The spool lines of as many of ``items`` as the size bound allows, and their size."""
        lines = [encode(item) for item in items]
        room = self.max_bytes - self._pending_bytes()
        size = sum(map(len, lines))
        if size <= room:  # the common case: all of them
            return lines, size
        size = 0
        for n, line in enumerate(lines):
            if size + len(line) > room:
                return lines[:n], size
            size += len(line)
        return lines, size

    def append(self, items: Sequence[SinkEvent]) -> int:
        """Add events at the tail, in order, as far as the size bound allows; how many fit."""
        with self._lock:
            lines, size = self._fit(items)
            if not lines:
                return 0
            if self.fsync == "always":
                for line in lines:
                    self._write_tail(line)
                return len(lines)
            if size <= self._tail_room():  # the common case: one write
                self._write_tail(b"".join(lines))
                return len(lines)
            piece: list[bytes] = []
            room = self._tail_room()
            for line in lines:  # one write per segment touched
                if piece and len(line) > room:
                    self._write_tail(b"".join(piece))
                    piece, room = [], self.segment_bytes
                piece.append(line)
                room -= len(line)
            self._write_tail(b"".join(piece))
            return len(lines)

    def _tail_room(self) -> int:
        if self._tail_fd is None:
            return self.segment_bytes
        return self.segment_bytes - self._sizes.get(self._tail_seg, 0)

    def _write_tail(self, data: bytes) -> None:
        if self._tail_fd is None or self._sizes.get(self._tail_seg, 0) + len(data) > max(
                self.segment_bytes, len(data)) and self._sizes.get(self._tail_seg, 0):
            self._open_new_tail()
        assert self._tail_fd is not None
        write_all(self._tail_fd, data)
        if self.fsync != "never":
            os.fsync(self._tail_fd)
        self._sizes[self._tail_seg] += len(data)  # readers see only whole, written lines

    def _open_new_tail(self) -> None:
        if self._tail_fd is not None:
            os.close(self._tail_fd)
        seg = self._segments[-1] + 1 if self._segments else FIRST_SEGMENT
        self._tail_fd = open_private(self._path(seg), os.O_WRONLY | os.O_APPEND,
                                     self.file_mode)
        self._tail_seg = seg
        self._segments.append(seg)
        self._sizes[seg] = 0
        self._sync_dir()

    def prepend(self, events: Sequence[SinkEvent]) -> int:
        """Put events in front of everything spooled (older events that failed directly)."""
        items = events
        with self._lock:
            if not self._segments:
                lines, _ = self._fit(items)
                if lines:
                    self._write_tail(b"".join(lines))
                return len(lines)
            lines, _ = self._fit(items)
            if not lines:
                return 0
            seg = self._segments[0] - 1
            data = b"".join(lines)
            # Appears whole, or not at all (a crash leaves a .tmp, removed at start-up).
            replace_atomically(self._path(seg), data, self.file_mode,
                               fsync=self.fsync != "never")
            self._segments.insert(0, seg)
            self._sizes[seg] = len(data)
            self._sync_dir()
            return len(lines)

    def evict_oldest(self) -> int:
        """Delete the oldest segment not being replayed right now; how many events it held.

        Used by the ``drop_oldest`` policy when the spool is full. The tail and the
        segment the delivery thread has peeked into are never evicted.
        """
        with self._lock:
            busy = {seg for seg, _ in self._peek_pos}
            if self._peek_end is not None:
                busy.add(self._peek_end[0])  # a peek of damaged lines only
            for seg in self._segments:
                if seg == self._tail_seg or seg in busy:
                    continue
                start = self._cursor[1] if self._cursor and self._cursor[0] == seg else 0
                with open(self._path(seg), "rb") as f:
                    f.seek(start)
                    count = f.read(self._sizes[seg] - start).count(b"\n")
                self._remove(seg)
                return count
        return 0

    def _remove(self, seg: int) -> None:
        if seg == self._tail_seg and self._tail_fd is not None:
            os.close(self._tail_fd)
            self._tail_fd, self._tail_seg = None, -1
        self._path(seg).unlink(missing_ok=True)
        self._quarantined = {q for q in self._quarantined if q[0] != seg}
        self._segments.remove(seg)
        del self._sizes[seg]
        if self._cursor is not None and self._cursor[0] == seg:
            self._cursor = None

    # -- reading -----------------------------------------------------------------

    def peek(self, limit: int) -> list[SinkEvent]:
        """Up to ``limit`` of the oldest events, without consuming them.

        Under the lock, like ``commit`` and ``evict_oldest``: the peeked segments are
        marked busy in the same step that reads them, so eviction never takes one.
        """
        events: list[SinkEvent] = []
        with self._lock:
            self._peek_pos = []
            self._peek_end = None
            for seg in self._segments:
                start = self._cursor[1] if self._cursor and self._cursor[0] == seg else 0
                end = self._sizes[seg]
                if start >= end:
                    continue
                with open(self._path(seg), "rb") as f:
                    f.seek(start)
                    offset = start
                    while offset < end and len(events) < limit:
                        line = f.readline(end - offset)
                        if not line:
                            break
                        offset += len(line)
                        self._peek_end = (seg, offset)
                        event = decode(line)
                        if isinstance(event, str):
                            self._quarantine(seg, offset - len(line), line, event)
                            continue
                        events.append(event)
                        self._peek_pos.append((seg, offset))
                if len(events) >= limit:
                    break
        return events

    def _quarantine(self, seg: int, offset: int, line: bytes, reason: str) -> None:
        """Keep a damaged line aside with the reason, once (a batch may be peeked again)."""
        if (seg, offset) in self._quarantined:
            return
        self._quarantined.add((seg, offset))
        self.corrupt_lines += 1
        log.error("spool %s: line at offset %d is damaged (%s); moved to %s, not delivered",
                  self._path(seg), offset, reason, self.quarantine_path)
        entry = orjson.dumps({"segment": self._path(seg).name, "offset": offset,
                              "reason": reason, "line_base64": base64.b64encode(line).decode()})
        try:
            fd = open_private(self.quarantine_path, os.O_WRONLY | os.O_APPEND, self.file_mode)
            try:
                write_all(fd, entry + b"\n")
            finally:
                os.close(fd)
        except OSError as exc:
            log.error("spool %s: cannot write %s (%s); the damaged line is only counted",
                      self.dir, self.quarantine_path, exc.strerror)

    def commit(self, count: int) -> None:
        """Consume the first ``count`` events of the last ``peek`` (they were delivered).

        ``commit(0)`` consumes nothing. Committing every peeked event also consumes the
        damaged lines the peek quarantined after the last of them.
        """
        with self._lock:
            if count <= 0 or not self._peek_pos:
                return
            self._advance(self._peek_end if count >= len(self._peek_pos)
                          else self._peek_pos[count - 1])

    def skip_damaged(self) -> None:
        """After a ``peek`` that found only damaged lines (quarantined, so never
        delivered): consume them. Does nothing when that peek returned any event."""
        with self._lock:
            if not self._peek_pos:
                self._advance(self._peek_end)

    def _advance(self, pos: tuple[int, int] | None) -> None:
        """Move the head to ``pos`` and forget the peek (call with the lock held)."""
        self._peek_pos, self._peek_end = [], None
        if pos is None:
            return
        seg, offset = pos
        for old in [s for s in self._segments if s < seg]:
            self._remove(old)  # read in order, so every earlier segment is done
        if seg in self._sizes:
            self._cursor = (seg, offset)
            if offset >= self._sizes[seg] and (seg != self._tail_seg
                                               or len(self._segments) == 1):
                self._remove(seg)
        self._write_cursor()

    def forget_after_fork(self) -> None:
        """In a forked child: drop our copy of the tail descriptor, without the lock.

        A parent thread may have held the lock at the fork; the child never uses this
        spool again, so it must not wait for it.
        """
        if self._tail_fd is not None:
            os.close(self._tail_fd)
            self._tail_fd = None

    def close(self) -> None:
        """Close the tail file (the segments stay for the next run)."""
        with self._lock:
            if self._tail_fd is not None:
                os.close(self._tail_fd)
                self._tail_fd, self._tail_seg = None, -1
