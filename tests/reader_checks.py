"""Checks every reader test module runs: fuzzing, the real-data MANIFEST, the peer readers.

* Real data: `REAL` (``../shared/real-data`` beside the repository; absent in a fresh
  clone, so every test using it is skipped: `NO_REAL`), `manifest` / `manifest_rows`
  (rows of its ``MANIFEST.tsv``), `row_id`, `check_real_export` (one MANIFEST row read
  by one reader: the expected number of spectra, detection, the peers).
* Comparing: `assert_exact` (identical points), `assert_exact_spectra` (lists of them),
  `assert_read_error` (the error, the file and the line).
* Peers: `assert_same_as_pyimpspec` (pyimpspec's ``parse_data``), `impedance_py`
  (impedance.py's ``readFile``), `check_peers` (both, where the MANIFEST says the peer
  reads the file ``ok``).
* Fuzzing: a reader must return spectra or raise an `EisfitError`, never anything else
  (`read_outcome`).  Test factories build the hypothesis tests a module assigns to a
  ``test_*`` name: `mutation_fuzz` (truncation, byte flips, an inserted chunk; several
  writers), `corruption_fuzz` (truncation, replaced bytes, a tail; one valid file),
  `random_content_fuzz` (random bytes or text) and `sniffers_never_raise`;
  `truncate_and_flip` damages a file inside a test's own ``st.data()`` draws, and
  `assert_sniffers_reject` checks that a plain CSV and prose score low.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eisfit.io
from eisfit import EisfitError, ReadError, Spectrum
from eisfit.io import FileFormat

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
NO_REAL = pytest.mark.skipif(not REAL.exists(), reason="../shared/real-data not present")
PLAIN_CSV = b"frequency_hz,z_real_ohm,z_imag_ohm\n1000.0,1.0,-2.0\n100.0,2.0,-3.0\n"
TEXT_OR_BYTES = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
CHUNK = st.binary(max_size=12)  # what mutation_fuzz inserts by default

Reader = Callable[[Path], list[Spectrum]]

# --- the real-data MANIFEST ------------------------------------------------------------


def manifest() -> list[dict[str, str]]:
    """Every row of ``MANIFEST.tsv`` ([] without the real-data folder)."""
    if not REAL.exists():
        return []
    with (REAL / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def manifest_rows(*keywords: str) -> list[dict[str, str]]:
    """MANIFEST rows whose format column contains one of ``keywords`` ([] without data)."""
    return [r for r in manifest() if any(k in r["format"] for k in keywords)]


def row_id(row: dict[str, str]) -> str:
    return row["path"].split("/", 1)[0].split("__")[-1] + ":" + row["path"].rsplit("/", 1)[-1]


def check_real_export(row: dict[str, str], read: Reader, name: str) -> None:
    """The file of a MANIFEST row: ``n_spectra_guess`` spectra (0: `ReadError`), sniffed
    (>= 0.9) and detected as format ``name``, equal to the peers (`check_peers`)."""
    path = REAL / row["path"]
    expected = int(row["n_spectra_guess"])
    if expected == 0:
        with pytest.raises(ReadError):
            read(path)
        return
    spectra = read(path)
    assert len(spectra) == expected
    sniff = next(f for f in eisfit.io.formats() if f.name == name).sniff
    assert sniff(path.read_bytes()[:65536], path.name.lower()) >= 0.9
    assert eisfit.io.detect(path) == name
    check_peers(row, spectra)


# --- comparing spectra, errors ---------------------------------------------------------


def assert_exact(got: Spectrum, want: Spectrum) -> None:
    """Identical frequencies and impedances (a lossless round trip)."""
    np.testing.assert_array_equal(got.frequency_hz, want.frequency_hz)
    np.testing.assert_array_equal(got.impedance_ohm, want.impedance_ohm)


def assert_exact_spectra(read: Sequence[Spectrum], written: Sequence[Spectrum]) -> None:
    """As many spectra, each identical (`assert_exact`) and numbered 0, 1... in order."""
    assert len(read) == len(written)
    for index, (got, want) in enumerate(zip(read, written, strict=True)):
        assert_exact(got, want)
        assert got.meta.index == index


def assert_read_error(read: Reader, path: Path, message: str, line: int | None) -> ReadError:
    """``read(path)`` raises a `ReadError` matching ``message`` naming the file and ``line``."""
    with pytest.raises(ReadError, match=message) as info:
        read(path)
    assert info.value.path == str(path)
    assert info.value.line == line
    return info.value


# --- peer readers ----------------------------------------------------------------------


def assert_same(spectrum: Spectrum, frequency: np.ndarray, impedance: np.ndarray) -> None:
    np.testing.assert_allclose(spectrum.frequency_hz, frequency, rtol=1e-9, atol=0)
    np.testing.assert_allclose(spectrum.impedance_ohm, impedance, rtol=1e-9, atol=0)


def assert_same_as_pyimpspec(
    path: Path, spectra: Sequence[Spectrum], *, exact_frequency: bool = False, sort: bool = False
) -> None:
    """pyimpspec's ``parse_data`` gives as many data sets, with the same points (rtol 1e-9;
    ``exact_frequency``: identical frequencies; ``sort``: ours sorted by falling frequency,
    as pyimpspec orders every data set).  Skipped without pyimpspec."""
    pyimpspec = pytest.importorskip("pyimpspec")
    references = pyimpspec.parse_data(str(path))
    assert len(references) == len(spectra)
    for spectrum, reference in zip(spectra, references, strict=True):
        ours = spectrum.sorted(descending=True) if sort else spectrum
        if exact_frequency:
            np.testing.assert_array_equal(ours.frequency_hz, reference.get_frequencies())
        else:
            np.testing.assert_allclose(ours.frequency_hz, reference.get_frequencies(), rtol=1e-9)
        np.testing.assert_allclose(ours.impedance_ohm, reference.get_impedances(), rtol=1e-9)


def impedance_py(path: Path, instrument: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and impedances as impedance.py's ``readFile`` reads them."""
    from impedance.preprocessing import readFile

    frequency, impedance = readFile(str(path), instrument=instrument)
    return np.asarray(frequency), np.asarray(impedance)


def check_peers(row: dict[str, str], spectra: list[Spectrum]) -> None:
    """Where the MANIFEST says a peer reads the file ``ok``, eisfit must agree with it."""
    path = REAL / row["path"]
    verdict = row["impedance.py readFile"]
    if verdict.startswith("[instrument=") and "] ok" in verdict:
        instrument = verdict.split("]")[0].split("=")[1]
        frequency, impedance = impedance_py(path, None if instrument == "None" else instrument)
        assert len(spectra) == 1
        assert_same(spectra[0], frequency, impedance)
    if row["pyimpspec parse_data"].startswith("ok"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same_as_pyimpspec(path, spectra, sort=True)


# --- fuzzing ---------------------------------------------------------------------------


def read_outcome(
    read: Reader,
    path: Path,
    *,
    names_file: bool = False,
    read_error: bool = False,
    count: int | None = None,
    nonempty: bool = False,
) -> list[Spectrum] | EisfitError:
    """Read ``path``: a list of spectra or an `EisfitError` (returned); anything else fails.

    ``names_file``: the error message names the file; ``read_error``: the error is a
    `ReadError`; ``count``: exactly that many spectra; ``nonempty``: at least one.
    """
    try:
        spectra = read(path)
    except EisfitError as exc:
        assert not read_error or isinstance(exc, ReadError)
        assert not names_file or str(path) in str(exc)
        return exc
    assert isinstance(spectra, list)
    assert all(isinstance(s, Spectrum) for s in spectra)
    assert count is None or len(spectra) == count
    assert not nonempty or spectra
    return spectra


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]], insert: tuple[int, bytes]) -> bytes:
    """``data`` truncated at ``cut``, with byte flips and one inserted chunk."""
    out = bytearray(data[: max(cut, 0)])
    for position, value in flips:
        if out:
            out[position % len(out)] = value
    where, chunk = insert
    position = where % (len(out) + 1)
    return bytes(out[:position]) + chunk + bytes(out[position:])


def corrupt(data: bytes, cut: int, edits: list[tuple[int, bytes]], tail: bytes) -> bytes:
    """``data`` truncated at ``cut``, single bytes replaced by 0-3 bytes, ``tail`` added."""
    out = bytearray(data[:cut])
    for position, replacement in edits:
        out[position : position + 1] = replacement
    return bytes(out) + tail


def truncate_and_flip(data: st.DataObject, original: bytes) -> bytes:
    """``original`` truncated and up to four bytes overwritten, drawn from ``data``."""
    content = bytearray(original[: data.draw(st.integers(0, len(original)))])
    for _ in range(data.draw(st.integers(0, 4))):
        if content:
            content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.integers(0, 255))
    return bytes(content)


def mutation_fuzz(
    cases: Mapping[str, tuple[Callable[[Path], Path], Reader]],
    *,
    cut: int,
    span: int,
    chunk: st.SearchStrategy[bytes] = CHUNK,
) -> Callable[..., None]:
    """A test over ``cases`` (kind -> (write a file to this path, reader)): each written file
    truncated at 0..``cut``, with byte flips and a ``chunk`` inserted at 0..``span``, reads
    to spectra or an `EisfitError`."""

    @pytest.mark.parametrize("kind", sorted(cases))
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        cut=st.integers(0, cut),
        flips=st.lists(st.tuples(st.integers(0, span), st.integers(0, 255)), max_size=4),
        insert=st.tuples(st.integers(0, span), chunk),
    )
    def test(tmp_path: Path, kind: str, cut: int, flips, insert) -> None:
        write, read = cases[kind]
        path = write(tmp_path / f"fuzz-{kind}")
        path.write_bytes(mutate(path.read_bytes(), cut, flips, insert))
        read_outcome(read, path)

    return test


def corruption_fuzz(
    read: Reader,
    valid: bytes,
    name: str,
    *,
    examples: int = 150,
    count: int | None = None,
    nonempty: bool = False,
) -> Callable[..., None]:
    """A test: ``valid`` truncated, with replaced bytes and a random tail, saved as ``name``,
    reads to spectra (``count``, ``nonempty``: see `read_outcome`) or a `ReadError` naming
    the file."""

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        cut=st.integers(0, len(valid)),
        edits=st.lists(
            st.tuples(st.integers(0, len(valid) - 1), st.binary(max_size=3)), max_size=4
        ),
        tail=st.binary(max_size=20),
    )
    def test(tmp_path_factory: pytest.TempPathFactory, cut: int, edits, tail: bytes) -> None:
        path = tmp_path_factory.mktemp("fuzz") / name
        path.write_bytes(corrupt(valid, cut, edits, tail))
        read_outcome(read, path, names_file=True, read_error=True, count=count, nonempty=nonempty)

    return test


def random_content_fuzz(
    read: Reader,
    name: str,
    *,
    content: st.SearchStrategy[bytes] = TEXT_OR_BYTES,
    sniff: Callable[[bytes, str], float] | None = None,
    examples: int = 100,
    count: int | None = None,
    nonempty: bool = False,
) -> Callable[..., None]:
    """A test: random ``content`` saved as ``name`` reads to spectra (``count``,
    ``nonempty``: see `read_outcome`) or a `ReadError` naming the file; ``sniff`` scores it
    in [0, 1]."""

    @settings(max_examples=examples, deadline=None)
    @given(data=content)
    def test(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
        path = tmp_path_factory.mktemp("bytes") / name
        path.write_bytes(data)
        read_outcome(read, path, names_file=True, read_error=True, count=count, nonempty=nonempty)
        if sniff is not None:
            assert 0.0 <= sniff(data, name) <= 1.0

    return test


def sniffers_never_raise(formats: Sequence[FileFormat], names: list[str]) -> Callable[..., None]:
    """A test: every sniffer of ``formats`` scores random heads in [0, 1] without raising."""

    @settings(max_examples=200, deadline=None)
    @given(head=st.binary(max_size=300), name=st.sampled_from(names))
    def test(head: bytes, name: str) -> None:
        for fmt in formats:
            assert 0.0 <= fmt.sniff(head, name) <= 1.0

    return test


def assert_sniffers_reject(
    formats: Sequence[FileFormat], prose: bytes, *, plain: bytes = PLAIN_CSV
) -> None:
    """Every sniffer of ``formats`` scores a plain CSV and a text file below 0.3."""
    for fmt in formats:
        for head, name in ((plain, "data.csv"), (prose, "notes.txt")):
            assert fmt.sniff(head, name) < 0.3
