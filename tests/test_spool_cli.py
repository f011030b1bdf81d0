"""Issue #20 in sink land: ``telemetry spool list|clean``, no leftovers from a sink that
failed to start or to be built, and an unknown type answered with an installed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from test_sink_handler import make_event

from telemetry_core._cli import main
from telemetry_core.sinks import Sink, SinkConfigError, SinkHandler, create_sink
from telemetry_core.sinks._registry import installed_sink_names
from telemetry_core.sinks._slots import acquire_slot
from telemetry_core.sinks._spool import Spool


def spool_with(sink_dir: Path, events: int, delivered: int = 0) -> Path:
    """A slot as a process leaves it when it ends with ``events - delivered`` undelivered."""
    slot = acquire_slot(sink_dir, 4)
    assert slot is not None
    spool = Spool(slot.path, max_bytes=1 << 20, segment_bytes=400, fsync="never")
    if events:
        spool.append([make_event(i) for i in range(events)])
    if delivered:
        assert len(spool.peek(delivered)) == delivered
        spool.commit(delivered)
    spool.close()
    slot.release()
    return slot.path


def listed(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    assert main(["spool", "list", "--json", "--spool-root", str(root)]) == 0
    return {f"{row['sink_dir']}/{row['slot']}": row
            for row in orjson.loads(capsys.readouterr().out)}


def test_list_shows_size_waiting_events_and_whether_the_owner_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool_with(tmp_path / "file-a", events=10, delivered=3)  # crosses segments
    spool_with(tmp_path / "kafka-b", events=0)
    running = acquire_slot(tmp_path / "s3-c", 4)  # held by this (live) process
    assert running is not None
    try:
        rows = listed(tmp_path, capsys)
        assert rows["file-a/slot-0"]["events_waiting"] == 7
        assert rows["file-a/slot-0"]["owner_alive"] is False
        assert int(rows["file-a/slot-0"]["size_bytes"]) > 0  # type: ignore[call-overload]
        assert rows["kafka-b/slot-0"]["events_waiting"] == 0
        assert rows["s3-c/slot-0"]["owner_alive"] is True
        assert main(["spool", "list", "--spool-root", str(tmp_path)]) == 0
        table = capsys.readouterr().out
        assert "file-a" in table and "gone" in table and "running" in table
    finally:
        running.release()


def test_clean_removes_only_stale_empty_slots_without_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool_with(tmp_path / "file-a", events=5)
    empty = spool_with(tmp_path / "file-b", events=4, delivered=4)
    running = acquire_slot(tmp_path / "file-c", 4)
    assert running is not None
    try:
        assert main(["spool", "clean", "--spool-root", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert not empty.exists() and not (tmp_path / "file-b").exists()  # dir and lock
        assert (tmp_path / "file-a" / "slot-0").is_dir()  # holds 5 events: kept
        assert running.path.is_dir()  # its owner runs: kept
        assert "1 slot(s) removed" in out and "holding 5 events kept" in out
        assert set(listed(tmp_path, capsys)) == {"file-a/slot-0", "file-c/slot-0"}
    finally:
        running.release()


def test_clean_force_says_how_many_events_are_lost_and_spares_running_slots(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool_with(tmp_path / "file-a", events=6, delivered=1)
    running = acquire_slot(tmp_path / "file-c", 4)
    assert running is not None
    try:
        Spool(running.path, max_bytes=1 << 20, segment_bytes=400,
              fsync="never").append([make_event(1)])
        assert main(["spool", "clean", "--force", "--spool-root", str(tmp_path)]) == 0
        captured = capsys.readouterr()
        assert "holding 5 undelivered events; they are lost" in captured.err
        assert "(5 events lost)" in captured.out
        assert not (tmp_path / "file-a").exists()
        assert running.path.is_dir()  # events or not, a running owner's slot stays
    finally:
        running.release()


def test_list_on_a_missing_root_says_so(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spool", "list", "--spool-root", str(tmp_path / "none")]) == 0
    assert "No spool directories" in capsys.readouterr().out


class CannotOpen(Sink):
    type = "cannot-open"

    def open(self) -> None:
        raise SinkConfigError("cannot-open sink: the destination refuses us")

    def write_batch(self, events: object) -> None:
        raise AssertionError("never called")


def test_a_sink_that_fails_to_start_leaves_no_spool_dir_or_lock(tmp_path: Path) -> None:
    handler = SinkHandler(CannotOpen, spool_dir=tmp_path / "spool")
    with pytest.raises(SinkConfigError, match="refuses us"):
        handler.start()
    handler.close()
    assert not (tmp_path / "spool").exists()


def test_a_file_sink_that_fails_to_start_leaves_nothing_under_the_state_dir(
        tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(SinkConfigError, match="cannot create the directory"):
        create_sink({"type": "file", "path": str(blocker / "sub") + "/"}).start()
    root = Path(os.environ["XDG_STATE_HOME"]) / "telemetry" / "spool"
    assert not root.exists() or not any(root.iterdir())


@pytest.mark.parametrize("config", [
    {"type": "file", "path": "events/", "rotate_bytes": "10MB"},  # an option's check
    {"type": "file", "path": "events.jsonl", "template": "{date}.jsonl"},  # the sink's own
])
def test_a_sink_that_cannot_be_built_leaves_no_error_at_exit(
        tmp_path: Path, config: dict[str, object]) -> None:
    program = (
        "import sys\n"
        "from telemetry_core import EventLog\n"
        "from telemetry_core.sinks import SinkConfigError\n"
        "try:\n"
        f"    EventLog(sinks=[{config!r}])\n"
        "except SinkConfigError as exc:\n"
        "    print('refused:', exc)\n"
        "else:\n"
        "    sys.exit('accepted a bad sink')\n")
    proc = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("refused: file sink")
    assert proc.stderr == ""  # no "Exception ignored in atexit callback", no traceback
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(("typo", "nearest"), [("fiel", "file"), ("flie", "file"),
                                               ("File", "file")])
def test_an_unknown_type_suggests_the_nearest_installed_one(typo: str, nearest: str) -> None:
    with pytest.raises(SinkConfigError) as info:
        create_sink({"type": typo, "path": "x/"})
    message = str(info.value)
    assert f"Did you mean {nearest!r}?" in message
    assert "telemetry-sink-" not in message  # no package that does not exist


def test_an_unknown_project_plugin_type_names_its_package() -> None:
    if "kafka" in installed_sink_names():
        pytest.skip("the Kafka plugin is installed here")
    with pytest.raises(SinkConfigError, match=r"pip install \./plugins/telemetry-sink-kafka"):
        create_sink({"type": "kafka"})


def test_an_unknown_type_far_from_any_names_no_package() -> None:
    with pytest.raises(SinkConfigError) as info:
        create_sink({"type": "carrier-pigeon"})
    assert "pip install" not in str(info.value) and "Fix the 'type'" in str(info.value)


def test_listing_changes_nothing_on_disk(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    slot = acquire_slot(tmp_path / "file-g", 4, 0o640)  # a group-readable sink's slot
    assert slot is not None
    slot.release()
    lock = tmp_path / "file-g" / "slot-0.lock"
    before = sorted((p.relative_to(tmp_path), p.stat().st_mode) for p in tmp_path.rglob("*"))
    assert listed(tmp_path, capsys)["file-g/slot-0"]["owner_alive"] is False
    after = sorted((p.relative_to(tmp_path), p.stat().st_mode) for p in tmp_path.rglob("*"))
    assert after == before and lock.stat().st_mode & 0o777 == 0o640
