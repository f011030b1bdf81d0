"""An S3 API server for tests, first found of:

1. ``TELEMETRY_TEST_S3_ENDPOINT``: an existing S3-compatible endpoint (credentials from
   ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``); it cannot be stopped by tests.
2. ``TELEMETRY_TEST_CONTAINERS=1``: a LocalStack container through testcontainers (needs
   a Docker engine and ``pip install testcontainers``); it cannot be restarted on the
   same port, so fault tests skip it.
3. moto's ThreadedMotoServer on a free port in this process, or with ``process=True`` a
   ``python -m moto.server`` child process, so that a benchmark's process does not also
   pay for the server's Python work (the GIL is shared otherwise).

``S3Server.kind`` says which (``external``, ``container``, ``moto``, ``moto-process``);
``restartable`` whether ``stop()``/``start()`` bring it down and back on the same port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class S3Server:
    """Where the S3 API answers, and credentials it accepts."""

    endpoint_url: str
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"
    kind: str = "moto"
    _moto: Any = None
    _proc: subprocess.Popen[bytes] | None = None
    _running: bool = True

    @property
    def restartable(self) -> bool:
        """True when :meth:`stop` and :meth:`start` take the server down and back up."""
        return self._moto is not None or self._proc is not None

    def client(self) -> Any:
        """A boto3 S3 client for this server (path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        """Stop the embedded server (fault tests): its port stops answering.

        moto keeps its buckets in this process's memory, so a server started again
        with :meth:`start` still has them; call :meth:`reset` to drop them too.
        """
        if self._proc is not None and self._running:
            self._running = False
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._moto is not None and self._running:
            self._running = False
            self._moto.stop()
            # moto's stop() only ends serve_forever; close the listening socket too, so
            # clients see "connection refused" (not a hang) and the port can be reused.
            if self._moto._server is not None:
                self._moto._server.server_close()

    def start(self) -> None:
        """Start the embedded server again on the same port, after :meth:`stop`.

        A server in a child process comes back empty; a threaded one keeps its buckets.
        """
        if self._proc is not None and not self._running:
            self._proc = _spawn(self.endpoint_url)
            self._running = True
        if self._moto is not None and not self._running:
            from moto.server import ThreadedMotoServer

            port = int(self.endpoint_url.rsplit(":", 1)[1])
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto.start()
            self._running = True

    def reset(self) -> None:
        """Drop every bucket and object of the embedded server (moto's reset API)."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT": self.endpoint_url,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
        }


def _spawn(endpoint_url: str) -> subprocess.Popen[bytes]:
    """``python -m moto.server`` on the endpoint's port; returns once it answers."""
    import urllib.error
    import urllib.request

    port = endpoint_url.rsplit(":", 1)[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint_url}/moto-api/data.json", timeout=2):
                return proc
        except (urllib.error.URLError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto server did not start on {endpoint_url}") from None
            time.sleep(0.1)


CONTAINERS_ENV = "TELEMETRY_TEST_CONTAINERS"
CONTAINER_IMAGE = "localstack/localstack:3.8"


def _container() -> Iterator[S3Server]:
    try:
        from testcontainers.localstack import LocalStackContainer
    except ImportError as exc:
        raise RuntimeError(f"{CONTAINERS_ENV}=1 needs testcontainers: pip install "
                           "'testcontainers[localstack]' (and a running Docker engine)") from exc
    with LocalStackContainer(image=CONTAINER_IMAGE).with_services("s3") as container:
        # LocalStack accepts any credentials.
        yield S3Server(endpoint_url=container.get_url(), access_key="test", secret_key="test",
                       kind="container")


@contextmanager
def s3_server(port: int | None = None, process: bool = False) -> Iterator[S3Server]:
    """Yield an S3 API server on 127.0.0.1.

    ``port`` lets a fault test restart on the same one; ``process=True`` runs moto in a
    child process (benchmarks) rather than in a thread of this one.
    """
    existing = os.environ.get("TELEMETRY_TEST_S3_ENDPOINT")
    if existing:
        yield S3Server(
            endpoint_url=existing,
            access_key=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            kind="external",
        )
        return
    if os.environ.get(CONTAINERS_ENV) == "1":
        yield from _container()
        return
    from moto.server import ThreadedMotoServer

    from ._ports import free_port

    port = port or free_port()
    if process:
        url = f"http://127.0.0.1:{port}"
        s3 = S3Server(endpoint_url=url, kind="moto-process", _proc=_spawn(url))
        try:
            yield s3
        finally:
            s3.stop()
        return
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(endpoint_url=f"http://127.0.0.1:{port}", _moto=server)
    try:
        yield s3
    finally:
        s3.stop()
