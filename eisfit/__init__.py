"""eisfit: impedance spectroscopy of solid-state sodium cells."""

from .errors import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    FitInputError,
    ReadError,
    SpectrumError,
    UnsupportedFormatError,
)
from .spectrum import Spectrum, SpectrumMeta

__version__ = "0.1.0"

__all__ = [
    "CircuitError",
    "CircuitSyntaxError",
    "EisfitError",
    "FitInputError",
    "ReadError",
    "Spectrum",
    "SpectrumError",
    "SpectrumMeta",
    "UnsupportedFormatError",
    "__version__",
]
