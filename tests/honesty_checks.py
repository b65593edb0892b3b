"""The honesty invariants of issue 12, shared by the real-data tests and the benchmark.

A fit and its analysis break an invariant when:

* its status is ``ok`` and a parameter sits on a bound that is not a natural limit
  (n = 1: an ideal capacitor; L = 0: no lead inductance), or a parameter is not finite,
  or a derived quantity (resistance, capacitance, ASR, conductivity) exceeds 1e12 in
  magnitude;
* any status: a derived quantity is reported although it involves a parameter that has
  no estimate (undetermined with a NaN standard error), or although its own propagated
  standard error exceeds it.  Which parameters a quantity involves: a resistance, ASR and
  conductivity involve the resistors of the contribution; a capacitance and an apex
  frequency every parameter of its elements.

Usable by eisfit versions without a status vocabulary (`status_of`): a successful fit
is read as ``ok``.  `bench/real_data_bench.py` imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["BIG", "check_fit", "status_of"]

BIG = 1e12
_R_QUANTITIES = ("resistance_ohm", "asr_ohm_cm2", "conductivity_s_cm")
_C_QUANTITIES = ("capacitance_f", "apex_frequency_hz")
_STDERR = {
    "resistance_ohm": "resistance_stderr_ohm",
    "asr_ohm_cm2": "asr_stderr_ohm_cm2",
    "conductivity_s_cm": "conductivity_stderr_s_cm",
    "capacitance_f": "capacitance_stderr_f",
}


def status_of(result: Any) -> str:
    """The fit's status word (older eisfit: ``ok`` for success, else ``failed``)."""
    return getattr(result, "status", "ok" if result.success else "failed")


def _optimum(result: Any) -> Mapping[str, float]:
    return getattr(result, "optimum", None) or result.values


def _bounds(result: Any, model: Any, bounds: Mapping[str, tuple[float, float]]) -> dict:
    default: dict[int, tuple[float, float]] = {}
    try:  # eisfit with default bounds of what the band resolves
        from eisfit.fitting.bounds import resolvable_bounds

        s = result.spectrum
        default = resolvable_bounds(model, s.frequency_hz, s.impedance_ohm)
    except ImportError:
        pass
    return {
        p.name: bounds.get(p.name) or default.get(i) or (p.lower, p.upper)
        for i, p in enumerate(model.parameters)
    }


def on_bound(result: Any, model: Any, bounds: Mapping[str, tuple[float, float]]) -> list[str]:
    """Free parameters that ended on a bound that is not a natural limit."""
    out = []
    values = _optimum(result)
    limits = _bounds(result, model, bounds)
    for p in model.parameters:
        if p.name in result.fixed:
            continue
        v = values[p.name]
        for side, b in zip(("lower", "upper"), limits[p.name], strict=True):
            if not math.isfinite(b) or abs(v - b) > 1e-9 * max(abs(b), abs(v), 1e-300):
                continue
            natural = (side == "upper" and p.short == "n" and b == 1.0) or (
                side == "lower" and p.symbol in ("L", "La")
            )
            if not natural:
                out.append(p.name)
    return out


def _involved(c: Any, quantity: str, model: Any) -> list[str]:
    """Parameter names a quantity of contribution ``c`` involves (see the module)."""
    elements = set(c.elements)
    names = [p.name for p in model.parameters if p.element in elements]
    if quantity in _R_QUANTITIES:
        return [n for n in names if model.parameters[model.index(n)].symbol == "R"]
    return names


def check_fit(
    result: Any, analysis: Any, model: Any, bounds: Mapping[str, tuple[float, float]]
) -> list[str]:
    """The invariants this fit and analysis break (empty: none)."""
    broken = []
    status = status_of(result)
    undetermined = dict(getattr(result, "undetermined", {}) or {})
    no_estimate = {n for n in undetermined if not math.isfinite(result.stderr[n])}
    if status == "ok":
        if bound := on_bound(result, model, bounds):
            broken.append(f"ok with {', '.join(bound)} on a bound")
        bad = [k for k, v in result.values.items() if not math.isfinite(v)]
        if bad:
            broken.append(f"ok with non-finite {', '.join(bad)}")
    for c in analysis.contributions:
        if c.role == "inductance":
            continue
        for quantity in (*_R_QUANTITIES, *_C_QUANTITIES):
            value = getattr(c, quantity)
            if value is None or not math.isfinite(value) or value == 0:
                continue
            where = f"{c.role}.{quantity} = {value:.3g}"
            if status == "ok" and abs(value) > BIG and quantity != "apex_frequency_hz":
                broken.append(f"ok with {where}")
            if not hasattr(result, "undetermined"):
                continue  # an eisfit without the notion: only the checks above apply
            involved = sorted(no_estimate & set(_involved(c, quantity, model)))
            if involved:
                broken.append(f"{where} from undetermined {', '.join(involved)}")
            if quantity not in _STDERR:
                continue
            err = getattr(c, _STDERR[quantity])
            if err is None or not math.isfinite(err):
                broken.append(f"{where} with no standard error")
            elif err > abs(value):
                broken.append(f"{where} with a standard error {err:.3g} above it")
    return broken
