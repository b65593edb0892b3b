"""Hand-made `FitResult` objects for the physics tests: exact values, chosen uncertainties.

`make_result` builds the result a fit would return for ``values`` (a noise-free spectrum of
the same circuit over ``FREQUENCY_HZ``), with the given standard errors and correlations, so
ASR, conductivity and capacitance can be checked against hand calculations without a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from eisfit import FitResult, compile_circuit
from eisfit.synthetic import cpe_q, simulate

FREQUENCY_HZ = np.logspace(np.log10(7e6), -1, 80)


def make_result(
    circuit: str,
    values: Mapping[str, float],
    *,
    stderr: Mapping[str, float] | None = None,
    correlation: np.ndarray | None = None,
    frequency_hz: np.ndarray | None = None,
    success: bool = True,
) -> FitResult:
    """A converged-looking FitResult holding exactly ``values`` (readable names)."""
    model = compile_circuit(circuit)
    theta = model.vector(values)
    names = model.names
    f = FREQUENCY_HZ if frequency_hz is None else frequency_hz
    spectrum = simulate(model.text, dict(zip(names, theta, strict=True)), f)
    errs = {n: 0.01 * abs(v) for n, v in zip(names, theta, strict=True)}
    errs.update({model.canonical_name(k): float(v) for k, v in (stderr or {}).items()})
    corr = np.eye(len(names)) if correlation is None else np.asarray(correlation, dtype=float)
    zeros = np.zeros(len(f))
    return FitResult(
        circuit=model.text,
        spectrum=spectrum,
        values=MappingProxyType(dict(zip(names, map(float, theta), strict=True))),
        stderr=MappingProxyType({n: errs[n] for n in names}),
        fixed=(),
        correlation=corr,
        success=success,
        message="made by hand",
        weighting="modulus",
        chi2=0.0,
        chi2_per_point=0.0,
        reduced_chi2=0.0,
        aic=0.0,
        bic=0.0,
        residuals_real=zeros,
        residuals_imag=zeros,
        nfev=0,
        n_starts=0,
        elapsed_s=0.0,
        initial=MappingProxyType({}),
    )


def arc_values(index: int, resistance_ohm: float, apex_hz: float, n: float) -> dict[str, float]:
    """``R{index}.R``, ``CPE{index}.Q``, ``CPE{index}.n`` of an arc with that apex."""
    return {
        f"R{index}.R": resistance_ohm,
        f"CPE{index}.Q": cpe_q(resistance_ohm, apex_hz, n),
        f"CPE{index}.n": n,
    }


def random_correlation(rng: np.random.Generator, size: int, strength: float = 0.6) -> np.ndarray:
    """A random valid correlation matrix (positive definite, unit diagonal)."""
    a = rng.standard_normal((size, size)) * strength + np.eye(size)
    cov = a @ a.T
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)
