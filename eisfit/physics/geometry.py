"""Cell geometry: the contact area and electrolyte thickness every normalisation needs.

``area_cm2`` is the *effective contact area* S (the Na foil area, not the pellet area) and
``thickness_cm`` the electrolyte thickness L.  Bulk and grain-boundary quantities scale with
the cell constant L/S (conductivity sigma = L/(R S), normalised capacitance C L/S), interfacial
ones with the area alone (ASR = R S, C/S).  ``symmetric`` says the cell has two identical
electrode interfaces in series (Na | SSE | Na), so an interfacial resistance covers two
interfaces (docs/physics-notes.md sec. 4; Irvine, Sinclair & West, Adv. Mater. 2 (1990) 132).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from ..errors import PhysicsError

__all__ = ["Cell"]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PhysicsError(f"{name} must be a positive finite number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise PhysicsError(f"{name} must be a positive finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Cell:
    """Geometry of a measured cell.

    ``area_cm2``: effective contact area S in cm2; ``thickness_cm``: electrolyte thickness L
    in cm; ``symmetric``: two identical electrode interfaces (halve interfacial ASR);
    ``label``: free text.  Non-positive, non-finite or non-numeric sizes raise `PhysicsError`.
    """

    area_cm2: float
    thickness_cm: float
    symmetric: bool = True
    label: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "area_cm2", _positive("area_cm2", self.area_cm2))
        object.__setattr__(self, "thickness_cm", _positive("thickness_cm", self.thickness_cm))
        if not isinstance(self.symmetric, bool):
            raise PhysicsError(f"symmetric must be True or False, got {self.symmetric!r}")

    @property
    def cell_constant_cm_inv(self) -> float:
        """L/S in 1/cm: multiply a conductance by it to get a conductivity."""
        return self.thickness_cm / self.area_cm2

    def to_dict(self) -> dict[str, Any]:
        return {
            "area_cm2": self.area_cm2,
            "thickness_cm": self.thickness_cm,
            "symmetric": self.symmetric,
            "label": self.label,
            "cell_constant_cm_inv": self.cell_constant_cm_inv,
        }
