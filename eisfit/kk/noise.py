"""Noise level and verdict of a lin-KK test: are the residuals noise or structure?

Used by `eisfit.kk.linkk.kk_check`; pure functions of the relative residuals
r = (Z - Z_KK) / |Z| (real and imaginary parts, 2N numbers) and of an orthonormal basis
U of the columns of the linear KK fit (2N x p, the same row weighting).

Noise estimate.  If the data are KK-consistent, r is the noise projected off the fitted
columns: r = (I - H) e with H = U U^T.  For noise of standard deviation sigma in each of
Z' and Z'' (a fraction of |Z|),

* the residual estimate  s_R^2 = |r|^2 / (2N - p)  is unbiased: Boukamp's pseudo
  chi-square (J. Electrochem. Soc. 142 (1995) 1885) divided by its degrees of freedom
  (Yrjänä & Bobacka, Electrochim. Acta 504 (2024) 144951, estimate the noise from the
  pseudo chi-square divided by 2N, without the correction);
* the difference estimate  s_D^2 = |D r|^2 / tr(D (I - H) D^T),  D the differences of
  neighbouring points in frequency order (within Z' and within Z''), is unbiased too
  (the denominator is E|D r|^2 / sigma^2 exactly), but blind to any residual that
  varies slowly with frequency (a trend, drift, an unresolved arc).

``noise_estimate`` is s_D: the standard deviation of the noise of each of Z' and Z'' as
a fraction of |Z| (what `eisfit.synthetic.simulate` calls ``noise``), the expected RMS
of fit residuals (Z - Z_fit)/|Z| over real and imaginary parts for a fit that leaves
only noise.  It is NaN when fewer than `MIN_DOF` degrees of freedom remain.

Structure.  The ratio T = s_R^2 / s_D^2 is von Neumann's ratio of the mean square to the
mean square successive difference (Ann. Math. Stat. 12 (1941) 367; Durbin & Watson,
Biometrika 37 (1950) 409, for regression residuals), generalised to the projection
I - H.  It is 1 for noise and grows when neighbouring residuals are correlated.  Its
spread under the null follows from the moments of quadratic forms in normal variables:
var(log T) ~ 2 tr(B^2) / tr(B)^2 - 2 / (2N - p), B = (I - H) D^T D (I - H), so that
z = log T / sd is a standard normal score (``structure_z``).  `eisfit.kk.linkk` uses it to
tell an M that does not resolve the data yet (`is_structured`).

Verdict.  The data are called not consistent when

* a residual reaches the limit ``t * max(s_D, NOISE_FLOOR)``, t the Student-t quantile
  at which noise alone puts one of the 2N residuals over it with probability
  `ALPHA_MAX` (Bonferroni), or
* the mean of a band of w = 3, 5, 9 or 17 neighbouring residuals reaches
  ``t_w * max(s_D / sqrt(w), NOISE_FLOOR)``, likewise at `ALPHA_BAND` over all bands
  (`band_over_limit`): a trend, such as drift at the low-frequency end of a sweep.

`NOISE_FLOOR` (0.1 % of |Z|) is about the accuracy of a good frequency-response
analyser (0.1 % in |Z|, 0.1 degree in phase): smaller systematic deviations are neither
noise nor evidence against the data, so no limit is set below a few times the floor.
With a fixed ``residual_limit`` only the largest residual is compared with it, as before;
with too few points for a noise estimate, the conventional 2 % limit (docs/physics-notes.md sec. 7).
Data whose point-to-point scatter exceeds `NOISE_CEILING` (5 % of |Z|; the limit is then
above 20 % of |Z|) and show nothing over it are "undetermined", not "consistent": the
check cannot tell, so ``valid`` is False too (nothing was validated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALPHA_BAND",
    "ALPHA_MAX",
    "CONVENTIONAL_LIMIT",
    "MIN_DOF",
    "NOISE_CEILING",
    "NOISE_FLOOR",
    "WINDOWS",
    "Z_STRUCTURE",
    "Judgement",
    "band_over_limit",
    "is_structured",
    "judge",
    "noise_limit",
    "structure",
    "structure_from_sums",
]

NOISE_FLOOR = 1e-3  # fraction of |Z|: analyser accuracy, not evidence (module docstring)
ALPHA_MAX = 0.002  # chance that noise alone puts one of the 2N residuals over the limit
ALPHA_BAND = 0.002  # chance that noise alone puts one band mean over its limit
WINDOWS = (3, 5, 9, 17)  # band widths (points) scanned for trends
Z_STRUCTURE = 3.5  # one-sided normal score of the structure test (p ~ 2e-4)
MIN_DOF = 10  # fewer degrees of freedom: the noise cannot be estimated
CONVENTIONAL_LIMIT = 0.02  # used when the noise cannot be estimated (docs/physics-notes.md sec. 7)
NOISE_CEILING = 0.05  # above this noise the limit passes 20 % of |Z|: the check cannot tell


@dataclass(frozen=True)
class Judgement:
    """The verdict on a set of lin-KK residuals (see the module docstring)."""

    valid: bool  # verdict == "consistent"
    verdict: str  # "consistent", "not consistent" or "undetermined" (too noisy to tell)
    reason: str  # one sentence, starting with the verdict
    noise_estimate: float  # s_D, fraction of |Z| per component; NaN if not estimable
    residual_rms: float  # s_R, fraction of |Z|; NaN if not estimable
    structure_z: float  # normal score of the structure test; NaN if not computed
    residual_limit: float  # fraction of |Z|
    limit_source: str  # "noise", "fixed" or "conventional"


def judge(
    frequency_hz: np.ndarray,
    residuals_real: np.ndarray,
    residuals_imag: np.ndarray,
    *,
    rank: int,
    stats: tuple[float, float, float],
    residual_limit: float | None = None,
) -> Judgement:
    """Judge lin-KK residuals (fractions of |Z|, in the spectrum's point order).

    ``rank``: the dimension p of the fitted column space; ``stats``: `structure` of
    these residuals and that space.  ``residual_limit``: a fixed limit (fraction of |Z|)
    instead of the noise-calibrated one.
    """
    order = np.argsort(frequency_hz)
    n = order.size
    f = np.asarray(frequency_hz, dtype=float)[order]
    r = np.concatenate([residuals_real[order], residuals_imag[order]])
    s_r, s_d, z = stats
    max_res = float(np.abs(r).max())
    band: tuple[int, int, int] | None = None
    if residual_limit is not None:
        limit, source = float(residual_limit), "fixed"
    elif math.isnan(s_d):
        limit, source = CONVENTIONAL_LIMIT, "conventional"
    else:
        limit, source = noise_limit(n, rank, s_d), "noise"
        band = band_over_limit(r, n, 2 * n - rank, s_d)
    over = max_res >= limit
    valid = not over and band is None
    reason = _reason(f, r, n, valid, limit, source, s_d, max_res, band)
    verdict = "consistent" if valid else "not consistent"
    if valid and source == "noise" and s_d > NOISE_CEILING:
        valid, verdict = False, "undetermined"
        reason = (
            f"undetermined: the residuals scatter by {_pct(s_d)} of |Z| from point to "
            f"point (noise or artefacts), too much for the check to tell; largest "
            f"{_pct(max_res)} (limit {_pct(limit)})"
        )
    return Judgement(
        valid=valid,
        verdict=verdict,
        reason=reason,
        noise_estimate=s_d,
        residual_rms=s_r,
        structure_z=z,
        residual_limit=limit,
        limit_source=source,
    )


def noise_limit(n: int, p: int, s_d: float) -> float:
    """The calibrated residual limit for 2N residuals of a fit with p parameters."""
    from scipy.special import stdtrit

    quantile = float(stdtrit(2 * n - p, 1.0 - ALPHA_MAX / (4 * n)))
    return quantile * max(s_d, NOISE_FLOOR)


def is_structured(s_r: float, s_d: float, z: float) -> bool:
    """Structure beyond noise (z) that is also larger than the accuracy floor."""
    excess = math.sqrt(max(s_r**2 - s_d**2, 0.0)) if s_r == s_r and s_d == s_d else 0.0
    return bool(z > Z_STRUCTURE and excess > NOISE_FLOOR)


def band_over_limit(
    r: np.ndarray, n: int, dof: int, s_d: float
) -> tuple[int, int, int] | None:
    """(part, first point, last point) of the band whose mean residual is furthest over
    its limit, or None when no band mean reaches its limit.

    ``r``: residuals in frequency order, real over imaginary.  Bands are runs of w =
    `WINDOWS` neighbouring points; the mean of w noise residuals has a standard
    deviation of at most s_D / sqrt(w) (residuals of a least-squares fit are, if
    anything, negatively correlated), and a band counts only when its mean also
    exceeds the accuracy floor: limit_w = t * max(s_D / sqrt(w), `NOISE_FLOOR`), t the
    Student-t quantile that all the bands of both parts stay under with probability
    1 - `ALPHA_BAND` (Bonferroni).  Drift during a sweep shows as such a band at the
    low-frequency end, where the sweep spends its time.
    """
    from scipy.special import stdtrit

    windows = [w for w in WINDOWS if w <= n]
    count = 2 * sum(n - w + 1 for w in windows)
    if not windows or dof < 1:
        return None
    t = float(stdtrit(dof, 1.0 - ALPHA_BAND / (2 * count)))
    best = (1.0, None)
    for part in (0, 1):
        x = r[part * n : (part + 1) * n]
        cumulative = np.concatenate([[0.0], np.cumsum(x)])
        for w in windows:
            means = (cumulative[w:] - cumulative[:-w]) / w
            ratio = np.abs(means) / (t * max(s_d / math.sqrt(w), NOISE_FLOOR))
            k = int(np.argmax(ratio))
            if ratio[k] >= best[0]:
                best = (float(ratio[k]), (part, k, k + w - 1))
    return best[1]


def structure(
    order: np.ndarray, residual: np.ndarray, basis: np.ndarray
) -> tuple[float, float, float]:
    """(s_R, s_D, z) of stacked residuals (real over imaginary, the spectrum's point
    order) and an orthonormal basis of the fitted columns; ``order`` sorts the points
    by frequency.  NaN where they cannot be estimated."""
    n = order.size
    r = np.concatenate([residual[:n][order], residual[n:][order]])
    u = np.concatenate([basis[:n][order], basis[n:][order]])
    return _noise(r, u, n)


def _noise(r: np.ndarray, u: np.ndarray, n: int) -> tuple[float, float, float]:
    """(s_R, s_D, z) for residuals and basis in frequency order (module docstring)."""
    if 2 * n - u.shape[1] < MIN_DOF or n < 3:
        return math.nan, math.nan, math.nan
    # first differences within Z' and within Z'': D r and V = D U (the row n - 1 of the
    # stacked differences straddles the two halves and is zeroed)
    dr = r[1:] - r[:-1]
    dr[n - 1] = 0.0
    v = u[1:] - u[:-1]
    v[n - 1] = 0.0
    v_flat = v.ravel()
    # D^T V per half: rows -V_0, V_0 - V_1, ..., V_(n-2)
    vtv = (v.T @ v).ravel()
    dtv = (v[1:] - v[:-1]).ravel()  # inner rows of both halves (plus the zeroed seam)
    edges = np.concatenate([v[0], v[n - 2], v[n], v[-1]])
    seam = np.concatenate([v[n - 2] - v[n - 1], v[n] - v[n - 1]])  # rows that touch row n-1
    dtv2 = float(dtv @ dtv) - float(seam @ seam) + float(edges @ edges)
    return structure_from_sums(
        n, u.shape[1], float(r @ r), float(dr @ dr), float(v_flat @ v_flat),
        float(vtv @ vtv), dtv2,
    )  # fmt: skip


def structure_from_sums(
    n: int, p: int, rr: float, drdr: float, v2: float, vtv2: float, dtv2: float
) -> tuple[float, float, float]:
    """(s_R, s_D, z) from sums over the 2N residuals r and the basis U (2N x p):

    ``rr`` = |r|^2, ``drdr`` = |D r|^2, ``v2`` = |V|_F^2 and ``vtv2`` = |V^T V|_F^2 for
    V = D U, and ``dtv2`` = |W|_F^2 + the squared first and last rows of V in each half,
    W the second differences of U within each half (D: first differences within Z' and
    within Z'' in frequency order).  `eisfit.kk.design` sums these block by block.
    """
    dof = 2 * n - p
    nan = math.nan
    if dof < MIN_DOF or n < 3:
        return nan, nan, nan
    t_d = 4.0 * (n - 1) - v2  # tr(D (I - H) D^T)
    if not t_d > 0.0:
        return nan, nan, nan
    s2_r = rr / dof
    s2_d = drdr / t_d
    # tr(B^2) = |D D^T|_F^2 - 2 |D^T V|_F^2 + |V^T V|_F^2, D D^T tridiagonal (2, -1)
    tr_b2 = 8.0 * (n - 1) + 4.0 * (n - 2) + vtv2 - 2.0 * dtv2
    var = 2.0 * tr_b2 / t_d**2 - 2.0 / dof
    z = nan
    if var > 0.0 and s2_d > 0.0 and s2_r > 0.0:
        z = math.log(s2_r / s2_d) / math.sqrt(var)
    elif s2_d == 0.0 and s2_r == 0.0:
        z = 0.0
    return math.sqrt(s2_r), math.sqrt(s2_d), z


def _reason(
    f: np.ndarray,
    r: np.ndarray,
    n: int,
    valid: bool,
    limit: float,
    source: str,
    s_d: float,
    max_res: float,
    band: tuple[int, int, int] | None,
) -> str:
    """One sentence for a scientist: the verdict and what it rests on."""
    if source == "fixed":
        head = "consistent" if valid else "not consistent"
        return f"{head}: largest residual {_pct(max_res)} against the fixed {_pct(limit)} limit"
    if source == "conventional":
        head = "consistent" if valid else "not consistent"
        return (
            f"{head}: largest residual {_pct(max_res)}; too few points to estimate the "
            f"noise, judged against the conventional {_pct(limit)} limit"
        )
    noise = max(s_d, NOISE_FLOOR)
    if valid:
        floor = ", set by the 0.1 % accuracy floor" if s_d < NOISE_FLOOR else ""
        return (
            f"consistent: residuals look like noise of {_pct(s_d)} of |Z|, "
            f"largest {_pct(max_res)} (limit {_pct(limit)}{floor})"
        )
    if band is None:  # a single residual over the limit
        part, i = divmod(int(np.argmax(np.abs(r))), n)
        x = r[part * n : (part + 1) * n]
        if 0 < i < n - 1 and all(abs(x[j]) < 2.0 * noise for j in (i - 1, i + 1)):
            return (
                f"not consistent: one point at {_hz(f[i])} deviates by "
                f"{_pct(x[i], signed=True)} of |Z|, {abs(x[i]) / noise:.1f} times the noise "
                f"of {_pct(noise)}, over the limit of {_pct(limit)} (an outlier?)"
            )
        lo, hi = _run(x, i, noise)
    else:
        part, lo, hi = band
        x = r[part * n : (part + 1) * n]
        lo, hi = _run(x, (lo + hi) // 2, noise, lo, hi)
    sign = np.sign(x[lo : hi + 1].mean())
    i = lo + int(np.argmax(x[lo : hi + 1] * sign))
    return (
        f"not consistent: the {'real' if part == 0 else 'imaginary'} residuals "
        f"{_band_text(f, lo, hi, n)} trend to {_pct(x[i], signed=True)} against a noise of "
        f"{_pct(noise)}{_cause(f, lo, hi)}"
    )


def _run(
    x: np.ndarray, i: int, noise: float, lo: int | None = None, hi: int | None = None
) -> tuple[int, int]:
    """The run of points around ``i`` (at least ``lo..hi``) whose 3-point averages keep
    the sign of the run and stay above two standard errors of an average of noise."""
    lo = i if lo is None else lo
    hi = i if hi is None else hi
    sign = np.sign(x[lo : hi + 1].mean()) or 1.0
    padded = np.concatenate([[x[0]], x, [x[-1]]])
    smooth = (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0
    inside = (smooth * sign) > 2.0 * noise / math.sqrt(3.0)
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    while hi < x.size - 1 and inside[hi + 1]:
        hi += 1
    return lo, hi


def _band_text(f: np.ndarray, lo: int, hi: int, n: int) -> str:
    if lo == hi:
        return f"at {_hz(f[lo])}"
    if lo == 0 and hi == n - 1:
        return "across the spectrum"
    if lo == 0:
        return f"below {_hz(f[hi])}"
    if hi == n - 1:
        return f"above {_hz(f[lo])}"
    return f"between {_hz(f[lo])} and {_hz(f[hi])}"


def _cause(f: np.ndarray, lo: int, hi: int) -> str:
    """A likely cause from where the band lies: the lowest or the highest decade."""
    low = f[lo] <= 10.0 * f[0]
    high = f[hi] >= f[-1] / 10.0
    if low and not high:
        return " (drift during the sweep, or a low-frequency process that is not stationary?)"
    if high and not low:
        return " (an instrument, cable or reference-electrode artefact?)"
    return " (a change of the cell during the sweep, or a non-linear response?)"


def _pct(x: float, *, signed: bool = False) -> str:
    value = 100.0 * x
    sign = "+" if signed else ""
    text = f"{value:{sign}.0f}" if abs(value) >= 9.95 else f"{value:{sign}.2g}"
    return f"{text} %"


def _hz(f: float) -> str:
    for scale, unit in ((1e6, "MHz"), (1e3, "kHz"), (1.0, "Hz"), (1e-3, "mHz")):
        if f >= scale:
            return f"{f / scale:.3g} {unit}"
    return f"{f:.3g} Hz"
