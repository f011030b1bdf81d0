"""telemetry_core: schema-validated, privacy-first event logging for Jupyter.

The public face is small: ``EventLog`` records events; ``acting_as`` and
``current_user`` say who events are about (consent: ``telemetry_core.consent``); the
errors it raises are here too; sinks live in ``telemetry_core.sinks``; test helpers in
``telemetry_core.testing``; plugins use ``hookimpl`` and, from code,
``register_plugin``/``unregister_plugin``.

Names are imported on first use (PEP 562), so ``telemetry --help`` and the modules
under this package load without the validators and database drivers behind them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
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
    from .consent import ConsentError, acting_as, current_user

# public name -> the module that defines it
_WHERE = {
    "ConfigError": "._config", "ConfigFileError": "._config",
    "EventValidationError": "._errors", "InvalidSchemaError": "._errors",
    "SchemaLoadError": "._errors", "SchemaNotRegisteredError": "._errors",
    "SchemaRegistrationError": "._errors",
    "EventLog": "._eventlog", "SchemaNotRegistered": "._eventlog",
    "hookimpl": "._hookspecs",
    "register_plugin": "._plugins", "unregister_plugin": "._plugins",
    "ConsentError": ".consent", "acting_as": ".consent", "current_user": ".consent",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


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
