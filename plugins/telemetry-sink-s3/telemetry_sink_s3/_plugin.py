"""The pluggy plugin behind the ``s3`` entry point: provides the ``s3`` sink type."""

from __future__ import annotations

from telemetry_core import hookimpl
from telemetry_core.sinks import Sink


@hookimpl
def telemetry_sink_types() -> dict[str, type[Sink]]:
    """The ``s3`` sink type (boto3 is imported only when a sink opens)."""
    from ._sink import S3Sink

    return {"s3": S3Sink}
