"""The disk spool on its own: order, bounds, crash leftovers, cursor, slots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_sink_handler import ids, make_event

from telemetry_core.sinks._spool import Spool, acquire_slot


def spool_at(path: Path, **options: object) -> Spool:
    settings: dict[str, object] = {"max_bytes": 1 << 20, "segment_bytes": 1000,
                                   "fsync": "never", **options}
    return Spool(path, **settings)  # type: ignore[arg-type]


def drain(spool: Spool, step: int = 7) -> list[str]:
    got: list[str] = []
    while batch := spool.peek(step):
        got.extend(e.event_id for e in batch)
        spool.commit(len(batch))
    return got


def test_events_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    assert spool.append([make_event(i) for i in range(50)]) == 50
    assert len(list(tmp_path.glob("*.seg"))) > 3  # 1000-byte segments
    first = spool.peek(5)
    assert [e.event_id for e in first] == ids(5)
    assert first[0].json == make_event(0).json and first[0].schema_id == make_event(0).schema_id
    assert spool.peek(5) == first  # peeking does not consume
    assert drain(spool) == ids(50)
    assert spool.is_empty() and list(tmp_path.glob("*.seg")) == []


def test_prepend_goes_in_front_of_a_partly_read_head(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    spool.append([make_event(i) for i in range(10, 20)])
    spool.peek(3)
    spool.commit(3)
    spool.prepend([make_event(i) for i in range(3)])
    assert drain(spool) == ids(3) + ids(7, start=13)


def test_the_cursor_survives_a_restart(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, fsync="batch")
    spool.append([make_event(i) for i in range(30)])
    spool.peek(12)
    spool.commit(12)
    spool.close()
    again = spool_at(tmp_path)
    assert drain(again) == ids(18, start=12)  # the delivered twelve are not sent again


def test_a_torn_last_line_is_cut_and_a_damaged_line_skipped(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, segment_bytes=1 << 20)
    spool.append([make_event(i) for i in range(5)])
    spool.close()
    [segment] = tmp_path.glob("*.seg")
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[2] = b"not a spool line\n"
    segment.write_bytes(b"".join(lines) + lines[4][:30])  # as if killed mid-write
    again = spool_at(tmp_path)
    assert drain(again) == ["e00000", "e00001", "e00003", "e00004"]
    assert again.corrupt_lines == 1


def test_size_bound_and_eviction(tmp_path: Path) -> None:
    line = 150  # about one encoded event
    spool = spool_at(tmp_path, max_bytes=20 * line, segment_bytes=5 * line)
    stored = spool.append([make_event(i) for i in range(100)])
    assert 10 < stored < 100 and spool.pending_bytes <= 20 * line
    spool.peek(1)  # the head is being replayed: eviction must leave it alone
    head = min(tmp_path.glob("*.seg"))
    evicted = spool.evict_oldest()
    assert evicted > 0 and head.exists()
    assert spool.append([make_event(100)]) == 1
    got = drain(spool)
    assert got[0] == "e00000" and got[-1] == "e00100" and len(got) == stored + 1 - evicted


def test_fsync_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    for policy, expect_per_event in (("never", False), ("batch", False), ("always", True)):
        calls.clear()
        spool = spool_at(tmp_path / policy, fsync=policy, segment_bytes=1 << 20)
        spool.append([make_event(i) for i in range(10)])
        if policy == "never":
            assert calls == []
        elif expect_per_event:
            assert len(calls) >= 10
        else:
            assert 1 <= len(calls) < 10
        spool.close()
    with pytest.raises(ValueError, match="spool_fsync must be one of"):
        spool_at(tmp_path / "x", fsync="sometimes")


def test_slots_are_exclusive_and_leftovers_are_preferred(tmp_path: Path) -> None:
    first = acquire_slot(tmp_path, 3)
    second = acquire_slot(tmp_path, 3)
    assert first is not None and second is not None
    assert (first.path.name, second.path.name) == ("slot-0", "slot-1")
    spool_at(second.path).append([make_event(1)])
    second.release()
    third = acquire_slot(tmp_path, 3)  # slot-1 holds a dead run's events: take it first
    assert third is not None and third.path.name == "slot-1"
    fourth = acquire_slot(tmp_path, 3)
    assert fourth is not None and fourth.path.name == "slot-2"
    assert acquire_slot(tmp_path, 3) is None  # all busy
    for slot in (first, third, fourth):
        slot.release()
