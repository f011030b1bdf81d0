"""``telemetry sinks``: the installed sink types with their options, and sink counters.

``--stats`` reads the stats file every running sink rewrites in its spool slot every
``stats_interval`` seconds (and when it closes): counters of other processes can only
be seen that way. Each row says whether the process that wrote it is still alive and
how old the figures are.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import entry_points
from typing import Any

import orjson

from ._naming import VARIABLES
from ._options import FRAMEWORK_OPTIONS, describe
from ._stats import add_spool_root_argument, default_spool_root, read_all_stats

_STAT_COLUMNS = ("accepted", "delivered", "retried", "spooled", "replayed", "dead_lettered",
                 "dropped", "queue_depth", "spool_bytes")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``telemetry sinks`` to the ``telemetry`` parser."""
    p = subparsers.add_parser(
        "sinks", help="list installed sink types and their options; --stats for counters",
        description="List the installed sink types (entry-point group telemetry_core.sinks) "
                    "with their options, or with --stats the counters running sinks wrote "
                    "to their spool directories.")
    p.add_argument("type", nargs="?", help="show only this sink type")
    p.add_argument("--stats", action="store_true",
                   help="show the counters each sink writes to <spool dir>/slot-N/stats.json")
    add_spool_root_argument(p, "; a sink with its own spool_dir: pass that dir's parent")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.stats:
        return _show_stats(args)
    return _show_types(args)


def _show_types(args: argparse.Namespace) -> int:
    from ._registry import SINK_GROUP, installed_sink_types

    types = installed_sink_types()
    if args.type:
        if args.type not in types:
            print(f"telemetry sinks: no sink type {args.type!r} is installed; installed: "
                  f"{', '.join(types) or '(none)'}", file=sys.stderr)
            return 1
        types = {args.type: types[args.type]}
    origin = {ep.name: ep for ep in entry_points(group=SINK_GROUP)}
    if args.json:
        out: dict[str, Any] = {}
        for name, cls in types.items():
            ep = origin.get(name)
            out[name] = ({"error": str(cls)} if isinstance(cls, Exception) else {
                "entry_point": ep.value if ep else None,
                "distribution": ep.dist.name if ep and ep.dist else None,
                "options": describe(cls.declared_options())})
        print(orjson.dumps({"sink_types": out, "common_options": describe(FRAMEWORK_OPTIONS),
                            "template_variables": VARIABLES},
                           option=orjson.OPT_INDENT_2).decode())
        return 0
    if not types:
        print("No sink types installed (entry-point group telemetry_core.sinks).")
        return 0
    for name, cls in types.items():
        ep = origin.get(name)
        dist = f"{ep.dist.name} {ep.dist.version}" if ep and ep.dist else "registered by hand"
        print(f"{name}  ({dist}: {ep.value if ep else '-'})")
        if isinstance(cls, Exception):
            print(f"    cannot load: {cls}")
        else:
            doc = (cls.__doc__ or "").strip().splitlines()
            if doc:
                print(f"    {doc[0]}")
            _print_options(describe(cls.declared_options()))
        print()
    print("Options every sink accepts:")
    _print_options(describe(FRAMEWORK_OPTIONS))
    print("\nVariables of name templates (paths, topics, keys, indices):")
    _print_options(VARIABLES)
    return 0


def _print_options(options: dict[str, str]) -> None:
    width = max((len(k) for k in options), default=0)
    for key, doc in options.items():
        print(f"    {key:<{width}}  {doc}")


def _show_stats(args: argparse.Namespace) -> int:
    root = args.spool_root or default_spool_root()
    rows = read_all_stats(root)
    if args.type:
        rows = [r for r in rows if str(r.get("sink", "")).startswith(args.type + "/")]
    if args.json:
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not rows:
        print(f"No sink stats under {root} (sinks write them every stats_interval seconds "
              "while running and when they close).")
        return 0
    print(f"Sink counters under {root} (as last written by each sink):")
    header = ("sink", "slot", "pid", "state", "age_s", *_STAT_COLUMNS)
    table = [header]
    now = time.time()
    for r in rows:
        counters = r.get("counters", {})
        table.append((str(r.get("sink", r["sink_dir"])), r["slot"], str(r.get("pid", "?")),
                      "running" if r["alive"] else "exited",
                      f"{now - float(r.get('written', now)):.0f}",
                      *(str(counters.get(c, "")) for c in _STAT_COLUMNS)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0
