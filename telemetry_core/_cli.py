"""The ``telemetry`` command. Each group of subcommands lives beside the code it drives."""

from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__

# module -> it defines ``register(subparsers)``; each subcommand sets ``func(args) -> int``.
_COMMAND_MODULES = (
    "telemetry_core._cli_schema",  # schema validate/show, notice, demo (issue 2)
    "telemetry_core.sinks._cli",  # sinks [--stats] (issue 3)
    "telemetry_core.consent._cli",  # consent show/grant/revoke/history (issue 16)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telemetry", description="Schema-validated, privacy-first event logging."
    )
    parser.add_argument("--version", action="version",
                        version=f"telemetry-core {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
