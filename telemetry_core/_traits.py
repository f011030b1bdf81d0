"""The traitlets types of EventLog's configuration, with the checks the issue asks for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from traitlets import TraitError, TraitType

POLICY_KEYS = frozenset({"allowed_categories", "allowed_properties", "keep_undeclared",
                         "consent", "encrypt", "inspect_before_redaction"})
_FLAGS = ("keep_undeclared", "encrypt", "inspect_before_redaction")
_IN_PLACE = ("allowed_schemas cannot be changed in place (the EventLog would not see it); "
             "assign a new value, e.g. eventlog.allowed_schemas = [...]")


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(_IN_PLACE)


class FrozenList(list):  # type: ignore[type-arg]
    """A list that cannot be changed in place (and still equals a plain list)."""

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (type(self), (list(self),))


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that cannot be changed in place (and still equals a plain dict)."""

    pop = popitem = clear = update = setdefault = _refuse
    __setitem__ = __delitem__ = __ior__ = _refuse

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (type(self), (dict(self),))


CONSENT_MODES = ("required", "opt-in", "opt-out")
DEPLOYMENT_KEYS = ("controller", "contact", "retention", "regimes")
REGIMES = ("GDPR", "FERPA", "HIPAA", "FedRAMP")
REGIME_KEYS = ("legal_basis", "statement", "required_reason")


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
    "allowed_properties": [...], "keep_undeclared": bool,
    "consent": "required"|"opt-in"|"opt-out", "encrypt": bool,
    "inspect_before_redaction": bool}}``. Any other key is an error, not silently
    ignored. The value held is frozen: changing it in place raises ``TypeError`` (an
    EventLog would not see the change); assign a new value instead."""

    info_text = ("a list of schema ids, or a dict {schema_id: {'allowed_categories': [...], "
                 "'allowed_properties': [...], 'keep_undeclared': bool}}")

    def validate(self, obj: Any, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            for item in value:
                if not isinstance(item, str):
                    raise TraitError(
                        f"The '{self.name}' trait lists schema ids (strings); got {item!r}")
            return FrozenList(value)
        if isinstance(value, dict):
            out: dict[str, FrozenDict] = {}
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
                for flag in _FLAGS:
                    if not isinstance(policy.get(flag, False), bool):
                        raise TraitError(
                            f"{self.name}[{schema_id!r}][{flag!r}] must be true or false, "
                            f"got {type(policy[flag]).__name__}")
                mode = policy.get("consent")
                if mode is not None and mode not in CONSENT_MODES:
                    raise TraitError(
                        f"{self.name}[{schema_id!r}]['consent'] must be one of "
                        f"{', '.join(CONSENT_MODES)}, got {mode!r}")
                out[schema_id] = FrozenDict(
                    {k: v if k in (*_FLAGS, "consent") else
                     FrozenList(_check_names(self.name or "", schema_id, k, v))
                     for k, v in policy.items()})
            return FrozenDict(out)
        self.error(obj, value)


def _check_text(where: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TraitError(f"{where} must be a non-empty string")


def check_deployment(value: Any) -> dict[str, Any]:
    """Check ``EventLog.deployment``: the facts an auditor asks for, shown in the notice.

    ``{"controller": str, "contact": str, "retention": str, "regimes": {"GDPR":
    {"legal_basis": str, "statement": str, "required_reason": str}, ...}}``; every key is
    optional, none other is accepted.
    """
    if not isinstance(value, dict):
        raise TraitError(f"EventLog.deployment must be a dict with keys {DEPLOYMENT_KEYS}")
    unknown = sorted(set(value) - set(DEPLOYMENT_KEYS))
    if unknown:
        raise TraitError(f"EventLog.deployment has unknown key(s) {unknown}; the allowed "
                         f"keys are {list(DEPLOYMENT_KEYS)}")
    for key in ("controller", "contact", "retention"):
        if key in value:
            _check_text(f"EventLog.deployment[{key!r}]", value[key])
    regimes = value.get("regimes", {})
    if not isinstance(regimes, dict):
        raise TraitError("EventLog.deployment['regimes'] must be a dict {regime: {...}}")
    for regime, facts in regimes.items():
        if regime not in REGIMES:
            raise TraitError(f"EventLog.deployment['regimes']: unknown regime {regime!r}; "
                             f"known: {', '.join(REGIMES)}")
        if not isinstance(facts, dict) or set(facts) - set(REGIME_KEYS):
            raise TraitError(f"EventLog.deployment['regimes'][{regime!r}] must be a dict with "
                             f"keys from {list(REGIME_KEYS)}")
        for key, text in facts.items():
            _check_text(f"EventLog.deployment['regimes'][{regime!r}][{key!r}]", text)
    return value


HandlerFactory = Callable[[], list[logging.Handler]]
