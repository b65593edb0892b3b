"""Named models: packaged data, loading and validation, and fitting each one back to its truth."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest

from eisfit import fit
from eisfit.errors import EisfitError, ModelFileError, PhysicsError
from eisfit.physics import Cell, NamedModel, analyse, get_model, load_models, parse_model
from eisfit.synthetic import cpe_q, simulate

PACKAGED = {
    "intercept-soli",
    "gb-soli",
    "bulk-gb-soli",
    "bulk-gb-soli-ct",
    "blocking",
    "blocking-bulk-gb",
}


def arc(i: int, r: float, f0: float, n: float) -> dict[str, float]:
    return {f"R{i}.R": r, f"CPE{i}.Q": cpe_q(r, f0, n), f"CPE{i}.n": n}


# truth of each packaged model: a realistic cell of that structure (1 cm2 unless said)
TRUTH: dict[str, tuple[dict[str, float], Cell]] = {
    "intercept-soli": (
        {"L0.L": 3e-7, "R0.R": 400.0, **arc(1, 2120.0, 80.0, 0.8)},
        Cell(1.0, 0.1),
    ),
    "gb-soli": (
        {"L0.L": 3e-7, "R0.R": 150.0, **arc(1, 300.0, 5e5, 0.9), **arc(2, 2120.0, 50.0, 0.75)},
        Cell(1.0, 0.1),
    ),
    "bulk-gb-soli": (
        {
            "L0.L": 2e-7,
            "R0.R": 3.0,
            **arc(1, 1000.0, 3e6, 0.95),
            **arc(2, 300.0, 5e4, 0.9),
            **arc(3, 1500.0, 50.0, 0.75),
        },
        Cell(1.0, 0.05),
    ),
    "bulk-gb-soli-ct": (
        {
            "L0.L": 2e-7,
            "R0.R": 3.0,
            **arc(1, 1000.0, 3e6, 0.95),
            **arc(2, 300.0, 5e4, 0.9),
            **arc(3, 1500.0, 1e3, 0.8),
            **arc(4, 800.0, 2.0, 0.85),
        },
        Cell(1.0, 0.05),
    ),
    "blocking": (
        {"R0.R": 200.0, **arc(1, 500.0, 2e5, 0.9), "CPE2.Q": 2e-6, "CPE2.n": 0.85},
        Cell(1.0, 0.1),
    ),
    "blocking-bulk-gb": (
        {
            "R0.R": 2.0,
            **arc(1, 1000.0, 3e6, 0.95),
            **arc(2, 400.0, 3e4, 0.9),
            "CPE3.Q": 2e-6,
            "CPE3.n": 0.85,
        },
        Cell(1.0, 0.05),
    ),
}
FREQUENCY_HZ = np.logspace(np.log10(7e6), -2, 91)


def test_packaged_models_are_found_through_importlib_resources() -> None:
    files = {e.name for e in resources.files("eisfit.models").iterdir()}
    assert {f"{name}.toml" for name in PACKAGED} <= files
    models = load_models()
    assert set(models) >= PACKAGED
    for model in models.values():
        assert model.source.startswith("eisfit.models/")
        assert model.description and model.reference


def test_named_models_are_frozen_data() -> None:
    model = get_model("gb-soli")
    assert model.circuit == "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
    assert dict(model.roles) == {
        "L0": "inductance",
        "R0": "bulk",
        "R1": "grain_boundary",
        "R2": "soli",
    }
    assert model.bounds["CPE1.n"] == (0.5, 1.0)
    with pytest.raises(TypeError):
        model.roles["R1"] = "soli"  # type: ignore[index]
    assert model.to_dict()["bounds"]["CPE2.n"] == [0.5, 1.0]
    assert get_model("gb-soli") == model


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_each_named_model_fits_its_own_structure_and_recovers_the_truth(name: str) -> None:
    model = get_model(name)
    values, cell = TRUTH[name]
    assert set(values) == set(fit_names := values)  # every parameter has a truth
    rng = np.random.default_rng(sum(map(ord, name)))
    spectrum = simulate(model.circuit, values, FREQUENCY_HZ, noise=0.003, rng=rng)
    result = fit(spectrum, model.circuit, bounds=dict(model.bounds), kk=False)
    assert result.success
    assert set(result.values) == set(fit_names)
    for key, truth in values.items():
        # an undetermined parameter (a 2-ohm lead resistance +- 3 ohm) is NaN in values;
        # its estimate and standard error remain in optimum and stderr
        assert math.isnan(result.values[key]) == (key in result.undetermined)
        if not math.isfinite(result.stderr[key]):  # held on a bound: no estimate at all
            assert "bound" in result.undetermined[key], result.undetermined[key]
            continue
        z = (result.optimum[key] - truth) / result.stderr[key]
        assert abs(z) < 4, (
            f"{name} {key}: fit {result.optimum[key]:.4g}, truth {truth:.4g}, z {z:.2f}"
        )
    declared = analyse(result, cell, roles=model.roles)
    automatic = analyse(result, cell)
    for analysis in (declared, automatic):
        got = {e: c.role for c in analysis.contributions for e in c.elements}
        for element, role in model.roles.items():
            assert got[element] == role, (name, element, got[element], role)


def test_user_folder_adds_and_overrides_models(tmp_path) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "my-cell"\ncircuit = "R0-p(R1,CPE1)"\n'
        'description = "test"\nreference = "none"\n[roles]\nR1 = "soli"\n',
        encoding="utf-8",
    )
    (tmp_path / "override.toml").write_text(
        'name = "gb-soli"\ncircuit = "R0-p(R1,CPE1)-p(R2,CPE2)"\n'
        'description = "no inductance"\nreference = "lab"\n'
        '[roles]\nR1 = "grain_boundary"\nR2 = "soli"\n[bounds]\nCPE1_n = [0.6, 1]\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    models = load_models(tmp_path)
    assert set(models) == PACKAGED | {"my-cell"}
    assert models["gb-soli"].circuit == "R0-p(R1,CPE1)-p(R2,CPE2)"
    assert models["gb-soli"].bounds == {"CPE1.n": (0.6, 1.0)}
    assert get_model("my-cell", tmp_path).roles == {"R1": "soli"}
    assert load_models()["gb-soli"].circuit.startswith("L0")  # packaged ones untouched


GOOD = 'name = "m"\ncircuit = "R0-p(R1,CPE1)"\ndescription = "d"\nreference = "r"\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name = ", "not valid TOML"),
        (GOOD + "colour = 1\n[roles]\n", "unknown keys colour"),
        ('name = "m"\ncircuit = "R0"\n[roles]\n', "missing description, reference"),
        (GOOD.replace("R0-p(R1,CPE1)", "R0-p(R1,CPE1") + "[roles]\n", "bad circuit"),
        (GOOD.replace("R0-p(R1,CPE1)", "R0-X1") + "[roles]\n", "bad circuit"),
        (GOOD + '[roles]\nR7 = "soli"\n', "no such element"),
        (GOOD + '[roles]\nR1 = "electrolyte"\n', "allowed roles"),
        (GOOD + "[roles]\nR1 = 3\n", "roles"),
        (GOOD + '[roles]\n[bounds]\n"CPE9.n" = [0, 1]\n', "unknown parameter"),
        (GOOD + '[roles]\n[bounds]\n"CPE1.n" = [1, 0.5]\n', "lower < upper"),
        (GOOD + '[roles]\n[bounds]\n"CPE1.n" = [0.5]\n', r"\[lower, upper\]"),
        (GOOD + '[roles]\n[bounds]\n"CPE1.n" = ["a", 1]\n', r"\[lower, upper\]"),
        (GOOD.replace('description = "d"', 'description = ""') + "[roles]\n", "non-empty"),
    ],
)
def test_bad_model_files_raise_naming_the_file(text: str, match: str) -> None:
    with pytest.raises(ModelFileError, match=match) as info:
        parse_model(text, "lab/bad.toml")
    assert str(info.value).startswith("lab/bad.toml: ")
    assert isinstance(info.value, EisfitError)


def test_duplicate_names_in_a_folder_raise(tmp_path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.toml").write_text(GOOD + "[roles]\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="also used by"):
        load_models(tmp_path)


def test_unreadable_model_file_raises(tmp_path) -> None:
    (tmp_path / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ModelFileError, match="cannot read"):
        load_models(tmp_path)


def test_missing_folder_and_unknown_model_raise(tmp_path) -> None:
    with pytest.raises(PhysicsError, match="does not exist"):
        load_models(tmp_path / "nowhere")
    with pytest.raises(PhysicsError, match="unknown model 'nzsp'; available: blocking"):
        get_model("nzsp")


def test_parse_model_returns_a_named_model() -> None:
    model = parse_model(GOOD + '[roles]\nR0 = "bulk"\nCPE1 = "soli"\n')
    assert isinstance(model, NamedModel)
    assert model.roles == {"R0": "bulk", "CPE1": "soli"} and model.bounds == {}
