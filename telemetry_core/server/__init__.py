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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import make_app
    from ._service import Service, derive_event_id
    from ._settings import TelemetryServer

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

# Imported on first use (PEP 562): `telemetry --help` loads `telemetry serve`'s module
# under this package, and must not load tornado and the service with it.
_WHERE = {"make_app": "._app", "Service": "._service", "derive_event_id": "._service",
          "TelemetryServer": "._settings"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry_core.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


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
