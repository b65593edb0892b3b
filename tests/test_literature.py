"""The literature table (`eisfit.physics.literature`): domain-notes sec. 5 values only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eisfit.physics.literature import LiteratureValue, asr_context, literature

DOMAIN = Path(__file__).resolve().parents[2] / "shared" / "docs" / "domain.md"

# hand-copied from domain.md sec. 5 ("Published magnitudes (from the seed review)")
EXPECTED = {
    ("Na|Na3SbS4|Na", "bulk_resistance", 0.0): 87.2,
    ("Na|Na3SbS4|Na", "bulk_resistance", 160.0): 90.9,
    ("Na|Na3SbS4|Na", "interface_resistance", 0.0): 318.2,
    ("Na|Na3SbS4|Na", "interface_resistance", 160.0): 6475.0,
    ("Na|Na3SbS4|Na", "charge_transfer_resistance", 0.0): 13.6,
    ("Na|Na3SbS4|Na", "charge_transfer_resistance", 160.0): 464.3,
    ("Na|Na3SbS4|Na", "asr", 0.0): 750.0,
    ("Na|Na3SbS4|Na", "asr", 25.0): 1860.0,
    ("Cu|Na3PS4|Na", "resistance", 0.0): 500.0,
    ("Cu|Na3PS4|Na", "resistance", 240.0): 20000.0,
    ("Na|NZSP|Na", "interfacial_asr", None): 1060.0,
    ("Na|NZSP(TiO2)|Na", "interfacial_asr", None): 149.0,
    ("Na|solid electrolyte|Na", "interfacial_asr_min", None): 2.0,
    ("Na|solid electrolyte|Na", "interfacial_asr_max", None): 3000.0,
}


def test_table_holds_exactly_the_published_numbers() -> None:
    rows = literature()
    assert all(isinstance(r, LiteratureValue) for r in rows)
    assert {(r.cell, r.quantity, r.time_h): r.value for r in rows} == EXPECTED
    assert len(rows) == len(EXPECTED)


def test_units_conditions_and_sources() -> None:
    for row in literature():
        assert row.source.startswith("seed review") and "sec. 5" in row.source
        assert row.quote, row
        assert row.unit == ("ohm cm2" if "asr" in row.quantity else "ohm")
        if row.cell == "Na|Na3SbS4|Na":
            assert row.temperature_c == 60.0
        else:
            assert row.temperature_c is None  # the notes give no temperature
    approximate = {(r.cell, r.value) for r in literature() if r.approximate}
    assert approximate == {
        ("Cu|Na3PS4|Na", 20000.0),
        ("Na|solid electrolyte|Na", 2.0),
        ("Na|solid electrolyte|Na", 3000.0),
    }
    # the notes state no conductivity or activation energy for a named material
    assert not [r for r in literature() if "conductivity" in r.quantity or "energy" in r.quantity]


def test_filters_and_descriptions() -> None:
    nzsp = literature(material="NZSP")
    assert [r.value for r in nzsp] == [1060.0]
    assert "per-interface convention not stated" in nzsp[0].condition
    expected = f"Na|NZSP|Na interfacial_asr = 1060 ohm cm2 ({nzsp[0].source})"
    assert nzsp[0].describe() == expected
    late = literature(material="Na3SbS4", quantity="interface_resistance")[1]
    assert late.describe().startswith(
        "Na|Na3SbS4|Na interface_resistance = 6475 ohm at 60 C after 160 h"
    )
    assert literature(material="unobtainium") == ()


@pytest.mark.parametrize(
    ("asr", "place"), [(1.0, "below"), (2.0, "within"), (149.0, "within"), (5000.0, "above")]
)
def test_asr_context(asr: float, place: str) -> None:
    text = asr_context(asr)
    assert f"is {place} the published range" in text and "~2 to ~3000 ohm cm2" in text


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.skipif(not DOMAIN.exists(), reason="shared domain notes not present")
def test_every_quote_and_number_is_in_domain_notes_section_5() -> None:
    notes = DOMAIN.read_text(encoding="utf-8")
    section = _normalise(notes[notes.index("## 5.") : notes.index("## 6.")])
    for row in literature():
        assert row.quote in section, row.quote
        number = f"{row.value:,.1f}" if "." in row.quote.split(":")[-1] else f"{row.value:,.0f}"
        assert number in row.quote or f"{row.value:g}" in row.quote, (number, row.quote)
