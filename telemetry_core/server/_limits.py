"""Per-client bounds: a request rate (token bucket) and the recent event ids.

Both live in one process: several collector processes each keep their own (the
deployment section of docs/rest-api.md says what that means for duplicates).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

_MAX_CLIENTS = 100_000  # distinct clients (Jupyter users) tracked; least recent dropped


class RateLimiter:
    """A token bucket per client: ``rate`` requests a second, ``burst`` at once."""

    def __init__(self, rate: float, burst: int,
                 per_client: Mapping[str, float] | None = None) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.per_client = dict(per_client or {})
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        """0 if ``client`` may make a request now (and count it), else seconds to wait."""
        rate = self.per_client.get(client, self.rate)
        if rate <= 0:
            return 0  # no limit
        # A client with its own rate may send one second's worth at once.
        capacity = float(max(1, math.ceil(rate)) if client in self.per_client else self.burst)
        now = time.monotonic()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = [capacity, now]
            if len(self._buckets) > _MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
        level = min(capacity, bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        if level >= 1.0:
            bucket[0] = level - 1.0
            return 0
        bucket[0] = level
        return max(1, math.ceil((1.0 - level) / rate))


class RecentIds:
    """Event ids recorded lately, per client: at most ``max_ids`` each, for ``seconds``.

    ``clock`` (monotonic seconds) is what tests replace to step past the window.
    """

    def __init__(self, max_ids: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_ids = max_ids
        self.seconds = seconds
        self.clock = clock
        self._by_client: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()

    def _ids(self, client: str) -> OrderedDict[str, float]:
        ids = self._by_client.get(client)
        if ids is None:
            ids = self._by_client[client] = OrderedDict()
            if len(self._by_client) > _MAX_CLIENTS:
                self._by_client.popitem(last=False)
        return ids

    def seen(self, client: str, event_id: str) -> bool:
        """True when ``event_id`` was remembered for ``client`` and has not expired."""
        if self.max_ids <= 0:
            return False
        ids = self._ids(client)
        now = self.clock()
        while ids:  # oldest first: drop what has expired
            oldest, at = next(iter(ids.items()))
            if now - at < self.seconds:
                break
            del ids[oldest]
        return event_id in ids

    def remember(self, client: str, event_id: str) -> None:
        """Remember ``event_id`` (dropping the oldest past ``max_ids``)."""
        if self.max_ids <= 0:
            return
        ids = self._ids(client)
        ids[event_id] = self.clock()
        while len(ids) > self.max_ids:
            ids.popitem(last=False)
