"""Consent: who an event is about, whether they agreed, and the audit trail.

- ``acting_as(user)`` / ``current_user()``: the ambient user (a contextvar);
  ``record_event(..., user=...)`` wins over it.
- ``Consent`` (``eventlog.consent``): per-schema modes (``required``, ``opt-in``,
  ``opt-out``), the notice version, decisions and their history.
- ``Decision``: one stored decision (with who made it and how they were authenticated);
  ``ConsentError`` for what cannot be honoured, ``DecisionRefused`` for one of several.

See docs/consent.md.
"""

from ._consent import (
    CONSENT_SCHEMA_ID,
    MODES,
    Consent,
    ConsentStoreUnavailable,
    DecisionRefused,
    Mode,
)
from ._errors import ConsentError
from ._identity import acting_as, check_user, current_user
from ._store import Decision

__all__ = [
    "CONSENT_SCHEMA_ID",
    "MODES",
    "Consent",
    "ConsentError",
    "ConsentStoreUnavailable",
    "Decision",
    "DecisionRefused",
    "Mode",
    "acting_as",
    "check_user",
    "current_user",
]
