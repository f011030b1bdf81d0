"""The optional C hot path (``_speedups.c``), and the switch that turns it off.

``speedups`` is the compiled module, or None: when it was not built (no compiler, an
interpreter other than CPython) or ``TELEMETRY_CORE_PURE_PYTHON=1`` is set, the
package runs its Python code, which the C code mirrors and which the tests also run.
"""

from __future__ import annotations

import os
from types import ModuleType

speedups: ModuleType | None = None
if os.environ.get("TELEMETRY_CORE_PURE_PYTHON", "") in ("", "0"):
    try:
        from . import _speedups as speedups
    except ImportError:
        speedups = None
