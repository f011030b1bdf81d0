"""``telemetry detect check|hunt|export|run``: registered through the ``telemetry_core.commands``
entry-point group. Light to import: the engine loads when a command runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``detect`` and its subcommands to the ``telemetry`` parser."""
    detect = subparsers.add_parser(
        "detect", help="Sigma rules over events: check rules, hunt in stored events",
        description="Sigma detection (docs/detection.md).")
    sub = detect.add_subparsers(dest="detect_command", metavar="SUBCOMMAND")
    detect.set_defaults(func=lambda args: (detect.print_help(), 2)[1])

    check = sub.add_parser("check", help="lint rules against the registered schemas",
                           description="Lint Sigma rules: logsource, fields (with 'did you "
                           "mean'), and, with --config, what the policy redacts. Exit 1 "
                           "when anything is wrong.")
    check.add_argument("rules", nargs="+", metavar="RULES", help="rule files or directories")
    check.add_argument("--config", help="EventLog config file (schemas and allowed_schemas)")
    check.set_defaults(func=_check)

    hunt = sub.add_parser("hunt", help="run rules over stored events; exit 1 on a match",
                          description="Run Sigma rules over what the file and S3 sinks "
                          "stored. Exit 0: nothing matched; 1: something matched.")
    hunt.add_argument("--rules", action="append", metavar="PATH",
                      help="rule file or directory (repeatable; default: the shipped pack)")
    hunt.add_argument("--events", required=True, metavar="PATH_OR_S3_URL",
                      help="a JSON-lines file, a directory of them, or s3://bucket/prefix")
    hunt.add_argument("--since", help="only events at or after this UTC time (ISO 8601)")
    hunt.add_argument("--format", choices=("table", "json"), default="table")
    hunt.add_argument("--config", help="EventLog config file (its registered schemas)")
    hunt.add_argument("--endpoint-url", help="S3 endpoint (default: $AWS_ENDPOINT_URL)")
    hunt.add_argument("--max-bytes", type=int, default=None,
                      help="most bytes of S3 objects to copy (default 10 GiB)")
    hunt.set_defaults(func=_hunt)

    export = sub.add_parser("export", help="write the rules as another engine's queries",
                            description="Convert the rules with pySigma, one JSON object "
                            "per rule and line (docs/detection.md).")
    export.add_argument("--backend", choices=("elasticsearch",), default="elasticsearch")
    export.add_argument("--format", choices=("dsl", "lucene"), default="dsl",
                        help="dsl: query DSL for _search, the same matches as hunting; "
                        "lucene: query strings (case-sensitive, approximate)")
    export.add_argument("--rules", action="append", metavar="PATH",
                        help="rule file or directory (repeatable; default: the shipped pack)")
    export.add_argument("--config", help="EventLog config file (its registered schemas)")
    export.set_defaults(func=_export)

    run = sub.add_parser("run", help="the streaming detector as a Kafka consumer group",
                         description="Consume the events the kafka sink wrote, evaluate "
                         "the rules over each batch, record alerts through the EventLog "
                         "of --config (so they reach its sinks), then commit the offsets. "
                         "Workers with the same --group share the partitions. Stops "
                         "cleanly on SIGTERM or SIGINT.")
    run.add_argument("--rules", action="append", metavar="PATH",
                     help="rule file or directory (repeatable; default: the shipped pack)")
    run.add_argument("--kafka", required=True, metavar="BOOTSTRAP",
                     help="host:port[,host:port...] of the brokers")
    run.add_argument("--topic", required=True, action="append", metavar="PATTERN",
                     help="topic to consume, or a regex starting with ^ (repeatable)")
    run.add_argument("--group", required=True, metavar="ID", help="consumer group id")
    run.add_argument("--config", required=True,
                     help="EventLog config file: its schemas, policy and the sinks alerts go to")
    run.add_argument("--batch", type=int, default=2000, metavar="N",
                     help="most events evaluated at once (default 2000)")
    run.add_argument("--state-dir", metavar="DIR", help="keep the state of "
                     "remote_address_new (logins from a new address) in DIR/novelty.sqlite3, "
                     "so it survives a restart (default: in memory)")
    run.add_argument("-X", dest="consumer_options", action="append", default=[],
                     metavar="KEY=VALUE", help="a librdkafka consumer setting, e.g. "
                     "-X security.protocol=SASL_SSL (repeatable)")
    run.set_defaults(func=_run)


def _eventlog(config: str | None) -> Any:
    from telemetry_core import EventLog

    return EventLog.from_config_file(config, sinks=[]) if config else EventLog()


def _check(args: argparse.Namespace) -> int:
    from ._check import check_rules

    eventlog = _eventlog(args.config)
    try:
        checked, findings = check_rules(args.rules, eventlog, policy=bool(args.config))
    finally:
        eventlog.close()
    problems = [f for f in findings if f.problem]
    for finding in findings:
        print(f"{'error' if finding.problem else 'note'}: {finding}")
    print(f"{checked} rules checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


def _hunt(args: argparse.Namespace) -> int:
    from ._compile import shipped_pack
    from ._detector import Detector
    from ._hunt import DEFAULT_MAX_BYTES, local_files, progress_to_stderr, s3_files
    from ._output import print_matches

    since = _since(args.since)
    eventlog = _eventlog(args.config)
    try:
        detector = Detector(args.rules or [shipped_pack()], eventlog)
    finally:
        eventlog.close()
    try:
        if args.events.startswith("s3://"):
            with s3_files(args.events, since, args.endpoint_url,
                          args.max_bytes or DEFAULT_MAX_BYTES, progress_to_stderr) as files:
                matches = detector.evaluate(detector.match_files(files, since))
        else:
            files = local_files(args.events)
            matches = detector.evaluate(detector.match_files(files, since))
    finally:
        detector.close()
    print_matches(matches, args.format)
    print(f"{len(files)} files searched with {len(detector.rules)} rules, "
          f"{len(matches)} matches", file=sys.stderr)
    return 1 if matches else 0


def _export(args: argparse.Namespace) -> int:
    import orjson

    from ._compile import shipped_pack
    from ._export import export_rules

    eventlog = _eventlog(args.config)
    try:
        registered = eventlog.schemas.documents()
    finally:
        eventlog.close()
    records = export_rules(args.rules or [shipped_pack()], registered, args.backend,
                           args.format)
    for record in records:
        sys.stdout.write(orjson.dumps(record).decode() + "\n")
    print(f"{len(records)} rules exported", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ._compile import shipped_pack
    from ._consumer import ConsumerDetector
    from ._detector import Detector
    from ._novelty import DEFAULT_MAX_ENTRIES

    try:
        from confluent_kafka import Consumer
    except ImportError:
        raise ValueError("telemetry detect run needs confluent-kafka: pip install "
                         "'telemetry-detect[kafka]'") from None
    if args.batch < 1:
        raise ValueError("--batch must be at least 1")
    settings = {"bootstrap.servers": args.kafka, "group.id": args.group,
                "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    for option in args.consumer_options:
        key, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"-X {key}: expected KEY=VALUE")
        settings[key] = value
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set())
                for signum in (signal.SIGTERM, signal.SIGINT)}
    eventlog = _recording_eventlog(args.config)
    novelty = None
    if args.state_dir:
        from ._novelty import novelty_config

        novelty = novelty_config("run", args.state_dir, None, DEFAULT_MAX_ENTRIES)
    detector = Detector(args.rules or [shipped_pack()], eventlog, novelty)
    try:
        worker = ConsumerDetector(detector, eventlog, Consumer(settings), args.topic,
                                  batch_size=args.batch)
        print(f"detect run: {len(detector.rules)} rules, group {args.group}",
              file=sys.stderr, flush=True)
        counts = worker.run(stop, lambda c: print(
            f"{c['events']} events, {c['alerts']} alerts", file=sys.stderr, flush=True))
    finally:
        detector.close()
        eventlog.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(f"stopped: {counts['events']} events in {counts['batches']} batches, "
          f"{counts['alerts']} alerts recorded, {counts['alerts_not_recorded']} not "
          f"recorded, {counts['skipped']} messages skipped", file=sys.stderr)
    return 0


def _recording_eventlog(config: str) -> Any:
    """The EventLog of ``config`` with its sinks: the alerts go there."""
    from telemetry_core import EventLog

    return EventLog.from_config_file(config)


def _since(text: str | None) -> str | None:
    """``--since`` as the envelope spells timestamps (ISO 8601, UTC)."""
    if not text:
        return None
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: not an ISO 8601 time, e.g. "
                         "2026-01-31T12:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
