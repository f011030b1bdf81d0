"""The last step: hand a recorded event to its handlers, serialised once.

Sink handlers get a ``SinkEvent`` through ``submit`` (no LogRecord at all). Every other
``logging.Handler`` gets a LogRecord whose message is the event's one-line JSON, so a
plain FileHandler writes one JSON object per line; ``record.sink_event`` rides along.
Levels and filters are honoured as ``logging`` would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import orjson

from ._envelope import serialise
from .sinks import SinkEvent, SinkHandler

LOGGER_NAME = "telemetry_core.eventlog"
_INFO = logging.INFO
# Kept because it pays (measured): a LogRecord made by __new__ from a filled-in template
# costs under half of LogRecord() (which inspects the stack and splits paths), and every
# handler that is not a plain file/stream one needs a record per event (bench_core's
# "discarding handler" row). _startTime: logging's own start, so relativeCreated agrees.
_new_record = logging.LogRecord.__new__
_dumps = orjson.dumps
_time = time.time
_current_thread = threading.current_thread
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


class EventRecord(logging.LogRecord):
    """A LogRecord for one event; ``sink_event`` is built only if someone asks for it
    (a SinkHandler with filters does; a FileHandler never does)."""

    def __getattr__(self, name: str) -> Any:
        if name == "sink_event":
            fields = self.__dict__["_sink_fields"]
            event = SinkEvent(*fields)
            self.__dict__["sink_event"] = event
            return event
        raise AttributeError(name)


def make_record(message: str, fields: tuple[Any, ...] | SinkEvent) -> logging.LogRecord:
    """A LogRecord equivalent to ``logger.info(message)``, built without the slow parts.

    ``fields`` are SinkEvent's arguments, or a SinkEvent already built (kept as is).
    """
    record = _new_record(EventRecord)
    now = _time()
    thread = _current_thread()
    attrs = record.__dict__
    attrs.update(_template)
    attrs["msg"] = message
    attrs["created"] = now
    attrs["msecs"] = (now - int(now)) * 1000
    attrs["relativeCreated"] = (now - _start) * 1000
    attrs["thread"] = thread.ident
    attrs["threadName"] = thread.name
    attrs["sink_event" if type(fields) is SinkEvent else "_sink_fields"] = fields
    return record


# Exactly these classes (not subclasses, which may override emit): with no formatter
# and no filters, what their emit writes is the message and the terminator, so the
# dispatcher writes that itself and skips building a LogRecord.
_PLAIN_STREAM_TYPES = (logging.StreamHandler, logging.FileHandler)
_UTF8 = frozenset({"utf-8", "UTF-8", "utf8", "UTF8"})
_NATIVE_NEWLINE = os.linesep == "\n"  # text files write "\n" untranslated


class Dispatcher:
    """The handlers of one EventLog, split by how they are fed."""

    __slots__ = ("sinks", "streams", "loggers", "active", "only_sinks", "inspecting")

    def __init__(self, handlers: list[logging.Handler]) -> None:
        seen: set[int] = set()
        unique = [h for h in handlers if not (id(h) in seen or seen.add(id(h)))]  # type: ignore[func-returns-value]
        self.sinks = tuple(h for h in unique if isinstance(h, SinkHandler))
        self.streams: tuple[logging.StreamHandler[Any], ...] = tuple(
            h for h in unique if isinstance(h, logging.StreamHandler)
            and type(h) in _PLAIN_STREAM_TYPES)
        self.loggers = tuple(h for h in unique
                             if not isinstance(h, SinkHandler) and h not in self.streams)
        self.active = bool(self.sinks or self.streams or self.loggers)
        # The common configuration: sinks only, so no LogRecord can be needed after them.
        self.only_sinks = not (self.streams or self.loggers)
        # The sinks handed events before redaction (the detect sink), by identity.
        self.inspecting = frozenset(
            id(h) for h in self.sinks if getattr(h.sink, "inspects_before_redaction", False))

    @property
    def handlers(self) -> tuple[logging.Handler, ...]:
        """Every handler, whatever its path."""
        return (*self.sinks, *self.streams, *self.loggers)

    def deliver(self, event: dict[str, Any], schema_id: str, version: str,
                timestamp: str, event_id: str, raw: bytes | None = None,
                inspected: bytes | None = None) -> None:
        """Serialise ``event`` once (unless ``raw``, its JSON, is given) and hand it to
        every handler; ``inspected`` (the event before redaction) only to the sinks
        that inspect events before redaction, never to any other handler.

        Nothing handed on refers to ``event`` itself (handlers get its bytes), so the
        caller may give ``event`` away afterwards.
        """
        if raw is None:
            try:
                raw = _dumps(event)
            except TypeError:
                raw = serialise(event)
        record: logging.LogRecord | None = None
        if self.sinks:
            # Bytes only: a queued event then costs what queue_max_bytes counts, and the
            # sinks' ``.data`` parses them back, on their worker, if ever needed.
            fields: tuple[Any, ...] | SinkEvent = SinkEvent(
                event_id, schema_id, version, timestamp, raw)
            for h in self.sinks:
                if inspected is not None and id(h) in self.inspecting:
                    self._deliver_inspected(h, SinkEvent(
                        event_id, schema_id, version, timestamp, raw, inspected))
                elif h.filters or h.level > _INFO:  # let logging decide, as it would
                    if _INFO >= h.level:
                        record = record or make_record(raw.decode(), fields)
                        h.handle(record)  # SinkHandler.emit never raises
                else:
                    h.submit(fields)  # type: ignore[arg-type]
            if self.only_sinks:
                return
        else:
            fields = (event_id, schema_id, version, timestamp, raw)
        text = None
        for stream in self.streams:
            if _INFO < stream.level:
                continue
            out = stream.stream
            if stream.formatter is None and not stream.filters and out is not None:
                if type(stream) is logging.FileHandler and _NATIVE_NEWLINE \
                        and stream.terminator == "\n" and out.encoding in _UTF8:
                    # Its own file, always flushed: the UTF-8 bytes orjson made are what
                    # the text layer would write, so skip decoding and encoding again.
                    lock = stream.lock  # acquire/release: cheaper than ``with`` per event
                    lock.acquire()  # type: ignore[union-attr]
                    try:
                        buffer = out.buffer
                        buffer.write(raw + b"\n")
                        buffer.flush()
                    except Exception:
                        stream.handleError(record or make_record(raw.decode(), fields))
                    finally:
                        lock.release()  # type: ignore[union-attr]
                    continue
                text = text or raw.decode()
                with stream.lock:  # type: ignore[union-attr]
                    try:  # what StreamHandler.emit (then flush) does with this message
                        out.write(text + stream.terminator)
                        if hasattr(out, "flush"):
                            out.flush()
                    except Exception:
                        stream.handleError(record or make_record(text, fields))
            else:  # a formatter, filters, or a delayed FileHandler: the logging way
                record = record or make_record(raw.decode(), fields)
                try:
                    stream.handle(record)
                except Exception:
                    stream.handleError(record)
        if self.loggers:
            record = record or make_record(raw.decode(), fields)
            for handler in self.loggers:
                if _INFO >= handler.level:
                    try:
                        handler.handle(record)
                    except Exception:  # a broken handler must not break the application
                        handler.handleError(record)

    @staticmethod
    def _deliver_inspected(handler: SinkHandler, event: SinkEvent) -> None:
        """One event with its inspected copy, to a sink that inspects: its own record
        when logging must decide (no other handler ever sees that record)."""
        if handler.filters or handler.level > _INFO:
            if _INFO >= handler.level:
                handler.handle(make_record(event.json.decode(), event))
        else:
            handler.submit(event)
