"""eisfit: impedance spectroscopy of solid-state sodium cells."""

from .circuits.grammar import format_circuit, parse
from .circuits.model import Circuit, compile_circuit
from .errors import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    FitInputError,
    ReadError,
    SpectrumError,
    UnsupportedFormatError,
)
from .fitting import fit
from .io import detect, iter_read, read, read_many, write_csv, write_zview
from .kk import KKResult, kk_check
from .physics import (
    Cell,
    CellAnalysis,
    PhysicsError,
    analyse,
    arrhenius_series,
    fit_best,
    get_model,
    load_models,
)
from .result import FitResult
from .spectrum import Spectrum, SpectrumMeta

__version__ = "0.1.0"

__all__ = [
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
    "write_csv",
    "write_zview",
]
