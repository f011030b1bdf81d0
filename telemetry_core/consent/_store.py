"""The consent store: an append-only table of decisions, on SQLite or PostgreSQL.

One implementation on SQLAlchemy Core; the URL picks the database:

- ``""`` (default): a SQLite file under ``$XDG_STATE_HOME/telemetry/`` (else
  ``~/.local/state/telemetry/``), the directory created 0700 and the file 0600;
- ``sqlite:///PATH``: a SQLite file there (same modes when this creates it);
- ``postgresql://...``: PostgreSQL through psycopg 3 (``pip install
  'telemetry-core[postgresql]'``), for deployments on several machines.

Rows are only ever inserted: the history is the audit trail. Each decision records who
made it (``decided_by``: ``user:<id>`` for the user themselves, ``client:<name>`` for a
client token, ``admin:<id>`` for a consent admin) and how they were authenticated
(``auth_method``). Stores made before those columns existed get them on open (an
``ALTER TABLE``; their old rows say ``""``: not recorded). A second table keeps what each
notice version collected, so that a ``yes`` given to an older notice can be checked
against what the current one collects; a third records every read of a user's decisions
by someone else (an admin).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from ._decision import Decision
from ._errors import ConsentError

_metadata = sa.MetaData()
decisions_table = sa.Table(
    "telemetry_consent_decisions", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("scope", sa.String(1024), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("notice_version", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),  # RFC 3339, UTC, fixed width: sorts
    sa.Column("via", sa.String(64), nullable=False),
    sa.Column("decided_by", sa.String(300), nullable=False, server_default=""),
    sa.Column("auth_method", sa.String(32), nullable=False, server_default=""),
    sa.Index("ix_telemetry_consent_user_scope", "user_id", "scope", "id"),
)
notices_table = sa.Table(
    "telemetry_consent_notices", _metadata,
    sa.Column("notice_version", sa.String(64), primary_key=True),
    sa.Column("collected", sa.Text, nullable=False),  # JSON: {schema id: {path: level}}
)

access_table = sa.Table(
    "telemetry_consent_access", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("read_by", sa.String(300), nullable=False),
    sa.Column("auth_method", sa.String(32), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Index("ix_telemetry_consent_access_user", "user_id", "id"),
)
# Columns added after the first release, with their DDL for stores that lack them.
_ADDED_COLUMNS = {"decided_by": "VARCHAR(300) NOT NULL DEFAULT ''",
                  "auth_method": "VARCHAR(32) NOT NULL DEFAULT ''"}

Collected = dict[str, dict[str, int]]


def default_store_path() -> Path:
    """``$XDG_STATE_HOME/telemetry/consent.sqlite3``, else under ``~/.local/state``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "consent.sqlite3"


def store_url(url: str) -> URL:
    """The SQLAlchemy URL for a configured store URL ("" is the default SQLite file)."""
    if not url:
        return make_url(f"sqlite:///{default_store_path()}")
    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy.exc.ArgumentError; the URL may hold a password
        raise ConsentError("the consent store URL is not a database URL (e.g. "
                           "sqlite:///path or postgresql://host/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise ConsentError(f"consent store: unsupported database {parsed.drivername!r}; "
                           "use sqlite:///PATH or postgresql://...")
    return parsed


def describe_url(url: str) -> str:
    """A configured store URL for messages: the password hidden (the default SQLite
    file's path for "")."""
    try:
        return store_url(url).render_as_string(hide_password=True)
    except ConsentError:
        return "(a URL that is not a database URL)"


def _private_sqlite_file(path: Path) -> None:
    # Created by us, before SQLite opens it, so it is never world-readable.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


class ConsentStore:
    """Append and read consent decisions. Thread-safe (SQLAlchemy's pool); several
    processes may share one store (SQLite in WAL mode, or PostgreSQL)."""

    def __init__(self, url: str = "") -> None:
        self.url = store_url(url)
        self.kind = "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"
        self.engine: Engine = self._engine()
        _metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store made by an older version lacks (idempotent; two
        processes racing to add one: the loser finds it there)."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns(
            decisions_table.name)}
        for name, ddl in _ADDED_COLUMNS.items():
            if name in present:
                continue
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.text(
                        f"ALTER TABLE {decisions_table.name} ADD COLUMN {name} {ddl}"))
            except sa.exc.DBAPIError:
                if name not in {c["name"] for c in sa.inspect(self.engine).get_columns(
                        decisions_table.name)}:
                    raise

    def describe(self) -> str:
        """The store's URL for logs: the password hidden."""
        return self.url.render_as_string(hide_password=True)

    def _engine(self) -> Engine:
        if self.kind == "sqlite":
            database = self.url.database
            if database and database != ":memory:":
                _private_sqlite_file(Path(database))
            engine = sa.create_engine(self.url, connect_args={"timeout": 5})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA busy_timeout=5000")
                cur.close()

            return engine
        # A store that is down must fail fast, not hang record_event.
        return sa.create_engine(self.url, pool_pre_ping=True,
                                connect_args={"connect_timeout": 3})

    # -- writing ----------------------------------------------------------------------

    def append(self, decision: Decision) -> None:
        """Append one decision (never updates or deletes a row)."""
        self.append_all([decision])

    def append_all(self, decisions: list[Decision],
                   notice: tuple[str, Collected] | None = None) -> None:
        """Append ``decisions`` in one transaction, with what ``notice`` (version, what it
        collected) says if the store does not know that version yet."""
        with self.engine.begin() as conn:
            if notice is not None:
                t = notices_table
                known = conn.execute(sa.select(t.c.notice_version).where(
                    t.c.notice_version == notice[0])).first()
                if known is None:
                    conn.execute(t.insert().values(
                        notice_version=notice[0],
                        collected=orjson.dumps(notice[1],
                                               option=orjson.OPT_SORT_KEYS).decode()))
            if decisions:
                conn.execute(decisions_table.insert(), [d.row() for d in decisions])

    def record_access(self, user: str, read_by: str, auth: str, at: str) -> None:
        """Record that ``read_by`` (authenticated by ``auth``) read ``user``'s decisions."""
        with self.engine.begin() as conn:
            conn.execute(access_table.insert().values(user_id=user, read_by=read_by,
                                                      auth_method=auth, at=at))

    def accesses(self, user: str, limit: int = 1000) -> list[dict[str, str]]:
        """The latest reads of ``user``'s decisions by others, oldest first."""
        t = access_table
        query = sa.select(t).where(t.c.user_id == user).order_by(t.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [{"read_by": r.read_by, "auth": r.auth_method, "at": r.at}
                for r in reversed(rows)]

    def remember_notice(self, notice_version: str, collected: Collected) -> None:
        """Keep what ``notice_version`` collected (once; a version's content is fixed)."""
        if self.notice(notice_version) is not None:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(notices_table.insert().values(
                    notice_version=notice_version,
                    collected=orjson.dumps(collected, option=orjson.OPT_SORT_KEYS).decode()))
        except sa.exc.IntegrityError:
            pass  # another process wrote the same version first: same content

    # -- reading ----------------------------------------------------------------------

    def latest(self, user: str, scopes: tuple[str, ...]) -> Decision | None:
        """The newest decision of ``user`` on any of ``scopes``."""
        t = decisions_table
        query = (sa.select(t).where(t.c.user_id == user, t.c.scope.in_(scopes))
                 .order_by(t.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _decision(row) if row is not None else None

    def history(self, user: str | None = None, scope: str | None = None, *,
                limit: int | None = None, before: int | None = None) -> list[Decision]:
        """Decisions in the order they were made, for one user and/or scope or all; with
        ``limit``, only the latest ``limit`` (made before the row id ``before``, if given)."""
        t = decisions_table
        query = sa.select(t)
        if user is not None:
            query = query.where(t.c.user_id == user)
        if scope is not None:
            query = query.where(t.c.scope == scope)
        if before is not None:
            query = query.where(t.c.id < before)
        if limit is None:
            query = query.order_by(t.c.id)
        else:
            query = query.order_by(t.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            found = [_decision(row) for row in conn.execute(query)]
        return found if limit is None else found[::-1]

    def notice(self, notice_version: str) -> Collected | None:
        """What ``notice_version`` collected, if a decision was ever made against it."""
        t = notices_table
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(t.c.collected).where(
                t.c.notice_version == notice_version)).scalar()
        return orjson.loads(text) if text is not None else None

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()


def _decision(row: Any) -> Decision:
    return Decision(user=row.user_id, scope=row.scope, granted=bool(row.granted),
                    notice_version=row.notice_version, at=row.at, via=row.via,
                    by=row.decided_by, auth=row.auth_method, id=row.id)
