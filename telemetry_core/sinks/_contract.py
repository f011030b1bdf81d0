"""The contract a sink plugin implements: ``open``, ``write_batch``, ``close``.

A sink is a small class. It declares its options once, as a dataclass of
:func:`option` fields (``Options``), receives them checked as one instance of it, and
talks to one destination. It never queues,
retries, spools or starts threads: the framework does (``_delivery.py``), and the
:class:`~telemetry_core.sinks.SinkHandler` adapter connects both to ``logging``.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from ._errors import WriteResult
from ._event import SinkEvent
from ._options import NoOptions, Option, declared_options

log = logging.getLogger("telemetry_core.sinks")


class SinkContext:
    """What the framework gives a sink: its label, counters and a quiet warning.

    ``count`` adds to the sink's own counters (declared in ``Sink.counters``), which
    ``stats()`` and the stats file show next to the framework's. Every counter, the
    framework's and the sink's, is changed only under ``lock`` (the delivery's lock),
    so a sink may count from any thread.
    """

    def __init__(self, sink_type: str, counters: dict[str, int], file_mode: int) -> None:
        self.sink_type = sink_type
        self.name = "default"  # set by the framework once the sink chose its default
        self.counters = counters
        self.file_mode = file_mode
        self.lock = threading.Lock()  # replaced by the delivery's own, which it shares
        self._warned: dict[str, float] = {}

    @property
    def label(self) -> str:
        """``type/name``, as the log and the stats file show this sink."""
        return f"{self.sink_type}/{self.name}"

    def count(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to one of the sink's counters (from any thread)."""
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + n

    def warn(self, key: str, msg: str, *args: Any) -> None:
        """Log a warning at most every 10 s per ``key``, so a flood does not flood the log."""
        now = time.monotonic()
        if now - self._warned.get(key, -1e9) >= 10.0:
            self._warned[key] = now
            log.warning(msg + " (repeats are not logged for 10 s; see stats())", *args)


class Sink:
    """Base of every sink: override ``write_batch``, and ``open``/``close`` if needed.

    Class attributes: ``type`` (the name configuration uses), ``Options`` (a dataclass
    of :func:`~telemetry_core.sinks.option` fields: what it accepts),
    ``batch_size``/``batch_age`` (its defaults for the framework's batching),
    ``counters`` (names of its own counters). ``__init__(context, options)`` gets one
    ``Options`` instance, every field checked and defaulted; it must not connect.
    """

    type: ClassVar[str] = ""
    Options: ClassVar[builtins.type[Any]] = NoOptions  # `type` is the name, here
    #: Sinks written before ``Options`` listed :class:`Option` values here and took them
    #: as keyword arguments; still accepted, so such a plugin keeps working.
    options: ClassVar[tuple[Option, ...]] = ()
    batch_size: ClassVar[int] = 500
    batch_age: ClassVar[float] = 1.0
    counters: ClassVar[tuple[str, ...]] = ()
    #: True only for a sink that evaluates events and stores nothing of them (the detect
    #: sink): for schemas with ``inspect_before_redaction`` its events carry
    #: ``SinkEvent.inspected``, the event before redaction. Every other sink, the spool
    #: and the dead letters get only what the policy records.
    inspects_before_redaction: ClassVar[bool] = False

    def __init__(self, context: SinkContext, options: Any = None) -> None:
        self.context = context

    @classmethod
    def declared_options(cls) -> tuple[Option, ...]:
        """The options this sink accepts, as ``telemetry sinks`` lists them."""
        return cls.options or declared_options(cls.Options)

    @classmethod
    def accepts_extra(cls, key: str) -> bool:
        """Whether an undeclared option ``key`` is passed on (Kafka: librdkafka settings)."""
        return False

    def default_name(self) -> str:
        """The ``name`` used when configuration gives none: derive it from the destination,
        so that two sinks writing to different places get different spool dirs."""
        return "default"

    def open(self) -> None:
        """Connect and check; raise ``SinkConfigError`` with a clear message if that fails.

        Called once when the sink starts, again in a forked child before its first
        write, and before a retry if it failed when the sink was started lazily.
        """

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Deliver ``events``; return None when all were delivered.

        Raise ``TransientSinkError`` to retry the whole batch, ``PermanentSinkError`` to
        dead-letter it, or return a ``WriteResult`` for per-event outcomes. Any other
        exception counts as transient. Called from one thread at a time.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and files; called once, after the last batch."""
