"""Writing one spectrum as a Scribner ZPlot/ZView ``.z`` file (ZPLOT2 ASCII).

Layout written (the one ZPlot 3.x writes and ZView opens; facts from the ZPlot files in
impedance.py's ``data/*.z`` and pyimpspec's minimal ``tests/data.z``, and from
impedance.py's ``preprocessing.readZPlot``, which takes the rows after ``End Comments``
and reads columns 0, 4 and 5):

* line 1: the magic ``ZPLOT2 ASCII``;
* header lines indented by two spaces, ``Key:`` padded to column 30:
  ``Measured Data, Software:`` (here ``eisfit <version>``), ``Date:`` as ``MM-DD-YYYY``
  and ``Time:`` as ``HH:MM:SS`` when the spectrum has a timestamp, ``Data Points:``;
* the column line ``Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range``
  (tab separated), then ``End Comments``;
* one row per point, tab separated: f (Hz), 0, 0, 0, Z' (ohm), Z'' (ohm, **physical
  sign**: negative for a capacitive arc, as ZPlot writes it), 0, 0, 0.  Numbers are
  written with 17 significant digits (``%.16E``), so reading back is exact.

Lines end with CRLF (Windows software).  No `FORMATS` here: reading ``.z`` files is
`eisfit.io.zview`'s job.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SpectrumError
from ..spectrum import Spectrum

__all__ = ["write_zview"]

_COLUMNS = "Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange"


def _key(name: str, value: object) -> str:
    return f"  {name + ':':<28}{value}"


def write_zview(spectrum: Spectrum, path: str | Path) -> Path:
    """Write ``spectrum`` as a ZPLOT2 ASCII ``.z`` file at ``path``; returns the path."""
    if not isinstance(spectrum, Spectrum):
        raise SpectrumError("write_zview writes one Spectrum (call it once per spectrum)")
    from .._version import __version__

    lines = ["ZPLOT2 ASCII", _key("Measured Data, Software", f"eisfit {__version__}")]
    if spectrum.meta.timestamp is not None:
        lines.append(_key("Date", spectrum.meta.timestamp.strftime("%m-%d-%Y")))
        lines.append(_key("Time", spectrum.meta.timestamp.strftime("%H:%M:%S")))
    lines += [_key("Data Points", len(spectrum)), f"  {_COLUMNS}", "End Comments"]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        values = (float(f), 0.0, 0.0, 0.0, float(z.real), float(z.imag), 0.0)
        lines.append("\t".join(f"{v:.16E}" for v in values) + "\t0\t0")
    target = Path(path)
    target.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return target
