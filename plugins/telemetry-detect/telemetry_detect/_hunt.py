"""``hunt``: run rules over what the file and S3 sinks stored.

A local path is a JSON-lines file or a directory searched for ``*.jsonl`` and
``*.jsonl.gz`` files (the file sink's names, rotated and gzipped ones included). An
``s3://bucket/prefix`` URL is listed with boto3 (the standard credential chain; an
endpoint from ``--endpoint-url`` or ``AWS_ENDPOINT_URL``); its objects are copied into a
private temporary directory and read there by DuckDB, because DuckDB's httpfs extension
is downloaded at run time and may not be reachable. Hive partitions ``dt=YYYY-MM-DD``
before ``--since`` are skipped without being read.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_DT = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")
_EVENT_FILE = re.compile(r"\.jsonl(?:\.gz)?$")
#: Bytes one hunt copies from S3 at most, unless told otherwise.
DEFAULT_MAX_BYTES = 10 * 1024**3


def local_files(path: str) -> list[str]:
    """The event files at ``path`` (a file, or a directory searched recursively)."""
    root = Path(path)
    if root.is_file():
        return [str(root)]
    if not root.is_dir():
        raise FileNotFoundError(f"{path}: no such events file or directory")
    return sorted(str(p) for p in root.rglob("*") if _EVENT_FILE.search(p.name) and p.is_file())


def _wanted(key: str, since_date: str | None) -> bool:
    if not _EVENT_FILE.search(key):
        return False
    partition = _DT.search(key)
    return not (since_date and partition and partition.group(1) < since_date)


@contextmanager
def s3_files(url: str, since: str | None = None, endpoint_url: str | None = None,
             max_bytes: int = DEFAULT_MAX_BYTES,
             progress: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Copy the event objects under ``url`` to a private temporary directory; yields
    their local paths, and removes them afterwards."""
    import boto3

    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"{url}: an S3 URL is s3://BUCKET[/PREFIX]")
    client: Any = boto3.client("s3", endpoint_url=endpoint_url or os.environ.get(
        "AWS_ENDPOINT_URL") or None)
    since_date = since[:10] if since else None
    with tempfile.TemporaryDirectory(prefix="telemetry-hunt-") as tmp:
        os.chmod(tmp, 0o700)
        files: list[str] = []
        total = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                        Prefix=prefix):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if not _wanted(key, since_date):
                    continue
                total += int(item.get("Size", 0))
                if total > max_bytes:
                    raise ValueError(f"{url}: more than {max_bytes} bytes of events; narrow "
                                     "the prefix or --since, or raise --max-bytes")
                target = Path(tmp) / f"{len(files):08d}{''.join(Path(key).suffixes[-2:])}"
                client.download_file(bucket, key, str(target))
                files.append(str(target))
                if progress and len(files) % 100 == 0:
                    progress(f"{len(files)} objects copied")
        yield files


def progress_to_stderr(message: str) -> None:
    """Progress of a long hunt, on stderr (stdout stays the result)."""
    print(f"telemetry detect hunt: {message}", file=sys.stderr)
