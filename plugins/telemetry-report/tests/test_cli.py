"""``telemetry report`` as a user runs it: the example in docs/report.md, JSON and HTML,
clear errors, progress only on a terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SINCE, UNTIL, Recorded
from telemetry_report import build_report
from telemetry_report._progress import Progress

DOC = Path(__file__).resolve().parents[3] / "docs" / "report.md"
TELEMETRY = str(Path(sys.executable).with_name("telemetry"))


def main(argv: list[str]) -> int:
    """The ``telemetry`` command as a user runs it; its stderr is echoed for capsys."""
    done = subprocess.run([TELEMETRY, *argv], capture_output=True, text=True, timeout=300)
    sys.stderr.write(done.stderr)
    return done.returncode


def test_the_docs_example_runs(week: Recorded, tmp_path: Path) -> None:
    match = re.search(r"```bash report-example\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/report.md has no report-example block"
    (tmp_path / "events").symlink_to(week.path)
    env = {**os.environ, "PATH": f"{Path(TELEMETRY).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", match[1]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: quiet
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "vegaEmbed" in page
    assert "<script src=" not in page and "https://cdn" not in page  # nothing to fetch
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == json.loads(json.dumps(build_report(
        str(week.path), since=SINCE, until=UNTIL), default=str)) | {
        "sources": ["events/"]}


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> str:
        assert main(["report", *args]) == 1
        return capsys.readouterr().err

    assert run("--events", str(tmp_path / "nope")) == (
        f"telemetry report: error: --events {tmp_path}/nope: no such file or directory\n")
    assert "no event files (**/*.jsonl*)" in run("--events", str(tmp_path))
    assert "is not before --until" in run("--events", str(tmp_path), "--since",
                                          "2026-11-09", "--until", "2026-11-02")
    assert "neither a duration" in run("--events", str(tmp_path), "--since", "last tuesday")


def test_progress_shows_files_rows_and_time_on_a_terminal(week: Recorded) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    report = build_report(str(week.path), since=SINCE, until=UNTIL,
                          progress=Progress(screen))
    text = screen.getvalue()
    n = report["files_scanned"]
    assert f"{n}/{n} files, {report['events']:,} rows" in text
    assert re.search(r"in \d+\.\ds\n$", text)
    quiet = io.StringIO()
    build_report(str(week.path), since=SINCE, until=UNTIL, progress=Progress(quiet))
    assert quiet.getvalue() == ""


def test_the_command_module_is_light_to_import() -> None:
    """`telemetry --help` loads it: DuckDB and the chart bundle wait for the command."""
    code = ("import sys, telemetry_report._cli; "
            "sys.exit(sorted({'duckdb', 'vl_convert'} & set(sys.modules)) != [])")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_user_groups_from_a_csv_file(week: Recorded, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import USERS

    groups = tmp_path / "groups.csv"
    groups.write_text("".join(f"{week.pseudonyms[u]},{g}\n" for u, _, _, g in USERS))
    out = tmp_path / "r.json"
    assert main(["report", "--events", str(week.path), "--since", "2026-11-02", "--until",
                 "2026-11-09", "--format", "json", "-o", str(out), "--min-group-size", "3",
                 "--user-groups", str(groups)]) == 0
    figure = next(f for f in json.loads(out.read_text())["figures"]
                  if f["id"] == "kernel_hours_by_group")
    # physics and biology have three and four users; admin (one) is left out
    assert sorted(r["user_group"] for r in figure["rows"]) == ["biology", "physics"]
    assert figure["suppressed_rows"] == 1
