"""telemetry_core: schema-validated, privacy-first event logging for Jupyter.

The public face is small: ``EventLog`` records events; the errors it raises are
here too; sinks live in ``telemetry_core.sinks``; test helpers in
``telemetry_core.testing``; plugins use ``hookimpl``.
"""

from ._config import ConfigFileError
from ._errors import (
    EventValidationError,
    InvalidSchemaError,
    SchemaLoadError,
    SchemaNotRegisteredError,
    SchemaRegistrationError,
)
from ._eventlog import EventLog, SchemaNotRegistered
from ._hookspecs import hookimpl
from ._version import __version__

__all__ = [
    "ConfigFileError",
    "EventLog",
    "EventValidationError",
    "InvalidSchemaError",
    "SchemaLoadError",
    "SchemaNotRegistered",
    "SchemaNotRegisteredError",
    "SchemaRegistrationError",
    "__version__",
    "hookimpl",
]
