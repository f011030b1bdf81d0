"""Index names: the template's placeholders, and the rule that makes every name legal."""

from __future__ import annotations

import pytest
from es_helpers import SCHEMA_A, SCHEMA_B, make_event
from telemetry_sink_elasticsearch import IndexNamer, index_template_body

from telemetry_core.sinks import SinkConfigError


def test_placeholders_render_from_the_event() -> None:
    namer = IndexNamer("telemetry-{schema_path}-v{version}-{date}")
    event = make_event(SCHEMA_A, "3", timestamp="2025-01-31T23:59:59.999999Z")
    assert namer(event) == "telemetry-lab-command-v1-v3-2025.01.31"
    # The same rule as every other sink: the last segment that is not a version.
    assert IndexNamer("telemetry-{schema_name}")(event) == "telemetry-command"
    assert IndexNamer("t-{month}")(event) == "t-2025.01"
    assert IndexNamer("t-{year}")(event) == "t-2025"
    assert IndexNamer("t-{schema}")(event) == "t-https-events.example.org-lab-command-v1"


def test_names_are_lowercased_and_illegal_characters_replaced() -> None:
    # SCHEMA_B has capitals and a space; '/' is illegal in index names.
    event = make_event(SCHEMA_B, "2")
    assert IndexNamer("Telemetry-{schema_path}")(event) == "telemetry-kernel-actions-v2"
    assert IndexNamer("Telemetry-{schema_name}")(event) == "telemetry-kernel-actions"


def test_leading_characters_elasticsearch_forbids_are_removed_and_length_is_bounded() -> None:
    event = make_event("_private." + "x" * 400, "1")
    name = IndexNamer("{schema}")(event)
    assert name.startswith("private.x")
    assert len(name.encode()) == 255


def test_constant_template_needs_no_event_fields() -> None:
    namer = IndexNamer("events")
    assert namer.constant == "events"
    assert namer.pattern() == "events"


def test_pattern_matches_every_rendered_name() -> None:
    assert IndexNamer("telemetry-{schema_name}-{date}").pattern() == "telemetry-*-*"


@pytest.mark.parametrize("template, words", [
    ("telemetry-{schema_nme}", "unknown placeholder {schema_nme}"),
    ("telemetry-{date:%Y}", "takes no format"),
    ("telemetry*-{date}", "cannot have: '*'"),
    ("tele metry", "cannot have: ' '"),
    ("", "non-empty string"),
])
def test_bad_templates_are_configuration_errors(template: str, words: str) -> None:
    with pytest.raises(SinkConfigError, match="'index'") as info:
        IndexNamer(template)
    assert words in str(info.value)


def test_index_template_maps_the_envelope_and_user_fields() -> None:
    body = index_template_body("t-*", 200, {"number_of_shards": 1},
                               {"duration": {"type": "float"}})
    props = body["template"]["mappings"]["properties"]
    assert props["__timestamp__"] == {"type": "date_nanos"}
    assert props["__schema__"] == {"type": "keyword"}
    assert props["duration"] == {"type": "float"}
    assert body["index_patterns"] == ["t-*"]
    assert body["template"]["settings"] == {"number_of_shards": 1}
