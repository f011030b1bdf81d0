"""Who is calling the standalone server: client tokens with roles, and the ``Caller``.

Client tokens are kept as SHA-256 digests (a config may give them that way, ``sha256:<hex>``)
and a presented token is compared against every digest in constant time, so neither
the answer's timing nor an early exit tells how much of a token was right.

A client token proves a *client* (an application), not a user. What a client may claim
is a role it was given in ``c.TelemetryServer.tokens`` (docs/rest-api.md, "Trust model"):

- ``name-users``: it may name the user an event is about (``X-Telemetry-User``, an event's
  ``user``): a trusted server-side application. Without it (the default, and the meaning of
  the plain ``"client": "<token>"`` form) naming a user is a ``403``.
- ``consent-admin``: it may read and change other users' consent decisions.

Users themselves are proven by a signed user token, an OIDC access token or JupyterHub
(``_user_tokens.py``, ``_hub.py``); the answer of every way is one ``Caller``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..consent import USER_FORMAT, ConsentError, check_user

_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
NAME_USERS = "name-users"
CONSENT_ADMIN = "consent-admin"
ROLES = frozenset({NAME_USERS, CONSENT_ADMIN})


class TokenError(ValueError):
    """A configured token is unusable (empty, a malformed ``sha256:`` value, a bad role)."""


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, as the collector verified it.

    ``client`` labels the credential (a token's client name, or the configured label of
    user tokens, OIDC or the Hub): it is what ``__source__.client`` says, never a user
    name. ``user`` is the user the credential proves (None for a client token).
    ``auth`` says how: ``token``, ``user-token``, ``oidc``, ``hub``, ``jupyter`` or ``none``.
    """

    client: str
    user: str | None
    auth: str
    roles: frozenset[str] = frozenset()

    def may(self, role: str) -> bool:
        """Whether this caller was given ``role``."""
        return role in self.roles

    @property
    def subject(self) -> str:
        """The user this caller acts as unless it names another: its user, else the
        client itself (a client token's name is a user id)."""
        return self.user if self.user is not None else self.client

    @property
    def key(self) -> str:
        """What rate limits and client event ids are kept per: the client, or for a
        proven user the client and a digest of the user (never the name in clear)."""
        if self.user is None:
            return self.client
        return f"{self.client}/{hashlib.sha256(self.user.encode()).hexdigest()[:32]}"

    @property
    def by(self) -> str:
        """Who made a decision, for the consent audit trail: ``user:<id>`` for a proven
        user, ``client:<name>`` for a client token."""
        return f"user:{self.user}" if self.user is not None else f"client:{self.client}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def is_user_id(value: object) -> bool:
    """Whether ``value`` is a well-formed user id (as consent requires; and, as
    openapi.json's pattern says, without a byte-order mark either)."""
    try:
        check_user(value)
    except ConsentError:
        return False
    return "\ufeff" not in value  # type: ignore[operator]


def _token_and_roles(client: str, value: object) -> tuple[str, frozenset[str]]:
    if isinstance(value, str):
        return value, frozenset()  # the plain form: may not name users
    if not isinstance(value, Mapping) or not isinstance(value.get("token"), str) \
            or not value.keys() <= {"token", "roles"}:
        raise TokenError(
            f"TelemetryServer.tokens[{client!r}]: a token, or {{\"token\": \"...\", "
            f"\"roles\": [...]}} with roles from {sorted(ROLES)}")
    roles = value.get("roles", [])
    if not isinstance(roles, list) or not set(roles) <= ROLES:
        raise TokenError(f"TelemetryServer.tokens[{client!r}].roles: a list of "
                         f"{', '.join(sorted(ROLES))}")
    return value["token"], frozenset(roles)


class Tokens:
    """The configured clients, by the digest of their token."""

    def __init__(self, tokens: Mapping[str, object]) -> None:
        self._clients: list[tuple[bytes, Caller]] = []
        for client, configured in tokens.items():
            if not is_user_id(client):
                raise TokenError(
                    f"TelemetryServer.tokens: client names are user ids ({USER_FORMAT}): the "
                    "client is the user its events are about unless it names one")
            value, roles = _token_and_roles(client, configured)
            caller = Caller(client, None, "token", roles)
            if value.startswith("sha256:"):
                hexdigest = value[len("sha256:"):]
                if not _HEX_DIGEST.match(hexdigest):
                    raise TokenError(
                        f"TelemetryServer.tokens[{client!r}]: 'sha256:' must be followed by "
                        "64 hex digits (python -c \"import hashlib; print(hashlib.sha256("
                        "b'TOKEN').hexdigest())\")")
                self._clients.append((bytes.fromhex(hexdigest), caller))
            elif value:
                self._clients.append((_digest(value), caller))
            else:
                raise TokenError(f"TelemetryServer.tokens[{client!r}]: the token is empty")

    def __bool__(self) -> bool:
        return bool(self._clients)

    def caller_for(self, token: str) -> Caller | None:
        """The client a bearer token belongs to, or None."""
        presented = _digest(token)
        found = None
        for digest, caller in self._clients:  # no early exit: same work for every token
            if hmac.compare_digest(presented, digest):
                found = caller
        return found

    def client_for(self, authorization: str | None) -> str | None:
        """The client an ``Authorization: Bearer <token>`` header names, or None."""
        token = bearer(authorization)
        caller = self.caller_for(token) if token else None
        return caller.client if caller is not None else None


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
