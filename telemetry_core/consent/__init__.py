"""Consent: who an event is about, whether they agreed, and the audit trail.

- ``acting_as(user)`` / ``current_user()``: the ambient user (a contextvar);
  ``record_event(..., user=...)`` wins over it.
- ``Consent`` (``eventlog.consent``): per-schema modes (``required``, ``opt-in``,
  ``opt-out``), the notice version, decisions and their history.
- ``Decision``: one stored decision; ``ConsentError`` for what cannot be honoured.

See docs/consent.md.
"""

from ._consent import CONSENT_SCHEMA_ID, MODES, Consent, ConsentStoreUnavailable, Mode
from ._decision import Decision
from ._errors import ConsentError
from ._identity import acting_as, check_user, current_user

__all__ = [
    "CONSENT_SCHEMA_ID",
    "MODES",
    "Consent",
    "ConsentError",
    "ConsentStoreUnavailable",
    "Decision",
    "Mode",
    "acting_as",
    "check_user",
    "current_user",
]
