"""A sink's queue, its bounds, and the common case of ``SinkHandler.submit``.

``SinkQueue.offer`` is that common case: with the handler's lock, append the event if
there is room (events and bytes) and count it accepted; it returns what the caller does
next. ``_speedups.SinkQueue`` is its C twin, which the core's C record path calls
without going through Python (a Python ``submit`` call and its ~40 steps cost the
recording thread ~0.3 us an event). The handler reads and sets the other fields.
"""

from __future__ import annotations

import threading
from collections import deque

from ._event import SinkEvent

#: What ``offer`` returns: taken (nothing more to do); taken, and the threads must be
#: woken; taken, and a full batch waits (yield to the delivery thread, see submit);
#: taken, and a sink's C code wants the interpreter lock back; not taken (slow path).
OFFER_TAKEN, OFFER_NOTIFY, OFFER_BEHIND, OFFER_HAND_OVER, OFFER_REFUSED = 0, 1, 2, 3, -1


class _SinkQueue:
    """The queue of one sink handler (the Python twin of ``_speedups.SinkQueue``)."""

    __slots__ = ("items", "lock", "counters", "lock_wanted", "max_bytes", "batch_size",
                 "spill_bytes", "wake", "yield_mask", "bytes", "room", "spooling")

    def __init__(self, items: deque[SinkEvent], lock: threading.Lock,
                 counters: dict[str, int], lock_wanted: bytearray, max_bytes: int,
                 batch_size: int, spill_bytes: int, wake: tuple[int, int, int],
                 yield_mask: int) -> None:
        self.items = items  # oldest first
        self.lock = lock
        self.counters = counters
        self.lock_wanted = lock_wanted
        self.max_bytes = max_bytes
        self.batch_size = batch_size
        self.spill_bytes = spill_bytes
        self.wake = wake  # queue depths at which the threads are woken
        self.yield_mask = yield_mask
        self.bytes = 0
        self.room = 0  # the bound on events: 0 until started and once closed
        self.spooling = False

    def __len__(self) -> int:
        return len(self.items)

    def offer(self, event: SinkEvent) -> int:
        """Append ``event`` if there is room; what the caller does next (``OFFER_*``)."""
        size = len(event.line)
        # acquire/release rather than ``with``, which costs a third of this path in
        # CPython 3.11.
        lock = self.lock
        lock.acquire()
        try:
            items = self.items
            queued = self.bytes + size
            if len(items) >= self.room or queued > self.max_bytes:
                return OFFER_REFUSED
            items.append(event)
            self.bytes = queued
            self.counters["accepted"] += 1
            depth = len(items)
            if depth in self.wake or queued >= self.spill_bytes > queued - size:
                return OFFER_NOTIFY
            if self.lock_wanted[0]:
                return OFFER_HAND_OVER
            if depth & self.yield_mask or depth < self.batch_size or self.spooling:
                return OFFER_TAKEN
            return OFFER_BEHIND
        finally:
            lock.release()


SinkQueue = _SinkQueue
