"""The s3 sink against a real S3 API server: objects, keys, batching, multipart, errors."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from typing import Any

import botocore.exceptions
import orjson
import pytest

KEY = re.compile(
    r"events/schema=(?P<schema>[A-Za-z0-9._-]+)/version=(?P<version>[A-Za-z0-9._-]+)"
    r"/dt=(?P<dt>\d{4}-\d\d-\d\d)/hour=(?P<hour>\d\d)/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl(?P<gz>\.gz)?")
# One ~12 MB uncompressed object: three 5 MiB parts (S3's smallest part size).
MULTIPART = {"batch_size": 12_000, "compression": "none",
             "multipart_threshold": 5 * 1024 * 1024, "multipart_part_size": 5 * 1024 * 1024}


def test_events_come_back_one_by_one_under_their_partitions(
        make_sink: Any, new_events: Any, stored: Any) -> None:
    sink = make_sink(batch_age=0.2)
    sent = (new_events(300, step=timedelta(seconds=30))                 # spans 3 hours
            + new_events(50, schema="myorg/notebook-opened", version="2")
            + new_events(50, version="2.1.0"))
    for event in sent:
        sink.submit(event)
    assert sink.flush(timeout=60)

    objects = stored("events/")
    received = {}
    for key, lines in objects.items():
        match = KEY.fullmatch(key)
        assert match, key
        assert match["gz"]
        for data in lines:  # every event sits in the partition its fields say
            assert match["schema"] == (
                "events.jupyter.org_jupyter_server_kernel_actions"
                if data["__schema__"].startswith("https://") else "myorg_notebook-opened")
            assert match["version"] == data["__schema_version__"]
            assert match["dt"] == data["__timestamp__"][:10]
            assert match["hour"] == data["__timestamp__"][11:13]
            received[data["__event_id__"]] = data
    assert len(received) == len(sent) == sum(len(lines) for lines in objects.values())
    for event in sent:
        assert received[event.event_id] == orjson.loads(event.json)
    stats = sink.stats()
    assert stats["delivered"] == len(sent)
    assert stats["objects_written"] == len(objects)


def test_one_put_per_batch_per_partition(
        make_sink: Any, new_events: Any, stored: Any, requests_of: Any) -> None:
    # batch_size divides the count, so every batch is full and none is cut by age.
    sink = make_sink(batch_size=2500, batch_age=60)
    requests = requests_of(sink)
    events = new_events(10_000, step=timedelta(milliseconds=1))  # one partition
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=60)
    assert requests["PutObject"] == 4
    assert set(requests) == {"PutObject"}
    assert sum(len(v) for v in stored("events/").values()) == 10_000


def test_a_batch_over_several_partitions_writes_one_object_each(
        make_sink: Any, new_events: Any, stored: Any, requests_of: Any) -> None:
    sink = make_sink(batch_size=900, batch_age=60)
    requests = requests_of(sink)
    mixed = [e for trio in zip(new_events(300, version="1"), new_events(300, version="2"),
                               new_events(300, schema="other"), strict=True) for e in trio]
    for event in mixed:
        sink.submit(event)
    assert sink.flush(timeout=60)
    objects = stored("events/")
    assert requests["PutObject"] == len(objects) == 3
    assert sorted(len(v) for v in objects.values()) == [300, 300, 300]
    # Within an object, events keep the order they were recorded in.
    for lines in objects.values():
        ids = [d["__event_id__"] for d in lines]
        assert ids == sorted(ids)


def test_objects_roll_over_at_max_object_bytes(
        make_sink: Any, new_events: Any, stored: Any) -> None:
    sink = make_sink(batch_size=1000, max_object_bytes=20_000, compression="none")
    events = new_events(1000, step=timedelta(milliseconds=1))
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=60)
    objects = stored("events/")
    assert len(objects) > 1
    for lines in objects.values():
        assert sum(len(orjson.dumps(d)) + 1 for d in lines) <= 20_000
    assert sum(len(v) for v in objects.values()) == 1000


def test_uncompressed_objects_and_object_settings(
        s3: Any, bucket: str, make_sink: Any, new_events: Any, stored: Any) -> None:
    sink = make_sink(batch_size=10, compression="none", sse="AES256",
                     storage_class="STANDARD_IA", prefix="")
    for event in new_events(10):
        sink.submit(event)
    assert sink.flush(timeout=60)
    objects = stored()
    (key,) = objects
    assert key.startswith("schema=") and key.endswith(".jsonl")
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "application/x-ndjson"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["Metadata"] == {"event-count": "10"}


def test_sse_kms_with_a_key_id(
        s3: Any, bucket: str, make_sink: Any, new_events: Any, stored: Any) -> None:
    sink = make_sink(batch_size=5, sse="aws:kms", sse_kms_key_id="alias/telemetry")
    for event in new_events(5):
        sink.submit(event)
    assert sink.flush(timeout=60)
    (key,) = stored("events/")
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/telemetry")


def test_large_objects_use_multipart_upload(
        s3: Any, bucket: str, make_sink: Any, new_events: Any, stored: Any,
        requests_of: Any) -> None:
    sink = make_sink(**MULTIPART)
    requests = requests_of(sink)
    events = new_events(12_000, step=timedelta(milliseconds=1), payload=900)  # ~12 MB
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=120)
    objects = stored("events/")
    assert len(objects) == 1
    assert [d["__event_id__"] for d in next(iter(objects.values()))] == [
        e.event_id for e in events]
    assert requests["CreateMultipartUpload"] == requests["CompleteMultipartUpload"] == 1
    assert requests["UploadPart"] == 3
    assert "PutObject" not in requests
    assert sink.stats()["multipart_uploads"] == 1


def test_a_failed_part_aborts_the_upload_and_the_batch_is_retried(
        s3: Any, bucket: str, make_sink: Any, new_events: Any, stored: Any,
        requests_of: Any) -> None:
    sink = make_sink(**MULTIPART)
    requests = requests_of(sink)
    failures = []

    def fail_second_part_once(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2 and not failures:
            failures.append(params["UploadId"])
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=s3.endpoint_url)

    sink.client.meta.events.register("before-parameter-build.s3.UploadPart", fail_second_part_once)
    events = new_events(12_000, step=timedelta(milliseconds=1), payload=900)
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=120)
    assert requests["AbortMultipartUpload"] == 1
    assert s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    (lines,) = stored("events/").values()
    assert [d["__event_id__"] for d in lines] == [e.event_id for e in events]
    stats = sink.stats()
    assert (stats["multipart_aborted"], stats["multipart_uploads"]) == (1, 2)
    assert stats["retried"] >= 12_000


def test_a_put_the_server_will_never_accept_is_dead_lettered(
        make_sink: Any, new_events: Any, stored: Any) -> None:
    sink = make_sink(batch_size=20, storage_class="NOT_A_CLASS")
    for event in new_events(20):
        sink.submit(event)
    assert sink.flush(timeout=60)
    stats = sink.stats()
    assert (stats["dead_lettered"], stats["delivered"]) == (20, 0)
    assert stats["retried"] == 0
    assert stored("events/") == {}


def test_gzip_objects_are_plain_gzip_json_lines(
        s3: Any, bucket: str, make_sink: Any, new_events: Any) -> None:
    sink = make_sink(batch_size=3)
    events = new_events(3)
    for event in events:
        sink.submit(event)
    assert sink.flush(timeout=60)
    client = s3.client()
    (item,) = client.list_objects_v2(Bucket=bucket)["Contents"]
    obj = client.get_object(Bucket=bucket, Key=item["Key"])
    assert obj["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in obj  # readers get the .gz bytes, not a decoded body
    assert gzip.decompress(obj["Body"].read()) == b"".join(e.json + b"\n" for e in events)


def test_a_repeated_batch_overwrites_its_object(
        make_sink: Any, new_events: Any, stored: Any) -> None:
    # The key is derived from the events, so a retry after a lost answer is no duplicate.
    sink = make_sink(batch_size=10)
    events = new_events(10)
    assert sink.write_batch(events) is None
    assert sink.write_batch(events) is None
    (lines,) = stored("events/").values()
    assert len(lines) == 10


@pytest.mark.parametrize("status_words", ["404", "Not Found"])
def test_missing_bucket_is_a_clear_start_up_error(
        s3: Any, make_sink: Any, status_words: str) -> None:
    from telemetry_core.sinks import SinkConfigError

    with pytest.raises(SinkConfigError) as info:
        make_sink(bucket="no-such-bucket-here")
    text = str(info.value)
    assert "'no-such-bucket-here'" in text and s3.endpoint_url in text
    assert status_words in text and "create the bucket" in text


def test_unreachable_endpoint_is_a_clear_start_up_error(make_sink: Any) -> None:
    from telemetry_core.sinks import SinkConfigError
    from telemetry_core.testing.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SinkConfigError) as info:
        make_sink(endpoint_url=url, connect_timeout=1, request_attempts=1)
    assert "cannot reach S3" in str(info.value) and url in str(info.value)


def test_check_bucket_false_starts_without_a_request(
        make_sink: Any, new_events: Any) -> None:
    sink = make_sink(bucket="not-there-yet", check_bucket=False)
    assert sink.client is not None
