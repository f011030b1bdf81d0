"""telemetry_core.jupyter inside a real ``jupyter server`` with a real ipykernel."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

pytest.importorskip("jupyter_server")
pytest.importorskip("ipykernel")

from jupyter_helpers import V1, connect_kernel, read_events, run_code, wait_events  # noqa: E402

from telemetry_core.jupyter._recorder import (  # noqa: E402
    CODE_EXECUTED,
    DATASET_OPENED,
    FILE_OPENED,
    FILE_SAVED,
    KERNEL_LIFECYCLE,
    SCHEMA_IDS,
    SERVER_SESSION,
    SERVER_TERMINAL,
)
from telemetry_core.testing.servers import jupyter_server  # noqa: E402

# The token's requests are "alice": the user the server knows, whatever headers claim.
IDENTITY = '''
from jupyter_server.auth import IdentityProvider, User

class AliceProvider(IdentityProvider):
    def generate_anonymous_user(self, handler):
        return User(username="alice", name="Alice")

c.ServerApp.identity_provider_class = AliceProvider
c.ServerApp.jpserver_extensions = {"telemetry_core.jupyter": True}
'''


def server_config(events: Path, allowed: dict[str, Any], code_sources: list[str]) -> str:
    return IDENTITY + (
        f"c.EventLog.sinks = [{{'type': 'file', 'path': {str(events) + '/'!r}}}]\n"
        f"c.EventLog.allowed_schemas = {allowed!r}\n"
        f"c.TelemetryHooks.code_sources = {code_sources!r}\n")


def api(server: Any, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
    return json.loads(text) if text else None


# The default policy: user names kept, code and paths redacted; an audit, so recorded
# for every user (consent "required": keeping names would otherwise make it opt-in).
USER_ONLY = {sid: {"allowed_properties": ["user"], "consent": "required"}
             for sid in SCHEMA_IDS}
# A terminal's name may be a client's free text (personal data): these tests keep it.
USER_ONLY[SERVER_TERMINAL] = {"allowed_properties": ["user", "terminal"],
                              "consent": "required"}


@pytest.fixture(scope="module")
def events_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, events_dir: Path) -> Any:
    with jupyter_server(server_config(events_dir, USER_ONLY, ["websocket"]),
                        tmp=tmp_path_factory.mktemp("jupyter")) as running:
        yield running


@pytest.fixture(scope="module")
def kernel_id(server: Any) -> str:
    return str(api(server, "POST", "api/kernels", {"name": "python3"})["id"])


@pytest.mark.parametrize("protocol", [None, V1], ids=["legacy-json", "v1-binary"])
def test_code_executed_once_with_the_servers_user(server: Any, events_dir: Path,
                                                  kernel_id: str, protocol: str | None) -> None:
    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        ws = await connect_kernel(server.url, server.token, kernel_id, protocol)
        try:
            first = await run_code(ws, "print(6*7)", protocol, username="mallory")
            second = await run_code(ws, "1/0", protocol, username="mallory")
        finally:
            ws.close()
        return first, second

    first, second = asyncio.run(go())
    assert first["content"]["status"] == "ok" and second["content"]["status"] == "error"
    counts = [first["content"]["execution_count"], second["content"]["execution_count"]]
    mine = wait_events(events_dir, CODE_EXECUTED, 2, kernel_id=kernel_id,
                       where=lambda e: e.get("execution_count") in counts)
    assert len(mine) == 2, mine  # exactly once each
    ok, error = sorted(mine, key=lambda e: e["execution_count"])
    assert ok["status"] == "ok" and error["status"] == "error"
    for event in (ok, error):
        assert event["user"] == "alice"  # the server's user, not the header's "mallory"
        assert event["code"] is None  # the policy does not keep code
        assert event["kernel_name"] == "python3" and event["source"] == "websocket"
        assert event["duration_ms"] >= 0


def test_file_and_dataset_opened_and_saved(server: Any, events_dir: Path) -> None:
    data = server.root_dir / "data"
    data.mkdir(exist_ok=True)
    (data / "people.csv").write_text("name,age\nada,36\n")
    (server.root_dir / "notes.txt").write_text("hello")
    api(server, "GET", "api/contents/data/people.csv?content=0")  # a metadata check only
    api(server, "GET", "api/contents/data/people.csv?content=1")
    api(server, "GET", "api/contents/notes.txt")
    api(server, "GET", "api/contents/data")  # a directory listing: not recorded by default
    api(server, "PUT", "api/contents/notes.txt",
        {"type": "file", "format": "text", "content": "changed"})

    saved = wait_events(events_dir, FILE_SAVED)
    opened = wait_events(events_dir, FILE_OPENED, 2)
    datasets = wait_events(events_dir, DATASET_OPENED)
    assert [(e["kind"], e["user"], e["path"]) for e in opened] == [
        ("dataset", "alice", None), ("file", "alice", None)]  # paths redacted by the policy
    assert opened[0]["size_bytes"] == len("name,age\nada,36\n")
    assert opened[0]["mimetype"] == "text/csv"
    assert len(datasets) == 1
    assert datasets[0]["format"] == "csv" and datasets[0]["source"] == "contents-api"
    assert datasets[0]["access"] == "read" and datasets[0]["user"] == "alice"
    assert [(e["kind"], e["action"], e["user"]) for e in saved] == [("file", "save", "alice")]


def test_kernel_lifecycle(server: Any, events_dir: Path) -> None:
    kid = api(server, "POST", "api/kernels", {"name": "python3"})["id"]
    api(server, "POST", f"api/kernels/{kid}/interrupt")
    api(server, "DELETE", f"api/kernels/{kid}")
    events = wait_events(events_dir, KERNEL_LIFECYCLE, 3, kernel_id=kid)
    assert [e["action"] for e in events] == ["started", "interrupted", "stopped"]
    assert all(e["user"] == "alice" and e["kernel_name"] == "python3" for e in events)
    assert events[2]["lifetime_s"] >= 0


async def _exit_shell(server: Any, name: str) -> None:
    """Type ``exit`` in terminal ``name`` through its websocket (as the browser does)."""
    url = server.url.replace("http://", "ws://") + f"terminals/websocket/{name}"
    ws = await websocket_connect(HTTPRequest(url, headers={
        "Authorization": f"token {server.token}"}))
    try:
        await ws.write_message(json.dumps(["stdin", "exit\r"]))
        while await asyncio.wait_for(ws.read_message(), 60) is not None:  # until closed
            pass
    finally:
        ws.close()


def test_terminal_started_and_stopped_with_the_servers_user(server: Any,
                                                             events_dir: Path) -> None:
    deleted = api(server, "POST", "api/terminals")["name"]
    api(server, "DELETE", f"api/terminals/{deleted}")
    exited = api(server, "POST", "api/terminals")["name"]
    asyncio.run(_exit_shell(server, exited))  # ends by itself: no DELETE

    # The server reuses a free name (both are "1"): each start and stop is recorded once.
    events = wait_events(events_dir, SERVER_TERMINAL, 4)
    assert [(e["action"], e["terminal"]) for e in events] == [
        ("started", deleted), ("stopped", deleted), ("started", exited), ("stopped", exited)]
    assert all(e["user"] == "alice" for e in events)
    assert not any(t["name"] == exited for t in api(server, "GET", "api/terminals"))


class _Manager:
    """terminado's NamedTermManager as far as the observer uses it (create, terminate,
    on_eof, terminals), so the order of a stop and a reused name can be chosen."""

    def __init__(self) -> None:
        self.terminals: dict[str, Any] = {}

    def create(self, **kwargs: Any) -> dict[str, Any]:
        term = SimpleNamespace(term_name="1")
        self.terminals["1"] = term
        return {"name": "1"}

    async def terminate(self, name: str, force: bool = False) -> None:
        self.terminals.pop(name)

    def on_eof(self, term: Any) -> None:
        self.terminals.pop(term.term_name, None)


def test_a_late_end_of_a_stopped_terminal_does_not_stop_its_namesake() -> None:
    from telemetry_core import EventLog
    from telemetry_core.jupyter._recorder import Recorder
    from telemetry_core.jupyter._terminals import TerminalObserver
    from telemetry_core.testing import capture_events

    log = EventLog(allowed_schemas={SERVER_TERMINAL: {"allowed_properties": ["terminal"],
                                                      "consent": "required"}})
    manager = _Manager()
    observer = TerminalObserver(manager, Recorder(log), lambda: "alice")
    with capture_events(log) as events:
        manager.create()
        first = manager.terminals["1"]
        asyncio.run(manager.terminate("1"))
        manager.create()  # the name "1" again, before the first pty's end arrives
        manager.on_eof(first)  # late: already recorded as stopped
        before_close = [e["action"] for e in events]
        observer.close()  # the server stops with the second still running
    assert before_close == ["started", "stopped", "started"]
    assert [(e["action"], e["terminal"], e["user"]) for e in events] == [
        ("started", "1", None), ("stopped", "1", None), ("started", "1", None),
        ("stopped", "1", None)]  # the policy does not keep the user


@pytest.mark.parametrize("off", ["schema not allowed", "TelemetryHooks.terminals False"])
def test_terminals_are_not_recorded_unless_allowed_and_on(tmp_path: Path, off: str) -> None:
    events = tmp_path / "events"
    if off == "schema not allowed":
        allowed = {sid: p for sid, p in USER_ONLY.items() if sid != SERVER_TERMINAL}
        config = server_config(events, allowed, [])
    else:
        config = server_config(events, USER_ONLY, []) + "c.TelemetryHooks.terminals = False\n"
    with jupyter_server(config, tmp=tmp_path / "jupyter") as srv:
        name = api(srv, "POST", "api/terminals")["name"]
        api(srv, "DELETE", f"api/terminals/{name}")
        kid = api(srv, "POST", "api/kernels", {"name": "python3"})["id"]
        api(srv, "DELETE", f"api/kernels/{kid}")
        # Recorded after the terminal's events would have been: the sink is writing.
        assert len(wait_events(events, KERNEL_LIFECYCLE, 2, kernel_id=kid)) == 2
    assert not [e for e in read_events(events) if e["__schema__"] == SERVER_TERMINAL]


def test_code_kept_both_sources_and_server_session(tmp_path: Path) -> None:
    """With code allowed and both sources on, a websocket request is recorded once (with
    its user) and a client talking ZMQ to the kernel directly is seen on iopub. The
    server's stop is recorded, and so are a terminal culled and one closed by the stop."""
    from jupyter_client import BlockingKernelClient

    events = tmp_path / "events"
    allowed = {sid: {"allowed_categories": ["user-identifiable-information"],
                     "consent": "required"} for sid in SCHEMA_IDS}
    culler = ("c.TerminalManager.cull_inactive_timeout = 2\n"
              "c.TerminalManager.cull_interval = 1\n")
    with jupyter_server(server_config(events, allowed, ["websocket", "iopub"]) + culler,
                        tmp=tmp_path / "jupyter") as srv:
        idle = api(srv, "POST", "api/terminals")["name"]  # culled while the kernel works
        kid = api(srv, "POST", "api/kernels", {"name": "python3"})["id"]

        async def go() -> None:
            ws = await connect_kernel(srv.url, srv.token, kid, V1)
            await run_code(ws, "print(6*7)", V1)
            ws.close()

        asyncio.run(go())
        connection_file = next((tmp_path / "jupyter" / "runtime").glob(f"kernel-{kid}.json"))
        client = BlockingKernelClient(connection_file=str(connection_file))
        client.load_connection_file()
        client.start_channels()
        try:
            reply = client.execute_interactive("x = 'direct'", timeout=60)
        finally:
            client.stop_channels()
        assert reply["content"]["status"] == "ok"
        found = wait_events(events, CODE_EXECUTED, 2, kernel_id=kid)
        assert wait_events(events, SERVER_TERMINAL, action="stopped", terminal=idle)
        open_at_stop = api(srv, "POST", "api/terminals")["name"]
    terminals = [(e["action"], e["terminal"], e["user"]) for e in read_events(events)
                 if e["__schema__"] == SERVER_TERMINAL]
    assert terminals == [("started", idle, "alice"), ("stopped", idle, "alice"),
                         ("started", open_at_stop, "alice"),
                         ("stopped", open_at_stop, "alice")]
    by_code = {e["code"]: e for e in found}
    assert len(found) == 2, (sorted(by_code), [e["source"] for e in found])  # which one
    assert by_code["print(6*7)"]["source"] == "websocket"
    assert by_code["print(6*7)"]["user"] == "alice"
    assert by_code["x = 'direct'"]["source"] == "iopub"
    assert by_code["x = 'direct'"]["status"] == "ok"
    sessions = [e for e in read_events(events) if e["__schema__"] == SERVER_SESSION]
    assert [e["action"] for e in sessions] == ["started", "stopped"]
    assert all(e["scope"] == "server" and e["server_version"] for e in sessions)
