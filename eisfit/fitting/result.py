"""`FitResult`: what a fit hands back, immutable and self-describing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._util import finite_or_none
from ..notation.elements import to_impedance_py_params
from ..notation.model import Circuit, compile_circuit
from ..spectrum import Spectrum

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..kk.result import KKResult

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """The outcome of `eisfit.fit`.

    ``status`` is one word of `eisfit.status` (ok, warning, undetermined, failed) and
    ``reasons`` says why it is not ``ok``; ``success`` is True unless the fit failed.
    ``values`` and ``stderr`` are read-only mappings ordered like impedance.py's parameter
    vector for the same circuit (``L0.L, R0.R, R1.R, CPE1.Q, CPE1.n, ...``).  A parameter
    the data do not determine is NaN in ``values`` and ``undetermined`` maps its name to
    the reason (`eisfit.fitting.verdict`); its ``stderr`` is NaN too, except when the only reason
    is a standard error larger than the value: that stderr is kept (with the correlations
    it still determines sums such as R0 + R1).  ``stderr`` is 0 for a fixed parameter.
    ``optimum`` holds the parameter vector the solver ended at, undetermined ones included
    (on a bound, or wherever the data let them drift): it draws the fitted curve and
    seeds other fits, but its undetermined entries are not estimates.  Residuals are
    relative to the data, (Z - Z_fit) / |Z|, whatever the weighting; ``chi2`` is the
    minimised sum of squared *weighted* residuals.
    """

    circuit: str
    spectrum: Spectrum
    values: Mapping[str, float]
    stderr: Mapping[str, float]
    fixed: tuple[str, ...]
    correlation: np.ndarray  # (n_params, n_params), NaN where undefined
    success: bool
    message: str
    weighting: str
    chi2: float
    chi2_per_point: float
    reduced_chi2: float
    aic: float
    bic: float
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    nfev: int
    n_starts: int
    elapsed_s: float
    initial: Mapping[str, float]
    kk: KKResult | None = None
    warnings: tuple[str, ...] = field(default=())
    status: str = "ok"
    reasons: tuple[str, ...] = field(default=())
    undetermined: Mapping[str, str] = field(default_factory=dict)
    optimum: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "undetermined", MappingProxyType(dict(self.undetermined)))
        if not self.optimum:
            object.__setattr__(self, "optimum", self.values)

    @property
    def model(self) -> Circuit:
        return compile_circuit(self.circuit)

    @property
    def theta(self) -> np.ndarray:
        """The reported values as a vector (NaN where undetermined)."""
        return np.array(list(self.values.values()), dtype=float)

    @property
    def optimum_theta(self) -> np.ndarray:
        """The solver's end point as a vector (see ``optimum``)."""
        return np.array(list(self.optimum.values()), dtype=float)

    def predict(self, frequency_hz: npt.ArrayLike) -> np.ndarray:
        """The fitted curve: impedance (ohm) of the optimum at any frequencies."""
        return self.model.impedance(self.optimum_theta, frequency_hz)

    def to_impedance_py(self) -> Any:
        """An impedance.py ``CustomCircuit`` holding these parameters (fixed ones as constants)."""
        from impedance.models.circuits import CustomCircuit

        model = self.model
        ipy_values: dict[str, float] = {}
        ipy_errors: dict[str, float] = {}
        for element in model.elements:
            params = [p for p in model.parameters if p.element == element.name]
            raw = [self.optimum[p.name] for p in params]
            converted = to_impedance_py_params(element.symbol, raw)
            for p, v, r in zip(params, converted, raw, strict=True):
                ipy_values[p.ipy_name] = float(v)
                # scale the stderr like the value (exact for all but La's L' = L^(1/n),
                # where this is the first-order propagation of L's error alone)
                ratio = abs(float(v) / r) if r else 1.0
                if element.symbol == "La" and p.short == "L":
                    ratio /= raw[1]
                ipy_errors[p.ipy_name] = self.stderr[p.name] * ratio
        fixed_ipy = {model.parameters[model.index(n)].ipy_name for n in self.fixed}
        constants = {k: v for k, v in ipy_values.items() if k in fixed_ipy}
        free = [v for k, v in ipy_values.items() if k not in fixed_ipy]
        cc = CustomCircuit(circuit=self.circuit, initial_guess=free, constants=constants)
        cc.parameters_ = np.array(free)
        cc.conf_ = np.array([e for k, e in ipy_errors.items() if k not in fixed_ipy])
        return cc

    def to_lmfit(self) -> Any:
        """These values as lmfit ``Parameters`` (names like ``CPE1_n``), with stderr and
        correlations set as lmfit's own fits set them; fixed parameters do not vary."""
        import lmfit

        params = lmfit.Parameters()
        model = self.model
        for p in model.parameters:
            params.add(
                p.identifier,
                value=self.optimum[p.name],
                min=p.lower,
                max=p.upper,
                vary=p.name not in self.fixed,
            )
        for i, p in enumerate(model.parameters):
            par = params[p.identifier]
            err = self.stderr[p.name]
            par.stderr = err if p.name not in self.fixed and math.isfinite(err) else None
            par.correl = {
                q.identifier: float(self.correlation[i, j])
                for j, q in enumerate(model.parameters)
                if j != i and np.isfinite(self.correlation[i, j])
            }
        return params

    def _repr_html_(self) -> str:  # Jupyter
        from ..notebook import fit_result_html

        return fit_result_html(self)

    def to_dataframe(self) -> pd.DataFrame:
        """The parameter table: one row per parameter (index: its name, e.g. ``CPE1.n``)
        with ``element``, ``unit``, ``value``, ``stderr``, ``relative_stderr``, ``fixed``,
        ``undetermined`` (the reason, or "" when determined), ``optimum`` and ``initial``.

        An undetermined parameter has NaN ``value`` and ``stderr`` (see the class
        docstring); the fit-level numbers (circuit, status, chi2, AIC, BIC, ...) are in
        ``DataFrame.attrs``.
        """
        import pandas as pd

        model = self.model
        rows = []
        for i, name in enumerate(self.values):
            value, err = float(self.values[name]), float(self.stderr[name])
            fixed = name in self.fixed
            rel = abs(err / value) if value and math.isfinite(err) and not fixed else math.nan
            rows.append(
                {
                    "parameter": name,
                    "element": model.parameters[i].element,
                    "unit": model.parameters[i].unit,
                    "value": value,
                    "stderr": err,
                    "relative_stderr": rel,
                    "fixed": fixed,
                    "undetermined": self.undetermined.get(name, ""),
                    "optimum": float(self.optimum[name]),
                    "initial": float(self.initial.get(name, math.nan)),
                }
            )
        frame = pd.DataFrame(rows).set_index("parameter")
        keys = ("circuit", "status", "success", "message", "weighting", "chi2",
                "chi2_per_point", "reduced_chi2", "aic", "bic", "nfev", "n_starts")  # fmt: skip
        frame.attrs = {k: getattr(self, k) for k in keys}
        frame.attrs.update(n_points=len(self.spectrum), source=self.spectrum.meta.source)
        return frame

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitResult:
        """The `FitResult` that ``to_dict(arrays=True)`` wrote, equal to the original (a
        number written as None comes back as NaN); `JsonError` when ``data`` is not such
        a dict, e.g. a summary written without ``arrays=True``."""
        from .result_json import fit_result_fields

        return cls(**fit_result_fields(data))

    def to_dict(self, *, arrays: bool = False) -> dict[str, Any]:
        """JSON-ready summary (non-finite numbers become ``None``).

        ``arrays=True`` adds what `from_dict` needs to rebuild this result: the measured
        points and their meta, the correlation matrix, the residuals, the starting values
        and the lin-KK residuals.
        """
        out = self._summary()
        if arrays:
            from .result_json import array_fields

            out.update(array_fields(self))
        return out

    def _summary(self) -> dict[str, Any]:
        return {
            "circuit": self.circuit,
            "status": self.status,
            "success": self.success,
            "message": self.message,
            "reasons": list(self.reasons),
            "weighting": self.weighting,
            "parameters": {
                name: {
                    "value": finite_or_none(self.values[name]),
                    "stderr": finite_or_none(self.stderr[name]),
                    "unit": self.model.parameters[i].unit,
                    "fixed": name in self.fixed,
                    "undetermined": self.undetermined.get(name),
                    "optimum": finite_or_none(self.optimum[name]),
                }
                for i, name in enumerate(self.values)
            },
            "chi2": finite_or_none(self.chi2),
            "chi2_per_point": finite_or_none(self.chi2_per_point),
            "reduced_chi2": finite_or_none(self.reduced_chi2),
            "aic": finite_or_none(self.aic),
            "bic": finite_or_none(self.bic),
            "n_points": len(self.spectrum),
            "nfev": self.nfev,
            "n_starts": self.n_starts,
            "elapsed_s": self.elapsed_s,
            "kk": self.kk.to_dict() if self.kk is not None else None,
            "warnings": list(self.warnings),
            "findings": [
                {"kind": f.kind, "message": f.message, "points": list(f.points)}
                for f in self.spectrum.meta.findings or ()
            ],
            "removed": list(self.spectrum.meta.removed),
            "source": self.spectrum.meta.source,
            "index": self.spectrum.meta.index,
        }

    def report(self) -> str:
        """A plain-text parameter table (returns a string; prints nothing)."""
        lines = [
            f"circuit {self.circuit}  ({self.weighting} weighting)",
            f"status: {self.status}",
            self.message,
        ]
        lines.extend(f"  because: {r}" for r in self.reasons)
        lines.extend(f"  removed before fitting: {r}" for r in self.spectrum.meta.removed)
        for i, name in enumerate(self.values):
            unit = self.model.parameters[i].unit
            v, s = self.values[name], self.stderr[name]
            if name in self.undetermined:
                lines.append(f"  {name:<10} = undetermined {unit}".rstrip())
                continue
            tag = " (fixed)" if name in self.fixed else ""
            rel = f" ({100 * s / abs(v):.2g} %)" if math.isfinite(s) and v and not tag else ""
            lines.append(f"  {name:<10} = {v:<12.5g} +/- {s:<10.3g} {unit}{rel}{tag}")
        lines.append(
            f"  chi2/point = {self.chi2_per_point:.3g}, reduced chi2 = {self.reduced_chi2:.3g}, "
            f"AIC = {self.aic:.1f}, BIC = {self.bic:.1f}"
        )
        if self.kk is not None:
            lines.append(f"  {self.kk.message}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)
