"""The physics commands of the CLI: ``fit`` with geometry / models, ``arrhenius``, ``models``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from fixtures_arrhenius import AREA_CM2, EA_EV, THICKNESS_CM, cell_values, temperature_series

import eisfit.cli.main as cli
from eisfit.io import write_csv
from eisfit.physics.models import load_models
from eisfit.synthetic import simulate

GEOMETRY = ["--area-cm2", str(AREA_CM2), "--thickness-cm", str(THICKNESS_CM)]
NZSP = "R0-p(R1,CPE1)-p(R2,CPE2)"  # intercept (bulk), grain boundary, SOLI
F_HZ = np.logspace(7, -1, 81)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def nzsp_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = cell_values("intercept", 298.15)
    spectrum = simulate(NZSP, values, F_HZ, noise=0.002, rng=np.random.default_rng(21))
    return write_csv([spectrum], tmp_path_factory.mktemp("cli_physics") / "nzsp.csv")


@pytest.fixture(scope="module")
def series_csvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    synthetic = temperature_series("intercept", seed=22)
    folder = tmp_path_factory.mktemp("arrhenius")
    paths = [str(write_csv([s], folder / f"t{i}.csv")) for i, s in enumerate(synthetic.spectra)]
    temps_c = [f"{t - 273.15:g}" for t in synthetic.temperatures_k]
    return paths, temps_c


def _by_role(contributions: list[dict]) -> dict[str, dict]:
    return {c["role"]: c for c in contributions}


def test_fit_json_with_geometry_gives_contributions_asr_and_conductivity(
    capsys, nzsp_csv: Path
) -> None:
    code, out, err = _run(capsys, "fit", str(nzsp_csv), "--circuit", NZSP, *GEOMETRY, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    for key in ("parameters", "contributions", "chi2", "kk", "warnings", "cell"):
        assert key in data, key
    assert data["cell"]["area_cm2"] == AREA_CM2 and data["cell"]["symmetric"] is True
    p = {name: item["value"] for name, item in data["parameters"].items()}
    roles = _by_role(data["contributions"])
    assert list(roles) == ["bulk", "grain_boundary", "soli"]
    for c in data["contributions"]:
        for key in ("elements", "resistance_ohm", "capacitance_f", "apex_frequency_hz"):
            assert key in c
    soli = roles["soli"]
    assert soli["elements"] == ["R2", "CPE2"] and soli["per_interface"] is True
    assert soli["asr_ohm_cm2"] == pytest.approx(p["R2.R"] * AREA_CM2 / 2, rel=1e-12)
    assert soli["conductivity_s_cm"] is None
    bulk, gb = roles["bulk"], roles["grain_boundary"]
    assert bulk["elements"] == ["R0"] and bulk["asr_ohm_cm2"] is None
    assert bulk["conductivity_s_cm"] == pytest.approx(
        THICKNESS_CM / (p["R0.R"] * AREA_CM2), rel=1e-12
    )
    assert gb["conductivity_s_cm"] == pytest.approx(
        THICKNESS_CM / (p["R1.R"] * AREA_CM2), rel=1e-12
    )
    assert data["total_conductivity_s_cm"] == pytest.approx(
        THICKNESS_CM / ((p["R0.R"] + p["R1.R"]) * AREA_CM2), rel=1e-12
    )
    # Hsu-Mansfeld effective capacitance by hand: C = (Q R^(1-n))^(1/n)
    q, n = p["CPE1.Q"], p["CPE1.n"]
    assert gb["capacitance_f"] == pytest.approx((q * p["R1.R"] ** (1 - n)) ** (1 / n), rel=1e-9)
    assert gb["capacitance_formula"] == "hsu-mansfeld"
    truth = cell_values("intercept", 298.15)
    assert p["R1.R"] == pytest.approx(truth["R1.R"], rel=0.03)


def test_fit_not_symmetric_does_not_halve(capsys, nzsp_csv: Path) -> None:
    argv = ["fit", str(nzsp_csv), "--circuit", NZSP, *GEOMETRY, "--not-symmetric", "--json"]
    code, out, _ = _run(capsys, *argv)
    data = json.loads(out)
    soli = _by_role(data["contributions"])["soli"]
    r2 = data["parameters"]["R2.R"]["value"]
    assert code == 0 and soli["per_interface"] is False
    assert soli["asr_ohm_cm2"] == pytest.approx(r2 * AREA_CM2, rel=1e-12)


def test_fit_without_geometry_warns_and_computes_no_asr(capsys, nzsp_csv: Path) -> None:
    code, out, _ = _run(capsys, "fit", str(nzsp_csv), "--circuit", NZSP, "--json")
    data = json.loads(out)
    assert code == 0 and data["cell"] is None
    assert all(c["asr_ohm_cm2"] is None for c in data["contributions"])
    assert all(c["conductivity_s_cm"] is None for c in data["contributions"])
    assert any("geometry" in w and "area_cm2" in w for w in data["warnings"])


def test_fit_human_output_lists_contributions(capsys, nzsp_csv: Path) -> None:
    code, out, err = _run(capsys, "fit", str(nzsp_csv), "--circuit", NZSP, *GEOMETRY)
    assert (code, err) == (0, "")
    assert "contributions:" in out and "R1.R" in out
    assert "ohm cm2 (per interface)" in out and "sigma = " in out
    assert "total electrolyte conductivity" in out


def test_fit_role_override(capsys, nzsp_csv: Path) -> None:
    argv = ["fit", str(nzsp_csv), "--circuit", NZSP, "--role", "R2=charge_transfer", "--json"]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "charge_transfer" in _by_role(json.loads(out)["contributions"])


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--area-cm2", "0.5"], "missing cell geometry --thickness-cm"),
        (["--thickness-cm", "0.1"], "missing cell geometry --area-cm2"),
        (["--area-cm2", "-1", "--thickness-cm", "0.1"], "area_cm2 must be a positive"),
        (["--area-cm2", "inf", "--thickness-cm", "0.1"], "area_cm2 must be a positive"),
        (["--role", "R2"], "--role expects ELEMENT=ROLE"),
    ],
)
def test_fit_bad_geometry_or_roles_exit_2(capsys, nzsp_csv: Path, extra, fragment) -> None:
    code, out, err = _run(capsys, "fit", str(nzsp_csv), "--circuit", NZSP, *extra)
    assert (code, out) == (2, "")
    assert err.startswith("eisfit: error: ") and fragment in err and "Traceback" not in err


def test_fit_takes_at_most_one_of_circuit_and_model(capsys, nzsp_csv: Path) -> None:
    # with neither, eisfit fit identifies the circuit (issue 16): tests/test_identify.py
    assert cli.main(["fit", str(nzsp_csv), "--circuit", NZSP, "--model", "x"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_unknown_model_exits_2(capsys, nzsp_csv: Path) -> None:
    code, out, err = _run(capsys, "fit", str(nzsp_csv), "--model", "no-such-model")
    assert (code, out) == (2, "") and "no-such-model" in err and "Traceback" not in err


def _model_for(circuit: str) -> str:
    """The packaged model whose circuit, without a lead inductance, is ``circuit``."""
    for name, model in load_models().items():
        if model.circuit.removeprefix("L0-") == circuit:
            return name
    pytest.fail(f"no packaged model for {circuit}")


def test_fit_with_a_named_model(capsys, nzsp_csv: Path) -> None:
    name = _model_for(NZSP)
    code, out, err = _run(capsys, "fit", str(nzsp_csv), "--model", name, *GEOMETRY, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["model"] == name and data["circuit"] == load_models()[name].circuit
    roles = _by_role(data["contributions"])
    assert {"bulk", "grain_boundary", "soli"} <= set(roles)
    r2 = data["parameters"]["R2.R"]["value"]
    assert roles["soli"]["asr_ohm_cm2"] == pytest.approx(r2 * AREA_CM2 / 2, rel=1e-12)


def test_models_lists_the_packaged_models(capsys) -> None:
    code, out, err = _run(capsys, "models")
    assert (code, err) == (0, "")
    models = load_models()
    assert models and all(name in out and m.circuit in out for name, m in models.items())
    code, out, _ = _run(capsys, "models", "--json")
    items = json.loads(out)
    assert [i["name"] for i in items] == list(models)
    assert all(set(i) >= {"circuit", "roles", "bounds", "description", "reference"} for i in items)


def test_arrhenius_json(capsys, series_csvs) -> None:
    paths, temps_c = series_csvs
    argv = ["arrhenius", *paths, "--temperature-c", *temps_c, "--circuit", NZSP, *GEOMETRY]
    code, out, err = _run(capsys, *argv, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    ea = data["activation_energy_ev"]
    assert set(ea) == {"bulk", "grain_boundary", "total"}
    for role in ("bulk", "grain_boundary"):
        assert ea[role]["stderr"] > 0
        assert abs(ea[role]["value"] - EA_EV[role]) < 4 * ea[role]["stderr"], role
    rows = data["temperatures"]
    assert [f"{row['temperature_c']:g}" for row in rows] == temps_c
    assert [row["source"] for row in rows] == paths
    for row in rows:
        sigma = row["conductivity_s_cm"]
        assert set(sigma) == {"bulk", "grain_boundary", "total"}
        assert sigma["total"]["value"] == pytest.approx(
            1 / (1 / sigma["bulk"]["value"] + 1 / sigma["grain_boundary"]["value"]), rel=1e-9
        )


def test_arrhenius_human_output_and_plot(capsys, series_csvs, tmp_path: Path) -> None:
    paths, temps_c = series_csvs
    plot = tmp_path / "arrhenius.png"
    argv = ["arrhenius", *paths, "--temperature-c", *temps_c, "--circuit", NZSP, *GEOMETRY]
    code, out, err = _run(capsys, *argv, "--plot", str(plot))
    assert (code, err) == (0, "")
    for role in ("bulk", "grain_boundary"):
        found = re.search(rf"Ea\({role}\) = (\S+) \+/- (\S+) eV, A = ", out)
        assert found, role
        value, stderr = (float(g) for g in found.groups())
        assert abs(value - EA_EV[role]) < 4 * stderr
    assert "Ea(total) = " in out
    rows = [line.split() for line in out.splitlines()[2:7]]
    assert [row[0] for row in rows] == ["0.00", "15.00", "30.00", "45.00", "60.00"]
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_arrhenius_with_a_named_model_in_reverse_order(capsys, series_csvs) -> None:
    paths, temps_c = series_csvs
    name = _model_for(NZSP)
    argv = ["arrhenius", *paths[::-1], "--temperature-c", *temps_c[::-1], "--model", name]
    code, out, _ = _run(capsys, *argv, *GEOMETRY, "--json")
    data = json.loads(out)
    assert code == 0 and data["model"] == name
    temps = [row["temperature_c"] for row in data["temperatures"]]
    assert temps == sorted(temps)
    bulk = data["activation_energy_ev"]["bulk"]
    assert math.isclose(bulk["value"], EA_EV["bulk"], abs_tol=4 * bulk["stderr"])


@pytest.mark.parametrize(
    ("drop", "fragment"),
    [
        ("geometry", "arrhenius needs the cell geometry: --area-cm2 and --thickness-cm"),
        ("temperature", "5 file(s) holding 5 spectra but 4 temperatures (--temperature-c)"),
    ],
)
def test_arrhenius_bad_input_exits_2(capsys, series_csvs, drop: str, fragment: str) -> None:
    paths, temps_c = series_csvs
    temps = temps_c[:-1] if drop == "temperature" else temps_c
    geometry = [] if drop == "geometry" else GEOMETRY
    argv = ["arrhenius", *paths, "--temperature-c", *temps, "--circuit", NZSP, *geometry]
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == f"eisfit: error: {fragment}\n" or fragment in err
    assert "Traceback" not in err


def test_arrhenius_without_recorded_temperatures_exits_2(capsys, series_csvs) -> None:
    paths, _ = series_csvs
    code, _, err = _run(capsys, "arrhenius", *paths, "--circuit", NZSP, *GEOMETRY)
    assert code == 2 and "no temperature given or recorded" in err


def test_arrhenius_unwritable_plot_exits_2(capsys, series_csvs, tmp_path: Path) -> None:
    paths, temps_c = series_csvs
    plot = tmp_path / "no" / "such" / "dir" / "plot.png"
    argv = ["arrhenius", *paths[:3], "--temperature-c", *temps_c[:3], "--circuit", NZSP]
    code, out, err = _run(capsys, *argv, *GEOMETRY, "--plot", str(plot))
    assert (code, out) == (2, "") and f"--plot {plot}" in err and "Traceback" not in err


CUSTOM_MODEL = """
name = "my-nzsp"
circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
description = "NZSP without a lead inductance"
reference = "this test"
[roles]
R0 = "bulk"
R1 = "grain_boundary"
R2 = "soli"
"""


def test_models_dir_adds_a_user_model(capsys, nzsp_csv: Path, tmp_path: Path) -> None:
    (tmp_path / "my.toml").write_text(CUSTOM_MODEL, encoding="utf-8")
    code, out, _ = _run(capsys, "models", "--models-dir", str(tmp_path))
    assert code == 0 and "my-nzsp: R0-p(R1,CPE1)-p(R2,CPE2)" in out and "gb-soli" in out
    argv = ["fit", str(nzsp_csv), "--model", "my-nzsp", "--models-dir", str(tmp_path)]
    code, out, err = _run(capsys, *argv, *GEOMETRY, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["model"] == "my-nzsp"
    assert [c["role"] for c in data["contributions"]] == ["bulk", "grain_boundary", "soli"]
    code, _, err = _run(capsys, "fit", str(nzsp_csv), "--model", "my-nzsp")
    assert code == 2 and "my-nzsp" in err  # not packaged: needs --models-dir


def test_a_blocking_spike_is_printed_as_infinite_resistance_not_undetermined(
    capsys, tmp_path: Path
) -> None:
    values = {"R0.R": 5.0, "R1.R": 2e4, "CPE1.Q": 2e-10, "CPE1.n": 0.9,
              "CPE2.Q": 1e-6, "CPE2.n": 0.85}  # fmt: skip
    spectrum = simulate("R0-p(R1,CPE1)-CPE2", values, np.logspace(6, -1, 57), noise=0.003,
                        rng=np.random.default_rng(5))  # fmt: skip
    path = write_csv([spectrum], tmp_path / "blocking.csv")
    _, out, _ = _run(capsys, "fit", str(path), "--model", "blocking", *GEOMETRY)
    line = next(x for x in out.splitlines() if x.strip().startswith("electrode"))
    assert "R = inf (blocking)" in line and "undetermined" not in line
