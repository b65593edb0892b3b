"""Automatic circuit identification: candidate circuits built from the data (DRT peaks,
head and tail shapes), each fitted without guesses, ranked with the evidence (issue 16).

`identify(spectrum)` -> `Identification` (status "identified", "tie" or "none", the chosen
circuit and its fit, every candidate ranked with its reasons, the evidence used).
"""

from .api import identify
from .result import Candidate, Identification

__all__ = ["Candidate", "Identification", "identify"]
