"""Running the REST API in this process (a tornado loop on a thread) for tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from telemetry_core import EventLog
from telemetry_core.server import Service, TelemetryServer, make_app
from telemetry_core.server._auth import Tokens

TOKEN = "t0ken-for-tests"
CLIENT = "lab-portal"  # the plain form: may not name users
BACKEND_TOKEN = "backend-t0ken-for-tests"
BACKEND = "portal-backend"  # a trusted server-side client: may name users
ADMIN_TOKEN = "admin-t0ken-for-tests"
ADMIN = "consent-desk"  # may read and change anyone's consent
USER_TOKEN_KEY = "a-test-secret-of-at-least-32-bytes!!"
IDENTITY_SETTINGS: dict[str, Any] = {
    "tokens": {CLIENT: TOKEN, BACKEND: {"token": BACKEND_TOKEN, "roles": ["name-users"]},
               ADMIN: {"token": ADMIN_TOKEN, "roles": ["consent-admin"]}},
    "user_tokens": {"key": USER_TOKEN_KEY}}


def user_auth(user: str, **kwargs: Any) -> dict[str, str]:
    """The Authorization header of a user token for ``user`` (the tests' key)."""
    from telemetry_core.server import mint_user_token

    return {"Authorization": f"Bearer {mint_user_token(user, key=USER_TOKEN_KEY, **kwargs)}"}


class Clock:
    """A clock tests step by hand (``advance``), for code that takes one (``clock=``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def serve_in_process(eventlog: EventLog, **settings: Any) -> Iterator[tuple[str, Service]]:
    """Serve ``eventlog`` on a free port; yields (base URL, the Service)."""
    settings.setdefault("tokens", {CLIENT: TOKEN})
    config = TelemetryServer(**settings)
    tokens = Tokens(config.tokens)
    service = Service(eventlog, config, tokens=tokens if tokens else None)
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, HTTPServer] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            holder["server"] = HTTPServer(make_app(service))
            holder["server"].add_sockets(sockets)

        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        async def stop() -> None:
            holder["server"].stop()
            await holder["server"].close_all_connections()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        service.close()
