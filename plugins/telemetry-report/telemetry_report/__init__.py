"""``telemetry report``: the events the file and S3 sinks stored, read in place by DuckDB,
as one self-contained HTML page (or JSON) operators read.

    >>> report = build_report("events/", since=..., until=...)   # a JSON-ready dict
    >>> Path("report.html").write_text(render_html(report))

The queries are .sql files in this package (``telemetry_report/sql/``), so the same SQL
runs on another engine over the same layout (see docs/report.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "render_html"]


def build_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """See :func:`telemetry_report._report.build_report` (imported when called, so that
    ``telemetry --help`` does not load DuckDB)."""
    from ._report import build_report as build

    return build(*args, **kwargs)


def render_html(report: dict[str, Any]) -> str:
    """The report as one HTML page with its charts' JavaScript inlined."""
    from ._html import render_html as render

    return render(report)
