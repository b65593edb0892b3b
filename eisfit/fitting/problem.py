"""The least-squares problem of one fit: what the residual function needs, prepared once.

`eisfit.fitting.api.fit` builds a `Problem` from a spectrum, a circuit and the options; the
solvers (`solver`, `rounds`) and the verdict (`assemble`) work on it.
The solver moves the free parameters in internal coordinates (logarithms of positive
scale parameters, `to_internal` / `from_internal`); ``theta`` fills the full parameter
vector (fixed values, constraint expressions) and `residual_and_jacobian` gives the
weighted residuals and their analytic Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..notation.model import Circuit

if TYPE_CHECKING:  # pragma: no cover
    import lmfit

__all__ = ["Problem"]

_KEEP = 4  # model evaluations a problem keeps (`Problem.evaluate`)


@dataclass(frozen=True)
class Problem:
    """Everything the residual function needs, prepared once per fit."""

    circuit: Circuit
    omega: np.ndarray
    z: np.ndarray
    w_re: np.ndarray
    w_im: np.ndarray
    free: np.ndarray  # indices of parameters the solver moves
    log: np.ndarray  # per free parameter: log transform
    params: lmfit.Parameters | None  # only with constraint expressions, which it evaluates
    exprs: tuple[int, ...]  # indices of parameters given by constraint expressions
    w_pair: np.ndarray  # weights interleaved like a complex array's float view: w'0, w''0...
    floor: np.ndarray  # per free parameter, natural units: bounds kept by the active set
    ceil: np.ndarray
    base: np.ndarray  # full parameter vector holding the values of non-free parameters
    # the last few model evaluations by parameter vector (`evaluate`)
    _evaluated: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def evaluate(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Z and dZ/dtheta (read-only) of the full parameter vector ``theta`` at this
        problem's frequencies.

        The last `_KEEP` evaluations are kept: the search judges its best point
        (`eisfit.fitting.solver`) and the result is built at the same point
        (`eisfit.fitting.assemble`), often one MINPACK has evaluated already.  The same
        vector gives the same numbers, so a kept one is returned instead of evaluating
        again.
        """
        key = theta.tobytes()
        kept = self._evaluated.get(key)
        if kept is None:
            z, d = self.circuit.evaluate_omega(theta, self.omega)
            z.setflags(write=False)
            d.setflags(write=False)
            if len(self._evaluated) >= _KEEP:
                del self._evaluated[next(iter(self._evaluated))]
            kept = self._evaluated[key] = (z, d)
        return kept

    def hold(self, mask: np.ndarray, values: np.ndarray) -> Problem:
        """The same problem with the free parameters in ``mask`` held at ``values``."""
        base = self.base.copy()
        base[self.free[mask]] = values[mask]
        keep = ~mask
        return replace(
            self,
            free=self.free[keep],
            log=self.log[keep],
            floor=self.floor[keep],
            ceil=self.ceil[keep],
            base=base,
        )

    def to_internal(self, theta: np.ndarray) -> np.ndarray:
        """Natural values (..., p) of the free parameters to the solver's: logs of positive ones."""
        v = theta[..., self.free].astype(float)
        return np.where(self.log, np.log(np.maximum(v, 1e-300)), v)

    def from_internal(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solver values to (free values in natural units, d natural / d x)."""
        nat = np.where(self.log, np.exp(x), x)
        return nat, np.where(self.log, nat, 1.0)

    def theta(self, free_values: np.ndarray) -> np.ndarray:
        theta = self.base.copy()
        theta[self.free] = free_values
        if self.exprs:
            theta = self._apply_exprs(theta)
        return theta

    def _apply_exprs(self, theta: np.ndarray) -> np.ndarray:
        if self.params is None:  # exprs are only ever set together with params
            return theta
        names = list(self.params)
        for i, name in enumerate(names):
            if i not in self.exprs:
                self.params[name].value = theta[i]
        out = theta.copy()
        for i in self.exprs:
            out[i] = self.params[names[i]].value
        return out

    def expr_derivatives(self, free_values: np.ndarray) -> np.ndarray:
        """d theta[exprs] / d free values by forward differences (expressions only)."""
        base = self.theta(free_values)[list(self.exprs)]
        out = np.empty((len(self.exprs), free_values.size))
        for k in range(free_values.size):
            step = 1e-7 * max(abs(free_values[k]), 1e-300)
            moved = free_values.copy()
            moved[k] += step
            out[:, k] = (self.theta(moved)[list(self.exprs)] - base) / step
        self.theta(free_values)
        return out

    def residual_and_jacobian(self, free_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals (2n,) and their Jacobian w.r.t. the free values, (k, 2n).

        Residuals interleave real and imaginary parts point by point (a float view of the
        complex difference), so no arrays are stacked on this hot path.
        """
        theta = self.theta(free_values)
        zm, d = self.evaluate(theta)
        r = (zm - self.z).view(float) * self.w_pair
        dfree = d[self.free]
        if self.exprs:
            dfree = dfree + self.expr_derivatives(free_values).T @ d[list(self.exprs)]
        return r, dfree.view(float) * self.w_pair
