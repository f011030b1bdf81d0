"""Exponential backoff with jitter, for the sink worker's retries.

Jitter spreads the retries of many processes that lost the same server at the same
moment, so they do not all come back in one burst.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each scaled by 0.5-1.5."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = max(0.0, initial)
        self.maximum = max(self.initial, maximum)
        self._next = self.initial

    def next_delay(self) -> float:
        """The delay to wait before the next attempt; doubles the one after it."""
        delay = self._next * (0.5 + random.random())
        self._next = min(self._next * 2, self.maximum)
        return min(delay, self.maximum)

    def reset(self) -> None:
        """Start again from ``initial`` (after a success)."""
        self._next = self.initial
