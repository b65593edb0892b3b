"""eisfit.io.palmsens: .pssession written by a fixture writer, real sessions, fuzz."""

from __future__ import annotations

import codecs
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from reader_checks import (
    REAL,
    assert_exact,
    assert_same_as_pyimpspec,
    corruption_fuzz,
    random_content_fuzz,
)

from eisfit import ReadError, Spectrum
from eisfit.io.palmsens import FORMATS, read_pssession, sniff_pssession
from eisfit.synthetic import Arc, SyntheticCell, simulate

PYIMPSPEC = REAL / "vyrjana__pyimpspec" / "tests"
SDK = REAL / "PalmSens__palmsens-sdk" / "python"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(5, -1, 19)
START = datetime(2025, 7, 31, 15, 52, 46, 677336)


def _ticks(moment: datetime) -> int:
    """.NET ticks: 100 ns since 0001-01-01."""
    delta = moment - datetime(1, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _array(description: str, unit: str, label: str, values: Any) -> dict[str, Any]:
    unit_record = {"Type": f"PalmSens.Units.{unit}", "S": "", "Q": label, "A": ""}
    data = [{"V": float(v)} for v in values]
    return {"Type": "PalmSens.Data.DataArray", "Description": description, "Unit": unit_record,
            "DataValues": data}  # fmt: skip


def eis_measurement(spectrum: Spectrum, title: str, start: datetime = START) -> dict[str, Any]:
    """An EIS measurement as PSTrace stores it: ZIm holds -Z''."""
    z = spectrum.impedance_ohm
    values = [
        _array("time", "Time", "Time", np.zeros(len(z))),
        _array("Frequency", "Hertz", "Frequency", spectrum.frequency_hz),
        _array("ZRe", "ZRe", "Z'", z.real),
        _array("ZIm", "ZIm", "-Z''", -z.imag),
        _array("Phase", "Phase", "-Phase", -np.degrees(np.angle(z))),
    ]
    method = "#PSTrace\r\nMETHOD_ID=eis\r\nNOTES=Na%7CNZSP%7CNa%20cell%crlfsecond line\r\n"
    return {
        "Title": title, "TimeStamp": _ticks(start), "UTCTimeStamp": _ticks(start) - 72 * 10**9,
        "DeviceSerial": "ES4HR20B0008", "DeviceFW": "1.307", "Method": method,
        "DataSet": {"Type": "PalmSens.Data.DataSetEIS", "Values": values}, "Curves": [],
    }  # fmt: skip


def cv_measurement() -> dict[str, Any]:
    values = [_array("potential", "Volt", "Potential", [0.0, 0.1]),
              _array("current", "MicroAmpere", "Current", [1.0, 2.0])]  # fmt: skip
    return {"Title": "Cyclic Voltammetry", "TimeStamp": _ticks(START),
            "DataSet": {"Type": "PalmSens.Data.DataSetCommon", "Values": values}}  # fmt: skip


def session_bytes(*measurements: dict[str, Any], lower: bool = False, tail: bytes = b"") -> bytes:
    """UTF-16-LE JSON with a BOM and, as PSTrace writes it, a second BOM at the end."""
    document: Any = {"Type": "PalmSens.DataFiles.SessionFile", "CoreVersion": "5.11",
                     "MethodForMeasurement": "", "Measurements": list(measurements)}  # fmt: skip
    if lower:
        document = _lower_keys(document)
    text = json.dumps(document, separators=(",", ":"))
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le") + (tail or codecs.BOM_UTF16_LE)


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key.lower(): _lower_keys(item) for key, item in value.items()}
    return [_lower_keys(item) for item in value] if isinstance(value, list) else value


def _sample(seed: int, frequency: np.ndarray = FREQ) -> Spectrum:
    rng = np.random.default_rng(seed)
    return simulate(CELL.circuit, CELL.values, frequency, noise=0.01, rng=rng)


def _write(tmp_path: Path, data: bytes, name: str = "session.pssession") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("tail", [b"", b"\x00", b"\r\n"])
def test_round_trip_with_mixed_methods(tmp_path: Path, lower: bool, tail: bytes) -> None:
    first, second = _sample(1), _sample(2, FREQ[:9])
    later = datetime(2025, 8, 1, 9, 0, 0)
    records = (
        eis_measurement(first, "EIS 1"),
        cv_measurement(),
        eis_measurement(second, "EIS 2", later),
    )
    data = session_bytes(*records, lower=lower, tail=tail)
    path = _write(tmp_path, data)
    spectra = read_pssession(path)
    assert [s.meta.index for s in spectra] == [0, 1]
    assert_exact(spectra[0], first)
    assert_exact(spectra[1], second)
    assert [s.meta.timestamp for s in spectra] == [START, later]
    meta = spectra[0].meta
    assert meta.source == str(path) and meta.extra["title"] == "EIS 1"
    assert meta.extra["notes"] == "Na|NZSP|Na cell\nsecond line"
    assert meta.extra["device_serial"] == "ES4HR20B0008"
    assert meta.extra["warnings"] == ("skipped 'Cyclic Voltammetry': not an impedance measurement",)


def test_utf16_without_bom_and_utf8(tmp_path: Path) -> None:
    expected = _sample(3)
    data = session_bytes(eis_measurement(expected, "EIS"))
    for name, content in (("nobom", data[2:]), ("utf8", data.decode("utf-16").encode("utf-8"))):
        (spectrum,) = read_pssession(_write(tmp_path, content, name + ".pssession"))
        assert_exact(spectrum, expected)


def test_repeated_sweeps_in_one_measurement_are_split(tmp_path: Path) -> None:
    first, second = _sample(4, FREQ[:8]), _sample(5, FREQ[:8])
    f = np.concatenate([first.frequency_hz, second.frequency_hz])
    z = np.concatenate([first.impedance_ohm, second.impedance_ohm])
    record = eis_measurement(first, "scan")
    record["DataSet"]["Values"][1] = _array("Frequency", "Hertz", "Frequency", f)
    record["DataSet"]["Values"][2] = _array("ZRe", "ZRe", "Z'", z.real)
    record["DataSet"]["Values"][3] = _array("ZIm", "ZIm", "-Z''", -z.imag)
    spectra = read_pssession(_write(tmp_path, session_bytes(record)))
    assert [s.meta.extra["scan"] for s in spectra] == [0, 1]
    assert_exact(spectra[0], first)
    assert_exact(spectra[1], second)


def test_invalid_points_are_dropped_with_a_warning(tmp_path: Path) -> None:
    spectrum = _sample(6)
    record = eis_measurement(spectrum, "EIS")
    record["DataSet"]["Values"][1]["DataValues"][3]["V"] = 0.0
    record["DataSet"]["Values"][2]["DataValues"][5]["V"] = float("nan")
    (read,) = read_pssession(_write(tmp_path, session_bytes(record)))
    assert len(read) == len(FREQ) - 2
    assert read.meta.extra["warnings"] == (
        "EIS: dropped 2 point(s) with f <= 0 or a non-finite value",
    )


def test_bad_files_raise_read_error(tmp_path: Path) -> None:
    good = session_bytes(eis_measurement(_sample(7), "EIS"))
    short = eis_measurement(_sample(7), "EIS")
    short["DataSet"]["Values"][2]["DataValues"].pop()
    text = eis_measurement(_sample(7), "EIS")
    text["DataSet"]["Values"][1]["DataValues"][0]["V"] = "10 kHz"
    cases = {
        "empty": (b"", "no JSON object"),
        "cv": (session_bytes(cv_measurement()), "no impedance data .skipped 'Cyclic"),
        "none": (session_bytes(), "the session holds no measurements"),
        "cut": (good[: len(good) // 2], "invalid JSON"),
        "odd": (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00", "not utf-16-le text"),
        "list": (codecs.BOM_UTF16_LE + "[1, 2]".encode("utf-16-le"), "no JSON object"),
        "keys": (codecs.BOM_UTF16_LE + '{"a": 1}'.encode("utf-16-le"), "no 'Measurements'"),
        "short": (session_bytes(short), "19 frequencies, 18 Z' and 19 Z''"),
        "text": (session_bytes(text), "'10 kHz' is not a number"),
    }
    for name, (content, message) in cases.items():
        path = _write(tmp_path, content, name + ".pssession")
        with pytest.raises(ReadError, match=message) as info:
            read_pssession(path)
        assert info.value.path == str(path), name
    with pytest.raises(ReadError, match="no such file"):
        read_pssession(tmp_path / "missing.pssession")


def test_sniff() -> None:
    head = session_bytes(eis_measurement(_sample(8), "EIS"))[:65536]
    assert sniff_pssession(head, "a.pssession") >= 0.9 and sniff_pssession(head, "a") >= 0.9
    assert sniff_pssession(b"freq,re,im\n1,2,3\n", "data.csv") < 0.3
    assert sniff_pssession("lorem ipsum".encode("utf-16"), "notes.txt") < 0.3
    assert sniff_pssession(b'{"json": 1}', "x.json") < 0.3
    assert FORMATS[0].read is read_pssession and FORMATS[0].extensions == (".pssession",)


VALID = session_bytes(eis_measurement(_sample(9, FREQ[:3]), "EIS"))


test_fuzz_corrupted_files = corruption_fuzz(
    read_pssession, VALID, "session.pssession", nonempty=True
)
test_fuzz_random_content = random_content_fuzz(
    read_pssession,
    "random.pssession",
    content=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    sniff=sniff_pssession,
    nonempty=True,
)


# --- real sessions (MANIFEST rows "PalmSens PSTrace .pssession") ------------------------

_PEER_READ = [PYIMPSPEC / "data.pssession", SDK / "tests" / "test_data" / "eis_5freq.pssession"]


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize("path", _PEER_READ, ids=lambda p: p.name)
def test_real_sessions_match_pyimpspec(path: Path) -> None:
    assert sniff_pssession(path.read_bytes()[:65536], path.name) >= 0.9
    spectra = read_pssession(path)
    assert [len(s) for s in spectra] == [29 if path.parent == PYIMPSPEC else 5]
    assert_same_as_pyimpspec(path, spectra)


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real-data folder not present")
def test_real_mixed_session_gives_its_one_eis_spectrum() -> None:
    path = SDK / "examples" / "Demo CV DPV EIS IS-C electrode.pssession"
    (spectrum,) = read_pssession(path)
    assert (
        len(spectrum) == 71 and spectrum.frequency_hz[0] == 1e6 and spectrum.frequency_hz[-1] == 0.1
    )
    assert spectrum.meta.timestamp == datetime(2017, 7, 12, 14, 48, 42, 471882)
    assert np.all(spectrum.impedance_ohm.imag < 0)
    assert len(spectrum.meta.extra["warnings"]) == 2  # the DPV and CV measurements
