"""Sinks found by entry-point name: only named ones imported, clear errors otherwise."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from telemetry_core import hookimpl, register_plugin, unregister_plugin
from telemetry_core.sinks import (
    FileSink,
    Sink,
    SinkConfigError,
    SinkContext,
    SinkEvent,
    create_sink,
    option,
    sink_class,
)
from telemetry_core.sinks._registry import installed_sink_names


class HandMade(Sink):
    """A sink registered from code, without an entry point."""

    @dataclass(frozen=True)
    class Options:
        colour: str = option("blue", "a colour")

    type = "handmade"

    def __init__(self, context: SinkContext, options: Options) -> None:
        super().__init__(context)
        self.colour = options.colour

    def write_batch(self, events: Sequence[SinkEvent]) -> None:
        return None


@pytest.fixture
def handmade_plugin() -> Iterator[None]:
    plugin = types.SimpleNamespace(
        telemetry_sink_types=hookimpl(lambda: {"handmade": HandMade, "notasink": dict}))
    assert register_plugin(plugin, name="handmade-test") == "handmade-test"
    yield
    unregister_plugin(name="handmade-test")


def test_the_file_sink_is_installed_under_its_entry_point_name() -> None:
    assert "file" in installed_sink_names()
    assert sink_class("file") is FileSink


def test_unknown_sink_type_lists_the_installed_ones() -> None:
    with pytest.raises(SinkConfigError) as info:
        create_sink({"type": "carrier-pigeon"})
    message = str(info.value)
    assert "unknown sink type 'carrier-pigeon'" in message
    assert "installed sink types: " in message and "file" in message.split("installed")[1]


@pytest.mark.parametrize("config", [{"path": "x/"}, "file", None])
def test_a_configuration_without_a_type_is_explained(config: object) -> None:
    with pytest.raises(SinkConfigError, match="needs a 'type' key"):
        create_sink(config)  # type: ignore[arg-type]


def test_a_plugin_registered_by_hand_is_found(handmade_plugin: None, tmp_path: Path) -> None:
    handler = create_sink({"type": "handmade", "colour": "red", "spool_dir": str(tmp_path)})
    assert isinstance(handler.sink, HandMade) and handler.sink.colour == "red"
    with pytest.raises(SinkConfigError, match="not a telemetry_core.sinks.Sink subclass"):
        sink_class("notasink")
    with pytest.raises(SinkConfigError, match="handmade sink: unknown option 'color'; did you "
                                              "mean 'colour'"):
        create_sink({"type": "handmade", "color": "red"})
    with pytest.raises(SinkConfigError, match="'colour' must be a string, got 3"):
        create_sink({"type": "handmade", "colour": 3})


def test_unregistering_a_plugin_twice_is_an_error(handmade_plugin: None) -> None:
    unregister_plugin(name="handmade-test")
    with pytest.raises(ValueError, match="not registered"):
        unregister_plugin(name="handmade-test")
    register_plugin(types.SimpleNamespace(), name="handmade-test")  # for the fixture


def test_only_the_named_entry_point_is_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from telemetry_core.sinks import create_sink\n"
        f"create_sink({{'type': 'file', 'path': {str(tmp_path) + '/'!r}}})\n"
        "print(sorted(m for m in sys.modules if m.startswith('telemetry_sink_')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={"XDG_STATE_HOME": str(tmp_path), "PATH": ""})
    assert out.stdout.strip() == "[]"


def test_an_entry_point_that_fails_to_import_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import telemetry_core.sinks._registry as plugins

    broken = EntryPoint(name="broken", value="telemetry_core_no_such_module._plugin",
                        group=plugins.SINK_GROUP)
    monkeypatch.setattr(plugins, "entry_points",
                        lambda group, name=None: [broken] if name in (None, "broken") else [])
    with pytest.raises(SinkConfigError, match="installed .* but failed to import: "
                                              "ModuleNotFoundError"):
        sink_class("broken")
