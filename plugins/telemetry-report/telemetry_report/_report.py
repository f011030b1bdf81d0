"""Build the report: read the events into DuckDB once, run each figure's query, suppress
small groups. The result is a plain JSON-ready dict (``--format json`` prints it as it
is; the HTML page is drawn from it)."""

from __future__ import annotations

import datetime as _dt
import decimal
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from importlib.resources import files as _package_files
from pathlib import Path
from typing import Any

from . import _privacy, _source
from ._figures import FIGURES, Figure
from ._period import sql_time
from ._progress import Progress

_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")
#: Files read by one INSERT: the unit of progress, small enough to show it moving.
FILES_PER_BATCH = 64


def sql(name: str) -> str:
    """The text of the query ``name`` (a .sql file shipped in this package)."""
    return (_package_files("telemetry_report") / "sql" / name).read_text()


def build_report(events: str | Sequence[str], *, since: _dt.datetime, until: _dt.datetime,
                 min_group_size: int = 5, idle_minutes: float = 60,
                 user_groups: Mapping[str, str] | None = None,
                 memory_limit: str = "1GB", temp_directory: str | None = None,
                 threads: int | None = None, progress: Progress | None = None,
                 spool_root: str | None = None) -> dict[str, Any]:
    """The report's figures for the events under ``events`` (directories, files or
    ``s3://`` URLs) recorded in ``[since, until)``.

    ``min_group_size``: rows standing for fewer distinct users are left out (0: keep
    all). ``user_groups`` maps users (or their pseudonyms) to groups for kernel-hours.
    ``memory_limit`` bounds DuckDB's memory; past it DuckDB spills to ``temp_directory``.
    ``spool_root``: where the sinks' spool dirs are, for their counters (``stats.json``).
    """
    import duckdb

    sources = [events] if isinstance(events, str) else list(events)
    progress = progress or Progress(enabled=False)
    # What DuckDB spills is event data: into a private directory (0700), never its
    # default ./.tmp; one of our own making is removed afterwards.
    spill = Path(temp_directory) if temp_directory else Path(
        tempfile.mkdtemp(prefix="telemetry-report-"))
    spill.mkdir(mode=0o700, parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": memory_limit,
                                 "preserve_insertion_order": False,
                                 "temp_directory": str(spill / "duckdb")})
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(sql("setup.sql"))
        con.execute("INSERT INTO period VALUES (?, ?, ?)",
                    [_naive(since), _naive(until), float(idle_minutes)])
        if user_groups:
            con.executemany("INSERT INTO user_groups VALUES (?, ?)",
                            [[user, group] for user, group in user_groups.items()])
        if spool_root:
            con.executemany("INSERT INTO sink_counters VALUES (?, ?, ?)",
                            _sink_counters(spool_root))
        paths = _in_period(_list_files(con, sources), since, until)
        rows = _load(con, paths, since, until, progress)
        progress.done(f"{len(paths)} files, {rows:,} events")
        con.execute(sql("kernels.sql"))
        present = _query(con, "schemas.sql")
        present_ids = {row["schema"] for row in present}
        figures = [_figure(con, figure, present_ids, min_group_size) for figure in FIGURES]
    finally:
        con.close()
        if temp_directory is None:
            shutil.rmtree(spill, ignore_errors=True)
    needed = sorted({s for figure in FIGURES for s in figure.schemas} - present_ids)
    return {
        "title": "Telemetry report",
        "period": {"since": _iso(since), "until": _iso(until)},
        "sources": sources,
        "files_scanned": len(paths),
        "events": rows,
        "min_group_size": min_group_size,
        "idle_minutes": idle_minutes,
        "schemas_present": present,
        "schemas_not_present": needed,
        "figures": figures,
    }


def _sink_counters(spool_root: str) -> list[tuple[str, str, int]]:
    """(sink, counter, value) from each ``<sink dir>/slot-N/stats.json`` under the root
    (the files ``telemetry sinks --stats`` reads); an unreadable file is skipped."""
    import orjson

    rows = []
    for path in sorted(Path(spool_root).glob("*/slot-*/stats.json")):
        try:
            stats = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        sink = str(stats.get("sink") or path.parent.parent.name)
        for counter, value in (stats.get("counters") or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                rows.append((sink, str(counter), value))
    return rows


def _list_files(con: Any, sources: list[str]) -> list[str]:
    paths: list[str] = []
    for events in sources:
        if events.startswith("s3://"):
            _source.configure_s3(con, events)
        pattern = _source.file_pattern(events)
        found = [row[0] for row in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()]
        if not found:
            raise FileNotFoundError(f"--events {events}: no event files ({_source.PATTERN})")
        paths.extend(sorted(found))
    return paths


def _in_period(paths: list[str], since: _dt.datetime, until: _dt.datetime) -> list[str]:
    """Skip Hive-style ``dt=YYYY-MM-DD`` partitions (the S3 sink's keys) outside the
    period without reading them; other paths are all read (their events are filtered)."""
    first, last = since.astimezone(_dt.timezone.utc).date(), until.astimezone(
        _dt.timezone.utc).date()
    kept = []
    for path in paths:
        match = _DT.search(path)
        if match:
            try:
                day = _dt.date.fromisoformat(match[1])
            except ValueError:
                day = None
            if day is not None and not first <= day <= last:
                continue
        kept.append(path)
    return kept


def _load(con: Any, paths: list[str], since: _dt.datetime, until: _dt.datetime,
          progress: Progress) -> int:
    template = sql("load.sql")
    rows = 0
    progress.update(0, len(paths), 0)
    for start in range(0, len(paths), FILES_PER_BATCH):
        batch = paths[start:start + FILES_PER_BATCH]
        statement = (template
                     .replace("{files}", "[" + ", ".join(map(_source.literal, batch)) + "]")
                     .replace("{since}", _source.literal(sql_time(since)))
                     .replace("{until}", _source.literal(sql_time(until))))
        rows += con.execute(statement).fetchone()[0]
        progress.update(start + len(batch), len(paths), rows)
    return rows


def _figure(con: Any, figure: Figure, present: set[str], min_group_size: int
            ) -> dict[str, Any]:
    rows = _query(con, figure.sql_file)
    kept, suppressed = _privacy.suppress(rows, min_group_size)
    return {"id": figure.id, "section": figure.section, "title": figure.title,
            "description": figure.description,
            "missing_schemas": [s for s in figure.schemas if s not in present],
            "rows": kept, "suppressed_rows": suppressed}


def _query(con: Any, name: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql(name))
    columns = [d[0] for d in cursor.description]
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in cursor.fetchall()]


def _plain(value: Any) -> Any:
    """A JSON value: dates as ISO strings, decimals as floats."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _naive(when: _dt.datetime) -> _dt.datetime:
    return when.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _iso(when: _dt.datetime) -> str:
    return when.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
