"""Unknown keywords in an event schema are errors, with "did you mean".

JSON Schema ignores keywords it does not know, so a typo passes silently: ``pi: true``
is no ``pii`` mark and the value is kept in clear; ``propertes:`` declares nothing and
every field is dropped. Here every keyword, in the schema and in each schema inside it,
must be JSON Schema's (2020-12, plus the draft-07 spellings jupyter_events schemas use),
one of ours, or an extension that says so with an ``x-`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._suggest import did_you_mean

#: JSON Schema 2020-12: core, applicator, unevaluated, validation, meta-data, format
#: and content vocabularies.
JSON_SCHEMA_KEYWORDS = frozenset({
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "$comment", "$defs",
    "prefixItems", "items", "contains", "additionalProperties", "properties",
    "patternProperties", "dependentSchemas", "propertyNames", "if", "then", "else",
    "allOf", "anyOf", "oneOf", "not",
    "unevaluatedItems", "unevaluatedProperties",
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
    "required", "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType", "contentSchema",
})
#: Spellings of earlier drafts (draft-07, 2019-09) that schemas written for
#: jupyter_events and jupyter_server use.
OLDER_DRAFT_KEYWORDS = frozenset({
    "definitions", "dependencies", "additionalItems", "$recursiveRef", "$recursiveAnchor",
})
#: This project's keywords (docs/usage.md, "Event schemas"); ``version`` only at the root.
EVENT_KEYWORDS = frozenset({"pii", "personal-data", "categories"})
ROOT_KEYWORDS = frozenset({"version"})

_KNOWN = JSON_SCHEMA_KEYWORDS | OLDER_DRAFT_KEYWORDS | EVENT_KEYWORDS
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions",
                "dependentSchemas")
_ONE_SCHEMA = ("additionalProperties", "unevaluatedProperties", "additionalItems",
               "unevaluatedItems", "contains", "propertyNames", "not", "if", "then",
               "else", "contentSchema")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")

Path = tuple[str | int, ...]


def unknown_keywords(schema: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """``(JSON path of the schema holding it, message)`` for each unknown keyword."""
    yield from _visit(schema, (), _KNOWN | ROOT_KEYWORDS)


def _visit(schema: Any, path: Path, known: frozenset[str]) -> Iterator[tuple[Path, str]]:
    if not isinstance(schema, dict):
        return  # true/false, or a shape the JSON Schema check reports
    for key in schema:
        if isinstance(key, str) and key not in known and not key.startswith("x-"):
            hint = did_you_mean(key, known)
            yield path, (f"unknown keyword {key!r}{hint}; JSON Schema would ignore it "
                         "silently. Extension keywords start with 'x-'")
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _visit(sub, (*path, key, name), _KNOWN)
        elif key in _ONE_SCHEMA:
            yield from _visit(value, (*path, key), _KNOWN)
        elif key in _SCHEMA_LISTS or key == "items":
            if isinstance(value, list):  # items as a list: draft-07 tuples
                for index, sub in enumerate(value):
                    yield from _visit(sub, (*path, key, index), _KNOWN)
            else:
                yield from _visit(value, (*path, key), _KNOWN)
        elif key == "dependencies" and isinstance(value, dict):
            for name, sub in value.items():  # a schema, or a list of names
                yield from _visit(sub, (*path, key, name), _KNOWN)
