"""Consent: who an event is about, the three modes, decisions, re-consent, bad input.

These run on the default store (a real SQLite file under a temp XDG_STATE_HOME);
tests/test_consent_store.py runs the store's behaviour on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import os
import stat
from typing import Any

import pytest
from conftest import SCHEMA_ID
from hypothesis import given, settings
from hypothesis import strategies as st
from traitlets import TraitError

from telemetry_core import ConsentError, EventLog, acting_as, current_user
from telemetry_core.consent import (
    CONSENT_SCHEMA_ID,
    KEPT,
    Consent,
    ConsentPolicy,
    ConsentStoreUnavailable,
    Decision,
)
from telemetry_core.testing import capture_events

OTHER_ID = "https://example.org/telemetry/other-event"
EVENT = {"name": "opened", "user": "ada"}


def make_log(schema: dict[str, Any], mode: str | None = None, **traits: Any) -> EventLog:
    """The test schema kept with its personal data (``user``): opt-in unless ``mode``."""
    policy: dict[str, Any] = {"allowed_properties": ["user"]}
    if mode is not None:
        policy["consent"] = mode
    log = EventLog(allowed_schemas={SCHEMA_ID: policy, CONSENT_SCHEMA_ID: {}}, **traits)
    log.register_schema(schema)
    return log


# -- Consent on its own: a policy view, no EventLog ----------------------------------------


def test_consent_is_built_and_decides_from_a_policy_view_alone(tmp_path):
    store = f"sqlite:///{tmp_path / 'consent.sqlite3'}"
    decided: list[Decision] = []
    policy = ConsentPolicy(
        allowed={"s:kept": None, "s:plain": None, "s:out": "opt-out", CONSENT_SCHEMA_ID: None},
        groups={"research": ("s:kept", "s:out")}, store_url=store, cache_ttl=0,
        collected=lambda: {"s:kept": {"personal:user": KEPT}, "s:plain": {"other:n": KEPT}})
    consent = Consent(policy, on_decision=decided.append)
    # Modes: configured, or opt-in exactly where personal data is kept.
    assert [consent.mode(s) for s in ("s:kept", "s:plain", "s:out")] == [
        "opt-in", "required", "opt-out"]
    assert not consent.permits("ada", "s:kept") and consent.permits("ada", "s:out")
    decision = consent.grant("ada", "research", via="test")
    assert consent.permits("ada", "s:kept") and consent.groups_of("s:out") == ("research",)
    consent.revoke("ada", "s:out")
    assert not consent.permits("ada", "s:out") and consent.permits("ada", "s:kept")
    # Each decision went out through the callback, the EventLog's way of recording it.
    assert [(d.scope, d.granted) for d in decided] == [("research", True), ("s:out", False)]
    assert decided[0] == decision and decision.notice_version == consent.notice_version
    # A policy that collects more asks again; one without the decision schema is silent.
    consent.set_policy(dataclasses.replace(policy, allowed={"s:kept": None}, collected=lambda: {
        "s:kept": {"personal:user": KEPT, "personal:email": KEPT}}))
    assert consent.notice_version != decision.notice_version
    assert not consent.permits("ada", "s:kept")
    consent.grant("ada", "s:kept")
    assert consent.permits("ada", "s:kept") and len(decided) == 2
    consent.close()


def test_a_failing_decision_callback_is_logged_without_the_decision(tmp_path, caplog):
    def refuse(decision: Decision) -> None:
        raise RuntimeError(f"cannot record {decision.user}")

    consent = Consent(ConsentPolicy({"s": "opt-in", CONSENT_SCHEMA_ID: None},
                                    store_url=f"sqlite:///{tmp_path / 'c.sqlite3'}"), refuse)
    with caplog.at_level(logging.ERROR, "telemetry_core.consent"):
        consent.grant("ada", "s")  # the decision stands
    assert consent.permits("ada", "s")
    assert "RuntimeError" in caplog.text and "ada" not in caplog.text
    consent.close()


# -- who the event is about -----------------------------------------------------------


def test_acting_as_nests_and_restores():
    assert current_user() is None
    with acting_as("alice"):
        assert current_user() == "alice"
        with acting_as("bob"):
            assert current_user() == "bob"
        assert current_user() == "alice"
    assert current_user() is None


def test_acting_as_is_per_asyncio_task():
    async def as_user(name: str, seen: list[tuple[str, str | None]]) -> None:
        with acting_as(name):
            await asyncio.sleep(0)  # let the other task run inside its own block
            seen.append((name, current_user()))

    async def main() -> list[tuple[str, str | None]]:
        seen: list[tuple[str, str | None]] = []
        await asyncio.gather(as_user("alice", seen), as_user("bob", seen))
        return seen

    assert sorted(asyncio.run(main())) == [("alice", "alice"), ("bob", "bob")]


def test_context_user_and_keyword_user_decide_consent(schema):
    with make_log(schema) as log:
        log.consent.grant("alice", SCHEMA_ID)
        with acting_as("alice"):
            assert log.record_event(SCHEMA_ID, 1, EVENT) is not None
            # the explicit keyword wins over the context
            assert log.record_event(SCHEMA_ID, 1, EVENT, user="bob") is None
        with acting_as("bob"):
            assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None
            assert log.why_not_recorded(SCHEMA_ID) == "no_consent"
            assert log.why_not_recorded(SCHEMA_ID, user="alice") is None


def test_the_user_is_not_added_to_the_event(schema):
    with make_log(schema, "required") as log:
        recorded = log.record_event(SCHEMA_ID, 1, {"name": "x"}, user="alice")
        assert recorded is not None and "alice" not in repr(recorded)


# -- the modes ------------------------------------------------------------------------


def test_default_modes_follow_what_the_policy_keeps(schema):
    other = dict(copy.deepcopy(schema), **{"$id": OTHER_ID})
    third_id = OTHER_ID + "-3"
    third = dict(copy.deepcopy(schema), **{"$id": third_id})
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]},
                                    OTHER_ID: {"allowed_categories": ["geo"]},
                                    third_id: {"allowed_properties": ["name", "count"]}},
                   register_builtin_schemas=False)
    for each in (schema, other, third):
        log.register_schema(each)
    assert log.consent.mode(SCHEMA_ID) == "opt-in"  # keeps `user` (pii)
    # `location` has a category: data an administrator must allow, so keeping it asks
    assert log.consent.mode(OTHER_ID) == "opt-in"
    assert log.consent.mode(third_id) == "required"  # keeps nothing marked
    listed = EventLog(allowed_schemas=[SCHEMA_ID])
    listed.register_schema(schema)
    assert listed.consent.mode(SCHEMA_ID) == "required"  # list form: personal data redacted
    with pytest.raises(ConsentError, match="not in allowed_schemas"):
        log.consent.mode("https://example.org/unknown")


def test_a_bad_mode_is_a_configuration_error():
    with pytest.raises(Exception, match="must be one of required, opt-in, opt-out"):
        EventLog(allowed_schemas={SCHEMA_ID: {"consent": "maybe"}})


def test_required_records_for_everyone_without_a_store(schema):
    with make_log(schema, "required") as log:
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None
        assert log.record_event(SCHEMA_ID, 1, EVENT) is not None
        assert log.consent.permits("alice", SCHEMA_ID)
        assert log.consent._store is None  # never opened: nothing to ask
        with pytest.raises(ConsentError, match="only required schemas"):
            log.consent.revoke("alice", SCHEMA_ID)
        state = log.consent.state("alice")
        assert state["schemas"][0] == {"schema_id": SCHEMA_ID, "consent": "required",
                                       "granted": False, "recorded": True}


def test_opt_in_records_only_after_a_yes(schema):
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]}})
    log.register_schema(schema)
    with log:
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.record_event(SCHEMA_ID, 1, EVENT) is None  # nobody known: nobody said yes
        assert log.stats()["no_consent"] == 2
        log.consent.grant("alice", SCHEMA_ID)
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice")["user"] == "ada"
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="bob") is None
        log.consent.revoke("alice", SCHEMA_ID)  # takes effect at once in this process
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.stats() == {"not_allowed": 0, "no_consent": 4, "after_close": 0,
                               "no_user": 1, "consent_store_errors": 0}


def test_opt_out_records_unless_the_user_said_no(schema):
    with make_log(schema, "opt-out") as log:
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None
        assert log.record_event(SCHEMA_ID, 1, EVENT) is not None
        log.consent.revoke("alice", SCHEMA_ID, via="jupyterlab")
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="bob") is not None
        log.consent.grant("alice", SCHEMA_ID)
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None


def test_not_allowed_and_no_consent_are_told_apart(schema):
    with make_log(schema) as log:
        assert log.record_event("https://example.org/unknown", 1, {}) is None
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.stats()["not_allowed"] == 1 and log.stats()["no_consent"] == 1
        assert log.why_not_recorded("https://example.org/unknown") == "not_allowed"
        assert log.why_not_recorded(SCHEMA_ID, "alice") == "no_consent"


def test_consent_is_checked_before_validation(schema):
    # Step 2 before step 3: an event nobody consented to is not even looked at.
    with make_log(schema) as log:
        assert log.record_event(SCHEMA_ID, 1, {"count": "not an int"}, user="alice") is None


def test_groups_decide_for_several_schemas(schema):
    other = dict(copy.deepcopy(schema), **{"$id": OTHER_ID})
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]},
                                    OTHER_ID: {"allowed_properties": ["user"]}},
                   consent_groups={"research": [SCHEMA_ID, OTHER_ID]})
    log.register_schema(schema)
    log.register_schema(other)
    with log:
        log.consent.grant("alice", "research")
        assert log.consent.permits("alice", SCHEMA_ID) and log.consent.permits("alice", OTHER_ID)
        log.consent.revoke("alice", OTHER_ID)  # the newest decision on any covering scope wins
        assert log.consent.permits("alice", SCHEMA_ID)
        assert not log.consent.permits("alice", OTHER_ID)


def test_a_yes_to_a_group_does_not_cover_a_schema_added_to_it_later(schema):
    other = dict(copy.deepcopy(schema), **{"$id": OTHER_ID})
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]},
                                    OTHER_ID: {"allowed_properties": ["user"]}},
                   consent_groups={"research": [SCHEMA_ID]})
    log.register_schema(schema)
    log.register_schema(other)
    with log:
        log.consent.grant("alice", "research")
        log.consent.grant("bob", OTHER_ID)
        log.consent_groups = {"research": [SCHEMA_ID, OTHER_ID]}
        assert log.consent.permits("alice", SCHEMA_ID)
        assert not log.consent.permits("alice", OTHER_ID)  # never asked about it
        assert log.consent.permits("bob", OTHER_ID)  # a yes to the schema itself stands


# -- history, state, the decision event -------------------------------------------------


def test_history_is_append_only_and_state_is_the_rest_json(schema):
    with make_log(schema) as log:
        first = log.consent.grant("alice", SCHEMA_ID, via="rest")
        log.consent.revoke("alice", SCHEMA_ID, via="cli")
        log.consent.grant("alice", SCHEMA_ID)
        log.consent.grant("bob", SCHEMA_ID)
        history = log.consent.history("alice")
        assert [(d.granted, d.via) for d in history] == [
            (True, "rest"), (False, "cli"), (True, "python")]
        assert history[0] == first and isinstance(first, Decision)
        assert [d.at for d in history] == sorted(d.at for d in history)
        assert len(log.consent.history()) == 4
        assert len(log.consent.history(scope=SCHEMA_ID)) == 4
        state = log.consent.state("alice")
        assert set(state) == {"user", "notice_version", "schemas", "decisions"}
        assert state["user"] == "alice"
        assert state["notice_version"] == log.consent.notice_version
        assert {"schema_id": SCHEMA_ID, "consent": "opt-in", "granted": True,
                "recorded": True} in state["schemas"]
        assert state["decisions"][0] == {
            "scope": SCHEMA_ID, "granted": True, "notice_version": first.notice_version,
            "at": first.at, "via": "rest", "by": "via:rest", "auth": "local"}
        with pytest.raises(dataclasses.FrozenInstanceError):  # the audit trail is not edited
            first.granted = False  # type: ignore[misc]


def test_a_decision_is_an_event_that_reaches_the_sinks(schema):
    with make_log(schema) as log, capture_events(log) as events:
        log.consent.grant("alice", SCHEMA_ID, via="cli")
    (event,) = [e for e in events if e["__schema__"] == CONSENT_SCHEMA_ID]
    assert event["granted"] is True and event["scope"] == SCHEMA_ID and event["via"] == "cli"
    assert event["user"] is None  # personal data: redacted unless the policy keeps it
    assert log.consent.mode(CONSENT_SCHEMA_ID) == "required"


# -- the notice version and re-consent -----------------------------------------------------


def test_notice_version_is_stable_and_follows_what_the_notice_says(schema):
    a, b = make_log(schema), make_log(schema)
    assert a.consent.notice_version == b.consent.notice_version
    assert a.consent.notice_version.startswith("n-")
    b.deployment = {"retention": "one year"}
    assert a.consent.notice_version != b.consent.notice_version


def test_a_notice_that_collects_more_asks_again(schema):
    with make_log(schema) as log:
        log.consent.grant("alice", SCHEMA_ID)
        old = log.consent.notice_version
        # Saying more without collecting more (a schema known but not recorded) changes
        # the version, not the consent.
        log.register_schema(dict(copy.deepcopy(schema), **{"$id": OTHER_ID}))
        assert log.consent.notice_version != old
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None
        # A newly kept category collects more: the old yes does not cover it.
        log.allowed_schemas = {SCHEMA_ID: {"allowed_properties": ["user"],
                                           "allowed_categories": ["geo"]}}
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.consent.state("alice")["schemas"][0]["granted"] is False
        with pytest.raises(ConsentError, match="the notice changed"):
            log.consent.grant("alice", SCHEMA_ID, notice_version=old)
        log.consent.revoke("bob", SCHEMA_ID, notice_version=old)  # a no always counts
        log.consent.grant("alice", SCHEMA_ID, notice_version=log.consent.notice_version)
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is not None


def test_a_new_schema_version_with_a_new_property_asks_again(schema):
    with make_log(schema) as log:
        log.consent.grant("alice", SCHEMA_ID)
        v2 = copy.deepcopy(schema)
        v2["version"] = 2
        v2["properties"]["browser"] = {"type": "string"}
        log.register_schema(v2)
        assert not log.consent.permits("alice", SCHEMA_ID)


def test_an_expired_yes_counts_as_not_given(schema):
    # A lifetime of ~1 microsecond: the yes has expired by the time it is read.
    with make_log(schema, consent_lifetime_days=1e-11) as log:
        log.consent.grant("alice", SCHEMA_ID)
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
    with make_log(schema, "opt-out", consent_lifetime_days=1e-11) as log:
        log.consent.revoke("alice", SCHEMA_ID)  # a no never expires
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["", "a b", "tab\there", "new\nline", "x" * 257, 42])
def test_malformed_user_ids_are_refused_without_being_repeated(schema, user):
    with make_log(schema) as log:
        for call in (lambda: log.consent.grant(user, SCHEMA_ID),
                     lambda: log.record_event(SCHEMA_ID, 1, EVENT, user=user),
                     lambda: log.consent.state(user)):
            with pytest.raises(ConsentError) as info:
                call()
            assert not (isinstance(user, str) and user and user in str(info.value))
        with pytest.raises(ConsentError):
            with acting_as(user):  # type: ignore[arg-type]
                pass


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_user_format_property(user):
    from telemetry_core.consent import check_user

    ok = 0 < len(user) <= 256 and not any(c.isspace() or ord(c) < 32 or ord(c) == 127
                                          for c in user)
    try:
        check_user(user)
        accepted = True
    except ConsentError as exc:
        accepted = False
        # The message never depends on the value beyond its length: it is the message of
        # any other malformed id as long (a substring check would flag "a st" found in
        # "a string" by chance).
        with pytest.raises(ConsentError) as placeholder:
            check_user("\n" * len(user))
        assert str(exc) == str(placeholder.value)
    assert accepted == ok


def test_unknown_scopes_and_bad_decisions_are_refused(schema):
    with make_log(schema) as log:
        with pytest.raises(ConsentError, match="unknown consent scope"):
            log.consent.grant("alice", "https://example.org/unknown")
        with pytest.raises(ConsentError, match="not in allowed_schemas"):
            log.consent.permits("alice", "https://example.org/unknown")
        with pytest.raises(ConsentError, match="via"):
            log.consent.grant("alice", SCHEMA_ID, via="Not A Channel")
        with pytest.raises(ConsentError, match="notice version"):
            log.consent.revoke("alice", SCHEMA_ID, notice_version="no spaces allowed")
        with pytest.raises(ConsentError, match="a user id is a string"):
            log.record_event(SCHEMA_ID, 1, EVENT, user=["alice"])  # type: ignore[arg-type]
        empty = EventLog(allowed_schemas=[SCHEMA_ID], consent_groups={"none": ["nope"]})
        with pytest.raises(ConsentError, match="names no allowed schema"):
            empty.consent.grant("alice", "none")
        with pytest.raises(ConsentError, match="true or false"):
            log.consent.decide("alice", SCHEMA_ID, "yes")  # type: ignore[arg-type]
        assert log.consent.history() == []  # nothing refused was recorded


# -- the store: where it lives, when it is down ---------------------------------------------


def test_the_default_store_is_private_under_xdg_state_home(schema, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with make_log(schema) as log:
        log.consent.grant("alice", SCHEMA_ID)
    path = tmp_path / "telemetry" / "consent.sqlite3"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_a_store_that_is_down_stops_opt_in_not_required(schema, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    down = f"sqlite:///{blocker}/consent.sqlite3"  # its directory cannot be created
    opt_out_id = OTHER_ID
    other = dict(copy.deepcopy(schema), **{"$id": opt_out_id})
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"]},
                                    opt_out_id: {"consent": "opt-out"},
                                    "https://example.org/req": {}},
                   consent_store=down, register_builtin_schemas=False)
    log.register_schema(schema)
    log.register_schema(other)
    log.register_schema(dict(copy.deepcopy(schema), **{"$id": "https://example.org/req"}))
    with caplog.at_level(logging.WARNING, logger="telemetry_core"):
        assert log.record_event("https://example.org/req", 1, EVENT, user="alice") is not None
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
        assert log.record_event(opt_out_id, 1, EVENT, user="alice") is None
        assert log.record_event(SCHEMA_ID, 1, EVENT, user="alice") is None
    assert log.stats()["consent_store_errors"] >= 1 and log.stats()["no_consent"] == 3
    warnings = [r for r in caplog.records if "consent store" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited, not one per event
    assert "alice" not in warnings[0].getMessage() and "ada" not in warnings[0].getMessage()
    with pytest.raises(ConsentStoreUnavailable):
        log.consent.grant("alice", SCHEMA_ID)
    with pytest.raises(ConsentStoreUnavailable):
        log.consent.state("alice")
    log.close()


def test_a_bad_store_url_is_a_clear_error(schema):
    with pytest.raises(TraitError, match="consent_store is") as info:
        make_log(schema, consent_store="mysql://root:secret@db/x")
    assert "secret" not in str(info.value)
    with pytest.raises(TraitError, match="consent_groups"):
        EventLog(consent_groups={"g": "not a list"})


def test_changing_the_store_reopens_it_elsewhere(schema, tmp_path):
    with make_log(schema, consent_store=f"sqlite:///{tmp_path}/a.sqlite3") as log:
        log.consent.grant("alice", SCHEMA_ID)
        assert log.consent.permits("alice", SCHEMA_ID)
        log.consent_store = f"sqlite:///{tmp_path}/b.sqlite3"
        assert not log.consent.permits("alice", SCHEMA_ID)  # no cached answer survives
        assert log.consent.history() == []


def test_the_store_files_stay_private_while_open(schema, tmp_path):
    with make_log(schema, consent_store=f"sqlite:///{tmp_path}/db/consent.sqlite3") as log:
        log.consent.grant("alice", SCHEMA_ID)
        files = list((tmp_path / "db").iterdir())
        assert len(files) >= 2  # the database and its write-ahead log
        for path in files:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name


# -- a model: any sequence of decisions and events ---------------------------------------

USERS = st.sampled_from(["alice", "bob", "carol@example.org"])
STEPS = st.lists(st.one_of(
    st.tuples(st.just("decide"), USERS, st.booleans()),
    st.tuples(st.just("record"), st.one_of(st.none(), USERS), st.text(max_size=20)),
), max_size=12)


@given(mode=st.sampled_from(["opt-in", "opt-out", "required"]), steps=STEPS)
@settings(max_examples=40, deadline=None)
def test_recording_follows_the_newest_decision(tmp_path_factory, mode, steps):
    """Whatever the order of decisions and events, an event reaches a handler exactly
    when the mode and the user's newest decision allow it, and a refused event's content
    reaches nothing, not even the counters."""
    store = tmp_path_factory.mktemp("model") / "consent.sqlite3"
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"],
                                                "consent": mode}},
                   consent_store=f"sqlite:///{store}")
    from conftest import TEST_SCHEMA

    log.register_schema(copy.deepcopy(TEST_SCHEMA))
    newest: dict[str, bool] = {}
    expected_refused = 0
    with log, capture_events(log) as events:
        for step in steps:
            if step[0] == "decide":
                _, user, granted = step
                if mode == "required":
                    with pytest.raises(ConsentError):
                        log.consent.decide(user, SCHEMA_ID, granted)
                    continue
                log.consent.decide(user, SCHEMA_ID, granted)
                newest[user] = granted
                continue
            _, user, secret = step
            allowed = mode == "required" or (
                newest.get(user, mode == "opt-out") if user is not None else mode == "opt-out")
            before = len(events)
            result = log.record_event(SCHEMA_ID, 1, {"name": secret}, user=user)
            assert (result is not None) == allowed
            assert len(events) == before + (1 if allowed else 0)
            expected_refused += 0 if allowed else 1
    assert log.stats()["no_consent"] == expected_refused
    assert all(e["__schema__"] == SCHEMA_ID for e in events)
    assert not any(repr(v) in repr(log.stats()) for v in ("alice", "bob"))
