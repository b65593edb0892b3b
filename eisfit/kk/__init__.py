"""Kramers-Kronig validation: are these data a linear, causal, stable impedance?

`kk_check` runs the linear Kramers-Kronig test (`linkk`): a series of Voigt elements with
fixed time constants (`design`), their number chosen from the data (`model`), judged
against the noise of the data (`noise`) and, where there are several spectra of one
cell, against its siblings (`reference`).
"""

from .linkk import kk_check
from .result import KKResult

__all__ = ["KKResult", "kk_check"]
