"""Sinks: the SinkHandler base class, the errors sinks raise, and the built-in file sink.

Writing a sink plugin: docs/plugin-guide.md.
"""

from ._base import SinkHandler
from ._errors import (
    PermanentSinkError,
    SinkConfigError,
    SinkError,
    TransientSinkError,
    WriteResult,
)
from ._event import SinkEvent
from ._file import FileSink
from ._naming import schema_name, schema_path

__all__ = [
    "FileSink",
    "PermanentSinkError",
    "SinkConfigError",
    "SinkError",
    "SinkEvent",
    "SinkHandler",
    "TransientSinkError",
    "WriteResult",
    "schema_name",
    "schema_path",
]
