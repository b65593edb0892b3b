"""Cell geometry: validation and the cell constant."""

from __future__ import annotations

import dataclasses
import math

import pytest

from eisfit.errors import EisfitError, PhysicsError
from eisfit.physics import Cell


def test_cell_holds_geometry_and_cell_constant() -> None:
    cell = Cell(area_cm2=0.785, thickness_cm=0.12, label="NZSP pellet 3")
    assert cell.symmetric is True
    assert cell.cell_constant_cm_inv == 0.12 / 0.785
    assert cell.to_dict() == {
        "area_cm2": 0.785,
        "thickness_cm": 0.12,
        "symmetric": True,
        "label": "NZSP pellet 3",
        "cell_constant_cm_inv": 0.12 / 0.785,
    }


def test_cell_accepts_integers_and_stores_floats() -> None:
    cell = Cell(1, 2, symmetric=False)
    assert isinstance(cell.area_cm2, float) and isinstance(cell.thickness_cm, float)
    assert cell.symmetric is False


def test_cell_is_frozen() -> None:
    cell = Cell(1.0, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.area_cm2 = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad", [0, 0.0, -1.0, -1e-9, math.nan, math.inf, -math.inf, "1", None, True]
)
@pytest.mark.parametrize("field", ["area_cm2", "thickness_cm"])
def test_bad_geometry_raises_a_clear_error(field: str, bad: object) -> None:
    kwargs = {"area_cm2": 1.0, "thickness_cm": 0.1, field: bad}
    with pytest.raises(PhysicsError, match=field) as info:
        Cell(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, EisfitError) and isinstance(info.value, ValueError)


def test_symmetric_must_be_a_bool() -> None:
    with pytest.raises(PhysicsError, match="symmetric"):
        Cell(1.0, 0.1, symmetric="yes")  # type: ignore[arg-type]
