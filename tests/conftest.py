"""Shared fixtures of the core tests: a small event schema and EventLogs around it."""

from __future__ import annotations

import copy
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from telemetry_core import EventLog
from telemetry_core.sinks import SinkHandler
from telemetry_core.testing import MemorySink

SCHEMA_ID = "https://example.org/telemetry/test-event"

# A schema as a deployment would write one: PII marked, categories on a property,
# a nested object with its own personal data, and an array of objects.
TEST_SCHEMA: dict[str, Any] = {
    "$id": SCHEMA_ID,
    "version": 1,
    "title": "Test event",
    "description": "An event for the core tests.",
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"title": "Name", "description": "What happened.", "type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "user": {"type": "string", "pii": True, "description": "Who did it."},
        "location": {"type": "string", "categories": ["geo"]},
        "details": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "email": {"type": "string", "pii": True},
            },
        },
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"kind": {"type": "string"},
                               "path": {"type": "string", "pii": True}},
            },
        },
    },
}


def SubmittedSink() -> SinkHandler:  # noqa: N802 - reads like the class it stands for
    """A sink handler that keeps what it is submitted, in ``kept``, and never delivers: a
    double for the core's mechanics (what record_event hands a sink, untouched by the
    queue and its thread)."""
    handler = SinkHandler(MemorySink, spool=False)
    handler.kept = []  # type: ignore[attr-defined]
    handler.submit = handler.kept.append  # type: ignore[attr-defined]
    return handler


@pytest.fixture(autouse=True)
def _private_state_dirs(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep spools, stats and consent stores of every test (and of the subprocesses it
    starts) in a temporary directory, never in the real ``~/.local/state``."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Spools and the default consent store go to a temp dir, never the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("TELEMETRY_CONSENT_STORE", raising=False)


@pytest.fixture
def schema() -> dict[str, Any]:
    """A fresh copy of the test schema (tests may change it)."""
    return copy.deepcopy(TEST_SCHEMA)


@pytest.fixture
def stream() -> io.StringIO:
    """Where the ``eventlog`` fixture's StreamHandler writes."""
    return io.StringIO()


@pytest.fixture
def eventlog(schema: dict[str, Any], stream: io.StringIO) -> Iterator[EventLog]:
    """An EventLog that allows the test schema (list form) and writes JSON lines to ``stream``."""
    log = EventLog(handlers=[logging.StreamHandler(stream)], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    yield log
    log.close()
