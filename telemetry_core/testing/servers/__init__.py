"""Real servers for tests: S3 (moto), Kafka (Tansu), Elasticsearch (noida-db emulator),
PostgreSQL (the machine's own binaries), jupyter_server / JupyterLab and JupyterHub
(subprocesses), and this project's own REST API (``telemetry serve``).

Each launcher is a context manager yielding the server's address. It first honours an
environment variable naming an existing server (a real cluster), then starts the
embedded server on a free port on 127.0.0.1 and stops it afterwards. Testcontainers is
tried where a Docker engine answers (``TELEMETRY_TEST_CONTAINERS=1``).

Imports are lazy so that using one server does not need the others' packages.
"""

from __future__ import annotations

from typing import Any

from ._jupyter import JupyterProcess  # the standard library only
from ._ports import free_port

__all__ = ["JupyterProcess", "elasticsearch_server", "free_port", "jupyter_server", "jupyterhub",
           "kafka_server", "postgresql_server", "rest_server", "s3_server"]


def s3_server(**kwargs: Any) -> Any:
    """Context manager yielding an ``S3Server`` (endpoint_url, credentials)."""
    from ._s3 import s3_server as impl

    return impl(**kwargs)


def kafka_server(**kwargs: Any) -> Any:
    """Context manager yielding a ``KafkaServer`` (bootstrap_servers; stop/start for faults)."""
    from ._kafka import kafka_server as impl

    return impl(**kwargs)


def elasticsearch_server(**kwargs: Any) -> Any:
    """Context manager yielding an ``ElasticsearchServer`` (url, stop/start for fault tests)."""
    from ._elasticsearch import elasticsearch_server as impl

    return impl(**kwargs)


def rest_server(config: dict[str, Any], **kwargs: Any) -> Any:
    """Context manager yielding a ``RestServer``: ``telemetry serve`` as a subprocess."""
    from ._rest import rest_server as impl

    return impl(config, **kwargs)


def jupyter_server(config: str = "", **kwargs: Any) -> Any:
    """Context manager yielding a ``JupyterProcess`` running ``jupyter server`` (or lab)."""
    from ._jupyter import jupyter_server as impl

    return impl(config, **kwargs)


def jupyterhub(config: str = "", **kwargs: Any) -> Any:
    """Context manager yielding a ``JupyterProcess`` running JupyterHub."""
    from ._jupyter import jupyterhub as impl

    return impl(config, **kwargs)


def postgresql_server(**kwargs: Any) -> Any:
    """Context manager yielding a ``PostgresServer`` (url; stop/start for fault tests)."""
    from ._postgresql import postgresql_server as impl

    return impl(**kwargs)
