"""The shipped rule pack: every rule fires on its positives and not on its near misses."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import KERNEL, as_json
from telemetry_detect import shipped_pack

CASES = yaml.safe_load((Path(__file__).parent / "pack_cases.yaml").read_text())
# Detection rules; the correlation rules (several documents a file) are in test_correlate.
RULE_FILES = sorted(p.name for p in shipped_pack().glob("*.yml") if "\n---" not in p.read_text())


def test_every_rule_has_cases_and_a_false_positive_note() -> None:
    assert sorted(CASES) == RULE_FILES
    for name in RULE_FILES:
        rule = yaml.safe_load((shipped_pack() / name).read_text())
        assert rule.get("falsepositives"), f"{name} has no false-positive note"
        assert rule.get("id") and rule.get("level") and rule.get("tags"), name
        assert CASES[name]["match"] and CASES[name]["near_miss"], name


_users = itertools.count(1)


def _fired(pack: Any, event: Any, name: str, value: str) -> set[str]:
    case = CASES[name]
    schema, field = case.get("schema", KERNEL), case.get("field", "code")
    extra = dict(case.get("extra", {}))
    if "history" in case:  # a rule on state: a fresh user with these earlier values
        extra["user"] = f"{extra.get('user', 'user')}-{next(_users)}"
        pack.match_json(as_json([event(schema, timestamp="2026-12-07T09:00:00Z",
                                       **{field: old, **extra}) for old in case["history"]]))
    found = pack.match_json(as_json([event(schema, **{field: value, **extra})]))
    return {Path(m.rule.source).name for m in found}


@pytest.mark.parametrize("name", RULE_FILES)
def test_positives_fire(pack: Any, event: Any, name: str) -> None:
    for value in CASES[name]["match"]:
        assert name in _fired(pack, event, name, value), value


@pytest.mark.parametrize("name", RULE_FILES)
def test_near_misses_do_not_fire(pack: Any, event: Any, name: str) -> None:
    for value in CASES[name]["near_miss"]:
        assert name not in _fired(pack, event, name, value), value


def test_a_rule_sees_only_its_logsource(pack: Any, event: Any) -> None:
    # The same text in a field of another schema is not kernel code.
    saved = "https://telemetry.jupyter.org/schemas/events/contents/saved"
    assert pack.match_json(as_json([event(saved, path="/etc/shadow", kind="file")])) == []
