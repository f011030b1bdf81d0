"""Where the events are: a local file or directory, or an ``s3://bucket/prefix`` URL, and
the DuckDB set-up to read it (httpfs and credentials for S3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

#: What the file and S3 sinks write: JSON lines, gzipped ones, rotated ones
#: (``name.<time>.jsonl.gz``), under any directory layout (the schema comes from each
#: event's ``__schema__``, never from a directory name).
PATTERN = "**/*.jsonl*"


def file_pattern(events: str) -> str:
    """The glob DuckDB expands for ``events`` (a file is read as it is)."""
    if events.startswith("s3://"):
        return events.rstrip("/") + "/" + PATTERN
    path = Path(events)
    if path.is_file():
        return str(path.resolve())
    if not path.is_dir():
        raise FileNotFoundError(f"--events {events}: no such file or directory")
    return str(path.resolve() / PATTERN)


def configure_s3(con: Any, events: str) -> None:
    """Load httpfs and give DuckDB the S3 endpoint and credentials from the usual AWS
    environment variables (``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for an
    S3-compatible server, path-style; ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``)."""
    _load_httpfs(con)
    env = os.environ
    options: dict[str, str] = {"TYPE": "s3", "REGION": env.get("AWS_REGION")
                               or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    for option, name in (("KEY_ID", "AWS_ACCESS_KEY_ID"), ("SECRET", "AWS_SECRET_ACCESS_KEY"),
                         ("SESSION_TOKEN", "AWS_SESSION_TOKEN")):
        if env.get(name):
            options[option] = env[name]
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else "https://" + endpoint)
        options["ENDPOINT"] = parsed.netloc
        options["URL_STYLE"] = "path"
        options["USE_SSL"] = "true" if parsed.scheme == "https" else "false"
    body = ", ".join(f"{key} {literal(value)}" if key not in ("TYPE", "USE_SSL")
                     else f"{key} {value}" for key, value in options.items())
    con.execute(f"CREATE OR REPLACE SECRET telemetry_report_s3 ({body})")


def _load_httpfs(con: Any) -> None:
    """httpfs from DuckDB's own extension directory, else from the PyPI package
    ``duckdb-extension-httpfs`` of the same version as duckdb (no download at run time)."""
    import duckdb

    try:
        con.execute("LOAD httpfs")
        return
    except duckdb.Error:
        pass
    try:
        import duckdb_extension_httpfs  # type: ignore[import-not-found]
    except ImportError:
        duckdb_extension_httpfs = None
    if duckdb_extension_httpfs is not None:
        base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
        path = base / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
        if path.exists():
            con.execute(f"LOAD {literal(str(path))}")
            return
    raise RuntimeError(
        f"reading s3:// needs DuckDB's httpfs extension: pip install "
        f"'duckdb-extension-httpfs=={duckdb.__version__}' (or run INSTALL httpfs in DuckDB "
        f"where its extension repository is reachable)")


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
