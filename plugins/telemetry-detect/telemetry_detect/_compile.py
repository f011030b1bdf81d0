"""Sigma rules -> DuckDB SQL conditions, through pySigma and its SQL backend.

pySigma parses the YAML, applies the Jupyter log-source pipeline (``_logsource``) and
converts each rule's detection into one SQL boolean expression over the event columns
(``_fields``). The SQL comes from pySigma's SQLite backend (SigmaHQ-maintained) with the
handful of tokens where DuckDB differs changed: double-quoted identifiers,
``regexp_matches`` for ``|re``, and case-insensitive matching (Sigma's default) with
``ILIKE``/``lower()``. One dialect serves streaming and hunting alike (docs/detection.md).

Speed: a case-insensitive comparison of a text field with a plain literal (no wildcard
inside) reads a lowered copy of the column, ``"lower(code)"``, which the engine computes
once per row, and compares with ``contains``/``starts_with``/``ends_with``/``=`` on the
lowered literal. DuckDB's ``ILIKE`` is ``LIKE`` over ``lower()`` of both sides, so this is
the same test, minus lowering the text again for every rule and every pattern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from ._fields import lowered_column
from ._gate import Gate, alternation, literal_pattern, plain_form, rule_gate
from ._logsource import pipeline

#: Rule files larger than this are refused (a rule is a few kB).
MAX_RULE_FILE_BYTES = 1_000_000
#: Rules loaded at most from one set of paths.
MAX_RULES = 5000


class DuckDBConditionBackend(sqliteBackend):  # type: ignore[misc]
    """pySigma's SQLite backend, speaking DuckDB, returning only the WHERE condition."""

    name: ClassVar[str] = "DuckDB condition (telemetry-detect)"
    field_quote: ClassVar[str] = '"'
    startswith_expression: ClassVar[str] = "{field} ILIKE '{value}%' ESCAPE '\\'"
    endswith_expression: ClassVar[str] = "{field} ILIKE '%{value}' ESCAPE '\\'"
    contains_expression: ClassVar[str] = "{field} ILIKE '%{value}%' ESCAPE '\\'"
    wildcard_match_expression: ClassVar[str] = "{field} ILIKE '{value}' ESCAPE '\\'"
    wildcard_match_str_expression: ClassVar[str] = "{field} ILIKE '{value}' ESCAPE '\\'"
    eq_expression: ClassVar[str] = "lower(CAST({field} AS VARCHAR)) = lower({value})"
    re_expression: ClassVar[str] = "regexp_matches(CAST({field} AS VARCHAR), '{regex}')"
    null_safe_expression: ClassVar[str] = "COALESCE({expr}, false)"

    #: Text fields compared on their lowered column; empty: every comparison as ILIKE.
    text_fields: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Fields whose lowered column the rule being converted reads.
        self.lowered: set[str] = set()

    def escape_and_quote_field(self, field_name: str) -> str:
        # Always a quoted identifier: DuckDB has its own keywords (user, ...).
        return '"' + field_name.replace('"', '""') + '"'

    def convert_condition_field_eq_val_str(self, cond: Any, state: Any) -> Any:
        form = plain_form(cond.value)
        if cond.field not in self.text_fields or form is None:
            return super().convert_condition_field_eq_val_str(cond, state)
        head, tail, plain = form
        function = {(True, True): "contains", (False, True): "starts_with",
                    (True, False): "ends_with"}.get((head, tail))
        column = lowered_column(cond.field)
        literal = "lower('" + plain.replace("'", "''") + "')"
        self.lowered.add(cond.field)
        return f"{function}({column}, {literal})" if function else f"{column} = {literal}"

    def convert_condition_or(self, cond: Any, state: Any) -> Any:
        # Plain literals ORed on one text field (a value list, most of the pack): one
        # regular expression, the alternation of the literals anchored as each compares.
        # Fewer SQL expressions: DuckDB's cost per query grows with their number.
        args = cond.args
        forms = [plain_form(arg.value) if isinstance(arg, ConditionFieldEqualsValueExpression)
                 else None for arg in args]
        name = getattr(args[0], "field", None) if args else None
        if len(args) < 2 or name not in self.text_fields or any(
                f is None or not f[2] or arg.field != name
                for f, arg in zip(forms, args, strict=True)):
            return super().convert_condition_or(cond, state)
        branches = []
        for head, tail, plain in (f for f in forms if f is not None):
            branches.append(("" if head else "^") + literal_pattern(plain) + ("" if tail else "$"))
        self.lowered.add(name)
        return f"({alternation(name, branches)})"

    def finalize_query_default(self, rule: Any, query: Any, index: int, state: Any) -> Any:
        return query


class RuleError(ValueError):
    """A rule file that cannot be read or converted; names the file and the rule, never
    an event value."""


@dataclass(frozen=True)
class CompiledRule:
    """One Sigma rule: its metadata and the SQL condition that matches its events."""

    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    condition: str
    source: str  # the file it came from
    fields: tuple[str, ...]  # the event fields its detection names
    rule: Any = field(repr=False, compare=False)
    #: False for a rule only correlations use (Sigma's ``generate: false``, the default).
    generate: bool = True
    #: Event fields correlations over this rule group or count by.
    group_fields: tuple[str, ...] = ()
    #: Text fields whose lowered column (``lowered_column``) the condition reads.
    lowered: tuple[str, ...] = ()
    #: ``(field, literal)`` pairs one of which occurs in every event the rule matches
    #: (``_gate``); None: no such set, the rule is evaluated on every event.
    gate: Gate | None = None


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.yml``/``.yaml`` files under ``paths`` (files or directories), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml")
                                and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise RuleError(f"{path}: no such rule file or directory")
    return found


def shipped_pack() -> Path:
    """The directory of the rule pack this distribution ships."""
    return Path(__file__).resolve().parent / "rules"


def load_rules(paths: Iterable[str | Path]) -> list[tuple[Path, SigmaRule]]:
    """Parse the Sigma detection rules in ``paths``; ``RuleError`` for a file that is not
    Sigma, and for correlation rules (``load_all`` reads those)."""
    rules, correlations = load_all(paths)
    if correlations:
        path, _ = correlations[0]
        raise RuleError(f"{path}: SigmaCorrelationRule rules are not supported here; only "
                        "detection rules")
    return rules


def load_all(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, SigmaRule]],
                                                   list[tuple[Path, SigmaCorrelationRule]]]:
    """Detection rules and correlation rules in ``paths``, references resolved across
    files; ``RuleError`` for a file that is not Sigma or a reference to no rule."""
    loaded: list[tuple[Path, SigmaRule]] = []
    correlations: list[tuple[Path, SigmaCorrelationRule]] = []
    for path in rule_files(paths):
        if path.stat().st_size > MAX_RULE_FILE_BYTES:
            raise RuleError(f"{path}: larger than {MAX_RULE_FILE_BYTES} bytes; not a rule file")
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
        except (SigmaError, ValueError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: not a Sigma rule: {_reason(exc)}") from None
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                correlations.append((path, rule))
                continue
            if not isinstance(rule, SigmaRule):
                raise RuleError(f"{path}: {type(rule).__name__} rules are not supported")
            if rule.errors:
                raise RuleError(f"{path}: rule {rule.title!r}: {_reason(rule.errors[0])}")
            loaded.append((path, rule))
            if len(loaded) > MAX_RULES:
                raise RuleError(f"more than {MAX_RULES} rules: split them into several sets")
    if correlations:
        members: list[Any] = [r for _, r in loaded] + [c for _, c in correlations]
        every = SigmaCollection(members)
        try:
            every.resolve_rule_references()
        except SigmaError as exc:
            raise RuleError(f"{correlations[0][0]}: {_reason(exc)}") from None
    return loaded, correlations


def rule_fields(rule: SigmaRule) -> tuple[str, ...]:
    """The field names a rule's detection items name (before any pipeline)."""
    names: set[str] = set()

    def walk(item: Any) -> None:
        for sub in getattr(item, "detection_items", ()) or ():
            walk(sub)
        name = getattr(item, "field", None)
        if isinstance(name, str):
            names.add(name)

    for detection in rule.detection.detections.values():
        walk(detection)
    return tuple(sorted(names))


def compile_rules(rules: Sequence[tuple[Path, SigmaRule]], registered: Iterable[str],
                  text_fields: Iterable[str] = ()) -> list[CompiledRule]:
    """Convert each rule to a DuckDB condition; ``RuleError`` names the first that fails.

    ``text_fields`` (VARCHAR fields) are compared on their lowered column, others with
    ``ILIKE``. pySigma's pipeline changes the rules it converts: pass rules loaded for
    this call."""
    backend = DuckDBConditionBackend(processing_pipeline=pipeline(registered))
    backend.text_fields = frozenset(text_fields)
    compiled = []
    for path, rule in rules:
        names = rule_fields(rule)  # before the pipeline adds __schema__
        backend.lowered.clear()
        try:
            # A rule only correlations use converts to no output; its query is kept.
            queries = backend.convert_rule(rule) or rule.get_conversion_result()
        except SigmaError as exc:
            raise RuleError(f"{path}: rule {rule.title!r}: {_reason(exc)}") from None
        condition = " OR ".join(f"({q})" for q in queries)
        compiled.append(CompiledRule(
            id=str(rule.id) if rule.id else rule.title, title=rule.title,
            level=str(rule.level.name).lower() if rule.level else "medium",
            tags=tuple(str(t) for t in rule.tags), condition=condition,
            source=str(path), fields=names, rule=rule, lowered=tuple(sorted(backend.lowered)),
            gate=rule_gate(rule, backend.text_fields)))
    return compiled


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
