"""Header spellings of issue 12 (item 9): ``Frequency Real_Z Imag_Z``, ``Zprime``/``Zbis``
and the other Z' / Z'' names, with the sign rule of `eisfit.io.csv` (the name decides)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import eisfit.io
from eisfit.io import read_csv

# f, Z', Z'' of a capacitive arc (physical sign: Z'' < 0, largest in size near the apex)
POINTS = [(1e4, 10.2, -3.0), (1e3, 14.0, -12.0), (100.0, 40.0, -20.0), (10.0, 58.0, -6.0)]
_Z = np.array([complex(re, im) for _, re, im in POINTS])


def _write(tmp_path: Path, header: str, sep: str, *, sign: float = 1.0, name: str) -> Path:
    lines = [header]
    lines += [sep.join(repr(v) for v in (f, re, sign * im)) for f, re, im in POINTS]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check(path: Path) -> None:
    (spectrum,) = eisfit.io.read(path)
    assert eisfit.io.detect(path) == "csv"
    np.testing.assert_array_equal(spectrum.frequency_hz, [p[0] for p in POINTS])
    np.testing.assert_array_equal(spectrum.impedance_ohm, _Z)


@pytest.mark.parametrize(("sep", "name"), [(" ", "a.txt"), ("\t", "a.txt"), (",", "a.csv"),
                                           (";", "a.csv"), ("   ", "a.dat")])  # fmt: skip
def test_frequency_real_z_imag_z_with_any_delimiter(tmp_path: Path, sep: str, name: str) -> None:
    _check(_write(tmp_path, sep.join(["Frequency", "Real_Z", "Imag_Z"]), sep, name=name))


_REAL = ["Z'", "Zprime", "Z_prime", "Zre", "Real_Z", "Re_Z", "Real Z", "Zprime/Ohm", "Z_prime(ohm)"]
_IMAG = ["Z''", "Zbis", "Zdoubleprime", "Z_double_prime", "Zim", "Imag_Z", "Im_Z", "Zbis [Ohm]"]


@pytest.mark.parametrize("real", _REAL)
@pytest.mark.parametrize("imag", _IMAG)
def test_z_prime_and_z_double_prime_spellings(tmp_path: Path, real: str, imag: str) -> None:
    _check(_write(tmp_path, f"Frequency,{real},{imag}", ",", name="s.csv"))


@pytest.mark.parametrize("imag", ["-Z''", "-Zbis", "-Imag_Z", "-Im(Z)", "-Zdoubleprime", "-Zim"])
def test_a_leading_minus_means_the_column_holds_minus_z_double_prime(
    tmp_path: Path, imag: str
) -> None:
    _check(_write(tmp_path, f"Frequency\tZprime\t{imag}", "\t", sign=-1.0, name="m.txt"))


def test_a_plain_name_keeps_its_sign_and_an_all_positive_capacitive_column_is_flagged(
    tmp_path: Path,
) -> None:
    """No sign is guessed from the data (as for headerless files): a plain ``Zbis`` is the
    physical Z''.  Positive everywhere over a spectrum that does not rise like an
    inductor's, it is almost surely -Z'': read as written, with a warning saying how to
    name the column."""
    (spectrum,) = read_csv(_write(tmp_path, "Frequency,Zprime,Zbis", ",", sign=-1.0, name="p.csv"))
    np.testing.assert_array_equal(spectrum.impedance_ohm, _Z.conjugate())
    (warning,) = spectrum.meta.extra["warnings"]
    assert "'Zbis'" in warning and "column is positive" in warning and "-Zbis" in warning
    (plain,) = read_csv(_write(tmp_path, "Frequency,Zprime,Zbis", ",", name="n.csv"))
    assert plain.meta.extra["warnings"] == ()


def test_an_inductor_is_not_flagged(tmp_path: Path) -> None:
    f = np.logspace(5, 1, 9)
    text = "Frequency,Real_Z,Imag_Z\n" + "".join(
        f"{float(fi)!r},1.5,{float(2 * np.pi * fi * 1e-6)!r}\n" for fi in f
    )
    (path := tmp_path / "l.csv").write_text(text)
    (spectrum,) = read_csv(path)
    assert np.all(spectrum.impedance_ohm.imag > 0) and spectrum.meta.extra["warnings"] == ()


def test_a_headerless_all_positive_third_column_is_flagged_not_flipped(tmp_path: Path) -> None:
    text = "".join(f"{f!r},{re!r},{-im!r}\n" for f, re, im in POINTS)
    (path := tmp_path / "h.csv").write_text(text)
    (spectrum,) = read_csv(path)
    np.testing.assert_array_equal(spectrum.impedance_ohm, _Z.conjugate())
    (warning,) = spectrum.meta.extra["warnings"]
    assert "'column 2'" in warning and "add a header" in warning
    (mapped,) = read_csv(path, columns={"frequency": 0, "real": 1, "-imag": 2})
    np.testing.assert_array_equal(mapped.impedance_ohm, _Z)
    assert mapped.meta.extra["warnings"] == ()
