"""EventLog: records schema-validated, privacy-filtered events to handlers and sinks.

One event is decided by ``_decide.decide`` (allowed? consent? valid? private?
envelope), a pure function over this EventLog's compiled routes, consent answer and
bounds; ``record`` passes the outcome on (modifiers, then ``_dispatch`` to handlers),
``record_event`` speaks it as ``jupyter_telemetry`` did (the event, None, or an error).

Everything that depends only on ``(schema id, version)`` and the policy (validator,
redaction plan, envelope) is worked out once into a *route* and cached, so the
per-event work is the validation itself, the envelope and one serialisation (two
when redaction changed the event: the JSON check's bytes are reused otherwise).

Over 500 lines, for a reason: ``EventLog`` is one ``Configurable``, and traitlets wants
its ~20 documented, validated settings on the class (about 170 lines); the steps
themselves already live in the modules named above, and consent in ``consent``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal

from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Int,
    List,
    TraitError,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Config

from . import _notice, _plugins
from ._config import StrictConfigurable
from ._decide import (
    AFTER_CLOSE,
    NOT_ALLOWED,
    Outcome,
    Recorded,
    Route,
    decide,
)
from ._dispatch import Dispatcher
from ._errors import SchemaNotRegisteredError
from ._privacy import Policy, Redactor, decisions
from ._schema_registry import (
    EventSchema,
    RemoteReferences,
    SchemaRegistry,
    SchemaSource,
    build_schema,
    builtin_schemas,
    version_key,
)
from ._traits import AllowedSchemas, Handlers, check_deployment
from ._validation import DEFAULT_MAX_DEPTH, DEFAULT_MAX_SIZE, json_problem
from .consent import CONSENT_SCHEMA_ID, Consent, ConsentPolicy, Decision, current_user
from .sinks import SinkHandler, create_sink
from .subject import SubjectRecording

log = logging.getLogger("telemetry_core")

Modifier = Callable[..., Any]
_ROUTE_CACHE_MAX = 4096  # distinct (schema id, version) spellings remembered per EventLog

# EventLogs alive in this process, and handlers that capture from all of them
# (telemetry_core.testing.capture_events without an EventLog).
_live: weakref.WeakSet[EventLog] = weakref.WeakSet()
_capture_handlers: list[logging.Handler] = []


def _refresh_all() -> None:
    for eventlog in list(_live):
        eventlog._rebuild_dispatch()


class SchemaNotRegistered(UserWarning):
    """Warned by :meth:`EventLog.emit` (as jupyter_events does) for an unknown schema id."""


class EventLog(StrictConfigurable):
    """Send structured, schema-validated events to logging handlers and sinks.

    Nothing is recorded unless its schema id is in ``allowed_schemas``; properties the
    policy does not allow are redacted before any handler sees them.
    """

    handlers = Handlers(
        [], config=True, allow_none=True,
        help="logging.Handler instances to send events to (one JSON object per line).")
    allowed_schemas = AllowedSchemas(
        [], config=True,
        help="""Schema ids to record. A list (PII is redacted), or a dict
        {schema_id: {"allowed_categories": [...], "allowed_properties": [...],
        "keep_undeclared": false, "consent": "required"|"opt-in"|"opt-out"}}. Nothing is
        recorded for a schema that is not listed; properties a schema does not declare are
        dropped unless keep_undeclared is true. The consent default: opt-in where the
        policy keeps personal data, required otherwise (docs/consent.md). Frozen: assign
        a new value to change it.""")
    consent_store = Unicode(
        config=True,
        help="""Where consent decisions are kept: "" for a SQLite file under
        $XDG_STATE_HOME/telemetry/, sqlite:///PATH, or postgresql://... (several
        machines; pip install 'telemetry-core[postgresql]'). Default:
        $TELEMETRY_CONSENT_STORE.""")
    consent_cache_ttl = Float(
        5.0, min=0.0, config=True,
        help="""Seconds a consent answer is cached per (user, schema): the bound within
        which a decision made in another process takes effect here. 0: no cache.""")
    consent_lifetime_days = Float(
        0.0, min=0.0, config=True,
        help="""Days a yes counts before the user must be asked again (0: forever). An
        expired yes to an opt-in schema counts as not given; a no never expires.""")
    consent_groups = Dict(
        config=True,
        help="""Named groups of schema ids a user can decide on at once, e.g.
        {"research": ["https://.../code-executed", ...]}.""")
    deployment = Dict(
        config=True,
        help="""Facts the notice shows: {"controller": ..., "contact": ..., "retention":
        ..., "regimes": {"GDPR": {"legal_basis": ..., "required_reason": ...}}}.""")
    sinks = List(
        Dict(), config=True,
        help="""Sinks to build, start and close with this EventLog, e.g.
        [{"type": "file", "path": "events/"}] (see `telemetry sinks`).""")
    redaction = Enum(
        ["null", "hash"], "null", config=True,
        help="""How values the policy does not allow are redacted: "null", or "hash" (a
        keyed HMAC-SHA256 pseudonym, so events can be joined without the value).""")
    redaction_secret = Unicode(
        config=True,
        help="The key for redaction='hash' (default: $TELEMETRY_REDACTION_SECRET).")
    schema_files = List(
        Unicode(), config=True,
        help="Schema files or URLs to register at start-up (in addition to the shipped ones).")
    register_builtin_schemas = Bool(
        True, config=True, help="Register the Jupyter event schemas this project ships.")
    max_event_depth = Int(
        DEFAULT_MAX_DEPTH, config=True,
        help="""Events nested deeper than this (the event itself is 1) are rejected; at
        most 254, the deepest orjson writes.""")
    max_event_size = Int(
        DEFAULT_MAX_SIZE, config=True,
        help="Events larger than this many bytes as compact JSON are rejected.")
    debug_values_in_errors = Bool(
        False, config=True,
        help="""Let EventValidationError quote the offending value (message and .instance).
        Off by default: values may be personal data, and errors end up in logs.""")
    subject_secret = Unicode(
        config=True,
        help="""The key of the subject pseudonym: when set, every event about a user
        carries ``__subject__``, a keyed hash of the user, so that `telemetry subject`
        can find, export and erase a person's events (docs/subject-rights.md). Default:
        $TELEMETRY_SUBJECT_SECRET.""")
    subject_key_store = Unicode(
        config=True,
        help="""Where per-user keys for schemas with "encrypt": true are kept: "" (a
        SQLite file under $XDG_STATE_HOME/telemetry/), sqlite:///PATH or
        postgresql://.... The master key comes from $TELEMETRY_SUBJECT_MASTER_KEY.
        Default: $TELEMETRY_SUBJECT_KEY_STORE.""")
    remote_references = Bool(
        False, config=True,
        help="""Let a schema's $ref fetch http(s) documents, once, at registration. Off: a
        $ref reaches only the schema itself and registered schemas.""")
    remote_reference_timeout = Float(
        5.0, config=True, help="Seconds to wait for one remote $ref document.")
    remote_reference_max_bytes = Int(
        1_000_000, config=True, help="The largest remote $ref document accepted, in bytes.")

    @default("redaction_secret")
    def _default_secret(self) -> str:
        return os.environ.get("TELEMETRY_REDACTION_SECRET", "")

    @default("subject_secret")
    def _default_subject_secret(self) -> str:
        return os.environ.get("TELEMETRY_SUBJECT_SECRET", "")

    @default("subject_key_store")
    def _default_subject_key_store(self) -> str:
        return os.environ.get("TELEMETRY_SUBJECT_KEY_STORE", "")

    @default("consent_store")
    def _default_consent_store(self) -> str:
        return os.environ.get("TELEMETRY_CONSENT_STORE", "")

    @validate("deployment")
    def _check_deployment(self, proposal: Any) -> dict[str, Any]:
        return check_deployment(proposal["value"])

    @validate("consent_store")
    def _check_store_url(self, proposal: Any) -> str:
        url = proposal["value"]
        if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://",
                                       "postgresql+psycopg://")):
            raise TraitError("EventLog.consent_store is '' (a SQLite file under "
                             "$XDG_STATE_HOME/telemetry/), sqlite:///PATH or postgresql://...")
        return str(url)

    @observe("consent_store", "consent_cache_ttl", "consent_lifetime_days")
    def _consent_store_changed(self, change: Any) -> None:
        if hasattr(self, "consent"):
            self.consent.set_policy(self._consent_policy())  # reopened on next use

    @validate("consent_groups")
    def _check_groups(self, proposal: Any) -> dict[str, list[str]]:
        groups = proposal["value"]
        for name, members in groups.items():
            if not isinstance(members, (list, tuple)) or not all(
                    isinstance(m, str) for m in members):
                raise TraitError(f"EventLog.consent_groups[{name!r}] must be a list of "
                                 "schema ids")
        return {name: list(members) for name, members in groups.items()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consent = Consent(self._consent_policy(), self._record_decision)
        self._closed = False
        self._checked_registrations = False
        self._not_allowed = 0
        self._after_close = 0
        self._count_lock = threading.Lock()
        self.schemas = SchemaRegistry()
        self._routes: dict[tuple[Any, Any, type], Route | None] = {}
        #: Properties dropped because their schema does not declare them, by
        #: (schema id, version).
        self.undeclared_dropped: dict[tuple[str, str], int] = {}
        self._decisions = _Decisions(self)
        self._no_user = 0
        self._warned_no_user: set[str] = set()
        self._modifiers: list[tuple[str | None, Modifier]] = []
        self._own_sinks: list[SinkHandler] = []
        self._policies = self._build_policies()
        self._subjects = SubjectRecording(self.subject_secret.encode(), self.subject_key_store,
                                          None)
        if self.register_builtin_schemas:
            for schema in builtin_schemas():
                self.schemas.add(schema)
        for source in self.schema_files:
            self.register_schema(source)
        self._check_secret()
        # The modifier hooks, kept current by register_plugin/unregister_plugin (from
        # pluggy's public get_hookimpls()): the no-plugin check is a list's truth value.
        self._hookimpls = _plugins.modify_event_impls
        try:
            for cfg in self.sinks:
                sink = create_sink(cfg)
                sink.start()
                self._own_sinks.append(sink)
        except Exception:
            self.close()
            raise
        self._dispatch = Dispatcher([])
        self._rebuild_dispatch()
        if self._inspected and not self._dispatch.inspecting:
            log.warning(
                "inspect_before_redaction is set for %s but no sink of this EventLog "
                "inspects events (only a 'detect' sink does): it has no effect",
                ", ".join(sorted(self._inspected)))
        _live.add(self)

    # -- configuration ----------------------------------------------------------------

    @classmethod
    def from_config_file(cls, path: str | os.PathLike[str], **traits: Any) -> EventLog:
        """An EventLog configured by a traitlets config file: ``.py`` (``c.EventLog.x =
        ...``) or ``.json`` (``{"EventLog": {...}}``). Keyword arguments override it.

        Raises ``ConfigFileError`` (a ``ValueError``) for a missing, unreadable or
        unsupported file.
        """
        from ._config import load_config_file

        return cls(config=load_config_file(path), **traits)

    def _load_config(self, cfg: Config, section_names: Any = None, traits: Any = None) -> None:
        # traitlets deep-copies config values; handlers (locks, open streams) cannot be
        # copied, so hand traitlets a function that returns them instead.
        my_cfg = self._find_my_config(cfg)
        if "handlers" in my_cfg and not callable(my_cfg["handlers"]):
            handlers = my_cfg["handlers"]
            patched = Config(my_cfg)
            patched["handlers"] = lambda: handlers
            cfg = Config({**cfg, type(self).__name__: patched})  # other sections kept
        super()._load_config(cfg, section_names=section_names, traits=traits)

    def _build_policies(self) -> dict[str, Policy]:
        allowed = self.allowed_schemas
        self._encrypted = frozenset(sid for sid, p in allowed.items() if p.get("encrypt")) \
            if isinstance(allowed, dict) else frozenset()
        self._inspected = frozenset(sid for sid, p in allowed.items()
                                    if p.get("inspect_before_redaction")) \
            if isinstance(allowed, dict) else frozenset()
        secret = self.redaction_secret.encode()
        mode: Literal["null", "hash"] = "hash" if self.redaction == "hash" else "null"
        if isinstance(allowed, dict):
            return {sid: Policy(frozenset(p.get("allowed_categories", ())),
                                frozenset(p.get("allowed_properties", ())),
                                mode, secret, bool(p.get("keep_undeclared", False)))
                    for sid, p in allowed.items()}
        return {sid: Policy(redaction=mode, secret=secret) for sid in allowed}

    def _consent_policy(self) -> ConsentPolicy:
        """The view of this configuration Consent works from (it never sees the EventLog)."""
        allowed = self.allowed_schemas
        return ConsentPolicy(
            {sid: allowed[sid].get("consent") if isinstance(allowed, dict) else None
             for sid in allowed},
            {name: tuple(members) for name, members in self.consent_groups.items()},
            self.consent_store, self.consent_cache_ttl, self.consent_lifetime_days,
            collected=partial(_notice.collected, self),
            notice_body=partial(_notice.notice_body, self))

    def _record_decision(self, decision: Decision) -> None:
        self.record_event(CONSENT_SCHEMA_ID, 1, {
            "user": decision.user, "scope": decision.scope, "granted": decision.granted,
            "notice_version": decision.notice_version, "via": decision.via,
        }, user=decision.user)

    def _check_secret(self) -> None:
        if self.redaction == "hash" and not self.redaction_secret:
            raise ValueError(
                "EventLog.redaction = 'hash' needs a secret: set EventLog.redaction_secret "
                "or the TELEMETRY_REDACTION_SECRET environment variable")

    @observe("allowed_schemas", "redaction", "redaction_secret", "consent_groups",
             "deployment")
    def _policy_changed(self, change: Any) -> None:
        if hasattr(self, "_routes"):
            self._policies = self._build_policies()
            self._routes.clear()
            self.consent.set_policy(self._consent_policy())

    @observe("max_event_depth", "max_event_size")
    def _bounds_changed(self, change: Any) -> None:
        if hasattr(self, "_decisions"):
            self._decisions.bounds_changed()

    @observe("handlers")
    def _handlers_changed(self, change: Any) -> None:
        if hasattr(self, "_dispatch"):
            self._rebuild_dispatch()

    @staticmethod
    def add_process_handler(handler: logging.Handler) -> None:
        """Send the events of every EventLog in this process, present and future, to
        ``handler`` too (``telemetry_core.testing.capture_events()`` without an EventLog)."""
        _capture_handlers.append(handler)
        _refresh_all()

    @staticmethod
    def remove_process_handler(handler: logging.Handler) -> None:
        """Undo :meth:`add_process_handler` (ValueError if ``handler`` was not added)."""
        _capture_handlers.remove(handler)
        _refresh_all()

    def _rebuild_dispatch(self) -> None:
        self._dispatch = Dispatcher(
            [*(self.handlers or ()), *self._own_sinks, *_capture_handlers])

    def policy_for(self, schema_id: str) -> Policy | None:
        """The privacy policy for ``schema_id``, or None when it is not allowed."""
        return self._policies.get(schema_id)

    # -- schemas ----------------------------------------------------------------------

    def register_schema(self, schema: SchemaSource) -> EventSchema:
        """Register an event schema: a dict, a path, an open file, a URL or YAML/JSON text.

        Raises ``InvalidSchemaError`` (a ``jsonschema.SchemaError``) for a schema that is
        not valid JSON Schema, for personal-data marks redaction cannot honour, or for a
        ``$ref`` to a schema that is not registered; ``SchemaRegistrationError`` (a
        ``ValueError``) for a missing ``$id``/``version`` or a reserved property name;
        ``SchemaLoadError`` for a source that cannot be read.
        """
        remote = RemoteReferences(self.remote_references, self.remote_reference_timeout,
                                  self.remote_reference_max_bytes)
        registered = self.schemas.add(build_schema(schema, self.schemas.documents(), remote))
        self._routes.clear()
        self.consent.invalidate()  # the notice (and perhaps a default mode) changed
        return registered

    def register_schema_file(self, filename: SchemaSource) -> EventSchema:
        """Register a schema from a JSON or YAML file (a path or an open file)."""
        return self.register_schema(filename)

    def register_event_schema(self, schema: SchemaSource) -> EventSchema:
        """jupyter_events' name for :meth:`register_schema`."""
        return self.register_schema(schema)

    # -- handlers and modifiers -------------------------------------------------------

    def register_handler(self, handler: logging.Handler) -> None:
        """Add a handler (as jupyter_events does)."""
        if handler not in (self.handlers or []):
            self.handlers = [*(self.handlers or []), handler]

    def remove_handler(self, handler: logging.Handler) -> None:
        """Remove a handler added earlier."""
        self.handlers = [h for h in (self.handlers or []) if h is not handler]

    def add_modifier(self, modifier: Modifier | None = None, *,
                     schema_id: str | None = None) -> None:
        """Add ``modifier(schema_id=..., data=...) -> dict`` (jupyter_events' signature).

        It runs after validation, redaction and the envelope, for ``schema_id`` only or
        for every schema. Redaction is applied again after it, so it cannot re-add a
        redacted value; one that raises is logged and skipped.
        """
        if not callable(modifier):
            raise TypeError(f"a modifier must be callable, got {modifier!r}")
        self._modifiers.append((schema_id, modifier))

    def remove_modifier(self, modifier: Modifier | None = None, *,
                        schema_id: str | None = None) -> None:
        """Remove a modifier (for ``schema_id`` only, or everywhere)."""
        self._modifiers = [(sid, m) for sid, m in self._modifiers
                           if not (m == modifier and (schema_id is None or sid == schema_id))]

    # -- recording ----------------------------------------------------------------------

    def _route(self, schema_id: Any, version: Any) -> Route | None:
        if not isinstance(schema_id, str):
            raise TypeError(
                f"record_event needs a schema id (a string, e.g. the schema's $id), got "
                f"{schema_id!r}")
        if self._closed:
            return None  # never cached: record_event counts and warns
        if not self._checked_registrations:
            self._warn_unregistered()
        policy = self._policies.get(schema_id)
        if policy is None:
            route = None  # not allowed: recorded nowhere, whether registered or not
        else:
            try:
                version_key(version)
            except ValueError:
                raise SchemaNotRegisteredError(
                    f"schema {schema_id!r}: version {version!r} is not a version (an "
                    "integer or a string)", schema_id=schema_id, version=str(version)) from None
            schema = self.schemas.get(schema_id, version)
            plan = schema.plan(policy)
            key = (schema_id, schema.version)
            redactor = Redactor(plan, policy, lambda n: self._count_dropped(key, n)) \
                if plan.active else None
            names = frozenset(k for k in plan.declared if k[:2] != "__")
            route = Route(schema, redactor, schema_id, names,
                           self.consent.mode(schema_id) != "required")
            route.subject = self._subjects.route(
                schema.schema, policy, schema_id in self._encrypted, schema.references)
            if schema_id in self._inspected:
                route.inspect = True  # even where it changes nothing: the sink expects it
                # Dropping undeclared properties makes a redactor too: ask what it hides.
                if route.subject is None and not any(
                        d.decision != "kept" for d in decisions(plan, policy)):
                    log.warning(
                        "allowed_schemas[%r]['inspect_before_redaction'] has no effect: the "
                        "policy keeps every value of version %s as sent (nothing is redacted "
                        "before it is stored)", schema_id, schema.version)
        if len(self._routes) < _ROUTE_CACHE_MAX:
            # The version's type is part of the key: True == 1 == 1.0 as dict keys, but
            # only 1 is a version.
            self._routes[(schema_id, version, type(version))] = route
        return route

    def _count_dropped(self, key: tuple[str, str], count: int) -> None:
        self.undeclared_dropped[key] = self.undeclared_dropped.get(key, 0) + count
        if self.undeclared_dropped[key] == count:  # the first time: say so, once
            log.warning(
                "schema %r version %s: dropped properties the schema does not declare "
                "(counted in EventLog.undeclared_dropped); declare them in the schema, or "
                "set keep_undeclared for it in allowed_schemas", key[0], key[1])

    def record(self, schema_id: str | None, version: Any, event: Any, *,
               user: str | None = None, source: Mapping[str, Any] | None = None,
               event_id: str | None = None,
               timestamp: _dt.datetime | None = None) -> Outcome:
        """Decide one event and deliver it when recorded; the typed outcome
        (``Recorded``, ``NotRecorded``, ``Invalid``; see ``telemetry_core._decide``).

        The edges that must say why an event was not recorded (the REST API) call
        this; :meth:`record_event` is the same decision, as ``jupyter_telemetry`` spoke
        it (the event, None, or an exception).
        """
        outcome = decide(self._decisions, schema_id, version, event, user=user,
                         source=source, event_id=event_id, timestamp=timestamp)
        if type(outcome) is Recorded:
            if self._modifiers or self._hookimpls:
                outcome.event = self._modify(outcome.route, outcome.event)
                outcome.raw = None
            dispatch = self._dispatch
            if dispatch.active:
                route = outcome.route
                dispatch.deliver(outcome.event, route.schema_id, route.version,
                                 outcome.timestamp, outcome.event_id, outcome.raw,
                                 outcome.inspected)
        elif outcome is NOT_ALLOWED:
            with self._count_lock:
                self._not_allowed += 1
        elif outcome is AFTER_CLOSE:
            with self._count_lock:
                self._after_close += 1
                if self._after_close == 1:
                    log.warning("record_event after EventLog.close(): nothing is "
                                "recorded (counted in stats()['after_close'])")
        return outcome

    def record_event(self, schema_id: str | None = None, version: Any = None,
                     event: Mapping[str, Any] | None = None,
                     timestamp_override: _dt.datetime | None = None, *,
                     schema_name: str | None = None,
                     user: str | None = None,
                     source: Mapping[str, Any] | None = None,
                     event_id: str | None = None) -> dict[str, Any] | None:
        """Record one event; returns it as recorded (envelope included), or None when its
        schema is not in ``allowed_schemas`` or the user's consent is missing (both
        counted in :meth:`stats`; :meth:`why_not_recorded` says which).

        ``user`` is who the event is about, for consent; without it, the user of the
        innermost ``with acting_as(...)``. It is not added to the event.
        ``source`` (set by the REST server, never by event data) becomes the ``__source__``
        envelope field, after the others; ``event_id`` overrides the generated
        ``__event_id__`` (the server derives it from a client's own id, so a retried event
        keeps its id). ``schema_name=`` is the older spelling of ``schema_id``. Raises
        ``SchemaNotRegisteredError`` (a ``ValueError``) for an allowed schema that is not
        registered and ``EventValidationError`` (a ``jsonschema.ValidationError``) for an
        invalid event, naming the JSON path and rule (``$.kernel_id: required``). The
        caller's dict is never changed.
        """
        outcome = self.record(schema_name if schema_id is None else schema_id, version,
                              event, user=user, source=source, event_id=event_id,
                              timestamp=timestamp_override)
        if type(outcome) is Recorded:
            # No copy needed: handlers got its bytes, nothing else keeps it, so the
            # caller changing it cannot change what was recorded.
            return outcome.event
        if outcome.status == "invalid":
            raise outcome.error  # type: ignore[union-attr]
        return None

    def emit(self, *, schema_id: str, data: Mapping[str, Any],
             timestamp_override: _dt.datetime | None = None) -> dict[str, Any] | None:
        """jupyter_events' ``emit``: record ``data`` against the newest registered version
        of ``schema_id``. Warns (``SchemaNotRegistered``) and returns None for an unknown
        schema id, as jupyter_events does."""
        schema = self.schemas.latest(schema_id)
        if schema is None:
            warnings.warn(
                f"{schema_id} has not been registered yet; register it with "
                "EventLog.register_schema(...)", SchemaNotRegistered, stacklevel=2)
            return None
        return self.record_event(schema_id, schema.version, data, timestamp_override)

    def _modify(self, route: Route, recorded: dict[str, Any]) -> dict[str, Any]:
        envelope = {k: v for k, v in recorded.items() if k[:2] == "__"}
        schema_id = route.schema.id
        # A deep copy: modifiers may change nested values in place, and those may be the
        # caller's own objects.
        event = copy.deepcopy(recorded)
        for only, modifier in list(self._modifiers):
            if only is None or only == schema_id:
                event = _call_modifier(modifier, event, schema_id=schema_id, data=event)
        for impl in reversed(list(self._hookimpls)):
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                continue  # wrappers wrap pluggy's own calls; modifiers are called one by one
            kwargs = {"schema_id": schema_id, "version": route.version, "event": event}
            event = _call_modifier(impl.function, event,
                                   **{k: kwargs[k] for k in impl.argnames})
        for name in [k for k in event if k[:2] == "__" and k not in envelope]:
            del event[name]  # the envelope is the EventLog's: no new fields in it
        problem = json_problem(event, self.max_event_depth, self.max_event_size, enveloped=True)
        if problem is not None:
            log.error("schema %r version %s: modifiers made the event invalid at %s (%s); "
                      "recorded it as it was before them", schema_id, route.version, *problem)
            return recorded
        if route.redactor is not None:
            # Ours (a deep copy, or a modifier's result). Against ``recorded``: what a
            # modifier put back at a marked place is redacted again, what it left is kept.
            route.redactor.redact_owned(event, recorded)
        event.update(envelope)  # modifiers may not change or drop the envelope
        return event

    def _count_no_user(self, schema_id: str) -> None:
        # An opt-in/opt-out event about nobody: code written for jupyter_telemetry names
        # no user, and its events would vanish (opt-in) or ignore opt-outs, silently.
        with self._count_lock:
            self._no_user += 1
            if schema_id in self._warned_no_user:
                return
            self._warned_no_user.add(schema_id)
        mode = self.consent.mode(schema_id)
        effect = ("is not recorded: nobody consented to it" if mode == "opt-in" else
                  "is recorded whatever anyone decided: no user's opt-out can apply")
        log.warning(
            "schema %r is %s and an event of it names no user, so it %s. Name the user "
            "(record_event(..., user=...) or `with acting_as(user):`), or, to record it "
            "as before, set {\"consent\": \"required\"} for it in allowed_schemas "
            "(warned once per schema; counted in stats()['no_user'])",
            schema_id, mode, effect)

    def why_not_recorded(self, schema_id: str, user: str | None = None) -> str | None:
        """Why an event of ``schema_id`` about ``user`` (default: the ``acting_as`` user)
        would not be recorded now: ``"not_allowed"``, ``"no_consent"``, or None when it
        would be. Uses the same cached answers as ``record_event``."""
        if schema_id not in self._policies:
            return "not_allowed"
        if self.consent.mode(schema_id) == "required":
            return None
        if user is None:
            user = current_user()
        return None if self.consent.check(user, schema_id) else "no_consent"

    def inspects(self, schema_id: str) -> bool:
        """Whether events of ``schema_id`` are inspected before redaction (its
        ``"inspect_before_redaction": true`` in ``allowed_schemas``): the sinks that
        inspect events and keep nothing of them, the detect sink, see the values the
        policy then redacts (docs/detection.md)."""
        return schema_id in self._inspected

    def encrypts(self, schema_id: str) -> bool:
        """Whether personal values the policy keeps for ``schema_id`` are sealed per user
        (its ``"encrypt": true`` in ``allowed_schemas``; docs/subject-rights.md)."""
        return schema_id in self._encrypted

    def stats(self) -> dict[str, int]:
        """Counts of events not recorded, by reason (counts only, never content):
        ``not_allowed``, ``no_consent``, ``after_close`` (recorded after :meth:`close`);
        ``no_user`` (events of an opt-in or opt-out schema that named no user) and
        ``consent_store_errors``."""
        consent = self.consent.counters
        return {"not_allowed": self._not_allowed, "no_consent": consent["no_consent"],
                "after_close": self._after_close, "no_user": self._no_user,
                "consent_store_errors": consent["store_errors"]}

    def _warn_unregistered(self) -> None:
        # Once, when the first event is recorded: an allowed id that no schema has is
        # most often a typo in the configuration, and would record nothing, silently.
        self._checked_registrations = True
        missing = sorted(sid for sid in self.allowed_schemas if not self.schemas.versions(sid))
        if missing:
            log.warning("allowed_schemas lists %d schema id(s) that no registered schema "
                        "has, so nothing is recorded for them: %s (register the schema, "
                        "or check the id)", len(missing), ", ".join(missing))

    # -- lifecycle ----------------------------------------------------------------------

    @staticmethod
    def open_eventlogs() -> list[EventLog]:
        """The EventLogs of this process that are not closed yet.

        For a sink that records events of its own through the EventLog that built it
        (telemetry-detect's alerts): it finds the one whose ``sink_handlers`` list it.
        """
        return [eventlog for eventlog in list(_live) if not eventlog._closed]

    @property
    def sink_handlers(self) -> tuple[SinkHandler, ...]:
        """The sinks this EventLog built from ``sinks``, in configuration order.

        For reading their counters (``sink.stats()``) or flushing one of them; the
        EventLog closes them in ``close()``.
        """
        return tuple(self._own_sinks)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Flush every handler; True when all sinks delivered what they accepted."""
        ok = True
        for h in self._dispatch.handlers:
            if isinstance(h, SinkHandler):
                ok = h.flush(timeout) and ok
            else:
                h.flush()
        return ok

    def close(self) -> None:
        """Flush all handlers; close the sinks this EventLog built from ``sinks``.

        After it, ``record_event`` records nothing and returns None (a warning, once,
        and ``stats()["after_close"]`` counts them): the application is not broken by
        a late event, and no event goes to a sink that was closed.
        """
        if hasattr(self, "_dispatch") and not self._closed:
            # While still open: a sink that records events of its own as it delivers
            # (the detect sink's alerts) can record them for this last batch.
            self.flush()
        self._closed = True
        if hasattr(self, "_routes"):
            self._routes.clear()
        if hasattr(self, "_dispatch"):
            self.flush()
        for sink in self._own_sinks:
            sink.close()
        self._own_sinks = []
        if hasattr(self, "consent"):
            self.consent.close()
        if hasattr(self, "_subjects"):
            self._subjects.close()
        if hasattr(self, "_dispatch"):
            self._rebuild_dispatch()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Decisions:
    """What :func:`~telemetry_core._decide.decide` reads of one EventLog (its
    ``Policy``): routes, the consent answer, the bounds."""

    __slots__ = ("_eventlog", "routes", "max_depth", "max_size")

    def __init__(self, eventlog: EventLog) -> None:
        self._eventlog = eventlog
        self.routes = eventlog._routes
        self.bounds_changed()

    def bounds_changed(self) -> None:
        self.max_depth = self._eventlog.max_event_depth
        self.max_size = self._eventlog.max_event_size

    @property
    def debug_values(self) -> bool:
        return bool(self._eventlog.debug_values_in_errors)

    @property
    def closed(self) -> bool:
        return self._eventlog._closed

    def route(self, schema_id: Any, version: Any) -> Route | None:
        try:
            return self.routes[(schema_id, version, type(version))]
        except KeyError:
            return self._eventlog._route(schema_id, version)
        except TypeError:  # an unhashable version
            return self._eventlog._route(schema_id, repr(version))

    def user(self, given: str | None) -> str | None:
        return given if given is not None else current_user()

    def consents(self, user: str | None, route: Route) -> bool:
        eventlog = self._eventlog
        if user is None:
            user = current_user()
            if user is None:
                eventlog._count_no_user(route.schema_id)
        if eventlog.consent.check(user, route.schema_id):  # type: ignore[arg-type]
            return True
        eventlog.consent.count_no_consent()
        return False


def _call_modifier(fn: Modifier, current: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    try:
        result = fn(**kwargs)
    except Exception:
        log.exception("event modifier %r failed; skipped", fn)
        return current
    if result is None:
        return current  # changed in place, or nothing to change
    if not isinstance(result, dict):
        log.error("event modifier %r returned %s, not a dict; ignored", fn, type(result).__name__)
        return current
    return result
