"""Every exception the core raises, in one place.

Each subclasses the exception the original Jupyter telemetry libraries raised in the
same situation (``jsonschema.SchemaError``, ``ValueError``,
``jsonschema.ValidationError``), so code that caught those keeps working. Messages
name the schema id and version and, for events, the JSON path and what to do.
"""

from __future__ import annotations

from typing import Any

import jsonschema


class SchemaLoadError(ValueError):
    """A schema source could not be read or parsed (file, URL, YAML/JSON text)."""


class InvalidSchemaError(jsonschema.SchemaError):
    """A schema is not valid JSON Schema, or breaks the event meta-schema's rules."""

    def __init__(self, message: str, *, schema_id: str = "", version: str = "",
                 path: str = "$") -> None:
        super().__init__(message)
        self.schema_id = schema_id
        self.version = version
        self.json_path_in_schema = path


class SchemaRegistrationError(ValueError):
    """A schema lacks ``$id`` or ``version``, or declares a reserved (``__``) property."""


class SchemaNotRegisteredError(ValueError):
    """An event was recorded against a ``(schema id, version)`` that is not registered."""

    def __init__(self, message: str, *, schema_id: str = "", version: str = "") -> None:
        super().__init__(message)
        self.schema_id = schema_id
        self.version = version


class EventValidationError(jsonschema.ValidationError):
    """An event does not match its schema, or is not a bounded JSON value.

    ``schema_id``, ``schema_version`` and ``json_path`` (e.g. ``$.files[0].path``) say
    which schema and which place; ``validator``, ``validator_value`` and ``schema_path``
    say which rule. Neither the message nor the attributes hold the event's values
    (``instance`` is unset) unless ``EventLog.debug_values_in_errors`` is on: values
    may be personal data, and applications log these errors.
    """

    def __init__(self, message: str, *, schema_id: str, schema_version: str,
                 json_path: str = "$", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.schema_id = schema_id
        self.schema_version = schema_version
        self._json_path = json_path

    @property  # type: ignore[override]
    def json_path(self) -> str:
        """Where in the event, e.g. ``$.files[0].path``."""
        return self._json_path

    def __str__(self) -> str:
        # jsonschema's __str__ appends the schema and "On instance: <the value>".
        return self.message


__all__ = [
    "EventValidationError",
    "InvalidSchemaError",
    "SchemaLoadError",
    "SchemaNotRegisteredError",
    "SchemaRegistrationError",
]
