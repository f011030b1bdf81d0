"""What the EventLog adds for a person's rights, per recorded event (step 4b, after
redaction and modifiers, before the handlers):

- ``__subject__``: the keyed pseudonym of the user the event is about, when a subject
  secret is configured; how ``telemetry subject`` finds a person's events without their
  name in clear;
- for schemas whose policy says ``"encrypt": true``: the personal values the policy keeps,
  sealed with that user's own key (erasing the key shreds them everywhere). An event that
  names no user has no key to seal with: those values are recorded as null.
"""

from __future__ import annotations

from typing import Any

from .._plan import Node
from .._privacy import Policy
from ._crypto import subject_key
from ._sealing import seal_event, sealing_plan

_USER_CACHE = 4096


class SubjectRecording:
    """The EventLog's part for subject rights (``secret``: the subject secret, bytes;
    ``key_store``: a URL, opened on the first sealed value)."""

    def __init__(self, secret: bytes, key_store_url: str, master_key: str | None) -> None:
        self.secret = secret
        self._key_store_url = key_store_url
        self._master_key = master_key
        self._keys: Any = None
        # user -> (subject key, their sealer's seal or None): one HMAC and one key-store
        # look-up per user, not per event. Bounded; emptied when full.
        self._users: dict[str, tuple[str, Any]] = {}

    def for_user(self, user: str, sealing: bool) -> tuple[str, Any]:
        """``(subject key, seal function or None)`` for ``user``."""
        found = self._users.get(user)
        if found is None or (sealing and found[1] is None):
            subject = subject_key(user, self.secret)
            found = (subject, self.keys.sealer(subject).seal if sealing else None)
            if len(self._users) >= _USER_CACHE:
                self._users.clear()
            self._users[user] = found
        return found


    @property
    def keys(self) -> Any:
        """The :class:`KeyStore` (opened on first use)."""
        if self._keys is None:
            from ._keys import KeyStore

            self._keys = KeyStore(self._key_store_url, self._master_key)
        return self._keys

    def route(self, schema: dict[str, Any], policy: Policy, encrypt: bool,
              documents: dict[str, Any] | None) -> SubjectRoute | None:
        """What to do for events of one schema (None: nothing)."""
        plan = sealing_plan(schema, policy, documents) if encrypt else None
        if plan is None and not self.secret:
            return None
        if plan is not None and not self.secret:
            raise ValueError(
                f"schema {schema.get('$id')!r}: 'encrypt' needs a subject secret (set "
                "EventLog.subject_secret or TELEMETRY_SUBJECT_SECRET)")
        return SubjectRoute(self, plan)

    def close(self) -> None:
        """Release the key store."""
        if self._keys is not None:
            self._keys.close()


class SubjectRoute:
    """Applies ``__subject__`` and sealing to events of one schema."""

    __slots__ = ("_recording", "_plan")

    def __init__(self, recording: SubjectRecording, plan: Node | None) -> None:
        self._recording = recording
        self._plan = plan

    def apply(self, recorded: dict[str, Any], user: str | None) -> dict[str, Any]:
        """``recorded`` (ours to change at its top level) with the subject fields."""
        if user is None:
            if self._plan is not None:
                recorded = seal_event(self._plan, recorded, lambda _value: None)
            return recorded
        subject, seal = self._recording.for_user(user, self._plan is not None)
        if self._plan is not None:
            recorded = seal_event(self._plan, recorded, seal)
        recorded["__subject__"] = subject
        return recorded
