"""``telemetry serve`` as a subprocess on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._ports import free_port


@dataclass
class RestServer:
    """A running ``telemetry serve``: its URL, a token, its process and config file."""

    url: str  # http://127.0.0.1:PORT (no trailing slash)
    token: str | None
    process: subprocess.Popen[bytes]
    config_path: Path
    log_path: Path
    args: list[str] = field(default_factory=list)
    processes: int = 1

    @property
    def api(self) -> str:
        """The API's base URL, ending with a slash."""
        return f"{self.url}/api/telemetry/"

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` and wait; the exit code (SIGKILL gives -9)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def restart(self) -> None:
        """Start the same command again (same port, config and log)."""
        self.process = _spawn(self.args, self.log_path)
        _wait_listening(self, self.processes)  # every worker: a signal meanwhile kills it


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=log, env=dict(os.environ))


def _wait_listening(server: RestServer, processes: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    needed = server.log().count("listening on") + processes
    while time.monotonic() < deadline:
        if server.log().count("listening on") >= needed:
            return
        if server.process.poll() is not None:
            raise RuntimeError(f"telemetry serve exited with {server.process.returncode}:\n"
                               f"{server.log()}")
        time.sleep(0.05)
    raise TimeoutError(f"telemetry serve did not start in {timeout} s:\n{server.log()}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def rest_server(config: dict[str, Any], *, token: str | None = "test-token",
                client: str = "test-client", processes: int = 1,
                extra_args: tuple[str, ...] = (),
                roles: tuple[str, ...] = ()) -> Iterator[RestServer]:
    """Run ``telemetry serve`` with ``config`` (traitlets JSON: {"EventLog": {...},
    "TelemetryServer": {...}}) on a free port; ``token`` is configured for ``client``
    with ``roles`` (``name-users``, ``consent-admin``; none: it may not name users)
    (None: no tokens, pass ``--insecure-no-auth`` in ``extra_args``)."""
    with tempfile.TemporaryDirectory(prefix="telemetry-serve-") as tmp:
        config = json.loads(json.dumps(config))
        if token is not None:
            config.setdefault("TelemetryServer", {}).setdefault("tokens", {})[client] = \
                {"token": token, "roles": list(roles)} if roles else token
        config_path = Path(tmp, "config.json")
        config_path.write_text(json.dumps(config))
        port = free_port()
        args = [sys.executable, "-m", "telemetry_core._cli", "serve", "--config",
                str(config_path), "--port", str(port), "--processes", str(processes),
                *extra_args]
        log_path = Path(tmp, "serve.log")
        server = RestServer(f"http://127.0.0.1:{port}", token, _spawn(args, log_path),
                            config_path, log_path, args, processes)
        try:
            _wait_listening(server, processes)
            yield server
        finally:
            if server.process.poll() is None:
                server.stop(signal.SIGTERM)
