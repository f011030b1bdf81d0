"""Progress on long reads, on a terminal only: files scanned, rows, elapsed."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Rewrites one status line on ``stream`` when it is a terminal; silent otherwise."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._shown = False

    def update(self, files: int, total_files: int, rows: int) -> None:
        """Show how far the read has come."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\rtelemetry report: {files}/{total_files} files, "
                          f"{rows:,} rows, {elapsed:.1f}s ")
        self.stream.flush()
        self._shown = True

    def done(self, what: str) -> None:
        """End the status line with ``what``."""
        if self.enabled:
            elapsed = time.monotonic() - self.started
            self.stream.write(("\r" if self._shown else "") +
                              f"telemetry report: {what} in {elapsed:.1f}s\n")
            self.stream.flush()
