"""SinkHandler: the base class every sink stands on.

A sink plugin implements ``write_batch`` (and optionally ``open``/``close_sink``).
This class owns everything else, so no plugin writes its own:

- a bounded in-memory queue (events and bytes) that ``submit``/``emit`` only append to;
- a delivery thread that batches by size and age, calls ``write_batch`` and retries
  with exponential backoff and jitter (``_retry.py``);
- a spooler thread that moves events to an on-disk spool (``_spool.py``) when the
  queue passes ``spool_at`` of its bound, and the delivery thread moves a batch there
  after ``max_attempts`` failed attempts; while anything is spooled every new event
  goes through the spool too, so delivery stays in order; the spool is replayed when
  the sink recovers, and by the next process that starts with the same spool dir;
- a dead-letter file (``_deadletter.py``) for events the sink rejects for good;
- ``flush``, ``close``, a drain at interpreter exit, fork safety and counters, also
  written to a stats file (``_stats.py``) that ``telemetry sinks --stats`` reads.

Where an event can be at any moment, oldest first: in the delivery thread's hand, in
the spool, in the queue. That order is what each path below keeps.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

import orjson

from ._deadletter import DeadLetterFile
from ._errors import PermanentSinkError, SinkConfigError, WriteResult
from ._event import SinkEvent
from ._queue import OFFER_BEHIND, OFFER_HAND_OVER, OFFER_NOTIFY, OFFER_TAKEN, SinkQueue
from ._retry import Backoff
from ._spool import FSYNC_POLICIES, Slot, Spool, acquire_slot
from ._stats import default_spool_root, write_stats

log = logging.getLogger("telemetry_core.sinks")
_yield_interpreter = time.sleep

DROP_POLICIES = ("drop_newest", "drop_oldest")
COUNTERS = ("accepted", "delivered", "retried", "spooled", "replayed", "dead_lettered",
            "dropped")

#: Options every sink accepts (handled by SinkHandler), shown by ``telemetry sinks``.
BASE_OPTIONS: dict[str, str] = {
    "name": "tells two sinks of one type apart; names the spool dir (default 'default')",
    "batch_size": "events per write_batch call (default: the sink's own)",
    "batch_age": "seconds the first event of a batch may wait for more (default: the sink's)",
    "queue_max_events": "bound of the in-memory queue, in events (default 100000)",
    "queue_max_bytes": "bound of the in-memory queue, in bytes of JSON (default 64 MiB)",
    "emit_timeout": "seconds a caller may wait for room when the queue is full (default 0)",
    "drop_policy": "when queue and spool are full: drop_newest (default) or drop_oldest",
    "retry_initial": "first retry delay in seconds, doubled with jitter (default 0.1)",
    "retry_max": "longest retry delay in seconds (default 30)",
    "max_attempts": "direct attempts before a batch goes to the spool (default 3)",
    "spool": "false to keep everything in memory (no disk spool; default true)",
    "spool_dir": "this sink's spool directory (default $XDG_STATE_HOME/telemetry/spool/"
                 "<type>-<name>, else ~/.local/state/...)",
    "spool_max_bytes": "bound of the spool on disk per process (default 1 GiB)",
    "spool_segment_bytes": "size at which a new spool segment file starts (default 16 MiB)",
    "spool_fsync": "never, batch (fsync each spool write; default) or always (each event)",
    "spool_at": "fraction of the queue bound at which events start going to disk (0.5)",
    "dead_letter_path": "JSON-lines file of rejected events (default <spool_dir>/"
                        "dead-letter.jsonl)",
    "dead_letter_max_bytes": "size at which the dead-letter file rotates to .1 (100 MiB)",
    "close_timeout": "seconds close() and interpreter exit wait to deliver (default 30)",
    "stats_interval": "seconds between stats-file writes; 0 turns them off (default 10)",
    "max_slots": "processes that may spool under one spool_dir at once (default 64)",
}

_live: weakref.WeakSet[SinkHandler] = weakref.WeakSet()
_dirs_in_use: dict[Path, weakref.ReferenceType[SinkHandler]] = {}


class SinkHandler(logging.Handler):
    """A ``logging.Handler`` that delivers events to a sink through background threads.

    Subclasses set ``sink_type`` (the entry-point name), ``options`` (option name ->
    one-line description, shown by ``telemetry sinks``), may override the batching
    defaults, and implement :meth:`write_batch`. ``submit`` and ``emit`` never raise
    and never block longer than ``emit_timeout``; failures show in the log and in
    :meth:`stats`.
    """

    sink_type: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}
    default_batch_size: ClassVar[int] = 500
    default_batch_age: ClassVar[float] = 1.0

    def __init__(
        self,
        *,
        name: str | None = None,
        batch_size: int | None = None,
        batch_age: float | None = None,
        queue_max_events: int = 100_000,
        queue_max_bytes: int = 64 * 2**20,
        emit_timeout: float = 0.0,
        drop_policy: str = "drop_newest",
        retry_initial: float = 0.1,
        retry_max: float = 30.0,
        max_attempts: int = 3,
        spool: bool = True,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 2**30,
        spool_segment_bytes: int = 16 * 2**20,
        spool_fsync: str = "batch",
        spool_at: float = 0.5,
        dead_letter_path: str | os.PathLike[str] | None = None,
        dead_letter_max_bytes: int = 100 * 2**20,
        close_timeout: float = 30.0,
        stats_interval: float = 10.0,
        max_slots: int = 64,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        where = f"sink {self.sink_type or type(self).__name__!r}"
        if drop_policy not in DROP_POLICIES:
            raise SinkConfigError(
                f"{where}: drop_policy must be one of {', '.join(DROP_POLICIES)}, "
                f"got {drop_policy!r}")
        if spool_fsync not in FSYNC_POLICIES:
            raise SinkConfigError(
                f"{where}: spool_fsync must be one of {', '.join(FSYNC_POLICIES)}, "
                f"got {spool_fsync!r}")
        for option, value in (("queue_max_events", queue_max_events),
                              ("queue_max_bytes", queue_max_bytes),
                              ("max_attempts", max_attempts), ("max_slots", max_slots)):
            if not isinstance(value, int) or value < 1:
                raise SinkConfigError(f"{where}: {option} must be a whole number >= 1, "
                                      f"got {value!r}")
        if not 0 < spool_at <= 1:
            raise SinkConfigError(f"{where}: spool_at must be in (0, 1], got {spool_at!r}")
        self.sink_name = name or self.default_name()
        self.batch_size = batch_size or self.default_batch_size
        self.batch_age = self.default_batch_age if batch_age is None else batch_age
        self.queue_max_events = queue_max_events
        self.queue_max_bytes = queue_max_bytes
        self.emit_timeout = emit_timeout
        self.drop_policy = drop_policy
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_attempts = max_attempts
        self.spool_enabled = bool(spool)
        self.spool_dir = Path(spool_dir) if spool_dir else (
            default_spool_root() / f"{self.sink_type or 'sink'}-{self.sink_name}")
        self.spool_max_bytes = spool_max_bytes
        self.spool_segment_bytes = spool_segment_bytes
        self.spool_fsync = spool_fsync
        self.dead_letter_path = Path(dead_letter_path) if dead_letter_path else (
            self.spool_dir / "dead-letter.jsonl")
        self.dead_letter_max_bytes = dead_letter_max_bytes
        self.close_timeout = close_timeout
        self.stats_interval = stats_interval
        self.max_slots = max_slots
        self._spill_events = max(1, int(queue_max_events * spool_at))
        self._spill_bytes = max(1, int(queue_max_bytes * spool_at))
        # Queue depths at which submit wakes the threads: the first event (a batch to
        # start), a full batch, and the spool threshold.
        self._wake_depths = (1, self.batch_size, self._spill_events)
        # Past a full batch, submit yields the interpreter lock at depths that are
        # multiples of half a batch rounded up to a power of two (so a mask tests it),
        # less often while the yields find the delivery thread busy writing.
        self._yield_every = max(64, 1 << (self.batch_size // 2).bit_length())
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._start_lock = threading.Lock()
        self._closed = False
        self._init_runtime()

    def _init_runtime(self) -> None:
        """Per-process state: set at construction and again in a forked child."""
        # One lock guards queue, pending, mode and counters; submit takes the plain lock
        # (cheaper than entering the Condition), the threads wait on the Condition.
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._mode_lock = threading.Lock()  # a spool write and a mode change never interleave
        self._wake = threading.Event()  # cuts a backoff short when closing
        #: Set to 1, without the interpreter lock, by a sink's C code that is about to
        #: take the lock back (it clears it once it has): submit then yields the lock at
        #: once, instead of the sink's thread waiting out the switch interval (5 ms).
        #: See "write_batch and the interpreter lock" in docs/plugin-guide.md.
        self.lock_wanted = bytearray(1)
        # The queue, its bytes, its room (0 until started and once closed, so that those
        # rare cases take submit's slow path), the spooling flag and the yield mask live
        # in it: its offer() is submit's common case (see _queue.py).
        self._q = SinkQueue(deque(), self._lock, self.counters, self.lock_wanted,
                            self.queue_max_bytes, self.batch_size, self._spill_bytes,
                            self._wake_depths, self._yield_every - 1)
        self._taken = 0  # events the delivery thread took from the queue, ever
        # Events accepted and since delivered, spooled, dead-lettered or dropped; the
        # rest of counters["accepted"] is pending (counters outlive a fork, the queue not).
        self._settled = self.counters["accepted"]
        self._flushers = 0
        self._closing = False
        self._stop = False
        self._sink_down = False
        self._opened = False
        self._started = False
        self._delivery: threading.Thread | None = None
        self._spooler: threading.Thread | None = None
        self._slot: Slot | None = None
        self._spool: Spool | None = None
        self._dead = DeadLetterFile(self.dead_letter_path, sink=self.label,
                                    max_bytes=self.dead_letter_max_bytes,
                                    fsync=self.spool_fsync != "never")
        self._backoff = Backoff(self.retry_initial, self.retry_max)
        self._last_stats = 0.0
        self._warned: dict[str, float] = {}

    # The queue's fields, as the rest of this class reads and sets them.
    @property
    def _queue(self) -> deque[SinkEvent]:
        return self._q.items  # type: ignore[no-any-return]

    @_queue.setter
    def _queue(self, items: deque[SinkEvent]) -> None:
        self._q.items = items

    @property
    def _queue_bytes(self) -> int:
        return self._q.bytes  # type: ignore[no-any-return]

    @_queue_bytes.setter
    def _queue_bytes(self, size: int) -> None:
        self._q.bytes = size

    @property
    def _room(self) -> int:
        return self._q.room  # type: ignore[no-any-return]

    @_room.setter
    def _room(self, events: int) -> None:
        self._q.room = events

    @property
    def _spooling(self) -> bool:
        """Something is on disk: new events go there too, in order."""
        return bool(self._q.spooling)

    @_spooling.setter
    def _spooling(self, on: bool) -> None:
        self._q.spooling = on

    @property
    def label(self) -> str:
        """``type/name``, as the log and the stats file show this sink."""
        return f"{self.sink_type or type(self).__name__}/{self.sink_name}"

    def default_name(self) -> str:
        """The ``name`` used when configuration gives none; sinks may derive it from options."""
        return "default"

    # -- what a plugin implements ------------------------------------------------

    def open(self) -> None:
        """Connect and check configuration; raise ``SinkConfigError`` with a clear message.

        Called once by :meth:`start`, again in a forked child before its first write,
        and again before a retry if it failed when the sink was started lazily.
        """

    def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
        """Deliver ``events``; return None when all were delivered.

        Raise ``TransientSinkError`` to retry the whole batch, ``PermanentSinkError``
        to dead-letter it, or return a ``WriteResult`` for per-event outcomes. Any
        other exception counts as transient. Called from one thread at a time.
        """
        raise NotImplementedError

    def close_sink(self) -> None:
        """Release the sink's connections; called once, after the last batch."""

    # -- what the core and logging call -------------------------------------------

    def start(self) -> None:
        """Take a spool slot, open the sink and start the threads (idempotent).

        Raises ``SinkConfigError`` when ``open`` does, so configuration mistakes show
        at start-up.
        """
        self._start(lazy=False)

    def _start(self, lazy: bool) -> None:
        with self._start_lock:
            if self._started or self._closed:
                return
            try:
                self._setup_spool()
            except SinkConfigError as exc:
                if not lazy:
                    raise
                log.error("%s; running without a disk spool", exc)
            try:
                self.open()
                self._opened = True
            except Exception as exc:
                if not lazy:
                    self._release_spool()
                    raise
                log.error("sink %s: could not open (will retry before each write): %s",
                          self.label, exc)
            self._started = True
            with self._lock:
                self._room = 0 if self._closed else self.queue_max_events
            _live.add(self)
            _ensure_process_hooks()
            self._delivery = threading.Thread(
                target=self._delivery_loop, name=f"telemetry-sink-{self.label}", daemon=True)
            self._delivery.start()
            if self._spool is not None:
                self._spooler = threading.Thread(
                    target=self._spooler_loop, name=f"telemetry-spool-{self.label}",
                    daemon=True)
                self._spooler.start()

    def submit(self, event: SinkEvent) -> None:
        """Enqueue one event. Never raises into the caller; waits at most ``emit_timeout``.

        When the queue is full (events or bytes) after that wait, ``drop_policy``
        decides which event is dropped; drops are counted and logged. While more than a
        batch is queued, it also lets the delivery thread run (a ~50 us pause) about
        twice a batch; see _after_offer.
        """
        try:
            code = self._q.offer(event)  # the common case: a running sink with room
            if code != OFFER_TAKEN:
                self._after_offer(code, event)
        except Exception:  # a bug here must not reach the application
            log.exception("sink %s: could not accept event %s", self.label, event.event_id)

    def _after_offer(self, code: int, event: SinkEvent) -> None:
        """The rest of submit, when offer() says there is more to do (the core's C
        record path calls offer() itself, then this). Never raises."""
        try:
            if code == OFFER_NOTIFY:  # wake the threads only when it matters
                with self._cv:
                    self._cv.notify_all()
            elif code == OFFER_HAND_OVER:
                # A sink's C code finished its work without the lock and waits to take
                # it back: let it now, not when the switch interval forces this thread
                # to, 5 ms later (for a Kafka batch, a tenth of its time).
                _yield_interpreter(0)
            elif code == OFFER_BEHIND:
                taken = self._taken
                # The delivery thread was woken for this batch but has not run: a thread
                # woken while another runs Python waits out the switch interval (5 ms) for
                # the interpreter lock, and takes one batch per turn, so under sustained
                # load it fell ever further behind and the backlog grew (in memory, whose
                # first touch is costly, then on disk). Releasing the lock twice a batch
                # lets it take its turns now. sleep(0) blocks ~50 us (the timer slack),
                # long enough for a waiting thread to wake and take the lock; shorter
                # yields (sched_yield) were taken back before it woke. Not while
                # spooling: the delivery thread then reads the disk, not this queue.
                _yield_interpreter(0)
                q = self._q
                if self._taken == taken:  # it did not run: it is busy in write_batch
                    q.yield_mask = min(q.yield_mask * 2 + 1, 2**20 - 1)
                else:
                    q.yield_mask = self._yield_every - 1
            else:  # not taken: full, not started yet, or closed
                if not self._started:
                    self._start(lazy=True)
                self._enqueue_full(event, len(event.line))
        except Exception:  # a bug here must not reach the application
            log.exception("sink %s: could not accept event %s", self.label, event.event_id)

    @property
    def _pending(self) -> int:
        """Accepted and not yet delivered, spooled, dead-lettered or dropped."""
        return self.counters["accepted"] - self._settled

    def _enqueue_full(self, event: SinkEvent, size: int) -> None:
        """The slow path: the queue is full, the sink not started yet or closed. Waits up
        to emit_timeout for room, then drops by policy."""
        with self._cv:
            if self._closed:
                self.counters["dropped"] += 1
                self._warn("closed", "sink %s is closed; event %s dropped",
                           self.label, event.event_id)
                return
            deadline = None
            while (len(self._queue) >= self.queue_max_events
                   or self._queue_bytes + size > self.queue_max_bytes) and self._queue:
                if self.drop_policy == "drop_oldest":
                    old = self._queue.popleft()
                    self._queue_bytes -= len(old.line)
                    self._settled += 1
                    self.counters["dropped"] += 1
                    self._warn("full", "sink %s: queue full (%d events, %d bytes); dropped the "
                               "oldest event %s", self.label, len(self._queue),
                               self._queue_bytes, old.event_id)
                    continue
                now = time.monotonic()
                deadline = deadline or now + self.emit_timeout
                if now >= deadline:
                    self.counters["dropped"] += 1
                    self._warn("full", "sink %s: queue full (%d events, %d bytes); dropped "
                               "event %s", self.label, len(self._queue), self._queue_bytes,
                               event.event_id)
                    return
                self._cv.wait(deadline - now)
            self._queue.append(event)
            self._queue_bytes += size
            self.counters["accepted"] += 1
            self._cv.notify_all()

    def emit(self, record: logging.LogRecord) -> None:
        """Standard-logging entry point: the core attaches ``record.sink_event``.

        Without one, a dict message is serialised as the event, else the formatted
        message must be a JSON object.
        """
        try:
            event = getattr(record, "sink_event", None)
            if event is None:
                raw = (orjson.dumps(record.msg) if isinstance(record.msg, dict)
                       else self.format(record).encode())
                event = SinkEvent.from_json(raw)
            self.submit(event)
        except Exception:
            self.handleError(record)

    def flush(self, timeout: float | None = 30.0) -> bool:  # type: ignore[override]
        """Wait until everything accepted so far is delivered or spooled; True if so.

        Events rejected for good (dead-lettered) or dropped by policy count as settled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            if self._pending <= 0:
                return True
            self._flushers += 1  # makes the threads skip their batch_age wait
            self._cv.notify_all()
            try:
                while self._pending > 0:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cv.wait(left)
            finally:
                self._flushers -= 1
        return True

    def close(self) -> None:
        """Drain, stop the threads and close the sink (idempotent).

        Waits up to ``close_timeout`` for everything accepted to be delivered or
        spooled, then for the spool to be replayed while the sink accepts writes.
        What is still in memory after that goes to the spool (or is counted dropped).
        """
        with self._cv:
            already = self._closed
            self._closed = True
            self._room = 0
        if not already and self._started:
            try:
                self._drain_and_stop()
            except Exception:
                log.exception("sink %s: error while closing", self.label)
        _live.discard(self)
        super().close()

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters, the queue depth and bytes, and the spool's bytes."""
        with self._cv:
            snapshot = {**self.counters, "queue_depth": len(self._queue),
                        "queue_bytes": self._queue_bytes, "spooling": int(self._spooling)}
        spool = self._spool
        snapshot["spool_bytes"] = spool.pending_bytes if spool is not None else 0
        snapshot["spool_corrupt_lines"] = spool.corrupt_lines if spool is not None else 0
        snapshot["dead_letter_rotations"] = self._dead.rotations
        return snapshot

    # -- spool set-up and tear-down -------------------------------------------------

    def _setup_spool(self) -> None:
        if not self.spool_enabled:
            return
        key = self.spool_dir.resolve()
        other = _dirs_in_use.get(key)
        if other is not None and other() is not None and other() is not self:
            # Harmless for two copies of one configuration (a notebook cell run twice);
            # not for two destinations: after a crash either may replay the other's slot.
            log.warning(
                "sink %s: spool_dir %s is also used by another sink in this process; this "
                "one takes its own slot. If they write to different places, give each sink "
                "of type %r its own 'name' (or 'spool_dir')", self.label, self.spool_dir,
                self.sink_type)
        try:
            slot = acquire_slot(self.spool_dir, self.max_slots)
        except OSError as exc:
            log.error("sink %s: cannot use spool dir %s (%s); running without a disk spool",
                      self.label, self.spool_dir, exc)
            return
        if slot is None:
            log.error("sink %s: all %d spool slots under %s are taken by running processes; "
                      "running without a disk spool (raise max_slots)", self.label,
                      self.max_slots, self.spool_dir)
            return
        self._slot = slot
        self._spool = Spool(slot.path, max_bytes=self.spool_max_bytes,
                            segment_bytes=self.spool_segment_bytes, fsync=self.spool_fsync)
        _dirs_in_use.setdefault(key, weakref.ref(self))
        if not self._spool.is_empty():
            self._spooling = True
            log.info("sink %s: replaying %d bytes spooled by an earlier run in %s",
                     self.label, self._spool.pending_bytes, slot.path)

    def _release_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
        if self._slot is not None:
            self._slot.release()
        self._spool, self._slot = None, None
        key = self.spool_dir.resolve()
        if (ref := _dirs_in_use.get(key)) is not None and ref() is self:
            del _dirs_in_use[key]

    def _after_fork_in_child(self) -> None:
        """A forked child starts afresh: its own queue, threads and slot (lazily).

        The parent keeps delivering what it had queued; the child must not touch the
        parent's spool, so it only drops its copies of the descriptors.
        """
        if self._spool is not None:
            self._spool.forget_after_fork()
        if self._slot is not None:
            self._slot.forget_after_fork()
        self.counters = dict.fromkeys(self.counters, 0)  # a plugin's own counters too
        self._start_lock = threading.Lock()
        self._init_runtime()

    def _drain_and_stop(self) -> None:
        deadline = time.monotonic() + self.close_timeout
        with self._cv:
            self._closing = True  # a failing batch goes to the spool without backing off
            self._cv.notify_all()
        self._sink_down = False  # try the sink once more before leaving the spool on disk
        self._wake.set()  # end a long backoff now ...
        self._wake.clear()  # ... and keep later ones short (see _wait_backoff)
        self.flush(timeout=max(0.0, deadline - time.monotonic()))
        # Replay what is on disk while the sink takes it; stop when it fails or time is up.
        while (self._spool is not None and not self._spool.is_empty() and not self._sink_down
               and time.monotonic() < deadline and self._delivery is not None
               and self._delivery.is_alive()):
            with self._cv:
                self._cv.wait(0.05)
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._wake.set()  # cut any backoff short
        for thread in (self._spooler, self._delivery):
            if thread is not None:
                thread.join(max(0.5, deadline - time.monotonic()))
        if self._delivery is not None and self._delivery.is_alive():
            log.error("sink %s: write_batch still running after close_timeout=%ss; the "
                      "events in that batch may be lost", self.label, self.close_timeout)
        self._settle_leftovers()
        try:
            if self._opened:
                self.close_sink()
        except Exception:
            log.exception("sink %s: close_sink failed", self.label)
        self._write_stats()
        self._release_spool()

    def _settle_leftovers(self) -> None:
        """Whatever is still queued after close_timeout goes to disk, or is counted lost."""
        with self._cv:
            left = list(self._queue)
            self._queue.clear()
            self._queue_bytes = 0
        if not left:
            return
        stored = 0
        if self._spool is not None and self._mode_lock.acquire(timeout=1.0):
            try:
                stored = self._spool.append(left)
            except OSError as exc:
                log.error("sink %s: could not spool at close: %s", self.label, exc)
            finally:
                self._mode_lock.release()
        self._settle(len(left), spooled=stored, dropped=len(left) - stored)
        if stored < len(left):
            log.error("sink %s: closed with %d events undelivered and not spooled (dropped)",
                      self.label, len(left) - stored)

    # -- bookkeeping --------------------------------------------------------------

    def _settle(self, n: int, **counts: int) -> None:
        with self._cv:
            self._settled += n
            for key, value in counts.items():
                self.counters[key] += value
            self._cv.notify_all()

    def _count(self, **counts: int) -> None:
        with self._cv:
            for key, value in counts.items():
                self.counters[key] += value

    def _warn(self, key: str, msg: str, *args: Any) -> None:
        """Log a warning at most every 10 s per kind, so a flood does not flood the log."""
        now = time.monotonic()
        if now - self._warned.get(key, -1e9) >= 10.0:
            self._warned[key] = now
            log.warning(msg + " (repeats are not logged for 10 s; see stats())", *args)

    def _write_stats(self) -> None:
        if self._slot is None or self.stats_interval <= 0:
            return
        try:
            write_stats(self._slot.path, {"sink": self.label, "counters": self.stats()})
        except OSError as exc:
            self._warn("stats", "sink %s: cannot write stats file: %s", self.label, exc)
        self._last_stats = time.monotonic()

    def _over_spill(self) -> bool:
        return len(self._queue) >= self._spill_events or self._queue_bytes >= self._spill_bytes

    def _pop(self, limit: int) -> list[SinkEvent]:
        """Take up to ``limit`` of the oldest queued events (call with ``_cv`` held)."""
        queue = self._queue
        if limit >= len(queue):  # all of it: no need to add up what it held
            items = list(queue)
            queue.clear()
            self._queue_bytes = 0
        elif len(queue) - limit < limit:
            # A few more than a batch (the common backlog): take them in C-speed slices
            # and rebuild the deque from the few that stay, rather than pop an event at a
            # time, which held the interpreter lock from the application for ~1.5 ms a
            # 20,000-event batch; add up the bytes of those that stay.
            items = list(islice(queue, limit))
            self._queue = queue = deque(islice(queue, limit, None))
            self._queue_bytes = sum([len(item.line) for item in queue])
        else:
            # A long backlog: popping the batch costs its size, rebuilding the rest would
            # cost the whole queue's.
            items = [queue.popleft() for _ in range(limit)]
            self._queue_bytes -= sum([len(item.line) for item in items])
        self._taken += len(items)
        self._cv.notify_all()  # callers waiting for room
        return items

    def _wait_backoff(self) -> bool:
        """Sleep the next backoff delay; False when the handler is stopping."""
        delay = self._backoff.next_delay()
        self._wake.wait(min(delay, 0.5) if self._closing else delay)
        return not self._stop

    # -- the delivery thread ---------------------------------------------------------

    def _delivery_loop(self) -> None:
        while not self._stop:
            try:
                if self.stats_interval > 0 and (
                        time.monotonic() - self._last_stats >= self.stats_interval):
                    self._write_stats()
                if self._spooling:
                    self._replay_step()
                else:
                    batch = self._take_batch()
                    if batch:
                        self._deliver_direct(batch)
            except Exception:  # a bug must not kill the thread that delivers everything
                log.exception("sink %s: delivery thread error", self.label)
                self._wake.wait(1.0)

    def _take_batch(self) -> list[SinkEvent]:
        with self._cv:
            while not self._queue and not self._stop and not self._spooling:
                self._cv.wait(self.stats_interval if self.stats_interval > 0 else None)
                if self.stats_interval > 0 and (
                        time.monotonic() - self._last_stats >= self.stats_interval):
                    return []
            if self._spooling or not self._queue:
                return []  # the spooler owns the queue while anything is on disk
            deadline = time.monotonic() + self.batch_age
            while (len(self._queue) < self.batch_size and not self._stop and not self._spooling
                   and not self._flushers and not self._closing):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            if self._spooling:
                return []
            return self._pop(self.batch_size)

    def _attempt(self, todo: list[SinkEvent], replay: bool) -> list[SinkEvent]:
        """Call write_batch once; count the outcome; return the events to try again."""
        try:
            if not self._opened:
                self.open()
                self._opened = True
            result = self.write_batch(todo)
        except PermanentSinkError as exc:
            self._dead_letter([(e, str(exc) or type(exc).__name__) for e in todo], replay)
            return []
        except Exception as exc:  # transient, a server we cannot reach, or a sink bug
            self._warn("write", "sink %s: write of %d events failed (%s: %s); will retry",
                       self.label, len(todo), type(exc).__name__, exc)
            return todo
        retry = list(result.retry) if result else []
        rejected = list(result.rejected) if result else []
        done = len(todo) - len(retry) - len(rejected)
        if replay:
            self._count(delivered=done, replayed=done)
        else:
            self._settle(done, delivered=done)
        if rejected:
            self._dead_letter(rejected, replay)
        return retry

    def _dead_letter(self, rejected: list[tuple[SinkEvent, str]], replay: bool) -> None:
        try:
            self._dead.write(rejected)
            counts = {"dead_lettered": len(rejected)}
            log.error("sink %s rejected %d events (first reason: %s); written to %s",
                      self.label, len(rejected), rejected[0][1], self._dead.path)
        except OSError as exc:
            counts = {"dropped": len(rejected)}
            log.error("sink %s rejected %d events and the dead-letter file %s cannot be "
                      "written (%s); event ids: %s", self.label, len(rejected),
                      self._dead.path, exc, [e.event_id for e, _ in rejected])
        if replay:
            self._count(**counts)
        else:
            self._settle(len(rejected), **counts)

    def _deliver_direct(self, batch: list[SinkEvent]) -> None:
        todo = batch
        attempts = 0
        while todo:
            todo = self._attempt(todo, replay=False)
            if not todo:
                self._backoff.reset()
                self._sink_down = False
                return
            attempts += 1
            self._count(retried=len(todo))
            if self._spool is not None and (attempts >= self.max_attempts or self._closing):
                self._spool_in_front(todo)
                return
            if not self._wait_backoff():
                self._settle(len(todo), dropped=len(todo))
                log.error("sink %s: stopped with %d undelivered events and no spool "
                          "(dropped)", self.label, len(todo))
                return

    def _spool_in_front(self, todo: list[SinkEvent]) -> None:
        """A batch failed directly: it is older than anything spooled, so it goes first."""
        assert self._spool is not None
        stored = 0
        with self._mode_lock:
            try:
                stored = (self._spool.append(todo) if self._spool.is_empty()
                          else self._spool.prepend(todo))
            except OSError as exc:
                log.error("sink %s: cannot write the spool: %s", self.label, exc)
            with self._cv:
                self._spooling = True
                self._cv.notify_all()
        self._sink_down = True
        self._settle(len(todo), spooled=stored, dropped=len(todo) - stored)
        log.warning("sink %s: %d events spooled to %s after %d failed attempts%s",
                    self.label, stored, self._spool.dir, self.max_attempts,
                    f"; {len(todo) - stored} dropped, spool full" if stored < len(todo) else "")

    def _replay_step(self) -> None:
        assert self._spool is not None
        with self._mode_lock:
            if self._spool.is_empty():
                with self._cv:
                    self._spooling = False
                    self._cv.notify_all()
                log.info("sink %s: spool replayed; delivering directly again", self.label)
                return
        batch = self._spool.peek(self.batch_size)
        if not batch:  # only damaged lines were left: consume them (they were logged)
            self._spool.commit(0)
            self._wake.wait(0.01)
            return
        todo = batch
        while todo:
            todo = self._attempt(todo, replay=True)
            if not todo:
                break
            self._sink_down = True
            self._count(retried=len(todo))
            if not self._wait_backoff():
                return  # still on disk, uncommitted: the next run replays it
        self._sink_down = False
        self._backoff.reset()
        self._spool.commit(len(batch))

    # -- the spooler thread -----------------------------------------------------------

    def _spooler_loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not (
                        self._queue and (self._spooling or self._over_spill())):
                    self._cv.wait()
                if self._stop:
                    return  # close() settles what is left
                # Gather a chunk: fewer writes and fsyncs, and fewer turns taking the
                # interpreter lock from the application. Until the deadline, not the
                # next notify: submit notifies as the queue refills (depth 1).
                deadline = time.monotonic() + 0.05
                while (self._spooling and len(self._queue) < self.batch_size
                       and not self._stop and not self._flushers and not self._closing):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cv.wait(left)
                if self._stop:
                    return
            try:
                self._spool_some()
            except Exception:
                log.exception("sink %s: spooler error", self.label)
                time.sleep(1.0)

    def _spool_some(self) -> None:
        assert self._spool is not None
        with self._mode_lock:
            with self._cv:
                if not self._queue or not (self._spooling or self._over_spill()):
                    return
                if not self._spooling:
                    self._spooling = True
                    log.warning("sink %s: queue at %d events / %d bytes; spooling to %s until "
                                "the sink catches up", self.label, len(self._queue),
                                self._queue_bytes, self._spool.dir)
                chunk = self._pop(max(self.batch_size, 1000))
            try:
                stored = self._spool.append(chunk)
                while stored < len(chunk) and self.drop_policy == "drop_oldest":
                    evicted = self._spool.evict_oldest()
                    if not evicted:
                        break
                    self._count(dropped=evicted)
                    self._warn("evict", "sink %s: spool full (%d bytes); dropped %d of the "
                               "oldest spooled events", self.label, self.spool_max_bytes, evicted)
                    stored += self._spool.append(chunk[stored:])
            except OSError as exc:
                # Disk trouble: keep the events (they are the oldest queued) and try later.
                with self._cv:
                    self._queue.extendleft(reversed(chunk))
                    self._queue_bytes += sum([len(item.line) for item in chunk])
                self._warn("spool-io", "sink %s: cannot write the spool (%s); retrying",
                           self.label, exc)
                self._wake.wait(1.0)
                return
        dropped = len(chunk) - stored
        self._settle(len(chunk), spooled=stored, dropped=dropped)
        if dropped:
            self._warn("spool-full", "sink %s: spool full (%d bytes); dropped %d new events",
                       self.label, self.spool_max_bytes, dropped)
        with self._cv:
            self._cv.notify_all()  # the delivery thread replays from disk

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r} {self.stats()}>"


def sink_options(handler_cls: type[SinkHandler]) -> dict[str, Any]:
    """The options a sink type documents, for ``telemetry sinks``."""
    return dict(handler_cls.options)


# -- process-wide hooks: drain at exit, start afresh after fork ------------------------

_hooks_installed = False


def _close_all_at_exit() -> None:
    for handler in list(_live):
        handler.close()


def _reset_in_child() -> None:
    _dirs_in_use.clear()
    for handler in list(_live):
        _live.discard(handler)
        handler._after_fork_in_child()


_finalizer_pid = 0


def _ensure_process_hooks() -> None:
    global _hooks_installed, _finalizer_pid
    if not _hooks_installed:
        _hooks_installed = True
        atexit.register(_close_all_at_exit)
        os.register_at_fork(after_in_child=_reset_in_child)
    # A multiprocessing child leaves through os._exit, past atexit; its own exit
    # function runs multiprocessing's finalizers, so drain there too (once a process;
    # the child's registry is cleared after the fork, hence registering on first use).
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None and _finalizer_pid != os.getpid():
        _finalizer_pid = os.getpid()
        mp_util.Finalize(None, _close_all_at_exit, exitpriority=100)
