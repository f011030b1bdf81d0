"""Realistic recorded events for the report tests: a week of a small deployment (eight
users, kernels of three languages, JupyterLab, a hub, consent, detection alerts) recorded
through the real EventLog and the built-in file sink (rotated and gzipped files), with
users pseudonymised by the policy (``redaction = "hash"``) and paths kept for files.

The expected figures are counted by the tests themselves in plain Python over the files
written (``read_events``), never from the generator's own bookkeeping.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib.resources import files as package_files
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from telemetry_core import EventLog

E = "https://telemetry.jupyter.org/schemas/events/"
ALERT = E + "detect/alert"
START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday
DAYS = 7
SINCE = START
UNTIL = START + timedelta(days=DAYS)
#: (user, kernel they use, how many days of the week they come, their group)
USERS = [("ada", "python3", 7, "physics"), ("bob", "python3", 6, "physics"),
         ("cy", "python3", 6, "physics"), ("dee", "python3", 5, "biology"),
         ("eve", "python3", 5, "biology"), ("fay", "python3", 4, "biology"),
         ("gus", "ir", 3, "biology"), ("hal", "julia", 2, "admin")]
COMMANDS_EVERYONE = ["notebook:run-cell", "docmanager:save", "notebook:insert-cell-below"]
COMMAND_RARE = "rare-extension:do-something"  # hal alone
#: an extension's command id that is also markup: the page must show it, never run it
COMMAND_HOSTILE = "x:</script><img src=x onerror=alert(1)>"
SHARED_PATH = "course/week1.ipynb"  # everyone opens it
ALERT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ALERT, "version": 1, "title": "Detection alert",
    "description": "A Sigma rule matched (the shape telemetry-detect records).",
    "type": "object", "required": ["rule_id", "title", "level"],
    "properties": {
        "rule_id": {"title": "Rule id", "description": "The rule.", "type": "string"},
        "title": {"title": "Title", "description": "The rule's title.", "type": "string"},
        "level": {"title": "Level", "description": "Severity.",
                  "enum": ["informational", "low", "medium", "high", "critical"]},
        "user": {"title": "User", "description": "Who.", "type": "string", "pii": True},
    },
}


@dataclass
class Recorded:
    """Where the events went, and the pseudonym the policy gave each user."""

    path: Path
    pseudonyms: dict[str, str]


def shipped_schema_files() -> list[Path]:
    """The event schemas telemetry-core ships."""
    base = package_files("telemetry_core") / "schemas" / "events"
    return sorted(Path(str(p)) for p in base.iterdir() if p.name.endswith(".yaml"))


def record_week(target: Path, seed: int = 7, alerts: bool = True,
                sink: dict[str, Any] | None = None) -> Recorded:
    """Record the week through EventLog and, unless ``sink`` names another, the file sink
    writing under ``target`` (rotated, gzipped)."""
    log = EventLog(
        sinks=[sink or {"type": "file", "path": f"{target}/", "rotate_bytes": 8_000,
                        "compress": True, "spool_dir": str(spool_root(target) / "file-week")}],
        allowed_schemas={},
        redaction="hash", redaction_secret="report-test-secret",
        consent_store=f"sqlite:///{target.parent / (target.name + '-consent.db')}")
    policy: dict[str, Any] = {}
    for path in shipped_schema_files():
        log.register_schema_file(str(path))
        policy[yaml.safe_load(path.read_text())["$id"]] = {"consent": "required"}
    if alerts:
        log.register_schema(ALERT_SCHEMA)
    policy[E + "contents/opened"] = {"consent": "required", "allowed_properties": ["path"]}
    if alerts:
        policy[ALERT] = {"consent": "required"}
    log.allowed_schemas = policy
    pseudonyms: dict[str, str] = {}
    rng = random.Random(seed)

    def rec(schema: str, when: datetime, user: str, **data: Any) -> None:
        event = log.record_event(schema, 1, {**data, "user": user}, timestamp_override=when)
        assert event is not None, schema
        pseudonyms[user] = event["user"]

    kernel_n = 0
    for name, kernel, days, _group in USERS:
        for day in range(DAYS - days, DAYS):
            t = START + timedelta(days=day, hours=8 + rng.randrange(0, 4),
                                  minutes=rng.randrange(60))
            rec(E + "hub/login", t, name, authenticator="DummyAuthenticator")
            fail = rng.random() < 0.2
            rec(E + "hub/server", t + timedelta(seconds=1), name, action="spawning",
                source="spawner", spawner="LocalProcessSpawner", server_name="")
            if fail:  # the spawn failed: the server stops without having started
                rec(E + "hub/server", t + timedelta(seconds=30), name, action="stopped",
                    source="spawner", spawner="LocalProcessSpawner", server_name="")
                t += timedelta(minutes=1)
                rec(E + "hub/server", t, name, action="spawning", source="spawner",
                    spawner="LocalProcessSpawner", server_name="")
            t += timedelta(seconds=rng.uniform(2, 40))
            rec(E + "hub/server", t, name, action="started", source="spawner",
                spawner="LocalProcessSpawner", server_name="")
            rec(E + "server/session", t, name, action="started", scope="session",
                session_id=f"s{day}-{name}")
            for _ in range(rng.randrange(1, 3)):
                kernel_n += 1
                kernel_id = f"k{kernel_n}"
                t += timedelta(minutes=rng.randrange(1, 5))
                started = t
                rec(E + "kernel/lifecycle", t, name, action="started", kernel_id=kernel_id,
                    kernel_name=kernel)
                rec(E + "jupyterlab/notebook/opened", t, name, kernel_name=kernel,
                    cell_count=10, path=f"{name}/analysis.ipynb")
                rec(E + "contents/opened", t, name, kind="notebook", path=SHARED_PATH)
                rec(E + "contents/opened", t, name, kind="notebook",
                    path=f"private/{name}.ipynb")
                rec(E + "contents/dataset-opened", t, name, source="contents-api",
                    format="csv", access="read", path="data/shared.csv")
                for _run in range(rng.randrange(3, 12)):
                    # now and then a long pause: the kernel sits idle
                    t += timedelta(minutes=rng.choice([1, 2, 3, 5, 90]))
                    status = "error" if rng.random() < 0.15 else "ok"
                    rec(E + "kernel/code-executed", t, name, kernel_id=kernel_id,
                        kernel_name=kernel, execution_count=_run + 1, status=status,
                        source="websocket", duration_ms=rng.uniform(1, 500), code="x = 1")
                    rec(E + "jupyterlab/notebook/cell-executed", t, name, cell_index=_run,
                        cell_type="code", success=status == "ok")
                    rec(E + "jupyterlab/command", t, name,
                        command_id=rng.choice(COMMANDS_EVERYONE), source="keyboard")
                rec(E + "jupyterlab/command", t, name, command_id=COMMAND_HOSTILE,
                    source="palette")
                if name == "hal":
                    rec(E + "jupyterlab/command", t, name, command_id=COMMAND_RARE,
                        source="menu")
                t += timedelta(minutes=rng.randrange(1, 30))
                if rng.random() < 0.9 or day < DAYS - 1:
                    rec(E + "kernel/lifecycle", t, name, action="stopped",
                        kernel_id=kernel_id, kernel_name=kernel,
                        lifetime_s=(t - started).total_seconds())
            rec(E + "jupyterlab/notebook/cell-added", t, name, cell_index=1,
                cell_type="markdown", cell_count=11)
        first = START + timedelta(days=DAYS - days, hours=7)
        rec(E + "consent/decision", first, name,
            scope=E + "jupyterlab/command", granted=name != "eve",
            notice_version="2026-10" if days > 4 else "2026-11", via="jupyterlab")
        if alerts:
            rec(ALERT, first + timedelta(hours=5), name, rule_id="many-errors",
                title="Many failed executions", level="low")
            if name == "gus":
                rec(ALERT, first + timedelta(hours=6), name, rule_id="secret-in-code",
                    title="Secret in code", level="high")
    assert log.flush(timeout=60)
    log.close()
    return Recorded(target, pseudonyms)


def spool_root(target: Path) -> Path:
    """Where the file sink of ``record_week(target)`` keeps its spool and stats file."""
    return target.parent / "spool"


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every event under ``path``, read back from the files in plain Python."""
    events = []
    for file in sorted(path.rglob("*.jsonl*")):
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            events.extend(orjson.loads(line) for line in handle if line.strip())
    return events


@pytest.fixture(scope="session")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """The recorded week (once per test session: the tests only read it)."""
    yield record_week(tmp_path_factory.mktemp("week") / "events")
