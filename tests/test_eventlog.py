"""EventLog: recording, the envelope, handlers, sinks, modifiers, capture helpers."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import logging
import logging.handlers
import os
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import SCHEMA_ID

import telemetry_core
from telemetry_core import (
    EventLog,
    EventValidationError,
    SchemaNotRegistered,
    SchemaNotRegisteredError,
    hookimpl,
    register_plugin,
    unregister_plugin,
)
from telemetry_core.sinks import SinkEvent, SinkHandler
from telemetry_core.testing import CaptureHandler, MemorySink, capture_events, memory_plugin

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ENVELOPE = {"__timestamp__", "__schema__", "__schema_version__", "__metadata_version__",
            "__event_id__"}


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def ListSink() -> SinkHandler:  # noqa: N802 - reads like the class it stands for
    """A sink handler that keeps what it is submitted (``submitted``) and delivered
    (``.sink.events``): a test double for core mechanics."""
    handler = SinkHandler(MemorySink, spool=False)
    handler.submitted = []  # type: ignore[attr-defined]
    deliver = handler.submit

    def submit(event: SinkEvent) -> None:
        handler.submitted.append(event)  # type: ignore[attr-defined]
        deliver(event)

    handler.submit = submit  # type: ignore[method-assign]
    return handler


# -- recording and the envelope ------------------------------------------------------


def test_record_writes_one_json_object_per_line_with_the_envelope(eventlog, stream):
    eventlog.record_event(SCHEMA_ID, 1, {"name": "a", "count": 1})
    eventlog.record_event(SCHEMA_ID, 1, {"name": "b\nwith newline", "count": 2})
    text = stream.getvalue()
    assert text.count("\n") == 2
    first, second = lines(stream)
    assert set(first) == ENVELOPE | {"name", "count"}
    assert first["__schema__"] == SCHEMA_ID
    assert first["__schema_version__"] == 1
    assert first["__metadata_version__"] == 1
    assert TIMESTAMP.match(first["__timestamp__"])
    assert second["name"] == "b\nwith newline"
    # The event id is a time-ordered UUID (version 7) and unique.
    ids = [first["__event_id__"], second["__event_id__"]]
    assert [uuid.UUID(i).version for i in ids] == [7, 7]
    assert ids[0] < ids[1]


def test_record_returns_the_event_as_recorded(eventlog, stream):
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert recorded == lines(stream)[0]


def test_timestamp_is_now_in_utc(eventlog):
    before = dt.datetime.now(dt.timezone.utc)
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    after = dt.datetime.now(dt.timezone.utc)
    stamp = dt.datetime.strptime(recorded["__timestamp__"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert before.replace(tzinfo=None) <= stamp <= after.replace(tzinfo=None)


@pytest.mark.parametrize("override, expected", [
    (dt.datetime(2026, 1, 2, 3, 4, 5, 6), "2026-01-02T03:04:05.000006Z"),
    (dt.datetime(2026, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "2026-01-02T03:04:05.000000Z"),
])
def test_timestamp_override_is_utc_with_one_designator(eventlog, override, expected):
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"}, timestamp_override=override)
    assert recorded["__timestamp__"] == expected


def test_event_ids_are_unique_and_ordered_within_a_process(eventlog):
    ids = [eventlog.record_event(SCHEMA_ID, 1, {"name": "x"})["__event_id__"]
           for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_event_ids_differ_between_parent_and_forked_child(eventlog):
    eventlog.record_event(SCHEMA_ID, 1, {"name": "warm"})
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: record and report its ids, then leave at once
        ids = [eventlog.record_event(SCHEMA_ID, 1, {"name": "c"})["__event_id__"]
               for _ in range(200)]
        os.write(write, json.dumps(ids).encode())
        os._exit(0)
    os.close(write)
    parent = {eventlog.record_event(SCHEMA_ID, 1, {"name": "p"})["__event_id__"]
              for _ in range(200)}
    with os.fdopen(read) as f:
        child = set(json.loads(f.read()))
    os.waitpid(pid, 0)
    assert len(child) == 200
    assert not parent & child


def test_not_allowed_returns_none_and_writes_nothing(eventlog, stream, schema):
    schema["$id"] = "https://example.org/other"
    eventlog.register_schema(schema)
    assert eventlog.record_event("https://example.org/other", 1, {"name": "a"}) is None
    # Not allowed and not registered either: still just None (nothing to record).
    assert eventlog.record_event("https://example.org/unknown", 1, {"name": "a"}) is None
    assert stream.getvalue() == ""


def test_nothing_is_recorded_by_default(schema, stream):
    log = EventLog(handlers=[logging.StreamHandler(stream)])
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is None
    assert stream.getvalue() == ""


def test_allowed_but_unregistered_schema_is_a_clear_value_error(eventlog):
    with pytest.raises(SchemaNotRegisteredError) as info:
        eventlog.record_event(SCHEMA_ID, 7, {"name": "a"})
    assert isinstance(info.value, ValueError)
    assert SCHEMA_ID in str(info.value) and "7" in str(info.value)
    assert "registered versions of it: 1" in str(info.value)


def test_invalid_event_raises_validation_error_naming_schema_path_and_reason(eventlog, stream):
    with pytest.raises(EventValidationError) as info:
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a", "files": [{"kind": 3}]})
    err = info.value
    assert isinstance(err, jsonschema.ValidationError)
    assert err.json_path == "$.files[0].kind"
    assert SCHEMA_ID in err.message and "version 1" in err.message
    assert err.message.endswith("version 1: $.files[0].kind: type")
    assert (err.schema_id, err.schema_version) == (SCHEMA_ID, "1")
    assert stream.getvalue() == ""  # nothing half-recorded


def test_missing_required_property_is_reported(eventlog):
    with pytest.raises(EventValidationError, match=r"version 1: \$\.name: required$"):
        eventlog.record_event(SCHEMA_ID, 1, {"count": 1})


def test_event_that_is_not_a_dict_is_a_validation_error(eventlog):
    with pytest.raises(EventValidationError, match=r"version 1: \$: type$"):
        eventlog.record_event(SCHEMA_ID, 1, ["name"])


def test_event_may_not_set_envelope_fields(schema, stream):
    schema["additionalProperties"] = True
    log = EventLog(handlers=[logging.StreamHandler(stream)], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    with pytest.raises(EventValidationError, match=r": \$\.__schema__: reserved$"):
        log.record_event(SCHEMA_ID, 1, {"name": "a", "__schema__": "forged"})
    assert stream.getvalue() == ""


def test_callers_dict_is_never_changed(eventlog):
    event = {"name": "a", "user": "ada", "details": {"email": "a@b.c", "size": 1},
             "files": [{"kind": "nb", "path": "/home/ada"}]}
    before = copy.deepcopy(event)
    recorded = eventlog.record_event(SCHEMA_ID, 1, event)
    assert event == before
    assert recorded["user"] is None and recorded["details"]["email"] is None


def test_mapping_that_is_not_a_dict_is_accepted(eventlog):
    from types import MappingProxyType

    recorded = eventlog.record_event(SCHEMA_ID, 1, MappingProxyType({"name": "a"}))
    assert recorded["name"] == "a"


def test_integer_and_string_versions_are_the_same_version(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    schema["version"] = "1"  # as jupyter_events writes it
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"})["__schema_version__"] == "1"
    assert log.record_event(SCHEMA_ID, "1", {"name": "a"}) is not None


def test_several_versions_are_looked_up_by_version(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    v2 = copy.deepcopy(schema)
    v2["version"] = 2
    v2["required"] = ["name", "count"]
    log.register_schema(v2)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is not None
    with pytest.raises(EventValidationError, match="version 2"):
        log.record_event(SCHEMA_ID, 2, {"name": "a"})
    assert log.record_event(SCHEMA_ID, 2, {"name": "a", "count": 1})["__schema_version__"] == 2


def test_registering_after_a_miss_is_seen(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    with pytest.raises(SchemaNotRegisteredError):
        log.record_event(SCHEMA_ID, 1, {"name": "a"})
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is not None


def test_changing_allowed_schemas_takes_effect(schema):
    log = EventLog()
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is None
    log.allowed_schemas = [SCHEMA_ID]
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"}) is not None


def test_schema_is_copied_at_registration(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    schema["properties"]["name"]["type"] = "integer"  # later changes do not leak in
    assert log.record_event(SCHEMA_ID, 1, {"name": "still a string"}) is not None


# -- jupyter_events' emit -------------------------------------------------------------------


def test_emit_records_against_the_newest_version(schema):
    log = EventLog(allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    v2 = copy.deepcopy(schema)
    v2["version"] = 2
    log.register_schema(v2)
    assert log.emit(schema_id=SCHEMA_ID, data={"name": "a"})["__schema_version__"] == 2


def test_emit_warns_for_an_unregistered_schema_like_jupyter_events():
    log = EventLog(allowed_schemas=["https://example.org/nope"])
    with pytest.warns(SchemaNotRegistered):
        assert log.emit(schema_id="https://example.org/nope", data={}) is None


# -- handlers ---------------------------------------------------------------------------


def test_file_handler_writes_json_lines(tmp_path: Path, schema):
    path = tmp_path / "events.log"
    handler = logging.FileHandler(path)
    log = EventLog(handlers=[handler], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    for i in range(3):
        log.record_event(SCHEMA_ID, 1, {"name": "a", "count": i})
    log.close()
    handler.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["count"] for r in records] == [0, 1, 2]


def test_custom_formatter_sees_a_complete_record(eventlog, stream):
    handler = eventlog.handlers[0]
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(process)d %(threadName)s %(funcName)s "
        "%(module)s %(message)s"))
    eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    line = stream.getvalue()
    assert " INFO telemetry_core.eventlog " in line
    assert f" {os.getpid()} MainThread record_event " in line
    payload = json.loads(line[line.index("{"):])
    assert payload["name"] == "a"


def test_memory_handler_buffers_records_and_flushes_them(schema, stream):
    target = logging.StreamHandler(stream)
    buffered = logging.handlers.MemoryHandler(capacity=100, target=target)
    log = EventLog(handlers=[buffered], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    for i in range(3):
        log.record_event(SCHEMA_ID, 1, {"name": "a", "count": i})
    assert stream.getvalue() == ""
    buffered.flush()
    assert [e["count"] for e in lines(stream)] == [0, 1, 2]  # three distinct records


def test_handler_level_and_filters_are_respected(schema):
    quiet = CaptureHandler(level=logging.WARNING)
    filtered = CaptureHandler()
    filtered.addFilter(lambda record: json.loads(record.getMessage())["count"] % 2 == 0)
    log = EventLog(handlers=[quiet, filtered], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    for i in range(4):
        log.record_event(SCHEMA_ID, 1, {"name": "a", "count": i})
    assert quiet.events == []
    assert [e["count"] for e in filtered.events] == [0, 2]


def test_record_carries_the_sink_event(eventlog):
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    eventlog.register_handler(Keep())
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    sink_event = seen[0].sink_event
    assert sink_event.json.decode() == seen[0].getMessage()
    assert sink_event.event_id == recorded["__event_id__"]
    assert (sink_event.schema_id, sink_event.version) == (SCHEMA_ID, "1")


def test_a_handler_that_fails_does_not_break_recording(eventlog, stream, monkeypatch):
    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(logging, "raiseExceptions", False)
    eventlog.handlers = [Broken(), *eventlog.handlers]
    assert eventlog.record_event(SCHEMA_ID, 1, {"name": "a"}) is not None
    assert lines(stream)[0]["name"] == "a"


def test_register_and_remove_handler(eventlog):
    extra = CaptureHandler()
    eventlog.register_handler(extra)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    eventlog.remove_handler(extra)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "b"})
    assert [e["name"] for e in extra.events] == ["a"]


def test_sink_handlers_get_the_serialised_event_without_a_record(schema):
    sink = ListSink()
    stream = io.StringIO()
    log = EventLog(handlers=[sink, logging.StreamHandler(stream)], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    recorded = log.record_event(SCHEMA_ID, 1, {"name": "a", "user": "ada"})
    assert log.flush(timeout=10)
    (event,) = sink.sink.events
    assert sink.submitted == [event]
    assert event.json.decode() == stream.getvalue().strip()  # serialised once, same bytes
    assert event.data == recorded
    assert (event.event_id, event.timestamp) == (recorded["__event_id__"],
                                                 recorded["__timestamp__"])
    sink.close()


def test_sink_handler_with_a_filter_goes_through_logging(schema):
    sink = ListSink()
    sink.addFilter(lambda record: "keep" in record.getMessage())
    log = EventLog(handlers=[sink], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    log.record_event(SCHEMA_ID, 1, {"name": "keep"})
    log.record_event(SCHEMA_ID, 1, {"name": "drop"})
    assert log.flush(timeout=10)
    assert [e.data["name"] for e in sink.sink.events] == ["keep"]
    sink.close()


@pytest.fixture
def listsink_type():
    register_plugin(memory_plugin)
    yield
    unregister_plugin(memory_plugin)


def test_sinks_trait_builds_starts_and_closes_sinks(listsink_type, schema):
    log = EventLog(sinks=[{"type": "memory", "tag": "t1", "spool": False}],
                   allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    (sink,) = log.sink_handlers
    assert sink.sink.tag == "t1"
    log.record_event(SCHEMA_ID, 1, {"name": "a"})
    log.close()
    assert [e.data["name"] for e in sink.sink.events] == ["a"]
    assert sink.sink.closed


def test_unknown_sink_type_is_a_clear_config_error():
    from telemetry_core.sinks import SinkConfigError

    with pytest.raises(SinkConfigError, match="unknown sink type 'nosuchsink'"):
        EventLog(sinks=[{"type": "nosuchsink"}])


# -- modifiers --------------------------------------------------------------------------


def test_modifier_changes_the_event_and_runs_after_redaction(eventlog, stream):
    seen: list[dict[str, Any]] = []

    def add_host(schema_id: str, data: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(data))
        return {**data, "count": 42, "host": "node-1"}

    eventlog.add_modifier(modifier=add_host)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "a", "user": "ada"})
    assert seen[0]["user"] is None  # modifiers only ever see redacted data
    assert lines(stream)[0]["count"] == 42
    assert "host" not in lines(stream)[0]  # the schema does not declare it: dropped
    assert eventlog.undeclared_dropped == {(SCHEMA_ID, "1"): 1}
    eventlog.remove_modifier(modifier=add_host)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "b"})
    assert "count" not in lines(stream)[1]


def test_modifier_cannot_re_add_redacted_values_or_change_the_envelope(eventlog, stream):
    def sneaky(schema_id: str, data: dict[str, Any]) -> dict[str, Any]:
        data["user"] = "ada"
        data["details"] = {"email": "ada@example.org"}
        data["__schema__"] = "forged"
        del data["__event_id__"]
        return data

    eventlog.add_modifier(sneaky, schema_id=SCHEMA_ID)
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    written = lines(stream)[0]
    assert written == recorded
    assert written["user"] is None and written["details"] == {"email": None}
    assert written["__schema__"] == SCHEMA_ID and "__event_id__" in written


def test_modifier_for_another_schema_is_not_called(eventlog):
    called = []
    eventlog.add_modifier(lambda schema_id, data: called.append(1), schema_id="other")
    eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert called == []


def test_modifier_cannot_change_the_callers_nested_values(eventlog):
    def mutate(schema_id: str, data: dict[str, Any]) -> None:
        data["details"]["size"] = 99

    eventlog.add_modifier(mutate)
    event = {"name": "a", "details": {"size": 1}}
    assert eventlog.record_event(SCHEMA_ID, 1, event)["details"]["size"] == 99
    assert event == {"name": "a", "details": {"size": 1}}


def test_modifier_that_raises_is_logged_and_skipped(eventlog, stream, caplog):
    def broken(schema_id: str, data: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    eventlog.add_modifier(broken)
    eventlog.add_modifier(lambda schema_id, data: {**data, "count": 7})
    with caplog.at_level(logging.ERROR, logger="telemetry_core"):
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert "failed; skipped" in caplog.text
    assert lines(stream)[0]["count"] == 7


def test_modifier_must_be_callable(eventlog):
    with pytest.raises(TypeError):
        eventlog.add_modifier("not callable")


class _HookModifier:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def telemetry_modify_event(self, schema_id: str, version: str,
                               event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((schema_id, version))
        event["count"] = 1
        event["user"] = "re-added"
        return event


def test_plugin_hook_modifies_events_and_is_redacted_again(eventlog, stream):
    plugin = _HookModifier()
    register_plugin(plugin)
    try:
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    finally:
        unregister_plugin(plugin)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "b"})
    first, second = lines(stream)
    assert plugin.calls == [(SCHEMA_ID, "1")]
    assert first["count"] == 1 and first["user"] is None
    assert "count" not in second


# -- lifecycle and capture --------------------------------------------------------------


def test_close_flushes_handlers_and_context_manager(schema, tmp_path):
    path = tmp_path / "e.log"
    buffered = logging.handlers.MemoryHandler(capacity=100, target=logging.FileHandler(path))
    with EventLog(handlers=[buffered], allowed_schemas=[SCHEMA_ID]) as log:
        log.register_schema(schema)
        log.record_event(SCHEMA_ID, 1, {"name": "a"})
    assert json.loads(path.read_text())["name"] == "a"


def test_capture_events_from_one_eventlog(eventlog):
    with capture_events(eventlog) as events:
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    eventlog.record_event(SCHEMA_ID, 1, {"name": "after"})
    assert [e["name"] for e in events] == ["a"]
    assert events[0]["__schema__"] == SCHEMA_ID


def test_capture_events_from_every_eventlog(eventlog, schema):
    with capture_events() as events:
        other = EventLog(allowed_schemas=[SCHEMA_ID])  # created inside the block
        other.register_schema(schema)
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
        other.record_event(SCHEMA_ID, 1, {"name": "b"})
    other.record_event(SCHEMA_ID, 1, {"name": "after"})
    assert [e["name"] for e in events] == ["a", "b"]


def test_a_process_handler_hears_every_eventlog_until_removed(eventlog, schema):
    handler = CaptureHandler()
    EventLog.add_process_handler(handler)
    try:
        later = EventLog(allowed_schemas=[SCHEMA_ID])  # made after the handler was added
        later.register_schema(schema)
        eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
        later.record_event(SCHEMA_ID, 1, {"name": "b"})
    finally:
        EventLog.remove_process_handler(handler)
    eventlog.record_event(SCHEMA_ID, 1, {"name": "after"})
    assert [e["name"] for e in handler.events] == ["a", "b"]
    with pytest.raises(ValueError):
        EventLog.remove_process_handler(handler)


def test_capture_handler_is_bounded():
    handler = CaptureHandler(max_events=2)
    log = EventLog(handlers=[handler], allowed_schemas=[SCHEMA_ID])
    log.register_schema(copy.deepcopy(__import__("conftest").TEST_SCHEMA))
    for i in range(5):
        log.record_event(SCHEMA_ID, 1, {"name": str(i)})
    assert [e["name"] for e in handler.events] == ["3", "4"]
    assert handler.dropped == 3


def test_public_names_are_documented():
    for name in telemetry_core.__all__:
        obj = getattr(telemetry_core, name)
        if name != "__version__" and not isinstance(obj, str):
            assert (obj.__doc__ or "").strip(), name


# -- the plain-stream shortcut is byte-for-byte what logging would write ---------------------


def _write_both_ways(handler_factory, schema) -> tuple[str, str]:
    """The same events through EventLog and through a logger, with equal handlers."""
    ours, theirs = io.StringIO(), io.StringIO()
    log = EventLog(handlers=[handler_factory(ours)], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    logger = logging.getLogger(f"test-plain-{id(ours)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler_factory(theirs))
    for i in range(3):
        recorded = log.record_event(SCHEMA_ID, 1, {"name": f"é{i}", "count": i})
        logger.info(json.dumps(recorded, separators=(",", ":"), ensure_ascii=False))
    return ours.getvalue(), theirs.getvalue()


class Shouting(logging.StreamHandler):
    def emit(self, record: logging.LogRecord) -> None:  # a subclass may do anything
        self.stream.write(record.getMessage().upper() + "\n")


@pytest.mark.parametrize("factory", [
    lambda s: logging.StreamHandler(s),
    lambda s: Shouting(s),
], ids=["StreamHandler", "subclass"])
def test_stream_handlers_write_what_logging_writes(factory, schema):
    ours, theirs = _write_both_ways(factory, schema)
    assert ours == theirs and ours.count("\n") == 3


def test_stream_handler_with_terminator_formatter_or_filter(schema):
    def factory(s: io.StringIO) -> logging.Handler:
        handler = logging.StreamHandler(s)
        handler.terminator = "\r\n"
        return handler

    ours, theirs = _write_both_ways(factory, schema)
    assert ours == theirs and ours.count("\r\n") == 3

    def formatted(s: io.StringIO) -> logging.Handler:
        handler = logging.StreamHandler(s)
        handler.setFormatter(logging.Formatter("EVENT %(message)s"))
        handler.addFilter(lambda record: '"count":1' not in record.getMessage())
        return handler

    ours, theirs = _write_both_ways(formatted, schema)
    assert ours == theirs and ours.count("EVENT {") == 2


def test_delayed_file_handler_opens_on_first_event(tmp_path: Path, schema):
    path = tmp_path / "delayed.log"
    handler = logging.FileHandler(path, delay=True)
    log = EventLog(handlers=[handler], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    assert not path.exists()
    log.record_event(SCHEMA_ID, 1, {"name": "a"})
    log.record_event(SCHEMA_ID, 1, {"name": "b"})
    handler.close()
    assert [json.loads(x)["name"] for x in path.read_text().splitlines()] == ["a", "b"]


def test_queue_handler_gets_a_copyable_record(eventlog):
    import queue

    q: queue.Queue[logging.LogRecord] = queue.Queue()
    eventlog.register_handler(logging.handlers.QueueHandler(q))
    recorded = eventlog.record_event(SCHEMA_ID, 1, {"name": "a"})
    record = q.get_nowait()
    assert json.loads(record.getMessage()) == recorded
    assert record.sink_event.event_id == recorded["__event_id__"]


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", None])
def test_file_handler_bytes_are_what_logging_writes(tmp_path: Path, schema, encoding):
    ours_path, theirs_path = tmp_path / "ours.log", tmp_path / "theirs.log"
    ours = logging.FileHandler(ours_path, encoding=encoding)
    log = EventLog(handlers=[ours], allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    theirs = logging.FileHandler(theirs_path, encoding=encoding)
    logger = logging.getLogger(f"test-file-{encoding}")
    logger.propagate = False
    logger.addHandler(theirs)
    logger.setLevel(logging.INFO)
    for name in ("plain", "ünïcödé", "tab\tand\nnewline"):
        recorded = log.record_event(SCHEMA_ID, 1, {"name": name})
        logger.info(json.dumps(recorded, separators=(",", ":"), ensure_ascii=False))
        assert ours_path.read_bytes() == theirs_path.read_bytes()  # flushed per event
    ours.close()
    theirs.close()


def test_schema_id_is_required(eventlog):
    with pytest.raises(TypeError, match="record_event needs a schema id"):
        eventlog.record_event(version=1, event={"name": "a"})


def test_handlers_none_records_to_nothing(schema):
    log = EventLog(handlers=None, allowed_schemas=[SCHEMA_ID])
    log.register_schema(schema)
    assert log.record_event(SCHEMA_ID, 1, {"name": "a"})["name"] == "a"
    handler = CaptureHandler()
    log.register_handler(handler)
    log.record_event(SCHEMA_ID, 1, {"name": "b"})
    assert [e["name"] for e in handler.events] == ["b"]
