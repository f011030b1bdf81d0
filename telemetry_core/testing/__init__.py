"""Helpers for testing code that records events.

``capture_events()`` collects what an ``EventLog`` records (or every EventLog in the
process) while a ``with`` block runs::

    from telemetry_core.testing import capture_events

    with capture_events(eventlog) as events:
        app.do_something()
    assert events[0]["__schema__"] == "https://example.org/my-event"

``CaptureHandler`` is the in-memory handler behind it, usable as any ``logging.Handler``.
``MemorySink`` is a sink that keeps its batches in memory, for testing code that
configures sinks: ``SinkHandler(MemorySink, spool=False)``, or ``{"type": "memory"}``
after ``telemetry_core.register_plugin(telemetry_core.testing.memory_plugin)``.
Real servers for sink tests live in ``telemetry_core.testing.servers``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from .._eventlog import EventLog
from .._hookspecs import hookimpl
from ..sinks import Sink, SinkContext, SinkEvent, option

__all__ = ["NAMING_TEMPLATE", "CaptureHandler", "MemorySink", "capture_events",
           "memory_plugin", "naming_cases", "wait_for"]


class MemorySink(Sink):
    """A sink that keeps every event it is handed, in ``events``, oldest first.

    ``tag`` is a free label (to tell two apart); ``closed`` turns true when the
    framework closes it.
    """

    @dataclass(frozen=True)
    class Options:
        """The memory sink's one option."""

        tag: str = option("", "a free label")

    type = "memory"

    def __init__(self, context: SinkContext, options: Options | None = None) -> None:
        super().__init__(context)
        self.tag = (options or self.Options()).tag
        self.events: list[SinkEvent] = []
        self.closed = False

    def write_batch(self, events: Sequence[SinkEvent]) -> None:
        """Keep ``events``."""
        self.events.extend(events)

    def close(self) -> None:
        """Remember that the framework closed this sink."""
        self.closed = True


class memory_plugin:  # noqa: N801 - used like a module: register_plugin(memory_plugin)
    """A plugin providing ``{"type": "memory"}`` (:class:`MemorySink`)."""

    @staticmethod
    @hookimpl
    def telemetry_sink_types() -> dict[str, type[Sink]]:
        """The ``memory`` sink type."""
        return {"memory": MemorySink}


class CaptureHandler(logging.Handler):
    """A handler that keeps every recorded event in memory, as dicts, in order.

    ``max_events`` bounds memory: older events are dropped first and ``dropped``
    counts them.
    """

    def __init__(self, max_events: int = 100_000, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.max_events = max_events
        self.events: list[dict[str, Any]] = []
        self.dropped = 0
        self._lock_events = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the event this record carries (parsed from its JSON message)."""
        try:
            sink_event = getattr(record, "sink_event", None)
            raw = sink_event.json if sink_event is not None else record.getMessage()
            event = orjson.loads(raw)  # a fresh copy: later changes elsewhere do not leak in
        except Exception:
            self.handleError(record)
            return
        with self._lock_events:
            self.events.append(event)
            if len(self.events) > self.max_events:
                del self.events[0]
                self.dropped += 1

    def of_schema(self, schema_id: str) -> list[dict[str, Any]]:
        """The captured events of one schema id."""
        return [e for e in self.events if e.get("__schema__") == schema_id]

    def clear(self) -> None:
        """Forget everything captured so far."""
        with self._lock_events:
            self.events.clear()


@contextmanager
def capture_events(eventlog: EventLog | None = None,
                   max_events: int = 100_000) -> Iterator[list[dict[str, Any]]]:
    """Collect the events recorded inside the ``with`` block, as a list of dicts.

    With ``eventlog``, only that EventLog's events; without, those of every EventLog
    in the process, including ones created inside the block.
    """
    handler = CaptureHandler(max_events=max_events)
    if eventlog is not None:
        eventlog.register_handler(handler)
    else:
        EventLog.add_process_handler(handler)
    try:
        yield handler.events
    finally:
        if eventlog is not None:
            eventlog.remove_handler(handler)
        else:
            EventLog.remove_process_handler(handler)


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``predicate`` until it is true; raise ``AssertionError`` naming ``what`` after
    ``timeout`` seconds.

    For tests of sinks, whose workers deliver in the background: the timeout only turns
    a hang into a clear failure, it is not a speed assertion.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.005)


#: A name template every sink accepts (file paths, topics, keys, indices): with
#: :func:`naming_cases`, one table that each sink's own test renders through the
#: sink's real naming path, so ``{schema}``, ``{date}`` and ``{hour}`` agree everywhere.
NAMING_TEMPLATE = "t-{schema}-{date}-{hour}"

_LAB = "https://telemetry.jupyter.org/schemas/events/jupyterlab/notebook/opened"
_CONTENTS = "https://telemetry.jupyter.org/schemas/events/contents/opened"
_NAMING = (  # schema, __timestamp__, what NAMING_TEMPLATE gives (UTC, whatever the offset)
    (_CONTENTS, "2026-01-01T23:30:00-05:00", "contents_opened-2026-01-02-04"),
    (_LAB, "2026-01-02T04:30:00Z", "jupyterlab_notebook_opened-2026-01-02-04"),
    (_CONTENTS, "2026-01-02T05:59:59.500000+01:30", "contents_opened-2026-01-02-04"),
    (_LAB, "2026-01-02T04:00:00", "jupyterlab_notebook_opened-2026-01-02-04"),  # no offset
    (_CONTENTS, "2026-01-02T10:15:00+09:00", "contents_opened-2026-01-02-01"),
    (_LAB, "2025-12-31T20:00:00-08:00", "jupyterlab_notebook_opened-2026-01-01-04"),
)


def naming_cases() -> list[tuple[SinkEvent, str]]:
    """Events (two schemas whose ids end alike, timestamps with offsets) and the name
    :data:`NAMING_TEMPLATE` must render for each, in every sink."""
    return [(SinkEvent.from_json(orjson.dumps({
                "__event_id__": f"naming-{n}", "__schema__": schema,
                "__schema_version__": "1", "__timestamp__": stamp, "n": n})),
             f"t-telemetry.jupyter.org_schemas_events_{name}")
            for n, (schema, stamp, name) in enumerate(_NAMING)]
