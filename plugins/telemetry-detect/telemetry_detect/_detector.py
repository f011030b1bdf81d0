"""``Detector``: rule files compiled against an EventLog's schemas, ready to match."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._compile import CompiledRule, compile_rules, load_rules, shipped_pack
from ._engine import Match, Matcher
from ._fields import FieldCatalogue


class Detector:
    """Sigma rules from files, compiled to DuckDB SQL over the registered schemas.

    ``Detector(paths, eventlog=None)``: ``paths`` are rule files or directories (the
    shipped pack: ``Detector.shipped()``); the schemas are those ``eventlog`` registered,
    or the shipped ones. Raises ``RuleError`` for a rule that cannot be loaded or run.
    """

    def __init__(self, paths: Iterable[str | Path], eventlog: Any = None) -> None:
        if eventlog is None:
            from telemetry_core import EventLog

            eventlog = EventLog()
        self.catalogue = FieldCatalogue.from_eventlog(eventlog)
        self.paths = [Path(p) for p in paths]
        self.rules: list[CompiledRule] = compile_rules(load_rules(self.paths),
                                                       self.catalogue.schemas)
        self._matcher = Matcher(self.rules, self.catalogue)

    @classmethod
    def shipped(cls, eventlog: Any = None) -> Detector:
        """The rule pack this distribution ships."""
        return cls([shipped_pack()], eventlog)

    def match_json(self, events: Sequence[bytes | str]) -> list[Match]:
        """Matches among events given as JSON objects."""
        return self._matcher.match_json(events)

    def match_files(self, files: Sequence[str], since: str | None = None) -> list[Match]:
        """Matches among JSON-lines files (plain or gzip) of events since ``since``."""
        return self._matcher.match_files(files, since)

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._matcher.close()
