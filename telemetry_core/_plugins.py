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


def sink_class(sink_type: str) -> type[SinkHandler]:
    """The SinkHandler subclass registered under ``sink_type``; loads only that entry point."""
    pm = get_plugin_manager()
    for provided in pm.hook.telemetry_sink_types():
        if sink_type in provided:
            return provided[sink_type]
    pm.load_setuptools_entrypoints(SINK_GROUP, name=sink_type)
    for provided in pm.hook.telemetry_sink_types():
        if sink_type in provided:
            return provided[sink_type]
    raise SinkConfigError(
        f"unknown sink type {sink_type!r}; installed sink types: "
        f"{', '.join(installed_sink_names()) or '(none)'}"
    )


def create_sink(config: dict[str, Any]) -> SinkHandler:
    """Build (not start) a sink from ``{"type": NAME, **options}``."""
    if not isinstance(config, dict) or "type" not in config:
        raise SinkConfigError(f"a sink configuration needs a 'type' key, got {config!r}")
    options = dict(config)
    cls = sink_class(options.pop("type"))
    try:
        return cls(**options)
    except TypeError as exc:
        raise SinkConfigError(
            f"sink {cls.sink_type!r}: {exc}; options: {', '.join(cls.options) or '(none)'}"
        ) from exc
