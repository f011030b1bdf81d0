"""Builds the labextension and the classic nbextension when the wheel is built, in a
temporary copy of the sources, so that ``pip install ./plugins/jupyterlab-telemetry``
leaves no ``node_modules`` (about 460 MB) and no intermediate ``lib/`` in the checkout.

The copy holds this package's sources and the JS client's (``../../js``, which it
depends on as ``file:../../js``); ``npm ci`` there installs from package-lock.json
(npm's own cache in ``~/.npm`` makes a repeat quick), ``npm run build:prod`` builds the
client, the labextension and the nbextension, and the two built directories are copied
back into ``jupyterlab_telemetry/``. Skipped when both are there already (a developer's
``npm run build``, or a previous install); ``nox -s jupyterlab`` removes them to build
from source.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HERE = Path(__file__).parent
CLIENT = HERE.parent.parent / "js"
BUILT = ("jupyterlab_telemetry/labextension", "jupyterlab_telemetry/nbextension")
# What the build reads; everything else (node_modules, lib, dist, ...) stays behind.
SOURCES = ("src", "style", "scripts", "package.json", "package-lock.json", "tsconfig.json",
           "tsconfig.classic.json", "install.json", "README.md", "jupyterlab_telemetry")
CLIENT_SOURCES = ("src", "scripts", "package.json", "package-lock.json", "tsconfig.json")


class TemporaryDirectoryBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name not in ("wheel", "sdist"):
            return
        if all((HERE / built / marker).exists()
               for built, marker in zip(BUILT, ("static/style.js", "main.js"), strict=True)):
            return
        if not (CLIENT / "package.json").exists():
            raise RuntimeError(f"{CLIENT} not found: build from the telemetry-core repository "
                               "(the extension bundles the JS client in js/)")
        with tempfile.TemporaryDirectory(prefix="jupyterlab-telemetry-build-") as tmp:
            plugin = Path(tmp) / "plugins" / "jupyterlab-telemetry"
            _copy(HERE, plugin, SOURCES)
            _copy(CLIENT, Path(tmp) / "js", CLIENT_SOURCES)
            for built in BUILT:
                shutil.rmtree(plugin / built, ignore_errors=True)
            _npm(plugin, "ci", "--no-audit", "--no-fund", "--prefer-offline")
            _npm(plugin, "run", "build:prod")
            for built in BUILT:
                shutil.rmtree(HERE / built, ignore_errors=True)
                shutil.copytree(plugin / built, HERE / built)


def _copy(source: Path, target: Path, names: tuple[str, ...]) -> None:
    target.mkdir(parents=True)
    for name in names:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name,
                            ignore=shutil.ignore_patterns("labextension", "nbextension",
                                                          "__pycache__"))
        elif path.exists():
            shutil.copy2(path, target / name)


def _npm(cwd: Path, *args: str) -> None:
    command = shutil.which("npm")
    if command is None:
        raise RuntimeError("npm not found: building jupyterlab-telemetry needs Node.js 20 "
                           "and npm on PATH")
    print(f"jupyterlab-telemetry: npm {' '.join(args)} (in {cwd})", file=sys.stderr, flush=True)
    subprocess.run([command, *args], cwd=cwd, check=True)
