"""The transparency notice says what is collected and what happens to personal data."""

from __future__ import annotations

import json

import pytest
from conftest import SCHEMA_ID

from telemetry_core import EventLog
from telemetry_core._notice import render_notice


@pytest.fixture
def hashed_log(schema) -> EventLog:
    schema["title"] = "Test <event> & co"
    log = EventLog(allowed_schemas={SCHEMA_ID: {"allowed_categories": ["geo"],
                                                "consent": "required"},
                                    "https://example.org/not-registered": {}},
                   redaction="hash", redaction_secret="k", register_builtin_schemas=False)
    log.register_schema(schema)
    other = dict(schema, **{"$id": "https://example.org/known-not-recorded"})
    log.register_schema(other)
    return log


def test_text_notice_lists_each_property_and_its_fate(hashed_log):
    text = render_notice(hashed_log, "text")
    assert f"Test <event> & co  ({SCHEMA_ID}, version 1)" in text
    # Personal data is labelled so, with its categories; "unrestricted" never sits beside
    # it, and a property with categories (no pii mark) is personal data too.
    assert "* user [personal data: user-identifiable-information]: HASHED" in text
    assert "* location [personal data: geo]: KEPT" in text
    assert "* details.email [personal data: user-identifiable-information]: HASHED" in text
    assert "* name - Name [not personal data]: KEPT" in text and "What happened." in text
    assert "unrestricted" not in text
    assert "Allowed but no schema registered (nothing recorded):\n" \
        "  - https://example.org/not-registered" in text
    assert "Known but not recorded:\n  - https://example.org/known-not-recorded" in text


def test_json_notice_matches_what_is_recorded(hashed_log):
    data = json.loads(render_notice(hashed_log, "json"))
    (schema,) = data["schemas"]
    fates = {p["path"]: p["decision"] for p in schema["properties"]}
    recorded = hashed_log.record_event(SCHEMA_ID, 1, {
        "name": "n", "user": "ada", "location": "x", "details": {"email": "e"}})
    for path in ("user", "location", "details.email"):
        value = recorded
        for part in path.split("."):
            value = value[part]
        assert (value == {"user": "ada", "location": "x", "details.email": "e"}[path]) == \
            (fates[path] == "kept")
    assert data["redaction"] == "hash"


def test_html_notice_escapes_schema_text(hashed_log):
    html = render_notice(hashed_log, "html")
    assert "<h2>Test &lt;event&gt; &amp; co</h2>" in html
    assert "<strong>hashed</strong>" in html


def test_markdown_notice_has_a_table_per_schema(hashed_log):
    md = render_notice(hashed_log, "markdown")
    assert "## Test <event> & co" in md
    assert "| `details.email` |" in md and "**hashed** |" in md


def test_unknown_format_is_a_clear_error(hashed_log):
    with pytest.raises(ValueError, match="choose one of text, markdown, html, json"):
        render_notice(hashed_log, "pdf")


def test_text_notice_wraps_with_indented_continuations_and_lists_sets_one_per_line():
    kernel = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
    log = EventLog(allowed_schemas=[kernel],
                   deployment={"controller": "The Research Computing Office " * 4})
    text = render_notice(log, "text")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 88 + 10  # only unbreakable words overflow
    # Every line of a property's block stays indented: nothing restarts at column 0.
    start = next(i for i, line in enumerate(lines) if line.startswith("  * "))
    block = lines[start:lines.index("", start)]
    assert all(line.startswith("  ") for line in block)
    who = next(i for i, line in enumerate(lines) if line.startswith("Who collects:"))
    assert lines[who + 1].startswith("    ")  # the long fact continues indented
    # The 21 other shipped schemas: one per line, not one line of URLs.
    tail = lines[lines.index("Known but not recorded:") + 1:]
    assert len([line for line in tail if line.startswith("  - https://")]) >= 20
