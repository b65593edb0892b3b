"""The DRT panel of a spectrum figure: gamma against tau, its peaks and the fit's arcs.

The distribution of relaxation times (`eisfit.relaxation.drt`: Tikhonov-regularised, gamma in
ohm per unit ln tau, so the area of a peak over ln tau is its resistance; Wan, Saccoccio,
Chen & Ciucci, Electrochim. Acta 184 (2015) 483) is drawn on a log tau axis with its peaks
marked.  Each fitted contribution with an apex frequency f0 is drawn at its time constant
tau = 1 / (2 pi f0) (domain notes sec. 3), labelled by its role (bulk, gb, SOLI, ct), so a
reader sees whether the circuit's arcs sit on the data's relaxations.  The DRT's grid
reaches a decade beyond the measured band on each side (`eisfit.relaxation.api.EXTEND_DECADES`);
that part is shaded: there gamma is an extrapolation.

A spectrum of more than `MAX_DRT_POINTS` points gets its DRT from that many points chosen
evenly in log f (`eisfit.report.thin.drawn_points`; the panel says so): the basis has about
ten functions per decade, so more points add little but cost time (a 50,000-point DRT
takes about 27 s, 500 points well under a second).  A DRT that cannot be computed (too few
points, Z = 0: `eisfit.errors.DRTError`) leaves a one-line note in the panel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisfitError
from .thin import drawn_points
from .units import si_prefix

if TYPE_CHECKING:  # pragma: no cover
    from ..relaxation.result import DRTResult
    from ..spectrum import Spectrum

__all__ = [
    "MAX_DRT_POINTS",
    "PANEL_TITLE",
    "ROLE_COLOURS",
    "ROLE_LABELS",
    "ArcTau",
    "SpectrumDRT",
    "arc_time_constants",
    "band_tau",
    "drt_panel",
    "in_band_max",
    "spectrum_drt",
]

#: points a DRT is computed from at most (evenly in log f); see the module docstring
MAX_DRT_POINTS = 500
PANEL_TITLE = "DRT (distribution of relaxation times)"
#: short role names as the report writes them next to an arc's time constant
ROLE_LABELS: Mapping[str, str] = {
    "bulk": "bulk",
    "grain_boundary": "gb",
    "soli": "SOLI",
    "charge_transfer": "ct",
}
#: one colour per role, the same in the DRT panel and the DRT map (none is viridis-like)
ROLE_COLOURS: Mapping[str, str] = {
    "bulk": "#d62728",
    "grain_boundary": "#ff7f0e",
    "soli": "#e377c2",
    "charge_transfer": "#17becf",
}
_OTHER_COLOUR = "#8c564b"
_GAMMA = "#1f4e79"
_PEAK = "#000000"
_NOTE_CHARS = 110  # a note in the panel is one line
_TITLE_NOTE_CHARS = 60  # what of the note fits in the title beside PANEL_TITLE


@dataclass(frozen=True)
class ArcTau:
    """A fitted contribution's time constant: ``role`` (`eisfit.physics.roles.ROLES`) and
    ``tau_s`` = 1 / (2 pi f0) in s."""

    role: str
    tau_s: float

    @property
    def label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role.replace("_", " "))

    @property
    def colour(self) -> str:
        return ROLE_COLOURS.get(self.role, _OTHER_COLOUR)


@dataclass(frozen=True)
class SpectrumDRT:
    """The DRT of one spectrum for a figure: ``result`` (None when it could not be
    computed), ``note`` (why not, or what to know: thinned points, a status other than
    ok), ``points_used`` of ``points`` in the spectrum."""

    result: DRTResult | None
    note: str
    points_used: int
    points: int


def arc_time_constants(contributions: Iterable[Mapping[str, Any]]) -> tuple[ArcTau, ...]:
    """The time constant tau = 1 / (2 pi f0) (s) of each contribution with a finite,
    positive apex frequency f0 (``apex_frequency_hz``, `eisfit.physics.contributions`),
    in the given order (domain notes sec. 3: f0 = 1 / (2 pi (R Q)^(1/n)))."""
    out = []
    for c in contributions:
        try:
            apex = float(c.get("apex_frequency_hz"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(apex) and apex > 0:
            out.append(ArcTau(str(c.get("role") or "unassigned"), 1.0 / (2.0 * math.pi * apex)))
    return tuple(out)


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _NOTE_CHARS else text[: _NOTE_CHARS - 1] + "…"


def spectrum_drt(spectrum: Spectrum, *, max_points: int | None = None) -> SpectrumDRT:
    """The DRT of ``spectrum`` from at most ``max_points`` (default `MAX_DRT_POINTS`)
    points; a spectrum the DRT refuses gives ``result=None`` and the reason as ``note``."""
    from ..relaxation import drt

    limit = MAX_DRT_POINTS if max_points is None else max(int(max_points), 2)
    n = len(spectrum)
    used = drawn_points(spectrum.frequency_hz, max_points=limit)
    if used.size < n:
        keep = np.zeros(n, dtype=bool)
        keep[used] = True
        spectrum = spectrum.mask(keep)
    try:
        result = drt(spectrum)
    except (EisfitError, ValueError, ArithmeticError) as exc:  # DRTError: too few points, Z = 0
        reason = getattr(exc, "reason", None) or str(exc)
        return SpectrumDRT(None, _one_line(f"DRT not possible: {reason}"), 0, n)
    notes = []
    if used.size < n:
        notes.append(f"from {used.size:,} of {n:,} points (evenly in log f)")
    if result.status != "ok":
        notes.append(f"{result.status}: {result.message}" if result.message else result.status)
    return SpectrumDRT(result, _one_line("; ".join(notes)), used.size, n)


def in_band_max(tau_s: np.ndarray, gamma_ohm: np.ndarray, band_tau: tuple[float, float]) -> float:
    """The largest gamma at a time constant inside the measured band (0 when none)."""
    inside = (tau_s >= band_tau[0]) & (tau_s <= band_tau[1])
    return float(np.max(gamma_ohm[inside])) if inside.any() else 0.0


def _clip(text: str, limit: int) -> str:
    """``text`` cut at a word before ``limit`` characters, with "…" (a title is one line)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def band_tau(frequency_hz: np.ndarray) -> tuple[float, float]:
    """(shortest, longest) time constant of the measured band: 1 / (2 pi f)."""
    f = frequency_hz[np.isfinite(frequency_hz) & (frequency_hz > 0)]
    return 1.0 / (2.0 * math.pi * float(f.max())), 1.0 / (2.0 * math.pi * float(f.min()))


def drt_panel(
    ax: Any, spectrum: Spectrum, found: SpectrumDRT, arcs: Sequence[ArcTau] = ()
) -> None:
    """Draw gamma (SI-prefixed Ω, `units.si_prefix`) against tau on ``ax``, the peaks
    (triangles), each arc's time constant (a dashed line in its role's colour, labelled)
    and the band's limits (outside shaded); or the note when there is no DRT."""
    from matplotlib.ticker import NullLocator

    from .axes import legend_above_data

    ax.set_title(PANEL_TITLE)
    ax.set_xlabel("τ / s")
    result = found.result
    if result is None:
        ax.set_ylabel("γ / Ω")
        ax.text(0.5, 0.5, found.note, transform=ax.transAxes, ha="center", va="center",
                parse_math=False)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return
    tau, gamma = result.tau_s, result.gamma_ohm
    lo, hi = band_tau(spectrum.frequency_hz)
    top_in_band = in_band_max(tau, gamma, (lo, hi))
    clipped = top_in_band > 0 and float(np.max(gamma)) > 1.5 * top_in_band
    prefix, scale = si_prefix(np.array([top_in_band if clipped else float(np.max(gamma))]))
    ax.set_ylabel(f"γ / {prefix}Ω")
    handles = ax.semilogx(tau, gamma / scale, "-", color=_GAMMA, label="γ (DRT)")
    # the area under gamma is the resistance: shaded, from every 4th point (a polygon is not
    # simplified like a line: all 500 points made it half the panel's SVG)
    ax.fill_between(tau[::4], 0.0, gamma[::4] / scale, color=_GAMMA, alpha=0.12, lw=0)
    if result.peaks:
        handles += ax.plot([p.tau_s for p in result.peaks],
                           [p.height_ohm / scale for p in result.peaks], "v", color=_PEAK,
                           ms=5, label="DRT peaks")  # fmt: skip
    ax.set_xlim(float(tau[0]), float(tau[-1]))
    ax.set_ylim(bottom=0.0)
    if clipped:  # a capacitive tail beyond the band would flatten every arc: scale to the band
        ax.set_ylim(0.0, 1.3 * top_in_band / scale)
        ax.text(0.995, 0.5, "beyond the band: off scale", transform=ax.transAxes, ha="right",
                va="center", rotation=90, fontsize=6.5, color="0.3", parse_math=False)  # fmt: skip
    shade = {"color": "0.5", "alpha": 0.15, "lw": 0}
    handles.append(ax.axvspan(float(tau[0]), lo, label="outside the band", **shade))
    ax.axvspan(hi, float(tau[-1]), **shade)
    top = ax.get_ylim()[1]  # the arcs' lines stop below the legend strip
    seen: set[str] = set()
    for arc in arcs:
        line = ax.vlines(arc.tau_s, 0.0, top, color=arc.colour, ls="--", lw=1.1,
                         label=f"{arc.label} arc τ (fit)")  # fmt: skip
        if arc.label not in seen:
            seen.add(arc.label)
            handles.append(line)
    # no minor ticks: over ten decades they are a grey comb, and a fifth of the drawing
    ax.xaxis.set_minor_locator(NullLocator())
    legend_above_data(ax, handles)
    if found.note:  # the title says it, as the lin-KK panel's says its verdict
        ok = result.status == "ok"
        ax.set_title(f"{PANEL_TITLE}: {_clip(found.note, _TITLE_NOTE_CHARS)}",
                     color="k" if ok else "#b04000", parse_math=False)  # fmt: skip
