"""Elasticsearch sink for telemetry_core: ``{"type": "elasticsearch", "hosts": [...], ...}``.

Installing this distribution registers the sink type ``elasticsearch``; it is only imported
and started when configuration names it.
"""

from ._index import IndexNamer, index_template_body
from ._sink import ElasticsearchSink

__all__ = ["ElasticsearchSink", "IndexNamer", "index_template_body"]
