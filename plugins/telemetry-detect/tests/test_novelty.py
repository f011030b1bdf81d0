"""``remote_address_new``: a login from an address the user never used, as streaming
state (bounded, private, surviving restarts) and as hunting derives it (DuckDB windows)."""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli import telemetry
from conftest import ALERT, PII, as_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telemetry_detect import Detector, shipped_pack
from telemetry_detect._alerts import alerts
from telemetry_detect._novelty import AddressNovelty, NoveltyConfig

from telemetry_core import EventLog
from telemetry_core.sinks import SinkConfigError

LOGIN = "https://telemetry.jupyter.org/schemas/events/hub/login"
RULE = "Login from a new address"
RULE_FILE = shipped_pack() / "hub_login_new_address.yml"
START = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


def _login(n: int, user: str | None, address: str | None, minutes: float = 0) -> dict[str, Any]:
    event: dict[str, Any] = {
        "__timestamp__": (START + timedelta(minutes=minutes)).isoformat().replace(
            "+00:00", "Z"),
        "__schema__": LOGIN, "__schema_version__": 1, "__metadata_version__": 1,
        "__event_id__": f"login-{n}", "authenticator": "DummyAuthenticator"}
    if user is not None:
        event["user"] = user
    if address is not None:
        event["remote_address"] = address
    return event


def test_first_login_is_the_baseline_then_only_unseen_addresses_are_new() -> None:
    state = AddressNovelty()
    assert state.is_new("ana", "127.0.0.1", "e1") is False  # no baseline yet
    assert state.is_new("ana", "127.0.0.1", "e2") is False  # known
    assert state.is_new("ana", "127.0.0.2", "e3") is True
    assert state.is_new("ana", "127.0.0.2", "e4") is False  # known from now on
    assert state.is_new("bob", "127.0.0.2", "e5") is False  # per user: bob's first
    assert state.is_new("ana", "127.0.0.2", "e3") is True   # the same event, the same answer
    state.close()


def test_the_state_survives_a_restart_private_and_without_clear_values(tmp_path: Path) -> None:
    path = tmp_path / "state" / "novelty.sqlite3"
    first = AddressNovelty(path)
    assert first.is_new("ana-the-user", "127.0.0.1", "e1") is False
    assert first.is_new("ana-the-user", "127.0.0.9", "e2") is True
    first.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = path.read_bytes()
    assert b"ana-the-user" not in raw and b"127.0.0" not in raw
    again = AddressNovelty(path)  # a new detector on the same file
    assert again.is_new("ana-the-user", "127.0.0.9", "e3") is False
    assert again.is_new("ana-the-user", "127.0.0.7", "e4") is True
    again.close()


def test_another_key_starts_afresh_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "novelty.sqlite3"
    keyed = AddressNovelty(path, secret=b"k1")
    keyed.is_new("ana", "127.0.0.1", "e1")
    keyed.close()
    same = AddressNovelty(path, secret=b"k1")
    assert same.resets == 0 and same.is_new("ana", "127.0.0.2", "e2") is True
    same.close()
    other = AddressNovelty(path, secret=b"k2")  # old hashes mean nothing under a new key
    assert other.resets == 1 and other.entries() == (0, 0)
    other.close()


def test_the_state_is_bounded_least_recently_seen_first() -> None:
    evicted: list[int] = []
    state = AddressNovelty(max_entries=2, on_evict=evicted.append)
    state.is_new("ana", "127.0.0.1", "e1")
    state.is_new("bob", "127.0.0.1", "e2")
    state.is_new("ana", "127.0.0.1", "e3")  # ana seen again: bob is the oldest now
    state.is_new("cy", "127.0.0.1", "e4")
    assert state.entries() == (2, 2)
    assert state.evicted == 2 and sum(evicted) == 2  # bob: one user and one pair
    assert state.is_new("ana", "127.0.0.2", "e5") is True  # ana's baseline was kept
    assert state.is_new("bob", "127.0.0.2", "e6") is False  # bob forgotten: a baseline again
    state.close()


def test_events_without_user_or_address_are_left_alone() -> None:
    detector = Detector.shipped()
    try:
        events = [_login(1, "ana", "127.0.0.1"), _login(2, "ana", None, 1),
                  _login(3, None, "127.0.0.2", 2), _login(4, "ana", "127.0.0.3", 3)]
        enriched = [orjson.loads(e) for e in detector.novelty.enrich(as_json(events))]
        assert [e.get("remote_address_new") for e in enriched] == [False, None, None, True]
        # The same events again (a replay): the same answers, so the same alert id.
        assert [m.event_id for m in detector.match_json(as_json(events))
                if m.rule.title == RULE] == ["login-4"]
    finally:
        detector.close()


_users = st.sampled_from(["ana", "bob", "cy"])
_addresses = st.sampled_from(["127.0.0.1", "127.0.0.2", "::1", None])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(logins=st.lists(st.tuples(_users, _addresses, st.integers(0, 30)), max_size=25),
       cuts=st.lists(st.integers(0, 25), max_size=3))
def test_streaming_and_hunting_agree(tmp_path_factory: Any, logins: list[Any],
                                     cuts: list[int]) -> None:
    # Events in time order (as sinks store them), streamed in arbitrary batches.
    events, minute = [], 0
    for n, (user, address, gap) in enumerate(logins):
        minute += gap
        events.append(_login(n, user, address, minute))
    path = tmp_path_factory.mktemp("hunt") / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    streaming, hunting = Detector([RULE_FILE]), Detector([RULE_FILE])
    try:
        bounds = sorted({0, len(events), *(c for c in cuts if c <= len(events))})
        streamed = [m.event_id for lo, hi in zip(bounds, bounds[1:], strict=False)
                    for m in streaming.match_json(as_json(events[lo:hi]))
                    if m.rule.title == RULE]
        hunted = [m.event_id for m in hunting.match_files([str(path)]) if m.rule.title == RULE]
    finally:
        streaming.close()
        hunting.close()
    assert sorted(streamed) == sorted(hunted)
    seen: dict[str, set[str]] = {}  # the rule, said plainly
    expected = []
    for event in events:
        user, address = event.get("user"), event.get("remote_address")
        if user is None or address is None:
            continue
        if seen.get(user) and address not in seen[user]:
            expected.append(event["__event_id__"])
        seen.setdefault(user, set()).add(address)
    assert sorted(hunted) == sorted(expected)


def _log(tmp_path: Path, logins_policy: dict[str, Any], **detect: Any) -> EventLog:
    return EventLog(allowed_schemas={LOGIN: logins_policy, ALERT: {
        "allowed_categories": [PII], "consent": "required"}}, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "spool-detect"),
         "state_dir": str(tmp_path / "detect-state"), **detect},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "spool-file")}])


def _record_logins(log: EventLog, addresses: list[str], start: int) -> None:
    for n, address in enumerate(addresses):
        assert log.record_event(LOGIN, 1, {"authenticator": "DummyAuthenticator",
                                           "user": "ana", "remote_address": address},
                                timestamp_override=START + timedelta(minutes=start + n))
    assert log.flush(timeout=60) and log.flush(timeout=60)


def _stored(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((tmp_path / "events").rglob("*.jsonl"))
            for line in f.read_text().splitlines()]


def test_the_sink_alerts_once_keeps_its_state_across_restarts_and_never_leaks(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    allowed = {"allowed_categories": [PII], "consent": "required"}
    log = _log(tmp_path, allowed)
    try:
        _record_logins(log, ["127.0.0.1", "127.0.0.1", "127.0.0.77"], 0)
    finally:
        log.close()
    state = tmp_path / "detect-state" / "novelty.sqlite3"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    log = _log(tmp_path, allowed)  # restarted: the same state file
    try:
        _record_logins(log, ["127.0.0.77", "127.0.0.1"], 10)
    finally:
        log.close()
    stored = _stored(tmp_path)
    alerts = [e for e in stored if e["__schema__"] == ALERT]
    logins = [e for e in stored if e["__schema__"] == LOGIN]
    assert [a["title"] for a in alerts] == [RULE]
    assert alerts[0]["matched_event_ids"] == [logins[2]["__event_id__"]]
    # The address is in the login event (the policy keeps it), nowhere else.
    assert "127.0.0.77" not in json.dumps(alerts) + caplog.text
    assert b"127.0.0" not in state.read_bytes() and b"ana" not in state.read_bytes()


def test_with_the_address_redacted_the_rule_cannot_fire(tmp_path: Path) -> None:
    log = _log(tmp_path, {"allowed_properties": ["user"], "consent": "required"})
    try:
        _record_logins(log, ["127.0.0.1", "127.0.0.2", "127.0.0.3"], 0)
    finally:
        log.close()
    stored = _stored(tmp_path)
    assert [e["remote_address"] for e in stored if e["__schema__"] == LOGIN] == [None] * 3
    assert [e for e in stored if e["__schema__"] == ALERT] == []


def test_with_hashed_redaction_the_rule_works_on_pseudonyms(tmp_path: Path) -> None:
    log = EventLog(redaction="hash", redaction_secret="k" * 32, allowed_schemas={
        LOGIN: {"allowed_properties": ["user"], "consent": "required"},
        ALERT: {"allowed_categories": [PII], "consent": "required"}}, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "s1"),
         "state_dir": str(tmp_path / "st")},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "s2")}])
    try:
        _record_logins(log, ["127.0.0.1", "127.0.0.1", "127.0.0.2"], 0)
    finally:
        log.close()
    stored = _stored(tmp_path)
    assert all(e["remote_address"].startswith("hmac-sha256:")
               for e in stored if e["__schema__"] == LOGIN)
    assert [a["title"] for a in stored if a["__schema__"] == ALERT] == [RULE]


def test_novelty_config_defaults_to_memory() -> None:
    state = NoveltyConfig().open()
    assert state.path is None
    state.close()


def test_hunt_derives_the_field_from_events_before_since_too(tmp_path: Path) -> None:
    events = [_login(1, "ana", "127.0.0.1"), _login(2, "ana", "127.0.0.1", 60),
              _login(3, "ana", "127.0.0.2", 120)]
    (tmp_path / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    since = (START + timedelta(minutes=90)).isoformat()
    proc = telemetry("detect", "hunt", "--format", "json", "--events",
                     str(tmp_path / "events.jsonl"), "--since", since)
    assert proc.returncode == 1, proc.stderr
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(m["rule"], m["event_id"]) for m in found] == [(RULE, "login-3")]
    assert "127.0.0" not in proc.stdout + proc.stderr


def test_check_says_the_rule_needs_the_address(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": {LOGIN: {
        "allowed_properties": ["user"]}}}}))
    proc = telemetry("detect", "check", "--config", str(config), str(RULE_FILE))
    assert proc.returncode == 1
    assert ("field 'remote_address_new' of hub/login derives from 'remote_address', which "
            "the policy redacts") in proc.stdout
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": {LOGIN: {
        "allowed_properties": ["user", "remote_address"]}}}}))
    proc = telemetry("detect", "check", "--config", str(config), str(RULE_FILE))
    assert proc.returncode == 0, proc.stdout
    typo = tmp_path / "typo.yml"
    typo.write_text(RULE_FILE.read_text().replace("remote_address_new", "remote_adress_new"))
    proc = telemetry("detect", "check", str(typo))
    assert proc.returncode == 1 and "did you mean 'remote_address_new'?" in proc.stdout


def test_a_state_dir_that_cannot_be_made_stops_the_sink_at_start(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the state directory would be")
    with pytest.raises(SinkConfigError, match=r"detect sink: state_dir: .*blocker"):
        EventLog(allowed_schemas={LOGIN: {}}, sinks=[
            {"type": "detect", "spool_dir": str(tmp_path / "spool"),
             "state_dir": str(tmp_path / "blocker" / "state")}]).close()


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
       # Six characters at least: shorter byte strings turn up in random hashes by chance.
       addresses=st.lists(st.ip_addresses().map(str).filter(lambda a: len(a) >= 6),
                          min_size=2, max_size=4, unique=True))
def test_no_address_or_user_reaches_the_state_file_or_an_alert(
        tmp_path_factory: Any, name: str, addresses: list[str]) -> None:
    user = "user:" + name
    path = tmp_path_factory.mktemp("novelty") / "novelty.sqlite3"
    detector = Detector([RULE_FILE], novelty=NoveltyConfig(path))
    try:
        events = [_login(n, user, address, n) for n, address in enumerate(addresses)]
        matches = detector.match_json(as_json(events))
    finally:
        detector.close()
    assert [m.event_id for m in matches] == [e["__event_id__"] for e in events[1:]]
    raw = path.read_bytes()
    # An alert names the user where the policy allows it (the sink records it), never
    # an address.
    said = json.dumps(alerts(matches), ensure_ascii=False)
    assert all(address not in said for address in addresses)
    assert all(value.encode() not in raw for value in (user, *addresses))


def test_with_the_address_inspected_before_redaction_the_rule_fires_and_nothing_keeps_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = _log(tmp_path, {"allowed_properties": ["user"], "consent": "required",
                          "inspect_before_redaction": True})
    try:
        _record_logins(log, ["127.0.0.1", "127.0.0.1", "127.0.0.66"], 0)
    finally:
        log.close()
    stored = _stored(tmp_path)
    logins = [e for e in stored if e["__schema__"] == LOGIN]
    assert [e["remote_address"] for e in logins] == [None] * 3
    alerts_stored = [e for e in stored if e["__schema__"] == ALERT]
    assert [(a["title"], a["matched_event_ids"]) for a in alerts_stored] == [
        (RULE, [logins[2]["__event_id__"]])]
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"127.0.0.66" not in files and "127.0.0.66" not in caplog.text
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": {LOGIN: {
        "allowed_properties": ["user"], "inspect_before_redaction": True}}}}))
    proc = telemetry("detect", "check", "--config", str(config), str(RULE_FILE))
    assert proc.returncode == 0, proc.stdout  # a note: the detect sink can match
    assert ("derives from 'remote_address', which the policy redacts; that is inspected "
            "before redaction") in proc.stdout
