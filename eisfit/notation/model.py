"""Compile a parsed circuit tree into vectorised impedance and Jacobian functions.

`Circuit` is the object the fitter works with: its parameters are listed in the order
impedance.py uses for the same circuit string (elements in order of appearance, each
element's parameters in its own order), named readably (``CPE1.Q``, ``CPE1.n``) and with
impedance.py's positional aliases (``CPE1_0``, ``CPE1_1``).

Because parameters are ordered by their element's position in the text, every subtree
owns a contiguous slice of the parameter vector.  Evaluation walks the tree once and
returns Z and dZ/dtheta together:

* series:   Z = sum Z_i,        dZ/dp = dZ_i/dp for p in branch i
* parallel: Z = 1 / sum 1/Z_i,  dZ/dp = (Z / Z_i)^2 dZ_i/dp for p in branch i
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from ..errors import CircuitError
from . import closed_forms as cf
from .elements import ElementType, get_element
from .grammar import Element, Node, Parallel, Series, format_circuit, iter_elements, parse
from .layout import ChainLayout, chain_layout

__all__ = ["Circuit", "Parameter", "compile_circuit"]

_Evaluator = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Parameter:
    """One circuit parameter: ``name`` is readable (``CPE1.n``), ``ipy_name`` positional."""

    name: str
    element: str
    symbol: str
    short: str
    unit: str
    lower: float
    upper: float
    log_scale: bool
    ipy_name: str

    @property
    def identifier(self) -> str:
        """A Python-identifier form (``CPE1_n``) usable as an lmfit parameter name."""
        return f"{self.element}_{self.short}"


@dataclass(frozen=True)
class Circuit:
    """A compiled equivalent circuit (immutable).  Build it with `compile_circuit`."""

    text: str
    tree: Node
    parameters: tuple[Parameter, ...]
    _evaluate: _Evaluator = field(repr=False, compare=False)
    _aliases: Mapping[str, int] = field(repr=False, compare=False)
    # parameter positions when the circuit is a chain of R, L, C, CPE and R||CPE arcs
    layout: ChainLayout | None = field(default=None, repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def elements(self) -> tuple[Element, ...]:
        return iter_elements(self.tree)

    def __len__(self) -> int:
        return len(self.parameters)

    def index(self, name: str) -> int:
        """Position of a parameter given any of its names (``CPE1.n``, ``CPE1_n``, ``CPE1_1``)."""
        try:
            return self._aliases[name]
        except KeyError:
            raise CircuitError(
                f"unknown parameter {name!r} for circuit {self.text}; "
                f"parameters are {', '.join(self.names)}"
            ) from None

    def canonical_name(self, name: str) -> str:
        return self.parameters[self.index(name)].name

    def impedance(self, theta: npt.ArrayLike, frequency_hz: npt.ArrayLike) -> np.ndarray:
        """Complex impedance (ohm) at ``frequency_hz`` for parameter vector ``theta``."""
        z, _ = self.impedance_and_jacobian(theta, frequency_hz)
        return z

    def jacobian(self, theta: npt.ArrayLike, frequency_hz: npt.ArrayLike) -> np.ndarray:
        """Complex dZ/dtheta, shape (n_frequencies, n_parameters)."""
        _, jac = self.impedance_and_jacobian(theta, frequency_hz)
        return jac

    def impedance_and_jacobian(
        self, theta: npt.ArrayLike, frequency_hz: npt.ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        omega = 2.0 * np.pi * np.asarray(frequency_hz, dtype=float)
        z, d = self.evaluate_omega(self._theta(theta), omega)
        return z, d.T

    def evaluate_omega(self, theta: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fast path for the fitter: Z and dZ (n_parameters, n_points) at angular frequency."""
        with np.errstate(all="ignore"):
            return self._evaluate(theta, omega)

    @property
    def batchable(self) -> bool:
        """True when `evaluate_batch` can evaluate many parameter vectors at once: a chain
        whose every element has a closed form in `ChainLayout` (the circuits the batched
        fitter and its compiled kernel handle)."""
        return self.layout is not None and self.layout.closed_form

    def evaluate_batch(
        self, thetas: np.ndarray, omega: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Z (S, n_points) and dZ (S, n_parameters, n_points) for parameter rows (S, p)."""
        if not self.batchable:
            raise CircuitError(f"circuit {self.text} has no batch evaluator")
        with np.errstate(all="ignore"):
            return self._evaluate(thetas, omega)

    def evaluate_stacked(self, thetas: np.ndarray, omega: np.ndarray) -> np.ndarray:
        """dZ and Z of parameter rows (S, p) in one array (S, n_parameters + 1, n_points).

        Rows 0..p-1 are dZ/dtheta, the last row is Z: the batched fitter turns it into
        the stacked matrix [J; r] in place.  Call inside ``np.errstate(all="ignore")``.
        """
        if not self.batchable:
            raise CircuitError(f"circuit {self.text} has no batch evaluator")
        return self._evaluate(thetas, omega, True)[1]

    def _theta(self, theta: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(theta, dtype=float)
        if arr.shape != (len(self.parameters),):
            raise CircuitError(
                f"circuit {self.text} takes {len(self.parameters)} parameters, "
                f"got shape {arr.shape}"
            )
        return arr

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        """Parameter vector from a mapping holding every parameter under any of its names."""
        theta = np.full(len(self.parameters), np.nan)
        for key, value in values.items():
            theta[self.index(key)] = float(value)
        missing = [p.name for p, v in zip(self.parameters, theta, strict=True) if np.isnan(v)]
        if missing:
            raise CircuitError(f"missing values for {', '.join(missing)}")
        return theta


def _element_evaluator(kind: ElementType, start: int) -> _Evaluator:
    stop = start + len(kind.params)
    func = kind.impedance_and_derivatives

    def evaluate(theta: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return func(theta[start:stop], omega)

    return evaluate


def _series_evaluator(parts: list[_Evaluator]) -> _Evaluator:
    def evaluate(theta: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zs, ds = zip(*(part(theta, omega) for part in parts), strict=True)
        return np.sum(zs, axis=0), np.concatenate(ds, axis=0)

    return evaluate


def _parallel_evaluator(parts: list[_Evaluator]) -> _Evaluator:
    def evaluate(theta: np.ndarray, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zs, ds = zip(*(part(theta, omega) for part in parts), strict=True)
        z = 1.0 / np.sum([1.0 / zi for zi in zs], axis=0)
        scaled = [d * (z / zi) ** 2 for zi, d in zip(zs, ds, strict=True)]
        return z, np.concatenate(scaled, axis=0)

    return evaluate


def _fused_evaluator(layout: ChainLayout) -> _Evaluator:
    """A faster evaluator for a series chain of elements and R||CPE / R||C arcs.

    Arcs are evaluated together as (n_arcs, n_points) arrays, series CPEs and Cs too, by
    the formulas of `eisfit.notation.closed_forms` (which the compiled kernel shares).
    """
    n_params = layout.n_params
    n_arcs = layout.arc_r.size
    is_cpe = layout.arc_n >= 0
    n_idx = layout.arc_n[is_cpe]
    series_r, series_l, spike_q = layout.series_r, layout.series_l, layout.spike_q
    spike_is_cpe = layout.spike_n >= 0
    spike_n = layout.spike_n[spike_is_cpe]
    others = [
        (kind.impedance_and_derivatives, i, i + len(kind.params)) for kind, i in layout.others
    ]
    last: list[np.ndarray] = []  # omega, ln(j omega), j omega, ln(omega) of the last call
    # evenly spaced indices become slices: views and strided writes instead of copies
    all_cpe = bool(is_cpe.all())
    r_ix, q_ix, n_ix = _as_index(layout.arc_r), _as_index(layout.arc_q), _as_index(n_idx)
    sr_ix, sl_ix = _as_index(series_r), _as_index(series_l)

    def evaluate(
        theta: np.ndarray, omega: np.ndarray, stacked: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Works on one parameter vector (p,) or a batch (S, p): leading axes broadcast.

        With ``stacked``, dZ gets one more row holding Z itself (Z is a view of it), so a
        fitter can weight residuals and Jacobian, and form J J^T, J r and r r, in one go.
        """
        if not last or last[0] is not omega:  # a fit calls this with one omega array
            last[:] = [omega, np.log(omega) + cf.HALF_PI_J, 1j * omega, np.log(omega)]
        _, ljw, jw, lw = last
        lead = theta.shape[:-1]
        dz = np.empty((*lead, n_params + stacked, omega.size), dtype=complex)
        if all_cpe:
            n = theta[..., n_ix]
        else:
            n = np.ones((*lead, n_arcs))
            n[..., is_cpe] = theta[..., n_idx]
        r, q = theta[..., r_ix, None], theta[..., q_ix, None]
        # (j w)^n = w^n e^(j n pi/2): a real exp and a rotation, half the cost of a complex exp
        s = cf.power(n[..., None], lw, cf.rotation(n)[..., None])
        inv_d = 1.0 / cf.arc_denominator(r, q, s)
        z_arcs, dz[..., r_ix, :], d_q = cf.arc(r, q, s, inv_d)
        dz[..., q_ix, :] = d_q
        if n_idx.size:
            d_n = cf.arc_exponent_derivative(d_q, q, ljw)
            dz[..., n_ix, :] = d_n if all_cpe else d_n[..., is_cpe, :]
        z = np.sum(z_arcs, axis=-2, out=dz[..., n_params, :] if stacked else None)
        if series_r.size:
            z_r, dz[..., sr_ix, :] = cf.resistor(_sum_last(theta[..., sr_ix]))
            z += z_r
        if series_l.size:
            z_l, dz[..., sl_ix, :] = cf.inductor(_sum_last(theta[..., sl_ix]), jw)
            z += z_l
        if spike_q.size:
            m = np.ones((*lead, spike_q.size))
            m[..., spike_is_cpe] = theta[..., spike_n]
            qs = theta[..., spike_q, None]
            zs, dz[..., spike_q, :], d_e = cf.spike(
                qs, m[..., None], lw, cf.rotation(-m)[..., None], ljw
            )
            z += zs.sum(axis=-2)
            if spike_n.size:
                dz[..., spike_n, :] = d_e[..., spike_is_cpe, :]
        for func, i, j in others:
            zi, di = func(theta[i:j], omega)
            z += zi
            dz[i:j] = di
        return z, dz

    return evaluate


def _as_index(idx: np.ndarray) -> slice | np.ndarray:
    """A slice for ascending, evenly spaced indices (so indexing gives views), else ``idx``."""
    if idx.size == 0:
        return idx
    step = int(idx[1] - idx[0]) if idx.size > 1 else 1
    if step > 0 and np.all(np.diff(idx) == step):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


def _sum_last(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis, kept as a length-1 axis (no call for a single column)."""
    return values if values.shape[-1] == 1 else values.sum(axis=-1, keepdims=True)


def _build(node: Node, start: int) -> tuple[_Evaluator, int]:
    if isinstance(node, Element):
        kind = get_element(node.symbol)
        return _element_evaluator(kind, start), start + len(kind.params)
    parts = []
    for child in node.parts:
        evaluator, start = _build(child, start)
        parts.append(evaluator)
    if isinstance(node, Series):
        return _series_evaluator(parts), start
    if isinstance(node, Parallel):
        return _parallel_evaluator(parts), start
    raise CircuitError(f"unexpected node {node!r}")  # pragma: no cover - parser guarantees


def _parameters(tree: Node) -> tuple[Parameter, ...]:
    params = []
    for element in iter_elements(tree):
        kind = get_element(element.symbol)
        for k, spec in enumerate(kind.params):
            params.append(
                Parameter(
                    name=f"{element.name}.{spec.name}",
                    element=element.name,
                    symbol=element.symbol,
                    short=spec.name,
                    unit=spec.unit,
                    lower=spec.lower,
                    upper=spec.upper,
                    log_scale=spec.log_scale,
                    # impedance.py names one-parameter elements by the element alone
                    ipy_name=f"{element.name}_{k}" if len(kind.params) > 1 else element.name,
                )
            )
    return tuple(params)


def compile_circuit(circuit: str | Node | Circuit) -> Circuit:
    """Parse (if needed) and compile a circuit; compiled circuits are cached by text."""
    if isinstance(circuit, Circuit):
        return circuit
    if isinstance(circuit, str):
        return _compile_text(circuit)
    return _compile_text(format_circuit(circuit))


@lru_cache(maxsize=256)
def _compile_text(text: str) -> Circuit:
    tree = parse(text)
    params = _parameters(tree)
    aliases: dict[str, int] = {}
    for i, p in enumerate(params):
        for alias in (p.name, p.identifier, p.ipy_name):
            aliases.setdefault(alias, i)
    layout = chain_layout(tree)
    evaluator = _build(tree, 0)[0] if layout is None else _fused_evaluator(layout)
    return Circuit(
        text=format_circuit(tree),
        tree=tree,
        parameters=params,
        _evaluate=evaluator,
        _aliases=MappingProxyType(aliases),
        layout=layout,
    )
