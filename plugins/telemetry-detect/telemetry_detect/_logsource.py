"""Sigma log sources for Jupyter: ``product: jupyter`` plus a category or a service.

A rule's ``logsource`` picks the events it looks at. ``category`` names a kind of
activity (table below); ``service`` names any registered schema by its path after
``https://telemetry.jupyter.org/schemas/events/`` (``kernel/code-executed``) or by its
full id. The pySigma processing pipeline built here adds the matching ``__schema__``
condition to each rule, so the same rule runs in DuckDB, SQLite and Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SHIPPED_PREFIX = "https://telemetry.jupyter.org/schemas/events/"
PRODUCT = "jupyter"

#: ``category`` -> the shipped schema ids it covers.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "code_execution": (SHIPPED_PREFIX + "kernel/code-executed",),
    "kernel_lifecycle": (SHIPPED_PREFIX + "kernel/lifecycle",),
    "file_open": (SHIPPED_PREFIX + "contents/opened", SHIPPED_PREFIX + "contents/dataset-opened"),
    "file_save": (SHIPPED_PREFIX + "contents/saved",),
    "hub_login": (SHIPPED_PREFIX + "hub/login",),
    "hub_server": (SHIPPED_PREFIX + "hub/server",),
    "server_session": (SHIPPED_PREFIX + "server/session",),
    "terminal": (SHIPPED_PREFIX + "server/terminal",),
    "detection_alert": (SHIPPED_PREFIX + "detect/alert",),
}


def service_name(schema_id: str) -> str:
    """The ``service`` that names ``schema_id`` in a rule's logsource."""
    return schema_id[len(SHIPPED_PREFIX):] if schema_id.startswith(SHIPPED_PREFIX) else schema_id


def schemas_for(category: str | None, service: str | None,
                registered: Iterable[str]) -> list[str]:
    """The registered schema ids a ``product: jupyter`` logsource covers (may be empty)."""
    known = set(registered)
    found: list[str] = []
    if category is not None:
        found = [sid for sid in CATEGORIES.get(category, ()) if sid in known]
    if service is not None:
        by_service = [sid for sid in known if service in (sid, service_name(sid))]
        found = [sid for sid in found if sid in by_service] if category else by_service
    return sorted(found)


def pipeline(registered: Iterable[str]) -> object:
    """A pySigma ``ProcessingPipeline`` mapping Jupyter log sources to ``__schema__``.

    Rules of another product, or naming a category or service no registered schema
    has, fail to convert with a message that says so.
    """
    from sigma.processing.conditions import LogsourceCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import (
        AddConditionTransformation,
        RuleFailureTransformation,
    )

    known = sorted(set(registered))
    items: list[Any] = []
    for category in CATEGORIES:
        sids = schemas_for(category, None, known)
        if sids:
            items.append(ProcessingItem(
                identifier=f"jupyter_category_{category}",
                transformation=AddConditionTransformation({"__schema__": sids}),
                rule_conditions=[LogsourceCondition(product=PRODUCT, category=category)]))
    for sid in known:
        items.append(ProcessingItem(
            identifier=f"jupyter_service_{service_name(sid)}",
            transformation=AddConditionTransformation({"__schema__": sid}),
            rule_conditions=[LogsourceCondition(product=PRODUCT, service=service_name(sid))]))
    claimed: list[Any] = [LogsourceCondition(product=PRODUCT, category=c) for c in CATEGORIES
                          if schemas_for(c, None, known)]
    claimed += [LogsourceCondition(product=PRODUCT, service=service_name(s)) for s in known]
    # Anything not claimed above cannot be evaluated: say so instead of matching everything.
    items.append(ProcessingItem(
        identifier="jupyter_unknown_logsource",
        transformation=RuleFailureTransformation(
            "the rule's logsource names no registered Jupyter schema: use product: jupyter "
            "with a category (" + ", ".join(CATEGORIES) + ") or a service (a schema path)"),
        rule_condition_negation=True,
        rule_condition_linking=any,
        rule_conditions=claimed))
    return ProcessingPipeline(name="Jupyter telemetry log sources", priority=20, items=items)
