"""Spreadsheets: Excel ``.xlsx`` and OpenDocument ``.ods`` / flat ``.fods`` workbooks.

Each sheet holds tables laid out like the CSV files of `eisfit.io.csv` (same column
names, signs, |Z|/phase columns, splitting rules); the first row of a table is its
header (or data, for a headerless 3-column table).  Several spectra per workbook
(pyimpspec's ``tests/data.xlsx`` / ``data.ods`` hold four sheets ``header-variant-1..4``):

* every non-empty sheet is read, in workbook order;
* inside a sheet, tables side by side (column blocks separated by an empty column) and
  tables one below the other (a blank row, then a new header row) are separate tables;
* each table gives one or more spectra; ``meta.index`` counts over the whole workbook,
  ``meta.extra["sheet"]`` names the sheet.  A sheet or block without impedance columns
  (notes, a plot's data) is skipped with a warning on the spectra read, unless nothing
  at all is read: then its error is raised.

Cells: numbers are used as they are; text cells are parsed as numbers (decimal comma
accepted); empty cells are NaN (the row is dropped with a warning).  Formulas: the value
last saved by the spreadsheet program is used.

``.xlsx`` needs openpyxl (``pip install "eisfit[spreadsheet]"``): without it reading
fails with a `ReadError` saying so.  ``.ods`` (a zip with ``content.xml``) and ``.fods``
(the same XML, uncompressed) are parsed with the standard library (OpenDocument 1.2,
part 1, sec. 9.1: ``table:table``, ``table:table-row``, ``table:table-cell`` with
``office:value-type`` / ``office:value`` and ``table:number-columns-repeated`` /
``number-rows-repeated``).  Corrupt workbooks raise `ReadError` naming the parser error.
A file that is not a zip archive (``.xlsx``, ``.ods``) or XML (``.fods``) is refused on its
first bytes; the archive is read member by member, never loaded whole; an XML part larger
than 200 MB is refused.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from ..errors import ReadError
from ..spectrum import Spectrum
from ._rows import Cell, spectra_from_rows
from .registry import FileFormat
from .sniffing import file_size, number, open_binary, read_head

__all__ = ["FORMATS", "read_ods", "read_xlsx"]

Sheet = tuple[str, list[list[Cell]]]
_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_MAX_XML_BYTES = 200_000_000
_MAX_REPEAT = 100_000


def read_xlsx(path: Path) -> list[Spectrum]:
    """Every spectrum of every sheet of an ``.xlsx`` workbook (needs openpyxl)."""
    try:
        import openpyxl
    except ImportError:
        message = 'reading .xlsx needs openpyxl: pip install "eisfit[spreadsheet]"'
        raise ReadError(path, message) from None
    head = read_head(path, 4)
    if not head.startswith(b"PK\x03\x04"):
        message = f"not a readable .xlsx workbook (not a zip archive: starts with {head!r})"
        raise ReadError(path, message)
    sheets: list[Sheet] = []
    try:  # openpyxl raises many exception types on corrupt files: all mean "unreadable"
        with warnings.catch_warnings(), open_binary(path) as data:
            warnings.simplefilter("ignore")  # "no default style" and similar
            # a file object: openpyxl then ignores the extension, and reads what it needs
            book = openpyxl.load_workbook(data, read_only=True, data_only=True)
            for sheet in book.worksheets:
                rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
                sheets.append((sheet.title, rows))
            book.close()
    except Exception as exc:
        message = f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        raise ReadError(path, message) from exc
    return _spectra(path, sheets, "xlsx")


def read_ods(path: Path) -> list[Spectrum]:
    """Every spectrum of every sheet of an ``.ods`` or flat ``.fods`` workbook."""
    zipped = read_head(path, 2) == b"PK"
    try:
        if zipped:
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("content.xml")
                if info.file_size > _MAX_XML_BYTES:
                    raise ValueError(f"content.xml is too large ({info.file_size} bytes)")
                root = ElementTree.fromstring(archive.read(info))
        else:  # flat XML, parsed as it is read (junk fails on its first bytes)
            with open_binary(path) as handle:
                if file_size(handle) > _MAX_XML_BYTES:
                    raise ValueError(f"the file is too large ({file_size(handle)} bytes)")
                root = ElementTree.parse(handle).getroot()
        tables = root.iter(f"{_T}table")
        sheets = [(t.get(f"{_T}name", "?"), list(_ods_rows(t))) for t in tables]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ElementTree.ParseError) as exc:
        raise ReadError(path, f"not a readable OpenDocument spreadsheet ({exc})") from None
    return _spectra(path, sheets, "ods")


def _ods_rows(table: ElementTree.Element) -> Iterator[list[Cell]]:
    for row in table.iter(f"{_T}table-row"):
        cells: list[Cell] = []
        for cell in row:
            if cell.tag not in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                continue
            value = _ods_value(cell)
            repeat = min(int(cell.get(f"{_T}number-columns-repeated", "1")), _MAX_REPEAT)
            cells.extend([value] * (repeat if value is not None else min(repeat, 1024)))
        while cells and cells[-1] is None:
            cells.pop()
        repeat = int(row.get(f"{_T}number-rows-repeated", "1"))
        yield from [cells] * (min(repeat, _MAX_REPEAT) if cells else 1)


def _ods_value(cell: ElementTree.Element) -> Cell:
    kind = cell.get(f"{_O}value-type")
    if kind in ("float", "percentage", "currency") and cell.get(f"{_O}value") is not None:
        return _cell(cell.get(f"{_O}value"))
    text = "".join(cell.itertext()).strip()
    return text or None


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    return text or None


def _tables(rows: list[list[Cell]]) -> Iterator[list[tuple[int, list[Cell]]]]:
    """Tables of one sheet: column blocks split at empty columns, then row blocks split
    at a blank row followed by a header row."""
    width = max((len(r) for r in rows), default=0)
    used = [any(c < len(r) and r[c] is not None for r in rows) for c in range(width)]
    start = None
    for column in range(width + 1):
        if column < width and used[column]:
            start = column if start is None else start
            continue
        if start is None:
            continue
        table: list[tuple[int, list[Cell]]] = []
        blank = False
        for number_, row in enumerate(rows, start=1):
            cells = list(row[start:column])
            while cells and cells[-1] is None:
                cells.pop()
            if not cells:
                blank = True
                continue
            header = any(
                isinstance(c, str) and number(c, decimal_comma=True) is None for c in cells
            )
            if blank and header and table:
                yield table
                table = []
            blank = False
            table.append((number_, cells))
        if table:
            yield table
        start = None


def _spectra(path: Path, sheets: list[Sheet], kind: str) -> list[Spectrum]:
    found: list[Spectrum] = []
    skipped: list[str] = []
    first_error: ReadError | None = None
    for name, rows in sheets:
        for table in _tables(rows):
            context = f"sheet {name!r}: "
            extra = {"format": kind, "sheet": name}
            try:
                found += spectra_from_rows(
                    path, table, decimal_comma=True, extra=extra, context=context
                )
            except ReadError as exc:
                first_error = first_error or exc
                skipped.append(f"{context}skipped ({exc.reason})")
    if not found:
        raise first_error or ReadError(path, "the workbook has no data")
    return [
        s.with_meta(
            index=i, extra={**s.meta.extra, "warnings": s.meta.extra["warnings"] + tuple(skipped)}
        )
        for i, s in enumerate(found)
    ]


def _sniff_xlsx(head: bytes, name: str) -> float:
    if not head.startswith(b"PK\x03\x04"):
        return 0.0
    return 0.95 if b"xl/" in head else 0.3 if name.endswith(".xlsx") else 0.0


def _sniff_ods(head: bytes, name: str) -> float:
    if head.startswith(b"PK\x03\x04"):
        return 0.95 if _ODS_MIME in head[:200] else 0.3 if name.endswith(".ods") else 0.0
    if b"<office:document" in head[:4096] and _ODS_MIME in head[:4096]:
        return 0.95
    return 0.0


FORMATS = (
    FileFormat(
        "xlsx", "Excel workbook (.xlsx; needs openpyxl)", (".xlsx",), _sniff_xlsx, read_xlsx
    ),
    FileFormat(
        "ods", "OpenDocument spreadsheet (.ods, .fods)", (".ods", ".fods"), _sniff_ods, read_ods
    ),
)
