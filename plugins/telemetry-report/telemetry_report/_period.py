"""``--since`` / ``--until``: a duration back from now (``7d``, ``12h``, ``30m``, ``2w``) or
a date or time in ISO 8601 (UTC unless it names an offset)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime) -> datetime:
    """The UTC time ``text`` means, relative to ``now`` for a duration."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (7d, 12h, 30m, 2w) nor an ISO "
                         f"8601 date or time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def sql_time(when: datetime) -> str:
    """``when`` as the envelope writes ``__timestamp__`` (UTC), for comparing strings."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
