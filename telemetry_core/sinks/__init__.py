"""Sinks: the contract a sink implements, the adapter that runs it, and the file sink.

A sink is a small class (:class:`Sink`: ``open``, ``write_batch``, ``close``) with its
options declared once, as a dataclass of :func:`option` fields; :class:`SinkHandler`
wraps one in a ``logging.Handler`` and the framework behind it queues, batches, retries, spools and
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
from ._naming import (
    VARIABLES,
    Charset,
    NameTemplate,
    clean,
    hour_key,
    schema_name,
    schema_path,
    utc_hour,
)
from ._options import FRAMEWORK_OPTIONS, NoOptions, Option, extra_options, option
from ._registry import create_sink, sink_class

__all__ = [
    "FRAMEWORK_OPTIONS",
    "VARIABLES",
    "Charset",
    "FileSink",
    "NameTemplate",
    "NoOptions",
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
    "clean",
    "create_sink",
    "extra_options",
    "hour_key",
    "option",
    "read_dead_letters",
    "schema_name",
    "schema_path",
    "sink_class",
    "utc_hour",
]
