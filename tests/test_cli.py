"""The command line (`eisfit.cli.main`) and the bundled sample spectra."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import eisfit.cli.main as cli
import eisfit.fitting.api
from eisfit import Spectrum, __version__, fit, read
from eisfit.io import read_csv, write_csv
from eisfit.synthetic import Arc, SyntheticCell, simulate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_spectra"
SAMPLE_FILES = (
    "na_nzsp_na_single.csv", "na_nzsp_na_cycling.csv", "ground_truth.json",
    *(f"cycling_mpt/na_nzsp_na_part{i}.mpt" for i in range(1, 5)),
)  # fmt: skip
CELL = SyntheticCell(1.5e-7, 150.0, (Arc(90.0, 3e5, 0.9), Arc(700.0, 200.0, 0.8)))
CIRCUIT = CELL.circuit
RESISTANCES = ("R0.R", "R1.R", "R2.R")

def _spectra(n: int, seed: int = 7) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    f = np.logspace(np.log10(7e6), -1, 79)
    return [simulate(CIRCUIT, CELL.values, f, noise=0.003, rng=rng) for _ in range(n)]


@pytest.fixture(scope="module")
def one_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(_spectra(1), tmp_path_factory.mktemp("cli") / "cell.csv")


@pytest.fixture(scope="module")
def two_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(_spectra(2, seed=8), tmp_path_factory.mktemp("cli") / "cells.csv")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_resistances(parameters: dict, truth: dict, rtol: float) -> None:
    for name in RESISTANCES:
        value = parameters[name]["value"]
        assert value == pytest.approx(truth[name], rel=rtol), name


def test_fit_json_recovers_the_truth(capsys, one_csv: Path) -> None:
    code, out, err = _run(capsys, "fit", str(one_csv), "--circuit", CIRCUIT, "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["success"] is True
    assert result["circuit"] == CIRCUIT and result["weighting"] == "modulus"
    assert result["source"] == str(one_csv) and result["index"] == 0
    _assert_resistances(result["parameters"], CELL.values, rtol=0.03)


def test_fit_human_output_and_options(capsys, one_csv: Path) -> None:
    argv = ["fit", str(one_csv), "--circuit", CIRCUIT, "--weighting", "proportional"]
    argv += ["--fix", "L0.L=1.5e-7", "--initial", "R2.R=500", "--initial", "CPE2.n = 0.75"]
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    for name in ("L0.L", "R0.R", "R1.R", "CPE1.Q", "CPE1.n", "R2.R", "CPE2.n", "(fixed)"):
        assert name in out
    assert "proportional weighting" in out


def test_fit_several_spectra_gives_a_json_list(capsys, two_csv: Path) -> None:
    argv = ["fit", str(two_csv), "--circuit", CIRCUIT, "--json", "--fix", "L0.L=1.5e-7"]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    results = json.loads(out)
    assert [r["index"] for r in results] == [0, 1]
    assert all(
        r["parameters"]["L0.L"] == {**r["parameters"]["L0.L"], "fixed": True} for r in results
    )
    code, out, _ = _run(capsys, *argv[:-3])
    assert out.count(f"== {two_csv}, spectrum ") == 2


def test_fit_not_converged_prints_the_result_and_exits_1(capsys, one_csv, monkeypatch) -> None:
    def failing_fit(*args, **kwargs):
        return dataclasses.replace(
            fit(*args, **kwargs), success=False, status="failed", message="not converged"
        )

    monkeypatch.setattr(eisfit.fitting.api, "fit", failing_fit)  # cli imports it per command
    code, out, err = _run(capsys, "fit", str(one_csv), "--circuit", CIRCUIT)
    assert (code, err) == (1, "")
    assert "not converged" in out and "R1.R" in out


def test_bad_circuit_exits_2_with_a_caret(capsys, one_csv: Path) -> None:
    code, out, err = _run(capsys, "fit", str(one_csv), "--circuit", "R0-p(R1,CPE1")
    assert (code, out) == (2, "")
    assert err.startswith("eisfit: error: ")
    assert "R0-p(R1,CPE1\n" in err and "^" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        ("R0.R=abc", "'abc' is not a number"),
        ("R0.R", "expects NAME=VALUE"),
        ("R0.R=nan", "must be finite"),
        ("X9.R=1", "X9.R"),
    ],
)
def test_bad_fix_values_exit_2(capsys, one_csv: Path, option: str, fragment: str) -> None:
    code, _, err = _run(capsys, "fit", str(one_csv), "--circuit", CIRCUIT, "--fix", option)
    assert code == 2
    assert err.startswith("eisfit: error: ") and fragment in err
    assert "Traceback" not in err


def test_missing_and_unreadable_files_exit_2(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    code, out, err = _run(capsys, "fit", str(missing), "--circuit", CIRCUIT)
    assert (code, out) == (2, "")
    assert err == f"eisfit: error: {missing}: no such file\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("f,Z',Z''\n1,2,x\n")
    code, _, err = _run(capsys, "kk", str(bad))
    assert code == 2 and f"{bad}, line 2:" in err


def test_usage_errors_and_version(capsys) -> None:
    assert cli.main(["fit"]) == 2
    assert "required" in capsys.readouterr().err
    assert cli.main(["fit", "x.csv", "--weighting", "sigma", "--circuit", "R0"]) == 2
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"eisfit {__version__}"


def test_kk_human_and_json(capsys, one_csv: Path, two_csv: Path) -> None:
    code, out, err = _run(capsys, "kk", str(one_csv))
    assert (code, err) == (0, "")
    assert out.startswith("lin-KK") and "consistent" in out
    code, out, _ = _run(capsys, "kk", str(two_csv), "--json")
    items = json.loads(out)
    assert code == 0 and [i["index"] for i in items] == [0, 1]
    assert all(i["valid"] and i["source"] == str(two_csv) for i in items)


def test_kk_failure_exits_1(capsys, tmp_path: Path) -> None:
    good = _spectra(1)[0]
    z = good.impedance_ohm.copy()
    z.real[40:] *= 1.5  # a jump in Z' alone breaks the Kramers-Kronig relations
    path = write_csv(Spectrum(good.frequency_hz, z), tmp_path / "drift.csv")
    code, out, _ = _run(capsys, "kk", str(path), "--json")
    assert code == 1 and json.loads(out)["valid"] is False


def test_fit_emits_no_runtime_warning() -> None:
    # warnings are errors in this project's pytest config: a leak would raise here
    fit(_spectra(1)[0], CIRCUIT, kk=False)


def test_python_dash_m_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "eisfit", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, f"eisfit {__version__}", "")


# --- bundled sample spectra -------------------------------------------------------------


def test_regenerating_the_samples_is_byte_identical(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in SAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
    assert sum((SAMPLES / name).stat().st_size for name in SAMPLE_FILES) < 400_000


def test_sample_ec_lab_copies_hold_the_csv_spectra_with_timestamps() -> None:
    truth = json.loads((SAMPLES / "ground_truth.json").read_text())
    copies = truth["cycling"]["ec_lab_copies"]
    spectra = [s for name in copies["files"] for s in read(SAMPLES / name)]
    reference = read_csv(SAMPLES / truth["cycling"]["file"])
    assert len(spectra) == len(reference) == 24
    start = datetime.fromisoformat(copies["run_start"])
    for spectrum, ref, t_h in zip(spectra, reference, truth["cycling"]["times_h"], strict=True):
        assert spectrum.meta.timestamp == start + timedelta(hours=t_h)
        np.testing.assert_allclose(spectrum.frequency_hz, ref.frequency_hz, rtol=1e-9)
        np.testing.assert_allclose(spectrum.impedance_ohm, ref.impedance_ohm, rtol=1e-8)


def test_sample_single_fit_recovers_ground_truth(capsys) -> None:
    truth = json.loads((SAMPLES / "ground_truth.json").read_text())
    path = SAMPLES / "na_nzsp_na_single.csv"
    code, out, _ = _run(capsys, "fit", str(path), "--circuit", truth["circuit"], "--json")
    assert code == 0
    _assert_resistances(json.loads(out)["parameters"], truth["single"]["values"], rtol=0.03)


def test_sample_cycling_file_layout_and_growth() -> None:
    truth = json.loads((SAMPLES / "ground_truth.json").read_text())
    cycling = truth["cycling"]
    spectra = read_csv(SAMPLES / cycling["file"])
    assert len(spectra) == cycling["n_spectra"] == len(cycling["times_h"]) == 24
    assert all(len(s) == truth["frequency"]["n_points"] for s in spectra)
    r2 = np.array(cycling["R2_ohm"])
    expected = cycling["R2_0_ohm"] + cycling["k_ohm_per_sqrt_h"] * np.sqrt(cycling["times_h"])
    np.testing.assert_allclose(r2, expected, rtol=1e-6)
    for i in (0, len(spectra) - 1):
        result = fit(spectra[i], truth["circuit"], kk=False)
        assert result.values["R2.R"] == pytest.approx(r2[i], rel=0.03)
        assert result.values["R0.R"] == pytest.approx(cycling["constant_values"]["R0.R"], rel=0.03)


@pytest.mark.parametrize("name", ["out.docx", "out.png", "out", "report.html.txt"])
def test_fit_report_with_an_unsupported_extension_is_refused_before_fitting(
    capsys, one_csv: Path, tmp_path: Path, monkeypatch, name: str
) -> None:
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before refusing --report")

    monkeypatch.setattr(eisfit.fitting.api, "fit", no_fit)
    target = tmp_path / name
    argv = ["fit", str(one_csv), "--circuit", CIRCUIT, "--report", str(target)]
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"eisfit: error: --report {target}: ")
    assert ".html, .htm (HTML) or .pdf (PDF)" in err and err.count("\n") == 1
    assert not target.exists()


@pytest.mark.parametrize("name", ["fit.HTML", "fit.htm", "sub/fit.PDF"])
def test_fit_report_extensions_are_case_insensitive(capsys, one_csv: Path, tmp_path, name) -> None:
    target = tmp_path / name
    code, _, err = _run(capsys, "fit", str(one_csv), "--circuit", CIRCUIT, "--report", str(target))
    assert (code, err) == (0, "")
    head = target.read_bytes()[:15]
    assert head.startswith(b"%PDF-") if name.lower().endswith(".pdf") else b"<!DOCTYPE" in head
