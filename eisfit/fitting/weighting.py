"""Residual weights of a fit, and the points a weighting cannot use.

`weights` gives the weights of the real and imaginary residuals; `usable_points` removes
the points where they would be infinite (Z = 0 under the modulus or proportional
weighting: an open channel or a logging glitch), recording why in ``meta.removed``, so a
fit never meets a non-finite weight.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import FitInputError
from ..spectrum import Spectrum, format_hz

__all__ = [
    "NAMED_WEIGHTINGS","Weighting", "usable_points", "weights"]

Weighting = Literal["modulus", "proportional", "unit", "sigma"]
#: the weightings a user can choose by name (``sigma`` needs the measured uncertainties)
NAMED_WEIGHTINGS = ("modulus", "proportional", "unit")


def weights(
    spectrum: Spectrum, weighting: Weighting = "modulus", sigma: npt.ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the real and imaginary residuals.

    * ``modulus``: 1/|Z| for both (Boukamp, Solid State Ionics 20 (1986) 31);
    * ``proportional``: 1/|Z'| and 1/|Z''|, each floored at 1e-3 |Z| so a zero crossing
      cannot dominate;
    * ``unit``: 1;
    * ``sigma``: 1/sigma from the user, a real array (same sigma for both parts) or a
      complex one (sigma' + j sigma'').
    """
    z = spectrum.impedance_ohm
    mod = np.abs(z)
    if weighting == "modulus":
        return 1.0 / mod, 1.0 / mod
    if weighting == "proportional":
        floor = 1e-3 * mod
        return 1.0 / np.maximum(np.abs(z.real), floor), 1.0 / np.maximum(np.abs(z.imag), floor)
    if weighting == "unit":
        ones = np.ones_like(mod)
        return ones, ones
    if weighting == "sigma":
        if sigma is None:
            raise FitInputError('weighting="sigma" needs sigma=')
        s = np.asarray(sigma)
        if s.shape != z.shape:
            raise FitInputError(f"sigma must have one value per point ({z.size}), got {s.shape}")
        s_re, s_im = (s.real, s.imag) if np.iscomplexobj(s) else (s, s)
        s_re, s_im = np.asarray(s_re, dtype=float), np.asarray(s_im, dtype=float)
        if not (np.all(np.isfinite(s_re)) and np.all(s_re > 0) and np.all(s_im > 0)):
            raise FitInputError("sigma must be finite and > 0")
        return 1.0 / s_re, 1.0 / s_im
    raise FitInputError(
        f"unknown weighting {weighting!r}; use modulus, proportional, unit or sigma"
    )


def usable_points(spectrum: Spectrum, weighting: str) -> Spectrum:
    """``spectrum`` without the points ``weighting`` cannot weigh, each removal recorded.

    The modulus weighting is 1/|Z| and the proportional one is floored at 1e-3 |Z|, so a
    point with Z = 0 would get an infinite weight.  Such a point carries no information
    about the cell (no impedance is exactly zero), so it is removed and one sentence is
    appended to ``meta.removed``.  The unit and sigma weightings use every point.
    Raises `FitInputError` when no point is left.
    """
    if weighting not in ("modulus", "proportional"):
        return spectrum
    zero = np.abs(spectrum.impedance_ohm) == 0
    if not zero.any():
        return spectrum
    if zero.all():
        raise FitInputError(f"every point has Z = 0: nothing the {weighting} weighting can use")
    at = ", ".join(format_hz(f) for f in spectrum.frequency_hz[zero][:5])
    more = ", ..." if zero.sum() > 5 else ""
    n = int(zero.sum())
    text = (
        f"removed {n} point{'s' if n > 1 else ''} with Z = 0 (at {at}{more}): "
        f"the {weighting} weighting cannot use {'them' if n > 1 else 'it'}"
    )
    kept = spectrum.mask(~zero)
    return kept.with_meta(removed=(*spectrum.meta.removed, text))
