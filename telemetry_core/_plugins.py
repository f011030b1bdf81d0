"""Plugins: the one pluggy plugin manager, and registering plugins from code
(``register_plugin``) or from entry points.

Everything goes through pluggy's public API. Building sinks from configuration (and
finding their entry points) is ``telemetry_core.sinks.create_sink``.
"""

from __future__ import annotations

from typing import Any

import pluggy

from . import _hookspecs

_manager: pluggy.PluginManager | None = None
#: The ``telemetry_modify_event`` implementations, refreshed on every (un)registration;
#: EventLog keeps a reference to this very list, so its no-plugin check costs nothing.
modify_event_impls: list[Any] = []


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager (made on first use, with this project's hookspecs)."""
    global _manager
    if _manager is None:
        _manager = pluggy.PluginManager(_hookspecs.PROJECT)
        _manager.add_hookspecs(_hookspecs)
    return _manager


def hooks() -> Any:
    """The hook relay (``hooks().telemetry_sink_types()``), for the core's own calls."""
    return plugin_manager().hook


def _refresh() -> None:
    modify_event_impls[:] = plugin_manager().hook.telemetry_modify_event.get_hookimpls()


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register ``plugin`` (a module or object with ``@telemetry_core.hookimpl`` functions).

    Its hooks take effect at once, for every EventLog in the process. Returns the name
    it is registered under; raises ``ValueError`` if it is already registered, and
    pluggy's ``PluginValidationError`` if a hook does not match its hookspec.
    """
    registered = plugin_manager().register(plugin, name=name)
    if registered is None:
        raise ValueError(f"plugin {name or plugin!r} is blocked from registering")
    _refresh()
    return registered


def unregister_plugin(plugin: object | None = None, name: str | None = None) -> None:
    """Remove a plugin registered before (by object or by name); its hooks stop at once."""
    pm = plugin_manager()
    if pm.unregister(plugin, name) is None:  # type: ignore[arg-type]
        raise ValueError(f"plugin {name or plugin!r} is not registered")
    _refresh()
