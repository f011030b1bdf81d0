"""Processes that die, exit or fork: what was spooled survives, what was accepted drains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
from test_sink_handler import Recorder, ids, make, make_event

from telemetry_core.sinks import SinkEvent, TransientSinkError, WriteResult
from telemetry_core.testing import wait_for

CHILD = textwrap.dedent("""
    import sys, time, orjson
    from telemetry_core.sinks import Sink, SinkEvent, SinkHandler, TransientSinkError

    class Down(Sink):
        type = "down"
        def write_batch(self, events):
            raise TransientSinkError("server down")

    def event(i):
        return SinkEvent.from_json(orjson.dumps({
            "__event_id__": f"e{i:05d}", "__schema__": "https://example.org/schemas/thing",
            "__schema_version__": "1", "__timestamp__": "2026-01-02T03:04:05Z", "n": i}))

    h = SinkHandler(Down, spool_dir=sys.argv[1], batch_size=10, max_attempts=1, retry_initial=0.01,
                    retry_max=0.05, batch_age=0.01, stats_interval=0, spool_fsync="never")
    for i in range(300):
        h.submit(event(i))
    h.flush(60)
    print(h.stats()["spooled"], flush=True)
    i = 300
    while True:  # keep queueing and spooling until the parent kills us
        h.submit(event(i))
        i += 1
        if i % 500 == 0:
            time.sleep(0.001)
""")


def test_sigkill_loses_nothing_that_was_spooled(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(spool)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        spooled_before_kill = int(child.stdout.readline())
        assert spooled_before_kill == 300
        wait_for(lambda: sum(p.read_bytes().count(b"\n") for p in spool.glob("slot-*/*.seg"))
                   > 1000, "the child spools more while it runs")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    # The child never delivered, so every complete line on disk is an event it spooled
    # (a half-written last line is the one event the kill may cut).
    on_disk = sum(p.read_bytes().count(b"\n") for p in spool.glob("slot-*/*.seg"))

    after = make(spool_dir=spool, batch_size=200)
    after.start()
    wait_for(lambda: after.stats()["spooling"] == 0, "the next run replays the spool")
    after.close()
    got = after.sink.got
    assert got[:300] == ids(300)  # everything spooled before the kill, first and in order
    assert len(got) > 300  # and what was spooled while it ran
    assert got == sorted(got) and len(set(got)) == len(got)  # in order, each once
    assert len(got) == on_disk  # every spooled event, not just some
    assert got == ids(len(got))  # and no gap: what was lost was only still in memory
    assert after.stats()["replayed"] == len(got)


def test_forked_child_gets_its_own_queue_and_slot(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    parent = make(down=True, spool_dir=spool, max_attempts=1, batch_size=10)
    for i in range(50):
        parent.submit(make_event(i))
    assert parent.flush(timeout=30)
    spooled = parent.stats()["spool_bytes"]
    assert spooled > 0
    result = tmp_path / "child.json"
    pid = os.fork()
    if pid == 0:  # the child: same handler object, fresh state
        code = 1
        try:
            parent.sink.up.set()
            fresh = parent.stats()
            for i in range(1000, 1005):
                parent.submit(make_event(i))
            parent.flush(timeout=30)
            slot = parent.delivery._slot.path.name if parent.delivery._slot else None
            parent.close()
            result.write_bytes(orjson.dumps({"fresh": fresh, "got": parent.sink.got, "slot": slot}))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child = orjson.loads(result.read_bytes())
    assert child["fresh"]["accepted"] == 0 and child["fresh"]["queue_depth"] == 0
    assert child["got"] == ids(5, start=1000)  # the parent's spool was not replayed there
    assert child["slot"] not in (None, "slot-0")
    assert parent.stats()["spool_bytes"] == spooled and parent.stats()["accepted"] == 50
    parent.sink.up.set()
    wait_for(lambda: len(parent.sink.got) == 50, "the parent replays its own spool")
    parent.close()
    assert parent.sink.got == ids(50)


def test_normal_exit_drains_without_close(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    script = textwrap.dedent(f"""
        import orjson
        from telemetry_core.sinks import create_sink
        from telemetry_core.sinks import SinkEvent
        sink = create_sink({{"type": "file", "path": {str(out)!r}, "batch_age": 30,
                             "spool_dir": {str(tmp_path / "spool")!r}}})
        for i in range(1000):
            sink.submit(SinkEvent.from_json(orjson.dumps({{"__event_id__": str(i), "n": i}})))
        # no flush, no close: the batch is still waiting for its age when Python exits
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    lines = out.read_bytes().splitlines()
    assert [orjson.loads(line)["n"] for line in lines] == list(range(1000))


def test_prepend_keeps_order_when_the_spool_took_over_during_retries(tmp_path: Path) -> None:
    """A batch that fails directly after the spooler started is older than the spool."""
    gate = threading.Event()

    class FailsFirstBatch(Recorder):
        def write_batch(self, events: Sequence[SinkEvent]) -> WriteResult | None:
            if self.calls == 0:
                self.calls += 1
                self.entered.set()
                gate.wait()  # meanwhile the queue passes spool_at and the spooler takes over
                raise TransientSinkError("timeout")
            return super().write_batch(events)

    h = make(FailsFirstBatch, spool_dir=tmp_path / "spool", batch_size=5, max_attempts=1,
                        queue_max_events=20, emit_timeout=30)
    h.submit(make_event(0))
    wait_for(h.sink.entered.is_set, "the first batch is being written")
    for i in range(1, 100):
        h.submit(make_event(i))
    wait_for(lambda: h.stats()["spooling"] == 1, "the spooler took over")
    gate.set()
    wait_for(lambda: len(h.sink.got) == 100, "everything delivered")
    h.close()
    assert h.sink.got == ids(100)


def test_multiprocessing_child_drains_when_it_returns(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import multiprocessing, orjson
        from telemetry_core.sinks import create_sink
        from telemetry_core.sinks import SinkEvent

        def work(sink):
            for i in range(500):
                sink.submit(SinkEvent.from_json(orjson.dumps({{"__event_id__": str(i), "n": i}})))
            # returns without flush or close; multiprocessing ends the child with os._exit

        if __name__ == "__main__":
            sink = create_sink({{"type": "file", "path": {str(tmp_path / "out.jsonl")!r},
                                 "batch_age": 30, "spool_dir": {str(tmp_path / "spool")!r}}})
            sink.start()
            child = multiprocessing.get_context("fork").Process(target=work, args=(sink,))
            child.start()
            child.join()
            sink.close()
    """)
    path = tmp_path / "parent.py"
    path.write_text(script)
    subprocess.run([sys.executable, str(path)], check=True, timeout=120)
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["n"] for line in lines] == list(range(500))
