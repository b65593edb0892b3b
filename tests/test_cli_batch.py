"""``eisfit batch`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import eisfit.cli.main as cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"


def test_batch_writes_results_and_summary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["batch", str(SAMPLES / "na_nzsp_na_cycling.csv"), str(tmp_path / "nope.csv")]
    argv += ["--model", "gb-soli", "--area-cm2", "1", "--thickness-cm", "0.1"]
    argv += ["--report-spectra", "2", "--no-pdf"]
    code = cli.main([*argv, "--out", str(out), "--jobs", "2"])
    text = capsys.readouterr().out
    assert code == 0
    assert "24 ok, 0 failed, 1 error" in text
    assert "R_soli growth law" in text
    assert f"report: {out / 'report.html'} (2 spectra drawn in full;" in text
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == 25 and (out / "trends.json").exists()
    assert "nope.csv" in (out / "report.html").read_text(encoding="utf-8")
    assert cli.main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(24 reused)" in text and "is up to date" in text


def test_batch_exit_1_when_nothing_fitted(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.mpt"
    junk.write_text("EC-Lab ASCII FILE\nNb header lines : 99\n")
    code = cli.main(["batch", str(junk), "--circuit", "R0-p(R1,C1)", "--out", str(tmp_path / "o")])
    assert code == 1
    assert "0 ok, 0 failed, 1 error" in capsys.readouterr().out


def test_batch_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    base = ["batch", str(SAMPLES / "na_nzsp_na_cycling.csv"), "--out", str(tmp_path)]
    assert cli.main([*base, "--circuit", "R0-p(R1"]) == 2
    assert cli.main([*base, "--model", "gb-soli", "--area-cm2", "1"]) == 2
    assert cli.main([*base, "--model", "gb-soli", "--jobs", "0"]) == 2
    assert cli.main(["batch", "x.csv", "--circuit", "R0"]) == 2  # no --out
    capsys.readouterr()


def test_batch_from_a_config_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    config = tmp_path / "run.toml"
    config.write_text(
        f'paths = ["{SAMPLES / "na_nzsp_na_cycling.csv"}"]\nmodel = "gb-soli"\n'
        f'area_cm2 = 2.0\nthickness_cm = 0.1\nsymmetric = false\nout = "{out}"\njobs = 1\n'
        "report = false\n"
    )
    assert cli.main(["batch", "--config", str(config)]) == 0
    assert "24 ok" in capsys.readouterr().out
    assert not (out / "report.html").exists()
    frame = pd.read_csv(out / "results.csv")
    # one interface of 2 cm2: ASR = R x A, not halved
    assert frame["asr_soli_ohm_cm2"].to_numpy() == pytest.approx(2 * frame["R_soli_ohm"])


def test_batch_config_errors_exit_2(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    for text in ('colour = "red"\n', "jobs = true\n", "model = [\n", 'model = "gb-soli"\n'):
        config.write_text(text)
        assert cli.main(["batch", "--config", str(config)]) == 2
    assert "error" in capsys.readouterr().err


def test_batch_cell_by_option_and_config(tmp_path: Path, capsys) -> None:
    (tmp_path / "run").mkdir()
    source = (SAMPLES / "na_nzsp_na_cycling.csv").read_text()
    for name in ("a.csv", "b.csv"):
        (tmp_path / "run" / name).write_text(source)
    argv = ["batch", str(tmp_path / "run"), "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)"]
    argv += ["--no-report"]
    assert cli.main([*argv, "--out", str(tmp_path / "o1"), "--jobs", "1"]) == 0
    assert "cells: 1 (by folder)" in capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "o1" / "results.csv")
    assert set(frame["cell"]) == {str(tmp_path / "run")}
    assert (frame["start_path"] == "fresh").sum() == 1
    argv += ["--out", str(tmp_path / "o2"), "--jobs", "1", "--cell-by", "file"]
    assert cli.main(argv) == 0
    assert "cells: 2 (by file)" in capsys.readouterr().out
    config = tmp_path / "run.toml"
    config.write_text('cell_by = "cycle"\n')
    assert cli.main([*argv[:-2], "--config", str(config)]) == 2
    assert "cell_by must be one of" in capsys.readouterr().err


def test_batch_progress_flags_and_config(tmp_path: Path, capsys) -> None:
    argv = ["batch", str(SAMPLES / "na_nzsp_na_single.csv"), "--circuit", "R0-p(R1,CPE1)"]
    argv += ["--out", str(tmp_path / "o"), "--jobs", "1", "--no-report"]
    assert cli.main([*argv, "--progress"]) == 0
    assert "1/1" in capsys.readouterr().err
    assert cli.main([*argv, "--no-progress"]) == 0
    assert cli.main(argv) == 0  # stderr is no terminal under pytest: quiet
    assert capsys.readouterr().err == ""
    config = tmp_path / "run.toml"
    config.write_text("progress = true\n")
    assert cli.main([*argv, "--config", str(config)]) == 0
    assert "1/1" in capsys.readouterr().err
    assert cli.main([*argv, "--config", str(config), "--no-progress"]) == 0  # flag wins
    assert capsys.readouterr().err == ""
    config.write_text('progress = "yes"\n')
    assert cli.main([*argv, "--config", str(config)]) == 2
    assert "progress has the wrong type" in capsys.readouterr().err


def test_batch_scheduler_without_a_cluster_is_exit_2(tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed")
    argv = ["batch", str(SAMPLES / "na_nzsp_na_single.csv"), "--circuit", "R0-p(R1,CPE1)"]
    argv += ["--out", str(tmp_path), "--scheduler", "not-an-address"]
    assert cli.main(argv) == 2
    assert "Dask scheduler" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["missing", "empty folder", "dot files only", "glob"])
def test_batch_with_nothing_to_read_exits_2_naming_the_path(
    tmp_path: Path, capsys, kind: str
) -> None:
    source = {
        "missing": tmp_path / "missing.csv",
        "empty folder": tmp_path / "empty",
        "dot files only": tmp_path / "hidden",
        "glob": tmp_path / "run" / "*.mpt",
    }[kind]
    (tmp_path / "empty").mkdir()
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".DS_Store").write_text("x")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "a.csv").write_text("f,Z',Z''\n1,2,-3\n2,3,-4\n")  # not *.mpt
    out = tmp_path / "out"
    code = cli.main(["batch", str(source), "--circuit", "R0-p(R1,C1)", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(f"eisfit: error: nothing to fit: {source}: ")
    reason = {"missing": "no such file", "glob": "no file matches this pattern"}
    assert reason.get(kind, "folder holds no files") in captured.err
    assert not out.exists()  # no empty results.csv, no empty report


def test_batch_names_every_source_when_none_holds_a_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    sources = [str(tmp_path / "nope.mpt"), str(tmp_path / "empty"), str(tmp_path / "*.z")]
    code = cli.main(["batch", *sources, "--circuit", "R0", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert all(source in err for source in sources)


def test_batch_config_paths_that_hold_nothing_exit_2(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'paths = ["{tmp_path / "gone"}"]\ncircuit = "R0"\nout = "{tmp_path}/o"\n')
    assert cli.main(["batch", "--config", str(config)]) == 2
    assert f"nothing to fit: {tmp_path / 'gone'}: no such file" in capsys.readouterr().err


def test_batch_summary_and_exit_code_speak_the_status_vocabulary(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """A run whose rows are all ``warning`` (usable, with reasons) has fitted spectra: exit
    0, and the summary counts them instead of saying "0 ok, 0 failed, 0 error"."""
    import eisfit.cli.batch as cli_batch

    def summary_of(statuses: list[str]) -> str:
        frame = pd.DataFrame({
            "status": statuses, "reused": [False] * len(statuses),
            "start_path": ["fresh"] * len(statuses), "cell": ["c"] * len(statuses),
            "time_source": ["file_order"] * len(statuses),
        })  # fmt: skip
        args = cli_batch.argparse.Namespace(cell_by=None, out=str(tmp_path))
        # private: the summary is wrapped to observe it; no public hook exists
        return cli_batch._summary(frame, args)

    text = summary_of(["warning", "undetermined", "ok", "error"])
    assert text.startswith("4 rows: 1 ok, 1 warning, 1 undetermined, 0 failed, 1 error (0 reused)")
    assert "time from: file_order" in summary_of(["warning"])
    assert summary_of(["ok", "failed"]).startswith("2 rows: 1 ok, 1 failed, 0 error")
    assert [cli_batch.batch_exit_code(pd.Series(s)) for s in (
        ["warning", "failed"], ["ok"], ["undetermined", "failed"], ["error"], [],
    )] == [0, 0, 1, 1, 1]  # fmt: skip
