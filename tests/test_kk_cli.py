"""``eisfit kk FILE`` on a many-spectrum file: labelled lines, JSON and exit codes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from eisfit.cli import main as cli
from eisfit.spectrum import Spectrum
from eisfit.synthetic import ec_lab_mpt_text, random_cell, simulate

FREQ = np.logspace(6, -1, 50)
START = datetime(2026, 3, 1, 9, 30)


def _good(rng: np.random.Generator, n: int) -> list[Spectrum]:
    cell = random_cell(rng, 2)
    return [simulate(cell.circuit, cell.values, FREQ, noise=0.005, rng=rng) for _ in range(n)]


def _write(spectra: list[Spectrum], path: Path) -> Path:
    hours = [float(i) for i in range(len(spectra))]
    path.write_text(ec_lab_mpt_text(spectra, START, hours), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_mpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four loops of one EC-Lab run: good, broken (Z' jumps by 20 %), good, 3 points."""
    good = _good(np.random.default_rng(2), 2)
    z = good[0].impedance_ohm.copy()
    z.real[30:] *= 1.2  # a jump in Z' alone breaks the Kramers-Kronig relations
    broken = Spectrum(FREQ, z)
    short = Spectrum(FREQ[:3], good[0].impedance_ohm[:3])
    return _write([good[0], broken, good[1], short], tmp_path_factory.mktemp("kk") / "run.mpt")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_each_line_names_its_spectrum_by_index_cycle_and_time(capsys, run_mpt: Path) -> None:
    code, out, err = _run(capsys, "kk", str(run_mpt))
    every = out.strip().splitlines()
    lines = [x for x in every if not x.startswith("  ")]  # indented: screening findings
    assert all(x.startswith(("  screening ", "  removed: ")) for x in every if x not in lines)
    assert "screening truncated" in out  # the 3-point spectrum beside its 60-point siblings
    assert err == "" and len(lines) == 5
    assert lines[0] == (
        f"lin-KK of {run_mpt}: 4 spectra, 2 consistent, 1 not consistent, 1 not checked"
    )
    for i, line in enumerate(lines[1:]):
        hour = 9 + i
        assert line.startswith(f"spectrum {i} (cycle {i + 1}, 2026-03-01 {hour:02d}:30:00): ")
    assert "-> consistent: residuals look like noise" in lines[1]
    assert "-> not consistent: " in lines[2]
    assert "-> consistent: " in lines[3]
    assert "not checked: lin-KK needs at least 5 points, got 3" in lines[4]
    assert code == 2  # a spectrum that cannot be checked is an error (eisfit.status)


def test_json_items_carry_label_status_and_the_kk_fields(capsys, run_mpt: Path) -> None:
    code, out, _ = _run(capsys, "kk", str(run_mpt), "--json")
    items = json.loads(out)
    assert code == 2 and [i["index"] for i in items] == [0, 1, 2, 3]
    assert [i["status"] for i in items] == ["ok", "failed", "ok", "error"]
    assert [i["cycle"] for i in items] == [1, 2, 3, 4]
    assert items[1]["timestamp"] == "2026-03-01T10:30:00"
    assert items[1]["label"] == "spectrum 1 (cycle 2, 2026-03-01 10:30:00)"
    assert items[1]["valid"] is False and items[1]["verdict"] == "not consistent"
    assert items[0]["noise_estimate"] == pytest.approx(0.005, rel=0.3)
    assert "needs at least 5 points" in items[3]["message"]


def test_exit_code_is_1_when_a_spectrum_is_not_consistent_or_undetermined(
    capsys, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    good = _good(rng, 2)
    z = good[1].impedance_ohm.copy()
    z.real[30:] *= 1.2
    path = _write([good[0], Spectrum(FREQ, z)], tmp_path / "two.mpt")
    code, out, _ = _run(capsys, "kk", str(path))
    assert code == 1 and "1 consistent, 1 not consistent" in out
    all_good = _write(good, tmp_path / "good.mpt")
    code, out, _ = _run(capsys, "kk", str(all_good))
    assert code == 0 and "2 consistent, 0 not consistent" in out
    cell = random_cell(rng, 2)
    noisy = simulate(cell.circuit, cell.values, FREQ, noise=0.12, rng=rng)
    code, out, _ = _run(capsys, "kk", str(_write([good[0], noisy], tmp_path / "noisy.mpt")))
    assert code == 1 and "1 consistent, 0 not consistent, 1 undetermined" in out


def test_fixed_residual_limit_option(capsys, tmp_path: Path) -> None:
    path = _write(_good(np.random.default_rng(4), 1), tmp_path / "one.mpt")
    code, out, _ = _run(capsys, "kk", str(path), "--residual-limit", "1e-5")
    assert code == 1 and "against the fixed 0.001 % limit" in out
    code, _, err = _run(capsys, "kk", str(path), "--residual-limit", "-1")
    assert code == 2 and err.startswith("eisfit: error: --residual-limit must be")
