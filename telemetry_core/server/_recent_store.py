"""The recent client event ids, on disk: what makes ``duplicate`` survive a restart.

A small SQLite file (WAL) of rows ``(client, event id, time recorded)``; never an event's
content. Every worker of one collector (``--processes N``) opens the same file, so a
re-send that reaches another worker, or the collector after a restart, is caught too.
Each request costs one read of its ids and one write transaction for those recorded.

Bounds, as the in-memory window (``RecentIds``): rows older than ``seconds`` are deleted,
and a client's rows past ``max_ids`` (the oldest first), by a compaction a process runs
at most every ``_COMPACT_EVERY`` seconds. Time is wall-clock (it must mean the same in
the next process). The directory is created 0700 and the file 0600.

Trouble with the file (a full disk, a lock held too long) never loses an event: a read
that fails finds nothing (the event is recorded, perhaps again, with the same event id),
a write that fails is skipped; both are logged, without ids.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("telemetry_core.server")

_COMPACT_EVERY = 30.0  # seconds between compactions in one process
_MAX_QUERY_IDS = 500  # ids per SELECT ... IN (...), under SQLite's variable limit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS recent_ids (
    client TEXT NOT NULL,
    event_id BLOB NOT NULL,  -- the 16 bytes of uuid5(namespace, client + client id)
    at REAL NOT NULL,        -- when it was recorded, seconds since the epoch
    PRIMARY KEY (client, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recent_ids_at ON recent_ids (at);
"""


def default_recent_ids_path(port: int) -> Path:
    """``$XDG_STATE_HOME/telemetry/rest/recent-ids-PORT.sqlite3`` (else under
    ``~/.local/state``): one file per collector, shared by its worker processes."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "rest" / f"recent-ids-{port}.sqlite3"


def _private_file(path: Path) -> None:
    # Created by us before SQLite opens it, so it is never readable by others; SQLite
    # gives its -wal and -shm files the same mode.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


class RecentIdStore:
    """Client event ids recorded lately, in a SQLite file several processes share.

    ``clock`` (wall-clock seconds, as stored in the file) is what tests replace to step
    past the window.
    """

    def __init__(self, path: Path, max_ids: int, seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.max_ids = max_ids
        self.seconds = seconds
        self.clock = clock
        self._connection: sqlite3.Connection | None = None
        self._pid = -1
        self._last_compaction = time.monotonic()
        self._clients_since_compaction: set[str] = set()
        self.failures = 0  # reads and writes that failed (logged, never raised)

    def _db(self) -> sqlite3.Connection:
        # One connection per process: a forked worker must not use its parent's.
        if self._connection is None or self._pid != os.getpid():
            _private_file(self.path)
            connection = sqlite3.connect(self.path, timeout=2.0, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # no fsync per commit
            connection.executescript(_SCHEMA)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def seen(self, client: str, event_ids: Iterable[str]) -> set[str]:
        """Those of ``event_ids`` remembered for ``client`` and not expired."""
        wanted = [uuid.UUID(e).bytes for e in event_ids]
        if not wanted or self.max_ids <= 0:
            return set()
        since = self.clock() - self.seconds
        found: set[str] = set()
        try:
            db = self._db()
            for start in range(0, len(wanted), _MAX_QUERY_IDS):
                chunk = wanted[start:start + _MAX_QUERY_IDS]
                rows = db.execute(
                    "SELECT event_id FROM recent_ids WHERE client = ? AND at >= ? AND "
                    f"event_id IN ({','.join('?' * len(chunk))})", (client, since, *chunk))
                found.update(str(uuid.UUID(bytes=row[0])) for row in rows)
        except (sqlite3.Error, OSError) as exc:
            self._failed("read", exc)
        return found

    def remember(self, client: str, event_ids: list[str]) -> None:
        """Remember ``event_ids`` for ``client`` as recorded now (one transaction)."""
        if not event_ids or self.max_ids <= 0:
            return
        now = self.clock()
        rows = [(client, uuid.UUID(e).bytes, now) for e in event_ids]
        try:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO recent_ids VALUES (?, ?, ?)", rows)
                self._clients_since_compaction.add(client)
                if time.monotonic() - self._last_compaction >= _COMPACT_EVERY:
                    self._compact(db, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            self._failed("write", exc)

    def _failed(self, what: str, exc: Exception) -> None:
        # The first failure and then every 1000th: a broken disk must not flood the log.
        self.failures += 1
        if self.failures % 1000 == 1:
            log.warning("recent event ids (%s): cannot %s (%s: %s), %d time(s) so far; a "
                        "re-sent event may be recorded again (same event id)", self.path,
                        what, type(exc).__name__, exc, self.failures)

    def compact(self) -> None:
        """Delete expired rows and each client's rows past ``max_ids``, now."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            self._compact(db, self.clock())
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _compact(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM recent_ids WHERE at < ?", (now - self.seconds,))
        # Only clients this process wrote for can have grown past the bound meanwhile
        # (the others' writers check theirs).
        for client in self._clients_since_compaction:
            count = db.execute("SELECT count(*) FROM recent_ids WHERE client = ?",
                               (client,)).fetchone()[0]
            if count <= self.max_ids:
                continue
            db.execute(
                "DELETE FROM recent_ids WHERE client = ? AND event_id NOT IN (SELECT event_id "
                "FROM recent_ids WHERE client = ? ORDER BY at DESC LIMIT ?)",
                (client, client, self.max_ids))
        self._clients_since_compaction.clear()
        self._last_compaction = time.monotonic()

    def close(self) -> None:
        """Close this process's connection (the file stays for the next run)."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None
