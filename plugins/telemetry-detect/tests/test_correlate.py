"""Correlations over a sliding window: a burst fires once, the same events spread out
never; the state is bounded and carries over batches."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from cli import telemetry
from conftest import ALERT, PII, POLICY, as_json
from telemetry_detect import Detector, shipped_pack
from telemetry_detect._correlate import Correlator

from telemetry_core import EventLog

LIFE = "https://telemetry.jupyter.org/schemas/events/kernel/lifecycle"
LOGIN = "https://telemetry.jupyter.org/schemas/events/hub/login"
START = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
BURST = "Burst of kernel starts"


def _starts(event: Any, n: int, step: timedelta, user: str = "ana",
            action: str = "started") -> list[dict[str, Any]]:
    return [event(LIFE, timestamp=(START + i * step).isoformat().replace("+00:00", "Z"),
                  action=action, kernel_id=f"k{i}", user=user) for i in range(n)]


def _alerted(detector: Detector, events: list[dict[str, Any]]) -> list[Any]:
    return detector.evaluate(detector.match_json(as_json(events)))


def test_the_correlation_rules_have_false_positive_notes() -> None:
    for path in shipped_pack().glob("*.yml"):
        *_, last = yaml.safe_load_all(path.read_text())
        assert last.get("falsepositives") and last.get("level"), path.name


def test_a_burst_fires_once_and_spread_out_never(event: Any) -> None:
    burst = Detector.shipped()
    found = _alerted(burst, _starts(event, 12, timedelta(seconds=3)))
    assert [m.rule.title for m in found] == [BURST] * 10  # one alert: the 10 in the window
    assert len({m.rule.id for m in found}) == 1 and found[0].user == "ana"
    spread = Detector.shipped()
    assert _alerted(spread, _starts(event, 12, timedelta(minutes=5))) == []
    stopped = Detector.shipped()  # the base rule's own events do not alert
    assert _alerted(stopped, _starts(event, 12, timedelta(seconds=3), action="stopped")) == []


def test_groups_are_per_user(event: Any) -> None:
    detector = Detector.shipped()
    events = _starts(event, 5, timedelta(seconds=2), user="ana")
    events += _starts(event, 5, timedelta(seconds=2), user="bob")
    assert _alerted(detector, events) == []


def test_the_window_carries_over_batches(event: Any) -> None:
    detector = Detector.shipped()
    events = _starts(event, 10, timedelta(seconds=2))
    found = [m for batch in (events[:4], events[4:7], events[7:])
             for m in _alerted(detector, batch)]
    assert {m.rule.title for m in found} == {BURST} and len(found) == 10


def test_value_count_and_temporal(tmp_path: Path, event: Any) -> None:
    (tmp_path / "rules.yml").write_text("""
title: kernel started
name: started
logsource: {product: jupyter, category: kernel_lifecycle}
detection: {s: {action: started}, condition: s}
---
title: login
name: login
logsource: {product: jupyter, category: hub_login}
detection: {s: {authenticator: PAMAuthenticator}, condition: s}
---
title: many kernel kinds
correlation:
  type: value_count
  rules: [started]
  group-by: [user]
  timespan: 1m
  condition: {gte: 3, field: kernel_name}
level: low
---
title: login then kernel
correlation:
  type: temporal
  rules: [login, started]
  group-by: [user]
  timespan: 5m
level: low
""")
    detector = Detector([tmp_path])
    kinds = [event(LIFE, timestamp=f"2026-12-07T10:00:0{i}Z", action="started",
                   kernel_id="k", kernel_name=name, user="ana")
             for i, name in enumerate(["python3", "python3", "ir", "julia"])]
    assert {m.rule.title for m in _alerted(detector, kinds)} == {"many kernel kinds"}
    detector = Detector([tmp_path])
    login = event(LOGIN, timestamp="2026-12-07T09:58:00Z", authenticator="PAMAuthenticator",
                  user="bob")
    late = event(LIFE, timestamp="2026-12-07T10:30:00Z", action="started", kernel_id="k",
                 user="bob")
    assert _alerted(detector, [login, late]) == []
    soon = event(LIFE, timestamp="2026-12-07T10:01:00Z", action="started", kernel_id="k",
                 user="bob")
    assert {m.rule.title for m in _alerted(detector, [login, soon])} == {"login then kernel"}


def test_state_is_bounded(event: Any) -> None:
    detector = Detector.shipped()
    small = Correlator(detector.correlations, max_groups=2)
    users = [_starts(event, 1, timedelta(0), user=u)[0] for u in ("a", "b", "c")]
    small.feed(detector.match_json(as_json(users)))
    assert small.evicted == 1
    assert all(len(c.groups) <= 2 for c in small.correlations)


def test_the_sink_and_hunt_raise_one_alert_for_a_burst(tmp_path: Path) -> None:
    policy = {**POLICY, LIFE: {"allowed_categories": [PII], "consent": "required"}}
    log = EventLog(allowed_schemas=policy, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "s1"), "batch_size": 3},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "s2")}])
    try:
        for i in range(11):
            log.record_event(LIFE, 1, {"action": "started", "kernel_id": f"k{i}",
                                       "user": "ana"},
                             timestamp_override=START + timedelta(seconds=2 * i))
        for _ in range(3):
            assert log.flush(timeout=60)
    finally:
        log.close()
    stored = [json.loads(line) for f in (tmp_path / "events").rglob("*.jsonl")
              for line in f.read_text().splitlines()]
    alerts = [e for e in stored if e["__schema__"] == ALERT]
    assert [a["title"] for a in alerts] == [BURST] and len(alerts[0]["matched_event_ids"]) == 10
    proc = telemetry("detect", "hunt", "--format", "json", "--events", str(tmp_path / "events"))
    assert proc.returncode == 1
    assert {json.loads(line)["rule"] for line in proc.stdout.splitlines()} == {BURST}


def test_conditions_that_cannot_fire_as_events_arrive_are_refused(tmp_path: Path) -> None:
    import pytest
    from telemetry_detect import RuleError

    base = ("title: started\nname: started\nlogsource: {product: jupyter, category: "
            "kernel_lifecycle}\ndetection: {s: {action: started}, condition: s}\n---\n")
    (tmp_path / "lt.yml").write_text(base + "title: too few\ncorrelation:\n  type: "
                                     "event_count\n  rules: [started]\n  timespan: 1h\n"
                                     "  condition: {lt: 1}\n")
    with pytest.raises(RuleError, match="lt.yml: rule 'too few': only gte and gt"):
        Detector([tmp_path / "lt.yml"])
    (tmp_path / "ordered.yml").write_text(base + "title: in order\ncorrelation:\n  type: "
                                          "temporal_ordered\n  rules: [started]\n"
                                          "  timespan: 1h\n")
    with pytest.raises(RuleError, match="ordered.yml: rule 'in order': correlation type "
                                        "temporal_ordered is not supported"):
        Detector([tmp_path / "ordered.yml"])


TERMINAL = "https://telemetry.jupyter.org/schemas/events/server/terminal"
NEW_THEN_TERMINAL = "Login from a new address followed by a terminal"


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _session(event: Any, address: str, terminal_after: float,
             user: str = "ana") -> list[dict[str, Any]]:
    """A known login (the baseline), then a login from ``address`` at minute 60, then a
    terminal ``terminal_after`` minutes later."""
    return [event(LOGIN, timestamp=_at(0), authenticator="DummyAuthenticator", user=user,
                  remote_address="127.0.0.1"),
            event(LOGIN, timestamp=_at(60), authenticator="DummyAuthenticator", user=user,
                  remote_address=address),
            event(TERMINAL, timestamp=_at(60 + terminal_after), action="started",
                  terminal="1", user=user)]


def test_new_address_then_a_terminal_fires_once(event: Any) -> None:
    detector = Detector.shipped()
    events = _session(event, "127.0.0.2", terminal_after=2)
    events.append(event(TERMINAL, timestamp=_at(63), action="started", terminal="2",
                        user="ana"))  # a second terminal in the window: still one alert
    found = _alerted(detector, events)
    fired = [m for m in found if m.rule.title == NEW_THEN_TERMINAL]
    assert sorted(m.event_id for m in fired) == sorted(e["__event_id__"] for e in events[1:3])
    assert {m.user for m in fired} == {"ana"}
    assert [m.rule.title for m in found if m not in fired] == ["Login from a new address"]
    detector.close()


def test_new_address_then_a_late_terminal_or_a_known_address_never(event: Any) -> None:
    late = Detector.shipped()
    assert [m.rule.title for m in _alerted(late, _session(event, "127.0.0.2", 10))] == [
        "Login from a new address"]
    late.close()
    known = Detector.shipped()
    assert _alerted(known, _session(event, "127.0.0.1", 2)) == []
    known.close()
    other = Detector.shipped()  # bob's terminal does not complete ana's login
    events = _session(event, "127.0.0.2", 2)
    events[2]["user"] = "bob"
    assert NEW_THEN_TERMINAL not in {m.rule.title for m in _alerted(other, events)}
    other.close()


def test_hunt_finds_the_new_address_then_terminal_over_the_hub_and_server_files(
        tmp_path: Path, event: Any) -> None:
    # The hub writes the logins, a user's server the terminals: hunting reads both.
    hub, server = tmp_path / "hub", tmp_path / "server"
    hub.mkdir()
    server.mkdir()
    events = _session(event, "127.0.0.2", terminal_after=2)
    (hub / "logins.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events[:2]))
    (server / "terminals.jsonl").write_text(json.dumps(events[2]) + "\n")
    proc = telemetry("detect", "hunt", "--format", "json", "--events", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(m["event_id"] for m in found if m["rule"] == NEW_THEN_TERMINAL) == sorted(
        e["__event_id__"] for e in events[1:])
    late = tmp_path / "late"
    late.mkdir()
    (late / "all.jsonl").write_text("".join(
        json.dumps(e) + "\n" for e in _session(event, "127.0.0.2", terminal_after=10)))
    proc = telemetry("detect", "hunt", "--format", "json", "--events", str(late))
    assert NEW_THEN_TERMINAL not in proc.stdout
