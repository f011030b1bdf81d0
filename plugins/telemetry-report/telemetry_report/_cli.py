"""``telemetry report``: registered through the ``telemetry_core.commands`` entry point.
Light to import (``telemetry --help`` loads it): DuckDB and the chart bundle are imported
only when the command runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``report`` to the ``telemetry`` command."""
    parser = subparsers.add_parser(
        "report", help="turn recorded events into one HTML page (or JSON)",
        description="Read what the file and S3 sinks stored (JSON lines, gzip, Hive-style "
                    "S3 keys) with DuckDB and write one self-contained HTML page.")
    parser.add_argument("--events", action="append", required=True, metavar="PATH_OR_S3_URL",
                        help="a directory or file the file sink wrote, or s3://bucket/prefix "
                             "(repeat for several)")
    parser.add_argument("--since", default="7d",
                        help="start: a duration back from now (7d, 12h, 2w) or an ISO date "
                             "(default: 7d)")
    parser.add_argument("--until", default=None, help="end (exclusive; default: now)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="where to write (default: report.html, or stdout for json)")
    parser.add_argument("--format", choices=("html", "json"), default="html")
    parser.add_argument("--min-group-size", type=int, default=5,
                        help="leave out rows standing for fewer users (default 5; 0: off)")
    parser.add_argument("--idle-minutes", type=float, default=60,
                        help="a kernel this long without running code is idle (default 60)")
    parser.add_argument("--user-groups", type=Path, default=None,
                        help="CSV file of user,group (users as recorded: names or "
                             "pseudonyms) for kernel-hours by group")
    parser.add_argument("--spool-root", default=None,
                        help="the sinks' spool root, for their delivery counters (what "
                             "`telemetry sinks --stats` reads)")
    parser.add_argument("--memory-limit", default="1GB",
                        help="DuckDB's memory bound; beyond it, it spills (default 1GB)")
    parser.add_argument("--temp-dir", default=None, help="where DuckDB spills")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and write it."""
    import csv
    from datetime import datetime, timezone

    import orjson

    from ._period import parse_time
    from ._progress import Progress
    from ._report import build_report

    now = datetime.now(timezone.utc)
    since = parse_time(args.since, now)
    until = parse_time(args.until, now) if args.until else now
    if since >= until:
        raise ValueError(f"--since ({since:%Y-%m-%dT%H:%M:%SZ}) is not before --until "
                         f"({until:%Y-%m-%dT%H:%M:%SZ})")
    if args.min_group_size < 0:
        raise ValueError("--min-group-size must be 0 or more")
    groups: dict[str, str] = {}
    if args.user_groups:
        with open(args.user_groups, newline="") as handle:
            groups = {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}
    report = build_report(args.events, since=since, until=until,
                          min_group_size=args.min_group_size, idle_minutes=args.idle_minutes,
                          user_groups=groups, memory_limit=args.memory_limit,
                          temp_directory=args.temp_dir, progress=Progress(),
                          spool_root=args.spool_root)
    if args.format == "json":
        data = orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"
        if args.output is None:
            sys.stdout.buffer.write(data)
        else:
            args.output.write_bytes(data)
        return 0
    from ._html import render_html

    output = args.output or Path("report.html")
    output.write_text(render_html(report), encoding="utf-8")
    if sys.stderr.isatty():
        print(f"telemetry report: wrote {output}", file=sys.stderr)
    return 0
