"""telemetry_detect: Sigma detection over Jupyter telemetry events.

``Detector`` compiles Sigma rule files against an EventLog's schemas into DuckDB SQL
and matches events; the ``detect`` sink runs it over every recorded batch and records
alerts (``ALERT_SCHEMA``) through the EventLog; ``telemetry detect check|hunt`` lint
rules and search stored events. ``CATEGORIES`` lists the Sigma log-source categories;
``pipeline`` is the pySigma processing pipeline for other backends. docs/detection.md.

Names load on first use: ``telemetry --help`` imports this package's CLI module, and
must not pay for pySigma and DuckDB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._alerts import ALERT_SCHEMA
    from ._check import Finding, check_rules
    from ._compile import RuleError, shipped_pack
    from ._detector import Detector
    from ._engine import Match
    from ._logsource import CATEGORIES, pipeline
    from ._owner import attach

_WHERE = {"ALERT_SCHEMA": "_alerts", "Finding": "_check", "check_rules": "_check",
          "RuleError": "_compile", "shipped_pack": "_compile", "Detector": "_detector",
          "Match": "_engine", "CATEGORIES": "_logsource", "pipeline": "_logsource",
          "attach": "_owner"}
__all__ = ["ALERT_SCHEMA", "CATEGORIES", "Detector", "Finding", "Match", "RuleError",
           "attach", "check_rules", "pipeline", "shipped_pack"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
