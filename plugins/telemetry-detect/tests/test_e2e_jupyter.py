"""End to end: a real jupyter_server with the telemetry extension and the detect sink.

A kernel runs code holding a reverse-shell one-liner (as a string: it is never run, and
names only 127.0.0.1) and a harmless look-alike; exactly one alert reaches the file sink.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyter_server")
pytest.importorskip("ipykernel")

from conftest import ALERT, KERNEL, LOOK_ALIKE, PII, REVERSE_SHELL  # noqa: E402

from telemetry_core.testing.servers import jupyter_server  # noqa: E402

# The kernel websocket helpers of the core's own Jupyter tests (same repository).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from jupyter_helpers import connect_kernel, read_events, run_code  # noqa: E402

POLICY = {KERNEL: {"allowed_categories": [PII], "consent": "required"},
          ALERT: {"allowed_properties": ["user"], "consent": "required"}}


def _config(events: Path, spool: Path) -> str:
    return (
        "c.ServerApp.jpserver_extensions = {'telemetry_core.jupyter': True}\n"
        f"c.EventLog.allowed_schemas = {POLICY!r}\n"
        "c.TelemetryHooks.code_sources = ['websocket']\n"
        f"c.EventLog.sinks = [{{'type': 'detect', 'spool_dir': {str(spool / 'd')!r}}},\n"
        f"    {{'type': 'file', 'path': {str(events) + '/'!r}, "
        f"'spool_dir': {str(spool / 'f')!r}}}]\n")


def _api(server: Any, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def test_one_alert_for_the_reverse_shell_not_for_the_look_alike(tmp_path: Path) -> None:
    events = tmp_path / "events"
    with jupyter_server(_config(events, tmp_path / "spool"),
                        tmp=tmp_path / "jupyter") as server:
        kernel_id = str(_api(server, "POST", "api/kernels", {"name": "python3"})["id"])

        async def go() -> None:
            ws = await connect_kernel(server.url, server.token, kernel_id, None)
            try:
                for code in (LOOK_ALIKE, REVERSE_SHELL, "x = 6 * 7"):
                    reply = await run_code(ws, code, None)
                    assert reply["content"]["status"] == "ok"
            finally:
                ws.close()

        asyncio.run(go())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            recorded = read_events(events)
            code_events = [e for e in recorded if e["__schema__"] == KERNEL
                           and e.get("kernel_id") == kernel_id]
            alerts = [e for e in recorded if e["__schema__"] == ALERT]
            if len(code_events) >= 3 and alerts:
                break
            time.sleep(0.3)
        time.sleep(1.0)  # a second alert, were there one, would be on disk by now
        recorded = read_events(events)
    alerts = [e for e in recorded if e["__schema__"] == ALERT]
    shell = [e for e in recorded if e["__schema__"] == KERNEL and e.get("code") == REVERSE_SHELL]
    assert len(shell) == 1
    assert len(alerts) == 1, alerts
    assert alerts[0]["title"] == "Reverse shell through /dev/tcp"
    assert alerts[0]["matched_event_ids"] == [shell[0]["__event_id__"]]
    assert alerts[0]["user"] == shell[0]["user"]
