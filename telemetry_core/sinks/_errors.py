"""How a sink tells the framework what went wrong, and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._event import SinkEvent


class SinkError(Exception):
    """Base class of the errors a sink raises."""


class SinkConfigError(SinkError, ValueError):
    """The sink's configuration is wrong, or its server cannot be reached at start-up.

    The message says which setting, what was expected, and what the server said.
    """


class TransientSinkError(SinkError):
    """The write may succeed later (server down, timeout, throttled): retry, then spool."""


class PermanentSinkError(SinkError):
    """The server rejected the whole batch for good (bad mapping, bad request): dead-letter it."""


@dataclass
class WriteResult:
    """Per-event outcome of a partially successful ``write_batch``.

    Events in neither list count as delivered. ``retry`` events are retried (and
    spooled if the sink stays down); ``rejected`` pairs go to the dead-letter file
    with the reason the server gave.
    """

    retry: Sequence[SinkEvent] = field(default_factory=list)
    rejected: Sequence[tuple[SinkEvent, str]] = field(default_factory=list)
