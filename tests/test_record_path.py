"""The fast paths of record_event decide exactly what the slow ones decide.

record_event takes shortcuts for the common event (a JSON check that loops only where
it must, a flat redaction plan, the top-level names tested once); each is checked here
against the general code it stands in for, over generated events.
"""

from __future__ import annotations

import copy
import datetime
import io
import logging
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry_core import EventLog, EventValidationError
from telemetry_core._envelope import Envelope, new_clock
from telemetry_core._privacy import _MISSING, Redactor
from telemetry_core._validation import NotJSONError, _explain, _NotJSON, json_bytes

SID = "https://example.org/telemetry/record-path"
FLAT_SCHEMA: dict[str, Any] = {
    "properties": {
        "kernel": {"type": "string"},
        "user": {"type": "string", "pii": True},
        "email": {"categories": ["contact"]},
        "cell": {"type": "object", "properties": {"index": {}, "notebook": {}}},
        "tags": {"type": "array"},
    },
}


def make_log(schema: dict[str, Any], **traits: Any) -> EventLog:
    log = EventLog(allowed_schemas=[SID], register_builtin_schemas=False, **traits)
    log.register_schema({"$id": SID, "version": 1, "type": "object", **schema})
    return log


def redactor_of(log: EventLog) -> Redactor:
    log.record_event(SID, 1, {})  # builds the route
    route = log._routes[(SID, 1, int)]
    assert route is not None and route.redactor is not None
    return route.redactor


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
json_value = st.recursive(
    json_leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.text(max_size=3), kids, max_size=3), max_leaves=10)
names = st.sampled_from(["kernel", "user", "email", "cell", "tags", "extra", "__x"])
cell = st.dictionaries(st.sampled_from(["index", "notebook", "other"]), json_value,
                       max_size=3)
events = st.dictionaries(names, st.one_of(json_value, cell), max_size=6)


@pytest.mark.parametrize("mode", [{"redaction": "null"},
                                  {"redaction": "hash", "redaction_secret": "k"}])
@settings(max_examples=200, deadline=None)
@given(event=events)
def test_flat_plan_redacts_and_drops_as_the_general_walk_does(mode, event):
    redactor = redactor_of(make_log(FLAT_SCHEMA, **mode))
    assert redactor._flat is not None  # this schema takes the flat path
    general = copy.deepcopy(event)
    redactor._dict(redactor.root, general, _MISSING, general)
    fast = copy.deepcopy(event)
    changed = redactor.redact_owned(fast)
    assert fast == general
    assert changed or fast == event
    # What record_event passes when every top-level name is declared.
    if event.keys() <= set(FLAT_SCHEMA["properties"]):
        told = copy.deepcopy(event)
        redactor.redact_owned(told, keys_declared=True)
        assert told == general


@pytest.mark.parametrize("schema", [
    {"patternProperties": {"^x": {"pii": True}}},
    {"properties": {"a": {"type": "object", "properties": {"b": {"pii": True}}}}},
    {"properties": {"a": {"type": "array", "items": {"pii": True}}}},
    {"additionalProperties": {"pii": True}},
])
def test_schemas_with_deeper_marks_take_the_general_walk(schema):
    assert redactor_of(make_log(schema))._flat is None


def test_marked_value_is_redacted_on_the_flat_path_and_the_callers_dict_kept():
    log = make_log(FLAT_SCHEMA)
    event = {"kernel": "k", "user": "ada", "cell": {"index": 1, "secret": "s"}}
    recorded = log.record_event(SID, 1, event)
    assert recorded is not None
    assert recorded["user"] is None and recorded["cell"] == {"index": 1}
    assert event == {"kernel": "k", "user": "ada", "cell": {"index": 1, "secret": "s"}}


def _verdict(event: dict[str, Any], max_depth: int, max_size: int) -> bool:
    """The slow, plain judgement: a JSON value (the detailed walk), within bounds."""
    try:
        _explain(event, 1, max_depth)
    except _NotJSON:
        return False
    return len(orjson.dumps(event)) <= max_size


not_json_leaf = st.one_of(st.sampled_from([float("nan"), float("inf"), (1,), b"x", "\ud800",
                                           2**64, {1: "x"}, {"x"}]), st.uuids(),
                          st.datetimes())
maybe_json = st.recursive(
    st.one_of(json_leaf, not_json_leaf),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids,
                                                              max_size=3),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(st.text(max_size=3).filter(lambda k: k[:2] != "__"),
                             maybe_json, max_size=4),
       max_depth=st.integers(1, 4), max_size=st.integers(2, 200))
def test_json_check_fast_path_agrees_with_the_detailed_walk(event, max_depth, max_size):
    ok = _verdict(event, max_depth, max_size)
    try:
        raw = json_bytes(event, max_depth, max_size)
    except NotJSONError:
        assert not ok
    else:
        assert ok and raw == orjson.dumps(event)


@pytest.mark.parametrize("max_depth", [1, 2, 5])
def test_depth_bound_is_exact(max_depth):
    def nested(levels: int) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for _ in range(levels - 1):
            event = {"a": event}
        return event

    json_bytes(nested(max_depth), max_depth)
    json_bytes({"l": [[]] if max_depth >= 3 else 1}, max_depth)
    with pytest.raises(NotJSONError, match="max_event_depth"):
        json_bytes(nested(max_depth + 1), max_depth)


@settings(max_examples=200, deadline=None)
@given(schema_id=st.text(min_size=1, max_size=20), version=st.integers(0, 99) | st.text(max_size=4),
       event=st.dictionaries(st.text(max_size=4).filter(lambda k: k[:2] != "__"), json_value,
                             max_size=4))
def test_envelope_text_around_the_events_bytes_is_what_orjson_writes(schema_id, version, event):
    try:
        body = orjson.dumps(event)
    except TypeError:  # a lone surrogate: never reaches the envelope
        return
    envelope = Envelope(schema_id.encode("utf-8", "replace").decode(), version)
    timestamp, event_id = new_clock().now()
    recorded = envelope.fields | event
    recorded["__timestamp__"], recorded["__event_id__"] = timestamp, event_id
    assert envelope.json(timestamp, event_id, body) == orjson.dumps(recorded)


@pytest.mark.parametrize("event", [
    {}, {"kernel": "k"}, {"kernel": "k", "user": "ada"}, {"kernel": "k", "extra": 1},
    {"cell": {"index": 2, "other": "x"}, "tags": ["a"]},
])
def test_what_handlers_get_is_the_recorded_event(event):
    stream = io.StringIO()
    log = make_log(FLAT_SCHEMA, handlers=[logging.StreamHandler(stream)])
    recorded = log.record_event(SID, 1, event)
    with_override = log.record_event(SID, 1, event, datetime.datetime(2020, 1, 2, 3, 4, 5, 6))
    lines = stream.getvalue().splitlines()
    assert [orjson.loads(line) for line in lines] == [recorded, with_override]
    assert lines[0].encode() == orjson.dumps(recorded)


def test_depth_bound_above_what_orjson_writes_is_254():
    log = make_log({"properties": {"a": {}}}, max_event_depth=1000)

    def nested(levels: int) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for _ in range(levels - 1):
            event = {"a": event}
        return event

    assert log.record_event(SID, 1, nested(254)) is not None
    for levels in (255, 2000):
        with pytest.raises(EventValidationError, match=r": \$(\.a)+: max_event_depth$"):
            log.record_event(SID, 1, nested(levels))
