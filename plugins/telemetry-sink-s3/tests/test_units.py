"""Key naming rules, configuration errors and error classification (no server needed)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from telemetry_sink_s3 import S3Sink, safe_segment, schema_name
from telemetry_sink_s3._keys import content_uuid, key_template, partition_time, render_key
from telemetry_sink_s3._s3io import classify

from telemetry_core.sinks import (
    PermanentSinkError,
    SinkConfigError,
    TransientSinkError,
    create_sink,
    sink_class,
)


@pytest.mark.parametrize(("schema_id", "name"), [
    ("https://telemetry.jupyter.org/schemas/events/kernel/lifecycle", "lifecycle"),
    ("https://example.org/events/notebook/v2", "notebook"),      # version segment skipped
    ("https://example.org/events/saved/1.0/", "saved"),
    ("urn:example:notebook:opened", "opened"),
    ("https://example.org/a#frag ment", "frag_ment"),
    ("v1", "v1"),                                                # nothing else to take
    ("https://", "unknown"),
])
def test_schema_name_is_the_last_segment(schema_id: str, name: str) -> None:
    assert schema_name(schema_id) == name


@pytest.mark.parametrize(("schema_id", "name"), [
    ("https://events.jupyter.org/jupyter_server/kernel_actions",
     "events.jupyter.org_jupyter_server_kernel_actions"),
    ("myorg.lab/notebook-opened/", "myorg.lab_notebook-opened"),
    ("a=b c:d", "a_b_c_d"),
    ("../../etc/passwd", "etc_passwd"),
    ("..", "unknown"),
    ("", "unknown"),
    ("ünïcode/✓", "n_code"),
])
def test_schema_is_the_whole_id_as_one_safe_segment(schema_id: str, name: str) -> None:
    assert safe_segment(schema_id) == name


def test_long_schema_names_are_cut_and_keep_a_hash() -> None:
    a, b = "x" * 300 + "/a", "x" * 300 + "/b"
    assert len(safe_segment(a)) == 120
    assert safe_segment(a) != safe_segment(b)
    assert re.fullmatch(r"x{111}-[0-9a-f]{8}", safe_segment(a))


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("2026-11-22T02:28:19.123456Z", ("2026-11-22", "02")),
    ("2026-11-22T02:28:19+00:00", ("2026-11-22", "02")),
    ("2026-11-22T01:30:00+02:00", ("2026-11-21", "23")),  # converted to UTC
    ("2026-11-22T05:00:00", ("2026-11-22", "05")),        # no offset: taken as UTC
])
def test_partition_time_is_utc(timestamp: str, expected: tuple[str, str]) -> None:
    assert partition_time(timestamp) == expected


def test_unparseable_timestamp_falls_back_to_now() -> None:
    date, hour = partition_time("yesterday-ish")
    now = datetime.now(timezone.utc)
    assert date in (now.strftime("%Y-%m-%d"), str(now.date()))
    assert 0 <= int(hour) <= 23


def test_content_uuid_depends_on_the_events_only() -> None:
    assert content_uuid(["a", "b"], b"{}\n{}\n") == content_uuid(["a", "b"], b"1\n2\n")
    assert content_uuid(["a", "b"], b"{}\n{}\n") != content_uuid(["a", "c"], b"{}\n{}\n")
    # Events without ids: the JSON decides, so different events never share a key.
    assert content_uuid(["", ""], b"1\n2\n") != content_uuid(["", ""], b"1\n3\n")


def test_render_key_drops_empty_segments() -> None:
    template = key_template("{prefix}/x/{uuid}")
    assert render_key(template, "s", "1", "2026-01-02T03", prefix="", uuid="u") == "x/u"


def test_entry_point_provides_the_s3_type() -> None:
    assert sink_class("s3") is S3Sink
    handler = create_sink({"type": "s3", "bucket": "b"})
    assert isinstance(handler.sink, S3Sink)
    # S3 objects are few and large: the framework batches by the sink's own defaults.
    assert (handler.delivery.batch_size, handler.delivery.batch_age) == (10_000, 60.0)
    assert "bucket" in {option.name for option in S3Sink.declared_options()}


@pytest.mark.parametrize(("options", "words"), [
    ({}, "'bucket' is required"),
    ({"bucket": ""}, "'bucket' is required"),
    ({"bucket": "b", "sse": "rot13"},
     "'sse' must be one of 'AES256', 'aws:kms', got 'rot13'"),
    ({"bucket": "b", "sse_kms_key_id": "k"}, "sse is not 'aws:kms'"),
    ({"bucket": "b", "storage_class": "cheap please"}, "storage_class"),
    ({"bucket": "b", "compression": "zstd"},
     "'compression' must be one of 'gzip', 'none', got 'zstd'"),
    ({"bucket": "b", "compresslevel": 11}, "'compresslevel' must be <= 9, got 11"),
    ({"bucket": "b", "compresslevel": "fast"},
     "'compresslevel' must be a whole number, got 'fast'"),
    ({"bucket": "b", "multipart_part_size": 1024},
     "'multipart_part_size' must be >= 5242880, got 1024"),
    ({"bucket": "b", "multipart_threshold": 6 * 1024**3}, "multipart_threshold"),
    ({"bucket": "b", "max_object_bytes": 0}, "'max_object_bytes' must be >= 1, got 0"),
    ({"bucket": "b", "request_attempts": 0}, "'request_attempts' must be >= 1, got 0"),
    ({"bucket": "b", "read_timeout": None}, "'read_timeout' must be a number, got None"),
    ({"bucket": "b", "connect_timeout": -1}, "'connect_timeout' must be >= 0.001, got -1"),
    ({"bucket": "b", "key_template": "{prefix}/{date}.jsonl"}, "has no {uuid}"),
    ({"bucket": "b", "key_template": "{prefix}/{schema_id}/{uuid}"},
     "uses {schema_id}; did you mean {schema_name}?"),
    ({"bucket": "b", "key_template": "{prefix/{uuid}"}, "template '{prefix/{uuid}' is malformed"),
    ({"bucket": "b", "addressing_style": "sideways"}, "addressing_style"),
    ({"bucket": "b", "bukket": "typo"}, "bukket"),
])
def test_bad_configuration_is_a_clear_error(options: dict[str, object], words: str) -> None:
    with pytest.raises(SinkConfigError) as info:
        create_sink({"type": "s3", **options})
    assert words in str(info.value)


@pytest.mark.parametrize(("status", "code", "transient"), [
    (503, "SlowDown", True),
    (500, "InternalError", True),
    (400, "RequestTimeout", True),
    (403, "RequestTimeTooSkewed", True),
    (400, "ExpiredToken", True),
    (404, "NoSuchBucket", True),
    (429, "TooManyRequests", True),
    (403, "AccessDenied", False),
    (403, "InvalidAccessKeyId", False),
    (400, "InvalidStorageClass", False),
    (400, "InvalidArgument", False),
    (400, "KMS.NotFoundException", False),
])
def test_errors_are_sorted_into_transient_and_permanent(
        status: int, code: str, transient: bool) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "said so"},
                         "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")
    outcome = classify(error, "PUT s3://b/k failed")
    assert isinstance(outcome, TransientSinkError if transient else PermanentSinkError)
    assert str(outcome) == f"s3 sink: PUT s3://b/k failed: {status} {code}: said so"


def test_connection_errors_are_transient() -> None:
    outcome = classify(EndpointConnectionError(endpoint_url="http://x"), "PUT")
    assert isinstance(outcome, TransientSinkError) and "http://x" in str(outcome)
