"""`KKResult`: the outcome of a lin-KK test, and its JSON form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._util import finite_or_none
from ..errors import JsonError

__all__ = ["KKResult"]


def _optional_float(x: float | None) -> float | None:
    return None if x is None else finite_or_none(x)


def _float(value: Any) -> float:
    """A JSON number back to a float; None (written for NaN / infinity) is NaN."""
    return math.nan if value is None else float(value)


def _array(values: Any, name: str) -> np.ndarray:
    if not isinstance(values, list):
        raise JsonError(f"{name}: expected a list of numbers (written with residuals=True)")
    out = np.array([_float(v) for v in values], dtype=float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class KKResult:
    """Outcome of a lin-KK test; arrays are read-only and in the spectrum's point order.

    ``valid`` is True when the data pass the check (``verdict`` "consistent"); the
    verdict is "not consistent" when the residuals show that they are not, and
    "undetermined" when the residuals scatter so much (more than 5 % of |Z|) that the
    check cannot tell; ``reason`` says why in one sentence.  ``noise_estimate`` is the
    standard deviation of the noise of each of Z' and Z'' as a fraction of |Z|, from the
    point-to-point scatter of the residuals (`eisfit.kk.noise`), NaN when too few
    degrees of freedom remain: a fit whose residuals (Z - Z_fit)/|Z| have about this RMS
    (real and imaginary parts together) leaves nothing but noise.  ``series_capacitance_f``
    and ``series_inductance_h`` are the fitted series C and L, None when the KK model
    has no such element (``elements`` says why).
    """

    valid: bool  # verdict == "consistent"
    mu: float  # Schönleber's mu at the chosen M (of the model M was chosen with)
    n_rc: int  # M, the number of RC elements used
    mu_threshold: float
    residual_limit: float  # fraction of |Z|: calibrated on the noise unless fixed
    max_residual: float  # max |residual| over points, real and imaginary, fraction of |Z|
    residuals_real: np.ndarray = field(repr=False)  # (Z'_data - Z'_KK) / |Z|
    residuals_imag: np.ndarray = field(repr=False)  # (Z''_data - Z''_KK) / |Z|
    message: str  # one sentence for logs and reports
    verdict: str = "consistent"  # "consistent", "not consistent" or "undetermined"
    reason: str = ""  # the verdict and what it rests on, one sentence
    noise_estimate: float = math.nan  # fraction of |Z| per component, NaN if unknown
    structure_z: float = math.nan  # normal score of the residual-structure test
    limit_source: str = "noise"  # "noise", "fixed" or "conventional" (kk_noise)
    series_capacitance_f: float | None = None  # None: no series C in the KK model
    series_inductance_h: float | None = None  # None: no series L in the KK model
    elements: str = ""  # which series elements the KK model has, and why
    mu_reached: bool = True  # mu fell below the threshold (else M is the cap)

    def summary(self) -> str:
        """The message without its source: M, mu, series elements and the verdict."""
        cap_note = "" if self.mu_reached else f" (cap; mu never < {self.mu_threshold:g})"
        return f"M={self.n_rc}{cap_note}, mu={self.mu:.2f}, {self.elements} -> {self.reason}"

    def to_dict(self, *, residuals: bool = False) -> dict[str, Any]:
        """A JSON-serialisable summary; residual arrays as lists only if ``residuals``."""
        out: dict[str, Any] = {
            "method": "lin-KK (Schoenleber 2014)",
            "valid": bool(self.valid),
            "verdict": self.verdict,
            "reason": self.reason,
            "mu": finite_or_none(self.mu),
            "n_rc": int(self.n_rc),
            "mu_reached": bool(self.mu_reached),
            "mu_threshold": finite_or_none(self.mu_threshold),
            "residual_limit": finite_or_none(self.residual_limit),
            "limit_source": self.limit_source,
            "max_residual": finite_or_none(self.max_residual),
            "noise_estimate": finite_or_none(self.noise_estimate),
            "structure_z": finite_or_none(self.structure_z),
            "series_capacitance_f": _optional_float(self.series_capacitance_f),
            "series_inductance_h": _optional_float(self.series_inductance_h),
            "elements": self.elements,
            "message": self.message,
        }
        if residuals:
            out["residuals_real"] = [float(v) for v in self.residuals_real]
            out["residuals_imag"] = [float(v) for v in self.residuals_imag]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KKResult:
        """The `KKResult` that ``to_dict(residuals=True)`` wrote (numbers written as None
        come back as NaN; optional series elements stay None); `JsonError` when ``data``
        is not such a dict."""
        try:
            return cls(
                valid=bool(data["valid"]),
                mu=_float(data["mu"]),
                n_rc=int(data["n_rc"]),
                mu_threshold=_float(data["mu_threshold"]),
                residual_limit=_float(data["residual_limit"]),
                max_residual=_float(data["max_residual"]),
                residuals_real=_array(data.get("residuals_real"), "residuals_real"),
                residuals_imag=_array(data.get("residuals_imag"), "residuals_imag"),
                message=str(data["message"]),
                verdict=str(data["verdict"]),
                reason=str(data["reason"]),
                noise_estimate=_float(data["noise_estimate"]),
                structure_z=_float(data["structure_z"]),
                limit_source=str(data["limit_source"]),
                series_capacitance_f=data["series_capacitance_f"],
                series_inductance_h=data["series_inductance_h"],
                elements=str(data["elements"]),
                mu_reached=bool(data["mu_reached"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JsonError(f"not a lin-KK result: {exc!r}") from None
