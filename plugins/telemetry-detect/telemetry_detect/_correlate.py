"""Sigma correlations (``event_count``, ``value_count``, ``temporal``) over a sliding window.

Matches of the referenced rules are fed in time order (``__timestamp__``). Per
correlation and group (the ``group-by`` values) the state holds what the window needs:
the match times (``event_count``), the distinct values and when each was last seen
(``value_count``), or when each referenced rule last matched (``temporal``). A group
fires once when its condition holds and then starts afresh, so a burst raises one alert.

Bounds: at most ``max_groups`` groups per correlation (the least recently seen is
dropped and counted in ``evicted``), and a group keeps at most the count its condition
needs (and ``MAX_IDS`` event ids). The state lives in memory: a restart forgets it, so a
window that spans a restart may miss a burst (docs/detection.md).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ._compile import CompiledRule, RuleError
from ._engine import Match

MAX_IDS = 100
#: Groups one correlation keeps at most, unless told otherwise.
DEFAULT_MAX_GROUPS = 10_000


@dataclass
class Correlation:
    """One correlation rule: its alert metadata, the rules it watches, its window."""

    info: CompiledRule  # what its alerts say (id, title, level, tags, source)
    kind: str
    watches: frozenset[int]  # ids (``id()``) of the referenced SigmaRule objects
    group_by: tuple[str, ...]
    seconds: float
    threshold: int
    strict: bool  # gt rather than gte
    value_field: str | None = None
    groups: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)


def _seconds(timestamp: str) -> float:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def build(path: Path, rule: Any) -> Correlation:
    """A ``Correlation`` from a pySigma ``SigmaCorrelationRule``; ``RuleError`` for a
    kind or condition that cannot be evaluated as events arrive."""
    from sigma.correlations import SigmaCorrelationConditionOperator as Op

    kind = str(rule.type.name if hasattr(rule.type, "name") else rule.type).lower()
    title = rule.title
    if kind not in ("event_count", "value_count", "temporal"):
        raise RuleError(f"{path}: rule {title!r}: correlation type {kind} is not supported: "
                        "event_count, value_count or temporal")
    condition = rule.condition
    threshold, strict = 0, False
    if kind != "temporal":
        if condition.op not in (Op.GTE, Op.GT):
            raise RuleError(f"{path}: rule {title!r}: only gte and gt conditions can fire as "
                            "events arrive")
        strict = condition.op == Op.GT
        threshold = int(condition.count) + (1 if strict else 0)
    info = CompiledRule(
        id=str(rule.id) if rule.id else title, title=title,
        level=str(rule.level.name).lower() if rule.level else "medium",
        tags=tuple(str(t) for t in rule.tags), condition="", source=str(path), fields=(),
        rule=rule)
    return Correlation(info, kind, frozenset(id(ref.rule) for ref in rule.rules),
                       tuple(rule.group_by or ()), float(rule.timespan.seconds), threshold,
                       strict, getattr(condition, "fieldref", None) or None)


class Correlator:
    """Feeds matches through every correlation; returns the matches that fired them."""

    def __init__(self, correlations: Iterable[Correlation],
                 max_groups: int = DEFAULT_MAX_GROUPS) -> None:
        self.correlations = list(correlations)
        self.max_groups = max_groups
        self.evicted = 0

    def feed(self, matches: Iterable[Match]) -> list[Match]:
        """Correlation hits among ``matches`` (in time order), as ``Match`` es of the
        correlation: one per event in the firing window."""
        fired: list[Match] = []
        ordered = sorted(matches, key=lambda m: m.timestamp)
        for correlation in self.correlations:
            for match in ordered:
                if id(match.rule.rule) in correlation.watches:
                    fired.extend(self._one(correlation, match))
        return fired

    def _one(self, corr: Correlation, match: Match) -> list[Match]:
        values = dict(match.values)
        key = tuple(values.get(name) for name in corr.group_by)
        now = _seconds(match.timestamp)
        group = corr.groups.get(key)
        if group is None:
            group = corr.groups[key] = deque()
            while len(corr.groups) > self.max_groups:
                corr.groups.popitem(last=False)
                self.evicted += 1
        corr.groups.move_to_end(key)
        group.append((now, match))
        while group and now - group[0][0] > corr.seconds:
            group.popleft()
        if not self._holds(corr, group):
            if len(group) > max(corr.threshold, 1) * 4 + MAX_IDS:
                group.popleft()  # bound: the condition does not need more than this
            return []
        del corr.groups[key]  # fire once, then start afresh
        # The match's user: as recorded (an inspected event's user may be redacted).
        user = match.user if "user" in corr.group_by else None
        return [Match(corr.info, m.event_id, m.timestamp, m.schema, user)
                for _, m in list(group)[-MAX_IDS:]]

    @staticmethod
    def _holds(corr: Correlation, group: deque[tuple[float, Match]]) -> bool:
        if corr.kind == "event_count":
            return len(group) >= corr.threshold
        if corr.kind == "value_count":
            field_name = corr.value_field or ""
            distinct = {dict(m.values).get(field_name) for _, m in group} - {None}
            return len(distinct) >= corr.threshold
        seen = {id(m.rule.rule) for _, m in group}
        return corr.watches <= seen
