"""Find, export and erase one person's events across the configured sinks.

A stored event is the person's when its ``__subject__`` is their subject key, or when a
top-level property its schema marks as personal holds their user name (kept in clear) or
its keyed pseudonym (``redaction: hash``). The same rule for every sink and every step.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import io
import os
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .._privacy import decisions
from ._crypto import SHREDDED, subject_key
from ._sealing import open_event
from ._stores import Match, stored_events, write_private

EXPORT_FORMAT = 1


@dataclass
class Person:
    """Who is asked about, and how their events are recognised."""

    user: str
    subject: str | None  # their __subject__ (None: no subject secret configured)
    identifying: dict[str, frozenset[str]]  # schema id -> top-level personal properties
    pseudonym: str | None  # their keyed hash under redaction: hash
    since: str = ""  # RFC 3339 prefixes compared with __timestamp__
    until: str = ""

    def matches(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` is about this person (and within the period)."""
        stamp = str(event.get("__timestamp__", ""))
        if (self.since and stamp < self.since) or (self.until and stamp >= self.until):
            return False
        if self.subject is not None and event.get("__subject__") == self.subject:
            return True
        for name in self.identifying.get(str(event.get("__schema__")), ()):
            value = event.get(name)
            if value is not None and (value == self.user or value == self.pseudonym):
                return True
        return False


def person(eventlog: Any, user: str, since: str = "", until: str = "") -> Person:
    """How ``eventlog``'s configuration recognises ``user``'s events."""
    if not user:
        raise ValueError("--user must name a user")
    identifying: dict[str, frozenset[str]] = {}
    for schema_id, policy in eventlog._policies.items():
        names: set[str] = set()
        for version in eventlog.schemas.versions(schema_id):
            schema = eventlog.schemas.get(schema_id, version)
            names |= {d.path for d in decisions(schema.plan(policy), policy)
                      if d.personal and d.decision != "redacted" and "." not in d.path
                      and "[" not in d.path and "<" not in d.path}
        identifying[schema_id] = frozenset(names)
    secret = eventlog.subject_secret.encode()
    hashed = None
    if eventlog.redaction == "hash" and eventlog.redaction_secret:
        raw = orjson.dumps(user, option=orjson.OPT_SORT_KEYS)
        hashed = "hmac-sha256:" + hmac.new(eventlog.redaction_secret.encode(), raw,
                                           hashlib.sha256).hexdigest()
    return Person(user, subject_key(user, secret) if secret else None, identifying, hashed,
                  since, until)


@dataclass
class SinkReport:
    """What one sink holds about the person, and what erasing did there."""

    sink: str
    kind: str
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (schema, day)
    erased: int = 0
    can_delete: bool = True
    note: str = ""

    @property
    def total(self) -> int:
        """Events found."""
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        """The report as the ``--json`` output shows it."""
        return {"sink": self.sink, "type": self.kind, "events": self.total,
                "by_schema_and_day": [{"schema": s, "day": d, "events": n}
                                      for (s, d), n in sorted(self.counts.items())],
                "erased": self.erased, "can_delete": self.can_delete, "note": self.note}


def find(sinks: Iterable[dict[str, Any]], who: Person,
         progress: Callable[[str], None] | None = None) -> list[SinkReport]:
    """Per sink, the person's events counted by schema and day."""
    reports = []
    for config in sinks:
        store = stored_events(config)
        report = SinkReport(store.name, store.kind, can_delete=store.can_delete)
        scanned = 0
        for _where, event in store.scan():
            scanned += 1
            if who.matches(event):
                report.counts[(str(event.get("__schema__")),
                               str(event.get("__timestamp__", ""))[:10])] += 1
        if progress is not None:
            progress(f"{store.name}: {scanned} events read, {report.total} match")
        reports.append(report)
    return reports


def export(sinks: Iterable[dict[str, Any]], who: Person, keys: Any, consent: Any,
           output: Path, notice_version: str) -> dict[str, Any]:
    """Write the person's events (sealed values opened; erased ones shown as erased) and
    consent history to a zip archive at ``output``; returns its manifest."""
    opener = keys.opener(who.subject) if keys is not None and who.subject else None

    def open_value(sealed: str) -> Any:
        if opener is None:
            return SHREDDED
        try:
            return opener.open(sealed)
        except ValueError:
            return SHREDDED

    per_schema: dict[str, list[bytes]] = {}
    reports = []
    for config in sinks:
        store = stored_events(config)
        report = SinkReport(store.name, store.kind, can_delete=store.can_delete)
        for _where, event in store.scan():
            if who.matches(event):
                schema = str(event.get("__schema__"))
                report.counts[(schema, str(event.get("__timestamp__", ""))[:10])] += 1
                per_schema.setdefault(schema, []).append(orjson.dumps(
                    {"sink": store.name, "event": open_event(event, open_value)}))
        reports.append(report)
    history = [d.as_json() for d in consent.history(who.user)] if consent is not None else []
    files: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "user": who.user,
        "subject": who.subject,
        "made_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sinks": [r.as_json() for r in reports],
        "files": files,
        "consent_decisions": len(history),
        "notice_versions": sorted({notice_version, *(d["notice_version"] for d in history)}),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (schema, lines) in enumerate(sorted(per_schema.items())):
            name = f"events/{i:03d}-{schema.rstrip('/').rsplit('/', 1)[-1]}.jsonl"
            files[name] = {"schema": schema, "events": len(lines)}
            zf.writestr(name, b"".join(line + b"\n" for line in lines))
        zf.writestr("consent-history.json", orjson.dumps(history, option=orjson.OPT_INDENT_2))
        zf.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(tmp, output)
    return manifest


def erase(sinks: list[dict[str, Any]], who: Person, keys: Any, *, actor: str, log: Path,
          execute: bool, reference: str = "",
          progress: Callable[[str], None] | None = None) -> list[SinkReport]:
    """Remove the person's events where the sink can delete, then delete their key (so
    what stays in Kafka, versioned objects or backups is unreadable), and log it.

    ``execute`` False (the default of the CLI): count only, change nothing. Safe to run
    again after a crash: each file or object is replaced whole, and the key is deleted
    only after every sink was rewritten."""
    reports = find(sinks, who, progress)
    if not execute:
        return reports
    match: Match = who.matches
    for config, report in zip(sinks, reports, strict=True):
        store = stored_events(config)
        if store.can_delete:
            report.erased = store.erase(match)
            if getattr(store, "versioned", False):
                report.note = ("versioned bucket: earlier object versions still hold the "
                               "events; only their sealed values are unreadable")
        else:
            report.note = ("cannot delete single messages: the events stay, their sealed "
                           "values are unreadable once the key is erased")
        if progress is not None:
            progress(f"{report.sink}: {report.erased} events removed")
    key_deleted = bool(keys is not None and who.subject and keys.erase(who.subject))
    log_erasure(log, {
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "actor": actor, "reference": reference,
        # The person by their pseudonym, never by name: the log outlives the data.
        "subject": who.subject,
        "sinks": [{"sink": r.sink, "found": r.total, "removed": r.erased} for r in reports],
        "key_deleted": key_deleted})
    return reports


def default_erasure_log() -> Path:
    """``$XDG_STATE_HOME/telemetry/erasures.jsonl``, else under ``~/.local/state``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return Path(state) / "telemetry" / "erasures.jsonl"


def log_erasure(path: Path, record: dict[str, Any]) -> None:
    """Append one record to the erasure log (a private JSON-lines file, only appended)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n",
                  append=True)


def describe(reports: list[SinkReport]) -> str:
    """A plain-text table of reports."""
    out = io.StringIO()
    for report in reports:
        out.write(f"{report.sink}: {report.total} events"
                  + (f", {report.erased} removed" if report.erased else "")
                  + (f" ({report.note})" if report.note else "") + "\n")
        for (schema, day), count in sorted(report.counts.items()):
            out.write(f"  {day}  {count:>6}  {schema}\n")
    return out.getvalue()
