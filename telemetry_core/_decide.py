"""The decision: is this event recorded, and if not, why? One function, one place.

:func:`decide` runs the steps of the pipeline in order, for one event:

1. allowed?   the schema id is in ``allowed_schemas`` (its route exists)
2. consent?   required / opt-in / opt-out, for the user the event is about
3. valid?     a JSON value within the EventLog's one set of bounds (``json_bytes``),
              then the schema's compiled validator
4. private?   the redaction plan, on our own copy (only for schemas that mark something)
5. envelope   timestamp, schema, versions, event id (and ``__source__`` from the REST edge)

and returns a typed :data:`Outcome`. Every edge (``EventLog.record_event``, the REST
service, the Jupyter hooks through ``record_event``, the CLI) passes the outcome on;
none validates or asks consent again. ``Duplicate`` is decided at the REST edge, by its
memory of client event ids, before an event gets here.

The outcome carries the error wording (``_validation.invalid_message``), so a Python
exception, a REST answer and the JS client's message say the same thing.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._envelope import Envelope, format_timestamp, new_clock, serialise
from ._errors import EventValidationError, SchemaNotRegisteredError
from ._validation import MAX_SIZE_RULE, NotJSONError, invalid_message, json_bytes

if TYPE_CHECKING:
    from ._privacy import Redactor
    from ._schema_registry import EventSchema
    from .subject import SubjectRoute

_clock = new_clock()
_now = _clock.now


class Route:
    """What deciding an event of one ``(schema id, version)`` needs, worked out once."""

    __slots__ = ("schema", "schema_id", "is_valid", "redactor", "version", "envelope_version",
                 "template", "warned", "names", "needs_consent", "envelope",
                 "sourced_envelope", "subject", "inspect")

    def __init__(self, schema: EventSchema, redactor: Redactor | None,
                 schema_id: str, names: frozenset[str], needs_consent: bool) -> None:
        self.schema = schema
        self.schema_id = schema_id
        self.names = names  # the top-level names the schema declares (none reserved)
        self.needs_consent = needs_consent  # False for `required`: no per-user work
        self.is_valid = schema.validator.is_valid
        self.redactor = redactor  # None when the schema marks nothing the policy redacts
        self.warned = False  # about dropping undeclared properties (once per route)
        self.version = schema.version
        # The schema's own spelling: 1 stays 1 (jupyter_telemetry), "1" stays "1"
        # (jupyter_events), so consumers of either see what they saw before.
        self.envelope_version = schema.schema["version"]
        # The envelope in its order; decide copies it and fills in the two per-event
        # fields (cheaper than building the five-key dict each time).
        self.template = Envelope(schema_id, self.envelope_version)
        self.envelope = self.template.fields
        # The same, with the REST server's __source__ after the other fields.
        self.sourced_envelope: dict[str, Any] = {**self.envelope, "__source__": None}
        # Step 4b, for a person's rights: __subject__ and sealed values (None: nothing).
        self.subject: SubjectRoute | None = None
        # ``inspect_before_redaction``: keep the event as validated, before steps 4 and
        # 4b, for the sinks that inspect and forget it (the detect sink); never stored.
        self.inspect = False


# -- outcomes ---------------------------------------------------------------------------


class Recorded:
    """The event is recorded: ``event`` (envelope included), and its JSON when nothing
    changed it after the JSON check (``raw``; None: serialise ``event``).

    ``inspected``: for a schema with ``inspect_before_redaction``, the event's JSON as
    validated, before redaction and sealing: only for the sinks that inspect events
    and keep nothing of them (``Sink.inspects_before_redaction``). Otherwise None.
    """

    __slots__ = ("event", "raw", "route", "timestamp", "event_id", "inspected")
    status: Literal["recorded"] = "recorded"

    def __init__(self, event: dict[str, Any], raw: bytes | None, route: Route,
                 timestamp: str, event_id: str, inspected: bytes | None = None) -> None:
        self.event = event
        self.raw = raw
        self.route = route
        self.timestamp = timestamp
        self.event_id = event_id
        self.inspected = inspected

    def __repr__(self) -> str:  # never the inspected value, which is not recorded
        return f"<Recorded {self.route.schema_id} {self.event_id}>"

    def answer(self) -> dict[str, Any]:
        """The REST API's per-event result."""
        return {"status": "recorded", "event_id": self.event_id}


class NotRecorded:
    """Not recorded, by policy: ``reason`` is ``not_allowed``, ``no_consent`` or
    ``after_close`` (the EventLog was closed)."""

    __slots__ = ("reason",)
    status: Literal["not_recorded"] = "not_recorded"

    def __init__(self, reason: Literal["not_allowed", "no_consent", "after_close"]) -> None:
        self.reason = reason

    def answer(self) -> dict[str, Any]:
        """The REST API's per-event result."""
        return {"status": "not_recorded", "reason": self.reason}


NOT_ALLOWED = NotRecorded("not_allowed")
NO_CONSENT = NotRecorded("no_consent")
AFTER_CLOSE = NotRecorded("after_close")


class Invalid:
    """The event is refused: where (``path``) and which ``rule``; ``error`` is the
    exception ``record_event`` raises for it. Names no value."""

    __slots__ = ("schema_id", "version", "path", "rule", "error")
    status: Literal["invalid"] = "invalid"

    def __init__(self, schema_id: str, version: Any, path: str, rule: str,
                 error: Exception | None = None) -> None:
        self.schema_id = schema_id
        self.version = version
        self.path = path
        self.rule = rule
        self.error: Exception = error or EventValidationError(
            self.message, schema_id=schema_id, schema_version=str(version), json_path=path,
            validator=rule)

    @property
    def message(self) -> str:
        """The one wording: ``invalid event for schema 'ID' version 1: $.page: type``."""
        return invalid_message(self.schema_id, self.version, self.path, self.rule)

    def answer(self) -> dict[str, Any]:
        """The REST API's per-event result (and, for a single event, its 400 body)."""
        return {"status": "invalid",
                "error": {"path": self.path, "rule": self.rule, "message": self.message}}


class TooLarge(Invalid):
    """Invalid because it is larger than ``max_event_size`` bytes as JSON."""

    __slots__ = ()


class Duplicate:
    """A re-sent event the REST edge already recorded (by the client's own id)."""

    __slots__ = ("event_id",)
    status: Literal["duplicate"] = "duplicate"

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id

    def answer(self) -> dict[str, Any]:
        """The REST API's per-event result."""
        return {"status": "duplicate", "event_id": self.event_id}


Outcome = Recorded | NotRecorded | Invalid | Duplicate
"""What :func:`decide` (or the REST edge, for ``Duplicate``) made of one event."""


class Policy(Protocol):
    """What :func:`decide` reads of the EventLog: its compiled routes, its consent
    answer and its bounds."""

    max_depth: int
    max_size: int
    routes: dict[tuple[Any, Any, type], Route | None]  # the cache route() fills

    @property
    def debug_values(self) -> bool:
        """Whether errors may quote values (``EventLog.debug_values_in_errors``)."""

    def route(self, schema_id: Any, version: Any) -> Route | None:
        """The route of an allowed ``(schema id, version)``; None when not allowed.
        Raises SchemaNotRegisteredError for an allowed one that is not registered."""

    def consents(self, user: str | None, route: Route) -> bool:
        """Whether ``user`` (None: the ambient one) consents to ``route``'s schema."""

    def user(self, given: str | None) -> str | None:
        """The user an event is about: ``given``, else the ambient one (or None)."""

    @property
    def closed(self) -> bool:
        """Whether the EventLog was closed (nothing is recorded after it)."""


def decide(policy: Policy, schema_id: Any, version: Any, event: Any, *,
           user: str | None = None, source: Mapping[str, Any] | None = None,
           event_id: str | None = None, timestamp: _dt.datetime | None = None,
           on_redact: Callable[[], None] | None = None) -> Outcome:
    """Decide one event, in the pipeline's order; see the module's docstring.

    Never changes ``event``; raises only for a caller's mistake (a schema id that is
    not a string, a user id consent cannot use), never for the event's content.
    """
    try:
        # The cache inline: a method call per event costs more than the lookup itself.
        route = policy.routes[(schema_id, version, type(version))]
    except (KeyError, TypeError):
        try:
            route = policy.route(schema_id, version)
        except SchemaNotRegisteredError as exc:
            return Invalid(str(schema_id), version, "$", "registered", exc)
    if route is None:  # step 1
        return AFTER_CLOSE if policy.closed else NOT_ALLOWED
    if route.needs_consent and not policy.consents(user, route):  # step 2
        return NO_CONSENT
    # Step 3: JSON values within bounds first (nothing else reaches the validators).
    if type(event) is not dict:
        if not isinstance(event, Mapping):
            return Invalid(schema_id, route.version, "$", "type")
        event = dict(event)
    declared = event.keys() <= route.names  # the common case: no name to look into
    try:
        body = json_bytes(event, policy.max_depth, policy.max_size, declared)
    except NotJSONError as problem:
        kind = TooLarge if problem.rule == MAX_SIZE_RULE else Invalid
        return kind(schema_id, route.version, problem.path, problem.rule,
                    route.schema.validator.not_json(problem.path, problem.rule))
    if not route.is_valid(event):
        error = route.schema.validator.error_for(event, policy.debug_values)
        return Invalid(schema_id, route.version, error.json_path, str(error.validator), error)
    # Step 5 before 4, so that redaction runs on our own copy, never the caller's dict.
    given_id = event_id
    if timestamp is None:
        stamp, event_id = _now()
    else:
        stamp, event_id = format_timestamp(timestamp), _clock.event_id()
    if given_id is not None:
        event_id = given_id
    source_stamp = None if source is None else dict(source)
    if source_stamp is None:
        recorded = route.envelope | event  # no clash: json_bytes refused "__" names
    else:
        recorded = route.sourced_envelope | event
        recorded["__source__"] = source_stamp
    recorded["__timestamp__"] = stamp
    recorded["__event_id__"] = event_id
    # A given id goes into the envelope's text as it is: only one JSON never escapes.
    changed = given_id is not None and not _plain_ascii(given_id)
    inspected = None
    if route.inspect:  # before step 4: what the inspecting sinks see, and only they
        inspected = (serialise(recorded) if changed else
                     route.template.json(stamp, event_id, body, source_stamp))
    if route.redactor is not None:  # step 4
        changed = route.redactor.redact_owned(recorded, keys_declared=declared) or changed
    if route.subject is not None:  # step 4b: __subject__, personal values sealed per user
        recorded = route.subject.apply(recorded, policy.user(user))
        changed = True
    # Unchanged since the JSON check: its bytes, wrapped in the envelope's text (whose
    # timestamp and id are ASCII that JSON never escapes).
    raw = None if changed else route.template.json(stamp, event_id, body, source_stamp)
    return Recorded(recorded, raw, route, stamp, event_id, inspected)


def event_id_now() -> str:
    """A fresh event id from the decision's clock."""
    return _clock.event_id()


def _plain_ascii(text: str) -> bool:
    """Whether JSON writes ``text`` as it is (printable ASCII, no quote or backslash)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
