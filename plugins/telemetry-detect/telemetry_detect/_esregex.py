"""Sigma ``|re`` (RE2, searched anywhere in the value) -> Elasticsearch ``regexp`` (Lucene
syntax, matched against the whole value), with the same matches.

Elasticsearch 8 documents its syntax at
https://www.elastic.co/guide/en/elasticsearch/reference/8.17/regexp-syntax.html: every
pattern is anchored, ``.`` is any character, ``\\`` escapes one reserved character, and
there are no ``\\b``, ``\\s``, ``\\d``, ``\\w``, ``^``, ``$`` or inline flags. So:

- the pattern is parsed (the RE2 subset rules use: literals, escapes, ``.``, classes,
  ``\\s\\S\\d\\D\\w\\W``, groups, ``|``, ``? * + {m,n}``, ``\\b \\B ^ $`` and a leading
  ``(?i)``) and written back with explicit character classes;
- "anywhere" becomes any text before and after;
- the zero-width assertions are removed by rewriting their neighbours: ``x\\by`` holds
  when x ends with a word character and y starts with a non-word one (or the text ends),
  or the other way round, so the text on each side is restricted to those first or last
  characters. The result is an ordinary regular language, written without assertions.

What cannot be translated exactly (lookarounds, an assertion inside a repetition,
``(?m)``, other inline flags) comes back with ``approximate`` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._retree import (
    ANYCHAR,
    EMPTY,
    NONWORD,
    NOTHING,
    WORD,
    Alt,
    Assert,
    Chars,
    Node,
    Parser,
    Ranges,
    Rep,
    Seq,
    Untranslatable,
    normal,
)

#: Any character. Lucene's ``.`` is any character already; the alternative keeps the
#: query right on engines (and emulators) whose ``.`` stops at a newline.
ANY = "(.|\n)"
_MAX_CHAR = 0x10FFFF
_RESERVED = set('.?+*|{}[]()"\\^$-')  # operators, and characters other engines treat so
_OPTIONAL = set("#@&<>~")  # operators only with some flags; written as [c], never \\c
_MAX_BRANCHES = 256  # assertions multiply alternatives; beyond this, say approximate
NOTHING_CHARS = Chars(())  # no character: restricting to it leaves only the empty text


@dataclass(frozen=True)
class Translated:
    """The Lucene pattern; ``ignore_case`` for ``(?i)``; ``approximate`` is why it is
    not exact, or empty."""
    lucene: str
    ignore_case: bool
    approximate: str = ""


def translate(pattern: str, dotall: bool = False, multiline: bool = False,
              ignore_case: bool = False) -> Translated:
    """The Lucene ``regexp`` value matching what an RE2 search for ``pattern`` finds (with
    Sigma's ``|re|s``, ``|re|m``, ``|re|i`` as the flags)."""
    if pattern.startswith("(?i)"):
        ignore_case, pattern = True, pattern[4:]
    try:
        if multiline:
            raise Untranslatable("the m flag (line anchors)")
        tree = Parser(pattern, dotall, ignore_case).parse()
        whole = Seq((Rep(ANYCHAR, 0, None), tree, Rep(ANYCHAR, 0, None)))
        branches = _without_assertions(whole)
        return Translated(_emit(_alt(branches)), ignore_case)
    except Untranslatable as exc:
        naive = ANY + "*" + pattern + ANY + "*"  # the pattern as written, searched anywhere
        return Translated(naive, ignore_case, f"|re '{pattern}': {exc}")


def literal(text: str, fold: bool = False) -> str:
    """``text`` as a Lucene pattern matching exactly it (with ``fold``, in any case).

    A backslash makes any character literal in Lucene; the optional operators go in a
    class instead, because some engines read ``\\<`` and ``\\>`` as word boundaries (the
    test Elasticsearch does), and ``^ $ -`` get a backslash though Lucene needs none.
    ``case_insensitive`` folds ASCII letters only (Lucene 9), so ``fold`` writes a
    non-ASCII letter as the class of its cases (``[éÉ]``).
    """
    return "".join(_literal_char(c, fold) for c in text)


def _literal_char(c: str, fold: bool) -> str:
    if c in _RESERVED:
        return "\\" + c
    if c in _OPTIONAL:
        return f"[{c}]"
    cases = _cases(c) if fold else c
    return f"[{cases}]" if len(cases) > 1 else c


def _cases(c: str) -> str:
    """``c`` and its other cases of one character, for a non-ASCII letter."""
    if c.isascii():
        return c
    return "".join(dict.fromkeys(v for v in (c, c.lower(), c.upper(), c.title())
                                 if len(v) == 1))


# -- character-set algebra -------------------------------------------------------------

def _complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= _MAX_CHAR:
        out.append((start, _MAX_CHAR))
    return tuple(out)


def _members(chars: Chars) -> Ranges:
    return _complement(chars.ranges) if chars.negated else chars.ranges


def _intersect(a: Chars, b: Chars) -> Chars | Alt:
    left, right = _members(a), _members(b)
    out = normal([(max(l1, l2), min(h1, h2)) for l1, h1 in left for l2, h2 in right
                   if max(l1, l2) <= min(h1, h2)])
    if not out:
        return NOTHING
    complement = _complement(out)
    # Written the shorter way round: [^...] when the members are most of Unicode.
    return Chars(complement, True) if len(complement) < len(out) else Chars(out)


def _kinds(chars: Chars) -> set[str]:
    """Which of word ("w") and non-word ("n") characters ``chars`` can be."""
    kinds = set()
    if _intersect(chars, WORD) != NOTHING:
        kinds.add("w")
    if _intersect(chars, NONWORD) != NOTHING:
        kinds.add("n")
    return kinds


# -- analysis and restriction of a tree (no assertions inside) -------------------------

def _nullable(node: Node) -> bool:
    if isinstance(node, Chars):
        return False
    if isinstance(node, Seq):
        return all(_nullable(i) for i in node.items)
    if isinstance(node, Alt):
        return any(_nullable(o) for o in node.options)
    if isinstance(node, Rep):
        return node.low == 0 or _nullable(node.node)
    raise Untranslatable("an assertion next to another one")


def _edge(node: Node, last: bool) -> set[str]:
    """The kinds of the first (or ``last``) character of the texts ``node`` matches."""
    if isinstance(node, Chars):
        return _kinds(node)
    if isinstance(node, Seq):
        kinds: set[str] = set()
        for item in reversed(node.items) if last else node.items:
            kinds |= _edge(item, last)
            if not _nullable(item):
                break
        return kinds
    if isinstance(node, Alt):
        return set().union(*(_edge(o, last) for o in node.options))
    if isinstance(node, Rep):
        return _edge(node.node, last) if node.high != 0 else set()
    raise Untranslatable("an assertion next to another one")


def _restrict(node: Node, chars: Chars, allow_empty: bool, last: bool) -> Node:
    """The texts of ``node`` whose first (``last``) character is one of ``chars``, and the
    empty text if ``node`` matches it and ``allow_empty``."""
    kinds = _kinds(chars)
    if _edge(node, last) <= kinds and (allow_empty or not _nullable(node)):
        return node  # already so
    if isinstance(node, Chars):
        return _intersect(node, chars)
    if isinstance(node, Alt):
        return _alt([_restrict(o, chars, allow_empty, last) for o in node.options])
    if isinstance(node, Seq):
        if not node.items:
            return EMPTY if allow_empty else NOTHING
        items = list(node.items)
        edge = items.pop() if last else items.pop(0)
        rest = Seq(tuple(items))
        restricted = _restrict(edge, chars, False, last)
        options = [_seq([rest, restricted] if last else [restricted, rest])]
        if _nullable(edge):
            options.append(_restrict(rest, chars, allow_empty, last))
        return _alt(options)
    if isinstance(node, Rep):
        if _nullable(node.node):
            raise Untranslatable("a repetition of something that can be empty, at an assertion")
        options = []
        if node.high != 0:
            more = Rep(node.node, max(node.low - 1, 0),
                       None if node.high is None else node.high - 1)
            one = _restrict(node.node, chars, False, last)
            options.append(_seq([more, one] if last else [one, more]))
        if node.low == 0 and allow_empty:
            options.append(EMPTY)
        return _alt(options)
    raise Untranslatable("an assertion next to another one")


def _seq(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if item == NOTHING:
            return NOTHING
        flat.extend(item.items if isinstance(item, Seq) else (item,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def _alt(options: list[Node]) -> Node:
    kept: list[Node] = []
    for option in options:
        for o in option.options if isinstance(option, Alt) else (option,):
            if o not in kept:
                kept.append(o)
    return kept[0] if len(kept) == 1 else Alt(tuple(kept))


# -- removing the assertions -----------------------------------------------------------

def _has_assert(node: Node) -> bool:
    if isinstance(node, Assert):
        return True
    if isinstance(node, (Seq, Alt)):
        return any(_has_assert(i) for i in (node.items if isinstance(node, Seq)
                                            else node.options))
    return isinstance(node, Rep) and _has_assert(node.node)


def _flat(node: Node) -> list[list[Node]]:
    """``node`` as alternatives of flat sequences, any assertion at the top of one."""
    if isinstance(node, Alt) and _has_assert(node):
        return [seq for o in node.options for seq in _flat(o)]
    if isinstance(node, Seq) and _has_assert(node):
        seqs: list[list[Node]] = [[]]
        for item in node.items:
            seqs = [s + tail for s in seqs for tail in _flat(item)]
            if len(seqs) > _MAX_BRANCHES:
                raise Untranslatable("too many alternatives around assertions")
        return seqs
    if isinstance(node, Rep) and _has_assert(node):
        raise Untranslatable("an assertion inside a repetition")
    return [[node]]


def _without_assertions(node: Node) -> list[Node]:
    done: list[Node] = []
    todo = _flat(node)
    while todo:
        items = todo.pop()
        at = next((i for i, item in enumerate(items) if isinstance(item, Assert)), None)
        if at is None:
            done.append(_seq(items))
            continue
        kind = items[at].kind  # type: ignore[union-attr]
        before, after = Seq(tuple(items[:at])), Seq(tuple(items[at + 1:]))
        if kind == "^":  # only the empty text may precede (the text starts here)
            rewritten = _seq([_restrict(before, NOTHING_CHARS, True, False), after])
        elif kind == "$":
            rewritten = _seq([before, _restrict(after, NOTHING_CHARS, True, False)])
        else:  # \b: word on one side, non-word (or the text's edge) on the other
            pairs = [(WORD, False, NONWORD, True), (NONWORD, True, WORD, False)]
            if kind == "B":
                pairs = [(WORD, False, WORD, False), (NONWORD, True, NONWORD, True)]
            rewritten = _alt([_seq([_restrict(before, lc, le, True),
                                    _restrict(after, rc, re_, False)])
                              for lc, le, rc, re_ in pairs])
        todo.extend(_flat(rewritten))
        if len(todo) + len(done) > _MAX_BRANCHES:
            raise Untranslatable("too many alternatives around assertions")
    return done


# -- writing Lucene syntax -------------------------------------------------------------

def _emit(node: Node) -> str:
    if isinstance(node, Chars):
        return _emit_chars(node)
    if isinstance(node, Seq):
        return "".join(_atom(i) if isinstance(i, Alt) else _emit(i) for i in node.items)
    if isinstance(node, Alt):
        body, optional = _emit_alt(node)
        return f"({body})?" if optional else body
    if isinstance(node, Rep):
        inner = _atom(node.node)
        if (node.low, node.high) in _QUANTIFIERS:
            return inner + _QUANTIFIERS[node.low, node.high]
        if node.high is None:
            return f"{inner}{{{node.low},}}"
        return inner + (f"{{{node.low}}}" if node.low == node.high
                        else f"{{{node.low},{node.high}}}")
    raise Untranslatable("an assertion left over")


_QUANTIFIERS = {(0, None): "*", (1, None): "+", (0, 1): "?"}


def _emit_alt(node: Alt) -> tuple[str, bool]:
    """The alternatives joined by ``|``, and whether the empty text is one of them."""
    options = [o for o in node.options if o != EMPTY]
    if not options:
        raise Untranslatable("a pattern that matches nothing")
    return "|".join(_emit(o) for o in options), len(options) < len(node.options)


def _atom(node: Node) -> str:
    """``node`` as one unit a quantifier or a neighbour cannot split."""
    if isinstance(node, Chars):
        return _emit_chars(node)
    if isinstance(node, Alt):
        body, optional = _emit_alt(node)
        return f"({body})?" if optional else f"({body})"
    if isinstance(node, Rep):
        return f"({_emit(node)})"
    return f"({_emit(node)})"


def _emit_chars(chars: Chars) -> str:
    if chars == ANYCHAR:
        return ANY
    if not chars.negated and len(chars.ranges) == 1 and chars.ranges[0][0] == chars.ranges[0][1]:
        return literal(chr(chars.ranges[0][0]))
    if not chars.ranges and not chars.negated:
        raise Untranslatable("an empty character class")
    body = "".join(_class_char(low) if low == high else f"{_class_char(low)}-{_class_char(high)}"
                   for low, high in chars.ranges)
    return f"[{'^' if chars.negated else ''}{body}]"


def _class_char(code: int) -> str:
    c = chr(code)
    return "\\" + c if c in "[]\\^-" else c
