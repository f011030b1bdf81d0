"""Subject-rights benchmark: what ``__subject__`` and sealing one personal field per
user (AES-GCM, issue #28) add to ``record_event``, in one run.

The same EventLog configuration and events (bench_core's, the user kept by policy) three
ways: the baseline (the user kept in clear), with a subject secret (the ``__subject__``
pseudonym added), and with ``"encrypt": true`` (the one kept personal field, ``user``,
sealed with that user's key, cached per process). A handler that formats nothing.
Target: sealing one field under 15% of ``record_event``.

Prints microseconds per event (best round, CPU time) and the ratio to the baseline.
``BENCH_QUICK=1`` for a short run.
"""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from collections.abc import Callable

from bench_core import EVENTS, QUICK, SCHEMA, SCHEMA_ID, Discard, Timing, _clock, _since

ROUNDS = 3 if QUICK else 9
N = 2_000 if QUICK else 20_000
USERS = [f"user{i}" for i in range(13)]


def make(tmp: str, *, secret: str = "", encrypt: bool = False) -> Callable[[int], Timing]:
    from telemetry_core import EventLog

    log = EventLog(handlers=[Discard()], register_builtin_schemas=False,
                   allowed_schemas={SCHEMA_ID: {"allowed_properties": ["user"],
                                                "consent": "required", "encrypt": encrypt}},
                   subject_secret=secret,
                   subject_key_store=f"sqlite:///{tmp}/keys-{secret}-{encrypt}.sqlite3")
    log.register_schema(copy.deepcopy(SCHEMA))

    def run(n: int) -> Timing:
        record, events, users = log.record_event, EVENTS, USERS
        start = _clock()
        for i in range(n):
            record(SCHEMA_ID, "1", events[i & 63], user=users[i % 13])
        return _since(start)

    return run


def main() -> int:
    from telemetry_core.subject import new_master_key

    warnings.simplefilter("ignore")
    os.environ["TELEMETRY_SUBJECT_MASTER_KEY"] = new_master_key()
    with tempfile.TemporaryDirectory() as tmp:
        cases: list[tuple[str, Callable[[int], Timing]]] = [
            ("user kept in clear: baseline", make(tmp)),
            ("+ __subject__ pseudonym", make(tmp, secret="s")),
            ("+ __subject__, user sealed (AES-GCM)", make(tmp, secret="s", encrypt=True)),
        ]
        for _label, run in cases:
            run(200)  # warm up: validators compiled, keys made and cached
        best: dict[str, float] = {}
        for _ in range(ROUNDS):
            for label, run in cases:
                cpu = run(N)[1] / N * 1e6
                best[label] = min(best.get(label, cpu), cpu)
    base = best[cases[0][0]]
    print(f"{'case':<40} {'us/event':>9} {'vs baseline':>12}")
    for label, _run in cases:
        print(f"{label:<40} {best[label]:>9.2f} {best[label] / base:>11.2f}x")
    sealed = best[cases[2][0]] / base - 1
    print(f"\nsealing one field (with __subject__): {sealed * 100:+.1f}% of record_event "
          "(target: under 15%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
