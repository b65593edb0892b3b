"""Every real export of the shared corpus through read -> lin-KK -> fit -> physics.

Issue 12, item 8: invariants rather than exact numbers (`honesty_checks`).  Every
spectrum is fitted with every named model (`circuits/*.toml`, with its bounds and roles)
for a 1 cm2, 0.1 cm symmetric cell; no fit may be ``ok`` with a parameter on a bound,
non-finite, or a derived quantity above 1e12, and no derived quantity may come from an
undetermined parameter.  Every spectrum also gets a lin-KK verdict with its reason.
Skipped when ``../shared/real-data`` is absent (a fresh clone).
"""

from __future__ import annotations

import math
import warnings

import pytest
from honesty_checks import check_fit
from real_corpus_table import MANIFEST, REAL, Row, manifest_rows
from scipy.optimize import OptimizeWarning

import eisfit
from eisfit.physics import Cell, analyse, load_models
from eisfit.status import STATUSES

pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="shared real-data folder not present")

ROWS = manifest_rows() if MANIFEST.exists() else []
CELL = Cell(1.0, 0.1)


def _spectra(row: Row) -> list[eisfit.Spectrum]:
    try:
        return eisfit.read(row.file)
    except eisfit.EisfitError:
        return []  # refused with a clear error: test_real_corpus checks that it should be


@pytest.mark.parametrize("row", [r for r in ROWS if r.expected != 0], ids=lambda r: r.path)
def test_every_fit_of_a_real_export_says_only_what_it_knows(row: Row) -> None:
    models = load_models()
    broken = []
    for spectrum in _spectra(row):
        try:
            kk = eisfit.kk_check(spectrum)
            assert kk.message and isinstance(kk.valid, bool)
        except eisfit.EisfitError as exc:  # too few points: a clear error is the answer
            assert "points" in str(exc)
        for name, model in models.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", OptimizeWarning)
                    result = eisfit.fit(
                        spectrum, model.circuit, bounds=model.bounds or None, kk=False
                    )
            except eisfit.FitInputError as exc:  # more parameters than data: said so
                assert "too few" in str(exc)
                continue
            analysis = analyse(result, CELL, roles=model.roles)
            assert result.status in STATUSES[:-1]
            assert result.success == (result.status != "failed")
            assert (result.status == "ok") == (not result.reasons)
            for parameter, reason in result.undetermined.items():
                assert math.isnan(result.values[parameter]) and reason
            broken += [
                f"#{spectrum.meta.index} {name}: {b}"
                for b in check_fit(result, analysis, result.model, model.bounds or {})
            ]
    assert not broken, "\n".join(broken)


def test_the_corpus_is_there() -> None:
    """Guard: the parametrised test above must not silently run on nothing."""
    assert REAL.exists() and len(ROWS) > 150
