"""A person's rights (issue #28) over the file sink: find, export and erase one user's
events through the `telemetry subject` command, with sealed (encrypted) personal values,
a SIGKILL in the middle of an erase, and nothing of the person left in any byte."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from telemetry_core import EventLog
from telemetry_core.subject import KeyStore, is_sealed, new_master_key, open_event, subject_key

CODE = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"
USERS = ("ada", "bob", "cyd")
SECRET = "subject-secret-for-tests"


def write_config(tmp: Path, **sink: Any) -> Path:
    config = tmp / "telemetry_config.py"
    sink_config = {"type": "file", "path": f"{tmp}/events/", "name": "files", **sink}
    config.write_text(f"""
c.EventLog.allowed_schemas = {{
    {CODE!r}: {{"allowed_categories": ["user-identifiable-information"], "encrypt": True,
               "consent": "required"}},
    {OPENED!r}: {{"allowed_categories": ["user-identifiable-information"],
                 "consent": "opt-out"}},
}}
c.EventLog.sinks = [{sink_config!r}]
c.EventLog.subject_secret = {SECRET!r}
c.EventLog.subject_key_store = "sqlite:///{tmp}/keys.sqlite3"
c.EventLog.consent_store = "sqlite:///{tmp}/consent.sqlite3"
""")
    return config


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TELEMETRY_SUBJECT_MASTER_KEY", new_master_key())
    return {**os.environ}


def record(config: Path, per_user: int = 3) -> dict[str, int]:
    """Events for three users (code run: sealed; files opened: path in clear), and one
    about nobody; returns how many were recorded per user."""
    recorded = dict.fromkeys(USERS, 0)
    with EventLog.from_config_file(config) as eventlog:
        for i in range(per_user):
            for user in USERS:
                eventlog.record_event(CODE, 1, {
                    "kernel_id": f"k-{user}", "kernel_name": "python3", "status": "ok",
                    "code": f"print('code-of-{user}-{i}')", "user": user}, user=user)
                eventlog.record_event(OPENED, 1, {
                    "kind": "file", "path": f"/home/{user}/notes-{i}.csv",
                    "user": user}, user=user)
                recorded[user] += 2
            eventlog.flush()  # a batch per round, so that files rotate between them
        eventlog.record_event(OPENED, 1, {"kind": "file", "path": "/shared/readme.md"},
                              user="dee")
    return recorded


def stored_bytes(root: Path) -> bytes:
    out = b""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out += gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return out


def telemetry(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "telemetry_core._cli", *args],
                            capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"telemetry {' '.join(args)}: {result.stderr}")
    return result


def test_kept_personal_values_are_sealed_per_user_and_open_with_their_key(
        tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path)
    record(config, per_user=1)
    raw = stored_bytes(tmp_path / "events")
    assert b"code-of-" not in raw  # sealed: not in any stored byte
    assert b"/home/bob/notes-0.csv" in raw  # a schema without "encrypt": kept in clear
    events = [json.loads(line) for line in raw.splitlines()]
    code_events = [e for e in events if e["__schema__"] == CODE]
    assert all(is_sealed(e["code"]) and is_sealed(e["user"]) for e in code_events)
    keys = KeyStore(f"sqlite:///{tmp_path}/keys.sqlite3")
    bob = subject_key("bob", SECRET.encode())
    (bobs,) = [e for e in code_events if e["__subject__"] == bob]
    opened = open_event(bobs, keys.opener(bob).open)
    assert opened["code"] == "print('code-of-bob-0')" and opened["user"] == "bob"
    ada = keys.opener(subject_key("ada", SECRET.encode()))
    with pytest.raises(ValueError, match="does not open"):
        ada.open(bobs["code"])  # another user's key never opens bob's values
    assert oct(os.stat(tmp_path / "keys.sqlite3").st_mode & 0o777) == "0o600"
    assert all(e["__subject__"].startswith("s1:") for e in events)


def test_find_counts_match_an_independent_count(tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path, compress=True, rotate_bytes=2000)
    recorded = record(config, per_user=4)
    out = json.loads(telemetry("subject", "find", "--user", "bob", "--config", str(config),
                               "--json", env=env).stdout)
    (report,) = out["sinks"]
    assert report["events"] == recorded["bob"]
    # Independently: every stored line whose path or subject names bob.
    lines = [json.loads(line) for line in stored_bytes(tmp_path / "events").splitlines()]
    bob = subject_key("bob", SECRET.encode())
    assert report["events"] == sum(1 for e in lines if e.get("__subject__") == bob)
    by_schema: dict[str, int] = {}
    for row in report["by_schema_and_day"]:
        by_schema[row["schema"]] = by_schema.get(row["schema"], 0) + row["events"]
    assert by_schema == {CODE: 4, OPENED: 4}
    assert any(p.suffix == ".gz" for p in (tmp_path / "events").rglob("*"))  # rotated, gzip


def test_export_holds_exactly_bobs_events_opened_and_his_consent_history(
        tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path)
    record(config, per_user=2)
    with EventLog.from_config_file(config, sinks=[]) as eventlog:
        eventlog.consent.grant("bob", OPENED)
        eventlog.consent.revoke("ada", OPENED)
    archive = tmp_path / "out" / "bob.zip"
    telemetry("subject", "export", "--user", "bob", "--config", str(config), "-o",
              str(archive), env=env)
    assert oct(os.stat(archive).st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        history = json.loads(zf.read("consent-history.json"))
        events = [json.loads(line)["event"] for name in manifest["files"]
                  for line in zf.read(name).splitlines()]
        blob = b"".join(zf.read(n) for n in zf.namelist())
    assert len(events) == 4 and manifest["sinks"][0]["events"] == 4
    assert {e["user"] for e in events} == {"bob"}  # sealed values opened for him
    assert sorted(e["code"] for e in events if "code" in e) == [
        "print('code-of-bob-0')", "print('code-of-bob-1')"]
    for other in ("ada", "cyd"):
        assert f"/home/{other}/".encode() not in blob and f"-of-{other}-".encode() not in blob
    assert [(d["scope"], d["granted"]) for d in history] == [(OPENED, True)]
    assert manifest["notice_versions"]


def test_erase_removes_every_byte_of_bob_keeps_others_and_logs_it(
        tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path, compress=True, rotate_bytes=1500)
    recorded = record(config, per_user=3)
    before = stored_bytes(tmp_path / "events")
    # Without naming the sinks it may touch, erase refuses.
    refused = telemetry("subject", "erase", "--user", "bob", "--config", str(config),
                        env=env, check=False)
    assert refused.returncode == 1 and "--sink" in refused.stderr
    # A dry run counts and changes nothing.
    dry = json.loads(telemetry("subject", "erase", "--user", "bob", "--config", str(config),
                               "--sink", "files", "--json", env=env).stdout)
    assert dry["executed"] is False and dry["sinks"][0]["events"] == recorded["bob"]
    assert stored_bytes(tmp_path / "events") == before
    log = tmp_path / "erasures.jsonl"
    telemetry("subject", "erase", "--user", "bob", "--config", str(config), "--sink",
              "files", "--execute", "--reference", "REQ-7", "--log", str(log), env=env)
    after = stored_bytes(tmp_path / "events")
    assert b"bob" not in after  # path, code (sealed anyway) and user: all gone
    for user in ("ada", "cyd"):
        assert after.count(f"/home/{user}/".encode()) == before.count(f"/home/{user}/".encode())
    # Bob's key is gone: even a copy of his sealed values made before cannot be opened.
    keys = KeyStore(f"sqlite:///{tmp_path}/keys.sqlite3")
    assert keys.opener(subject_key("bob", SECRET.encode())) is None
    assert keys.opener(subject_key("ada", SECRET.encode())) is not None
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["reference"] == "REQ-7" and entry["key_deleted"] is True
    assert entry["sinks"][0]["removed"] == recorded["bob"]
    assert "bob" not in log.read_text()  # the log names the subject key, never the user
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
    again = json.loads(telemetry("subject", "find", "--user", "bob", "--config", str(config),
                                 "--json", env=env).stdout)
    assert again["sinks"][0]["events"] == 0


def test_erase_killed_midway_leaves_whole_files_and_a_rerun_finishes(
        tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path, rotate_bytes=700)
    record(config, per_user=40)
    root = tmp_path / "events"
    bob = subject_key("bob", SECRET.encode()).encode()
    counts = {p: (len(p.read_bytes().splitlines()), p.read_bytes().count(bob))
              for p in root.rglob("*.jsonl*")}
    assert len(counts) > 50
    mtimes = {p: p.stat().st_mtime_ns for p in counts}
    proc = subprocess.Popen(
        [sys.executable, "-m", "telemetry_core._cli", "subject", "erase", "--user", "bob",
         "--config", str(config), "--sink", "files", "--execute", "--log",
         str(tmp_path / "log.jsonl")], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_mtime_ns != m for p, m in mtimes.items()):
            break  # it has begun to rewrite
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for path, (lines, bobs) in counts.items():  # each whole: all its lines, or all but bob's
        text = path.read_bytes()
        assert text.endswith(b"\n")
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) in (lines, lines - bobs)
    telemetry("subject", "erase", "--user", "bob", "--config", str(config), "--sink",
              "files", "--execute", "--log", str(tmp_path / "log.jsonl"), env=env)
    assert b"bob" not in stored_bytes(root)
    assert not list(root.rglob("*.erase-tmp"))
    assert stored_bytes(root).count(b"/home/ada/") == 40


def test_subject_key_is_a_keyed_pseudonym() -> None:
    assert subject_key("bob", b"k1") == subject_key("bob", b"k1")
    assert subject_key("bob", b"k1") != subject_key("bob", b"k2")
    assert "bob" not in subject_key("bob", b"k1")


def test_the_notice_says_events_carry_a_pseudonym_and_are_sealed(
        tmp_path: Path, env: dict[str, str]) -> None:
    config = write_config(tmp_path)
    text = telemetry("notice", "--config", str(config), env=env).stdout
    assert "keyed pseudonym of your user name" in " ".join(text.split())
    assert "encrypted with a key of your own" in " ".join(text.split())


def test_events_through_the_rest_api_and_record_event_are_found_and_erased(
        tmp_path: Path, env: dict[str, str]) -> None:
    """Three users' events arrive through `telemetry serve` (a trusted client that names
    users) and through record_event, each into its own file sink; find counts both, and
    erase leaves nothing of bob in either."""
    import requests

    from telemetry_core.testing.servers import rest_server

    policy = {"allowed_categories": ["user-identifiable-information"], "encrypt": True,
              "consent": "required"}
    eventlog = {"allowed_schemas": {CODE: policy, OPENED: policy},
                "subject_secret": SECRET,
                "subject_key_store": f"sqlite:///{tmp_path}/keys.sqlite3",
                "consent_store": f"sqlite:///{tmp_path}/consent.sqlite3"}
    rest_sink = {"type": "file", "name": "rest", "path": f"{tmp_path}/rest/"}
    python_sink = {"type": "file", "name": "python", "path": f"{tmp_path}/python/"}
    with rest_server({"EventLog": {**eventlog, "sinks": [rest_sink]}},
                     roles=("name-users",)) as server:
        for user in USERS:
            for i in range(2):
                answer = requests.post(
                    f"{server.url}/api/telemetry/events", timeout=30,
                    headers={"Authorization": f"Bearer {server.token}",
                             "X-Telemetry-User": user},
                    json={"schema_id": OPENED, "version": 1, "data": {
                        "kind": "file", "path": f"/home/{user}/rest-{i}.csv", "user": user}})
                assert answer.status_code == 200 and answer.json()["recorded"] == 1
    with EventLog(**eventlog, sinks=[python_sink]) as log:
        for user in USERS:
            log.record_event(CODE, 1, {"kernel_id": "k", "kernel_name": "python3",
                                       "status": "ok", "code": f"print('{user}')",
                                       "user": user}, user=user)
    config = tmp_path / "all.json"
    config.write_text(json.dumps({"EventLog": {**eventlog, "sinks": [rest_sink, python_sink]}}))
    found = json.loads(telemetry("subject", "find", "--user", "bob", "--config", str(config),
                                 "--json", env=env).stdout)
    assert {s["sink"]: s["events"] for s in found["sinks"]} == {
        f"file:{tmp_path}/rest": 2, f"file:{tmp_path}/python": 1}
    telemetry("subject", "erase", "--user", "bob", "--config", str(config), "--sink", "rest",
              "--sink", "python", "--execute", "--log", str(tmp_path / "log.jsonl"), env=env)
    stored = stored_bytes(tmp_path / "rest") + stored_bytes(tmp_path / "python")
    assert b"bob" not in stored
    assert stored.count(b'"__subject__"') == 2 * 2 + 2  # ada's and cyd's remain


def test_sealed_values_never_hold_the_value_and_open_only_for_their_subject() -> None:
    """Property: whatever JSON value and whoever it is about, the sealed text contains
    nothing of the value, opens to it with its subject's key, and not with another's."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from telemetry_core.subject._crypto import Sealer

    key = os.urandom(32)
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) |
        st.text(min_size=4, max_size=40), lambda inner: st.lists(inner, max_size=4) |
        st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)

    @settings(max_examples=200, deadline=None)
    @given(value=json_values, user=st.text(min_size=1, max_size=30))
    def check(value: Any, user: str) -> None:
        subject = subject_key(user, b"secret")
        mine, other = Sealer(key, subject), Sealer(key, subject_key(user + "x", b"secret"))
        sealed = mine.seal(value)
        assert is_sealed(sealed)
        for text in [v for v in json.dumps(value).split('"') if len(v) >= 4]:
            assert text not in sealed
        assert mine.open(sealed) == value
        with pytest.raises(ValueError):
            other.open(sealed)  # the subject is the associated data: moved, it fails

    check()
