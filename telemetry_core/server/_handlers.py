"""The REST API's tornado handlers: one set of endpoint classes, two ways to guard them.

Each endpoint is a small class of behaviour (``*Endpoint``) that reads the request,
asks the ``Service`` and writes JSON. ``routes(gate, ...)`` combines each endpoint with
a *gate*, the base class that says who is calling and whether they may:

- ``StandaloneGate`` (``telemetry serve``): client tokens, user tokens, OIDC, the Hub
  (``_identify.py``), CORS, the rate limit;
- ``JupyterGate`` (``_jupyter.py``): jupyter_server's authentication and authorizer.

Every endpoint streams its body (``routes`` makes each one ``stream_request_body``): who
calls, the content type and the declared size are decided from the headers in
``prepare``, before a byte of body is read, and a body is kept only up to its bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from tornado import web

from ..consent import USER_FORMAT
from ._auth import CONSENT_ADMIN, NAME_USERS, Caller, is_user_id
from ._service import RequestError, Service

log = logging.getLogger("telemetry_core.server")

API_PREFIX = "api/telemetry/"
_JSON = "application/json"
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
                 429: "rate_limited", 501: "not_implemented", 503: "unavailable"}


def check_json_body(request: Any, limit: int) -> None:
    """415 unless the body is declared JSON; 413 when it says it is larger than ``limit``."""
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";", 1)[0].strip().lower() != _JSON:
        raise RequestError(415, "unsupported_media_type", "send Content-Type: application/json")
    length = request.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestError(413, "body_too_large", f"the body is larger than {limit} bytes")
    if request.body and len(request.body) > limit:  # read already (not streamed)
        raise RequestError(413, "body_too_large", f"the body is larger than {limit} bytes")


def _may_not_name(where: str) -> RequestError:
    return RequestError(403, "user_not_allowed",
                        f"{where}: this client may not name users (its token lacks the "
                        "name-users role); send a user token or drop the user")


class Endpoint(web.RequestHandler):
    """What every endpoint shares: the Service, JSON answers, JSON errors, timing.

    A gate subclass provides ``prepare`` (sets ``identity``: who is calling).
    """

    endpoint = ""  # the label of this endpoint's latency histogram
    public = False  # answered without authentication (standalone)

    def initialize(self, service: Service, base_url: str = "/",
                   authenticator: Any = None) -> None:
        self.service = service
        self.api_base_url = base_url
        self.authenticator = authenticator
        self.started = time.perf_counter()
        self.identity = Caller("", None, "none")
        self._chunks: list[bytes] = []
        self._size = 0

    @property
    def client(self) -> str:
        """The calling client's label (never a user name)."""
        return self.identity.client

    def named_user(self) -> str | None:
        """The user the request names (``X-Telemetry-User``), standalone; None inside
        Jupyter, where the request's word is never taken."""
        return None

    def acting_user(self) -> str:
        """The user events are about: the one named, if this caller may name users (403
        otherwise: never a silent fallback), else the caller's own."""
        named = self.named_user()
        identity = self.identity
        if named is None or named == identity.subject:
            return identity.subject
        if not identity.may(NAME_USERS):
            raise _may_not_name("X-Telemetry-User")
        return named

    def data_received(self, chunk: bytes) -> None:
        # Kept up to the bound, counted beyond it (the 413 comes once it is all read).
        self._size += len(chunk)
        if self._size <= self.service.settings.max_body_bytes and \
                self.request.method in ("POST", "PUT"):
            self._chunks.append(chunk)

    def body(self) -> bytes:
        """The request's body, or 413 past ``max_body_bytes``."""
        limit = self.service.settings.max_body_bytes
        if self._size > limit:
            raise RequestError(413, "body_too_large", f"the body is larger than {limit} bytes")
        return b"".join(self._chunks)

    def check_rate(self, client: str) -> None:
        """429 when ``client`` has used up its request rate."""
        wait = self.service.limiter.retry_after(client)
        if wait:
            raise RequestError(429, "rate_limited",
                               f"too many requests from this client; retry in {wait} s",
                               headers={"Retry-After": str(wait)})

    def check_request(self) -> None:
        """Checks of the request itself (before any body is read)."""
        if self.request.method in ("POST", "PUT") and \
                self.request.method.lower() in self.allowed_methods_lower():
            check_json_body(self.request, self.service.settings.max_body_bytes)

    def allowed_methods_lower(self) -> list[str]:
        return [m.lower() for m in self.allowed_methods()]

    def send_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", _JSON)
        self.finish(orjson.dumps(body))

    def set_gate_headers(self) -> None:
        """Headers every answer carries, errors included (CORS, standalone)."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RequestError):
            error = exc
        elif isinstance(exc, web.HTTPError):
            error = RequestError(exc.status_code,
                                 _STATUS_CODES.get(exc.status_code, "error"),
                                 exc.log_message or self._reason)
        else:
            error = RequestError(500, "internal", "internal error; the server log has details")
        self.set_status(error.status)
        if error.status == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_gate_headers()
        if error.status >= 400:
            self.service.metrics.rejected.labels(str(error.status), error.code).inc()
        self.set_header("Content-Type", _JSON)
        self.finish(orjson.dumps(error.body()))

    def allowed_methods(self) -> list[str]:
        """The methods this endpoint answers (for a 405's Allow header)."""
        return [m for m in ("GET", "POST", "PUT", "OPTIONS")
                if getattr(type(self), m.lower()) is not getattr(web.RequestHandler, m.lower())]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, RequestError):
            return  # an answer, not a failure
        super().log_exception(typ, value, tb)

    def on_finish(self) -> None:
        self.service.metrics.observe_latency(self.endpoint, time.perf_counter() - self.started)


class StandaloneGate(Endpoint):
    """``telemetry serve``: client tokens, user tokens, OIDC or the Hub say who calls
    (``_identify.py``); CORS for configured origins."""

    async def prepare(self) -> None:  # type: ignore[override]
        self.set_gate_headers()
        if self.request.method == "OPTIONS" or self.public:
            return
        from ._user_tokens import AuthError

        try:
            identity = await self.authenticator.identify(self)
        except AuthError as exc:
            raise RequestError(401, "unauthorized", str(exc),
                               headers={"WWW-Authenticate": 'Bearer realm="telemetry"'}) from None
        if identity is None:
            raise RequestError(401, "unauthorized",
                               "send 'Authorization: Bearer <token>': a client token or a "
                               "user token",
                               headers={"WWW-Authenticate": 'Bearer realm="telemetry"'})
        self.identity = identity
        self.check_rate(identity.key)
        self.check_request()

    def named_user(self) -> str | None:
        user = self.request.headers.get("X-Telemetry-User")
        if user is not None and not is_user_id(user):
            raise RequestError(400, "bad_header", f"X-Telemetry-User: a user id is {USER_FORMAT}")
        return user

    def set_gate_headers(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin and self.service.origin_allowed(origin):
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers",
                            "Retry-After, X-Telemetry-Notice-Version")
            self.add_header("Vary", "Origin")

    def options(self, *args: Any) -> None:
        """A CORS preflight: 204 for an allowed origin, 403 otherwise."""
        origin = self.request.headers.get("Origin")
        if not origin or not self.service.origin_allowed(origin):
            raise RequestError(403, "origin_not_allowed",
                               "this origin is not in TelemetryServer.allowed_origins")
        self.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
        self.set_header("Access-Control-Allow-Headers",
                        "Authorization, Content-Type, X-Telemetry-User")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()


# -- the endpoints ------------------------------------------------------------------------


class EventsEndpoint(Endpoint):
    """POST events: one event or an array; one result per event."""

    endpoint = "events"

    def post(self) -> Awaitable[None] | None:
        service = self.service
        settings = service.settings
        body = self.body()
        items = service.parse_events(body)
        user = self.acting_user()
        identity = self.identity
        if service.users_from_client and not identity.may(NAME_USERS):
            single = items.single
            for i, item in enumerate(items):
                if "user" in item and item["user"] != identity.subject:
                    raise _may_not_name("$.user" if single else f"$[{i}].user")
        client = identity.key
        durable = settings.acknowledgement == "durable"
        # Durable: ids reach the recent-id file only once their events are on disk, so
        # a crash before that never turns a re-send into a lost "duplicate".
        remember_later: list[str] | None = [] if durable else None
        answer = service.record_events(items, client=client, user=user,
                                       ip=self.request.remote_ip, body=body,
                                       remember_later=remember_later,
                                       source_client=identity.client)
        if durable and answer["recorded"]:
            return self._answer_when_durable(answer, client, remember_later or [])
        self.send_json(answer)  # the common case, without a coroutine
        return None

    async def _answer_when_durable(self, answer: dict[str, Any], client: str,
                                   event_ids: list[str]) -> None:
        service = self.service
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(None, service.eventlog.flush,
                                          service.settings.durable_timeout)
        if not done:
            raise RequestError(503, "not_durable",
                               "the sinks did not confirm the events in time; they stay "
                               "queued; re-send with the same ids to learn their fate",
                               headers={"Retry-After": "1"})
        service.remember_on_disk(client, event_ids)
        self.send_json(answer)


class SchemasEndpoint(Endpoint):
    """GET schemas: what may be recorded here, with each schema and its consent mode."""

    endpoint = "schemas"

    def get(self) -> None:
        self.send_json(self.service.schemas())


class NoticeEndpoint(Endpoint):
    """GET notice?format=json|html|text: the transparency notice."""

    endpoint = "notice"

    def get(self) -> None:
        fmt = self.get_query_argument("format", "json")
        content_type, body = self.service.notice(fmt)
        self.set_header("Content-Type", content_type)
        self.set_header("X-Telemetry-Notice-Version", self.service.notice_version())
        self.finish(body)


class ConsentEndpoint(Endpoint):
    """GET and PUT consent: the calling user's consent state and decisions; another
    user's (``X-Telemetry-User``) only for a caller with the consent-admin role. Store
    reads and writes run off the event loop."""

    endpoint = "consent"

    def target(self) -> str:
        """Whose consent: the caller's own, or (consent-admin only) the one named."""
        named = self.named_user()
        identity = self.identity
        if named is None or named == identity.subject:
            return identity.subject
        if not identity.may(CONSENT_ADMIN):
            raise RequestError(403, "not_consent_admin",
                               "another user's consent needs the consent-admin role; a user "
                               "reads and changes only their own")
        return named

    def by(self, target: str) -> str:
        """Who acts, for the audit trail: the user, the client, or ``admin:<user>``."""
        identity = self.identity
        if identity.user is not None and target != identity.user:
            return f"admin:{identity.user}"
        return identity.by

    def _limits(self) -> tuple[int, int | None]:
        bound = self.service.settings.consent_history_limit
        try:
            limit = int(self.get_query_argument("limit", str(bound)))
            before_text = self.get_query_argument("before", None)
            before = None if before_text is None else int(before_text)
        except ValueError:
            raise RequestError(400, "bad_query", "limit and before are integers") from None
        if not 1 <= limit <= bound:
            raise RequestError(400, "bad_query", f"limit: 1 to {bound}")
        if before is not None and not 1 <= before < 2**63:
            raise RequestError(400, "bad_query", "before: a cursor from an answer's older")
        return limit, before

    async def get(self) -> None:
        user = self.target()
        limit, before = self._limits()
        service = self.service
        identity = self.identity

        def read() -> dict[str, Any]:
            if user != identity.subject:  # an admin reading: part of the audit trail
                try:
                    service.eventlog.consent.record_access(user, self.by(user), identity.auth)
                except Exception:
                    raise RequestError(503, "consent_store_unavailable",
                                       "the consent store cannot be reached; retry later",
                                       headers={"Retry-After": "5"}) from None
            return service.consent_state(user, limit=limit, before=before)

        self.send_json(await asyncio.get_running_loop().run_in_executor(None, read))

    async def put(self) -> None:
        user = self.target()
        body = self.body()
        by, auth = self.by(user), self.identity.auth
        decide = self.service.decide
        self.send_json(await asyncio.get_running_loop().run_in_executor(
            None, lambda: decide(user, body, by=by, auth=auth)))


class HealthEndpoint(Endpoint):
    """GET health: "ok" or "degraded", and every sink's counters."""

    endpoint = "health"
    public = True

    def get(self) -> None:
        self.send_json(self.service.health())


class OpenApiEndpoint(Endpoint):
    """GET openapi.json: the OpenAPI 3.1 document of this API."""

    endpoint = "openapi"
    public = True
    with_metrics = False

    def get(self) -> None:
        self.send_json(self.service.openapi(self.api_base_url, with_metrics=self.with_metrics))


class MetricsEndpoint(Endpoint):
    """GET /metrics: Prometheus text format (standalone)."""

    endpoint = "metrics"
    public = True

    def get(self) -> None:
        self.set_header("Content-Type", self.service.metrics.content_type)
        self.finish(self.service.metrics.render())


def routes(gate: type[Endpoint], service: Service, base_url: str = "/", *,
           metrics: bool = False, authenticator: Any = None,
           ) -> list[tuple[str, type[web.RequestHandler], dict[str, Any]]]:
    """The URL rules of every endpoint, each endpoint guarded by ``gate``."""
    api = base_url.rstrip("/") + "/" + API_PREFIX
    kwargs: dict[str, Any] = {"service": service, "base_url": base_url}
    if authenticator is not None:
        kwargs["authenticator"] = authenticator
    endpoints: list[tuple[str, type[Endpoint]]] = [
        (api + "events", EventsEndpoint), (api + "schemas", SchemasEndpoint),
        (api + "notice", NoticeEndpoint), (api + "consent", ConsentEndpoint),
        (api + "health", HealthEndpoint), (api + "openapi.json", OpenApiEndpoint)]
    if metrics:
        endpoints.append((base_url.rstrip("/") + "/metrics", MetricsEndpoint))
    rules: list[tuple[str, type[web.RequestHandler], dict[str, Any]]] = []
    for path, endpoint in endpoints:
        name = endpoint.__name__.replace("Endpoint", "Handler")
        attrs: dict[str, Any] = {"__doc__": endpoint.__doc__}
        if endpoint is OpenApiEndpoint:
            attrs["with_metrics"] = metrics
        handler: type[web.RequestHandler] = web.stream_request_body(
            type(name, (endpoint, gate), attrs))
        rules.append((path.replace(".", r"\."), handler, kwargs))
    return rules
