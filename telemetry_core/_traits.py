"""The traitlets types of EventLog's configuration, with the checks the issue asks for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from traitlets import TraitError, TraitType

POLICY_KEYS = frozenset({"allowed_categories", "allowed_properties"})


class Handlers(TraitType[list[logging.Handler], Any]):
    """A list of ``logging.Handler`` instances, or a callable returning one.

    The callable form lets a config that holds handlers be deep-copied (handlers hold
    locks and streams that cannot be copied): traitlets copies the callable, not them.
    """

    info_text = "a list of logging.Handler instances (or a callable returning one)"

    def validate(self, obj: Any, value: Any) -> list[logging.Handler]:
        if callable(value) and not isinstance(value, logging.Handler):
            value = value()
        if not isinstance(value, (list, tuple)):
            self.error(obj, value)
        for item in value:
            if not isinstance(item, logging.Handler):
                raise TraitError(
                    f"The '{self.name}' trait of {type(obj).__name__} takes logging.Handler "
                    f"instances; got {item!r} ({type(item).__name__}). Wrap the destination "
                    "in a handler, e.g. logging.FileHandler('events.log'), or use `sinks`.")
        return list(value)


def _check_names(trait: str, schema_id: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
            isinstance(v, str) for v in value):
        raise TraitError(
            f"{trait}[{schema_id!r}][{key!r}] must be a list of strings, got {value!r}")
    return list(value)


class AllowedSchemas(TraitType[Any, Any]):
    """Schema ids to record: a list, or a dict ``{id: {"allowed_categories": [...],
    "allowed_properties": [...]}}``. Any other key is an error, not silently ignored."""

    info_text = ("a list of schema ids, or a dict {schema_id: {'allowed_categories': [...], "
                 "'allowed_properties': [...]}}")

    def validate(self, obj: Any, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            for item in value:
                if not isinstance(item, str):
                    raise TraitError(
                        f"The '{self.name}' trait lists schema ids (strings); got {item!r}")
            return list(value)
        if isinstance(value, dict):
            out: dict[str, dict[str, list[str]]] = {}
            for schema_id, policy in value.items():
                if not isinstance(schema_id, str):
                    raise TraitError(f"{self.name}: schema ids are strings, got {schema_id!r}")
                policy = {} if policy is None else policy
                if not isinstance(policy, dict):
                    raise TraitError(
                        f"{self.name}[{schema_id!r}] must be a dict with keys "
                        f"{sorted(POLICY_KEYS)}, got {policy!r}")
                unknown = set(policy) - POLICY_KEYS
                if unknown:
                    raise TraitError(
                        f"{self.name}[{schema_id!r}] has unknown key(s) {sorted(unknown)}; "
                        f"the allowed keys are {sorted(POLICY_KEYS)}")
                out[schema_id] = {k: _check_names(self.name or "", schema_id, k, v)
                                  for k, v in policy.items()}
            return out
        self.error(obj, value)


HandlerFactory = Callable[[], list[logging.Handler]]
