"""Subcommands of ``telemetry`` (scaffold: filled in by its issue)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``telemetry`` parser."""
