"""Data screening wired into fitting, the command line and the batch (issue 12, item 4).

`tests/test_screening.py` tests the detectors themselves; here: findings reach the fit's
status and reasons, ``--f-min/--f-max/--drop-flagged-points`` work on ``eisfit fit``,
``kk`` and ``batch`` (and its config), every removal is recorded, and a truncated sweep
is marked partial and kept out of trends and events.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.cli import main as cli
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import simulate

CIRCUIT = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
TRUTH = {
    "L0.L": 2e-7, "R0.R": 110.0, "R1.R": 80.0, "CPE1.Q": 1.8e-8, "CPE1.n": 0.9,
    "R2.R": 400.0, "CPE2.Q": 1.4e-5, "CPE2.n": 0.8,
}  # fmt: skip
F = np.logspace(6, -1, 57)


def _clean(seed: int = 1, f: np.ndarray = F, **meta) -> Spectrum:
    s = simulate(CIRCUIT, TRUTH, f, noise=0.003, rng=np.random.default_rng(seed))
    return s.with_meta(**meta) if meta else s


def _with_spike(seed: int = 1) -> Spectrum:
    s = _clean(seed)
    z = s.impedance_ohm.copy()
    z[30] *= 1.3  # one point 30 % off: a logging glitch
    return Spectrum(s.frequency_hz, z, s.meta)


def _csv(path: Path, spectrum: Spectrum) -> Path:
    eisfit.write_csv([spectrum], path)
    return path


def test_a_spike_makes_the_fit_a_warning_with_the_finding() -> None:
    result = eisfit.fit(_with_spike(), CIRCUIT)
    assert result.status == "warning"
    assert any("outlier" in r or "off the smooth curve" in r for r in result.reasons)
    assert [f["kind"] for f in result.to_dict()["findings"]] == ["outlier"]


def test_dropping_flagged_points_is_recorded_and_the_fit_is_clean(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path / "spike.csv", _with_spike())
    assert cli.main(["fit", str(path), "--circuit", CIRCUIT, "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["status"] == "warning" and kept["n_points"] == F.size
    code = cli.main(["fit", str(path), "--circuit", CIRCUIT, "--json", "--drop-flagged-points"])
    dropped = json.loads(capsys.readouterr().out)
    assert code == 0 and dropped["n_points"] == F.size - 1
    assert dropped["removed"] and "outlier" in dropped["removed"][0]
    assert dropped["chi2_per_point"] < kept["chi2_per_point"]


def test_cropping_is_recorded_in_the_fit_text(tmp_path: Path, capsys) -> None:
    path = _csv(tmp_path / "one.csv", _clean())
    assert cli.main(["fit", str(path), "--circuit", CIRCUIT, "--f-max", "1e5"]) in (0, 1)
    out = capsys.readouterr().out
    assert "removed before fitting: cropped" in out and "above" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--f-max", "-3"], "--f-max must be a frequency > 0"),
        (["--f-min", "1e5", "--f-max", "10"], "must be below --f-max"),
        (["--f-min", "1e9"], "leaves no point"),
    ],
)
def test_bad_crop_options_are_a_clear_error(tmp_path: Path, capsys, argv, fragment) -> None:
    path = _csv(tmp_path / "one.csv", _clean())
    commands = [["fit", str(path), "--circuit", CIRCUIT], ["kk", str(path)]]
    if "1e9" not in argv:  # in a batch, a spectrum cropped to nothing is one error row
        commands.append(["batch", str(path), "--circuit", CIRCUIT, "--out", str(tmp_path / "o")])
    for command in commands:
        assert cli.main([*command, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("eisfit: error: ") and fragment in err and "Traceback" not in err


def test_a_truncated_sweep_is_partial_and_left_out_of_trends_and_events(tmp_path: Path) -> None:
    """The issue's case: an export whose low-frequency half is missing became an ok row
    with R_SOLI 85 % off and raised a false jump at t = 0."""
    start = pd.Timestamp("2026-01-01 08:00").to_pydatetime()
    spectra = [
        _clean(seed, source="run.csv", index=i, timestamp=start + pd.Timedelta(hours=i))
        for i, seed in enumerate(range(10, 18))
    ]
    half = spectra[0]
    keep = half.frequency_hz >= 30.0
    spectra[0] = Spectrum(half.frequency_hz[keep], half.impedance_ohm[keep], half.meta)
    out = tmp_path / "out"
    frame = run_batch(spectra, BatchSettings(CIRCUIT), out_dir=out, jobs=1)
    first = frame.sort_values("time_h").iloc[0]
    assert bool(first["partial"]) and "truncated" in first["findings"]
    assert first["status"] in ("warning", "undetermined")
    assert "missing" in first["reasons"]
    assert not frame.sort_values("time_h").iloc[1:]["partial"].any()
    trends = json.loads((out / "trends.json").read_text())
    assert not [e for e in trends["events"] if math.isclose(e["time_h"], 0.0)]
    stored = pd.read_csv(out / "results.csv")
    assert stored["partial"].sum() == 1


def test_batch_crops_from_the_command_line_and_the_config(tmp_path: Path, capsys) -> None:
    (tmp_path / "cell").mkdir()
    path = _csv(tmp_path / "cell" / "one.csv", _clean())
    argv = ["batch", str(path), "--circuit", CIRCUIT, "--no-report", "--jobs", "1"]
    assert cli.main([*argv, "--out", str(tmp_path / "a"), "--f-min", "0.5"]) == 0
    row = pd.read_csv(tmp_path / "a" / "results.csv").iloc[0]
    assert "cropped" in row["removed"]
    config = tmp_path / "run.toml"
    config.write_text('f_min_hz = 0.5\nbounds = { "R2.R" = [0, 1e6] }\n')
    assert cli.main([*argv, "--out", str(tmp_path / "b"), "--config", str(config)]) == 0
    row_b = pd.read_csv(tmp_path / "b" / "results.csv").iloc[0]
    assert row_b["removed"] == row["removed"]
    config.write_text('bounds = { "R2.R" = "wide" }\n')
    assert cli.main([*argv, "--out", str(tmp_path / "c"), "--config", str(config)]) == 2
    assert "R2.R must be [low, high]" in capsys.readouterr().err


def test_a_crop_that_empties_one_spectrum_costs_one_row(tmp_path: Path) -> None:
    low = _clean(seed=3, f=np.logspace(2, -1, 20), source="low.csv")
    good = _clean(seed=4, source="good.csv")
    frame = run_batch([good, low], BatchSettings(CIRCUIT, f_min_hz=1e3), jobs=1)
    assert sorted(frame["status"]) == ["error", "warning"]  # the SOLI apex is cropped off
    error = frame[frame["status"] == "error"].iloc[0]
    assert "low.csv" in str(error["source"]) and "crop" in error["message"].lower()
