"""The names every sink derives from a schema id: one rule, so templates agree."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from telemetry_core.sinks import (
    FileSink,
    NameTemplate,
    SinkHandler,
    schema_name,
    schema_path,
    utc_hour,
)
from telemetry_core.testing import NAMING_TEMPLATE, naming_cases


@pytest.mark.parametrize("schema_id, name", [
    ("https://events.jupyter.org/jupyter_server/kernel_actions/v1", "kernel_actions"),
    ("https://events.example.org/lab/command/v1.2", "command"),
    ("https://events.example.org/lab/command", "command"),
    ("url.to.event.schema", "url.to.event.schema"),
    ("urn:jupyter:event#opened", "opened"),
    ("https://host.example/", "host.example"),
    ("v1", "v1"),  # a version alone is still a name
    ("", ""),
])
def test_schema_name_is_the_last_segment_that_is_not_a_version(schema_id: str, name: str) -> None:
    assert schema_name(schema_id) == name


def test_schema_path_drops_scheme_and_host_only() -> None:
    assert schema_path("https://host.example/a/b/v1") == "a/b/v1"
    assert schema_path("url.to.event.schema") == "url.to.event.schema"


@pytest.mark.parametrize("timestamp, hour", [
    ("2026-01-01T23:30:00-05:00", "2026-01-02T04"),
    ("2026-01-02T04:30:00Z", "2026-01-02T04"),
    ("2026-01-02 04:30:00+00:00", "2026-01-02T04"),
    ("2026-01-02T04:30:00", "2026-01-02T04"),  # no offset: UTC
    ("2026-01-02T10:15:00.123456+09:00", "2026-01-02T01"),
])
def test_utc_hour_converts_every_offset(timestamp: str, hour: str) -> None:
    assert utc_hour(timestamp) == hour


def test_the_template_engine_names_by_utc_hour_and_caches_per_utc_hour() -> None:
    template = NameTemplate(NAMING_TEMPLATE, where="test")
    for _ in range(2):  # the second round comes from the cache
        for event, name in naming_cases():
            assert template.render(event) == name


def test_the_file_sink_names_files_as_every_sink_does(tmp_path: Path) -> None:
    # The same table drives the Kafka, S3 and Elasticsearch plugins' naming tests.
    handler = SinkHandler(FileSink, path=str(tmp_path) + "/",
                          template=NAMING_TEMPLATE + ".jsonl", spool=False)
    handler.start()
    cases = naming_cases()
    for event, _ in cases:
        handler.submit(event)
    handler.close()
    for event, name in cases:
        lines = (tmp_path / f"{name}.jsonl").read_bytes().splitlines()
        assert event.event_id in [orjson.loads(line)["__event_id__"] for line in lines]
