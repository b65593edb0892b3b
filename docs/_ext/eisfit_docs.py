"""What the documentation build adds to Sphinx for eisfit.

Directives that draw eisfit's own tables into the pages at build time:

``eisfit-formats``: every file format `eisfit.io` reads, from the readers' ``FORMATS``
records (`eisfit.io.formats`), so the table cannot fall behind the code.
``eisfit-models``: every named model shipped in ``circuits/*.toml`` (`eisfit.load_models`),
with its circuit and the role of each element.

`cli_parser`: eisfit's own argparse parser with its help texts made safe for
reStructuredText (a ``*`` in ``*.toml`` or the bars of ``|Z|`` are plain text there), for
the ``argparse`` directive of the CLI reference.

And one docstring filter (`escape_bars`): eisfit's docstrings are prose written for a
terminal, where ``|Z|`` means a modulus; reStructuredText reads ``|...|`` as a
substitution.  Outside code spans and literal blocks, bars are escaped before Sphinx
parses a docstring, so ``|Z|`` renders as written; inside the rows of a simple table,
where an inserted backslash would shift the columns, they become U+2223 (divides), which
looks the same.  A citation of the physics notes in prose ("docs/physics-notes.md sec.
3") becomes a link to that section of the page.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    literal: frozenset[int],
) -> nodes.table:
    """A docutils table; the cells of the columns in ``literal`` are set as code."""
    table = nodes.table(classes=["eisfit-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(header, frozenset())
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells, literal)
    return table


def _row(cells: Sequence[str], literal: frozenset[int]) -> nodes.row:
    row = nodes.row()
    for i, text in enumerate(cells):
        entry = nodes.entry()
        para = nodes.paragraph()
        para += nodes.literal(text=text) if i in literal else nodes.Text(text)
        entry += para
        row += entry
    return row


class FormatsTable(SphinxDirective):
    """The formats `eisfit.read` recognises, in the order it considers them."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from eisfit.io import formats

        rows = [(f.name, f.description, ", ".join(f.extensions)) for f in formats()]
        return [_table(("format name", "what it is", "usual extensions"), rows, (20, 60, 20),
                       frozenset({0}))]


class ModelsTable(SphinxDirective):
    """The named models shipped with eisfit (``circuits/*.toml``)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from eisfit import load_models

        rows = []
        for name, model in sorted(load_models().items()):
            roles = ", ".join(f"{element}: {role}" for element, role in model.roles.items())
            rows.append((name, model.circuit, roles))
        return [_table(("model", "circuit", "roles of the elements"), rows, (18, 42, 40),
                       frozenset({0, 1}))]


def _rst_safe(text: str | None) -> str | None:
    """``text`` with the characters reStructuredText would read as markup escaped."""
    return re.sub(r"([*|])", r"\\\1", text) if text else text


def _escape_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = _rst_safe(parser.description)
    parser.epilog = _rst_safe(parser.epilog)
    for action in parser._actions:
        action.help = _rst_safe(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _rst_safe(choice.help)
            for sub in action.choices.values():
                _escape_parser(sub)
    for group in parser._action_groups:
        group.description = _rst_safe(group.description)


def cli_parser() -> argparse.ArgumentParser:
    """`eisfit.cli.main.build_parser`, its help texts escaped for reStructuredText."""
    from eisfit.cli.main import build_parser

    parser = build_parser()
    _escape_parser(parser)
    return parser


#: code spans and interpreted text (``code``, `name`, :role:`x`): left as they are
_SPANS = re.compile(r"(``.+?``|(?::[\w:.-]+:)?`[^`]+`_{0,2})")


#: a border line of a simple table: ``=====  ====``
_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")
_DIVIDES = "\u2223"


#: "docs/physics-notes.md sec. 3" or "secs. 1-2": the docstrings' citation of the notes
_NOTES = re.compile(r"docs/physics-notes\.md (secs?)\. (\d)(-\d)?")


def _notes_link(match: re.Match[str]) -> str:
    # "section", not "sec.": autosummary cuts a summary line at the first ". "
    word = "sections" if match.group(1) == "secs" else "section"
    first, rest = match.group(2), match.group(3) or ""
    return f":ref:`physics notes, {word} {first}{rest} <physics-notes-{first}>`"


def _escape_line(line: str, *, in_table: bool) -> str:
    bar = _DIVIDES if in_table else "\\|"
    parts = _SPANS.split(line)
    text = "".join(p if i % 2 else p.replace("\\|", "|").replace("|", bar)
                   for i, p in enumerate(parts))  # fmt: skip
    return text if in_table else _NOTES.sub(_notes_link, text)


def _table_rows(lines: Sequence[str]) -> set[int]:
    """Indices of the lines between the first and the last border of each simple table."""
    rows: set[int] = set()
    start: int | None = None
    for i, line in enumerate(lines):
        if _BORDER.match(line):
            if start is None:
                start = i
            ends = i + 1 >= len(lines) or not lines[i + 1].strip()
            if ends and i > start:
                rows.update(range(start + 1, i))
                start = None
    return rows


def escape_bars(lines: Sequence[str]) -> list[str]:
    """``lines`` of a docstring with every ``|`` escaped outside code and literal blocks.

    A literal block starts after a line ending in ``::`` and runs while the lines are
    blank or indented deeper than that line.
    """
    out: list[str] = []
    literal_indent: int | None = None  # indent of the line that opened the current block
    opener: int | None = None  # indent of a line ending in "::", until the next text line
    table_rows = _table_rows(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped and literal_indent is not None and indent <= literal_indent:
            literal_indent = None  # the block ended
        if stripped and opener is not None:
            literal_indent = opener if indent > opener else None
            opener = None
        inside = literal_indent is not None or not stripped
        out.append(line if inside else _escape_line(line, in_table=i in table_rows))
        if literal_indent is None and stripped.endswith("::"):
            opener = indent
    return out


def _process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                       lines: list[str]) -> None:  # fmt: skip
    lines[:] = escape_bars(lines)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("autodoc-process-docstring", _process_docstring)
    app.add_directive("eisfit-formats", FormatsTable)
    app.add_directive("eisfit-models", ModelsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
