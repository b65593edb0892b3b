"""eisfit: impedance spectroscopy of solid-state sodium cells.

The public API, in the order of the work: read exports (`read`, `read_many`, `iter_read`,
`detect`; `write_csv`, `write_zview`), hold a `Spectrum`, parse a circuit (`parse`,
`compile_circuit`, `Circuit`), check the data (`kk_check`), fit without starting values
(`fit`, `fit_best` -> `FitResult`), turn a fit into cell physics (`Cell`, `analyse` ->
`CellAnalysis` of `Contribution`; named models `get_model` -> `NamedModel`; Arrhenius
`arrhenius_series`, `arrhenius_fit`), run many spectra (`run_batch` with `BatchSettings`)
and report (`write_run_report`, `write_fit_report`).  Every error is an `EisfitError`.

The fitting engine (and scipy.optimize), the batch runner and the report (matplotlib) load
on first use, so that ``import eisfit`` and commands that only read stay quick.
"""

import importlib
from typing import Any

from ._version import __version__
from .errors import (
    BatchInterrupted,
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    FitInputError,
    JsonError,
    ModelFileError,
    OutputError,
    PhysicsError,
    ReadError,
    ReportError,
    SpectrumError,
    TrendInputError,
    UnsupportedFormatError,
)
from .fitting.result import FitResult
from .io import detect, iter_read, read, read_many, write_csv, write_zview
from .kk import KKResult, kk_check
from .notation.grammar import format_circuit, parse
from .notation.model import Circuit, compile_circuit
from .physics import (
    ArrheniusFit,
    Cell,
    CellAnalysis,
    Contribution,
    NamedModel,
    analyse,
    arrhenius_fit,
    get_model,
    load_models,
)
from .spectrum import Spectrum, SpectrumMeta

#: names loaded on first use: name -> (module, attribute)
_LAZY = {
    "fit": ("eisfit.fitting.api", "fit"),
    "fit_best": ("eisfit.physics.selection", "fit_best"),
    "ModelChoice": ("eisfit.physics.selection", "ModelChoice"),
    "arrhenius_series": ("eisfit.physics.arrhenius", "arrhenius_series"),
    "ArrheniusSeries": ("eisfit.physics.arrhenius", "ArrheniusSeries"),
    "run_batch": ("eisfit.runs.batch", "run_batch"),
    "BatchSettings": ("eisfit.runs.worker", "BatchSettings"),
    "write_run_report": ("eisfit.report.writer", "write_run_report"),
    "write_fit_report": ("eisfit.report.writer", "write_fit_report"),
}

__all__ = [
    "ArrheniusFit",
    "ArrheniusSeries",
    "BatchInterrupted",
    "BatchSettings",
    "Cell",
    "CellAnalysis",
    "Circuit",
    "CircuitError",
    "CircuitSyntaxError",
    "Contribution",
    "EisfitError",
    "FitInputError",
    "FitResult",
    "JsonError",
    "KKResult",
    "ModelChoice",
    "ModelFileError",
    "NamedModel",
    "OutputError",
    "PhysicsError",
    "ReadError",
    "ReportError",
    "Spectrum",
    "SpectrumError",
    "SpectrumMeta",
    "TrendInputError",
    "UnsupportedFormatError",
    "__version__",
    "analyse",
    "arrhenius_fit",
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
    "write_fit_report",
    "write_run_report",
    "write_zview",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'eisfit' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
