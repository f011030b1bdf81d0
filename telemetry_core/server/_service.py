"""What the REST API does, without HTTP: parse a POST events body, record each event,
and answer the read-only endpoints. The tornado handlers (``_handlers.py``) only move
bytes and identities in and out of this class, for both ways of running them.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .._decide import NO_CONSENT, Duplicate, Invalid, Outcome, Recorded
from .._notice import notice_data, render_notice
from ..consent import USER_FORMAT, ConsentError, ConsentStoreUnavailable, DecisionRefused
from ._auth import Tokens, is_user_id
from ._limits import RateLimiter, RecentIds
from ._metrics import Metrics
from ._recent_store import RecentIdStore, default_recent_ids_path

if TYPE_CHECKING:
    from .._eventlog import EventLog
    from ._settings import TelemetryServer

log = logging.getLogger("telemetry_core.server")

# Event ids derived from a client's own id live in this (fixed, random) UUID namespace.
_ID_NAMESPACE = uuid.UUID("6f1d4c1e-52a8-4f5e-9d0b-2b7c61a0e3c4")
_EVENT_FIELDS = frozenset({"schema_id", "version", "data", "timestamp", "id", "user"})
_MAX_VERSION = 2**53 - 1
_RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
# Bounds of the request's own fields (the same as openapi.json's).
MAX_SCHEMA_ID = 1024
MAX_VERSION_TEXT = 64
MAX_CLIENT_ID = 128
MAX_DECISIONS = 1000  # in one PUT consent


def _store_down() -> RequestError:
    return RequestError(503, "consent_store_unavailable",
                        "the consent store cannot be reached; retry later",
                        headers={"Retry-After": "5"})


def _check_decisions(parsed: Any) -> list[tuple[str, bool]]:
    """The (scope, granted) pairs of a PUT consent body, or a 400 naming path and rule."""
    if type(parsed) is not dict:
        raise _shape_error("$", "type", "a JSON object")
    for key in ("notice_version", "decisions"):
        if key not in parsed:
            raise _shape_error(f"$.{key}", "required", "this field is required")
    if parsed.keys() - {"notice_version", "decisions"}:
        raise _shape_error("$", "additionalProperties", "only notice_version and decisions")
    if type(parsed["notice_version"]) is not str or not parsed["notice_version"]:
        raise _shape_error("$.notice_version", "type", "the notice version shown, a string")
    decisions = parsed["decisions"]
    if type(decisions) is not list or len(decisions) > MAX_DECISIONS:
        raise _shape_error("$.decisions", "type", f"an array of at most {MAX_DECISIONS}")
    found = []
    for i, decision in enumerate(decisions):
        at = f"$.decisions[{i}]"
        if type(decision) is not dict or decision.keys() != {"scope", "granted"}:
            raise _shape_error(at, "required", "an object with scope and granted, only")
        if type(decision["scope"]) is not str or not decision["scope"]:
            raise _shape_error(f"{at}.scope", "type", "a schema id or group, a string")
        if type(decision["granted"]) is not bool:
            raise _shape_error(f"{at}.granted", "type", "true or false")
        found.append((decision["scope"], decision["granted"]))
    return found


class RequestError(Exception):
    """A request the API refuses as a whole: an HTTP status and a JSON error body."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra: dict[str, Any] = {}  # path and rule, for an invalid event

    def body(self) -> dict[str, Any]:
        """The JSON error body every error answer carries."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


@functools.lru_cache(maxsize=1)
def _openapi_document() -> dict[str, Any]:
    text = importlib.resources.files(__package__).joinpath("openapi.json").read_bytes()
    return orjson.loads(text)  # type: ignore[no-any-return]


_second: tuple[int, str] = (-1, "")


def _utc_now() -> str:
    """Now, RFC 3339 in UTC with microseconds (the date part formatted once a second)."""
    global _second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _second
    if cached[0] != seconds:
        cached = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{cached[1]}.{nanos // 1000:06d}Z"


def derive_event_id(client: str, client_event_id: str) -> str:
    """The event id for a client's own id: the same for the same client and id, anywhere."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{len(client)}:{client}:{client_event_id}"))


class Events(list[dict[str, Any]]):
    """The events of one POST body; ``single`` when the body was one event, not an
    array (an invalid single event is then a 400, as jupyter_server answers)."""

    single = False


# Any run of 19 digits may be an integer past 64 bits (orjson reads those as floats).
_LONG_NUMBER = re.compile(rb"\d{19}")
_INT64 = range(-(2**63), 2**64)


def _check_integers(body: bytes) -> None:
    """Refuse a body holding an integer that no 64-bit type holds: orjson would read it
    as a rounded float. Only a body with a 19-digit run is read again to find out."""
    if _LONG_NUMBER.search(body) is None:
        return

    def exact(text: str) -> int:
        number = int(text)
        if number not in _INT64:
            raise ValueError(text)
        return number

    try:
        json.loads(body, parse_int=exact)
    except ValueError:
        raise _malformed() from None


def _malformed() -> RequestError:
    return RequestError(400, "malformed_json",
                        "the body is not valid JSON (UTF-8, integers within 64 bits)")


# The error code of a single invalid event's 400, by rule.
_INVALID_CODES = {"max_event_depth": "event_too_deep", "max_event_size": "event_too_large"}


def _invalid_request(outcome: Invalid) -> RequestError:
    """The 400 for a single (non-array) POST of an invalid event: the same error body
    an array's result carries, with a code."""
    error = RequestError(400, _INVALID_CODES.get(outcome.rule, "invalid_event"),
                         outcome.message)
    error.extra = {"path": outcome.path, "rule": outcome.rule}
    return error


def _shape_error(path: str, rule: str, what: str) -> RequestError:
    return RequestError(400, "bad_shape", f"{path}: {what} (rule {rule})")


def _check_event(item: Any, at: str) -> None:
    """Refuse an event whose fields are not of the documented shape (one path, one rule)."""
    if type(item) is not dict:
        raise _shape_error(at, "type", "an event is a JSON object")
    try:
        schema_id, version, data = item["schema_id"], item["version"], item["data"]
    except KeyError as missing:
        raise _shape_error(f"{at}.{missing.args[0]}", "required",
                           "this field is required") from None
    if type(schema_id) is not str or not 0 < len(schema_id) <= MAX_SCHEMA_ID:
        raise _shape_error(f"{at}.schema_id", "type",
                           f"a string of 1 to {MAX_SCHEMA_ID} characters")
    if type(version) is float and version.is_integer():  # 2.0 is an integer in JSON Schema
        version = item["version"] = int(version)
    if type(version) is int:
        if not 0 <= version <= _MAX_VERSION:
            raise _shape_error(f"{at}.version", "minimum", "an integer from 0 to 2**53-1")
    elif type(version) is not str or not 0 < len(version) <= MAX_VERSION_TEXT:
        raise _shape_error(f"{at}.version", "type",
                           f"an integer, or a string of 1 to {MAX_VERSION_TEXT} characters")
    if type(data) is not dict:
        raise _shape_error(f"{at}.data", "type", "the event's properties, a JSON object")
    if len(item) > 3:  # the optional fields
        _check_optional(item, at)


def _check_optional(item: dict[str, Any], at: str) -> None:
    if not item.keys() <= _EVENT_FIELDS:
        raise _shape_error(at, "additionalProperties",
                           f"unknown field(s); an event has {', '.join(sorted(_EVENT_FIELDS))}")
    timestamp = item.get("timestamp", "")
    if "timestamp" in item and (type(timestamp) is not str or not _RFC3339.match(timestamp)):
        raise _shape_error(f"{at}.timestamp", "format", "an RFC 3339 date-time")
    client_id = item.get("id", "")
    if "id" in item and (type(client_id) is not str or not 0 < len(client_id) <= MAX_CLIENT_ID):
        raise _shape_error(f"{at}.id", "type", f"a string of 1 to {MAX_CLIENT_ID} characters")
    if "user" in item and not is_user_id(item["user"]):
        raise _shape_error(f"{at}.user", "pattern", f"a user id: {USER_FORMAT}")


def _apply_deprecated_bounds(settings: TelemetryServer, eventlog: EventLog) -> None:
    """``TelemetryServer.max_event_bytes``/``max_event_depth`` are the EventLog's bounds
    now (one set): set, they still apply, to the EventLog, with a warning."""
    for old, new in (("max_event_bytes", "max_event_size"), ("max_event_depth", "max_event_depth")):
        value = getattr(settings, old)
        if value is not None:
            log.warning("TelemetryServer.%s is deprecated: set EventLog.%s (one bound for "
                        "every way an event arrives); applied to the EventLog", old, new)
            setattr(eventlog, new, value)


def _recent_id_store(settings: TelemetryServer, port: int) -> RecentIdStore | None:
    where = settings.dedup_store
    if where == "memory" or settings.dedup_max_ids <= 0:
        return None
    path = Path(where).expanduser() if where else default_recent_ids_path(port)
    return RecentIdStore(path, settings.dedup_max_ids, settings.dedup_seconds)


class Service:
    """The REST API's state and behaviour for one EventLog and one configuration."""

    def __init__(self, eventlog: EventLog, settings: TelemetryServer, *,
                 users_from_client: bool = True, tokens: Tokens | None = None,
                 port: int | None = None) -> None:
        self.eventlog = eventlog
        self.settings = settings
        self.tokens = tokens  # standalone: who may call; None when auth is off or Jupyter's
        # Standalone, an event's user is taken (the handlers refuse it from a caller
        # without the name-users role); inside Jupyter it is always the Jupyter user.
        self.users_from_client = users_from_client
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst,
                                   settings.client_rate_limits)
        # Memory answers at once within this process; the file (if any) across restarts
        # and worker processes, for ids written once their events were acknowledged.
        self.recent = RecentIds(settings.dedup_max_ids, settings.dedup_seconds)
        self.recent_on_disk = _recent_id_store(settings, settings.port if port is None
                                               else port)
        self.metrics = Metrics(eventlog)
        _apply_deprecated_bounds(settings, eventlog)

    # -- POST events ----------------------------------------------------------------

    def parse_events(self, body: bytes) -> Events:
        """The events of a POST body, checked for shape (the events themselves are
        decided by the EventLog, within its bounds); or RequestError."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _malformed() from None
        _check_integers(body)
        items = Events(parsed if type(parsed) is list else [parsed])
        items.single = type(parsed) is not list
        if len(items) > self.settings.max_events_per_request:
            raise RequestError(413, "too_many_events",
                               f"{len(items)} events in one request; at most "
                               f"{self.settings.max_events_per_request}")
        for i, item in enumerate(items):
            _check_event(item, "$" if items.single else f"$[{i}]")
        return items

    def record_events(self, items: list[dict[str, Any]], *, client: str, user: str | None,
                      ip: str | None = None, body: bytes | None = None,
                      remember_later: list[str] | None = None,
                      source_client: str | None = None) -> dict[str, Any]:
        """Record each event; the answer's body (one result per event, and the counts).

        Each event is decided once, by the EventLog (``EventLog.record``); this passes
        its outcome on. A single (non-array) event that is invalid is a RequestError
        (400) with the same error body. The ids of recorded events that had a client id
        are written to the recent-id file before returning, or, given
        ``remember_later``, appended to it for the caller to pass to
        ``remember_on_disk`` once the events are durable. ``client`` keys ids;
        ``__source__.client`` says ``source_client`` (never a user name) if given.
        """
        received = _utc_now()
        record = self.eventlog.record
        recent = self.recent
        # One source stamp for the request, copied by the decision; events with a
        # timestamp of their own get their own.
        shared_source: dict[str, Any] = {"via": "rest", "client": source_client or client,
                                         "received": received}
        if ip is not None and self.settings.record_client_ip:
            shared_source["ip"] = ip
        results: list[dict[str, Any]] = []
        counts = {"recorded": 0, "not_recorded": 0, "duplicate": 0, "invalid": 0}
        not_recorded: dict[str, int] = {}
        invalid: dict[str, int] = {}
        users_from_client = self.users_from_client
        event_ids = [None if item.get("id") is None else derive_event_id(client, item["id"])
                     for item in items]
        seen_on_disk = self._seen_on_disk(client, event_ids)
        recorded_ids: list[str] = []
        for item, event_id in zip(items, event_ids, strict=True):
            outcome: Outcome
            if event_id is not None and (recent.seen(client, event_id)
                                         or event_id in seen_on_disk):
                outcome = Duplicate(event_id)
            else:
                source = shared_source
                if "timestamp" in item:
                    source = {**shared_source, "client_timestamp": item["timestamp"]}
                about = (item.get("user") if users_from_client else None) or user or client
                try:
                    outcome = record(item["schema_id"], item["version"], item["data"],
                                     user=about, source=source, event_id=event_id)
                except ConsentError:  # a user id consent cannot use: recorded for nobody
                    outcome = NO_CONSENT
            if type(outcome) is Recorded:
                if event_id is not None:
                    recent.remember(client, event_id)
                    recorded_ids.append(event_id)
                counts["recorded"] += 1
            else:
                counts[outcome.status] += 1
                if isinstance(outcome, Invalid):
                    invalid[outcome.rule] = invalid.get(outcome.rule, 0) + 1
                elif outcome.status == "not_recorded":
                    reason = outcome.reason  # type: ignore[union-attr]
                    not_recorded[reason] = not_recorded.get(reason, 0) + 1
            results.append(outcome.answer())
        self.metrics.count_events(len(items), counts, not_recorded, invalid)
        if getattr(items, "single", False) and isinstance(outcome, Invalid):
            raise _invalid_request(outcome)
        if remember_later is None:
            self.remember_on_disk(client, recorded_ids)
        else:
            remember_later.extend(recorded_ids)
        return {"results": results, **counts}

    def _seen_on_disk(self, client: str, event_ids: list[str | None]) -> set[str]:
        store = self.recent_on_disk
        if store is None:
            return set()
        recent = self.recent
        # What this process remembers needs no read (and most requests carry no ids).
        unknown = [e for e in event_ids if e is not None and not recent.seen(client, e)]
        return store.seen(client, unknown) if unknown else set()

    def remember_on_disk(self, client: str, event_ids: list[str]) -> None:
        """Write ``event_ids`` (recorded for ``client``) to the recent-id file, if any."""
        if self.recent_on_disk is not None and event_ids:
            self.recent_on_disk.remember(client, event_ids)

    def close(self) -> None:
        """Close the recent-id file (the EventLog is its owner's to close)."""
        if self.recent_on_disk is not None:
            self.recent_on_disk.close()

    # -- the read-only endpoints --------------------------------------------------------

    def schemas(self) -> dict[str, Any]:
        """GET schemas: every allowed, registered (schema id, version) with its schema."""
        eventlog = self.eventlog
        found = []
        for schema_id in eventlog.allowed_schemas:
            if eventlog.policy_for(schema_id) is None:
                continue
            for version in eventlog.schemas.versions(schema_id):
                schema = eventlog.schemas.get(schema_id, version)
                found.append({"schema_id": schema_id, "version": schema.schema["version"],
                              "consent": self.consent_mode(schema_id),
                              "schema": schema.schema})
        return {"schemas": found}

    def consent_mode(self, schema_id: str) -> str:
        """The consent mode of ``schema_id``: required, opt-in or opt-out."""
        return self.eventlog.consent.mode(schema_id)

    def notice_version(self) -> str:
        """The current notice's version (what a consent decision refers to)."""
        return self.eventlog.consent.notice_version

    # -- consent --------------------------------------------------------------------------

    def consent_state(self, user: str, *, limit: int | None = None,
                      before: int | None = None) -> dict[str, Any]:
        """GET consent: ``user``'s consent state (its decisions paged by ``limit``)."""
        try:
            return self.eventlog.consent.state(user, limit=limit, before=before)
        except ConsentStoreUnavailable:
            raise _store_down() from None
        except ConsentError as exc:
            raise RequestError(400, "bad_user", str(exc)) from None

    def decide(self, user: str, body: bytes, *, by: str = "", auth: str = "") -> dict[str, Any]:
        """PUT consent: apply the body's decisions in order, in one store transaction;
        ``user``'s state after them. ``by`` and ``auth`` say who decided, and how they
        were authenticated (the audit trail).

        A refused decision (a required schema, an unknown scope, a stale notice) is a 400
        naming its index; the decisions before it stand.
        """
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestError(400, "malformed_json", "the body is not valid JSON") from None
        decisions = _check_decisions(parsed)
        try:
            self.eventlog.consent.decide_all(user, decisions, via="rest", by=by, auth=auth,
                                             notice_version=parsed["notice_version"])
        except ConsentStoreUnavailable:
            raise _store_down() from None
        except DecisionRefused as exc:
            i = exc.index
            raise RequestError(400, "consent_refused",
                               f"$.decisions[{i}]: {exc.error}"
                               + (f" ({i} earlier decision(s) stand)" if i else "")) from None
        except ConsentError as exc:
            raise RequestError(400, "consent_refused", f"$.decisions[0]: {exc}") from None
        return self.consent_state(user, limit=self.settings.consent_history_limit)

    def notice(self, fmt: str) -> tuple[str, bytes]:
        """GET notice: (content type, body) in ``fmt`` (json, html or text)."""
        if fmt == "json":
            return "application/json", orjson.dumps(notice_data(self.eventlog))
        if fmt == "html":
            return "text/html; charset=utf-8", render_notice(self.eventlog, "html").encode()
        if fmt == "text":
            return "text/plain; charset=utf-8", render_notice(self.eventlog, "text").encode()
        raise RequestError(400, "bad_format", "format must be json, html or text")

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser page from ``origin`` may call the API (CORS)."""
        allowed = self.settings.allowed_origins
        return "*" in allowed or origin in allowed

    def openapi(self, base_url: str, *, with_metrics: bool) -> dict[str, Any]:
        """The OpenAPI document, for a server whose API lives under ``base_url``."""
        doc = dict(_openapi_document())
        doc["servers"] = [{"url": base_url.rstrip("/") or "/"}]
        if not with_metrics:
            doc["paths"] = {p: v for p, v in doc["paths"].items() if p != "/metrics"}
        return doc

    def health(self) -> dict[str, Any]:
        """GET health: "ok", or "degraded" while a sink spools; each sink's counters."""
        sinks = [{"sink": sink.label, **sink.stats()} for sink in self.eventlog.sink_handlers]
        degraded = any(s.get("spooling") for s in sinks)
        return {"status": "degraded" if degraded else "ok", "sinks": sinks}
