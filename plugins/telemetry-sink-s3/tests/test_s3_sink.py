"""The s3 sink against a real S3 API server: events recorded through EventLog are read
back with boto3 and compared one by one; keys, batching, multipart and errors."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from typing import Any

import botocore.exceptions
import orjson
import pytest

from telemetry_core.sinks import SinkConfigError, read_dead_letters
from telemetry_core.testing import NAMING_TEMPLATE, naming_cases
from telemetry_core.testing.servers import free_port

SCHEMA = "https://example.org/telemetry/s3-sink-test"
OTHER = "urn:example:notebook:opened"
NAMES = {SCHEMA: "s3-sink-test", OTHER: "opened"}
KEY = re.compile(
    r"events/schema=(?P<schema>[A-Za-z0-9._-]+)/version=(?P<version>[A-Za-z0-9._-]+)"
    r"/dt=(?P<dt>\d{4}-\d\d-\d\d)/hour=(?P<hour>\d\d)/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl(?P<gz>\.gz)?")
# One ~12 MB uncompressed object: three 5 MiB parts (S3's smallest part size).
MULTIPART = {"batch_size": 12_000, "compression": "none",
             "multipart_threshold": 5 * 1024 * 1024, "multipart_part_size": 5 * 1024 * 1024}


def _ids(lines: list[dict[str, Any]]) -> list[str]:
    return [d["__event_id__"] for d in lines]


def test_events_come_back_one_by_one_under_their_partitions(
        make_log: Any, record: Any, stored: Any) -> None:
    log, sink = make_log(batch_age=0.2)
    sent = (record(log, 300, step=timedelta(seconds=30))  # spans three hours
            + record(log, 50, schema=OTHER)
            + record(log, 50, version=2, step=timedelta(hours=12)))  # spans three days
    assert log.flush(timeout=60)

    objects = stored("events/")
    received = {}
    for key, lines in objects.items():
        match = KEY.fullmatch(key)
        assert match, key
        assert match["gz"]
        for data in lines:  # every event sits in the partition its fields say
            assert match["schema"] == NAMES[data["__schema__"]]
            assert match["version"] == str(data["__schema_version__"])
            assert match["dt"] == data["__timestamp__"][:10]
            assert match["hour"] == data["__timestamp__"][11:13]
            received[data["__event_id__"]] = data
    assert len(received) == len(sent) == sum(len(lines) for lines in objects.values())
    for event in sent:
        assert received[event["__event_id__"]] == orjson.loads(orjson.dumps(event))
    assert len({k.rsplit("/", 1)[0] for k in objects}) >= 3 + 1 + 3
    stats = sink.stats()
    assert stats["delivered"] == len(sent)
    assert stats["objects_written"] == len(objects)


def test_one_put_per_batch_per_partition(
        make_log: Any, record: Any, stored: Any, requests_of: Any) -> None:
    # batch_size divides the count, so every batch is full and none is cut by age.
    log, sink = make_log(batch_size=2500, batch_age=60)
    requests = requests_of(sink)
    record(log, 10_000, step=timedelta(milliseconds=1))  # one partition
    assert log.flush(timeout=60)
    assert requests["PutObject"] == 4
    assert set(requests) == {"PutObject"}
    assert sum(len(v) for v in stored("events/").values()) == 10_000


def test_a_batch_over_several_partitions_writes_one_object_each(
        make_log: Any, record: Any, stored: Any, requests_of: Any) -> None:
    log, sink = make_log(batch_size=900, batch_age=60)
    requests = requests_of(sink)
    for _ in range(300):  # interleaved: every batch holds all three partitions
        record(log, 1, version=1)
        record(log, 1, version=2)
        record(log, 1, schema=OTHER)
    assert log.flush(timeout=60)
    objects = stored("events/")
    assert requests["PutObject"] == len(objects) == 3
    assert sorted(len(v) for v in objects.values()) == [300, 300, 300]
    for lines in objects.values():  # within an object, events keep their recorded order
        assert [d["n"] for d in lines] == [0] * 300


def test_flush_writes_a_partial_batch_at_once(
        make_log: Any, record: Any, stored: Any, requests_of: Any) -> None:
    log, sink = make_log()  # the defaults: 10,000 events or 60 s
    requests = requests_of(sink)
    sent = record(log, 7)
    assert log.flush(timeout=30)  # does not wait for batch_age
    assert requests["PutObject"] == 1
    (lines,) = stored("events/").values()
    assert _ids(lines) == _ids(sent)


def test_objects_roll_over_at_max_object_bytes(
        make_log: Any, record: Any, stored: Any) -> None:
    log, _ = make_log(batch_size=1000, max_object_bytes=20_000, compression="none")
    sent = record(log, 1000, step=timedelta(milliseconds=1))
    assert log.flush(timeout=60)
    objects = stored("events/")
    assert len(objects) > 1
    for lines in objects.values():
        assert sum(len(orjson.dumps(d)) + 1 for d in lines) <= 20_000
    assert sorted(i for lines in objects.values() for i in _ids(lines)) == sorted(_ids(sent))


def test_uncompressed_objects_and_object_settings(
        s3: Any, bucket: str, make_log: Any, record: Any, stored: Any) -> None:
    log, _ = make_log(batch_size=10, compression="none", sse="AES256",
                      storage_class="STANDARD_IA", prefix="")
    record(log, 10)
    assert log.flush(timeout=60)
    (key,) = stored()
    assert key.startswith("schema=") and key.endswith(".jsonl")
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "application/x-ndjson"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["Metadata"] == {"event-count": "10"}


def test_sse_kms_with_a_key_id(
        s3: Any, bucket: str, make_log: Any, record: Any, stored: Any) -> None:
    log, _ = make_log(batch_size=5, sse="aws:kms", sse_kms_key_id="alias/telemetry")
    record(log, 5)
    assert log.flush(timeout=60)
    (key,) = stored("events/")
    head = s3.client().head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/telemetry")


def test_gzip_objects_are_the_recorded_json_lines(
        s3: Any, bucket: str, make_log: Any, record: Any) -> None:
    log, _ = make_log(batch_size=3)
    sent = record(log, 3)
    assert log.flush(timeout=60)
    client = s3.client()
    (item,) = client.list_objects_v2(Bucket=bucket)["Contents"]
    obj = client.get_object(Bucket=bucket, Key=item["Key"])
    assert obj["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in obj  # readers get the .gz bytes, not a decoded body
    assert gzip.decompress(obj["Body"].read()) == b"".join(
        orjson.dumps(d) + b"\n" for d in sent)


def test_large_objects_use_multipart_upload(
        make_log: Any, record: Any, stored: Any, requests_of: Any) -> None:
    log, sink = make_log(**MULTIPART)
    requests = requests_of(sink)
    sent = record(log, 12_000, step=timedelta(milliseconds=1), payload=900)  # ~12 MB
    assert log.flush(timeout=120)
    (lines,) = stored("events/").values()
    assert _ids(lines) == _ids(sent)
    assert requests["CreateMultipartUpload"] == requests["CompleteMultipartUpload"] == 1
    assert requests["UploadPart"] == 3
    assert "PutObject" not in requests
    assert sink.stats()["multipart_uploads"] == 1


def test_a_failed_part_aborts_the_upload_and_the_batch_is_retried(
        s3: Any, bucket: str, make_log: Any, record: Any, stored: Any,
        requests_of: Any) -> None:
    log, sink = make_log(**MULTIPART)
    requests = requests_of(sink)
    failures = []

    def fail_second_part_once(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2 and not failures:
            failures.append(params["UploadId"])
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=s3.endpoint_url)

    sink.sink.client.meta.events.register(
        "before-parameter-build.s3.UploadPart", fail_second_part_once)
    sent = record(log, 12_000, step=timedelta(milliseconds=1), payload=900)
    assert log.flush(timeout=120)
    assert failures and requests["AbortMultipartUpload"] == 1
    assert s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    (lines,) = stored("events/").values()  # nothing of the failed upload is visible
    assert _ids(lines) == _ids(sent)
    stats = sink.stats()
    assert (stats["multipart_aborted"], stats["multipart_uploads"]) == (1, 2)
    assert stats["retried"] == 12_000


def test_a_put_the_server_will_never_accept_is_dead_lettered(
        make_log: Any, record: Any, stored: Any) -> None:
    log, sink = make_log(batch_size=20, storage_class="NOT_A_CLASS")
    sent = record(log, 20)
    assert log.flush(timeout=60)
    stats = sink.stats()
    assert (stats["dead_lettered"], stats["delivered"], stats["retried"]) == (20, 0, 0)
    assert stored("events/") == {}
    dead = read_dead_letters(sink)  # what S3 said, with each event
    assert [d["event"] for d in dead] == sent
    assert all("InvalidStorageClass" in str(d["reason"]) for d in dead)


def test_a_repeated_batch_overwrites_its_object(
        make_sink: Any, make_log: Any, record: Any, sink_events: Any, stored: Any) -> None:
    # The key comes from the events, so a retry after a lost answer is no duplicate.
    log, _ = make_log()
    events = sink_events(record(log, 10))
    sink = make_sink(batch_size=10)
    assert sink.sink.write_batch(events) is None
    assert sink.sink.write_batch(events) is None
    (lines,) = stored("events/").values()
    assert len(lines) == 10


def test_missing_bucket_is_a_clear_start_up_error(s3: Any, make_log: Any) -> None:
    with pytest.raises(SinkConfigError) as info:
        make_log(bucket="no-such-bucket-here")
    text = str(info.value)
    assert "'no-such-bucket-here'" in text and s3.endpoint_url in text
    assert "404" in text and "create the bucket" in text


def test_unreachable_endpoint_is_a_clear_start_up_error(make_log: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SinkConfigError) as info:
        make_log(endpoint_url=url, connect_timeout=1, request_attempts=1)
    assert "cannot reach S3" in str(info.value) and url in str(info.value)


def test_check_bucket_false_starts_without_a_request(make_log: Any) -> None:
    _, sink = make_log(bucket="not-there-yet", check_bucket=False)
    assert sink.sink.client is not None and sink.stats()["put_requests"] == 0


def test_timestamps_from_other_producers_are_partitioned_in_utc(
        make_sink: Any, make_log: Any, record: Any, sink_events: Any, stored: Any) -> None:
    # A handler fed by plain logging may carry offsets or no zone; the core writes "...Z".
    log, _ = make_log()
    recorded = record(log, 3)
    recorded[0]["__timestamp__"] = "2026-11-22T01:30:00+02:00"  # 23:30 the day before
    recorded[1]["__timestamp__"] = "2026-11-22T05:00:00"  # no zone: taken as UTC
    sink = make_sink()
    assert sink.sink.write_batch(sink_events(recorded)) is None
    where = {lines[0]["__event_id__"]: KEY.fullmatch(key) for key, lines in
             stored("events/").items()}
    assert len(where) == 3
    got = {i: (m["dt"], m["hour"]) for i, m in where.items() if m}
    assert got == {recorded[0]["__event_id__"]: ("2026-11-21", "23"),
                   recorded[1]["__event_id__"]: ("2026-11-22", "05"),
                   recorded[2]["__event_id__"]: ("2026-11-22", "01")}


def test_key_template_with_the_whole_schema_id(
        make_log: Any, record: Any, stored: Any) -> None:
    log, _ = make_log(key_template="{prefix}/{schema}/v{version}/{year}/{month}/{day}/{uuid}"
                                   ".json{ext}")
    record(log, 2)
    assert log.flush(timeout=30)
    (key,) = stored("events/")
    assert re.fullmatch(r"events/example\.org_telemetry_s3-sink-test/v1/2026/11/22/"
                        r"[0-9a-f-]{36}\.json\.gz", key)


def test_one_batch_with_a_delivered_a_rejected_and_a_retried_partition(
        s3: Any, make_log: Any, record: Any, stored: Any) -> None:
    log, sink = make_log(batch_size=30, batch_age=60)
    refused_once: list[str] = []

    def inject(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]
        if "/version=2/" in key:  # this partition is refused for good
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                 "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject")
        if "schema=opened/" in key and not refused_once:  # this one fails once
            refused_once.append(key)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=s3.endpoint_url)

    sink.sink.client.meta.events.register("before-parameter-build.s3.PutObject", inject)
    for _ in range(10):
        record(log, 1, version=1)
        record(log, 1, version=2)
        record(log, 1, schema=OTHER)
    assert log.flush(timeout=60)
    objects = stored("events/")
    assert sorted(NAMES[lines[0]["__schema__"]] + str(lines[0]["__schema_version__"])
                  for lines in objects.values()) == ["opened1", "s3-sink-test1"]
    assert all(len(lines) == 10 for lines in objects.values())
    stats = sink.stats()
    assert (stats["delivered"], stats["dead_lettered"]) == (20, 10)
    assert refused_once and stats["retried"] >= 10
    dead = read_dead_letters(sink)
    assert {d["event"]["__schema_version__"] for d in dead} == {2}
    assert all("403 AccessDenied: Access Denied" in str(d["reason"]) for d in dead)


def test_keys_name_events_as_every_sink_does(make_sink: Any, stored: Any) -> None:
    # The table every sink's naming test uses: UTC {date}/{hour} whatever the offset,
    # one {schema} per schema id.
    sink = make_sink(key_template=NAMING_TEMPLATE + "/{uuid}.jsonl", compression="none")
    cases = naming_cases()
    for event, _ in cases:
        sink.submit(event)
    assert sink.flush(timeout=60)
    where = {data["__event_id__"]: key.split("/")[0]
             for key, lines in stored("t-").items() for data in lines}
    assert where == {event.event_id: name for event, name in cases}
