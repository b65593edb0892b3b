"""eisfit: impedance spectroscopy of solid-state sodium cells.

`fit`, `fit_best`, `arrhenius_series` and the batch (`run_batch`, `BatchSettings`,
`BatchInterrupted`) load the fitting engine (and scipy.optimize) on first use, so that
commands which only read or resume (a finished batch) start quickly.
"""

import importlib
from typing import Any

from ._version import __version__
from .errors import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    FitInputError,
    ReadError,
    SpectrumError,
    UnsupportedFormatError,
)
from .fitting.result import FitResult
from .io import detect, iter_read, read, read_many, write_csv, write_zview
from .kk.linkk import KKResult, kk_check
from .notation.grammar import format_circuit, parse
from .notation.model import Circuit, compile_circuit
from .physics import (
    Cell,
    CellAnalysis,
    PhysicsError,
    analyse,
    get_model,
    load_models,
)
from .spectrum import Spectrum, SpectrumMeta

__all__ = [
    "BatchInterrupted",
    "BatchSettings",
    "Cell",
    "CellAnalysis",
    "Circuit",
    "CircuitError",
    "CircuitSyntaxError",
    "EisfitError",
    "FitInputError",
    "FitResult",
    "KKResult",
    "PhysicsError",
    "ReadError",
    "Spectrum",
    "SpectrumError",
    "SpectrumMeta",
    "UnsupportedFormatError",
    "__version__",
    "analyse",
    "arrhenius_series",
    "compile_circuit",
    "detect",
    "fit",
    "fit_best",
    "format_circuit",
    "get_model",
    "iter_read",
    "kk_check",
    "load_models",
    "parse",
    "read",
    "read_many",
    "run_batch",
    "write_csv",
    "write_zview",
]

#: names loaded on first use: name -> (module, attribute)
_LAZY = {
    "fit": ("eisfit.fitting.api", "fit"),
    "fit_best": ("eisfit.physics.selection", "fit_best"),
    "arrhenius_series": ("eisfit.physics.arrhenius", "arrhenius_series"),
    "run_batch": ("eisfit.runs.batch", "run_batch"),
    "BatchSettings": ("eisfit.runs.worker", "BatchSettings"),
    "BatchInterrupted": ("eisfit.runs.batch", "BatchInterrupted"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'eisfit' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
