"""The consent store on SQLite and on a real PostgreSQL server: shared by EventLogs and
by processes, append-only, revocation within the cache TTL, a server that goes down."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMA_ID

from telemetry_core import EventLog
from telemetry_core.testing.servers import postgresql_server

CHILD_TTL = 0.5  # the child process's consent_cache_ttl: the documented bound


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """One real PostgreSQL server for this module (or TELEMETRY_TEST_POSTGRESQL_URL)."""
    with postgresql_server() as server:
        yield server


def _fresh_database(server_url: str) -> str:
    import psycopg

    name = f"consent_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consent.sqlite3'}"
    return _fresh_database(request.getfixturevalue("postgres").url)


def _log(schema: dict[str, Any], store: str, **traits: Any) -> EventLog:
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]}},
                   consent_store=store, **traits)
    log.register_schema(schema)
    return log


def test_two_eventlogs_share_decisions_and_history(schema, store_url):
    with _log(schema, store_url) as a, _log(schema, store_url, consent_cache_ttl=0) as b:
        a.consent.grant("alice", SCHEMA_ID, via="rest")
        assert b.record_event(SCHEMA_ID, 1, {"name": "x"}, user="alice") is not None
        b.consent.revoke("alice", SCHEMA_ID, via="cli")
        assert [(d.granted, d.via) for d in a.consent.history("alice")] == [
            (True, "rest"), (False, "cli")]
        assert not a.consent.permits("alice", SCHEMA_ID)  # its own cache was never filled
        assert a.consent.state("alice") == b.consent.state("alice")


def test_decisions_are_only_ever_inserted(schema, store_url):
    import sqlalchemy as sa

    from telemetry_core.consent._store import decisions_table

    with _log(schema, store_url) as log:
        for granted in (True, False, True, False):
            log.consent.decide("alice", SCHEMA_ID, granted)
        engine = log.consent.store.engine
        with engine.connect() as conn:
            rows = conn.execute(sa.select(decisions_table).order_by(decisions_table.c.id)).all()
        assert [r.granted for r in rows] == [True, False, True, False]
        assert len({r.id for r in rows}) == 4


CHILD = textwrap.dedent("""
    import json, sys
    from telemetry_core import EventLog
    schema_file, store, ttl = sys.argv[1], sys.argv[2], float(sys.argv[3])
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]}},
                   consent_store=store, consent_cache_ttl=ttl)
    log.register_schema(schema_file)
    print(log.consent.notice_version, flush=True)
    for line in sys.stdin:
        user = line.strip()
        recorded = log.record_event(SCHEMA_ID, 1, {"name": "x"}, user=user)
        print("recorded" if recorded is not None else "not", flush=True)
""").replace("SCHEMA_ID", repr(SCHEMA_ID))


class Child:
    """Another process recording events about a user against the same store."""

    def __init__(self, schema_file: Path, store: str, ttl: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(schema_file), store, str(ttl)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def notice_version(self) -> str:
        """The child's notice version (its first line, once it has started)."""
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def record(self, user: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(user + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0


def test_revocation_reaches_another_process_within_the_cache_ttl(schema, store_url, tmp_path):
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    with _log(schema, store_url) as admin:
        cached = Child(schema_file, store_url, CHILD_TTL)
        uncached = Child(schema_file, store_url, 0)
        try:
            # Same configuration, another process: the same notice version.
            assert cached.notice_version() == admin.consent.notice_version
            assert uncached.notice_version() == admin.consent.notice_version
            assert cached.record("alice") == "not"
            admin.consent.grant("alice", SCHEMA_ID, via="cli")
            assert uncached.record("alice") == "recorded"
            time.sleep(CHILD_TTL + 0.2)  # past the bound of the child's cached "no"
            assert cached.record("alice") == "recorded"
            admin.consent.revoke("alice", SCHEMA_ID, via="cli")
            assert uncached.record("alice") == "not"  # no cache: at once
            time.sleep(CHILD_TTL + 0.2)  # the documented bound: consent_cache_ttl
            assert cached.record("alice") == "not"
        finally:
            cached.close()
            uncached.close()


def test_a_postgresql_store_that_goes_down_and_comes_back(schema, postgres, caplog):
    if not postgres.restartable:
        pytest.skip("an external server cannot be stopped by tests")
    url = _fresh_database(postgres.url)
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]},
                                    "https://example.org/req": {}},
                   consent_store=url, consent_cache_ttl=0, register_builtin_schemas=False)
    log.register_schema(schema)
    log.register_schema(dict(schema, **{"$id": "https://example.org/req"}))
    with log:
        log.consent.grant("alice", SCHEMA_ID)
        assert log.record_event(SCHEMA_ID, 1, {"name": "x"}, user="alice") is not None
        postgres.stop()
        try:
            with caplog.at_level(logging.WARNING, logger="telemetry_core"):
                assert log.record_event("https://example.org/req", 1, {"name": "x"},
                                        user="alice") is not None
                assert log.record_event(SCHEMA_ID, 1, {"name": "x"}, user="alice") is None
            assert log.stats()["consent_store_errors"] >= 1
            assert any("consent store" in r.getMessage() for r in caplog.records)
            assert all("alice" not in r.getMessage() for r in caplog.records)
        finally:
            postgres.start()
        time.sleep(1.1)  # past the store's retry interval
        assert log.record_event(SCHEMA_ID, 1, {"name": "x"}, user="alice") is not None


def test_a_store_from_before_the_audit_columns_is_migrated(schema, store_url):
    # The table as the first release made it: no decided_by, no auth_method.
    import sqlalchemy as sa

    from telemetry_core.consent._store import store_url as to_url

    engine = sa.create_engine(to_url(store_url))
    key = "INTEGER" if store_url.startswith("sqlite") else "SERIAL"
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE TABLE telemetry_consent_decisions (id {key} PRIMARY KEY, user_id "
            "VARCHAR(256) NOT NULL, scope VARCHAR(1024) NOT NULL, granted BOOLEAN NOT NULL, "
            "notice_version VARCHAR(64) NOT NULL, at VARCHAR(40) NOT NULL, "
            "via VARCHAR(64) NOT NULL)"))
        conn.execute(sa.text(
            "INSERT INTO telemetry_consent_decisions (user_id, scope, granted, notice_version, "
            "at, via) VALUES ('alice', :scope, false, "
            "'n-000000000000', '2026-01-01T00:00:00.000000Z', 'cli')"), {"scope": SCHEMA_ID})
    engine.dispose()
    with _log(schema, store_url) as log:
        log.consent.decide("alice", SCHEMA_ID, False, via="rest", by="user:alice",
                           auth="user-token")
        old, new = log.consent.history("alice")
        assert (old.via, old.by, old.auth) == ("cli", "", "")  # not known then: not invented
        assert (new.by, new.auth) == ("user:alice", "user-token")
    with _log(schema, store_url) as again:  # a second open finds the columns there
        assert len(again.consent.history("alice")) == 2
