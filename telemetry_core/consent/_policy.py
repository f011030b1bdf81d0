"""What Consent needs to know of a deployment: a narrow, read-only view of its policy.

An EventLog builds one from its configuration (and builds a new one when that
changes); a test or a tool can build one by hand. Consent never sees the EventLog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["required", "opt-in", "opt-out"]

KEPT, HASHED = 2, 1
"""Levels in :attr:`ConsentPolicy.collected`: a value stored as it is, or as a keyed
pseudonym. A notice "collects more" than an older one when some level went up."""

Collected = Mapping[str, Mapping[str, int]]
"""What a notice collects, per allowed schema id: ``{"personal:PATH" | "other:PATH" |
"group:NAME" | "": level}`` (``""`` stands for the schema itself)."""


def _nothing_collected() -> Collected:
    return {}


@dataclass(frozen=True)
class ConsentPolicy:
    """The consent-relevant part of a deployment's configuration.

    ``allowed`` maps each allowed schema id to its configured mode, or None for the
    default (``opt-in`` where the notice keeps personal data of the schema, else
    ``required``). ``collected`` and ``notice_body`` are called lazily, at most once per
    policy: they may read registered schemas, which cost something to plan.
    """

    allowed: Mapping[str, Mode | None]
    #: Named groups of schema ids a user can decide on at once.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Where decisions are kept: "" (a SQLite file under $XDG_STATE_HOME/telemetry/),
    #: sqlite:///PATH or postgresql://...
    store_url: str = ""
    #: Seconds an answer is cached per (user, schema); 0: no cache.
    cache_ttl: float = 5.0
    #: Days a yes counts (0: forever).
    lifetime_days: float = 0.0
    #: What the current notice collects (see :data:`Collected`).
    collected: Callable[[], Collected] = _nothing_collected
    #: What the current notice says (hashed into ``notice_version``); None: the
    #: policy's own facts (allowed, groups, collected).
    notice_body: Callable[[], Mapping[str, Any]] | None = None

    def groups_of(self, schema_id: str) -> tuple[str, ...]:
        """The groups that contain ``schema_id``."""
        return tuple(name for name, members in self.groups.items() if schema_id in members)
