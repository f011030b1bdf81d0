"""SinkHandler mechanics through ``submit``, with test-double sinks that fail on purpose.

Nothing here measures speed: where a test must wait for a background thread it polls
with a generous bound that only guards against a hang.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from telemetry_core.sinks import (
    Option,
    PermanentSinkError,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    SinkHandler,
    TransientSinkError,
    WriteResult,
    extra_options,
    option,
    read_dead_letters,
)
from telemetry_core.testing import wait_for


def make_event(i: int, schema: str = "https://example.org/schemas/thing") -> SinkEvent:
    return SinkEvent.from_json(orjson.dumps({
        "__event_id__": f"e{i:05d}", "__schema__": schema, "__schema_version__": "1",
        "__timestamp__": "2026-01-02T03:04:05Z", "n": i}))


def ids(n: int, start: int = 0) -> list[str]:
    return [f"e{i:05d}" for i in range(start, start + n)]


class Recorder(Sink):
    """A sink that records event ids; ``up`` cleared makes it fail, ``gate`` blocks it."""

    @dataclass(frozen=True)
    class Options:
        down: bool = option(False, "start failing")
        gate: threading.Event | None = option(None, "write_batch waits for it")

    type = "recorder"

    def __init__(self, context: SinkContext, options: Options) -> None:
        super().__init__(context)
        self.up = threading.Event()
        if not options.down:
            self.up.set()
        self.gate = options.gate
        self.entered = threading.Event()
        self.got: list[str] = []
        self.calls = 0

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait()
        if not self.up.is_set():
            raise TransientSinkError("server down")
        self.got.extend(e.event_id for e in events)
        return None


def make(sink: type[Sink] = Recorder, **options: Any) -> SinkHandler:
    """A handler around ``sink`` with quick retries and batches, for tests."""
    options.setdefault("retry_initial", 0.002)
    options.setdefault("retry_max", 0.02)
    options.setdefault("batch_age", 0.005)
    options.setdefault("stats_interval", 0)
    return SinkHandler(sink, **options)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def closing() -> Any:
    """Handlers made in a test are closed after it, even when it fails."""
    made: list[SinkHandler] = []
    yield made.append
    for h in made:
        if getattr(h.sink, "gate", None) is not None:
            h.sink.gate.set()
        h.delivery.close_timeout = 2.0
        h.close()


# -- nothing lost while the sink fails and recovers -------------------------------------


def test_sink_down_then_up_delivers_every_event_once_in_order(spool: Path, closing: Any) -> None:
    h = make(down=True, spool_dir=spool, batch_size=50, max_attempts=2)
    closing(h)
    for i in range(300):
        h.submit(make_event(i))
    assert h.flush(timeout=30), "flush must return once everything is delivered or spooled"
    stats = h.stats()
    assert stats["spooled"] == 300 and stats["delivered"] == 0 and stats["spool_bytes"] > 0
    h.sink.up.set()  # the server comes back; more events arrive while the spool replays
    for i in range(300, 400):
        h.submit(make_event(i))
    wait_for(lambda: len(h.sink.got) >= 400, "all 400 events delivered")
    h.flush(timeout=30)
    assert h.sink.got == ids(400)
    stats = h.stats()
    assert stats["accepted"] == 400 and stats["delivered"] == 400
    assert stats["replayed"] >= 300 and stats["retried"] > 0 and stats["dropped"] == 0
    wait_for(lambda: h.stats()["spooling"] == 0, "back to direct delivery")
    assert h.stats()["spool_bytes"] == 0


def test_sink_failing_a_few_times_recovers_without_duplicates(spool: Path, closing: Any) -> None:
    class FailsThrice(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            if self.calls < 3:
                self.calls += 1
                raise ConnectionError("connection reset")  # not a SinkError: still transient
            return super().write_batch(events)

    h = make(FailsThrice, spool_dir=spool, batch_size=10, max_attempts=5)
    closing(h)
    for i in range(100):
        h.submit(make_event(i))
    assert h.flush(timeout=30)
    assert h.sink.got == ids(100)
    assert h.stats()["retried"] > 0 and h.stats()["spooled"] == 0


def test_partial_write_result_retries_only_the_failed_events(spool: Path, closing: Any) -> None:
    class OddOnesLater(Recorder):
        seen: set[str] = set()

        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            later = [e for e in events if int(e.event_id[1:]) % 2 and e.event_id not in self.seen]
            self.seen.update(e.event_id for e in later)
            self.got.extend(e.event_id for e in events if e not in later)
            return WriteResult(retry=later)

    h = make(OddOnesLater, spool_dir=spool, batch_size=20)
    closing(h)
    for i in range(60):
        h.submit(make_event(i))
    assert h.flush(timeout=30)
    assert sorted(h.sink.got) == ids(60) and len(set(h.sink.got)) == 60
    assert h.stats()["delivered"] == 60 and h.stats()["retried"] == 30


# -- permanent rejection ------------------------------------------------------------------


def test_permanent_rejections_go_to_the_dead_letter_file(spool: Path, closing: Any) -> None:
    class Picky(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            if any(e.schema_id.endswith("/bad") for e in events):
                raise PermanentSinkError("mapping conflict on field n")
            rejected = [(e, "n is a multiple of 7") for e in events if int(e.event_id[1:]) % 7 == 0]
            self.got.extend(e.event_id for e in events if int(e.event_id[1:]) % 7)
            return WriteResult(rejected=rejected)

    h = make(Picky, spool_dir=spool, batch_size=10)
    closing(h)
    for i in range(1, 29):
        h.submit(make_event(i))
    assert h.flush(timeout=30)
    h.submit(make_event(99, schema="https://example.org/schemas/bad"))
    assert h.flush(timeout=30)
    letters = read_dead_letters(spool / "dead-letter.jsonl")
    by_id = {d["event_id"]: d for d in letters}
    assert sorted(by_id) == ["e00007", "e00014", "e00021", "e00028", "e00099"]
    assert by_id["e00014"]["reason"] == "n is a multiple of 7"
    assert by_id["e00099"]["reason"] == "mapping conflict on field n"
    assert by_id["e00014"]["event"]["n"] == 14  # the event itself, not a string of it
    assert by_id["e00099"]["sink"] == "recorder/default"
    stats = h.stats()
    assert stats["dead_lettered"] == 5 and stats["delivered"] == 24 and stats["dropped"] == 0


def test_rejections_while_replaying_the_spool_are_dead_lettered(spool: Path,
                                                                closing: Any) -> None:
    class RejectsOddOnesWhenUp(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            if not self.up.is_set():
                raise TransientSinkError("server down")
            odd = [(e, "odd") for e in events if int(e.event_id[1:]) % 2]
            self.got.extend(e.event_id for e in events if not int(e.event_id[1:]) % 2)
            return WriteResult(rejected=odd)

    h = make(RejectsOddOnesWhenUp, down=True, spool_dir=spool, max_attempts=1, batch_size=8)
    closing(h)
    for i in range(40):
        h.submit(make_event(i))
    assert h.flush(timeout=30) and h.stats()["spooled"] == 40
    h.sink.up.set()
    wait_for(lambda: h.stats()["spooling"] == 0, "the spool replayed")
    assert h.sink.got == ids(40)[::2]
    assert [d["event_id"] for d in read_dead_letters(spool / "dead-letter.jsonl")] == ids(40)[1::2]
    stats = h.stats()
    assert stats["replayed"] == stats["delivered"] == 20 and stats["dead_lettered"] == 20


def test_dead_letter_file_is_bounded(tmp_path: Path, closing: Any) -> None:
    class RejectAll(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            raise PermanentSinkError("no")

    dead = tmp_path / "dl" / "rejected.jsonl"
    h = make(RejectAll, spool_dir=tmp_path / "spool", dead_letter_path=dead,
                  dead_letter_max_bytes=2000, batch_size=5)
    closing(h)
    for i in range(60):
        h.submit(make_event(i))
    assert h.flush(timeout=30)
    assert dead.stat().st_size <= 2000 and Path(str(dead) + ".1").exists()
    assert h.stats()["dead_letter_rotations"] >= 1 and h.stats()["dead_lettered"] == 60


# -- full queue, full spool -------------------------------------------------------------


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_full_queue_without_spool_drops_by_policy_and_counts(
        policy: str, closing: Any, caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    h = make(spool=False, gate=gate, queue_max_events=10, drop_policy=policy, batch_size=1)
    closing(h)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the sink holds the first event")
    for i in range(1, 31):
        h.submit(make_event(i))  # returns although the sink is blocked
    assert not gate.is_set()
    stats = h.stats()
    assert stats["queue_depth"] == 10 and stats["dropped"] == 20
    gate.set()
    assert h.flush(timeout=30)
    expected = ids(10, start=1) if policy == "drop_newest" else ids(10, start=21)
    assert h.sink.got == ["e00000", *expected]
    assert h.stats()["delivered"] == 11 and h.stats()["dropped"] == 20
    warnings = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1  # logged, and not once per dropped event
    assert ("oldest" in warnings[0]) == (policy == "drop_oldest")


def test_queue_bytes_bound_counts_too(closing: Any) -> None:
    gate = threading.Event()
    size = len(make_event(1).line)
    h = make(spool=False, gate=gate, queue_max_bytes=size * 4, batch_size=1)
    closing(h)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the sink holds the first event")
    for i in range(1, 11):
        h.submit(make_event(i))
    stats = h.stats()
    assert stats["queue_depth"] == 4 and stats["queue_bytes"] == 4 * size
    assert stats["dropped"] == 6
    gate.set()


@pytest.mark.parametrize("extra", [1, 3, 7])  # fewer, as many, more than a batch
def test_batches_taken_from_a_longer_queue_keep_order_and_byte_counts(
        extra: int, closing: Any) -> None:
    gate = threading.Event()
    sizes = [len(make_event(i).line) for i in range(30)]
    h = make(spool=False, gate=gate, batch_size=3)
    closing(h)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the sink holds the first event")
    queued = list(range(1, 4 + extra))
    for i in queued:
        h.submit(make_event(i))
    with h.delivery._cv:
        assert h.delivery._queue.bytes == sum(sizes[i] for i in queued)
        batch = h.delivery._pop(3)  # what the delivery thread takes next, by hand here
        assert [e.event_id for e in batch] == ids(3, start=1)
        assert h.delivery._queue.bytes == sum(sizes[i] for i in queued[3:])
        assert [e.event_id for e in h.delivery._queue.items] == ids(extra, start=4)
    h.delivery._settle(3, delivered=3)  # as if delivered: they never reach the sink
    for i in range(4 + extra, 10):  # submit still appends to the queue that stayed
        h.submit(make_event(i))
    gate.set()
    assert h.flush(5)
    last = max(9, 3 + extra)
    assert h.sink.got == ["e00000", *ids(last - 3, start=4)]
    assert h.stats()["queue_bytes"] == 0


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest"])
def test_full_spool_drops_by_policy_and_counts(policy: str, spool: Path, closing: Any) -> None:
    line = 120  # roughly one spooled event
    h = make(down=True, spool_dir=spool, spool_max_bytes=40 * line,
                 spool_segment_bytes=8 * line, drop_policy=policy, batch_size=5, max_attempts=1)
    closing(h)
    for i in range(200):
        h.submit(make_event(i))
    assert h.flush(timeout=30)
    stats = h.stats()
    assert stats["dropped"] > 0, stats
    assert stats["spool_bytes"] <= 40 * line
    h.sink.up.set()
    wait_for(lambda: h.stats()["spooling"] == 0, "spool replayed")
    got = h.sink.got
    assert got == sorted(got) and len(set(got)) == len(got)  # in order, once each
    assert len(got) + h.stats()["dropped"] == 200
    if policy == "drop_newest":
        assert got == ids(len(got))  # the oldest were kept
    else:
        assert got[-1] == "e00199"  # the newest were kept


# -- the application thread --------------------------------------------------------------


def test_submit_returns_while_the_sink_is_blocked(spool: Path, closing: Any) -> None:
    gate = threading.Event()
    # A tiny queue; emit_timeout lets a caller that finds it full wait for the spooler
    # (which moves events to disk), never for the blocked sink.
    h = make(spool_dir=spool, gate=gate, batch_size=10, queue_max_events=50,
                 emit_timeout=30)
    closing(h)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the sink holds the first event")  # blocked from here on
    for i in range(1, 500):  # far more than the queue holds: the rest goes to disk
        h.submit(make_event(i))
    assert not gate.is_set()
    gate.set()
    assert h.flush(timeout=30)
    wait_for(lambda: len(h.sink.got) == 500, "every event delivered after the sink unblocks")
    assert h.sink.got == ids(500)
    assert h.stats()["dropped"] == 0


def test_emit_timeout_bounds_the_wait_when_full(closing: Any) -> None:
    gate = threading.Event()
    h = make(spool=False, gate=gate, queue_max_events=1, emit_timeout=0.05, batch_size=1)
    closing(h)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the sink holds the first event")
    h.submit(make_event(1))
    h.submit(make_event(2))  # waits up to emit_timeout for room, then drops
    assert not gate.is_set()
    assert h.stats()["dropped"] == 1


def test_a_sink_that_raises_never_reaches_the_caller(spool: Path, closing: Any) -> None:
    class Broken(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            raise ZeroDivisionError("a bug in the plugin")

    h = make(Broken, spool_dir=spool, max_attempts=1)
    closing(h)
    logger = logging.getLogger("test.sink.broken")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        for i in range(20):
            h.submit(make_event(i))
            logger.info({"__event_id__": f"log{i}", "__schema__": "s",
                         "__schema_version__": "1", "__timestamp__": "t"})
        assert h.flush(timeout=30)
    finally:
        logger.removeHandler(h)
    assert h.stats()["accepted"] == 40 and h.stats()["spooled"] == 40


def test_open_failing_at_first_is_retried_and_loses_nothing(spool: Path, closing: Any) -> None:
    class LateServer(Recorder):
        def open(self) -> None:
            if not self.up.is_set():
                raise SinkConfigError("cannot reach server")

    h = make(LateServer, down=True, spool_dir=spool, max_attempts=2)
    closing(h)
    with pytest.raises(SinkConfigError, match="cannot reach server"):
        h.start()  # an explicit start shows configuration errors
    for i in range(30):
        h.submit(make_event(i))  # a lazy start logs them and keeps going
    assert h.flush(timeout=30)
    h.sink.up.set()
    wait_for(lambda: len(h.sink.got) == 30, "delivered once the server answers")
    assert h.sink.got == ids(30)


def test_logging_emit_takes_the_core_event_or_a_dict(spool: Path, closing: Any) -> None:
    h = make(spool_dir=spool)
    closing(h)
    logger = logging.getLogger("test.sink.emit")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "x", None, None,
                                   extra={"sink_event": make_event(1)})
        logger.handle(record)
        logger.info({"__event_id__": "e00002", "__schema__": "s", "__schema_version__": "1",
                     "__timestamp__": "t"})
        assert h.flush(timeout=30)
    finally:
        logger.removeHandler(h)
    assert h.sink.got == ["e00001", "e00002"]


# -- flush, close, restart -------------------------------------------------------------


def test_close_drains_and_later_submits_are_counted(spool: Path) -> None:
    h = make(spool_dir=spool, batch_age=5.0, batch_size=1000)
    for i in range(50):
        h.submit(make_event(i))
    h.close()
    assert h.sink.got == ids(50)
    h.submit(make_event(50))  # after close: counted, never raised
    assert h.stats()["dropped"] == 1


def test_flush_without_events_is_true_and_close_without_start_is_fine(spool: Path) -> None:
    h = make(spool_dir=spool)
    assert h.flush(timeout=1)
    h.close()
    assert not spool.exists()  # never started: nothing written


def test_a_new_handler_replays_what_the_last_one_spooled(spool: Path) -> None:
    first = make(down=True, spool_dir=spool, batch_size=7, max_attempts=1,
                     close_timeout=5)
    for i in range(100):
        first.submit(make_event(i))
    first.close()  # sink still down: everything stays on disk
    assert first.stats()["spooled"] == 100 and first.sink.got == []
    second = make(spool_dir=spool, batch_size=7)
    second.start()
    wait_for(lambda: second.stats()["spooling"] == 0, "the spool replayed by the next run")
    assert second.sink.got == ids(100)
    second.submit(make_event(100))  # delivered directly now
    second.close()
    assert second.sink.got == ids(101)
    assert second.stats()["replayed"] == 100


def test_two_sinks_sharing_a_spool_dir_get_their_own_slots_and_a_warning(
        spool: Path, closing: Any, caplog: pytest.LogCaptureFixture) -> None:
    a = make(spool_dir=spool)
    closing(a)
    a.start()
    b = make(spool_dir=spool)  # e.g. the same configuration built twice
    closing(b)
    b.start()
    assert a.delivery._slot is not None and b.delivery._slot is not None
    assert (a.delivery._slot.path.name, b.delivery._slot.path.name) == ("slot-0", "slot-1")
    assert "give each sink of type 'recorder' its own 'name'" in caplog.text


@pytest.mark.parametrize(("option", "value", "message"), [
    ("drop_policy", "newest", "'drop_policy' must be one of 'drop_newest', 'drop_oldest', "
                              "got 'newest'"),
    ("spool_fsync", "sometimes", "'spool_fsync' must be one of 'never', 'batch', 'always'"),
    ("queue_max_events", 0, "'queue_max_events' must be >= 1, got 0"),
    ("batch_size", 0, "'batch_size' must be >= 1, got 0"),
    ("queue_max_bytes", "64MB", "'queue_max_bytes' must be a whole number, got '64MB'"),
    ("spool", "no", "'spool' must be true or false, got 'no'"),
    ("spool_at", 2, "'spool_at' must be <= 1, got 2"),
    ("file_mode", "rw-------", "'file_mode' must be permission bits"),
    ("batch_sise", 10, "unknown option 'batch_sise'; did you mean 'batch_size'"),
    ("colour", 10, "unknown option 'colour'; its options: down, gate; options of every "
                   "sink: name, batch_size"),
])
def test_bad_options_are_clear(option: str, value: object, message: str) -> None:
    with pytest.raises(SinkConfigError) as info:
        make(**{option: value})
    assert str(info.value).startswith("recorder sink: ")
    assert message in str(info.value)


@dataclass(frozen=True)
class _Typed:
    count: int = option(1, "a whole number", minimum=1)
    ratio: float = option(0.5, "a number")
    label: str | None = option(None, "a string, or not set")
    tags: list[str] = option([], "a list")
    server: str = option(None, "the server.address", key="server.address", required=True)


class TypedSink(Sink):
    """Options declared once, as a dataclass; received as one instance of it."""

    type = "typed"
    Options = _Typed

    def __init__(self, context: SinkContext, options: _Typed) -> None:
        super().__init__(context)
        self.settings = options

    def write_batch(self, events: Sequence[SinkEvent]) -> None:
        return None


def test_options_are_declared_once_and_arrive_as_one_typed_object() -> None:
    declared = {o.name: o for o in TypedSink.declared_options()}
    assert [(o.kind, o.nullable, o.required) for o in declared.values()] == [
        ("int", False, False), ("float", False, False), ("str", True, False),
        ("list", False, False), ("str", False, True)]
    sink = SinkHandler(TypedSink, **{"server.address": "h:1", "count": 3}, spool=False).sink
    assert isinstance(sink, TypedSink)
    assert sink.settings == _Typed(count=3, ratio=0.5, label=None, tags=[], server="h:1")
    assert sink.settings.tags is not _Typed().tags  # a fresh list each, never shared


@pytest.mark.parametrize(("options", "message"), [
    ({"count": "3"}, "'count' must be a whole number, got '3'"),
    ({"count": 0}, "'count' must be >= 1, got 0"),
    ({"ratio": None}, "'ratio' must be a number, got None"),
    ({"tags": "a,b"}, "'tags' must be a list"),
    ({"cuont": 2}, "unknown option 'cuont'; did you mean 'count'"),
    ({"server_address": "h:1"}, "did you mean 'server.address'"),
    ({"server.address": None}, "'server.address' is required"),
])
def test_a_wrong_option_is_a_config_error_never_a_type_error(
        options: dict[str, Any], message: str) -> None:
    settings = {"server.address": "h:1", **options}
    with pytest.raises(SinkConfigError, match="typed sink: ") as info:
        SinkHandler(TypedSink, **settings, spool=False)
    assert message in str(info.value)


def test_a_sink_written_for_the_older_contract_still_works() -> None:
    # A tuple of Option values and keyword arguments, as plugins wrote before Options.
    class Older(Sink):
        type = "older"
        options = (Option("colour", "str", "blue", "a colour"),)

        def __init__(self, context: SinkContext, *, colour: str) -> None:
            super().__init__(context)
            self.colour = colour

        def write_batch(self, events: Sequence[SinkEvent]) -> None:
            return None

    sink = SinkHandler(Older, colour="red", spool=False).sink
    assert isinstance(sink, Older) and sink.colour == "red"
    assert [o.name for o in Older.declared_options()] == ["colour"]
    with pytest.raises(SinkConfigError, match="did you mean 'colour'"):
        SinkHandler(Older, color="red", spool=False)


def test_extra_settings_arrive_in_the_extra_options_field() -> None:
    @dataclass(frozen=True)
    class WithExtra:
        topic: str = option("t", "a topic")
        settings: dict[str, Any] = extra_options("client settings")

    class Passing(TypedSink):
        Options = WithExtra

        @classmethod
        def accepts_extra(cls, key: str) -> bool:
            return "." in key

    sink = SinkHandler(Passing, **{"linger.ms": 5}, spool=False).sink
    assert isinstance(sink, Passing)
    assert sink.settings == WithExtra(topic="t", settings={"linger.ms": 5})
    with pytest.raises(SinkConfigError, match="unknown option 'linger'"):
        SinkHandler(Passing, linger=5, spool=False)

    class Dropping(Passing):  # lets settings through but has nowhere to put them
        Options = _Typed

    with pytest.raises(TypeError, match="no extra_options"):
        SinkHandler(Dropping, **{"server.address": "h:1", "linger.ms": 5}, spool=False)


def test_a_sinks_counters_change_only_under_the_delivery_lock() -> None:
    # A sink may count from any thread (S3's uploads); stats() reads every counter under
    # the delivery's lock, so a count must wait for it.
    h = make(spool=False)
    counted = threading.Event()

    def count() -> None:
        h.delivery.context.count("mine")
        counted.set()

    counter = threading.Thread(target=count)
    with h.delivery._cv:
        counter.start()
        assert not counted.wait(0.2)  # held off while the lock is taken
    counter.join()
    assert h.stats()["mine"] == 1
    h.close()


def test_default_spool_dir_uses_xdg_state_home(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    h = make(name="primary")
    assert h.spool_dir == tmp_path / "telemetry" / "spool" / "recorder-primary"


def test_close_does_not_sit_out_a_long_backoff(spool: Path) -> None:
    h = make(down=True, spool_dir=spool, retry_initial=3600, retry_max=3600,
                 max_attempts=5, close_timeout=30)
    for i in range(10):
        h.submit(make_event(i))
    wait_for(lambda: h.stats()["retried"] > 0, "the first attempt failed")
    h.sink.up.set()  # back, while the worker sleeps an hour-long backoff
    closer = threading.Thread(target=h.close)
    closer.start()
    closer.join(timeout=60)  # a bound against a hang, far below the hour
    assert not closer.is_alive()
    assert h.sink.got == ids(10)


def test_a_sink_event_holds_its_json_as_one_line_and_compares_by_value() -> None:
    raw = orjson.dumps({"__event_id__": "e1", "n": 1})
    event = SinkEvent("e1", "https://example.org/s", "1", "2026-01-02T03:04:05Z", raw)
    assert event.line == raw + b"\n" and event.json == raw
    assert event.data == {"__event_id__": "e1", "n": 1}
    twin = SinkEvent("e1", "https://example.org/s", "1", "2026-01-02T03:04:05Z", raw)
    other = SinkEvent("e2", "https://example.org/s", "1", "2026-01-02T03:04:05Z", raw)
    assert event == twin and hash(event) == hash(twin) and event != other
    assert len({event, twin, other}) == 2
    assert SinkEvent.from_json(raw).event_id == "e1"
    assert "json=b'{" in repr(event)
    with pytest.raises(ValueError, match="a JSON object"):
        SinkEvent.from_json(b"[1]")
