"""eisfit.io.spreadsheet: .xlsx (openpyxl), .ods and .fods (standard library) workbooks."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import REAL, read_outcome

import eisfit.io
from eisfit import ReadError, Spectrum
from eisfit.io.csv import read_csv
from eisfit.io.spreadsheet import read_ods, read_xlsx
from eisfit.synthetic import Arc, SyntheticCell, simulate

openpyxl = pytest.importorskip("openpyxl")  # a test dependency (eisfit[test]); eisfit's own
# reader raises a clear ReadError without it, tested below

PYIMPSPEC = REAL / "vyrjana__pyimpspec" / "tests"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"

Grid = list[list[object]]  # rows of cells: str, float or None


def _spectra(n: int) -> list[Spectrum]:
    rng = np.random.default_rng(11)
    return [
        simulate(CELL.circuit, CELL.values, np.logspace(5, 0, 9 + i), noise=0.01, rng=rng)
        for i in range(n)
    ]


def _grid(spectrum: Spectrum, header=("frequency", "Zre", "-Zim")) -> Grid:
    rows: Grid = [list(header)]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        rows.append([float(f), float(z.real), -float(z.imag)])
    return rows


def _signed_grid(spectrum: Spectrum) -> Grid:
    rows: Grid = [["f", "Z'", "Z''"]]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        rows.append([float(f), float(z.real), float(z.imag)])
    return rows


def _polar_grid(spectrum: Spectrum) -> Grid:
    rows: Grid = [["freq/Hz", "|Z|/Ohm", "Phase(Z)/deg"]]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        rows.append([float(f), float(abs(z)), float(np.degrees(np.angle(z)))])
    return rows


def _side_by_side(left: Grid, right: Grid, gap: int = 1) -> Grid:
    height = max(len(left), len(right))
    pad = [[None] * 3] * height
    return [(left + pad)[i] + [None] * gap + (right + pad)[i] for i in range(height)]


def write_xlsx(path: Path, sheets: dict[str, Grid]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, grid in sheets.items():
        sheet = book.create_sheet(name)
        for row in grid:
            sheet.append(row)
    book.save(path)
    return path


def _ods_xml(sheets: dict[str, Grid], root: str) -> str:
    tables = []
    for name, grid in sheets.items():
        rows = []
        for row in grid:
            cells = []
            for cell in row:
                if cell is None:
                    cells.append("<table:table-cell/>")
                elif isinstance(cell, float):
                    cells.append(
                        f'<table:table-cell office:value-type="float" office:value="{cell!r}">'
                        f"<text:p>{cell:.4g}</text:p></table:table-cell>"
                    )
                else:
                    cells.append(
                        f'<table:table-cell office:value-type="string"><text:p>{escape(str(cell))}'
                        "</text:p></table:table-cell>"
                    )
            cells.append('<table:table-cell table:number-columns-repeated="1000"/>')
            rows.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
        rows.append(
            '<table:table-row table:number-rows-repeated="1048000">'
            '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
        )
        tables.append(f'<table:table table:name="{escape(name)}">{"".join(rows)}</table:table>')
    namespaces = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
    )
    mime = f' office:mimetype="{ODS_MIME}"' if root == "office:document" else ""
    body = f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {namespaces}{mime}>{body}</{root}>\n'


def write_ods(path: Path, sheets: dict[str, Grid]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_MIME)  # first, stored
        archive.writestr(
            "content.xml", _ods_xml(sheets, "office:document-content"), zipfile.ZIP_DEFLATED
        )
    return path


def write_fods(path: Path, sheets: dict[str, Grid]) -> Path:
    path.write_text(_ods_xml(sheets, "office:document"), encoding="utf-8")
    return path


WRITERS = {"xlsx": write_xlsx, "ods": write_ods, "fods": write_fods}


def _assert_same(spectra: list[Spectrum], expected: list[Spectrum]) -> None:
    assert len(spectra) == len(expected)
    for index, (a, b) in enumerate(zip(spectra, expected, strict=True)):
        # openpyxl writes 16 significant digits: not always the exact float
        np.testing.assert_allclose(a.frequency_hz, b.frequency_hz, rtol=1e-15)
        np.testing.assert_allclose(a.impedance_ohm, b.impedance_ohm, rtol=1e-15)
        assert a.meta.index == index


@pytest.mark.parametrize("kind", WRITERS)
def test_one_spectrum_per_sheet_round_trip(tmp_path: Path, kind: str) -> None:
    spectra = _spectra(3)
    sheets = {f"run {i}": _grid(s) for i, s in enumerate(spectra)}
    sheets["empty"] = []
    path = WRITERS[kind](tmp_path / f"book.{kind}", sheets)
    back = eisfit.io.read(path)
    _assert_same(back, spectra)
    assert [s.meta.extra["sheet"] for s in back] == ["run 0", "run 1", "run 2"]
    assert back[0].meta.source == str(path)
    assert eisfit.io.detect(path) == ("xlsx" if kind == "xlsx" else "ods")
    extensionless = tmp_path / f"copy-{kind}"
    extensionless.write_bytes(path.read_bytes())
    _assert_same(eisfit.io.read(extensionless), spectra)


@pytest.mark.parametrize("kind", WRITERS)
def test_blocks_side_by_side_and_stacked_and_notes(tmp_path: Path, kind: str) -> None:
    a, b, c, d = _spectra(4)
    sheets = {
        "notes": [["sample", "NZSP pellet 3"], ["operator", "J. D."]],
        "pair": _side_by_side(_grid(a), _polar_grid(b), gap=2),
        "stack": [*_signed_grid(c), [None], *_grid(d)],
    }
    back = WRITERS[kind](tmp_path / f"blocks.{kind}", sheets)
    spectra = eisfit.io.read(back)
    assert [len(s) for s in spectra] == [9, 10, 11, 12]
    np.testing.assert_allclose(spectra[1].impedance_ohm, b.impedance_ohm, rtol=1e-13)
    for got, want in zip([spectra[0], spectra[2], spectra[3]], [a, c, d], strict=True):
        np.testing.assert_allclose(got.impedance_ohm, want.impedance_ohm, rtol=1e-15)
    assert [s.meta.extra["sheet"] for s in spectra] == ["pair", "pair", "stack", "stack"]
    assert any("sheet 'notes': skipped" in w for w in spectra[0].meta.extra["warnings"])


def test_text_cells_with_decimal_commas_and_empty_cells(tmp_path: Path) -> None:
    grid: Grid = [
        ["f", "Z'", "Z''"],
        ["1000,5", "10,25", "-2,5"],
        [100.0, None, -1.0],
        [10.0, 3.0, -0.5],
    ]
    (spectrum,) = read_ods(write_ods(tmp_path / "t.ods", {"s": grid}))
    np.testing.assert_array_equal(spectrum.frequency_hz, [1000.5, 10.0])
    np.testing.assert_array_equal(spectrum.impedance_ohm, [10.25 - 2.5j, 3.0 - 0.5j])
    assert "NaN or infinite values (line 3)" in spectrum.meta.extra["warnings"][0]


@pytest.mark.parametrize("kind", WRITERS)
def test_workbooks_without_spectra_raise(tmp_path: Path, kind: str) -> None:
    path = WRITERS[kind](tmp_path / f"notes.{kind}", {"notes": [["sample", "x"], ["a", "b", "c"]]})
    with pytest.raises(ReadError, match="sheet 'notes': ") as info:
        eisfit.io.read(path, format="xlsx" if kind == "xlsx" else "ods")
    assert info.value.path == str(path)
    empty = WRITERS[kind](tmp_path / f"empty.{kind}", {"nothing": []})
    with pytest.raises(ReadError, match="no data"):
        eisfit.io.read(empty, format="xlsx" if kind == "xlsx" else "ods")


def test_missing_openpyxl_gives_an_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {"s": _grid(_spectra(1)[0])})
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl -> ImportError
    with pytest.raises(ReadError, match=r'pip install "eisfit\[spreadsheet\]"'):
        read_xlsx(path)


@pytest.mark.parametrize("kind", ["xlsx", "ods"])
def test_corrupt_workbooks_raise_read_error(tmp_path: Path, kind: str) -> None:
    path = WRITERS[kind](tmp_path / f"a.{kind}", {"s": _grid(_spectra(1)[0])})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="not a readable") as info:
        (read_xlsx if kind == "xlsx" else read_ods)(path)
    assert info.value.path == str(path)
    broken = write_fods(tmp_path / "b.fods", {"s": _grid(_spectra(1)[0])})
    broken.write_text(broken.read_text()[:-40])
    with pytest.raises(ReadError, match="not a readable OpenDocument"):
        read_ods(broken)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(["xlsx", "ods", "fods"]),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_fuzz_damaged_workbooks(tmp_path_factory, kind: str, cut: float, flips) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    data = bytearray(WRITERS[kind](folder / f"a.{kind}", {"s": _grid(_spectra(1)[0])}).read_bytes())
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    path = folder / f"b.{kind}"
    path.write_bytes(bytes(data[: max(1, int(cut * len(data)))]))
    read_outcome(eisfit.io.read, path, names_file=True)


@pytest.mark.skipif(not PYIMPSPEC.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize("name", ["data.xlsx", "data-xlsx", "data.ods", "data-ods", "data.fods"])
def test_pyimpspec_workbooks_match_the_csv_reference(name: str) -> None:
    (reference,) = read_csv(PYIMPSPEC / "data-comma.csv")
    spectra = eisfit.io.read(PYIMPSPEC / name)
    assert [s.meta.extra["sheet"] for s in spectra] == [f"header-variant-{i}" for i in range(1, 5)]
    for spectrum in spectra:
        np.testing.assert_allclose(spectrum.frequency_hz, reference.frequency_hz, rtol=1e-12)
        np.testing.assert_allclose(spectrum.impedance_ohm, reference.impedance_ohm, rtol=1e-9)
