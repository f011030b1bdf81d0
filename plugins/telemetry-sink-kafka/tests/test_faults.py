"""The broker dies while events are being recorded: nothing recorded is lost, and the
recording thread never waits on the broker."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import pytest
from kafka_test_helpers import KERNEL_ACTION, consume, eventlog, wait_delivered

from telemetry_core.testing import wait_for
from telemetry_core.testing.servers import kafka_server

EMIT_TIMEOUT = 0.1  # the bound record_event may block for (queue full); it never should here
SLACK = 1.0  # thread scheduling on a loaded 2-core CI machine


def test_broker_crash_and_restart_loses_no_recorded_event(topic, tmp_path, capsys):
    with kafka_server(persistent=True) as broker:
        if not broker.can_restart:
            pytest.skip("an external Kafka cluster cannot be killed and restarted by tests")
        log = eventlog(
            broker.bootstrap_servers, topic, tmp_path / "spool",
            create_topics=True, topic_partitions=2,
            batch_size=200, emit_timeout=EMIT_TIMEOUT, retry_initial=0.1, retry_max=1.0,
            # fail undeliverable messages fast and reconnect fast, so the test is short
            **{"message.timeout.ms": 2000, "reconnect.backoff.max.ms": 500})
        sink = log.sink_handlers[0]  # the sink this EventLog built, for its counters
        recorded: list[dict[str, Any]] = []
        worst = [0.0]
        stop = threading.Event()

        def record() -> None:
            seq = 0
            while not stop.is_set():
                started = time.monotonic()
                event = log.record_event(KERNEL_ACTION["$id"], 1, {"action": "start", "seq": seq})
                worst[0] = max(worst[0], time.monotonic() - started)
                recorded.append(event)
                seq += 1
                time.sleep(0.002)

        # A full collection of the test session's heap (~250k objects) pauses every
        # thread for ~0.3s on a loaded 2-core machine: that is the interpreter's, not a
        # wait on the broker, so the session's objects are frozen out of it meanwhile.
        gc.collect()
        gc.freeze()
        recorder = threading.Thread(target=record)
        recorder.start()
        try:
            wait_for(lambda: sink.stats()["delivered"] >= 200, "delivery before the crash")
            before_crash = len(recorded)
            broker.kill()  # SIGKILL: a crash, not a clean shutdown
            # The outage lasts until delivery noticed it and events kept being recorded.
            wait_for(lambda: sink.stats()["retried"] > 0 and len(recorded) - before_crash
                     >= 200, "failed deliveries while the broker is down", timeout=60)
            during_outage = len(recorded) - before_crash
            broker.start()
            resumed = sink.stats()["delivered"]
            wait_for(lambda: sink.stats()["delivered"] > resumed,
                     "delivery after the restart", timeout=60)
        finally:
            stop.set()
            recorder.join()
            gc.unfreeze()
        stats = wait_delivered(sink, timeout=90)  # spooled events are replayed too
        log.close()

        messages = consume(broker.bootstrap_servers, [topic], expected=len(recorded),
                           timeout=60)
    keys = [m.key().decode() for m in messages]
    missing = {e["__event_id__"] for e in recorded} - set(keys)
    duplicates = len(keys) - len(set(keys))
    with capsys.disabled():
        print(f"\nkafka fault test: recorded {len(recorded)} ({during_outage} while the broker "
              f"was down), consumed {len(keys)}, duplicates {duplicates}, worst record_event "
              f"{worst[0] * 1000:.1f} ms, sink stats {stats}")
    assert during_outage > 0 and stats["retried"] > 0  # the outage did hit delivery
    assert stats["delivered"] == stats["accepted"] == len(recorded)
    assert not missing, f"{len(missing)} of {len(recorded)} recorded events never arrived"
    assert stats["dropped"] == 0 and stats["dead_lettered"] == 0
    assert worst[0] < EMIT_TIMEOUT + SLACK


def test_events_spooled_while_the_broker_is_down_are_replayed_by_the_next_process(
        topic, tmp_path):
    spool = tmp_path / "spool"
    fast = {"message.timeout.ms": 1000, "reconnect.backoff.max.ms": 500, "max_attempts": 1,
            "retry_initial": 0.05, "retry_max": 0.2, "close_timeout": 15}
    with kafka_server(persistent=True) as broker:
        if not broker.can_restart:
            pytest.skip("an external Kafka cluster cannot be killed and restarted by tests")
        first = eventlog(broker.bootstrap_servers, topic, spool, **fast)
        recorded = [first.record_event(KERNEL_ACTION["$id"], 1, {"action": "start", "seq": i})
                    for i in range(50)]
        assert first.flush(timeout=30)
        broker.kill()
        recorded += [first.record_event(KERNEL_ACTION["$id"], 1, {"action": "stop", "seq": i})
                     for i in range(50, 150)]
        stopped = first.sink_handlers[0]
        first.close()  # the broker is still down: the undelivered events go to disk
        before = stopped.stats()
        assert before["dropped"] == 0 and before["delivered"] == 50
        assert before["spooled"] == 100  # on disk now; the next EventLog replays them

        broker.start()
        second = eventlog(broker.bootstrap_servers, topic, spool, **fast)  # replays the spool
        sink = second.sink_handlers[0]
        wait_for(lambda: not (sink.stats()["spool_bytes"] or sink.stats()["spooling"]),
                 "the spool replayed", timeout=60)
        replayed = sink.stats()["replayed"]
        second.close()
        messages = consume(broker.bootstrap_servers, [topic], expected=len(recorded))
    keys = {m.key().decode() for m in messages}
    assert replayed == 100
    assert {e["__event_id__"] for e in recorded} <= keys
