"""Faults: the S3 endpoint goes away and comes back; an endpoint that never answers."""

from __future__ import annotations

import gzip
import os
import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from telemetry_core.sinks import TransientSinkError
from telemetry_core.testing import wait_for
from telemetry_core.testing.servers import s3_server

START = datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)


def test_every_event_arrives_when_the_endpoint_goes_away_and_comes_back(
        s3: Any, bucket: str, make_log: Any, record: Any, stored: Any) -> None:
    if not s3.restartable:
        pytest.skip("needs the embedded server, which the test stops and starts")
    log, sink = make_log(batch_size=100, batch_age=0.1, connect_timeout=1, read_timeout=5,
                         request_attempts=1)
    before = record(log, 300)
    assert log.flush(timeout=60)

    s3.stop()  # connections are refused from now on
    try:
        during = record(log, 150)  # the application carries on: no exception, no wait
        # Retried max_attempts times, then moved to the disk spool.
        wait_for(lambda: sink.stats()["spooled"] > 0, "failed uploads to be spooled")
        during += record(log, 150)  # behind the spooled ones, in order
        assert log.flush(timeout=60)  # everything accepted is now on disk
        assert sink.stats()["delivered"] == len(before)
    finally:
        s3.start()  # same port; moto keeps its buckets in this process's memory
    client = s3.client()
    if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=bucket)  # a store that came back empty
    after = record(log, 300)
    assert log.flush(timeout=90)  # delivered, or safe in the spool
    sent = before + during + after
    wait_for(lambda: sink.stats()["delivered"] >= len(sent), "the spool to be replayed", timeout=60)

    received: dict[str, dict[str, Any]] = {}
    for lines in stored("events/").values():
        for data in lines:
            received[data["__event_id__"]] = data
    assert set(received) == {e["__event_id__"] for e in sent}
    for event in sent:  # a repeat (if any) is the same event, so readers can dedupe by id
        assert received[event["__event_id__"]] == event
    stats = sink.stats()
    assert stats["delivered"] == len(sent) and stats["dead_lettered"] == 0
    assert stats["upload_failures"] > 0 and stats["replayed"] >= len(during)


def test_an_endpoint_that_never_answers_cannot_hang_write_batch(
        make_sink: Any, make_log: Any, record: Any, sink_events: Any) -> None:
    log, _ = make_log()
    events = sink_events(record(log, 5))
    with socket.socket() as silent:  # accepts connections (backlog), never responds
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sink = make_sink(endpoint_url=url, check_bucket=False, connect_timeout=0.5,
                         read_timeout=0.5, request_attempts=1)
        outcome: list[BaseException] = []

        def write() -> None:
            try:
                sink.sink.write_batch(events)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=write, daemon=True)
        worker.start()
        worker.join(timeout=30)  # far above the configured 0.5 s; only a hang exceeds it
        assert not worker.is_alive(), "write_batch hung on a silent endpoint"
        assert len(outcome) == 1 and isinstance(outcome[0], TransientSinkError)
        assert "timeout" in str(outcome[0]).lower()


def test_a_server_that_comes_back_empty_gets_everything_once_the_bucket_is_back(
        make_log: Any, record: Any, caplog: pytest.LogCaptureFixture) -> None:
    # A new server process on the same port: the old objects are gone, and so is the
    # bucket until an administrator recreates it. Meanwhile the sink keeps the events.
    with s3_server(process=True) as server:
        if not server.restartable:
            pytest.skip("needs a server the test can restart")
        client = server.client()
        client.create_bucket(Bucket="comes-back")
        log, sink = make_log(endpoint_url=server.endpoint_url, bucket="comes-back",
                             batch_size=100, batch_age=0.1, connect_timeout=1,
                             read_timeout=5, request_attempts=1)
        before = record(log, 200)
        assert log.flush(timeout=60)
        kept = _read_ids(client, "comes-back")  # what the old server held

        server.stop()
        during = record(log, 200)
        wait_for(lambda: sink.stats()["spooled"] > 0, "failed uploads to be spooled")
        server.start()  # empty: no bucket
        client = server.client()
        wait_for(lambda: "NoSuchBucket" in caplog.text, "an upload to the missing bucket")
        assert sink.stats()["dead_lettered"] == 0  # a missing bucket is not permanent
        client.create_bucket(Bucket="comes-back")
        after = record(log, 200)
        assert log.flush(timeout=60)
        wait_for(lambda: sink.stats()["delivered"] >= 600, "the spool to be replayed", timeout=60)
        log.close()
        assert kept == {e["__event_id__"] for e in before}
        assert _read_ids(client, "comes-back") == {e["__event_id__"] for e in during + after}


def _read_ids(client: Any, bucket: str) -> set[str]:
    ids = set()
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = gzip.decompress(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        ids.update(orjson.loads(line)["__event_id__"] for line in body.splitlines())
    return ids


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_through_its_own_client(
        make_log: Any, record: Any, stored: Any) -> None:
    log, sink = make_log(batch_size=50, batch_age=0.1)
    parent_events = record(log, 50)
    assert log.flush(timeout=30)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: record, close (drains), report, leave without pytest's exit
        code = 1
        try:
            os.close(read)
            child_events = record(log, 50, start=START + timedelta(hours=5))
            log.close()
            ok = sink.stats()["delivered"] == 50 and sink.sink.client is not None
            os.write(write, orjson.dumps([e["__event_id__"] for e in child_events]))
            code = 0 if ok else 2
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child_ids = orjson.loads(pipe.read() or b"[]")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ids = {d["__event_id__"] for lines in stored("events/").values() for d in lines}
    assert ids == {e["__event_id__"] for e in parent_events} | set(child_ids)
    assert len(child_ids) == 50
