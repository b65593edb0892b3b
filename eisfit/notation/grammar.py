"""Tokenizer and recursive-descent parser for circuit strings in impedance.py's notation.

Grammar (EBNF; whitespace may appear between any two tokens and is ignored)::

    circuit  = chain , END ;
    chain    = unit , { "-" , unit } ;                     (* series *)
    unit     = parallel | element ;
    parallel = "p" , "(" , chain , "," , chain , { "," , chain } , ")" ;
    element  = symbol , suffix ;                           (* e.g. R0, CPE1, Wo_2 *)
    symbol   = letter , { letter } ;                       (* must be a known symbol *)
    suffix   = { digit | "_" } ;
    letter   = "A" | ... | "Z" | "a" | ... | "z" ;         (* ASCII only *)

A name token is a maximal run of ``[A-Za-z0-9_]`` starting with a letter, so whitespace
separates tokens and cannot occur inside a name.  The name ``p`` followed by ``(`` is the
parallel operator; any other name starting with ``p`` (``p``, ``p1``) is an element with
the (unknown) symbol ``p``.

Trees: a single element parses to :class:`Element`, a chain to :class:`Series` (whose
parts are never Series), ``p(...)`` to :class:`Parallel` (nested groups are kept as
written, never flattened).  ``position`` fields index the original text but are excluded
from ``==`` and ``hash``, so ``parse("R0 - R1") == parse("R0-R1")``.

Errors: every problem raises :class:`~eisfit.errors.CircuitSyntaxError` with ``position``
indexing the original text.  Checks run in three passes, the first failing one wins:

1. tokens: a character that is not whitespace, a letter, a digit, ``_``, ``-``, ``,``,
   ``(`` or ``)`` (position of the character); an empty or blank string (position 0);
2. parentheses: an unmatched ``)`` or an unclosed ``(`` (position of that parenthesis;
   for several unclosed ones, the innermost);
3. parsing, left to right: a misplaced token (``R0-``, ``-R0``, ``R0--R1``, ``(R1)``,
   ``R0 R1``; position of the token, ``len(text)`` for a missing one), an empty branch
   (``p(R1,)``; position of the token where the branch should start), a group with one
   branch (``p(R1)``; position of the ``p``), a name suffix that is not digits and
   underscores (``R1a``; position of the first offending character), an unknown symbol
   (position of the name; the message lists the known symbols), a duplicate name
   (position of the second occurrence; the message gives the first).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from eisfit.errors import CircuitSyntaxError

__all__ = ["Element", "Node", "Parallel", "Series", "format_circuit", "iter_elements", "parse"]


@dataclass(frozen=True)
class Element:
    """One circuit element, e.g. ``Element("CPE1", "CPE", 7)``."""

    name: str
    symbol: str
    position: int = field(default=-1, compare=False)


@dataclass(frozen=True)
class Series:
    """Elements/groups in series; >= 2 parts, none of them a Series."""

    parts: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))
        if len(self.parts) < 2:
            raise ValueError("a Series needs at least 2 parts")
        if any(isinstance(p, Series) for p in self.parts):
            raise ValueError("a Series must not contain a Series (flatten it)")


@dataclass(frozen=True)
class Parallel:
    """A ``p(...)`` group with >= 2 branches; ``position`` is that of the ``p``."""

    parts: tuple[Node, ...]
    position: int = field(default=-1, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.parts))
        if len(self.parts) < 2:
            raise ValueError("a Parallel group needs at least 2 branches")


Node = Element | Series | Parallel

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_SYMBOL = re.compile(r"[A-Za-z]+", re.ASCII)
_SUFFIX_BAD = re.compile(r"[^0-9_]", re.ASCII)
_PUNCT = "-,()"


class _Token(NamedTuple):
    kind: str  # "name", "end", or one of _PUNCT
    text: str
    pos: int


def _describe(tok: _Token) -> str:
    return "end of input" if tok.kind == "end" else repr(tok.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _PUNCT:
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif m := _NAME.match(text, i):
            tokens.append(_Token("name", m.group(), i))
            i = m.end()
        else:
            raise CircuitSyntaxError(f"unexpected character {ch!r}", text, i)
    if not tokens:
        raise CircuitSyntaxError("empty circuit string", text, 0)
    tokens.append(_Token("end", "", n))
    return tokens


def _check_parentheses(text: str, tokens: list[_Token]) -> None:
    open_positions: list[int] = []
    for tok in tokens:
        if tok.kind == "(":
            open_positions.append(tok.pos)
        elif tok.kind == ")":
            if not open_positions:
                raise CircuitSyntaxError("unmatched ')'", text, tok.pos)
            open_positions.pop()
    if open_positions:
        raise CircuitSyntaxError("unclosed '('", text, open_positions[-1])


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], known: frozenset[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.known = known
        self.seen: dict[str, int] = {}

    def error(self, message: str, pos: int) -> CircuitSyntaxError:
        return CircuitSyntaxError(message, self.text, pos)

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.i += 1
        return tok

    def chain(self, context: str) -> Node:
        parts = [self.unit(context)]
        while self.peek().kind == "-":
            self.take()
            parts.append(self.unit("after '-'"))
        return parts[0] if len(parts) == 1 else Series(tuple(parts))

    def unit(self, context: str) -> Node:
        tok = self.peek()
        if tok.kind == "name":
            if tok.text == "p" and self.peek(1).kind == "(":
                return self.parallel()
            return self.element(self.take())
        if context == "branch" and tok.kind in ",)":
            raise self.error("empty branch in parallel group", tok.pos)
        hint = " (parallel groups are written p(...))" if tok.kind == "(" else ""
        where = "" if context in ("start", "branch") else f" {context}"
        raise self.error(
            f"unexpected {_describe(tok)}, expected an element or 'p('{where}{hint}", tok.pos
        )

    def parallel(self) -> Parallel:
        start = self.take().pos
        self.take()  # "("
        branches = [self.chain("branch")]
        while (tok := self.take()).kind == ",":
            branches.append(self.chain("branch"))
        if tok.kind != ")":
            raise self.error(f"unexpected {_describe(tok)}, expected '-', ',' or ')'", tok.pos)
        if len(branches) < 2:
            raise self.error("parallel group p(...) needs at least 2 branches, got 1", start)
        return Parallel(tuple(branches), start)

    def element(self, tok: _Token) -> Element:
        name, pos = tok.text, tok.pos
        symbol = _SYMBOL.match(name).group()  # type: ignore[union-attr]  # name starts with a letter
        if bad := _SUFFIX_BAD.search(name, len(symbol)):
            raise self.error(
                f"bad element name {name!r}: the symbol {symbol!r} must be followed by "
                "digits and underscores only",
                pos + bad.start(),
            )
        if symbol not in self.known:
            hint = ""
            if symbol == "p":
                hint = " ('p' is the parallel operator only when followed by '(')"
            raise self.error(
                f"unknown element {name!r} (symbol {symbol!r}){hint}; "
                f"known symbols: {', '.join(sorted(self.known))}",
                pos,
            )
        if name in self.seen:
            raise self.error(
                f"duplicate element name {name!r} (first used at position {self.seen[name]})", pos
            )
        self.seen[name] = pos
        return Element(name, symbol, pos)


def parse(text: str, *, known_symbols: Collection[str] | None = None) -> Node:
    """Parse a circuit string such as ``"R0-p(R1,CPE1)"`` into a tree of nodes."""
    if known_symbols is None:
        from eisfit.notation.elements import ELEMENTS  # lazy: avoids an import cycle

        known_symbols = ELEMENTS.keys()
    tokens = _tokenize(text)
    _check_parentheses(text, tokens)
    parser = _Parser(text, tokens, frozenset(known_symbols))
    try:
        node = parser.chain("start")
    except RecursionError:
        raise CircuitSyntaxError("circuit nested too deeply", text, 0) from None
    tok = parser.peek()
    if tok.kind != "end":
        raise CircuitSyntaxError(f"unexpected {_describe(tok)}, expected '-' or end", text, tok.pos)
    return node


def format_circuit(node: Node) -> str:
    """Canonical text of a tree, without whitespace: ``"L0-R0-p(R1,CPE1)"``."""
    if isinstance(node, Element):
        return node.name
    if isinstance(node, Series):
        return "-".join(format_circuit(p) for p in node.parts)
    if isinstance(node, Parallel):
        return "p(" + ",".join(format_circuit(p) for p in node.parts) + ")"
    raise TypeError(f"not a circuit node: {node!r}")


def iter_elements(node: Node) -> tuple[Element, ...]:
    """All elements of a tree, in order of appearance in the text."""
    if isinstance(node, Element):
        return (node,)
    return tuple(e for part in node.parts for e in iter_elements(part))
