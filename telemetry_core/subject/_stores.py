"""Where a sink stored its events, as a reader sees it: scan every stored event, and
erase the ones that match where the storage can delete.

One class per sink type, built from the same configuration dict as the sink. Each is
idempotent: erasing twice removes nothing more, and a run killed in the middle leaves
every file and object whole (each is replaced at once) so that a re-run finishes it.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

Match = Callable[[dict[str, Any]], bool]
_TMP_SUFFIX = ".erase-tmp"
_TEMPLATE_VARIABLE = re.compile(r"\{[^}]*\}")


def _lines(data: bytes) -> Iterator[bytes]:
    for line in data.splitlines():
        if line.strip():
            yield line


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # a damaged line is kept as it is and never matches
    return event if isinstance(event, dict) else None


def _filtered(data: bytes, match: Match) -> tuple[bytes, int]:
    """``data`` (JSON lines) without the lines that match, and how many those were."""
    kept: list[bytes] = []
    removed = 0
    for line in _lines(data):
        event = _parse(line)
        if event is not None and match(event):
            removed += 1
        else:
            kept.append(line)
    return b"".join(line + b"\n" for line in kept), removed


def write_private(path: Path, data: bytes, mode: int = 0o600, *,
                  append: bool = False) -> None:
    """Write ``data`` to ``path`` (whole, or at its end) with exactly ``mode`` whatever
    the umask, and sync it before returning."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


class FileEvents:
    """The file sink's directory: ``*.jsonl`` files and their gzipped rotations."""

    kind = "file"
    can_delete = True

    def __init__(self, config: dict[str, Any]) -> None:
        path = Path(str(config["path"]))
        # A file path may use template variables: scan from the part before the first.
        text = str(path)
        head = text.split("{", 1)[0]
        self.root = Path(head) if "{" in text else (path if path.is_dir() else path.parent)
        self.name = f"file:{self.root}"

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.name.endswith(_TMP_SUFFIX):
                continue
            if path.is_file() and (".jsonl" in path.name or path.suffix in (".json", ".log")):
                yield path

    @staticmethod
    def _read(path: Path) -> bytes:
        data = path.read_bytes()
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored event, with the file it is in."""
        for path in self._files():
            for line in _lines(self._read(path)):
                event = _parse(line)
                if event is not None:
                    yield str(path), event

    def erase(self, match: Match) -> int:
        """Rewrite each file that holds a matching event without it: written beside it,
        synced, then renamed over it (so it is whole at every moment)."""
        for stale in self.root.rglob(f"*{_TMP_SUFFIX}") if self.root.is_dir() else ():
            stale.unlink()  # from a run that was killed: the original is still whole
        removed = 0
        for path in self._files():
            raw = path.read_bytes()
            zipped = raw[:2] == b"\x1f\x8b"
            kept, count = _filtered(gzip.decompress(raw) if zipped else raw, match)
            if not count:
                continue
            tmp = path.with_name(path.name + _TMP_SUFFIX)
            write_private(tmp, gzip.compress(kept) if zipped else kept,
                          os.stat(path).st_mode & 0o777)
            os.replace(tmp, path)
            removed += count
        return removed


class S3Events:
    """The S3 sink's objects under its prefix (gzip or plain JSON lines)."""

    kind = "s3"
    can_delete = True

    def __init__(self, config: dict[str, Any]) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = config["bucket"]
        self.prefix = str(config.get("prefix", "telemetry") or "")
        self.name = f"s3://{self.bucket}/{self.prefix}"
        self.client = boto3.client(
            "s3", endpoint_url=config.get("endpoint_url"), region_name=config.get("region"),
            aws_access_key_id=config.get("access_key_id"),
            aws_secret_access_key=config.get("secret_access_key"),
            aws_session_token=config.get("session_token"),
            config=Config(s3={"addressing_style": config.get("addressing_style") or "path"}))
        self.versioned = False

    def _keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"]

    def _get(self, key: str) -> tuple[bytes, bool]:
        raw = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        zipped = raw[:2] == b"\x1f\x8b"
        return (gzip.decompress(raw) if zipped else raw), zipped

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored event, with its object's URL."""
        for key in self._keys():
            data, _ = self._get(key)
            for line in _lines(data):
                event = _parse(line)
                if event is not None:
                    yield f"s3://{self.bucket}/{key}", event

    def erase(self, match: Match) -> int:
        """Rewrite each object that holds a matching event (one PUT replaces it whole;
        an object left empty is deleted). In a versioned bucket the old versions remain:
        ``versioned`` says so, and only sealing (crypto-shredding) covers them."""
        status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        self.versioned = status in ("Enabled", "Suspended")
        removed = 0
        for key in list(self._keys()):
            data, zipped = self._get(key)
            kept, count = _filtered(data, match)
            if not count:
                continue
            if kept:
                self.client.put_object(Bucket=self.bucket, Key=key,
                                       Body=gzip.compress(kept) if zipped else kept)
            else:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            removed += count
        return removed


class ElasticsearchEvents:
    """The Elasticsearch sink's indices (its ``index`` template, variables as ``*``)."""

    kind = "elasticsearch"
    can_delete = True

    def __init__(self, config: dict[str, Any]) -> None:
        from elasticsearch import Elasticsearch

        kwargs: dict[str, Any] = {}
        for option in ("api_key", "basic_auth", "ca_certs", "verify_certs"):
            if config.get(option) is not None:
                kwargs[option] = config[option]
        self.client = Elasticsearch(config.get("hosts"), **kwargs)
        template = str(config.get("index", "telemetry-{schema_name}-{date}"))
        self.pattern = _TEMPLATE_VARIABLE.sub("*", template).lower()
        self.name = f"elasticsearch:{self.pattern}"

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored document, with its index: pages of ``from``/``size`` up to the
        index's result window (10,000), a scroll beyond it."""
        from elasticsearch import helpers

        self.client.indices.refresh(index=self.pattern, ignore_unavailable=True)
        page, size = 0, 1000
        while True:
            found = self.client.search(index=self.pattern, ignore_unavailable=True,
                                       query={"match_all": {}}, from_=page * size,
                                       size=size, track_total_hits=True)["hits"]
            if found["total"]["value"] > 10_000:
                break  # too many for pages: scroll through all of them below
            for hit in found["hits"]:
                yield hit["_index"], hit["_source"]
            if len(found["hits"]) < size:
                return
            page += 1
        for hit in helpers.scan(self.client, index=self.pattern, ignore_unavailable=True,
                                query={"query": {"match_all": {}}}):
            yield hit["_index"], hit["_source"]

    def erase(self, match: Match) -> int:
        """Delete each matching document by its id (the sink's ``_id`` is the event id)."""
        from elasticsearch import helpers

        doomed = [(index, event) for index, event in self.scan() if match(event)]
        actions = [{"_op_type": "delete", "_index": index, "_id": event["__event_id__"]}
                   for index, event in doomed if "__event_id__" in event]
        if actions:
            helpers.bulk(self.client, actions, raise_on_error=False, refresh=True)
        return len(actions)


class KafkaEvents:
    """The Kafka sink's topics (its ``topic`` template, variables as wildcards).

    A topic cannot delete one message: ``erase`` removes nothing (``can_delete`` is
    False) and the events' sealed values are made unreadable by erasing the key."""

    kind = "kafka"
    can_delete = False

    def __init__(self, config: dict[str, Any], timeout: float = 10.0, idle: float = 3.0
                 ) -> None:
        self.config = {k: v for k, v in config.items() if "." in k}  # librdkafka settings
        template = str(config["topic"])
        self.regex = re.compile("^" + ".*".join(
            re.escape(part) for part in _TEMPLATE_VARIABLE.split(template)) + "$")
        self.name = f"kafka:{template}"
        self.timeout = timeout
        self.idle = idle

    def scan(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every message still in the topics, read from the first offset until none
        arrives for ``idle`` seconds (end offsets are not trusted: some brokers report
        them late)."""
        import time

        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer({**self.config, "group.id": "telemetry-subject",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            topics = consumer.list_topics(timeout=self.timeout).topics
            consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING)
                             for name in sorted(t for t in topics if self.regex.match(t))
                             for p in topics[name].partitions])
            last = time.monotonic()
            while time.monotonic() - last < self.idle:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                if message.error():
                    raise RuntimeError(f"kafka topic {message.topic()}: {message.error()}")
                last = time.monotonic()
                event = _parse(message.value() or b"")
                if event is not None:
                    yield f"{message.topic()}/{message.partition()}", event
        finally:
            consumer.close()

    def erase(self, match: Match) -> int:
        return 0


KINDS: dict[str, type] = {"file": FileEvents, "s3": S3Events,
                          "elasticsearch": ElasticsearchEvents, "kafka": KafkaEvents}


def stored_events(config: dict[str, Any]) -> Any:
    """The reader for one sink's configuration (ValueError for a type it cannot read)."""
    kind = config.get("type")
    if kind not in KINDS:
        raise ValueError(f"telemetry subject cannot read sinks of type {kind!r}; it reads "
                         f"{', '.join(sorted(KINDS))}")
    return KINDS[kind](config)
