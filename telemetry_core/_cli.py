"""The ``telemetry`` command. Each group of subcommands lives beside the code it drives."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._version import __version__

# module -> it defines ``register(subparsers)``; each subcommand sets ``func(args) -> int``.
_COMMAND_MODULES = (
    "telemetry_core._cli_schema",  # schema validate/show, notice, demo (issue 2)
    "telemetry_core.sinks._cli",  # sinks [--stats] (issue 3)
    "telemetry_core.sinks._spool_cli",  # spool list|clean (issue 20)
    "telemetry_core._cli_consent",  # consent show/grant/revoke/history (issue 16)
    "telemetry_core.server._serve",  # serve: the REST API (issue 17)
    "telemetry_core.server._token_cli",  # token mint: signed user tokens (issue 24)
    "telemetry_core._cli_subject",  # subject find|export|erase (issue 28)
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
    for entry_point in _command_entry_points():
        entry_point.load().register(subparsers)
    return parser


# Commands beyond the core (``telemetry detect``, ``telemetry report``) come from installed
# distributions, the way sinks do: each entry point in this group names a module (keep it
# light to import: ``telemetry --help`` loads it) that defines ``register(subparsers)``.
COMMAND_ENTRY_POINT_GROUP = "telemetry_core.commands"


def _command_entry_points() -> list:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=COMMAND_ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def main(argv: list[str] | None = None) -> int:
    """Run the ``telemetry`` command; its exit code.

    A mistake (a bad file, option or config) is one line on stderr and exit code 1,
    never a traceback; ``TELEMETRY_DEBUG=1`` shows the traceback too. Output cut short
    by its reader (``telemetry ... | head``) ends quietly.
    """
    _skip_unused_format_checkers()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("TELEMETRY_DEBUG", "") not in ("", "0"):
            raise
        print(f"telemetry {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _skip_unused_format_checkers() -> None:
    # jsonschema, when imported, registers format checkers from the optional packages it
    # finds; rfc3987_syntax's ("iri") builds a grammar for over a second, isoduration's
    # ("duration") loads arrow. Formats are
    # annotations in this project's validation (docs/usage.md), so no command uses it:
    # keep it out of this process (a library user's process is left alone).
    for checker in ("rfc3987_syntax", "isoduration"):
        sys.modules.setdefault(checker, None)  # type: ignore[arg-type]


def _one_line(exc: BaseException) -> str:
    """What went wrong, on one line: the message, or the kind of error when it has none."""
    text = " ".join(str(exc).split())
    if isinstance(exc, (ValueError, OSError, LookupError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _quiet_stdout() -> None:
    # The reader went away: point stdout at /dev/null so the interpreter's own flush at
    # exit does not raise BrokenPipeError again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
