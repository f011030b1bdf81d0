"""telemetry_core.jupyter.kernel_audit in a real ipykernel: data files opened by code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ipykernel")

from jupyter_helpers import read_events  # noqa: E402

from telemetry_core.jupyter._recorder import DATASET_OPENED  # noqa: E402
from telemetry_core.testing.servers._jupyter import jupyter_env  # noqa: E402

CODE = r'''
import os
with open("people.csv", "w") as f:
    f.write("name\nada\n")
print(open("people.csv").read().count("\n"))
open("notes.txt", "w").close()
fd = os.open("people.csv", os.O_RDONLY); os.close(fd)
'''


def test_kernel_audit_records_data_files_opened_by_code(tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager

    events = tmp_path / "events"
    work = tmp_path / "work"
    work.mkdir()
    env = jupyter_env(tmp_path)
    profile = Path(env["IPYTHONDIR"]) / "profile_default"
    profile.mkdir(parents=True)
    # *.jsonl matches the sink's own files too: they must not be recorded (no loop).
    (profile / "ipython_kernel_config.py").write_text(
        'c.InteractiveShellApp.extensions = ["telemetry_core.jupyter.kernel_audit"]\n'
        f"c.EventLog.sinks = [{{'type': 'file', 'path': {str(events) + '/'!r}}}]\n"
        f"c.EventLog.allowed_schemas = {{{DATASET_OPENED!r}: "
        "{'allowed_properties': ['user', 'path'], 'consent': 'required'}}\n"
        "c.TelemetryHooks.dataset_patterns = ['*.csv', '*.jsonl']\n")
    # Named as jupyter_server names it, kernel-<kernel id>.json, where the id comes from.
    kernel_id = uuid.uuid4().hex
    manager = KernelManager(kernel_name="python3", connection_file=str(
        Path(env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"))
    manager.start_kernel(env=env, cwd=str(work))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(CODE, timeout=60)
        assert reply["content"]["status"] == "ok"
        # The hook sees the attempt (its own os.stat fails too) and the user gets the
        # error open raises, not one of the hook's.
        broken = client.execute_interactive("open('missing/none.csv')", timeout=60)
        assert broken["content"]["status"] == "error"
        assert "FileNotFoundError" in str(broken["content"])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)  # a clean exit closes the EventLog
    recorded = [e for e in read_events(events) if e["__schema__"] == DATASET_OPENED]
    csv = str(work / "people.csv")
    assert [(e["access"], e["path"]) for e in recorded] == [
        ("write", csv), ("read", csv), ("read", csv), ("read", str(work / "missing/none.csv"))]
    assert all(e["source"] == "kernel" and e["format"] == "csv" for e in recorded)
    assert all(e["kernel_id"] == kernel_id and e["user"] for e in recorded)
    assert recorded[1]["size_bytes"] == len("name\nada\n")
    assert os.listdir(events)  # the sink wrote its .jsonl files, none of them recorded
