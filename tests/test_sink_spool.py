"""The disk spool on its own: order, bounds, crash leftovers, cursor, slots."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from conftest import SCHEMA_ID, TEST_SCHEMA
from test_sink_handler import Recorder, ids, make, make_event

from telemetry_core import EventLog
from telemetry_core.sinks import SinkEvent, TransientSinkError, WriteResult
from telemetry_core.sinks._slots import acquire_slot
from telemetry_core.sinks._spool import Spool
from telemetry_core.testing import wait_for


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


def test_commit_of_nothing_consumes_nothing(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    spool.append([make_event(i) for i in range(5)])
    assert len(spool.peek(5)) == 5
    spool.commit(0)  # nothing was delivered: everything stays
    assert drain(spool) == ids(5)


def test_peek_commit_and_evict_from_two_threads_account_for_every_event(
        tmp_path: Path) -> None:
    # The spooler thread appends and evicts (drop_oldest) while the delivery thread
    # peeks and commits, sometimes only part of a batch: every event is delivered once,
    # in order, or counted evicted, and neither thread fails.
    spool = spool_at(tmp_path, max_bytes=4000, segment_bytes=600)
    total = 3000
    evicted = 0
    delivered: list[str] = []
    errors: list[BaseException] = []
    produced = threading.Event()

    def spooler() -> None:
        nonlocal evicted
        try:
            for start in range(0, total, 10):
                chunk = [make_event(n) for n in range(start, min(start + 10, total))]
                stored = spool.append(chunk)
                while stored < len(chunk):
                    evicted += spool.evict_oldest()
                    stored += spool.append(chunk[stored:])
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            produced.set()

    def deliverer() -> None:
        try:
            while not (produced.is_set() and spool.is_empty()) and not errors:
                batch = spool.peek(7)
                keep = len(batch) - 1 if len(batch) > 3 else len(batch)
                delivered.extend(e.event_id for e in batch[:keep])
                spool.commit(keep)  # the rest comes again, or is evicted
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=spooler), threading.Thread(target=deliverer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert delivered == sorted(set(delivered))  # in order, none twice
    assert len(delivered) + evicted == total


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


# -- damaged spools: quarantined, never delivered, recording goes on --------------------

DAMAGED_BODIES = {
    b"{not json": "not UTF-8 JSON",
    b'{"n": "\xff\xfe"}': "not UTF-8 JSON",
    b"[1, 2]": "not a JSON object but list",
    b'"just a string"': "not a JSON object but str",
}


def test_lines_with_a_good_header_and_a_damaged_body_are_quarantined_once(
        tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    first = make(down=True, spool_dir=spool_dir, batch_size=3, max_attempts=1)
    for i in range(6):
        first.submit(make_event(i))
    assert first.flush(30) and first.stats()["spooled"] == 6
    first.close()  # the sink stayed down: all six wait on disk
    [segment] = spool_dir.glob("slot-0/*.seg")
    lines = segment.read_bytes().splitlines(keepends=True)
    damaged = [b'["e9%04d","https://example.org/schemas/thing","1","t"]\t%b\n' % (n, body)
               for n, body in enumerate(DAMAGED_BODIES)]
    # Damage between good lines, and a first batch that fails once (peeked twice).
    segment.write_bytes(lines[0] + damaged[0] + lines[1] + damaged[1] + damaged[2]
                        + b"".join(lines[2:5]) + damaged[3] + lines[5])

    class FailsOnce(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            if self.calls == 0:
                self.calls += 1
                raise TransientSinkError("one hiccup")
            return super().write_batch(events)

    second = make(FailsOnce, spool_dir=spool_dir, batch_size=3)
    second.start()
    wait_for(lambda: second.stats()["spooling"] == 0, "the spool replayed")
    second.close()
    assert second.sink.got == ids(6)  # every good line once, in order; no damaged one
    assert second.stats()["spool_quarantined"] == 4
    kept = [orjson.loads(x) for x in (segment.parent / "quarantine.jsonl").read_bytes()
            .splitlines()]
    assert [base64.b64decode(k["line_base64"]) for k in kept] == damaged
    for entry, reason in zip(kept, DAMAGED_BODIES.values(), strict=True):
        assert reason in entry["reason"] and entry["segment"] == segment.name


@pytest.mark.parametrize("damage", ["segment", "cursor", "slot", "spool_dir"])
def test_a_damaged_spool_dir_does_not_stop_recording(
        tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    spool_dir = tmp_path / "spool"
    slot = spool_dir / "slot-0"
    if damage == "segment":
        (slot / "00000001000000000000.seg").mkdir(parents=True)
    elif damage == "cursor":
        (slot / "cursor").mkdir(parents=True)
    elif damage == "slot":
        spool_dir.mkdir()
        for n in range(2):
            (spool_dir / f"slot-{n}").write_text("a file where a slot directory should be")
    else:
        spool_dir.write_text("a file where the spool directory should be")
    out = tmp_path / "out"
    log = EventLog(allowed_schemas=[SCHEMA_ID], sinks=[{
        "type": "file", "path": str(out) + "/", "spool_dir": str(spool_dir),
        "max_slots": 2}])
    log.register_schema(TEST_SCHEMA)
    log.record_event(SCHEMA_ID, 1, {"name": "still recorded"})
    [handler] = log.sink_handlers
    log.close()
    [written] = out.rglob("*.jsonl")
    assert orjson.loads(written.read_bytes())["name"] == "still recorded"
    stats = handler.stats()
    if damage in ("segment", "cursor"):  # set aside; the spool itself still works
        assert stats["spool_damaged_files"] == 1 and stats["spool_unusable"] == 0
        assert list(slot.glob("*.damaged"))
    else:  # no spool: events wait in memory only
        assert stats["spool_unusable"] == 1
    assert "spool" in caplog.text and "WARNING" in caplog.text
