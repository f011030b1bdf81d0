"""Fixtures: a real Elasticsearch API server, a client for it, and events to record.

The server is ``telemetry_core.testing.servers.elasticsearch_server()``: a cluster named by
``TELEMETRY_TEST_ELASTICSEARCH_URL``, a testcontainers Elasticsearch with
``TELEMETRY_TEST_CONTAINERS=1``, else the noida-db emulator. Tests marked
``needs_real_elasticsearch`` need what the emulator lacks (security, strict validation of
index templates) and are skipped on it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from telemetry_core.testing.servers import elasticsearch_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_real_elasticsearch: needs what the noida-db emulator lacks (security, strict "
        "validation); skipped on the emulator")


@pytest.fixture(scope="session")
def es_server() -> Iterator[Any]:
    """One server for the session (fault tests start their own, so they may stop it)."""
    with elasticsearch_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _skip_on_emulator(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("needs_real_elasticsearch"):
        server = request.getfixturevalue("es_server")
        if server.emulator:
            pytest.skip("the noida-db emulator lacks this (no security, lenient validation); "
                        "set TELEMETRY_TEST_ELASTICSEARCH_URL to run it against a cluster")


@pytest.fixture(autouse=True)
def _own_spool_root(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sinks spool under $XDG_STATE_HOME by default: keep each test's spool its own.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def es(es_server: Any) -> Iterator[Elasticsearch]:
    """A plain client for checking what the sink indexed."""
    client = Elasticsearch(es_server.url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    """An index prefix of this test's own; its indices are deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    yield name
    try:  # by name: clusters refuse wildcard deletes (action.destructive_requires_name)
        names = list(es.indices.get(index=f"{name}*", allow_no_indices=True))
        if names:
            es.indices.delete(index=",".join(names))
        templates = es.indices.get_index_template()["index_templates"]
        for template in templates:
            if template["name"].startswith(name):
                es.indices.delete_index_template(name=template["name"])
    except Exception as exc:  # cleanup must not hide the test's own result
        logging.getLogger(__name__).warning("could not delete %s*: %s", name, exc)
