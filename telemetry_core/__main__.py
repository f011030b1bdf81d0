"""``python -m telemetry_core``: the ``telemetry`` command, for where its script is not on
PATH (a venv not activated, a test's interpreter)."""

import sys

from ._cli import main

sys.exit(main())
