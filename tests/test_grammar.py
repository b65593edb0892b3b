"""Tests for eisfit.notation.grammar: trees, round trips, errors, impedance.py agreement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eisfit.errors import CircuitError, CircuitSyntaxError
from eisfit.notation.grammar import (
    Element,
    Parallel,
    Series,
    format_circuit,
    iter_elements,
    parse,
)

KNOWN = frozenset({"R", "C", "L", "CPE", "W", "Wo", "Ws", "G", "La", "K", "Zarc"})


def p(text: str):
    return parse(text, known_symbols=KNOWN)


def E(name: str, pos: int = -1) -> Element:
    symbol = name.rstrip("0123456789_")
    return Element(name, symbol, pos)


# --------------------------------------------------------------------------- trees


def test_single_element():
    assert p("CPE1") == Element("CPE1", "CPE", 0)
    assert p("R_1") == Element("R_1", "R", 0)
    assert p("  Wo2 ").position == 2


def test_series_and_parallel_tree():
    tree = p("L0-R0-p(R1,CPE1)-p(R2-Wo1,CPE2)")
    assert tree == Series(
        (
            E("L0"),
            E("R0"),
            Parallel((E("R1"), E("CPE1"))),
            Parallel((Series((E("R2"), E("Wo1"))), E("CPE2"))),
        )
    )
    assert [part.position for part in tree.parts[2:]] == [6, 17]
    assert [e.symbol for e in iter_elements(tree)] == ["L", "R", "R", "CPE", "R", "Wo", "CPE"]


def test_nested_parallel_kept_as_written():
    tree = p("p(R1,p(R2,C2)-R3)")
    assert tree == Parallel((E("R1"), Series((Parallel((E("R2"), E("C2"))), E("R3")))))
    assert p("p(R1,p(R2,C2))") == Parallel((E("R1"), Parallel((E("R2"), E("C2")))))


def test_positions_index_original_text():
    text = " L0 -\tp( R1 , CPE_1 )"
    tree = p(text)
    for element in iter_elements(tree):
        assert text[element.position :].startswith(element.name)
    assert text[tree.parts[1].position] == "p"


def test_names_are_case_sensitive_and_symbols_greedy():
    assert p("Zarc1-La2-G3").parts == (E("Zarc1"), E("La2"), E("G3"))
    with pytest.raises(CircuitSyntaxError):
        p("r1")


def test_default_known_symbols_come_from_elements_module():
    elements = pytest.importorskip("eisfit.notation.elements")
    symbol = next(iter(elements.ELEMENTS))
    assert parse(f"{symbol}0") == Element(f"{symbol}0", symbol, 0)


def test_node_invariants():
    with pytest.raises(ValueError):
        Series((E("R0"),))
    with pytest.raises(ValueError):
        Series((E("R0"), Series((E("R1"), E("R2")))))
    with pytest.raises(ValueError):
        Parallel((E("R0"),), 0)


def test_format_rejects_non_nodes():
    with pytest.raises(TypeError):
        format_circuit("R0")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- round trip

CANONICAL = [
    "R0",
    "R0-C1",
    "p(R1,C1)",
    "L0-R0-p(R1,CPE1)-p(R2-Wo1,CPE2)",
    "p(R1,p(R2,C2)-R3)",
    "p(R1,C1,CPE1)",
    "R_0-p(R_1-W_2,p(C1,La1),K1)-Zarc1",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_round_trip(text):
    assert format_circuit(p(text)) == text


@pytest.mark.parametrize(
    "spaced",
    [" R0 - p( R1 , CPE1 ) ", "R0-p (R1,CPE1)", "\tR0\n-\np(R1,\r\nCPE1)"],
)
def test_whitespace_is_ignored(spaced):
    tree = p(spaced)
    assert tree == p("R0-p(R1,CPE1)")
    assert format_circuit(tree) == "R0-p(R1,CPE1)"


# --------------------------------------------------------------------------- errors

ERRORS = [
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("R0+R1", 2, "unexpected character '+'"),
    ("R0-", 3, "end of input"),
    ("R0 - ", 5, "end of input"),
    ("-R0", 0, "unexpected '-'"),
    ("R0--R1", 3, "unexpected '-'"),
    ("p(R1;C1)", 4, "unexpected character ';'"),
    ("R0 R1", 3, "unexpected 'R1'"),
    ("(R1,C1)", 0, "p(...)"),
    ("R0-(R1)", 3, "p(...)"),
    ("R1(C1)", 2, "unexpected '('"),
    ("p(R1,C1", 1, "unclosed '('"),
    ("p(R1,p(C1,R2)", 1, "unclosed '('"),
    ("p(R1,p(C1,R2", 6, "unclosed '('"),
    ("R0)", 2, "unmatched ')'"),
    ("p(R1,C1))-R2", 8, "unmatched ')'"),
    ("p(R1)", 0, "at least 2 branches"),
    ("R0-p(R1-C1)", 3, "at least 2 branches"),
    ("p(R1,)", 5, "empty branch"),
    ("p(,R1)", 2, "empty branch"),
    ("p()", 2, "empty branch"),
    ("p(R1 C1)", 5, "expected '-', ',' or ')'"),
    ("p", 0, "parallel operator"),
    ("R0-p1", 3, "unknown element 'p1'"),
    ("p-R1", 0, "unknown element 'p'"),
    ("X1-R0", 0, "unknown element 'X1'"),
    ("R0-Q1", 3, "CPE, G, K, L, La, R, W, Wo, Ws, Zarc"),
    ("R1a", 2, "digits and underscores"),
    ("R0-CPE1_x", 8, "digits and underscores"),
    ("R1-C1-R1", 6, "first used at position 0"),
    ("p(R1, C1) - p(R2, C1)", 18, "duplicate element name 'C1'"),
    ("R0-é", 3, "unexpected character"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), ERRORS)
def test_errors(text, position, fragment):
    with pytest.raises(CircuitSyntaxError) as info:
        p(text)
    err = info.value
    assert err.position == position
    assert err.text == text
    assert fragment in str(err)
    assert isinstance(err, CircuitError)
    assert isinstance(err, ValueError)
    caret_line = str(err).splitlines()[-1]
    assert caret_line == "  " + " " * position + "^"


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    text = "".join(f"p(R{i}," for i in range(5000)) + "C0" + ")" * 5000
    with pytest.raises(CircuitSyntaxError, match="nested too deeply"):
        p(text)


# --------------------------------------------------------------------------- properties

SYMBOLS = sorted(KNOWN)


def _shapes():
    """Trees of symbols, without names: leaves are symbols, inner nodes ("s"|"p", kids)."""
    leaf = st.sampled_from(SYMBOLS)

    def extend(children):
        non_series = children.filter(lambda c: not (isinstance(c, tuple) and c[0] == "s"))
        return st.one_of(
            st.tuples(st.just("s"), st.lists(non_series, min_size=2, max_size=4)),
            st.tuples(st.just("p"), st.lists(children, min_size=2, max_size=3)),
        )

    return st.recursive(leaf, extend, max_leaves=12)


@st.composite
def trees(draw):
    """Random circuit trees with unique names and positions matching format_circuit."""
    counter = iter(range(10**6))
    shape = draw(_shapes())

    def build(s, pos):
        if isinstance(s, str):
            i = next(counter)
            name = s + draw(st.sampled_from(["{}", "_{}", "{}_", "{}_0"])).format(i)
            return Element(name, s, pos), pos + len(name)
        kind, kids = s
        start = pos
        pos += 2 if kind == "p" else 0
        parts = []
        for k, kid in enumerate(kids):
            if k:
                pos += 1  # "-" or ","
            node, pos = build(kid, pos)
            parts.append(node)
        if kind == "s":
            return Series(tuple(parts)), pos
        return Parallel(tuple(parts), start), pos + 1

    return build(shape, 0)[0]


def _positions(node):
    yield node.position if not isinstance(node, Series) else None
    if not isinstance(node, Element):
        for part in node.parts:
            yield from _positions(part)


@settings(max_examples=300, deadline=None)
@given(trees())
def test_property_format_then_parse_gives_same_tree(tree):
    text = format_circuit(tree)
    parsed = p(text)
    assert parsed == tree
    assert list(_positions(parsed)) == list(_positions(tree))
    assert format_circuit(parsed) == text
    assert [e.name for e in iter_elements(parsed)] == [e.name for e in iter_elements(tree)]


@settings(max_examples=200, deadline=None)
@given(trees(), st.data())
def test_property_whitespace_between_tokens(tree, data):
    text = format_circuit(tree)
    cuts = [
        i
        for i in range(1, len(text))
        if not (text[i - 1].isalnum() or text[i - 1] == "_")
        or not (text[i].isalnum() or text[i] == "_")
    ]
    spaces = data.draw(
        st.lists(st.sampled_from(["", " ", "\t", "\n "]), min_size=len(cuts), max_size=len(cuts))
    )
    pieces, last = [], 0
    for cut, space in zip(cuts, spaces, strict=True):
        pieces += [text[last:cut], space]
        last = cut
    spaced = "".join([*pieces, text[last:]])
    parsed = p(spaced)
    assert parsed == tree
    for element in iter_elements(parsed):
        assert spaced[element.position :].startswith(element.name)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="RCpW01_-,() ;a", max_size=25))
def test_property_garbage_parses_or_raises_syntax_error(text):
    try:
        tree = p(text)
    except CircuitSyntaxError as err:
        assert 0 <= err.position <= len(text)
    else:
        assert format_circuit(tree) == "".join(text.split())


# --------------------------------------------------------------------------- impedance.py

IMPEDANCE_CIRCUITS = [
    "R0",
    "R0-C1",
    "L0-R0-p(R1,CPE1)-p(R2-Wo1,CPE2)",
    "p(R1,p(R2,C2)-R3)",
    "R_0-p(R_1,C_1)-W1",
    "R0-p(R1-p(R2,CPE2),CPE1)-Ws1",
]


@pytest.mark.parametrize("text", IMPEDANCE_CIRCUITS)
def test_element_order_matches_impedance_py(text):
    fitting = pytest.importorskip("impedance.models.circuits.fitting")
    expected = fitting.extract_circuit_elements(text)
    assert [e.name for e in iter_elements(p(text))] == list(expected)
