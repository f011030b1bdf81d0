"""Step 3: is the event valid? A JSON value within bounds, then a compiled validator.

First :func:`json_bytes` checks that the event is made only of JSON values (``dict``
with ``str`` keys, ``list``, ``str`` without lone surrogates, ``int`` within 64 bits,
finite ``float``, ``bool``, ``None``: exactly these types) and stays within the depth
and size bounds, so nothing the validators or serialisers cannot handle goes further.
The work is split for speed: one Python walk tests the types (identity tests, the loop
the cheapest way to do it for events of a few dozen values), finite floats and depth
(one comparison per container, as it recurses anyway); ``orjson.dumps`` then refuses
non-string keys, lone surrogates and integers past 64 bits, and its length is the
event's size. Those bytes are returned, and reused for handlers when nothing in the
event changes on its way. Only a rejected event is walked again, slowly, to name the
JSON path and the rule.

Then ``jsonschema_rs`` (compiled once, well under a microsecond per event) decides.
Only when it says no do we ask ``jsonschema`` as well, for the best-matching failure.

Messages name the schema, version, JSON path and rule, never a value: values may be
personal data, and applications log these errors. :func:`invalid_message` is the one
wording (``invalid event for schema 'ID' version 1: $.page: type``), shared by Python
exceptions, REST answers and (mirrored, tested against it) the JS client.
``debug_values=True`` adds jsonschema's own message (which quotes the value) for
debugging.

Rules beyond JSON Schema's keywords: ``json_type`` (not a JSON type), ``finite`` (NaN,
Infinity), ``int64`` (an integer past 64 bits), ``utf8`` (a lone surrogate),
``key_type`` (a key that is not a string), ``reserved`` (a top-level ``__`` name),
``max_event_depth`` and ``max_event_size`` (the EventLog's bounds), ``registered`` (no
such schema version).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ._errors import EventValidationError, InvalidSchemaError

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_SIZE = 1_000_000  # bytes of compact JSON
MAX_DEPTH_LIMIT = 254  # orjson writes no deeper: a larger max_event_depth means this
_INT_RANGE = range(-(2**63), 2**64)  # what orjson, jsonschema-rs and most sinks can hold
_NONE = type(None)
_OK_SCALARS = (str, bool, _NONE)


def _exact(items: Any, depth: int, max_depth: int) -> bool:
    """The common case, kept cheap: the values ``items`` of a container at ``depth`` are
    exact JSON types, floats are finite, containers nest no deeper than ``max_depth``.
    A chain of identity tests per value (about twice as fast, for events of a few
    dozen values, as gathering their types in a set first). Keys, text (lone
    surrogates) and integers past 64 bits are left to orjson, which refuses them."""
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is _NONE or kind is bool:
            continue
        if kind is float:
            if item - item != 0.0:  # NaN and the infinities
                return False
        elif kind is dict:
            if depth >= max_depth or not _exact(item.values(), depth + 1, max_depth):
                return False
        elif kind is list:
            if depth >= max_depth or not _exact(item, depth + 1, max_depth):
                return False
        else:
            return False
    return True


_dumps = orjson.dumps


class _NotJSON(Exception):
    """Raised inside the detailed walk; carries the path (innermost first) and the rule."""

    def __init__(self, rule: str, *where: str | int) -> None:
        super().__init__(rule)
        self.rule = rule
        self.where = list(where)


def _text_ok(text: str) -> bool:
    try:
        text.encode("utf-8")  # a lone surrogate cannot be encoded, so it is not JSON text
    except UnicodeEncodeError:
        return False
    return True


def _explain(value: Any, depth: int, max_depth: int) -> None:
    """The slow twin of ``_exact``, run only on rejection: raises ``_NotJSON`` at the
    first problem, with its path."""
    if depth > max_depth:
        raise _NotJSON("max_event_depth")
    pairs = value.items() if type(value) is dict else enumerate(value)
    for key, item in pairs:
        if type(value) is dict and type(key) is not str:
            raise _NotJSON("key_type")
        if type(key) is str and not _text_ok(key):
            raise _NotJSON("utf8")  # the key is not text: the path stops at its container
        kind = type(item)
        try:
            if kind is str:
                if not _text_ok(item):
                    raise _NotJSON("utf8")
            elif kind is int:
                if item not in _INT_RANGE:
                    raise _NotJSON("int64")
            elif kind is float:
                if item - item != 0.0:
                    raise _NotJSON("finite")
            elif kind is dict or kind is list:
                _explain(item, depth + 1, max_depth)
            elif kind not in _OK_SCALARS:
                raise _NotJSON("json_type")
        except _NotJSON as exc:
            exc.where.append(key)
            raise


class NotJSONError(Exception):
    """Raised by :func:`json_bytes`: where the event is not a bounded JSON value, and
    which rule it breaks (never the value)."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


_RESERVED = "reserved"  # names starting with '__' are the envelope's
MAX_SIZE_RULE = "max_event_size"


def json_bytes(event: dict[str, Any], max_depth: int = DEFAULT_MAX_DEPTH,
               max_size: int = DEFAULT_MAX_SIZE, names_known: bool = False, *,
               enveloped: bool = False) -> bytes:
    """``event`` as compact JSON, once it is known to be a bounded JSON value; raises
    :class:`NotJSONError` (path and rule) at the first place it is not one.

    The event itself is depth 1; its size is the length of these bytes. Top-level names
    starting with ``__`` are the envelope's: an error unless ``enveloped`` (the event
    already carries its envelope). ``names_known``: the caller found every top-level name
    among the schema's own (never reserved), so the common event skips that scan.
    """
    if max_depth > MAX_DEPTH_LIMIT:
        max_depth = MAX_DEPTH_LIMIT  # also keeps both walks clear of Python's own limit
    if max_depth >= 1 and _exact(event.values(), 1, max_depth):
        try:
            raw = _dumps(event)  # refuses non-string keys, lone surrogates, huge ints
        except TypeError:
            raw = b""
        if raw and len(raw) <= max_size:
            if enveloped or names_known:
                return raw
            joined = "\0".join(event)  # one C call: is any top-level name reserved?
            if joined[:2] != "__" and "\0__" not in joined:
                return raw
            for key in event:  # a name holding "\0__" may have matched: look closer
                if key[:2] == "__":
                    raise NotJSONError(json_path((key,)), _RESERVED)
            return raw
    # Rejected: the slow walk finds where, and why.
    try:
        _explain(event, 1, max_depth)
    except _NotJSON as exc:
        raise NotJSONError(json_path(reversed(exc.where)), exc.rule) from None
    raise NotJSONError("$", MAX_SIZE_RULE)


def json_problem(event: dict[str, Any], max_depth: int = DEFAULT_MAX_DEPTH,
                 max_size: int = DEFAULT_MAX_SIZE, *,
                 enveloped: bool = False) -> tuple[str, str] | None:
    """``(json_path, rule)`` for the first place ``event`` is not a bounded JSON value
    (see :func:`json_bytes`), or None when it is one."""
    try:
        json_bytes(event, max_depth, max_size, enveloped=enveloped)
    except NotJSONError as problem:
        return problem.path, problem.rule
    return None


_NAME = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)


def json_path(parts: Any) -> str:
    """``$.a[0].b`` for the parts ``("a", 0, "b")``; a name that is not an identifier
    is quoted, ``$["a b"]`` (js/src/validation.ts writes paths the same way)."""
    return "$" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" if _NAME.fullmatch(p)
        else f"[{orjson.dumps(p).decode()}]" for p in parts)


def invalid_message(schema_id: str, version: Any, path: str, rule: str) -> str:
    """The one wording of an invalid event, wherever it is reported (Python, REST, JS):
    schema, version, JSON path and rule; never a value."""
    return f"invalid event for schema '{schema_id}' version {version}: {path}: {rule}"


def _failing_place(error: jsonschema.ValidationError) -> list[Any]:
    """Where ``error`` is, naming the property when the rule is about one: a missing
    ``required`` property, an ``additionalProperties: false`` one."""
    where = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [name for name in error.validator_value if name not in instance]
        if missing:
            where.append(missing[0])
    elif (error.validator == "additionalProperties" and error.validator_value is False
          and isinstance(instance, dict)):
        schema = error.schema if isinstance(error.schema, dict) else {}
        declared = schema.get("properties", {})
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        extra = [name for name in instance if name not in declared
                 and not any(p.search(name) for p in patterns)]
        if extra:
            where.append(extra[0])
    return where


class EventValidator:
    """Validates events against one schema; raises :class:`EventValidationError`."""

    __slots__ = ("schema_id", "version", "_schema", "_rich", "is_valid", "_references")

    def __init__(self, schema: dict[str, Any], schema_id: str, version: str,
                 references: dict[str, Any] | None = None) -> None:
        self.schema_id = schema_id
        self.version = version
        self._schema = schema
        self._rich: jsonschema.protocols.Validator | None = None
        self._references = references or {}
        try:
            # Formats are annotations only, as in jsonschema's default: both validators
            # must accept exactly the same events.
            compiled = self._compile()
        except Exception as exc:  # e.g. a regex the compiled engine does not support
            raise InvalidSchemaError(
                f"schema {schema_id!r} version {version}: cannot be compiled: {exc}",
                schema_id=schema_id, version=version) from exc
        self.is_valid: Callable[[Any], bool] = compiled.is_valid

    def _retrieve(self, uri: str) -> Any:
        # References reach only what was gathered at registration: no network, no files.
        try:
            return self._references[uri]
        except KeyError:
            raise ValueError(f"{uri} is not a registered schema") from None

    def _compile(self) -> Any:
        return jsonschema_rs.validator_for(self._schema, validate_formats=False,
                                           retriever=self._retrieve)

    def rich_validator(self) -> jsonschema.protocols.Validator:
        """The ``jsonschema`` validator for this schema (built on first use)."""
        if self._rich is None:
            cls = jsonschema.validators.validator_for(self._schema)
            resources = [(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
                         for uri, doc in self._references.items()]
            # An explicit registry: jsonschema's default would fetch unknown URIs.
            registry: Registry[Any] = Registry().with_resources(resources)
            self._rich = cls(self._schema, registry=registry)
        return self._rich

    def validate(self, event: Any) -> None:
        """Raise :class:`EventValidationError` unless ``event`` is valid."""
        if not self.is_valid(event):
            raise self.error_for(event)

    def not_json(self, path: str, rule: str) -> EventValidationError:
        """The error for an event that is not a bounded JSON value (``json_problem``)."""
        return EventValidationError(
            invalid_message(self.schema_id, self.version, path, rule), schema_id=self.schema_id,
            schema_version=self.version, json_path=path, validator=rule)

    def error_for(self, event: Any, debug_values: bool = False) -> EventValidationError:
        """The error to raise for an event the hot path rejected. Its message names the
        path and the rule, never the value (unless ``debug_values``)."""
        best = jsonschema.exceptions.best_match(self.rich_validator().iter_errors(event))
        if best is None:
            # The two validators disagree (should not happen; a test guards it): still
            # reject, with the compiled validator's path.
            path = "$"
            try:
                self._compile().validate(event)
            except jsonschema_rs.ValidationError as exc:
                path = json_path(exc.instance_path)
            return EventValidationError(
                invalid_message(self.schema_id, self.version, path, "schema"),
                schema_id=self.schema_id, schema_version=self.version, json_path=path,
                validator="schema")
        path = json_path(_failing_place(best))
        rule = str(best.validator)
        detail = f" ({best.message})" if debug_values else ""
        return EventValidationError(
            invalid_message(self.schema_id, self.version, path, rule) + detail,
            schema_id=self.schema_id, schema_version=self.version, json_path=path,
            validator=rule, path=best.path, validator_value=best.validator_value,
            schema_path=best.schema_path,
            **({"instance": best.instance} if debug_values else {}))
