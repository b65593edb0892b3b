"""A `FitResult` as strict JSON and back (``to_dict(arrays=True)`` / ``from_dict``).

The summary that ``FitResult.to_dict()`` writes holds the parameters, statistics, status
and lin-KK summary; the arrays added here make it whole: the measured points (frequency
in Hz, real and imaginary impedance in ohm) with their meta, the correlation matrix, the
relative residuals, the starting values and the lin-KK residuals.  Non-finite numbers are
written as ``null`` and read back as NaN, so a round trip through ``json.dumps(...,
allow_nan=False)`` gives back an equal result.  Nothing is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import numpy as np

from .._util import finite_or_none, json_ready
from ..errors import JsonError
from ..kk.result import KKResult
from ..spectrum import Finding, Spectrum, SpectrumMeta

__all__ = ["array_fields", "fit_result_fields"]


def _floats(values: Any) -> list[float | None]:
    return [finite_or_none(v) for v in np.asarray(values, dtype=float).ravel()]


def _finding(f: Finding) -> dict[str, Any]:
    return {"kind": f.kind, "message": f.message, "points": list(f.points), "severity": f.severity}


def _meta(meta: SpectrumMeta) -> dict[str, Any]:
    return {
        "source": meta.source,
        "index": meta.index,
        "timestamp": None if meta.timestamp is None else meta.timestamp.isoformat(),
        "cycle": meta.cycle,
        "temperature_k": meta.temperature_k,
        "extra": json_ready(dict(meta.extra)),
        "findings": None if meta.findings is None else [_finding(f) for f in meta.findings],
        "removed": list(meta.removed),
        "noise_estimate": meta.noise_estimate,
    }


def array_fields(result: Any) -> dict[str, Any]:
    """The fields ``to_dict(arrays=True)`` adds to the summary of ``result`` (a `FitResult`;
    not imported here, which imports this module)."""
    z = np.asarray(result.spectrum.impedance_ohm)
    n = len(result.values)
    return {
        "spectrum": {
            "frequency_hz": _floats(result.spectrum.frequency_hz),
            "z_real_ohm": _floats(z.real),
            "z_imag_ohm": _floats(z.imag),
            "meta": _meta(result.spectrum.meta),
        },
        "correlation": [_floats(row) for row in np.asarray(result.correlation).reshape(n, n)],
        "residuals_real": _floats(result.residuals_real),
        "residuals_imag": _floats(result.residuals_imag),
        "initial": {k: finite_or_none(v) for k, v in result.initial.items()},
        "kk": result.kk.to_dict(residuals=True) if result.kk is not None else None,
    }


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _array(values: Any) -> np.ndarray:
    out = np.array([_nan(v) for v in values], dtype=float)
    out.setflags(write=False)
    return out


def _extra(value: Any) -> Any:
    """Lists back to the tuples readers put in ``meta.extra``."""
    return tuple(_extra(v) for v in value) if isinstance(value, list) else value


def _spectrum(data: Mapping[str, Any]) -> Spectrum:
    meta = data["meta"]
    findings = meta["findings"]
    return Spectrum(
        frequency_hz=_array(data["frequency_hz"]),
        impedance_ohm=_array(data["z_real_ohm"]) + 1j * _array(data["z_imag_ohm"]),
        meta=SpectrumMeta(
            source=meta["source"],
            index=int(meta["index"]),
            timestamp=None if meta["timestamp"] is None
            else datetime.fromisoformat(meta["timestamp"]),
            cycle=meta["cycle"],
            temperature_k=meta["temperature_k"],
            extra={k: _extra(v) for k, v in meta["extra"].items()},
            findings=None if findings is None else tuple(
                Finding(f["kind"], f["message"], tuple(f["points"]), f["severity"])
                for f in findings
            ),
            removed=tuple(meta["removed"]),
            noise_estimate=meta["noise_estimate"],
        ),
    )  # fmt: skip


def fit_result_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the `FitResult` that ``data`` describes."""
    if not isinstance(data, Mapping) or "spectrum" not in data or "correlation" not in data:
        raise JsonError("not a whole fit result: write it with FitResult.to_dict(arrays=True)")
    try:
        params = data["parameters"]
        values = {k: _nan(p["value"]) for k, p in params.items()}
        return {
            "circuit": str(data["circuit"]),
            "spectrum": _spectrum(data["spectrum"]),
            "values": MappingProxyType(values),
            "stderr": MappingProxyType({k: _nan(p["stderr"]) for k, p in params.items()}),
            "fixed": tuple(k for k, p in params.items() if p["fixed"]),
            "correlation": np.array(
                [[_nan(v) for v in row] for row in data["correlation"]], dtype=float
            ).reshape(len(values), len(values)),
            "success": bool(data["success"]),
            "message": str(data["message"]),
            "weighting": str(data["weighting"]),
            "chi2": _nan(data["chi2"]),
            "chi2_per_point": _nan(data["chi2_per_point"]),
            "reduced_chi2": _nan(data["reduced_chi2"]),
            "aic": _nan(data["aic"]),
            "bic": _nan(data["bic"]),
            "residuals_real": _array(data["residuals_real"]),
            "residuals_imag": _array(data["residuals_imag"]),
            "nfev": int(data["nfev"]),
            "n_starts": int(data["n_starts"]),
            "elapsed_s": float(data["elapsed_s"]),
            "initial": MappingProxyType({k: _nan(v) for k, v in data["initial"].items()}),
            "kk": None if data["kk"] is None else KKResult.from_dict(data["kk"]),
            "warnings": tuple(data["warnings"]),
            "status": str(data["status"]),
            "reasons": tuple(data["reasons"]),
            "undetermined": {
                k: p["undetermined"] for k, p in params.items() if p["undetermined"] is not None
            },
            "optimum": MappingProxyType({k: _nan(p["optimum"]) for k, p in params.items()}),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise JsonError(f"not a whole fit result: {exc!r}") from None
