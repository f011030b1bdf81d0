"""The standalone tornado Application: the REST handlers behind bearer tokens and CORS."""

from __future__ import annotations

import logging
from typing import Any

from tornado import web

from ._service import Service

_access_log = logging.getLogger("tornado.access")


def make_app(service: Service, **tornado_settings: Any) -> web.Application:
    """The standalone tornado Application serving ``service`` (bearer tokens, CORS)."""
    from ._handlers import StandaloneGate, routes

    tornado_settings.setdefault("log_function", _log_request)
    return web.Application(routes(StandaloneGate, service, "/",
                                  metrics=service.settings.metrics),
                           default_handler_class=_NotFound,
                           default_handler_args={"service": service}, **tornado_settings)


def _log_request(handler: web.RequestHandler) -> None:
    # An access line per request costs as much as recording a batch; /metrics counts
    # them instead. Server errors are logged, and everything at DEBUG.
    status = handler.get_status()
    if status >= 500 or _access_log.isEnabledFor(logging.DEBUG):
        _access_log.log(logging.ERROR if status >= 500 else logging.DEBUG, "%d %s %.2fms",
                        status, handler.request.method, 1000 * handler.request.request_time())


class _NotFound(web.RequestHandler):
    """404 as JSON for any other path."""

    def initialize(self, service: Service) -> None:
        self.service = service

    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"error":{"code":"not_found","message":"no such endpoint; see '
                    b'/api/telemetry/openapi.json"}}')
