"""Small-group suppression, the one place it happens: a row that stands for fewer than
``min_group_size`` distinct users (by name or pseudonym, as recorded) is left out, so the
page can be shown to people who may not see individuals. A row whose users were not
recorded at all (the policy redacted them to null) cannot be counted and is left out too;
record users as pseudonyms (``redaction = "hash"``) to report on them."""

from __future__ import annotations

from typing import Any

USERS = "users"
PSEUDONYM = "hmac-sha256:"
PSEUDONYMISED = "(pseudonymised)"


def suppress(rows: list[dict[str, Any]], min_group_size: int
             ) -> tuple[list[dict[str, Any]], int]:
    """The rows with at least ``min_group_size`` users, and how many were left out."""
    rows = [_no_identities(row) for row in rows]
    if min_group_size <= 0:
        return rows, 0
    # a row with no users column counts machinery (sink counters), never people
    kept = [row for row in rows if USERS not in row or (row[USERS] or 0) >= min_group_size]
    return kept, len(rows) - len(kept)


def _no_identities(row: dict[str, Any]) -> dict[str, Any]:
    """A second line of defence behind the queries: no ``user`` column, and a pseudonym
    the policy made (``hmac-sha256:...``) never shows, whatever column it is in."""
    return {key: PSEUDONYMISED if isinstance(value, str) and value.startswith(PSEUDONYM)
            else value for key, value in row.items() if key != "user"}
