"""Who a standalone request comes from: each configured way of proving it, in one place.

``Authenticator.identify`` answers a ``Caller`` for the request's credential, from the
headers alone (the body is never read first):

1. ``Authorization: Bearer <client token>`` of ``c.TelemetryServer.tokens``;
2. a bearer JWT: an OIDC access token when its issuer is the configured provider,
   else a user token (``c.TelemetryServer.user_tokens``);
3. JupyterHub (``c.TelemetryServer.hub_auth``): a Hub API token (``Bearer`` or
   ``token``) or the service's OAuth cookie;
4. ``--insecure-no-auth``: the client ``anonymous``, trusted with every role.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._auth import ROLES, Caller, Tokens, bearer
from ._user_tokens import AuthError, OidcTokens, UserTokens


class Authenticator:
    """The configured ways of proving who calls; ``identify`` tries them in order."""

    def __init__(self, settings: Any, tokens: Tokens | None) -> None:
        self.tokens = tokens
        self.user_tokens = UserTokens(settings.user_tokens) if settings.user_tokens else None
        self.oidc = OidcTokens(settings.oidc) if settings.oidc else None
        self.hub: Any = None
        if settings.hub_auth:
            from ._hub import HubUsers

            self.hub = HubUsers()
        self.insecure = bool(settings.insecure_no_auth)

    def __bool__(self) -> bool:
        return bool(self.tokens or self.user_tokens or self.oidc or self.hub)

    async def identify(self, handler: Any) -> Caller | None:
        """The verified caller of ``handler``'s request; None when it shows no credential
        (AuthError when it shows one that proves nothing)."""
        token = bearer(handler.request.headers.get("Authorization"))
        if token is not None:
            if self.tokens:
                caller = self.tokens.caller_for(token)
                if caller is not None:
                    return caller
            if token.count(".") == 2:
                if self.oidc is not None and self.oidc.issued(token):
                    # May fetch the provider's JWKS: not on the event loop.
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(None, self.oidc.verify, token)
                if self.user_tokens is not None:
                    return self.user_tokens.verify(token)
            if self.hub is not None:
                caller = await self.hub.from_token(token)
                if caller is not None:
                    return caller
            raise AuthError("the bearer token is not a configured client token nor a valid "
                            "user token")
        if self.hub is not None:
            hub_token = self.hub.header_token(handler)  # "Authorization: token <t>"
            if hub_token:
                caller = await self.hub.from_token(hub_token)
                if caller is None:
                    raise AuthError("the Hub does not know this token, or it lacks "
                                    "access to this service")
                return caller
            caller = await self.hub.from_cookie(handler)
            if caller is not None:
                return caller
        if self.insecure:
            return Caller("anonymous", None, "none", ROLES)
        return None
