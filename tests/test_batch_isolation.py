"""One bad spectrum costs one row (issue 13, item 1): Z = 0 points, crashes inside a fit."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

import eisfit.fitting.api
from eisfit import Cell, Spectrum, SpectrumMeta, fit
from eisfit.errors import FitInputError
from eisfit.fitting.weighting import usable_points
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import Arc, SyntheticCell, simulate

FREQ = np.logspace(6, -1, 50)
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
T0 = datetime(2026, 1, 1)


def _spectra(n: int, seed: int = 4) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    return [
        simulate(CELL.circuit, CELL.values, FREQ, noise=0.003, rng=rng,
                 meta=SpectrumMeta(source="cellA", index=i, timestamp=T0 + timedelta(hours=i)))
        for i in range(n)
    ]  # fmt: skip


def _with_zero(spectrum: Spectrum, at: list[int]) -> Spectrum:
    z = np.array(spectrum.impedance_ohm)
    z[at] = 0.0
    return Spectrum(spectrum.frequency_hz, z, spectrum.meta)


@pytest.mark.parametrize("weighting", ["modulus", "proportional"])
def test_zero_points_are_removed_with_a_reason(weighting: str) -> None:
    spectrum = _with_zero(_spectra(1)[0], [10, 30])
    result = fit(spectrum, CELL.circuit, weighting=weighting, kk=True)
    assert result.status != "failed"  # a fit of the rest (how sharp depends on the weighting)
    assert len(result.spectrum) == len(FREQ) - 2
    said = " ".join(result.spectrum.meta.removed)
    assert "2 points with Z = 0" in said and weighting in said


def test_unit_weighting_keeps_zero_points() -> None:
    spectrum = _with_zero(_spectra(1)[0], [10])
    assert usable_points(spectrum, "unit") is spectrum


def test_all_zero_is_a_clear_error() -> None:
    spectrum = _with_zero(_spectra(1)[0], list(range(len(FREQ))))
    with pytest.raises(FitInputError, match="every point has Z = 0"):
        usable_points(spectrum, "modulus")


def test_batch_with_a_zero_point_keeps_every_row() -> None:
    spectra = _spectra(4)
    spectra[2] = _with_zero(spectra[2], [5])
    settings = BatchSettings(CELL.circuit, cell=Cell(1.0, 0.1))
    frame = run_batch(spectra, settings, jobs=1)
    assert len(frame) == 4
    assert set(frame["status"]) <= {"ok", "warning"}
    assert "Z = 0" in frame.loc[frame["index"] == 2, "removed"].iloc[0]


def test_a_crash_inside_one_fit_is_that_row_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = eisfit.fitting.api.fit

    def flaky(spectrum, *args, **kwargs):
        if spectrum.meta.index == 1:
            raise ValueError("array must not contain infs or NaNs")
        if spectrum.meta.index == 2:
            raise MemoryError
        return real(spectrum, *args, **kwargs)

    monkeypatch.setattr(eisfit.fitting.api, "fit", flaky)
    frame = run_batch(_spectra(4), BatchSettings(CELL.circuit), jobs=1).set_index("index")
    assert frame.loc[0, "status"] in ("ok", "warning")
    assert frame.loc[3, "status"] in ("ok", "warning")
    assert frame.loc[1, "status"] == "failed"
    assert "ValueError: array must not contain infs" in frame.loc[1, "message"]
    assert "bug in eisfit" in frame.loc[1, "message"]
    assert frame.loc[2, "status"] == "failed"
    assert "not enough memory" in frame.loc[2, "message"]


def test_a_crash_while_reading_one_file_is_that_file_only(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eisfit.runs.plan
    from eisfit import write_csv

    for i, s in enumerate(_spectra(3)):
        write_csv(s, tmp_path / f"s{i}.csv")
    real = eisfit.runs.plan.cached_read

    def flaky(path, sha256, cache_dir):
        if path.name == "s1.csv":
            raise RuntimeError("boom")
        return real(path, sha256, cache_dir)

    monkeypatch.setattr(eisfit.runs.plan, "cached_read", flaky)
    frame = run_batch([tmp_path], BatchSettings(CELL.circuit), jobs=1, cell_by="file")
    assert len(frame) == 3
    bad = frame[frame["source"].str.endswith("s1.csv")]
    assert bad["status"].tolist() == ["error"]
    assert "RuntimeError: boom" in bad["message"].iloc[0] and "bug" in bad["message"].iloc[0]
    assert frame["status"].isin(["ok", "warning"]).sum() == 2


def test_the_cli_removes_zero_points_before_screening(tmp_path, capsys) -> None:
    from eisfit import write_csv
    from eisfit.cli.main import main

    spectra = _spectra(2)
    spectra[0] = _with_zero(spectra[0], [3])
    write_csv(spectra, tmp_path / "z.csv")
    for command in (
        ["fit", str(tmp_path / "z.csv"), "--circuit", CELL.circuit],
        ["kk", str(tmp_path / "z.csv")],
    ):
        assert main(command) in (0, 1)
        out = capsys.readouterr().out
        assert "removed 1 point with Z = 0" in out and "Traceback" not in out
        assert "not checked" not in out


def test_deeply_nested_toml_is_a_clear_error(tmp_path, capsys) -> None:
    from eisfit.cli.main import main

    deep = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
    (tmp_path / "run.toml").write_text(deep)
    assert main(["batch", "--config", str(tmp_path / "run.toml")]) == 2
    assert "nested too deeply" in capsys.readouterr().err
    models = tmp_path / "models"
    models.mkdir()
    (models / "deep.toml").write_text(deep)
    code = main(["fit", str(tmp_path / "none.csv"), "--model", "deep", "--models-dir",
                 str(models)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("eisfit: error:")


def test_ctrl_c_in_any_command_is_one_line_and_130(monkeypatch, capsys) -> None:
    import eisfit.cli.fit
    import eisfit.cli.main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(eisfit.cli.fit, "read", interrupted)
    assert eisfit.cli.main.main(["fit", "x.csv", "--circuit", "R0-p(R1,CPE1)"]) == 130
    assert capsys.readouterr().err == "eisfit: interrupted\n"
