"""hub/login gained the optional ``remote_address`` within version 1 (docs/detection.md,
"Schema version"): what was recorded before stays valid, and a hub/login version 1
without the property (an older telemetry-core) drops it instead of refusing the event."""

from __future__ import annotations

import copy
from typing import Any

from telemetry_core import EventLog
from telemetry_core.testing import capture_events

LOGIN = "https://telemetry.jupyter.org/schemas/events/hub/login"
KEEP = {LOGIN: {"allowed_properties": ["user", "remote_address"], "consent": "required"}}


def _shipped_login() -> dict[str, Any]:
    return copy.deepcopy(EventLog().schemas.documents()[LOGIN])


def test_a_login_recorded_before_the_address_still_validates() -> None:
    log = EventLog(allowed_schemas=KEEP)
    with capture_events(log) as events:
        assert log.record_event(LOGIN, 1, {"authenticator": "PAMAuthenticator", "user": "ana"})
    assert events[0]["user"] == "ana" and "remote_address" not in events[0]
    log.close()


def test_an_older_version_1_drops_the_address_as_undeclared() -> None:
    older = _shipped_login()
    del older["properties"]["remote_address"]
    log = EventLog(allowed_schemas=KEEP, register_builtin_schemas=False)
    log.register_schema(older)
    with capture_events(log) as events:
        assert log.record_event(LOGIN, 1, {"authenticator": "PAMAuthenticator",
                                           "user": "ana", "remote_address": "127.0.0.1"})
    assert "127.0.0.1" not in str(events)
    log.close()
