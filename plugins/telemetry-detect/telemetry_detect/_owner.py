"""Which EventLog a detect sink records its alerts through.

A sink is built from configuration inside ``EventLog(sinks=[...])`` and is not handed
its EventLog, so the sink finds the open EventLog (``EventLog.open_eventlogs()``) that
lists it among its ``sink_handlers``. ``attach(eventlog, sink_label)`` sets it
explicitly. Two EventLogs of one process
that both have a detect sink give them different ``name`` s.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_lock = threading.Lock()
_attached: dict[str, weakref.ref[Any]] = {}


def attach(eventlog: Any, label: str) -> None:
    """Record the alerts of the detect sink ``label`` (``detect/NAME``) through ``eventlog``."""
    with _lock:
        _attached[label] = weakref.ref(eventlog)


def owner_of(label: str) -> Any:
    """The EventLog the sink ``label`` belongs to, or None while there is none."""
    with _lock:
        ref = _attached.get(label)
    found = ref() if ref else None
    if found is not None and _lists(found, label):
        return found  # still open: a closed EventLog lists no sinks
    from telemetry_core import EventLog

    for eventlog in EventLog.open_eventlogs():
        if _lists(eventlog, label):
            attach(eventlog, label)
            return eventlog
    return None


def _lists(eventlog: Any, label: str) -> bool:
    return any(h.label == label for h in eventlog.sink_handlers)
