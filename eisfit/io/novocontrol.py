"""Novocontrol WinDETA ASCII exports (dielectric / impedance analysers, Alpha analyser).

Layout (AleksandrVakulenko/Novocontrol-file-import ``examples*`` and its
``get_file_state.m``; quirin053/novocontrol_toolbox ``tests/testdata`` and its
``read_novo``), every part before the column line optional:

* a comment line ``<sample>, <D.M.YYYY>, <H:MM>`` (the measurement start);
* a geometry line ``Diameter[mm] 2.000e+00  Thickness[mm] 2.500e-02  Spacer
  Capacity[pF] 0.000e+00  Spacer Area[mm^2] 0.000e+00`` (maybe ``Edge Correction On``);
* ``Fixed value(s) :  Temp. [K]=4.4944e+02  AC Volt  [Vrms]=2.000e-01``;
* the column line: tab separated names with units in brackets, ``Freq. [Hz]`` first
  (a file starting with ``Temp.`` is a temperature sweep at fixed frequency: refused),
  then any of ``Temp. [K]`` / ``Temp. [°C]`` (set point, when several temperatures are in
  one file), ``Eps'``, ``Eps''``, ``Sig' [S/cm]``, ``Tan(Delta)``, ``Cp' [F]``,
  ``Zs' [Ohms]``, ``Zs'' [Ohms]``, ``Zp' [Ohms]``, ``Zp'' [Ohms]``, ``|Z| [Ohms]``,
  ``M Temp [K]`` (measured), ``M Time M[s]``...;
* rows of numbers (``1.00000e+06``), tab separated.

The impedance is taken, in this order of preference, from

1. ``Zs'``, ``Zs''``: the complex impedance itself, Zs'' with the physical sign
   (negative for a capacitor: checked, |Zs| equals the ``|Z|`` column of
   ``examples2/30.TXT``);
2. ``Zp'``, ``Zp''``: the parallel equivalent, Y = 1/Zp' + j/Zp'' (Zp' = Rp,
   Zp'' = 1/B; checked against Eps', Eps'' on ``examples1/T_0.TXT``), Z = 1/Y;
3. ``Eps'``, ``Eps''`` with the geometry: eps* = eps' - j eps'' (Novocontrol's sign),
   C0 = eps0 pi (D/2)^2 / d, Z = 1 / (j omega C0 eps*) (checked against Zs on
   ``examples1/24_T1.TXT``).  Spacer and edge corrections are not undone: a warning
   says so.  Without a geometry line such a file is refused.

Several temperatures in one file (``Temp.`` column): one spectrum per set temperature,
in order of first appearance; ``meta.temperature_k`` is the set point (the column, else
the fixed value).  A frequency repeated within one temperature is an error (`ReadError`
naming the file): WinDETA writes each frequency once per sweep.  Caveat: the quirin053
test files have their values scrambled by their author; they test the layout only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from itertools import islice
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from .registry import FileFormat
from .sniffing import head_text, is_binary, iter_lines, make_spectrum, number

__all__ = ["FORMATS", "read_novocontrol"]

Converter = Callable[[dict[str, float]], complex]
EPS0_F_PER_M = 8.8541878128e-12
_HEADER = re.compile(r"^\s*(Freq|Temp)\.\s*\[")
_START = re.compile(r",\s*(\d{1,2})\.(\d{1,2})\.(\d{4}),\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*$")
_GEOMETRY = re.compile(r"(Diameter|Thickness|Spacer Capacity)\s*\[[^\]]*\]\s*([-+0-9.eE]+)")
_FIXED = re.compile(r"(Temp\.|AC Volt)\s*\[([^\]]*)\]\s*=\s*([-+0-9.eE]+)")


def read_novocontrol(path: Path) -> list[Spectrum]:
    """Read a WinDETA ASCII export (see the module docstring)."""
    lines = iter_lines(path)
    head: list[str] = []
    for _, text in islice(lines, 12):
        head.append(text)
        if _HEADER.match(text):
            break
    else:
        raise ReadError(path, "no column line starting with 'Freq. [Hz]' in the first lines")
    start = len(head) - 1
    names = [_name(n) for n in head[start].split("\t") if n.strip()]
    if names[0] != "freq.":
        raise ReadError(path, "a temperature sweep at fixed frequency, not a spectrum", line=1)
    top = "\n".join(head[:start])
    geometry = {key: float(v) for key, v in _GEOMETRY.findall(top)}
    fixed = {key: (unit, float(v)) for key, unit, v in _FIXED.findall(top)}
    rows: list[tuple[int, dict[str, float]]] = []
    for line, text in lines:
        fields = text.split()
        if not fields:
            continue
        values = [number(f) for f in fields]
        if len(values) != len(names) or any(v is None for v in values):
            message = f"expected {len(names)} numbers, found {text.strip()[:60]!r}"
            raise ReadError(path, message, line=line)
        rows.append((line, dict(zip(names, values, strict=True))))  # type: ignore[arg-type]
    if not rows:
        raise ReadError(path, "column line but no data rows", line=start + 1)
    convert, warnings = _converter(names, geometry, path)
    corrected = "Edge Correction On" in top or geometry.get("Spacer Capacity")
    if corrected and "zs'" not in names and "zp'" not in names:
        warnings.append("spacer / edge corrections of WinDETA are not undone")
    groups: dict[float | None, list[tuple[int, dict[str, float]]]] = {}
    temp_key = next((n for n in names if n.startswith("temp.")), None)
    for row in rows:
        groups.setdefault(row[1][temp_key] if temp_key else None, []).append(row)
    base = _fixed_kelvin(fixed)
    extra = {"format": "novocontrol", "instrument": "Novocontrol (WinDETA)", "technique": "EIS"}
    if "AC Volt" in fixed:
        extra["ac_amplitude_v"] = fixed["AC Volt"][1]
    out = []
    for index, (setpoint, group) in enumerate(groups.items()):
        kelvin = base if setpoint is None else _kelvin(setpoint, temp_key or "")
        out.append(
            make_spectrum(
                path,
                index,
                [row["freq."] for _, row in group],
                [_convert(convert, row, line, path) for line, row in group],
                line=group[0][0],
                timestamp=_timestamp(head[0] if start > 0 else ""),
                temperature_k=kelvin,
                extra={**extra, "warnings": tuple(warnings)},
            )
        )
    return out


def _name(text: str) -> str:
    """``" Zs'' [Ohms]"`` -> ``"zs''"``; ``"Temp. [°C]"`` -> ``"temp.c"``."""
    unit = re.search(r"\[([^\]]*)\]", text)
    base = re.sub(r"\[[^\]]*\]", "", text).strip().lower()
    if base == "temp." and unit:
        return "temp.k" if unit.group(1).strip().upper() == "K" else "temp.c"
    return base


def _convert(convert: Converter, row: dict[str, float], line: int, path: Path) -> complex:
    try:
        return convert(row)
    except ZeroDivisionError:
        raise ReadError(path, "a zero value makes the impedance infinite", line=line) from None


def _converter(
    names: list[str], geometry: dict[str, float], path: Path
) -> tuple[Converter, list[str]]:
    if {"zs'", "zs''"} <= set(names):
        return (lambda row: complex(row["zs'"], row["zs''"])), []
    if {"zp'", "zp''"} <= set(names):
        return (lambda row: 1 / complex(1 / row["zp'"], 1 / row["zp''"])), []
    if {"eps'", "eps''"} <= set(names):
        diameter, thickness = geometry.get("Diameter"), geometry.get("Thickness")
        if not diameter or not thickness:
            raise ReadError(path, "no impedance columns, and no geometry to convert Eps'")
        c0 = EPS0_F_PER_M * math.pi * (diameter / 2e3) ** 2 / (thickness / 1e3)

        def from_permittivity(row: dict[str, float]) -> complex:
            omega = 2 * math.pi * row["freq."]
            return 1 / (1j * omega * c0 * complex(row["eps'"], -row["eps''"]))

        note = f"impedance computed from Eps', Eps'' and the geometry (C0 = {c0 * 1e12:.4g} pF)"
        return from_permittivity, [note]
    raise ReadError(path, "no Zs', Zp' or Eps' columns: nothing to compute an impedance from")


def _kelvin(value: float, key: str) -> float:
    return value if key.endswith("k") else value + 273.15


def _fixed_kelvin(fixed: dict[str, tuple[str, float]]) -> float | None:
    if "Temp." not in fixed:
        return None
    unit, value = fixed["Temp."]
    return value if unit.strip().upper() == "K" else value + 273.15


def _timestamp(text: str) -> datetime | None:
    found = _START.search(text)
    if not found:
        return None
    day, month, year, hour, minute = (int(g) for g in found.groups()[:5])
    try:
        return datetime(year, month, day, hour, minute, int(found.group(6) or 0))
    except ValueError:
        return None


def _sniff(head: bytes, name: str) -> float:
    if is_binary(head):
        return 0.0
    lines = head_text(head).replace("\r", "\n").split("\n")[:8]
    header = any(_HEADER.match(text) and "\t" in text for text in lines)
    known = any(t.startswith(("Fixed value", "Diameter[mm]")) for t in lines)
    return 0.95 if header and known else 0.8 if header else 0.0


FORMATS = (
    FileFormat(
        name="novocontrol",
        description="Novocontrol WinDETA ASCII (Zs, Zp or Eps' columns)",
        extensions=(".txt",),
        sniff=_sniff,
        read=read_novocontrol,
    ),
)
