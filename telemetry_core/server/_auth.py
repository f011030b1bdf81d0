"""Bearer tokens of the standalone server: each names a client.

Tokens are kept as SHA-256 digests (a config may give them that way, ``sha256:<hex>``)
and a presented token is compared against every digest in constant time, so neither
the answer's timing nor an early exit tells how much of a token was right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from ..consent import USER_FORMAT, ConsentError, check_user

_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


class TokenError(ValueError):
    """A configured token is unusable (empty, or a malformed ``sha256:`` value)."""


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


class Tokens:
    """The configured clients, by the digest of their token."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._clients: list[tuple[bytes, str]] = []
        for client, value in tokens.items():
            if not is_user_id(client):
                raise TokenError(
                    f"TelemetryServer.tokens: client names are user ids ({USER_FORMAT}): the "
                    "client is the user its events are about unless it names one")
            if value.startswith("sha256:"):
                hexdigest = value[len("sha256:"):]
                if not _HEX_DIGEST.match(hexdigest):
                    raise TokenError(
                        f"TelemetryServer.tokens[{client!r}]: 'sha256:' must be followed by "
                        "64 hex digits (python -c \"import hashlib; print(hashlib.sha256("
                        "b'TOKEN').hexdigest())\")")
                self._clients.append((bytes.fromhex(hexdigest), client))
            elif value:
                self._clients.append((_digest(value), client))
            else:
                raise TokenError(f"TelemetryServer.tokens[{client!r}]: the token is empty")

    def __bool__(self) -> bool:
        return bool(self._clients)

    def client_for(self, authorization: str | None) -> str | None:
        """The client an ``Authorization: Bearer <token>`` header names, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = _digest(token.strip())
        found = None
        for digest, client in self._clients:  # no early exit: same work for every token
            if hmac.compare_digest(presented, digest):
                found = client
        return found
