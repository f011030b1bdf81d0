"""The bounded in-memory queue between the recording threads and a sink's delivery thread.

It only holds events and counts them (events and bytes); the :class:`Delivery` that owns
it guards it with its lock and decides what happens when it is full.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ._event import SinkEvent


def size_of(event: SinkEvent) -> int:
    """Bytes an event costs the queue: its line (JSON and newline), and its inspected
    copy where it has one."""
    return event.size


class EventQueue:
    """Events oldest first, with their total size; bounded by ``max_events``/``max_bytes``."""

    __slots__ = ("items", "bytes", "max_events", "max_bytes")

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.items: deque[SinkEvent] = deque()
        self.bytes = 0
        self.max_events = max_events
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self.items)

    def has_room(self, size: int) -> bool:
        """Whether an event of ``size`` bytes fits (an empty queue takes any one event)."""
        return not self.items or (len(self.items) < self.max_events
                                  and self.bytes + size <= self.max_bytes)

    def append(self, event: SinkEvent) -> None:
        """Add ``event`` at the tail (the caller checked :meth:`has_room`)."""
        self.items.append(event)
        # Inline: the common event has no inspected copy, and this runs per event.
        self.bytes += len(event.json) + 1 if event.inspected is None else event.size

    def popleft(self) -> SinkEvent:
        """Remove and return the oldest event."""
        event = self.items.popleft()
        self.bytes -= len(event.json) + 1 if event.inspected is None else event.size
        return event

    def take(self, limit: int) -> list[SinkEvent]:
        """Remove and return up to ``limit`` of the oldest events."""
        items = self.items
        if limit >= len(items):
            taken = list(items)
            items.clear()
            self.bytes = 0
            return taken
        taken = [items.popleft() for _ in range(limit)]
        self.bytes -= sum(map(size_of, taken))
        return taken

    def put_back(self, events: Iterable[SinkEvent]) -> None:
        """Return events taken earlier to the head, in their order (they are the oldest)."""
        events = list(events)
        self.items.extendleft(reversed(events))
        self.bytes += sum(map(size_of, events))
