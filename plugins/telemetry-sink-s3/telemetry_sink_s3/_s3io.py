"""Talking to S3: building a bounded client, uploading one object whole, classifying errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telemetry_core.sinks import PermanentSinkError, SinkConfigError, TransientSinkError

log = logging.getLogger("telemetry_sink_s3")

#: S3 rejects multipart parts (except the last) smaller than this.
MIN_PART_SIZE = 5 * 1024 * 1024
#: The largest single PUT (and the largest part) S3 accepts.
MAX_PUT_SIZE = 5 * 1024**3

# Error codes that may succeed later. Every other 4xx (AccessDenied, InvalidStorageClass,
# InvalidArgument, KMS key errors, ...) will fail the same way on every retry.
_TRANSIENT_CODES = frozenset({
    "RequestTimeout", "RequestTimeoutException", "SlowDown", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestTimeTooSkewed", "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired",
    "InternalError", "ServiceUnavailable", "OperationAborted", "BadDigest",
    # A bucket deleted at run time may be recreated by its admin; keep the events
    # (retry, then spool) rather than dead-letter everything until then.
    "NoSuchBucket", "NoSuchUpload",
})


def make_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
    addressing_style: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
    user_agent: str,
) -> Any:
    """A boto3 S3 client whose every call ends within the configured timeouts and attempts."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=region,
            profile_name=profile,
        )
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # botocore's own retries stay short: the sink framework owns the long
            # retry (backoff, spool), and write_batch must return in bounded time.
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": addressing_style or ("path" if endpoint_url else "auto")},
            user_agent_extra=user_agent,
        )
        return session.client("s3", endpoint_url=endpoint_url, config=config)
    except BotoCoreError as exc:  # ProfileNotFound, bad endpoint URL, unknown region...
        raise SinkConfigError(f"s3 sink: cannot build an S3 client: {exc}") from exc


def describe(exc: BaseException) -> str:
    """What AWS said, in one line: ``403 AccessDenied: Access Denied``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        code = error.get("Code", "")
        message = error.get("Message", "")
        if str(code) == str(status):  # HEAD answers have no body: code is the status
            code = ""
        return " ".join(str(p) for p in (status, f"{code}:" if code and message else code,
                                         message) if p)
    return f"{type(exc).__name__}: {exc}"


def classify(exc: Exception, what: str) -> TransientSinkError | PermanentSinkError:
    """Turn a botocore exception into the framework's transient or permanent error."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    text = f"s3 sink: {what}: {describe(exc)}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _TRANSIENT_CODES or status >= 500 or status in (0, 408, 429):
            return TransientSinkError(text)
        return PermanentSinkError(text)
    if isinstance(exc, ParamValidationError):
        return PermanentSinkError(text)
    if isinstance(exc, BotoCoreError):  # connection refused/reset, timeouts, credentials
        return TransientSinkError(text)
    return TransientSinkError(text)


def upload(
    client: Any,
    bucket: str,
    key: str,
    body: bytes,
    extra: dict[str, Any],
    *,
    multipart_threshold: int,
    part_size: int,
    count: Callable[[str, int], None],
) -> None:
    """Store ``body`` at ``key`` whole or not at all.

    One PUT below ``multipart_threshold``; above it a multipart upload, which S3 makes
    visible only on completion, and which is aborted when any part fails.
    Raises ``TransientSinkError`` or ``PermanentSinkError``. ``count`` is the sink
    context's (counters change under its lock only).
    """
    where = f"s3://{bucket}/{key}"
    if len(body) < multipart_threshold:
        try:
            client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except Exception as exc:
            raise classify(exc, f"PUT {where} ({len(body)} bytes) failed") from exc
        count("put_requests", 1)
        return
    try:
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    except Exception as exc:
        raise classify(exc, f"starting the multipart upload of {where} failed") from exc
    count("multipart_uploads", 1)
    try:
        parts = []
        for number, offset in enumerate(range(0, len(body), part_size), start=1):
            answer = client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                Body=body[offset:offset + part_size])
            parts.append({"ETag": answer["ETag"], "PartNumber": number})
            count("part_requests", 1)
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except Exception as exc:
        count("multipart_aborted", 1)
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as abort_exc:  # the bucket's lifecycle rule cleans up (README)
            log.warning("s3 sink: aborting multipart upload %s of %s failed: %s",
                        upload_id, where, describe(abort_exc))
        raise classify(exc, f"multipart upload of {where} ({len(body)} bytes) failed") from exc
