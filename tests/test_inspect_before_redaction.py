"""The core's half of ``inspect_before_redaction``: who gets the event before redaction.

Only a sink that declares ``inspects_before_redaction`` (a test double here; the real
one is telemetry-detect's, tested with its rules in its own suite) receives
``SinkEvent.inspected``. Every other sink, every logging handler, the spool and the
value ``record`` returns get what the policy records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError

from telemetry_core import EventLog
from telemetry_core.sinks import Sink, SinkContext, SinkEvent, SinkHandler

SCHEMA = "https://example.org/schemas/note"
NOTE = {"$id": SCHEMA, "version": 1, "title": "Note", "description": "A note (test).",
        "type": "object",
        "properties": {"text": {"type": "string", "title": "Text", "description": "Its text.",
                                "pii": True},
                       "n": {"type": "integer", "title": "N", "description": "A number."}}}


class Collector(Sink):
    """Keeps the events it is given (a test double for the framework's mechanics)."""

    type = "collector"

    def __init__(self, context: SinkContext, options: Any = None) -> None:
        super().__init__(context)
        self.got: list[SinkEvent] = []

    def write_batch(self, events: Sequence[SinkEvent]) -> None:
        self.got.extend(events)


class Inspector(Collector):
    type = "inspector"
    inspects_before_redaction = True


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _handlers(tmp_path: Path) -> tuple[SinkHandler, SinkHandler, SinkHandler, Lines]:
    def make(kind: type[Sink], name: str, **extra: Any) -> SinkHandler:
        return SinkHandler(kind, name=name, spool_dir=str(tmp_path / name), batch_age=0.005,
                           stats_interval=0, **extra)

    filtered = make(Inspector, "filtered")
    filtered.addFilter(lambda record: True)  # the path where logging decides
    return make(Inspector, "inspector"), make(Collector, "collector"), filtered, Lines()


@pytest.mark.parametrize("secret", ["hunter2", "naïve \u2028 \"quoted\"", "x" * 5000])
def test_only_an_inspecting_sink_gets_the_value_before_redaction(tmp_path: Path,
                                                                 secret: str) -> None:
    inspector, collector, filtered, lines = _handlers(tmp_path)
    log = EventLog(allowed_schemas={SCHEMA: {"inspect_before_redaction": True}},
                   handlers=[inspector, collector, filtered, lines])
    log.register_schema(NOTE)
    try:
        outcome = log.record(SCHEMA, 1, {"text": secret, "n": 1})
        assert log.flush(timeout=30)
    finally:
        log.close()
    for handler in (inspector, collector, filtered):
        handler.close()
    assert outcome.event["text"] is None and secret not in repr(outcome)  # type: ignore[union-attr]
    (seen,) = inspector.sink.got  # type: ignore[attr-defined]
    (seen_filtered,) = filtered.sink.got  # type: ignore[attr-defined]
    for event in (seen, seen_filtered):
        assert event.data["text"] is None  # .json: what the policy records
        assert event.inspected is not None
        assert __import__("orjson").loads(event.inspected)["text"] == secret
        assert event.event_id == outcome.event_id  # type: ignore[union-attr]
    (plain,) = collector.sink.got  # type: ignore[attr-defined]
    assert plain.inspected is None and plain.data["text"] is None
    assert len(lines.lines) == 1 and secret not in lines.lines[0]


def test_without_the_setting_no_sink_gets_a_copy(tmp_path: Path) -> None:
    inspector, collector, filtered, lines = _handlers(tmp_path)
    log = EventLog(allowed_schemas={SCHEMA: {}}, handlers=[inspector, collector, filtered])
    log.register_schema(NOTE)
    try:
        log.record_event(SCHEMA, 1, {"text": "hunter2", "n": 1})
        assert log.flush(timeout=30)
    finally:
        log.close()
    for handler in (inspector, collector, filtered):
        handler.close()
    assert [e.inspected for e in inspector.sink.got] == [None]  # type: ignore[attr-defined]


def test_the_spool_keeps_only_what_is_recorded(tmp_path: Path) -> None:
    # A sink that is down spools its queue: the spool file holds the recorded event only.
    class Down(Inspector):
        type = "down"

        def write_batch(self, events: Sequence[SinkEvent]) -> None:
            from telemetry_core.sinks import TransientSinkError

            raise TransientSinkError("down")

    handler = SinkHandler(Down, name="down", spool_dir=str(tmp_path / "spool"),
                          batch_age=0.005, stats_interval=0, max_attempts=1,
                          retry_initial=0.001, retry_max=0.002)
    log = EventLog(allowed_schemas={SCHEMA: {"inspect_before_redaction": True}},
                   handlers=[handler])
    log.register_schema(NOTE)
    try:
        log.record_event(SCHEMA, 1, {"text": "hunter2", "n": 7})
        assert log.flush(timeout=30)
        assert handler.stats()["spooled"] == 1
    finally:
        log.close()
        handler.close()
    written = b"".join(p.read_bytes() for p in (tmp_path / "spool").rglob("*") if p.is_file())
    assert b'"n":7' in written and b"hunter2" not in written


def test_the_setting_is_true_or_false() -> None:
    with pytest.raises(TraitError, match="inspect_before_redaction.*must be true or false"):
        EventLog(allowed_schemas={SCHEMA: {"inspect_before_redaction": "yes"}})
    assert EventLog(allowed_schemas={SCHEMA: {"inspect_before_redaction": True}}).inspects(
        SCHEMA)
    assert not EventLog(allowed_schemas=[SCHEMA]).inspects(SCHEMA)


def test_a_queue_counts_the_inspected_copy_in_its_byte_bound() -> None:
    from telemetry_core.sinks._queue import EventQueue

    queue = EventQueue(max_events=10, max_bytes=100)
    plain = SinkEvent("e1", SCHEMA, "1", "t", b"{}")
    inspected = SinkEvent("e2", SCHEMA, "1", "t", b"{}", b'{"text":"' + b"x" * 60 + b'"}')
    queue.append(plain)
    queue.append(inspected)
    assert queue.bytes == 3 + 3 + len(inspected.inspected or b"")
    assert not queue.has_room(40)  # the copy takes room like the event does
    queue.popleft()
    queue.popleft()
    assert queue.bytes == 0
