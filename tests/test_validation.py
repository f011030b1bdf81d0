"""The compiled hot path accepts and rejects exactly what jsonschema does."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import pytest
from conftest import TEST_SCHEMA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from telemetry_core import EventValidationError
from telemetry_core._schema_registry import builtin_schemas
from telemetry_core._validation import EventValidator


def _shim_hypothesis_many() -> None:
    """hypothesis-jsonschema 0.23 drives ``many`` with ``.more()``, which newer Hypothesis
    replaced by ``with many(...) as elements: for _ in elements``. Give it ``more()`` on
    top of the new protocol (only where it is missing)."""
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more"):
        return

    def more(self: Any) -> bool:
        if getattr(self, "_compat_iter", None) is None:
            self.__enter__()
            self._compat_iter = iter(self)
        try:
            next(self._compat_iter)
            return True
        except StopIteration:
            self.__exit__(None)
            return False

    cu.many.more = more  # type: ignore[attr-defined]


_shim_hypothesis_many()

# Keywords where two implementations most easily disagree: numbers that are integers,
# patterns, uniqueness, combinators, bounds, const and closed objects.
TRICKY: dict[str, Any] = {
    "$id": "https://example.org/tricky", "version": 1, "type": "object",
    "additionalProperties": False,
    "properties": {
        "n": {"type": "integer", "minimum": -5, "exclusiveMaximum": 100, "multipleOf": 5},
        "x": {"type": "number", "maximum": 1.5},
        "s": {"type": "string", "pattern": "^[a-z]+-[0-9]{2}$", "minLength": 4},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                 "maxItems": 3},
        "choice": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 10}]},
        "flag": {"const": True},
        "mail": {"type": "string", "format": "email"},  # formats are annotations in both
        "kind": {"enum": ["a", 1, None]},
        "nested": {"type": "object", "required": ["k"],
                   "properties": {"k": {"type": ["string", "null"]}}},
    },
}

SCHEMAS = [TEST_SCHEMA, TRICKY, *(s.schema for s in builtin_schemas())]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@functools.cache
def _validators(schema_id: str) -> tuple[EventValidator, Any]:
    schema = next(s for s in SCHEMAS if s["$id"] == schema_id)
    fast = EventValidator(schema, schema_id, str(schema["version"]))
    return fast, jsonschema.validators.validator_for(schema)(schema)


def _agree(schema: dict[str, Any], event: Any) -> bool:
    fast_validator, rich_validator = _validators(schema["$id"])
    fast, rich = fast_validator.is_valid(event), rich_validator.is_valid(event)
    assert fast == rich, f"hot path says {fast}, jsonschema says {rich} for {event!r}"
    return fast


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s["$id"].rsplit("/", 1)[-1])
@SETTINGS
@given(data=st.data())
def test_valid_events_generated_from_the_schema_are_accepted_by_both(schema, data):
    event = data.draw(from_schema(schema))
    assert _agree(schema, event)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s["$id"].rsplit("/", 1)[-1])
@SETTINGS
@given(data=st.data())
def test_mutated_events_get_the_same_verdict_from_both(schema, data):
    event = dict(data.draw(from_schema(schema)))
    names = sorted(schema["properties"])
    for name in data.draw(st.lists(st.sampled_from(names), max_size=3)):
        event[name] = data.draw(JSON)
    if data.draw(st.booleans()) and event:
        del event[data.draw(st.sampled_from(sorted(event)))]
    _agree(schema, event)


@SETTINGS
@given(event=JSON)
def test_arbitrary_values_get_the_same_verdict_from_both(event):
    for schema in (TEST_SCHEMA, TRICKY):
        _agree(schema, event)


def test_rejected_event_gets_jsonschemas_best_message_and_path():
    validator = EventValidator(TRICKY, TRICKY["$id"], "1")
    with pytest.raises(EventValidationError) as info:
        validator.validate({"s": "abc-1x"})
    err = info.value
    assert err.json_path == "$.s"
    assert err.validator == "pattern"
    assert err.message.endswith(": $.s: pattern") and "abc-1x" not in str(err)
    assert "schema 'https://example.org/tricky' version 1" in err.message
    # Only a debug setting lets the value into the message.
    debug = validator.error_for({"s": "abc-1x"}, debug_values=True)
    assert "'abc-1x' does not match" in debug.message and debug.instance == "abc-1x"


def test_unsupported_schema_is_an_error_at_registration():
    from telemetry_core import InvalidSchemaError

    bad = {"$id": "x", "version": 1, "properties": {"a": {"pattern": "(?<!x"}}}
    with pytest.raises(InvalidSchemaError):
        EventValidator(bad, "x", "1")
