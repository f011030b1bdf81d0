"""Entry point of the built-in file sink (``file = "telemetry_core.sinks._file_plugin"``).

Kept apart from ``_file.py`` so that it reads like any third-party sink plugin's module.
"""

from __future__ import annotations

from .._hookspecs import hookimpl
from ._contract import Sink
from ._file import FileSink


@hookimpl
def telemetry_sink_types() -> dict[str, type[Sink]]:
    """The file sink, under the name configuration uses: ``{"type": "file", ...}``."""
    return {"file": FileSink}
