"""A PostgreSQL server for tests, first found of:

1. ``TELEMETRY_TEST_POSTGRESQL_URL``: an existing server (``postgresql://user:pw@host/db``);
   it cannot be stopped by tests (``restartable`` is False).
2. The PostgreSQL binaries on this machine (Debian: ``apt-get install -y postgresql``;
   found on PATH or under ``/usr/lib/postgresql/*/bin``): ``initdb`` into a temp dir
   and ``postgres`` on a free port on 127.0.0.1, stopped and removed afterwards.
   PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
   user (or ``nobody``), which then owns the temp dir.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ._ports import free_port


@dataclass
class PostgresServer:
    """Where PostgreSQL answers (``url`` for SQLAlchemy/psycopg), and how to stop it."""

    url: str
    kind: str = "embedded"
    _argv: list[str] = field(default_factory=list)
    _user: str | None = None
    _proc: subprocess.Popen[bytes] | None = None
    _log: Path | None = None

    @property
    def restartable(self) -> bool:
        """True when :meth:`stop` and :meth:`start` take the server down and back up."""
        return self.kind == "embedded"

    def start(self, timeout: float = 60.0) -> None:
        """Start the embedded server (again) and wait until it accepts connections."""
        if not self._argv or (self._proc is not None and self._proc.poll() is None):
            return
        assert self._log is not None
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(self._argv, stdout=log, stderr=subprocess.STDOUT,
                                          user=self._user, start_new_session=True)
        _wait_until_ready(self, timeout)

    def stop(self) -> None:
        """Stop the embedded server (fault tests): its port stops answering."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGINT: "fast" shutdown, which disconnects clients (SIGTERM would wait for
        # every pooled connection to go away).
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _binaries() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("PostgreSQL will not run as root and there is no 'postgres' or "
                       "'nobody' user to run it as")


def _wait_until_ready(server: PostgresServer, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(server.url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server._proc is not None and server._proc.poll() is not None:
                log = server._log.read_text() if server._log else ""
                raise RuntimeError(f"PostgreSQL exited at start-up:\n{log[-2000:]}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def postgresql_server() -> Iterator[PostgresServer]:
    """Yield a PostgreSQL server (see the module docstring for which)."""
    existing = os.environ.get("TELEMETRY_TEST_POSTGRESQL_URL")
    if existing:
        yield PostgresServer(url=existing, kind="external")
        return
    bin_dir = _binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries: apt-get install -y postgresql, or set "
                           "TELEMETRY_TEST_POSTGRESQL_URL to an existing server")
    user = _run_as()
    tmp = Path(tempfile.mkdtemp(prefix="telemetry-pg-"))
    try:
        data, sockets = tmp / "data", tmp / "sockets"
        sockets.mkdir()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (tmp, sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                        "-A", "trust", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, user=user, cwd=tmp)
        port = free_port()
        server = PostgresServer(
            url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
            _argv=[str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                   "-k", str(sockets), "-c", "listen_addresses=127.0.0.1",
                   "-c", "fsync=off", "-c", "synchronous_commit=off"],
            _user=user, _log=tmp / "postgres.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
