"""Sinks: the SinkHandler base class, the errors sinks raise, and the built-in file sink."""

from ._base import SinkHandler
from ._errors import (
    PermanentSinkError,
    SinkConfigError,
    SinkError,
    TransientSinkError,
    WriteResult,
)
from ._event import SinkEvent

__all__ = [
    "PermanentSinkError",
    "SinkConfigError",
    "SinkError",
    "SinkEvent",
    "SinkHandler",
    "TransientSinkError",
    "WriteResult",
]
