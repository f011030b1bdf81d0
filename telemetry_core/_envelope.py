"""Step 5: the envelope every recorded event carries.

``__timestamp__`` (RFC 3339, UTC, one ``Z``), ``__schema__``, ``__schema_version__``,
``__metadata_version__`` and ``__event_id__``: a UUIDv7-style id, time-ordered and
unique across processes, made without a syscall per event.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import time

METADATA_VERSION = 1
ENVELOPE_FIELDS = (
    "__timestamp__", "__schema__", "__schema_version__", "__metadata_version__", "__event_id__",
)


class Clock:
    """Timestamps and event ids from one ``time.time_ns()`` reading per event.

    Event ids follow the UUIDv7 layout (RFC 9562): 48 bits of Unix milliseconds,
    version 7, this process's random node bits (with the variant), then a 48-bit
    counter. They sort by millisecond and, within one process, by the counter; only
    the counter is formatted per event, the rest once a millisecond.
    """

    def __init__(self) -> None:
        # (whole second, "YYYY-MM-DDTHH:MM:SS"): formatting a date is the slow part, and
        # it changes once a second. One tuple, so threads never pair a stale prefix.
        self._second: tuple[int, str] = (-1, "")
        self._reseed()
        # A forked child must not repeat its parent's ids.
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        # Random per process: 26 bits of node in every id, and where its counter starts
        # (top bit set, so the counter always formats as exactly 12 hex digits).
        node = int.from_bytes(os.urandom(4), "big") & 0x3FFFFFF
        self._node_hex = f"7{node >> 14:03x}-{0x8000 | (node & 0x3FFF):04x}-"
        start = (1 << 47) | (int.from_bytes(os.urandom(6), "big") >> 3)
        self._next = itertools.count(start).__next__
        self._ms: tuple[int, str] = (-1, "")

    def now(self) -> tuple[str, str]:
        """``(timestamp, event_id)`` for an event recorded now."""
        # Written for speed (it runs once per event): string concatenation and slicing
        # are cheaper here than format specs.
        us = time.time_ns() // 1000
        sec = us // 1_000_000
        cached = self._second
        if cached[0] != sec:
            cached = (sec, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec)))
            self._second = cached
        ms = us // 1000
        prefix = self._ms
        if prefix[0] != ms:
            prefix = self._ms_prefix(ms)
        return cached[1] + str(us)[-6:] + "Z", prefix[1] + hex(self._next())[2:]

    def _ms_prefix(self, ms: int) -> tuple[int, str]:
        cached = self._ms
        if ms > cached[0]:
            cached = (ms, f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-{self._node_hex}")
            self._ms = cached
        # else the wall clock stepped back: keep the newer prefix, so ids stay ordered
        return cached

    def event_id(self) -> str:
        """A fresh event id (for events whose timestamp is overridden)."""
        return self.now()[1]


def format_timestamp(when: _dt.datetime) -> str:
    """RFC 3339 in UTC with exactly one designator; a naive datetime is taken as UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
