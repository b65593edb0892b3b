"""`DRTResult`: what `eisfit.relaxation.drt` returns, with strict JSON and a short text report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .._util import finite_or_none
from .peaks import DRTPeak

__all__ = ["DRTResult"]


def _array(values: Any) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out.setflags(write=False)
    return out


def _floats(values: np.ndarray | None) -> list[float | None] | None:
    if values is None:
        return None
    return [finite_or_none(v) for v in np.asarray(values, dtype=float).tolist()]


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class DRTResult:
    """A distribution of relaxation times and what was read from it.

    ``tau_s`` / ``gamma_ohm``: gamma (ohm per unit ln tau: the area of a peak over
    ln tau is its resistance) on a fine output grid of time constants in s;
    ``r_inf_ohm``: the high-frequency resistance; ``inductance_h``: the series
    inductance (None when not fitted); ``capacitance_f``: a series capacitance (None
    when not fitted, inf when fitted and not needed); ``regularization``: lambda, and
    ``regularization_method`` how it was chosen (``gcv``, ``re-im``, ``discrepancy``,
    ``given``); ``peaks``: the `DRTPeak` s in order of increasing tau;
    ``polarization_resistance_ohm``: the area of gamma (sum of the peaks' resistances);
    ``frequency_hz`` / ``z_fit_ohm``: the reconstructed impedance at the measured
    frequencies (the spectrum's point order); ``residual_re`` / ``residual_im``:
    (Z - Z_fit) / |Z|; ``noise_estimate``: relative noise per component used or
    measured (NaN if unknown); ``gamma_lower_ohm`` / ``gamma_upper_ohm``: a 95 % credible
    band (only with ``credible=True``); ``status`` (`eisfit.status`) and ``message``;
    ``details``: how lambda and the series elements were chosen, read-only.
    """

    tau_s: np.ndarray
    gamma_ohm: np.ndarray
    r_inf_ohm: float
    inductance_h: float | None
    regularization: float
    regularization_method: str
    peaks: tuple[DRTPeak, ...]
    polarization_resistance_ohm: float
    frequency_hz: np.ndarray
    z_fit_ohm: np.ndarray
    residual_re: np.ndarray
    residual_im: np.ndarray
    noise_estimate: float = math.nan
    gamma_lower_ohm: np.ndarray | None = None
    gamma_upper_ohm: np.ndarray | None = None
    status: str = "ok"
    message: str = ""
    source: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    capacitance_f: float | None = None

    def __post_init__(self) -> None:
        for name in ("tau_s", "gamma_ohm", "frequency_hz", "residual_re", "residual_im"):
            object.__setattr__(self, name, _array(getattr(self, name)))
        z = np.array(self.z_fit_ohm, dtype=complex, copy=True)
        z.setflags(write=False)
        object.__setattr__(self, "z_fit_ohm", z)
        for name in ("gamma_lower_ohm", "gamma_upper_ohm"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _array(value))
        object.__setattr__(self, "peaks", tuple(self.peaks))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def residual_rms(self) -> float:
        """RMS of the relative residuals over real and imaginary parts."""
        r = np.concatenate([self.residual_re, self.residual_im])
        return float(np.sqrt(np.mean(r * r))) if r.size else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON: arrays as lists, complex as re/im lists, NaN and inf as None."""
        return {
            "source": self.source,
            "status": self.status,
            "message": self.message,
            "r_inf_ohm": finite_or_none(self.r_inf_ohm),
            "inductance_h": finite_or_none(self.inductance_h),
            "capacitance_f": finite_or_none(self.capacitance_f),
            "regularization": finite_or_none(self.regularization),
            "regularization_method": self.regularization_method,
            "polarization_resistance_ohm": finite_or_none(self.polarization_resistance_ohm),
            "noise_estimate": finite_or_none(self.noise_estimate),
            "residual_rms": finite_or_none(self.residual_rms),
            "peaks": [p.to_dict() for p in self.peaks],
            "tau_s": _floats(self.tau_s),
            "gamma_ohm": _floats(self.gamma_ohm),
            "gamma_lower_ohm": _floats(self.gamma_lower_ohm),
            "gamma_upper_ohm": _floats(self.gamma_upper_ohm),
            "frequency_hz": _floats(self.frequency_hz),
            "z_fit_re_ohm": _floats(self.z_fit_ohm.real),
            "z_fit_im_ohm": _floats(self.z_fit_ohm.imag),
            "residual_re": _floats(self.residual_re),
            "residual_im": _floats(self.residual_im),
            "details": {k: finite_or_none(v) if isinstance(v, float) else v
                        for k, v in self.details.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DRTResult:
        """The result `to_dict` wrote (None back to NaN)."""
        from ..errors import JsonError

        try:
            peaks = tuple(
                DRTPeak(**{k: _nan(v) for k, v in p.items()}) for p in data["peaks"]
            )

            def arr(key: str) -> np.ndarray:
                return np.array([_nan(v) for v in data[key]], dtype=float)

            def opt(key: str) -> np.ndarray | None:
                return None if data.get(key) is None else arr(key)

            inductance = data["inductance_h"]
            capacitance = data.get("capacitance_f")
            return cls(
                tau_s=arr("tau_s"),
                gamma_ohm=arr("gamma_ohm"),
                r_inf_ohm=_nan(data["r_inf_ohm"]),
                inductance_h=None if inductance is None else float(inductance),
                regularization=_nan(data["regularization"]),
                regularization_method=str(data["regularization_method"]),
                peaks=peaks,
                polarization_resistance_ohm=_nan(data["polarization_resistance_ohm"]),
                frequency_hz=arr("frequency_hz"),
                z_fit_ohm=arr("z_fit_re_ohm") + 1j * arr("z_fit_im_ohm"),
                residual_re=arr("residual_re"),
                residual_im=arr("residual_im"),
                noise_estimate=_nan(data["noise_estimate"]),
                gamma_lower_ohm=opt("gamma_lower_ohm"),
                gamma_upper_ohm=opt("gamma_upper_ohm"),
                status=str(data["status"]),
                message=str(data["message"]),
                source=data.get("source"),
                details={k: (math.nan if v is None else v)
                         for k, v in dict(data.get("details") or {}).items()},
                capacitance_f=None if capacitance is None else float(capacitance),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JsonError(f"not a DRT result: {exc}") from None

    def report(self, *, title: str | None = None) -> str:
        """A few lines: status, R_inf, L, lambda and how chosen, the peak table.
        ``title`` replaces the first line's "DRT of SOURCE"."""
        if title is None:
            title = f"DRT of {self.source}" if self.source else "DRT"
        lines = [f"{title}: {self.status}" + (f": {self.message}" if self.message else "")]
        lines.append(f"  R_inf = {_g(self.r_inf_ohm)} ohm, "
                     + ("L not fitted" if self.inductance_h is None
                        else f"L = {_g(self.inductance_h)} H")
                     + ("" if self.capacitance_f is None
                        else f", series C = {_g(self.capacitance_f)} F")
                     + f", R_pol = {_g(self.polarization_resistance_ohm)} ohm")
        lines.append(f"  lambda = {_g(self.regularization)} ({self.regularization_method}), "
                     f"residual rms = {_pct(self.residual_rms)}"
                     + (f", noise ~ {_pct(self.noise_estimate)}"
                        if math.isfinite(self.noise_estimate) else ""))
        if not self.peaks:
            lines.append("  no peaks")
            return "\n".join(lines)
        lines.append(f"  {'peak':>4}  {'tau (s)':>10}  {'f (Hz)':>10}  {'R (ohm)':>10}  "
                     f"{'width (dec)':>11}  {'share':>6}")
        for i, p in enumerate(self.peaks, start=1):
            lines.append(f"  {i:>4}  {_g(p.tau_s):>10}  {_g(p.frequency_hz):>10}  "
                         f"{_g(p.resistance_ohm):>10}  {_g(p.width_decades, 2):>11}  "
                         f"{_pct(p.share):>6}")
        return "\n".join(lines)


def _g(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f} %" if math.isfinite(value) else "n/a"
