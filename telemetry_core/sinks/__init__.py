"""Sinks: the contract a sink implements, the adapter that runs it, and the file sink.

A sink is a small class (:class:`Sink`: ``open``, ``write_batch``, ``close``) with
declared :class:`Option` values; :class:`SinkHandler` wraps one in a
``logging.Handler`` and the framework behind it queues, batches, retries, spools and
dead-letters. Names (paths, topics, keys, indices) come from :class:`NameTemplate`.
:func:`create_sink` builds one from a configuration entry (``{"type": ..., ...}``) as
``EventLog(sinks=[...])`` does; :func:`read_dead_letters` reads what a sink rejected.
Writing a sink plugin: docs/plugin-guide.md.
"""

from ._adapter import SinkHandler
from ._contract import Sink, SinkContext
from ._deadletter import read_dead_letters
from ._errors import (
    PermanentSinkError,
    SinkConfigError,
    SinkError,
    TransientSinkError,
    WriteResult,
)
from ._event import SinkEvent
from ._file import FileSink
from ._naming import VARIABLES, Charset, NameTemplate, schema_name, schema_path
from ._options import FRAMEWORK_OPTIONS, Option
from ._registry import create_sink, sink_class

__all__ = [
    "FRAMEWORK_OPTIONS",
    "VARIABLES",
    "Charset",
    "FileSink",
    "NameTemplate",
    "Option",
    "PermanentSinkError",
    "Sink",
    "SinkConfigError",
    "SinkContext",
    "SinkError",
    "SinkEvent",
    "SinkHandler",
    "TransientSinkError",
    "WriteResult",
    "create_sink",
    "read_dead_letters",
    "schema_name",
    "schema_path",
    "sink_class",
]
