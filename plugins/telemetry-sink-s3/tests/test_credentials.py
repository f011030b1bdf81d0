"""Refused credentials, with moto checking signatures and IAM policies.

moto checks credentials only when told to (its ``/moto-api/reset-auth`` switch, which
is process-wide for the embedded server); with another server (an external endpoint,
LocalStack, which accepts any credentials) these tests are skipped.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from telemetry_core.sinks import SinkConfigError


@pytest.fixture(autouse=True)
def _moto_only(s3: Any) -> None:
    if s3.kind != "moto":
        pytest.skip(f"switching credential checks on needs the embedded moto server, not {s3.kind}")


def _set_auth(s3: Any, free_requests: str) -> None:
    request = urllib.request.Request(
        f"{s3.endpoint_url}/moto-api/reset-auth", data=free_requests.encode(), method="POST",
        headers={"Content-Type": "text/plain"})  # moto reads the raw body
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def list_only_keys(s3: Any, bucket: str) -> Iterator[dict[str, str]]:
    """Keys of an IAM user that may list the bucket but not write to it; checks switched on."""
    iam = boto3.client("iam", endpoint_url=s3.endpoint_url, region_name=s3.region,
                       aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key)
    user = f"reader-{bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="list-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        # AWS checks s3:ListBucket for HEAD bucket; moto checks an s3:HeadBucket action.
        "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:HeadBucket"],
                       "Resource": f"arn:aws:s3:::{bucket}"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    _set_auth(s3, "0")
    try:
        yield {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    finally:
        _set_auth(s3, "inf")


def test_refused_credentials_are_a_clear_start_up_error(
        make_log: Any, bucket: str, list_only_keys: dict[str, str]) -> None:
    with pytest.raises(SinkConfigError) as info:
        make_log(access_key_id="AKIAWRONGWRONGWRONG", secret_access_key="nope")
    text = str(info.value)
    assert repr(bucket) in text and "403" in text and "check the credentials" in text


def test_access_denied_on_put_is_permanent(
        make_log: Any, record: Any, list_only_keys: dict[str, str]) -> None:
    log, sink = make_log(batch_size=10, **list_only_keys)  # HEAD bucket is allowed
    record(log, 10)
    assert log.flush(timeout=60)
    stats = sink.stats()
    assert (stats["dead_lettered"], stats["delivered"], stats["retried"]) == (10, 0, 0)
    assert "AccessDenied" in sink.dead_letter_path.read_text()
