"""Step 4: is it private? Redact what the administrator did not allow.

A property's categories are its ``categories`` list, or ``["unrestricted"]`` when it
has none; ``pii: true`` (or jupyter_events' ``personal-data: true``) adds
``user-identifiable-information``. A property is kept when all its categories are
allowed (``unrestricted`` always is) or its name is in ``allowed_properties``;
otherwise its value becomes ``null`` or, where chosen, a keyed hash. Nested objects
follow the same rule at each level.

The decisions are made once per ``(schema, policy)`` into a small *plan* that lists
only the properties to touch, so an event with nothing to redact costs one check.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

UNRESTRICTED = "unrestricted"
PII_CATEGORY = "user-identifiable-information"

Decision = Literal["kept", "redacted", "hashed"]


@dataclass(frozen=True)
class Policy:
    """What one schema may record: the allowed categories and property names."""

    allowed_categories: frozenset[str] = frozenset()
    allowed_properties: frozenset[str] = frozenset()
    redaction: Literal["null", "hash"] = "null"
    secret: bytes = field(default=b"", repr=False)

    def allows(self, name: str, categories: list[str]) -> bool:
        """Whether a property with this name and these categories is kept."""
        if name in self.allowed_properties:
            return True
        return all(c == UNRESTRICTED or c in self.allowed_categories for c in categories)


def property_categories(prop: Any) -> list[str]:
    """The categories of one property's schema, with the PII marking folded in."""
    if not isinstance(prop, dict):
        return [UNRESTRICTED]
    categories = list(prop.get("categories") or [UNRESTRICTED])
    if (prop.get("pii") is True or prop.get("personal-data") is True) \
            and PII_CATEGORY not in categories:
        categories.append(PII_CATEGORY)
    return categories


@dataclass(frozen=True)
class PropertyDecision:
    """One property's fate under a policy (for the notice and for tests)."""

    path: str
    title: str
    description: str
    categories: list[str]
    personal: bool
    decision: Decision


def _children(prop: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    # Where the "same rule at each level" descends: an object's properties, or the
    # properties of an array's object items.
    if isinstance(prop.get("properties"), dict):
        return "", prop["properties"]
    items = prop.get("items")
    if isinstance(items, dict) and isinstance(items.get("properties"), dict):
        return "[]", items["properties"]
    return None


def decisions(schema: dict[str, Any], policy: Policy) -> Iterator[PropertyDecision]:
    """Every declared property (depth first) and whether it is kept, redacted or hashed."""
    redacted: Decision = "hashed" if policy.redaction == "hash" else "redacted"

    def walk(props: dict[str, Any], prefix: str) -> Iterator[PropertyDecision]:
        for name, prop in props.items():
            prop = prop if isinstance(prop, dict) else {}
            cats = property_categories(prop)
            kept = policy.allows(name, cats)
            path = f"{prefix}.{name}" if prefix else name
            yield PropertyDecision(
                path, str(prop.get("title", "")), str(prop.get("description", "")), cats,
                PII_CATEGORY in cats,
                "kept" if kept else redacted)
            sub = _children(prop) if kept else None
            if sub is not None:
                yield from walk(sub[1], path + sub[0])

    yield from walk(schema.get("properties") or {}, "")


# A plan maps a property name to REDACT, or to ("object"|"items", sub-plan).
REDACT = None
Plan = dict[str, Any]


def compile_plan(schema: dict[str, Any], policy: Policy) -> Plan:
    """The properties to redact under ``policy``; empty when there is nothing to do."""

    def walk(props: dict[str, Any]) -> Plan:
        plan: Plan = {}
        for name, prop in props.items():
            prop = prop if isinstance(prop, dict) else {}
            if not policy.allows(name, property_categories(prop)):
                plan[name] = REDACT
                continue
            sub = _children(prop)
            if sub is not None:
                subplan = walk(sub[1])
                if subplan:
                    plan[name] = ("items" if sub[0] else "object", subplan)
        return plan

    return walk(schema.get("properties") or {})


_PSEUDONYM_PREFIX = "hmac-sha256:"
_PSEUDONYM_LEN = len(_PSEUDONYM_PREFIX) + 64


class Redactor:
    """Applies a plan to events; never changes the dicts it is given."""

    __slots__ = ("plan", "_secret", "_hash", "top_nulls")

    def __init__(self, plan: Plan, policy: Policy) -> None:
        self.plan = plan
        self._hash = policy.redaction == "hash"
        self._secret = policy.secret
        if self._hash and not self._secret:
            raise ValueError(
                "redaction 'hash' needs a secret: set EventLog.redaction_secret "
                "(or the TELEMETRY_REDACTION_SECRET environment variable)")
        #: The common plan, top-level properties set to null, as a tuple of their names
        #: (None for any other plan): callers on a hot path may apply it inline.
        self.top_nulls: tuple[str, ...] | None = (
            tuple(plan) if not self._hash and all(a is REDACT for a in plan.values())
            else None)

    def pseudonym(self, value: Any) -> str:
        """The keyed hash that stands for ``value`` (equal values, equal pseudonyms)."""
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        return _PSEUDONYM_PREFIX + hmac.new(self._secret, raw, hashlib.sha256).hexdigest()

    def _redact(self, value: Any) -> Any:
        if not self._hash:
            return None
        # Redaction runs again after modifiers: a pseudonym stays as it is, not hashed twice.
        if isinstance(value, str) and len(value) == _PSEUDONYM_LEN \
                and value.startswith(_PSEUDONYM_PREFIX):
            return value
        return self.pseudonym(value)

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` itself when nothing changes, else a copy with values redacted."""
        return self._apply(self.plan, event, None) if self.plan else event

    def redact_owned(self, event: dict[str, Any]) -> None:
        """Redact in place in a dict the caller owns (its top level only: nested values
        may be someone else's and are copied on change). Saves a copy per event."""
        names = self.top_nulls
        if names is not None:
            for name in names:
                if name in event:
                    event[name] = None
        elif self.plan:
            self._apply(self.plan, event, event)

    def _apply(self, plan: Plan, data: dict[str, Any],
               out: dict[str, Any] | None) -> dict[str, Any]:
        for name, action in plan.items():
            value = data.get(name)
            if value is None:
                continue
            if action is REDACT:
                new: Any = self._redact(value)
            elif action[0] == "object":
                new = self._apply(action[1], value, None) if isinstance(value, dict) else value
            elif isinstance(value, list):
                new = [self._apply(action[1], v, None) if isinstance(v, dict) else v
                       for v in value]
                if all(a is b for a, b in zip(new, value, strict=True)):
                    new = value
            else:
                new = value
            if new is not value:
                if out is None:
                    out = dict(data)  # copy on first change: the caller's dict stays as it was
                out[name] = new
        return data if out is None else out
