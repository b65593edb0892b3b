"""eisfit.io.biologic_mpt / biologic_mpr on the real exports of ../shared/real-data.

Every BioLogic row of the corpus MANIFEST: the expected number of spectra (0: ReadError),
identical data to pyimpspec / impedance.py where they read the file, and every .mpr equal
to the .mpt export of the same run.  Skipped when the corpus is not there (fresh clone).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from reader_checks import NO_REAL, REAL, assert_same_as_pyimpspec, impedance_py, manifest

from eisfit import ReadError
from eisfit.io.biologic_mpr import FORMATS as MPR_FORMATS
from eisfit.io.biologic_mpr import read_mpr
from eisfit.io.biologic_mpt import FORMATS as MPT_FORMATS
from eisfit.io.biologic_mpt import read_mps, read_mpt

SNIFF = {f.name: f.sniff for f in (*MPT_FORMATS, *MPR_FORMATS)}

_BROKEN = {"ECSHackWeek__impedance.py/data/exampleDataBioLogic_MissingFreq.mpt"}  # no freq column


def _manifest(kind: str) -> list[dict[str, str]]:
    return [r for r in manifest() if r["format"].startswith(f"BioLogic EC-Lab {kind}")]


def _expected(row: dict[str, str]) -> int:
    return 0 if row["path"] in _BROKEN else int(row["n_spectra_guess"].split()[0])


@NO_REAL
@pytest.mark.parametrize("row", _manifest(".mpt") + _manifest(".mps") + _manifest(".mpr"),
                         ids=lambda r: r["path"][-60:])  # fmt: skip
def test_real_files_read_to_the_expected_spectra(row: dict[str, str]) -> None:
    path = REAL / row["path"]
    reader = {".mpr": read_mpr, ".mps": read_mps}.get(path.suffix, read_mpt)
    sniff = {".mpr": "biologic-mpr", ".mps": "biologic-mps"}.get(path.suffix, "biologic-mpt")
    if path.name != "data-mpt":  # column names only: the generic CSV reader's file
        assert SNIFF[sniff](path.read_bytes()[:65536], path.name.lower()) >= 0.9
    if _expected(row) == 0:
        with pytest.raises(ReadError):
            reader(path)
        return
    spectra = reader(path)
    assert len(spectra) == _expected(row)
    assert all(np.all(s.frequency_hz > 0) for s in spectra)


@NO_REAL
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("row", _manifest(".mpt"), ids=lambda r: r["path"][-60:])
def test_real_mpt_identical_to_peers(row: dict[str, str]) -> None:
    path = REAL / row["path"]
    if row["pyimpspec parse_data"].startswith("ok"):
        assert_same_as_pyimpspec(path, read_mpt(path), exact_frequency=True)
    if row["impedance.py readFile"].startswith("[instrument=biologic] ok ("):
        f, z = impedance_py(path, "biologic")
        ours = read_mpt(path)
        np.testing.assert_array_equal(np.concatenate([s.frequency_hz for s in ours]), f)
        np.testing.assert_allclose(np.concatenate([s.impedance_ohm for s in ours]), z, rtol=1e-9)


# .mpr -> .mpt export of the same run (same folder, ECLab-Export/, or another repository)
_YADG = "dgbowl__yadg/tests/test_x_eclab/"
_PAIRS = [
    (f"{_YADG}peis.mpr", "cheminfo__biologic-converter/src/__tests__/data/all/peis/peis.mpt"),
    ("m0l0t0ph__thesis/Experimentelles/Rohdaten/Batteriemessungen/ASS/LTO_LLTO_Li/05/"
     "LTO_LLTO_Li_C03.mpr",
     "m0l0t0ph__thesis/Experimentelles/Ausgewaehlte_Daten/Gefuege/PEIS/LTO_LLTO_Li_C03.mpt"),
]  # fmt: skip
for _row in _manifest(".mpr"):
    _mpr = Path(_row["path"])
    for _mpt in (_mpr.with_suffix(".mpt"), _mpr.parent / "ECLab-Export" / f"{_mpr.stem}.mpt"):
        if (REAL / _mpt).exists() and _expected(_row):
            _PAIRS.append((_row["path"], str(_mpt)))


@NO_REAL
@pytest.mark.parametrize("mpr, mpt", _PAIRS, ids=lambda p: p[-40:])
def test_real_mpr_equals_its_mpt_export(mpr: str, mpt: str) -> None:
    binary, text = read_mpr(REAL / mpr), read_mpt(REAL / mpt)
    assert len(binary) == len(text)
    for a, b in zip(binary, text, strict=True):
        np.testing.assert_allclose(a.frequency_hz, b.frequency_hz, rtol=2e-7)
        np.testing.assert_allclose(a.impedance_ohm, b.impedance_ohm, rtol=2e-7)
        assert a.meta.cycle == b.meta.cycle
        assert isinstance(a.meta.timestamp, datetime) and isinstance(b.meta.timestamp, datetime)
        assert abs(a.meta.timestamp - b.meta.timestamp) < timedelta(milliseconds=1)
