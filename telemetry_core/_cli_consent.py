"""``telemetry consent show|grant|revoke|history``: decisions from the command line.

Decisions made here are recorded with ``via="cli"``, against the notice of the
configuration given (``--config``), in the store it names (or ``--store``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import orjson

from .consent import ConsentError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry consent`` and its subcommands."""
    consent = subparsers.add_parser("consent", help="show, grant, revoke consent; its history")
    sub = consent.add_subparsers(dest="consent_command", metavar="SUBCOMMAND")
    consent.set_defaults(func=lambda args: (consent.print_help(), 2)[1])
    for name, help_text, func, user_required, scope_required in (
            ("show", "a user's consent state per allowed schema, and decisions", _show,
             True, False),
            ("grant", "record a yes of a user to a schema (or group)", _grant, True, True),
            ("revoke", "record a no of a user to a schema (or group)", _revoke, True, True),
            ("history", "every decision, oldest first (the audit trail)", _history,
             False, False)):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--user", required=user_required, metavar="U")
        cmd.add_argument("--schema", required=scope_required, metavar="ID",
                         help="a schema id or a consent group name")
        cmd.add_argument("--format", choices=("text", "json"), default="text")
        cmd.add_argument("--config", metavar="FILE",
                         help="a traitlets config file (.py or .json) setting c.EventLog.*")
        cmd.add_argument("--schema-file", action="append", default=[], metavar="FILE",
                         help="register this schema file too (repeatable)")
        cmd.add_argument("--store", metavar="URL",
                         help="the consent store (default: the configuration's, else "
                              "$TELEMETRY_CONSENT_STORE, else the SQLite file under "
                              "$XDG_STATE_HOME/telemetry/)")
        cmd.set_defaults(func=func)


def _eventlog(args: argparse.Namespace) -> Any:
    from ._cli_schema import eventlog_from_args

    # A decision reaches the configuration's sinks and handlers, as docs/consent.md says
    # every decision does; reading (show, history) opens none of them.
    decides = args.consent_command in ("grant", "revoke")
    eventlog = eventlog_from_args(argparse.Namespace(config=args.config,
                                                     schema=args.schema_file),
                                  with_outputs=decides)
    if args.store:
        eventlog.consent_store = args.store
    return eventlog


def _run(args: argparse.Namespace, action: Any) -> int:
    consent_log = logging.getLogger("telemetry_core.consent")
    quiet = consent_log.disabled
    consent_log.disabled = True  # its warning would say again what the one line below says
    try:
        with _eventlog(args) as eventlog:
            out = action(eventlog)
    except ConsentError as exc:
        print(f"telemetry consent {args.consent_command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        consent_log.disabled = quiet
    if args.format == "json":
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        print(_text(out))
    return 0


def _text(out: Any) -> str:
    if isinstance(out, list):  # decisions
        if not out:
            return "no decisions"
        return "\n".join(
            f"{d['at']}  {d['user']}  {'yes' if d['granted'] else 'no '}  {d['scope']}  "
            f"notice {d['notice_version']}  via {d['via']}" for d in out)
    if "schemas" in out:  # a state
        lines = [f"user {out['user']}, notice {out['notice_version']}"]
        lines += [f"  {s['schema_id']}: {s['consent']}; "
                  f"{'granted' if s['granted'] else 'not granted'}; "
                  f"{'recorded' if s['recorded'] else 'NOT recorded'}" for s in out["schemas"]]
        return "\n".join(lines)
    return (f"recorded: {'yes' if out['granted'] else 'no'} of {out['user']} to "
            f"{out['scope']} (notice {out['notice_version']}, {out['at']})")


def _show(args: argparse.Namespace) -> int:
    def show(eventlog: Any) -> Any:
        state = eventlog.consent.state(args.user)
        if args.schema:
            state["schemas"] = [s for s in state["schemas"] if s["schema_id"] == args.schema]
            state["decisions"] = [d for d in state["decisions"] if d["scope"] == args.schema]
        return state
    return _run(args, show)


def _decide(args: argparse.Namespace, granted: bool) -> int:
    def decide(eventlog: Any) -> Any:
        d = eventlog.consent.decide(args.user, args.schema, granted, via="cli")
        return {"user": d.user, "scope": d.scope, "granted": d.granted,
                "notice_version": d.notice_version, "at": d.at, "via": d.via}
    return _run(args, decide)


def _grant(args: argparse.Namespace) -> int:
    return _decide(args, True)


def _revoke(args: argparse.Namespace) -> int:
    return _decide(args, False)


def _history(args: argparse.Namespace) -> int:
    def history(eventlog: Any) -> Any:
        return [{"user": d.user, **d.as_json()}
                for d in eventlog.consent.history(args.user, args.schema)]
    return _run(args, history)
