"""Kramers-Kronig validity check of a spectrum by the lin-KK test.

Method (Schönleber, Klotz, Ivers-Tiffée, "A Method for Improving the Robustness of
linear Kramers-Kronig Validity Tests", Electrochim. Acta 131 (2014) 20-27,
doi:10.1016/j.electacta.2014.01.034, after Boukamp, J. Electrochem. Soc. 142 (1995) 1885):
the spectrum is fitted by a model that satisfies the Kramers-Kronig relations by
construction,

    Z_KK(omega) = R0 + j omega L + 1/(j omega C) + sum_k R_k / (1 + j omega tau_k),

with the M time constants fixed on a logarithmic grid from tau_1 = 1/omega_max to
tau_M = 1/omega_min (`eisfit.kk.model`).  R0, L, 1/C and the R_k enter linearly: one
least-squares solve of the real and imaginary parts stacked together, every row weighted
by 1/|Z|.  Data that a KK-compliant model reproduces to within the noise are called
consistent; drift, non-linearity or instrument artefacts leave residuals.

Series C and L.  An arc whose time constant lies below the band shows only its
capacitive tail, 1/(j omega C) in the limit; one above the band its inductive-looking
head, j omega L (with L < 0 for an RC element; a cable adds L > 0).  Without these terms
a blocking electrode, an unclosed SOLI arc or lead inductance looks inconsistent
(Boukamp 1995; pyimpspec includes both by default).  Rule, with ``with_capacitance`` /
``with_inductance`` None (the default): both are in the model while M is chosen; then
each is kept only if the data need it, i.e. its coefficient is significant (t-test at
0.1 %, standard error from the same least-squares solve) and it contributes at least the
0.1 % accuracy floor of |Z| somewhere in the band, or the data are consistent with it
and not without it.  Dropping a column is exact algebra on the same SVD.  The result
and its message state which elements the model has and why (``elements``); True or
False forces an element in or out.

Choosing M.  Too few RC elements under-fit (systematic residuals even on good data), too
many over-fit (they chase the noise, and some R_k turn negative).  Schönleber's

    mu = 1 - sum_{R_k < 0} |R_k| / sum_{R_k >= 0} |R_k|

is 1 while every R_k is positive and falls once over-fitting sets in; M grows from 2
until mu < mu_threshold (0.85, the paper's value and impedance.py's default).  Negative
R_k also appear when the grid is too coarse for the data (narrow, ideal RC arcs such as
dummy cells): mu can then fall below the threshold at M = 3 while the fit is still far
off.  So an M where mu falls is accepted only if its residuals look like noise
(`eisfit.kk.noise`), or are no more structured than those of a dense grid of 6 RC
elements per decade: the lower limit of M of Yrjänä & Bobacka (Electrochim. Acta 504
(2024) 144951), found by bisection, after which the mu rule goes on.  M is capped at
``max_rc``, by default one RC element per measured point and, for long spectra, 12 per
decade (`kk_model.default_cap`).  An M whose mu a cheap block
solve places at or above the threshold is not solved exactly (`kk_model.skip_certain`):
it could not have stopped the search.

Memory.  Every fit uses every point, but the design matrix (2N rows) is never held whole:
the solves run block by block (`eisfit.kk.design`), so a 50,000-point spectrum needs
vectors of length 2N and blocks of a few MB, not several 2N x M matrices.

Verdict (`eisfit.kk.noise`).  The residuals (Z - Z_KK)/|Z| are judged against the noise
of the data, estimated from their point-to-point scatter with a degrees-of-freedom
correction (``noise_estimate``).  The data are "not consistent" when a residual exceeds
the calibrated limit (a few noise standard deviations, Bonferroni over the 2N residuals,
never below about 0.45 % of |Z|), or when the mean of a band of neighbouring residuals
exceeds the corresponding limit for means (a trend).  ``reason`` says which, where and
how large, e.g. "not consistent: the real residuals below 10 Hz trend to -4 % against a
noise of 0.5 % (drift during the sweep, ...)".  A fixed ``residual_limit`` compares only
the largest residual with it.  With too few points to estimate the noise, the
conventional 2 % limit is used and said.

Known limit: drift that changes a resistance by 5-20 % during the sweep mostly alters
the low-frequency points, where it resembles a slightly different KK-consistent arc; its
KK-inconsistent part is often smaller than 1 % noise, so no KK test catches it reliably
(`bench/kk_bench.py` measures this).
"""

from __future__ import annotations

import math
import operator
from dataclasses import replace

import numpy as np

from ..errors import FitInputError, SpectrumError
from ..spectrum import Spectrum
from .design import Design, Solution, downdate, solve, tau_grid
from .model import FIRST_M as _FIRST_M
from .model import choose_elements, default_cap, dense_m, fixed_columns
from .model import mu as _mu
from .model import skip_certain as _skip_certain
from .noise import NOISE_FLOOR, Judgement, judge
from .reference import Reference, lower_limit
from .result import KKResult

__all__ = ["kk_check"]

MIN_POINTS = 5


def kk_check(
    spectrum: Spectrum,
    *,
    mu_threshold: float = 0.85,
    residual_limit: float | None = None,
    max_rc: int | None = None,
    with_inductance: bool | None = None,
    with_capacitance: bool | None = None,
) -> KKResult:
    """Run the lin-KK test on ``spectrum`` and say whether it is KK-consistent.

    ``residual_limit``: None calibrates the limit on the noise of the data (module
    docstring), a fraction of |Z| fixes it.  ``with_inductance`` / ``with_capacitance``:
    None lets the data decide whether the KK model has a series L / C, True or False
    forces it.  ``max_rc`` caps M (default `kk_model.default_cap`: the number of
    points, at most 12 per decade for spectra of more than 100 points).  Raises
    `SpectrumError` for fewer than 5 points or a point with Z = 0, and `FitInputError`
    for options that cannot work; anything else returns a `KKResult`.
    """
    where = f" ({spectrum.meta.source})" if spectrum.meta.source else ""
    n = len(spectrum)
    if n < MIN_POINTS:
        raise SpectrumError(f"lin-KK needs at least {MIN_POINTS} points, got {n}{where}")
    names = _options(mu_threshold, residual_limit, with_inductance, with_capacitance)
    omega = spectrum.angular_frequency
    try:
        cap = default_cap(omega) if max_rc is None else operator.index(max_rc)
    except TypeError:
        raise FitInputError(f"max_rc must be an integer, got {max_rc!r}") from None
    if not _FIRST_M <= cap <= 2 * n - len(names):
        raise FitInputError(
            f"max_rc must be between {_FIRST_M} and {2 * n - len(names)} for {n} points, got {cap}"
        )
    z = spectrum.impedance_ohm
    mod = np.abs(z)
    zero = np.flatnonzero(mod == 0)
    if zero.size:
        raise SpectrumError(f"lin-KK needs |Z| > 0{where}: point {zero[0]} has Z = 0")

    weight = np.concatenate([1.0 / mod, 1.0 / mod])  # rows: real parts, then imaginary parts
    b = np.concatenate([z.real, z.imag]) * weight
    fixed_cols = fixed_columns(omega, mod, names)
    design = Design(omega, weight, b, fixed_cols, np.empty(0), np.argsort(omega))
    m, full, mu_reached = _search(design, cap, mu_threshold)

    auto = {"L": with_inductance is None, "C": with_capacitance is None}
    elements = choose_elements(full, names, fixed_cols, auto, NOISE_FLOOR)
    kept = list(elements.kept)
    solution = full
    if kept != names:
        drop = [j for j, name in enumerate(names) if name not in kept]
        if full.rank < full.coef.size:  # rank-deficient: solve the smaller model again
            kept_cols = fixed_cols[:, [names.index(k) for k in kept]]
            solution = _fit(design, kept_cols, tau_grid(omega, m)[None, :])
        else:
            solution = downdate(full, drop)
    judgement = _judge(spectrum, solution, residual_limit)
    rescued: set[str] = set()
    if solution is not full and not judgement.valid:
        # an element the t-test would drop is needed after all when the data are
        # consistent with it and not without it
        with_all = _judge(spectrum, full, residual_limit)
        if with_all.valid:
            rescued = set(names) - set(kept)
            solution, kept, judgement = full, list(names), with_all

    coef = solution.coef
    inductance = float(coef[kept.index("L")]) if "L" in kept else None
    inverse_c = float(coef[kept.index("C")]) if "C" in kept else None
    result = KKResult(
        valid=judgement.valid,
        mu=_mu(full.coef[len(names) :]),
        n_rc=m,
        mu_threshold=float(mu_threshold),
        residual_limit=judgement.residual_limit,
        max_residual=float(np.abs(solution.residual).max()),
        residuals_real=_readonly(solution.residual[:n]),
        residuals_imag=_readonly(solution.residual[n:]),
        message="",
        verdict=judgement.verdict,
        reason=judgement.reason,
        noise_estimate=judgement.noise_estimate,
        structure_z=judgement.structure_z,
        limit_source=judgement.limit_source,
        series_capacitance_f=None if inverse_c is None else _inverse(inverse_c),
        series_inductance_h=inductance,
        elements=_elements_text(
            names, kept, auto, elements.t_values, rescued, inductance, inverse_c
        ),
        mu_reached=mu_reached,
    )
    return replace(result, message=f"lin-KK{where}: {result.summary()}")


def _options(
    mu_threshold: float,
    residual_limit: float | None,
    with_inductance: bool | None,
    with_capacitance: bool | None,
) -> list[str]:
    """Validate the options; the names of the columns that do not depend on M."""
    if residual_limit is not None and not 0.0 < residual_limit < math.inf:
        raise FitInputError(f"residual_limit must be a positive fraction, got {residual_limit}")
    if not mu_threshold <= 1.0:
        raise FitInputError(f"mu_threshold must be <= 1, got {mu_threshold}")
    for name, value in (
        ("with_inductance", with_inductance),
        ("with_capacitance", with_capacitance),
    ):
        if value is not None and not isinstance(value, bool | np.bool_):
            raise FitInputError(f"{name} must be True, False or None, got {value!r}")
    return ["R0"] + ["L"] * (with_inductance is not False) + ["C"] * (with_capacitance is not False)


def _fit(design: Design, fixed_cols: np.ndarray, tau: np.ndarray) -> Solution:
    """The exact weighted least-squares solve with these fixed columns and the RC
    columns of the time constants ``tau`` (1 x M, s)."""
    return solve(replace(design, fixed=fixed_cols, tau=tau[0]))


def _judge(spectrum: Spectrum, solution: Solution, residual_limit: float | None) -> Judgement:
    n = len(spectrum)
    residual = solution.residual
    return judge(
        spectrum.frequency_hz,
        residual[:n],
        residual[n:],
        rank=solution.rank,
        stats=solution.stats,
        residual_limit=residual_limit,
    )


def _search(design: Design, cap: int, mu_threshold: float) -> tuple[int, Solution, bool]:
    """(M, its solution, whether mu fell below the threshold) by the mu rule.

    M grows from 2 and the first M with mu < mu_threshold stops the search, unless the
    dense reference grid shows that M does not resolve the data yet
    (`eisfit.kk.reference.Reference`): then the search resumes at the lower limit M_low
    (`kk_reference.lower_limit`) and stops at the
    next M with mu < mu_threshold that the reference accepts.  M_ref and the cap
    always stop it.
    """
    reference = Reference(design, min(cap, dense_m(design.omega)))
    f = design.fixed.shape[1]
    m_low: int | None = None
    m = _FIRST_M
    while True:
        # M values whose mu is certainly >= mu_threshold are skipped: they cannot stop the
        # search, so only the M that stops it (or the cap) needs the exact solve
        m = _skip_certain(design.omega, design.weight, design.b, design.fixed, m, cap, mu_threshold)
        solution = _fit(design, design.fixed, tau_grid(design.omega, m)[None, :])
        mu_reached = _mu(solution.coef[f:]) < mu_threshold
        if m >= cap or (mu_reached and m >= reference.m):
            return m, solution, mu_reached
        if mu_reached:
            if reference.accepts(solution):
                return m, solution, mu_reached
            if m_low is None:  # jump to the lower limit once, then go on one M at a time
                m = m_low = lower_limit(m + 1, reference)
                continue
        m += 1


def _elements_text(
    names: list[str],
    kept: list[str],
    auto: dict[str, bool],
    t_values: dict[str, float],
    rescued: set[str],
    inductance: float | None,
    inverse_c: float | None,
) -> str:
    """Which series elements the KK model has, and why (one clause)."""
    parts = []
    for name, label in (("C", "series C"), ("L", "series L")):
        if name not in names:
            parts.append(f"no {label} (switched off)")
        elif not auto[name]:
            parts.append(f"{label} (switched on)")
        elif name in kept:
            note = ""
            if name == "C" and inverse_c is not None and inverse_c < 0:
                note = ", negative: an inductive low-frequency tail"
            if name == "L" and inductance is not None and inductance < 0:
                note = ", negative: the tail of an arc above the band"
            if name in rescued:
                note += ", needed for noise-like residuals"
            parts.append(f"{label} added (t={t_values[name]:.3g}{note})")
        else:
            parts.append(f"no {label} (not needed, t={t_values[name]:.2g})")
    return "; ".join(parts)


def _inverse(x: float) -> float:
    return 1.0 / x if x != 0.0 else math.inf


def _readonly(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out.setflags(write=False)
    return out


