"""Physics of fitted Na | solid electrolyte | Na spectra.

``fit -> physics``: `analyse` turns a `FitResult` and a `Cell` into contributions (roles,
resistances, effective capacitances, ASR per interface, conductivities); `fit_best` compares
candidate circuits; named models live as data in ``eisfit.models``; `arrhenius_series` and
`arrhenius_fit` give activation energies; `literature` holds published reference values.
`fit_best` and the Arrhenius series fit spectra, so they (and the fitting engine) load on
first use.
"""

import importlib
from typing import Any

from .activation import ArrheniusFit, arrhenius_fit
from .capacitance import apex_frequency_hz, brug_capacitance_f, hsu_mansfeld_capacitance_f
from .contributions import EPS0_F_PER_CM, CellAnalysis, Contribution, analyse
from .geometry import Cell
from .literature import LiteratureValue, literature
from .models import NamedModel, get_model, load_models, parse_model
from .roles import CAPACITANCE_RANGES, ROLES

__all__ = [
    "CAPACITANCE_RANGES",
    "EPS0_F_PER_CM",
    "ROLES",
    "ArrheniusFit",
    "ArrheniusSeries",
    "CandidateScore",
    "Cell",
    "CellAnalysis",
    "Contribution",
    "LiteratureValue",
    "ModelChoice",
    "NamedModel",
    "analyse",
    "apex_frequency_hz",
    "arrhenius_fit",
    "arrhenius_series",
    "brug_capacitance_f",
    "fit_best",
    "get_model",
    "hsu_mansfeld_capacitance_f",
    "literature",
    "load_models",
    "parse_model",
    "plot_arrhenius",
]

#: names loaded on first use: name -> submodule
_LAZY = {
    "ArrheniusSeries": "arrhenius",
    "arrhenius_series": "arrhenius",
    "plot_arrhenius": "arrhenius_plot",
    "CandidateScore": "selection",
    "ModelChoice": "selection",
    "fit_best": "selection",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'eisfit.physics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
