"""Schemas: reading them from anywhere, checking them, and looking them up.

A schema source may be a dict, a path (``str`` or ``pathlib.Path``, JSON or YAML), an
open file, a URL (``http(s)://``, ``file://``) or YAML/JSON text. Every schema is
checked (:func:`schema_problems`, then the redaction plan) before it is registered;
several versions of one ``$id`` live side by side, looked up by ``(id, version)`` with
``1`` and ``"1"`` the same.

``$ref`` reaches only the schema itself and other registered schemas (by ``$id``):
nothing is read from the network or from files on its account, unless the caller opts
in with :class:`RemoteReferences`, and then only once, at registration.
"""

from __future__ import annotations

import copy
import functools
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from ._errors import (
    InvalidSchemaError,
    SchemaLoadError,
    SchemaNotRegisteredError,
    SchemaRegistrationError,
)
from ._plan import Node
from ._privacy import Policy, compile_plan
from ._schema_lint import unknown_keywords
from ._schema_source import YAML_LOADER, SchemaSource, decode, load_source, parse_text
from ._validation import EventValidator


#: Where the meta-schema and the shipped event schemas live (inside the package when
#: installed; a link to the repository's ``schemas/`` in a checkout).
def _schemas_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "schemas"
    if packaged.is_dir():
        return packaged
    # A checkout where the link was not made (git on Windows without core.symlinks
    # writes it as a small text file): the repository's own schemas/ directory.
    return Path(__file__).resolve().parent.parent / "schemas"


SCHEMAS_DIR = _schemas_dir()
META_SCHEMA_PATH = SCHEMAS_DIR / "meta" / "event-schema.yaml"


def version_key(version: Any) -> str:
    """The one spelling of a version: ``1``, ``"1"`` -> ``"1"``."""
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise SchemaRegistrationError(
            f"a schema version is an integer or a string, got {version!r}")
    return str(version)


# -- checking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a schema: where (a path into the schema) and why.

    ``kind`` is ``"invalid"`` (not valid JSON Schema, or against the meta-schema:
    raised as :class:`InvalidSchemaError`) or ``"registration"`` (no ``$id``/``version``
    or a reserved name: raised as :class:`SchemaRegistrationError`).
    """

    kind: Literal["invalid", "registration"]
    path: tuple[str | int, ...]
    message: str

    @property
    def json_path(self) -> str:
        """The place in the schema, e.g. ``$.properties.user.pii``."""
        return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)


@functools.cache
def meta_schema() -> dict[str, Any]:
    """The meta-schema event schemas follow (``schemas/meta/event-schema.yaml``)."""
    loaded: dict[str, Any] = yaml.load(META_SCHEMA_PATH.read_text(encoding="utf-8"),
                                       Loader=YAML_LOADER)  # noqa: S506
    return loaded


@functools.cache
def _meta_validator() -> jsonschema.protocols.Validator:
    schema = meta_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def _is_registration_rule(err: jsonschema.ValidationError) -> bool:
    # These meta-schema rules are reported by the registration checks, with their
    # own (ValueError) kind, as the original libraries did.
    path = list(err.absolute_path)
    return ((not path and err.validator == "required")
            or path[:1] in (["$id"], ["version"])
            or (path == ["properties"] and "propertyNames" in err.absolute_schema_path))


def schema_problems(schema: Any) -> list[Problem]:
    """Everything wrong with ``schema``, in document order; empty when it can be registered."""
    if not isinstance(schema, dict):
        return [Problem("invalid", (), f"a schema is a mapping, got {type(schema).__name__}")]
    shape = _shape_problem(schema)
    if shape is not None:
        return [shape]  # the validators below would recurse without end
    problems: list[Problem] = []
    cls = jsonschema.validators.validator_for(schema)
    for err in cls(cls.META_SCHEMA).iter_errors(schema):
        problems.append(Problem("invalid", tuple(err.absolute_path),
                                f"not valid JSON Schema: {err.message}"))
    for key, what in (("$id", "a URI naming the event"), ("version", "e.g. 1")):
        if key not in schema:
            problems.append(Problem("registration", (),
                                    f"'{key}' is required in an event schema ({what})"))
    if "$id" in schema and (not isinstance(schema["$id"], str) or not schema["$id"]):
        problems.append(Problem("registration", ("$id",), "'$id' must be a non-empty string"))
    version = schema.get("version", "")
    if "version" in schema and (isinstance(version, bool) or not isinstance(version, (int, str))
                                or version == ""):
        problems.append(Problem("registration", ("version",),
                                f"'version' must be an integer or a string, got {version!r}"))
    props = schema.get("properties")
    if isinstance(props, dict):
        for name in props:
            if isinstance(name, str) and name.startswith("__"):
                problems.append(Problem(
                    "registration", ("properties", name),
                    f"property {name!r}: names starting with '__' are reserved for the "
                    "envelope; rename it"))
    for err in _meta_validator().iter_errors(schema):
        if not _is_registration_rule(err):
            problems.append(Problem("invalid", tuple(err.absolute_path), err.message))
    # A typo JSON Schema ignores (`pi: true`, `propertes:`) would silently disable
    # redaction or drop every field: refuse it here, at lint and at registration alike.
    problems.extend(Problem("invalid", path, message)
                    for path, message in unknown_keywords(schema))
    return problems


MAX_SCHEMA_DEPTH = 200


def _shape_problem(schema: dict[str, Any]) -> Problem | None:
    """A schema that contains itself (possible in a dict, or with YAML anchors) or is
    nested deeper than any real schema; None when neither."""
    path: list[str | int] = []
    on_path: set[int] = set()

    def visit(value: Any) -> Problem | None:
        if not isinstance(value, (dict, list)):
            return None
        if id(value) in on_path:
            return Problem("invalid", tuple(path), "the schema contains itself (a cycle of "
                           "objects); refer back with $ref instead")
        if len(path) > MAX_SCHEMA_DEPTH:
            return Problem("invalid", tuple(path),
                           f"nested deeper than {MAX_SCHEMA_DEPTH} levels")
        on_path.add(id(value))
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in pairs:
            path.append(key if isinstance(key, (str, int)) else repr(key))
            found = visit(item)
            path.pop()
            if found is not None:
                return found
        on_path.discard(id(value))
        return None

    return visit(schema)


def raise_for_problems(problems: list[Problem], origin: str, schema: Any) -> None:
    """Raise the error the first problem calls for (all of them are in the message)."""
    if not problems:
        return
    sid = schema.get("$id", "?") if isinstance(schema, dict) else "?"
    ver = schema.get("version", "?") if isinstance(schema, dict) else "?"
    lines = "; ".join(f"{p.json_path}: {p.message}" for p in problems)
    message = f"schema {sid!r} version {ver} ({origin}): {lines}"
    if problems[0].kind == "registration":
        raise SchemaRegistrationError(message)
    first = problems[0]
    raise InvalidSchemaError(message, schema_id=str(sid), version=str(ver), path=first.json_path)


# -- references ---------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteReferences:
    """Whether ``$ref`` may fetch schemas over HTTP(S) at registration, and the bounds.

    Off by default: a reference reaches only the schema itself and registered schemas.
    When on, each remote document is fetched once, at registration, with ``timeout``
    seconds and at most ``max_bytes``; never again while recording."""

    allowed: bool = False
    timeout: float = 5.0
    max_bytes: int = 1_000_000


def _refs(doc: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """``(the $ref, its JSON path)`` for every reference in ``doc``."""
    if isinstance(doc, dict):
        if isinstance(doc.get("$ref"), str):
            yield doc["$ref"], Problem("invalid", path, "").json_path
        items: Any = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return
    for key, value in items:
        if key not in ("enum", "const", "default", "examples"):
            yield from _refs(value, (*path, key))


def _embedded_ids(doc: Any, base: str) -> set[str]:
    found: set[str] = set()
    if isinstance(doc, dict):
        if isinstance(doc.get("$id"), str):
            base = urllib.parse.urljoin(base, doc["$id"]).partition("#")[0]
            found.add(base)
        values: Any = doc.values()
    elif isinstance(doc, list):
        values = doc
    else:
        return found
    for value in values:
        found |= _embedded_ids(value, base)
    return found


def _fetch(uri: str, remote: RemoteReferences) -> Any:
    try:
        with urllib.request.urlopen(uri, timeout=remote.timeout) as resp:  # noqa: S310
            raw = resp.read(remote.max_bytes + 1)
    except (OSError, ValueError) as exc:
        raise SchemaLoadError(f"{uri}: could not fetch the referenced schema: {exc}") from exc
    if len(raw) > remote.max_bytes:
        raise SchemaLoadError(f"{uri}: the referenced schema is larger than "
                              f"{remote.max_bytes} bytes (remote_reference_max_bytes)")
    return parse_text(decode(raw, uri), uri)


def gather_references(schema: dict[str, Any], known: dict[str, Any],
                      remote: RemoteReferences | None = None) -> dict[str, Any]:
    """Every document ``schema``'s references reach, by URI, fetched now if allowed.

    Raises InvalidSchemaError (naming the reference's JSON path) for a reference to a
    schema that is not registered, when fetching is not allowed for it."""
    remote = remote or RemoteReferences()
    documents: dict[str, Any] = {}
    todo = [(schema, str(schema.get("$id", "")))]
    while todo:
        doc, base = todo.pop()
        local = _embedded_ids(doc, base) | {base}
        for ref, where in _refs(doc):
            uri = urllib.parse.urljoin(base, ref).partition("#")[0]
            if not uri or uri in local or uri in documents:
                continue
            if uri in known:
                documents[uri] = known[uri]
            elif remote.allowed and urllib.parse.urlsplit(uri).scheme in ("http", "https"):
                if len(documents) >= 100:
                    raise InvalidSchemaError(f"{where}.$ref: more than 100 remote documents",
                                             path=where)
                documents[uri] = _fetch(uri, remote)
                todo.append((documents[uri], uri))
            else:
                sid = schema.get("$id", "?")
                raise InvalidSchemaError(
                    f"schema {sid!r} version {schema.get('version', '?')}: {where}.$ref: "
                    f"{ref!r} is not a registered schema; register it first (references "
                    "are not fetched from the network or files unless "
                    "EventLog.remote_references is on, and then only http(s))",
                    schema_id=str(sid), version=str(schema.get("version", "?")), path=where)
    return documents


# -- registered schemas -------------------------------------------------------------


@dataclass
class EventSchema:
    """A registered schema: its id, version, the schema itself and its validator."""

    id: str
    version: str
    schema: dict[str, Any]
    origin: str = ""
    #: The documents its ``$ref`` s reach, by URI (registered schemas, or fetched once).
    references: dict[str, Any] = field(default_factory=dict, repr=False)
    validator: EventValidator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.validator = EventValidator(self.schema, self.id, self.version, self.references)
        try:
            # Refuse now what redaction could not honour (marks under `not`, unresolved
            # references ...), whatever policy records it later.
            compile_plan(self.schema, Policy(), self.references)
        except InvalidSchemaError as exc:
            raise InvalidSchemaError(
                f"schema {self.id!r} version {self.version}: {exc.message}",
                schema_id=self.id, version=self.version, path=exc.json_path_in_schema) from None

    def plan(self, policy: Policy) -> Node:
        """The redaction plan of this schema under ``policy``."""
        return compile_plan(self.schema, policy, self.references)

    @property
    def title(self) -> str:
        """The schema's title (or its id)."""
        return str(self.schema.get("title") or self.id)

    @property
    def description(self) -> str:
        """The schema's description, for the transparency notice."""
        return str(self.schema.get("description") or "").strip()


def build_schema(source: SchemaSource, known: dict[str, Any] | None = None,
                 remote: RemoteReferences | None = None) -> EventSchema:
    """Read and check one schema; raise the error its first problem calls for.

    ``known``: the registered schemas its ``$ref`` s may name, by ``$id``."""
    loaded = load_source(source)
    raise_for_problems(schema_problems(loaded.schema), loaded.origin, loaded.schema)
    # A private copy: changing the caller's dict later must not change what we validate.
    schema = copy.deepcopy(loaded.schema)
    references = gather_references(schema, known or {}, remote)
    return EventSchema(schema["$id"], version_key(schema["version"]), schema, loaded.origin,
                       references)


class SchemaRegistry:
    """The schemas one ``EventLog`` knows, by ``(id, version)``."""

    def __init__(self) -> None:
        self._schemas: dict[tuple[str, str], EventSchema] = {}

    def add(self, schema: EventSchema) -> EventSchema:
        """Register (or replace) ``schema`` under its ``(id, version)``."""
        self._schemas[(schema.id, schema.version)] = schema
        return schema

    def get(self, schema_id: str, version: Any) -> EventSchema:
        """The schema registered as ``(schema_id, version)``; a clear error if none is."""
        try:
            return self._schemas[(schema_id, version_key(version))]
        except (KeyError, SchemaRegistrationError):
            known = self.versions(schema_id)
            hint = (f"registered versions of it: {', '.join(known)}" if known else
                    "register it first with EventLog.register_schema(...) or "
                    "register_schema_file(...)")
            raise SchemaNotRegisteredError(
                f"schema {schema_id!r} version {version!r} is not registered; {hint}",
                schema_id=schema_id, version=str(version)) from None

    def documents(self) -> dict[str, Any]:
        """The newest version of each registered schema, by ``$id`` (what ``$ref`` reaches)."""
        return {sid: self._schemas[(sid, self.versions(sid)[-1])].schema
                for sid in {sid for sid, _ in self._schemas}}

    def versions(self, schema_id: str) -> list[str]:
        """The registered versions of ``schema_id``, oldest first."""
        found = [v for (sid, v) in self._schemas if sid == schema_id]
        return sorted(found, key=lambda v: (0, int(v), "") if v.isdigit() else (1, 0, v))

    def latest(self, schema_id: str) -> EventSchema | None:
        """The newest registered version of ``schema_id`` (None if there is none)."""
        versions = self.versions(schema_id)
        return self._schemas[(schema_id, versions[-1])] if versions else None

    def __contains__(self, key: object) -> bool:
        # Both old spellings: ``(id, version)`` (jupyter_telemetry) and ``id``
        # (jupyter_events).
        if isinstance(key, str):
            return any(sid == key for sid, _ in self._schemas)
        if isinstance(key, tuple) and len(key) == 2:
            try:
                return (key[0], version_key(key[1])) in self._schemas
            except ValueError:
                return False
        return False

    def __iter__(self) -> Iterator[EventSchema]:
        return iter(list(self._schemas.values()))

    def __len__(self) -> int:
        return len(self._schemas)


def builtin_schema_paths() -> list[Path]:
    """The event schemas this project ships (``schemas/events/``)."""
    return sorted((SCHEMAS_DIR / "events").glob("*.yaml"))


@functools.cache
def builtin_schemas() -> tuple[EventSchema, ...]:
    """The shipped event schemas, read and compiled once per process."""
    return tuple(build_schema(p) for p in builtin_schema_paths())
