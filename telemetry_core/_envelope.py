"""Step 5: the envelope every recorded event carries.

``__timestamp__`` (RFC 3339, UTC, one ``Z``), ``__schema__``, ``__schema_version__``,
``__metadata_version__`` and ``__event_id__``: a UUIDv7-style id, time-ordered and
unique across processes, made without a syscall per event.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
import time
from typing import Any

import orjson

METADATA_VERSION = 1
_time_ns = time.time_ns
# The last three digits of a timestamp and its designator, by microsecond: "000Z".."999Z".
_MICROS = tuple(f"{i:03d}Z" for i in range(1000))
_MILLIS = tuple(f"{i:03d}" for i in range(1000))
_HEX3 = tuple(f"{i:03x}" for i in range(4096))  # a counter's last three hex digits
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

    def __init__(self, node: int, start: int) -> None:
        self.reseed(node, start)

    def reseed(self, node: int, start: int) -> None:
        """New node bits and counter start (see ``random_seed``)."""
        self._node_hex = f"7{node >> 14:03x}-{0x8000 | (node & 0x3FFF):04x}-"
        self._next = itertools.count(start).__next__
        # (millisecond, "YYYY-MM-DDTHH:MM:SS.mmm", "<id up to its last 3 hex digits>",
        # counter >> 12): formatting dates and all but the counter's last three hex
        # digits is the slow part, and changes once a millisecond or once in 4096 ids.
        # One tuple, so threads never pair parts of different milliseconds.
        self._ms: tuple[int, str, str, int] = (-1, "", "", -1)
        self._id_time = ""  # the id's millisecond part; kept while the clock is behind

    def now(self, time_ns: int | None = None) -> tuple[str, str]:
        """``(timestamp, event_id)`` for an event recorded now (or at ``time_ns``, a
        ``time.time_ns()`` reading)."""
        micros = (_time_ns() if time_ns is None else time_ns) // 1000
        ms = micros // 1000
        n = self._next()
        cached = self._ms
        if cached[0] != ms or cached[3] != n >> 12:
            cached = self._refresh(ms, n)
        return cached[1] + _MICROS[micros % 1000], cached[2] + _HEX3[n & 0xFFF]

    now_at = now  # ``now()`` at a given reading, by name (tests step the clock back)

    def _refresh(self, ms: int, n: int) -> tuple[int, str, str, int]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ms // 1000)) + _MILLIS[ms % 1000]
        if ms < self._ms[0]:  # the wall clock stepped back: keep ids ordered
            return (ms, stamp, f"{self._id_time}{n >> 12:09x}", n >> 12)
        self._id_time = f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-{self._node_hex}"
        cached = (ms, stamp, f"{self._id_time}{n >> 12:09x}", n >> 12)
        self._ms = cached
        return cached

    def event_id(self) -> str:
        """A fresh event id (for events whose timestamp is overridden)."""
        return self.now()[1]


_HEAD = '{"__timestamp__":"'


class Envelope:
    """One schema's envelope: a dict that record_event copies per event, and the same as
    JSON text around an event's own bytes, so that an event nothing changed after the
    JSON check is serialised once."""

    __slots__ = ("fields", "_middle")

    def __init__(self, schema_id: str, version: Any) -> None:
        self.fields: dict[str, Any] = {
            "__timestamp__": "", "__schema__": schema_id, "__schema_version__": version,
            "__metadata_version__": METADATA_VERSION, "__event_id__": "",
        }
        # '{"__timestamp__":"' <middle> '"}' with both per-event fields empty; orjson
        # writes the fixed ones, so they are escaped exactly as it escapes them.
        self._middle = orjson.dumps(self.fields).decode()[len(_HEAD):-2]

    def json(self, timestamp: str, event_id: str, body: bytes,
             source: dict[str, Any] | None = None) -> bytes:
        """``orjson.dumps(fields | event)`` (with this timestamp and id, and the REST
        server's ``__source__`` after them when given) for the event whose compact JSON
        is ``body``. Timestamps and ids are ASCII digits, letters and punctuation that
        JSON never escapes."""
        head = f"{_HEAD}{timestamp}{self._middle}{event_id}\"".encode()
        if source is not None:
            head += b',"__source__":' + orjson.dumps(source)
        if body == b"{}":
            return head + b"}"
        return head + b"," + body[1:]


def random_seed() -> tuple[int, int]:
    """A clock's seed, random per process: 26 bits of node in every id, and where its
    counter starts (top bit set, so it always formats as exactly 12 hex digits)."""
    node = int.from_bytes(os.urandom(4), "big") & 0x3FFFFFF
    start = (1 << 47) | (int.from_bytes(os.urandom(6), "big") >> 3)
    return node, start


def new_clock() -> Clock:
    """The process's clock. A forked child reseeds it, so it never repeats its
    parent's ids."""
    clock = Clock(*random_seed())
    os.register_at_fork(after_in_child=lambda: clock.reseed(*random_seed()))
    return clock


def format_timestamp(when: _dt.datetime) -> str:
    """RFC 3339 in UTC with exactly one designator; a naive datetime is taken as UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def serialise(event: dict[str, Any]) -> bytes:
    """One line of JSON; falls back to ``json`` for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(event)
    except TypeError:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
