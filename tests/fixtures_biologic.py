"""Writers of synthetic BioLogic files (.mpt text, .mpr binary) for the reader tests.

They write what EC-Lab writes (layout facts: the module docstrings of
`eisfit.io.biologic_mpt` and `eisfit.io.biologic_mpr`) from known spectra, so the tests can
read them back and compare.  Spectrum ``k`` starts ``100 + 1000 k`` s after the
acquisition start, one point every 2 s; `first_times` gives those offsets.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from eisfit import Spectrum

START = datetime(2024, 2, 22, 15, 30, 34, 416000)
PEIS = "Potentio Electrochemical Impedance Spectroscopy"
_OLE_EPOCH = datetime(1899, 12, 30)


def first_times(spectra: Sequence[Spectrum]) -> list[float]:
    """Seconds from the acquisition start to the first point of each spectrum."""
    return [100.0 + 1000.0 * k for k in range(len(spectra))]


def expected_timestamps(spectra: Sequence[Spectrum], start: datetime = START) -> list[datetime]:
    return [start + timedelta(seconds=t) for t in first_times(spectra)]


def _rows(spectra: Sequence[Spectrum], ocv_rows: int) -> list[dict[str, float]]:
    """One dict per data row: OCV rows (f = 0, Ns 0) before each spectrum (Ns 1)."""
    rows = []
    for k, (spectrum, t0) in enumerate(zip(spectra, first_times(spectra), strict=True)):
        for j in range(ocv_rows):
            rows.append({"f": 0.0, "re": 0.0, "mim": 0.0, "t": t0 - 50.0 + j, "cycle": k + 1,
                         "ns": 0})  # fmt: skip
        for j, (f, z) in enumerate(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)):
            rows.append({"f": float(f), "re": float(z.real), "mim": -float(z.imag),
                         "t": t0 + 2.0 * j, "cycle": k + 1, "ns": 1})  # fmt: skip
    return rows


def mpt_text(
    spectra: Sequence[Spectrum],
    *,
    magic: str = "EC-Lab ASCII FILE",
    technique: str = PEIS,
    start_text: str = "02/22/2024 15:30:34.416",
    decimal_comma: bool = False,
    number_format: str | None = None,
    loops: bool = True,
    cycles: bool = True,
    ocv_rows: int = 0,
    time_format: str = "Elapsed",
    header: bool = True,
    imag_name: str = "-Im(Z)/Ohm",
) -> str:
    """The text of an .mpt export of ``spectra`` (numbers exact unless ``number_format``)."""
    rows = _rows(spectra, ocv_rows)
    names = ["freq/Hz", "Re(Z)/Ohm", imag_name, "|Z|/Ohm", "time/s", "<Ewe>/V", "Cs/µF"]
    names += ["cycle number", "I Range", "Ns"] if cycles else ["I Range"]

    def num(value: float) -> str:
        text = repr(value) if number_format is None else number_format % value
        return text.replace(".", ",") if decimal_comma else text

    def when(seconds: float) -> str:
        if time_format.startswith("Absolute"):
            return (START + timedelta(seconds=seconds)).strftime("%m/%d/%Y %H:%M:%S.%f")[:-2]
        return num(seconds)

    body = []
    for row in rows:
        imag = row["mim"] if imag_name.startswith("-") else -row["mim"]
        cells = [num(row["f"]), num(row["re"]), num(imag), num(abs(complex(row["re"], row["mim"]))),
                 when(row["t"]), num(0.125), num(1.5)]  # fmt: skip
        cells += [num(float(row["cycle"])), "38", str(row["ns"])] if cycles else ["38"]
        body.append("\t".join(cells))
    column_header = "\t".join(names) + "\t"
    if not header:
        return "\n".join([column_header, *body]) + "\n"
    area = "1,327" if decimal_comma else "1.327"
    settings = [
        "", technique, "",
        "Run on channel : 15 (SN 19485)", "User : ", "Electrode connection : standard",
        f"Acquisition started on : {start_text}", "Saved on :", "\tFile : synthetic.mpr",
        "Device : VMP-300 (SN 0826)", f"{magic.split()[0]} for windows v11.52 (software)",
        f"Electrode surface area : {area} cm²", "Text export", "   Mode : Standard",
        f"   Time format : {time_format}", "Cycle Definition : Charge/Discharge alternance",
        "Mode                Single sine         ", "Na                  1                   ",
    ]  # fmt: skip
    if loops:
        counts = np.cumsum([0] + [ocv_rows + len(s) for s in spectra])
        settings += ["", f"Number of loops : {len(spectra)}"]
        settings += [f"Loop {k} from point number {counts[k]} to {counts[k + 1] - 1}"
                     for k in range(len(spectra))]  # fmt: skip
    settings.append("")
    n_header = len(settings) + 3
    lines = [magic, f"Nb header lines : {n_header}                          ", *settings]
    return "\r\n".join([*lines, column_header, *body]) + "\r\n"


def write_mpt(path: Path, spectra: Sequence[Spectrum], **options: object) -> Path:
    path.write_bytes(mpt_text(spectra, **options).encode("cp1252"))  # type: ignore[arg-type]
    return path


# --- .mpr ------------------------------------------------------------------------------

_DTYPES = {4: "<f8", 24: "<f8", 32: "<f4", 35: "<f4", 37: "<f4", 38: "<f4", 39: "<u2",
           77: "<f4", 131: "<u2", 462: "<f4", 469: "<u4", 999: "<f4", 998: "<u2"}  # fmt: skip
PEIS_IDS = (32, 37, 38, 35, 4, 77, 24, 39, 131)


def _module(name: str, body: bytes, version: int, new_header: bool, date: str) -> bytes:
    head = b"MODULE" + name.encode().ljust(10) + name.encode().ljust(25)
    if new_header:
        unknown = 11 if name == "VMP data" else 10
        head += struct.pack("<4I", 0xFFFFFFFF, len(body), version, unknown)
    else:
        head += struct.pack("<2I", len(body), version)
    return head + date.encode() + body


def _float32(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def shortest32(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """What the .mpr reader gives for values stored as float32."""
    return _float32(values).astype(str).astype(float)  # type: ignore[arg-type]


def mpr_bytes(
    spectra: Sequence[Spectrum],
    *,
    layout: str = "v3",
    start: datetime | None = START,
    loops: bool = True,
    ocv_rows: int = 0,
    ids: Sequence[int] = PEIS_IDS,
    flags: bool = False,
    technique_id: int = 0x1D,
    version_text: str = "11.52",
    n_records: int | None = None,
) -> bytes:
    """An .mpr file of ``spectra``: layout "v2", "v3" (EC-Lab < 11.50), "v11.50" or "v0"."""
    new = layout == "v11.50"
    rows = _rows(spectra, ocv_rows)
    fields = [("flags", "<u1")] if flags else []
    fields += [(str(cid), _DTYPES[cid]) for cid in ids]
    records = np.zeros(len(rows), dtype=fields)
    source = {32: "f", 37: "re", 38: "mim", 4: "t", 24: "cycle", 469: "cycle", 131: "ns"}
    for cid in ids:
        key = source.get(cid)
        records[str(cid)] = [r[key] for r in rows] if key else 7
    all_ids = ([1, 2] if flags else []) + list(ids)
    count = len(rows) if n_records is None else n_records
    if layout == "v0":
        header = struct.pack("<IB", count, len(all_ids)) + bytes(all_ids)
        offset, version = 100, 0
    elif new:
        header = struct.pack("<IBB", count, len(all_ids), 0)
        header += struct.pack(f"<{len(all_ids)}H", *all_ids)
        offset, version = 1007, 0
    else:
        header = struct.pack("<IB", count, len(all_ids))
        header += struct.pack(f"<{len(all_ids)}H", *all_ids)
        offset, version = (405, 2) if layout == "v2" else (406, 3)
    data_body = header.ljust(offset, b"\x00") + records.tobytes()
    date = (start or START).strftime("%m/%d/%y")
    settings_body = bytes([technique_id]).ljust(1884 if not new else 6747, b"\x00")
    out = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
    out += _module("VMP Set", settings_body, 0, new, date)
    out += _module("VMP data", data_body, version, new, date)
    if start is not None:
        ole_at = 585 if new else 473
        log = bytearray(8103 if new else 2823)
        days = (start - _OLE_EPOCH) / timedelta(days=1)
        log[ole_at : ole_at + 8] = struct.pack("<d", days)
        text = version_text.encode()
        log[ole_at + 366] = len(text)
        log[ole_at + 367 : ole_at + 367 + len(text)] = text
        out += _module("VMP LOG", bytes(log), 0, new, date)
    if loops:
        counts = np.cumsum([0] + [ocv_rows + len(s) for s in spectra]).tolist()
        body = struct.pack(f"<I{len(counts)}I", len(counts), *counts).ljust(268, b"\x00")
        out += _module("VMP loop", body, 0, new, date)
    return out


def write_mpr(path: Path, spectra: Sequence[Spectrum], **options: object) -> Path:
    path.write_bytes(mpr_bytes(spectra, **options))  # type: ignore[arg-type]
    return path
