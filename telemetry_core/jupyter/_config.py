"""What the jupyter_server extension records: ``c.TelemetryHooks.*`` in a Jupyter config file."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from traitlets import Bool, Int, List, Unicode
from traitlets.config import Configurable

#: Names that mark a file as data, matched against the file's base name, case-insensitive.
DEFAULT_DATASET_PATTERNS = [
    "*.csv", "*.tsv", "*.parquet", "*.feather", "*.arrow", "*.orc", "*.avro",
    "*.xlsx", "*.xls", "*.h5", "*.hdf5", "*.nc", "*.zarr", "*.npy", "*.npz",
    "*.sav", "*.dta", "*.sas7bdat", "*.jsonl", "*.ndjson",
]

CODE_SOURCES = ("websocket", "iopub")


class TelemetryHooks(Configurable):
    """Which server-side sources the telemetry extension records from."""

    code_sources = List(
        Unicode(), ["websocket"], config=True,
        help="""Where code-executed events come from: "websocket" (execute_request
        messages from browsers, with the server-side user, status and duration) and/or
        "iopub" (the kernel's execute_input broadcast: also sees clients that talk ZMQ
        to the kernel directly, but not who sent the code). With both, a request seen
        on the websocket is not recorded again from iopub. [] records no code.""")
    kernel_lifecycle = Bool(
        True, config=True, help="Record kernels started, restarted, interrupted and stopped.")
    contents = Bool(
        True, config=True, help="Record files opened and saved through the contents API.")
    record_directories = Bool(
        False, config=True,
        help="""Record directory listings as file-opened events (kind directory).
        JupyterLab's file browser lists its directory every few seconds.""")
    terminals = Bool(
        True, config=True,
        help="""Record terminals started and stopped (created and deleted over the REST
        API, culled, or ended by their shell).""")
    server_session = Bool(
        True, config=True, help="Record the server starting and stopping.")
    dataset_patterns = List(
        Unicode(), DEFAULT_DATASET_PATTERNS, config=True,
        help="""Shell patterns (fnmatch, case-insensitive) on a file's base name that
        mark it as data; a match also records a dataset-opened event.""")
    max_pending_executions = Int(
        1000, config=True,
        help="""Execute requests awaiting their reply, per connection (or kernel for
        iopub). When full, the oldest is recorded with status unknown.""")

    def dataset_matcher(self) -> DatasetMatcher:
        """A matcher for ``dataset_patterns``."""
        return DatasetMatcher(self.dataset_patterns)


class DatasetMatcher:
    """Tells whether a path names a data file, by ``fnmatch`` patterns on its base name."""

    def __init__(self, patterns: list[str] | tuple[str, ...]) -> None:
        self.patterns = tuple(patterns)
        joined = "|".join(fnmatch.translate(p.lower()) for p in self.patterns)
        self._match = re.compile(joined).match if joined else None

    def __call__(self, path: Any) -> bool:
        """True when ``path`` (str, bytes or os.PathLike) names a data file."""
        if self._match is None:
            return False
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        name = str(path).replace("\\", "/").rsplit("/", 1)[-1].lower()
        return self._match(name) is not None


def file_format(path: str) -> str | None:
    """The lower-case suffix of ``path`` without its dot (``data/x.CSV`` -> ``csv``)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    _, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot and suffix else None
