"""The clock behind the envelope: timestamps, UUIDv7-style event ids."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from telemetry_core._envelope import Clock, format_timestamp

EPOCH = dt.datetime(1970, 1, 1)


def _micros(stamp: str) -> int:
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parsed - EPOCH) // dt.timedelta(microseconds=1)


def test_timestamps_are_the_time_of_the_call():
    clock = Clock()
    for _ in range(5000):  # spans many milliseconds: the cached prefixes roll over
        before = time.time_ns() // 1000
        stamp, _ = clock.now()
        after = time.time_ns() // 1000
        assert before <= _micros(stamp) <= after
        assert stamp.endswith("Z") and stamp.count("Z") == 1 and "+" not in stamp


def test_event_ids_are_uuid7_carrying_the_millisecond():
    clock = Clock()
    for _ in range(2000):
        stamp, event_id = clock.now()
        parsed = uuid.UUID(event_id)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == event_id
        assert parsed.int >> 80 == _micros(stamp) // 1000  # the id's 48-bit milliseconds


def test_two_clocks_never_share_ids():
    a, b = Clock(), Clock()
    ids_a = {a.now()[1] for _ in range(2000)}
    ids_b = {b.now()[1] for _ in range(2000)}
    assert len(ids_a) == len(ids_b) == 2000
    assert not ids_a & ids_b


def test_ids_stay_ordered_when_the_wall_clock_steps_back(monkeypatch):
    clock = Clock()
    first = clock.now()[1]
    real = time.time_ns()
    monkeypatch.setattr("telemetry_core._envelope._time_ns", lambda: real - 5_000_000_000)
    later = [clock.now()[1] for _ in range(10)]
    assert [first, *later] == sorted([first, *later])


def test_format_timestamp_naive_is_utc_and_aware_is_converted():
    assert format_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    aware = dt.datetime(2026, 1, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert format_timestamp(aware) == "2026-01-02T05:00:00.000000Z"
