"""``telemetry serve``: the REST API as its own tornado server, in one or more processes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from typing import Any

from traitlets.config import Config

log = logging.getLogger("telemetry_core.server")
_MAX_RESTARTS = 100  # worker processes restarted after dying unasked, before giving up


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry serve`` to the CLI."""
    serve = subparsers.add_parser(
        "serve", help="serve the REST API (POST /api/telemetry/events ...)",
        description="Serve the REST API. Needs bearer tokens (c.TelemetryServer.tokens) "
                    "unless --insecure-no-auth is given; see docs/rest-api.md.")
    serve.add_argument("--config", metavar="FILE",
                       help="a traitlets config file (.py or .json): c.EventLog.*, "
                            "c.TelemetryServer.*")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8585; 0: any)")
    serve.add_argument("--processes", type=int,
                       help="worker processes sharing the port (default 1; 0: one per CPU)")
    serve.add_argument("--insecure-no-auth", action="store_true",
                       help="accept requests without a token (only on a trusted network)")
    serve.add_argument("--allow-no-schemas", action="store_true",
                       help="start even though c.EventLog.allowed_schemas is empty "
                            "(every event is then refused as not allowed)")
    serve.set_defaults(func=run)


def _config_from(args: argparse.Namespace) -> Config:
    from .._config import load_config_file

    config = load_config_file(args.config) if args.config else Config()
    for option in ("host", "port", "processes"):
        value = getattr(args, option)
        if value is not None:
            config.TelemetryServer[option] = value
    if args.insecure_no_auth:
        config.TelemetryServer.insecure_no_auth = True
    if args.allow_no_schemas:
        config.TelemetryServer.allow_no_schemas = True
    return config


def _check_before_start(config: Config, settings: Any) -> None:
    """Every configuration mistake, before the port is bound or a worker forked: a
    misspelt section or setting, and a collector that would record nothing."""
    from .._config import check_config
    from .._eventlog import EventLog
    from ._settings import TelemetryServer

    check_config(config, (EventLog, TelemetryServer))
    if not config.EventLog.get("allowed_schemas") and not settings.allow_no_schemas:
        raise ValueError(
            "refusing to start with nothing allowed: c.EventLog.allowed_schemas is empty, so "
            "every event would be refused. List the schema ids to record in --config, or "
            "pass --allow-no-schemas (c.TelemetryServer.allow_no_schemas = True) to start "
            "anyway")


def run(args: argparse.Namespace) -> int:
    """Start the server; return its exit code once SIGTERM or SIGINT has drained it."""
    from tornado.netutil import bind_sockets

    from ._auth import Tokens
    from ._settings import TelemetryServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stderr)
    config = _config_from(args)
    settings = TelemetryServer(config=config)
    _check_before_start(config, settings)
    tokens = Tokens(settings.tokens)
    users = settings.user_tokens or settings.oidc or settings.hub_auth
    if not tokens and not users and not settings.insecure_no_auth:
        raise ValueError(
            "refusing to start without authentication: no client tokens are configured. Set "
            "c.TelemetryServer.tokens = {'client-name': 'sha256:<hex>'} (or user_tokens, "
            "oidc, hub_auth) in --config, or pass --insecure-no-auth to accept anyone who "
            "can reach the port")
    sockets = bind_sockets(settings.port, settings.host)
    port = sockets[0].getsockname()[1]
    workers = settings.processes or os.cpu_count() or 1
    auth = f"{len(settings.tokens)} client token(s)" if tokens or users else \
        "NO AUTHENTICATION"
    where = f"http://{_url_host(settings.host)}:{port}/api/telemetry/"
    if workers > 1 and not _fork_workers(workers):
        return _supervise_exit_code
    return asyncio.run(_serve(config, settings, tokens if tokens else None, sockets, port,
                              f"{where} ({auth}, {workers} process(es))"))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve(config: Config, settings: Any, tokens: Any,
                 sockets: list[socket.socket], port: int, where: str) -> int:
    from tornado.httpserver import HTTPServer

    from .._eventlog import EventLog
    from . import make_app
    from ._service import Service

    eventlog = EventLog(config=config)
    service = Service(eventlog, settings, tokens=tokens, port=port)
    server = HTTPServer(make_app(service), max_body_size=max(settings.max_body_bytes,
                                                             100 << 20))
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("telemetry serve: listening on %s, pid %d", where, os.getpid())
    await stop.wait()
    log.info("telemetry serve: stopping (pid %d): draining the sinks", os.getpid())
    server.stop()
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=5)
    except asyncio.TimeoutError:
        pass
    await loop.run_in_executor(None, eventlog.close)
    service.close()
    return 0


_supervise_exit_code = 0


def _fork_workers(count: int) -> bool:
    """Fork ``count`` workers; True in a worker. The parent forwards SIGTERM/SIGINT to
    them, restarts one that dies unasked, and returns False when all have exited."""
    global _supervise_exit_code
    children: dict[int, int] = {}
    stopping = False

    def forward(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def start() -> bool:
        pid = os.fork()
        if pid == 0:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            return True
        children[pid] = pid
        return False

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for _ in range(count):
        if start():
            return True
    restarts = 0
    while children:
        pid, status = os.wait()
        if children.pop(pid, None) is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and not stopping and restarts < _MAX_RESTARTS:
            restarts += 1
            log.warning("telemetry serve: worker %d exited with %d; starting another", pid, code)
            if start():
                return True
        elif code != 0:
            _supervise_exit_code = 1
    return False
