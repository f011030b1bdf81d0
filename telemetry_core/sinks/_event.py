"""The unit of work a sink receives: one recorded event, serialised once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


# Not frozen=True: a frozen dataclass sets each field through object.__setattr__, which
# made building one cost three times as much, once per recorded event. Hashing and
# equality stay as they were; treat instances as immutable all the same.
@dataclass(slots=True, unsafe_hash=True)
class SinkEvent:
    """One recorded event as a sink sees it. Treat it as immutable.

    ``json`` is the event serialised once by the core (one JSON object, no trailing
    newline); sinks write these bytes as they are rather than serialising again.
    ``data`` parses them lazily, for sinks that need fields (index names, partitions).
    """

    event_id: str
    schema_id: str
    version: str
    timestamp: str
    json: bytes
    _data: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def data(self) -> dict[str, Any]:
        """The event as a dict (envelope included). Do not modify it."""
        if self._data is None:
            self._data = orjson.loads(self.json)
        assert self._data is not None
        return self._data

    @classmethod
    def from_json(cls, raw: bytes) -> SinkEvent:
        """Rebuild an event from its serialised form (spool replay, dead-letter reads)."""
        data = orjson.loads(raw)
        return cls(
            event_id=str(data.get("__event_id__", "")),
            schema_id=str(data.get("__schema__", "")),
            version=str(data.get("__schema_version__", "")),
            timestamp=str(data.get("__timestamp__", "")),
            json=raw,
            _data=data,
        )
