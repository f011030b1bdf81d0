"""One place where the Jupyter hooks hand events to an EventLog.

Hooks run inside jupyter_server and JupyterHub: recording must never raise into them.
A failure is logged by schema id and error class (never the event's values).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from .._errors import EventValidationError, SchemaNotRegisteredError

log = logging.getLogger("telemetry_core.jupyter")

_BASE = "https://telemetry.jupyter.org/schemas/events/"
CODE_EXECUTED = _BASE + "kernel/code-executed"
KERNEL_LIFECYCLE = _BASE + "kernel/lifecycle"
FILE_OPENED = _BASE + "contents/opened"
FILE_SAVED = _BASE + "contents/saved"
DATASET_OPENED = _BASE + "contents/dataset-opened"
SERVER_SESSION = _BASE + "server/session"
SERVER_TERMINAL = _BASE + "server/terminal"
HUB_LOGIN = _BASE + "hub/login"
HUB_SERVER = _BASE + "hub/server"

#: Every schema the Jupyter hooks record (all version 1).
SCHEMA_IDS = (CODE_EXECUTED, KERNEL_LIFECYCLE, FILE_OPENED, FILE_SAVED, DATASET_OPENED,
              SERVER_SESSION, SERVER_TERMINAL, HUB_LOGIN, HUB_SERVER)


class Recorder:
    """Records the hooks' events into ``eventlog``, with the server-side user.

    The user goes into the event's ``user`` property (personal data: redacted unless the
    policy allows it) and, where ``EventLog.record_event`` takes it, as ``user=`` so
    that consent is decided for that user.
    """

    def __init__(self, eventlog: Any) -> None:
        self.eventlog = eventlog
        try:
            params = inspect.signature(eventlog.record_event).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self._takes_user = "user" in params

    def record(self, schema_id: str, data: dict[str, Any], user: str | None = None) -> None:
        """Record ``data`` against version 1 of ``schema_id``; never raises."""
        if user is not None:
            data["user"] = user
        try:
            if self._takes_user:
                self.eventlog.record_event(schema_id, 1, data, user=user)
            else:
                self.eventlog.record_event(schema_id, 1, data)
        except (EventValidationError, SchemaNotRegisteredError) as err:
            # These messages name schema, version, JSON path and rule, never a value.
            log.warning("telemetry: event not recorded: %s", err.args[0] if err.args else err)
        except Exception as err:
            log.warning("telemetry: event for schema %s version 1 not recorded (%s)",
                        schema_id, type(err).__name__)


def username_of(user: Any) -> str | None:
    """The user name of jupyter_server's ``current_user`` (a ``User``, a str or None)."""
    if user is None:
        return None
    if isinstance(user, str):
        return user or None
    name = getattr(user, "username", None) or getattr(user, "name", None)
    return name if isinstance(name, str) and name else None
