"""``export``: the rules as queries of another engine, through pySigma's backends.

For deployments that already send events to Elasticsearch: the same rules and the same
Jupyter log-source pipeline, converted by pySigma into query DSL (``dsl``, for ``_search``
or a watcher: ``_esdsl``, case-insensitive term-level queries, ``|re`` translated by
``_esregex``; the same matches as DuckDB) or into Lucene strings by pySigma's Elasticsearch
backend (``lucene``, for Kibana: keyword matches there are case-sensitive, so every such
record is ``"approximate": true``). A record is approximate, with a ``note`` saying why,
when Elasticsearch may match differently. Correlation rules (and the rules only they use)
are not exported: these queries cannot count over a window; nor are rules on fields the
detector derives from its state (``remote_address_new``), which stored events do not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sigma.exceptions import SigmaError

from ._compile import RuleError, load_all, rule_fields
from ._logsource import pipeline
from ._novelty import DERIVED_FIELDS

#: ``--backend`` -> ``--format`` -> (module, class, output format) of the pySigma backend.
BACKENDS = {"elasticsearch": {
    "dsl": ("telemetry_detect._esdsl", "ElasticsearchDslBackend", "default"),
    "lucene": ("sigma.backends.elasticsearch", "LuceneBackend", "default")}}
#: Why a ``lucene`` record may match differently.
LUCENE_NOTE = ("Lucene query strings match keywords case-sensitively (Sigma does not): "
               "use --format dsl for the same matches as streaming and hunting")


def export_rules(paths: Iterable[str | Path], registered: Iterable[str],
                 backend: str = "elasticsearch", fmt: str = "dsl") -> list[dict[str, Any]]:
    """One record per rule: its id, title, level, tags, ``query``, ``approximate`` and,
    when that is true, a ``note`` saying why; correlation rules, the rules only they use
    and rules on derived fields are left out."""
    import importlib

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    if fmt not in BACKENDS[backend]:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(BACKENDS[backend])}")
    module, name, output_format = BACKENDS[backend][fmt]
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
        try:
            queries = converter.convert_rule(rule, output_format)
        except (SigmaError, ValueError) as exc:
            raise RuleError(f"{path}: rule {rule.title!r}: {exc}") from None
        if not queries:
            continue  # only a correlation uses it
        (query,) = queries
        note = LUCENE_NOTE if fmt == "lucene" else converter.approximate
        record = {"rule_id": str(rule.id) if rule.id else rule.title, "title": rule.title,
                  "level": str(rule.level.name).lower() if rule.level else "medium",
                  "tags": [str(t) for t in rule.tags], "query": query,
                  "approximate": bool(note), "source": str(path)}
        records.append({**record, "note": note} if note else record)
    return records
