"""Step 4: is it private? Redact what the administrator did not allow; drop what the
schema does not declare.

A schema's categories are its ``categories`` list, or ``["unrestricted"]`` when it has
none; ``pii: true`` (or jupyter_events' ``personal-data: true``) adds
``user-identifiable-information``. A marked value is kept when all its categories are
allowed (``unrestricted`` always is) or its property's name is in
``allowed_properties``; otherwise it becomes ``null`` or, where chosen, a keyed hash.
Marks count wherever JSON Schema can put a value (``_plan`` finds them all).

Properties an object's schema does not declare are dropped (and counted) unless the
policy sets ``keep_undeclared``. The decisions are made once per ``(schema, policy)``
into a node graph (``_plan``); an event whose keys are all declared and that has
nothing marked costs a set comparison per object.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ._envelope import ENVELOPE_FIELDS
from ._plan import PII_CATEGORY, UNRESTRICTED, Node, Planner, categories_of

__all__ = ["PII_CATEGORY", "UNRESTRICTED", "Policy", "PropertyDecision", "Redactor",
           "compile_plan", "decisions", "property_categories"]

Decision = Literal["kept", "redacted", "hashed"]
property_categories = categories_of


@dataclass(frozen=True)
class Policy:
    """What one schema may record: the allowed categories and property names, and
    whether properties the schema does not declare are kept (``keep_undeclared``)."""

    allowed_categories: frozenset[str] = frozenset()
    allowed_properties: frozenset[str] = frozenset()
    redaction: Literal["null", "hash"] = "null"
    secret: bytes = field(default=b"", repr=False)
    keep_undeclared: bool = False

    def allows(self, name: str | None, categories: list[str]) -> bool:
        """Whether a value under property ``name`` with these categories is kept."""
        if name is not None and name in self.allowed_properties:
            return True
        return all(c == UNRESTRICTED or c in self.allowed_categories for c in categories)


def compile_plan(schema: dict[str, Any], policy: Policy,
                 documents: dict[str, Any] | None = None) -> Node:
    """The plan for ``schema`` under ``policy``: its root node (``active`` is False when
    no event can need a change). Raises InvalidSchemaError for marks it cannot honour."""
    def categorise(name: str | None, frag: dict[str, Any]) -> bool:
        return policy.allows(name, categories_of(frag))

    root = Planner(schema, categorise, documents or {}, policy.keep_undeclared).root()
    root.declared = root.declared | frozenset(ENVELOPE_FIELDS)
    return root


@dataclass(frozen=True)
class PropertyDecision:
    """One place's fate under a policy (for the notice and for tests)."""

    path: str
    title: str
    description: str
    categories: list[str]
    personal: bool
    decision: Decision


def decisions(root: Node, policy: Policy) -> Iterator[PropertyDecision]:
    """Every declared property (depth first), every marked array item and every key
    pattern or catch-all, with whether it is kept, redacted or hashed."""
    redacted: Decision = "hashed" if policy.redaction == "hash" else "redacted"

    def entry(node: Node, path: str) -> PropertyDecision:
        cats = node.categories or [UNRESTRICTED]
        return PropertyDecision(path, node.title, node.description, cats, node.personal,
                                redacted if node.redact else "kept")

    def walk(node: Node, prefix: str, seen: frozenset[int]) -> Iterator[PropertyDecision]:
        if id(node) in seen or node.redact:
            return
        seen = seen | {id(node)}
        dot = f"{prefix}." if prefix else ""
        places: list[tuple[str, Node, bool]] = [
            (f"{dot}{k}", n, True) for k, n in node.props.items()]
        for patterns, additional in node.shapes:
            places += [(f"{dot}<key matching {p.pattern}>", n, True) for p, n in patterns]
            if additional is not None:
                places.append((f"{dot}<any other key>", additional, True))
        if node.unevaluated is not None:
            places.append((f"{dot}<any other key>", node.unevaluated, True))
        places += [(f"{prefix}[{i}]", n, n.marked) for i, n in enumerate(node.prefix)]
        if node.items is not None:
            places.append((f"{prefix}[]", node.items, node.items.marked))
        for path, child, listed in places:
            if listed:
                yield entry(child, path)
            yield from walk(child, path, seen)

    yield from walk(root, "", frozenset())


_PSEUDONYM_PREFIX = "hmac-sha256:"
_MISSING: Any = object()  # no reference value at this place


class Redactor:
    """Applies a plan to events; never changes the dicts it is given (except the top
    level of one it is told it owns, :meth:`redact_owned`)."""

    __slots__ = ("root", "_secret", "_hash", "_keep", "_on_drop", "_flat")

    def __init__(self, root: Node, policy: Policy,
                 on_drop: Callable[[int], None] | None = None) -> None:
        self.root = root
        self._hash = policy.redaction == "hash"
        self._secret = policy.secret
        self._keep = policy.keep_undeclared
        self._on_drop = on_drop
        if self._hash and not self._secret:
            raise ValueError(
                "redaction 'hash' needs a secret: set EventLog.redaction_secret "
                "(or the TELEMETRY_REDACTION_SECRET environment variable)")
        self._flat = _flat_plan(root)

    def pseudonym(self, value: Any) -> str:
        """The keyed hash that stands for ``value`` (equal values, equal pseudonyms)."""
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        return _PSEUDONYM_PREFIX + hmac.new(self._secret, raw, hashlib.sha256).hexdigest()

    def apply(self, event: dict[str, Any], reference: Any = _MISSING) -> dict[str, Any]:
        """``event`` itself when nothing changes, else a copy with values redacted and
        undeclared properties dropped. ``reference``: see :meth:`redact_owned`."""
        return self._dict(self.root, event, reference, None)

    def redact_owned(self, event: dict[str, Any], reference: Any = _MISSING, *,
                     keys_declared: bool = False) -> bool:
        """Redact in place in a dict the caller owns (its top level only: nested values
        may be someone else's and are copied on change). Saves a copy per event. False
        when nothing changed.

        ``reference`` is this event as redacted before modifiers ran: in hash mode a
        value equal to the pseudonym already there is ours and stays; any other value at
        a marked place is hashed, so a caller cannot slip in a value, or forge a
        pseudonym, by making it look like one. ``keys_declared``: the caller found every
        top-level name of ``event`` declared (its envelope's aside), so none is dropped."""
        flat = self._flat
        if flat is not None and reference is _MISSING:
            # The common shape, without the general walk: marked top-level properties,
            # and objects whose keys are only checked. Anything else (an undeclared key
            # to drop) goes to the general walk before anything is changed here.
            marked, checked, declared = flat
            if keys_declared or self._keep or event.keys() <= declared:
                for key, keys in checked:
                    value = event.get(key)
                    if type(value) is dict and not value.keys() <= keys:
                        break
                else:
                    changed = False
                    for key in marked:
                        value = event.get(key)
                        if value is not None:
                            event[key] = self.pseudonym(value) if self._hash else None
                            changed = True
                    return changed
        self._dict(self.root, event, reference, event)
        return True

    def _redact(self, value: Any, ref: Any) -> Any:
        if not self._hash or value is None:
            return None
        if type(value) is str and type(ref) is str and value == ref:
            return value
        return self.pseudonym(value)

    def _value(self, node: Node, value: Any, ref: Any) -> Any:
        if node.redact:
            return self._redact(value, ref)
        kind = type(value)
        if kind is dict:
            return self._dict(node, value, ref, None)
        if kind is list and (node.prefix or node.items is not None):
            return self._list(node, value, ref)
        return value

    def _dict(self, node: Node, data: dict[str, Any], ref: Any,
              out: dict[str, Any] | None) -> dict[str, Any]:
        if not node.active:
            return data
        refs = ref if type(ref) is dict else None
        for key, child in node.todo:
            if key in data:
                value = data[key]
                if child.redact and not self._hash:
                    new = None  # the common cases, inline: a call saved per property
                elif child.flat and type(value) is dict and value.keys() <= child.declared:
                    continue
                else:
                    new = self._value(child, value,
                                      refs.get(key, _MISSING) if refs else _MISSING)
                if new is not value:
                    if out is None:
                        out = dict(data)  # copy on first change: the caller's stays as it was
                    out[key] = new
        if data.keys() <= node.declared:
            return data if out is None else out
        dropped = 0
        for key in list(data):
            if key in node.declared or (node is self.root and key[:2] == "__"):
                continue
            others = node.other_key(key)
            if not others:
                if node.structured and not self._keep:
                    if out is None:
                        out = dict(data)
                    del out[key]
                    dropped += 1
                continue
            value = new = data[key]
            for other in others:  # several schemas apply: each in turn (conservative)
                new = self._value(other, new, refs.get(key, _MISSING) if refs else _MISSING)
            if new is not value:
                if out is None:
                    out = dict(data)
                out[key] = new
        if dropped and self._on_drop is not None:
            self._on_drop(dropped)
        return data if out is None else out

    def _list(self, node: Node, values: list[Any], ref: Any) -> list[Any]:
        refs = ref if type(ref) is list else ()
        out: list[Any] | None = None
        for i, item in enumerate(values):
            child = node.prefix[i] if i < len(node.prefix) else node.items
            if child is None or not child.active:
                continue
            new = self._value(child, item, refs[i] if i < len(refs) else _MISSING)
            if new is not item:
                if out is None:
                    out = list(values)
                out[i] = new
        return values if out is None else out


FlatPlan = tuple[tuple[str, ...], tuple[tuple[str, frozenset[str]], ...], frozenset[str]]


def _flat_plan(root: Node) -> FlatPlan | None:
    """``(marked names, (name, declared keys) of objects only checked, declared names)``
    when applying ``root`` needs nothing more than that at the top level (no patterns,
    no catch-alls, nothing marked deeper down), else None."""
    if root.shapes or root.unevaluated is not None:
        return None
    marked: list[str] = []
    checked: list[tuple[str, frozenset[str]]] = []
    for key, child in root.todo:
        if child.redact:
            marked.append(key)
        elif child.flat and not child.prefix and child.items is None:
            checked.append((key, child.declared))
        else:
            return None
    return tuple(marked), tuple(checked), root.declared
