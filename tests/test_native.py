"""The C hot path (``_speedups.c``) records exactly what the Python code records.

The whole suite also runs with ``TELEMETRY_CORE_PURE_PYTHON=1`` (see noxfile.py); this
file compares the two paths event by event, in one process.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from conftest import SCHEMA_ID, TEST_SCHEMA, SubmittedSink
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry_core import EventLog, _eventlog
from telemetry_core._errors import EventValidationError
from telemetry_core._native import speedups
from telemetry_core.sinks import SinkEvent
from telemetry_core.sinks import _spool as spool

pytestmark = pytest.mark.skipif(speedups is None, reason="the C hot path is not built")

STAMPED = ("__timestamp__", "__event_id__")  # differ between any two recordings

text = st.text(max_size=8)
EVENTS = st.fixed_dictionaries(
    {"name": text},
    optional={
        "count": st.integers(min_value=-2, max_value=2**70),  # some invalid, some huge
        "user": text,
        "location": st.one_of(text, st.integers()),
        "details": st.fixed_dictionaries(
            {}, optional={"size": st.integers(-5, 5), "email": text}),
        "files": st.lists(st.fixed_dictionaries(
            {}, optional={"kind": text, "path": text}), max_size=3),
    })
# The test schema without its nested PII: redaction is then top-level nulls only,
# which the C code applies itself (it calls the Python redactor for anything else).
FLAT_SCHEMA = copy.deepcopy(TEST_SCHEMA)
FLAT_SCHEMA["properties"]["details"]["properties"]["email"].pop("pii")
FLAT_SCHEMA["properties"]["files"]["items"]["properties"]["path"].pop("pii")
POLICIES: dict[str, dict[str, Any]] = {
    "flat": {"allowed_schemas": [SCHEMA_ID]},
    "list": {"allowed_schemas": [SCHEMA_ID]},
    "categories": {"allowed_schemas": {SCHEMA_ID: {"allowed_categories": ["geo"],
                                                   "allowed_properties": ["user"]}}},
    "hash": {"allowed_schemas": [SCHEMA_ID], "redaction": "hash",
             "redaction_secret": "s3cret"},
}


def make_log(policy: str) -> tuple[EventLog, SubmittedSink]:
    sink = SubmittedSink()
    log = EventLog(handlers=[sink], register_builtin_schemas=False, **POLICIES[policy])
    log.register_schema(copy.deepcopy(FLAT_SCHEMA if policy == "flat" else TEST_SCHEMA))
    route = log._route(SCHEMA_ID, 1)
    assert route is not None and route.redactor is not None
    assert (route.redactor.top_nulls is not None) == (policy == "flat")
    return log, sink


def record_python(monkeypatch: pytest.MonkeyPatch, log: EventLog, *args: Any) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(_eventlog, "_record_fast", None)
        return log.record_event(*args)


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "recorded", call()
    except EventValidationError as exc:
        return "invalid", str(exc)


def unstamped(event: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in event.items() if k not in STAMPED]  # order counts too


@pytest.mark.parametrize("policy", sorted(POLICIES))
@settings(max_examples=150, deadline=None)
@given(event=EVENTS)
def test_c_and_python_record_the_same_event(policy: str, event: dict[str, Any]) -> None:
    monkeypatch = pytest.MonkeyPatch()
    log, sink = make_log(policy)
    before = copy.deepcopy(event)
    log.record_event(SCHEMA_ID, 1, {"name": "warm"})  # caches the route, as in use
    sink.kept.clear()

    python = outcome(lambda: record_python(monkeypatch, log, SCHEMA_ID, 1, event))
    native = outcome(lambda: log.record_event(SCHEMA_ID, 1, event))

    assert event == before, "the caller's dict changed"
    assert python[0] == native[0]
    if python[0] == "invalid":
        assert python[1] == native[1]
        assert sink.kept == []
        return
    assert unstamped(native[1]) == unstamped(python[1])
    by_python, by_c = sink.kept
    assert type(by_c) is SinkEvent
    assert (by_c.schema_id, by_c.version) == (by_python.schema_id, by_python.version)
    assert unstamped(orjson.loads(by_c.json)) == unstamped(orjson.loads(by_python.json))
    assert by_c.line.endswith(b"\n") and by_c.line.count(b"\n") == 1
    assert (by_c.timestamp, by_c.event_id) == (native[1]["__timestamp__"],
                                               native[1]["__event_id__"])
    assert by_c.event_id > by_python.event_id  # one clock for both paths: still ordered


def test_the_c_path_records_the_common_case_itself() -> None:
    log, sink = make_log("flat")
    log.record_event(SCHEMA_ID, 1, {"name": "warm the route"})
    recorded = _eventlog._record_fast(log, SCHEMA_ID, 1, {"name": "a", "user": "ada"})
    assert recorded is not NotImplemented
    assert recorded["user"] is None and recorded["name"] == "a"
    assert sink.kept[-1].data == recorded


class Frozen(Mapping[str, Any]):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


FALLBACKS: dict[str, Any] = {
    "an uncached route": lambda log: (SCHEMA_ID, 2, {"name": "a"}),
    "a Mapping that is not a dict": lambda log: (SCHEMA_ID, 1, Frozen({"name": "a"})),
    "an invalid event": lambda log: (SCHEMA_ID, 1, {"count": -1}),
    "an envelope field in the event": lambda log: (SCHEMA_ID, 1, {"name": "a",
                                                                  "__event_id__": "x"}),
    "a modifier": lambda log: (log.add_modifier(lambda **kw: None),
                               (SCHEMA_ID, 1, {"name": "a"}))[1],
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_what_the_c_path_leaves_to_python_has_no_effect_first(case: str) -> None:
    log, sink = make_log("list")
    log.record_event(SCHEMA_ID, 1, {"name": "warm the route"})
    sink.kept.clear()
    args = FALLBACKS[case](log)
    assert _eventlog._record_fast(log, *args) is NotImplemented
    assert sink.kept == [], "nothing may be delivered before handing over to Python"


def test_a_filtered_sink_gets_events_through_logging_from_the_c_path() -> None:
    log, sink = make_log("list")
    log.record_event(SCHEMA_ID, 1, {"name": "warm the route"})
    sink.kept.clear()
    seen: list[logging.LogRecord] = []
    sink.addFilter(lambda record: seen.append(record) or False)  # refuses everything
    assert _eventlog._record_fast(log, SCHEMA_ID, 1, {"name": "a"})["name"] == "a"
    assert len(seen) == 1 and sink.kept == []


def test_a_schema_that_is_not_allowed_is_recorded_nowhere() -> None:
    log, sink = make_log("list")
    assert log.record_event("https://example.org/not-allowed", 1, {"name": "a"}) is None
    assert _eventlog._record_fast(log, "https://example.org/not-allowed", 1, {}) is None
    assert sink.kept == []


def test_sink_events_are_left_to_reference_counting() -> None:
    import gc

    event = SinkEvent("id", "schema", "1", "ts", b"{}")
    assert not gc.is_tracked(event)  # it holds only strings, bytes and parsed JSON
    assert event.data == {} and event.line == b"{}\n"


def python_spool_line(event: SinkEvent) -> bytes:
    header = (event.event_id, event.schema_id, event.version, event.timestamp)
    return b"%b\t%b" % (orjson.dumps(header), event.line)


@settings(max_examples=500, deadline=None)
@given(fields=st.tuples(*[st.text(alphabet=st.characters(codec="utf-8"))] * 4),
       body=st.dictionaries(st.text(max_size=4), st.text(max_size=8), max_size=3))
def test_c_spool_lines_are_byte_for_byte_the_python_ones(fields: Any, body: Any) -> None:
    event = SinkEvent(*fields, orjson.dumps(body))
    line = speedups.spool_line(event)
    assert line == python_spool_line(event)
    assert spool.decode(line) == event


def test_the_c_spool_line_leaves_the_odd_cases_to_python() -> None:
    pretty = SinkEvent("id", "s", "1", "ts", b'{\n "a": 1\n}')
    surrogate = SinkEvent("\ud800", "s", "1", "ts", b"{}")
    not_text = SinkEvent("id", "s", 1, "ts", b"{}")  # type: ignore[arg-type]
    for event in (pretty, surrogate, not_text):
        assert speedups.spool_line(event) is None
    assert spool.decode(spool.encode(pretty)) == SinkEvent("id", "s", "1", "ts", b'{"a":1}')
    assert spool.decode(spool.encode(not_text)) == SinkEvent("id", "s", "1", "ts", b"{}")


def _queues(**bounds: Any) -> tuple[Any, Any]:
    import threading
    from collections import deque

    from telemetry_core.sinks import _queue

    def make(cls: Any) -> Any:
        q = cls(deque(), threading.Lock(), {"accepted": 0}, bytearray(1),
                bounds.get("max_bytes", 10_000), bounds.get("batch_size", 4),
                bounds.get("spill_bytes", 10_000), bounds.get("wake", (1, 4, 6)),
                bounds.get("yield_mask", 1))
        q.room = bounds.get("room", 8)
        return q

    return make(speedups.SinkQueue), make(_queue._SinkQueue)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["offer", "want", "spool", "take", "room"]),
                                st.integers(0, 9)), max_size=40),
       max_bytes=st.integers(0, 2_000), spill_bytes=st.integers(1, 2_000))
def test_c_sink_queue_offers_what_the_python_twin_offers(
        steps: list[tuple[str, int]], max_bytes: int, spill_bytes: int) -> None:
    c, py = _queues(max_bytes=max_bytes, spill_bytes=spill_bytes)
    events = [SinkEvent(f"e{i}", "s", "1", "t", b"x" * (10 * i)) for i in range(10)]
    for op, n in steps:
        for q in (c, py):
            if op == "want":
                q.lock_wanted[0] = n % 2
            elif op == "spool":
                q.spooling = bool(n % 2)
            elif op == "take":
                for _ in range(min(n, len(q.items))):
                    q.bytes -= len(q.items.popleft().line)
            elif op == "room":
                q.room = n
        if op == "offer":
            assert c.offer(events[n]) == py.offer(events[n])
        assert (len(c), c.bytes, c.counters) == (len(py), py.bytes, py.counters)
        assert [e.event_id for e in c.items] == [e.event_id for e in py.items]


def test_c_sink_queue_offer_codes_and_what_it_refuses() -> None:
    from telemetry_core.sinks import _queue

    c, _ = _queues(batch_size=2, wake=(1, 5, 5), yield_mask=1, room=3, max_bytes=10_000)
    event = SinkEvent("e", "s", "1", "t", b"{}")
    assert c.offer(event) == _queue.OFFER_NOTIFY  # depth 1: wake the threads
    assert c.offer(event) == _queue.OFFER_BEHIND  # a full batch, at a yield depth
    c.lock_wanted[0] = 1
    assert c.offer(event) == _queue.OFFER_HAND_OVER
    assert c.offer(event) == _queue.OFFER_REFUSED  # no room: the slow path's to handle
    assert len(c) == 3 and c.counters == {"accepted": 3} and c.bytes == 9
    with pytest.raises(AttributeError):
        c.offer(object())  # no line
    c.counters.clear()
    c.room = 10
    with pytest.raises(KeyError):
        c.offer(event)  # an error with the lock held: it is released all the same
    assert not c.lock.locked()
