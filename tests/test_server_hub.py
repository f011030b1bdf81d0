"""``telemetry serve`` as a service of a real JupyterHub (configurable-http-proxy from
npm), users authenticated by the Hub through jupyterhub's own service auth: two users,
each with their own consent, through the Hub's proxy."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMA_ID, TEST_SCHEMA

pytest.importorskip("jupyterhub")
requests = pytest.importorskip("requests")

from telemetry_core.testing.servers import free_port  # noqa: E402
from telemetry_core.testing.servers._jupyter import configurable_http_proxy  # noqa: E402

pytestmark = pytest.mark.skipif(configurable_http_proxy() is None,
                                reason="configurable-http-proxy not installed")

ADMIN_TOKEN = "test-admin-service-token-0123456789"


def hub_config(tmp: Path, port: int) -> str:
    (tmp / "schema.json").write_text(json.dumps(TEST_SCHEMA))
    collector = {"EventLog": {
        "allowed_schemas": {SCHEMA_ID: {"consent": "opt-in"}},
        "schema_files": [str(tmp / "schema.json")],
        "consent_store": f"sqlite:///{tmp / 'consent.sqlite3'}",
        "sinks": [{"type": "file", "path": f"{tmp}/events/", "template": "e.jsonl",
                   "batch_age": 0.05}]},
        "TelemetryServer": {"hub_auth": True}}
    (tmp / "collector.json").write_text(json.dumps(collector))
    command = [sys.executable, "-m", "telemetry_core._cli", "serve", "--config",
               str(tmp / "collector.json"), "--port", str(port)]
    return f'''
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"dora"}}
c.JupyterHub.services = [
    {{"name": "telemetry", "url": "http://127.0.0.1:{port}", "command": {command!r},
      "oauth_no_confirm": True}},
    {{"name": "tests", "api_token": {ADMIN_TOKEN!r}}},
]
c.JupyterHub.load_roles = [
    {{"name": "telemetry-service", "services": ["telemetry"], "scopes": ["read:users:name"]}},
    {{"name": "user", "scopes": ["self", "access:services!service=telemetry"]}},
    {{"name": "tests", "services": ["tests"], "scopes": ["admin:users", "tokens"]}},
]
'''


def user_token(hub: Any, user: str) -> str:
    api = {"Authorization": f"token {ADMIN_TOKEN}"}
    requests.post(hub.url + f"hub/api/users/{user}", headers=api, timeout=30)
    made = requests.post(hub.url + f"hub/api/users/{user}/tokens", headers=api, timeout=30,
                         data=json.dumps({"note": "telemetry test"}))
    assert made.status_code in (200, 201), made.text
    return str(made.json()["token"])


def test_hub_users_act_only_on_their_own_consent(tmp_path: Path) -> None:
    from telemetry_core.testing.servers import jupyterhub

    port = free_port()
    with jupyterhub(hub_config(tmp_path, port), tmp=tmp_path / "hub") as hub:
        api = hub.url + "services/telemetry/api/telemetry/"  # through the Hub's proxy
        deadline = time.monotonic() + 60
        while requests.get(api + "health", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, hub.log()[-3000:]
            time.sleep(0.5)
        alice, bob, dora = (user_token(hub, u) for u in ("alice", "bob", "dora"))

        def call(method: str, path: str, token: str, body: Any = None,
                 **headers: str) -> requests.Response:
            return requests.request(method, api + path, timeout=30, headers={
                "Authorization": f"token {token}", "Content-Type": "application/json",
                **headers}, data=None if body is None else json.dumps(body))

        assert call("GET", "consent", "not-a-hub-token").status_code == 401, hub.log()[-4000:]
        state = call("GET", "consent", alice).json()
        assert "user" in state, (state, hub.log()[-4000:])
        assert state["user"] == "alice"
        yes = {"notice_version": state["notice_version"],
               "decisions": [{"scope": SCHEMA_ID, "granted": True}]}
        granted = call("PUT", "consent", alice, yes).json()
        assert granted["decisions"][-1]["by"] == "user:alice"
        assert granted["decisions"][-1]["auth"] == "hub"
        # Bob has said nothing; Alice cannot speak for him, read his or post as him.
        assert call("GET", "consent", bob).json()["decisions"] == []
        assert call("PUT", "consent", alice, yes, **{"X-Telemetry-User": "bob"}
                    ).status_code == 403
        event = {"schema_id": SCHEMA_ID, "version": 1, "data": {"name": "hub"}}
        assert call("POST", "events", alice, [{**event, "user": "bob"}]).status_code == 403
        assert call("POST", "events", alice, [event]).json()["recorded"] == 1
        assert call("POST", "events", bob, [event]).json()["results"][0]["reason"] == \
            "no_consent"
        # A Hub admin may read Bob's decisions, and is on the record as such.
        read = call("GET", "consent", dora, **{"X-Telemetry-User": "bob"})
        assert read.status_code == 200 and read.json()["user"] == "bob"
    recorded = [json.loads(x) for x in (tmp_path / "events" / "e.jsonl").read_text().splitlines()]
    assert len(recorded) == 1 and recorded[0]["__source__"]["client"] == "hub"
    assert "alice" not in json.dumps(recorded[0]["__source__"])
    from telemetry_core.consent._store import ConsentStore

    store = ConsentStore(f"sqlite:///{tmp_path / 'consent.sqlite3'}")
    try:
        assert [(a["read_by"], a["auth"]) for a in store.accesses("bob")] == [("admin:dora", "hub")]
    finally:
        store.close()
