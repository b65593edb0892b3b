"""Point-level screening: a local smooth curve, a noise estimate and the points off it.

Used by `eisfit.screening.screen`; pure functions on arrays sorted by ascending frequency.

The smooth curve.  Every point is predicted from its neighbours alone (leave-one-out):
a cubic in x = log10 f, fitted by weighted least squares over the ``2 * HALF_WINDOW``
nearest other points; at the two ends of the band, where the prediction is an
extrapolation, a parabola over the ``END_POINTS`` nearest (see `_predict`).  The
residual of point i is divided by its expected standard deviation,
sqrt(s_i^2 + var(prediction)), which puts interior and end points on one scale: the
deleted residual of local polynomial regression (Cleveland & Devlin, J. Am. Stat.
Assoc. 83 (1988) 596; Cook & Weisberg, *Residuals and Influence in Regression*, 1982,
ch. 2).  The curve is fitted twice, to ln Z = ln|Z| + j phase (unwrapped; noise s = 1)
and to Z itself (weights 1/|Z|^2; noise s = |Z|), and a point's residual is the smaller
of the two: ln Z follows power laws and arcs spread over decades of |Z|, Z follows the
sharp turn of ln Z where an inductive head meets the intercept (|Z| has a minimum
there).  A spike is off the curve in both; a region that one polynomial cannot follow
is rarely so in both.  Proportional noise (Z' and Z'' each with standard deviation
sigma |Z|) gives both residuals the standard deviation sigma per part.

The noise estimate ``sigma`` is relative (a fraction of |Z| per part of Z), from the
median absolute residual: for a complex residual with independent gaussian parts of
standard deviation sigma, |r|^2 / sigma^2 is chi-square with 2 degrees of freedom, whose
median is 2 ln 2, so sigma = median|r| / sqrt(2 ln 2) (a robust scale in the sense of
Rousseeuw & Croux, J. Am. Stat. Assoc. 88 (1993) 1273: up to half of the points may be
spikes).  The scale of point i is the largest of that estimate, the same estimate over
its ``LOCAL_WINDOW`` nearest points (a noisy low-frequency end raises its own scale) and
``NOISE_FLOOR`` (0.1 %: noise-free synthetic data must not turn rounding into findings).
On 1,000 synthetic spectra of the shipped models at 0.5-2 % noise, sigma / true noise
has median 0.97 (5-95 %: 0.79-1.19; ``python bench/screening_bench.py --n 1000 --seed 2``).

Spikes.  A point is flagged when its standardised residual exceeds `spike_limit` (about
4.5-5 sigma: P(|r| > k sigma) = exp(-k^2 / 2) per point, set for a 0.1 % chance of a
false alarm per spectrum), its residual is at least ``MIN_DEVIATION`` (5 % of |Z|: on
very clean real spectra, 0.1-0.3 % noise, the local polynomial misses sharp arcs and
band edges by 1-4 %, which is no spike and does not matter to a fit) and at least
``DISAGREEMENT_MULTIPLE`` times the gap between the ln Z and Z predictions (where the
two curves disagree, the neighbours do not pin the point down), and it is the largest
such point within its window.  It is then left out of every neighbour set and the
curve is fitted again until no point is over the limit (one spike would otherwise drag
its neighbours' predictions with it); finally a flagged point must still stand out
against the scatter of its own nearest neighbours (`_isolated`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "HALF_WINDOW",
    "LOCAL_WINDOW",
    "MIN_POINTS",
    "NOISE_FLOOR",
    "Residuals",
    "loo_residuals",
    "spike_limit",
    "spikes",
]

HALF_WINDOW = 3
DEGREE = 3
END_POINTS = 5
END_DEGREE = 2
LOCAL_WINDOW = 21
#: fewest points for a noise estimate: a full window of neighbours plus the point
MIN_POINTS = 2 * HALF_WINDOW + 2
NOISE_FLOOR = 1e-3
#: a spike is off its smooth curve by at least this fraction of |Z|
MIN_DEVIATION = 0.05
#: a spike departs from its prediction by this many times the two curves' disagreement
DISAGREEMENT_MULTIPLE = 2.0
_RAYLEIGH_MEDIAN = math.sqrt(2.0 * math.log(2.0))
#: wanted chance of one false alarm over a whole spectrum
_FALSE_ALARM = 1e-3
#: more spikes than this fraction of the points are not "isolated": stop looking
_MAX_SPIKE_FRACTION = 0.25


@dataclass(frozen=True)
class Residuals:
    """Leave-one-out residuals in ascending-frequency order.

    ``standardised`` = residual / ``scale``; ``scale`` the noise scale of each point and
    ``sigma`` the global noise estimate, both relative to |Z| (per part of Z);
    ``disagreement`` the gap between the ln Z and the Z predictions, relative to |Z|.
    """

    standardised: np.ndarray
    scale: np.ndarray
    sigma: float
    disagreement: np.ndarray


def log_impedance(impedance_ohm: np.ndarray) -> np.ndarray:
    """ln Z with the phase unwrapped along the (sorted) points (|Z| floored at 1e-12)."""
    magnitude = np.maximum(np.abs(impedance_ohm), 1e-12)
    return np.log(magnitude) + 1j * np.unwrap(np.angle(impedance_ohm))


def _neighbours(n: int, active: np.ndarray, width: int) -> np.ndarray:
    """For every point, the indices of its ``width`` nearest active other points."""
    pool = np.flatnonzero(active)
    position = np.searchsorted(pool, np.arange(n))
    others = pool.size - active.astype(int)  # active points other than the point itself
    start = np.clip(position - width // 2, 0, np.maximum(others - width, 0))
    index = start[:, None] + np.arange(width)
    index = index + (active[:, None] & (index >= position[:, None]))
    return pool[np.minimum(index, pool.size - 1)]


#: points whose local fits are solved in one batch (bounds the memory for long spectra:
#: a batch holds about 30 numbers per point and series, not 30 N)
_BATCH_POINTS = 4096


@dataclass(frozen=True)
class _Local:
    """The local fits of one set of points: neighbour rows ``near``, the points ``at``
    and the design ``u^k`` (points, neighbours, powers) of each batch of
    `_BATCH_POINTS` points; everything depends on x and the active points only."""

    near: tuple[np.ndarray, ...]
    at: tuple[np.ndarray, ...]
    design: tuple[np.ndarray, ...]


def _local(x: np.ndarray, near: np.ndarray, degree: int, at: np.ndarray) -> _Local:
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lo in range(0, max(at.size, 1), _BATCH_POINTS):
        rows, points = near[lo : lo + _BATCH_POINTS], at[lo : lo + _BATCH_POINTS]
        dx = x[rows] - x[points][:, None]
        u = dx / np.maximum(np.max(np.abs(dx), axis=1, keepdims=True), 1e-12)
        design = u[..., None] ** np.arange(degree + 1)  # (points, neighbours, powers)
        for a in (rows, points, design):
            a.setflags(write=False)
        parts.append((rows, points, design))
    return _Local(*(tuple(p[k] for p in parts) for k in range(3)))


#: spectra up to this many points have their `_layout` cached (32 entries: a few MB)
_CACHED_POINTS = 2048


@lru_cache(maxsize=32)
def _layout(x_bytes: bytes, active_bytes: bytes) -> tuple[_Local, _Local, np.ndarray]:
    """The inner (cubic) and end (parabola) local fits of `_predict` and the end points,
    cached by x and the active points: the spectra of a run share one grid, and the
    neighbours and designs depend on nothing else."""
    x = np.frombuffer(x_bytes)
    active = np.frombuffer(active_bytes, dtype=bool)
    every = np.arange(x.size)
    inner = _local(x, _neighbours(x.size, active, 2 * HALF_WINDOW), DEGREE, every)
    pool = np.flatnonzero(active)
    end = np.flatnonzero((every <= pool[0]) | (every >= pool[-1]))
    near = _neighbours(x.size, active, END_POINTS)[end]
    end.setflags(write=False)
    return inner, _local(x, near, END_DEGREE, end), end


def _loo_at(
    ys: tuple[np.ndarray, ...], sds: tuple[np.ndarray, ...], local: _Local
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each (y, sd): y_hat at the points ``local.at``, a local polynomial over the
    neighbour rows ``local.near`` weighted by 1/sd^2, and |y - y_hat| / sqrt(sd^2 +
    var(y_hat)).

    The series share the design (it depends on x only), so their Gram matrices are
    solved in one batched call, each for the constant term and its variance (G^-1)_00;
    `_BATCH_POINTS` points at a time.
    """
    batches = [
        _loo_batch(ys, sds, near, at, design)
        for near, at, design in zip(local.near, local.at, local.design, strict=True)
    ]
    return [
        (np.concatenate([b[k][0] for b in batches]), np.concatenate([b[k][1] for b in batches]))
        for k in range(len(ys))
    ]


def _loo_batch(
    ys: tuple[np.ndarray, ...],
    sds: tuple[np.ndarray, ...],
    near: np.ndarray,
    at: np.ndarray,
    design: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`_loo_at` for one batch of points."""
    size = design.shape[-1]
    weight = 1.0 / np.stack([sd[near] for sd in sds]) ** 2  # (series, points, neighbours)
    weighted_t = np.swapaxes(weight[..., None] * design, 2, 3)  # (series, points, powers, nb)
    gram = weighted_t @ design
    gram += 1e-12 * np.trace(gram, axis1=2, axis2=3)[..., None, None] * np.eye(size)
    rhs = np.zeros((len(ys), near.shape[0], size, 2), dtype=complex)
    rhs[..., 0] = (weighted_t @ np.stack([y[near] for y in ys])[..., None])[..., 0]
    rhs[:, :, 0, 1] = 1.0
    sol = np.linalg.solve(gram, rhs)
    out = []
    for k, (y, sd) in enumerate(zip(ys, sds, strict=True)):
        hat, variance = sol[k, :, 0, 0].copy(), sol[k, :, 0, 1].real  # no view keeps sol
        out.append((hat, np.abs(y[at] - hat) / np.sqrt(sd[at] ** 2 + variance)))
    return out


def _predict(
    x: np.ndarray, ys: tuple[np.ndarray, ...], sds: tuple[np.ndarray, ...], active: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-out prediction and residual: a cubic inside the band, a parabola at its ends.

    A point with no active neighbour on one side is checked against a parabola through
    its END_POINTS nearest neighbours: extrapolating a cubic over six is too uncertain
    (a variance tens of times the noise variance) to see a spike there, and a straight
    line over three misses the curvature of arcs measured at 5 points per decade (on the
    corpus it called the top point of a Novocontrol dielectric arc a spike).  With the
    parabola, spikes of 10-30 % at the ends are seen 40-55 % of the time, against 15-20 %
    (`bench/screening_bench.py`); inside the band, all of those above 10 sigma.
    """
    key = (
        np.ascontiguousarray(x, dtype=np.float64).tobytes(),
        np.ascontiguousarray(active, dtype=bool).tobytes(),
    )
    layout = _layout if x.size <= _CACHED_POINTS else _layout.__wrapped__
    inner_fits, end_fits, end = layout(*key)
    inner = _loo_at(ys, sds, inner_fits)
    for (hat, raw), (end_hat, end_raw) in zip(inner, _loo_at(ys, sds, end_fits), strict=True):
        hat[end], raw[end] = end_hat, end_raw
    return inner


def loo_residuals(x: np.ndarray, z: np.ndarray, active: np.ndarray) -> Residuals:
    """Standardised leave-one-out residuals of ``z`` (see the module docstring).

    ``x`` = log10 f ascending, ``z`` the impedances in ohm, ``active`` the points allowed
    as neighbours (at least 2 * HALF_WINDOW + 1 of them).
    """
    largest = float(np.max(np.abs(z)))
    z = z / largest if largest > 0 else z  # the residuals are relative: scale-free
    magnitude = np.maximum(np.abs(z), 1e-12)
    with np.errstate(all="ignore"):  # degenerate data (|Z| = 0...) give inf / NaN here
        (log_hat, log_raw), (z_hat, z_raw) = _predict(
            x, (log_impedance(z), z.astype(complex)), (np.ones(x.size), magnitude), active
        )
        raw = np.fmin(log_raw, z_raw)
        disagreement = np.abs(np.exp(log_hat) - z_hat) / magnitude
    # a residual that cannot be computed says nothing: it is neither noise nor a spike
    raw = np.where(np.isfinite(raw), raw, 0.0)
    disagreement = np.where(np.isfinite(disagreement), disagreement, np.inf)
    sigma = max(float(np.median(raw[active])) / _RAYLEIGH_MEDIAN, NOISE_FLOOR)
    scale = np.maximum(_local_median(raw, active) / _RAYLEIGH_MEDIAN, sigma)
    return Residuals(raw / scale, scale, sigma, disagreement)


def _local_median(values: np.ndarray, active: np.ndarray, window: int = LOCAL_WINDOW) -> np.ndarray:
    """Median of ``values`` over the ``window`` active points nearest each point."""
    pool = np.flatnonzero(active)
    width = min(window, pool.size)
    position = np.searchsorted(pool, np.arange(values.size))
    start = np.clip(position - width // 2, 0, pool.size - width)
    half = width // 2  # the median of each row, without np.median's per-call overhead
    out = np.empty(values.size)
    for lo in range(0, values.size, _BATCH_POINTS):  # windows of a batch of points at a time
        rows = start[lo : lo + _BATCH_POINTS, None] + np.arange(width)
        ranked = np.sort(values[pool[rows]], axis=1)
        if width % 2:
            out[lo : lo + _BATCH_POINTS] = ranked[:, half]
        else:
            out[lo : lo + _BATCH_POINTS] = 0.5 * (ranked[:, half - 1] + ranked[:, half])
    return out


def spike_limit(n_points: int) -> float:
    """Standardised residual above which a point is a spike: sqrt(2 ln(n / 0.001))."""
    return math.sqrt(2.0 * math.log(max(n_points, 2) / _FALSE_ALARM))


def _isolated(flagged: np.ndarray, result: Residuals, limit: float) -> np.ndarray:
    """The flagged points that stand out from their own nearest neighbours too.

    ``result`` was computed with every flagged point out of the neighbour sets, so the
    residuals of the neighbours are free of the spike's pull; a point in a run of scatter
    (a zigzag) is not an isolated spike and is let go.
    """
    raw = result.standardised * result.scale
    local = _local_median(raw, ~flagged, 2 * HALF_WINDOW) / _RAYLEIGH_MEDIAN
    return flagged & (raw > limit * np.maximum(local, result.sigma))


def spikes(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, Residuals]:
    """The isolated spikes (boolean, ascending order) and the final residuals.

    Needs at least MIN_POINTS points.  Stops once a quarter of the points are flagged.
    """
    n = x.size
    flagged = np.zeros(n, dtype=bool)
    limit = spike_limit(n)
    most = min(int(_MAX_SPIKE_FRACTION * n), n - 2 * HALF_WINDOW - 1)
    while True:
        result = loo_residuals(x, z, ~flagged)
        score = np.where(flagged, 0.0, result.standardised)
        raw = score * result.scale
        over = (
            (score > limit)
            & (raw > MIN_DEVIATION)
            & (raw > DISAGREEMENT_MULTIPLE * result.disagreement)
        )
        room = most - int(flagged.sum())
        if not over.any() or room <= 0:
            return _isolated(flagged, result, limit), result
        candidate = np.where(over, score, 0.0)
        windows = np.lib.stride_tricks.sliding_window_view(
            np.pad(candidate, HALF_WINDOW), 2 * HALF_WINDOW + 1
        )
        chosen = np.flatnonzero(over & (candidate >= windows.max(axis=1)))
        flagged[chosen[np.argsort(-score[chosen])][:room]] = True


#: a rise of Z' in an inductive head above this fraction of its lowest Z' is no longer
#: "steady": real cable heads rise by 15-25 % (Zahner, EC-Lab files of the corpus), lead
#: resonances by 90-100 % (impedance.py's Parstat example, a Gamry galvanostatic run)
HEAD_RISE = 0.3
#: noise multiples a departure must exceed to count (Z' < 0, a falling Z'', a falling Z')
NOISE_MULTIPLE = 4.0


def negative_real(z: np.ndarray, sigma: float) -> np.ndarray:
    """Points with Z' < -NOISE_MULTIPLE * sigma * |Z| (boolean, same order as ``z``).

    A passive cell has Z' >= 0 at every frequency (its real part is a dissipation; Orazem
    & Tribollet, *Electrochemical Impedance Spectroscopy*, 2nd ed. 2017, sec. 22.1), so a
    clearly negative Z' is an artefact of the wiring, the instrument or the export.
    ``sigma`` is the spectrum's relative noise estimate (`loo_residuals`).
    """
    return z.real < -NOISE_MULTIPLE * sigma * np.abs(z)


@dataclass(frozen=True)
class Head:
    """An artefact at the top of the band (indices in ascending frequency order).

    ``points`` the points of the artefact; ``resonance_peak`` the point where Z'' peaks
    before falling (None: no resonance); ``rise_from`` the point where Z' is lowest
    before rising toward f_max (None: it does not rise); ``intercept`` the first
    inductive point, when Z' falls from there to below zero (None: it does not);
    ``top_spikes`` the number of spikes ending at f_max.
    """

    points: np.ndarray
    resonance_peak: int | None = None
    rise_from: int | None = None
    intercept: int | None = None
    top_spikes: int = 0


def artefact_head(z: np.ndarray, scale: np.ndarray, spiked: np.ndarray) -> Head:
    """The high-frequency points that a series inductance cannot explain.

    ``z`` in ascending frequency order, ``scale`` the relative noise scale per point,
    ``spiked`` the spikes.  In a chain of a series L, R and R||CPE elements, Z' never
    rises with frequency (each R||CPE's real part falls), Z' >= 0, and wherever Z'' > 0
    Z'' rises with frequency (d ln|Z''_k| / d ln omega >= -1 for every R||CPE arc, so
    dZ''/d ln omega >= Z'' > 0 there).  An inductive head (the final run of Z'' > 0) is
    therefore an artefact where, by more than NOISE_MULTIPLE times the noise of both
    points compared (and, for a rise, by at least HEAD_RISE of the lowest Z' and
    MIN_DEVIATION of |Z|),

    * Z'' falls toward f_max from its maximum (a resonance of the leads or the
      instrument): the points above the maximum;
    * Z' rises toward f_max from its minimum (a resonance, or a cable whose inductance is
      not ideal, BioLogic's modified inductance La (j omega)^n): the points above the
      minimum;
    * Z' falls away from the intercept (its value where the head begins) to below zero:
      the final run of points below half the intercept;

    and, inductive or not, spikes at the very top of the band (a point off the trend that
    only cropping removes) belong to the head too.  A plain inductive head (Z'' > 0
    rising, Z' steady) is normal: docs/physics-notes.md sec. 1, allow a series L0 rather than
    deleting those points.
    """
    n = z.size
    margin = NOISE_MULTIPLE * scale * np.abs(z)
    bad = np.zeros(n, dtype=bool)
    resonance_peak = intercept = rise_from = None
    capacitive = np.flatnonzero(z.imag <= 0)
    start = int(capacitive[-1]) + 1 if capacitive.size else 0
    if n - start >= 2:
        imag = z.imag[start:]
        peak = start + int(np.argmax(imag))
        if z.imag[-1] < z.imag[peak] - margin[-1] - margin[peak]:
            bad[peak + 1 :] = True
            resonance_peak = peak
        low = start + int(np.argmin(z.real[start:]))
        rise = z.real[-1] - z.real[low]
        steady = HEAD_RISE * max(z.real[low], 0.0)
        if rise > margin[-1] + margin[low] and rise > max(steady, MIN_DEVIATION * abs(z[-1])):
            bad[low + 1 :] = True
            rise_from = low
        if z.real[-1] < -margin[-1] and z.real[start] > margin[start]:
            fallen = z.real[start:] < 0.5 * max(z.real[start], 0.0) + margin[start:]
            run = _final_run(fallen)
            bad[n - run :] = True
            intercept = start
    top = _final_run(spiked)
    if top:
        bad[n - top :] = True
    return Head(np.flatnonzero(bad), resonance_peak, rise_from, intercept, top)


def _final_run(flags: np.ndarray) -> int:
    """Length of the run of True at the end of ``flags``."""
    false = np.flatnonzero(~flags)
    return int(flags.size - (false[-1] + 1)) if false.size else int(flags.size)
