"""Writer of synthetic Gamry EXPLAIN files (.DTA) for the reader tests.

It writes what Gamry Framework writes (layout facts: the `eisfit.io.gamry` docstring):
keyword lines, an OCV table, then one ``ZCURVE`` table per spectrum.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eisfit import Spectrum

_Z_COLUMNS = ["Pt", "Time", "Freq", "Zreal", "Zimag", "Zsig", "Zmod", "Zphz", "Idc", "Vdc",
              "IERange"]  # fmt: skip
_Z_UNITS = ["#", "s", "Hz", "ohm", "ohm", "V", "ohm", "°", "A", "V", "#"]


def dta_text(
    spectra: Sequence[Spectrum],
    *,
    date: str = "3/18/2020",
    time: str = "16:54:44",
    calibration_date: str = "3/9/2020",
    decimal_comma: bool = False,
    aborted: bool = False,
    drift: Sequence[Spectrum] | None = None,
    temperature_c: float | None = None,
    spaces: bool = False,
    polar_only: bool = False,
    planned: tuple[float, float, float] = (1e6, 0.1, 5.0),
) -> str:
    """The text of a .DTA file holding ``spectra`` (one ZCURVE each), numbers exact.

    ``drift``: drift-corrected versions of the spectra (adds the DrCor columns);
    ``spaces``: separate Pt, Time and Freq by spaces (hand-edited files);
    ``polar_only``: write Zmod and Zphz but no Zreal and Zimag.
    """

    def num(value: float) -> str:
        text = repr(float(value))
        return text.replace(".", ",") if decimal_comma else text

    fi, ff, ppd = planned
    lines = [
        "EXPLAIN", "TAG\tEISPOT", "TITLE\tLABEL\tPotentiostatic EIS\tTest &Identifier",
        f"DATE\tLABEL\t{date}\tDate", f"TIME\tLABEL\t{time}\tTime", "NOTES\tNOTES\t1\t&Notes...",
        "\t", "PSTAT\tPSTAT\tREF600-12345\tPotentiostat", "VDC\tPOTEN\t0.00000E+000\tF\tDC &V",
        f"FREQINIT\tQUANT\t{num(fi)}\tInitial Fre&q. (Hz)",
        f"FREQFINAL\tQUANT\t{num(ff)}\tFinal Fre&q. (Hz)",
        f"PTSPERDEC\tQUANT\t{num(ppd)}\tPoints/&decade", f"AREA\tQUANT\t{num(0.5)}\t&Area (cm^2)",
        f"DRIFTCOR\tSELECTOR\t{1 if drift else 0}\t&Drift Correction",
        "OCVCURVE\tTABLE\t2", "\tPt\tT\tVf\tVm\tAch\tOver\tTemp",
        "\t#\ts\tV vs. Ref.\tV\tV\tbits\tdeg C",
        "\t0\t0.25\t5.9E-002\t5.9E-002\t1.1E-003\t..........a\t-327.63",
        "\t1\t0.5\t5.9E-002\t5.9E-002\t1.1E-003\t..........a\t-327.63",
        "EOC\tQUANT\t0.059\tOpen Circuit (V)",
        f"DCCALDATE\tLABEL\t{calibration_date}\tDC Calibration Date",
        "FRAMEWORKVERSION\tLABEL\t7.8.2\tFramework Version",
    ]  # fmt: skip
    names, units = list(_Z_COLUMNS), list(_Z_UNITS)
    if drift:
        names[8:8] = ["ZrealDrCor", "ZimagDrCor"]
        units[8:8] = ["ohm", "ohm"]
    if temperature_c is not None:
        names.append("Temp")
        units.append("°C")
    for k, spectrum in enumerate(spectra):
        lines += ["ZCURVE\tTABLE", "\t" + "\t".join(names), "\t" + "\t".join(units)]
        z_all = spectrum.impedance_ohm
        for j, (f, z) in enumerate(zip(spectrum.frequency_hz, z_all, strict=True)):
            phase = float(np.degrees(np.angle(z)))
            cells = [str(j), num(1.0 + 2 * j), num(f), num(z.real), num(z.imag), "1",
                     num(abs(z)), num(phase)]  # fmt: skip
            if drift:
                corrected = drift[k].impedance_ohm[j]
                cells += [num(corrected.real), num(corrected.imag)]
            cells += [num(-5.9e-6), num(-0.34), "9"]
            if temperature_c is not None:
                cells.append(num(temperature_c))
            if polar_only:
                cells[3] = cells[4] = "0"
            head = "  " + " ".join(cells[:3]) if spaces else "\t" + "\t".join(cells[:3])
            lines.append(head + "\t" + "\t".join(cells[3:]))
    if polar_only:
        lines = [line.replace("\tZreal\tZimag\t", "\tZre\tZim\t") for line in lines]
    if aborted:
        lines.append("EXPERIMENTABORTED\tTOGGLE\tT\tExperiment Aborted")
    return "\r\n".join(lines) + "\r\n"


def write_dta(path: Path, spectra: Sequence[Spectrum], **options: object) -> Path:
    path.write_bytes(dta_text(spectra, **options).encode("cp1252"))  # type: ignore[arg-type]
    return path
