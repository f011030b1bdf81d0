"""Which values of an event are sealed: the personal values the policy keeps.

A plan (``_plan``) is built once per schema and policy with "redact" meaning "seal here";
applying it copies the event on first change, as the Redactor does, and never drops a key
(the Redactor already did that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._plan import UNRESTRICTED, Node, Planner, categories_of
from .._privacy import Policy

Seal = Callable[[Any], Any]


def sealing_plan(schema: dict[str, Any], policy: Policy,
                 documents: dict[str, Any] | None = None) -> Node | None:
    """The places whose values are sealed under ``policy`` (None: nothing to seal)."""
    def keep_in_clear(name: str | None, frag: dict[str, Any]) -> bool:
        cats = categories_of(frag)
        personal = any(c != UNRESTRICTED for c in cats)
        return not (personal and policy.allows(name, cats))

    root = Planner(schema, keep_in_clear, documents or {}, keep_undeclared=True).root()
    return root if root.active else None


def seal_event(root: Node, event: dict[str, Any], seal: Seal) -> dict[str, Any]:
    """``event`` with each planned value (not null) replaced by ``seal(value)``; the
    given dicts and lists are never changed (copies are made on change)."""
    return _dict(root, event, seal)


def _value(node: Node, value: Any, seal: Seal) -> Any:
    if node.redact:
        return None if value is None else seal(value)
    if type(value) is dict:
        return _dict(node, value, seal)
    if type(value) is list and (node.prefix or node.items is not None):
        out: list[Any] | None = None
        for i, item in enumerate(value):
            child = node.prefix[i] if i < len(node.prefix) else node.items
            if child is None or not child.active:
                continue
            new = _value(child, item, seal)
            if new is not item:
                out = out if out is not None else list(value)
                out[i] = new
        return value if out is None else out
    return value


def _dict(node: Node, data: dict[str, Any], seal: Seal) -> dict[str, Any]:
    if not node.active:
        return data
    out: dict[str, Any] | None = None
    for key, child in node.todo:
        value = data.get(key)
        if value is None:
            continue
        new = seal(value) if child.redact else _value(child, value, seal)
        if new is not value:
            out = out if out is not None else dict(data)
            out[key] = new
    for key in data.keys() - node.declared:
        if key[:2] == "__":
            continue
        value = new = data[key]
        for other in node.other_key(key):
            new = _value(other, new, seal)
        if new is not value:
            out = out if out is not None else dict(data)
            out[key] = new
    return data if out is None else out


def open_event(event: dict[str, Any], open_value: Callable[[str], Any]) -> dict[str, Any]:
    """``event`` with every sealed string (at any depth) replaced by ``open_value(it)``."""
    from ._crypto import is_sealed

    def walk(value: Any) -> Any:
        if is_sealed(value):
            return open_value(value)
        if type(value) is dict:
            return {k: walk(v) for k, v in value.items()}
        if type(value) is list:
            return [walk(v) for v in value]
        return value

    return walk(event)
