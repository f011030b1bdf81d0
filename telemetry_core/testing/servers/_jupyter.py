"""A real ``jupyter server`` (or ``jupyter lab``) and a real JupyterHub, as subprocesses.

Both take their configuration as Python text written to a private temporary config
directory; every Jupyter and IPython directory points into that temporary directory,
so a test never reads or writes the user's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ._ports import free_port


@dataclass
class JupyterProcess:
    """A running Jupyter server or hub: its base URL, token, directories and log."""

    url: str
    token: str
    root_dir: Path
    tmp: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """Stop it with SIGTERM (a clean shutdown), SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def jupyter_env(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment whose Jupyter, IPython and XDG directories are all under ``tmp``."""
    env = dict(os.environ)
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                      ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache"),
                      ("XDG_CONFIG_HOME", "xdg-config"), ("XDG_DATA_HOME", "xdg-data")):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / sub)
    env.pop("JUPYTERHUB_API_TOKEN", None)
    env.update(extra or {})
    return env


def _wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path,
               timeout: float, headers: Mapping[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n"
                               + log_path.read_text(errors="replace")[-4000:])
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers or {})),
                                        timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"no answer from {url} after {timeout}s:\n"
                               + log_path.read_text(errors="replace")[-4000:])
        time.sleep(0.2)


@contextmanager
def _temporary(prefix: str, tmp: Path | None) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix=prefix)) if tmp is None else Path(tmp)
    try:
        yield base
    finally:
        if tmp is None:
            shutil.rmtree(base, ignore_errors=True)


@contextmanager
def _running(cmd: list[str], base: Path, env: Mapping[str, str] | None, url: str,
             token: str, ready_path: str, timeout: float) -> Iterator[JupyterProcess]:
    """Start ``cmd`` in ``base/root``, wait until ``url + ready_path`` answers, stop it."""
    root = base / "root"
    log_path = base / "process.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(cmd, env=jupyter_env(base, env), stdout=log_file,
                                   stderr=subprocess.STDOUT, cwd=root)
    running = JupyterProcess(url, token, root, base, log_path, process)
    try:
        _wait_http(url + ready_path, process, log_path, timeout,
                   {"Authorization": f"token {token}"} if token else None)
        yield running
    finally:
        running.stop()


# The frontends that keep workspaces, by ``jupyter <app>``: the class owning the option.
_WORKSPACES_OWNER = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}


@contextmanager
def jupyter_server(config: str = "", *, app: str = "server", token: str = "T",
                   args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                   tmp: Path | None = None, timeout: float = 90,
                   base_url: str = "/") -> Iterator[JupyterProcess]:
    """Run ``jupyter <app>`` (server, lab, or Notebook 7's notebook) on a free port on 127.0.0.1.

    ``config`` is the text of its ``jupyter_server_config.py``. The root directory is
    ``tmp/root``; the server is stopped with SIGTERM afterwards. ``url`` ends with
    ``base_url`` (e.g. ``/user/ada/``, as under JupyterHub).
    """
    with _temporary("jupyter-test-", tmp) as base:
        (base / "root").mkdir(parents=True, exist_ok=True)
        (base / "config").mkdir(parents=True, exist_ok=True)
        (base / "config" / "jupyter_server_config.py").write_text(config)
        port = free_port()
        cmd = [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root",
               f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.token={token}",
               f"--ServerApp.root_dir={base / 'root'}", "--ServerApp.port_retries=0",
               f"--ServerApp.base_url={base_url}", *args]
        if app in _WORKSPACES_OWNER:  # a fresh workspace each run, never the user's
            (base / "workspaces").mkdir(exist_ok=True)
            cmd.append(f"--{_WORKSPACES_OWNER[app]}.workspaces_dir={base / 'workspaces'}")
        prefix = "/".join(("", *filter(None, base_url.split("/")), ""))  # "/" or "/a/b/"
        url = f"http://127.0.0.1:{port}{prefix}"
        with _running(cmd, base, env, url, token, "api/status", timeout) as server:
            yield server


def configurable_http_proxy() -> str | None:
    """The ``configurable-http-proxy`` command: $CONFIGURABLE_HTTP_PROXY, PATH, or None."""
    found = os.environ.get("CONFIGURABLE_HTTP_PROXY") or shutil.which("configurable-http-proxy")
    return found if found and os.path.exists(found) else None


@contextmanager
def jupyterhub(config: str = "", *, tmp: Path | None = None, timeout: float = 90,
               env: Mapping[str, str] | None = None) -> Iterator[JupyterProcess]:
    """Run JupyterHub on a free port on 127.0.0.1 with ``config`` as its config file.

    Needs ``configurable-http-proxy`` (npm) on PATH or in $CONFIGURABLE_HTTP_PROXY.
    The hub's database, cookie secret and the users' servers live under ``tmp``.
    """
    proxy = configurable_http_proxy()
    if proxy is None:
        raise RuntimeError("configurable-http-proxy not found: `npm install "
                           "configurable-http-proxy` and set $CONFIGURABLE_HTTP_PROXY")
    with _temporary("jupyterhub-test-", tmp) as base:
        (base / "root").mkdir(parents=True, exist_ok=True)
        config_file = base / "jupyterhub_config.py"
        config_file.write_text(config)
        port, api_port, hub_port = free_port(), free_port(), free_port()
        cmd = [sys.executable, "-m", "jupyterhub", f"--config={config_file}",
               f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
               f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
               f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
               f"--ConfigurableHTTPProxy.command={proxy}",
               f"--JupyterHub.db_url=sqlite:///{base / 'hub.sqlite'}",
               f"--JupyterHub.cookie_secret_file={base / 'cookie_secret'}",
               f"--JupyterHub.pid_file={base / 'hub.pid'}"]
        with _running(cmd, base, env, f"http://127.0.0.1:{port}/", "", "hub/api/",
                      timeout) as hub:
            yield hub
