"""S3Sink: batches of events as newline-delimited JSON objects under Hive-style keys."""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from operator import attrgetter, methodcaller
from typing import Any, ClassVar

from telemetry_core.sinks import (
    PermanentSinkError,
    SinkConfigError,
    SinkEvent,
    SinkHandler,
    TransientSinkError,
    WriteResult,
)

from . import _keys, _s3io
from ._version import __version__

_MiB = 1024 * 1024
_SSE = ("AES256", "aws:kms")
_STORAGE_CLASS = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SEGMENT_CACHE_MAX = 4096
_TIMESTAMP = attrgetter("timestamp")
_SCHEMA_AND_VERSION = attrgetter("schema_id", "version")
_ENDS_IN_Z = methodcaller("endswith", "Z")
#: Counters this sink adds to ``stats()``.
S3_COUNTERS = ("objects_written", "put_requests", "multipart_uploads", "part_requests",
               "multipart_aborted", "bytes_written", "upload_failures")
# (schema_name, schema, version, date, hour): the key segments one object's events share.
_Partition = tuple[str, str, str, str, str]


def _whole(option: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as a whole number in ``[low, high]``, or a ``SinkConfigError`` saying so."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise SinkConfigError(f"s3 sink: {option}={value!r}; expected a whole number {bound}")
    return value


class S3Sink(SinkHandler):
    """Deliver events to S3 as gzipped JSON-lines objects, one per partition per batch.

    Configured by name: ``{"type": "s3", "bucket": "telemetry", "prefix": "jupyter"}``.
    Each batch the framework hands over is grouped by partition (schema, version, UTC
    date and hour) and each group is written as one object, split further only when
    it exceeds ``max_object_bytes``. Objects are written whole or not at all.
    """

    sink_type: ClassVar[str] = "s3"
    # Objects, not events, cost money and make queries slow: batch big and long.
    default_batch_size: ClassVar[int] = 10_000
    default_batch_age: ClassVar[float] = 60.0
    options: ClassVar[dict[str, str]] = {
        "bucket": "S3 bucket name (required); must exist",
        "prefix": "key prefix before the partitions (default 'telemetry'; '' for none)",
        "endpoint_url": "S3-compatible endpoint, e.g. http://minio:9000 (default: AWS)",
        "region": "AWS region (default: the standard chain, AWS_REGION / profile)",
        "profile": "named profile from ~/.aws/config (default: the standard chain)",
        "access_key_id": "explicit access key (default: the standard credential chain)",
        "secret_access_key": "explicit secret key, with access_key_id",
        "session_token": "explicit session token, with temporary keys",
        "sse": "server-side encryption: 'AES256' (SSE-S3) or 'aws:kms' (default: bucket's)",
        "sse_kms_key_id": "KMS key id or ARN for sse='aws:kms' (default: the AWS managed key)",
        "storage_class": "S3 storage class, e.g. STANDARD_IA (default: STANDARD)",
        "key_template": f"object key template (default {_keys.DEFAULT_KEY_TEMPLATE!r}); "
                        f"fields: {', '.join(sorted(_keys.TEMPLATE_FIELDS))}",
        "compression": "'gzip' (default) or 'none'",
        "compresslevel": "gzip level 1-9 (default 1: least CPU; 6-9 save ~10% of bytes)",
        "max_object_bytes": "uncompressed bytes per object before a new one starts (64 MiB)",
        "multipart_threshold": "bodies of this many bytes or more use multipart (16 MiB)",
        "multipart_part_size": "multipart part size, at least 5 MiB (8 MiB)",
        "addressing_style": "'path', 'virtual' or 'auto' (default: path with endpoint_url)",
        "connect_timeout": "seconds to connect before the attempt fails (5)",
        "read_timeout": "seconds to wait for a response before the attempt fails (30)",
        "request_attempts": "botocore attempts per request before write_batch fails (2); "
                            "the framework then retries (max_attempts) and spools",
        "check_bucket": "HEAD the bucket at start-up (default true; needs s3:ListBucket)",
        "batch_size": "events per batch before it is written (10000)",
        "batch_age": "seconds a batch may wait before it is written (60)",
    }

    def __init__(
        self,
        *,
        bucket: str = "",
        prefix: str = "telemetry",
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        storage_class: str | None = None,
        key_template: str = _keys.DEFAULT_KEY_TEMPLATE,
        compression: str | bool = "gzip",
        compresslevel: int = 1,
        max_object_bytes: int = 64 * _MiB,
        multipart_threshold: int = 16 * _MiB,
        multipart_part_size: int = 8 * _MiB,
        addressing_style: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        request_attempts: int = 2,
        check_bucket: bool = True,
        **base_options: Any,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise SinkConfigError("s3 sink: 'bucket' is required (the name of an existing bucket)")
        if sse is not None and sse not in _SSE:
            raise SinkConfigError(f"s3 sink: sse={sse!r}; expected one of {', '.join(_SSE)}")
        if sse_kms_key_id and sse != "aws:kms":
            raise SinkConfigError("s3 sink: sse_kms_key_id is set but sse is not 'aws:kms'")
        if storage_class is not None and not _STORAGE_CLASS.match(str(storage_class)):
            raise SinkConfigError(
                f"s3 sink: storage_class={storage_class!r} is not a storage class name "
                "(upper case, e.g. STANDARD, STANDARD_IA, INTELLIGENT_TIERING)")
        if compression in (True, "gzip"):
            self.compress = True
        elif compression in (False, "none", None):
            self.compress = False
        else:
            raise SinkConfigError(
                f"s3 sink: compression={compression!r}; expected 'gzip' or 'none'")
        compresslevel = _whole("compresslevel", compresslevel, 1, 9)
        max_object_bytes = _whole("max_object_bytes", max_object_bytes, 1)
        multipart_threshold = _whole("multipart_threshold", multipart_threshold, 1,
                                     _s3io.MAX_PUT_SIZE)
        multipart_part_size = _whole("multipart_part_size", multipart_part_size,
                                     _s3io.MIN_PART_SIZE, _s3io.MAX_PUT_SIZE)
        request_attempts = _whole("request_attempts", request_attempts, 1)
        for option, seconds in (("connect_timeout", connect_timeout),
                                ("read_timeout", read_timeout)):
            if not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
                raise SinkConfigError(
                    f"s3 sink: {option}={seconds!r}; expected a positive number of seconds "
                    "(the bound that keeps a write from hanging)")
        if addressing_style not in (None, "path", "virtual", "auto"):
            raise SinkConfigError(
                f"s3 sink: addressing_style={addressing_style!r}; expected path, virtual or auto")
        _keys.check_template(key_template)
        self.bucket = bucket
        self.prefix = (prefix or "").strip("/")
        super().__init__(**base_options)
        self.endpoint_url = endpoint_url
        self.key_template = key_template
        self.compresslevel = compresslevel
        self.max_object_bytes = max_object_bytes
        self.multipart_threshold = multipart_threshold
        self.multipart_part_size = multipart_part_size
        self.check_bucket = bool(check_bucket)
        self._client_options: dict[str, Any] = dict(
            endpoint_url=endpoint_url, region=region, profile=profile,
            access_key_id=access_key_id, secret_access_key=secret_access_key,
            session_token=session_token, addressing_style=addressing_style,
            connect_timeout=float(connect_timeout), read_timeout=float(read_timeout),
            max_attempts=request_attempts, user_agent=f"telemetry-sink-s3/{__version__}")
        extra: dict[str, Any] = {
            "ContentType": "application/gzip" if self.compress else "application/x-ndjson"}
        if sse:
            extra["ServerSideEncryption"] = sse
        if sse_kms_key_id:
            extra["SSEKMSKeyId"] = sse_kms_key_id
        if storage_class:
            extra["StorageClass"] = storage_class
        self._extra = extra
        self._ext = ".gz" if self.compress else ""
        self._segments: dict[tuple[str, object], tuple[str, str, str]] = {}
        self.client: Any = None
        # The sink's own counters live with the framework's: stats(), the stats file and
        # the reset in a forked child cover them. Only the delivery thread changes them.
        self.counters.update(dict.fromkeys(S3_COUNTERS, 0))

    # -- SinkHandler -----------------------------------------------------------------

    def default_name(self) -> str:
        """``bucket`` and ``prefix``: two S3 sinks to different places get their own spools."""
        return _keys.safe_segment(f"{self.bucket}/{self.prefix}")

    def open(self) -> None:
        """Build the client and, unless ``check_bucket`` is off, HEAD the bucket.

        Raises ``SinkConfigError`` naming the bucket and what S3 said when the bucket is
        missing, the credentials are refused or missing, or the endpoint cannot be reached.
        """
        self.client = _s3io.make_client(**self._client_options)
        if not self.check_bucket:
            return
        from botocore.exceptions import ClientError, NoCredentialsError

        where = f"bucket {self.bucket!r}" + (f" at {self.endpoint_url}" if self.endpoint_url
                                             else "")
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            said = _s3io.describe(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                hint = "create the bucket, or fix the 'bucket' option"
            elif status in (401, 403):
                hint = ("check the credentials (explicit keys, profile, AWS_* variables or the "
                        "instance role) and that they allow s3:ListBucket and s3:PutObject on "
                        "the bucket; set check_bucket=false if they may only PutObject")
            else:
                hint = "check the bucket name, region and endpoint_url"
            raise SinkConfigError(f"s3 sink: {where}: S3 said {said}; {hint}") from exc
        except NoCredentialsError as exc:
            raise SinkConfigError(
                f"s3 sink: {where}: no AWS credentials found in the standard chain; set "
                "access_key_id/secret_access_key or profile, AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY, or run with an instance role") from exc
        except Exception as exc:
            raise SinkConfigError(
                f"s3 sink: {where}: cannot reach S3: {_s3io.describe(exc)}; check endpoint_url "
                "and region (set check_bucket=false to start without S3)") from exc

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Write one object per partition (more if it exceeds ``max_object_bytes``).

        Objects that fail are reported per event: transient failures come back as
        ``retry`` (the framework retries and spools), permanent ones as ``rejected``.
        After the first transient failure the remaining objects are not attempted.
        """
        retry: list[SinkEvent] = []
        rejected: list[tuple[SinkEvent, str]] = []
        chunks = self._chunks(events)
        for index, (fields, chunk) in enumerate(chunks):
            try:
                self._write_object(fields, chunk)
            except TransientSinkError as exc:
                self.counters["upload_failures"] += 1
                retry.extend(e for _, later in chunks[index:] for e in later)
                if not rejected and len(retry) == len(events):
                    raise
                _s3io.log.warning("%s", exc)
                break
            except PermanentSinkError as exc:
                self.counters["upload_failures"] += 1
                rejected.extend((e, str(exc)) for e in chunk)
        if rejected and len(rejected) == len(events):
            raise PermanentSinkError(rejected[0][1])
        return WriteResult(retry=retry, rejected=rejected) if retry or rejected else None

    def close_sink(self) -> None:
        """Close the client's connection pool."""
        if self.client is not None:
            close = getattr(self.client, "close", None)
            if close is not None:
                close()

    # -- helpers ---------------------------------------------------------------------

    def _names(self, schema_id: str, version: object) -> tuple[str, str, str]:
        """``(schema_name, schema, version)`` key segments, cached (few distinct values)."""
        names = self._segments.get((schema_id, version))
        if names is None:
            if len(self._segments) >= _SEGMENT_CACHE_MAX:
                self._segments.clear()
            # The core passes the registry's version, which may be an int.
            names = self._segments[(schema_id, version)] = (
                _keys.schema_name(schema_id), _keys.safe_segment(schema_id),
                _keys.safe_segment(str(version)))
        return names

    def _chunks(
        self, events: Sequence[SinkEvent]
    ) -> list[tuple[_Partition, list[SinkEvent]]]:
        """Group events by partition, in arrival order, then cut at ``max_object_bytes``."""
        # Per event only a cheap raw key: the core's timestamps are UTC ("...Z"), so the
        # first 13 characters are the date and hour. Names are worked out once per group.
        raw: dict[tuple[str, str, str], list[SinkEvent]] = {}
        if not events:
            return []
        # The common case, one partition per batch, checked in C loops: UTC timestamps in
        # one format sort as text, so if the smallest and largest share "YYYY-MM-DDTHH",
        # every one between does too.
        stamps = list(map(_TIMESTAMP, events))
        low, high = min(stamps), max(stamps)
        if (low[:13] == high[:13] and len(low) >= 20 and all(map(_ENDS_IN_Z, stamps))
                and len(set(map(_SCHEMA_AND_VERSION, events))) == 1):
            raw[(events[0].schema_id, events[0].version, low[:13])] = list(events)
        else:
            for event in events:
                ts = event.timestamp
                hour_key = ts[:13] if ts[-1:] == "Z" and len(ts) >= 20 else "T".join(
                    _keys.partition_time(ts))
                key = (event.schema_id, event.version, hour_key)
                group = raw.get(key)
                if group is None:
                    raw[key] = [event]
                else:
                    group.append(event)
        chunks = []
        for (raw_schema, raw_version, raw_hour), group in raw.items():
            part = (*self._names(raw_schema, raw_version), raw_hour[:10], raw_hour[11:13])
            if sum(map(len, [e.line for e in group])) <= self.max_object_bytes:
                chunks.append((part, group))
                continue
            current: list[SinkEvent] = []
            size = 0
            for event in group:
                if current and size + len(event.line) > self.max_object_bytes:
                    chunks.append((part, current))
                    current, size = [], 0
                current.append(event)
                size += len(event.line)
            chunks.append((part, current))
        return chunks

    def _write_object(self, part: _Partition, events: list[SinkEvent]) -> None:
        schema_name, schema, version, date, hour = part
        lines = body = b"".join([e.line for e in events])
        if self.compress:
            # mtime=0: the same events give the same bytes under the same key.
            body = gzip.compress(body, compresslevel=self.compresslevel, mtime=0)
        key = _keys.render_key(
            self.key_template, prefix=self.prefix, schema_name=schema_name, schema=schema,
            version=version, date=date, hour=hour, year=date[:4], month=date[5:7],
            day=date[8:10],
            uuid=_keys.content_uuid([e.event_id for e in events], lines), ext=self._ext)
        extra = {**self._extra, "Metadata": {"event-count": str(len(events))}}
        _s3io.upload(
            self.client, self.bucket, key, body, extra,
            multipart_threshold=self.multipart_threshold, part_size=self.multipart_part_size,
            counters=self.counters)
        self.counters["objects_written"] += 1
        self.counters["bytes_written"] += len(body)
