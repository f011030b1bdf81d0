"""Matches -> alert events of the shipped ``detect/alert`` schema.

One alert per rule and user per evaluation (a batch, a hunt), listing the ids of the
events that matched. An alert never copies a matched value: the rule says what was
seen, the event ids say where to look. Its ``__event_id__`` is derived from the rule and
the matched ids, so a batch delivered twice (a retry, a replay) yields the same id and
idempotent sinks keep one alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from ._engine import Match

ALERT_SCHEMA = "https://telemetry.jupyter.org/schemas/events/detect/alert"
ALERT_VERSION = 1
#: Event ids one alert lists at most (the schema's maxItems).
MAX_IDS = 100
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, ALERT_SCHEMA)
_LEVELS = {"informational", "low", "medium", "high", "critical"}


def alerts(matches: Iterable[Match]) -> list[tuple[str, dict[str, Any]]]:
    """``(alert event id, alert data)`` for ``matches``, grouped by rule and user."""
    groups: dict[tuple[str, str | None], list[Match]] = {}
    for match in matches:
        groups.setdefault((match.rule.id, match.user), []).append(match)
    built = []
    for (rule_id, user), found in groups.items():
        rule = found[0].rule
        ids = sorted({m.event_id for m in found})[:MAX_IDS]
        data: dict[str, Any] = {
            "rule_id": rule_id, "title": rule.title,
            "level": rule.level if rule.level in _LEVELS else "medium",
            "tags": list(rule.tags), "matched_event_ids": ids,
            "matched_schema": found[0].schema,
            "first_seen": min(m.timestamp for m in found),
        }
        if user is not None:
            data["user"] = user
        built.append((str(uuid.uuid5(_NAMESPACE, rule_id + "\n" + "\n".join(ids))), data))
    return built
