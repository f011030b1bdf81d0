"""The unit of work a sink receives: one recorded event, serialised once."""

from __future__ import annotations

from typing import Any

import orjson


class _SinkEventFields:
    """A SinkEvent's fields; ``_speedups.SinkEventBase`` is its C twin (which the cycle
    collector does not track, see there)."""

    __slots__ = ("event_id", "schema_id", "version", "timestamp", "line", "_data")

    def __init__(self, event_id: str, schema_id: str, version: str, timestamp: str,
                 json: bytes, _data: dict[str, Any] | None = None) -> None:
        self.event_id = event_id
        self.schema_id = schema_id
        self.version = version
        self.timestamp = timestamp
        # A fresh copy of exactly the right size, not the caller's object: orjson returns
        # its bytes in an over-sized allocation (about 1 KiB, shrunk in place). A queue
        # holding thousands of those grows the heap by that much per event, and growing
        # the heap (brk and first-touch page faults) cost the recording thread ~2 us an
        # event here whenever a sink fell behind. The copy costs ~0.05 us.
        self.line = json + b"\n"
        self._data = _data


_Fields = _SinkEventFields


class SinkEvent(_Fields):
    """One recorded event as a sink sees it. Treat it as immutable.

    ``SinkEvent(event_id, schema_id, version, timestamp, json, _data=None)``. ``line``
    is the event serialised once by the core, plus a newline: the bytes that
    line-oriented sinks (files, S3 objects, bulk bodies) write as they are. ``json`` is
    the same without the newline. ``data`` parses them lazily, for sinks that need
    fields (index names, partitions). ``event_id``, ``schema_id``, ``version`` and
    ``timestamp`` are strings.
    """

    __slots__ = ()  # the fields are the base's

    @property
    def json(self) -> bytes:
        """The event as one JSON object, without the newline (a copy of ``line``'s)."""
        return self.line[:-1]

    @property
    def data(self) -> dict[str, Any]:
        """The event as a dict (envelope included). Do not modify it."""
        if self._data is None:
            self._data = orjson.loads(self.line)
        return self._data

    @classmethod
    def from_json(cls, raw: bytes) -> SinkEvent:
        """Rebuild an event from its serialised form (spool replay, dead-letter reads)."""
        data = orjson.loads(raw)
        return cls(str(data.get("__event_id__", "")), str(data.get("__schema__", "")),
                   str(data.get("__schema_version__", "")),
                   str(data.get("__timestamp__", "")), raw, data)

    def __reduce__(self) -> tuple[Any, ...]:
        return SinkEvent, (self.event_id, self.schema_id, self.version, self.timestamp,
                           self.json)

    def _key(self) -> tuple[str, str, str, str, bytes]:
        return self.event_id, self.schema_id, self.version, self.timestamp, self.line

    def __eq__(self, other: object) -> bool:
        if type(other) is not SinkEvent:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"SinkEvent(event_id={self.event_id!r}, schema_id={self.schema_id!r}, "
                f"version={self.version!r}, timestamp={self.timestamp!r}, json={self.json!r})")
