"""The key store: one data key per subject, wrapped by the deployment's master key.
SQLite by default, PostgreSQL by URL, like the consent store (same URL forms)."""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections import OrderedDict
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ._crypto import Sealer, parse_master_key, unwrap_key, wrap_key

_metadata = sa.MetaData()
_keys = sa.Table(
    "subject_keys", _metadata,
    sa.Column("subject", sa.String(64), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
)
_SEALER_CACHE = 4096  # subjects whose unwrapped key a writer keeps in memory


def default_key_store_path() -> Path:
    """``$XDG_STATE_HOME/telemetry/subject-keys.sqlite3``, else under ``~/.local/state``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "subject-keys.sqlite3"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class KeyStore:
    """Per-subject data keys, created on first use.

    ``url``: "" (a private SQLite file, see :func:`default_key_store_path`),
    ``sqlite:///PATH`` or ``postgresql://...``. ``master_key``: base64 of 32 bytes
    (default ``$TELEMETRY_SUBJECT_MASTER_KEY``); the store holds only wrapped keys.
    """

    def __init__(self, url: str = "", master_key: str | None = None) -> None:
        from ..consent import ConsentError, store_url

        master = master_key if master_key is not None else os.environ.get(
            "TELEMETRY_SUBJECT_MASTER_KEY", "")
        if not master:
            raise ValueError("the subject key store needs a master key: set "
                             "TELEMETRY_SUBJECT_MASTER_KEY (make one with "
                             "`telemetry subject new-key`)")
        self._master = parse_master_key(master)
        try:
            self.url = store_url(url or f"sqlite:///{default_key_store_path()}")
        except ConsentError as exc:
            raise ValueError(str(exc).replace("consent store", "subject key store")) from None
        self.engine = self._engine()
        _metadata.create_all(self.engine)
        self._sealers: OrderedDict[str, Sealer] = OrderedDict()
        self._lock = threading.Lock()

    def describe(self) -> str:
        """The store's URL for messages, its password hidden."""
        return self.url.render_as_string(hide_password=True)

    def _engine(self) -> Engine:
        if self.url.drivername.startswith("sqlite"):
            database = self.url.database
            if database and database != ":memory:":
                path = Path(database)
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # private from birth
            return sa.create_engine(self.url, connect_args={"timeout": 5})
        return sa.create_engine(self.url, pool_pre_ping=True, connect_args={"connect_timeout": 3})

    # -- writers -----------------------------------------------------------------------

    def sealer(self, subject: str) -> Sealer:
        """The sealer for ``subject``, its key made on first use (cached per process)."""
        with self._lock:
            found = self._sealers.get(subject)
            if found is not None:
                self._sealers.move_to_end(subject)
                return found
        key = self._load(subject)
        if key is None:
            key = self._create(subject)
        sealer = Sealer(key, subject)
        with self._lock:
            self._sealers[subject] = sealer
            if len(self._sealers) > _SEALER_CACHE:
                self._sealers.popitem(last=False)
        return sealer

    def _create(self, subject: str) -> bytes:
        key = os.urandom(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(_keys.insert().values(
                    subject=subject, wrapped=wrap_key(self._master, key, subject),
                    created=_now()))
            return key
        except sa.exc.IntegrityError:  # another process made it first: use theirs
            found = self._load(subject)
            if found is None:
                raise
            return found

    # -- readers -----------------------------------------------------------------------

    def _load(self, subject: str) -> bytes | None:
        with self.engine.connect() as conn:
            wrapped = conn.execute(
                sa.select(_keys.c.wrapped).where(_keys.c.subject == subject)).scalar()
        return None if wrapped is None else unwrap_key(self._master, wrapped, subject)

    def opener(self, subject: str) -> Sealer | None:
        """A sealer to open ``subject``'s values, read from the store now (never from a
        cache: an erased key is gone for every reader at once); None when erased."""
        key = self._load(subject)
        return None if key is None else Sealer(key, subject)

    # -- erasure -----------------------------------------------------------------------

    def erase(self, subject: str) -> bool:
        """Delete ``subject``'s data key: every value sealed with it becomes unreadable.
        True when a key was deleted (False: none was there; erasing twice is harmless)."""
        with self._lock:
            self._sealers.pop(subject, None)
        with self.engine.begin() as conn:
            return conn.execute(_keys.delete().where(_keys.c.subject == subject)).rowcount > 0

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()
