"""Consent benchmark: what the consent check adds to ``record_event``, in one run.

The same EventLog configuration and events (bench_core's) with the schema's consent
mode set to ``required`` (no per-user check: the baseline) and to ``opt-in`` and
``opt-out`` with the decision cached (the default ``consent_cache_ttl``), the user given
by keyword and by ``acting_as``; plus, for scale, an uncached read of the SQLite
store per event (``consent_cache_ttl=0``), and the cached check timed on its own (a
difference of two totals is at the mercy of a busy machine). Target: under 10% with
the decision cached.

Prints microseconds per event (best round, CPU time) and the ratio to the baseline.
``BENCH_QUICK=1`` for a short run.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from collections.abc import Callable

from bench_core import EVENTS, QUICK, SCHEMA, SCHEMA_ID, Discard, Timing, _clock, _since

ROUNDS = 3 if QUICK else 9
N = 2_000 if QUICK else 20_000
N_UNCACHED = 100 if QUICK else 1_000
USERS = [f"user{i}" for i in range(13)]


def make(store: str, mode: str, how: str = "keyword", ttl: float = 5.0,
         granted: bool = True) -> Callable[[int], Timing]:
    from telemetry_core import EventLog, acting_as

    log = EventLog(handlers=[Discard()], register_builtin_schemas=False,
                   allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"],
                                                "consent": mode}},
                   consent_cache_ttl=ttl, consent_store=store)
    log.register_schema(copy.deepcopy(SCHEMA))
    if mode == "opt-in" and granted:
        for user in USERS:
            log.consent.grant(user, SCHEMA_ID)

    def run(n: int) -> Timing:
        record, events, users = log.record_event, EVENTS, USERS
        start = _clock()
        if how == "context":
            with acting_as("user1"):
                for i in range(n):
                    record(SCHEMA_ID, "1", events[i & 63])
        else:
            for i in range(n):
                record(SCHEMA_ID, "1", events[i & 63], user=users[i % 13])
        return _since(start)

    return run


def make_check_alone(store: str) -> Callable[[int], Timing]:
    """Only what record_event adds for a non-required schema: the ambient user and the
    cached answer (less disturbed by a busy machine than a difference of two totals)."""
    from telemetry_core import EventLog
    from telemetry_core.consent import current_user

    log = EventLog(register_builtin_schemas=False, consent_store=store,
                   allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"],
                                                "consent": "opt-in"}})
    log.register_schema(copy.deepcopy(SCHEMA))
    for user in USERS:
        log.consent.grant(user, SCHEMA_ID)

    def run(n: int) -> Timing:
        check, current, users = log.consent.check, current_user, USERS
        start = _clock()
        for i in range(n):
            user = users[i % 13]
            check(user if user is not None else current(), SCHEMA_ID)
        return _since(start)

    return run


def main() -> int:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        # Each case its own store: a yes given in one must not answer another.
        stores = (f"sqlite:///{tmp}/consent-{i}.sqlite3" for i in range(100))
        cases: list[tuple[str, int, Callable[[int], Timing]]] = [
            ("required (no consent check): baseline", N, make(next(stores), "required")),
            ("opt-in, cached yes, user= keyword", N, make(next(stores), "opt-in")),
            ("opt-in, cached yes, acting_as", N, make(next(stores), "opt-in", "context")),
            ("opt-out, cached (no decision)", N, make(next(stores), "opt-out")),
            ("opt-in, cached no (not recorded)", N,
             make(next(stores), "opt-in", granted=False)),
            ("opt-in, uncached: SQLite read per event", N_UNCACHED,
             make(next(stores), "opt-in", ttl=0)),
            ("the cached check alone (no record_event)", N, make_check_alone(next(stores))),
        ]
        for _label, _n, run in cases:
            run(50)  # warm up: validators compiled, store opened, cache filled
        best: dict[str, float] = {}
        for _ in range(ROUNDS):
            for label, n, run in cases:
                cpu = run(n)[1] / n * 1e6
                best[label] = min(best.get(label, cpu), cpu)
    base = best[cases[0][0]]
    print(f"{'case':<44} {'us/event':>9} {'vs baseline':>12}")
    for label, _n, _run in cases:
        print(f"{label:<44} {best[label]:>9.2f} {best[label] / base:>11.2f}x")
    cached = [best[label] for label, _n, _r in cases[1:4]]
    worst = max(cached) / base - 1
    alone = best[cases[-1][0]] / base
    print(f"\nconsent check, decision cached: {worst * 100:+.1f}% at worst of the totals; "
          f"the check alone is {alone * 100:.1f}% of a required record_event "
          f"(target: under 10%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
