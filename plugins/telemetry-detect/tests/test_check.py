"""``telemetry detect check``: rules linted against the schemas and the policy."""

from __future__ import annotations

import json
from pathlib import Path

from cli import telemetry, telemetry_process
from telemetry_detect import shipped_pack

KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"


def write(tmp_path: Path, name: str, detection: str,
          logsource: str = "category: code_execution") -> Path:
    path = tmp_path / name
    path.write_text(f"title: {name}\nlogsource: {{product: jupyter, {logsource}}}\n"
                    f"detection:\n{detection}\nlevel: high\n")
    return path


def test_the_shipped_pack_is_clean() -> None:
    proc = telemetry_process("detect", "check", str(shipped_pack()))  # the real script
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "61 rules checked, 0 problems" in proc.stderr  # 58 rules, 3 correlations


def test_unknown_field_says_did_you_mean(tmp_path: Path) -> None:
    write(tmp_path, "typo.yml", "  s:\n    cod|contains: x\n  condition: s")
    write(tmp_path, "logsource.yml", "  s:\n    code: x\n  condition: s",
          logsource="category: printer")
    proc = telemetry("detect", "check", str(tmp_path))
    assert proc.returncode == 1
    assert "typo.yml: rule 'typo.yml': unknown field 'cod'" in proc.stdout
    assert "did you mean 'code'?" in proc.stdout
    assert "logsource.yml: rule 'logsource.yml': its logsource names no registered" in proc.stdout


def test_terminal_rules_check_against_the_terminal_schema(tmp_path: Path) -> None:
    write(tmp_path, "ok.yml", "  s:\n    action: started\n    terminal: '1'\n  condition: s",
          logsource="category: terminal")
    assert telemetry("detect", "check", str(tmp_path / "ok.yml")).returncode == 0
    write(tmp_path, "typo.yml", "  s:\n    termnal: '1'\n  condition: s",
          logsource="category: terminal")
    proc = telemetry("detect", "check", str(tmp_path / "typo.yml"))
    assert proc.returncode == 1 and "did you mean 'terminal'?" in proc.stdout, proc.stdout


def test_a_field_the_policy_redacts_can_never_match(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, "code.yml", "  s:\n    code|contains: xmrig\n  condition: s")
    write(rules, "status.yml", "  s:\n    status: error\n  condition: s")
    write(rules, "login.yml", "  s:\n    authenticator: x\n  condition: s",
          logsource="category: hub_login")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": [KERNEL]}}))
    proc = telemetry("detect", "check", "--config", str(config), str(rules))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any("code.yml" in line and "field 'code' of kernel/code-executed is redacted by "
               "the policy" in line and "can never match" in line for line in lines), lines
    assert any("login.yml" in line and "the policy records none of its schemas" in line
               for line in lines), lines
    assert not any("status.yml" in line for line in lines)
    # Once the policy keeps code, the rule can match.
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": {KERNEL: {
        "allowed_categories": ["user-identifiable-information"]}}}}))
    proc = telemetry("detect", "check", "--config", str(config), str(rules / "code.yml"))
    assert proc.returncode == 0, proc.stdout


def test_errors_never_quote_event_values(tmp_path: Path) -> None:
    write(tmp_path, "bad.yml", "  s:\n    nosuchfield: s3cr3t-value\n  condition: s")
    proc = telemetry("detect", "check", str(tmp_path))
    assert proc.returncode == 1 and "nosuchfield" in proc.stdout
    assert "s3cr3t-value" not in proc.stdout + proc.stderr


def test_a_redacted_field_that_is_inspected_is_a_note(tmp_path: Path) -> None:
    # inspect_before_redaction: the detect sink sees the code, hunting never does.
    write(tmp_path, "code.yml", "  s:\n    code|contains: xmrig\n  condition: s")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"EventLog": {"allowed_schemas": {KERNEL: {
        "inspect_before_redaction": True}}}}))
    proc = telemetry("detect", "check", "--config", str(config), str(tmp_path / "code.yml"))
    assert proc.returncode == 0, proc.stdout
    assert "note: " in proc.stdout and "inspected before redaction" in proc.stdout
    assert "hunting in stored events never can" in proc.stdout
    assert "1 rules checked, 0 problems" in proc.stderr
