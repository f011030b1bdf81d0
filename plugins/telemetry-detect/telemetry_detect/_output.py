"""Hunt results as a table (people) or JSON lines (programs)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import orjson

from ._engine import Match
from ._logsource import service_name

_COLUMNS = ("time", "level", "rule", "schema", "event_id", "user")


def _printable(text: str) -> str:
    # Stored values reach a terminal: no escape sequences, no line breaks.
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _row(match: Match) -> dict[str, str]:
    row = {"time": match.timestamp, "level": match.rule.level, "rule": match.rule.title,
           "schema": service_name(match.schema), "event_id": match.event_id,
           "user": match.user or ""}
    return {k: _printable(v) for k, v in row.items()}


def print_matches(matches: Sequence[Match], fmt: str, out: TextIO | None = None) -> None:
    """Write ``matches``: ``table`` (aligned columns) or ``json`` (one object a line)."""
    out = out or sys.stdout
    if fmt == "json":
        for match in matches:
            record = {**_row(match), "rule_id": match.rule.id, "tags": list(match.rule.tags)}
            out.write(orjson.dumps(record).decode() + "\n")
        return
    rows = [_row(m) for m in matches]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in _COLUMNS}
    out.write("  ".join(c.upper().ljust(widths[c]) for c in _COLUMNS).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(row[c].ljust(widths[c]) for c in _COLUMNS).rstrip() + "\n")
