"""Execute requests waiting for their reply: matched by msg_id, bounded, never unbounded.

Shared by both sources of code-executed events (the websocket and iopub observers).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ._recorder import CODE_EXECUTED, Recorder


@dataclass
class Execution:
    """One execute request the server saw, until its reply (or its end) is seen."""

    kernel_id: str
    kernel_name: str | None
    source: str
    code: str | None
    user: str | None
    started: float = field(default_factory=time.monotonic)
    execution_count: int | None = None
    errored: bool = False


class PendingExecutions:
    """Execute requests by msg_id awaiting their reply; at most ``limit`` of them.

    When the table is full the oldest request is recorded with status ``unknown``
    (its reply may still come, but the server stops waiting for it), so memory stays
    bounded and no request goes unrecorded. ``evicted`` counts those.
    """

    def __init__(self, recorder: Recorder, limit: int) -> None:
        self._recorder = recorder
        self._limit = max(1, limit)
        self._waiting: OrderedDict[str, Execution] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._waiting

    def get(self, msg_id: str) -> Execution | None:
        """The execution waiting under ``msg_id``, if any."""
        return self._waiting.get(msg_id)

    def add(self, msg_id: str, execution: Execution) -> None:
        """Wait for the reply to ``msg_id``; records the oldest as unknown when full."""
        self._waiting[msg_id] = execution
        while len(self._waiting) > self._limit:
            _, oldest = self._waiting.popitem(last=False)
            self.evicted += 1
            self._record(oldest, "unknown", None, duration=False)

    def finish(self, msg_id: str, status: str, execution_count: Any) -> bool:
        """Record the execution ``msg_id`` with how it ended; False if none was waiting."""
        execution = self._waiting.pop(msg_id, None)
        if execution is None:
            return False
        self._record(execution, status, execution_count, duration=True)
        return True

    def abandon_all(self) -> None:
        """Record every waiting execution with status unknown (the connection closed)."""
        while self._waiting:
            _, execution = self._waiting.popitem(last=False)
            self._record(execution, "unknown", None, duration=False)

    def _record(self, execution: Execution, status: str, execution_count: Any,
                duration: bool) -> None:
        if status not in ("ok", "error", "aborted"):
            status = "unknown"
        data: dict[str, Any] = {"kernel_id": execution.kernel_id, "status": status,
                                "source": execution.source}
        if execution.kernel_name:
            data["kernel_name"] = execution.kernel_name
        count = execution_count if execution_count is not None else execution.execution_count
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            data["execution_count"] = count
        if duration:
            data["duration_ms"] = round((time.monotonic() - execution.started) * 1000, 3)
        if execution.code is not None:
            data["code"] = execution.code
        self._recorder.record(CODE_EXECUTED, data, execution.user)


class SeenRequests:
    """msg_ids of execute requests already seen on a websocket (bounded, oldest forgotten).

    The iopub observer skips these so that, with both sources on, a request is recorded
    once.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, msg_id: str) -> None:
        """Remember ``msg_id``."""
        self._ids[msg_id] = None
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids
