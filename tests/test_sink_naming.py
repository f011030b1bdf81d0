"""The names every sink derives from a schema id: one rule, so templates agree."""

from __future__ import annotations

import pytest

from telemetry_core.sinks import schema_name, schema_path


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
