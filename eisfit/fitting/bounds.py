"""Default parameter bounds: what the measured band can resolve.

Every element already has its physical bounds (R, C, L, Q, tau >= 0; 0 <= n <= 1).  On
top of them a fit gets, for each parameter the user gives no bounds for, the range in
which the element can still leave a trace in the measured data.  An element whose
impedance stays more than `SPAN` (three decades) away from the measured |Z| at every
measured frequency has no measurable effect: beyond that the data cannot tell its value,
so a fit that runs there ends *on the bound* and the parameter is reported as
undetermined (`eisfit.fitting.verdict`) instead of as 2e99 ohm.

============  ===============================================  =============================
parameter     default bounds                                    reason
============  ===============================================  =============================
R, Z0 (ohm)   0 .. SPAN max|Z|                                 a resistance far above every
                                                               measured |Z| is an open
                                                               circuit to these data
C (F)         1/(SPAN w_max max|Z|) .. SPAN/(w_min min|Z|)     |1/(j w C)| within SPAN of
                                                               the measured |Z| somewhere
                                                               in the band
L (H)         0 .. SPAN max|Z| / w_max                         |j w L| within SPAN of max|Z|
tau (s)       1/(SPAN w_max) .. SPAN/w_min                     a time constant within three
                                                               decades of the band
Q (S s^n)     1/(SPAN max|Z| max(1, w_max)) ..                 |1/(Q (j w)^n)| within SPAN
              SPAN/(min|Z| min(1, w_min))                      of the measured |Z| for some
                                                               w in the band and n in [0, 1]
n, ...        physical bounds only
============  ===============================================  =============================

(w = 2 pi f over the measured band.)  The bounds are generous: a real arc whose apex lies
within a decade or two of the band is far inside them.  Override any of them with
``bounds={"R2.R": (0, 1e9)}`` (API), a named model's ``[bounds]`` table, or a batch
config; a parameter that ends on a bound the user set is undetermined all the same.
"""

from __future__ import annotations

import math

import numpy as np

from ..notation.model import Circuit

__all__ = ["SPAN", "resolvable_bounds"]

SPAN = 1e3  # three decades beyond the measured |Z| (or the band, for time constants)


def resolvable_bounds(
    circuit: Circuit, frequency_hz: np.ndarray, impedance_ohm: np.ndarray
) -> dict[int, tuple[float, float]]:
    """Parameter index -> (lower, upper): the default bounds of the table above.

    Only parameters with a measurable scale get one (R, Z0, C, L, tau, Q); the others keep
    their physical bounds.  Each range is intersected with the physical one.
    """
    mod = np.abs(np.asarray(impedance_ohm))
    omega = 2.0 * math.pi * np.asarray(frequency_hz, dtype=float)
    z_max, z_min = float(mod.max()), float(mod.min())
    w_max, w_min = float(omega.max()), float(omega.min())
    if not (z_max > 0 and z_min > 0 and w_max > 0 and w_min > 0):
        return {}
    scales = {
        "ohm": (0.0, SPAN * z_max),
        "F": (1.0 / (SPAN * w_max * z_max), SPAN / (w_min * z_min)),
        "H": (0.0, SPAN * z_max / w_max),
        "s": (1.0 / (SPAN * w_max), SPAN / w_min),
        "S s^n": (1.0 / (SPAN * z_max * max(1.0, w_max)), SPAN / (z_min * min(1.0, w_min))),
    }
    out: dict[int, tuple[float, float]] = {}
    for i, p in enumerate(circuit.parameters):
        if p.unit not in scales:
            continue
        lo, hi = scales[p.unit]
        out[i] = (max(lo, p.lower), min(hi, p.upper))
    return out
