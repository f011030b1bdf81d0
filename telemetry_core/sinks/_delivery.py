"""Delivery: the framework's half of a sink. Queue, threads, batching, retry, spool.

- ``submit`` only appends to a bounded queue (``_queue.py``) and never raises;
- a delivery thread batches by size and age, calls ``sink.write_batch`` and retries
  with exponential backoff and jitter (``_retry.py``);
- a spooler thread moves events to the disk spool (``_spool.py``) when the queue
  passes ``spool_at`` of its bound, and the delivery thread moves a batch there after
  ``max_attempts`` failed attempts; while anything is spooled every new event goes
  through the spool too, so delivery stays in order; the spool is replayed when the
  sink recovers, and by the next process that starts with the same spool dir;
- rejected events go to the dead-letter file (``_deadletter.py``);
- ``flush``, ``close``, a drain at interpreter exit, fork safety, and counters, also
  written to a stats file (``_stats.py``) that ``telemetry sinks --stats`` reads.

Where an event can be at any moment, oldest first: in the delivery thread's hand, in
the spool, in the queue. That order is what each path below keeps.

Why one module of more than 500 lines: it is one class around one lock. The queue, the
spooling flag, the settled count and every counter change under ``_cv`` together, and
each path below (submit, flush, close, the delivery and spooler threads) is correct
only with the others in view; split across modules, that invariant would be too.
The parts that need no lock live apart: ``_queue``, ``_retry``, ``_spool``,
``_deadletter``, ``_stats``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from ._contract import Sink, SinkContext
from ._deadletter import DeadLetterFile
from ._errors import PermanentSinkError
from ._event import SinkEvent
from ._queue import EventQueue
from ._retry import Backoff
from ._slots import Slot, acquire_slot
from ._spool import Spool
from ._stats import write_stats

log = logging.getLogger("telemetry_core.sinks")

#: The framework's counters, in ``stats()`` order.
COUNTERS = ("accepted", "delivered", "retried", "spooled", "replayed", "dead_lettered",
            "dropped", "spool_quarantined", "spool_damaged_files", "spool_unusable")

_live: weakref.WeakSet[Delivery] = weakref.WeakSet()
_dirs_in_use: dict[Path, weakref.ReferenceType[Delivery]] = {}


class Delivery:
    """Moves events from ``submit`` to ``sink.write_batch``, keeping each one safe meanwhile.

    ``options`` are the framework's options (``FRAMEWORK_OPTIONS``), already checked.
    """

    def __init__(self, sink: Sink, context: SinkContext, options: dict[str, Any],
                 spool_dir: Path) -> None:
        self.sink = sink
        self.context = context
        self.batch_size: int = options["batch_size"] or sink.batch_size
        self.batch_age: float = (sink.batch_age if options["batch_age"] is None
                                 else options["batch_age"])
        self.emit_timeout: float = options["emit_timeout"]
        self.drop_policy: str = options["drop_policy"]
        self.max_attempts: int = options["max_attempts"]
        self.close_timeout: float = options["close_timeout"]
        self.stats_interval: float = options["stats_interval"]
        self.spool_enabled: bool = options["spool"]
        self.spool_dir = spool_dir
        self.file_mode: int = options["file_mode"]
        self._options = options
        self.counters = context.counters
        self.counters.update(dict.fromkeys((*COUNTERS, *type(sink).counters), 0))
        spool_at: float = options["spool_at"]
        self._spill_events = max(1, int(options["queue_max_events"] * spool_at))
        self._spill_bytes = max(1, int(options["queue_max_bytes"] * spool_at))
        self._start_lock = threading.Lock()
        self._closed = False
        self._init_runtime()

    def _init_runtime(self) -> None:
        """Per-process state: set at construction and again in a forked child."""
        options = self._options
        # One lock guards queue, pending, mode and counters; the threads wait on its
        # Condition, submit takes the plain lock.
        self._lock = self.context.lock = threading.Lock()  # the sink's counters share it
        self._cv = threading.Condition(self._lock)
        self._mode_lock = threading.Lock()  # a spool write and a mode change never interleave
        self._wake = threading.Event()  # cuts a backoff short when closing
        self._queue = EventQueue(options["queue_max_events"], options["queue_max_bytes"])
        self._accepting = False  # started and not closed: submit's fast path may append
        self._spooling = False  # something is on disk: new events go there too, in order
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
        dead_path = options["dead_letter_path"]
        self._dead = DeadLetterFile(Path(dead_path) if dead_path else
                                    self.spool_dir / "dead-letter.jsonl", sink=self.context.label,
                                    max_bytes=options["dead_letter_max_bytes"],
                                    fsync=options["spool_fsync"] != "never",
                                    file_mode=self.file_mode)
        self._backoff = Backoff(options["retry_initial"], options["retry_max"])
        self._last_stats = 0.0

    @property
    def label(self) -> str:
        """``type/name`` of the sink."""
        return self.context.label

    @property
    def dead_letter_path(self) -> Path:
        """The dead-letter file (the ``dead_letter_path`` option, or one in the spool)."""
        return self._dead.path

    # -- start -----------------------------------------------------------------------

    def start(self, lazy: bool = False) -> None:
        """Take a spool slot, open the sink and start the threads (idempotent).

        Raises what ``sink.open`` raises unless ``lazy`` (then it is retried before each
        write), so configuration mistakes show at start-up.
        """
        with self._start_lock:
            if self._started or self._closed:
                return
            # Open first: a sink that cannot start must leave no spool dir or lock behind.
            try:
                self.sink.open()
                self._opened = True
            except Exception as exc:
                if not lazy:
                    raise
                log.error("sink %s: could not open (will retry before each write): %s",
                          self.label, exc)
            self._setup_spool()
            self._started = True
            with self._lock:
                self._accepting = not self._closed
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

    # -- submit ------------------------------------------------------------------------

    def submit(self, event: SinkEvent) -> None:
        """Enqueue one event. Never raises into the caller; waits at most ``emit_timeout``.

        When the queue is full (events or bytes) after that wait, ``drop_policy``
        decides which event is dropped; drops are counted and logged.
        """
        try:
            size = len(event.json) + 1 if event.inspected is None else event.size
            queue = self._queue
            with self._lock:
                if self._accepting and queue.has_room(size):  # the common case
                    queue.append(event)
                    self.counters["accepted"] += 1
                    depth = len(queue)
                    # Wake the threads only when it matters: a batch to start, a full
                    # batch, the spool threshold, or while spooling (the spooler gathers).
                    if depth == 1 or depth == self.batch_size or (
                            depth == self._spill_events or
                            queue.bytes >= self._spill_bytes > queue.bytes - size):
                        self._cv.notify_all()
                    return
            if not self._started:
                self.start(lazy=True)
            self._enqueue_full(event, size)
        except Exception:  # a bug here must not reach the application
            log.exception("sink %s: could not accept event %s", self.label, event.event_id)

    @property
    def pending(self) -> int:
        """Accepted and not yet delivered, spooled, dead-lettered or dropped."""
        return self.counters["accepted"] - self._settled

    def _enqueue_full(self, event: SinkEvent, size: int) -> None:
        """The slow path: the queue is full or closed. Waits up to emit_timeout for room,
        then drops by policy."""
        queue = self._queue
        with self._cv:
            if self._closed:
                self.counters["dropped"] += 1
                self.context.warn("closed", "sink %s is closed; event %s dropped",
                                  self.label, event.event_id)
                return
            deadline = None
            while not queue.has_room(size):
                if self.drop_policy == "drop_oldest":
                    old = queue.popleft()
                    self._settled += 1
                    self.counters["dropped"] += 1
                    self.context.warn("full", "sink %s: queue full (%d events, %d bytes); "
                                      "dropped the oldest event %s", self.label, len(queue),
                                      queue.bytes, old.event_id)
                    continue
                now = time.monotonic()
                deadline = deadline or now + self.emit_timeout
                if now >= deadline:
                    self.counters["dropped"] += 1
                    self.context.warn("full", "sink %s: queue full (%d events, %d bytes); "
                                      "dropped event %s", self.label, len(queue), queue.bytes,
                                      event.event_id)
                    return
                self._cv.wait(deadline - now)
            queue.append(event)
            self.counters["accepted"] += 1
            self._cv.notify_all()

    # -- flush, close, stats -------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything accepted so far is delivered or spooled; True if so.

        Events rejected for good (dead-lettered) or dropped by policy count as settled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            if self.pending <= 0:
                return True
            self._flushers += 1  # makes the threads skip their batch_age wait
            self._cv.notify_all()
            try:
                while self.pending > 0:
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
            self._accepting = False
        if not already and self._started:
            try:
                self._drain_and_stop()
            except Exception:
                log.exception("sink %s: error while closing", self.label)
        _live.discard(self)

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters, the queue depth and bytes, and the spool's bytes."""
        with self._cv:
            snapshot = {**self.counters, "queue_depth": len(self._queue),
                        "queue_bytes": self._queue.bytes, "spooling": int(self._spooling)}
        spool = self._spool
        snapshot["spool_bytes"] = spool.pending_bytes if spool is not None else 0
        if spool is not None:
            snapshot["spool_quarantined"] = spool.corrupt_lines
            snapshot["spool_damaged_files"] = spool.damaged_files
        snapshot["dead_letter_rotations"] = self._dead.rotations
        return snapshot

    # -- spool set-up and tear-down -------------------------------------------------

    def _setup_spool(self) -> None:
        """Take a slot and open its spool; on any trouble run without one (never raise:
        recording must go on), with a warning and the ``spool_unusable`` counter."""
        if not self.spool_enabled:
            return
        key = self.spool_dir.absolute()
        other = _dirs_in_use.get(key)
        if other is not None and other() is not None and other() is not self:
            # Harmless for two copies of one configuration (a notebook cell run twice);
            # not for two destinations: after a crash either may replay the other's slot.
            log.warning(
                "sink %s: spool_dir %s is also used by another sink in this process; this "
                "one takes its own slot. If they write to different places, give each sink "
                "of type %r its own 'name' (or 'spool_dir')", self.label, self.spool_dir,
                self.context.sink_type)
        try:
            slot = acquire_slot(self.spool_dir, self._options["max_slots"], self.file_mode)
            if slot is None:
                log.error("sink %s: all %d spool slots under %s are taken by running "
                          "processes; running without a disk spool (raise max_slots)",
                          self.label, self._options["max_slots"], self.spool_dir)
                self._count(spool_unusable=1)
                return
            try:
                spool = Spool(slot.path, max_bytes=self._options["spool_max_bytes"],
                              segment_bytes=self._options["spool_segment_bytes"],
                              fsync=self._options["spool_fsync"], file_mode=self.file_mode)
            except Exception:
                slot.release()
                raise
        except Exception as exc:
            log.warning("sink %s: cannot use the spool dir %s (%s: %s); running without a "
                        "disk spool: events wait in memory only", self.label, self.spool_dir,
                        type(exc).__name__, exc)
            self._count(spool_unusable=1)
            return
        self._slot, self._spool = slot, spool
        _dirs_in_use.setdefault(key, weakref.ref(self))
        if not spool.is_empty():
            self._spooling = True
            log.info("sink %s: replaying %d bytes spooled by an earlier run in %s",
                     self.label, spool.pending_bytes, slot.path)

    def _release_spool(self) -> None:
        if self._spool is not None:
            # The spool's own counts outlive it, in the counters stats() reads.
            with self._cv:
                self.counters["spool_quarantined"] = self._spool.corrupt_lines
                self.counters["spool_damaged_files"] = self._spool.damaged_files
            self._spool.close()
        if self._slot is not None:
            self._slot.release()
        self._spool, self._slot = None, None
        key = self.spool_dir.absolute()
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
        for key in self.counters:
            self.counters[key] = 0  # the sink's own counters too (one dict, shared)
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
                self.sink.close()
        except Exception:
            log.exception("sink %s: close failed", self.label)
        self._write_stats()
        self._release_spool()

    def _settle_leftovers(self) -> None:
        """Whatever is still queued after close_timeout goes to disk, or is counted lost."""
        with self._cv:
            left = self._queue.take(len(self._queue))
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

    def _write_stats(self) -> None:
        if self._slot is None or self.stats_interval <= 0:
            return
        try:
            write_stats(self._slot.path, {"sink": self.label, "counters": self.stats()},
                        self.file_mode)
        except OSError as exc:
            self.context.warn("stats", "sink %s: cannot write stats file: %s", self.label, exc)
        self._last_stats = time.monotonic()

    def _over_spill(self) -> bool:
        return len(self._queue) >= self._spill_events or self._queue.bytes >= self._spill_bytes

    def _pop(self, limit: int) -> list[SinkEvent]:
        """Take up to ``limit`` of the oldest queued events (call with ``_cv`` held)."""
        items = self._queue.take(limit)
        self._cv.notify_all()  # callers waiting for room
        return items

    def _wait_backoff(self) -> bool:
        """Sleep the next backoff delay; False when stopping."""
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
                self.sink.open()
                self._opened = True
            result = self.sink.write_batch(todo)
        except PermanentSinkError as exc:
            self._dead_letter([(e, str(exc) or type(exc).__name__) for e in todo], replay)
            return []
        except Exception as exc:  # transient, a server we cannot reach, or a sink bug
            self.context.warn("write", "sink %s: write of %d events failed (%s: %s); will "
                              "retry", self.label, len(todo), type(exc).__name__, exc)
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
        if not batch:  # only damaged lines were left: consume them (they were quarantined)
            self._spool.skip_damaged()
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
                # Gather a chunk, for fewer writes and fsyncs: until the deadline, not
                # the next notify.
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
                                self._queue.bytes, self._spool.dir)
                chunk = self._pop(max(self.batch_size, 1000))
            try:
                stored = self._spool.append(chunk)
                while stored < len(chunk) and self.drop_policy == "drop_oldest":
                    evicted = self._spool.evict_oldest()
                    if not evicted:
                        break
                    self._count(dropped=evicted)
                    self.context.warn("evict", "sink %s: spool full; dropped %d of the "
                                      "oldest spooled events", self.label, evicted)
                    stored += self._spool.append(chunk[stored:])
            except OSError as exc:
                # Disk trouble: keep the events (they are the oldest queued) and try later.
                with self._cv:
                    self._queue.put_back(chunk)
                self.context.warn("spool-io", "sink %s: cannot write the spool (%s); "
                                  "retrying", self.label, exc)
                self._wake.wait(1.0)
                return
        dropped = len(chunk) - stored
        self._settle(len(chunk), spooled=stored, dropped=dropped)
        if dropped:
            self.context.warn("spool-full", "sink %s: spool full; dropped %d new events",
                              self.label, dropped)
        with self._cv:
            self._cv.notify_all()  # the delivery thread replays from disk


# -- process-wide hooks: drain at exit, start afresh after fork ------------------------

_hooks_installed = False
_finalizer_pid = 0


def _close_all_at_exit() -> None:
    for delivery in list(_live):
        delivery.close()


def _reset_in_child() -> None:
    _dirs_in_use.clear()
    for delivery in list(_live):
        _live.discard(delivery)
        delivery._after_fork_in_child()


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

