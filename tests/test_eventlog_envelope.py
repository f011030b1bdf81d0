"""The clock behind the envelope: timestamps, UUIDv7-style event ids."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from telemetry_core._envelope import Clock, format_timestamp, new_clock, random_seed

EPOCH = dt.datetime(1970, 1, 1)
KINDS = [Clock]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.__module__.rsplit(".", 1)[-1])
def make_clock(request):
    return lambda: request.param(*random_seed())


def _micros(stamp: str) -> int:
    parsed = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parsed - EPOCH) // dt.timedelta(microseconds=1)


def test_timestamps_are_the_time_of_the_call(make_clock):
    clock = make_clock()
    for _ in range(5000):  # spans many milliseconds: the cached prefixes roll over
        before = time.time_ns() // 1000
        stamp, _ = clock.now()
        after = time.time_ns() // 1000
        assert before <= _micros(stamp) <= after
        assert stamp.endswith("Z") and stamp.count("Z") == 1 and "+" not in stamp


def test_event_ids_are_uuid7_carrying_the_millisecond(make_clock):
    clock = make_clock()
    for _ in range(2000):
        stamp, event_id = clock.now()
        parsed = uuid.UUID(event_id)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == event_id
        assert parsed.int >> 80 == _micros(stamp) // 1000  # the id's 48-bit milliseconds


def test_two_clocks_never_share_ids(make_clock):
    a, b = make_clock(), make_clock()
    ids_a = {a.now()[1] for _ in range(2000)}
    ids_b = {b.now()[1] for _ in range(2000)}
    assert len(ids_a) == len(ids_b) == 2000
    assert not ids_a & ids_b


def test_ids_stay_ordered_when_the_wall_clock_steps_back(make_clock):
    clock = make_clock()
    real = time.time_ns()
    first = clock.now_at(real)
    later = [clock.now_at(real - 5_000_000_000 + i * 1_000_000) for i in range(10)]
    ids = [first[1], *(event_id for _, event_id in later)]
    assert ids == sorted(ids)
    # The timestamps tell the truth, though: they went back five seconds.
    assert _micros(later[0][0]) == (real - 5_000_000_000) // 1000


def test_the_process_clock_reseeds_in_a_forked_child():
    import os

    clock = new_clock()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        os.write(write, clock.now()[1].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read, 64).decode()
    parent_id = clock.now()[1]
    assert child_id[14:23] != parent_id[14:23], "the child kept its parent's node bits"


def test_format_timestamp_naive_is_utc_and_aware_is_converted():
    assert format_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    aware = dt.datetime(2026, 1, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert format_timestamp(aware) == "2026-01-02T05:00:00.000000Z"


def test_threads_recording_at_once_get_unique_ids_in_order_per_thread():
    import copy
    import threading

    from conftest import SCHEMA_ID, TEST_SCHEMA, SubmittedSink

    from telemetry_core import EventLog

    sink = SubmittedSink()
    log = EventLog(handlers=[sink], allowed_schemas=[SCHEMA_ID], register_builtin_schemas=False)
    log.register_schema(copy.deepcopy(TEST_SCHEMA))
    per_thread = 5000

    def record(name):
        for i in range(per_thread):
            log.record_event(SCHEMA_ID, 1, {"name": name, "count": i})

    threads = [threading.Thread(target=record, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sink.kept) == 4 * per_thread
    assert len({e.event_id for e in sink.kept}) == 4 * per_thread
    for n in range(4):
        mine = [e for e in sink.kept if e.data["name"] == f"t{n}"]
        assert [e.data["count"] for e in mine] == list(range(per_thread))
        ids = [e.event_id for e in mine]
        assert ids == sorted(ids)
        assert all(e.data["__event_id__"] == e.event_id for e in mine)
