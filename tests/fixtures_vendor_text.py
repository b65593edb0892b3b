"""Shared helpers for the tests of the ZView, Autolab, Princeton, CHI and .P00 readers.

Synthetic spectra, the real-data MANIFEST rows of these formats, the peer readers
(impedance.py, pyimpspec) and a fuzz check.  Format writers live in each test module.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from eisfit import EisfitError, Spectrum
from eisfit.synthetic import Arc, SyntheticCell, simulate

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
NO_REAL = pytest.mark.skipif(not REAL.exists(), reason="../shared/real-data not present")
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))


def sample(
    seed: int = 0, n_points: int = 25, *, f_max: float = 1e6, f_min: float = 0.1
) -> Spectrum:
    """A noisy two-arc spectrum, high to low frequency (inductive points at the top)."""
    rng = np.random.default_rng(seed)
    frequency = np.logspace(np.log10(f_max), np.log10(f_min), n_points)
    return simulate(CELL.circuit, CELL.values, frequency, noise=0.01, rng=rng)


def manifest_rows(*keywords: str) -> list[dict[str, str]]:
    """MANIFEST rows whose format column contains one of ``keywords`` ([] without data)."""
    if not REAL.exists():
        return []
    with (REAL / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if any(k in r["format"] for k in keywords)]


def row_id(row: dict[str, str]) -> str:
    return row["path"].split("/", 1)[0].split("__")[-1] + ":" + row["path"].rsplit("/", 1)[-1]


def assert_same(spectrum: Spectrum, frequency: np.ndarray, impedance: np.ndarray) -> None:
    np.testing.assert_allclose(spectrum.frequency_hz, frequency, rtol=1e-9, atol=0)
    np.testing.assert_allclose(spectrum.impedance_ohm, impedance, rtol=1e-9, atol=0)


def check_peers(row: dict[str, str], spectra: list[Spectrum]) -> None:
    """Where the MANIFEST says a peer reads the file ``ok``, eisfit must agree with it."""
    path = REAL / row["path"]
    verdict = row["impedance.py readFile"]
    if verdict.startswith("[instrument=") and "] ok" in verdict:
        from impedance.preprocessing import readFile

        instrument = verdict.split("]")[0].split("=")[1]
        frequency, impedance = readFile(
            str(path), instrument=None if instrument == "None" else instrument
        )
        assert len(spectra) == 1
        assert_same(spectra[0], np.asarray(frequency), np.asarray(impedance))
    if row["pyimpspec parse_data"].startswith("ok"):
        pyimpspec = pytest.importorskip("pyimpspec")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data_sets = pyimpspec.parse_data(str(path))
        assert len(data_sets) == len(spectra)
        for data, spectrum in zip(data_sets, spectra, strict=True):
            # pyimpspec orders every data set by falling frequency
            ours = spectrum.sorted(descending=True)
            assert_same(ours, data.get_frequencies(), data.get_impedances())


def outcome(read: Callable[[Path], list[Spectrum]], path: Path) -> list[Spectrum] | EisfitError:
    """Read ``path``: a list of spectra or an `EisfitError`; anything else fails the test."""
    try:
        spectra = read(path)
    except EisfitError as exc:
        return exc
    assert isinstance(spectra, list)
    assert all(isinstance(s, Spectrum) for s in spectra)
    return spectra


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]], insert: tuple[int, bytes]) -> bytes:
    """``data`` truncated at ``cut``, with byte flips and one inserted chunk."""
    out = bytearray(data[: max(cut, 0)])
    for position, value in flips:
        if out:
            out[position % len(out)] = value
    where, chunk = insert
    position = where % (len(out) + 1)
    return bytes(out[:position]) + chunk + bytes(out[position:])
