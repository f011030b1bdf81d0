"""The pluggy plugin the ``telemetry_core.sinks`` entry point ``elasticsearch`` names."""

from __future__ import annotations

from telemetry_core import hookimpl
from telemetry_core.sinks import Sink


@hookimpl
def telemetry_sink_types() -> dict[str, type[Sink]]:
    """Provide the ``elasticsearch`` sink type (imported only when configuration names it)."""
    from ._sink import ElasticsearchSink

    return {"elasticsearch": ElasticsearchSink}
