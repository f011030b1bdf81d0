"""The fields rules may name: every property of the registered schemas, flattened.

A nested property is named by its dotted path (``dataset.source``), as Sigma rules name
fields. Each field knows its SQL type (from the schema's JSON type) and, per schema, the
privacy categories that decide whether the policy keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._novelty import DERIVED_FIELDS

#: Envelope fields every recorded event has (the core sets them).
ENVELOPE = {"__timestamp__": "VARCHAR", "__schema__": "VARCHAR",
            "__schema_version__": "VARCHAR", "__event_id__": "VARCHAR"}
#: The category a ``pii: true`` mark adds.
PII_CATEGORY = "user-identifiable-information"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
_MAX_DEPTH = 8  # schemas nest properties a few levels; bound the walk anyway
_SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def lowered_column(field_name: str) -> str:
    """The quoted name of the column holding ``lower()`` of a text field (the engine
    adds it): no field path has parentheses, so it cannot collide with one."""
    return '"lower(' + field_name.replace('"', '""') + ')"'


@dataclass
class Field:
    """One field rules may name: its SQL type and, per schema id, its categories."""

    path: str
    sql_type: str = "VARCHAR"
    categories: dict[str, list[str]] = field(default_factory=dict)
    #: For a field the detector derives (``_novelty``): the property it derives from,
    #: whose categories it has (the policy keeping that one is what it needs).
    derived_from: str | None = None


def _sql_type(fragment: Mapping[str, Any]) -> str:
    kinds = fragment.get("type")
    if isinstance(kinds, list):
        kinds = [k for k in kinds if k != "null"]
        kinds = kinds[0] if len(kinds) == 1 else None
    if "enum" in fragment and kinds is None:
        return "VARCHAR"
    return _SQL_TYPES.get(str(kinds), "VARCHAR")


def _categories(fragment: Mapping[str, Any], inherited: list[str]) -> list[str]:
    found = list(inherited)
    if fragment.get("pii") or fragment.get("personal-data"):
        found.append(PII_CATEGORY)
    found.extend(str(c) for c in fragment.get("categories", ()) or ())
    return sorted(set(found))


def _walk(properties: Mapping[str, Any], prefix: str, inherited: list[str],
          depth: int) -> Iterator[tuple[str, Mapping[str, Any], list[str]]]:
    for name, fragment in properties.items():
        if not isinstance(fragment, Mapping) or not _NAME.fullmatch(str(name)):
            continue  # a name SQL could not quote plainly is no field a rule can name
        path, cats = f"{prefix}{name}", _categories(fragment, inherited)
        nested = fragment.get("properties")
        if isinstance(nested, Mapping) and depth < _MAX_DEPTH:
            yield from _walk(nested, f"{path}.", cats, depth + 1)
        else:
            yield path, fragment, cats


class FieldCatalogue:
    """The fields of a set of schemas (``{schema_id: schema dict}``), by dotted path."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        self.schemas = dict(schemas)
        self.fields: dict[str, Field] = {p: Field(p, t) for p, t in ENVELOPE.items()}
        self.by_schema: dict[str, set[str]] = {}
        for sid, schema in sorted(self.schemas.items()):
            paths = self.by_schema.setdefault(sid, set(ENVELOPE))
            for path, fragment, cats in _walk(schema.get("properties", {}) or {}, "", [], 1):
                paths.add(path)
                entry = self.fields.setdefault(path, Field(path, _sql_type(fragment)))
                if entry.sql_type != _sql_type(fragment):
                    entry.sql_type = "VARCHAR"  # schemas disagree: compare as text
                entry.categories[sid] = cats
        self._add_derived()

    def _add_derived(self) -> None:
        for name, (sid, source) in DERIVED_FIELDS.items():
            if source not in self.by_schema.get(sid, ()):
                continue  # that schema (or that version of it) lacks the property
            self.by_schema[sid].add(name)
            entry = self.fields.setdefault(name, Field(name, "BOOLEAN", derived_from=source))
            entry.categories[sid] = self.fields[source].categories.get(sid, [])

    @classmethod
    def from_eventlog(cls, eventlog: Any) -> FieldCatalogue:
        """The catalogue of every schema an ``EventLog`` has registered."""
        return cls(eventlog.schemas.documents())

    def text_fields(self) -> set[str]:
        """The fields compared as text (SQL type VARCHAR)."""
        return {path for path, entry in self.fields.items() if entry.sql_type == "VARCHAR"}

    def projection(self, only: Iterable[str] | None = None) -> str:
        """SQL select list turning a JSON column ``raw`` into one column per field (per
        field in ``only`` and the envelope, when given: fewer columns, less to parse).

        It reads from a subquery that extracts every path in one ``json_extract_string``
        call over a list of paths, which parses each document once instead of once per
        field: select ``FROM (SELECT {self.extraction()} AS "values" FROM ...)``."""
        columns = []
        for index, (path, entry) in enumerate(self._wanted(only), 1):
            text = f'"values"[{index}]'
            expr = text if entry.sql_type == "VARCHAR" else f"TRY_CAST({text} AS {entry.sql_type})"
            columns.append(f'{expr} AS "{path}"')
        return ", ".join(columns)

    def extraction(self, only: Iterable[str] | None = None) -> str:
        """SQL for the list of the text values of the fields ``projection(only)`` selects,
        out of a JSON column ``raw``."""
        pointers = []
        for path, _ in self._wanted(only):
            pointers.append("'$." + ".".join(f'"{part}"' for part in path.split(".")) + "'")
        return f"json_extract_string(raw, [{', '.join(pointers)}])"

    def _wanted(self, only: Iterable[str] | None) -> list[tuple[str, Field]]:
        wanted = None if only is None else set(only) | set(ENVELOPE)
        return [(path, entry) for path, entry in sorted(self.fields.items())
                if wanted is None or path in wanted]
