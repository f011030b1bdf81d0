"""Index names: the template's placeholders, and the rule that makes every name legal."""

from __future__ import annotations

import pytest
from es_helpers import SCHEMA_A, SCHEMA_B, make_event
from telemetry_sink_elasticsearch import IndexNamer, index_template_body

from telemetry_core.sinks import SinkConfigError
from telemetry_core.testing import NAMING_TEMPLATE, naming_cases


def test_placeholders_render_from_the_event() -> None:
    namer = IndexNamer("telemetry-{schema_path}-v{version}-{date}")
    event = make_event(SCHEMA_A, "3", timestamp="2025-01-31T23:59:59.999999Z")
    assert namer(event) == "telemetry-lab_command_v1-v3-2025-01-31"
    # The same rule as every other sink: the last segment that is not a version.
    assert IndexNamer("telemetry-{schema_name}")(event) == "telemetry-command"
    # One meaning per variable, as in every sink: {month} is MM, {date} YYYY-MM-DD.
    assert IndexNamer("t-{year}.{month}")(event) == "t-2025.01"
    assert IndexNamer("t-{month}")(event) == "t-01"
    assert IndexNamer("t-{year}")(event) == "t-2025"
    # {schema}: the id without its scheme, each run of forbidden characters one "_".
    assert IndexNamer("t-{schema}")(event) == "t-events.example.org_lab_command_v1"


def test_names_are_lowercased_and_illegal_characters_replaced() -> None:
    # SCHEMA_B has capitals and a space; '/' is illegal in index names.
    event = make_event(SCHEMA_B, "2")
    assert IndexNamer("Telemetry-{schema_path}")(event) == "telemetry-kernel_actions_v2"
    assert IndexNamer("Telemetry-{schema_name}")(event) == "telemetry-kernel_actions"


def test_leading_characters_elasticsearch_forbids_are_removed_and_length_is_bounded() -> None:
    event = make_event("_private." + "x" * 400, "1")
    name = IndexNamer("{schema}")(event)
    assert name.startswith("private.x")
    # A value is cut to 120 characters with a hash of the whole, so long ids stay apart.
    assert len(name) == 120 and name != IndexNamer("{schema}")(
        make_event("_private." + "x" * 399 + "y", "1"))
    # The whole name stays within Elasticsearch's 255 bytes, however the template grows.
    long_name = IndexNamer("{schema}-{schema}-{schema}")(event)
    assert long_name.startswith("private.x") and len(long_name.encode()) == 255


def test_constant_template_needs_no_event_fields() -> None:
    namer = IndexNamer("events")
    assert namer.constant == "events"
    assert namer.pattern() == "events"


def test_pattern_matches_every_rendered_name() -> None:
    assert IndexNamer("telemetry-{schema_name}-{date}").pattern() == "telemetry-*-*"


@pytest.mark.parametrize("template, words", [
    ("telemetry-{schema_nme}", "uses {schema_nme}; did you mean {schema_name}?"),
    ("telemetry-{date:%Y}", "uses {date:%Y}"),
    ("telemetry*-{date}", "contains '*', which this destination does not allow"),
    ("tele metry", "contains ' ', which this destination does not allow"),
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


def test_indices_name_events_as_every_sink_does() -> None:
    # The table every sink's naming test uses: UTC {date}/{hour} whatever the offset
    # (...T23:30:00-05:00 is 2026-01-02, hour 04), one {schema} per schema id.
    namer = IndexNamer(NAMING_TEMPLATE)
    for event, name in naming_cases():
        assert namer(event) == name
