"""What a fit's numbers are worth: the status, its reasons, and undetermined parameters.

A converged fit is not yet a result.  The verdict judges, in order:

1. **Parameters the data do not determine** (``undetermined``), each with its reason:

   * a value that ends on a bound, its own or one set by the user or by the default
     `eisfit.fitting.bounds` (the data pushed it there: the bound, not the data, sets it).
     Natural limits are values, not bounds: a CPE exponent n = 1 (an ideal capacitor) and
     a series inductance L = 0 (no lead inductance measured);
   * a standard error larger than the value, or none at all (singular covariance);
   * an arc that is absent from the data: its impedance stays below `ABSENT` (0.1 %) of
     the measured |Z| across the band (the fit let it vanish); none of its parameters is
     determined;
   * an arc (R||CPE, R||C, Zarc, K) whose apex frequency f0 = 1/(2 pi (R Q)^(1/n))
     (docs/physics-notes.md sec. 3) lies more than `APEX_DECADES` outside the measured band:
     below it only the arc's capacitive tail is measured (its R, and with it the
     effective capacitance, is not determined); above it the arc is a plain resistance
     to these data (its Q and n are not determined, its R merges with the intercept).
     An apex outside the band by less than that is a warning: the values are
     extrapolated (docs/physics-notes.md sec. 4: never without a warning).

   A series inductance is a nuisance parameter: no quantity derives from it.  When the
   data hardly show it (its standard error exceeds it, or it has none) its value is kept
   with a note ("not resolved: consistent with no lead inductance"), since L = 0 is a
   physical value; only an inductance held on a bound that is not its natural limit makes
   the fit ``undetermined``.
2. **The optimiser's own state**: a fit that stopped on its evaluation or time budget is
   judged by the Gauss-Newton prediction of how much its cost could still fall
   (`predicted_decrease`): below `STATIONARY` it sits on a minimum within tolerance (a
   note, not a failure), above `FAR_FROM_MINIMUM` it is unusable (``failed``), in between
   it is usable with a warning.  A fit that already reproduces the data to `EXACT`
   (1 ppm of |Z|, noise-free data) needs no such judgement: the relative decrease of a
   cost near zero means nothing.
3. **The residuals** (the quality verdict beyond "converged"): a runs test over frequency
   on the signs of the real and imaginary residuals (Wald & Wolfowitz, Ann. Math.
   Statist. 11 (1940) 147; too few runs mean systematic structure) together with their
   size against the noise level estimated by lin-KK (or, without lin-KK, by data
   screening from the scatter about a local smooth curve): structured residuals more than
   `NOISE_RATIO` times the noise mean the model misses a process (``warning``).
4. **The data**: the lin-KK verdict and the screening findings (`eisfit.screening.screen`)
   each add their reason at their severity.

The worst finding sets the status (`eisfit.status`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ..notation.model import Circuit
from ..notation.parts import arc_magnitude, log10_time_constant, split_circuit
from ..status import worst

if TYPE_CHECKING:  # pragma: no cover
    from ..kk.result import KKResult
    from ..spectrum import Finding

__all__ = [
    "APEX_DECADES",
    "Verdict",
    "apex_findings",
    "apex_outside",
    "bound_findings",
    "predicted_decrease",
    "residual_findings",
    "runs_z",
    "stderr_findings",
]

APEX_DECADES = 1.0  # an arc apex further than this outside the band: not determined
ABSENT = 1e-3  # an arc whose |Z| stays below this fraction of the measured |Z|: absent
STATIONARY = 1e-4  # predicted relative cost decrease below which a point is a minimum
EXACT = 1e-6  # a fit reproducing every point to this fraction of |Z| needs no more steps
FAR_FROM_MINIMUM = 0.1  # above this a fit stopped on its budget is unusable
NOISE_RATIO = 3.0  # structured residuals this many times the noise: a missing process
RUNS_Z = -3.0  # runs-test z below this: residual signs cluster over frequency
RESIDUAL_FLOOR = 2e-3  # relative RMS residual below which no structure matters (0.2 %)
LARGE_RESIDUAL = 0.05  # without a noise estimate: a relative RMS residual above 5 %
_ON_BOUND = 1e-9  # relative distance to a bound counted as on it


@dataclass(frozen=True)
class Verdict:
    """The status of a fit, why, and which parameters the data do not determine."""

    status: str
    reasons: tuple[str, ...] = ()
    undetermined: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: undetermined only because the standard error exceeds the value: the estimate and
    #: its covariance still exist (a sum with a correlated parameter may be determined)
    imprecise: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "undetermined", MappingProxyType(dict(self.undetermined)))


def _on(value: float, bound: float) -> bool:
    if not math.isfinite(bound):
        return False
    return abs(value - bound) <= _ON_BOUND * max(abs(bound), abs(value), 1e-300)


def _natural(circuit: Circuit, i: int, side: str) -> bool:
    """n = 1 of a CPE/Zarc/La and L = 0 of an inductor are values, not bounds."""
    p = circuit.parameters[i]
    if side == "upper" and p.short == "n" and p.upper == 1.0:
        return True
    return side == "lower" and p.symbol in ("L", "La") and p.short == "L"


def bound_findings(
    circuit: Circuit,
    theta: np.ndarray,
    free: Sequence[int],
    floor: np.ndarray,
    ceil: np.ndarray,
    user_bounds: frozenset[int],
) -> dict[str, str]:
    """Free parameters that ended on a bound that is not a natural limit: name -> reason."""
    out: dict[str, str] = {}
    for k, i in enumerate(free):
        p, v = circuit.parameters[i], float(theta[i])
        for side, bound in (("lower", float(floor[k])), ("upper", float(ceil[k]))):
            if not _on(v, bound) or _natural(circuit, i, side):
                continue
            if i in user_bounds:
                whose, why = "the bound given to the fit (by you or the named model)", ""
            elif bound == (p.lower if side == "lower" else p.upper):
                whose, why = "its physical bound", ""
            else:
                whose, why = "the default bound", " (the band cannot resolve more)"
            text = f"ended on {whose} {bound:.3g} {p.unit}".rstrip()
            out[p.name] = text + why + _hint(p, side)
    return out


def _hint(p: object, side: str) -> str:
    symbol, short = getattr(p, "symbol", ""), getattr(p, "short", "")
    if symbol == "R" and side == "lower":
        return (
            ": this resistance is not resolved (a high-frequency artefact or an arc above "
            "the band? crop with --f-max, or fit without that element)"
        )
    if short == "n" and side == "lower":
        return ": the arc is flatter than the model allows (diffusion-like?)"
    if side == "upper" and short in ("R", "Z0"):
        return (
            ": the arc is not closed at low frequency (fit a bare CPE or measure to lower "
            "frequency)"
        )
    return ""


def stderr_findings(
    circuit: Circuit, theta: np.ndarray, stderr: np.ndarray, free: Sequence[int]
) -> dict[str, str]:
    """Free parameters with no standard error, or one larger than the value."""
    out: dict[str, str] = {}
    for i in free:
        p, v, s = circuit.parameters[i], float(theta[i]), float(stderr[i])
        if not math.isfinite(s):
            out[p.name] = "not determined by the data (singular covariance)"
        elif s > abs(v):
            out[p.name] = f"standard error {s:.3g} exceeds the value {v:.3g} {p.unit}".rstrip()
    return out


def apex_findings(
    circuit: Circuit, theta: np.ndarray, frequency_hz: np.ndarray, impedance_ohm: np.ndarray
) -> tuple[dict[str, str], list[str]]:
    """(undetermined parameters, warnings) from where each arc lies (see module)."""
    band_hz = (float(np.min(frequency_hz)), float(np.max(frequency_hz)))
    lo, hi = math.log10(band_hz[0]), math.log10(band_hz[1])
    band = f"{band_hz[0]:.3g}-{band_hz[1]:.3g} Hz"
    omega = 2.0 * math.pi * np.asarray(frequency_hz, dtype=float)
    floor = ABSENT * float(np.min(np.abs(impedance_ohm)))
    out: dict[str, str] = {}
    warnings: list[str] = []
    for arc in split_circuit(circuit, theta).arcs:
        involved = np.flatnonzero(np.any(arc.jac != 0, axis=0))
        params = [circuit.parameters[int(i)].name for i in involved]
        r_name = circuit.parameters[int(np.flatnonzero(arc.jac[0])[0])].name
        if float(np.max(arc_magnitude(arc.r, arc.q, arc.n, omega), initial=0.0)) < floor:
            reason = (
                f"{arc.name}: the arc is absent from these data (its impedance stays below "
                f"{100 * ABSENT:g} % of the measured |Z| across the band): fit without it"
            )
            out.update(dict.fromkeys(params, reason))
            continue
        # apex f0 = 1/(2 pi tau), NaN when the arc has none
        log_f0 = -math.log10(2.0 * math.pi) - log10_time_constant(arc.r, arc.q, arc.n)
        if not math.isfinite(log_f0):
            continue
        where = f"{arc.name}: apex {10.0**log_f0:.3g} Hz"
        if log_f0 < lo - APEX_DECADES:
            # the apex value itself means nothing this far out (1e-33 Hz): say the side
            reason = (
                f"{arc.name}: apex below {10.0 ** (lo - APEX_DECADES):.3g} Hz, more than "
                f"{APEX_DECADES:g} decade below the band {band}: only its "
                "capacitive tail is measured (the low-frequency arc is not closed: fit a "
                "bare CPE or measure to lower frequency)"
            )
            if r_name:
                out[r_name] = reason
        elif log_f0 > hi + APEX_DECADES:
            reason = (
                f"{arc.name}: apex above {10.0 ** (hi + APEX_DECADES):.3g} Hz, more than "
                f"{APEX_DECADES:g} decade above the band {band}: to these "
                "data it is a plain resistance in series with the intercept (fit without "
                "this arc, or measure to higher frequency)"
            )
            for name in params:
                if name != r_name:
                    out[name] = reason
        elif not lo <= log_f0 <= hi:
            warnings.append(
                f"{where} lies outside the measured band {band}: its resistance and "
                "capacitance are extrapolated"
            )
    return out, warnings


def predicted_decrease(jac: np.ndarray, residuals: np.ndarray, active: np.ndarray) -> float:
    """Fraction of the cost a Gauss-Newton step over the ``active`` columns would remove.

    ``jac`` is (2N, k) of the weighted residuals, ``residuals`` (2N,).  0 at a minimum
    (the gradient J^T r vanishes), up to 1 far from one.
    """
    cost = float(residuals @ residuals)
    if cost == 0.0 or not active.any():
        return 0.0
    j = jac[:, active]
    if not np.all(np.isfinite(j)):
        return math.nan
    scale = np.linalg.norm(j, axis=0)
    scale[scale == 0] = 1.0
    step, *_ = np.linalg.lstsq(j / scale, -residuals, rcond=1e-12)
    gain = j / scale @ step
    return float(min(max(float(gain @ gain) / cost, 0.0), 1.0))


def runs_z(values: np.ndarray) -> float:
    """Wald-Wolfowitz runs test z-score of the signs of ``values`` (in their order).

    Zeros are dropped.  Negative z: fewer runs than chance (signs cluster); NaN when there
    are too few points of either sign to judge.
    """
    signs = np.sign(values[values != 0])
    n_pos, n_neg = int(np.sum(signs > 0)), int(np.sum(signs < 0))
    n = n_pos + n_neg
    if n_pos < 2 or n_neg < 2:
        return math.nan
    runs = 1 + int(np.count_nonzero(signs[1:] != signs[:-1]))
    mean = 2.0 * n_pos * n_neg / n + 1.0
    var = (mean - 1.0) * (mean - 2.0) / (n - 1.0)
    return (runs - mean) / math.sqrt(var) if var > 0 else math.nan


def residual_findings(
    frequency_hz: np.ndarray, residuals: np.ndarray, noise: float | None
) -> list[str]:
    """Warnings about the fit residuals (relative, (Z - Z_fit)/|Z|, complex)."""
    rms = float(np.sqrt(np.mean(residuals.real**2 + residuals.imag**2) / 2.0))
    if not math.isfinite(rms) or rms <= RESIDUAL_FLOOR:
        return []
    order = np.argsort(frequency_hz)
    z = min(
        (runs_z(part[order]) for part in (residuals.real, residuals.imag)),
        key=lambda v: v if math.isfinite(v) else math.inf,
    )
    structured = math.isfinite(z) and z < RUNS_Z
    if noise is not None and math.isfinite(noise) and noise > 0:
        if structured and rms > NOISE_RATIO * noise:
            return [
                f"systematic residuals: RMS {100 * rms:.2g} % of |Z|, {rms / noise:.0f} times "
                f"the noise level {100 * noise:.2g} % (runs test "
                f"z = {z:.1f}): the circuit misses a process, or an arc is misplaced"
            ]
        return []
    if rms > LARGE_RESIDUAL:
        return [f"large residuals: RMS {100 * rms:.2g} % of |Z| (no noise estimate)"]
    return []


def judge(
    *,
    solver_status: str,
    solver_reasons: Sequence[str],
    undetermined: Mapping[str, str],
    imprecise: frozenset[str],
    nuisance: frozenset[str],
    on_bound: frozenset[str],
    warnings: Sequence[str],
    kk: KKResult | None,
    findings: Sequence[Finding] | None,
) -> Verdict:
    """Combine the parts above into one `Verdict` (see the module docstring)."""
    reasons = list(solver_reasons)
    statuses = [solver_status]
    if solver_status == "failed":
        return Verdict("failed", tuple(reasons), undetermined)
    kept = {k: v for k, v in undetermined.items() if k in nuisance and k not in on_bound}
    undetermined = {k: v for k, v in undetermined.items() if k not in kept}
    essential = {k: v for k, v in undetermined.items() if k not in nuisance}
    if essential:
        statuses.append("undetermined")
        by_reason: dict[str, list[str]] = {}
        for name, why in essential.items():
            by_reason.setdefault(why, []).append(name)
        reasons.extend(
            f"{', '.join(names)} undetermined: {why}" for why, names in by_reason.items()
        )
    if warnings:
        statuses.append("warning")
        reasons.extend(warnings)
    if kk is not None and not kk.valid:
        statuses.append("warning")
        reasons.append(f"lin-KK {kk.reason}" if getattr(kk, "reason", "") else kk.message)
    for finding in findings or ():
        statuses.append(finding.severity)
        reasons.append(finding.message)
    notes = tuple(
        f"{name} not resolved ({why}): consistent with no lead inductance"
        for name, why in kept.items()
    )
    return Verdict(
        worst(statuses), tuple(dict.fromkeys(reasons)), undetermined, notes, imprecise
    )


def apex_outside(apex_hz: float, band_hz: tuple[float, float]) -> tuple[str, float | None] | None:
    """Where a positive, finite apex frequency lies against the measured band ``(lo, hi)``
    in Hz: None inside it; ``(side, None)`` up to `APEX_DECADES` outside it (an
    extrapolated value); ``(side, edge_hz)`` beyond, where only the side means anything and
    ``edge_hz`` is the band edge moved out by `APEX_DECADES`.  ``side``: "below" / "above"."""
    lo, hi = band_hz
    if lo <= apex_hz <= hi:
        return None
    below = apex_hz < lo
    side = "below" if below else "above"
    if math.log10(lo / apex_hz if below else apex_hz / hi) > APEX_DECADES:
        return side, (lo / 10**APEX_DECADES if below else hi * 10**APEX_DECADES)
    return side, None
