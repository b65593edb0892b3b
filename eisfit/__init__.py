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
from .result import FitResult
from .spectrum import Spectrum, SpectrumMeta

__version__ = "0.1.0"

__all__ = [
    "Circuit",
    "CircuitError",
    "CircuitSyntaxError",
    "EisfitError",
    "FitInputError",
    "FitResult",
    "KKResult",
    "ReadError",
    "Spectrum",
    "SpectrumError",
    "SpectrumMeta",
    "UnsupportedFormatError",
    "__version__",
    "compile_circuit",
    "detect",
    "fit",
    "format_circuit",
    "iter_read",
    "kk_check",
    "parse",
    "read",
    "read_many",
    "write_csv",
    "write_zview",
]
