"""The HTTP REST API of telemetry-core (docs/rest-api.md).

One set of handlers, two ways to run them:

- ``telemetry serve [--config FILE]``: a standalone tornado server (bearer tokens);
- the jupyter_server extension ``telemetry_core.server``: the same handlers under
  ``{base_url}api/telemetry/``, guarded by Jupyter's authentication and authorizer
  (resource ``telemetry``), recording to the EventLog of the server's own config.

``make_app(service)`` builds the standalone tornado Application (for embedding, and
for tests that run the server in-process).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tornado import web

from ._service import Service, derive_event_id
from ._settings import TelemetryServer

_access_log = logging.getLogger("tornado.access")

__all__ = ["Service", "TelemetryServer", "derive_event_id", "make_app", "mint_user_token"]


def mint_user_token(user: str, *, key: str, ttl: float = 3600.0, algorithm: str = "HS256",
                    audience: str = "telemetry", issuer: str | None = None,
                    roles: Any = (), now: float | None = None) -> str:
    """A signed, short-lived user token for ``user`` (a JWT a trusted backend gives the
    user's browser; ``telemetry serve`` accepts it as ``Authorization: Bearer`` when
    ``c.TelemetryServer.user_tokens`` holds the key). ``key``: the HS256 secret (32+
    bytes) or the PEM private key of an asymmetric ``algorithm``; ``ttl`` in seconds;
    ``roles`` may hold ``"consent-admin"``; ``now`` (seconds since the epoch) the minting
    time, if not the clock's. See docs/rest-api.md, Trust model."""
    from ._user_tokens import mint_user_token as mint

    return mint(user, key=key, ttl=ttl, algorithm=algorithm, audience=audience,
                issuer=issuer, roles=roles, now=now)


def make_app(service: Service, **tornado_settings: Any) -> web.Application:
    """The standalone tornado Application serving ``service`` (bearer tokens, CORS)."""
    from ._handlers import StandaloneGate, routes
    from ._identify import Authenticator

    tornado_settings.setdefault("log_function", _log_request)
    authenticator = Authenticator(service.settings, service.tokens)
    rules = routes(StandaloneGate, service, "/", metrics=service.settings.metrics,
                   authenticator=authenticator)
    if service.settings.hub_auth:  # also where the Hub's proxy routes its services
        from ._hub import service_prefix

        prefix = service_prefix()
        if prefix and prefix != "/":
            rules += routes(StandaloneGate, service, prefix, authenticator=authenticator)
        rules += authenticator.hub.routes()  # type: ignore[arg-type]
        # The OAuth cookie is signed; a secret per process (set one for several processes).
        tornado_settings.setdefault("cookie_secret",
                                    os.environ.get("TELEMETRY_COOKIE_SECRET") or os.urandom(32))
    return web.Application(rules,
                           default_handler_class=_NotFound,
                           default_handler_args={"service": service}, **tornado_settings)


def _log_request(handler: web.RequestHandler) -> None:
    # An access line per request costs as much as recording a batch; /metrics counts
    # them instead. Server errors are logged, and everything at DEBUG.
    status = handler.get_status()
    if status >= 500 or _access_log.isEnabledFor(logging.DEBUG):
        _access_log.log(logging.ERROR if status >= 500 else logging.DEBUG, "%d %s %.2fms",
                        status, handler.request.method, 1000 * handler.request.request_time())


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """jupyter_server finds the extension here (``jupyter server extension enable
    telemetry_core.server``; pip install enables it through jupyter-config)."""
    return [{"module": "telemetry_core.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from ._jupyter import load

    load(serverapp)


async def _unload_jupyter_server_extension(serverapp: Any) -> None:
    from ._jupyter import unload

    await unload(serverapp)


@web.stream_request_body
class _NotFound(web.RequestHandler):
    """404 as JSON for any other path, from the headers: the body is never read."""

    def initialize(self, service: Service) -> None:
        self.service = service

    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"error":{"code":"not_found","message":"no such endpoint; see '
                    b'/api/telemetry/openapi.json"}}')

    def data_received(self, chunk: bytes) -> None:
        pass  # answered already; what still arrives is dropped
