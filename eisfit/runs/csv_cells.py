"""Text cells of eisfit's CSV outputs that a spreadsheet cannot evaluate.

A cell beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is
read by Excel, LibreOffice and Google Sheets as a formula, so a source file named
``=HYPERLINK(...)`` or ``=1+1`` would run as one when results.csv is opened.  Following
OWASP's advice on CSV injection (https://owasp.org/www-community/attacks/CSV_Injection),
`neutralise` prefixes such text cells with a single quote, which spreadsheets show as
text; a text cell that itself begins with a quote gets one more, so `restore` (used when
eisfit reads its own tables back) gives the original text exactly.  Only text cells are
changed: numbers, including negative ones, stay numbers.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["TRIGGERS", "neutralise", "restore"]

#: first characters that make a spreadsheet evaluate a cell
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def _guard(value: object) -> object:
    if isinstance(value, str) and value.startswith((*TRIGGERS, _QUOTE)):
        return _QUOTE + value
    return value


def _unguard(value: object) -> object:
    if isinstance(value, str) and value.startswith(_QUOTE) and value[1:2].startswith(
        (*TRIGGERS, _QUOTE)
    ):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that can hold text: object (mixed) and string dtypes (pandas >= 3 reads
    and builds text columns as ``str``)."""
    return [
        c for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
    ]  # fmt: skip


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as formulas."""
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_guard)
    return out.rename(columns=lambda c: _guard(c) if isinstance(c, str) else c)


def restore(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as it was before `neutralise` (for tables eisfit reads back)."""
    out = frame.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_unguard)
    return out.rename(columns=lambda c: _unguard(c) if isinstance(c, str) else c)
