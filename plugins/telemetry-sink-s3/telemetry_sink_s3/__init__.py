"""telemetry-sink-s3: the ``s3`` sink for telemetry_core.

Configured by name, ``{"type": "s3", "bucket": "...", "prefix": "..."}``; the entry point
``s3`` in the ``telemetry_core.sinks`` group points at :mod:`telemetry_sink_s3._plugin`.
"""

from ._keys import DEFAULT_KEY_TEMPLATE, safe_segment, schema_name
from ._sink import S3Sink
from ._version import __version__

__all__ = ["DEFAULT_KEY_TEMPLATE", "S3Sink", "__version__", "safe_segment", "schema_name"]
