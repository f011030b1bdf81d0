"""Consent: who an event is about, whether they agreed, and the audit trail.

- ``acting_as(user)`` / ``current_user()``: the ambient user (a contextvar);
  ``record_event(..., user=...)`` wins over it.
- ``Consent`` (``eventlog.consent``): per-schema modes (``required``, ``opt-in``,
  ``opt-out``), the notice version, decisions and their history.
- ``ConsentPolicy``: what Consent knows of the deployment (allowed schemas, groups,
  cache times, what the notice collects); an EventLog builds it, so Consent can be
  built and tested without one.
- ``Decision``: one stored decision (with who made it and how they were authenticated);
  ``ConsentError`` for what cannot be honoured, ``DecisionRefused`` for one of several.
- ``USER_FORMAT``: what a well-formed user id is, in words (for error messages).
- ``store_url(url)``: the database URL of a store setting ("" is the default SQLite
  file); other stores (the subject key store) take the same forms.

See docs/consent.md.
"""

from typing import Any

from ._consent import CONSENT_SCHEMA_ID, MODES, Consent, ConsentStoreUnavailable, DecisionRefused
from ._decision import Decision
from ._errors import ConsentError
from ._identity import USER_FORMAT, acting_as, check_user, current_user
from ._policy import HASHED, KEPT, Collected, ConsentPolicy, Mode

__all__ = [
    "CONSENT_SCHEMA_ID",
    "HASHED",
    "KEPT",
    "MODES",
    "USER_FORMAT",
    "Collected",
    "Consent",
    "ConsentError",
    "ConsentPolicy",
    "ConsentStoreUnavailable",
    "Decision",
    "DecisionRefused",
    "Mode",
    "acting_as",
    "check_user",
    "current_user",
    "store_url",
]


def __getattr__(name: str) -> Any:
    # The store needs SQLAlchemy: imported when asked for, not with the package.
    if name == "store_url":
        from ._store import store_url

        return store_url
    raise AttributeError(name)
