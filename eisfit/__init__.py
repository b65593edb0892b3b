"""eisfit: impedance spectroscopy of solid-state sodium cells.

The public API, in the order of the work: read exports (`read`, `read_many`, `iter_read`,
`detect`; `write_csv`, `write_zview`), hold a `Spectrum`, parse a circuit (`parse`,
`compile_circuit`, `Circuit`), check the data (`kk_check`), fit without starting values
(`fit`, `fit_best` -> `FitResult`), look without a circuit (`drt` -> `DRTResult`;
`identify` -> `Identification`), turn a fit into cell physics (`Cell`, `analyse` ->
`CellAnalysis` of `Contribution`; named models `get_model` -> `NamedModel`; Arrhenius
`arrhenius_series`, `arrhenius_fit`), run many spectra (`run_batch` with `BatchSettings`)
and report (`write_run_report`, `write_fit_report`).  Every error is an `EisfitError`.

Only the version and the exceptions load with ``import eisfit``; every other name loads
its module on first use (PEP 562 module ``__getattr__``), so ``import eisfit`` takes no
numpy, ``eisfit.read`` loads the readers and numpy only, and the fitting engine
(scipy.optimize), the compiled kernel (numba), the batch runner and the report
(matplotlib) load when they are used.  ``eisfit fit FILE`` on one spectrum pays for what
it uses and no more (issue 15; ``tests/test_startup.py`` checks which modules load).
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    BatchInterrupted,
    CircuitError,
    CircuitSyntaxError,
    DRTError,
    EisfitError,
    FitInputError,
    IdentifyError,
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

if TYPE_CHECKING:  # pragma: no cover - what type checkers and editors see
    from .fitting.api import fit
    from .fitting.result import FitResult
    from .identification import Candidate, Identification, identify
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
    from .physics.arrhenius import ArrheniusSeries, arrhenius_series
    from .physics.selection import ModelChoice, fit_best
    from .relaxation import DRTPeak, DRTResult, drt
    from .report.writer import write_fit_report, write_run_report
    from .runs.batch import run_batch
    from .runs.worker import BatchSettings
    from .spectrum import Spectrum, SpectrumMeta

#: names loaded on first use: name -> module
_LAZY = {
    "Spectrum": "eisfit.spectrum",
    "SpectrumMeta": "eisfit.spectrum",
    "detect": "eisfit.io",
    "iter_read": "eisfit.io",
    "read": "eisfit.io",
    "read_many": "eisfit.io",
    "write_csv": "eisfit.io",
    "write_zview": "eisfit.io",
    "format_circuit": "eisfit.notation.grammar",
    "parse": "eisfit.notation.grammar",
    "Circuit": "eisfit.notation.model",
    "compile_circuit": "eisfit.notation.model",
    "KKResult": "eisfit.kk",
    "kk_check": "eisfit.kk",
    "DRTPeak": "eisfit.relaxation",
    "DRTResult": "eisfit.relaxation",
    "drt": "eisfit.relaxation",
    "FitResult": "eisfit.fitting.result",
    "fit": "eisfit.fitting.api",
    "ArrheniusFit": "eisfit.physics",
    "Cell": "eisfit.physics",
    "CellAnalysis": "eisfit.physics",
    "Contribution": "eisfit.physics",
    "NamedModel": "eisfit.physics",
    "analyse": "eisfit.physics",
    "arrhenius_fit": "eisfit.physics",
    "get_model": "eisfit.physics",
    "load_models": "eisfit.physics",
    "fit_best": "eisfit.physics.selection",
    "Candidate": "eisfit.identification",
    "Identification": "eisfit.identification",
    "identify": "eisfit.identification",
    "ModelChoice": "eisfit.physics.selection",
    "arrhenius_series": "eisfit.physics.arrhenius",
    "ArrheniusSeries": "eisfit.physics.arrhenius",
    "run_batch": "eisfit.runs.batch",
    "BatchSettings": "eisfit.runs.worker",
    "write_run_report": "eisfit.report.writer",
    "write_fit_report": "eisfit.report.writer",
}

__all__ = [
    "ArrheniusFit",
    "ArrheniusSeries",
    "BatchInterrupted",
    "BatchSettings",
    "Candidate",
    "Cell",
    "CellAnalysis",
    "Circuit",
    "CircuitError",
    "CircuitSyntaxError",
    "Contribution",
    "DRTError",
    "DRTPeak",
    "DRTResult",
    "EisfitError",
    "FitInputError",
    "FitResult",
    "Identification",
    "IdentifyError",
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
    "drt",
    "fit",
    "fit_best",
    "format_circuit",
    "get_model",
    "identify",
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
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
