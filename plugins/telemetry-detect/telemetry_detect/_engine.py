"""Evaluate compiled rules with DuckDB: over one batch of events, or over stored files.

Every event becomes one row with a column per field the rules name (``_fields``), plus
the lowered copy of each text field rules compare case-insensitively (``_compile``),
materialised once; all rules then run as one query over it, so a batch costs one DuckDB
statement whatever the number of rules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ._compile import CompiledRule, RuleError
from ._fields import FieldCatalogue, lowered_column
from ._gate import gate_column, gate_expression

#: Matches one evaluation returns at most (a flood of matches is cut, and counted).
MAX_MATCHES = 100_000


@dataclass(frozen=True)
class Match:
    """One event one rule matched: the rule and the event's envelope and user."""

    rule: CompiledRule
    event_id: str
    timestamp: str
    schema: str
    user: str | None
    #: The values of the rule's ``group_fields`` in the event (for correlations).
    values: tuple[tuple[str, str | None], ...] = ()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _values(names: tuple[str, ...], catalogue: FieldCatalogue) -> str:
    """SQL for a list of the values of the fields ``names``, as text."""
    if not names:
        return "NULL::VARCHAR[]"
    items = []
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        items.append(f"CAST({quoted} AS VARCHAR)" if name in catalogue.fields else "NULL")
    return "[" + ", ".join(items) + "]::VARCHAR[]"


def _gated(rule: CompiledRule) -> str:
    """SQL for "the rule's gate is open AND " (``_gate``), or nothing for an ungated rule."""
    if rule.gate is None:
        return ""
    fields = sorted({name for name, _ in rule.gate})
    return "(" + " OR ".join(gate_column(name) for name in fields) + ") AND "


def _pairs(rule: CompiledRule, names: tuple[str, ...],
           vals: Any) -> tuple[tuple[str, str | None], ...]:
    if not rule.group_fields or vals is None:
        return ()
    found = dict(zip(names, vals, strict=False))
    return tuple((name, found.get(name)) for name in rule.group_fields)


class Matcher:
    """Compiled rules bound to a field catalogue, evaluated in one DuckDB connection.

    Raises ``RuleError`` at construction for a rule DuckDB cannot evaluate (a field no
    schema has, a comparison of the wrong type), naming the rule and its file.
    """

    def __init__(self, rules: Sequence[CompiledRule], catalogue: FieldCatalogue) -> None:
        self.rules = list(rules)
        self.catalogue = catalogue
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        needed = {"user"} | {name for rule in self.rules
                             for name in (*rule.fields, *rule.group_fields)}
        known = needed & set(catalogue.fields)
        self._extraction = catalogue.extraction(known)
        self._projection = catalogue.projection(known)
        literals: dict[str, set[str]] = {}
        for rule in self.rules:
            for name, literal in rule.gate or ():
                literals.setdefault(name, set()).add(literal)
        lowered = sorted({name for rule in self.rules for name in rule.lowered} | set(literals))
        self._lowered = "".join(f', lower("{name}") AS {lowered_column(name)}'
                                for name in lowered)
        # One pass per gated field finds the rows where any gated rule could match.
        self._gates = "".join(f", {gate_expression(name, sorted(found))} AS {gate_column(name)}"
                              for name, found in sorted(literals.items()))
        user = '"user"' if "user" in catalogue.fields else "NULL"
        self._group_fields = tuple(sorted({n for r in self.rules for n in r.group_fields}))
        values = _values(self._group_fields, catalogue)
        # One scan for all rules: each row lists the indices of the rules it matches.
        cases = ", ".join(f"CASE WHEN {_gated(rule)}({rule.condition}) THEN {i} END"
                          for i, rule in enumerate(self.rules))
        self._select = (
            f"SELECT unnest(list_filter([{cases}], lambda x: x IS NOT NULL)) AS rule_index, "
            f"\"__event_id__\", \"__timestamp__\", \"__schema__\", "
            f"CAST({user} AS VARCHAR) AS matched_user, {values} AS vals FROM events")
        self._selects = [
            f"SELECT {i} AS rule_index FROM events WHERE {rule.condition}"
            for i, rule in enumerate(self.rules)]
        self._check_each_rule()

    def _events(self, rows_sql: str, gates: bool = True) -> str:
        """SQL for the rows of events out of ``rows_sql``, a query of JSON texts ``raw``."""
        return (f"SELECT *{self._gates if gates else ''} FROM (SELECT *{self._lowered} FROM "
                f"(SELECT {self._projection} FROM (SELECT {self._extraction} AS \"values\" "
                f"FROM ({rows_sql}))))")

    def _check_each_rule(self) -> None:
        # All rules in one query (quick start-up); only if that fails, one query a rule,
        # to name the rule that cannot be evaluated.
        nothing = "SELECT NULL::VARCHAR AS raw LIMIT 0"
        try:
            self._con.execute(self._query(nothing, None)).fetchall()
            return
        except duckdb.Error as exc:
            whole = str(exc).splitlines()[0]
        empty = f"events AS ({self._events(nothing, gates=False)})"
        for rule, select in zip(self.rules, self._selects, strict=True):
            try:
                self._con.execute(f"WITH {empty} {select}").fetchall()
            except duckdb.Error as exc:
                message = str(exc).splitlines()[0]
                raise RuleError(f"{rule.source}: rule {rule.title!r} cannot be evaluated: "
                                f"{message}") from None
        raise RuleError(f"the rules' literal gates cannot be evaluated: {whole}")

    def _query(self, rows_sql: str, since: str | None) -> str:
        where = f" WHERE \"__timestamp__\" >= {_literal(since)}" if since else ""
        return (f"WITH events AS (SELECT * FROM ({self._events(rows_sql)}){where}) "
                f"SELECT * FROM ({self._select}) "
                f"ORDER BY \"__timestamp__\", rule_index LIMIT {MAX_MATCHES}")

    def _run(self, sql: str, params: list[Any]) -> list[Match]:
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return [Match(self.rules[i], str(eid or ""), str(ts or ""), str(sid or ""), user,
                      _pairs(self.rules[i], self._group_fields, vals))
                for i, eid, ts, sid, user, vals in rows]

    def match_json(self, events: Sequence[bytes | str]) -> list[Match]:
        """The matches among events given as JSON objects (one per item)."""
        if not events or not self.rules:
            return []
        texts = [e.decode() if isinstance(e, bytes) else e for e in events]
        return self._run(self._query("SELECT unnest($1::VARCHAR[]) AS raw", None), [texts])

    def match_files(self, files: Sequence[str], since: str | None = None,
                    derive: Callable[[str], str] | None = None) -> list[Match]:
        """The matches among JSON-lines files (plain or gzip), events since ``since``.
        ``derive`` rewrites the query of the JSON rows (column ``raw``), e.g. to add
        derived fields (``_novelty.hunt_rows``)."""
        if not files or not self.rules:
            return []
        rows = ("SELECT json::VARCHAR AS raw FROM read_json_objects($1, "
                "format='newline_delimited', compression='auto_detect', ignore_errors=true)")
        return self._run(self._query(derive(rows) if derive else rows, since), [list(files)])

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self._lock:
            self._con.close()
