"""Equivalent-circuit elements: impedance and analytic parameter derivatives.

Conventions
-----------
* Time dependence ``exp(+j w t)``, so ``Z = Z' + j Z''`` with ``Z'' < 0`` for capacitive
  behaviour (a capacitor is ``1/(j w C) = -j/(w C)``) and ``Z'' > 0`` for inductive behaviour.
* Every function takes ``(p, omega)``: ``p`` a 1-D float array in the order of
  ``ElementType.params`` (the same order impedance.py uses for the same element) and
  ``omega = 2 pi f`` a 1-D float ndarray in rad/s.  Nothing loops over frequency.
* ``impedance_and_derivatives`` returns ``(Z, dZ)`` with ``dZ[k] = dZ/dp[k]`` computed from
  closed-form (analytic) expressions, never by finite differences.  Shared subexpressions
  are computed once.
* The finite Warburg elements switch to power series in ``u = j w tau`` for ``w tau`` below
  ``0.1`` (where the closed forms lose digits by cancellation) and evaluate tanh/coth via
  ``exp(-2x)`` with a clipped argument, so huge ``w tau`` neither overflows nor underflows.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

import numpy as np

from ..errors import CircuitError

__all__ = [
    "ELEMENTS",
    "ElementType",
    "ParamSpec",
    "from_impedance_py_params",
    "get_element",
    "to_impedance_py_params",
]

_HALF_PI = 0.5 * math.pi


@dataclass(frozen=True)
class ParamSpec:
    """One element parameter: short name, unit, hard physical bounds, fitting scale."""

    name: str
    unit: str
    lower: float
    upper: float
    log_scale: bool


@dataclass(frozen=True)
class ElementType:
    """A circuit element: symbol, one-line description with formula, parameters, kernels."""

    symbol: str
    description: str
    params: tuple[ParamSpec, ...]
    impedance: Callable[[np.ndarray, np.ndarray], np.ndarray]
    impedance_and_derivatives: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _pos(name: str, unit: str) -> ParamSpec:
    return ParamSpec(name, unit, 0.0, math.inf, True)


def _exponent(name: str = "n") -> ParamSpec:
    return ParamSpec(name, "", 0.0, 1.0, False)


# --------------------------------------------------------------------------- simple elements


def _r(p, w):
    return np.full(w.shape, p[0], dtype=complex)


def _r_d(p, w):
    return np.full(w.shape, p[0], dtype=complex), np.ones((1, w.shape[0]), dtype=complex)


def _c(p, w):
    return -1j / (w * p[0])


def _c_d(p, w):
    z = -1j / (w * p[0])
    return z, (-z / p[0])[None, :]


def _l(p, w):
    return 1j * (w * p[0])


def _l_d(p, w):
    return 1j * (w * p[0]), (1j * w)[None, :]


def _rotation(n: float) -> np.complex128:
    """exp(j n pi/2) as a numpy scalar: divided by a Q that underflowed to 0 during a fit
    it gives inf (a rejected step), where a Python complex raises ZeroDivisionError."""
    return np.complex128(cmath.exp(1j * _HALF_PI * n))


def _cpe(p, w):
    # 1/(Q (jw)^n) = w^-n exp(-j n pi/2) / Q
    q, n = p
    return w ** (-n) * (_rotation(-n) / q)


def _cpe_d(p, w):
    q, n = p
    lw = np.log(w)
    z = np.exp(-n * lw) * (_rotation(-n) / q)
    dz = np.empty((2, w.shape[0]), dtype=complex)
    dz[0] = -z / q
    dz[1] = -(lw + 1j * _HALF_PI) * z
    return z, dz


def _la(p, w):
    """Modified inductance, BioLogic's definition (EC-Lab application note 42): L (j w)^n.

    impedance.py 1.7.1 evaluates (L' j w)^n instead; the two agree for L' = L^(1/n), see
    :func:`to_impedance_py_params`.
    """
    ell, n = p
    return w**n * (ell * cmath.exp(1j * _HALF_PI * n))


def _la_d(p, w):
    ell, n = p
    lw = np.log(w)
    base = np.exp(n * lw) * cmath.exp(1j * _HALF_PI * n)  # (jw)^n
    dz = np.empty((2, w.shape[0]), dtype=complex)
    dz[0] = base
    dz[1] = (lw + 1j * _HALF_PI) * (ell * base)
    return ell * base, dz


_ONE_MINUS_J = 1.0 - 1.0j


def _w(p, w):
    return (p[0] * _ONE_MINUS_J) / np.sqrt(w)


def _w_d(p, w):
    base = _ONE_MINUS_J / np.sqrt(w)
    return p[0] * base, base[None, :]


def _g(p, w):
    return p[0] / np.sqrt(1.0 + 1j * (w * p[1]))


def _g_d(p, w):
    r, tau = p
    one_u = 1.0 + 1j * (w * tau)
    s = 1.0 / np.sqrt(one_u)  # (1 + j w tau)^(-1/2)
    z = r * s
    dz = np.empty((2, w.shape[0]), dtype=complex)
    dz[0] = s
    dz[1] = (-0.5j * w) * z / one_u
    return z, dz


def _k(p, w):
    return p[0] / (1.0 + 1j * (w * p[1]))


def _k_d(p, w):
    r, tau = p
    one_u = 1.0 + 1j * (w * tau)
    s = 1.0 / one_u
    z = r * s
    dz = np.empty((2, w.shape[0]), dtype=complex)
    dz[0] = s
    dz[1] = (-1j * w) * z * s
    return z, dz


def _zarc(p, w):
    r, tau, n = p
    return r / (1.0 + (w * tau) ** n * cmath.exp(1j * _HALF_PI * n))


def _zarc_d(p, w):
    r, tau, n = p
    lwt = np.log(w * tau)
    v = np.exp(n * lwt) * cmath.exp(1j * _HALF_PI * n)  # (j w tau)^n
    s = 1.0 / (1.0 + v)
    z = r * s
    frac = -z * v * s  # -R v/(1+v)^2, bounded for any v
    dz = np.empty((3, w.shape[0]), dtype=complex)
    dz[0] = s
    dz[1] = frac * (n / tau)
    dz[2] = frac * (lwt + 1j * _HALF_PI)
    return z, dz


# --------------------------------------------------------------------------- finite Warburgs
#
# With u = j w tau, x = sqrt(u) = (1 + j) sqrt(w tau / 2) lies on the diagonal, Re x > 0, so
# e = exp(-2x) has |e| < 1 and tanh x = (1 - e)/(1 + e) never overflows.  Clipping Re x at
# _CLIP keeps exp() and e**2 away from underflow (exp(-300) ~ 5e-131 is invisible next to 1).
# Below w tau = _SMALL the closed forms lose ~eps/|x| (and the tau-derivative of Ws cancels
# to O(u)), so Taylor series in u are used instead; they converge for |u| < pi^2/4.

_SMALL = 0.1
_CLIP = 150.0
_NTERMS = 14  # truncation error ~ (0.1 / 2.47)^14 ~ 1e-19 at the switch


def _taylor_coefficients() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Coefficients a_k, c_k of tanh(x)/x = sum a_k u^k and coth(x)/x = 1/u + sum c_k u^k.

    From the Bernoulli numbers: tanh x = sum_{m>=1} 4^m (4^m - 1) B_2m x^(2m-1) / (2m)!
    and coth x = sum_{m>=0} 4^m B_2m x^(2m-1) / (2m)!.
    """
    top = 2 * _NTERMS + 2
    bern = [Fraction(1)]
    for m in range(1, top + 1):
        bern.append(-sum(math.comb(m + 1, j) * bern[j] for j in range(m)) / (m + 1))
    tanh = [4**m * (4**m - 1) * bern[2 * m] / math.factorial(2 * m) for m in range(1, _NTERMS + 1)]
    coth = [4**m * bern[2 * m] / math.factorial(2 * m) for m in range(1, _NTERMS + 1)]
    return tuple(map(float, tanh)), tuple(map(float, coth))


_TANH, _COTH = _taylor_coefficients()


def _series_matrix(coef: tuple[float, ...]) -> np.ndarray:
    """Columns [c_k j^k, k c_k j^k] so that (wt^k) @ M gives sum c_k u^k and u d/du of it."""
    powers = np.arange(len(coef))
    c = np.asarray(coef) * np.array([1, 1j, -1, -1j])[powers % 4]
    return np.stack([c, powers * c], axis=1)


_POW = np.arange(_NTERMS)
_TANH_M = _series_matrix(_TANH)
_COTH_M = _series_matrix(_COTH)


def _warburg(wt, short, deriv):
    """Kernel k(u) = tanh(x)/x (short) or coth(x)/x (open) and, if deriv, u dk/du."""
    small = wt < _SMALL
    any_small = bool(small.any())
    s = np.sqrt(0.5 * (np.where(small, 1.0, wt) if any_small else wt))
    e = np.exp((-2.0 - 2.0j) * np.minimum(s, _CLIP))  # exp(-2x), |e| < 1
    xinv = (0.5 - 0.5j) / s  # 1/x
    if short:
        d = 1.0 / (1.0 + e)
        k = (1.0 - e) * d * xinv  # tanh(x)/x
        dk = 2.0 * e * d * d - 0.5 * k if deriv else None  # (sech^2 x - k)/2
    else:
        d = 1.0 / (1.0 - e)
        k = (1.0 + e) * d * xinv  # coth(x)/x
        dk = -2.0 * e * d * d - 0.5 * k if deriv else None  # -(csch^2 x + k)/2
    if any_small:
        wt_s = wt[small]
        ser = (wt_s[:, None] ** _POW) @ (_TANH_M if short else _COTH_M)
        if short:
            k[small] = ser[:, 0]
            if deriv:
                dk[small] = ser[:, 1]
        else:
            inv_u = -1j / wt_s
            k[small] = inv_u + ser[:, 0]
            if deriv:
                dk[small] = ser[:, 1] - inv_u
    return k, dk


def _make_warburg(short: bool):
    def impedance(p, w):
        return p[0] * _warburg(w * p[1], short, False)[0]

    def impedance_and_derivatives(p, w):
        z0, tau = p
        k, dk = _warburg(w * tau, short, True)
        dz = np.empty((2, w.shape[0]), dtype=complex)
        dz[0] = k
        dz[1] = dk * (z0 / tau)  # dZ/dtau = Z0 (u dk/du) / tau
        return z0 * k, dz

    return impedance, impedance_and_derivatives


_ws, _ws_d = _make_warburg(short=True)
_wo, _wo_d = _make_warburg(short=False)

# --------------------------------------------------------------------------- registry

_TAU = _pos("tau", "s")


def _el(symbol, description, params, z, zd) -> ElementType:
    return ElementType(symbol, description, tuple(params), z, zd)


ELEMENTS: Mapping[str, ElementType] = MappingProxyType(
    {
        e.symbol: e
        for e in (
            _el("R", "resistor: Z = R", [_pos("R", "ohm")], _r, _r_d),
            _el("C", "capacitor: Z = 1/(j w C)", [_pos("C", "F")], _c, _c_d),
            _el("L", "inductor: Z = j w L", [_pos("L", "H")], _l, _l_d),
            _el(
                "CPE",
                "constant phase element: Z = 1/(Q (j w)^n)",
                [_pos("Q", "S s^n"), _exponent()],
                _cpe,
                _cpe_d,
            ),
            _el(
                "W",
                "semi-infinite Warburg: Z = Aw (1 - j)/sqrt(w)",
                [_pos("Aw", "ohm s^-1/2")],
                _w,
                _w_d,
            ),
            _el(
                "Wo",
                "open (finite-space) Warburg: Z = Z0 coth(sqrt(j w tau))/sqrt(j w tau)",
                [_pos("Z0", "ohm"), _TAU],
                _wo,
                _wo_d,
            ),
            _el(
                "Ws",
                "short (finite-length) Warburg: Z = Z0 tanh(sqrt(j w tau))/sqrt(j w tau)",
                [_pos("Z0", "ohm"), _TAU],
                _ws,
                _ws_d,
            ),
            _el("G", "Gerischer: Z = R/sqrt(1 + j w tau)", [_pos("R", "ohm"), _TAU], _g, _g_d),
            _el(
                "La",
                "modified inductance (BioLogic): Z = L (j w)^n; impedance.py 1.7.1 uses "
                "(L' j w)^n, i.e. L' = L^(1/n)",
                [_pos("L", "H s^(n-1)"), _exponent()],
                _la,
                _la_d,
            ),
            _el("K", "Voigt RC element: Z = R/(1 + j w tau)", [_pos("R", "ohm"), _TAU], _k, _k_d),
            _el(
                "Zarc",
                "ZARC (Cole-Cole RQ): Z = R/(1 + (j w tau)^n)",
                [_pos("R", "ohm"), _TAU, _exponent()],
                _zarc,
                _zarc_d,
            ),
        )
    }
)


def get_element(symbol: str) -> ElementType:
    """Return the element registered under ``symbol``; raise CircuitError if unknown."""
    try:
        return ELEMENTS[symbol]
    except (KeyError, TypeError):
        known = ", ".join(ELEMENTS)
        raise CircuitError(f"unknown element {symbol!r}; known: {known}") from None


def _checked(symbol: str, p) -> list[float]:
    el = get_element(symbol)
    vals = [float(v) for v in np.asarray(p, dtype=float).ravel()]
    if len(vals) != len(el.params):
        raise CircuitError(f"element {symbol!r} takes {len(el.params)} parameters, got {len(vals)}")
    return vals


def to_impedance_py_params(symbol: str, p) -> list[float]:
    """Convert our parameter vector to impedance.py 1.7.1's for the same element.

    Identity except for ``La``: we use BioLogic's ``Z = L (j w)^n`` while impedance.py
    computes ``(L' j w)^n``, so ``L' = L**(1/n)`` (undefined for ``n == 0``).
    """
    vals = _checked(symbol, p)
    if symbol == "La":
        ell, n = vals
        if n == 0.0:
            raise CircuitError("La with n = 0 has no impedance.py equivalent (L' = L^(1/n))")
        vals = [ell ** (1.0 / n), n]
    return vals


def from_impedance_py_params(symbol: str, p) -> list[float]:
    """Inverse of :func:`to_impedance_py_params` (for ``La``: ``L = L'**n``)."""
    vals = _checked(symbol, p)
    if symbol == "La":
        ell_ipy, n = vals
        vals = [ell_ipy**n, n]
    return vals
