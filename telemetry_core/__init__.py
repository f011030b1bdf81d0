"""telemetry_core: schema-validated, privacy-first event logging for Jupyter.

The public face is small: ``EventLog`` records events; ``acting_as`` and
``current_user`` say who events are about (consent: ``telemetry_core.consent``); the
errors it raises are here too; sinks live in ``telemetry_core.sinks``; test helpers in
``telemetry_core.testing``; plugins use ``hookimpl`` and, from code,
``register_plugin``/``unregister_plugin``.
"""

from ._config import ConfigError, ConfigFileError
from ._errors import (
    EventValidationError,
    InvalidSchemaError,
    SchemaLoadError,
    SchemaNotRegisteredError,
    SchemaRegistrationError,
)
from ._eventlog import EventLog, SchemaNotRegistered
from ._hookspecs import hookimpl
from ._plugins import register_plugin, unregister_plugin
from ._version import __version__
from .consent import ConsentError, acting_as, current_user

__all__ = [
    "ConfigError",
    "ConfigFileError",
    "ConsentError",
    "EventLog",
    "EventValidationError",
    "InvalidSchemaError",
    "SchemaLoadError",
    "SchemaNotRegistered",
    "SchemaNotRegisteredError",
    "SchemaRegistrationError",
    "__version__",
    "acting_as",
    "current_user",
    "hookimpl",
    "register_plugin",
    "unregister_plugin",
]
