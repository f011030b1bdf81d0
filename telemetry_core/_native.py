"""The optional C hot path (``_speedups.c``), and the switch that turns it off.

``speedups`` is the compiled module, or None: when it was not built (no compiler, an
interpreter other than CPython) or ``TELEMETRY_CORE_PURE_PYTHON=1`` is set, the
package runs its Python code, which the C code mirrors and which the tests also run.
"""

from __future__ import annotations

import os
from types import ModuleType

speedups: ModuleType | None = None
#: Why ``speedups`` is None (for ``telemetry --version``); None while it is in use.
why_not: str | None = "TELEMETRY_CORE_PURE_PYTHON is set"
if os.environ.get("TELEMETRY_CORE_PURE_PYTHON", "") in ("", "0"):
    try:
        from . import _speedups as speedups
    except ImportError as exc:
        speedups, why_not = None, f"not built ({exc})"
    else:
        why_not = None


def describe() -> str:
    """One line: which implementation of the hot path runs, and why."""
    if speedups is not None:
        return "hot path: C (telemetry_core/_speedups.c)"
    return f"hot path: pure Python ({why_not})"
