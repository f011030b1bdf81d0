"""Where a schema puts values, and which of them are marked: the redaction plan.

One walker reads a schema once into a graph of :class:`Node` s, one per place in an
event (an object's property, an array's items ...). It follows every applicator the
meta-schema accepts: ``properties``, ``patternProperties``, ``additionalProperties``,
``unevaluatedProperties``, ``items`` (a schema, or draft-07's list with
``additionalItems``), ``prefixItems``, ``$ref`` (inside the schema, or to another
registered schema), ``allOf``/``anyOf``/``oneOf``, ``if``/``then``/``else`` and
``dependentSchemas``.

Branches are merged conservatively: a value is redacted when *any* schema that may
apply to it marks it, whichever branch the value would match. Marks where no value can
be redacted (under ``not``, ``contains``, ``propertyNames``, ``unevaluatedItems``,
``contentSchema``), ``$dynamicRef``/``$recursiveRef`` and
references that cannot be resolved are refused with :class:`InvalidSchemaError`, naming
the construct and its JSON path. Recursive schemas give a graph with cycles; events are
depth-bounded before they get here, so applying it always ends.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidSchemaError

MARKS = ("pii", "personal-data", "categories")
# Subschemas that apply to the same value as the schema holding them.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("if", "then", "else")
# Subschemas whose marks no redaction can honour: the schema is refused if they mark.
_REFUSED = ("not", "contains", "propertyNames", "unevaluatedItems", "contentSchema")
_MAX_NODES = 10_000

Categorise = Callable[[str | None, dict[str, Any]], bool]
"""``(property name, schema) -> kept?`` for one schema fragment carrying marks."""


@dataclass(eq=False)
class Node:
    """What may sit at one place in an event, merged over every schema that applies."""

    title: str = ""
    description: str = ""
    categories: list[str] = field(default_factory=list)
    marked: bool = False          # some schema here carries pii/personal-data/categories
    personal: bool = False        # ... and says it identifies a person
    redact: bool = False          # the policy does not keep it
    structured: bool = False      # the schema describes this object's keys
    props: dict[str, Node] = field(default_factory=dict)
    # For keys not in ``props``: per object schema, its patterns and its
    # additionalProperties node; then unevaluatedProperties.
    shapes: list[tuple[list[tuple[re.Pattern[str], Node]], Node | None]] = field(
        default_factory=list)
    unevaluated: Node | None = None
    prefix: list[Node] = field(default_factory=list)
    items: Node | None = None
    active: bool = False          # applying the plan here can change something

    declared: frozenset[str] = frozenset()   # props' names (and the envelope's, at the root)
    todo: tuple[tuple[str, Node], ...] = ()  # the active props
    flat: bool = False  # only checks its keys: no active props, no other-key schemas

    def other_key(self, key: str) -> list[Node]:
        """The nodes for a key not in ``props`` (none: the schema does not declare it)."""
        found: list[Node] = []
        for patterns, additional in self.shapes:
            matched = [node for pattern, node in patterns if pattern.search(key)]
            found += matched or ([additional] if additional is not None else [])
        if not found and self.unevaluated is not None:
            found.append(self.unevaluated)
        return found


def _check_marks(frag: dict[str, Any], where: str) -> None:
    for key in ("pii", "personal-data"):
        if key in frag and not isinstance(frag[key], bool):
            raise InvalidSchemaError(f"{where}.{key}: must be true or false", path=where)
    cats = frag.get("categories")
    if cats is not None and not (isinstance(cats, list) and all(
            isinstance(c, str) and c for c in cats)):
        raise InvalidSchemaError(
            f"{where}.categories: must be a list of non-empty strings", path=where)


def has_marks(frag: Any) -> bool:
    """Whether ``frag`` is a schema that carries a mark itself."""
    return isinstance(frag, dict) and any(k in frag for k in MARKS)


class Planner:
    """Builds the node graph of one schema (``resolve`` finds what ``$ref`` names)."""

    def __init__(self, schema: dict[str, Any], categorise: Categorise,
                 documents: dict[str, Any], keep_undeclared: bool = False) -> None:
        self.schema = schema
        self.keep_undeclared = keep_undeclared
        self.categorise = categorise
        self.documents = documents
        self.memo: dict[tuple[Any, ...], Node] = {}

    # -- $ref ---------------------------------------------------------------------------

    def resolve(self, ref: str, base: str, where: str) -> tuple[Any, str]:
        """The schema ``ref`` names (and its document's URI), or InvalidSchemaError."""
        uri, _, fragment = urllib.parse.urljoin(base, ref).partition("#")
        doc = self.documents.get(uri) if uri else self.schema
        if doc is None and uri == self.schema.get("$id", ""):
            doc = self.schema
        if doc is None:
            raise InvalidSchemaError(
                f"{where}.$ref: {ref!r} is not inside a registered schema; register the "
                "schema it names first (remote references are off unless "
                "EventLog.remote_references allows them)", path=where)
        target: Any = doc
        fragment = urllib.parse.unquote(fragment)
        if fragment.startswith("/"):
            for part in fragment[1:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                try:
                    target = target[int(part) if isinstance(target, list) else part]
                except (KeyError, IndexError, ValueError, TypeError):
                    raise InvalidSchemaError(
                        f"{where}.$ref: {ref!r} points at nothing", path=where) from None
        elif fragment:
            target = _find_anchor(doc, fragment)
            if target is None:
                raise InvalidSchemaError(
                    f"{where}.$ref: no $anchor {fragment!r} for {ref!r}", path=where)
        return target, uri or base

    # -- the walk -----------------------------------------------------------------------

    def _in_place(self, frags: list[tuple[Any, str, str]]) -> list[tuple[dict[str, Any], str,
                                                                           str]]:
        """Every schema that applies to the same value as ``frags``, flattened."""
        out: list[tuple[dict[str, Any], str, str]] = []
        seen: set[int] = set()
        todo = list(frags)
        while todo:
            frag, base, where = todo.pop(0)
            if not isinstance(frag, dict) or id(frag) in seen:
                continue
            seen.add(id(frag))
            if isinstance(frag.get("$id"), str) and frag is not self.schema:
                base = urllib.parse.urljoin(base, frag["$id"])
            out.append((frag, base, where))
            _check_marks(frag, where)
            for key in ("$dynamicRef", "$recursiveRef"):
                if key in frag:
                    raise InvalidSchemaError(
                        f"{where}.{key}: not supported in event schemas (use $ref)",
                        path=where)
            for key in _REFUSED:
                if key in frag and self._marks_under(frag[key], base, f"{where}.{key}"):
                    raise InvalidSchemaError(
                        f"{where}.{key}: marks personal data where no value can be redacted "
                        f"({key}); mark the property itself instead", path=f"{where}.{key}")
            if isinstance(frag.get("$ref"), str):
                target, doc = self.resolve(frag["$ref"], base, where)
                todo.append((target, doc, f"{where}.$ref"))
            for key in _IN_PLACE_LISTS:
                for i, sub in enumerate(frag.get(key) or ()):
                    todo.append((sub, base, f"{where}.{key}[{i}]"))
            for key in _IN_PLACE_ONE:
                if key in frag:
                    todo.append((frag[key], base, f"{where}.{key}"))
            for key in ("dependentSchemas", "dependencies"):
                deps = frag.get(key)
                if isinstance(deps, dict):
                    for name, sub in deps.items():
                        todo.append((sub, base, f"{where}.{key}.{name}"))
        return out

    def _marks_under(self, frag: Any, base: str, where: str) -> bool:
        for sub, _, _ in self._every_subschema(frag, base, where, set()):
            if has_marks(sub):
                return True
        return False

    def _every_subschema(self, frag: Any, base: str, where: str,
                         seen: set[int]) -> Iterator[tuple[Any, str, str]]:
        if not isinstance(frag, dict) or id(frag) in seen:
            return
        seen.add(id(frag))
        yield frag, base, where
        if isinstance(frag.get("$ref"), str):
            target, doc = self.resolve(frag["$ref"], base, where)
            yield from self._every_subschema(target, doc, f"{where}.$ref", seen)
        for key, value in frag.items():
            if key in ("$defs", "definitions", "enum", "const", "default", "examples"):
                continue
            if isinstance(value, dict):
                yield from self._every_subschema(value, base, f"{where}.{key}", seen)
                for name, sub in value.items():
                    yield from self._every_subschema(sub, base, f"{where}.{key}.{name}", seen)
            elif isinstance(value, list):
                for i, sub in enumerate(value):
                    yield from self._every_subschema(sub, base, f"{where}.{key}[{i}]", seen)

    def root(self) -> Node:
        """The node of the event itself. Marks on the root (jupyter_events writes
        ``personal-data: true`` there) declare that the event holds personal data; which
        values are redacted is up to the marks on its properties (the notice says so)."""
        base = str(self.schema.get("$id", ""))
        node = self.node([(self.schema, base, "$")], None)
        node.redact = False
        node.structured = True  # the event's own keys are always checked
        _mark_active(self.memo.values(), self.keep_undeclared)
        return node

    def node(self, frags: list[tuple[Any, str, str]], name: str | None) -> Node:
        """The (memoised) node for the value these schemas describe."""
        key = (tuple(id(f) for f, _, _ in frags), name)
        if key in self.memo:
            return self.memo[key]
        if len(self.memo) >= _MAX_NODES:
            raise InvalidSchemaError(
                f"{frags[0][2]}: the schema is too complex to plan redaction for "
                f"(more than {_MAX_NODES} places)", path=frags[0][2])
        node = self.memo[key] = Node()
        flat = self._in_place(frags)
        for frag, _, _ in flat:
            node.title = node.title or str(frag.get("title", ""))
            node.description = node.description or str(frag.get("description", "")).strip()
            if has_marks(frag):
                node.marked = True
                cats = categories_of(frag)
                node.categories += [c for c in cats if c not in node.categories]
                # Any category but "unrestricted" is data an administrator must allow:
                # the notice calls it personal data, and keeping it asks for consent.
                node.personal = node.personal or any(c != UNRESTRICTED for c in cats)
                node.redact = node.redact or not self.categorise(name, frag)
        self._object(node, flat)
        self._array(node, flat, name)
        return node

    def _object(self, node: Node, flat: list[tuple[dict[str, Any], str, str]]) -> None:
        shapes = [f for f in flat if any(k in f[0] for k in (
            "properties", "patternProperties", "additionalProperties",
            "unevaluatedProperties"))]
        node.structured = bool(shapes)
        declared: list[str] = []
        for frag, _, _ in shapes:
            declared += [k for k in frag.get("properties") or {} if k not in declared]
        for key in declared:
            applying: list[tuple[Any, str, str]] = []
            for frag, base, where in shapes:
                props = frag.get("properties") or {}
                matched = [(sub, base, f"{where}.patternProperties.{pat}")
                           for pat, sub in (frag.get("patternProperties") or {}).items()
                           if _regex(pat, where).search(key)]
                if key in props:
                    applying.append((props[key], base, f"{where}.properties.{key}"))
                    applying += matched
                elif matched:
                    applying += matched
                elif isinstance(frag.get("additionalProperties"), dict):
                    applying.append((frag["additionalProperties"], base,
                                     f"{where}.additionalProperties"))
            node.props[key] = self.node(applying, key)
        for frag, base, where in shapes:
            patterns = [(_regex(pat, where), self.node(
                [(sub, base, f"{where}.patternProperties.{pat}")], None))
                for pat, sub in (frag.get("patternProperties") or {}).items()]
            extra = frag.get("additionalProperties")
            additional = (self.node([(extra, base, f"{where}.additionalProperties")], None)
                          if isinstance(extra, dict) else None)
            if patterns or additional is not None:
                node.shapes.append((patterns, additional))
            if isinstance(frag.get("unevaluatedProperties"), dict):
                node.unevaluated = self.node(
                    [(frag["unevaluatedProperties"], base, f"{where}.unevaluatedProperties")],
                    None)

    def _array(self, node: Node, flat: list[tuple[dict[str, Any], str, str]],
               name: str | None) -> None:
        # Per schema: its positional item schemas, and the schema of the items after them.
        lists: list[tuple[list[tuple[Any, str, str]], tuple[Any, str, str] | None]] = []
        for frag, base, where in flat:
            items, prefix = frag.get("items"), frag.get("prefixItems")
            if isinstance(items, list):  # draft-07's tuple form
                prefix, items, rest_key = items, frag.get("additionalItems"), "additionalItems"
                pkey = "items"
            else:
                rest_key, pkey = "items", "prefixItems"
            positional = [(sub, base, f"{where}.{pkey}[{i}]")
                          for i, sub in enumerate(prefix or ())]
            rest = (items, base, f"{where}.{rest_key}") if isinstance(items, dict) else None
            if positional or rest:
                lists.append((positional, rest))
        if not lists:
            return
        length = max(len(p) for p, _ in lists)
        for i in range(length):
            applying = [p[i] if i < len(p) else r for p, r in lists if i < len(p) or r]
            node.prefix.append(self.node([a for a in applying if a is not None], name))
        rests = [r for _, r in lists if r is not None]
        if rests:
            node.items = self.node(rests, name)


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidSchemaError(
            f"{where}.patternProperties: {pattern!r} is not a regular expression Python "
            f"understands: {exc}", path=where) from exc


def _find_anchor(doc: Any, anchor: str) -> Any:
    if isinstance(doc, dict):
        if doc.get("$anchor") == anchor:
            return doc
        values: Any = doc.values()
    elif isinstance(doc, list):
        values = doc
    else:
        return None
    for value in values:
        found = _find_anchor(value, anchor)
        if found is not None:
            return found
    return None


def _children(node: Node) -> Iterator[Node]:
    yield from node.props.values()
    for patterns, additional in node.shapes:
        yield from (n for _, n in patterns)
        if additional is not None:
            yield additional
    if node.unevaluated is not None:
        yield node.unevaluated
    yield from node.prefix
    if node.items is not None:
        yield node.items


def _mark_active(nodes: Any, keep_undeclared: bool) -> None:
    # A node is active when applying the plan below it can change something: it is
    # redacted, or it checks keys, or a child is active. Cycles: repeat to a fixpoint.
    nodes = list(nodes)
    for node in nodes:
        node.active = node.redact or (node.structured and not keep_undeclared)
        node.declared = frozenset(node.props)
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if not node.active and any(c.active for c in _children(node)):
                node.active = changed = True
    for node in nodes:
        node.todo = tuple((k, n) for k, n in node.props.items() if n.active)
        node.flat = not (node.todo or node.shapes or node.unevaluated or node.redact)


UNRESTRICTED = "unrestricted"
PII_CATEGORY = "user-identifiable-information"


def categories_of(frag: Any) -> list[str]:
    """The categories of one schema, with the PII marking folded in."""
    if not isinstance(frag, dict):
        return [UNRESTRICTED]
    categories = list(frag.get("categories") or ())
    if (frag.get("pii") is True or frag.get("personal-data") is True) \
            and PII_CATEGORY not in categories:
        categories.append(PII_CATEGORY)
    return categories or [UNRESTRICTED]
