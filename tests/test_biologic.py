"""eisfit.io.biologic_mpt / biologic_mpr: synthetic round trips, errors, fuzz.

Real exports of the shared corpus: test_biologic_real.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fixtures_biologic import (
    START,
    expected_timestamps,
    mpr_bytes,
    mpt_text,
    shortest32,
    write_mpr,
    write_mpt,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import read_outcome, truncate_and_flip

from eisfit import ReadError, Spectrum
from eisfit.io import read
from eisfit.io.biologic_mpr import FORMATS as MPR_FORMATS
from eisfit.io.biologic_mpr import read_mpr
from eisfit.io.biologic_mpt import FORMATS as MPT_FORMATS
from eisfit.io.biologic_mpt import read_mps, read_mpt
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 12.0, (Arc(340.0, 2e5, 0.9), Arc(800.0, 30.0, 0.8)))
SNIFF = {f.name: f.sniff for f in (*MPT_FORMATS, *MPR_FORMATS)}


def _spectra(n: int, seed: int = 0, points: int = 25) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    f = np.logspace(6, -1, points)
    return [simulate(CELL.circuit, CELL.values, f, noise=0.01, rng=rng) for _ in range(n)]


def _same(read: list[Spectrum], written: list[Spectrum], *, float32: bool = False) -> None:
    assert len(read) == len(written)
    for index, (got, want) in enumerate(zip(read, written, strict=True)):
        f, z = want.frequency_hz, want.impedance_ohm
        if float32:
            f, z = shortest32(f), shortest32(z.real) - 1j * shortest32(-z.imag)
        np.testing.assert_array_equal(got.frequency_hz, f)
        np.testing.assert_array_equal(got.impedance_ohm, z)
        assert got.meta.index == index


# --- .mpt ------------------------------------------------------------------------------


def test_mpt_round_trip_with_metadata(tmp_path: Path) -> None:
    written = _spectra(1)
    path = write_mpt(tmp_path / "run.mpt", written)
    read = read_mpt(path)
    _same(read, written)
    meta = read[0].meta
    assert meta.source == str(path) and meta.cycle == 1 and meta.temperature_k is None
    assert meta.timestamp == expected_timestamps(written)[0]
    assert meta.extra["technique"] == "PEIS" and meta.extra["format"] == "biologic-mpt"
    assert meta.extra["instrument"] == "BioLogic VMP-300 (SN 0826)"
    assert meta.extra["software"] == "EC-Lab v11.52"
    assert meta.extra["electrode_area_cm2"] == 1.327 and meta.extra["warnings"] == ()
    assert np.sum(read[0].impedance_ohm.imag < 0) > 20  # -Im(Z) flipped to the physical sign


def test_mpt_loops_decimal_comma_and_locale_date(tmp_path: Path) -> None:
    written = _spectra(3, seed=1)
    text = mpt_text(written, decimal_comma=True, start_text="02.22.2024 15:30:34")
    path = tmp_path / "de.mpt"
    path.write_bytes(text.encode("latin-1"))
    read = read_mpt(path)
    _same(read, written)
    start = START.replace(microsecond=0)
    assert [s.meta.timestamp for s in read] == expected_timestamps(written, start)
    assert [s.meta.cycle for s in read] == [1, 2, 3]
    assert read[0].meta.extra["electrode_area_cm2"] == 1.327


@pytest.mark.parametrize("option", ["cycles", "loops", "both"])
def test_mpt_splits_sweeps_by_frequency_alone(tmp_path: Path, option: str) -> None:
    written = _spectra(3, seed=2)
    kwargs = {"cycles": option == "loops", "loops": option == "cycles"}
    if option == "both":
        kwargs = {"cycles": False, "loops": False}
    _same(read_mpt(write_mpt(tmp_path / "x.mpt", written, **kwargs)), written)


def test_mpt_drops_f0_rows_of_a_modular_sequence(tmp_path: Path) -> None:
    written = _spectra(2, seed=3)
    read = read_mpt(write_mpt(tmp_path / "mb.mpt", written, ocv_rows=4, loops=False))
    _same(read, written)
    assert read[0].meta.extra["warnings"] == (
        "dropped 8 of 58 rows with f = 0 Hz (points of non-impedance techniques)",
    )


def test_mpt_rising_sweep_and_repeated_frequency(tmp_path: Path) -> None:
    up = _spectra(1, seed=4)[0].sorted(descending=False)
    _same(read_mpt(write_mpt(tmp_path / "up.mpt", [up], cycles=False, loops=False)), [up])
    again = up.mask(np.arange(len(up)) < 5)
    read = read_mpt(write_mpt(tmp_path / "twice.mpt", [up, again], cycles=False, loops=False))
    assert [len(s) for s in read] == [len(up), 5]


@pytest.mark.parametrize("technique, short", [("Galvano Electrochemical Impedance Spectroscopy",
                                               "GEIS"), ("Loop", "Loop")])  # fmt: skip
def test_mpt_technique_and_bt_lab(tmp_path: Path, technique: str, short: str) -> None:
    magic = "BT-Lab ASCII FILE"
    path = write_mpt(tmp_path / "g.mpt", _spectra(1), technique=technique, magic=magic)
    meta = read_mpt(path)[0].meta
    assert meta.extra["technique"] == short and meta.extra["software"] == "BT-Lab v11.52"


def test_mpt_time_formats_and_placeholder_dates(tmp_path: Path) -> None:
    written = _spectra(2, seed=5)
    absolute = write_mpt(tmp_path / "abs.mpt", written, time_format="Absolute MM/DD/YYYY")
    got = [s.meta.timestamp for s in read_mpt(absolute)]
    want = expected_timestamps(written)
    assert all(abs(a - b) < timedelta(milliseconds=1) for a, b in zip(got, want, strict=True))
    anonymised = write_mpt(tmp_path / "anon.mpt", written, start_text="xx/xx/xxxx xx:xx:xx")
    read = read_mpt(anonymised)
    assert read[0].meta.timestamp is None and "not a date" in read[0].meta.extra["warnings"][0]


def test_mpt_signed_imaginary_column_and_ecl_precision(tmp_path: Path) -> None:
    written = _spectra(1, seed=6)
    signed = write_mpt(tmp_path / "s.mpt", written, imag_name="Im(Z)/Ohm")
    _same(read_mpt(signed), written)
    printed = read_mpt(write_mpt(tmp_path / "p.mpt", written, number_format="%.7E"))[0]
    np.testing.assert_allclose(printed.impedance_ohm, written[0].impedance_ohm, rtol=1e-7)


def test_mpt_without_ec_lab_header_is_read_but_sniffed_low(tmp_path: Path) -> None:
    written = _spectra(1, seed=7)
    path = write_mpt(tmp_path / "bare", written, header=False)
    _same(read_mpt(path), written)
    assert SNIFF["biologic-mpt"](path.read_bytes(), "bare") < 0.3


@pytest.mark.parametrize(
    "edit, message, line",
    [
        (lambda t: t.split("freq/Hz")[0] + "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\r\n", "no data", 22),
        (lambda t: t.replace("freq/Hz", "Re(Z)/Ohm", 1), "no frequency column", 22),
        (lambda t: t.replace("-Im(Z)/Ohm", "Phase(Z)/deg", 1), r"Re\(Z\)/Ohm", 22),
        (lambda t: t.replace("Nb header lines : 22", "Nb header lines : 99"), "truncated", 2),
        (lambda t: t.replace("Nb header lines", "Header lines"), "Nb header lines", 2),
        (lambda t: t.replace("\r\n1000000.0\t", "\r\n1e6x\t", 1), "non-numeric", 23),
        (lambda t: t.rsplit("\t", 9)[0], "truncated row", 47),
        (lambda t: "EC-LAB SETTING FILE\r\n\r\n" + t, "settings", 1),
        (lambda t: "Some other file\r\n" + t, "not an EC-Lab .mpt", 1),
    ],
)
def test_mpt_errors_name_the_line(tmp_path: Path, edit, message: str, line: int) -> None:
    path = tmp_path / "bad.mpt"
    path.write_bytes(edit(mpt_text(_spectra(1), loops=False)).encode("cp1252"))
    with pytest.raises(ReadError, match=message) as error:
        read_mpt(path)
    assert error.value.line == line and error.value.path == str(path)


def test_mps_settings_file_raises_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "exp.mps"
    path.write_bytes(b"EC-LAB SETTING FILE\r\n\r\nNumber of linked techniques : 1\r\n")
    for reader in (read_mps, read_mpt, read_mpr):
        with pytest.raises(ReadError, match="settings"):
            reader(path)
    assert SNIFF["biologic-mps"](path.read_bytes(), "exp.mps") >= 0.9


def test_eisfit_io_read_picks_these_readers_by_content(tmp_path: Path) -> None:
    written = _spectra(2, seed=12)
    for name, writer in (("run.mpt", write_mpt), ("run.mpr", write_mpr)):
        for target in (tmp_path / name, tmp_path / f"copy-{name[-3:]}"):  # and extensionless
            spectra = read(writer(target, written))
            assert spectra[0].meta.extra["format"] == f"biologic-{name[-3:]}" and len(spectra) == 2


def test_sniffers(tmp_path: Path) -> None:
    mpt = mpt_text(_spectra(1)).encode("cp1252")
    mpr = mpr_bytes(_spectra(1))
    csv_text = b"frequency,z_real,z_imag\n1000,1.5,-2\n100,2,-3\n"
    assert SNIFF["biologic-mpt"](mpt, "run") >= 0.9 and SNIFF["biologic-mpr"](mpr, "run") >= 0.9
    for name, sniff in SNIFF.items():
        for other in (csv_text, b"random text \x00\xff" * 40, b""):
            assert sniff(other, "data.csv") < 0.3, name
    assert SNIFF["biologic-mpt"](csv_text, "x.mpt") <= 0.3
    assert SNIFF["biologic-mpr"](mpt, "x.mpr") <= 0.3 and SNIFF["biologic-mpt"](mpr, "x") < 0.3


# --- .mpr ------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["v0", "v2", "v3", "v11.50"])
def test_mpr_round_trip_every_layout(tmp_path: Path, layout: str) -> None:
    written = _spectra(3, seed=8)
    path = write_mpr(tmp_path / "run.mpr", written, layout=layout, flags=layout == "v3")
    read = read_mpr(path)
    _same(read, written, float32=True)
    assert [s.meta.timestamp for s in read] == expected_timestamps(written)
    assert [s.meta.cycle for s in read] == [1, 2, 3]
    extra = read[0].meta.extra
    assert extra["technique"] == "PEIS" and extra["software"] == "EC-Lab v11.52"
    assert extra["format"] == "biologic-mpr" and extra["warnings"] == ()


def test_mpr_agrees_with_the_mpt_of_the_same_run(tmp_path: Path) -> None:
    written = _spectra(2, seed=9)
    as_float32 = [
        Spectrum(shortest32(s.frequency_hz), shortest32(z.real) - 1j * shortest32(-z.imag))
        for s in written
        for z in [s.impedance_ohm]
    ]
    from_mpr = read_mpr(write_mpr(tmp_path / "a.mpr", written, ocv_rows=3))
    from_mpt = read_mpt(write_mpt(tmp_path / "a.mpt", as_float32, ocv_rows=3))
    for a, b in zip(from_mpr, from_mpt, strict=True):
        np.testing.assert_array_equal(a.frequency_hz, b.frequency_hz)
        np.testing.assert_array_equal(a.impedance_ohm, b.impedance_ohm)
        assert (a.meta.timestamp, a.meta.cycle) == (b.meta.timestamp, b.meta.cycle)


def test_mpr_without_log_loops_or_cycles(tmp_path: Path) -> None:
    written = _spectra(2, seed=10)
    path = write_mpr(tmp_path / "x.mpr", written, start=None, loops=False, ids=(4, 32, 37, 38))
    read = read_mpr(path)
    _same(read, written, float32=True)
    assert read[0].meta.timestamp is None and read[0].meta.cycle is None
    warning = "no LOG module: acquisition start unknown, no timestamps"
    assert read[0].meta.extra["warnings"] == (warning,)


def test_mpr_z_cycle_temperature_and_one_unknown_column(tmp_path: Path) -> None:
    written = _spectra(2, seed=11)
    path = write_mpr(tmp_path / "x.mpr", written, loops=False, ids=(32, 37, 38, 469, 462, 999))
    read = read_mpr(path)
    _same(read, written, float32=True)
    assert [s.meta.cycle for s in read] == [1, 2] and read[0].meta.temperature_k == 280.15
    assert read[0].meta.extra["warnings"] == ("unknown column id 999 (4 bytes) skipped",)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda b: b[:-300], "truncated"),
        (lambda b: b[:2000], "truncated"),
        (lambda b: b"BIO-LOGIX" + b[9:], "not a BioLogic .mpr"),
        (lambda b: b[:52] + b"MODULX" + b[58:], "expected 'MODULE'"),
        (lambda b: b"", "not a BioLogic .mpr"),
    ],
)
def test_mpr_errors(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "bad.mpr"
    path.write_bytes(edit(mpr_bytes(_spectra(1), loops=False)))
    with pytest.raises(ReadError, match=message):
        read_mpr(path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_records": 0}, "no points"),
        ({"n_records": 7}, "truncated or corrupt"),
        ({"ids": (32, 37, 38, 999, 998)}, "unknown column ids"),
        ({"ids": (4, 77)}, "no frequency"),
    ],
)
def test_mpr_bad_data_modules(tmp_path: Path, options: dict, message: str) -> None:
    path = write_mpr(tmp_path / "bad.mpr", _spectra(1), loops=False, **options)
    with pytest.raises(ReadError, match=message):
        read_mpr(path)


# --- fuzz ------------------------------------------------------------------------------

_MPT = mpt_text(_spectra(2, points=6)).encode("cp1252")
_MPR = mpr_bytes(_spectra(2, points=6), layout="v11.50")
_FUZZ = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _survives(tmp_path: Path, content: bytes, reader) -> None:
    path = tmp_path / "fuzz"
    path.write_bytes(content)
    read_outcome(reader, path)


@_FUZZ
@given(data=st.data())
@pytest.mark.parametrize("original, reader", [(_MPT, read_mpt), (_MPR, read_mpr)])
def test_fuzz_truncations_and_byte_flips(tmp_path: Path, data, original: bytes, reader) -> None:
    _survives(tmp_path, truncate_and_flip(data, original), reader)


@_FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_random_text_after_the_magic(tmp_path: Path, text: str) -> None:
    _survives(tmp_path, b"EC-Lab ASCII FILE\r\nNb header lines : 3\r\n" + text.encode(), read_mpt)
    _survives(tmp_path, _MPR[:52] + text.encode(), read_mpr)
