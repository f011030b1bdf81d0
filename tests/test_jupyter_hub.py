"""telemetry_core.jupyter.hub inside a real JupyterHub (configurable-http-proxy from npm).

Set $CONFIGURABLE_HTTP_PROXY to the proxy's command (``npm install
configurable-http-proxy`` puts it in node_modules/.bin); without it the test skips.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyterhub")
requests = pytest.importorskip("requests")

from jupyter_helpers import read_events, wait_events  # noqa: E402

from telemetry_core.jupyter._recorder import HUB_LOGIN, HUB_SERVER  # noqa: E402
from telemetry_core.testing.servers._jupyter import configurable_http_proxy  # noqa: E402

pytestmark = pytest.mark.skipif(configurable_http_proxy() is None,
                                reason="configurable-http-proxy not installed")

SERVICE_TOKEN = "test-service-token-0123456789"


def hub_config(events: Path, homes: Path, login_properties: tuple[str, ...] = ("user",)) -> str:
    return f'''
import sys
from telemetry_core.jupyter.hub import configure

def earlier_hook(authenticator, handler, authentication):
    authentication["auth_state"] = {{"checked": True}}
    return authentication

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.post_auth_hook = earlier_hook
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(homes) + "/{username}"!r}
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "tests", "api_token": {SERVICE_TOKEN!r}}}]
c.JupyterHub.load_roles = [{{"name": "tests", "services": ["tests"],
                             "scopes": ["admin:servers", "admin:users"]}}]
configure(c, eventlog_config={{
    "sinks": [{{"type": "file", "path": {str(events) + "/"!r}}}],
    "allowed_schemas": {{
        "https://telemetry.jupyter.org/schemas/events/hub/login":
            {{"allowed_properties": {list(login_properties)!r}, "consent": "required"}},
        "https://telemetry.jupyter.org/schemas/events/hub/server":
            {{"allowed_properties": ["user"], "consent": "required"}},
    }},
}})
'''


def log_in(hub: Any, name: str, headers: dict[str, str] | None = None) -> None:
    """Log in through the hub's login form, as a browser does."""
    browser = requests.Session()
    browser.headers.update(headers or {})
    page = browser.get(hub.url + "hub/login")
    xsrf = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page.text)
    form = {"username": name, "password": "any"}
    if xsrf:
        form["_xsrf"] = xsrf.group(1)
    logged_in = browser.post(hub.url + "hub/login?next=", data=form, allow_redirects=False)
    assert logged_in.status_code == 302, logged_in.text[-2000:]


def wait_server(hub: Any, api: Any, running: bool, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        user = api.get(hub.url + "hub/api/users/alice").json()
        server = user.get("servers", {}).get("", {})
        if bool(server.get("ready")) == running and not server.get("pending"):
            return
        time.sleep(0.5)
    raise AssertionError(f"server of alice not {'ready' if running else 'stopped'}:\n"
                         + hub.log()[-3000:])


def test_login_spawn_stop_recorded(tmp_path: Path) -> None:
    from telemetry_core.testing.servers import jupyterhub

    events, homes = tmp_path / "events", tmp_path / "homes"
    (homes / "alice").mkdir(parents=True)
    with jupyterhub(hub_config(events, homes), tmp=tmp_path / "hub") as hub:
        log_in(hub, "alice")

        api = requests.Session()
        api.headers["Authorization"] = f"token {SERVICE_TOKEN}"
        started = api.post(hub.url + "hub/api/users/alice/server", data=json.dumps({}))
        assert started.status_code in (201, 202), started.text
        wait_server(hub, api, running=True)
        stopped = api.delete(hub.url + "hub/api/users/alice/server")
        assert stopped.status_code in (202, 204), stopped.text
        wait_server(hub, api, running=False)
        servers = wait_events(events, HUB_SERVER, 4)
        logins = read_events(events)
    logins = [e for e in logins if e["__schema__"] == HUB_LOGIN]
    assert [(e["user"], e["authenticator"]) for e in logins] == [("alice", "DummyAuthenticator")]
    assert logins[0]["remote_address"] is None  # personal data the policy does not keep
    assert sorted((e["source"], e["action"]) for e in servers) == [
        ("hub", "started"), ("hub", "stopped"), ("spawner", "spawning"), ("spawner", "stopped")]
    assert all(e["user"] == "alice" and e["server_name"] is None for e in servers)  # redacted
    assert {e["spawner"] for e in servers if e["source"] == "spawner"} == {
        "SimpleLocalProcessSpawner"}


def test_the_login_address_is_recorded_where_the_policy_allows_it(tmp_path: Path) -> None:
    from telemetry_core.testing.servers import jupyterhub

    events, homes = tmp_path / "events", tmp_path / "homes"
    config = hub_config(events, homes, login_properties=("user", "remote_address"))
    with jupyterhub(config, tmp=tmp_path / "hub") as hub:
        log_in(hub, "alice")
        # A client's own X-Forwarded-For is not believed: the proxy appends the address
        # that connected to it, and the hub takes the last one.
        log_in(hub, "bob", headers={"X-Forwarded-For": "203.0.113.9"})
        # X-Real-Ip is believed, and the proxy passes a client's own on: the caveat
        # docs/jupyter.md states (a front proxy must set it, or strip it).
        log_in(hub, "carol", headers={"X-Real-Ip": "203.0.113.7"})
        logins = wait_events(events, HUB_LOGIN, 3)
    assert sorted((e["user"], e["remote_address"]) for e in logins) == [
        ("alice", "127.0.0.1"), ("bob", "127.0.0.1"), ("carol", "203.0.113.7")]
