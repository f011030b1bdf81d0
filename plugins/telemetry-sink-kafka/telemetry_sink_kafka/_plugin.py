"""The pluggy plugin behind the ``kafka`` entry point: provides the ``kafka`` sink type.

Importing this module imports confluent-kafka but connects to nothing; the producer
is created in ``KafkaSink.open``, only for sinks that configuration enables.
"""

from __future__ import annotations

import telemetry_core
from telemetry_core.sinks import Sink

from ._sink import KafkaSink


@telemetry_core.hookimpl
def telemetry_sink_types() -> dict[str, type[Sink]]:
    """The ``kafka`` sink type."""
    return {"kafka": KafkaSink}
