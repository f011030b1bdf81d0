"""The ``detect`` sink: rules over every recorded batch, alerts through the EventLog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import ALERT, KERNEL, LOOK_ALIKE, PII, POLICY, REVERSE_SHELL, record_code

from telemetry_core import EventLog


def _log(tmp_path: Path, policy: dict[str, Any] = POLICY, **detect: Any) -> EventLog:
    return EventLog(allowed_schemas=policy, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "spool-detect"), **detect},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "spool-file")}])


def _stored(tmp_path: Path, schema_name: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for f in sorted((tmp_path / "events").rglob("*.jsonl"))
             for line in f.read_text().splitlines()]
    return [e for e in found if e["__schema__"].endswith("/" + schema_name)]


def _settle(log: EventLog) -> None:
    # The detect sink records alerts while it delivers; flush again for those.
    assert log.flush(timeout=60)
    assert log.flush(timeout=60)


def test_one_alert_for_the_reverse_shell_and_none_for_the_look_alike(tmp_path: Path) -> None:
    log = _log(tmp_path)
    try:
        recorded = record_code(log, [LOOK_ALIKE, REVERSE_SHELL, "x = 1"])
        _settle(log)
        detect = next(h for h in log.sink_handlers if h.label.startswith("detect/"))
        stats = detect.stats()
    finally:
        log.close()
    alerts = [e for e in _stored(tmp_path, "alert") if e["__schema__"] == ALERT]
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert alert["title"] == "Reverse shell through /dev/tcp" and alert["level"] == "high"
    assert alert["matched_event_ids"] == [recorded[1]["__event_id__"]]
    assert alert["matched_schema"] == KERNEL and alert["user"] == "ana"
    assert "attack.t1059.004" in alert["tags"]
    assert alert["first_seen"] == recorded[1]["__timestamp__"]
    # The alert quotes no matched value.
    assert "127.0.0.1/4444" not in json.dumps(alert)
    assert stats["detect_events"] >= 3 and stats["detect_alerts"] == 1


def test_alerts_carry_the_user_only_as_the_policy_allows(tmp_path: Path) -> None:
    policy = {**POLICY, ALERT: {"consent": "required"}}  # alerts: no personal data
    log = _log(tmp_path, policy)
    try:
        record_code(log, [REVERSE_SHELL])
        _settle(log)
    finally:
        log.close()
    (alert,) = _stored(tmp_path, "alert")
    assert alert.get("user") is None and alert["rule_id"]


def test_a_redacted_field_never_matches(tmp_path: Path) -> None:
    # Detection sees what the policy records: with code redacted nothing can match.
    log = _log(tmp_path, {KERNEL: {"consent": "required"}, ALERT: POLICY[ALERT]})
    try:
        record_code(log, [REVERSE_SHELL])
        _settle(log)
    finally:
        log.close()
    assert _stored(tmp_path, "alert") == []


def test_unrecorded_alerts_are_counted(tmp_path: Path) -> None:
    log = _log(tmp_path, {KERNEL: {"allowed_categories": [PII], "consent": "required"}})
    try:
        record_code(log, [REVERSE_SHELL])
        _settle(log)
        detect = next(h for h in log.sink_handlers if h.label.startswith("detect/"))
        assert detect.stats()["detect_alerts_not_recorded"] == 1
    finally:
        log.close()


def test_own_rules_without_the_pack(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hello.yml").write_text(
        "title: hello printed\nlogsource: {product: jupyter, category: code_execution}\n"
        "detection:\n  s:\n    code|contains: hello\n  condition: s\nlevel: low\n")
    log = _log(tmp_path, rules=[str(rules)], pack=False)
    try:
        record_code(log, ["print('hello')", REVERSE_SHELL])
        _settle(log)
    finally:
        log.close()
    assert [a["title"] for a in _stored(tmp_path, "alert")] == ["hello printed"]


def test_the_last_batch_raises_its_alert_when_the_eventlog_closes(tmp_path: Path) -> None:
    # close() flushes while the EventLog is still open, so the alert the detect sink
    # records for the batch it delivers last is recorded, not refused as "after close".
    log = _log(tmp_path)
    record_code(log, [REVERSE_SHELL])
    log.close()  # no flush before it
    alerts = [e for e in _stored(tmp_path, "alert") if e["__schema__"] == ALERT]
    assert len(alerts) == 1 and log.stats()["after_close"] == 0
