"""Step 3: is the event valid? A compiled validator per ``(schema id, version)``.

The hot path asks ``jsonschema_rs`` (compiled once, about a microsecond per event).
Only when it says no do we ask ``jsonschema`` as well, for its richer error (the
best-matching failure, its JSON path and reason) to build the message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import jsonschema_rs

from ._errors import EventValidationError, InvalidSchemaError


class EventValidator:
    """Validates events against one schema; raises :class:`EventValidationError`."""

    __slots__ = ("schema_id", "version", "_schema", "_rich", "is_valid")

    def __init__(self, schema: dict[str, Any], schema_id: str, version: str) -> None:
        self.schema_id = schema_id
        self.version = version
        self._schema = schema
        self._rich: jsonschema.protocols.Validator | None = None
        try:
            # Formats are annotations only, as in jsonschema's default: both validators
            # must accept exactly the same events.
            compiled = jsonschema_rs.validator_for(schema, validate_formats=False)
        except Exception as exc:  # e.g. a regex the compiled engine does not support
            raise InvalidSchemaError(
                f"schema {schema_id!r} version {version}: cannot be compiled: {exc}",
                schema_id=schema_id, version=version) from exc
        self.is_valid: Callable[[Any], bool] = compiled.is_valid

    def rich_validator(self) -> jsonschema.protocols.Validator:
        """The ``jsonschema`` validator for this schema (built on first use)."""
        if self._rich is None:
            cls = jsonschema.validators.validator_for(self._schema)
            self._rich = cls(self._schema)
        return self._rich

    def validate(self, event: Any) -> None:
        """Raise :class:`EventValidationError` unless ``event`` is valid."""
        if not self.is_valid(event):
            raise self.error_for(event)

    def error_for(self, event: Any) -> EventValidationError:
        """The error to raise for an event the hot path rejected."""
        where = f"schema {self.schema_id!r} version {self.version}"
        best = jsonschema.exceptions.best_match(self.rich_validator().iter_errors(event))
        if best is None:
            # The two validators disagree (should not happen; a test guards it): still
            # reject, with the compiled validator's reason.
            try:
                jsonschema_rs.validator_for(self._schema, validate_formats=False).validate(event)
                reason, path = "rejected by the compiled validator", "$"
            except jsonschema_rs.ValidationError as exc:
                reason = exc.message
                path = "$" + "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.instance_path)
            return EventValidationError(
                f"invalid event for {where} at {path}: {reason}",
                schema_id=self.schema_id, schema_version=self.version, instance=event)
        return EventValidationError(
            f"invalid event for {where} at {best.json_path}: {best.message} "
            f"(schema rule {'/'.join(map(str, best.schema_path)) or '(root)'}); "
            "fix the event, or record it against a schema version that allows it",
            schema_id=self.schema_id, schema_version=self.version,
            validator=best.validator, path=best.path, validator_value=best.validator_value,
            instance=best.instance, schema=best.schema, schema_path=best.schema_path,
            cause=best.cause, context=best.context)
