"""Users proven by a signed token: short-lived user tokens a trusted backend mints, and
OIDC access tokens from an identity provider. Both are JWTs checked by PyJWT.

User tokens (``c.TelemetryServer.user_tokens``): HS256 with a shared secret, or an
asymmetric algorithm (RS256, ES256, EdDSA) where the collector holds only the public key.
Claims: ``sub`` (the user id), ``aud``, ``iat``, ``exp`` (all required), ``iss`` when
configured, and optionally ``telemetry_roles`` (``["consent-admin"]``). A token that lives
longer than ``max_ttl`` is refused even when its signature is good.

OIDC (``c.TelemetryServer.oidc``): the provider's JWKS (from ``jwks_url``, or found
through ``{issuer}/.well-known/openid-configuration``) is fetched and cached by
``jwt.PyJWKClient``; issuer, audience, expiry and signature are checked.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt

from ._auth import CONSENT_ADMIN, Caller, is_user_id

DEFAULT_AUDIENCE = "telemetry"
_ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA")
_MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


class AuthError(Exception):
    """A credential that does not prove who it claims (the message names why, never the
    token or a claim's value)."""


def _read_key(config: Mapping[str, Any], where: str) -> str:
    if "key_file" in config:
        return Path(config["key_file"]).expanduser().read_text().strip()
    key = config.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where}: set key (an HS256 secret or a PEM public key) or key_file")
    return key


def mint_user_token(user: str, *, key: str, ttl: float = 3600.0, algorithm: str = "HS256",
                    audience: str = DEFAULT_AUDIENCE, issuer: str | None = None,
                    roles: Iterable[str] = (), now: float | None = None) -> str:
    """A signed user token for ``user``, valid for ``ttl`` seconds (a trusted backend calls
    this and gives the token to the user's browser). ``key`` is the HS256 secret, or the
    PEM private key for an asymmetric ``algorithm``; ``roles`` may hold ``consent-admin``."""
    if not is_user_id(user):
        raise ValueError("user: a user id is 1 to 256 printable characters without whitespace")
    if ttl <= 0:
        raise ValueError("ttl: a positive number of seconds")
    if algorithm.startswith("HS") and len(key.encode()) < _MIN_SECRET_BYTES:
        raise ValueError(f"key: an HS256 secret of at least {_MIN_SECRET_BYTES} bytes")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": user, "aud": audience, "iat": issued,
                              "exp": issued + int(ttl)}
    if issuer:
        claims["iss"] = issuer
    roles = sorted(set(roles))
    if roles:
        if set(roles) - {CONSENT_ADMIN}:
            raise ValueError(f"roles: only {CONSENT_ADMIN!r} is given to users")
        claims["telemetry_roles"] = roles
    return jwt.encode(claims, key, algorithm=algorithm)


def _why(exc: jwt.PyJWTError) -> str:
    # The exception's kind, never its text (it may quote a claim).
    reasons = {jwt.ExpiredSignatureError: "expired", jwt.InvalidAudienceError: "wrong audience",
               jwt.InvalidIssuerError: "wrong issuer", jwt.ImmatureSignatureError: "not yet valid",
               jwt.InvalidSignatureError: "bad signature",
               jwt.MissingRequiredClaimError: "a required claim is missing",
               jwt.InvalidAlgorithmError: "algorithm not accepted"}
    for kind, reason in reasons.items():
        if isinstance(exc, kind):
            return reason
    return "malformed"


def _user_from(claims: Mapping[str, Any], claim: str) -> str:
    user = claims.get(claim)
    if not is_user_id(user):
        raise AuthError(f"the token's {claim!r} claim is not a user id")
    return str(user)


class UserTokens:
    """Verifies user tokens as ``c.TelemetryServer.user_tokens`` configures them."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        where = "TelemetryServer.user_tokens"
        unknown = set(config) - {"algorithm", "key", "key_file", "audience", "issuer",
                                 "leeway", "max_ttl", "client"}
        if unknown:
            raise ValueError(f"{where}: unknown setting(s) {sorted(unknown)}")
        self.algorithm = str(config.get("algorithm", "HS256"))
        if self.algorithm not in ("HS256", "HS384", "HS512", *_ASYMMETRIC):
            raise ValueError(f"{where}.algorithm: HS256 or one of {', '.join(_ASYMMETRIC)}")
        self.key = _read_key(config, where)
        if self.algorithm.startswith("HS") and len(self.key.encode()) < _MIN_SECRET_BYTES:
            raise ValueError(f"{where}.key: an HS256 secret of at least {_MIN_SECRET_BYTES} "
                             "bytes (python -c \"import secrets; print("
                             "secrets.token_urlsafe(32))\")")
        self.audience = str(config.get("audience", DEFAULT_AUDIENCE))
        self.issuer = config.get("issuer")
        self.leeway = float(config.get("leeway", 30))
        self.max_ttl = float(config.get("max_ttl", 86400))
        self.client = str(config.get("client", "user-token"))

    def verify(self, token: str) -> Caller:
        """The user ``token`` proves; AuthError if it proves nobody."""
        try:
            claims = jwt.decode(token, self.key, algorithms=[self.algorithm],
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["sub", "aud", "iat", "exp"]})
        except jwt.PyJWTError as exc:
            raise AuthError(f"user token refused: {_why(exc)}") from None
        if claims["exp"] - claims["iat"] > self.max_ttl:
            raise AuthError(f"user token refused: it lives longer than max_ttl "
                            f"({self.max_ttl:g} s)")
        roles = claims.get("telemetry_roles", [])
        roles = frozenset(roles) & {CONSENT_ADMIN} if isinstance(roles, list) else frozenset()
        return Caller(self.client, _user_from(claims, "sub"), "user-token", roles)


class OidcTokens:
    """Verifies OIDC access tokens (``c.TelemetryServer.oidc``) against the provider's
    cached JWKS. ``verify`` may fetch over the network: call it off the event loop."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        where = "TelemetryServer.oidc"
        unknown = set(config) - {"issuer", "audience", "jwks_url", "user_claim", "algorithms",
                                 "leeway", "jwks_cache_seconds", "client", "admin_users"}
        if unknown:
            raise ValueError(f"{where}: unknown setting(s) {sorted(unknown)}")
        for required in ("issuer", "audience"):
            if not isinstance(config.get(required), str) or not config[required]:
                raise ValueError(f"{where}.{required}: required")
        self.issuer: str = config["issuer"]
        self.audience: str = config["audience"]
        self.user_claim = str(config.get("user_claim", "sub"))
        self.algorithms = list(config.get("algorithms", ["RS256", "ES256"]))
        self.leeway = float(config.get("leeway", 30))
        self.client = str(config.get("client", "oidc"))
        self.admin_users = frozenset(config.get("admin_users", []))
        self._jwks_url: str | None = config.get("jwks_url")
        self._cache_seconds = float(config.get("jwks_cache_seconds", 300))
        self._jwks: jwt.PyJWKClient | None = None

    def _client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._jwks_url
            if url is None:
                discovery = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                with urllib.request.urlopen(discovery, timeout=5) as answer:  # noqa: S310
                    url = json.loads(answer.read())["jwks_uri"]
            self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=self._cache_seconds,
                                         timeout=5)
        return self._jwks

    def issued(self, token: str) -> bool:
        """Whether ``token`` says it comes from this provider (unverified: picks the
        verifier, proves nothing)."""
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") \
                == self.issuer
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> Caller:
        """The user ``token`` proves; AuthError if it proves nobody."""
        try:
            key = self._client().get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=self.algorithms,
                                audience=self.audience, issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["iss", "aud", "exp", self.user_claim]})
        except jwt.PyJWKClientError:
            raise AuthError("OIDC token refused: no matching key in the provider's JWKS "
                            "(or the JWKS could not be fetched)") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"OIDC token refused: {_why(exc)}") from None
        user = _user_from(claims, self.user_claim)
        roles = frozenset({CONSENT_ADMIN}) if user in self.admin_users else frozenset()
        return Caller(self.client, user, "oidc", roles)
