"""schemathesis against ``openapi.json`` of a real ``telemetry serve``: every operation,
positive and negative data, every check (no 5xx, every answer as documented), and the
stateful phase."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCHEMA_ID, TEST_SCHEMA

from telemetry_core.testing.servers import rest_server

pytest.importorskip("schemathesis")

# A decision the consent rules refuse (an unknown scope, a required schema, a notice that
# changed) is a documented 400 for a body the schema allows: it depends on the
# configuration, which a schema cannot say. So is a single event its registered schema
# refuses, and an integer past 64 bits (400 malformed_json: JSON Schema has no bound on
# the integers of an open object).
CONFIG = """
[[operations]]
include-operation-id = "putConsent"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "429"]

[[operations]]
include-operation-id = "postEvents"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "429"]
"""


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(TEST_SCHEMA))
    config = {"EventLog": {"allowed_schemas": {SCHEMA_ID: {"consent": "opt-in"},
                                               "https://example.org/required": {}},
                           "schema_files": [str(tmp_path / "schema.json")],
                           "sinks": [{"type": "file", "path": f"{tmp_path}/events/"}]},
              "TelemetryServer": {"allowed_origins": ["https://lab.example.org"]}}
    here = os.path.dirname(sys.executable)  # this venv's, even when it is not on PATH
    command = shutil.which("schemathesis", path=here) or shutil.which("schemathesis")
    assert command, "schemathesis is a test dependency"
    examples = os.environ.get("TELEMETRY_SCHEMATHESIS_EXAMPLES", "60")
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    with rest_server(config) as server:
        done = subprocess.run(
            [command, "--config-file", str(tmp_path / "schemathesis.toml"), "run",
             server.api + "openapi.json",
             "--header", f"Authorization: Bearer {server.token}",
             "--checks", "all", "--mode", "all", "--max-examples", examples,
             "--phases", "examples,coverage,fuzzing,stateful", "--seed", "17",
             "--request-timeout", "30", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
            cwd=tmp_path)
        server_log = server.log()
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    assert "Traceback" not in server_log, server_log[-5000:]
