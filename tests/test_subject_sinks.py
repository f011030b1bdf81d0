"""A person's rights (issue #28) across every sink type against real servers: files, S3
(moto), Elasticsearch (the test server) and Kafka (the embedded broker). Needs the three
sink plugins installed: the `subject` nox session runs it.

Three users' events go to all four sinks; `telemetry subject` must find, export and erase
user B everywhere. Kafka cannot delete a message: there B's personal values are sealed, and
erasing B's key leaves nothing of B that the remaining keys can open.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("telemetry_sink_s3")
pytest.importorskip("telemetry_sink_kafka")
pytest.importorskip("telemetry_sink_elasticsearch")

from telemetry_core import EventLog  # noqa: E402
from telemetry_core.subject import (  # noqa: E402
    SHREDDED,
    KeyStore,
    new_master_key,
    open_event,
    subject_key,
)
from telemetry_core.testing.servers import (  # noqa: E402
    elasticsearch_server,
    kafka_server,
    s3_server,
)

CODE = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"
USERS = ("ada", "bob", "cyd")
SECRET = "subject-secret-for-sink-tests"
PER_USER = 3


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    with s3_server() as s3, kafka_server() as kafka, elasticsearch_server() as es:
        import boto3

        client = boto3.client("s3", endpoint_url=s3.endpoint_url,
                              aws_access_key_id=s3.access_key,
                              aws_secret_access_key=s3.secret_key, region_name=s3.region)
        client.create_bucket(Bucket="rights")
        yield {"s3": s3, "s3_client": client, "kafka": kafka, "es": es}


@pytest.fixture(scope="module")
def deployment(servers: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("rights")
    s3 = servers["s3"]
    sinks = [
        {"type": "file", "name": "files", "path": f"{tmp}/events/"},
        {"type": "s3", "name": "objects", "bucket": "rights", "prefix": "telemetry",
         "endpoint_url": s3.endpoint_url, "region": s3.region,
         "access_key_id": s3.access_key, "secret_access_key": s3.secret_key},
        {"type": "elasticsearch", "name": "search", "hosts": servers["es"].url,
         "index": "rights-{schema_name}-{date}"},
        {"type": "kafka", "name": "stream",
         "bootstrap.servers": servers["kafka"].bootstrap_servers,
         "topic": "rights-{schema_name}", "create_topics": True},
    ]
    config = tmp / "telemetry_config.py"
    policy = {"allowed_categories": ["user-identifiable-information"], "encrypt": True,
              "consent": "required"}
    config.write_text(f"""
c.EventLog.allowed_schemas = {{{CODE!r}: {policy!r}, {OPENED!r}: {policy!r}}}
c.EventLog.sinks = {sinks!r}
c.EventLog.subject_secret = {SECRET!r}
c.EventLog.subject_key_store = "sqlite:///{tmp}/keys.sqlite3"
c.EventLog.consent_store = "sqlite:///{tmp}/consent.sqlite3"
""")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state"),
           "TELEMETRY_SUBJECT_MASTER_KEY": new_master_key()}
    old = dict(os.environ)
    os.environ.update(env)
    try:
        with EventLog.from_config_file(config) as eventlog:
            for i in range(PER_USER):
                for user in USERS:
                    eventlog.record_event(CODE, 1, {
                        "kernel_id": f"k-{USERS.index(user)}", "kernel_name": "python3",
                        "status": "ok",
                        "code": f"print('code-of-{user}-{i}')", "user": user}, user=user)
                    eventlog.record_event(OPENED, 1, {
                        "kind": "file", "path": f"/home/{user}/notes-{i}.csv",
                        "user": user}, user=user)
        yield {"config": config, "env": env, "tmp": tmp, **servers}
    finally:
        os.environ.clear()
        os.environ.update(old)


def telemetry(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "telemetry_core._cli", *args],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def raw_storage(d: dict[str, Any]) -> dict[str, list[bytes]]:
    """Every stored event's bytes, per sink, read with each server's own client."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from elasticsearch import Elasticsearch

    files = []
    for path in sorted((d["tmp"] / "events").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            files += (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).splitlines()
    objects = []
    client = d["s3_client"]
    for item in client.list_objects_v2(Bucket="rights").get("Contents", []):
        data = client.get_object(Bucket="rights", Key=item["Key"])["Body"].read()
        objects += (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).splitlines()
    es = Elasticsearch(d["es"].url)
    es.indices.refresh(index="rights-*")
    hits = es.search(index="rights-*", size=1000, query={"match_all": {}})["hits"]["hits"]
    documents = [json.dumps(h["_source"]).encode() for h in hits]
    consumer = Consumer({"bootstrap.servers": d["kafka"].bootstrap_servers,
                         "group.id": "raw-check", "enable.auto.commit": False})
    messages = []
    try:  # from offset 0 until quiet: this broker's end offsets are not to be trusted
        topics = consumer.list_topics(timeout=10).topics
        consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING)
                         for name in topics if name.startswith("rights-")
                         for p in topics[name].partitions])
        quiet = time.monotonic()
        while time.monotonic() - quiet < 4:
            message = consumer.poll(0.2)
            if message is not None:
                assert not message.error(), message.error()
                messages.append(message.value())
                quiet = time.monotonic()
    finally:
        consumer.close()
    return {"files": files, "objects": objects, "search": documents, "stream": messages}


def opened_with_remaining_keys(line: bytes, keys: KeyStore) -> dict[str, Any]:
    event = json.loads(line)
    opener = keys.opener(event["__subject__"])
    return open_event(event, opener.open if opener else (lambda _v: SHREDDED))


def test_find_export_erase_in_every_sink(deployment: dict[str, Any]) -> None:
    d = deployment
    config, env = str(d["config"]), d["env"]
    found = json.loads(telemetry("subject", "find", "--user", "bob", "--config", config,
                                 "--json", env=env))
    per_sink = {s["sink"].split(":")[0]: s["events"] for s in found["sinks"]}
    # Independently: the raw storage, opened with the keys, counted per sink.
    keys = KeyStore(f"sqlite:///{d['tmp']}/keys.sqlite3")
    raw = raw_storage(d)
    independent = {
        name: sum(1 for line in lines
                  if opened_with_remaining_keys(line, keys).get("user") == "bob")
        for name, lines in raw.items()}
    assert independent == dict.fromkeys(raw, 2 * PER_USER)
    assert sorted(per_sink.values()) == [2 * PER_USER] * 4, per_sink

    archive = d["tmp"] / "bob.zip"
    telemetry("subject", "export", "--user", "bob", "--config", config, "-o", str(archive),
              env=env)
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        exported = [json.loads(line) for name in manifest["files"]
                    for line in zf.read(name).splitlines()]
    assert len(exported) == 4 * 2 * PER_USER  # each event once per sink
    assert {e["event"]["user"] for e in exported} == {"bob"}
    assert {e["sink"].split(":")[0] for e in exported} == {"file", "s3", "elasticsearch",
                                                          "kafka"}

    out = json.loads(telemetry(
        "subject", "erase", "--user", "bob", "--config", config, "--execute", "--json",
        *(arg for name in ("files", "objects", "search", "stream") for arg in ("--sink", name)),
        env=env))
    removed = {s["sink"].split(":")[0]: s["erased"] for s in out["sinks"]}
    assert removed == {"file": 2 * PER_USER, "s3": 2 * PER_USER,
                       "elasticsearch": 2 * PER_USER, "kafka": 0}
    after = raw_storage(d)
    for name in ("files", "objects", "search"):
        assert not [line for line in after[name] if b"bob" in line], name
        assert len(after[name]) == len(raw[name]) - 2 * PER_USER
    # Kafka keeps the messages; none of bob's values opens with the keys that remain.
    assert len(after["stream"]) == len(raw["stream"])
    opened = [opened_with_remaining_keys(line, keys) for line in after["stream"]]
    assert not [e for e in opened if "bob" in json.dumps(e)]
    assert sum(1 for e in opened if e.get("user") == SHREDDED) == 2 * PER_USER
    for user in ("ada", "cyd"):  # untouched, and still readable
        assert sum(1 for e in opened if e.get("user") == user) == 2 * PER_USER
    bob = subject_key("bob", SECRET.encode())
    assert keys.opener(bob) is None
