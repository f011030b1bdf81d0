"""The plugin contract: every hook a telemetry plugin may implement.

Plugins mark implementations with ``telemetry_core.hookimpl`` and are found through
entry points, or registered from code with ``telemetry_core.register_plugin``. Each hook's docstring
states who calls it, when, what it may return, and what it must never do; the plugin
guide (docs/plugin-guide.md) documents every one (a test checks this).
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "telemetry_core"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def telemetry_sink_types() -> dict[str, type[Any]]:  # type: ignore[empty-body]
    """Provide sink types by name.

    Called by: the plugin manager, when configuration names a sink type, and by
    ``telemetry sinks`` to list what is installed.
    When: after the plugin's entry point (group ``telemetry_core.sinks``) is loaded.
    Returns: a dict mapping sink type names (the name used in ``{"type": ...}``) to
    ``telemetry_core.sinks.Sink`` subclasses.
    Must never: connect to a server or start threads; that happens in ``Sink.open``,
    and only for sinks that configuration enables.
    """


@hookspec
def telemetry_modify_event(
    schema_id: str, version: str, event: dict[str, Any]
) -> dict[str, Any] | None:
    """Modify an event after validation, redaction and enveloping.

    Called by: ``EventLog.record_event``, once per recorded event, for every registered
    plugin, in pluggy's call order.
    Returns: a new or changed event dict, or None to leave it unchanged.
    Must never: re-add a value that the privacy policy redacted (the core re-applies
    redaction after all modifiers, so such a value is redacted again), remove the
    envelope fields, block, or raise (an exception is logged and the modifier skipped).
    """
