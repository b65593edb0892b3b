"""Which column of a table holds what: the header-name table and the column layout.

Used by the table readers (`eisfit.io.csv`, and through `eisfit.io._rows` the spreadsheet
and LCR readers).  `column_role` recognises one column header (``freq/Hz``,
``-Im(Z)/Ohm``, ``|Z|/Ohm``, ``Phase(Z)/deg``...: the accepted names are listed in
`eisfit.io.csv`'s docstring); `layout_from_header` / `layout_from_mapping` decide which
columns hold what, and `point` turns one row of numbers into (frequency, physical-sign Z,
spectrum group).  They raise ValueError with a message for the caller to wrap into a
`ReadError` naming the file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ROLES",
    "Column",
    "Layout",
    "column_role",
    "layout_from_header",
    "layout_from_mapping",
    "point",
]

_ROLE_NAMES = {
    "frequency": {"f", "freq", "freq.", "frequency", "frequencies", "hz", "freq_hz"},
    "real": {
        *("z'", "re(z)", "rez", "re", "zre", "z_re", "zreal", "z_real", "real", "zr", "z.real"),
        *("zprime", "z_prime", "real_z", "realz", "re_z"),
    },
    "imag": {
        *("z''", 'z"', "im(z)", "imz", "im", "zim", "z_im", "zimag", "z_imag", "imag"),
        *("imaginary", "zi", "z.imag", "zbis", "zdoubleprime", "z_double_prime"),
        *("z_doubleprime", "imag_z", "imagz", "im_z"),
    },
    "modulus": {
        *("|z|", "zmod", "z_mod", "mod(z)", "modz", "abs(z)", "absz", "zabs", "z_abs", "z"),
        *("impedance", "|impedance|", "magnitude(z)", "|z|(ohm)"),
    },
    "phase": {
        *("phase", "phase(z)", "zphz", "phz", "z_phase", "zphase", "theta", "θ", "phi"),
        *("φ", "arg(z)", "phaseangle", "phase_angle"),
    },
    "spectrum": {"spectrum", "spectrum_index", "loop_index", "loop", "cycle", "cyclenumber"},
}
_UNIT = re.compile(r"(?:/|_|\(|\[|in)?(ohms?|ω|hz|deg|degrees?|°|rad|radians?)[)\]]?$")
_GAIN = re.compile(r"gain|\(db|\[db|indb|dbm")
ROLES = ("frequency", "real", "imag", "modulus", "phase", "spectrum")


def column_role(name: str) -> tuple[str, float, str]:
    """(role, sign, unit) of a column header; role "" when not recognised.

    ``column_role("-Im(Z)/Ohm") == ("imag", -1.0, "ohm")``.
    """
    raw = "".join(name.split()).lower().replace("\u2212", "-").replace("\u2019", "'")
    sign = 1.0
    if raw.startswith("-"):
        raw, sign = raw[1:], -1.0
    match = _UNIT.search(raw)
    candidates = [(raw, "")] + ([(raw[: match.start()], match.group(1))] if match else [])
    for key, unit in candidates:
        for role, names in _ROLE_NAMES.items():
            if key in names and not (sign < 0 and role in ("frequency", "spectrum", "modulus")):
                return role, sign, unit
    return "", 1.0, ""


@dataclass(frozen=True)
class Column:
    index: int  # 0-based field index
    sign: float  # -1.0 when the column holds the negated quantity
    name: str


@dataclass(frozen=True)
class Layout:
    """Which fields of a row hold what (see `layout_from_header`)."""

    columns: Mapping[str, Column]  # role -> column; frequency always, and real+imag or
    # modulus+phase, spectrum optional
    phase_scale: float  # radians per unit of the phase column
    n_fields: int  # the most fields a row may have
    names: tuple[str, ...]  # the header names (or roles) used, for provenance


def layout_from_header(header: Sequence[str], phase_unit: str | None) -> Layout:
    """Recognise the columns of ``header``; ValueError naming what is missing."""
    found: dict[str, tuple[int, float, str]] = {}
    for index, name in enumerate(header):
        role, sign, unit = column_role(name)
        if role and role not in found:
            found[role] = (index, sign, unit)
    names = _shown(header)
    if "frequency" not in found:
        raise ValueError(f"no frequency column among: {names}")
    pair = next((p for p in (("real", "imag"), ("modulus", "phase")) if set(p) <= set(found)), None)
    if pair is None:
        if any(_GAIN.search("".join(h.split()).lower()) for h in header):
            raise ValueError(
                f"the header ({names}) holds a gain (transfer function), not an impedance"
            )
        raise ValueError(
            f"no Z' and Z'' columns, nor |Z| and phase columns, in the header ({names});"
            " accepted names: see eisfit.io.csv, or pass columns=..."
        )
    roles = ("frequency", *pair, *(("spectrum",) if "spectrum" in found else ()))
    columns = {r: Column(found[r][0], found[r][1], header[found[r][0]]) for r in roles}
    unit = phase_unit or (found["phase"][2] if "phase" in columns else "")
    return Layout(columns, _phase_scale(unit), len(header), tuple(c.name for c in columns.values()))


def _shown(header: Sequence[str], *, most: int = 12, width: int = 32) -> str:
    """The header names for a message: quoted, long ones cut, at most ``most`` of them."""
    cut = [repr(h if len(h) <= width else h[: width - 3] + "...") for h in header[:most]]
    return ", ".join(cut + (["..."] if len(header) > most else []))


def layout_from_mapping(
    mapping: Mapping[str, str | int],
    header: Sequence[str] | None,
    width: int,
    phase_unit: str | None,
) -> Layout:
    """A layout from an explicit ``{role: header name or 0-based index}`` mapping."""
    columns: dict[str, Column] = {}
    for key, where in mapping.items():
        role, sign = (key[1:], -1.0) if key.startswith("-") else (key, 1.0)
        if role not in ROLES or (sign < 0 and role not in ("real", "imag", "phase")):
            raise ValueError(f"unknown column role {key!r}; use {', '.join(ROLES)} (or -real...)")
        index = _column_index(where, header, width)
        name = header[index] if header is not None else f"column {index}"
        if sign > 0 and name.lstrip().startswith(("-", "\u2212")) and role != "frequency":
            sign = -1.0  # the name says the column holds the negated quantity
        columns[role] = Column(index, sign, name)
    if "frequency" not in columns:
        raise ValueError("the column mapping has no 'frequency'")
    if not ({"real", "imag"} <= set(columns) or {"modulus", "phase"} <= set(columns)):
        raise ValueError("the column mapping needs 'real' and 'imag', or 'modulus' and 'phase'")
    if {"real", "imag"} <= set(columns):
        for role in ("modulus", "phase"):
            columns.pop(role, None)
    unit = phase_unit or (
        "" if header is None or "phase" not in columns else column_role(columns["phase"].name)[2]
    )
    n_fields = max(width, *(c.index + 1 for c in columns.values()))
    return Layout(columns, _phase_scale(unit), n_fields, tuple(c.name for c in columns.values()))


def _column_index(where: str | int, header: Sequence[str] | None, width: int) -> int:
    if isinstance(where, int):
        if not 0 <= where < max(width, len(header or ())):
            raise ValueError(f"column index {where} is out of range (the table has {width})")
        return where
    if header is None:
        raise ValueError(f"the file has no header line, so column {where!r} cannot be found")
    for wanted in (where.strip(), "".join(where.split()).lower()):
        for index, name in enumerate(header):
            if wanted in (name.strip(), "".join(name.split()).lower()):
                return index
    raise ValueError(f"no column {where!r} in the header ({', '.join(map(repr, header))})")


def _phase_scale(unit: str) -> float:
    if unit.startswith("rad"):
        return 1.0
    if unit in ("", "deg", "degree", "degrees", "°"):
        return math.pi / 180.0
    raise ValueError(f"unknown phase unit {unit!r}: use 'deg' or 'rad'")


def point(
    layout: Layout, values: Sequence[float | None], cells: Sequence[object]
) -> tuple[float, complex, float | None]:
    """(frequency, physical-sign impedance, spectrum group) of one row; NaN and infinite
    values pass (the caller drops such rows with a warning)."""
    columns = layout.columns
    needed = max(c.index for c in columns.values()) + 1
    if not needed <= len(values) <= layout.n_fields:
        expected = needed if needed == layout.n_fields else f"{needed} to {layout.n_fields}"
        raise ValueError(f"expected {expected} fields, found {len(values)}")
    got: dict[str, float] = {}
    for role, column in columns.items():
        value = values[column.index]
        if value is None:
            text = str(cells[column.index])
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise ValueError(f"non-numeric value {shown!r} in the {column.name!r} column")
        got[role] = column.sign * value
    if "real" in got:
        z = complex(got["real"], got["imag"])
    else:
        phase = got["phase"] * layout.phase_scale
        z = complex(got["modulus"] * math.cos(phase), got["modulus"] * math.sin(phase))
    return got["frequency"], z, got.get("spectrum")
