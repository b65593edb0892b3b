"""eisfit.io.read and friends: detection, forcing, safety net, batches, the ZView writer."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import read_outcome

import eisfit.io
from eisfit import ReadError, Spectrum, SpectrumError, SpectrumMeta
from eisfit.io import FileFormat, detect, iter_read, read, read_many, write_csv, write_zview
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(6, -1, 15)


def _spectra(n: int = 1, seed: int = 3) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    return [simulate(CELL.circuit, CELL.values, FREQ, noise=0.01, rng=rng) for _ in range(n)]


def _fake(name: str, score: float, *, read=None, extensions: tuple[str, ...] = ()) -> FileFormat:
    def sniff(head: bytes, filename: str) -> float:
        if score < 0:
            raise RuntimeError("sniffer bug")
        return score

    def default_read(path: Path) -> list[Spectrum]:
        return [Spectrum([1.0], [1.0], SpectrumMeta(source=str(path), extra={"by": name}))]

    return FileFormat(name, f"fake {name}", extensions, sniff, read or default_read)


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch):
    """Replace the registered formats by the given fakes."""

    def install(*fakes: FileFormat) -> None:
        monkeypatch.setattr(eisfit.io, "formats", lambda: fakes)

    return install


# --- discovery --------------------------------------------------------------------------


def test_every_reader_module_loads_and_names_are_unique() -> None:
    # private: the reader registry's import failures have no public view
    assert eisfit.io._discover()[1] == ()  # no module failed to import
    names = [f.name for f in eisfit.io.formats()]
    assert len(names) == len(set(names))
    for module in pkgutil.iter_modules(eisfit.io.__path__):
        loaded = importlib.import_module(f"eisfit.io.{module.name}")
        formats = getattr(loaded, "FORMATS", ())
        assert all(isinstance(f, FileFormat) for f in formats), module.name
        assert not formats or (loaded.__doc__ or "").strip(), f"{module.name}: no docstring"
        for fmt in formats:
            assert all(e.startswith(".") and e == e.lower() for e in fmt.extensions), fmt.name
    assert {"csv", "xlsx", "ods", "lcr-ztheta", "agilent-4294a", "novocontrol"} <= set(names)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.binary(max_size=300), name=st.sampled_from(["a.csv", "x", "b.z", "c.mpt", "d.xlsx"]))
def test_no_sniffer_raises_or_leaves_0_1(head: bytes, name: str) -> None:
    for fmt in eisfit.io.formats():
        score = fmt.sniff(head, name)
        assert 0.0 <= score <= 1.0, fmt.name


# --- read / detect ---------------------------------------------------------------------


def test_read_detects_by_content_even_without_extension(tmp_path: Path) -> None:
    spectra = _spectra(2)
    path = write_csv(spectra, tmp_path / "no_extension")
    assert detect(path) == "csv"
    back = read(path)
    assert [len(s) for s in back] == [15, 15]
    np.testing.assert_array_equal(back[1].impedance_ohm, spectra[1].impedance_ohm)
    assert read(str(path), format="csv")[0].meta.source == str(path)


def test_unknown_format_missing_file_directory_empty_and_unrecognised(tmp_path: Path) -> None:
    path = write_csv(_spectra(), tmp_path / "a.csv")
    with pytest.raises(ReadError, match=r"unknown format 'nope'; known: .*csv"):
        read(path, format="nope")
    for bad in (tmp_path / "missing.csv", tmp_path):
        with pytest.raises(ReadError, match=r"no such file|is a directory") as info:
            read(bad)
        assert info.value.path == str(bad)
        with pytest.raises(ReadError):
            read(bad, format="csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(eisfit.UnsupportedFormatError, match="empty file"):
        read(tmp_path / "empty.csv")
    (tmp_path / "notes.txt").write_text("Sample 3 was measured on Monday.\nSee the lab book.\n")
    with pytest.raises(
        eisfit.UnsupportedFormatError, match=r"not a recognised impedance export; tried: .*csv \("
    ) as info:
        detect(tmp_path / "notes.txt")
    assert info.value.path == str(tmp_path / "notes.txt")


def test_highest_score_wins_with_the_extension_bonus_and_ties_go_first(tmp_path, only) -> None:
    path = tmp_path / "run.abc"
    path.write_text("whatever")
    only(_fake("first", 0.5), _fake("second", 0.5), _fake("ext", 0.45, extensions=(".abc",)))
    assert detect(path) == "ext"
    only(_fake("first", 0.5), _fake("second", 0.5))
    assert read(path)[0].meta.extra["by"] == "first"
    only(_fake("low", 0.2), _fake("zero", 0.0, extensions=(".abc",)))
    with pytest.raises(eisfit.UnsupportedFormatError):
        read(path)  # 0.2 < threshold, and a 0 gets no bonus


def test_a_raising_sniffer_counts_as_no_match(tmp_path, only) -> None:
    path = tmp_path / "x.dat"
    path.write_text("1 2 3\n")
    only(_fake("buggy", -1.0), _fake("fine", 0.6))
    assert detect(path) == "fine"


@pytest.mark.parametrize(
    "error",
    [KeyError("col"), IndexError("list"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")],
)
def test_safety_net_turns_reader_bugs_into_read_errors(tmp_path, only, error) -> None:
    def broken(path: Path) -> list[Spectrum]:
        raise error

    path = tmp_path / "x.dat"
    path.write_text("1 2 3\n")
    only(_fake("broken", 0.9, read=broken))
    with pytest.raises(
        ReadError, match=rf"reader 'broken' failed \({type(error).__name__}"
    ) as info:
        read(path)
    assert info.value.path == str(path)
    assert isinstance(info.value.__cause__, type(error))


def test_reader_errors_pass_through_and_empty_results_are_errors(tmp_path, only) -> None:
    path = tmp_path / "x.dat"
    path.write_text("1 2 3\n")

    def refuse(p: Path) -> list[Spectrum]:
        raise ReadError(p, "no good", line=3)

    only(_fake("refuse", 0.9, read=refuse))
    with pytest.raises(ReadError, match=r"x\.dat, line 3: no good"):
        read(path)
    only(_fake("nothing", 0.9, read=lambda p: []))
    with pytest.raises(ReadError, match="found no spectra"):
        read(path)


# --- batches ---------------------------------------------------------------------------


def _tree(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    files = {
        "one": write_csv(_spectra(1, 1), tmp_path / "a1.csv"),
        "two": write_csv(_spectra(2, 2), tmp_path / "b" / "deep" / "a2.csv"),
        "three": write_csv(_spectra(1, 3), tmp_path / "b" / "a3.csv"),
    }
    (tmp_path / "b" / "bad.csv").write_text("f,Z',Z''\n1,2,x\n")
    return files


def test_read_many_with_paths_globs_and_directories(tmp_path: Path) -> None:
    files = _tree(tmp_path)
    assert len(read_many([files["one"], str(tmp_path / "b" / "**" / "a*.csv")])) == 4
    sources = [s.meta.source for s in read_many(tmp_path / "b" / "deep")]
    assert sources == [str(files["two"])] * 2
    with pytest.raises(ReadError, match=r"bad\.csv, line 2: non-numeric"):
        read_many(tmp_path)  # sorted walk: a1.csv, b/a3.csv, b/bad.csv -> raises there
    with pytest.raises(ReadError, match="no file matches"):
        read_many(str(tmp_path / "*.nothing"))


def test_iter_read_keeps_the_good_results(tmp_path: Path) -> None:
    files = _tree(tmp_path)
    results = list(iter_read([tmp_path, tmp_path / "missing.csv"]))
    paths = [p for p, _ in results]
    assert paths == [
        files["one"],
        files["three"],
        tmp_path / "b" / "bad.csv",
        files["two"],
        tmp_path / "missing.csv",
    ]
    kinds = [type(r).__name__ if isinstance(r, ReadError) else len(r) for _, r in results]
    assert kinds == [1, 1, "ReadError", 2, "ReadError"]


# --- ZView writer ----------------------------------------------------------------------


def test_write_zview_reads_back_exactly_with_impedance_py_and_eisfit(tmp_path: Path) -> None:
    from impedance.preprocessing import readFile

    spectrum = _spectra()[0].with_meta(timestamp=datetime(2024, 3, 5, 14, 7, 9))
    path = write_zview(spectrum, tmp_path / "cell.z")
    text = path.read_bytes().decode("ascii")
    assert text.startswith("ZPLOT2 ASCII\r\n") and "\r\nEnd Comments\r\n" in text
    assert "  Date:                       03-05-2024\r\n" in text
    f, z = readFile(str(path), instrument="zplot")
    np.testing.assert_array_equal(f, spectrum.frequency_hz)
    np.testing.assert_array_equal(z, spectrum.impedance_ohm)
    (back,) = read(path)
    np.testing.assert_array_equal(back.impedance_ohm, spectrum.impedance_ohm)
    assert back.meta.timestamp == spectrum.meta.timestamp
    with pytest.raises(SpectrumError, match="one Spectrum"):
        write_zview(_spectra(2), tmp_path / "two.z")


# --- fuzz through the whole dispatch -----------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), name=st.sampled_from(["f.csv", "f.txt", "f", "f.z", "f.ods"]))
def test_fuzz_read_gives_spectra_or_an_eisfit_error(
    tmp_path_factory, data: bytes, name: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    read_outcome(read, path, names_file=True, nonempty=True)


# --- refusals lead with the closest reader's reason -------------------------------------


def test_unrecognised_file_leads_with_the_closest_readers_reason(tmp_path: Path) -> None:
    path = tmp_path / "cycling.txt"
    path.write_text("Time\tEwe\tI\n0\t3.1\t0.001\n1\t3.2\t0.001\n")
    with pytest.raises(eisfit.UnsupportedFormatError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}, line 1: no frequency column among: 'Time', 'Ewe', 'I' (closest reader: csv);"
    )
    assert info.value.line == 1  # where the closest reader stopped
    assert "not a recognised impedance export; tried: " in message
    assert message.index("csv (") > message.index("tried: ")
    assert info.value.reason.startswith("no frequency column among")
    with pytest.raises(eisfit.UnsupportedFormatError, match="no frequency column among"):
        detect(path)


def test_refusal_when_the_closest_reader_would_read_the_file(tmp_path, only) -> None:
    path = tmp_path / "x.abc"
    path.write_text("whatever")
    only(_fake("timid", 0.1), _fake("none", 0.0))
    with pytest.raises(eisfit.UnsupportedFormatError) as info:
        read(path)
    assert str(info.value).startswith(
        f"{path}: no reader is confident; the closest, timid (0.10 < 0.25), reads it with "
        "read(path, format='timid');"
    )
    assert "tried: timid (any), none (any)" in str(info.value)


def test_refusal_without_any_candidate_keeps_the_plain_message(tmp_path, only) -> None:
    def boom(p: Path) -> list[Spectrum]:
        raise RuntimeError("reader bug")

    path = tmp_path / "x.abc"
    path.write_text("whatever")
    only(_fake("zero", 0.0, read=boom))
    with pytest.raises(eisfit.UnsupportedFormatError) as info:
        read(path)
    assert str(info.value) == f"{path}: not a recognised impedance export; tried: zero (any)"
    only(_fake("buggy", 0.1, read=boom))  # a reader bug is not a reason to show
    with pytest.raises(eisfit.UnsupportedFormatError) as info:
        read(path)
    assert str(info.value) == f"{path}: not a recognised impedance export; tried: buggy (any)"


def test_long_header_names_are_cut_in_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    names = [f"a long sentence of notes number {i} about the sample" for i in range(15)]
    path.write_text("\t".join(names) + "\n" + "\t".join(["1"] * 15) + "\n")
    with pytest.raises(eisfit.UnsupportedFormatError) as info:
        read(path)
    lead = str(info.value).split(" (closest reader: csv)")[0]
    assert lead.endswith("'a long sentence of notes numb...', ...")
    assert lead.count("'a long") == 12


def test_an_empty_folder_is_a_read_error_like_a_glob_matching_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    (tmp_path / "empty" / ".git" / "HEAD").write_text("ref")
    ((path, error),) = list(iter_read(tmp_path / "empty"))
    assert path == tmp_path / "empty" and isinstance(error, ReadError)
    assert str(error) == f"{tmp_path / 'empty'}: folder holds no files (dot files are skipped)"
    with pytest.raises(ReadError, match="folder holds no files"):
        read_many(tmp_path / "empty")
