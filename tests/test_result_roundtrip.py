"""FitResult.to_dict(arrays=True) / from_dict round trip through strict JSON, to_dataframe."""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest

import eisfit
from eisfit import FitResult, JsonError, Spectrum, SpectrumMeta

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = {"R0.R": 120.0, "R1.R": 800.0, "CPE1.Q": 2e-9, "CPE1.n": 0.9,
        "R2.R": 2500.0, "CPE2.Q": 3e-6, "CPE2.n": 0.8}  # fmt: skip


def _result(**options) -> FitResult:
    f = np.logspace(6, -1, 50)
    z = eisfit.compile_circuit(CIRCUIT).impedance(np.array(list(TRUE.values())), f)
    rng = np.random.default_rng(3)
    z = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    meta = SpectrumMeta(
        source="cell 7.mpt",
        index=2,
        timestamp=datetime(2026, 1, 2, 3, 4, 5),
        cycle=4,
        temperature_k=298.15,
        extra={"mode": "PEIS", "tags": ("a", "b")},
    )
    return eisfit.fit(Spectrum(f, z, meta), CIRCUIT, **options)


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("options", [{}, {"fixed": {"CPE1.n": 0.9}}])
def test_round_trip_through_strict_json_gives_an_equal_result(options) -> None:
    result = _result(**options)
    text = json.dumps(result.to_dict(arrays=True), allow_nan=False)
    back = FitResult.from_dict(json.loads(text))
    assert back.to_dict(arrays=True) == result.to_dict(arrays=True)
    assert _same(back.spectrum.frequency_hz, result.spectrum.frequency_hz)
    assert np.array_equal(back.spectrum.impedance_ohm, result.spectrum.impedance_ohm)
    assert back.spectrum.meta == result.spectrum.meta
    assert _same(back.correlation, result.correlation)
    assert _same(back.residuals_real, result.residuals_real)
    assert _same(list(back.values.values()), list(result.values.values()))
    assert _same(list(back.stderr.values()), list(result.stderr.values()))
    assert back.fixed == result.fixed and back.undetermined == result.undetermined
    assert back.kk is not None and result.kk is not None
    assert _same(back.kk.residuals_imag, result.kk.residuals_imag)
    assert back.report() == result.report()
    assert np.allclose(back.predict([1e3]), result.predict([1e3]), rtol=0, atol=0)


def test_an_undetermined_parameter_stays_undetermined() -> None:
    result = _result(bounds={"R0.R": (1.0, 2.0)})  # R0 pinned on a bound far from 120 ohm
    assert "R0.R" in result.undetermined
    data = json.loads(json.dumps(result.to_dict(arrays=True), allow_nan=False))
    back = FitResult.from_dict(data)
    assert back.undetermined == result.undetermined
    for name in result.undetermined:
        assert math.isnan(back.values[name])


def test_a_summary_without_arrays_is_refused_with_a_clear_error() -> None:
    with pytest.raises(JsonError, match="arrays=True"):
        FitResult.from_dict(_result().to_dict())
    broken = _result().to_dict(arrays=True)
    del broken["parameters"]
    with pytest.raises(JsonError, match="not a whole fit result"):
        FitResult.from_dict(broken)


def test_to_dataframe_holds_one_row_per_parameter_with_units() -> None:
    result = _result(fixed={"CPE1.n": 0.9})
    frame = result.to_dataframe()
    assert list(frame.index) == list(result.values)
    assert frame.loc["R1.R", "unit"] == "ohm" and frame.loc["R1.R", "element"] == "R1"
    assert frame.loc["CPE1.n", "fixed"] and math.isnan(frame.loc["CPE1.n", "relative_stderr"])
    assert frame.loc["R2.R", "value"] == pytest.approx(TRUE["R2.R"], rel=0.05)
    rel = frame.loc["R2.R", "stderr"] / frame.loc["R2.R", "value"]
    assert frame.loc["R2.R", "relative_stderr"] == pytest.approx(rel)
    assert frame.attrs["circuit"] == CIRCUIT and frame.attrs["n_points"] == 50
    assert frame.attrs["status"] == result.status
