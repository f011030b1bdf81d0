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

__all__ = ["Service", "TelemetryServer", "derive_event_id", "make_app"]

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
