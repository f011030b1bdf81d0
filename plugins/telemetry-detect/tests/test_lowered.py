"""The fast form of case-insensitive matching (a lowered column compared with contains,
starts_with, ends_with or =) matches exactly what pySigma's ILIKE form matches.

The reference is the same rules compiled without ``text_fields``: every string comparison
then stays ``ILIKE``/``lower() = lower()``, as the SQLite backend writes it. Both forms run
in the same engine over the same events, and must agree on every event and rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from conftest import KERNEL
from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry_detect._compile import compile_rules, load_all, shipped_pack
from telemetry_detect._engine import Matcher
from telemetry_detect._fields import FieldCatalogue

# Letters whose case mapping is not one ASCII letter to another: Kelvin sign, dotted I,
# sharp s, final sigma, ligature; the fast form must treat them as ILIKE does.
TRICKY = "K\u212ai\u0130\u0131s\u00df\u1e9e\u03a3\u03c3\u03c2\ufb03%_\\'*?\n "
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


def _catalogue() -> FieldCatalogue:
    from telemetry_core import EventLog

    return FieldCatalogue.from_eventlog(EventLog())


def _both(paths: list[Path], catalogue: FieldCatalogue) -> tuple[Matcher, Matcher]:
    # Fresh rules for each compilation: pySigma's pipeline changes the rules it converts.
    reference = compile_rules(load_all(paths)[0], catalogue.schemas)
    fast = compile_rules(load_all(paths)[0], catalogue.schemas, catalogue.text_fields())
    assert not any(rule.lowered for rule in reference)
    return Matcher(reference, catalogue), Matcher(fast, catalogue)


def _found(matcher: Matcher, events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((m.event_id, m.rule.id) for m in matcher.match_json(
        [orjson.dumps(e) for e in events]))


def _literals(paths: list[Path]) -> list[str]:
    """The text of every value the rules compare, wildcards dropped."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        for sub in getattr(item, "detection_items", ()) or ():
            walk(sub)
        for value in getattr(item, "value", ()) or ():
            parts = getattr(value, "s", None)
            if parts is not None:
                found.add("".join(p for p in parts if isinstance(p, str)))

    for _, rule in load_all(paths)[0]:
        for detection in rule.detection.detections.values():
            walk(detection)
    return sorted(found)


@pytest.fixture(scope="module")
def pack_pair() -> Iterator[tuple[Matcher, Matcher, list[str]]]:
    catalogue = _catalogue()
    reference, fast = _both([shipped_pack()], catalogue)
    yield reference, fast, _literals([shipped_pack()])
    reference.close()
    fast.close()


def test_the_pack_compiles_to_the_fast_form(pack_pair: Any) -> None:
    _, fast, _ = pack_pair
    assert all("ILIKE" not in rule.condition for rule in fast.rules)
    assert all("__schema__" in rule.lowered for rule in fast.rules)
    # Rules that are a regular expression at heart go ungated (evaluated on every row);
    # the pack's value lists are gated, so most events skip most rules.
    ungated = {rule.title for rule in fast.rules if rule.gate is None}
    assert {"Decoded payload executed", "Download piped into a shell"} <= ungated
    assert "Crypto-currency miner" not in ungated
    assert len(ungated) <= len(fast.rules) // 4


def _mangle(draw: Any, literal: str) -> str:
    # A rule's literal in another case, cut short, or with a letter changed: near misses.
    how = draw(st.sampled_from(["same", "upper", "swap", "cut", "change"]))
    if how == "upper":
        return literal.upper()
    if how == "swap":
        return literal.swapcase()
    if how == "cut":
        return literal[:draw(st.integers(0, len(literal)))]
    if how == "change" and literal:
        at = draw(st.integers(0, len(literal) - 1))
        return literal[:at] + draw(st.sampled_from(TRICKY)) + literal[at + 1:]
    return literal


@st.composite
def _code(draw: Any, literals: list[str]) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            pieces.append(_mangle(draw, draw(st.sampled_from(literals))))
        else:
            pieces.append(draw(st.one_of(TEXT, st.text(TRICKY, max_size=4))))
    return "".join(pieces)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_pack_matches_the_same_events_both_ways(pack_pair: Any, data: Any) -> None:
    reference, fast, literals = pack_pair
    schemas = [KERNEL] + [f"https://telemetry.jupyter.org/schemas/events/{name}" for name in
                          ("contents/opened", "contents/saved", "kernel/lifecycle")]
    events = []
    for i in range(8):
        text = data.draw(_code(literals))
        schema = data.draw(st.sampled_from(schemas))
        events.append({"__event_id__": f"e{i}", "__timestamp__": "t",
                       "__schema__": data.draw(st.sampled_from([schema, schema.upper()])),
                       "code": text, "path": text, "kind": _mangle(data.draw, "file"),
                       "action": _mangle(data.draw, "started")})
    assert _found(fast, events) == _found(reference, events)


def _sigma(text: str) -> str:
    """``text`` as a Sigma value matching it literally (its wildcards escaped)."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


@settings(max_examples=40, deadline=None)
@given(needle=st.one_of(TEXT, st.text(TRICKY, min_size=1, max_size=4)),
       around=st.lists(st.one_of(TEXT, st.text(TRICKY, max_size=3)), min_size=2, max_size=2),
       how=st.sampled_from(["same", "upper", "swap", "change"]), data=st.data())
def test_any_literal_and_modifier_match_the_same_both_ways(
        tmp_path_factory: Any, needle: str, around: list[str], how: str, data: Any) -> None:
    tmp = tmp_path_factory.mktemp("lowered")
    # One value, or a list of two (an OR group, written as one regular expression).
    other = data.draw(st.one_of(st.none(), st.text(TRICKY, min_size=1, max_size=3)))
    values: Any = _sigma(needle) if other is None else [_sigma(needle), _sigma(other)]
    for modifier in ("contains", "startswith", "endswith", "equals"):
        name = "code" if modifier == "equals" else f"code|{modifier}"
        rule = {"title": modifier, "detection": {"s": {name: values}, "condition": "s"},
                "logsource": {"product": "jupyter", "category": "code_execution"}}
        (tmp / f"{modifier}.yml").write_text(yaml.safe_dump(rule))
    catalogue = _catalogue()
    reference, fast = _both([tmp], catalogue)
    mangled = _mangle(data.draw, needle) if how == "change" else {
        "same": needle, "upper": needle.upper(), "swap": needle.swapcase()}[how]
    texts = [mangled, around[0] + mangled, mangled + around[1], around[0] + mangled + around[1]]
    events = [{"__event_id__": f"e{i}", "__timestamp__": "t", "__schema__": KERNEL, "code": text}
              for i, text in enumerate(texts)]
    try:
        assert _found(fast, events) == _found(reference, events)
    finally:
        reference.close()
        fast.close()


WORDS = ["nc", "exec", "socket", "Ab", "\u212a", "a'b", "%_"]
ITEMS = st.tuples(st.sampled_from(["code", "path"]),
                  st.sampled_from(["|contains", "|startswith", "|endswith", "", "|re",
                                   "|contains|cased", "|contains|all"]),
                  st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))


@st.composite
def _condition(draw: Any, names: list[str], depth: int = 0) -> str:
    if depth >= 2 or draw(st.booleans()):
        name = draw(st.sampled_from(names))
        return f"not {name}" if draw(st.integers(0, 4)) == 0 else name
    op = draw(st.sampled_from(["and", "or"]))
    left, right = draw(_condition(names, depth + 1)), draw(_condition(names, depth + 1))
    return f"({left} {op} {right})"


@settings(max_examples=40, deadline=None)
@given(items=st.lists(ITEMS, min_size=1, max_size=3), data=st.data())
def test_gates_skip_no_match_for_any_shape_of_rule(tmp_path_factory: Any, items: Any,
                                                   data: Any) -> None:
    # Random and/or/not over contains, startswith, equals, regular expressions and cased
    # items, over two fields: the gated rule matches what the ungated ILIKE rule matches.
    tmp = tmp_path_factory.mktemp("gates")
    detection: dict[str, Any] = {}
    for i, (name, modifier, values) in enumerate(items):
        values = [v.replace("\\", "\\\\").replace("*", "\\*") for v in values]
        detection[f"s{i}"] = {f"{name}{modifier}": values if len(values) > 1 else values[0]}
    detection["condition"] = data.draw(_condition(sorted(detection)))
    rule = {"title": "shape", "detection": detection,
            "logsource": {"product": "jupyter", "category": "file_save"}}
    (tmp / "r.yml").write_text(yaml.safe_dump(rule))
    reference, fast = _both([tmp / "r.yml"], _catalogue())
    saved = "https://telemetry.jupyter.org/schemas/events/contents/saved"
    events = []
    for i in range(6):
        code = "".join(data.draw(st.lists(st.sampled_from(WORDS + ["x", "AB", " "]),
                                          max_size=4)))
        events.append({"__event_id__": f"e{i}", "__timestamp__": "t", "__schema__": saved,
                       "path": data.draw(st.sampled_from(["", code, code.upper()])),
                       "code": code})
    try:
        assert _found(fast, events) == _found(reference, events)
    finally:
        reference.close()
        fast.close()


def test_long_value_lists_are_split_over_several_expressions(tmp_path: Path) -> None:
    # More values than one regular expression holds (MAX_ALTERNATIVES): the list and the
    # gate are split, and still match exactly what ILIKE matches.
    from telemetry_detect._gate import MAX_ALTERNATIVES

    count = 2 * MAX_ALTERNATIVES + 200
    values = [f"tool-{i:04d} --run" for i in range(count)]
    rule = {"title": "long list", "logsource": {"product": "jupyter", "category": "code_execution"},
            "detection": {"s": {"code|contains": values}, "condition": "s"}}
    (tmp_path / "r.yml").write_text(yaml.safe_dump(rule))
    reference, fast = _both([tmp_path / "r.yml"], _catalogue())
    try:
        assert fast.rules[0].condition.count("regexp_matches") == 3
        codes = [f"!TOOL-{count - 1:04d} --RUN", "tool-0000 --run", f"tool-{count:04d} --run",
                 "tool-0500 -run"]
        events = [{"__event_id__": f"e{i}", "__timestamp__": "t", "__schema__": KERNEL,
                   "code": code} for i, code in enumerate(codes)]
        assert [e for e, _ in _found(fast, events)] == ["e0", "e1"]
        assert _found(fast, events) == _found(reference, events)
    finally:
        reference.close()
        fast.close()
