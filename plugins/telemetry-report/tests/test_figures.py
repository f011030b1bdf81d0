"""Each figure against an independent count: plain Python over the files the file sink
wrote (not the generator's bookkeeping, not SQL)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import SINCE, UNTIL, USERS, E, Recorded, read_events, spool_root
from telemetry_report import build_report


def _ts(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["__timestamp__"].replace("Z", "+00:00"))


def _of(events: list[dict[str, Any]], schema: str) -> list[dict[str, Any]]:
    return [e for e in events if e["__schema__"] == E + schema]


@pytest.fixture(scope="module")
def events(week: Recorded) -> list[dict[str, Any]]:
    """The events recorded in the report's period (a few fall after it)."""
    return [e for e in read_events(week.path) if SINCE <= _ts(e) < UNTIL]


@pytest.fixture(scope="module")
def everything(week: Recorded) -> dict[str, Any]:
    """The report with suppression off: every row, to compare with the counts."""
    groups = {week.pseudonyms[u]: g for u, _, _, g in USERS}
    report = build_report(str(week.path), since=SINCE, until=UNTIL, min_group_size=0,
                          user_groups=groups, spool_root=str(spool_root(week.path)))
    return {f["id"]: f["rows"] for f in report["figures"]} | {"_report": report}


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_every_event_is_read_from_plain_and_gzipped_files(
        week: Recorded, events: list[dict[str, Any]], everything: dict[str, Any]) -> None:
    report = everything["_report"]
    assert any(p.name.endswith(".jsonl.gz") for p in week.path.rglob("*"))
    assert report["events"] == len(events) > 1000
    assert len(read_events(week.path)) > len(events)  # the period left some out
    assert {(r["schema"], r["events"]) for r in report["schemas_present"]} == set(
        Counter(e["__schema__"] for e in events).items())
    assert report["schemas_not_present"] == []


def test_active_users(events: list[dict[str, Any]], everything: dict[str, Any]) -> None:
    per_day: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.get("user"):
            per_day[e["__timestamp__"][:10]].add(e["user"])
    assert {r["day"]: r["users"] for r in everything["active_users_day"]} == {
        d: len(u) for d, u in per_day.items()}
    assert everything["active_users_week"] == [{"week": "2026-11-02", "users": 8}]


def test_sessions_and_kernels_started(events: list[dict[str, Any]],
                                      everything: dict[str, Any]) -> None:
    sessions = Counter(e["__timestamp__"][:10] for e in _of(events, "server/session")
                       if e["action"] == "started" and e["scope"] == "session")
    kernels = Counter(e["__timestamp__"][:10] for e in _of(events, "kernel/lifecycle")
                      if e["action"] == "started")
    got = everything["sessions_kernels_day"]
    assert {r["day"]: r["sessions_started"] for r in got} == dict(sessions)
    assert {r["day"]: r["kernels_started"] for r in got} == dict(kernels)


def _kernels(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kernels: dict[str, dict[str, Any]] = {}
    for e in _of(events, "kernel/lifecycle"):
        k = kernels.setdefault(e["kernel_id"], {"name": e["kernel_name"], "user": e["user"]})
        if e["action"] == "started":
            k["started"] = _ts(e)
        else:
            k["stopped"], k["lifetime"] = _ts(e), e["lifetime_s"]
    for k in kernels.values():
        k["hours"] = (k["lifetime"] if "lifetime" in k
                      else (UNTIL - k["started"]).total_seconds()) / 3600
    return kernels


def test_kernel_hours_by_name_and_group(week: Recorded, events: list[dict[str, Any]],
                                        everything: dict[str, Any]) -> None:

    kernels = _kernels(events)
    assert any("stopped" not in k for k in kernels.values())  # some still running
    hours: Counter[str] = Counter()
    by_group: Counter[str] = Counter()
    group_of = {week.pseudonyms[u]: g for u, _, _, g in USERS}
    for k in kernels.values():
        hours[k["name"]] += k["hours"]
        by_group[group_of[k["user"]]] += k["hours"]
    got = _by(everything["kernel_hours_by_name"], "kernel_name")
    assert set(got) == {"python3", "ir", "julia"}
    for name, total in hours.items():
        assert got[name]["kernel_hours"] == pytest.approx(total, abs=0.01)
    got_groups = {r["user_group"]: r["kernel_hours"] for r in everything["kernel_hours_by_group"]}
    assert got_groups == pytest.approx(dict(by_group), abs=0.01)


def test_idle_kernels(events: list[dict[str, Any]], everything: dict[str, Any]) -> None:
    kernels = _kernels(events)
    runs: dict[str, list[datetime]] = defaultdict(list)
    for e in _of(events, "kernel/code-executed"):
        runs[e["kernel_id"]].append(_ts(e))
    idle: Counter[str] = Counter()
    for kernel_id, k in kernels.items():
        points = sorted([k["started"], *runs[kernel_id], min(k.get("stopped", UNTIL), UNTIL)])
        if max(b - a for a, b in zip(points, points[1:], strict=False)) >= timedelta(minutes=60):
            idle[k["name"]] += 1
    got = _by(everything["idle_kernels"], "kernel_name")
    assert {n: r["idle_kernels"] for n, r in got.items()} == {
        n: idle[n] for n in got}
    assert sum(idle.values()) > 0


def test_executions_and_error_rate(events: list[dict[str, Any]],
                                   everything: dict[str, Any]) -> None:
    code = _of(events, "kernel/code-executed")
    per_day = Counter(e["__timestamp__"][:10] for e in code)
    errors = Counter(e["__timestamp__"][:10] for e in code if e["status"] == "error")
    for row in everything["executions_day"]:
        assert row["executions"] == per_day[row["day"]]
        assert row["errors"] == errors[row["day"]]
        assert row["error_rate"] == pytest.approx(errors[row["day"]] / per_day[row["day"]],
                                                  abs=1e-4)
    statuses = Counter(e["status"] for e in code)
    assert {r["status"]: r["executions"] for r in everything["executions_status"]} == dict(
        statuses)


def test_commands_and_notebook_actions(events: list[dict[str, Any]],
                                       everything: dict[str, Any]) -> None:
    commands = Counter(e["command_id"] for e in _of(events, "jupyterlab/command"))
    got = everything["commands"]
    assert {r["command_id"]: r["uses"] for r in got} == dict(commands)
    assert [r["uses"] for r in got] == sorted((r["uses"] for r in got), reverse=True)
    actions = Counter(e["__schema__"].rsplit("jupyterlab/", 1)[1] for e in events
                      if "/jupyterlab/notebook/" in e["__schema__"])
    assert {r["action"]: r["uses"] for r in everything["notebook_actions"]} == dict(actions)


def test_files_and_datasets_opened(events: list[dict[str, Any]],
                                   everything: dict[str, Any]) -> None:
    opened = Counter((e["kind"], e["path"]) for e in _of(events, "contents/opened"))
    assert {(r["kind"], r["path"]): r["opens"] for r in everything["files_opened"]} == dict(
        opened)
    datasets = _of(events, "contents/dataset-opened")
    # The policy pseudonymised dataset paths: the page says so and shows no hash.
    assert all(e["path"].startswith("hmac-sha256:") for e in datasets)
    assert everything["datasets_opened"] == [
        {"format": "csv", "path": "(pseudonymised)", "opens": len(datasets), "users": 8}]


def test_hub_logins_spawns_failures_and_times(events: list[dict[str, Any]],
                                              everything: dict[str, Any]) -> None:
    logins = Counter(e["__timestamp__"][:10] for e in _of(events, "hub/login"))
    server = sorted(_of(events, "hub/server"), key=lambda e: e["__timestamp__"])
    spawns = Counter(e["__timestamp__"][:10] for e in server if e["action"] == "spawning")
    got = everything["hub_day"]
    assert {r["day"]: r["logins"] for r in got} == dict(logins)
    assert {r["day"]: r["spawns"] for r in got} == dict(spawns)
    seconds: list[float] = []
    failures = 0
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in server:
        by_user[e["user"]].append(e)
    for mine in by_user.values():
        for this, after in zip(mine, [*mine[1:], None], strict=True):
            if this["action"] != "spawning":
                continue
            if after is not None and after["action"] == "started":
                seconds.append((_ts(after) - _ts(this)).total_seconds())
            else:
                failures += 1
    (row,) = everything["hub_spawns"]
    assert failures > 0
    assert row["spawns"] == len(seconds) + failures and row["failures"] == failures
    quantiles = statistics.quantiles(seconds, n=10, method="inclusive")
    assert row["p50_s"] == pytest.approx(statistics.median(seconds), abs=0.01)
    assert row["p90_s"] == pytest.approx(quantiles[8], abs=0.01)
    assert row["max_s"] == pytest.approx(max(seconds), abs=0.01)


def test_consent_and_notice_versions(events: list[dict[str, Any]],
                                     everything: dict[str, Any]) -> None:
    decisions = _of(events, "consent/decision")
    yes = sum(1 for e in decisions if e["granted"])
    got = {r["decision"]: r["users"] for r in everything["consent_week"]}
    assert got == {"opt-in": yes, "opt-out": len(decisions) - yes}
    notices = Counter(e["notice_version"] for e in decisions)
    assert {r["notice_version"]: r["decisions"] for r in everything["consent_notices"]} == dict(
        notices)


def test_alerts_by_rule(events: list[dict[str, Any]], everything: dict[str, Any]) -> None:
    alerts = Counter(e["rule_id"] for e in events if e["__schema__"].endswith("detect/alert"))
    assert {r["rule_id"]: r["alerts"] for r in everything["alerts"]} == dict(alerts)


def test_the_period_bounds_what_is_read(week: Recorded, events: list[dict[str, Any]]) -> None:
    since = SINCE + timedelta(days=5)
    report = build_report(str(week.path), since=since, until=UNTIL, min_group_size=0)
    assert report["events"] == sum(1 for e in events if _ts(e) >= since) > 0


def test_sink_counters_from_the_stats_file(week: Recorded, everything: dict[str, Any]) -> None:
    """The file sink's own counters (its stats.json): everything it accepted it wrote."""
    written = len(read_events(week.path))  # all of it, the period does not apply
    (row,) = everything["sink_counters"]
    assert row["accepted"] == row["delivered"] == written
    assert row["dropped"] == row["dead_lettered"] == 0


def test_a_line_cut_short_by_a_crash_is_skipped_not_fatal(tmp_path: Any) -> None:
    """A writer killed mid-line leaves half a JSON object: the rest is still reported."""
    good = [f'{{"__timestamp__":"2026-11-03T10:00:0{i}.000000Z","__schema__":"urn:x",'
            f'"__schema_version__":1,"user":"u{i}"}}' for i in range(6)]
    (tmp_path / "a.jsonl").write_text("\n".join(good) + '\n{"__timestamp__":"2026-11-03T1')
    report = build_report(str(tmp_path), since=SINCE, until=UNTIL)
    assert report["events"] == 6
    assert report["figures"][0]["rows"] == [{"day": "2026-11-03", "users": 6}]


def test_spilling_goes_to_a_private_directory(week: Recorded, tmp_path: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Where DuckDB spills event data under its memory bound: never the working
    directory, and the directory is readable by its owner only."""
    monkeypatch.chdir(tmp_path)
    spill = tmp_path / "spill"
    report = build_report(str(week.path), since=SINCE, until=UNTIL, min_group_size=0,
                          memory_limit="256MB", temp_directory=str(spill))
    assert report["events"] > 1000
    assert spill.stat().st_mode & 0o077 == 0
    build_report(str(week.path), since=SINCE, until=UNTIL, memory_limit="256MB")
    assert [p.name for p in tmp_path.iterdir()] == ["spill"]  # no ./.tmp, ever
