"""The REST API over real HTTP, served in this process: every endpoint, auth, CORS,
limits, bad input, the source stamp, idempotency, metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SCHEMA_ID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_helpers import (
    BACKEND_TOKEN,
    CLIENT,
    IDENTITY_SETTINGS,
    TOKEN,
    Clock,
    serve_in_process,
    user_auth,
)

from telemetry_core import EventLog
from telemetry_core.server import derive_event_id
from telemetry_core.testing import CaptureHandler

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVER_ERRORS = range(500, 600)


@pytest.fixture
def capture() -> CaptureHandler:
    return CaptureHandler()


@pytest.fixture
def eventlog(schema: dict[str, Any], capture: CaptureHandler) -> Iterator[EventLog]:
    log = EventLog(handlers=[capture], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    yield log
    log.close()


@pytest.fixture
def api(eventlog: EventLog) -> Iterator[str]:
    with serve_in_process(eventlog) as (url, _):
        yield url + "/api/telemetry/"


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(url + "events", data=json.dumps(body).encode(),
                         headers={**AUTH, "Content-Type": "application/json", **(headers or {})},
                         timeout=30)


def event(data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"schema_id": SCHEMA_ID, "version": 1, "data": data or {"name": "x"}, **extra}


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


# -- POST events ------------------------------------------------------------------------


def test_one_event_is_recorded_with_the_source_stamp(api: str, capture: CaptureHandler) -> None:
    before = time.time()
    answer = post(api, event({"name": "opened", "count": 2}, timestamp="2026-01-02T03:04:05Z"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["recorded"] == 1 and body["results"][0]["status"] == "recorded"
    [recorded] = capture.events
    assert recorded["name"] == "opened" and recorded["count"] == 2
    assert recorded["__event_id__"] == body["results"][0]["event_id"]
    source = recorded["__source__"]
    assert source["via"] == "rest" and source["client"] == CLIENT
    assert source["client_timestamp"] == "2026-01-02T03:04:05Z"
    assert "ip" not in source  # personal data: off by default
    # The server's own clock stamps __timestamp__ and received; the client's stays apart.
    assert recorded["__timestamp__"] != "2026-01-02T03:04:05Z"
    assert source["received"][:4] == recorded["__timestamp__"][:4] == time.strftime(
        "%Y", time.gmtime(before))
    assert list(recorded)[:6] == ["__timestamp__", "__schema__", "__schema_version__",
                                  "__metadata_version__", "__event_id__", "__source__"]


def test_a_batch_answers_one_result_per_event_in_order(api: str,
                                                       capture: CaptureHandler) -> None:
    answer = post(api, [
        event({"name": "a"}),
        {"schema_id": "https://example.org/not-allowed", "version": 1, "data": {}},
        event({"name": "b", "count": "SECRET-VALUE"}),
        event({"count": 1}),
        {"schema_id": SCHEMA_ID, "version": 7, "data": {"name": "c"}},
    ])
    assert answer.status_code == 200
    body = answer.json()
    statuses = [(r["status"], r.get("reason")) for r in body["results"]]
    assert statuses == [("recorded", None), ("not_recorded", "not_allowed"),
                        ("invalid", None), ("invalid", None), ("invalid", None)]
    assert (body["recorded"], body["not_recorded"], body["duplicate"], body["invalid"]) == (
        1, 1, 0, 3)
    wrong_type, missing, unregistered = (r["error"] for r in body["results"][2:])
    assert (wrong_type["path"], wrong_type["rule"]) == ("$.count", "type")
    assert (missing["path"], missing["rule"]) == ("$.name", "required")
    assert unregistered["rule"] == "registered"
    assert "SECRET-VALUE" not in answer.text
    assert [e["name"] for e in capture.events] == ["a"]


# Values marked so that no part of an answer can contain one by coincidence.
_secret = st.text(max_size=20).map(lambda text: f"SECRET:{text}")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(_secret, st.lists(_secret, min_size=1),
                       st.dictionaries(_secret, _secret, min_size=1)))
def test_an_invalid_value_never_appears_in_the_answer(api: str, value: Any) -> None:
    answer = post(api, [event({"name": "x", "count": value, "details": {"size": value}})])
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert result["status"] == "invalid"
    assert "SECRET" not in answer.text
    single = post(api, event({"name": "x", "count": value, "details": {"size": value}}))
    assert single.status_code == 400 and "SECRET" not in single.text


def test_clients_cannot_set_envelope_fields(api: str, capture: CaptureHandler) -> None:
    body = post(api, [event({"name": "a", "__source__": {"client": "forged"}}),
                      event({"name": "b", "__timestamp__": "2000-01-01T00:00:00Z"}),
                      event({"name": "c", "__anything": 1})]).json()
    assert [r["status"] for r in body["results"]] == ["invalid"] * 3
    assert [r["error"]["rule"] for r in body["results"]] == ["reserved"] * 3
    assert [r["error"]["path"] for r in body["results"]] == [
        "$.__source__", "$.__timestamp__", "$.__anything"]
    assert capture.events == []


def test_a_client_id_gives_a_stable_event_id_and_a_resend_is_a_duplicate(
        api: str, capture: CaptureHandler) -> None:
    first = post(api, event(id="c-0001")).json()["results"][0]
    again = post(api, [event(id="c-0001"), event(id="c-0002")]).json()
    assert first == {"status": "recorded", "event_id": derive_event_id(CLIENT, "c-0001")}
    assert again["results"][0] == {"status": "duplicate", "event_id": first["event_id"]}
    assert again["results"][1]["status"] == "recorded"
    assert len(capture.events) == 2
    assert derive_event_id(CLIENT, "c-0001") != derive_event_id("other-client", "c-0001")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        first["event_id"])


def test_the_dedup_window_is_bounded_by_count_and_time(eventlog: EventLog,
                                                       capture: CaptureHandler) -> None:
    clock = Clock()
    with serve_in_process(eventlog, dedup_max_ids=2, dedup_seconds=0.5,
                          dedup_store="memory") as (url, service):
        service.recent.clock = clock
        api = url + "/api/telemetry/"
        post(api, [event(id="1"), event(id="2"), event(id="3")])  # "1" falls out
        statuses = [r["status"] for r in post(api, [event(id="1"), event(id="3")]).json()[
            "results"]]
        assert statuses == ["recorded", "duplicate"]
        clock.advance(0.6)  # past the window
        assert post(api, event(id="3")).json()["results"][0]["status"] == "recorded"


def test_the_recent_id_file_is_bounded_by_count_and_time_across_a_restart(
        eventlog: EventLog, capture: CaptureHandler, tmp_path: Path) -> None:
    store = tmp_path / "ids" / "recent.sqlite3"
    settings = {"dedup_max_ids": 2, "dedup_seconds": 0.5, "dedup_store": str(store)}
    clock = Clock(time.time())  # the file holds wall-clock times
    with serve_in_process(eventlog, **settings) as (url, service):
        assert service.recent_on_disk is not None
        service.recent_on_disk.clock = clock
        post(url + "/api/telemetry/", [event(id="1"), event(id="2"), event(id="3")])
        assert service.recent_on_disk is not None
        service.recent_on_disk.compact()  # what runs every 30 s: "1" falls out
    with serve_in_process(eventlog, **settings) as (url, service):  # a new process's memory
        assert service.recent_on_disk is not None
        service.recent_on_disk.clock = clock
        api = url + "/api/telemetry/"
        statuses = [r["status"] for r in post(api, [event(id="1"), event(id="3")]).json()[
            "results"]]
        assert statuses == ["recorded", "duplicate"]
    clock.advance(0.6)  # past the window
    with serve_in_process(eventlog, **settings) as (url, service):
        assert service.recent_on_disk is not None
        service.recent_on_disk.clock = clock
        assert post(url + "/api/telemetry/", event(id="3")).json()["results"][0][
            "status"] == "recorded"
    assert len(capture.events) == 5


def test_an_invalid_event_is_not_remembered_as_seen(api: str) -> None:
    assert post(api, [event({"count": 1}, id="x")]).json()["invalid"] == 1
    assert post(api, event({"name": "fixed"}, id="x")).json()["recorded"] == 1


def test_the_client_ip_is_recorded_only_when_configured(eventlog: EventLog,
                                                        capture: CaptureHandler) -> None:
    with serve_in_process(eventlog, record_client_ip=True) as (url, _):
        post(url + "/api/telemetry/", event())
    assert capture.events[-1]["__source__"]["ip"] == "127.0.0.1"


# -- bad input and limits ---------------------------------------------------------------------


@pytest.mark.parametrize(("body", "path"), [
    ({"version": 1, "data": {}}, "$.schema_id"),
    ({"schema_id": SCHEMA_ID, "version": 1}, "$.data"),
    ({"schema_id": SCHEMA_ID, "version": 1.5, "data": {}}, "$.version"),
    ({"schema_id": SCHEMA_ID, "version": True, "data": {}}, "$.version"),
    ({"schema_id": SCHEMA_ID, "version": -1, "data": {}}, "$.version"),
    ({"schema_id": SCHEMA_ID, "version": 1, "data": []}, "$.data"),
    ({"schema_id": SCHEMA_ID, "version": 1, "data": {}, "extra": 1}, "$"),
    ({"schema_id": SCHEMA_ID, "version": 1, "data": {}, "timestamp": "yesterday"},
     "$.timestamp"),
    ({"schema_id": SCHEMA_ID, "version": 1, "data": {}, "id": "x" * 129}, "$.id"),
    ([{"schema_id": SCHEMA_ID, "version": 1, "data": {}}, 5], "$[1]"),
    ("just a string", "$"),
])
def test_a_body_of_the_wrong_shape_is_400_and_records_nothing(
        api: str, capture: CaptureHandler, body: Any, path: str) -> None:
    error = assert_error(post(api, body), 400, "bad_shape")
    assert error["error"]["message"].startswith(path + ":")
    assert capture.events == []


def test_malformed_json_and_wrong_content_type(api: str) -> None:
    bad = requests.post(api + "events", data=b'{"schema_id": ', timeout=10,
                        headers={**AUTH, "Content-Type": "application/json"})
    assert_error(bad, 400, "malformed_json")
    not_utf8 = requests.post(api + "events", data=b'"\xff"', timeout=10,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert_error(not_utf8, 400, "malformed_json")
    form = requests.post(api + "events", data={"a": "b"}, headers=AUTH, timeout=10)
    assert_error(form, 415, "unsupported_media_type")


def test_limits_each_answer_their_documented_status(eventlog: EventLog,
                                                    capture: CaptureHandler) -> None:
    with serve_in_process(eventlog, max_body_bytes=2000, max_events_per_request=3,
                          max_event_depth=4, max_event_bytes=300) as (url, _):
        api = url + "/api/telemetry/"
        assert_error(post(api, event({"name": "x" * 3000})), 413, "body_too_large")
        chunked = requests.post(api + "events", data=iter([b"[", b" " * 2500, b"]"]),
                                headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
        assert_error(chunked, 413, "body_too_large")
        assert_error(post(api, [event()] * 4), 413, "too_many_events")
        # The deprecated TelemetryServer bounds set the EventLog's (one set of bounds);
        # in an array, an event past them is one invalid result, the others recorded.
        deep = post(api, [event(), event({"name": "x", "details": {"a": [{"b": [1]}]}})])
        assert [r["status"] for r in deep.json()["results"]] == ["recorded", "invalid"]
        assert deep.json()["results"][1]["error"]["rule"] == "max_event_depth"
        assert post(api, event({"name": "x", "details": {"a": [1]}})).status_code == 200
        large = post(api, [event({"name": "y" * 400}), event()]).json()
        assert large["results"][0]["error"] == {
            "path": "$", "rule": "max_event_size",
            "message": f"invalid event for schema '{SCHEMA_ID}' version 1: $: max_event_size"}
        assert_error(post(api, event({"name": "y" * 400})), 400, "event_too_large")
        assert [e["name"] for e in capture.events] == ["x", "x", "x"]


def test_the_rate_limit_answers_429_with_retry_after(eventlog: EventLog) -> None:
    with serve_in_process(eventlog, client_rate_limits={CLIENT: 2}) as (url, _):
        api = url + "/api/telemetry/"
        codes = [post(api, event()).status_code for _ in range(3)]
        assert codes[:2] == [200, 200]
        limited = post(api, event())
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1


def test_the_default_rate_limit_lets_a_busy_client_through(api: str) -> None:
    with requests.Session() as session:
        codes = {session.post(api + "events", data=b"[]", timeout=10,
                              headers={**AUTH, "Content-Type": "application/json"}).status_code
                 for _ in range(500)}
    assert codes == {200}


# -- auth and CORS ---------------------------------------------------------------------------


def test_no_token_or_a_wrong_one_is_401(api: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": "Bearer"}):
        answer = requests.get(api + "schemas", headers=headers, timeout=10)
        assert_error(answer, 401, "unauthorized")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(api + "schemas", headers=AUTH, timeout=10).status_code == 200
    assert requests.get(api + "health", timeout=10).status_code == 200  # public


def test_a_token_may_be_configured_as_its_sha256(eventlog: EventLog) -> None:
    digest = hashlib.sha256(b"only-the-client-knows").hexdigest()
    with serve_in_process(eventlog, tokens={"hashed": f"sha256:{digest}"}) as (url, _):
        ok = requests.get(url + "/api/telemetry/schemas", timeout=10,
                          headers={"Authorization": "Bearer only-the-client-knows"})
        assert ok.status_code == 200
        wrong = requests.get(url + "/api/telemetry/schemas", timeout=10,
                             headers={"Authorization": f"Bearer sha256:{digest}"})
        assert wrong.status_code == 401


def test_auth_off_names_the_client_anonymous(eventlog: EventLog,
                                             capture: CaptureHandler) -> None:
    with serve_in_process(eventlog, tokens={}, insecure_no_auth=True) as (url, _):
        answer = requests.post(url + "/api/telemetry/events", data=json.dumps(event()),
                               headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 200
    assert capture.events[0]["__source__"]["client"] == "anonymous"


def test_cors_allows_nothing_by_default(api: str) -> None:
    preflight = requests.options(api + "events", timeout=10, headers={
        "Origin": "https://lab.example.org", "Access-Control-Request-Method": "POST"})
    assert_error(preflight, 403, "origin_not_allowed")
    answer = post(api, event(), headers={"Origin": "https://lab.example.org"})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_for_an_allowed_origin(eventlog: EventLog) -> None:
    origin = "https://lab.example.org"
    with serve_in_process(eventlog, allowed_origins=[origin]) as (url, _):
        api = url + "/api/telemetry/"
        preflight = requests.options(api + "events", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        answer = post(api, event(), headers={"Origin": origin})
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        limited = requests.get(api + "schemas", headers={"Origin": origin}, timeout=10)
        assert limited.status_code == 401  # errors carry CORS headers too, so JS can read them
        assert limited.headers["Access-Control-Allow-Origin"] == origin
        other = requests.options(api + "events", timeout=10,
                                 headers={"Origin": "https://evil.example.org"})
        assert other.status_code == 403


# -- the other endpoints -----------------------------------------------------------------------


def test_schemas_lists_what_may_be_recorded(api: str, schema: dict[str, Any]) -> None:
    body = requests.get(api + "schemas", headers=AUTH, timeout=10).json()
    assert body == {"schemas": [{"schema_id": SCHEMA_ID, "version": 1, "consent": "required",
                                 "schema": schema}]}


@pytest.mark.parametrize(("fmt", "content_type", "marker"), [
    ("json", "application/json", '"notice_version"'), ("html", "text/html", "<section"),
    ("text", "text/plain", "Telemetry transparency notice")])
def test_notice_in_each_format(api: str, fmt: str, content_type: str, marker: str) -> None:
    answer = requests.get(api + "notice", params={"format": fmt}, headers=AUTH, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(content_type)
    assert marker in answer.text
    assert answer.headers["X-Telemetry-Notice-Version"].startswith("n-")
    assert_error(requests.get(api + "notice", params={"format": "pdf"}, headers=AUTH,
                              timeout=10), 400, "bad_format")


@pytest.fixture
def opt_in_api(schema: dict[str, Any], capture: CaptureHandler) -> Iterator[str]:
    with EventLog(handlers=[capture], allowed_schemas={SCHEMA_ID: {"consent": "opt-in"}}) as log:
        log.register_schema(schema)
        with serve_in_process(log, **IDENTITY_SETTINGS) as (url, _):
            yield url + "/api/telemetry/"


TRUSTED = {"Authorization": f"Bearer {BACKEND_TOKEN}"}  # may name users


def consent(api: str, user: str, body: Any = None) -> requests.Response:
    headers = user_auth(user)  # the user's own, proven by a signed user token
    if body is None:
        return requests.get(api + "consent", headers=headers, timeout=30)
    return requests.put(api + "consent", data=json.dumps(body), timeout=30,
                        headers={**headers, "Content-Type": "application/json"})


def test_consent_decides_what_is_recorded_per_user(opt_in_api: str,
                                                   capture: CaptureHandler) -> None:
    api = opt_in_api
    state = consent(api, "ada").json()
    assert state["user"] == "ada" and state["decisions"] == []
    assert state["schemas"] == [{"schema_id": SCHEMA_ID, "consent": "opt-in", "granted": False,
                                 "recorded": False}]
    refused = post(api, event(), headers={**TRUSTED, "X-Telemetry-User": "ada"}).json()
    assert refused["results"] == [{"status": "not_recorded", "reason": "no_consent"}]
    after = consent(api, "ada", {"notice_version": state["notice_version"],
                                 "decisions": [{"scope": SCHEMA_ID, "granted": True}]}).json()
    assert after["schemas"][0]["granted"] is True and after["schemas"][0]["recorded"] is True
    [decision] = after["decisions"]
    assert decision["via"] == "rest" and decision["granted"] is True
    assert decision["by"] == "user:ada" and decision["auth"] == "user-token"
    assert post(api, event({"name": "ada's"}), headers=user_auth("ada")).json()[
        "recorded"] == 1
    # Another user has not agreed; an event's own user wins over the header.
    mixed = post(api, [event({"name": "bob's"}), event({"name": "ada again"}, user="ada")],
                 headers={**TRUSTED, "X-Telemetry-User": "bob"}).json()
    assert [r["status"] for r in mixed["results"]] == ["not_recorded", "recorded"]
    assert [e["name"] for e in capture.events] == ["ada's", "ada again"]
    assert "ada" not in json.dumps(capture.events[0]["__source__"])  # the user is not stamped


def test_consent_refusals_are_400_and_keep_earlier_decisions(opt_in_api: str) -> None:
    api = opt_in_api
    version = consent(api, "ada").json()["notice_version"]
    stale = consent(api, "ada", {"notice_version": "n-000000000000",
                                 "decisions": [{"scope": SCHEMA_ID, "granted": True}]})
    assert_error(stale, 400, "consent_refused")
    unknown = consent(api, "ada", {"notice_version": version, "decisions": [
        {"scope": SCHEMA_ID, "granted": True}, {"scope": "https://nope", "granted": True}]})
    body = assert_error(unknown, 400, "consent_refused")
    assert body["error"]["message"].startswith("$.decisions[1]:")
    assert consent(api, "ada").json()["schemas"][0]["granted"] is True  # the first stands
    for bad in ({"decisions": []}, {"notice_version": version, "decisions": [{"scope": 1,
                "granted": True}]}, {"notice_version": version, "decisions": "all"}):
        assert_error(consent(api, "ada", bad), 400, "bad_shape")
    assert_error(requests.put(api + "consent", data=b"{}", headers=AUTH, timeout=30), 415,
                 "unsupported_media_type")
    assert_error(requests.get(api + "consent", timeout=30, headers={
        **user_auth("ada"), "X-Telemetry-User": "two words"}), 400, "bad_header")


def test_a_decision_on_a_required_schema_is_400(api: str) -> None:
    version = requests.get(api + "consent", headers=AUTH, timeout=30).json()["notice_version"]
    answer = requests.put(api + "consent", timeout=30, data=json.dumps(
        {"notice_version": version, "decisions": [{"scope": SCHEMA_ID, "granted": False}]}),
        headers={**AUTH, "Content-Type": "application/json"})
    assert_error(answer, 400, "consent_refused")


def test_an_event_user_must_be_a_user_id(api: str) -> None:
    assert_error(post(api, event(user="has space")), 400, "bad_shape")
    assert_error(post(api, event(), headers={"X-Telemetry-User": "x" * 300}), 400, "bad_header")


def test_unknown_paths_and_methods_are_json_errors(api: str) -> None:
    assert_error(requests.get(api + "nothing", headers=AUTH, timeout=10), 404, "not_found")
    assert_error(requests.delete(api + "events", headers=AUTH, timeout=10), 405,
                 "method_not_allowed")


def test_health_shows_every_sink(tmp_path: Path, schema: dict[str, Any]) -> None:
    with EventLog(allowed_schemas=[SCHEMA_ID],
                  sinks=[{"type": "file", "path": f"{tmp_path}/events/"}]) as log:
        log.register_schema(schema)
        with serve_in_process(log) as (url, _):
            post(url + "/api/telemetry/", event())
            body = requests.get(url + "/api/telemetry/health", timeout=10).json()
    assert body["status"] == "ok"
    [sink] = body["sinks"]
    assert sink["sink"].startswith("file/") and sink["accepted"] == 1


def test_metrics_count_events_by_outcome(api: str) -> None:
    post(api, [event(), event({"count": 1}), {"schema_id": "nope", "version": 1, "data": {}}])
    post(api, "not an event")
    text = requests.get(api.replace("api/telemetry/", "metrics"), timeout=10).text
    assert "telemetry_rest_events_received_total 3.0" in text
    assert "telemetry_rest_events_recorded_total 1.0" in text
    assert 'telemetry_rest_events_invalid_total{rule="required"} 1.0' in text
    assert 'telemetry_rest_events_not_recorded_total{reason="not_allowed"} 1.0' in text
    assert 'telemetry_rest_requests_rejected_total{code="bad_shape",status="400"} 1.0' in text
    assert 'telemetry_rest_request_duration_seconds_count{endpoint="events"} 2.0' in text


def test_durable_acknowledgement_means_on_disk(tmp_path: Path, schema: dict[str, Any]) -> None:
    sink = {"type": "file", "path": f"{tmp_path}/events/", "fsync": True, "batch_age": 30}
    with EventLog(allowed_schemas=[SCHEMA_ID], sinks=[sink]) as log:
        log.register_schema(schema)
        with serve_in_process(log, acknowledgement="durable") as (url, _):
            body = post(url + "/api/telemetry/", [event(id=str(i)) for i in range(50)]).json()
            # Acknowledged: on disk now, not 30 s from now when the batch would be due.
            lines = [json.loads(line) for f in tmp_path.glob("events/**/*.jsonl")
                     for line in f.read_text().splitlines()]
    assert body["recorded"] == 50
    assert {e["__event_id__"] for e in lines} == {r["event_id"] for r in body["results"]}


def test_openapi_document_and_docs_agree(api: str) -> None:
    doc = requests.get(api + "openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.1")
    reference = (Path(__file__).parents[1] / "docs" / "rest-api.md").read_text()
    for path, operations in doc["paths"].items():
        name = path.removeprefix("/api/telemetry/")
        for method in operations:
            if method != "options":
                assert f"{method.upper()} {name}" in reference, (method, path)


def test_nothing_sent_is_logged(api: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        post(api, [event({"name": "SECRET-NAME", "count": "SECRET-COUNT"}),
                   {"schema_id": "SECRET-ID", "version": 1, "data": {"x": "SECRET-X"}}])
    assert "SECRET" not in caplog.text


def test_record_event_source_and_event_id(eventlog: EventLog, capture: CaptureHandler) -> None:
    source = {"via": "rest", "client": "c"}
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "x"}, source=source,
                                     event_id="given-id")
    source["client"] = "changed later"
    assert recorded is not None
    assert list(recorded)[4:6] == ["__event_id__", "__source__"]
    assert capture.events[0]["__event_id__"] == "given-id"
    assert capture.events[0]["__source__"] == {"via": "rest", "client": "c"}
    # A modifier can neither drop nor change it (the envelope is restored after modifiers).
    eventlog.add_modifier(lambda schema_id, data: {"name": "y"})
    eventlog.record_event(SCHEMA_ID, 1, {"name": "x"}, source={"via": "rest"})
    assert capture.events[1]["__source__"] == {"via": "rest"}
    assert capture.events[1]["name"] == "y"


def test_the_sources_text_is_the_recorded_event(eventlog: EventLog,
                                                capture: CaptureHandler) -> None:
    # The handlers get the envelope's text around the event's bytes: it must say what
    # record_event returns, with __source__, a given id JSON must escape, and an
    # undeclared property the policy drops.
    for data, event_id in (({"name": "x"}, "plain-id"), ({"name": "x", "undeclared": 1},
                           'quote"and\\back'), ({"name": "ü"}, "ünïcode")):
        recorded = eventlog.record_event(SCHEMA_ID, 1, data, event_id=event_id,
                                         source={"via": "rest", "client": "c\"q"})
        assert capture.events[-1] == recorded
        assert capture.events[-1]["__event_id__"] == event_id
        assert capture.events[-1]["__source__"] == {"via": "rest", "client": "c\"q"}
