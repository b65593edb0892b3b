"""The evidence an identification starts from: lin-KK's noise, the DRT's peaks, the shape.

`Evidence` is what `eisfit.identification.identify` shows with every answer: how many
relaxation processes the DRT found (each peak's time constant, resistance and width),
where that count came from (``source``: "drt", "given" when the caller passed it, or
"none" when no DRT could be computed, with the reason), the shape of the spectrum's ends
(`eisfit.identification.shape`) and the noise level the residuals are judged against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._util import finite_or_none
from ..errors import EisfitError
from ..spectrum import Spectrum
from .shape import ShapeFeatures

__all__ = ["DrtEvidence", "Evidence", "drt_evidence"]


@dataclass(frozen=True)
class DrtEvidence:
    """The DRT's count of processes: ``n_processes`` None when unknown (``note`` why)."""

    source: str  # "drt", "given" or "none"
    n_processes: int | None
    peaks: tuple[dict[str, float | None], ...] = ()
    inductance_h: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Evidence:
    """Everything the candidates were built from (module docstring)."""

    drt: DrtEvidence
    shape: ShapeFeatures
    noise: float | None  # lin-KK's relative noise per part of Z, None when unknown
    kk: str  # lin-KK's one-line verdict
    kk_verdict: str = ""  # "consistent", "not consistent", "undetermined" or "" (not run)

    def lines(self) -> list[str]:
        d = self.drt
        if d.source == "drt":
            peaks = ", ".join(
                f"{_num(p.get('frequency_hz'))} Hz ({_num(p.get('resistance_ohm'))} ohm)"
                for p in d.peaks
            )
            out = [f"DRT: {d.n_processes} peak(s){': ' + peaks if peaks else ''}"]
        elif d.source == "given":
            out = [f"processes: {d.n_processes} (given)"]
        else:
            out = [f"DRT: not available ({d.note}); arc counts searched from 1"]
        out.extend(self.shape.describe())
        noise = "unknown" if self.noise is None else f"{100 * self.noise:.2g} % of |Z|"
        out.append(f"noise (lin-KK): {noise}; {self.kk}")
        return out

    def to_dict(self) -> dict[str, Any]:
        s = self.shape
        return {
            "drt": {
                "source": self.drt.source,
                "n_processes": self.drt.n_processes,
                "peaks": [dict(p) for p in self.drt.peaks],
                "inductance_h": finite_or_none(self.drt.inductance_h),
                "note": self.drt.note,
            },
            "shape": {
                "inductive_head": s.inductive_head,
                "head_points": s.head_points,
                "inductive_loop_hz": list(s.loop_hz) if s.loop_hz else None,
                "tail": s.tail,
                "tail_classes": list(s.tail_classes),
                "tail_angle_deg": finite_or_none(s.tail_angle_deg),
            },
            "noise": finite_or_none(self.noise),
            "kk": self.kk,
            "kk_verdict": self.kk_verdict,
        }


def _num(value: float | None) -> str:
    return "?" if value is None or not math.isfinite(value) else f"{value:.3g}"


def drt_evidence(spectrum: Spectrum, *, n_processes: int | None = None) -> DrtEvidence:
    """The DRT's peak count for ``spectrum`` (`eisfit.relaxation.drt`), or ``n_processes`` when
    given; source "none" with the reason when the DRT cannot be computed."""
    if n_processes is not None:
        return DrtEvidence("given", int(n_processes))
    try:
        from ..relaxation import drt  # type: ignore[attr-defined]
    except ImportError as exc:
        return DrtEvidence("none", None, note=f"no DRT (eisfit.relaxation): {exc}")
    try:
        result = drt(spectrum)
    except EisfitError as exc:
        return DrtEvidence("none", None, note=str(exc))
    peaks = tuple(p.to_dict() for p in result.peaks)
    inductance = getattr(result, "inductance_h", None)
    return DrtEvidence("drt", len(peaks), peaks, inductance)
