"""The browser tests' page: opened after the module's ``jupyter`` fixture started the
server, closed before it stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def page(jupyter: Any, tmp_path: Path) -> Iterator[Any]:
    """A chromium page (jupyter_browser_helpers.browser_page) for the module's server."""
    from jupyter_browser_helpers import browser_page  # needs Playwright: only when asked for

    with browser_page(tmp_path) as opened:
        yield opened
