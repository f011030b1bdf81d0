"""The standalone tornado Application: the REST handlers behind bearer tokens and CORS."""

from __future__ import annotations

import logging
import os
from typing import Any

from tornado import web

from ._service import Service

_access_log = logging.getLogger("tornado.access")


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
        rules += authenticator.hub.routes()
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
