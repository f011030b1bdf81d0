"""End to end in a real JupyterHub (its proxy from npm): the hub hook records logins
with their address, the detect sink in the hub raises one alert for a login from a new
address, and its state survives a restart of the hub.

Set $CONFIGURABLE_HTTP_PROXY to the proxy's command; without it the test skips. The
addresses come from an X-Real-Ip header, which the hub believes (docs/jupyter.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyterhub")
requests = pytest.importorskip("requests")

from conftest import ALERT  # noqa: E402

# Where telemetry_core.testing.servers.jupyterhub looks for the proxy.
_PROXY = os.environ.get("CONFIGURABLE_HTTP_PROXY") or shutil.which("configurable-http-proxy")
pytestmark = pytest.mark.skipif(not (_PROXY and os.path.exists(_PROXY)),
                                reason="configurable-http-proxy not installed")

LOGIN = "https://telemetry.jupyter.org/schemas/events/hub/login"
RULE = "Login from a new address"


def _config(tmp_path: Path) -> str:
    events, state = str(tmp_path / "events") + "/", str(tmp_path / "detect-state")
    return f'''
from telemetry_core.jupyter.hub import configure

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
configure(c, eventlog_config={{
    "sinks": [{{"type": "detect", "state_dir": {state!r}}},
              {{"type": "file", "path": {events!r}}}],
    "allowed_schemas": {{
        {LOGIN!r}: {{"allowed_properties": ["user", "remote_address"], "consent": "required"}},
        {ALERT!r}: {{"allowed_properties": ["user"], "consent": "required"}},
    }},
}}, spawns=False, hub_events=False)
'''


def _log_in(hub: Any, name: str, address: str) -> None:
    browser = requests.Session()
    browser.headers["X-Real-Ip"] = address
    page = browser.get(hub.url + "hub/login")
    xsrf = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page.text)
    form = {"username": name, "password": "any", **({"_xsrf": xsrf[1]} if xsrf else {})}
    answer = browser.post(hub.url + "hub/login?next=", data=form, allow_redirects=False)
    assert answer.status_code == 302, answer.text[-2000:]


def _stored(tmp_path: Path, schema: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for path in sorted((tmp_path / "events").rglob("*.jsonl"))
             for line in path.read_text().splitlines() if line]
    return [e for e in found if e["__schema__"] == schema]


def _wait(tmp_path: Path, schema: str, count: int, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while len(found := _stored(tmp_path, schema)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_a_login_from_a_new_address_alerts_once_across_a_hub_restart(tmp_path: Path) -> None:
    from telemetry_core.testing.servers import jupyterhub

    with jupyterhub(_config(tmp_path), tmp=tmp_path / "hub") as hub:
        _log_in(hub, "alice", "192.0.2.1")  # the baseline
        _log_in(hub, "alice", "192.0.2.1")
        _log_in(hub, "alice", "198.51.100.7")  # new
        logins = _wait(tmp_path, LOGIN, 3)
        alerts = _wait(tmp_path, ALERT, 1)
    assert [e["remote_address"] for e in logins] == ["192.0.2.1", "192.0.2.1", "198.51.100.7"]
    assert [(a["title"], a["matched_event_ids"]) for a in alerts] == [
        (RULE, [logins[2]["__event_id__"]])]
    with jupyterhub(_config(tmp_path), tmp=tmp_path / "hub") as hub:  # restarted
        _log_in(hub, "alice", "198.51.100.7")  # known before the restart
        _log_in(hub, "alice", "203.0.113.5")  # new
        logins = _wait(tmp_path, LOGIN, 5)
        alerts = _wait(tmp_path, ALERT, 2)
    assert [(a["title"], a["matched_event_ids"]) for a in alerts[1:]] == [
        (RULE, [logins[4]["__event_id__"]])]
    assert len(_stored(tmp_path, ALERT)) == 2
    assert all("198.51.100.7" not in json.dumps(a) for a in alerts)
