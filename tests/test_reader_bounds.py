"""Readers stop at the first line (or bytes) that cannot be their format (issue 13, item 6).

A 200 MB junk ``.mpt`` was refused on line 1 but read whole first (794 MB peak).  Here
junk files of 12 MB are read with every ``Path.open`` wrapped to count the bytes read:
each is refused after reading at most a few MiB (the 64 KiB head for detection, and a
1 MiB chunk or two), with the line where the reader stopped.  `iter_lines` must give
exactly the lines and text of the whole-file `decode` / `split_lines` / `check_text`,
whatever the chunk size, and a valid file read in tiny chunks gives the same spectra.
Memory itself is measured by ``bench/reader_memory_bench.py``, not here.
"""

from __future__ import annotations

import codecs
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_biologic import mpt_text
from fixtures_vendor_text import sample
from hypothesis import given, settings
from hypothesis import strategies as st

import eisfit
from eisfit import EisfitError, ReadError
from eisfit.io import read, read_csv, sniffing, textfile, write_csv
from eisfit.io.biologic_mpt import read_mpt

MIB = 1 << 20
SIZE = 12 * MIB
LIMIT = 3 * MIB  # the most any refusal may read: head, a chunk, the closest reader's chunk
MPT_COLUMNS = b"freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\r\n"
PRINTABLE = bytes(range(32, 127))
TABLE = bytes(PRINTABLE[i % len(PRINTABLE)] for i in range(256))


class _Counting:
    """A binary file handle that adds every byte it reads to ``counter[0]``."""

    def __init__(self, handle: Any, counter: list[int]) -> None:
        self._handle, self._counter = handle, counter

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._counter[0] += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, every binary ``Path.open`` counts what is read through it."""
    counter = [0]
    original = Path.open

    def counting_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = original(self, mode, *args, **kwargs)
        return _Counting(handle, counter) if "b" in mode and "r" in mode else handle

    monkeypatch.setattr(Path, "open", counting_open)
    return counter


def _junk(path: Path, size: int = SIZE, *, head: bytes = b"", newlines: bool = True) -> Path:
    """``head``, then random printable ASCII in lines of 80 characters (``size`` bytes)."""
    data = bytearray(np.random.default_rng(5).bytes(size - len(head)).translate(TABLE))
    if newlines:
        data[79::80] = b"\n" * len(data[79::80])
    path.write_bytes(head + bytes(data))
    return path


@pytest.fixture(scope="module")
def junk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _junk(tmp_path_factory.mktemp("junk") / "junk")


# --- junk of any extension is refused early ---------------------------------------------------

NAMES = [
    "x.mpt",
    "x.csv",
    "x.txt",
    "x.DTA",
    "x.z",
    "x",
    "x.P00",
    "x.dfr",
    "x.par",
    "x.i2b",
    "x.mps",
    "x.idf",
    "x.ism",
    "x.mpr",
    "x.pssession",
    "x.xlsx",
    "x.ods",
    "x.fods",
]


@pytest.mark.parametrize("name", NAMES)
def test_junk_of_any_extension_is_refused_after_reading_little(
    junk: Path, tmp_path: Path, name: str, bytes_read: list[int]
) -> None:
    path = tmp_path / name
    os.link(junk, path)  # the same 12 MB under every name
    with pytest.raises(EisfitError) as info:
        read(path)
    assert bytes_read[0] < LIMIT, f"{name}: read {bytes_read[0]} of {SIZE} bytes"
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("x.mpt", 1, "not an EC-Lab .mpt export"),
        ("x.csv", 1, "closest reader: csv"),  # no reader is confident: the closest one says
        ("x", 1, "closest reader: csv"),
        ("x.DTA", 1, "not a Gamry EXPLAIN file"),
        ("x.z", 1, "not a ZPLOT2 ASCII file"),
    ],
)
def test_the_refusal_names_the_line_where_reading_stopped(
    junk: Path, tmp_path: Path, name: str, line: int, message: str
) -> None:
    path = tmp_path / name
    os.link(junk, path)
    with pytest.raises(ReadError, match=message) as info:
        read(path)
    assert info.value.line == line


@pytest.mark.parametrize(
    ("name", "head", "line"),
    [
        ("h.mpt", b"EC-Lab ASCII FILE\r\nNb header lines : 3\r\n" + MPT_COLUMNS, 4),
        ("h.csv", b"frequency_hz,z_real_ohm,z_imag_ohm\n1000,1,-2\n", 3),
        ("h.DTA", b"EXPLAIN\r\nTAG\tEISPOT\r\n", 3),
        ("h.z", b"ZPLOT2 ASCII\nEnd Comments\n", 3),
        ("h.P00", b"Procedure : x\nf/Hz\tZ'/Ohm\t-Z''/Ohm\n3\n", 4),
        ("h.par", b"<Application>\nName=VersaStudio\n</Application>\n", 4),
    ],
)
def test_a_valid_start_then_junk_stops_at_the_first_junk_line(
    tmp_path: Path, name: str, head: bytes, line: int, bytes_read: list[int]
) -> None:
    path = _junk(tmp_path / name, head=head)
    bytes_read[0] = 0
    with pytest.raises(ReadError) as info:
        read(path)
    assert info.value.line == line
    assert bytes_read[0] < LIMIT


def test_a_header_count_beyond_the_junk_reads_it_all_in_bounded_pieces(
    tmp_path: Path, bytes_read: list[int]
) -> None:
    """``Nb header lines`` may hold anything: the settings block is read line by line (all
    of it, here), kept nowhere, and the file ends before the count: "truncated"."""
    head = b"EC-Lab ASCII FILE\r\nNb header lines : 99999999\r\n"
    path = _junk(tmp_path / "long.mpt", 2 * MIB, head=head)
    bytes_read[0] = 0
    with pytest.raises(ReadError, match="header announces 99999999 lines") as info:
        read_mpt(path)
    assert info.value.line == 2 and bytes_read[0] >= 2 * MIB


def test_a_line_longer_than_the_limit_is_refused_with_its_number(
    tmp_path: Path, bytes_read: list[int]
) -> None:
    path = _junk(tmp_path / "line.csv", 6 * MIB, head=b"f,Z',Z''\n", newlines=False)
    bytes_read[0] = 0
    with pytest.raises(ReadError, match="line longer than") as info:
        read(path, format="csv")
    assert info.value.line == 2
    assert bytes_read[0] <= textfile.MAX_LINE_BYTES + 2 * textfile.CHUNK_BYTES


def test_binary_readers_check_their_header_before_the_rest(
    tmp_path: Path, bytes_read: list[int]
) -> None:
    magic = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
    module = b"MODULE" + b"VMP data".ljust(10) + b"VMP data".ljust(25)
    module += struct.pack("<2I", 2**31, 3) + b"01/01/24"  # a body of 2 GiB announced
    mpr = tmp_path / "big.mpr"
    mpr.write_bytes(magic + module + bytes(SIZE))
    ism = tmp_path / "big.ism"
    ism.write_bytes(b"\x00\x00\xff\xff\xff\xfe" + (9_999_999).to_bytes(6, "big") + bytes(SIZE))
    bytes_read[0] = 0
    with pytest.raises(ReadError, match="module 'VMP data' needs 2147483648 bytes"):
        read(mpr)
    with pytest.raises(ReadError, match="truncated: 10000000 points need"):
        read(ism)
    assert bytes_read[0] < 2 * 65536 + 1024  # the two heads for detection, then headers


# --- iter_lines: the same lines and text as decoding the whole file ---------------------------

PIECES = [b"a", b"1.5", b"\t", b" ", b"\r", b"\n", b"\r\n", "°".encode(), b"\xb0", b"\x80",
          b"\x81", "€".encode(), b"\x00", b"\x0c", codecs.BOM_UTF8]  # fmt: skip


def _whole(path: Path) -> tuple[str, object]:
    """What the readers got before: decode, split and check the whole file."""
    try:
        data = path.read_bytes()
        text = sniffing.decode(data, path)
        return "lines", sniffing.check_text(sniffing.split_lines(text), path)
    except ReadError as exc:
        return "error", exc.line


def _streamed(path: Path) -> tuple[str, object]:
    try:
        return "lines", [text for _, text in sniffing.iter_lines(path)]
    except ReadError as exc:
        return "error", exc.line


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(PIECES), max_size=30),
    utf16=st.sampled_from([None, "utf-16-le", "utf-16-be"]),
    chunk=st.sampled_from([1, 2, 3, 7, 1 << 20]),
)
def test_iter_lines_equals_decoding_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], utf16: str | None, chunk: int
) -> None:
    data = b"".join(parts)
    if utf16 is not None:  # a BOM, then the text of the pieces (as latin-1) in UTF-16
        bom = codecs.BOM_UTF16_LE if utf16.endswith("le") else codecs.BOM_UTF16_BE
        data = bom + data.decode("latin-1").encode(utf16)
    path = tmp_path_factory.mktemp("lines") / "f.txt"
    path.write_bytes(data)
    saved = textfile.CHUNK_BYTES
    textfile.CHUNK_BYTES = chunk
    try:
        assert _streamed(path) == _whole(path)
    finally:
        textfile.CHUNK_BYTES = saved


def test_the_encoding_is_decided_for_the_whole_file_even_when_late(tmp_path: Path) -> None:
    """A UTF-8 '°' on line 1 and a cp1252 byte 3 MiB later: the whole file is cp1252 (as a
    whole-file decode says), not line 1 as UTF-8; a cp1252 '€' (0x80) early and a byte
    cp1252 cannot map late: latin-1 throughout."""
    filler = b"1,2,3\n" * (MIB // 2)
    cases = {
        "late.csv": "µ,°\n".encode() + filler + b"4,\xb5,6\n",
        "c1.csv": b"\x80,x\n" + filler + b"\x81\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        first = next(sniffing.iter_lines(path))[1]
        assert first == sniffing.decode(data, path).split("\n")[0], name
    assert next(sniffing.iter_lines(tmp_path / "late.csv"))[1] == "Âµ,Â°"


# --- a valid file reads the same, whatever the chunk size ---------------------------------------


@pytest.mark.parametrize("chunk", [5, 4096])
def test_valid_files_read_the_same_in_small_chunks(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    spectra = [sample(seed) for seed in range(40)]
    csv_path = write_csv(spectra, tmp_path / "many.csv")
    mpt_path = tmp_path / "many.mpt"
    mpt_path.write_bytes(mpt_text(spectra, decimal_comma=True).encode("cp1252"))
    expected = {p: eisfit.read(p) for p in (csv_path, mpt_path)}
    monkeypatch.setattr(textfile, "CHUNK_BYTES", chunk)
    for path, want in expected.items():
        got = read_csv(path) if path.suffix == ".csv" else read_mpt(path)
        assert len(got) == len(want) == 40
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a.frequency_hz, b.frequency_hz)
            np.testing.assert_array_equal(a.impedance_ohm, b.impedance_ohm)
            assert a.meta == b.meta


def test_a_valid_file_is_read_to_its_end(tmp_path: Path, bytes_read: list[int]) -> None:
    spectra = [sample(seed, n_points=60) for seed in range(500)]
    path = tmp_path / "big.mpt"
    path.write_bytes(mpt_text(spectra).encode("cp1252"))
    bytes_read[0] = 0
    assert len(read(path)) == 500
    assert path.stat().st_size > 2 * textfile.CHUNK_BYTES
    assert bytes_read[0] >= path.stat().st_size
