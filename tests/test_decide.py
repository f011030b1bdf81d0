"""One decision in one place (issue #23): every edge passes on the core's outcome,
in one wording, within one set of bounds."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SCHEMA_ID
from rest_helpers import TOKEN, serve_in_process

from telemetry_core import EventLog, EventValidationError, acting_as
from telemetry_core._decide import NO_CONSENT, Invalid, Recorded, TooLarge
from telemetry_core.testing import CaptureHandler

AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
CASES = json.loads((Path(__file__).parent / "fixtures" / "validation-cases.json").read_text())


@pytest.fixture
def wording_log() -> Iterator[EventLog]:
    log = EventLog(allowed_schemas=[CASES["schema_id"]])
    log.register_schema(CASES["schema"])
    yield log
    log.close()


def _post(url: str, body: Any) -> requests.Response:
    return requests.post(url + "/api/telemetry/events", data=json.dumps(body).encode(),
                         headers=AUTH, timeout=30)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_python_names_the_failing_field_in_the_one_wording(wording_log: EventLog,
                                                          case: dict[str, Any]) -> None:
    with pytest.raises(EventValidationError) as info:
        wording_log.record_event(CASES["schema_id"], 1, case["data"])
    assert (info.value.json_path, info.value.validator) == (case["path"], case["rule"])
    assert str(info.value) == case["message"]
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value.args)


def test_rest_answers_every_case_in_the_same_wording(wording_log: EventLog) -> None:
    cases = CASES["cases"]
    with serve_in_process(wording_log) as (url, _):
        # An array: one result per event, each the error body...
        batch = _post(url, [{"schema_id": CASES["schema_id"], "version": 1, "data": c["data"]}
                            for c in cases])
        # ...and each alone: a 400 with that same body (as jupyter_server answers).
        singles = [_post(url, {"schema_id": CASES["schema_id"], "version": 1,
                               "data": c["data"]}) for c in cases]
    assert batch.status_code == 200 and "SECRET" not in batch.text
    for case, result, single in zip(cases, batch.json()["results"], singles, strict=True):
        expected = {"path": case["path"], "rule": case["rule"], "message": case["message"]}
        assert result == {"status": "invalid", "error": expected}
        assert single.status_code == 400, single.text
        assert single.json() == {"error": {"code": "invalid_event", **expected}}
        assert "SECRET" not in single.text


def test_an_over_deep_event_names_its_rule_in_rest() -> None:
    # Before: the server's own bound let it through, the EventLog's refused it, and the
    # answer said rule "<unset>".
    capture = CaptureHandler()
    log = EventLog(handlers=[capture], allowed_schemas=[SCHEMA_ID], max_event_depth=3)
    log.register_schema({"$id": SCHEMA_ID, "version": 1, "type": "object",
                         "properties": {"a": {"description": "deep"}}})
    deep = {"a": {"b": {"c": {}}}}
    with serve_in_process(log) as (url, _):
        batch = _post(url, [{"schema_id": SCHEMA_ID, "version": 1, "data": deep}]).json()
        single = _post(url, {"schema_id": SCHEMA_ID, "version": 1, "data": deep})
    log.close()
    error = batch["results"][0]["error"]
    assert (error["path"], error["rule"]) == ("$.a.b.c", "max_event_depth")
    assert single.status_code == 400
    assert single.json()["error"]["code"] == "event_too_deep"
    assert single.json()["error"]["rule"] == "max_event_depth"
    assert capture.events == []


@pytest.mark.parametrize("number", [2**70, -(2**63) - 1, 2**64])
def test_an_integer_past_64_bits_is_refused_not_rounded(number: int) -> None:
    capture = CaptureHandler()
    log = EventLog(handlers=[capture], allowed_schemas=[SCHEMA_ID])
    log.register_schema({"$id": SCHEMA_ID, "version": 1, "type": "object",
                         "properties": {"n": {"description": "a number"}}})
    body = f'{{"schema_id": "{SCHEMA_ID}", "version": 1, "data": {{"n": {number}}}}}'
    with serve_in_process(log) as (url, _):
        answer = requests.post(url + "/api/telemetry/events", data=body.encode(),
                               headers=AUTH, timeout=30)
        # Digits in a string are text, not a number: recorded.
        text = _post(url, {"schema_id": SCHEMA_ID, "version": 1, "data": {"n": str(number)}})
        fits = _post(url, {"schema_id": SCHEMA_ID, "version": 1, "data": {"n": 2**64 - 1}})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed_json"
    assert text.status_code == 200 and fits.status_code == 200
    with pytest.raises(EventValidationError, match=r": \$\.n: int64$"):
        log.record_event(SCHEMA_ID, 1, {"n": number})
    log.close()
    assert [e["n"] for e in capture.events] == [str(number), 2**64 - 1]


def test_the_decision_is_a_typed_outcome(wording_log: EventLog) -> None:
    sid = CASES["schema_id"]
    recorded = wording_log.record(sid, 1, {"page": "/"})
    assert isinstance(recorded, Recorded) and recorded.event["page"] == "/"
    assert wording_log.record("https://example.org/other", 1, {}).answer() == {
        "status": "not_recorded", "reason": "not_allowed"}
    invalid = wording_log.record(sid, 1, {"page": 5})
    assert isinstance(invalid, Invalid) and (invalid.path, invalid.rule) == ("$.page", "type")
    unregistered = wording_log.record(sid, 9, {"page": "/"})
    assert isinstance(unregistered, Invalid) and unregistered.rule == "registered"
    wording_log.max_event_size = 10
    assert isinstance(wording_log.record(sid, 1, {"page": "a" * 20}), TooLarge)


OPT_IN = "https://example.org/opt-in-event"


@pytest.mark.parametrize("mode", ["opt-in", "opt-out"])
def test_an_event_that_names_no_user_warns_once_per_schema_and_counts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str) -> None:
    log = EventLog(allowed_schemas={OPT_IN: {"consent": mode}},
                   consent_store=f"sqlite:///{tmp_path}/c.sqlite3")
    log.register_schema({"$id": OPT_IN, "version": 1, "type": "object", "properties": {}})
    with caplog.at_level(logging.WARNING, logger="telemetry_core"):
        outcomes = [log.record(OPT_IN, 1, {}) for _ in range(3)]
        with acting_as("ada"):
            log.record(OPT_IN, 1, {})  # names a user: neither warned nor counted
    warnings = [r.getMessage() for r in caplog.records if "names no user" in r.getMessage()]
    assert len(warnings) == 1
    [warning] = warnings
    assert OPT_IN in warning and mode in warning
    assert "user=" in warning and "acting_as" in warning and '"consent": "required"' in warning
    assert log.stats()["no_user"] == 3
    if mode == "opt-in":
        assert outcomes == [NO_CONSENT] * 3
    else:
        assert all(isinstance(o, Recorded) for o in outcomes)
    log.close()


def test_consent_required_keeps_jupyter_telemetrys_behaviour(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The README's migration advice: an event naming no user is recorded, unwarned.
    log = EventLog(allowed_schemas={OPT_IN: {"consent": "required"}},
                   consent_store=f"sqlite:///{tmp_path}/c.sqlite3")
    log.register_schema({"$id": OPT_IN, "version": 1, "type": "object",
                         "properties": {"who": {"type": "string", "pii": True}}})
    with caplog.at_level(logging.WARNING, logger="telemetry_core"):
        assert log.record_event(OPT_IN, 1, {"who": "x"}) is not None
    assert "names no user" not in caplog.text and log.stats()["no_user"] == 0
    log.close()
