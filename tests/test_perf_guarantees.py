"""Guarantees the hot path's shortcuts must keep (no timings here: speed lives in bench/)."""

from __future__ import annotations

import logging
import logging.handlers
import queue

from conftest import SCHEMA_ID

from telemetry_core import EventLog
from telemetry_core.sinks import SinkHandler
from telemetry_core.testing import MemorySink


def KeepSink() -> SinkHandler:  # noqa: N802 - reads like the class it stands for
    """Keeps what it is given, in ``.sink.events`` (a test double for core mechanics)."""
    return SinkHandler(MemorySink, spool=False)


def test_changing_the_returned_event_changes_nothing_recorded(schema):
    # record_event returns its own dict without copying it: every handler, including
    # one that keeps LogRecords for later, must hold bytes, not that dict.
    sink = KeepSink()
    filtered = KeepSink()
    filtered.addFilter(lambda record: True)  # the logging path, with a LogRecord
    held: queue.Queue[logging.LogRecord] = queue.Queue()
    log = EventLog(handlers=[sink, filtered, logging.handlers.QueueHandler(held)],
                   allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    recorded = log.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert recorded is not None
    before = dict(recorded)
    recorded["name"] = "changed"
    recorded["__event_id__"] = "changed"
    recorded["extra"] = 1
    assert log.flush(timeout=10)
    record = held.get_nowait()
    for event in (sink.sink.events[0], filtered.sink.events[0], record.sink_event):
        assert event.data == before
        assert event.event_id == before["__event_id__"]
    sink.close()
    filtered.close()


def test_sinks_only_dispatch_still_honours_levels_set_later(schema):
    # The sinks-only fast path reads each sink's level and filters per event, so a
    # level set after the EventLog was built still counts.
    sink = KeepSink()
    log = EventLog(handlers=[sink], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    log.record_event(SCHEMA_ID, 1, {"name": "before"})
    sink.setLevel(logging.ERROR)
    log.record_event(SCHEMA_ID, 1, {"name": "after"})
    assert log.flush(timeout=10)
    assert [e.data["name"] for e in sink.sink.events] == ["before"]
    sink.close()
