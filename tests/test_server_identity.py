"""Who may claim what at the REST edge (docs/rest-api.md, Trust model), over real HTTP:
client roles, signed user tokens (PyJWT), consent only for oneself unless an admin, the
audit trail of decisions and admin reads, paged history, and a big PUT off the loop."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from conftest import SCHEMA_ID
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_helpers import (
    ADMIN_TOKEN,
    BACKEND_TOKEN,
    IDENTITY_SETTINGS,
    TOKEN,
    USER_TOKEN_KEY,
    serve_in_process,
    user_auth,
)

from telemetry_core import EventLog
from telemetry_core.server import mint_user_token
from telemetry_core.testing import CaptureHandler

PLAIN = {"Authorization": f"Bearer {TOKEN}"}  # a browser's token: may not name users
TRUSTED = {"Authorization": f"Bearer {BACKEND_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def capture() -> CaptureHandler:
    return CaptureHandler()


@pytest.fixture
def served(schema: dict[str, Any], capture: CaptureHandler,
           tmp_path: Path) -> Iterator[tuple[str, EventLog]]:
    with EventLog(handlers=[capture], allowed_schemas={SCHEMA_ID: {"consent": "opt-in"}},
                  consent_store=f"sqlite:///{tmp_path / 'consent.sqlite3'}") as log:
        log.register_schema(schema)
        with serve_in_process(log, **IDENTITY_SETTINGS) as (url, _):
            yield url + "/api/telemetry/", log


def post(api: str, body: Any, headers: dict[str, str]) -> requests.Response:
    return requests.post(api + "events", data=json.dumps(body), timeout=30,
                         headers={**JSON, **headers})


def event(**extra: Any) -> dict[str, Any]:
    return {"schema_id": SCHEMA_ID, "version": 1, "data": {"name": "x"}, **extra}


def put_consent(api: str, headers: dict[str, str], granted: bool = True,
                count: int = 1, version: str | None = None) -> requests.Response:
    if version is None:
        version = requests.get(api + "notice", headers=headers, timeout=30).headers[
            "X-Telemetry-Notice-Version"]
    body = {"notice_version": version,
            "decisions": [{"scope": SCHEMA_ID, "granted": granted}] * count}
    return requests.put(api + "consent", data=json.dumps(body), timeout=60,
                        headers={**JSON, **headers})


def rejected(api: str, code: str) -> float:
    """The /metrics count of requests refused with ``code``."""
    text = requests.get(api.replace("/api/telemetry/", "/metrics"), timeout=30).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("telemetry_rest_requests_rejected_total{") and \
                f'code="{code}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_client_without_the_role_cannot_name_a_user_and_is_counted(
        served: tuple[str, EventLog], capture: CaptureHandler) -> None:
    api, log = served
    log.consent.grant("bob", SCHEMA_ID)  # bob's events would be recorded
    before = rejected(api, "user_not_allowed")
    forged_header = post(api, event(), {**PLAIN, "X-Telemetry-User": "bob"})
    forged_field = post(api, [event(), event(user="bob")], PLAIN)
    for answer in (forged_header, forged_field):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "user_not_allowed"
    assert "$[1].user" in forged_field.json()["error"]["message"]
    assert "bob" not in forged_field.text  # the refusal does not echo the name
    assert capture.events == []  # never a silent fallback to the client's own user
    assert rejected(api, "user_not_allowed") == before + 2
    # A trusted server-side client may name users.
    assert post(api, event(), {**TRUSTED, "X-Telemetry-User": "bob"}).json()["recorded"] == 1
    assert post(api, [event(user="bob")], TRUSTED).json()["recorded"] == 1


def test_a_user_token_proves_its_user_and_only_that_user(
        served: tuple[str, EventLog], capture: CaptureHandler) -> None:
    api, log = served
    log.consent.grant("bob", SCHEMA_ID)
    assert put_consent(api, user_auth("ada")).status_code == 200
    assert post(api, event(), user_auth("ada")).json()["recorded"] == 1
    assert post(api, event(user="ada"), user_auth("ada")).json()["recorded"] == 1  # herself
    answer = post(api, event(), {**user_auth("ada"), "X-Telemetry-User": "bob"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "user_not_allowed"
    assert post(api, event(user="bob"), user_auth("ada")).status_code == 403
    sources = [e["__source__"] for e in capture.events if "__source__" in e]
    assert len(sources) == 2
    assert {s["client"] for s in sources} == {"user-token"}  # the label, never the user
    assert "ada" not in json.dumps(sources)


@pytest.mark.parametrize(("claims", "why"), [
    ({"exp_offset": -120}, "expired"),
    ({"aud": "another-service"}, "wrong audience"),
    ({"key": "a-different-secret-of-32-bytes-or-more"}, "bad signature"),
    ({"ttl": 7 * 86400}, "max_ttl"),
])
def test_user_tokens_that_prove_nothing_are_401(served: tuple[str, EventLog],
                                                claims: dict[str, Any], why: str) -> None:
    api, _ = served
    now = int(time.time())
    ttl = claims.get("ttl", 600)
    payload = {"sub": "ada", "aud": claims.get("aud", "telemetry"), "iat": now,
               "exp": now + claims.get("exp_offset", ttl)}
    if "exp_offset" in claims:
        payload["iat"] = now - 600
    token = jwt.encode(payload, claims.get("key", USER_TOKEN_KEY), algorithm="HS256")
    answer = requests.get(api + "consent", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    assert answer.status_code == 401
    assert why in answer.json()["error"]["message"]
    assert token not in answer.text


def test_clock_skew_within_the_leeway_is_accepted(served: tuple[str, EventLog]) -> None:
    api, _ = served
    # Expired 10 s ago by this clock: within the 30 s leeway of a collector whose clock runs
    # ahead of the minting backend's.
    token = mint_user_token("ada", key=USER_TOKEN_KEY, ttl=60, now=time.time() - 70)
    answer = requests.get(api + "consent", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    assert answer.status_code == 200 and answer.json()["user"] == "ada"


def test_consent_is_only_the_callers_own_unless_an_admin(served: tuple[str, EventLog]) -> None:
    api, log = served
    assert put_consent(api, user_auth("bob")).status_code == 200
    # Ada cannot read or change bob's decisions, with a user token or a plain client token.
    for headers in (user_auth("ada"), PLAIN, TRUSTED):
        other = {**headers, "X-Telemetry-User": "bob"}
        read = requests.get(api + "consent", headers=other, timeout=30)
        assert read.status_code == 403 and read.json()["error"]["code"] == "not_consent_admin"
        assert put_consent(api, other, granted=False).status_code == 403
    assert log.consent.permits("bob", SCHEMA_ID)  # bob's yes stands
    # An admin client may, and both the read and the change are on the record as such.
    read = requests.get(api + "consent", headers={**ADMIN, "X-Telemetry-User": "bob"},
                        timeout=30)
    assert read.status_code == 200 and read.json()["user"] == "bob"
    assert put_consent(api, {**ADMIN, "X-Telemetry-User": "bob"}, granted=False).ok
    admin_user = user_auth("carol", roles=["consent-admin"])
    assert put_consent(api, {**admin_user, "X-Telemetry-User": "bob"}, granted=False).ok
    history = log.consent.history("bob")
    assert [(d.by, d.auth) for d in history] == [
        ("user:bob", "user-token"), ("client:consent-desk", "token"),
        ("admin:carol", "user-token")]
    assert log.consent.store.accesses("bob") == [
        {"read_by": "client:consent-desk", "auth": "token", "at": log.consent.store.accesses(
            "bob")[0]["at"]}]
    assert log.consent.store.accesses("ada") == []  # reading one's own is not an access


def test_history_is_paged_with_a_bound(served: tuple[str, EventLog]) -> None:
    api, log = served
    for granted in [True, False] * 130:
        log.consent.decide("ada", SCHEMA_ID, granted)
    page = requests.get(api + "consent", headers=user_auth("ada"), timeout=30).json()
    assert len(page["decisions"]) == 100 and page["older"] is not None
    seen = len(page["decisions"])
    while page["older"] is not None:
        page = requests.get(api + "consent", params={"before": page["older"], "limit": 100},
                            headers=user_auth("ada"), timeout=30).json()
        seen += len(page["decisions"])
    assert seen == 260
    too_many = requests.get(api + "consent", params={"limit": 101}, headers=user_auth("ada"),
                            timeout=30)
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "bad_query"


def test_a_1000_decision_put_does_not_hold_up_health(tmp_path: Path) -> None:
    # The collector in its own process (as deployed): another client's GET health, while
    # one PUT consent writes 1,000 decisions.
    from conftest import TEST_SCHEMA

    from telemetry_core.testing.servers import rest_server

    (tmp_path / "schema.json").write_text(json.dumps(TEST_SCHEMA))
    config = {"EventLog": {"allowed_schemas": {SCHEMA_ID: {"consent": "opt-in"}},
                           "schema_files": [str(tmp_path / "schema.json")],
                           "consent_store": f"sqlite:///{tmp_path / 'consent.sqlite3'}"},
              "TelemetryServer": {"user_tokens": {"key": USER_TOKEN_KEY}}}
    with rest_server(config) as server:
        api = server.api
        session = requests.Session()

        def health_ms() -> float:
            start = time.perf_counter()
            assert session.get(api + "health", timeout=30).ok
            return 1000 * (time.perf_counter() - start)

        # The notice and the store are made ready first: only the PUT itself is measured.
        version = requests.get(api + "notice", headers=user_auth("ada"), timeout=30).headers[
            "X-Telemetry-Notice-Version"]
        assert put_consent(api, user_auth("ada"), version=version).ok
        baseline = [health_ms() for _ in range(40)]
        during: list[float] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                during.append(health_ms())

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            answer = put_consent(api, user_auth("ada"), count=1000, version=version)
        finally:
            done.set()
            poller.join(30)
        assert answer.status_code == 200, answer.text
        history = requests.get(api + "consent", headers=user_auth("ada"), timeout=30).json()
    assert len(history["decisions"]) == 100 and history["older"] is not None  # paged
    assert len(during) >= 3, "the PUT ended before health was asked: nothing measured"
    # The functional bound: no health answer waits 50 ms longer than the slowest
    # one before the PUT (on a shared machine the scheduler alone moves single answers;
    # before, 1,000 commits on the event loop held every answer for seconds).
    assert max(during) <= max(baseline) + 50, (sorted(baseline), during)


def test_the_cli_mints_a_token_the_collector_accepts(served: tuple[str, EventLog],
                                                     tmp_path: Path) -> None:
    api, _ = served
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"TelemetryServer": {"user_tokens": {"key": USER_TOKEN_KEY}}}))
    minted = subprocess.run([sys.executable, "-m", "telemetry_core._cli", "token", "mint",
                             "--user", "alice", "--ttl", "15m", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, check=True)
    token = minted.stdout.strip()
    claims = jwt.decode(token, USER_TOKEN_KEY, algorithms=["HS256"], audience="telemetry")
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 900
    answer = requests.get(api + "consent", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    assert answer.json()["user"] == "alice"


def test_asymmetric_user_tokens_need_only_the_public_key(schema: dict[str, Any],
                                                         tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    (tmp_path / "public.pem").write_text(public_pem)
    with EventLog(allowed_schemas=[SCHEMA_ID]) as log:
        log.register_schema(schema)
        with serve_in_process(log, tokens={}, user_tokens={
                "algorithm": "ES256", "key_file": str(tmp_path / "public.pem"),
                "issuer": "https://portal.example.org"}) as (url, _):
            good = mint_user_token("ada", key=private_pem, algorithm="ES256",
                                   issuer="https://portal.example.org")
            answer = requests.get(url + "/api/telemetry/consent",
                                  headers={"Authorization": f"Bearer {good}"}, timeout=30)
            assert answer.status_code == 200 and answer.json()["user"] == "ada"
            # The HS256 trick (the public key as an HMAC secret) proves nothing.
            forged = jwt.encode({"sub": "ada", "aud": "telemetry", "iat": int(time.time()),
                                 "exp": int(time.time()) + 60,
                                 "iss": "https://portal.example.org"},
                                "x" * 32, algorithm="HS256")
            refused = requests.get(url + "/api/telemetry/consent",
                                   headers={"Authorization": f"Bearer {forged}"}, timeout=30)
            assert refused.status_code == 401


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.from_regex(r"[A-Za-z0-9._@-]{1,40}", fullmatch=True))
def test_no_forged_name_is_ever_recorded(served: tuple[str, EventLog],
                                         capture: CaptureHandler, name: str) -> None:
    api, _ = served
    before = len(capture.events)
    for body, headers in (([event(user=name)], PLAIN),
                          ([event()], {**PLAIN, "X-Telemetry-User": name})):
        answer = post(api, body, headers)
        assert answer.status_code == (200 if name == "lab-portal" else 403)
    if name != "lab-portal":
        assert len(capture.events) == before


@pytest.fixture
def identity_provider() -> Iterator[dict[str, Any]]:
    """An OIDC provider of the test's own: an RSA key it mints, its discovery document and
    JWKS served on 127.0.0.1, and a count of JWKS fetches."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    provider: dict[str, Any] = {"key": key, "fetches": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            issuer = provider["issuer"]
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": issuer, "jwks_uri": issuer + "/jwks.json"}
            elif self.path == "/jwks.json":
                provider["fetches"] += 1
                body = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider["issuer"] = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def _oidc_token(provider: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": provider["issuer"], "aud": "telemetry-api", "sub": "ada",
               "iat": now, "exp": now + 300, **claims}
    return jwt.encode(payload, provider["key"], algorithm="RS256", headers={"kid": "k1"})


def test_oidc_access_tokens_checked_against_the_providers_jwks(
        schema: dict[str, Any], identity_provider: dict[str, Any], tmp_path: Path) -> None:
    provider = identity_provider
    with EventLog(allowed_schemas={SCHEMA_ID: {"consent": "opt-in"}},
                  consent_store=f"sqlite:///{tmp_path / 'c.sqlite3'}") as log:
        log.register_schema(schema)
        with serve_in_process(log, tokens={}, oidc={
                "issuer": provider["issuer"], "audience": "telemetry-api",
                "admin_users": ["dpo"]}) as (url, _):
            api = url + "/api/telemetry/"

            def get(token: str, **headers: str) -> requests.Response:
                return requests.get(api + "consent", timeout=30,
                                    headers={"Authorization": f"Bearer {token}", **headers})

            for _ in range(3):
                answer = get(_oidc_token(provider))
                assert answer.status_code == 200 and answer.json()["user"] == "ada"
            assert provider["fetches"] == 1  # the JWKS is cached
            assert put_consent(api, {"Authorization": f"Bearer {_oidc_token(provider)}"}).ok
            assert log.consent.history("ada")[-1].auth == "oidc"
            refused = {
                "wrong audience": _oidc_token(provider, aud="another-api"),
                "expired": _oidc_token(provider, iat=int(time.time()) - 900,
                                       exp=int(time.time()) - 600),
            }
            for why, token in refused.items():
                answer = get(token)
                assert answer.status_code == 401 and why in answer.json()["error"]["message"]
            # Another issuer's token is not taken for this provider's.
            assert get(_oidc_token(provider, iss="https://elsewhere.example")).status_code == 401
            # Not ada's to read; the provider's admin user may, and is on the record.
            assert get(_oidc_token(provider), **{"X-Telemetry-User": "bob"}).status_code == 403
            dpo = get(_oidc_token(provider, sub="dpo"), **{"X-Telemetry-User": "ada"})
            assert dpo.status_code == 200 and dpo.json()["user"] == "ada"
            assert log.consent.store.accesses("ada")[0]["read_by"] == "admin:dpo"
