"""eisfit.io.zahner: Zahner .ism written by a fixture writer, real files, corruption fuzz."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from reader_checks import REAL, corruption_fuzz, random_content_fuzz

from eisfit import ReadError, Spectrum
from eisfit.io.zahner import FORMATS, read_ism, sniff_ism
from eisfit.synthetic import Arc, SyntheticCell, simulate

ZAHNER = REAL / "Zahner-elektrik__Zahner-Analysis-Python" / "Examples"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(5, -1, 25)
LEAD_IN = np.array([1049.3, 3010.5, 9120.0, 27650.0])  # start frequency up to the limit
STRINGS = ("160724", "Na|NZSP|Na", "0.0V, Ampl: 10mV", "1nA", "25.0+-0.1C",
           "09:32:45 - 09:37:42", "First Line", "", "", "Last Line", "", "")  # fmt: skip


def ism_bytes(
    frequency: np.ndarray,
    impedance: np.ndarray,
    *,
    clock: np.ndarray | None = None,
    strings: tuple[str, ...] | None = STRINGS,
) -> bytes:
    """An .ism file as Thales writes it (layout: eisfit.io.zahner docstring)."""
    n = len(frequency)
    clock = np.arange(n, dtype=float) if clock is None else clock
    out = bytearray(b"\x00\x00\xff\xff\xff\xfe" + (n - 1).to_bytes(6, "big"))
    for values in (frequency, np.abs(impedance), np.angle(impedance), clock):
        out += np.asarray(values, dtype=">f8").tobytes()
    out += np.full(n, 1000, dtype=">i2").tobytes()
    for text in strings or ():
        raw = text.swapcase().encode("ascii")
        out += len(raw).to_bytes(2, "big") + raw
    if strings is not None:
        out += b"\x01\x00" + bytes(64)  # acquisition flag and more binary metadata
    return bytes(out)


def write_ism(path: Path, frequency: np.ndarray, impedance: np.ndarray, **options) -> Path:
    path.write_bytes(ism_bytes(frequency, impedance, **options))
    return path


def _sample(frequency: np.ndarray = FREQ) -> Spectrum:
    return simulate(CELL.circuit, CELL.values, frequency, noise=0.01)


def _with_lead_in(tmp_path: Path, **options) -> tuple[Path, Spectrum]:
    spectrum = _sample()
    lead = _sample(LEAD_IN)
    f = np.concatenate([lead.frequency_hz, spectrum.frequency_hz])
    z = np.concatenate([lead.impedance_ohm, spectrum.impedance_ohm])
    return write_ism(tmp_path / "cell.ism", f, z, **options), spectrum


def test_round_trip_drops_the_lead_in_and_keeps_the_metadata(tmp_path: Path) -> None:
    start = (datetime(2024, 7, 16, 9, 32, 45) - datetime(1980, 1, 1)).total_seconds()
    clock = start + np.arange(len(LEAD_IN) + len(FREQ)) * 7.5
    path, expected = _with_lead_in(tmp_path, clock=clock)
    (spectrum,) = read_ism(path)
    np.testing.assert_array_equal(spectrum.frequency_hz, expected.frequency_hz)
    np.testing.assert_allclose(spectrum.impedance_ohm, expected.impedance_ohm, rtol=1e-13)
    meta = spectrum.meta
    assert (meta.source, meta.index) == (str(path), 0)
    assert meta.timestamp == datetime(2024, 7, 16, 9, 32, 45)
    assert meta.temperature_k == pytest.approx(298.15)
    assert meta.extra["title"] == "Na|NZSP|Na" and meta.extra["format"] == "zahner-ism"
    assert meta.extra["comments"] == ("First Line", "Last Line")
    assert "dropped 4 point(s) outside the main sweep" in meta.extra["warnings"][0]


def test_rising_sweep_keeps_file_order(tmp_path: Path) -> None:
    expected = _sample(FREQ[::-1])
    path = write_ism(tmp_path / "up.ism", expected.frequency_hz, expected.impedance_ohm)
    (spectrum,) = read_ism(path)
    np.testing.assert_array_equal(spectrum.frequency_hz, expected.frequency_hz)
    assert spectrum.meta.extra["warnings"] == ()


@pytest.mark.parametrize(
    ("temperature", "kelvin"),
    [("25.0+-0.1C", 298.15), ("-20.5+-0.1C", 252.65), ("-273.15+-0.0C", None),
     ("-0.0+-0.4C", None), ("0.1+-0.8C", None), ("RT", None), ("", None)],
)  # fmt: skip
def test_temperature_string(tmp_path: Path, temperature: str, kelvin: float | None) -> None:
    strings = (*STRINGS[:4], temperature, *STRINGS[5:])
    (spectrum,) = read_ism(_with_lead_in(tmp_path, strings=strings)[0])
    assert spectrum.meta.temperature_k == (None if kelvin is None else pytest.approx(kelvin))


def test_simulation_without_clock_uses_the_date_and_time_strings(tmp_path: Path) -> None:
    strings = ("250509", "Simulation", "0V", "0A", "RT", "11:11:11 - 12:12:12", *[""] * 6)
    (spectrum,) = read_ism(_with_lead_in(tmp_path, strings=strings)[0])
    assert spectrum.meta.timestamp == datetime(2009, 5, 25, 11, 11, 11)
    (bare,) = read_ism(_with_lead_in(tmp_path, strings=("",) * 12)[0])
    assert bare.meta.timestamp is None and bare.meta.temperature_k is None


def test_file_without_strings_reads_with_a_warning(tmp_path: Path) -> None:
    expected = _sample()
    path = write_ism(
        tmp_path / "x.ism", expected.frequency_hz, expected.impedance_ohm, strings=None
    )
    (spectrum,) = read_ism(path)
    assert (
        len(spectrum) == len(FREQ) and "no metadata strings" in spectrum.meta.extra["warnings"][0]
    )


def test_non_finite_points_are_dropped_with_a_warning(tmp_path: Path) -> None:
    expected = _sample()
    f = expected.frequency_hz.copy()
    f[3] = np.nan
    (spectrum,) = read_ism(write_ism(tmp_path / "nan.ism", f, expected.impedance_ohm))
    assert len(spectrum) == len(FREQ) - 1
    assert "dropped 1 point(s) with a non-finite value" in spectrum.meta.extra["warnings"][0]


def test_repeated_frequency_keeps_the_first_point(tmp_path: Path) -> None:
    expected = _sample()
    f = np.insert(expected.frequency_hz, 5, expected.frequency_hz[4])
    z = np.insert(expected.impedance_ohm, 5, 1.0)
    (spectrum,) = read_ism(write_ism(tmp_path / "repeat.ism", f, z))
    np.testing.assert_array_equal(spectrum.frequency_hz, expected.frequency_hz)
    assert spectrum.meta.extra["warnings"] == ("dropped 1 repeated frequency point(s)",)


def test_bad_files_raise_read_error(tmp_path: Path) -> None:
    path, _ = _with_lead_in(tmp_path)
    data = path.read_bytes()
    cases = {
        "empty.ism": (b"", "not a Zahner"),
        "text.ism": (b"frequency,Z',Z''\n1,2,3\n", "not a Zahner"),
        "cut.ism": (data[:500], "truncated: 29 points need"),
        "header.ism": (data[:9], "truncated"),
        "strings.ism": (data[: 12 + 34 * 29 + 9], "metadata string"),
        "count.ism": (data[:6] + b"\x7f" * 6 + data[12:], "corrupt header"),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(ReadError, match=message) as info:
            read_ism(bad)
        assert str(bad) in str(info.value)
    with pytest.raises(ReadError, match="no such file"):
        read_ism(tmp_path / "missing.ism")


def test_sniff(tmp_path: Path) -> None:
    head = _with_lead_in(tmp_path)[0].read_bytes()[:65536]
    assert sniff_ism(head, "cell.ism") >= 0.9 and sniff_ism(head, "cell") >= 0.9
    assert sniff_ism(b"freq,re,im\n1,2,3\n", "data.csv") < 0.3
    assert sniff_ism(b"lorem ipsum " * 50, "notes.txt") < 0.3
    assert sniff_ism(b"", "x.ism") <= 0.3
    assert FORMATS[0].read is read_ism and FORMATS[0].extensions == (".ism",)


VALID = ism_bytes(FREQ[:6], simulate(CELL.circuit, CELL.values, FREQ[:6]).impedance_ohm)


test_fuzz_corrupted_files = corruption_fuzz(read_ism, VALID, "fuzz.ism", count=1)
test_fuzz_random_content = random_content_fuzz(
    read_ism,
    "random.ism",
    content=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    sniff=sniff_ism,
    count=1,
)


# --- real exports (MANIFEST rows "Zahner Thales .ism"; no peer reads them) ----------------

_SETUP = "SetupCompensation/ExampleData/"
_REAL_FILES = {  # file -> (points, first f, last f, timestamp or "")
    "BasicIntroduction/rc-data.ism": (55, 1e5, 0.2, "2024-07-16 09:32:48.071500"),
    "ComplexFitConfigurations/li-ion-battery.ism": (128, 5e-4, 5e3, "2009-05-25 11:11:11"),
    "EditImpedanceData/li-ion-battery-edited.ism": (116, 1e-5, 960.36, ""),
    _SETUP + "500uR_measurement_pro.ism": (160, 1e6, 1.0, "2023-04-26 11:36:05.525500"),
    _SETUP + "short_circuit_measurement_pro.ism": (212, 1e6, 1.0, "2023-04-26 11:26:50.207500"),
    _SETUP + "500uR_measurement_pro_short_compensated.ism": (160, 1.0, 1e6, ""),
    "ZHIT/ZHIT.ism": (40, 0.1, 5e4, "2024-07-16 11:44:08"),
    "ZHIT/drift.ism": (47, 5e4, 0.1, "2023-03-17 16:17:05.934000"),
}


@pytest.mark.skipif(not ZAHNER.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize("name", sorted(_REAL_FILES))
def test_real_zahner_files(name: str) -> None:
    points, first, last, timestamp = _REAL_FILES[name]
    path = ZAHNER / name
    assert sniff_ism(path.read_bytes()[:65536], path.name) >= 0.9
    (spectrum,) = read_ism(path)
    assert len(spectrum) == points
    assert spectrum.meta.timestamp == (datetime.fromisoformat(timestamp) if timestamp else None)
    assert spectrum.frequency_hz[0] == pytest.approx(first)
    assert spectrum.frequency_hz[-1] == pytest.approx(last)


@pytest.mark.skipif(not ZAHNER.is_dir(), reason="shared real-data folder not present")
def test_real_rc_dummy_is_capacitive_and_warm() -> None:
    (spectrum,) = read_ism(ZAHNER / "BasicIntroduction" / "rc-data.ism")
    assert np.all(spectrum.impedance_ohm.imag < 0)
    assert spectrum.meta.temperature_k == pytest.approx(296.95)
    assert spectrum.meta.extra["title"] == "RC HIZ"
