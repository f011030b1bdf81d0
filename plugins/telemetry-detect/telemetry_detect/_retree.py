"""RE2 patterns (the subset Sigma rules use) as a tree of character sets, sequences,
alternatives, repetitions and assertions, for ``_esregex`` to rewrite for Lucene.

Parsed: literals and escapes, ``.``, classes (ranges, negation, ``\\s\\d\\w`` inside),
``\\s\\S\\d\\D\\w\\W``, groups (``(?:`` too), ``|``, ``? * + {m,n}`` (lazy or not: the same
yes/no answer), ``\\b \\B ^ $``. Anything else raises ``Untranslatable`` saying what.
With ``ignore_case``, classes get both ASCII cases of their letters and a non-ASCII letter
becomes the class of its cases (Lucene's ``case_insensitive`` folds single ASCII letters).
"""

from __future__ import annotations

from dataclasses import dataclass

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Chars:
    """One character from ``ranges`` (or, ``negated``, from anything else)."""
    ranges: Ranges
    negated: bool = False


@dataclass(frozen=True)
class Seq:
    """The items one after the other (none: the empty text)."""
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    """One of the options (none: matches nothing)."""
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    """``node`` from ``low`` to ``high`` (None: any number of) times."""
    node: Node
    low: int
    high: int | None


@dataclass(frozen=True)
class Assert:
    """A zero-width assertion: ``b``, ``B``, ``^`` or ``$``."""
    kind: str


Node = Chars | Seq | Alt | Rep | Assert
EMPTY = Seq(())
NOTHING = Alt(())


def _ranges(*spans: str) -> Ranges:
    return tuple((ord(s[0]), ord(s[-1])) for s in spans)


_WORD = _ranges("09", "AZ", "_", "az")
_DIGIT = _ranges("09")
_SPACE = _ranges("\t\n", "\f\r", " ")  # RE2's \s: [\t\n\f\r ]
_NEWLINE = _ranges("\n")
WORD, NONWORD = Chars(_WORD), Chars(_WORD, negated=True)
ANYCHAR = Chars((), negated=True)
_CLASSES = {"d": Chars(_DIGIT), "D": Chars(_DIGIT, True), "s": Chars(_SPACE),
            "S": Chars(_SPACE, True), "w": WORD, "W": NONWORD}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


class Untranslatable(ValueError):
    """The pattern uses something without an exact Lucene equivalent."""


# -- parsing ---------------------------------------------------------------------------

class Parser:
    """``Parser(pattern, dotall, ignore_case).parse()``: the tree of ``pattern``."""

    def __init__(self, pattern: str, dotall: bool, ignore_case: bool) -> None:
        self.text, self.pos = pattern, 0
        self.dot = ANYCHAR if dotall else Chars(_NEWLINE, negated=True)
        self.ignore_case = ignore_case

    def parse(self) -> Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise Untranslatable(f"unexpected {self.text[self.pos]!r} at {self.pos}")
        return node

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _next(self) -> str:
        if self.pos >= len(self.text):
            raise Untranslatable("unexpected end")
        self.pos += 1
        return self.text[self.pos - 1]

    def _alternation(self) -> Node:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def _sequence(self) -> Node:
        items: list[Node] = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._repeat(self._atom()))
        return Seq(tuple(items))

    def _repeat(self, node: Node) -> Node:
        while True:
            c = self._peek()
            braces = self._braces() if c == "{" else None
            if c in ("*", "+", "?"):
                self.pos += 1
                low, high = (1 if c == "+" else 0), (1 if c == "?" else None)
            elif braces is not None:
                low, high = braces
            else:
                return node
            if isinstance(node, Assert):
                raise Untranslatable("a repeated assertion")
            node = Rep(node, low, high)
            if self._peek() == "?":  # lazy: the same matches for a yes/no search
                self.pos += 1

    def _braces(self) -> tuple[int, int | None] | None:
        end = self.text.find("}", self.pos)
        body = self.text[self.pos + 1:end] if end > 0 else ""
        low, comma, high = body.partition(",")
        if not low.isdigit() or (high and not high.isdigit()):
            return None  # RE2 reads such a brace as a literal
        self.pos = end + 1
        return int(low), (int(high) if high else None) if comma else int(low)

    def _atom(self) -> Node:
        c = self._next()
        if c == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            elif self._peek() == "?":
                raise Untranslatable("a group flag or lookaround")
            node = self._alternation()
            if self._next() != ")":
                raise Untranslatable("an unclosed group")
            return node
        if c == ".":
            return self.dot
        if c == "[":
            return self._class()
        if c in ("^", "$"):
            return Assert(c)
        if c == "\\":
            e = self._next()
            if e in "bB":
                return Assert(e)
            if e in _CLASSES:
                return _CLASSES[e]
            if e.isalnum() and e not in _ESCAPES:
                raise Untranslatable(f"the escape \\{e}")
            return self._char(_ESCAPES.get(e, e))
        if c in "*+?)":
            raise Untranslatable(f"a misplaced {c!r}")
        return self._char(c)

    def _char(self, c: str) -> Chars:
        # An ASCII letter's case is the query's ``case_insensitive``; that folds no other.
        if self.ignore_case and not c.isascii():
            return Chars(normal([(ord(v), ord(v)) for v in (c, c.lower(), c.upper(), c.title())
                                 if len(v) == 1]))
        return Chars(((ord(c), ord(c)),))

    def _class(self) -> Chars:
        negated = self._peek() == "^"
        self.pos += negated
        spans: list[tuple[int, int]] = []
        first = True
        while first or self._peek() != "]":
            first = False
            c = self._next()
            if c == "[" and self._peek() == ":":
                raise Untranslatable("a POSIX class")
            if c == "\\":
                e = self._next()
                if e in _CLASSES and not _CLASSES[e].negated:
                    spans.extend(_CLASSES[e].ranges)
                    continue
                if e.isalnum() and e not in _ESCAPES:
                    raise Untranslatable(f"the escape \\{e} in a class")
                c = _ESCAPES.get(e, e)
            low = high = ord(c)
            if self._peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.pos += 1
                end = self._next()
                if end == "\\":
                    end = _ESCAPES.get(self._next(), self.text[self.pos - 1])
                high = ord(end)
            spans.append((low, high))
        self.pos += 1
        ranges = normal(spans)
        return Chars(cased(ranges) if self.ignore_case else ranges, negated)


def normal(spans: list[tuple[int, int]] | Ranges) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def cased(ranges: Ranges) -> Ranges:
    """The ranges with the other ASCII case of their letters added (Lucene folds the case
    of single characters only, not of ranges)."""
    extra = [(ord(chr(c).swapcase()), ord(chr(c).swapcase())) for low, high in ranges
             for c in range(max(low, 65), min(high, 122) + 1) if chr(c).isascii()
             and chr(c).isalpha()]
    return normal(list(ranges) + extra)
