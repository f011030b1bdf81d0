"""End to end: a real jupyter_server with the telemetry extension and the detect sink.

A kernel runs code holding a reverse-shell one-liner (as a string: it is never run, and
names only 127.0.0.1) and a harmless look-alike; exactly one alert reaches the file sink
and, through the server's ``kafka`` sink, a real Kafka topic (Tansu).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyter_server")
pytest.importorskip("ipykernel")
pytest.importorskip("telemetry_sink_kafka")

from conftest import ALERT, KERNEL, LOOK_ALIKE, PII, REVERSE_SHELL  # noqa: E402
from kafka_helpers import consume_all, kafka_sink  # noqa: E402

from telemetry_core.testing.servers import jupyter_server  # noqa: E402

# The kernel websocket helpers of the core's own Jupyter tests (same repository).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from jupyter_helpers import connect_kernel, read_events, run_code  # noqa: E402

POLICY = {KERNEL: {"allowed_categories": [PII], "consent": "required"},
          ALERT: {"allowed_properties": ["user"], "consent": "required"}}


def _config(events: Path, spool: Path, kafka: dict[str, Any]) -> str:
    sinks = [{"type": "detect", "spool_dir": str(spool / "d")},
             {"type": "file", "path": str(events) + "/", "spool_dir": str(spool / "f")},
             kafka]
    return (
        "c.ServerApp.jpserver_extensions = {'telemetry_core.jupyter': True}\n"
        f"c.EventLog.allowed_schemas = {POLICY!r}\n"
        "c.TelemetryHooks.code_sources = ['websocket']\n"
        f"c.EventLog.sinks = {sinks!r}\n")


def _api(server: Any, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def test_one_alert_for_the_reverse_shell_not_for_the_look_alike(tmp_path: Path,
                                                                 kafka: Any) -> None:
    events, prefix = tmp_path / "events", f"e2e-{uuid.uuid4().hex[:8]}"
    to_kafka = kafka_sink(kafka.bootstrap_servers, prefix + ".{schema_name}",
                          tmp_path / "spool" / "k")
    with jupyter_server(_config(events, tmp_path / "spool", to_kafka),
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
    # The same alert, once, on the alert topic (read back from offset 0), and the code
    # events it points at on theirs.
    on_topic = consume_all(kafka.bootstrap_servers, f"{prefix}.alert", at_least=1)
    assert [a["__event_id__"] for a in on_topic] == [alerts[0]["__event_id__"]], on_topic
    assert on_topic[0]["matched_event_ids"] == [shell[0]["__event_id__"]]
    assert "127.0.0.1/4444" not in json.dumps(on_topic)  # the alert never copies the code
    code_on_topic = consume_all(kafka.bootstrap_servers, f"{prefix}.code-executed",
                                at_least=3, quiet=1.0)
    assert shell[0]["__event_id__"] in {e["__event_id__"] for e in code_on_topic}
