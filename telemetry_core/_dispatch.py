"""The last step: hand a recorded event to its handlers, serialised once.

Sink handlers get a ``SinkEvent`` through ``submit`` (no LogRecord at all). Every other
``logging.Handler`` gets a LogRecord whose message is the event's one-line JSON, so a
plain FileHandler writes one JSON object per line; ``record.sink_event`` rides along.
Levels and filters are honoured as ``logging`` would.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import orjson

from .sinks import SinkEvent, SinkHandler

LOGGER_NAME = "telemetry_core.eventlog"
_INFO = logging.INFO
_new_record = logging.LogRecord.__new__
_start = getattr(logging, "_startTime", time.time())


def _record_template() -> dict[str, Any]:
    # Everything a LogRecord carries that handlers and formatters may read, filled
    # once: LogRecord.__init__ (stack inspection, path splitting) costs microseconds.
    return {
        "name": LOGGER_NAME, "args": (), "levelname": "INFO", "levelno": _INFO,
        "pathname": __file__, "filename": os.path.basename(__file__),
        "module": "_dispatch", "exc_info": None, "exc_text": None, "stack_info": None,
        "lineno": 0, "funcName": "record_event", "processName": "MainProcess",
        "process": os.getpid(), "taskName": None,
    }


_template = _record_template()
os.register_at_fork(after_in_child=lambda: _template.update(process=os.getpid()))


def make_record(message: str, sink_event: SinkEvent) -> logging.LogRecord:
    """A LogRecord equivalent to ``logger.info(message)``, built without the slow parts."""
    record = _new_record(logging.LogRecord)
    now = time.time()
    thread = threading.current_thread()
    record.__dict__.update(_template)
    record.msg = message
    record.created = now
    record.msecs = (now - int(now)) * 1000
    record.relativeCreated = (now - _start) * 1000
    record.thread = thread.ident
    record.threadName = thread.name
    record.sink_event = sink_event  # type: ignore[attr-defined]
    return record


def serialise(event: dict[str, Any]) -> bytes:
    """One line of JSON; falls back to ``json`` for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(event)
    except TypeError:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()


class Dispatcher:
    """The handlers of one EventLog, split by how they are fed."""

    __slots__ = ("sinks", "loggers")

    def __init__(self, handlers: list[logging.Handler]) -> None:
        seen: set[int] = set()
        unique = [h for h in handlers if not (id(h) in seen or seen.add(id(h)))]  # type: ignore[func-returns-value]
        self.sinks = tuple(h for h in unique if isinstance(h, SinkHandler))
        self.loggers = tuple(h for h in unique if not isinstance(h, SinkHandler))

    def __bool__(self) -> bool:
        return bool(self.sinks or self.loggers)

    def deliver(self, event: dict[str, Any], schema_id: str, version: str,
                timestamp: str, event_id: str) -> None:
        """Serialise ``event`` once and hand it to every handler."""
        raw = serialise(event)
        sink_event = SinkEvent(event_id, schema_id, version, timestamp, raw, _data=event)
        record: logging.LogRecord | None = None
        for h in self.sinks:
            if h.filters or h.level > _INFO:  # let logging decide, as it would
                if _INFO >= h.level:
                    record = record or make_record(raw.decode(), sink_event)
                    h.handle(record)  # SinkHandler.emit never raises
            else:
                h.submit(sink_event)
        if self.loggers:
            record = record or make_record(raw.decode(), sink_event)
            for handler in self.loggers:
                if _INFO >= handler.level:
                    try:
                        handler.handle(record)
                    except Exception:  # a broken handler must not break the application
                        handler.handleError(record)
