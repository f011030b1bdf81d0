"""Finds sink types by entry-point name and builds sinks from configuration.

Only entry points that configuration names are loaded: installed is not enabled.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import _hookspecs
from .sinks import SinkConfigError, SinkHandler

SINK_GROUP = "telemetry_core.sinks"

_manager: pluggy.PluginManager | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with the hookspecs added."""
    global _manager
    if _manager is None:
        _manager = pluggy.PluginManager(_hookspecs.PROJECT)
        _manager.add_hookspecs(_hookspecs)
    return _manager


def installed_sink_names() -> list[str]:
    """Names of the sink types installed (entry points), without importing them."""
    return sorted({ep.name for ep in entry_points(group=SINK_GROUP)})


def _registered(sink_type: str) -> type[SinkHandler] | None:
    for provided in get_plugin_manager().hook.telemetry_sink_types():
        if provided and sink_type in provided:
            return provided[sink_type]
    return None


def _load_entry_point(sink_type: str) -> None:
    """Import and register the one entry point named ``sink_type``, with a clear error."""
    pm = get_plugin_manager()
    for ep in entry_points(group=SINK_GROUP, name=sink_type):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            dist = ep.dist.name if ep.dist is not None else "its distribution"
            raise SinkConfigError(
                f"sink type {sink_type!r} is installed (entry point {ep.value!r} of {dist}) "
                f"but failed to import: {type(exc).__name__}: {exc}; reinstall {dist} or "
                f"install what it needs") from exc
        pm.register(plugin, name=ep.name)


def sink_class(sink_type: str) -> type[SinkHandler]:
    """The SinkHandler subclass registered under ``sink_type``; loads only that entry point.

    Plugins registered by hand (``get_plugin_manager().register(module)``) are found
    too, without an entry point.
    """
    found = _registered(sink_type)
    if found is None:
        _load_entry_point(sink_type)
        found = _registered(sink_type)
    if found is None:
        raise SinkConfigError(
            f"unknown sink type {sink_type!r}; installed sink types: "
            f"{', '.join(installed_sink_names()) or '(none)'}. Install the plugin that "
            f"provides it (e.g. pip install telemetry-sink-{sink_type}) or fix the 'type'")
    if not (isinstance(found, type) and issubclass(found, SinkHandler)):
        raise SinkConfigError(
            f"sink type {sink_type!r} is provided as {found!r}, which is not a SinkHandler "
            "subclass; the plugin's telemetry_sink_types hook must return classes")
    return found


def installed_sink_types() -> dict[str, type[SinkHandler] | SinkConfigError]:
    """Every installed sink type, imported (for ``telemetry sinks``); errors as values."""
    types: dict[str, type[SinkHandler] | SinkConfigError] = {}
    for name in installed_sink_names():
        try:
            types[name] = sink_class(name)
        except SinkConfigError as exc:
            types[name] = exc
    return types


def create_sink(config: dict[str, Any]) -> SinkHandler:
    """Build (not start) a sink from ``{"type": NAME, **options}``."""
    if not isinstance(config, dict) or "type" not in config:
        raise SinkConfigError(
            f"a sink configuration needs a 'type' key, got {config!r}; for example "
            '{"type": "file", "path": "events/"}')
    options = dict(config)
    cls = sink_class(options.pop("type"))
    try:
        return cls(**options)
    except TypeError as exc:
        from .sinks._base import BASE_OPTIONS

        raise SinkConfigError(
            f"sink {cls.sink_type!r}: {exc}; its options: "
            f"{', '.join(cls.options) or '(none)'}; options of every sink: "
            f"{', '.join(BASE_OPTIONS)}") from exc
