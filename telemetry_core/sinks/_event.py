"""The unit of work a sink receives: one recorded event, serialised once."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson


class SinkEvent(msgspec.Struct, frozen=True, gc=False):
    """One recorded event as a sink sees it: immutable, hashable, picklable.

    ``SinkEvent(event_id, schema_id, version, timestamp, json)``, all strings but
    ``json``: the event serialised once by the core, one JSON object without a newline.
    ``inspected`` is None, except for a sink with ``inspects_before_redaction`` and a
    schema with ``inspect_before_redaction``: the event as validated, before redaction
    (docs/detection.md). It is never spooled, dead-lettered or shown by ``repr``.
    ``line`` is the same plus a newline, what line-oriented sinks write; ``data``
    parses ``json`` on each access, for sinks that need a field.

    A msgspec Struct: built and freed in C, and ``gc=False`` because it only ever holds
    strings and bytes, so the cycle collector never has to walk a queue of them.
    """

    event_id: str
    schema_id: str
    version: str
    timestamp: str
    json: bytes
    inspected: bytes | None = None

    def __repr__(self) -> str:  # the fields, but never an inspected value
        seen = "" if self.inspected is None else ", inspected=<not shown>"
        return (f"SinkEvent(event_id={self.event_id!r}, schema_id={self.schema_id!r}, "
                f"version={self.version!r}, timestamp={self.timestamp!r}, "
                f"json={self.json!r}{seen})")

    @property
    def size(self) -> int:
        """Bytes it costs a queue: its line, and what an inspecting sink holds besides."""
        return len(self.json) + 1 + (0 if self.inspected is None else len(self.inspected))

    @property
    def line(self) -> bytes:
        """``json`` plus a newline."""
        return self.json + b"\n"

    @property
    def data(self) -> dict[str, Any]:
        """The event as a new dict (envelope included), parsed from ``json``."""
        return orjson.loads(self.json)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, raw: bytes) -> SinkEvent:
        """Rebuild an event from its JSON (plain logging records, dead-letter reads).

        Raises ``ValueError`` unless ``raw`` is one JSON object.
        """
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"an event is a JSON object, got {type(data).__name__}")
        return cls(str(data.get("__event_id__", "")), str(data.get("__schema__", "")),
                   str(data.get("__schema_version__", "")),
                   str(data.get("__timestamp__", "")), orjson.dumps(data))
