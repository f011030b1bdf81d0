"""``check``: lint Sigma rules against the registered schemas and the privacy policy.

Errors name the file, the rule and the field, never a value: a logsource no schema
has, a field the rule's schemas do not have (with "did you mean"), a field or schema
the policy never records ("can never match"), and anything pySigma or DuckDB refuse.
A field the policy redacts from a schema with ``inspect_before_redaction`` is a note,
not an error: the detect sink sees it, hunting in stored events never does.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._compile import RuleError, compile_rules, load_all, rule_files
from ._correlate import build
from ._engine import Matcher
from ._fields import FieldCatalogue
from ._logsource import schemas_for, service_name


@dataclass(frozen=True)
class Finding:
    """One problem with one rule: where, which rule, and what to do."""

    source: str
    rule: str
    message: str
    #: False for a note: worth knowing, and the rule still works where it is meant to.
    problem: bool = True

    def __str__(self) -> str:
        return f"{self.source}: rule {self.rule!r}: {self.message}"


def check_rules(paths: Iterable[str | Path], eventlog: Any,
                policy: bool = True) -> tuple[int, list[Finding]]:
    """``(rules checked, findings)`` for the rule files under ``paths``.

    ``policy``: also report fields ``eventlog``'s ``allowed_schemas`` redacts and schemas
    it does not allow (the rules would never match what that EventLog records).
    """
    catalogue = FieldCatalogue.from_eventlog(eventlog)
    findings: list[Finding] = []
    checked = 0
    for path in rule_files(paths):
        try:
            loaded, correlations = load_all([path])
            for _, correlation in correlations:
                build(path, correlation)
        except RuleError as exc:
            findings.append(Finding(str(path), "-", str(exc).split(": ", 1)[-1]))
            continue
        checked += len(correlations)
        found = []
        for _, rule in loaded:
            checked += 1
            found += _check_one(path, rule, catalogue, eventlog if policy else None)
        findings.extend(found)
        if not any(f.problem for f in found):  # notes do not stop the conversion check
            findings.extend(_check_converts(path, catalogue))
    return checked, findings


def _check_one(path: Path, rule: Any, catalogue: FieldCatalogue,
               eventlog: Any) -> list[Finding]:
    where, title = str(path), rule.title
    logsource = rule.logsource
    sids = schemas_for(logsource.category, logsource.service, catalogue.schemas)
    if logsource.product != "jupyter" or not sids:
        return [Finding(where, title, "its logsource names no registered Jupyter schema: "
                        "use product: jupyter with a category or service (docs/detection.md)")]
    from ._compile import rule_fields

    findings = []
    for name in rule_fields(rule):
        having = [sid for sid in sids if name in catalogue.by_schema.get(sid, ())]
        if not having:
            known = sorted(set().union(*(catalogue.by_schema[s] for s in sids)))
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else (
                "; its fields: " + ", ".join(k for k in known if not k.startswith("__")))
            findings.append(Finding(where, title, f"unknown field {name!r}: no schema of "
                                    f"its logsource ({_names(sids)}) has it{hint}"))
            continue
        if eventlog is None or name in catalogue.fields and name.startswith("__"):
            continue
        for sid in having:
            policy = eventlog.policy_for(sid)
            if policy is None:
                continue  # reported once per schema below
            entry = catalogue.fields[name]
            cats = entry.categories.get(sid, [])
            if policy.allows(entry.derived_from or name.rsplit(".", 1)[-1], cats):
                continue
            what = (f"derives from {entry.derived_from!r}, which the policy redacts"
                    if entry.derived_from else "is redacted by the policy")
            if eventlog.inspects(sid):
                inspected = ("; that is inspected before redaction" if entry.derived_from
                             else " and inspected before redaction")
                findings.append(Finding(where, title, f"field {name!r} of "
                                        f"{service_name(sid)} {what}{inspected}: the detect "
                                        "sink matches on it, hunting in stored events never "
                                        "can", problem=False))
            else:
                findings.append(Finding(where, title, f"field {name!r} of "
                                        f"{service_name(sid)} {what} "
                                        f"(categories: {', '.join(cats)}): the rule can "
                                        "never match on it"))
    if eventlog is not None:
        allowed = [sid for sid in sids if eventlog.policy_for(sid) is not None]
        if not allowed:
            findings.append(Finding(where, title, f"the policy records none of its schemas "
                                    f"({_names(sids)}; see allowed_schemas): the rule can "
                                    "never match"))
    return findings


def _check_converts(path: Path, catalogue: FieldCatalogue) -> list[Finding]:
    # Fresh rules: conversion changes them.
    try:
        rules = compile_rules(load_all([path])[0], catalogue.schemas, catalogue.text_fields())
        Matcher(rules, catalogue).close()
    except RuleError as exc:
        return [Finding(str(path), "-", str(exc).split(": ", 1)[-1])]
    return []


def _names(sids: Iterable[str]) -> str:
    return ", ".join(service_name(s) for s in sids)
