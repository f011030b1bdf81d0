"""The REST API inside jupyter_server: the same endpoints, guarded by Jupyter.

The user is the Jupyter user (never from the request; never in ``__source__``); the
authorizer is asked about the resource ``telemetry`` (read for GET, write for POST/PUT).
Events go to the EventLog configured in the server's own config (``c.EventLog.*``): the one
``telemetry_core.jupyter.get_eventlog`` keeps for every telemetry extension.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler

from ..jupyter import get_eventlog
from ._auth import Caller
from ._handlers import Endpoint, routes
from ._service import RequestError, Service
from ._settings import TelemetryServer

_HOOKS_SETTING = "telemetry_core.jupyter"  # telemetry_core.jupyter's state, when it runs


class JupyterGate(Endpoint, APIHandler):
    """Jupyter's authentication, then its authorizer for the ``telemetry`` resource."""

    auth_resource = "telemetry"

    async def prepare(self) -> None:  # type: ignore[override]
        await APIHandler.prepare(self)  # authentication; 403 without a user
        # A response prepare() already gave (a redirect to the login page) has a status
        # other than 200, the status every request starts with.
        if self.get_status() != 200 or self.request.method == "OPTIONS":
            return
        user = self.current_user
        if not user:
            raise RequestError(403, "forbidden", "not authenticated with this Jupyter server")
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "GET", "read")
        if not await ensure_async(self.authorizer.is_authorized(self, user, action,
                                                                 self.auth_resource)):
            raise RequestError(403, "forbidden",
                               f"not authorized to {action} the telemetry resource")
        # The Jupyter user, never the request's word; __source__.client says "jupyter",
        # not the user's name (personal data in clear).
        self.identity = Caller("jupyter", user.username, "jupyter")
        self.check_rate(self.identity.key)
        self.check_request()


def load(serverapp: Any) -> None:
    """Mount the API under ``{base_url}api/telemetry/``."""
    service = Service(get_eventlog(serverapp), TelemetryServer(config=serverapp.config),
                      users_from_client=False, port=serverapp.port)
    serverapp.web_app.add_handlers(".*$", routes(JupyterGate, service, serverapp.base_url))
    serverapp.log.info("telemetry: REST API at %sapi/telemetry/", serverapp.base_url)


async def unload(serverapp: Any) -> None:
    """Drain the EventLog: close it, unless telemetry_core.jupyter's hooks still record
    to it (they close it when they stop, after the server's last event)."""
    eventlog = get_eventlog(serverapp)
    if _HOOKS_SETTING in serverapp.web_app.settings:
        eventlog.flush()
    else:
        eventlog.close()
