"""``|re`` -> Elasticsearch ``regexp``: the translation finds what DuckDB's RE2 search finds.

The Lucene side is modelled with Python's ``re.fullmatch`` (Elasticsearch anchors every
``regexp``; the translation only writes syntax on which Lucene and Python agree: literals,
escaped operators, classes, groups, ``|``, ``? * + {m,n}``), with ASCII-only case folding
as Lucene's ``case_insensitive`` does. The pack's rules also run on the test Elasticsearch
in test_export.py.
"""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry_detect import shipped_pack
from telemetry_detect._esregex import ANY, literal, translate


def _pack_regexes() -> list[str]:
    found = []
    for path in sorted(shipped_pack().glob("*.yml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for selection in (doc.get("detection") or {}).values():
                if isinstance(selection, dict):
                    found += [v for k, v in selection.items() if "|re" in k]
    return found


PACK = _pack_regexes()
#: Beyond the pack: each feature the translator handles, and its corners.
OTHERS = [r"^exec", r"sh$", r"^$", r"a\Bb", r"\Bsh", r"(?i)[a-c]+z", r"x{2,3}y", r"x{2}",
          r"x{2,}", r"[^a-z\s]", r"\d+\.\d", r"\w+-\W", r"a.b", r"(?:ab|cd)+?e", r"[]a]",
          r"\b", r"\bx|y\b", r"(\bnc\b|-e)\s", r"a{,2}", r"[-a]", r"\t\|@#&<>~\"",
          r"(a|\bb)c", r"sh\b\s*;", r"ß|é\b"]
#: Pieces of text around what the patterns look for; other case included.
PIECES = ["exec", "EXEC", "Exec", "(", ")", "base64.", "b64decode", "base64", " ", "\n", "\t",
          "-d", "--decode", "|", "sh", "SH", "bash", "zsh", "curl", "WGET", "sudo", "nc",
          "ncat", "netcat", "-e", "-c", "x", "_", "1", ";", "é", "ß", "a", "b", "c", "z", "y",
          ".", "@", "#", "&", "<", ">", "~", '"', "]", "-", "\f"]


ALL = PACK + OTHERS
TRANSLATED = [translate(p) for p in ALL]
_DUCKDB = duckdb.connect()  # one for the module: connecting per example is slow


def _duckdb_searches(text: str) -> list[bool]:
    """``regexp_matches(text, pattern)`` for every pattern, in one query."""
    row = _DUCKDB.execute("SELECT list_transform(?::VARCHAR[], lambda p: regexp_matches(?, p))",
                          [ALL, text]).fetchone()
    assert row is not None
    return list(row[0])


def _lucene_match(lucene: str, ignore_case: bool, text: str) -> bool:
    flags = re.IGNORECASE | re.ASCII if ignore_case else 0
    return re.fullmatch(lucene, text, flags) is not None


def test_the_pack_regexes_translate_exactly() -> None:
    assert len(PACK) >= 5
    for pattern, translated in zip(ALL, TRANSLATED, strict=True):
        assert not translated.approximate, pattern


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_translation_matches_what_duckdb_matches(pieces: list[str]) -> None:
    text = "".join(pieces)
    for pattern, translated, expected in zip(ALL, TRANSLATED, _duckdb_searches(text),
                                             strict=True):
        found = _lucene_match(translated.lucene, translated.ignore_case, text)
        assert found == expected, (pattern, text)


@pytest.mark.parametrize("pattern", [r"foo(?=bar)", r"(?s)a.b", r"\pL", r"(a\b)*", r"\1",
                                     r"[[:alpha:]]", r"x(?i)y"])
def test_what_has_no_exact_translation_is_marked_approximate(pattern: str) -> None:
    translated = translate(pattern)
    assert translated.approximate.startswith(f"|re '{pattern}'")
    assert translated.lucene  # still exported, for a person to check


def test_line_anchors_are_approximate() -> None:
    assert translate("^x", multiline=True).approximate


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ["*", "?", "\\", "{", "}", "^", "$", "+", "%"]),
                min_size=1, max_size=3),
       st.lists(st.sampled_from(PIECES + ["*", "?", "\\", "%"]), max_size=10))
def test_a_contains_value_matches_as_ilike_does(needles: list[str], pieces: list[str]) -> None:
    """What ``contains`` exports (``_esdsl``): ANY* literal ANY*, case-insensitive."""
    needle, text = "".join(needles), "".join(pieces)
    row = _DUCKDB.execute("SELECT ? ILIKE '%' || ? || '%' ESCAPE '\\'",
                          [text, re.sub(r"([%_\\])", r"\\\1", needle)]).fetchone()
    assert row is not None
    assert _lucene_match(ANY + "*" + literal(needle) + ANY + "*", True, text) == row[0]
