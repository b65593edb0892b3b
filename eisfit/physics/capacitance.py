"""Effective capacitance and apex frequency of a fitted R||CPE arc, with analytic gradients.

A CPE, Z = 1 / (Q (j w)^n), has Q in S s^n: Q is **not** a capacitance.  Two conversions:

* Hsu & Mansfeld, Corrosion 57 (2001) 747, for a distribution of time constants *through* a
  layer (bulk, grain boundary, surface layer / SOLI):  C = (Q R^(1-n))^(1/n), which equals
  1 / (R w0) at the apex angular frequency w0.
* Brug et al., J. Electroanal. Chem. 176 (1984) 275, for a distribution *along* a surface
  (double layer, charge transfer), with R_e the series (electrolyte) resistance:
  C = Q^(1/n) (1/R_e + 1/R_ct)^((n-1)/n).  For a blocking electrode (R_ct -> infinity)
  this becomes C = Q^(1/n) R_e^((1-n)/n).

Hirschorn et al., Electrochim. Acta 55 (2010) 6218 explain which applies; using the wrong
one can be off by -70 % to +100 %.  Apex (summit) frequency of an R||CPE arc:
f0 = 1 / (2 pi (R Q)^(1/n)) (docs/physics-notes.md sec. 3).

Every ``*_gradient`` function returns ``(value, partial derivatives)`` with the partials in
argument order, for first-order (delta-method) propagation of the fit covariance.
"""

from __future__ import annotations

import math

__all__ = [
    "apex_frequency_gradient",
    "apex_frequency_hz",
    "brug_capacitance_f",
    "brug_gradient",
    "hsu_mansfeld_capacitance_f",
    "hsu_mansfeld_gradient",
]

_TWO_PI = 2.0 * math.pi


def _exp(x: float) -> float:
    """exp that returns inf instead of raising for a huge argument (a collapsed arc)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def hsu_mansfeld_gradient(
    r_ohm: float, q: float, n: float
) -> tuple[float, tuple[float, float, float]]:
    """C = (Q R^(1-n))^(1/n) (F) and (dC/dR, dC/dQ, dC/dn)."""
    ln_c = (math.log(q) + (1.0 - n) * math.log(r_ohm)) / n
    c = _exp(ln_c)
    return c, (
        c * (1.0 - n) / (n * r_ohm),
        c / (n * q),
        -c * (math.log(r_ohm) + math.log(q)) / (n * n),
    )


def hsu_mansfeld_capacitance_f(r_ohm: float, q: float, n: float) -> float:
    """Hsu-Mansfeld effective capacitance (F) of R||CPE (Hsu & Mansfeld 2001)."""
    return hsu_mansfeld_gradient(r_ohm, q, n)[0]


def brug_gradient(
    q: float, n: float, r_ct_ohm: float, r_e_ohm: float
) -> tuple[float, tuple[float, float, float, float]]:
    """Brug C = Q^(1/n) (1/R_e + 1/R_ct)^((n-1)/n) (F) and (dC/dQ, dC/dn, dC/dR_ct, dC/dR_e).

    ``r_ct_ohm = math.inf`` gives the blocking-electrode form (dC/dR_ct = 0).  R_e must be
    > 0: with no series resistance the Brug capacitance is undefined.
    """
    g = 1.0 / r_e_ohm + (0.0 if math.isinf(r_ct_ohm) else 1.0 / r_ct_ohm)
    ln_q, ln_g = math.log(q), math.log(g)
    c = _exp(ln_q / n + (n - 1.0) / n * ln_g)
    dc_dg = c * (n - 1.0) / (n * g)
    dc_dct = 0.0 if math.isinf(r_ct_ohm) else -dc_dg / (r_ct_ohm * r_ct_ohm)
    return c, (
        c / (n * q),
        c * (ln_g - ln_q) / (n * n),
        dc_dct,
        -dc_dg / (r_e_ohm * r_e_ohm),
    )


def brug_capacitance_f(q: float, n: float, r_ct_ohm: float, r_e_ohm: float) -> float:
    """Brug effective capacitance (F) of a surface-distributed CPE (Brug et al. 1984)."""
    return brug_gradient(q, n, r_ct_ohm, r_e_ohm)[0]


def apex_frequency_gradient(
    r_ohm: float, q: float, n: float
) -> tuple[float, tuple[float, float, float]]:
    """f0 = 1 / (2 pi (R Q)^(1/n)) (Hz) and (df0/dR, df0/dQ, df0/dn)."""
    f0 = _exp(-(math.log(r_ohm) + math.log(q)) / n) / _TWO_PI
    return f0, (-f0 / (n * r_ohm), -f0 / (n * q), f0 * (math.log(r_ohm) + math.log(q)) / (n * n))


def apex_frequency_hz(r_ohm: float, q: float, n: float) -> float:
    """Apex (summit) frequency (Hz) of an R||CPE arc; n = 1, Q = C for R||C."""
    return apex_frequency_gradient(r_ohm, q, n)[0]
