"""Issue #14: marks honoured under every applicator, no side door for undeclared
properties, no values in errors, and hostile input gets a documented error."""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import pathlib
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry_core import (
    EventLog,
    EventValidationError,
    InvalidSchemaError,
    SchemaLoadError,
    SchemaNotRegisteredError,
)
from telemetry_core._notice import render_notice

SID = "https://example.org/telemetry/hardening"
SECRET = "k"
SECRET_VALUE = "ada@example.org"  # what must never be recorded verbatim
MODES = [{"redaction": "null"}, {"redaction": "hash", "redaction_secret": SECRET}]


def make_log(schema: dict[str, Any], policy: Any = None, **traits: Any) -> EventLog:
    log = EventLog(allowed_schemas=policy or [SID], register_builtin_schemas=False, **traits)
    log.register_schema({"$id": SID, "version": 1, "type": "object", **schema})
    return log


PII = {"type": "string", "pii": True}
CAT = {"type": "string", "categories": ["contact"]}

# (schema, an event that puts SECRET_VALUE where the schema marks it)
CONSTRUCTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "$ref to $defs": ({"$defs": {"who": PII}, "properties": {"u": {"$ref": "#/$defs/who"}}},
                      {"u": SECRET_VALUE}),
    "categories through $ref": ({"$defs": {"c": CAT}, "properties": {"u": {"$ref": "#/$defs/c"}}},
                                {"u": SECRET_VALUE}),
    "items of a plain array": ({"properties": {"u": {"type": "array", "items": PII}}},
                               {"u": ["x", SECRET_VALUE]}),
    "arrays of arrays": ({"properties": {"u": {"type": "array", "items": {
        "type": "array", "items": PII}}}}, {"u": [[SECRET_VALUE]]}),
    "prefixItems": ({"properties": {"u": {"type": "array", "prefixItems": [
        {"type": "string"}, PII]}}}, {"u": ["x", SECRET_VALUE]}),
    "draft-07 tuple items": ({"$schema": "http://json-schema.org/draft-07/schema#",
                              "properties": {"u": {"type": "array", "items": [
        {"type": "string"}], "additionalItems": PII}}}, {"u": ["x", SECRET_VALUE]}),
    "additionalProperties": ({"properties": {"u": {"type": "object",
                                                   "additionalProperties": PII}}},
                             {"u": {"anything": SECRET_VALUE}}),
    "patternProperties": ({"properties": {"u": {"type": "object", "patternProperties": {
        "^e": PII}}}}, {"u": {"email": SECRET_VALUE}}),
    "oneOf branch": ({"properties": {"u": {"oneOf": [{"type": "integer"}, PII]}}},
                     {"u": SECRET_VALUE}),
    "anyOf branch": ({"properties": {"u": {"anyOf": [{"type": "integer"}, PII]}}},
                     {"u": SECRET_VALUE}),
    "allOf branch": ({"properties": {"u": {"allOf": [{"type": "string"}, {"pii": True}]}}},
                     {"u": SECRET_VALUE}),
    "then": ({"properties": {"u": {"if": {"type": "string"}, "then": {"pii": True}}}},
             {"u": SECRET_VALUE}),
    "else": ({"properties": {"u": {"if": {"type": "integer"}, "else": {"pii": True}}}},
             {"u": SECRET_VALUE}),
    "property declared in a oneOf object branch": (
        {"oneOf": [{"properties": {"u": PII}}, {"properties": {"v": {"type": "integer"}},
                                                  "required": ["v"]}]},
        {"u": SECRET_VALUE}),
    "recursive schema": ({"$defs": {"node": {"type": "object", "properties": {
        "who": PII, "child": {"$ref": "#/$defs/node"}}}},
        "properties": {"tree": {"$ref": "#/$defs/node"}}},
        {"tree": {"child": {"child": {"who": SECRET_VALUE}}}}),
}


@pytest.mark.parametrize("mode", MODES, ids=["null", "hash"])
@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_marks_are_honoured_under_every_applicator(name, mode):
    schema, event = CONSTRUCTS[name]
    log = make_log(schema, **mode)
    recorded = log.record_event(SID, 1, event)
    text = json.dumps(recorded)
    assert SECRET_VALUE not in text
    if mode["redaction"] == "hash":
        assert "hmac-sha256:" in text
    # The notice lists the place as personal data, not kept.
    notice = json.loads(render_notice(log, "json"))
    fates = [p["decision"] for p in notice["schemas"][0]["properties"] if p["categories"] != [
        "unrestricted"]]
    assert fates and set(fates) == {"hashed" if mode["redaction"] == "hash" else "redacted"}


# Hypothesis: wrap a marked leaf in any stack of applicators; the value never leaks.
def _wrap(kind: str, inner: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    return {
        "ref": (inner, None),  # placed in $defs by _flatten_defs
        "array": ({"type": "array", "items": inner}, "list"),
        "prefix": ({"type": "array", "prefixItems": [inner]}, "list"),
        "additional": ({"type": "object", "additionalProperties": inner}, "obj"),
        "pattern": ({"type": "object", "patternProperties": {"^k": inner}}, "obj"),
        "property": ({"type": "object", "properties": {"k": inner}}, "obj"),
        "anyOf": ({"anyOf": [{"type": "null"}, inner]}, None),
        "oneOf": ({"oneOf": [{"type": "null"}, inner]}, None),
        "allOf": ({"allOf": [inner]}, None),
        "then": ({"if": True, "then": inner}, None),
    }[kind]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(["ref", "array", "prefix", "additional", "pattern",
                                        "property", "anyOf", "oneOf", "allOf", "then"]),
                      max_size=5),
       hashed=st.booleans(), leaf_mark=st.sampled_from(["pii", "personal-data", "categories"]))
def test_any_stack_of_applicators_redacts_the_marked_leaf(kinds, hashed, leaf_mark):
    leaf: dict[str, Any] = {"type": "string"}
    leaf.update({"categories": ["contact"]} if leaf_mark == "categories" else {leaf_mark: True})
    value: Any = SECRET_VALUE
    for kind in kinds:
        shape = _wrap(kind, leaf)[1]
        value = [value] if shape == "list" else {"k": value} if shape == "obj" else value
    root = {"$defs": _flatten_defs(kinds, leaf), "properties": {"u": _rebuild(kinds, leaf)}}
    log = make_log(root, **MODES[hashed])
    recorded = log.record_event(SID, 1, {"u": value})
    assert SECRET_VALUE not in json.dumps(recorded)


def _rebuild(kinds: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    # With refs: each "ref" level n points at $defs/xn, which holds the schema below it.
    schema = leaf
    for n, kind in enumerate(kinds):
        schema = {"$ref": f"#/$defs/x{n}"} if kind == "ref" else _wrap(kind, schema)[0]
    return schema


def _flatten_defs(kinds: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    schema = leaf
    for n, kind in enumerate(kinds):
        if kind == "ref":
            defs[f"x{n}"] = schema
            schema = {"$ref": f"#/$defs/x{n}"}
        else:
            schema = _wrap(kind, schema)[0]
    return defs


@pytest.mark.parametrize("construct", ["not", "contains", "propertyNames"])
def test_marks_that_cannot_be_honoured_are_refused_naming_construct_and_path(construct):
    schema = {"properties": {"u": {construct: PII}}}
    with pytest.raises(InvalidSchemaError, match=rf"\$\.properties\.u\.{construct}: marks "):
        make_log(schema)


def test_a_bad_mark_anywhere_is_refused():
    with pytest.raises(InvalidSchemaError, match=r"u\.\$ref\.pii: must be true or false"):
        make_log({"$defs": {"w": {"pii": "yes"}}, "properties": {"u": {"$ref": "#/$defs/w"}}})


@pytest.mark.parametrize("mode", MODES[1:], ids=["hash"])
def test_a_pseudonym_lookalike_is_hashed_too(mode):
    log = make_log({"properties": {"u": PII}}, **mode)
    forged = "hmac-sha256:" + "0" * 64
    assert log.record_event(SID, 1, {"u": forged})["u"] != forged


def test_a_modifier_cannot_forge_a_pseudonym_but_keeps_ours():
    log = make_log({"properties": {"u": PII, "v": PII}}, **MODES[1])
    plain = log.record_event(SID, 1, {"u": "ada", "v": "bob"})
    forged = "hmac-sha256:" + "1" * 64
    log.add_modifier(lambda schema_id, data: {**data, "v": forged})
    got = log.record_event(SID, 1, {"u": "ada", "v": "bob"})
    assert got["u"] == plain["u"]  # ours, untouched: not hashed twice
    assert got["v"] not in (forged, plain["v"])  # the modifier's value is hashed


# -- 2. undeclared properties ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES, ids=["null", "hash"])
def test_undeclared_properties_are_dropped_and_counted(mode, caplog):
    schema = {"properties": {"kernel_id": {"type": "string"}, "user": PII,
                             "cell": {"type": "object", "properties": {"n": {"type": "integer"}}}}}
    log = make_log(schema, **mode)
    with caplog.at_level(logging.WARNING, logger="telemetry_core"):
        got = log.record_event(SID, 1, {"kernel_id": "k1", "user": "ada", "email": SECRET_VALUE,
                                        "cell": {"n": 1, "email": SECRET_VALUE}})
    assert "email" not in got and got["cell"] == {"n": 1}
    assert log.undeclared_dropped == {(SID, "1"): 2}
    assert SECRET_VALUE not in caplog.text and "email" not in caplog.text
    assert "does not declare" in caplog.text
    notice = render_notice(log, "text")
    assert "Properties not listed here are dropped." in notice


def test_keep_undeclared_is_an_explicit_per_schema_policy_and_the_notice_says_so():
    log = make_log({"properties": {"kernel_id": {"type": "string"}}},
                   {SID: {"keep_undeclared": True}})
    # Kept undeclared properties may be anything, personal data included: the schema's
    # consent default becomes opt-in, and an administrator who keeps them for everyone
    # says so.
    assert log.consent.mode(SID) == "opt-in"
    assert log.record_event(SID, 1, {"kernel_id": "k1", "email": "e"}) is None
    log.allowed_schemas = {SID: {"keep_undeclared": True, "consent": "required"}}
    got = log.record_event(SID, 1, {"kernel_id": "k1", "email": "e"})
    assert got["email"] == "e"
    assert "Properties not listed here are KEPT" in render_notice(log, "text")
    assert json.loads(render_notice(log, "json"))["schemas"][0][
        "undeclared_properties"] == "kept"


# -- 3. errors and logs carry no values -----------------------------------------------


@settings(max_examples=60, deadline=None)
@given(secret=st.text(min_size=1).map(lambda s: "\u2603" + s))  # a snowman: not in our text
def test_validation_errors_never_quote_the_value(secret):
    log = make_log({"properties": {"code": {"type": "integer"}, "tag": {"enum": ["a"]}},
                    "required": ["code"]})
    for event in ({"code": secret}, {"code": 1, "tag": secret}):
        with pytest.raises(EventValidationError) as info:
            log.record_event(SID, 1, event)
        err = info.value
        shown = f"{err} {err!r} {err.message} {err.args}"
        assert secret not in shown and repr(secret) not in shown
        assert err.json_path in ("$.code", "$.tag") and SID in shown


def test_debug_setting_lets_values_into_errors():
    log = make_log({"properties": {"code": {"type": "integer"}}}, debug_values_in_errors=True)
    with pytest.raises(EventValidationError, match="hunter2"):
        log.record_event(SID, 1, {"code": "password='hunter2'"})


# -- 4. hostile or careless input -----------------------------------------------------


class Thing:
    pass


NOT_JSON = [datetime.datetime(2020, 1, 1), b"ada", {1, 2}, decimal.Decimal("1.5"),
            uuid.UUID(int=1), pathlib.Path("/home/ada"), Thing(), float("nan"),
            float("inf"), "\ud800", (1, 2), 2**80]


@pytest.mark.parametrize("value", NOT_JSON, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("where", ["top", "nested", "in a list"])
def test_non_json_values_are_an_error_naming_the_path(value, where):
    # The schema says "anything": the JSON check does not depend on the schema's type.
    log = make_log({"properties": {"a": {}, "b": {}}})
    event, path = {
        "top": ({"a": value}, "$.a"),
        "nested": ({"b": {"c": value}}, "$.b.c"),
        "in a list": ({"b": [1, value]}, "$.b[1]"),
    }[where]
    with pytest.raises(EventValidationError) as info:
        log.record_event(SID, 1, event)
    assert info.value.json_path == path and path in info.value.message


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63),
                      st.floats(allow_nan=False, allow_infinity=False), st.text())
not_json_leaf = st.one_of(st.binary(), st.datetimes(), st.uuids(), st.decimals(),
                          st.frozensets(st.integers()), st.tuples(st.integers()),
                          st.sampled_from([float("nan"), float("inf"), -float("inf")]),
                          st.integers(min_value=2**64), st.builds(Thing))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_non_json_value_anywhere_is_a_validation_error(data):
    bad = data.draw(not_json_leaf)
    tree = data.draw(st.recursive(
        json_leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
            st.text(max_size=3), kids, max_size=3), max_leaves=8))
    event = {"a": [tree, {"x": bad}]}
    log = make_log({"properties": {"a": {}}})
    with pytest.raises(EventValidationError) as info:
        log.record_event(SID, 1, event)
    assert info.value.json_path == "$.a[1].x"


def test_a_non_string_key_is_an_error():
    log = make_log({"properties": {"a": {}}})
    with pytest.raises(EventValidationError, match=r"\$\.a: key_type$"):
        log.record_event(SID, 1, {"a": {1: "x"}})


def _deep(depth: int) -> dict[str, Any]:
    event: dict[str, Any] = {}
    node = event
    for _ in range(depth):
        node["child"] = {}
        node = node["child"]
    return event


@pytest.mark.parametrize("depth", [100, 5_000, 50_000])
def test_deep_events_are_rejected_before_the_validator(depth):
    recursive = {"$defs": {"n": {"type": "object", "properties": {
        "child": {"$ref": "#/$defs/n"}}}}, "properties": {"child": {"$ref": "#/$defs/n"}}}
    log = make_log(recursive)
    with pytest.raises(EventValidationError, match=r"\.child: max_event_depth$"):
        log.record_event(SID, 1, _deep(depth))
    assert log.record_event(SID, 1, _deep(20)) is not None


def test_depth_and_size_bounds_are_configurable():
    log = make_log({"properties": {"a": {}}}, max_event_depth=2, max_event_size=100)
    assert log.record_event(SID, 1, {"a": {"b": 1}}) is not None
    with pytest.raises(EventValidationError, match=r"\$\.a\.b: max_event_depth$"):
        log.record_event(SID, 1, {"a": {"b": {"c": 1}}})
    with pytest.raises(EventValidationError, match=r"version 1: \$: max_event_size$"):
        log.record_event(SID, 1, {"a": "x" * 200})


def test_non_utf8_schema_file_is_a_load_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"$id: x\nversion: 1\ntitle: caf\xe9\n")
    with pytest.raises(SchemaLoadError, match="not UTF-8"):
        EventLog().register_schema(path)


def test_self_referencing_schema_dict_is_a_schema_error():
    schema: dict[str, Any] = {"$id": SID, "version": 1, "properties": {}}
    schema["properties"]["me"] = schema
    with pytest.raises(InvalidSchemaError, match="contains itself"):
        EventLog().register_schema(schema)


@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/other.json", "file:///etc/passwd"])
def test_remote_and_file_references_are_refused_by_default(ref):
    with pytest.raises(InvalidSchemaError, match=r"\$\.properties\.u\.\$ref: .*not a registered"):
        make_log({"properties": {"u": {"$ref": ref}}})


def test_references_to_registered_schemas_work_without_any_fetch():
    log = EventLog(allowed_schemas=[SID], register_builtin_schemas=False)
    log.register_schema({"$id": "https://example.org/defs", "version": 1, "$defs": {
        "who": PII}})
    log.register_schema({"$id": SID, "version": 1, "type": "object", "properties": {
        "u": {"$ref": "https://example.org/defs#/$defs/who"}}})
    assert log.record_event(SID, 1, {"u": "ada"})["u"] is None
    with pytest.raises(EventValidationError, match=r"\$\.u"):
        log.record_event(SID, 1, {"u": 3})


@pytest.mark.parametrize("version", [True, 1.0, None, [1]])
def test_odd_versions_give_the_same_answer_every_time(version):
    log = make_log({"properties": {"a": {}}})
    with pytest.raises(SchemaNotRegisteredError):
        log.record_event(SID, version, {"a": 1})
    log.record_event(SID, 1, {"a": 1})
    with pytest.raises(SchemaNotRegisteredError):
        log.record_event(SID, version, {"a": 1})


def test_allowed_schemas_cannot_be_changed_in_place():
    log = make_log({"properties": {"a": {}}})
    with pytest.raises(TypeError, match="assign a new value"):
        log.allowed_schemas.remove(SID)
    log2 = make_log({"properties": {"a": {}}}, {SID: {"allowed_categories": []}})
    with pytest.raises(TypeError):
        del log2.allowed_schemas[SID]
    with pytest.raises(TypeError):
        log2.allowed_schemas[SID]["allowed_categories"].append("contact")
    log.allowed_schemas = []  # assigning is seen
    assert log.record_event(SID, 1, {"a": 1}) is None
