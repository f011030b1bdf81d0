"""``export``: the rules as queries of another engine, through pySigma's backends.

For deployments that already send events to Elasticsearch: the same rules and the same
Jupyter log-source pipeline, converted by pySigma's Elasticsearch backend into query DSL
(``dsl``, for ``_search`` or a watcher) or Lucene strings (``lucene``, for Kibana).
Lucene regular expressions are anchored and lack ``\\b`` and friends: a rule using
``|re`` is exported, marked ``"approximate": true``. Correlation rules (and the rules
only they use) are not exported: Lucene queries cannot count over a window; nor are
rules on fields the detector derives from its state (``remote_address_new``), which
stored events do not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sigma.exceptions import SigmaError

from ._compile import RuleError, load_all, rule_fields
from ._logsource import pipeline
from ._novelty import DERIVED_FIELDS

#: ``--backend`` -> (module, class) of the pySigma backend.
BACKENDS = {"elasticsearch": ("sigma.backends.elasticsearch", "LuceneBackend")}
#: ``--format`` -> the backend's output format.
FORMATS = {"dsl": "dsl_lucene", "lucene": "default"}


def export_rules(paths: Iterable[str | Path], registered: Iterable[str],
                 backend: str = "elasticsearch", fmt: str = "dsl") -> list[dict[str, Any]]:
    """One record per rule: its id, title, level, tags, ``query`` and ``approximate``;
    correlation rules, the rules only they use and rules on derived fields are left out."""
    import importlib

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    module, name = BACKENDS[backend]
    try:
        backend_class = getattr(importlib.import_module(module), name)
    except ImportError:
        raise ValueError(f"the {backend} backend is not installed: pip install "
                         f"pysigma-backend-{backend}") from None
    converter = backend_class(processing_pipeline=pipeline(registered))
    records = []
    for path, rule in load_all(paths)[0]:
        if set(rule_fields(rule)) & set(DERIVED_FIELDS):
            continue  # Elasticsearch holds no such field: the detector derives it
        uses_regex = _uses_regex(rule)  # before conversion, which changes the rule
        try:
            queries = converter.convert_rule(rule, FORMATS[fmt])
        except (SigmaError, ValueError) as exc:
            raise RuleError(f"{path}: rule {rule.title!r}: {exc}") from None
        if not queries:
            continue  # only a correlation uses it
        (query,) = queries
        records.append({"rule_id": str(rule.id) if rule.id else rule.title,
                        "title": rule.title,
                        "level": str(rule.level.name).lower() if rule.level else "medium",
                        "tags": [str(t) for t in rule.tags], "query": query,
                        "approximate": uses_regex, "source": str(path)})
    return records


def _uses_regex(rule: Any) -> bool:
    from sigma.modifiers import SigmaRegularExpressionModifier

    def walk(item: Any) -> bool:
        if any(issubclass(m, SigmaRegularExpressionModifier)
               for m in getattr(item, "modifiers", ()) or ()):
            return True
        return any(walk(sub) for sub in getattr(item, "detection_items", ()) or ())

    return any(walk(d) for d in rule.detection.detections.values())
