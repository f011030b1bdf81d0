"""The REST API inside a real jupyter_server subprocess: Jupyter's auth, the Jupyter user,
base_url, and the EventLog from the server's own config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SCHEMA_ID, TEST_SCHEMA

from telemetry_core.testing.servers import jupyter_server

pytest.importorskip("jupyter_server")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    tmp = tmp_path_factory.mktemp("jupyter-rest")
    (tmp / "schema.json").write_text(json.dumps(TEST_SCHEMA))
    sink = {"type": "file", "path": f"{tmp}/events/", "template": "e.jsonl"}
    config = f"""
c.ServerApp.jpserver_extensions = {{"telemetry_core.server": True}}
c.EventLog.allowed_schemas = [{SCHEMA_ID!r}]
c.EventLog.schema_files = [{str(tmp / "schema.json")!r}]
c.EventLog.sinks = [{sink!r}]
c.TelemetryServer.acknowledgement = "durable"
"""
    with jupyter_server(config, base_url="/hub/user/ada/", tmp=tmp / "jupyter") as server:
        yield server, tmp


def auth(server: Any) -> dict[str, str]:
    return {"Authorization": f"token {server.token}"}


def test_events_are_recorded_as_the_jupyter_user(jupyter: tuple[Any, Path]) -> None:
    server, tmp = jupyter
    answer = requests.post(
        f"{server.url}api/telemetry/events", timeout=30,
        headers={**auth(server), "Content-Type": "application/json",
                 "X-Telemetry-User": "someone-else"},
        data=json.dumps([{"schema_id": SCHEMA_ID, "version": 1, "data": {"name": "in-jupyter"},
                          "id": "j1", "user": "someone-else"}]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 1
    lines = [json.loads(x) for x in (tmp / "events" / "e.jsonl").read_text().splitlines()]
    [event] = [e for e in lines if e["name"] == "in-jupyter"]
    # Jupyter names a token-authenticated caller (an anonymous user of its own, here);
    # what the request says about users is never taken, and the Jupyter user's name
    # (personal data) never reaches a sink through __source__: it says "jupyter".
    user = requests.get(f"{server.url}api/telemetry/consent", headers=auth(server),
                        timeout=30).json()["user"]
    assert user and user != "someone-else"
    assert event["__source__"]["client"] == "jupyter"
    assert event["__source__"]["via"] == "rest"
    for recorded in lines:
        assert user not in json.dumps(recorded.get("__source__", {}))


def test_without_jupyter_credentials_it_is_403(jupyter: tuple[Any, Path]) -> None:
    server, _ = jupyter
    for method, path in (("post", "events"), ("get", "schemas"), ("get", "health")):
        answer = requests.request(method, f"{server.url}api/telemetry/{path}", timeout=30,
                                  headers={"Content-Type": "application/json"}, data=b"[]")
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"


def test_every_endpoint_answers_under_base_url(jupyter: tuple[Any, Path]) -> None:
    server, _ = jupyter
    api = f"{server.url}api/telemetry/"
    schemas = requests.get(api + "schemas", headers=auth(server), timeout=30).json()
    assert [s["schema_id"] for s in schemas["schemas"]] == [SCHEMA_ID]
    notice = requests.get(api + "notice?format=html", headers=auth(server), timeout=30)
    assert notice.status_code == 200 and "<section" in notice.text
    assert notice.headers["X-Telemetry-Notice-Version"]
    health = requests.get(api + "health", headers=auth(server), timeout=30).json()
    assert health["status"] == "ok" and health["sinks"][0]["sink"].startswith("file/")
    doc = requests.get(api + "openapi.json", headers=auth(server), timeout=30).json()
    assert doc["servers"] == [{"url": "/hub/user/ada"}]
    assert "/metrics" not in doc["paths"]
    bad = requests.post(api + "events", headers={**auth(server), "Content-Type": "text/plain"},
                        data=b"[]", timeout=30)
    assert bad.status_code == 415 and bad.json()["error"]["code"] == "unsupported_media_type"


def test_the_authorizer_decides_on_the_telemetry_resource(tmp_path: Path) -> None:
    config = f"""
from jupyter_server.auth import Authorizer

class ReadOnlyTelemetry(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return not (resource == "telemetry" and action == "write")

c.ServerApp.authorizer_class = ReadOnlyTelemetry
c.ServerApp.jpserver_extensions = {{"telemetry_core.server": True}}
c.EventLog.allowed_schemas = [{SCHEMA_ID!r}]
"""
    with jupyter_server(config, tmp=tmp_path / "jupyter") as server:
        api = f"{server.url}api/telemetry/"
        assert requests.get(api + "schemas", headers=auth(server), timeout=30).status_code == 200
        refused = requests.post(api + "events", data=b"[]", timeout=30,
                                headers={**auth(server), "Content-Type": "application/json"})
        assert refused.status_code == 403
        assert "write the telemetry resource" in refused.json()["error"]["message"]
