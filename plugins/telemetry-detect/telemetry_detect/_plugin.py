"""The pluggy plugin behind the ``detect`` entry point: provides the ``detect`` sink."""

from __future__ import annotations

from telemetry_core import hookimpl
from telemetry_core.sinks import Sink


@hookimpl
def telemetry_sink_types() -> dict[str, type[Sink]]:
    """The ``detect`` sink type (pySigma and DuckDB load when it first evaluates)."""
    from ._sink import DetectSink

    return {"detect": DetectSink}
