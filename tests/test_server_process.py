"""``telemetry serve`` as a real subprocess: start-up refusal, SIGTERM drains the sinks,
durable acknowledgement survives SIGKILL, and two worker processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SCHEMA_ID, TEST_SCHEMA

from telemetry_core.server import derive_event_id
from telemetry_core.testing.servers import free_port, rest_server

CLIENT = "test-client"


def config(tmp_path: Path, **server: Any) -> dict[str, Any]:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(TEST_SCHEMA))
    return {"EventLog": {"allowed_schemas": [SCHEMA_ID], "schema_files": [str(schema_file)],
                         "sinks": [{"type": "file", "path": f"{tmp_path}/events/",
                                    "template": "{pid}.jsonl", "batch_age": 30,
                                    "fsync": True}]},
            "TelemetryServer": server}


def recorded(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted(tmp_path.glob("events/*.jsonl"))
            for line in f.read_text().splitlines()]


def events(ids: range) -> bytes:
    return json.dumps([{"schema_id": SCHEMA_ID, "version": 1, "data": {"name": f"e{i}"},
                        "id": str(i)} for i in ids]).encode()


def post(server: Any, body: bytes, session: Any = requests) -> requests.Response:
    return session.post(server.api + "events", data=body, timeout=30, headers={
        "Authorization": f"Bearer {server.token}", "Content-Type": "application/json"})


def test_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config(tmp_path)))
    done = subprocess.run([sys.executable, "-m", "telemetry_core._cli", "serve", "--config",
                           str(path), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "refusing to start without authentication" in done.stderr
    assert "--insecure-no-auth" in done.stderr
    assert "Traceback" not in done.stderr


def test_logs_where_it_listens_and_sigterm_drains_the_sinks(tmp_path: Path) -> None:
    with rest_server(config(tmp_path)) as server:
        assert f"listening on {server.api}" in server.log()
        answer = post(server, events(range(100)))
        assert answer.json()["recorded"] == 100
        assert recorded(tmp_path) == []  # queued: the batch is not due for 30 s
        assert server.stop(signal.SIGTERM) == 0
    assert sorted(e["name"] for e in recorded(tmp_path)) == sorted(f"e{i}" for i in range(100))


def test_insecure_no_auth_starts_and_says_so(tmp_path: Path) -> None:
    with rest_server(config(tmp_path), token=None,
                     extra_args=("--insecure-no-auth",)) as server:
        assert "NO AUTHENTICATION" in server.log()
        answer = requests.post(server.api + "events", data=events(range(1)), timeout=30,
                               headers={"Content-Type": "application/json"})
        assert answer.json()["recorded"] == 1


def test_durable_acknowledgement_loses_nothing_acknowledged_across_sigkill(
        tmp_path: Path) -> None:
    acknowledged: list[str] = []
    with rest_server(config(tmp_path, acknowledgement="durable")) as server:
        stop = threading.Event()

        def load(worker: int) -> None:
            with requests.Session() as session:
                n = 0
                while not stop.is_set():
                    ids = range(worker * 10**6 + n, worker * 10**6 + n + 50)
                    n += 50
                    try:
                        answer = post(server, events(ids), session)
                    except requests.RequestException:
                        return  # the server died under us: this batch was never acknowledged
                    if answer.status_code == 200:
                        acknowledged.extend(str(i) for i in ids)

        threads = [threading.Thread(target=load, args=(w,)) for w in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        stop.set()
        for thread in threads:
            thread.join(30)
        assert len(acknowledged) >= 2000
        server.restart()  # replays whatever the killed process had spooled
        assert server.stop(signal.SIGTERM) == 0
    on_disk = {e["__event_id__"] for e in recorded(tmp_path)}
    lost = [i for i in acknowledged if derive_event_id(CLIENT, i) not in on_disk]
    assert lost == []


def test_two_worker_processes_share_the_port(tmp_path: Path) -> None:
    with rest_server(config(tmp_path), processes=2) as server:
        assert server.log().count("listening on") == 2
        answers = []
        for batch in range(40):  # a new connection each time, whichever worker takes it
            answers.append(post(server, events(range(batch * 25, batch * 25 + 25))))
        assert all(a.json()["recorded"] == 25 for a in answers)
        assert server.stop(signal.SIGTERM) == 0
    names = [e["name"] for e in recorded(tmp_path)]
    assert sorted(names) == sorted(f"e{i}" for i in range(1000))


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    [script] = re.findall(r"^```bash telemetry-serve\n(.*?)^```", readme, re.S | re.M)
    if shutil.which("curl") is None:
        pytest.skip("the README example uses curl, which this machine lacks")
    port = str(free_port())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", script.replace("8585", port)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"status":"recorded"' in done.stdout
    kernel = "telemetry.jupyter.org_schemas_events_kernel_code-executed"
    [line] = (tmp_path / "events" / kernel).glob("*.jsonl")
    [event] = [json.loads(x) for x in line.read_text().splitlines()]
    assert event["kernel_id"] == "k1" and event["__source__"]["client"] == "lab-portal"


def test_a_resend_after_a_restart_or_to_another_worker_is_a_duplicate(tmp_path: Path) -> None:
    secret = "SECRET-VALUE-4b1d"
    body = json.dumps([{"schema_id": SCHEMA_ID, "version": 1, "data": {"name": secret},
                        "id": f"page-exit-{i}"} for i in range(20)]).encode()
    with rest_server(config(tmp_path), processes=2) as server:
        assert post(server, body).json()["recorded"] == 20
        # New connections, whichever worker takes each: every one knows the ids.
        answers = [post(server, body).json() for _ in range(12)]
        assert [a["duplicate"] for a in answers] == [20] * 12
        assert server.stop(signal.SIGTERM) == 0
        server.restart()
        assert post(server, body).json()["duplicate"] == 20
        assert server.stop(signal.SIGTERM) == 0
    assert len(recorded(tmp_path)) == 20
    state = Path(os.environ["XDG_STATE_HOME"], "telemetry", "rest")
    [store] = state.glob("recent-ids-*.sqlite3")
    assert state.stat().st_mode & 0o777 == 0o700
    for path in state.iterdir():  # the file, and any -wal/-shm SQLite left
        assert path.stat().st_mode & 0o077 == 0, path
        assert secret.encode() not in path.read_bytes()
        assert b"page-exit" not in path.read_bytes()  # ids are kept as their event ids
    rows = sqlite3.connect(store).execute("SELECT count(*) FROM recent_ids").fetchone()
    assert rows == (20,)


def test_a_recent_id_file_that_cannot_be_written_loses_no_event(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the store's directory would have to be a file's child
    with rest_server(config(tmp_path, dedup_store=str(blocked / "ids.sqlite3"))) as server:
        assert post(server, events(range(5))).json()["recorded"] == 5
        assert post(server, events(range(5))).json()["duplicate"] == 5  # memory still works
        assert server.stop(signal.SIGTERM) == 0
        assert "recent event ids" in server.log()
    assert len(recorded(tmp_path)) == 5


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _upload(port: int, path: str, headers: str, megabytes: int) -> tuple[bytes, int]:
    """Send a ``megabytes`` body to ``path`` on a raw socket; (the answer's first bytes,
    how many body bytes went out before the server closed the connection)."""
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    size = megabytes << 20
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n{headers}"
                 "\r\n".encode())
    chunk, sent = b"x" * (1 << 20), 0
    try:
        while sent < size:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server answered and closed: the rest of the body is never read
    try:
        answer = sock.recv(4096)
    except OSError:
        answer = b""
    sock.close()
    return answer, sent


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_no_token_50mb_upload_is_refused_before_the_body(tmp_path: Path) -> None:
    # Six parallel 50 MB uploads without a token, to PUT consent and to a path that does
    # not exist: each is answered from its headers and the collector's memory stays flat.
    with rest_server(config(tmp_path)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert requests.get(server.api + "health", timeout=30).ok
        before = _rss_kib(server.process.pid)
        results: list[tuple[bytes, int]] = []
        targets = [("/api/telemetry/consent", "Content-Type: application/json\r\n"),
                   ("/api/telemetry/nothing", "")] * 3
        threads = [threading.Thread(target=lambda p=p, h=h: results.append(
            _upload(port, p, h, 50))) for p, h in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        after = _rss_kib(server.process.pid)
        assert len(results) == 6
        statuses = sorted(answer.split(b" ", 2)[1] for answer, _ in results)
        assert statuses == [b"401"] * 3 + [b"404"] * 3, results
        # Buffered, six bodies would be 300 MB; a stray 1 MiB read buffer each is allowed.
        assert after - before < 30 << 10, (before, after)
