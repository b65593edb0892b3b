"""The closed-form impedance and parameter derivatives of the parts of a chain, written once.

A `ChainLayout` chain is a series of resistors, inductors, series CPEs or capacitors
("spikes") and R||CPE or R||C arcs.  Two evaluators use these formulas and keep no copy
of them: the vectorised numpy evaluator of `eisfit.notation.model` (arrays over starts,
parts and frequencies, broadcast) and the compiled kernel `eisfit.fitting.chain_kernel`
(numba, one frequency at a time, complex scalars).  So the functions use only operators
and numpy ufuncs, work elementwise on arrays and on scalars alike, and this module does
not import numba.

Conventions (as `eisfit.notation.elements`): time dependence exp(+j w t), ``omega`` in
rad/s; ``lw`` = ln(omega), ``ljw`` = ln(j omega) = ln(omega) + j pi/2; the complex
power s = (j omega)^n = omega^n e^(j n pi/2) is `power` of `rotation`.  A capacitor is
the n = 1 case of a CPE with Q = C.  The impedances are the element definitions of
`eisfit.notation.elements` (and of impedance.py, which ``tests/test_model.py`` compares
against); the derivatives are differentiated by hand and checked against finite
differences there.

Only products, sums, real divisions and exponentials appear, so a formula does the same
operations in numpy and in compiled code (the results agree to rounding: numpy's
vectorised loops may fuse a multiply and an add, and the exponentials come from
different libraries).  The one complex reciprocal, 1/D of an arc, is left to the caller:
numpy divides complex arrays natively; the compiled kernel uses a branch-free
reciprocal, which lets the compiler vectorise its loop over frequencies.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "HALF_PI_J",
    "arc",
    "arc_denominator",
    "arc_exponent_derivative",
    "inductor",
    "power",
    "resistor",
    "rotation",
    "scaled",
    "spike",
]

HALF_PI_J = 0.5j * math.pi  # j pi/2 = ln(j)


def scaled(x, c):
    """The real ``x`` times the complex ``c``.

    A function of its own for compiled code: numba would turn ``x`` into the complex
    x + 0j and spend four products where two do, so `eisfit.fitting.chain_kernel`
    registers (x Re c) + j (x Im c) for it, which is numpy's value for finite numbers."""
    return x * c


def rotation(n):
    """e^(j n pi/2) = j^n, the phase of (j omega)^n."""
    return np.exp(HALF_PI_J * n)


def power(n, lw, rot):
    """(j omega)^n = omega^n j^n from n, ``lw`` = ln(omega) and ``rot`` = `rotation` (n):
    a real exponential and a rotation, half the cost of a complex exponential."""
    return scaled(np.exp(n * lw), rot)


def resistor(r):
    """Z = R and dZ/dR = 1 of a series resistor (or of several: their sum)."""
    return r, 1.0


def inductor(ell, jw):
    """Z = j omega L and dZ/dL = j omega of a series inductor (or the sum of several);
    ``jw`` = j omega."""
    return scaled(ell, jw), jw


def arc_denominator(r, q, s):
    """D = 1 + R Q s of an R||CPE arc (s = (j omega)^n; R||C: Q = C, s = j omega)."""
    return 1.0 + scaled(r * q, s)


def arc(r, q, s, inv_d):
    """Z = R/D, dZ/dR = 1/D^2 and dZ/dQ = -R^2 s/D^2 of an R||CPE arc with
    ``inv_d`` = 1 / `arc_denominator` (see the module docstring for why it is given)."""
    inv_d2 = inv_d * inv_d
    return scaled(r, inv_d), inv_d2, scaled(-(r * r), s * inv_d2)


def arc_exponent_derivative(d_q, q, ljw):
    """dZ/dn = dZ/dQ Q ln(j omega) of an R||CPE arc, from its dZ/dQ (`arc`)."""
    return scaled(q, d_q) * ljw


def spike(q, e, lw, rot, ljw):
    """Z = (j omega)^-e / Q, dZ/dQ = -Z/Q and dZ/de = -ln(j omega) Z of a series CPE
    (a capacitor: e = 1, Q = C), with ``rot`` = `rotation` (-e).  Q = 0 gives an infinite
    impedance, never an exception."""
    inv_q = np.divide(1.0, q)  # Q = 0: inf, also for a Python float
    z = scaled(np.exp(-e * lw), scaled(inv_q, rot))
    return z, scaled(inv_q, -z), -ljw * z
