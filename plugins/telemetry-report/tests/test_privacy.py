"""Small-group suppression and identities: the page can be shown to people who may not
see individuals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ALERT, COMMAND_RARE, SINCE, UNTIL, USERS, Recorded, read_events
from hypothesis import given
from hypothesis import strategies as st
from telemetry_report import build_report
from telemetry_report._privacy import suppress


@pytest.fixture(scope="module")
def report(week: Recorded) -> dict[str, Any]:
    return build_report(str(week.path), since=SINCE, until=UNTIL)  # default: 5


def _rows(report: dict[str, Any], figure: str) -> list[dict[str, Any]]:
    return next(f for f in report["figures"] if f["id"] == figure)["rows"]


def test_rows_of_fewer_than_five_users_are_left_out(report: dict[str, Any]) -> None:
    assert report["min_group_size"] == 5
    figures = {f["id"]: f for f in report["figures"]}
    # ir and julia each have one user; python3 has six
    assert [r["kernel_name"] for r in _rows(report, "kernel_hours_by_name")] == ["python3"]
    assert figures["kernel_hours_by_name"]["suppressed_rows"] == 2
    # one user ran the rare command; each private notebook was opened by its owner alone
    assert COMMAND_RARE not in {r["command_id"] for r in _rows(report, "commands")}
    assert [r["path"] for r in _rows(report, "files_opened")] == ["course/week1.ipynb"]
    # one rule alerted on one user only
    assert [r["rule_id"] for r in _rows(report, "alerts")] == ["many-errors"]
    # days with fewer than five active users are not shown
    assert all(r["users"] >= 5 for r in _rows(report, "active_users_day"))
    assert figures["active_users_day"]["suppressed_rows"] > 0
    for figure in report["figures"]:
        assert all(row["users"] >= 5 for row in figure["rows"]), figure["id"]


def test_no_user_name_or_pseudonym_anywhere(week: Recorded, report: dict[str, Any]) -> None:
    text = json.dumps(report)
    for name, *_ in USERS:
        assert week.pseudonyms[name] not in text
        assert f'"{name}"' not in text
    assert "hmac-sha256:" not in text
    assert "private/" not in text  # paths only one user opened
    assert all("user" not in row for f in report["figures"] for row in f["rows"])


def test_a_larger_minimum_leaves_out_more(week: Recorded) -> None:
    strict = build_report(str(week.path), since=SINCE, until=UNTIL, min_group_size=7)
    assert _rows(strict, "kernel_hours_by_name") == []
    assert [r["users"] for r in _rows(strict, "active_users_week")] == [8]


def test_redacted_users_cannot_be_counted_so_their_rows_are_left_out(
        tmp_path: Any) -> None:
    """With users redacted to null there is no group size to check: nothing per group."""
    path = tmp_path / "events"
    path.mkdir()
    lines = [{"__timestamp__": "2026-11-03T10:00:00.000000Z", "__schema_version__": 1,
              "__schema__": "https://telemetry.jupyter.org/schemas/events/kernel/lifecycle",
              "action": "started", "kernel_id": f"k{i}", "kernel_name": "python3",
              "user": None} for i in range(20)]
    (path / "lifecycle.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    redacted = build_report(str(path), since=SINCE, until=UNTIL)
    assert _rows(redacted, "kernel_hours_by_name") == []
    # detection is off here: the alerts figure says its schema is absent
    alerts = next(f for f in redacted["figures"] if f["id"] == "alerts")
    assert alerts["missing_schemas"] == [ALERT] and alerts["rows"] == []
    assert ALERT in redacted["schemas_not_present"]
    assert len(_rows(build_report(str(path), since=SINCE, until=UNTIL, min_group_size=0),
                     "kernel_hours_by_name")) == 1


@given(st.lists(st.fixed_dictionaries({
    "users": st.integers(0, 20),
    "label": st.one_of(st.text(max_size=8), st.just("hmac-sha256:abc")),
    "user": st.text(max_size=5)}), max_size=30), st.integers(0, 10))
def test_suppress_keeps_exactly_the_large_groups(rows: list[dict[str, Any]], k: int) -> None:
    kept, left_out = suppress(rows, k)
    assert len(kept) + left_out == len(rows)
    assert [r["users"] for r in kept] == [r["users"] for r in rows if r["users"] >= k]
    assert all("user" not in r and not r["label"].startswith("hmac-sha256:") for r in kept)


def test_the_recorded_events_do_hold_the_names_the_report_hides(week: Recorded) -> None:
    """The check above means something: pseudonyms are in the files, paths too."""
    text = "".join(json.dumps(e) for e in read_events(week.path))
    assert week.pseudonyms["ada"] in text and "private/ada.ipynb" in text


def test_sealed_users_are_counted_by_their_subject_key(tmp_path, monkeypatch) -> None:
    """With a person's rights on (issue #28), ``user`` is sealed per event (a new nonce
    each time): users are counted by ``__subject__``, and no sealed value is shown."""
    import datetime as dt
    import json

    from telemetry_report import build_report

    from telemetry_core import EventLog
    from telemetry_core.subject import new_master_key

    monkeypatch.setenv("TELEMETRY_SUBJECT_MASTER_KEY", new_master_key())
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    opened = "https://telemetry.jupyter.org/schemas/events/contents/opened"
    with EventLog(allowed_schemas={opened: {
            "allowed_categories": ["user-identifiable-information"], "encrypt": True,
            "consent": "required"}},
            sinks=[{"type": "file", "path": f"{tmp_path}/events/"}],
            subject_secret="s", subject_key_store=f"sqlite:///{tmp_path}/keys.sqlite3") as log:
        for i in range(30):
            user = f"user{i % 6}"
            log.record_event(opened, 1, {"kind": "file", "path": f"/home/{user}/{i}.csv",
                                         "user": user}, user=user)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    report = build_report(str(tmp_path / "events"), since=now - dt.timedelta(days=1),
                          until=now + dt.timedelta(days=1), min_group_size=0)
    figures = {f["id"]: f["rows"] for f in report["figures"]}
    assert [r["users"] for r in figures["active_users_day"]] == [6]
    text = json.dumps(report)
    assert "enc:v1:" not in text and "/home/user" not in text
