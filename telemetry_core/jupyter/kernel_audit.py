"""IPython extension: data files opened by code in a kernel (optional, bypassable).

Load it with ``%load_ext telemetry_core.jupyter.kernel_audit``, or for every kernel in
``ipython_kernel_config.py``::

    c.InteractiveShellApp.extensions = ["telemetry_core.jupyter.kernel_audit"]
    c.EventLog.sinks = [{"type": "file", "path": "/var/log/jupyter/kernel-events/"}]
    c.EventLog.allowed_schemas = ["https://telemetry.jupyter.org/schemas/events/contents/dataset-opened"]
    c.TelemetryHooks.dataset_patterns = ["*.csv", "*.parquet"]   # optional

It records a dataset-opened event (source ``kernel``) when code opens a file whose name
matches ``c.TelemetryHooks.dataset_patterns``, seen through ``sys.addaudithook``'s
``open`` event. The user is the kernel process's OS user. Code in the kernel runs with
the same rights as this hook and can get around it (by unloading it, by opening files
through a subprocess or a C library that does not raise audit events): it is an aid for
honest accounting, not a control.

Cost: one string comparison for every audit event that is not ``open``; for ``open``,
a pattern match on the file's name. It never raises into user code, and does not record
the opens it causes itself (its own thread, the sinks' threads).
"""

from __future__ import annotations

import getpass
import os
import sys
import threading
from typing import Any

from ._config import DatasetMatcher, TelemetryHooks, file_format
from ._recorder import DATASET_OPENED, Recorder

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


class _KernelAudit:
    """What the audit hook records into while the extension is loaded."""

    def __init__(self, recorder: Recorder, is_dataset: DatasetMatcher) -> None:
        self.recorder = recorder
        self.is_dataset = is_dataset
        self.user = _os_user()
        self.kernel_id = _kernel_id()

    def opened(self, path: Any, mode: Any, flags: Any) -> None:
        if isinstance(path, int) or not self.is_dataset(path):
            return
        if threading.current_thread().name.startswith("telemetry-"):
            return  # a sink or spool thread writing its own files
        name = os.path.abspath(os.fsdecode(path))
        if isinstance(mode, str):
            write = any(c in mode for c in "wax+")
        else:
            write = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
        event: dict[str, Any] = {"source": "kernel", "access": "write" if write else "read",
                                 "path": name}
        suffix = file_format(name)
        if suffix:
            event["format"] = suffix
        if self.kernel_id:
            event["kernel_id"] = self.kernel_id
        if not write:
            try:
                event["size_bytes"] = os.stat(name).st_size
            except OSError:
                pass
        self.recorder.record(DATASET_OPENED, event, self.user)


_active: _KernelAudit | None = None
_hook_added = False
_busy = threading.local()


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    if event != "open":
        return
    audit = _active
    if audit is None or getattr(_busy, "flag", False):
        return
    _busy.flag = True  # opens made while recording are not recorded again
    try:
        audit.opened(*args[:3])
    except Exception:  # never into user code
        pass
    finally:
        _busy.flag = False


def load_ipython_extension(ipython: Any) -> None:
    """Start recording data files opened by this kernel's code (``%load_ext``)."""
    global _active, _hook_added
    from .._eventlog import EventLog

    if _active is not None:
        return
    config = ipython.config
    _active = _KernelAudit(Recorder(EventLog(config=config)),
                           TelemetryHooks(config=config).dataset_matcher())
    if not _hook_added:  # audit hooks cannot be removed; unloading makes it a no-op
        sys.addaudithook(_audit_hook)
        _hook_added = True
    import atexit

    atexit.register(_close)


def unload_ipython_extension(ipython: Any) -> None:
    """Stop recording (``%unload_ext``) and close the EventLog."""
    _close()


def _close() -> None:
    global _active
    audit, _active = _active, None
    if audit is not None:
        audit.recorder.eventlog.close()


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None


def _kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:
        return None
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") else None
