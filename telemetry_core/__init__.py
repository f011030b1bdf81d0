"""telemetry_core: schema-validated, privacy-first event logging for Jupyter.

The public face is small: ``EventLog`` records events; sinks live in
``telemetry_core.sinks``; test helpers in ``telemetry_core.testing``; plugins use
``hookimpl``.
"""

from ._hookspecs import hookimpl
from ._version import __version__

__all__ = ["__version__", "hookimpl"]

try:  # EventLog is built under issue 2; keep the package importable meanwhile.
    from ._eventlog import EventLog  # noqa: F401

    __all__.append("EventLog")
except ImportError:  # pragma: no cover
    pass
