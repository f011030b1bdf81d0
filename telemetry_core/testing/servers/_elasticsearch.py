"""An Elasticsearch API server for tests.

In order of preference:

1. ``TELEMETRY_TEST_ELASTICSEARCH_URL``: an existing cluster (credentials may be in the URL,
   ``https://user:password@host:9200``); it is not started, stopped or cleaned up.
2. ``TELEMETRY_TEST_CONTAINERS=1``: an Elasticsearch container through testcontainers (needs a
   Docker engine and ``pip install testcontainers``).
3. Otherwise the ``noida-db`` Elasticsearch 8 API emulator, run from its package on a free port
   with a temporary data directory. It has no security (any credentials are accepted) and no
   data streams; ``ElasticsearchServer.emulator`` tells tests so they can skip what needs them.

The emulator binary is run directly, not through the ``noida-db`` console script, because the
script does not pass SIGTERM on (the server would outlive the test and keep its port).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

URL_ENV = "TELEMETRY_TEST_ELASTICSEARCH_URL"
CONTAINERS_ENV = "TELEMETRY_TEST_CONTAINERS"
CONTAINER_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"


@dataclass
class ElasticsearchServer:
    """Where an Elasticsearch API answers, and how to stop and restart it (fault tests).

    ``emulator`` is True for the noida-db emulator (no auth, no data streams).
    ``can_restart`` is False for an external cluster given by URL. ``log_path`` holds the
    embedded server's output, for diagnostics when a test fails.
    """

    url: str
    emulator: bool = False
    can_restart: bool = False
    log_path: Path | None = None
    _stop: Any = field(default=None, repr=False)
    _start: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server; its data is kept for :meth:`start` (same port, same data)."""
        if self._stop is None:
            raise RuntimeError(f"cannot stop the external Elasticsearch at {self.url}")
        self._stop()

    def start(self) -> None:
        """Start the server again after :meth:`stop`, and wait until it answers."""
        if self._start is None:
            raise RuntimeError(f"cannot start the external Elasticsearch at {self.url}")
        self._start()

    def log_tail(self, size: int = 4000) -> str:
        """The end of the server's output (empty when there is none)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-size:].decode(errors="replace")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def wait_until_answers(url: str, timeout: float = 30.0, proc: Any = None,
                       log_path: Path | None = None) -> None:
    """Poll ``GET url`` until it answers 200; raise with the server's output if it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        if _answers(url):
            return
        time.sleep(0.05)
    tail = log_path.read_bytes()[-4000:].decode(errors="replace") if log_path else ""
    state = (f"exited with code {proc.returncode}" if proc is not None and proc.poll() is not None
             else f"did not answer within {timeout:.0f}s")
    raise RuntimeError(f"Elasticsearch test server at {url} {state}; its output:\n{tail}")


def emulator_binary() -> Path:
    """The noida-db server binary inside its Python package."""
    from importlib.resources import files

    name = "noida-db.exe" if os.name == "nt" else "noida-db"
    binpath = Path(str(files("noida_db").joinpath(name)))
    if not binpath.is_file():
        raise RuntimeError(f"noida-db binary not found at {binpath}; pip install noida-db")
    if not os.access(binpath, os.X_OK):
        binpath.chmod(0o755)
    return binpath


class _Emulator:
    """One noida-db process; stop() and start() reuse its port and data directory."""

    def __init__(self, port: int, data_dir: Path, log_path: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        cmd = [str(emulator_binary()), "start", "--data-dir", str(self.data_dir),
               "--host", "127.0.0.1", "--only", "elasticsearch",
               "--elasticsearch-port", str(self.port)]
        with open(self.log_path, "ab") as log:
            log.write(f"\n$ {' '.join(cmd)}\n".encode())
            log.flush()
            # Own session: a Ctrl-C in pytest must not reach the server before we stop it.
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until_answers(self.url, proc=self.proc, log_path=self.log_path)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # graceful: the emulator saves its data on SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def _emulator_server(port: int | None, data_dir: str | os.PathLike[str] | None
                     ) -> Iterator[ElasticsearchServer]:
    from ._ports import free_port

    tmp = Path(tempfile.mkdtemp(prefix="telemetry-es-"))
    emu = _Emulator(port or free_port(), Path(data_dir) if data_dir else tmp / "data",
                    tmp / "noida-db.log")
    emu.start()
    try:
        yield ElasticsearchServer(url=emu.url, emulator=True, can_restart=True,
                                  log_path=emu.log_path, _stop=emu.stop, _start=emu.start)
    finally:
        emu.stop()
        if os.environ.get("TELEMETRY_TEST_KEEP_LOGS"):
            print(f"Elasticsearch test server output kept in {emu.log_path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _container_server() -> Iterator[ElasticsearchServer]:
    try:
        from testcontainers.elasticsearch import ElasticSearchContainer
    except ImportError as exc:
        raise RuntimeError(f"{CONTAINERS_ENV}=1 needs testcontainers: pip install "
                           f"'testcontainers[elasticsearch]' (and a running Docker engine)"
                           ) from exc

    with ElasticSearchContainer(CONTAINER_IMAGE, mem_limit="1g") as container:
        server = ElasticsearchServer(url=container.get_url(), can_restart=True)

        def stop() -> None:
            container.get_wrapped_container().stop()

        def start() -> None:
            container.get_wrapped_container().start()
            server.url = container.get_url()  # Docker may map a new host port
            wait_until_answers(server.url, timeout=120)

        server._stop, server._start = stop, start
        yield server


@contextmanager
def elasticsearch_server(port: int | None = None,
                         data_dir: str | os.PathLike[str] | None = None
                         ) -> Iterator[ElasticsearchServer]:
    """Yield an Elasticsearch API server (see the module docstring for which one).

    ``port`` and ``data_dir`` apply to the embedded emulator only.
    """
    existing = os.environ.get(URL_ENV)
    if existing:
        yield ElasticsearchServer(url=existing.rstrip("/"))
        return
    if os.environ.get(CONTAINERS_ENV) == "1":
        with _container_server() as server:
            yield server
        return
    with _emulator_server(port, data_dir) as server:
        yield server
