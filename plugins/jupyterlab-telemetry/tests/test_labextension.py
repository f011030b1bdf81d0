"""The installed jupyterlab-telemetry labextension: JupyterLab finds it, enabled and OK."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jupyterlab_telemetry


def test_labextension_list_shows_it_enabled() -> None:
    listing = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                             capture_output=True, text=True, timeout=120, check=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)  # drop colours
    line = next((ln for ln in text.splitlines() if "jupyterlab-telemetry" in ln), None)
    assert line is not None, text
    assert "v0.1.0" in line and "enabled" in line and "OK" in line, line


def test_the_prebuilt_labextension_is_installed() -> None:
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-telemetry"
    meta = json.loads((share / "package.json").read_text())
    assert meta["name"] == "jupyterlab-telemetry"
    load = meta["jupyterlab"]["_build"]["load"]  # written by the builder, not by hand
    assert (share / load).is_file()
    assert json.loads((share / "install.json").read_text())["packageManager"] == "python"
    assert jupyterlab_telemetry._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "jupyterlab-telemetry"}]


def test_the_classic_nbextension_is_installed_and_enabled() -> None:
    """pip put the nbextension and its enabling config in the environment: nbclassic
    lists it enabled, and its files (the AMD module, the JS client's IIFE build) are there."""
    listing = subprocess.run([sys.executable, "-m", "jupyter", "nbclassic-extension", "list"],
                             capture_output=True, text=True, timeout=120, check=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    lines = text.splitlines()
    at = next((i for i, ln in enumerate(lines) if "jupyterlab-telemetry/main" in ln), None)
    assert at is not None, text
    assert "enabled" in lines[at] and "OK" in lines[at + 1], text
    share = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / "jupyterlab-telemetry"
    assert (share / "main.js").read_text().startswith("define([")
    assert "TelemetryCoreClient" in (share / "telemetry-core-client.js").read_text()
