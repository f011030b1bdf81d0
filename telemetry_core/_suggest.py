""""Did you mean ...?": the one place a misspelt name is matched against the right ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``name`` most likely misspells (case ignored), or None."""
    by_folded = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(name.lower(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'pii'?)"``, or ``""`` when nothing is close."""
    match = closest(name, candidates)
    return f" (did you mean {match!r}?)" if match else ""
