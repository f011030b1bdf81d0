"""Users from JupyterHub, when ``telemetry serve`` runs as a Hub service
(``c.TelemetryServer.hub_auth = True``).

jupyterhub's own service auth (``jupyterhub.services.auth.HubOAuth``) asks the Hub who a
token belongs to (``Authorization: token <t>`` or ``Bearer <t>``), or reads the service's
OAuth cookie, and caches the answer. It reads the Hub's URL and the service's own API
token from the environment the Hub gives a managed service (``JUPYTERHUB_API_URL``,
``JUPYTERHUB_API_TOKEN``, ...). A user needs the scope ``access:services!service=<name>``;
a Hub admin gets the consent-admin role.
"""

from __future__ import annotations

import os
from typing import Any

from ._auth import CONSENT_ADMIN, Caller, is_user_id

CLIENT = "hub"  # __source__.client of Hub users' events


def service_prefix() -> str | None:
    """The URL prefix the Hub's proxy routes to this service (``/services/<name>/``)."""
    return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or None


class HubUsers:
    """The Hub's word on who calls: from a token, or from the OAuth cookie."""

    def __init__(self) -> None:
        from jupyterhub.services.auth import HubAuth, HubOAuth

        if not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise ValueError("TelemetryServer.hub_auth: no $JUPYTERHUB_API_TOKEN: run "
                             "`telemetry serve` as a service of JupyterHub "
                             "(c.JupyterHub.services; see docs/rest-api.md)")
        self.oauth = bool(os.environ.get("JUPYTERHUB_CLIENT_ID"))
        # The singleton: jupyterhub's OAuth callback handler finds the same instance.
        auth_class = HubOAuth if self.oauth else HubAuth
        self.auth: Any = auth_class.instance(cache_max_age=60)

    def _caller(self, model: Any) -> Caller | None:
        if not model or model.get("kind", "user") != "user" or not is_user_id(model.get("name")):
            return None  # a service's own token, or nobody
        scopes = self.auth.access_scopes
        if scopes and not self.auth.check_scopes(scopes, model):
            return None
        roles = frozenset({CONSENT_ADMIN}) if model.get("admin") else frozenset()
        return Caller(CLIENT, model["name"], "hub", roles)

    def header_token(self, handler: Any) -> str | None:
        """The token of an ``Authorization: token <t>`` header (Jupyter's scheme)."""
        scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "token" else None

    async def from_token(self, token: str) -> Caller | None:
        """The Hub user ``token`` belongs to, or None."""
        return self._caller(await self.auth.user_for_token(token, sync=False))

    async def from_cookie(self, handler: Any) -> Caller | None:
        """The Hub user of the service's OAuth cookie (set by the OAuth callback, after
        the Hub's login), or None."""
        if not self.oauth or not handler.get_cookie(self.auth.cookie_name):
            return None
        return self._caller(await self.auth.get_user(handler, sync=False))

    def routes(self) -> list[tuple[str, Any]]:
        """The OAuth callback the Hub redirects a browser to after its login."""
        if not self.oauth:
            return []
        from urllib.parse import urlparse

        from jupyterhub.services.auth import HubOAuthCallbackHandler

        return [(urlparse(self.auth.oauth_redirect_uri).path, HubOAuthCallbackHandler)]
