"""A process forked after the sink started (a pre-forking server) gets its own producer:
events recorded in parent and child all arrive."""

from __future__ import annotations

import json
import os
import sys

import pytest
from kafka_test_helpers import KERNEL_ACTION, consume, eventlog


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="needs a fork that keeps the process image")
def test_events_recorded_after_fork_arrive_from_parent_and_child(kafka, topic, tmp_path):
    log = eventlog(kafka.bootstrap_servers, topic, tmp_path / "spool")
    before = [log.record_event(KERNEL_ACTION["$id"], 1, {"action": "start", "seq": i})
              for i in range(20)]
    assert log.flush(timeout=30)
    child_ids = tmp_path / "child.json"
    pid = os.fork()
    if pid == 0:  # the child: record, drain, report the ids, and leave without pytest
        code = 1
        try:
            events = [log.record_event(KERNEL_ACTION["$id"], 1, {"action": "stop", "seq": i})
                      for i in range(30)]
            delivered = log.flush(timeout=30)
            log.close()
            child_ids.write_text(json.dumps([e["__event_id__"] for e in events]))
            code = 0 if delivered else 2
        finally:
            os._exit(code)
    after = [log.record_event(KERNEL_ACTION["$id"], 1, {"action": "restart", "seq": i})
             for i in range(25)]
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert log.flush(timeout=30)
    log.close()

    expected = {e["__event_id__"] for e in before + after} | set(json.loads(child_ids.read_text()))
    got = consume(kafka.bootstrap_servers, [topic], expected=len(expected))
    assert sorted(m.key().decode() for m in got) == sorted(expected)
