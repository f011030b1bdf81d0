"""`telemetry --help` and `telemetry notice` start fast: what they import is checked here
(never a timed assertion); `python -X importtime -m telemetry_core._cli --help` shows it."""

from __future__ import annotations

import json
import subprocess
import sys

from telemetry_core._cli_schema import FORMATS
from telemetry_core._notice import FORMATS as NOTICE_FORMATS

HEAVY = ("sqlalchemy", "jsonschema", "jsonschema_rs", "tornado", "telemetry_core._eventlog")
FORMAT_CHECKERS = ("rfc3987_syntax", "isoduration")  # jsonschema's slowest optional imports


def loaded_after(code: str) -> set[str]:
    # A module set to None was kept out on purpose (an import of it fails): not loaded.
    report = "print(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))"
    out = subprocess.run([sys.executable, "-c", code + "\nimport json, sys\n" + report],
                         capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_help_loads_no_validator_database_driver_or_web_server():
    loaded = loaded_after("import telemetry_core._cli as cli\ncli.build_parser()")
    assert not loaded & {*HEAVY, *FORMAT_CHECKERS}


def test_the_notice_loads_no_database_driver_and_no_slow_format_checker():
    loaded = loaded_after("import contextlib, io\nfrom telemetry_core._cli import main\n"
                          "with contextlib.redirect_stdout(io.StringIO()):\n"
                          "    assert main(['notice']) == 0")
    assert "telemetry_core._eventlog" in loaded  # it did build the EventLog
    assert not loaded & {"sqlalchemy", "tornado", *FORMAT_CHECKERS}


def test_the_public_names_still_import():
    import telemetry_core

    for name in telemetry_core.__all__:
        assert getattr(telemetry_core, name) is not None
    from telemetry_core.server import Service, TelemetryServer, derive_event_id, make_app

    assert all((Service, TelemetryServer, derive_event_id, make_app))


def test_the_cli_offers_every_notice_format():
    assert FORMATS == NOTICE_FORMATS
