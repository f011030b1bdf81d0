"""Consent: may an event about this user be recorded under this schema's consent mode?

Modes, per allowed schema (``allowed_schemas[id]["consent"]``):

- ``required``: recorded for everyone; no decision is asked for or accepted;
- ``opt-in``: recorded only while the user's newest decision is a *yes* that has not
  expired and that was given to a notice collecting no less than the current one;
- ``opt-out``: recorded unless the user's newest decision is a *no*.

The default is ``opt-in`` where the policy keeps personal data of the schema, else
``required``. Answers are cached per ``(user, schema id)`` for ``consent_cache_ttl``
seconds: that is the bound within which a decision made in another process takes
effect here (decisions made through this object take effect at once).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from ._errors import ConsentError
from ._identity import check_user
from ._policy import KEPT, ConsentPolicy, Mode

if TYPE_CHECKING:
    from ._store import ConsentStore, Decision

log = logging.getLogger("telemetry_core.consent")

MODES: tuple[Mode, ...] = ("required", "opt-in", "opt-out")
CONSENT_SCHEMA_ID = "https://telemetry.jupyter.org/schemas/events/consent/decision"
"""The shipped schema of consent-decision events (``required`` unless configured)."""

_CACHE_MAX = 100_000  # (user, schema) answers kept; cleared whole when full
_STORE_RETRY = (1.0, 30.0)  # first and longest wait before trying a down store again
_WARN_EVERY = 60.0  # seconds between warnings about a store that is down
_VIA_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_VERSION_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_monotonic = time.monotonic


class DecisionRefused(ConsentError):
    """One decision of several was refused: ``index`` says which; the ones before it
    were recorded."""

    def __init__(self, index: int, error: ConsentError) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class ConsentStoreUnavailable(ConsentError):
    """The consent store could not be reached (a server answers 503, not 400)."""


def _now_rfc3339() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _age_seconds(at: str) -> float:
    then = _dt.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.timezone.utc)
    return (_dt.datetime.now(_dt.timezone.utc) - then).total_seconds()


def covers(old: dict[str, int] | None, current: dict[str, int]) -> bool:
    """Whether consent to a notice that collected ``old`` (for one schema) covers what
    the current notice collects for it: nothing new, nothing kept that was hashed."""
    if old is None:
        return False
    return all(old.get(path, -1) >= level for path, level in current.items())


class Consent:
    """Consent state under one :class:`ConsentPolicy`: modes, the notice version, decisions.

    An EventLog keeps one as ``eventlog.consent`` and hands it a new policy when its
    configuration changes (:meth:`set_policy`). ``on_decision`` is called with each
    decision made through this object whose record the policy allows (the EventLog
    records it as an event); what it raises is logged, never the decision's content.
    The store opens on first use, so a deployment whose schemas are all ``required``
    never opens one.
    """

    def __init__(self, policy: ConsentPolicy,
                 on_decision: Callable[[Decision], object] | None = None) -> None:
        self._policy = policy
        self._on_decision = on_decision
        self._store: ConsentStore | None = None
        self._store_lock = threading.Lock()
        self._cache: dict[tuple[str | None, str], tuple[float, bool]] = {}
        self._modes: dict[str, Mode] = {}
        # What the current notice collects ({schema id: {path: level}}) and its version;
        # worked out on first use after each change of schemas or policy.
        self._collected_now: dict[str, dict[str, int]] | None = None
        self._version_now: str | None = None
        self._old_notices: dict[str, dict[str, dict[str, int]] | None] = {}
        self._counts_lock = threading.Lock()
        self._counts = {"no_consent": 0, "store_errors": 0}
        self._down_until = 0.0
        self._retry_delay = _STORE_RETRY[0]
        self._warned_at = -_WARN_EVERY

    # -- configuration-derived facts (cached until the schemas or policy change) -----

    @property
    def policy(self) -> ConsentPolicy:
        """The policy in force."""
        return self._policy

    def set_policy(self, policy: ConsentPolicy) -> None:
        """Put ``policy`` in force: cached answers are forgotten; a different store URL,
        cache time or lifetime closes the store (reopened, at the new place, on next
        use)."""
        old, self._policy = self._policy, policy
        if (old.store_url, old.cache_ttl, old.lifetime_days) != (
                policy.store_url, policy.cache_ttl, policy.lifetime_days):
            self.close()
        self.invalidate()

    def invalidate(self) -> None:
        """Forget modes, notice version and cached answers (schemas or policy changed)."""
        self._modes.clear()
        self._collected_now = self._version_now = None
        self._cache.clear()

    def mode(self, schema_id: str) -> Mode:
        """``required``, ``opt-in`` or ``opt-out`` for an allowed schema; ConsentError
        for a schema that is not in ``allowed_schemas``."""
        try:
            return self._modes[schema_id]
        except KeyError:
            pass
        allowed = self._policy.allowed
        if schema_id not in allowed:
            raise ConsentError(f"schema {schema_id!r} is not in allowed_schemas: nothing is "
                               "recorded for it, so there is no consent to give")
        mode: Mode = allowed[schema_id] or self._default_mode(schema_id)
        self._modes[schema_id] = mode
        return mode

    def _default_mode(self, schema_id: str) -> Mode:
        if schema_id == CONSENT_SCHEMA_ID:
            return "required"  # the record of a decision is the administrator's duty
        levels = self._collected().get(schema_id, {})
        return "opt-in" if any(p.startswith("personal:") and lvl == KEPT
                               for p, lvl in levels.items()) else "required"

    def _collected(self) -> dict[str, dict[str, int]]:
        if self._collected_now is None:
            self._collected_now = {sid: dict(levels)
                                   for sid, levels in self._policy.collected().items()}
        return self._collected_now

    @property
    def notice_version(self) -> str:
        """A stable hash of what the notice says (``n-`` and 12 hex digits)."""
        if self._version_now is None:
            policy = self._policy
            body = policy.notice_body() if policy.notice_body is not None else {
                "allowed": dict(policy.allowed), "groups": dict(policy.groups),
                "collected": self._collected()}
            digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
            self._version_now = "n-" + digest.hexdigest()[:12]
        return self._version_now

    def groups_of(self, schema_id: str) -> tuple[str, ...]:
        """The configured consent groups that contain ``schema_id``."""
        return self._policy.groups_of(schema_id)

    def _check_scope(self, scope: str) -> list[str]:
        """The allowed schemas a scope covers (ConsentError for an unknown scope)."""
        allowed = self._policy.allowed
        if scope in allowed:
            return [scope]
        members = self._policy.groups.get(scope)
        if members is None:
            raise ConsentError(
                f"unknown consent scope {scope[:200]!r}: a scope is an allowed schema id or "
                "a group named in EventLog.consent_groups")
        return [m for m in members if m in allowed]

    # -- the store ---------------------------------------------------------------------

    @property
    def store(self) -> ConsentStore:
        """The decision store (opened on first use; ConsentStoreUnavailable if it fails)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    from ._store import ConsentStore

                    try:
                        self._store = ConsentStore(self._policy.store_url)
                    except ConsentError:
                        raise
                    except ImportError as exc:
                        raise self._unavailable(exc, "from a clone of the repository: pip "
                                                "install '.[postgresql]'"
                                                ) from None
                    except Exception as exc:
                        raise self._unavailable(exc) from None
        return self._store

    def _unavailable(self, exc: BaseException, hint: str = "") -> ConsentStoreUnavailable:
        with self._counts_lock:
            self._counts["store_errors"] += 1
        now = _monotonic()
        # Wait longer after each failure (1 s doubling to 30 s), so a store that hangs
        # costs record_event at most one connect timeout per wait.
        self._down_until = now + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, _STORE_RETRY[1])
        from ._store import describe_url

        where = (self._store.describe() if self._store is not None
                 else describe_url(self._policy.store_url))
        if isinstance(exc, OSError) and exc.strerror:  # e.g. a directory it cannot create
            hint = f"{exc.strerror}: {exc.filename}" + (f"; {hint}" if hint else "")
        hint = f": {hint}" if hint else ""
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            # The exception's class only: its text may quote the URL or a row.
            log.warning("consent store %s unavailable (%s%s): opt-in and opt-out events are "
                        "not recorded until it answers; required ones are", where,
                        type(exc).__name__, hint)
        return ConsentStoreUnavailable(
            f"consent store {where} unavailable ({type(exc).__name__}{hint})")

    def _read(self, fn: Any, *args: Any) -> Any:
        if _monotonic() < self._down_until:
            raise ConsentStoreUnavailable("consent store unavailable (retrying shortly)")
        try:
            result = fn(self.store, *args)
        except ConsentError:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from None
        self._retry_delay = _STORE_RETRY[0]
        return result

    def close(self) -> None:
        """Close the store's connections (the EventLog does this in ``close()``, and when
        ``consent_store`` changes; the next use opens it again)."""
        with self._store_lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
        self._cache.clear()
        self._down_until, self._retry_delay = 0.0, _STORE_RETRY[0]

    # -- answers -----------------------------------------------------------------------

    def check(self, user: str | None, schema_id: str) -> bool:
        """The hot path of ``record_event`` for an ``opt-in``/``opt-out`` schema: the
        cached answer, else :meth:`permits` (a store that is down answers False)."""
        try:
            entry = self._cache.get((user, schema_id))
        except TypeError:  # an unhashable "user"
            check_user(user)
            raise
        if entry is not None and entry[0] > _monotonic():
            return entry[1]
        try:
            return self._permits(user, schema_id)
        except ConsentStoreUnavailable:
            return False

    def permits(self, user: str | None, schema_id: str) -> bool:
        """Whether an event of ``schema_id`` about ``user`` is recorded now.

        ConsentError for a malformed user id or a schema that is not allowed;
        ConsentStoreUnavailable when the store is needed and cannot be read.
        """
        return self._permits(user, schema_id)

    def _permits(self, user: str | None, schema_id: str) -> bool:
        mode = self.mode(schema_id)
        if mode == "required":
            return True
        if user is None:
            permitted = mode == "opt-out"  # nobody is known to have said no (or yes)
        else:
            check_user(user)
            permitted = self._evaluate(user, schema_id, mode)[1]
        ttl = self._policy.cache_ttl
        if ttl > 0:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[(user, schema_id)] = (_monotonic() + ttl, permitted)
        return permitted

    def _evaluate(self, user: str, schema_id: str, mode: Mode) -> tuple[bool, bool]:
        """(the user has a yes that counts, events are recorded) for a non-required mode."""
        scopes = (schema_id, *self.groups_of(schema_id))
        decision: Decision | None = self._read(lambda s: s.latest(user, scopes))
        if decision is None or not decision.granted:
            return False, decision is None and mode == "opt-out"
        lifetime = self._policy.lifetime_days * 86400.0
        counts = not (lifetime > 0 and _age_seconds(decision.at) > lifetime) \
            and self._covers(decision, schema_id)
        return counts, counts or mode == "opt-out"

    def _covers(self, decision: Decision, schema_id: str) -> bool:
        notice_version = decision.notice_version
        if notice_version == self.notice_version:
            return True
        # A yes to a group covers only the schemas that were in the group when it was
        # given; a yes to the schema itself does not care which groups it is in.
        current = {path: level for path, level in self._collected()[schema_id].items()
                   if not path.startswith("group:") or path == f"group:{decision.scope}"}
        if notice_version not in self._old_notices:  # a version's content never changes
            self._old_notices[notice_version] = self._read(lambda s: s.notice(notice_version))
        old = self._old_notices[notice_version]
        return covers(old.get(schema_id) if old is not None else None, current)

    # -- decisions ---------------------------------------------------------------------

    def decide(self, user: str, scope: str, granted: bool, *, via: str = "python",
               notice_version: str | None = None, by: str = "", auth: str = "") -> Decision:
        """Record a yes (``granted=True``) or no on ``scope`` (a schema id or group).

        A yes must be given to the current notice (``notice_version`` None or equal to
        :attr:`notice_version`); a no is honoured whatever notice the user saw. ``by`` and
        ``auth`` say who made the decision and how they were authenticated (the audit
        trail; ``by`` defaults to ``via:<via>``, ``auth`` to ``local``).
        ConsentError for a malformed user, an unknown scope, a ``required`` schema, a
        stale or malformed notice version, a bad ``via``; ConsentStoreUnavailable when
        the store cannot be written (nothing is recorded then).
        """
        [decision] = self.decide_all(user, [(scope, granted)], via=via,
                                     notice_version=notice_version, by=by, auth=auth)
        return decision

    def decide_all(self, user: str, decisions: list[tuple[str, bool]], *, via: str = "python",
                   notice_version: str | None = None, by: str = "",
                   auth: str = "") -> list[Decision]:
        """Record several (scope, granted) decisions of ``user`` in one store transaction.

        They are checked in order as :meth:`decide` checks one; the first that is refused
        raises ``DecisionRefused`` (its index, and the ConsentError) after the ones before
        it were recorded.
        """
        current = self.notice_version
        accepted: list[Decision] = []
        refused: tuple[int, ConsentError] | None = None
        for i, (scope, granted) in enumerate(decisions):
            try:
                accepted.append(self._checked(user, scope, granted, via, notice_version,
                                              current, by or f"via:{via}", auth or "local"))
            except ConsentError as exc:
                if not accepted and len(decisions) == 1:
                    raise
                refused = (i, exc)
                break
        if accepted:
            notice = (current, self._collected()) if any(d.granted for d in accepted) \
                else None
            self._read(lambda store: store.append_all(accepted, notice))
            for decision in accepted:
                for member in self._check_scope(decision.scope):
                    self._cache.pop((user, member), None)
                self._record_event(decision)
        if refused is not None:
            raise DecisionRefused(refused[0], refused[1])
        return accepted

    def _checked(self, user: str, scope: str, granted: bool, via: str,
                 notice_version: str | None, current: str, by: str, auth: str) -> Decision:
        from ._decision import Decision

        check_user(user)
        if not isinstance(granted, bool):
            raise ConsentError(f"granted is true or false, got {type(granted).__name__}")
        if not isinstance(via, str) or _VIA_RE.fullmatch(via) is None:
            raise ConsentError("via names the channel in lower case, e.g. 'cli', 'rest', "
                               "'jupyterlab'")
        members = self._check_scope(scope)
        if not members:
            raise ConsentError(f"scope {scope[:200]!r} names no allowed schema")
        if {self.mode(m) for m in members} == {"required"}:
            raise ConsentError(
                f"scope {scope[:200]!r} covers only required schemas: they are recorded for "
                "everyone, so there is nothing to grant or refuse")
        if notice_version is None:
            notice_version = current
        elif not isinstance(notice_version, str) or not _VERSION_RE.fullmatch(notice_version):
            raise ConsentError("a notice version looks like 'n-3f2a9c1b0d4e'")
        elif granted and notice_version != current:
            raise ConsentError(
                f"the notice changed (it is now {current}): show the current notice and ask "
                "again; a yes only counts for the notice the user saw")
        return Decision(user=user, scope=scope, granted=granted, notice_version=notice_version,
                        at=_now_rfc3339(), via=via, by=by, auth=auth)

    def grant(self, user: str, scope: str, **kw: Any) -> Decision:
        """:meth:`decide` with ``granted=True``."""
        return self.decide(user, scope, True, **kw)

    def revoke(self, user: str, scope: str, **kw: Any) -> Decision:
        """:meth:`decide` with ``granted=False``."""
        return self.decide(user, scope, False, **kw)

    def _record_event(self, decision: Decision) -> None:
        # The decision reaches the same sinks as everything else, if the administrator
        # allowed the consent-decision schema (not otherwise: no "not_allowed" count).
        if self._on_decision is None or CONSENT_SCHEMA_ID not in self._policy.allowed:
            return
        try:
            self._on_decision(decision)
        except Exception as exc:
            log.error("could not record the consent-decision event (%s)", type(exc).__name__)

    def history(self, user: str | None = None, scope: str | None = None, *,
                limit: int | None = None, before: int | None = None) -> list[Decision]:
        """Every decision, oldest first (the audit trail), for one user and/or scope; with
        ``limit`` only the latest ``limit`` made before the decision ``before`` (an id)."""
        if user is not None:
            check_user(user)
        result: list[Decision] = self._read(
            lambda s: s.history(user, scope, limit=limit, before=before))
        return result

    def state(self, user: str, *, limit: int | None = None,
              before: int | None = None) -> dict[str, Any]:
        """The user's consent state, as ``GET consent`` of the REST API answers it:
        per allowed schema its mode, whether the user's yes counts (``granted``) and
        whether events are recorded (``recorded``), then the user's decisions: all, or
        with ``limit`` the latest page, and in ``older`` the cursor (``before``) of the
        page before it (None when there is none)."""
        check_user(user)
        schemas = []
        for schema_id in self._policy.allowed:
            mode = self.mode(schema_id)
            granted, recorded = (False, True) if mode == "required" else \
                self._evaluate(user, schema_id, mode)
            schemas.append({"schema_id": schema_id, "consent": mode, "granted": granted,
                            "recorded": recorded})
        page = self.history(user, limit=None if limit is None else limit + 1, before=before)
        older = None
        if limit is not None and len(page) > limit:
            page = page[1:]
            older = page[0].id
        answer: dict[str, Any] = {"user": user, "notice_version": self.notice_version,
                                  "schemas": schemas,
                                  "decisions": [d.as_json() for d in page]}
        if limit is not None:
            answer["older"] = older
        return answer

    def record_access(self, user: str, read_by: str, auth: str) -> None:
        """Record that ``read_by`` read ``user``'s decisions (an admin reading another
        user's history is part of the audit trail)."""
        self._read(lambda s: s.record_access(user, read_by, auth, _now_rfc3339()))

    @property
    def counters(self) -> dict[str, int]:
        """Events not recorded for lack of consent, and failed store reads/writes."""
        with self._counts_lock:
            return dict(self._counts)

    def count_no_consent(self) -> None:
        """Count one event not recorded for lack of consent (counts only, no content)."""
        with self._counts_lock:
            self._counts["no_consent"] += 1
