"""``telemetry detect hunt`` over what the file sink and the S3 sink stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cli import telemetry
from conftest import LOOK_ALIKE, POLICY, REVERSE_SHELL, record_code

from telemetry_core import EventLog
from telemetry_core.testing.servers import s3_server

RULE = "Reverse shell through /dev/tcp"


def _file_events(tmp_path: Path, codes: list[str], **sink: Any) -> list[dict[str, Any]]:
    log = EventLog(allowed_schemas=POLICY, sinks=[{
        "type": "file", "path": str(tmp_path / "events") + "/",
        "spool_dir": str(tmp_path / "spool"), **sink}])
    try:
        recorded = []
        for n, code in enumerate(codes):  # one batch each, so rotation can happen between
            recorded += record_code(log, [code], start=datetime(2026, 12, 7, 10, n,
                                                                tzinfo=timezone.utc))
            assert log.flush(timeout=30)
        return recorded
    finally:
        log.close()


def test_hunt_finds_the_reverse_shell_in_files(tmp_path: Path) -> None:
    recorded = _file_events(tmp_path, [LOOK_ALIKE, REVERSE_SHELL, "x = 1"])
    proc = telemetry("detect", "hunt", "--events", str(tmp_path / "events"))
    assert proc.returncode == 1, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["TIME", "LEVEL", "RULE", "SCHEMA", "EVENT_ID", "USER"]
    assert len(rows) == 1 and RULE in rows[0] and recorded[1]["__event_id__"] in rows[0]
    assert "3 files" not in proc.stderr and "1 matches" in proc.stderr

    as_json = telemetry("detect", "hunt", "--format", "json", "--events",
                        str(tmp_path / "events"))
    found = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(f["event_id"], f["rule"], f["user"]) for f in found] == [
        (recorded[1]["__event_id__"], RULE, "ana")]


def test_hunt_reads_gzip_rotated_files_and_honours_since(tmp_path: Path) -> None:
    # Rotation after every event: each lands in its own gzipped file.
    _file_events(tmp_path, [REVERSE_SHELL, LOOK_ALIKE, REVERSE_SHELL], rotate_bytes=1,
                 compress=True)
    assert list((tmp_path / "events").rglob("*.jsonl.gz"))
    proc = telemetry("detect", "hunt", "--format", "json", "--events",
                     str(tmp_path / "events"))
    assert proc.returncode == 1 and len(proc.stdout.splitlines()) == 2, proc.stderr
    later = telemetry("detect", "hunt", "--since", "2026-12-07T10:01:30Z", "--format", "json",
                      "--events", str(tmp_path / "events"))
    assert later.returncode == 1 and len(later.stdout.splitlines()) == 1
    none = telemetry("detect", "hunt", "--since", "2026-12-08", "--events",
                     str(tmp_path / "events"))
    assert none.returncode == 0 and "0 matches" in none.stderr


def test_nothing_matched_exits_0(tmp_path: Path) -> None:
    _file_events(tmp_path, [LOOK_ALIKE])
    proc = telemetry("detect", "hunt", "--events", str(tmp_path / "events"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1:] == []


def test_a_bad_since_or_path_is_one_line_and_exit_1(tmp_path: Path) -> None:
    proc = telemetry("detect", "hunt", "--since", "yesterday", "--events", str(tmp_path))
    assert proc.returncode == 1 and "--since 'yesterday': not an ISO 8601" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = telemetry("detect", "hunt", "--events", str(tmp_path / "nowhere"))
    assert proc.returncode == 1 and "no such events file" in proc.stderr


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with s3_server() as server:
        yield server


def test_hunt_finds_the_same_in_s3(s3: Any, tmp_path: Path) -> None:
    pytest.importorskip("telemetry_sink_s3")
    s3.client().create_bucket(Bucket="hunt")
    log = EventLog(allowed_schemas=POLICY, sinks=[{
        "type": "s3", "bucket": "hunt", "prefix": "events", "endpoint_url": s3.endpoint_url,
        "region": s3.region, "access_key_id": s3.access_key,
        "secret_access_key": s3.secret_key, "spool_dir": str(tmp_path / "spool")}])
    try:
        recorded = record_code(log, [LOOK_ALIKE, REVERSE_SHELL])
        # An older day, in its own dt= partition: --since skips it unread.
        old = record_code(log, [REVERSE_SHELL],
                          start=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
        assert log.flush(timeout=60)
    finally:
        log.close()
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="hunt")["Contents"]]
    assert any("dt=2026-12-01" in k for k in keys) and all(k.endswith(".gz") for k in keys)

    proc = telemetry("detect", "hunt", "--format", "json", "--events", "s3://hunt/events",
                     env=s3.env())
    assert proc.returncode == 1, proc.stderr
    assert sorted(json.loads(line)["event_id"] for line in proc.stdout.splitlines()) == sorted(
        [recorded[1]["__event_id__"], old[0]["__event_id__"]])
    recent = telemetry("detect", "hunt", "--format", "json", "--since", "2026-12-07",
                       "--events", "s3://hunt/events", env=s3.env())
    assert [json.loads(line)["event_id"] for line in recent.stdout.splitlines()] == [
        recorded[1]["__event_id__"]]
    small = telemetry("detect", "hunt", "--max-bytes", "10", "--events", "s3://hunt/events",
                      env=s3.env())
    assert small.returncode == 1 and small.stdout == ""
    assert "more than 10 bytes of events" in small.stderr
