"""The report as a multipage PDF for lab notebooks: text pages and the figures already drawn.

Written directly (no PDF library): A4 pages, text in the standard Helvetica and Courier
fonts (ISO 32000-1 sec. 9.6.2.2: every reader has them, nothing is embedded), so the
summary, the growth laws and each spectrum's parameter lines are real text that can be
searched and copied.  A figure page shows the PNG the report drew for the HTML page and
``figures/`` (`eisfit.report.render`), embedded byte for byte: the compressed rows of an
8-bit RGB PNG are a FlateDecode stream with PNG predictors (sec. 7.4.4.4), so a page costs
no drawing at all.  The palette PNGs the report draws (`render.png_bytes`) go in the same
way, as an indexed colour space over their palette (sec. 8.6.6.3).  What the reader loses
against matplotlib's vector PDF (which drew every figure a second time, three quarters of a
report's time, issue 15): the figures are 150 dpi images (sharp in print at their size,
pixelated when zoomed far in), and the tick labels inside them are not text.  Vector figures
are in ``figures/*.svg`` with ``--svg``.

Text is written in WinAnsiEncoding; characters it lacks are spelled out (Ω as "ohm",
χ as "chi", superscript minus as "^-") or replaced by "?".  File structure: header,
numbered objects, cross-reference table, trailer (sec. 7.5).  The file is written to a
temporary name and moved into place on success (`eisfit._util.atomic_path`).
"""

from __future__ import annotations

import struct
import textwrap
import zlib
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any, BinaryIO

from .._util import atomic_path
from ..errors import ReportError

__all__ = ["PdfReport", "pdf_text", "wrap_line"]

_PAGE_W, _PAGE_H = 595.28, 841.89  # A4 in points
_MARGIN = 36.0
_LINE_CHARS = 110  # characters of a text line in Courier (longer ones wrap)
_BODY_PT, _BODY_LEAD = 7.5, 9.4  # summary pages: Courier size and line spacing
_NOTE_PT, _NOTE_LEAD = 7.0, 8.6  # notes under a figure
_HEAD_PT = 13.0
_FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Courier"}

#: characters WinAnsiEncoding lacks, as the PDF spells them
_SPELLED = str.maketrans({
    "Ω": "ohm", "χ": "chi", "σ": "sigma", "τ": "tau", "γ": "gamma", "ω": "omega", "π": "pi",
    "Δ": "Delta",
    "−": "-", "–": "-", "—": "-", "′": "'", "″": "''", "⁻": "^-", "⁰": "0", "¹": "1",
    "ⁿ": "^n", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "₀": "0",
    "₁": "1", "₂": "2",
    "½": "1/2", "≤": "<=", "≥": ">=", "≈": "~", "×": "x", "·": "*", "…": "...",
})  # fmt: skip


def pdf_text(text: str) -> bytes:
    """``text`` as a PDF literal string in WinAnsiEncoding, parentheses included."""
    clean = "".join(c if c.isprintable() else " " for c in str(text).translate(_SPELLED))
    data = clean.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def wrap_line(line: str) -> list[str]:
    """``line`` as spelled in the PDF (Ω as "ohm": longer) in pieces of at most
    `_LINE_CHARS` characters, continuations indented: nothing is cut off."""
    spelled = str(line).translate(_SPELLED)
    if len(spelled) <= _LINE_CHARS:
        return [spelled]
    return textwrap.wrap(spelled, _LINE_CHARS, subsequent_indent="    ",
                         break_on_hyphens=False) or [""]  # fmt: skip


def _title_string(text: str) -> bytes:
    """A text string for the document information (UTF-16BE with its mark, any script)."""
    return b"<FEFF" + str(text).encode("utf-16-be").hex().upper().encode() + b">"


def _num(x: float) -> bytes:
    return f"{x:.2f}".rstrip("0").rstrip(".").encode()


class _Png:
    """Width, height, the PDF image dictionary entries and the image stream of a PNG."""

    def __init__(self, data: bytes) -> None:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ReportError("a report figure is not a PNG image")
        pos, idat, header, palette, alpha = 8, [], b"", b"", False
        while pos + 8 <= len(data):
            (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
            chunk = data[pos + 8 : pos + 8 + length]
            if kind == b"IHDR":
                header = chunk
            elif kind == b"PLTE":
                palette = chunk
            elif kind == b"tRNS":
                alpha = True
            elif kind == b"IDAT":
                idat.append(chunk)
            elif kind == b"IEND":
                break
            pos += 12 + length
        if len(header) != 13 or not idat:
            raise ReportError("a report figure is a truncated PNG image")
        fields = struct.unpack(">IIBBBBB", header)
        self.width, self.height, depth, colour, interlace = *fields[:4], fields[6]
        plain = interlace == 0 and not alpha
        if plain and (depth, colour) == (8, 2):  # 8-bit RGB: the rows as they are
            self.stream = b"".join(idat)
            rgb = b"/ColorSpace /DeviceRGB /BitsPerComponent 8 "
            self.params = rgb + _predictor(3, 8, self.width)
        elif plain and colour == 3 and palette and len(palette) % 3 == 0:  # palette: same
            self.stream = b"".join(idat)
            self.params = (b"/ColorSpace [/Indexed /DeviceRGB %d <%s>] /BitsPerComponent %d "
                           % (len(palette) // 3 - 1, palette.hex().encode(), depth)
                           + _predictor(1, depth, self.width))  # fmt: skip
        else:  # any other PNG: decoded and stored as plain RGB rows
            import io

            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                rgb = image.convert("RGB")
                self.width, self.height = rgb.size
                self.stream = zlib.compress(rgb.tobytes(), 6)
            self.params = b"/ColorSpace /DeviceRGB /BitsPerComponent 8 "


def _predictor(colours: int, bits: int, columns: int) -> bytes:
    """The decode parameters of PNG-predicted rows (ISO 32000-1 sec. 7.4.4.4)."""
    return (b"/DecodeParms << /Predictor 15 /Colors %d /BitsPerComponent %d /Columns %d >> "
            % (colours, bits, columns))  # fmt: skip


class PdfReport(AbstractContextManager["PdfReport"]):
    """Collects pages and writes ``path`` on exit (to a temporary name, moved into place;
    removed instead when the block raises).  Same pages, same bytes: no dates are written."""

    def __init__(self, path: Path, title: str) -> None:
        self.path = Path(path)
        self._title = title
        self._open = ExitStack()
        tmp = self._open.enter_context(atomic_path(self.path))
        try:
            self._file: BinaryIO = self._open.enter_context(tmp.open("wb"))
        except OSError as exc:
            self._open.__exit__(type(exc), exc, exc.__traceback__)
            raise ReportError(f"{path}: cannot write the PDF ({exc})") from None
        self._offsets: dict[int, int] = {}
        self._pages: list[int] = []
        self._next = 3 + len(_FONTS) + 1  # 1 catalog, 2 page tree, fonts, info
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for n, base in enumerate(_FONTS.values(), start=3):
            self._object(n, b"<< /Type /Font /Subtype /Type1 /BaseFont /" + base.encode()
                         + b" /Encoding /WinAnsiEncoding >>")  # fmt: skip

    # -- low level --------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise ReportError(f"{self.path}: cannot write the PDF ({exc})") from None

    def _new(self) -> int:
        self._next += 1
        return self._next - 1

    def _object(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self._offsets[number] = self._file.tell()
        head = str(number).encode() + b" 0 obj\n"
        if stream is None:
            self._write(head + body + b"\nendobj\n")
            return
        length = b" /Length " + str(len(stream)).encode() + b" >>"
        self._write(head + body.rstrip()[:-2].rstrip() + length + b"\nstream\n" + stream
                    + b"\nendstream\nendobj\n")  # fmt: skip

    def _page(self, content: list[bytes], image: _Png | None = None) -> None:
        stream = zlib.compress(b"\n".join(content), 6)
        contents = self._new()
        self._object(contents, b"<< /Filter /FlateDecode >>", stream)
        fonts = b" ".join(b"/%s %d 0 R" % (k.encode(), n)
                          for n, k in enumerate(_FONTS, start=3))  # fmt: skip
        xobject = b""
        if image is not None:
            number = self._new()
            self._object(number, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d "
                         b"/Filter /FlateDecode "
                         % (image.width, image.height) + image.params + b">>",
                         image.stream)  # fmt: skip
            xobject = b" /XObject << /Im1 %d 0 R >>" % number
        page = self._new()
        box = _num(_PAGE_W) + b" " + _num(_PAGE_H)
        self._object(page, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + box
                     + b"] /Resources << /Font << " + fonts + b" >>" + xobject
                     + b" >> /Contents %d 0 R >>" % contents)  # fmt: skip
        self._pages.append(page)

    @staticmethod
    def _lines(x: float, top: float, lines: Sequence[str], size: float, lead: float) -> bytes:
        body = b" Tj T* ".join(pdf_text(line) for line in lines)
        return (b"BT /F3 " + _num(size) + b" Tf " + _num(lead) + b" TL " + _num(x) + b" "
                + _num(top) + b" Td " + body + b" Tj ET")  # fmt: skip

    @staticmethod
    def _heading(text: str, size: float, top: float) -> bytes:
        return (b"BT /F2 " + _num(size) + b" Tf " + _num(_MARGIN) + b" " + _num(top) + b" Td "
                + pdf_text(text) + b" Tj ET")  # fmt: skip

    # -- pages ------------------------------------------------------------------------
    def text(self, heading: str, lines: Sequence[str]) -> None:
        """Text pages: a heading and lines (long lists continue on further pages)."""
        lines = [part for line in lines for part in wrap_line(line)]
        top = _PAGE_H - _MARGIN - _HEAD_PT
        per_page = int((top - 2 * _HEAD_PT - _MARGIN) // _BODY_LEAD)
        chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
        for n, chunk in enumerate(chunks):
            head = heading if n == 0 else f"{heading} (continued)"
            content = [self._heading(head, _HEAD_PT, top)]
            if chunk:
                content.append(self._lines(_MARGIN, top - 2 * _HEAD_PT, chunk, _BODY_PT,
                                           _BODY_LEAD))  # fmt: skip
            self._page(content)

    def figure(self, png: bytes, *, dpi: float, title: str = "",
               notes: Sequence[str] = ()) -> None:  # fmt: skip
        """A page with ``title``, the figure ``png`` (drawn at ``dpi``, shown at its size
        or shrunk to the page width) and ``notes`` under it (continued on text pages)."""
        image = _Png(png)
        width = image.width / dpi * 72.0
        height = image.height / dpi * 72.0
        room = _PAGE_W - 2 * _MARGIN
        if width > room:
            width, height = room, height * room / width
        top = _PAGE_H - _MARGIN
        content = []
        if title:
            content.append(self._heading(title, 9.5, top - 9.5))
            top -= 20.0
        height = min(height, top - _MARGIN)
        bottom = top - height
        content.append(b"q " + _num(width) + b" 0 0 " + _num(height) + b" " + _num(_MARGIN)
                       + b" " + _num(bottom) + b" cm /Im1 Do Q")  # fmt: skip
        first = bottom - _NOTE_LEAD - 4  # baseline of the first note line
        fit = int((first - _MARGIN) // _NOTE_LEAD) + 1 if first >= _MARGIN else 0
        if notes and fit:
            content.append(self._lines(_MARGIN, first, notes[:fit], _NOTE_PT, _NOTE_LEAD))
        self._page(content, image)
        if len(notes) > fit:
            self.text(f"{title} (continued)" if title else "(continued)", notes[fit:])

    def _close(self) -> None:
        kids = b" ".join(b"%d 0 R" % n for n in self._pages)
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        self._object(2, b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(self._pages))
        info = 3 + len(_FONTS)
        from .._version import __version__

        self._object(info, b"<< /Title " + _title_string(self._title) + b" /Creator (eisfit) "
                     b"/Producer " + pdf_text(f"eisfit {__version__}") + b" >>")  # fmt: skip
        size = self._next
        start = self._file.tell()
        rows = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        for n in range(1, size):
            if n in self._offsets:
                rows.append(b"%010d 00000 n \n" % self._offsets[n])
            else:  # pragma: no cover - every number is used
                rows.append(b"0000000000 65535 f \n")
        rows.append(b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                    % (size, info, start))  # fmt: skip
        self._write(b"".join(rows))

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None:
                self._close()
        except BaseException as error:
            self._open.__exit__(type(error), error, error.__traceback__)
            raise
        self._open.__exit__(*exc)
