"""``telemetry schema validate|show``, ``telemetry notice`` and ``telemetry demo``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
import yaml

# The notice's formats, for --format (``_notice.FORMATS``; a test keeps them equal). The
# schema machinery is imported by the commands that use it: `telemetry --help` loads
# this module, and must not load the validators.
FORMATS = ("text", "markdown", "html", "json")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this module's subcommands to the ``telemetry`` parser."""
    schema = subparsers.add_parser("schema", help="check and show event schemas")
    schema_sub = schema.add_subparsers(dest="schema_command", metavar="SUBCOMMAND")
    schema.set_defaults(func=lambda args: (schema.print_help(), 2)[1])

    validate = schema_sub.add_parser(
        "validate", help="lint schema files: exit 1 and FILE:LINE: PATH: why for each problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=_validate)

    show = schema_sub.add_parser("show", help="print a registered schema")
    show.add_argument("id", metavar="ID")
    show.add_argument("version", nargs="?", metavar="VERSION",
                      help="default: the newest registered version")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")
    _add_config_options(show)
    show.set_defaults(func=_show)

    notice = subparsers.add_parser(
        "notice", help="the transparency notice for the configured schemas and policy")
    notice.add_argument("--format", choices=FORMATS, default="text")
    notice.add_argument("--user", metavar="U",
                        help="also show this user's consent decisions (from the store)")
    _add_config_options(notice)
    notice.set_defaults(func=_notice)

    demo = subparsers.add_parser(
        "demo", help="record a few events to a local directory and print the notice")
    demo.add_argument("--dir", default="events", help="where the file sink writes (./events)")
    demo.set_defaults(func=_demo)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="a traitlets config file (.py or .json) setting c.EventLog.*")
    parser.add_argument("--schema", action="append", default=[], metavar="FILE",
                        help="register this schema file too (repeatable)")


# -- schema validate ------------------------------------------------------------------


def line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of ``path`` in a YAML/JSON document (None if it cannot tell)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(step):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _validate(args: argparse.Namespace) -> int:
    from ._errors import SchemaLoadError
    from ._schema_registry import Problem, load_source, schema_problems

    failed = 0
    for name in args.files:
        try:
            loaded = load_source(Path(name))
        except SchemaLoadError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        problems: list[Problem] = schema_problems(loaded.schema)
        for p in problems:
            line = line_of(loaded.text or "", p.path)
            where = f"{name}:{line}" if line else name
            print(f"{where}: {p.json_path}: {p.message}", file=sys.stderr)
        if problems:
            failed += 1
        else:
            s = loaded.schema
            print(f"{name}: ok ({s['$id']}, version {s['version']})")
    if failed:
        print(f"{failed} of {len(args.files)} schema file(s) have problems", file=sys.stderr)
    return 1 if failed else 0


# -- show, notice -----------------------------------------------------------------------


def eventlog_from_args(args: argparse.Namespace, *, with_outputs: bool = False) -> Any:
    """An EventLog configured from ``--config`` and ``--schema``; without the config's
    handlers and sinks unless ``with_outputs`` (a command that records, not one that
    only reads)."""
    from traitlets.config import Config

    from ._config import load_config_file
    from ._eventlog import EventLog

    config = Config()
    if args.config:
        config = load_config_file(args.config)
        if not with_outputs:
            # A notice or a lookup must not open the sinks or handlers of a deployment.
            config.EventLog.pop("sinks", None)
            config.EventLog.pop("handlers", None)
    eventlog = EventLog(config=config)
    for name in args.schema:
        eventlog.register_schema(Path(name))
    return eventlog


def _show(args: argparse.Namespace) -> int:
    eventlog = eventlog_from_args(args)
    versions = eventlog.schemas.versions(args.id)
    if not versions:
        known = "\n  ".join(sorted({s.id for s in eventlog.schemas}))
        print(f"error: no schema {args.id!r} is registered; known ids:\n  {known}",
              file=sys.stderr)
        return 1
    version = args.version or versions[-1]
    if version not in versions:
        print(f"error: schema {args.id!r} has no version {version!r}; registered versions: "
              f"{', '.join(versions)}", file=sys.stderr)
        return 1
    schema = eventlog.schemas.get(args.id, version).schema
    if args.format == "json":
        print(orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode())
    else:
        print(yaml.dump(schema, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True),
              end="")
    return 0


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, as schemas are written (the default quoted
    style doubles every line break)."""


def _str_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value.strip("\n") or value.endswith("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_block)


def _notice(args: argparse.Namespace) -> int:
    from ._notice import render_notice
    from .consent import ConsentError

    try:
        print(render_notice(eventlog_from_args(args), args.format, args.user), end="")
    except ConsentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


# -- demo -------------------------------------------------------------------------------

_KERNEL = "https://telemetry.jupyter.org/schemas/events/kernel/code-executed"
_OPENED = "https://telemetry.jupyter.org/schemas/events/contents/opened"
_SESSION = "https://telemetry.jupyter.org/schemas/events/server/session"


def _demo(args: argparse.Namespace) -> int:
    from ._eventlog import EventLog
    from ._notice import render_notice
    from .sinks import SinkConfigError

    try:
        eventlog = EventLog(
            sinks=[{"type": "file", "path": str(Path(args.dir)) + "/"}],
            # The list form records a schema with personal data redacted; the dict form
            # lets the demo keep one named property (the dataset owner stays redacted).
            # Keeping personal data makes a schema opt-in by default; the demo makes it
            # opt-out, so it records without asking (docs/consent.md).
            allowed_schemas={_KERNEL: {}, _SESSION: {},
                             _OPENED: {"allowed_properties": ["path"], "consent": "opt-out"}},
        )
    except (SinkConfigError, ImportError) as exc:
        print(f"error: cannot start the file sink: {exc}", file=sys.stderr)
        return 1
    spool = eventlog.sink_handlers[0].spool_dir
    with eventlog:
        eventlog.record_event(_SESSION, 1, {"action": "started", "scope": "server",
                                            "server_version": "2.14.0", "user": "ada"})
        eventlog.record_event(_OPENED, 1, {"kind": "notebook", "path": "analysis.ipynb",
                                           "size_bytes": 2048, "user": "ada"})
        eventlog.record_event(_OPENED, 1, {"kind": "dataset", "path": "s3://lake/trips.csv",
                                           "dataset": {"source": "city open data",
                                                       "owner": "grace"}})
        for count, status in enumerate(("ok", "error", "ok"), start=1):
            eventlog.record_event(_KERNEL, 1, {
                "kernel_id": "3f2a", "kernel_name": "python3", "execution_count": count,
                "status": status, "duration_ms": 12.5 * count, "code": "print('hello')",
                "user": "ada"})
        eventlog.record_event(_SESSION, 1, {"action": "stopped", "scope": "server",
                                            "reason": "shutdown", "user": "ada"})
    print(f"Recorded 7 events to {args.dir}/ (one JSON object per line); personal data\n"
          "redacted as the notice below says. The file sink keeps its state (spool,\n"
          f"counters) in {spool}\n"
          "(`telemetry spool list` shows it; `telemetry spool clean` removes it).\n")
    print(render_notice(eventlog, "text"), end="")
    return 0
