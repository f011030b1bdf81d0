"""The built-in file sink: JSON lines, split by schema and date, rotated, optionally gzipped.

``path`` is either a directory (it ends with ``/`` or exists as one), under which each
event goes to ``template`` (default ``{schema_name}/{date}.jsonl``), or a file path,
which may itself use the template variables (``logs/{date}/events.jsonl``).
See :data:`TEMPLATE_VARIABLES`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import socket
import string
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._base import SinkHandler
from ._errors import SinkConfigError, WriteResult
from ._event import SinkEvent
from ._naming import schema_name

DEFAULT_TEMPLATE = "{schema_name}/{date}.jsonl"

#: The variables a path template may use, each with what it becomes.
TEMPLATE_VARIABLES: dict[str, str] = {
    "schema_name": "last segment of the schema id, skipping a trailing version segment "
                   "like v1 (.../kernel/code-executed -> code-executed)",
    "schema": "the whole schema id without its scheme, made one safe file name "
              "(telemetry.jupyter.org_schemas_events_kernel_code-executed)",
    "version": "the schema version",
    "date": "UTC date of the event's __timestamp__, YYYY-MM-DD",
    "year": "YYYY of the event's timestamp",
    "month": "MM of the event's timestamp",
    "day": "DD of the event's timestamp",
    "hour": "HH (UTC) of the event's timestamp",
    "host": "this machine's host name",
    "pid": "this process's id",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "_"


def _schema_name(schema_id: str) -> str:
    name = schema_name(schema_id)
    return _safe(name) if name else "unknown"


class _OpenFile:
    __slots__ = ("fd", "size", "opened")

    def __init__(self, path: Path, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, mode)
        self.size = os.fstat(self.fd).st_size
        self.opened = time.monotonic()


class FileSink(SinkHandler):
    """Writes each event as one JSON line to a file chosen by a path template."""

    sink_type = "file"
    default_batch_size = 1000
    default_batch_age = 0.2
    options = {
        "path": "a directory (ends with '/') for the template, or a file path that may "
                "use template variables; required",
        "template": f"file under a directory path (default {DEFAULT_TEMPLATE}); variables: "
                    + ", ".join(TEMPLATE_VARIABLES),
        "rotate_bytes": "start a new file when one reaches this size (default 0: never)",
        "rotate_seconds": "start a new file when one has been open this long (default 0: "
                          "never)",
        "compress": "gzip rotated files (default false)",
        "fsync": "fsync each file after each batch: durable writes (default false)",
        "max_open_files": "files kept open at once, least recently used closed (default 64)",
        "file_mode": "permissions of new files, e.g. 0o640 (default 0o600: events are about "
                     "people)",
    }

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        template: str | None = None,
        rotate_bytes: int = 0,
        rotate_seconds: float = 0,
        compress: bool = False,
        fsync: bool = False,
        max_open_files: int = 64,
        file_mode: int = 0o600,
        **base_options: Any,
    ) -> None:
        if not path:
            raise SinkConfigError(
                "file sink: 'path' is required, e.g. {\"type\": \"file\", \"path\": "
                "\"events/\"} for one file per schema and day under ./events/")
        text = os.path.expanduser(os.fspath(path))
        if text.endswith(("/", os.sep)) or os.path.isdir(text):
            self.template = os.path.join(os.path.abspath(text), template or DEFAULT_TEMPLATE)
        elif template:
            raise SinkConfigError(
                f"file sink: 'template' needs 'path' to be a directory (end it with '/'); "
                f"got path={os.fspath(path)!r}")
        else:
            self.template = os.path.abspath(text)
        fields = set()
        try:
            for _, field, _, _ in string.Formatter().parse(self.template):
                if field is not None:
                    fields.add(field)
        except ValueError as exc:
            raise SinkConfigError(f"file sink: bad path template {self.template!r}: {exc}; "
                                  "write a literal brace as {{ or }}") from exc
        unknown = sorted(fields - set(TEMPLATE_VARIABLES))
        if unknown:
            raise SinkConfigError(
                f"file sink: unknown template variable(s) {', '.join(unknown)} in "
                f"{self.template!r}; known: {', '.join(TEMPLATE_VARIABLES)}")
        self.path = os.fspath(path)
        self._fields = fields
        prefix = self.template.split("{", 1)[0]  # the fixed directory part of the template
        self.root = Path(prefix) if prefix.endswith(os.sep) else Path(prefix).parent
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.compress = compress
        self.durable = fsync
        self.max_open_files = max(1, max_open_files)
        if not isinstance(file_mode, int) or not 0 <= file_mode <= 0o777:
            raise SinkConfigError(f"file sink: file_mode must be permission bits such as "
                                  f"0o640 (an int; 416 in JSON), got {file_mode!r}")
        self.file_mode = file_mode
        self._files: OrderedDict[Path, _OpenFile] = OrderedDict()
        self._paths: dict[tuple[str, str, str], Path] = {}
        super().__init__(**base_options)

    def default_name(self) -> str:
        """Two file sinks with different paths get different spool dirs without a name."""
        digest = hashlib.sha1(self.template.encode()).hexdigest()[:8]
        return f"{_safe(self.root.name)}-{digest}"

    # -- the plugin contract ----------------------------------------------------------

    def open(self) -> None:
        """Create the root directory and check that files can be written there."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkConfigError(
                f"file sink: cannot create the directory {self.root} for path="
                f"{self.path!r}: {exc.strerror}; choose a path this process can write") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise SinkConfigError(
                f"file sink: the directory {self.root} (path={self.path!r}) is not writable "
                "by this process; choose another path or fix its permissions")

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Append each event's JSON as one line; one write per file per batch."""
        groups: dict[Path, list[SinkEvent]] = {}
        schema_id: Any = None
        version: Any = None
        hour: Any = None
        group: list[SinkEvent] = []
        for event in events:  # runs of events share a file: look it up once per run
            # Identity first: a run's events share the core's own id and version objects
            # (a miss only costs a lookup, which finds the same file).
            if event.schema_id is not schema_id or event.version is not version or \
                    event.timestamp[:13] != hour:
                group = groups.setdefault(self._target(event), [])
                schema_id, version = event.schema_id, event.version
                hour = event.timestamp[:13]
            group.append(event)
        retry: list[SinkEvent] = []
        for target, group in groups.items():
            try:
                self._append(target, b"".join([e.line for e in group]))
            except OSError as exc:
                # Only this file's events are retried: the others are on disk already.
                self._forget(target)
                self._warn("file-write", "file sink: cannot write %s: %s", target, exc)
                retry.extend(group)
        return WriteResult(retry=retry) if retry else None

    def close_sink(self) -> None:
        """Close every open file."""
        for target in list(self._files):
            self._forget(target)

    # -- paths ---------------------------------------------------------------------

    def _target(self, event: SinkEvent) -> Path:
        ts = event.timestamp
        key = (event.schema_id, event.version, ts[:13])
        found = self._paths.get(key)
        if found is None:
            if len(self._paths) > 10_000:
                self._paths.clear()  # a bound on the cache; it refills as events come
            found = self._paths[key] = Path(self.template.format(**self._variables(event)))
        return found

    def _variables(self, event: SinkEvent) -> dict[str, str]:
        ts = event.timestamp
        if not _DATE.match(ts):
            ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
        values = {
            "schema_name": _schema_name(event.schema_id),
            "schema": _safe(re.sub(r"^[a-z]+://", "", event.schema_id)),
            "version": _safe(event.version),
            "date": ts[:10], "year": ts[:4], "month": ts[5:7], "day": ts[8:10],
            "hour": ts[11:13] if len(ts) >= 13 else "00",
            "host": _safe(socket.gethostname()), "pid": str(os.getpid()),
        }
        return {k: v for k, v in values.items() if k in self._fields}

    # -- files and rotation -----------------------------------------------------------

    def _append(self, target: Path, data: bytes) -> None:
        handle = self._files.get(target)
        if handle is not None and handle.size and (
                (self.rotate_bytes and handle.size >= self.rotate_bytes)
                or (self.rotate_seconds
                    and time.monotonic() - handle.opened >= self.rotate_seconds)):
            self._rotate(target)
            handle = None
        if handle is None:
            handle = self._files[target] = _OpenFile(target, self.file_mode)
            while len(self._files) > self.max_open_files:
                self._forget(next(iter(self._files)))
            if self.rotate_bytes and handle.size >= self.rotate_bytes:
                self._rotate(target)  # a file left full by an earlier run
                handle = self._files[target] = _OpenFile(target, self.file_mode)
        self._files.move_to_end(target)
        view = memoryview(data)
        while view:
            view = view[os.write(handle.fd, view):]
        handle.size += len(data)
        if self.durable:
            os.fsync(handle.fd)

    def _forget(self, target: Path) -> None:
        handle = self._files.pop(target, None)
        if handle is not None:
            os.close(handle.fd)

    def _rotate(self, target: Path) -> None:
        """Rename the full file aside (``name.<UTC time>.jsonl``) and gzip it if asked."""
        self._forget(target)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")  # sorts in time order
        stem, suffix = (target.name[:-len(target.suffix)], target.suffix) if target.suffix \
            else (target.name, "")
        rotated = target.with_name(f"{stem}.{stamp}{suffix}")
        n = 1
        while rotated.exists() or rotated.with_name(rotated.name + ".gz").exists():
            rotated = target.with_name(f"{stem}.{stamp}-{n}{suffix}")
            n += 1
        os.replace(target, rotated)
        if self.compress:
            packed = rotated.with_name(rotated.name + ".gz")
            with open(rotated, "rb") as src, gzip.open(packed, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if self.durable:
                with open(packed, "rb") as f:
                    os.fsync(f.fileno())
            rotated.unlink()
