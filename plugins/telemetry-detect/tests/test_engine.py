"""Rules compiled by pySigma and evaluated by DuckDB: Sigma's matching semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import KERNEL, as_json
from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry_detect import Detector, RuleError

RULE = """
title: {title}
id: 0b8d1c44-5b9e-4d6a-9a55-0d3f6a1c0001
level: high
tags: [attack.execution]
logsource: {{product: jupyter, {logsource}}}
detection:
{detection}
"""


def detector(tmp_path: Path, detection: str, logsource: str = "category: code_execution",
             title: str = "test rule") -> Detector:
    (tmp_path / "rule.yml").write_text(RULE.format(title=title, logsource=logsource,
                                                   detection=detection))
    return Detector([tmp_path / "rule.yml"])


def ids(found: list[Any]) -> list[str]:
    return [m.event_id for m in found]


def test_contains_is_case_insensitive_and_cased_is_not(tmp_path: Path, event: Any) -> None:
    plain = detector(tmp_path, "  s:\n    code|contains: XMRIG\n  condition: s")
    cased = detector(tmp_path / ".." / tmp_path.name, "  s:\n    code|contains|cased: XMRIG\n"
                     "  condition: s")
    events = [event(code="./xmrig -o x"), event(code="./XMRIG -o x")]
    assert ids(plain.match_json(as_json(events))) == [events[0]["__event_id__"],
                                                     events[1]["__event_id__"]]
    assert ids(cased.match_json(as_json(events))) == [events[1]["__event_id__"]]


def test_equals_wildcards_numbers_and_not(tmp_path: Path, event: Any) -> None:
    found = detector(tmp_path, "  s:\n    kernel_name: Python3\n    duration_ms|gte: 100\n"
                     "  f:\n    user: 'ana*'\n  condition: s and not f")
    events = [event(kernel_name="python3", duration_ms=150, user="bob"),
              event(kernel_name="python3", duration_ms=150, user="anabel"),
              event(kernel_name="python3", duration_ms=99, user="bob"),
              event(kernel_name="python3", duration_ms=150)]  # no user: the filter is false
    assert ids(found.match_json(as_json(events))) == [events[0]["__event_id__"],
                                                     events[3]["__event_id__"]]


def test_nested_fields_by_dotted_path(tmp_path: Path, event: Any) -> None:
    opened = "https://telemetry.jupyter.org/schemas/events/contents/opened"
    found = detector(tmp_path, "  s:\n    dataset.source: catalogue-x\n  condition: s",
                     logsource="category: file_open")
    events = [event(opened, kind="dataset", dataset={"source": "catalogue-x"}),
              event(opened, kind="dataset", dataset={"source": "other"})]
    assert ids(found.match_json(as_json(events))) == [events[0]["__event_id__"]]


def test_logsource_by_service_path(tmp_path: Path, event: Any) -> None:
    found = detector(tmp_path, "  s:\n    action: started\n  condition: s",
                     logsource="service: kernel/lifecycle")
    life = "https://telemetry.jupyter.org/schemas/events/kernel/lifecycle"
    events = [event(life, action="started", kernel_id="k"), event(code="started")]
    assert ids(found.match_json(as_json(events))) == [events[0]["__event_id__"]]


def test_terminal_category_covers_terminal_events_only(tmp_path: Path, event: Any) -> None:
    found = detector(tmp_path, "  s:\n    action: started\n  condition: s",
                     logsource="category: terminal")
    terminal = "https://telemetry.jupyter.org/schemas/events/server/terminal"
    life = "https://telemetry.jupyter.org/schemas/events/kernel/lifecycle"
    events = [event(terminal, action="started", terminal="1", user="ana"),
              event(terminal, action="stopped", terminal="1", user="ana"),
              event(life, action="started", kernel_id="k")]
    assert ids(found.match_json(as_json(events))) == [events[0]["__event_id__"]]


@settings(max_examples=40, deadline=None)
@given(needle=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                      min_size=1, max_size=12))
def test_any_literal_matches_itself_and_only_as_text(tmp_path_factory: Any, needle: str) -> None:
    # Quotes, backslashes, % and _ in a rule's value are literal text, never SQL or LIKE
    # (Sigma's own wildcards, * and ?, and its escape character are escaped in the rule).
    import orjson
    import yaml

    tmp = tmp_path_factory.mktemp("lit")
    sigma_escaped = needle.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    rule = {"title": "literal", "logsource": {"product": "jupyter", "category": "code_execution"},
            "detection": {"s": {"code|contains": sigma_escaped}, "condition": "s"}}
    (tmp / "r.yml").write_text(yaml.safe_dump(rule))
    found = Detector([tmp / "r.yml"])
    base = {"__schema__": KERNEL, "__timestamp__": "t", "kernel_id": "k", "status": "ok"}
    hit = {**base, "__event_id__": "hit", "code": f"x{needle}y"}
    miss = {**base, "__event_id__": "miss", "code": "x" + "\u2603" * len(needle) + "y"}
    assert [m.event_id for m in found.match_json([orjson.dumps(hit), orjson.dumps(miss)])
            ] == (["hit"] if needle.lower() not in miss["code"].lower() else ["hit", "miss"])
    found.close()


def test_bad_rules_name_the_file_and_rule(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("title: x\nlogsource: {product: jupyter}\n")
    with pytest.raises(RuleError, match="broken.yml"):
        Detector([tmp_path / "broken.yml"])
    with pytest.raises(RuleError, match=r"rule 'other product'.*logsource names no"):
        detector(tmp_path, "  s:\n    code: x\n  condition: s", logsource="category: x",
                 title="other product")
    with pytest.raises(RuleError, match="no such rule file"):
        Detector([tmp_path / "missing"])
