"""Every file the sinks write may hold event data: each kind is created with the
configured mode (default 0o600) and each directory 0o700, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from test_sink_handler import Recorder, make, make_event

from telemetry_core.sinks import FileSink, PermanentSinkError, SinkEvent, SinkHandler
from telemetry_core.sinks._spool import Spool


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """The umask most systems run with, which made some of these files 0644 before."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """``relative path -> permission bits`` of everything under ``root``."""
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
            for p in root.rglob("*")}


def _kinds(found: dict[str, int]) -> set[str]:
    names = set()
    for path in found:
        name = Path(path).name
        names.add("segment" if name.endswith(".seg") else
                  "rotated.gz" if name.endswith(".jsonl.gz") else
                  "rotated" if name.count(".") > 1 and name.endswith(".jsonl")
                  and not name.startswith(("dead", "quarantine")) else name)
    return names


@pytest.mark.parametrize("file_mode", [0o600, 0o640])
def test_every_kind_of_file_gets_the_configured_mode(tmp_path: Path, file_mode: int) -> None:
    out, spool = tmp_path / "out", tmp_path / "spool"
    handler = SinkHandler(FileSink, path=str(out) + "/", template="{schema_name}.jsonl",
                          rotate_bytes=400, compress=True, spool_dir=spool,
                          file_mode=file_mode, stats_interval=60)
    handler.start()
    for i in range(20):
        handler.submit(make_event(i))
        assert handler.flush(30)  # a batch each: the file rotates as it passes 400 bytes
    handler.close()  # writes the stats file

    class Rejects(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> None:
            if not self.up.is_set():
                raise PermanentSinkError("no")

    dead = make(Rejects, down=True, spool_dir=spool / "dl", file_mode=file_mode)
    dead.submit(make_event(0))
    assert dead.flush(30)
    dead.close()

    # A spool with a prepended segment, a cursor and a quarantined line.
    queue = Spool(spool / "direct", max_bytes=1 << 20, segment_bytes=1 << 20,
                  file_mode=file_mode)
    queue.append([make_event(i) for i in range(10, 12)])
    queue.prepend([make_event(i) for i in range(2)])
    prepended_modes = modes(spool)  # the segment in front of the head, before it is read
    queue.peek(1)
    queue.commit(1)
    cursor_modes = modes(spool)  # the cursor exists while a segment is part-read
    queue.close()
    with open(sorted((spool / "direct").glob("*.seg"))[-1], "ab") as f:  # damage on disk
        f.write(b'["x","s","1","t"]\t[1, 2]\n')
    queue = Spool(spool / "direct", max_bytes=1 << 20, segment_bytes=1 << 20,
                  file_mode=file_mode)  # the next run
    while batch := queue.peek(10):
        queue.commit(len(batch))
    queue.close()

    found = {**{f"out/{k}": v for k, v in modes(out).items()},
             **prepended_modes, **cursor_modes, **modes(spool)}
    kinds = _kinds(found)
    for kind in ("thing.jsonl", "rotated.gz", "segment", "cursor", "dead-letter.jsonl",
                 "quarantine.jsonl", "stats.json", "slot-0.lock"):
        assert kind in kinds or any(Path(p).name == kind for p in found), (kind, sorted(found))
    assert any(p.endswith(".seg") and Path(p).name < "00000001000000000000.seg"
               for p in found), "a segment written in front of the head"
    search = file_mode | 0o700 | (0o010 if file_mode & 0o040 else 0)
    wrong = {p: oct(m) for p, m in found.items()
             if m != (search if (tmp_path / p).is_dir() or (spool / p).is_dir()
                      else file_mode)}
    assert not wrong, f"files or directories with another mode: {wrong}"
    assert stat.S_IMODE(out.stat().st_mode) == search
    assert stat.S_IMODE(spool.stat().st_mode) == search
