"""``telemetry sinks``: installed sink types with their options, and sink counters."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from test_sink_handler import make, make_event

from telemetry_core._cli import main


def test_sinks_lists_installed_types_with_their_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sinks"]) == 0
    out = capsys.readouterr().out
    assert "file  (telemetry-core " in out
    assert "telemetry_core.sinks._file_plugin" in out
    for option in ("path", "template", "rotate_bytes", "compress", "fsync"):
        assert f"\n    {option} " in out
    assert "Options every sink accepts:" in out and "spool_dir" in out


def test_sinks_one_type_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sinks", "file", "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert list(data["sink_types"]) == ["file"]
    assert "rotate_seconds" in data["sink_types"]["file"]["options"]
    assert "drop_policy" in data["common_options"]


def test_sinks_unknown_type_lists_installed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sinks", "carrier-pigeon"]) == 1
    err = capsys.readouterr().err
    assert "no sink type 'carrier-pigeon' is installed; installed: " in err and "file" in err


def test_sinks_stats_reads_what_running_sinks_wrote(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "spool"
    sink = make(spool_dir=root / "recorder-main", name="main", stats_interval=60)
    for i in range(7):
        sink.submit(make_event(i))
    sink.close()  # writes its stats file one last time
    assert main(["sinks", "--stats", "--spool-root", str(root)]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[1:3]
    cells = dict(zip(header.split(), row.split(), strict=True))
    assert cells["sink"] == "recorder/main" and cells["slot"] == "slot-0"
    assert cells["state"] == "running"  # this test process wrote it, and runs
    assert cells["accepted"] == "7" and cells["delivered"] == "7" and cells["dropped"] == "0"
    assert main(["sinks", "--stats", "--json", "--spool-root", str(root)]) == 0
    [entry] = orjson.loads(capsys.readouterr().out)
    assert entry["counters"]["delivered"] == 7


def test_sinks_stats_with_nothing_written(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sinks", "--stats", "--spool-root", str(tmp_path)]) == 0
    assert "No sink stats under" in capsys.readouterr().out
