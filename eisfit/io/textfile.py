"""Reading files as bytes and as lines of text, for the readers (`eisfit.io.sniffing`
re-exports all of it).

* `open_binary` opens a file and turns "missing", "a directory" and "no permission" into a
  `ReadError` naming the file; `read_bytes` reads it whole (binary formats, after their
  magic bytes were checked on `read_head`).
* `decode` turns bytes into text: a UTF-16 or UTF-8 byte-order mark is honoured, then
  UTF-8 is tried, then Windows-1252 (what European Windows installs write: ``°``, ``µ``,
  ``Ω`` in column names), then latin-1, which maps every byte and cannot fail.
* `split_lines` splits text on LF, CRLF or CR; `check_text` raises `ReadError` naming the
  1-based line of the first NUL or other C0 control character (other than tab, CR, LF,
  form feed): such a file is binary.
* `iter_lines` does all of these while reading: it yields ``(line number, text)`` from the
  open file, so a reader stops at the first line that cannot be its format after reading
  little of a large junk file (memory stays bounded: one chunk of `CHUNK_BYTES` and one
  line; a line longer than `MAX_LINE_BYTES` is refused).  Its decoding equals `decode`
  on the whole file (see `iter_lines`); `iter_line_blocks` gives the same lines a block
  at a time.  `text_lines` is the list of them, for small files.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from ..errors import ReadError

__all__ = [
    "CHUNK_BYTES",
    "CONTROL",
    "MAX_LINE_BYTES",
    "TEXT_ENCODINGS",
    "check_text",
    "decode",
    "file_size",
    "iter_line_blocks",
    "iter_lines",
    "open_binary",
    "read_bytes",
    "read_head",
    "split_lines",
    "text_lines",
]

CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_EOL_TEXT = re.compile(r"\r\n|\r|\n")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")  # bytes cp1252 does not map
_C1 = re.compile(rb"[\x80-\x9f]")  # the only bytes cp1252 and latin-1 decode differently

TEXT_ENCODINGS = ("utf-16", "utf-8", "cp1252", "latin-1")  # `decode`'s order
CHUNK_BYTES = 1 << 20  # bytes read at a time by `iter_lines`
MAX_LINE_BYTES = 1 << 20  # a longer line is not a line of a text table

_T = TypeVar("_T", bytes, str)


def open_binary(path: str | Path) -> BinaryIO:
    """The file opened for reading bytes, or `ReadError` for a missing file, a directory,
    no permission."""
    target = Path(path)
    if target.is_dir():
        raise ReadError(path, "is a directory, not a file")
    try:
        return target.open("rb")
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except OSError as exc:
        raise ReadError(path, f"cannot read the file: {exc.strerror or exc}") from None


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, or `ReadError` for a missing file, a directory, no permission."""
    with open_binary(path) as handle:
        return _read(handle, path, -1)


def read_head(path: str | Path, size: int) -> bytes:
    """The file's first ``size`` bytes (fewer for a shorter file), for a magic check before
    a binary reader reads the rest; `ReadError` as `read_bytes`."""
    with open_binary(path) as handle:
        return _read(handle, path, size)


def file_size(handle: BinaryIO) -> int:
    """The size in bytes of the open file ``handle``."""
    return os.fstat(handle.fileno()).st_size


def _read(handle: BinaryIO, path: str | Path, size: int) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise ReadError(path, f"cannot read the file: {exc.strerror or exc}") from None


def decode(data: bytes, path: str | Path) -> str:
    """Bytes to text (see the module docstring for the order of encodings tried)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise ReadError(path, f"undecodable UTF-16 text: {exc.reason}", line=line) from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def split_lines(text: str) -> list[str]:
    """``text`` split on LF, CRLF or CR, without the line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def check_text(
    lines: list[str], path: str | Path, *, control: re.Pattern[str] = CONTROL
) -> list[str]:
    """``lines`` as they are, or `ReadError` naming the first line holding a character of
    ``control`` (by default C0 controls but tab, CR, LF, form feed): not a text file."""
    for index, line in enumerate(lines, start=1):
        if bad := control.search(line):
            message = f"control character {ord(bad.group()):#04x}: not a text file (binary?)"
            raise ReadError(path, message, line=index)
    return lines


def text_lines(path: str | Path, data: bytes | None = None) -> list[str]:
    """The file's lines (without line ends), decoded and checked to be text (a list: for
    small files; readers use `iter_lines`)."""
    if data is not None:
        return check_text(split_lines(decode(data, path)), path)
    return [text for _, text in iter_lines(path)]


def iter_lines(
    path: str | Path,
    *,
    encodings: Sequence[str] = TEXT_ENCODINGS,
    control: re.Pattern[str] | None = CONTROL,
) -> Iterator[tuple[int, str]]:
    """``(1-based line number, text without its line end)`` of every line, read as needed.

    The lines and their numbers are those of `split_lines` (LF, CRLF or CR; a final line
    end gives a last empty line), the text that of `decode` on the whole file, with
    ``encodings`` tried in order (default `TEXT_ENCODINGS`; ``"utf-16"`` means: honour a
    UTF-16 byte-order mark).  Decoding is decided while reading: every encoding tried
    reads ASCII the same, so nothing is decided before the first non-ASCII line; if that
    line is UTF-8, the whole file is checked to be UTF-8 (in chunks, not kept) before it is
    used, as `decode` would; cp1252 and latin-1 differ only in bytes 0x80-0x9f, so the
    file is checked for the bytes cp1252 cannot decode only when such a line comes.  A
    line holding a character of ``control`` (default: C0 controls but tab, CR, LF, form
    feed; None: no check) raises `ReadError` naming it, as `check_text`; so does a line
    longer than `MAX_LINE_BYTES` (not a text table).  The file is closed when the
    iteration ends or is abandoned.
    """
    for first, lines in iter_line_blocks(path, encodings=encodings, control=control):
        yield from enumerate(lines, first)


def iter_line_blocks(
    path: str | Path,
    *,
    encodings: Sequence[str] = TEXT_ENCODINGS,
    control: re.Pattern[str] | None = CONTROL,
) -> Iterator[tuple[int, list[str]]]:
    """The lines of `iter_lines` (the same text, line numbers and errors, raised at the same
    point of the reading), a block at a time: ``(1-based number of the block's first line,
    its lines)``, a block being the whole lines that one read of `CHUNK_BYTES` completes.

    For readers that take many lines at once (a large .mpt): no Python step per line, and
    an ASCII block is checked on its bytes and split with ``str.splitlines`` (which splits
    it at the same places when it holds no form feed or other C0 separator), about eight
    times faster than the regular expressions `iter_lines` applies to every block.
    """
    done = [0]  # lines yielded so far, for the line of an error found while reading ahead
    with open_binary(path) as handle:
        first = _read(handle, path, max(CHUNK_BYTES, 2))  # 2: a byte-order mark
        if "utf-16" in encodings and first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            texts = _utf16_texts(path, handle, first, done)
            blocks: Iterator[tuple[str, bool]] = _blocks(path, texts, "\r", done)
        else:
            decoder = _LineDecoder(path, [e for e in encodings if e != "utf-16"])
            raw = _blocks(path, _chunks(path, handle, first), b"\r", done)
            blocks = ((decoder.text(block), final) for block, final in raw)
        for text, final in blocks:
            if (
                control is not None
                and not _clean_ascii(text, control)
                and (bad := control.search(text))
            ):
                line = done[0] + 1 + len(_EOL_TEXT.findall(text, 0, bad.start()))
                message = f"control character {ord(bad.group()):#04x}: not a text file"
                raise ReadError(path, message + " (binary?)", line=line)
            lines = _block_lines(text, final)
            if lines:
                yield done[0] + 1, lines
                done[0] += len(lines)


_SEPARATORS = "\x0b\x0c\x1c\x1d\x1e"  # ASCII line breaks of str.splitlines beyond CR, LF
_NOTCONTROL = bytes(b for b in range(128) if not CONTROL.match(chr(b)))


def _clean_ascii(text: str, control: re.Pattern[str]) -> bool:
    """Whether ``text`` is ASCII without a character of the default ``control`` pattern,
    judged on its bytes (False: not known, search it)."""
    return (
        control is CONTROL
        and text.isascii()
        and not text.encode("ascii").translate(None, _NOTCONTROL)
    )


def _block_lines(text: str, final: bool) -> list[str]:
    """The lines of a block as `iter_lines` cuts them (`_EOL_TEXT`; a block that is not
    the last ends with a line end, after which nothing is a line)."""
    if not final and text.isascii() and not any(c in text for c in _SEPARATORS):
        return text.splitlines()
    lines = _EOL_TEXT.split(text)
    if not final:
        lines.pop()
    return lines


def _chunks(path: str | Path, handle: BinaryIO, first: bytes) -> Iterator[bytes]:
    chunk = first
    while chunk:
        yield chunk
        chunk = _read(handle, path, CHUNK_BYTES)


def _blocks(
    path: str | Path, chunks: Iterator[_T], cr: _T, done: list[int]
) -> Iterator[tuple[_T, bool]]:
    """The stream cut after its last line end in each chunk: (block, False) for pieces of
    whole lines, then (the rest, True).  A CR ending a chunk is held back: it may be the
    first half of a CRLF.  A rest longer than `MAX_LINE_BYTES` raises `ReadError` (line
    ``done[0] + 1``: the lines before it were all yielded)."""
    lf = b"\n" if isinstance(cr, bytes) else "\n"
    pending = cr[:0]
    for chunk in chunks:
        data = pending + chunk
        limit = len(data) - 1 if data.endswith(cr) else len(data)
        cut = max(data.rfind(lf, 0, limit), data.rfind(cr, 0, limit)) + 1  # type: ignore[arg-type]
        pending = data[cut:]
        if len(pending) > MAX_LINE_BYTES:
            message = f"line longer than {MAX_LINE_BYTES} bytes: not a text table"
            raise ReadError(path, message, line=done[0] + 1)
        if cut:
            yield data[:cut], False
    yield pending, True


def _utf16_texts(
    path: str | Path, handle: BinaryIO, first: bytes, done: list[int]
) -> Iterator[str]:
    """The text of a file starting with a UTF-16 byte-order mark, decoded as it is read."""
    decoder = codecs.getincrementaldecoder("utf-16")()
    endian = "utf-16-le" if first.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
    for chunk in _chunks(path, handle, first):
        try:
            yield decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            before = chunk[: exc.start].decode(endian, errors="replace")
            line = done[0] + 1 + len(_EOL_TEXT.findall(before))
            raise ReadError(path, f"undecodable UTF-16 text: {exc.reason}", line=line) from None
    try:
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        message = f"undecodable UTF-16 text: {exc.reason}"
        raise ReadError(path, message, line=done[0] + 1) from None


class _LineDecoder:
    """Decodes the blocks of whole lines of one file as `decode` decodes the whole of it
    (see `iter_lines`)."""

    def __init__(self, path: str | Path, encodings: list[str]) -> None:
        self.path = path
        self.encodings = encodings
        self.encoding: str | None = None  # None: everything so far was ASCII
        self.final = False  # False: cp1252 chosen, no byte 0x80-0x9f seen yet
        self.first = True  # the block holding the file's first bytes (a UTF-8 BOM)

    def text(self, block: bytes) -> str:
        first, self.first = self.first, False
        if block.isascii():
            return block.decode("ascii")
        if self.encoding is None:
            self.encoding, self.final = self._first_choice(block)
        if self.encoding == "cp1252" and not self.final:
            if _CP1252_UNDEFINED.search(block):
                self.encoding, self.final = self._next_after("cp1252"), True
            elif _C1.search(block):
                self.final = True
                if self._scan_finds(_CP1252_UNDEFINED):
                    self.encoding = self._next_after("cp1252")
        name = "utf-8-sig" if self.encoding == "utf-8" and first else self.encoding
        return block.decode(name)

    def _first_choice(self, block: bytes) -> tuple[str, bool]:
        for encoding in self.encodings:
            if encoding == "utf-8":
                try:
                    block.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if self._utf8_throughout():
                    return "utf-8", True
            elif encoding == "cp1252":
                return "cp1252", False
            else:
                return encoding, True
        return "latin-1", True

    def _next_after(self, encoding: str) -> str:
        later = self.encodings[self.encodings.index(encoding) + 1 :]
        return later[0] if later else "latin-1"

    def _utf8_throughout(self) -> bool:
        """Whether the whole file is UTF-8 (read again in chunks, nothing kept)."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        with open_binary(self.path) as handle:
            try:
                while chunk := _read(handle, self.path, CHUNK_BYTES):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return False
        return True

    def _scan_finds(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether any byte of the file matches ``pattern`` (single bytes only)."""
        with open_binary(self.path) as handle:
            while chunk := _read(handle, self.path, CHUNK_BYTES):
                if pattern.search(chunk):
                    return True
        return False
