"""Distribution of relaxation times (DRT): an impedance spectrum as R_inf (+ L) plus a
continuous sum of RC relaxations, gamma(ln tau), found without a circuit (issue 16).

``drt(spectrum)`` returns a `DRTResult` (gamma on a log-tau grid, R_inf, L, the peaks as
`DRTPeak` s with time constant, resistance, width and share); see `eisfit.relaxation.api`.
"""

from .api import drt
from .peaks import DRTPeak
from .result import DRTResult

__all__ = ["DRTPeak", "DRTResult", "drt"]
