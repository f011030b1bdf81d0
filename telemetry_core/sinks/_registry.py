"""Sink types by name: entry points of the group ``telemetry_core.sinks`` and plugins
registered from code, and building a sink from a configuration entry.

Only the entry point that configuration names is loaded: installed is not enabled.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Any

from .._plugins import hooks, plugin_manager, register_plugin
from ._adapter import SinkHandler
from ._contract import Sink
from ._errors import SinkConfigError

SINK_GROUP = "telemetry_core.sinks"


def installed_sink_names() -> list[str]:
    """Names of the sink types installed (entry points), without importing them."""
    return sorted({ep.name for ep in entry_points(group=SINK_GROUP)})


def _registered(sink_type: str) -> type[Sink] | None:
    for provided in hooks().telemetry_sink_types():
        if provided and sink_type in provided:
            return provided[sink_type]  # type: ignore[no-any-return]
    return None


def _load_entry_point(sink_type: str) -> None:
    """Import and register the one entry point named ``sink_type``, with a clear error."""
    pm = plugin_manager()
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
        register_plugin(plugin, name=ep.name)


#: The sink plugins this project publishes, by the type they provide.
PROJECT_PLUGINS = {"kafka": "telemetry-sink-kafka", "s3": "telemetry-sink-s3",
                   "elasticsearch": "telemetry-sink-elasticsearch"}


def _unknown_type_message(sink_type: str) -> str:
    """Why ``sink_type`` is unknown and what to do: the nearest installed type for a
    typo, the package for one of this project's plugins; never a made-up package name."""
    registered = {name for provided in hooks().telemetry_sink_types() if provided
                  for name in provided}
    installed = sorted({*installed_sink_names(), *registered})
    message = (f"unknown sink type {sink_type!r}; installed sink types: "
               f"{', '.join(installed) or '(none)'}")
    close = difflib.get_close_matches(str(sink_type), installed, n=1, cutoff=0.6)
    if close:
        return message + f". Did you mean {close[0]!r}?"
    if sink_type in PROJECT_PLUGINS:
        name = PROJECT_PLUGINS[sink_type]
        # Not on PyPI yet: from a clone of the repository, the plugin is a directory.
        return message + (f". Install its plugin from a clone of the repository: pip install "
                          f"./plugins/{name} ({name} once published)")
    return message + (". Fix the 'type', or install the plugin that provides this type "
                      "(its documentation names the package)")


def sink_class(sink_type: str) -> type[Sink]:
    """The Sink class registered under ``sink_type``; loads only that entry point.

    Plugins registered from code (``telemetry_core.register_plugin``) are found too,
    without an entry point.
    """
    found = _registered(sink_type)
    if found is None:
        _load_entry_point(sink_type)
        found = _registered(sink_type)
    if found is None:
        raise SinkConfigError(_unknown_type_message(sink_type))
    if not (isinstance(found, type) and issubclass(found, Sink)):
        raise SinkConfigError(
            f"sink type {sink_type!r} is provided as {found!r}, which is not a "
            "telemetry_core.sinks.Sink subclass; the plugin's telemetry_sink_types hook "
            "must return Sink classes")
    return found


def installed_sink_types() -> dict[str, type[Sink] | SinkConfigError]:
    """Every installed sink type, imported (for ``telemetry sinks``); errors as values."""
    types: dict[str, type[Sink] | SinkConfigError] = {}
    for name in installed_sink_names():
        try:
            types[name] = sink_class(name)
        except SinkConfigError as exc:
            types[name] = exc
    return types


def create_sink(config: dict[str, Any]) -> SinkHandler:
    """Build (not start) a sink handler from ``{"type": NAME, **options}``: the sink type
    by its entry-point name, then its options and the framework's.

    This is what ``EventLog(sinks=[...])`` does for each entry; call ``start()`` on the
    result, then ``close()``. Raises ``SinkConfigError`` for an unknown type or a
    wrong option.
    """
    if not isinstance(config, dict) or "type" not in config:
        raise SinkConfigError(
            f"a sink configuration needs a 'type' key, got {config!r}; for example "
            '{"type": "file", "path": "events/"}')
    options = dict(config)
    return SinkHandler(sink_class(options.pop("type")), **options)
