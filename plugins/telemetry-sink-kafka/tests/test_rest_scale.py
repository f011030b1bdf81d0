"""Two ``telemetry serve`` collectors, one PostgreSQL consent store, one Kafka topic.

A client spreads events (with ids) over both collectors and re-sends each batch to the
other one; a consent decision made through one collector must take effect on the other
within ``consent_cache_ttl``; reading the topic from offset 0 finds every recorded event
exactly once (by its key, the event id) and nothing that was not recorded.
"""

from __future__ import annotations

import collections
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from kafka_test_helpers import consume

from telemetry_core.server import derive_event_id
from telemetry_core.testing.servers import postgresql_server, rest_server

CLIENT = "test-client"
USER = "ada"
CACHE_TTL = 1.0  # consent_cache_ttl: the documented bound for a decision made elsewhere
PAGE = "https://example.org/schemas/page"  # required: always recorded
SEARCH = "https://example.org/schemas/search"  # opt-in: only after the user's yes
SCHEMAS = [
    {"$id": PAGE, "version": 1, "title": "Page", "description": "A page was shown.",
     "type": "object", "required": ["n"],
     "properties": {"n": {"type": "integer", "description": "A sequence number."}}},
    {"$id": SEARCH, "version": 1, "title": "Search", "description": "A search was made.",
     "type": "object", "required": ["n"],
     "properties": {"n": {"type": "integer", "description": "A sequence number."}}},
]


@pytest.fixture(scope="module")
def postgres() -> Any:
    try:
        with postgresql_server() as server:
            yield server
    except RuntimeError as exc:  # no binaries and no TELEMETRY_TEST_POSTGRESQL_URL
        pytest.skip(str(exc))


def collector_config(tmp_path: Path, bootstrap: str, topic: str,
                     consent_store: str) -> dict[str, Any]:
    schema_files = []
    for i, schema in enumerate(SCHEMAS):
        path = tmp_path / f"schema-{i}.json"
        path.write_text(json.dumps(schema))
        schema_files.append(str(path))
    return {
        "EventLog": {
            "allowed_schemas": {PAGE: {"consent": "required"}, SEARCH: {"consent": "opt-in"}},
            "schema_files": schema_files, "consent_store": consent_store,
            "consent_cache_ttl": CACHE_TTL,
            "sinks": [{"type": "kafka", "bootstrap.servers": bootstrap, "topic": topic,
                       "batch_age": 0.05}]},
        # Two collectors on one machine name the same recent-id file: a re-send to the
        # other one is a duplicate there too.
        "TelemetryServer": {"dedup_store": str(tmp_path / "recent-ids.sqlite3")},
    }


class Client:
    """The REST client: events about USER, with ids."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {server.token}",
                        "Content-Type": "application/json", "X-Telemetry-User": USER}

    def send(self, schema_id: str, ids: list[str]) -> dict[str, Any]:
        body = [{"schema_id": schema_id, "version": 1, "data": {"n": i}, "id": event_id,
                 "user": USER} for i, event_id in enumerate(ids)]
        answer = requests.post(self.server.api + "events", json=body, headers=self.headers,
                               timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def decide(self, granted: bool) -> None:
        notice = requests.get(self.server.api + "notice", headers=self.headers, timeout=30)
        version = notice.headers["X-Telemetry-Notice-Version"]
        answer = requests.put(self.server.api + "consent", headers=self.headers, timeout=30,
                              json={"notice_version": version,
                                    "decisions": [{"scope": SEARCH, "granted": granted}]})
        assert answer.status_code == 200, answer.text


def wait_for_status(client: Client, status: str, recorded: list[str],
                    not_recorded: list[str], prefix: str) -> float:
    """Send one SEARCH event at a time until one answers ``status``; the seconds it took.
    Every id is filed under what its answer said."""
    started = time.monotonic()
    for attempt in range(10_000):
        event_id = f"{prefix}-{attempt}"
        result = client.send(SEARCH, [event_id])["results"][0]["status"]
        (recorded if result == "recorded" else not_recorded).append(event_id)
        if result == status:
            return time.monotonic() - started
        assert time.monotonic() - started < CACHE_TTL + 10, f"{status} never came"
        time.sleep(0.05)
    raise AssertionError("unreachable")


def test_two_collectors_one_consent_store_one_topic_every_event_once(
        kafka: Any, topic: str, postgres: Any, tmp_path: Path) -> None:
    config = collector_config(tmp_path, kafka.bootstrap_servers, topic, postgres.url)
    recorded: list[str] = []
    not_recorded: list[str] = []
    # A trusted server-side client: it names the user its events and decisions are about.
    trusted = ("name-users", "consent-admin")
    with rest_server(config, roles=trusted) as first, rest_server(config, roles=trusted) as second:
        one, other = Client(first), Client(second)

        # No decision yet: the opt-in schema is not recorded on either collector.
        for client, name in ((one, "before-1"), (other, "before-2")):
            assert client.send(SEARCH, [name])["not_recorded"] == 1
            not_recorded.append(name)

        # Yes through the first: the second records within the cache bound.
        one.decide(True)
        took = wait_for_status(other, "recorded", recorded, not_recorded, "after-yes")
        assert took <= CACHE_TTL + 5

        # Required events spread over both, each batch re-sent to the other collector.
        for batch in range(20):
            ids = [f"page-{batch}-{i}" for i in range(25)]
            to, then = (one, other) if batch % 2 else (other, one)
            assert to.send(PAGE, ids)["recorded"] == 25
            again = then.send(PAGE, ids)
            assert again["duplicate"] == 25, again
            recorded.extend(ids)

        # No through the second: the first stops recording within the cache bound.
        other.decide(False)
        took = wait_for_status(one, "not_recorded", recorded, not_recorded, "after-no")
        assert took <= CACHE_TTL + 5
        assert second.stop(signal.SIGTERM) == 0  # drains its sink into the topic
        assert first.stop(signal.SIGTERM) == 0

    messages = consume(kafka.bootstrap_servers, [topic], expected=len(recorded))
    keys = collections.Counter(m.key().decode() for m in messages)
    expected = {derive_event_id(CLIENT, event_id) for event_id in recorded}
    assert {k: n for k, n in keys.items() if n > 1} == {}  # nothing twice
    assert set(keys) == expected  # everything recorded, nothing that was not
    assert not expected & {derive_event_id(CLIENT, e) for e in not_recorded}
    assert len(recorded) >= 501
