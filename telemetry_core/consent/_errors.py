"""The consent package's one error type."""

from __future__ import annotations


class ConsentError(ValueError):
    """A consent request that cannot be honoured: a malformed user id, an unknown scope,
    a decision on a ``required`` schema, a stale notice version, or a store that cannot
    be reached when a decision must be written."""
