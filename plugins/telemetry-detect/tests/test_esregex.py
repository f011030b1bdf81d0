"""``|re`` -> Elasticsearch ``regexp``: the translation finds what DuckDB's RE2 search finds.

With ``TELEMETRY_TEST_LUCENE_JAR`` set, Lucene's own ``RegExp`` answers too.

The Lucene side is modelled with Python's ``re.fullmatch`` (Elasticsearch anchors every
``regexp``; the translation only writes syntax on which Lucene and Python agree: literals,
escaped operators, classes, groups, ``|``, ``? * + {m,n}``), with ASCII-only case folding
as Lucene's ``case_insensitive`` does. The pack's rules also run on the test Elasticsearch
in test_export.py.
"""

from __future__ import annotations

import base64
import os
import random
import re
import subprocess
from pathlib import Path

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
          r"(a|\bb)c", r"sh\b\s*;", r"ß|é\b", r"(?i)é\b", r"café"]
#: Pieces of text around what the patterns look for; other case included.
PIECES = ["exec", "EXEC", "Exec", "(", ")", "base64.", "b64decode", "base64", " ", "\n", "\t",
          "-d", "--decode", "|", "sh", "SH", "bash", "zsh", "curl", "WGET", "sudo", "nc",
          "ncat", "netcat", "-e", "-c", "x", "_", "1", ";", "é", "É", "ß", "caf", "a", "b",
          "c", "z", "y",
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
    assert _lucene_match(ANY + "*" + literal(needle, fold=True) + ANY + "*", True,
                         text) == row[0]


#: Opt-in: a lucene-core 9 jar (Elasticsearch 8 runs Lucene 9) to check the translations
#: with Lucene's own RegExp, as Elasticsearch's ``regexp`` query builds it.
LUCENE_JAR = os.environ.get("TELEMETRY_TEST_LUCENE_JAR")
_LUCENE_MATCH = """
import java.io.*; import java.util.*; import org.apache.lucene.util.automaton.*;
public class LuceneMatch {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    Base64.Decoder dec = Base64.getDecoder();
    Map<String, CharacterRunAutomaton> seen = new HashMap<>();
    StringBuilder out = new StringBuilder();
    for (String line; (line = in.readLine()) != null; ) {
      String[] f = line.split("\\t", -1);
      CharacterRunAutomaton run = seen.get(f[0] + f[1]);
      if (run == null) {  // flags NONE; case_insensitive is ASCII_CASE_INSENSITIVE
        RegExp re = new RegExp(new String(dec.decode(f[0]), "UTF-8"), RegExp.NONE,
                               f[1].equals("1") ? RegExp.ASCII_CASE_INSENSITIVE : 0);
        run = new CharacterRunAutomaton(re.toAutomaton(10000), 10000);
        seen.put(f[0] + f[1], run);
      }
      out.append(run.run(new String(dec.decode(f[2]), "UTF-8")) ? '1' : '0');
    }
    System.out.print(out);
  }
}
"""


@pytest.mark.skipif(not LUCENE_JAR, reason="set TELEMETRY_TEST_LUCENE_JAR to a lucene-core 9 jar")
def test_lucene_itself_matches_what_duckdb_matches(tmp_path: Path) -> None:
    assert LUCENE_JAR is not None
    (tmp_path / "LuceneMatch.java").write_text(_LUCENE_MATCH)
    subprocess.run(["javac", "-cp", LUCENE_JAR, "LuceneMatch.java"], cwd=tmp_path, check=True)
    rng = random.Random(26)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    needles = ["system:", "a*b", "x?y", "C:\\Users\\", "<a>&~#@\"^$-", "{1}", "exec(", "café"]
    cases = [(t.lucene, t.ignore_case, "SELECT regexp_matches(?, ?)", p)
             for p, t in zip(ALL, TRANSLATED, strict=True)]
    cases += [(ANY + "*" + literal(n, fold=True) + ANY + "*", True,
               "SELECT ? ILIKE '%' || ? || '%' ESCAPE '\\'", re.sub(r"([%_\\])", r"\\\1", n))
              for n in needles]

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    lines = [f"{b64(lucene)}\t{int(ci)}\t{b64(text)}" for lucene, ci, _, _ in cases
             for text in texts]
    found = subprocess.run(["java", "-cp", f"{LUCENE_JAR}{os.pathsep}.", "LuceneMatch"],
                           cwd=tmp_path, input="\n".join(lines) + "\n", capture_output=True,
                           text=True, check=True).stdout
    assert len(found) == len(lines)
    answers = iter(found)
    for lucene, _, sql, arg in cases:
        for text in texts:
            row = _DUCKDB.execute(sql, [text, arg]).fetchone()
            assert row is not None
            assert (next(answers) == "1") == row[0], (lucene, text)
