"""Fixtures: a real Kafka-protocol broker (Tansu, or TELEMETRY_TEST_KAFKA_BOOTSTRAP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry_core.testing.servers import kafka_server


@pytest.fixture(scope="session")
def kafka() -> Iterator[object]:
    """One in-memory broker for the session; tests use their own topics."""
    with kafka_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sinks spool under $XDG_STATE_HOME by default: each test its own, never ~/.local.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def topic() -> str:
    """A topic name no other test uses."""
    return f"test-{uuid.uuid4().hex[:10]}"


