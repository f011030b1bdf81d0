"""docs/detection.md keeps its promises: the example rule, the pack table, the limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from cli import telemetry
from conftest import ALERT, POLICY, REVERSE_SHELL, as_json, record_code
from telemetry_detect import Detector, shipped_pack
from telemetry_detect._alerts import alerts

from telemetry_core import EventLog

DOC = Path(__file__).resolve().parents[3] / "docs" / "detection.md"
TEXT = DOC.read_text()


def _example_rule() -> str:
    match = re.search(r"<!-- detect-example-rule -->\s*```yaml\n(.*?)```", TEXT, re.S)
    assert match, "docs/detection.md lost its example rule"
    return match[1]


def test_the_example_rule_checks_clean_and_matches(tmp_path: Path, event: Any) -> None:
    (tmp_path / "example.yml").write_text(_example_rule())
    proc = telemetry("detect", "check", str(tmp_path))
    assert proc.returncode == 0 and "1 rules checked, 0 problems" in proc.stderr
    found = Detector([tmp_path]).match_json(as_json([
        event(code="!curl -o tool http://127.0.0.1/t && chmod +x tool"),
        event(code="!curl -o data.csv http://127.0.0.1/d")]))
    assert len(found) == 1


def test_the_pack_table_lists_every_rule() -> None:
    for path in sorted(shipped_pack().glob("*.yml")):
        *_, rule = yaml.safe_load_all(path.read_text())  # a correlation follows its rule
        assert f"| `{path.name}` | {rule['title']} | {rule['level']} |" in TEXT, path.name


def test_a_replayed_batch_gives_the_same_alert_id(pack: Any, event: Any) -> None:
    batch = as_json([event(code=REVERSE_SHELL, user="ana")])
    assert alerts(pack.match_json(batch)) == alerts(pack.match_json(batch))


def test_the_sink_never_evaluates_alerts(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "on_alerts.yml").write_text(
        "title: any alert\nlogsource: {product: jupyter, category: detection_alert}\n"
        "detection:\n  s:\n    level: high\n  condition: s\nlevel: high\n")
    log = EventLog(allowed_schemas=POLICY, sinks=[
        {"type": "detect", "rules": [str(rules)], "spool_dir": str(tmp_path / "s1")},
        {"type": "file", "path": str(tmp_path / "events") + "/",
         "spool_dir": str(tmp_path / "s2")}])
    try:
        record_code(log, [REVERSE_SHELL])
        for _ in range(3):
            assert log.flush(timeout=60)
        detect = next(h for h in log.sink_handlers if h.label.startswith("detect/"))
        assert detect.stats()["detect_alerts"] == 1  # the pack's, not one on it
    finally:
        log.close()
    assert ALERT in {line for f in (tmp_path / "events").rglob("*.jsonl")
                     for line in [yaml.safe_load(f.read_text().splitlines()[0])["__schema__"]]}


def test_the_inspect_before_redaction_example_runs_as_it_says(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    match = re.search(r"<!-- detect-inspect-example -->\s*```python fragment\n(.*?)```",
                      TEXT, re.S)
    assert match, "docs/detection.md lost its inspect_before_redaction example"
    # Its spools land under the state directory: here, so the check below sees them.
    (tmp_path / "tmp").mkdir()
    subprocess.run([sys.executable, "-c", match[1]], cwd=tmp_path, check=True,
                   env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
                        "TMPDIR": str(tmp_path / "tmp")})
    stored = [json.loads(line) for f in sorted((tmp_path / "events").rglob("*.jsonl"))
              for line in f.read_text().splitlines()]
    kernel = [e for e in stored if e["__schema__"].endswith("/code-executed")]
    alerts_found = [e for e in stored if e["__schema__"] == ALERT]
    assert [e["code"] for e in kernel] == [None]
    assert [a["title"] for a in alerts_found] == ["Reverse shell through /dev/tcp"]
    # Bytes: the state dir also holds the detect sink's SQLite file (novelty.sqlite3).
    assert b"10.0.0.9" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*")
                                       if p.is_file())
