"""SinkHandler: the thin ``logging.Handler`` adapter around any sink.

It checks the options (``_options.py``), builds the sink and its ``Delivery``, and
forwards: ``emit``/``submit`` enqueue, ``flush`` and ``close`` drain. Everything
else lives in the sink (writing) or the delivery (queue, retry, spool).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ._contract import Sink, SinkContext
from ._delivery import Delivery
from ._event import SinkEvent
from ._naming import clean
from ._options import build_options, check_options
from ._stats import default_spool_root


class SinkHandler(logging.Handler):
    """A ``logging.Handler`` that delivers events to ``sink`` through background threads.

    ``SinkHandler(FileSink, path="events/", batch_size=100)``: the sink class and its
    options plus any framework option (``telemetry sinks`` lists both). Options are
    checked here: a wrong one raises ``SinkConfigError`` naming it. ``submit`` and
    ``emit`` never raise and never block longer than ``emit_timeout``; failures show in
    the log and in :meth:`stats`.
    """

    def __init__(self, sink: type[Sink], /, level: int = logging.NOTSET,
                 **options: Any) -> None:
        where = f"{sink.type or sink.__name__} sink"
        framework, own, extra = check_options(where, options, sink.declared_options(),
                                              accepts_extra=sink.accepts_extra)
        counters: dict[str, int] = {}
        context = SinkContext(sink.type or sink.__name__, counters, framework["file_mode"])
        #: The sink this handler delivers to (its options are its attributes).
        self.sink = (sink(context, **own, **extra) if sink.options  # the older contract
                     else sink(context, build_options(sink.Options, own, extra)))
        context.name = framework["name"] or self.sink.default_name()
        spool_dir = Path(framework["spool_dir"]) if framework["spool_dir"] else (
            default_spool_root() / clean(f"{context.sink_type}-{context.name}"))
        self.delivery = Delivery(self.sink, context, framework, spool_dir)
        #: Enqueue one event (the core calls this; never raises): the delivery's own
        #: method, so the hot path makes no extra call.
        self.submit: Callable[[SinkEvent], None] = self.delivery.submit
        # Last: logging keeps every handler it has seen and flushes and closes each at
        # exit, so a handler whose sink could not be built must never reach it.
        super().__init__(level)

    @property
    def label(self) -> str:
        """``type/name``, as the log and the stats file show this sink."""
        return self.delivery.label

    @property
    def sink_name(self) -> str:
        """The sink's ``name`` option, or the one derived from its destination."""
        return self.delivery.context.name

    @property
    def spool_dir(self) -> os.PathLike[str]:
        """The directory this sink spools to (one ``slot-N`` per process)."""
        return self.delivery.spool_dir

    @property
    def dead_letter_path(self) -> Path:
        """The file events this sink rejected for good are written to
        (:func:`telemetry_core.sinks.read_dead_letters` reads it)."""
        return self.delivery.dead_letter_path

    def start(self) -> None:
        """Open the sink and start delivering; raises ``SinkConfigError`` when ``open`` does."""
        self.delivery.start()

    def emit(self, record: logging.LogRecord) -> None:
        """Standard-logging entry point: the core attaches ``record.sink_event``.

        Without one, a dict message is serialised as the event, else the formatted
        message must be a JSON object.
        """
        try:
            event = getattr(record, "sink_event", None)
            if event is None:
                raw = (orjson.dumps(record.msg) if isinstance(record.msg, dict)
                       else self.format(record).encode())
                event = SinkEvent.from_json(raw)
            self.delivery.submit(event)
        except Exception:
            self.handleError(record)

    def flush(self, timeout: float | None = 30.0) -> bool:  # type: ignore[override]
        """Wait until everything accepted so far is delivered or spooled; True if so."""
        return self.delivery.flush(timeout)

    def close(self) -> None:
        """Drain (up to ``close_timeout``), stop and close the sink (idempotent)."""
        self.delivery.close()
        super().close()

    def stats(self) -> dict[str, int]:
        """Counters (the framework's and the sink's), queue depth and bytes, spool bytes."""
        return self.delivery.stats()

    @property
    def counters(self) -> dict[str, int]:
        """The live counters (read-only use; ``stats()`` for a consistent snapshot)."""
        return self.delivery.counters

    def __repr__(self) -> str:
        return f"<SinkHandler {self.label!r} {self.stats()}>"
