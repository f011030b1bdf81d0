"""The built-in file sink: JSON lines, split by schema and date, rotated, optionally gzipped.

``path`` is either a directory (it ends with ``/`` or exists as one), under which each
event goes to ``template`` (default ``{schema}/{date}.jsonl``: one directory per schema
id, so two schemas that share a last segment never share a file), or a file path,
which may itself use the template variables (``logs/{date}/events.jsonl``). The
variables are the framework's (``telemetry_core.sinks.VARIABLES``), the same in every
sink. Every file and directory is created private (``file_mode``, default 0o600).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._contract import Sink, SinkContext
from ._errors import SinkConfigError, WriteResult
from ._event import SinkEvent
from ._files import make_dirs, open_private, write_all
from ._naming import Charset, NameTemplate, clean, hour_key
from ._options import option

DEFAULT_TEMPLATE = "{schema}/{date}.jsonl"
#: A file path may hold any character but NUL; substituted values stay plain names.
_PATH_CHARSET = Charset(literal="^\\x00")


class _OpenFile:
    __slots__ = ("fd", "size", "opened")

    def __init__(self, path: Path, mode: int) -> None:
        make_dirs(path.parent, mode)
        self.fd = open_private(path, os.O_WRONLY | os.O_APPEND, mode)
        self.size = os.fstat(self.fd).st_size
        self.opened = time.monotonic()


@dataclass(frozen=True)
class FileOptions:
    """The file sink's options."""

    path: str = option(None, "a directory (ends with '/') for the template, or a file path "
                       "that may use the template variables", kind="path", required=True)
    template: str | None = option(None, f"file under a directory path (default "
                                  f"{DEFAULT_TEMPLATE}); variables: see `telemetry sinks`")
    rotate_bytes: int = option(0, "start a new file when one reaches this size in bytes (0: "
                               "never)", minimum=0)
    rotate_seconds: float = option(0.0, "start a new file when one has been open this long "
                                   "(0: never)", minimum=0)
    compress: bool = option(False, "gzip rotated files")
    fsync: bool = option(False, "fsync each file after each batch: durable writes")
    max_open_files: int = option(64, "files kept open at once, least recently used closed",
                                 minimum=1)


class FileSink(Sink):
    """Writes each event as one JSON line to a file chosen by a path template."""

    type = "file"
    batch_size = 1000
    batch_age = 0.2
    Options = FileOptions

    def __init__(self, context: SinkContext, options: FileOptions) -> None:
        super().__init__(context)
        path, template = options.path, options.template
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            full = os.path.join(os.path.abspath(path), template or DEFAULT_TEMPLATE)
        elif template:
            raise SinkConfigError(
                f"file sink: 'template' needs 'path' to be a directory (end it with '/'); "
                f"got path={path!r}")
        else:
            full = os.path.abspath(path)
        self.path = path
        self.template = NameTemplate(full, where="file sink", charset=_PATH_CHARSET)
        prefix = full.split("{", 1)[0]  # the fixed directory part of the template
        self.root = Path(prefix) if prefix.endswith(os.sep) else Path(prefix).parent
        self.rotate_bytes = options.rotate_bytes
        self.rotate_seconds = options.rotate_seconds
        self.compress = options.compress
        self.durable = options.fsync
        self.max_open_files = options.max_open_files
        self.file_mode = context.file_mode
        self._files: OrderedDict[Path, _OpenFile] = OrderedDict()
        self._paths: dict[tuple[str, str, str], Path] = {}

    def default_name(self) -> str:
        """Two file sinks with different paths get different spool dirs without a name."""
        digest = hashlib.sha1(self.template.template.encode()).hexdigest()[:8]
        return f"{clean(self.root.name)}-{digest}"

    # -- the sink contract -------------------------------------------------------------

    def open(self) -> None:
        """Create the root directory and check that files can be written there."""
        try:
            make_dirs(self.root, self.file_mode)
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
        groups: dict[Path, list[bytes]] = {}
        key: Any = None
        lines: list[bytes] = []
        for event in events:  # runs of events share a file: look it up once per run
            here = (event.schema_id, event.version, hour_key(event.timestamp))
            if here != key:
                key = here
                target = self._target(event)
                lines = groups.setdefault(target, [])
            lines.append(event.json)
        retry: list[SinkEvent] = []
        for target, group in groups.items():
            try:
                self._append(target, b"\n".join(group) + b"\n")
            except OSError as exc:
                # Only this file's events are retried: the others are on disk already.
                self._forget(target)
                self.context.warn("file-write", "file sink: cannot write %s: %s", target, exc)
                retry.extend(e for e in events if self._target(e) == target)
        return WriteResult(retry=retry) if retry else None

    def close(self) -> None:
        """Close every open file."""
        for target in list(self._files):
            self._forget(target)

    # -- paths ---------------------------------------------------------------------

    def _target(self, event: SinkEvent) -> Path:
        key = (event.schema_id, event.version, hour_key(event.timestamp))
        found = self._paths.get(key)
        if found is None:
            if len(self._paths) > 10_000:
                self._paths.clear()  # a bound on the cache; it refills as events come
            found = self._paths[key] = Path(self.template.render(event))
        return found

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
        write_all(handle.fd, data)
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
            fd = open_private(packed, os.O_WRONLY | os.O_TRUNC, self.file_mode)
            with open(rotated, "rb") as src, open(fd, "wb") as raw:
                with gzip.GzipFile(filename=rotated.name, mode="wb", fileobj=raw) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if self.durable:
                    raw.flush()
                    os.fsync(raw.fileno())
            rotated.unlink()

