"""BioLogic format tables: .mpr column ids (dtype, name), .mpt column names, techniques.

A ``VMP data`` module lists the ids of its columns; each data record holds the columns in
that order, little-endian, with no padding.  Six ids are one-bit (or two-bit) flags packed
together into a single byte, placed where the first flag id appears (`FLAG_IDS`).  Names
are those of the same column in EC-Lab's .mpt export, so both readers speak alike.

Sources (facts only, no code): galvani ``galvani/BioLogic.py``
(``VMPdata_colID_dtype_map``, ``VMPdata_colID_flag_map``; GPL-3) and yadg
``extractors/eclab/common/mpr_columns.py`` (``data_columns``, ``flag_columns``); where they
differ only in the name (241: ``|I h7|`` vs ``|E1|``; 212/213 vs 468/469 for ``half cycle``
/ ``z cycle``), both agree on the dtype, which is all the layout needs.  Every id of the
shared corpus is here; the record size is checked against the module length, so a wrong
dtype cannot go unnoticed.  An id missing from the table is tolerated when it is the only
one: its size is then what the module length leaves over (see `biologic_mpr`).

The .mpt reader finds its columns by header name (`MPT_COLUMNS`); both readers name the
technique by its short name (`TECHNIQUES` from an .mpt header's full name,
`TECHNIQUE_IDS` from an .mpr settings module's id).
"""

from __future__ import annotations

__all__ = ["COLUMNS", "FLAG_IDS", "MPT_COLUMNS", "TECHNIQUES", "TECHNIQUE_IDS"]

# flag ids packed into one byte (bit masks: mode 0x03, ox/red 0x04, error 0x08, control
# changes 0x10, Ns changes 0x20, counter inc. 0x80)
FLAG_IDS = frozenset({1, 2, 3, 21, 31, 65})


def _series(first: int, dtype: str, template: str, labels: range) -> list[tuple[int, str, str]]:
    return [(first + k, dtype, template.format(label)) for k, label in enumerate(labels)]


_TABLE: list[tuple[int, str, str]] = [
    (4, "<f8", "time/s"),
    (5, "<f4", "control/V/mA"),
    (6, "<f4", "Ewe/V"),
    (7, "<f8", "dq/mA.h"),
    (8, "<f4", "I/mA"),
    (9, "<f4", "Ece/V"),
    (11, "<f8", "<I>/mA"),
    (13, "<f8", "(Q-Qo)/mA.h"),
    (16, "<f4", "Analog IN 1/V"),
    (17, "<f4", "Analog IN 2/V"),
    (19, "<f4", "control/V"),
    (20, "<f4", "control/mA"),
    (23, "<f8", "dQ/mA.h"),
    (24, "<f8", "cycle number"),
    (26, "<f4", "Rapp/Ohm"),
    (27, "<f4", "Ewe-Ece/V"),
    (32, "<f4", "freq/Hz"),
    (33, "<f4", "|Ewe|/V"),
    (34, "<f4", "|I|/A"),
    (35, "<f4", "Phase(Z)/deg"),
    (36, "<f4", "|Z|/Ohm"),
    (37, "<f4", "Re(Z)/Ohm"),
    (38, "<f4", "-Im(Z)/Ohm"),
    (39, "<u2", "I Range"),
    (50, "<f4", "E0/V"),
    (69, "<f4", "R/Ohm"),
    (70, "<f4", "P/W"),
    (73, "<f4", "rotation rate/rpm"),
    (74, "<f8", "|Energy|/W.h"),
    (75, "<f4", "Analog OUT/V"),
    (76, "<f4", "<I>/mA"),
    (77, "<f4", "<Ewe>/V"),
    (78, "<f4", "Cs-2/µF-2"),
    (96, "<f4", "|Ece|/V"),
    (98, "<f4", "Phase(Zce)/deg"),
    (99, "<f4", "|Zce|/Ohm"),
    (100, "<f4", "Re(Zce)/Ohm"),
    (101, "<f4", "-Im(Zce)/Ohm"),
    (123, "<f8", "Energy charge/W.h"),
    (124, "<f8", "Energy discharge/W.h"),
    (125, "<f8", "Capacitance charge/µF"),
    (126, "<f8", "Capacitance discharge/µF"),
    (131, "<u2", "Ns"),
    (163, "<f4", "|Estack|/V"),
    (168, "<f4", "Rcmp/Ohm"),
    (169, "<f4", "Cs/µF"),
    (172, "<f4", "Cp/µF"),
    (173, "<f4", "Cp-2/µF-2"),
    (174, "<f4", "<Ewe>/V"),
    (178, "<f4", "(Q-Qo)/C"),
    (179, "<f4", "dQ/C"),
    (182, "<f8", "step time/s"),
    (211, "<f8", "Q charge/discharge/mA.h"),
    (212, "<u4", "half cycle"),
    (213, "<u4", "z cycle"),
    (217, "<f4", "THD Ewe/%"),
    (218, "<f4", "THD I/%"),
    (220, "<f4", "NSD Ewe/%"),
    (221, "<f4", "NSD I/%"),
    (223, "<f4", "NSR Ewe/%"),
    (224, "<f4", "NSR I/%"),
    *_series(230, "<f4", "|Ewe h{}|/V", range(2, 8)),
    *_series(236, "<f4", "|I h{}|/A", range(2, 8)),
    *_series(242, "<f4", "|E{}|/V", range(2, 9)),
    *_series(271, "<f4", "Phase(Z{})/deg", range(1, 9)),
    *_series(301, "<f4", "|Z{}|/Ohm", range(1, 9)),
    *_series(331, "<f4", "Re(Z{})/Ohm", range(1, 9)),
    *_series(361, "<f4", "-Im(Z{})/Ohm", range(1, 9)),
    *_series(391, "<f4", "<E{}>/V", range(1, 9)),
    (422, "<f4", "Phase(Zstack)/deg"),
    (423, "<f4", "|Zstack|/Ohm"),
    (424, "<f4", "Re(Zstack)/Ohm"),
    (425, "<f4", "-Im(Zstack)/Ohm"),
    (426, "<f4", "<Estack>/V"),
    (430, "<f4", "Phase(Zwe-ce)/deg"),
    (431, "<f4", "|Zwe-ce|/Ohm"),
    (432, "<f4", "Re(Zwe-ce)/Ohm"),
    (433, "<f4", "-Im(Zwe-ce)/Ohm"),
    (434, "<f4", "(Q-Qo)/C"),
    (435, "<f4", "dQ/C"),
    (438, "<f8", "step time/s"),
    (441, "<f4", "<Ecv>/V"),
    (462, "<f4", "Temperature/°C"),
    (467, "<f8", "Q charge/discharge/mA.h"),
    (468, "<u4", "half cycle"),
    (469, "<u4", "z cycle"),
    (471, "<f4", "<Ece>/V"),
    (473, "<f4", "THD Ewe/%"),
    (474, "<f4", "THD I/%"),
    (475, "<f4", "THD Ece/%"),
    (476, "<f4", "NSD Ewe/%"),
    (477, "<f4", "NSD I/%"),
    (478, "<f4", "NSD Ece/%"),
    (479, "<f4", "NSR Ewe/%"),
    (480, "<f4", "NSR I/%"),
    (481, "<f4", "NSR Ece/%"),
    *_series(486, "<f4", "|Ewe h{}|/V", range(2, 8)),
    *_series(492, "<f4", "|I h{}|/A", range(2, 8)),
    *_series(498, "<f4", "|Ece h{}|/V", range(2, 8)),
    (505, "<f4", "Rdc/Ohm"),
    (509, "<u1", "Acir/Dcir Control"),
]

# column id -> (numpy dtype, name as in the .mpt export)
COLUMNS: dict[int, tuple[str, str]] = {cid: (dtype, name) for cid, dtype, name in _TABLE}

# --- techniques and .mpt column names --------------------------------------------------

# the technique's full name (line 4 of an .mpt header, lower case) -> its short name
TECHNIQUES = {
    "potentio electrochemical impedance spectroscopy": "PEIS",
    "galvano electrochemical impedance spectroscopy": "GEIS",
    "staircase potentio electrochemical impedance spectroscopy": "SPEIS",
    "staircase galvano electrochemical impedance spectroscopy": "SGEIS",
    "ir compensation (peis)": "ZIR",
}

# .mpt column role -> accepted header names (normalised: lower case, single spaces, "ω" -> "ohm")
MPT_COLUMNS = {
    "frequency": ("freq/hz", "frequency/hz"),
    "real": ("re(z)/ohm",),
    "minus_imag": ("-im(z)/ohm",),
    "imag": ("im(z)/ohm",),
    "stack_real": ("re(zstack)/ohm",),
    "stack_minus_imag": ("-im(zstack)/ohm",),
    "time": ("time/s", "time"),
    "cycle": ("cycle number",),
    "z_cycle": ("z cycle",),
    "ns": ("ns",),
    "temperature": ("temperature/°c", "temperature/c"),
}

# the technique id (byte 0 of an .mpr's VMP Set module; yadg's table) -> its short name
TECHNIQUE_IDS = {
    0x04: "GCPL", 0x06: "CV", 0x0B: "OCV", 0x16: "MP", 0x18: "CA", 0x19: "CP",
    0x1C: "WAIT", 0x1D: "PEIS", 0x1E: "GEIS", 0x30: "CV", 0x32: "ZIR", 0x33: "CVA",
    0x6C: "LSV", 0x75: "coV", 0x76: "coC", 0x77: "GCPL", 0x7F: "MB",
}  # fmt: skip
