"""The privacy policy: categories, PII, allowed properties, nesting, null or keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from conftest import SCHEMA_ID

from telemetry_core import EventLog
from telemetry_core._privacy import (
    PII_CATEGORY,
    Policy,
    compile_plan,
    decisions,
    property_categories,
)

EVENT: dict[str, Any] = {
    "name": "opened", "count": 2, "user": "ada", "location": "Zurich",
    "details": {"size": 10, "email": "ada@example.org"},
    "files": [{"kind": "nb", "path": "/home/ada/a.ipynb"}, {"kind": "csv"}],
}


def record(schema: dict[str, Any], allowed: Any, **traits: Any) -> dict[str, Any]:
    if isinstance(allowed, dict):  # these tests are about redaction, not consent (its own tests)
        allowed = {sid: {"consent": "required", **(p or {})} for sid, p in allowed.items()}
    log = EventLog(allowed_schemas=allowed, **traits)
    log.register_schema(schema)
    recorded = log.record_event(SCHEMA_ID, 1, EVENT)
    assert recorded is not None
    return recorded


def test_categories_of_a_property():
    assert property_categories({}) == ["unrestricted"]
    assert property_categories({"pii": True}) == [PII_CATEGORY]
    assert property_categories({"categories": ["geo"], "pii": True}) == ["geo", PII_CATEGORY]
    assert property_categories({"personal-data": True}) == [PII_CATEGORY]
    assert property_categories({"pii": False}) == ["unrestricted"]


def test_list_form_redacts_personal_data_and_categorised_properties(schema):
    got = record(schema, [SCHEMA_ID])
    assert got["name"] == "opened" and got["count"] == 2
    assert got["user"] is None  # pii
    assert got["location"] is None  # category "geo" not allowed
    assert got["details"] == {"size": 10, "email": None}  # nested: same rule at each level
    assert got["files"] == [{"kind": "nb", "path": None}, {"kind": "csv"}]


def test_allowed_categories_keep_properties(schema):
    got = record(schema, {SCHEMA_ID: {"allowed_categories": [PII_CATEGORY]}})
    assert got["user"] == "ada"
    assert got["details"]["email"] == "ada@example.org"
    assert got["files"][0]["path"] == "/home/ada/a.ipynb"
    assert got["location"] is None  # geo is still not allowed


def test_every_category_must_be_allowed(schema):
    schema["properties"]["location"]["pii"] = True  # now geo + user-identifiable-information
    got = record(schema, {SCHEMA_ID: {"allowed_categories": ["geo"]}})
    assert got["location"] is None
    got = record(schema, {SCHEMA_ID: {"allowed_categories": ["geo", PII_CATEGORY]}})
    assert got["location"] == "Zurich"


def test_allowed_properties_keep_named_properties(schema):
    got = record(schema, {SCHEMA_ID: {"allowed_properties": ["location", "email"]}})
    assert got["location"] == "Zurich"
    assert got["details"]["email"] == "ada@example.org"  # names apply at any level
    assert got["user"] is None


def test_redacted_parent_redacts_its_whole_value(schema):
    schema["properties"]["details"]["categories"] = ["internal"]
    got = record(schema, {SCHEMA_ID: {"allowed_categories": [PII_CATEGORY]}})
    assert got["details"] is None


def test_empty_policy_dict_behaves_like_the_list_form(schema):
    def payload(allowed: Any) -> dict[str, Any]:
        return {k: v for k, v in record(schema, allowed).items() if not k.startswith("__")}

    assert payload({SCHEMA_ID: {}}) == payload([SCHEMA_ID])


def test_hash_redaction_is_a_keyed_hmac(schema):
    got = record(schema, [SCHEMA_ID], redaction="hash", redaction_secret="s3cret")
    expected = "hmac-sha256:" + hmac.new(b"s3cret", json.dumps("ada").encode(),
                                         hashlib.sha256).hexdigest()
    assert got["user"] == expected
    assert got["details"]["email"].startswith("hmac-sha256:")
    other = record(schema, [SCHEMA_ID], redaction="hash", redaction_secret="other")
    assert other["user"] != got["user"]  # without the key, no dictionary attack
    again = record(schema, [SCHEMA_ID], redaction="hash", redaction_secret="s3cret")
    assert again["user"] == got["user"]  # same value, same pseudonym: events still join


def test_hash_secret_from_the_environment(schema, monkeypatch):
    monkeypatch.setenv("TELEMETRY_REDACTION_SECRET", "from-env")
    got = record(schema, [SCHEMA_ID], redaction="hash")
    assert got["user"] == "hmac-sha256:" + hmac.new(
        b"from-env", b'"ada"', hashlib.sha256).hexdigest()


def test_hash_without_a_secret_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TELEMETRY_REDACTION_SECRET", raising=False)
    with pytest.raises(ValueError, match="needs a secret"):
        EventLog(allowed_schemas=[SCHEMA_ID], redaction="hash")


def test_modifier_cannot_unhash_or_double_hash(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID], redaction="hash", redaction_secret="k")
    log.register_schema(schema)
    log.add_modifier(lambda schema_id, data: {**data, "location": "Zurich"})
    got = log.record_event(SCHEMA_ID, 1, EVENT)
    plain = record(schema, [SCHEMA_ID], redaction="hash", redaction_secret="k")
    assert got["location"] == plain["location"]  # the raw value put back is hashed again
    assert got["user"] == plain["user"]  # a pseudonym is not hashed twice


def test_changing_the_policy_takes_effect(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, EVENT)["user"] is None
    log.allowed_schemas = {SCHEMA_ID: {"allowed_properties": ["user"], "consent": "required"}}
    assert log.record_event(SCHEMA_ID, 1, EVENT)["user"] == "ada"


def test_decisions_list_every_property_with_its_fate(schema):
    policy = Policy(allowed_properties=frozenset({"location"}), redaction="hash", secret=b"k")
    plan = compile_plan(schema, policy)
    fates = {d.path: (d.decision, d.personal) for d in decisions(plan, policy)}
    assert fates == {
        "name": ("kept", False), "count": ("kept", False), "user": ("hashed", True),
        "location": ("kept", True), "details": ("kept", False),
        "details.size": ("kept", False), "details.email": ("hashed", True),
        "files": ("kept", False), "files[].kind": ("kept", False),
        "files[].path": ("hashed", True),
    }
