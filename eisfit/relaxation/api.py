"""`drt`: the distribution of relaxation times of one spectrum (issue 16, item 1).

Model (units: ohm, s, H).  Z(omega) = R_inf + j omega L + integral gamma(ln tau) /
(1 + j omega tau) d ln tau with gamma >= 0 in ohm per unit ln tau, so the area of a peak
over ln tau is its resistance (Schoenleber & Ivers-Tiffee, Electrochem. Commun. 58 (2015)
15, for reading a DRT; Boukamp, J. Phys. Energy 2 (2020) 042001, review).  gamma is a
sum of Gaussians on a log-tau grid that reaches `EXTEND_DECADES` beyond the measured band
on both sides (`eisfit.relaxation.basis`), fitted to the real and imaginary parts together with
modulus weighting (each row divided by |Z|) under Tikhonov regularisation of its
derivative, with gamma, R_inf and L non-negative (`eisfit.relaxation.solve`); Wan, Saccoccio,
Chen & Ciucci, Electrochim. Acta 184 (2015) 483 (DRTtools), is the method this follows.

Peaks (`eisfit.relaxation.peaks`) smaller than `MIN_SIGNIFICANCE` x noise x |Z| are dropped, so
that noise alone gives no peaks; a spectrum with none is ``undetermined``.  A fit that
leaves residuals above `MISFIT_RATIO` x noise and `MISFIT_FLOOR` is a ``warning`` (an
inductive loop, drift: what a non-negative sum of relaxations cannot follow).

Measured (bench/drt_bench.py, 50 synthetic Na | SSE | Na spectra, 1 % noise, 1 MHz-0.1
Hz): peak time constants of in-band arcs within 0.05 decade, their areas within 5 % for
the large majority (median 1.4 %, p90 4.6 %); arcs cut by the band edge keep their peak
(tau p90 0.09 decade) but their area trades against R_inf (median error 15 %); a few ms
per spectrum, about 50 times faster than pyDRTtools' Tikhonov run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._blas import one_thread
from ..errors import DRTError
from ..spectrum import Spectrum, spectrum_name
from . import basis, solve
from .peaks import DRTPeak, find_peaks
from .result import DRTResult

__all__ = ["EXTEND_DECADES", "MIN_POINTS", "PER_DECADE", "drt"]

#: fewest points accepted: the basis has ~10 functions per decade, but lambda must be
#: chosen from the data and a noise level estimated, which needs some redundancy
MIN_POINTS = 10
#: the basis (`eisfit.relaxation.basis`), measured on the 50 spectra of bench/drt_bench.py (seed
#: 7, 1 % noise; arcs within 0.1 decade and 5 % of 100 / median area error of the 11 arcs
#: cut by the band edge): 10 per decade 82 / 15.6 %; 5 per decade 83 / 13.8 % in half the
#: time, but Gaussians 0.4 decade wide share close arcs worse (two 200-ohm RCs 0.6 decade
#: apart, 0.2 % noise: 254 / 147 ohm against 213 / 187 with 10 per decade); 20 per
#: decade 83 / 17.3 % in three times the time.  Grid 1 decade beyond the band as above;
#: 0.5 decade 86 / 28.7 % (cut arcs lose their area to R_inf); 1.5 decades 82 / 10.7 %
#: with 1 spurious peak; 2 decades 78 / 21 % with 3.  Gaussian FWHM 2 spacings as above,
#: 3 spacings 84 / 14.6 %, 1 spacing 19 with 203 spurious peaks (gamma ripples between
#: the centres).  First-derivative penalty as above, second derivative 81 / 16.6 %.
PER_DECADE = 10.0
EXTEND_DECADES = 1.0
FWHM_SPACINGS = 2.0
PENALTY_ORDER = 1
DEFAULT_CRITERION = "discrepancy"
OUTPUT_PER_DECADE = 50
#: residual RMS above this many times the noise makes the result a warning (the noise
#: estimate comes from the unconstrained fit, which can follow an inductive loop with a
#: negative gamma; the non-negative one cannot)
MISFIT_RATIO = 2.0
#: ... and above 2 % of |Z|: smaller systematic residuals are what a smoothed gamma leaves
#: on clean data (0.3-0.7 % on the dummy-cell spectra of ../shared/real-data, noise ~0.1 %,
#: 1-2 % on many real cells), the 1-2 % at which lin-KK residuals are read as drift
#: (docs/physics-notes.md sec. 7)
MISFIT_FLOOR = 0.02
#: noise (fraction of |Z|) above which the peaks are not determined: lin-KK's ceiling
#: (`eisfit.kk.noise.NOISE_CEILING`, not imported: kk and the DRT are sibling layers)
NOISE_CEILING = 0.05
#: a peak must have at least this many times noise x |Z| at its frequency as resistance:
#: on 150 synthetic two-arc spectra at 1 % noise (three seeds of the bench set) the
#: spurious peaks left by the discrepancy principle had 1.5-4.5 x noise x |Z|, the
#: smallest true arc 7 x; on 200 noise-only spectra (a resistor, 0.1-3 % noise) every
#: peak had less than 0.03 x
MIN_SIGNIFICANCE = 5.0
_INDUCTANCE = ("auto", True, False)


def _rms(problem: solve.DRTProblem, x: np.ndarray, c: np.ndarray) -> float:
    """Root mean square of the weighted residual of a solution (relative to |Z|)."""
    fit = problem.a @ x + problem.free @ c
    return float(np.sqrt(np.mean((problem.data - fit) ** 2)))


def _check(
    spectrum: Any, method: str, regularization: float | str, inductance: Any, criterion: str
) -> None:
    if not isinstance(spectrum, Spectrum):
        raise DRTError(f"drt needs an eisfit.Spectrum, got {type(spectrum).__name__}")
    if method != "tikhonov":
        raise DRTError(f"unknown DRT method {method!r}; the only method is 'tikhonov'")
    number = isinstance(regularization, int | float) and not isinstance(regularization, bool)
    if not (regularization == "auto" or (number and 0.0 < float(regularization) < math.inf)):
        raise DRTError(
            f"regularization must be 'auto' or a positive number, got {regularization!r}"
        )
    if not any(inductance is v for v in _INDUCTANCE) and inductance != "auto":
        raise DRTError(f"inductance must be 'auto', True or False, got {inductance!r}")
    if criterion not in solve.CRITERIA:
        raise DRTError(
            f"unknown criterion {criterion!r}; choose one of {', '.join(solve.CRITERIA)}"
        )
    n = len(spectrum)
    where = spectrum_name(spectrum.meta)
    if n < MIN_POINTS:
        reason = f"a DRT needs at least {MIN_POINTS} points, this spectrum has {n}"
        raise DRTError(f"{where}: {reason}", reason=reason)
    zero = np.flatnonzero(np.abs(spectrum.impedance_ohm) == 0.0)
    if zero.size:
        reason = f"point {zero[0]} has Z = 0; a DRT weighs points by 1/|Z|"
        raise DRTError(f"{where}: {reason}", reason=reason)


def drt(
    spectrum: Spectrum,
    *,
    method: str = "tikhonov",
    regularization: float | str = "auto",
    inductance: bool | str = "auto",
    capacitance: bool | str = False,
    credible: bool = False,
    criterion: str | None = None,
    noise: float | None = None,
) -> DRTResult:
    """The DRT of ``spectrum`` (see the module docstring for the model and units).

    ``regularization``: lambda, or ``"auto"`` to choose it by ``criterion`` (default
    `DEFAULT_CRITERION`; ``gcv``, ``re-im`` or ``discrepancy``, `eisfit.relaxation.solve`).
    ``inductance``: ``"auto"`` fits a series L >= 0 when Z'' > 0 at the highest measured
    frequency (an inductive head), True always fits it, False never; without it
    ``inductance_h`` is None and ``details["inductance"]`` says why.  (An L fitted
    whenever a chi-square test accepted it was tried: at 1 % noise an inductance of
    0.1-0.5 uH moves Z'' at 1 MHz by less than the noise, the fit traded it against R_inf
    and a peak beyond the band, and L came out up to 8.5 times too large, with worse
    areas: 80 of 100 arcs within target against 83 with the head rule, 50 spectra of
    bench/drt_bench.py.)  ``credible``: add a 95 % band from the Gaussian posterior of
    the regularised problem.  ``noise``: relative noise per component for
    ``discrepancy`` (default: Wahba's estimate, `eisfit.relaxation.solve.choose`).
    Raises `DRTError` (naming the spectrum) for fewer than `MIN_POINTS` points, Z = 0,
    or bad options.
    """
    criterion = DEFAULT_CRITERION if criterion is None else criterion
    _check(spectrum, method, regularization, inductance, criterion)
    if not any(capacitance is v for v in _INDUCTANCE) and capacitance != "auto":
        raise DRTError(f"capacitance must be 'auto', True or False, got {capacitance!r}")
    with one_thread():
        return _drt(spectrum, regularization, (inductance, capacitance), credible, criterion,
                    noise)  # fmt: skip


def _drt(
    spectrum: Spectrum,
    regularization: float | str,
    series_elements: tuple[bool | str, bool | str],
    credible: bool,
    criterion: str,
    noise: float | None,
) -> DRTResult:
    inductance, capacitance = series_elements
    f = spectrum.frequency_hz
    z = spectrum.impedance_ohm
    omega = spectrum.angular_frequency
    weight = 1.0 / np.abs(z)
    # unknowns in units of the median |Z|: the problem (and lambda) do not depend on
    # whether the cell has 1 mohm or 1 Tohm
    scale = float(np.median(np.abs(z)))
    grid = basis.make_grid(
        f, per_decade=PER_DECADE, extend_decades=EXTEND_DECADES, fwhm_spacings=FWHM_SPACINGS
    )
    k_re, k_im = basis.kernel(omega, grid)
    n = f.size
    w = weight * scale
    a = np.vstack([k_re * w[:, None], k_im * w[:, None]])
    data = np.concatenate([z.real * weight, z.imag * weight])
    root = _root(grid)
    columns = {
        "R": np.concatenate([w, np.zeros(n)]),  # R_inf
        "L": np.concatenate([np.zeros(n), omega * w]),  # series L
        "C": np.concatenate([np.zeros(n), -w / omega]),  # 1 / C of a series C
    }

    def attempt(names: tuple[str, ...]) -> _Attempt:
        free = np.column_stack([columns[k] for k in names])
        problem = solve.DRTProblem(a, free, data, root, n)
        lam, scores = solve.choose(problem, criterion, noise=noise)
        if regularization != "auto":
            lam = float(regularization)
        x, c = solve.nnls_solve(problem, lam)
        rms = _rms(problem, x, c)
        if regularization == "auto" and criterion == "discrepancy" and (
            rms > MISFIT_RATIO * scores["noise"]
        ):
            # gamma >= 0 cannot reach the residual the unconstrained solve (and so lambda)
            # was chosen for (an inductive loop, a CPE spike, artefacts): a lambda picked
            # for the noise then rings.  Choose again for the residual it can reach.
            lam, again = solve.choose(problem, criterion, noise=rms)
            x, c = solve.nnls_solve(problem, lam)
            scores = {**again, "noise": scores["noise"], "reachable_rms": rms}
        free = dict(zip(names, (c * scale).tolist(), strict=True))
        return _Attempt(problem, lam, scores, x * scale, free)

    if inductance is True or (inductance == "auto" and _inductive_head(f, z)):
        names: tuple[str, ...] = ("R", "L")
        l_reason = "fitted" if inductance is True else "fitted: Z'' > 0 at the highest frequency"
    else:
        names = ("R",)
        l_reason = ("not fitted (inductance=False)" if inductance is False
                    else "not fitted: Z'' < 0 at the highest frequency")  # fmt: skip
    if capacitance is True:
        best, c_reason = attempt((*names, "C")), "fitted"
    else:
        best = attempt(names)
        c_reason = "not fitted" + (" (capacitance=False)" if capacitance is False else "")
        if capacitance == "auto" and _slow_edge(best.x, grid, f):
            best = attempt((*names, "C"))
            c_reason = ("fitted: without it gamma is largest beyond the slow end of the band "
                        "(a capacitive spike or an arc that does not close)")  # fmt: skip
    problem, lam, scores, x = best.problem, best.lam, best.scores, best.x
    noise_used = scores["noise"]
    how = criterion if regularization == "auto" else "given"
    scores["inductance"], scores["capacitance"] = l_reason, c_reason
    r_inf = best.free["R"]
    l_h = best.free.get("L")
    inverse_c = best.free.get("C")
    c_f = None if inverse_c is None else (1.0 / inverse_c if inverse_c > 0 else math.inf)
    series = (l_h or 0.0) * omega - (inverse_c or 0.0) / omega
    z_fit = r_inf + (k_re @ x) + 1j * (k_im @ x + series)
    resid = (z - z_fit) * weight
    log_lo, log_hi = grid.ln_tau[0] / math.log(10.0), grid.ln_tau[-1] / math.log(10.0)
    count = round((log_hi - log_lo) * OUTPUT_PER_DECADE) + 1
    ln_out = np.linspace(log_lo, log_hi, count) * math.log(10.0)
    phi = basis.basis_matrix(ln_out, grid)
    gamma = phi @ x
    # heights are judged against gamma inside the measured band: a blocking electrode's
    # capacitive tail rising beyond the slow end would otherwise dwarf every arc
    inside = (ln_out >= -math.log(2.0 * math.pi * f.max())) & (
        ln_out <= -math.log(2.0 * math.pi * f.min()))  # fmt: skip
    top = float(np.max(gamma[inside])) if inside.any() else None
    # where gamma >= 0 cannot reach the noise, what it can reach is the level a peak must
    # stand out from (the model's own error, not only the noise)
    floor = max(noise_used, scores.get("reachable_rms", 0.0))
    peaks, weak = _significant(find_peaks(ln_out, gamma, top=top), f, z, floor)
    r_pol = float(np.sum(x) * grid.area)
    lower = upper = None
    if credible:
        lower, upper = _band(problem, lam, phi, x, resid, scale)
    status, notes = "ok", []
    rms = float(np.sqrt(np.mean(np.concatenate([resid.real, resid.imag]) ** 2)))
    slow_end = bool(peaks) and float(ln_out[int(np.argmax(gamma))]) > -math.log(
        2.0 * math.pi * f.min())  # the largest gamma lies beyond the slow end of the band
    if slow_end:
        status = "warning"
        notes.append(
            "gamma is largest beyond the slow end of the band: a capacitive spike (blocking "
            "electrode) or an arc that does not close; the area there is not a resistance "
            "these data determine (capacitance='auto' fits a series C for a spike)"
        )
    elif rms > max(MISFIT_RATIO * noise_used, MISFIT_FLOOR):
        status = "warning"
        notes.append(
            f"residuals {100 * rms:.2g} % of |Z| against noise ~ {100 * noise_used:.2g} %: the "
            "data hold something a sum of RC relaxations cannot describe (an inductive loop, "
            "a negative resistance, drift)"
        )
    if weak:
        scores["peaks_below_noise"] = weak
    if noise_used > NOISE_CEILING and peaks:
        # lin-KK's rule (`eisfit.kk.noise.NOISE_CEILING`): at this scatter the shapes a
        # regularised DRT draws are the regularisation's as much as the data's
        status = "undetermined"
        notes.insert(0, (
            f"the data scatter by ~{100 * noise_used:.2g} % of |Z| (more than "
            f"{100 * NOISE_CEILING:g} %): the peaks are not determined by these data"
        ))  # fmt: skip
    if not peaks:
        status = "undetermined"
        notes.insert(0, (
            f"no relaxation above the noise (noise ~ {100 * noise_used:.2g} % of |Z|; {weak} "
            f"peak(s) smaller than {MIN_SIGNIFICANCE:g} x noise x |Z|)"
            if weak else "no peak: gamma is zero" if r_pol <= 0
            else "no peak: gamma is largest at an end of its grid, beyond the measured band "
            "(at the slow end: a capacitive spike? see capacitance='auto')"
        ))  # fmt: skip
    return DRTResult(
        tau_s=np.exp(ln_out),
        gamma_ohm=gamma,
        r_inf_ohm=r_inf,
        inductance_h=l_h,
        capacitance_f=c_f,
        regularization=lam,
        regularization_method=how,
        peaks=peaks,
        polarization_resistance_ohm=r_pol,
        frequency_hz=f,
        z_fit_ohm=z_fit,
        residual_re=resid.real,
        residual_im=resid.imag,
        noise_estimate=noise_used,
        gamma_lower_ohm=lower,
        gamma_upper_ohm=upper,
        status=status,
        message="; ".join(notes),
        source=spectrum.meta.source,
        details=dict(scores),
    )


@dataclass(frozen=True)
class _Attempt:
    problem: solve.DRTProblem
    lam: float
    scores: dict[str, Any]
    x: np.ndarray
    free: dict[str, float]


def _slow_edge(x: np.ndarray, grid: basis.Grid, frequency_hz: np.ndarray) -> bool:
    """True when the largest basis coefficient lies beyond the slow end of the band
    (tau > 1 / (2 pi f_min)): gamma then describes a process the band does not close."""
    slowest = -math.log(2.0 * math.pi * float(np.min(frequency_hz)))
    return bool(np.max(x) > 0 and grid.ln_tau[int(np.argmax(x))] > slowest)


def _significant(
    peaks: tuple[DRTPeak, ...], f: np.ndarray, z: np.ndarray, noise: float
) -> tuple[tuple[DRTPeak, ...], int]:
    """(peaks whose resistance is at least `MIN_SIGNIFICANCE` x noise x |Z| at their
    frequency (clamped to the band), how many were dropped)."""
    if not math.isfinite(noise) or noise <= 0.0:
        return peaks, 0
    order = np.argsort(f)
    log_f, mod = np.log10(f[order]), np.abs(z[order])
    kept = tuple(
        p for p in peaks
        if p.resistance_ohm >= MIN_SIGNIFICANCE * noise * float(
            np.interp(math.log10(p.frequency_hz), log_f, mod))
    )
    return kept, len(peaks) - len(kept)


def _inductive_head(frequency_hz: np.ndarray, impedance_ohm: np.ndarray) -> bool:
    """True when Z'' > 0 at the highest measured frequency (an inductive head)."""
    return bool(impedance_ohm[int(np.argmax(frequency_hz))].imag > 0.0)


def _root(grid: basis.Grid) -> np.ndarray:
    """Upper Cholesky factor of the penalty, with a tiny ridge that keeps it definite."""
    p = basis.penalty(grid, PENALTY_ORDER)
    ridge = 1e-8 * float(np.max(np.diag(p)))
    return np.linalg.cholesky(p + ridge * np.eye(p.shape[0])).T


def _band(
    problem: solve.DRTProblem,
    lam: float,
    phi: np.ndarray,
    x: np.ndarray,
    resid: np.ndarray,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """95 % band of gamma from the Gaussian posterior of the unconstrained regularised
    problem, centred on the non-negative solution and clipped at 0."""
    m = problem.a.shape[1]
    design = np.hstack([problem.a, problem.free])
    prec = design.T @ design
    prec[:m, :m] += lam * (problem.root.T @ problem.root)
    r = np.concatenate([resid.real, resid.imag])
    sigma2 = float(r @ r) / max(r.size - 1, 1)
    cov = sigma2 * np.linalg.pinv(prec)[:m, :m]
    sd = scale * np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", phi, cov, phi), 0.0))
    mean = phi @ x
    return np.maximum(mean - 1.96 * sd, 0.0), mean + 1.96 * sd
