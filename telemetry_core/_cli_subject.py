"""``telemetry subject find|export|erase|new-key``: a person's rights from the command line.

Every command reads the sinks of the configuration given (``--config``): the same file the
deployment runs with, so the same subject secret, policy and sinks. ``erase`` counts and
changes nothing unless ``--execute`` is given, and touches only the sinks named with
``--sink`` (each sink's ``name`` option, or its type).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

import orjson


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry subject`` and its subcommands."""
    subject = subparsers.add_parser(
        "subject", help="find, export or erase one person's events (GDPR art. 15/17)")
    sub = subject.add_subparsers(dest="subject_command", metavar="SUBCOMMAND")
    subject.set_defaults(func=lambda args: (subject.print_help(), 2)[1])
    for name, help_text, func in (
            ("find", "where a user's events are: counts per sink, schema and day", _find),
            ("export", "one archive of a user's events and consent history", _export),
            ("erase", "remove a user's events and shred their key (dry run unless "
                      "--execute)", _erase)):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--user", required=True, metavar="U")
        cmd.add_argument("--config", required=True, metavar="FILE",
                         help="the deployment's config file (c.EventLog.sinks, "
                              "subject_secret, allowed_schemas, ...)")
        cmd.add_argument("--sink", action="append", default=[], metavar="NAME",
                         help="only this sink (its name option or its type; repeatable)"
                              + ("; erase needs at least one" if name == "erase" else ""))
        cmd.add_argument("--since", default="", metavar="DATE", help="from this date (UTC)")
        cmd.add_argument("--until", default="", metavar="DATE", help="before this date")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "export":
            cmd.add_argument("-o", "--output", required=True, metavar="FILE",
                             help="the archive to write (.zip)")
        if name == "erase":
            cmd.add_argument("--execute", action="store_true",
                             help="really erase (default: count what would be erased)")
            cmd.add_argument("--reference", default="", metavar="TEXT",
                             help="the request's reference (ticket), kept in the log")
            cmd.add_argument("--log", metavar="FILE",
                             help="the erasure log (default: $XDG_STATE_HOME/telemetry/"
                                  "erasures.jsonl)")
        cmd.set_defaults(func=func)
    key = sub.add_parser("new-key", help="print a new master key for the subject key store")
    key.set_defaults(func=_new_key)


def _setup(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]], Any]:
    from ._config import load_config_file
    from ._eventlog import EventLog
    from .subject import person

    config = load_config_file(args.config)
    configured = list(config.get("EventLog", {}).get("sinks", []) or [])
    eventlog = EventLog(config=config, sinks=[], handlers=[])
    sinks = _chosen(configured, args.sink)
    who = person(eventlog, args.user, args.since, args.until)
    return eventlog, sinks, who


def _chosen(configured: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    if not names:
        return configured
    chosen = [s for s in configured if s.get("name") in names or s.get("type") in names]
    known = {str(s.get("name") or s.get("type")) for s in configured}
    missing = [n for n in names if not any(n in (s.get("name"), s.get("type"))
                                           for s in configured)]
    if missing:
        raise ValueError(f"--sink {', '.join(missing)}: no such sink in the configuration "
                         f"(it has: {', '.join(sorted(known)) or 'none'})")
    return chosen


def _progress(args: argparse.Namespace) -> Any:
    if args.json or not sys.stderr.isatty():
        return None
    return lambda line: print(line, file=sys.stderr)


def _print(args: argparse.Namespace, reports: list[Any], extra: dict[str, Any]) -> None:
    from .subject import describe

    if args.json:
        sys.stdout.write(orjson.dumps({**extra, "sinks": [r.as_json() for r in reports]},
                                      option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(describe(reports))


def _find(args: argparse.Namespace) -> int:
    from .subject import find

    eventlog, sinks, who = _setup(args)
    try:
        _print(args, find(sinks, who, _progress(args)), {"subject": who.subject})
    finally:
        eventlog.close()
    return 0


def _keys(eventlog: Any) -> Any:
    import os

    from .subject import KeyStore

    if not os.environ.get("TELEMETRY_SUBJECT_MASTER_KEY"):
        return None  # nothing was sealed without it: no key to open or erase
    return KeyStore(eventlog.subject_key_store)


def _export(args: argparse.Namespace) -> int:
    from .subject import export

    eventlog, sinks, who = _setup(args)
    keys = _keys(eventlog)
    try:
        manifest = export(sinks, who, keys, eventlog.consent, Path(args.output),
                          eventlog.consent.notice_version)
    finally:
        if keys is not None:
            keys.close()
        eventlog.close()
    if args.json:
        sys.stdout.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        events = sum(f["events"] for f in manifest["files"].values())
        print(f"wrote {args.output}: {events} events in {len(manifest['files'])} schema "
              f"file(s), {manifest['consent_decisions']} consent decision(s)")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from .subject import default_erasure_log, erase

    if not args.sink:
        raise ValueError("erase needs the sinks it may change named: --sink NAME for each "
                         "(a sink's name option or its type)")
    eventlog, sinks, who = _setup(args)
    keys = _keys(eventlog)
    try:
        reports = erase(sinks, who, keys, actor=getpass.getuser(),
                        log=Path(args.log) if args.log else default_erasure_log(),
                        execute=args.execute, reference=args.reference,
                        progress=_progress(args))
    finally:
        if keys is not None:
            keys.close()
        eventlog.close()
    _print(args, reports, {"subject": who.subject, "executed": args.execute})
    if not args.execute and not args.json:
        print("dry run: nothing was changed; add --execute to erase", file=sys.stderr)
    return 0


def _new_key(args: argparse.Namespace) -> int:
    from .subject import new_master_key

    print(new_master_key())
    return 0
