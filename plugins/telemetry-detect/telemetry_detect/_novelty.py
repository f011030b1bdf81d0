"""Login novelty: is this the first login of a user from this address?

The one derived field rules may name, ``remote_address_new`` on ``hub/login`` events:

- ``true``: the user logged in before (from some address) but never from this one;
- ``false``: the user logged in from this address before, or this is the first login
  of the user that we know of (no baseline yet: nothing to compare with);
- missing (null): the event has no user or no address (e.g. the policy redacted it).

Streaming (``AddressNovelty``) keeps state in a SQLite file: only keyed hashes
(HMAC-SHA256) of the user and of (user, address), never the clear values; a bounded
number of entries (least recently seen evicted first, counted); the file is private
(0600) and survives restarts. Each pair remembers the event that introduced it, so an
event delivered twice (a retry, a replay) gets the same answer both times.

Hunting derives the same field over stored events in time order with DuckDB window
functions (``hunt_rows``), so both paths agree on the same events (until the streaming
state evicts an entry, which hunting never does).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from telemetry_core.sinks import Option, clean

LOGIN_SCHEMA = "https://telemetry.jupyter.org/schemas/events/hub/login"
#: The derived field: ``name -> (schema id, the property it derives from)``.
DERIVED_FIELDS = {"remote_address_new": (LOGIN_SCHEMA, "remote_address")}
NEW_FIELD = "remote_address_new"
#: Entries (users, and user-address pairs, each) the state keeps at most by default.
DEFAULT_MAX_ENTRIES = 100_000
_MARK = b'hub/login"'  # cheap test before parsing an event: logins are rare
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS users (key BLOB PRIMARY KEY, tick INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (key BLOB PRIMARY KEY, tick INTEGER NOT NULL,
                                  first_event TEXT NOT NULL, was_new INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS users_tick ON users (tick);
CREATE INDEX IF NOT EXISTS pairs_tick ON pairs (tick);
"""


def _private_file(path: Path) -> None:
    """Create ``path`` (and its directory) readable by the owner only, before SQLite
    opens it: the hashes are not values, but nobody else needs them."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class AddressNovelty:
    """The state behind ``remote_address_new``, in SQLite (``path``; None: in memory,
    lost when closed).

    ``secret``: the HMAC key (bytes). Without one, a random key is created and kept in
    the file, so hashes cannot be compared across deployments, but whoever can read the
    file can test guesses: give a secret kept elsewhere to prevent that. A file made with
    another key is emptied (counted in ``resets``). ``max_entries`` bounds the users and
    the pairs kept; ``evicted`` counts the entries dropped for it (and ``on_evict`` is
    told how many, each time).
    """

    def __init__(self, path: str | Path | None = None, secret: bytes | None = None,
                 max_entries: int = DEFAULT_MAX_ENTRIES,
                 on_evict: Callable[[int], None] | None = None) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.path = Path(path) if path is not None else None
        self.max_entries = max_entries
        self.evicted = 0
        self._on_evict = on_evict
        self.resets = 0
        self._lock = threading.Lock()
        if self.path is not None:
            _private_file(self.path)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:",
                                   timeout=30, check_same_thread=False)
        self._db.executescript(_SCHEMA_SQL)
        self._key = self._keyed(secret)
        row = self._db.execute("SELECT max(tick) FROM (SELECT tick FROM users UNION ALL "
                               "SELECT tick FROM pairs)").fetchone()
        self._tick = int(row[0] or 0)

    def _keyed(self, secret: bytes | None) -> bytes:
        with self._db:
            stored = dict(self._db.execute("SELECT name, value FROM meta").fetchall())
            key = secret or stored.get("key") or secrets.token_bytes(32)
            check = hmac.new(key, b"telemetry-detect novelty key", hashlib.sha256).digest()
            if stored.get("check") not in (None, check):
                self._db.execute("DELETE FROM users")
                self._db.execute("DELETE FROM pairs")
                self.resets += 1
            self._db.execute("DELETE FROM meta")
            self._db.execute("INSERT INTO meta VALUES ('check', ?)", (check,))
            if secret is None:
                self._db.execute("INSERT INTO meta VALUES ('key', ?)", (key,))
        return bytes(key)

    def _hash(self, *parts: str) -> bytes:
        data = b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def is_new(self, user: str, address: str, event_id: str) -> bool:
        """Whether ``user`` logging in from ``address`` (event ``event_id``) is new;
        remembers the login. The same event asked again gets the same answer."""
        with self._lock, self._db:
            return self._is_new(user, address, event_id)

    def _is_new(self, user: str, address: str, event_id: str) -> bool:
        self._tick += 1
        user_key, pair_key = self._hash(user), self._hash(user, address)
        pair = self._db.execute("SELECT first_event, was_new FROM pairs WHERE key = ?",
                                (pair_key,)).fetchone()
        known_user = self._db.execute("SELECT 1 FROM users WHERE key = ?",
                                      (user_key,)).fetchone() is not None
        if pair is not None:
            new = bool(pair[1]) if pair[0] == event_id else False
            self._db.execute("UPDATE pairs SET tick = ? WHERE key = ?", (self._tick, pair_key))
        else:
            new = known_user  # a user's first login sets the baseline: not "new"
            self._db.execute("INSERT INTO pairs VALUES (?, ?, ?, ?)",
                             (pair_key, self._tick, event_id, int(new)))
        self._db.execute("INSERT INTO users VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                         "SET tick = excluded.tick", (user_key, self._tick))
        for table in ("users", "pairs"):
            self._evict(table)
        return new

    def _evict(self, table: str) -> None:
        count = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count > self.max_entries:
            excess = count - self.max_entries
            self._db.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} "
                             "ORDER BY tick LIMIT ?)", (excess,))
            self.evicted += excess
            if self._on_evict is not None:
                self._on_evict(excess)

    def entries(self) -> tuple[int, int]:
        """``(users, pairs)`` kept now."""
        with self._lock:
            users = self._db.execute("SELECT count(*) FROM users").fetchone()[0]
            pairs = self._db.execute("SELECT count(*) FROM pairs").fetchone()[0]
        return int(users), int(pairs)

    def enrich(self, events: Sequence[bytes | str]) -> list[bytes | str]:
        """``events`` (JSON objects) with ``remote_address_new`` set on each login that
        has a user and an address, in time order; other events unchanged."""
        logins: list[tuple[str, int, dict[str, Any]]] = []
        for index, raw in enumerate(events):
            text = raw if isinstance(raw, bytes) else raw.encode()
            if _MARK not in text:
                continue
            try:
                event = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue  # the engine skips it too
            if isinstance(event, dict) and event.get("__schema__") == LOGIN_SCHEMA:
                logins.append((str(event.get("__timestamp__") or ""), index, event))
        if not logins:
            return list(events)
        out = list(events)
        with self._lock, self._db:
            for _, index, event in sorted(logins, key=lambda item: item[:2]):
                user, address = event.get("user"), event.get("remote_address")
                if not (isinstance(user, str) and isinstance(address, str)):
                    continue
                event[NEW_FIELD] = self._is_new(user, address,
                                                str(event.get("__event_id__") or ""))
                out[index] = orjson.dumps(event)
        return out

    def close(self) -> None:
        """Close the SQLite file."""
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class NoveltyConfig:
    """Where the streaming state of ``remote_address_new`` lives (``path``: a SQLite
    file; None: in memory), its HMAC key and its bound (see ``AddressNovelty``)."""

    path: str | Path | None = None
    secret: bytes | None = None
    max_entries: int = DEFAULT_MAX_ENTRIES
    on_evict: Callable[[int], None] | None = None

    def open(self) -> AddressNovelty:
        """The state, opened (the file created, private, if missing)."""
        return AddressNovelty(self.path, self.secret, self.max_entries, self.on_evict)


#: The ``detect`` sink's options for the state (``novelty_config`` reads them).
NOVELTY_OPTIONS = (
    Option("state_dir", "path", None, "where the state behind remote_address_new is "
           "kept (novelty.sqlite3; default $XDG_STATE_HOME/telemetry/detect/NAME)",
           nullable=True),
    Option("novelty_secret", "str", None, "HMAC key of the hashes in that state (default "
           "$TELEMETRY_DETECT_NOVELTY_SECRET, else a random key kept in the file)",
           nullable=True),
    Option("novelty_max_entries", "int", DEFAULT_MAX_ENTRIES, "users, and user-address "
           "pairs, the state keeps at most (least recently seen dropped first)", minimum=1),
)
SECRET_VARIABLE = "TELEMETRY_DETECT_NOVELTY_SECRET"


def default_state_dir(sink_name: str) -> Path:
    """``$XDG_STATE_HOME/telemetry/detect/NAME`` (else under ``~/.local/state``)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "detect" / clean(sink_name)


def novelty_config(sink_name: str, state_dir: str | os.PathLike[str] | None,
                   novelty_secret: str | None, novelty_max_entries: int,
                   on_evict: Callable[[int], None] | None = None) -> NoveltyConfig:
    """The ``NoveltyConfig`` of a ``detect`` sink named ``sink_name`` and its options."""
    where = Path(state_dir) if state_dir else default_state_dir(sink_name)
    secret = novelty_secret or os.environ.get(SECRET_VARIABLE) or None
    return NoveltyConfig(where / "novelty.sqlite3", secret.encode() if secret else None,
                         novelty_max_entries, on_evict)


def hunt_rows(rows_sql: str) -> str:
    """``rows_sql`` (a query with one JSON text column ``raw``) with
    ``remote_address_new`` set on logins, derived over all its rows in time order with
    window functions, by the rules ``AddressNovelty`` follows."""
    login = LOGIN_SCHEMA.replace("'", "''")
    return f"""
WITH _rows AS (SELECT raw, row_number() OVER () AS _n FROM ({rows_sql})),
_logins AS (
    SELECT _n, json_extract_string(raw, '$."__timestamp__"') AS _ts,
           json_extract_string(raw, '$."user"') AS _user,
           json_extract_string(raw, '$."remote_address"') AS _address
    FROM _rows
    WHERE json_extract_string(raw, '$."__schema__"') = '{login}'
      AND json_type(raw, '$."user"') = 'VARCHAR'
      AND json_type(raw, '$."remote_address"') = 'VARCHAR'),
_flags AS (
    SELECT _n, row_number() OVER (PARTITION BY _user, _address ORDER BY _ts, _n) = 1
               AND row_number() OVER (PARTITION BY _user ORDER BY _ts, _n) > 1 AS _new
    FROM _logins)
SELECT CASE WHEN _flags._n IS NULL THEN _rows.raw
            ELSE json_merge_patch(_rows.raw, json_object('{NEW_FIELD}', _flags._new))::VARCHAR
       END AS raw
FROM _rows LEFT JOIN _flags USING (_n)"""
