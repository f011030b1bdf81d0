"""S3Sink: batches of events as newline-delimited JSON objects under Hive-style keys."""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telemetry_core.sinks import (
    PermanentSinkError,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    TransientSinkError,
    WriteResult,
    hour_key,
    option,
)

from . import _keys, _s3io
from ._version import __version__

_MiB = 1024 * 1024
_SSE = ("AES256", "aws:kms")
_STORAGE_CLASS = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: Counters this sink adds to ``stats()``.
S3_COUNTERS = ("objects_written", "put_requests", "multipart_uploads", "part_requests",
               "multipart_aborted", "bytes_written", "upload_failures")
# (schema id, version, "YYYY-MM-DDTHH"): what one object's events share.
_Partition = tuple[str, str, str]


def _check_storage_class(value: str) -> None:
    if not _STORAGE_CLASS.match(value):
        raise ValueError(f"{value!r} is not a storage class name (upper case, e.g. STANDARD, "
                         "STANDARD_IA, INTELLIGENT_TIERING)")


@dataclass(frozen=True)
class S3Options:
    """The S3 sink's options."""

    bucket: str = option(None, "S3 bucket name; must exist", required=True)
    prefix: str = option("telemetry", "key prefix before the partitions ('' for none)")
    endpoint_url: str | None = option(None, "S3-compatible endpoint, e.g. http://minio:9000 "
                                      "(default: AWS)")
    region: str | None = option(None, "AWS region (default: the standard chain)")
    profile: str | None = option(None, "named profile from ~/.aws/config")
    access_key_id: str | None = option(None, "explicit access key (default: the standard "
                                       "credential chain)")
    secret_access_key: str | None = option(None, "explicit secret key, with access_key_id")
    session_token: str | None = option(None, "explicit session token, with temporary keys")
    sse: str | None = option(None, "server-side encryption (default: the bucket's)",
                             choices=_SSE)
    sse_kms_key_id: str | None = option(None, "KMS key id or ARN for sse='aws:kms'")
    storage_class: str | None = option(None, "S3 storage class, e.g. STANDARD_IA",
                                       check=_check_storage_class)
    key_template: str = option(_keys.DEFAULT_KEY_TEMPLATE, "object key template; the "
                               "framework's variables plus prefix, uuid, ext")
    compression: str = option("gzip", "'gzip' or 'none'", choices=("gzip", "none"))
    compresslevel: int = option(1, "gzip level (1: least CPU; 6-9 save ~10% of bytes)",
                                minimum=1, maximum=9)
    max_object_bytes: int = option(64 * _MiB, "uncompressed bytes per object before a new "
                                   "one starts", minimum=1)
    multipart_threshold: int = option(16 * _MiB, "bodies of this many bytes or more use "
                                      "multipart", minimum=1, maximum=_s3io.MAX_PUT_SIZE)
    multipart_part_size: int = option(8 * _MiB, "multipart part size",
                                      minimum=_s3io.MIN_PART_SIZE,
                                      maximum=_s3io.MAX_PUT_SIZE)
    addressing_style: str | None = option(None, "'path', 'virtual' or 'auto' (default: path "
                                          "with endpoint_url)",
                                          choices=("path", "virtual", "auto"))
    connect_timeout: float = option(5.0, "seconds to connect before the attempt fails",
                                    minimum=0.001)
    read_timeout: float = option(30.0, "seconds to wait for a response before the attempt "
                                 "fails", minimum=0.001)
    request_attempts: int = option(2, "botocore attempts per request before write_batch "
                                   "fails; the framework then retries and spools", minimum=1)
    check_bucket: bool = option(True, "HEAD the bucket at start-up (needs s3:ListBucket)")


class S3Sink(Sink):
    """Deliver events to S3 as gzipped JSON-lines objects, one per partition per batch.

    Configured by name: ``{"type": "s3", "bucket": "telemetry", "prefix": "jupyter"}``.
    Each batch the framework hands over is grouped by partition (schema, version, UTC
    date and hour) and each group is written as one object, split further only when
    it exceeds ``max_object_bytes``. Objects are written whole or not at all.
    """

    type = "s3"
    # Objects, not events, cost money and make queries slow: batch big and long.
    batch_size = 10_000
    batch_age = 60.0
    counters = S3_COUNTERS
    Options = S3Options

    def __init__(self, context: SinkContext, options: S3Options) -> None:
        super().__init__(context)
        o = options
        if o.sse_kms_key_id and o.sse != "aws:kms":
            raise SinkConfigError("s3 sink: sse_kms_key_id is set but sse is not 'aws:kms'")
        self.compress = o.compression == "gzip"
        self.bucket = o.bucket
        self.prefix = (o.prefix or "").strip("/")
        self.endpoint_url = o.endpoint_url
        self.key_template = _keys.key_template(o.key_template)
        self.compresslevel = o.compresslevel
        self.max_object_bytes = o.max_object_bytes
        self.multipart_threshold = o.multipart_threshold
        self.multipart_part_size = o.multipart_part_size
        self.check_bucket = o.check_bucket
        self._client_options: dict[str, Any] = dict(
            endpoint_url=o.endpoint_url, region=o.region, profile=o.profile,
            access_key_id=o.access_key_id, secret_access_key=o.secret_access_key,
            session_token=o.session_token, addressing_style=o.addressing_style,
            connect_timeout=float(o.connect_timeout), read_timeout=float(o.read_timeout),
            max_attempts=o.request_attempts, user_agent=f"telemetry-sink-s3/{__version__}")
        extra: dict[str, Any] = {
            "ContentType": "application/gzip" if self.compress else "application/x-ndjson"}
        if o.sse:
            extra["ServerSideEncryption"] = o.sse
        if o.sse_kms_key_id:
            extra["SSEKMSKeyId"] = o.sse_kms_key_id
        if o.storage_class:
            extra["StorageClass"] = o.storage_class
        self._extra = extra
        self._ext = ".gz" if self.compress else ""
        self.client: Any = None

    # -- the sink contract -------------------------------------------------------------

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
                self.context.count("upload_failures", 1)
                retry.extend(e for _, later in chunks[index:] for e in later)
                if not rejected and len(retry) == len(events):
                    raise
                _s3io.log.warning("%s", exc)
                break
            except PermanentSinkError as exc:
                self.context.count("upload_failures", 1)
                rejected.extend((e, str(exc)) for e in chunk)
        if rejected and len(rejected) == len(events):
            raise PermanentSinkError(rejected[0][1])
        return WriteResult(retry=retry, rejected=rejected) if retry or rejected else None

    def close(self) -> None:
        """Close the client's connection pool."""
        if self.client is not None:
            close = getattr(self.client, "close", None)
            if close is not None:
                close()

    # -- helpers ---------------------------------------------------------------------

    def _chunks(
        self, events: Sequence[SinkEvent]
    ) -> list[tuple[_Partition, list[SinkEvent]]]:
        """Group events by partition, in arrival order, then cut at ``max_object_bytes``."""
        # Per event only a cheap key (hour_key slices the core's "...Z" stamps; other
        # offsets are converted to UTC): names are worked out once per group.
        raw: dict[_Partition, list[SinkEvent]] = {}
        for event in events:
            key = (event.schema_id, event.version, hour_key(event.timestamp))
            group = raw.get(key)
            if group is None:
                raw[key] = [event]
            else:
                group.append(event)
        chunks = []
        for part, group in raw.items():
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
        lines = body = b"\n".join([e.json for e in events]) + b"\n"
        if self.compress:
            # mtime=0: the same events give the same bytes under the same key.
            body = gzip.compress(body, compresslevel=self.compresslevel, mtime=0)
        schema_id, version, hour = part
        key = _keys.render_key(
            self.key_template, schema_id, version, hour, prefix=self.prefix,
            uuid=_keys.content_uuid([e.event_id for e in events], lines), ext=self._ext)
        extra = {**self._extra, "Metadata": {"event-count": str(len(events))}}
        _s3io.upload(
            self.client, self.bucket, key, body, extra,
            multipart_threshold=self.multipart_threshold, part_size=self.multipart_part_size,
            count=self.context.count)
        self.context.count("objects_written", 1)
        self.context.count("bytes_written", len(body))
