"""Sinks end to end: ``EventLog(sinks=[...])`` and traitlets config down to the sink."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_sink_handler import Recorder
from traitlets.config import Config

from telemetry_core import EventLog, hookimpl, register_plugin, unregister_plugin
from telemetry_core.sinks import SinkConfigError, SinkContext
from telemetry_core.testing import wait_for

SCHEMA: dict[str, Any] = {
    "$id": "https://example.org/schemas/sink-e2e", "version": 1, "title": "Sink e2e",
    "description": "An event for the sink tests.", "type": "object",
    "properties": {
        "n": {"type": "integer", "description": "A counter."},
        "user": {"type": "string", "pii": True, "description": "Who."},
    },
}
SCHEMA_ID = SCHEMA["$id"]

_made: list[Recorder] = []


class ConfiguredRecorder(Recorder):
    """The test-double sink, made by ``create_sink`` from a configuration entry."""

    def __init__(self, context: SinkContext, options: Recorder.Options) -> None:
        super().__init__(context, options)
        _made.append(self)


@pytest.fixture
def recorder_type() -> Iterator[None]:
    plugin = types.SimpleNamespace(
        telemetry_sink_types=hookimpl(lambda: {"recorder": ConfiguredRecorder}))
    register_plugin(plugin, name="recorder-e2e")
    _made.clear()
    yield
    unregister_plugin(name="recorder-e2e")


def eventlog(**kwargs: Any) -> EventLog:
    log = EventLog(allowed_schemas=[SCHEMA_ID], **kwargs)
    log.register_event_schema(SCHEMA)
    return log


def test_record_event_to_bytes_on_disk_through_the_file_sink(tmp_path: Path) -> None:
    log = eventlog(sinks=[{"type": "file", "path": str(tmp_path / "events") + "/",
                           "spool_dir": str(tmp_path / "spool")}])
    recorded = [log.record_event(SCHEMA_ID, 1, {"n": i, "user": "ada"}) for i in range(200)]
    log.close()
    [path] = list((tmp_path / "events" / "example.org_schemas_sink-e2e").glob("*.jsonl"))
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines == recorded  # every event, in order, redacted as recorded
    assert all(line["user"] is None for line in lines)


def test_traitlets_config_names_the_sinks(tmp_path: Path, recorder_type: None) -> None:
    c = Config()
    c.EventLog.sinks = [{"type": "file", "path": str(tmp_path / "ev") + "/",
                         "spool_dir": str(tmp_path / "s1")},
                        {"type": "recorder", "spool_dir": str(tmp_path / "s2")}]
    log = eventlog(config=c)
    event = log.record_event(SCHEMA_ID, 1, {"n": 1})
    log.close()
    assert event is not None
    assert _made[0].got == [event["__event_id__"]]
    assert len(list((tmp_path / "ev").rglob("*.jsonl"))) == 1


def test_sink_down_while_recording_loses_nothing(tmp_path: Path, recorder_type: None) -> None:
    log = eventlog(sinks=[{"type": "recorder", "down": True, "max_attempts": 2,
                           "batch_size": 25, "spool_dir": str(tmp_path / "spool")}])
    [handler] = log.sink_handlers
    [sink] = _made
    assert handler.sink is sink
    ids = []
    for i in range(300):  # never raises although every write fails
        event = log.record_event(SCHEMA_ID, 1, {"n": i})
        assert event is not None
        ids.append(event["__event_id__"])
    assert log.flush(timeout=30)  # delivered or spooled
    assert handler.stats()["spooled"] == 300
    sink.up.set()
    wait_for(lambda: len(sink.got) == 300, "the spool replayed after recovery")
    log.close()
    assert sink.got == ids  # once per event id, in the order recorded


def test_an_unknown_sink_type_fails_at_start_up_with_the_installed_list() -> None:
    with pytest.raises(SinkConfigError, match="unknown sink type 'nope'; installed sink types: "
                                              ".*file"):
        eventlog(sinks=[{"type": "nope"}])
