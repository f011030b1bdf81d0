"""``Detector``: rule files compiled against an EventLog's schemas, ready to match."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._compile import CompiledRule, compile_rules, load_all, shipped_pack
from ._correlate import Correlator, build
from ._engine import Match, Matcher
from ._fields import FieldCatalogue
from ._novelty import NEW_FIELD, AddressNovelty, NoveltyConfig, hunt_rows


class Detector:
    """Sigma rules from files, compiled to DuckDB SQL over the registered schemas.

    ``Detector(paths, eventlog=None)``: ``paths`` are rule files or directories (the
    shipped pack: ``Detector.shipped()``); the schemas are those ``eventlog`` registered,
    or the shipped ones. Correlation rules in ``paths`` are evaluated by ``evaluate``
    over a sliding window. Raises ``RuleError`` for a rule that cannot be loaded or run.
    ``novelty``: where and how to keep the state behind ``remote_address_new``
    (``NoveltyConfig``; default: in memory), opened only when a rule names that field.
    """

    def __init__(self, paths: Iterable[str | Path], eventlog: Any = None,
                 novelty: NoveltyConfig | None = None) -> None:
        if eventlog is None:
            from telemetry_core import EventLog

            eventlog = EventLog()
        self.catalogue = FieldCatalogue.from_eventlog(eventlog)
        self.paths = [Path(p) for p in paths]
        loaded, correlated = load_all(self.paths)
        self.correlations = [build(path, rule) for path, rule in correlated]
        rules = compile_rules(loaded, self.catalogue.schemas, self.catalogue.text_fields())
        self.rules: list[CompiledRule] = [self._for_correlations(r) for r in rules]
        self.correlator = Correlator(self.correlations)
        self._matcher = Matcher(self.rules, self.catalogue)
        self._derives = any(NEW_FIELD in r.fields for r in self.rules)
        #: The state behind ``remote_address_new`` (None when no rule names it).
        self.novelty: AddressNovelty | None = None
        if self._derives:
            self.novelty = (novelty or NoveltyConfig()).open()

    def _for_correlations(self, rule: CompiledRule) -> CompiledRule:
        users = [c for c in self.correlations if id(rule.rule) in c.watches]
        if not users:
            return rule
        fields = {name for c in users for name in (*c.group_by, c.value_field) if name}
        quiet = not any(c.info.rule.generate for c in users)  # Sigma: generate: false
        return dataclasses.replace(rule, generate=not quiet,
                                   group_fields=tuple(sorted(fields | {"user"})))

    @classmethod
    def shipped(cls, eventlog: Any = None, novelty: NoveltyConfig | None = None) -> Detector:
        """The rule pack this distribution ships."""
        return cls([shipped_pack()], eventlog, novelty)

    def match_json(self, events: Sequence[bytes | str]) -> list[Match]:
        """Matches of the detection rules among events given as JSON objects."""
        if self.novelty is not None:
            events = self.novelty.enrich(events)
        return self._matcher.match_json(events)

    def match_files(self, files: Sequence[str], since: str | None = None) -> list[Match]:
        """Matches among JSON-lines files (plain or gzip) of events since ``since``."""
        return self._matcher.match_files(files, since,
                                         hunt_rows if self._derives else None)

    def evaluate(self, matches: Sequence[Match]) -> list[Match]:
        """What deserves an alert: matches of rules that generate alerts, then the
        correlations ``matches`` complete (the window's state carries over calls)."""
        direct = [m for m in matches if m.rule.generate]
        return direct + self.correlator.feed(matches)

    def close(self) -> None:
        """Release the DuckDB connection and the novelty state."""
        self._matcher.close()
        if self.novelty is not None:
            self.novelty.close()
