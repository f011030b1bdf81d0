"""Gates: literals a rule cannot match without, tested for all rules in one pass.

Most rules compare a text field with a few plain literals (``code|contains``). A row in
which none of the pack's literals occurs can match none of those rules, and most rows
are such rows. So the engine first runs one regular expression per field, the
alternation of every rule's literals (RE2 inside DuckDB scans the text once, however many
literals), and evaluates a gated rule only where its field's gate is true.

A rule's gate is a set of ``(field, literal)`` pairs such that whenever the rule's
condition is true, at least one literal occurs in ``lower()`` of its field: exactly the
comparisons ``_compile`` writes as ``contains``/``starts_with``/``ends_with``/``=`` on a
lowered column. A rule with no such set (a regular expression alone, a ``not``, a cased
or wildcard comparison) has no gate and is evaluated on every row. The gate only skips
work: matches are those of the rule's own condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from ._fields import ENVELOPE, lowered_column

#: Alternatives one regular expression holds at most; more are split over several (RE2
#: bounds the memory of one compiled expression).
MAX_ALTERNATIVES = 500

Gate = frozenset[tuple[str, str]]
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def plain_form(value: Any) -> tuple[bool, bool, str] | None:
    """``(leading *, trailing *, text)`` of a Sigma string with no wildcard or
    placeholder between its ends; None for anything else."""
    if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
        return None
    star = SpecialChars.WILDCARD_MULTI
    head = len(value) > 0 and value.startswith(star)
    tail = len(value) > int(head) and value.endswith(star)
    inner = value[int(head):len(value) - int(tail)]
    if inner.contains_special() or inner.contains_placeholder():
        return None
    return head, tail, "".join(str(part) for part in inner.s)  # only text parts are left


def _node(node: Any, text_fields: frozenset[str]) -> Gate | None:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        form = plain_form(node.value)
        if form is None or node.field not in text_fields or node.field in ENVELOPE:
            return None  # envelope fields (the schema) hold the same literal in every row
        return frozenset({(node.field, form[2])}) if form[2] else None
    children = [_node(arg, text_fields) for arg in getattr(node, "args", ())]
    if isinstance(node, ConditionOR):
        if not children or any(child is None for child in children):
            return None
        return frozenset().union(*(c for c in children if c is not None))
    if isinstance(node, ConditionAND):
        # Any one child's gate will do: take the one whose shortest literal is longest
        # (long literals occur in fewer rows).
        known = [child for child in children if child is not None]
        return max(known, key=lambda g: min(len(lit) for _, lit in g), default=None)
    return None  # not, keywords, regular expressions, ...


def rule_gate(rule: Any, text_fields: Iterable[str]) -> Gate | None:
    """The gate of a rule pySigma has converted (its parsed conditions are those the
    backend wrote), or None."""
    fields = frozenset(text_fields)
    gates = [_node(parsed.parsed, fields) for parsed in rule.detection.parsed_condition]
    if not gates or any(g is None for g in gates):
        return None
    return frozenset().union(*(g for g in gates if g is not None))


def gate_column(field_name: str) -> str:
    """The quoted name of the column holding a field's gate (no field path has
    parentheses)."""
    return '"gate(' + field_name.replace('"', '""') + ')"'


def literal_pattern(literal: str) -> str:
    """An RE2 pattern matching ``literal``, to be lowered by SQL ``lower()`` with the rest
    of its pattern (as the literal alone is lowered in ``contains``): RE2's special
    characters are escaped with a backslash and control characters written \\x{hh}, both
    of which lower() leaves alone; everything else stays, lowered by the same lower() as
    the text (no character lowers to an ASCII symbol)."""
    return "".join("\\" + c if c in _RE2_SPECIAL else f"\\x{{{ord(c):02x}}}"
                   if ord(c) < 32 or ord(c) == 127 else c for c in literal)


def alternation(field_name: str, branches: Sequence[str]) -> str:
    """SQL true where ``lower()`` of the field matches one of ``branches`` (RE2 patterns
    as ``literal_pattern`` writes them, lowered by DuckDB's lower() like the column), at
    most ``MAX_ALTERNATIVES`` to one expression."""
    parts = []
    for start in range(0, len(branches), MAX_ALTERNATIVES):
        pattern = "|".join(branches[start:start + MAX_ALTERNATIVES])
        quoted = "'" + pattern.replace("'", "''") + "'"
        parts.append(f"regexp_matches({lowered_column(field_name)}, lower({quoted}))")
    return " OR ".join(parts) if parts else "false"


def gate_expression(field_name: str, literals: Sequence[str]) -> str:
    """SQL true where ``lower()`` of the field holds one of ``literals``."""
    return alternation(field_name, [literal_pattern(lit) for lit in sorted(set(literals))])
