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

__all__ = [
    "FileSink",
    "PermanentSinkError",
    "SinkConfigError",
    "SinkError",
    "SinkEvent",
    "SinkHandler",
    "TransientSinkError",
    "WriteResult",
]
