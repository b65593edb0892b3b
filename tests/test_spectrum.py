"""Tests of eisfit.spectrum: construction, validation messages, immutability, derived spectra."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eisfit import EisfitError, Spectrum, SpectrumError, SpectrumMeta
from eisfit.spectrum import format_hz

F = [1e5, 1e3, 10.0, 0.1]
Z = [10 - 0.5j, 50 - 20j, 100 - 30j, 110 - 5j]
SOURCE = "cellA_run7.mpt"


def _spectrum(**meta) -> Spectrum:
    return Spectrum(frequency_hz=np.array(F), impedance_ohm=np.array(Z), meta=SpectrumMeta(**meta))


def _error(f, z, source: str | None = SOURCE) -> SpectrumError:
    with pytest.raises(SpectrumError) as info:
        Spectrum(frequency_hz=f, impedance_ohm=z, meta=SpectrumMeta(source=source))
    return info.value


# --------------------------------------------------------------------------- construction


def test_construction_from_lists() -> None:
    s = Spectrum(frequency_hz=F, impedance_ohm=Z)
    assert s.frequency_hz.dtype == np.float64
    assert s.impedance_ohm.dtype == np.complex128
    assert s.frequency_hz.shape == s.impedance_ohm.shape == (4,)
    np.testing.assert_array_equal(s.frequency_hz, F)
    np.testing.assert_array_equal(s.impedance_ohm, Z)
    assert len(s) == 4
    np.testing.assert_allclose(s.angular_frequency, 2 * np.pi * np.array(F), rtol=1e-15)
    assert s.meta == SpectrumMeta()


def test_real_impedance_and_integer_frequencies_are_converted() -> None:
    s = Spectrum(frequency_hz=[3, 2, 1], impedance_ohm=[5, 6, 7])
    assert s.frequency_hz.dtype == np.float64
    assert s.impedance_ohm.dtype == np.complex128
    np.testing.assert_array_equal(s.impedance_ohm.imag, 0.0)


def test_point_order_is_kept_as_given() -> None:
    f = [10.0, 1e4, 1.0, 100.0]
    s = Spectrum(frequency_hz=f, impedance_ohm=[1, 2, 3, 4])
    np.testing.assert_array_equal(s.frequency_hz, f)
    np.testing.assert_array_equal(s.impedance_ohm.real, [1, 2, 3, 4])


def test_arrays_are_read_only_copies() -> None:
    f, z = np.array(F), np.array(Z)
    s = Spectrum(frequency_hz=f, impedance_ohm=z)
    assert not s.frequency_hz.flags.writeable
    assert not s.impedance_ohm.flags.writeable
    with pytest.raises(ValueError):
        s.frequency_hz[0] = 1.0
    with pytest.raises(ValueError):
        s.impedance_ohm[0] = 1.0
    # later changes to the caller's arrays do not leak in
    f[0], z[0] = 123.0, 0j
    assert s.frequency_hz[0] == F[0]
    assert s.impedance_ohm[0] == Z[0]
    assert not np.shares_memory(s.frequency_hz, f)
    assert not np.shares_memory(s.impedance_ohm, z)


def test_read_only_input_is_still_copied() -> None:
    f = np.array(F)
    f.setflags(write=False)
    s = Spectrum(frequency_hz=f, impedance_ohm=Z)
    assert not np.shares_memory(s.frequency_hz, f)


def test_spectrum_and_meta_are_frozen() -> None:
    s = _spectrum(source=SOURCE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.frequency_hz = np.array([1.0])  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.meta.source = "other"  # type: ignore[misc]


def test_meta_extra_is_a_read_only_copy() -> None:
    extra = {"instrument": "VSP-300", "channel": 3}
    meta = SpectrumMeta(source=SOURCE, extra=extra)
    with pytest.raises(TypeError):
        meta.extra["instrument"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        del meta.extra["channel"]  # type: ignore[attr-defined]
    extra["instrument"] = "changed later"
    extra["new"] = 1
    assert dict(meta.extra) == {"instrument": "VSP-300", "channel": 3}
    # replace() (used by with_meta) keeps it read-only
    s = _spectrum().with_meta(extra={"a": 1})
    with pytest.raises(TypeError):
        s.meta.extra["a"] = 2  # type: ignore[index]


def test_meta_must_be_spectrum_meta() -> None:
    with pytest.raises(SpectrumError):
        Spectrum(frequency_hz=F, impedance_ohm=Z, meta={"source": "x"})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validation


def test_spectrum_error_hierarchy() -> None:
    assert issubclass(SpectrumError, EisfitError)
    assert issubclass(SpectrumError, ValueError)


@pytest.mark.parametrize(
    ("f", "z", "point", "what"),
    [
        ([1e3, 1e2, np.nan, 1.0], Z, 2, "frequency"),
        ([1e3, np.inf, 10.0, 1.0], Z, 1, "frequency"),
        (F, [1, 2, 3, complex(np.nan, 0)], 3, "impedance"),
        (F, [1, complex(1, np.nan), 3, 4], 1, "impedance"),
        (F, [1, 2, complex(-np.inf, -1), 4], 2, "impedance"),
    ],
)
def test_non_finite_values_name_the_point_and_source(f, z, point, what) -> None:
    msg = str(_error(f, z))
    assert what in msg
    assert re.search(rf"point {point}\b", msg), msg
    assert SOURCE in msg


@pytest.mark.parametrize("which", ["frequency", "impedance"])
def test_all_nan(which: str) -> None:
    nan = [np.nan] * 4
    f, z = (nan, Z) if which == "frequency" else (F, nan)
    msg = str(_error(f, z))
    assert which in msg
    assert SOURCE in msg


@pytest.mark.parametrize(("bad", "point"), [(0.0, 2), (-5.0, 1), (-0.0, 3)])
def test_non_positive_frequency(bad: float, point: int) -> None:
    f = list(F)
    f[point] = bad
    msg = str(_error(f, Z))
    assert re.search(rf"point {point}\b", msg), msg
    assert SOURCE in msg
    assert "> 0" in msg


def test_duplicate_frequency_names_value_and_source() -> None:
    f = [1e5, 300.0, 20.0, 300.0]
    msg = str(_error(f, Z))
    assert "duplicate" in msg
    assert "300" in msg
    assert SOURCE in msg


def test_duplicate_frequency_names_the_point_index() -> None:
    f = [1e5, 300.0, 20.0, 300.0]  # points 1 and 3 collide
    msg = str(_error(f, Z))
    assert re.search(r"\bpoints? .*\b(1|3)\b", msg), msg


def test_length_mismatch() -> None:
    msg = str(_error(F, Z[:3]))
    assert "4" in msg and "3" in msg
    assert SOURCE in msg


@pytest.mark.parametrize(("f", "z"), [([], []), (np.array([]), np.array([], dtype=complex))])
def test_empty(f, z) -> None:
    msg = str(_error(f, z))
    assert "no points" in msg
    assert SOURCE in msg


@pytest.mark.parametrize(
    ("f", "z"),
    [
        (np.array([F]), np.array([Z])),  # both (1, 4)
        (F, np.array([Z, Z])),
        (np.ones((2, 2)), Z),
        (5.0, 1 + 1j),  # 0-d
    ],
)
def test_not_one_dimensional(f, z) -> None:
    msg = str(_error(f, z))
    assert "1-D" in msg
    assert SOURCE in msg


@pytest.mark.parametrize(
    ("f", "z"),
    [
        (["a", "b", "c", "d"], Z),
        (F, [1, "x", 2, 3]),
        ([object()] * 4, Z),
        ([1 + 1j, 2, 3, 4], Z),  # complex frequencies in a list
    ],
)
def test_non_numeric(f, z) -> None:
    msg = str(_error(f, z))
    assert "numeric" in msg
    assert SOURCE in msg


def test_complex_frequency_array_is_rejected() -> None:
    with pytest.raises(SpectrumError):
        Spectrum(frequency_hz=np.array([1e3 + 1j, 1e2 - 3j, 10.0 + 0j]), impedance_ohm=[1, 2, 3])


def test_messages_without_source_have_no_placeholder() -> None:
    msg = str(_error([1.0, np.nan], [1, 2], source=None))
    assert "None" not in msg
    assert "()" not in msg
    assert re.search(r"point 1\b", msg)


# --------------------------------------------------------------------------- derived spectra


def _assert_unchanged(s: Spectrum) -> None:
    np.testing.assert_array_equal(s.frequency_hz, F)
    np.testing.assert_array_equal(s.impedance_ohm, Z)
    assert s.meta.source == SOURCE


def _assert_readonly(s: Spectrum) -> None:
    assert not s.frequency_hz.flags.writeable
    assert not s.impedance_ohm.flags.writeable


def test_mask() -> None:
    s = _spectrum(source=SOURCE)
    m = s.mask([True, False, True, False])
    assert m is not s
    np.testing.assert_array_equal(m.frequency_hz, [F[0], F[2]])
    np.testing.assert_array_equal(m.impedance_ohm, [Z[0], Z[2]])
    assert m.meta == s.meta
    _assert_readonly(m)
    _assert_unchanged(s)
    with pytest.raises(SpectrumError):
        s.mask([True, False])
    with pytest.raises(SpectrumError):
        s.mask([False] * 4)  # nothing left


def test_crop_is_inclusive_and_pairs_stay_together() -> None:
    s = _spectrum(source=SOURCE)
    c = s.crop(f_min_hz=10.0, f_max_hz=1e3)
    np.testing.assert_array_equal(c.frequency_hz, [1e3, 10.0])
    np.testing.assert_array_equal(c.impedance_ohm, [Z[1], Z[2]])
    np.testing.assert_array_equal(s.crop(f_min_hz=1.0).frequency_hz, F[:3])
    np.testing.assert_array_equal(s.crop(f_max_hz=1.0).frequency_hz, [0.1])
    np.testing.assert_array_equal(s.crop().frequency_hz, F)
    _assert_readonly(c)
    _assert_unchanged(s)
    with pytest.raises(SpectrumError):
        s.crop(f_min_hz=2e5)


def test_crop_records_what_it_removed() -> None:
    s = _spectrum(source=SOURCE)  # 100 kHz, 1 kHz, 10 Hz, 100 mHz
    assert s.crop(f_max_hz=2e3).meta.removed == ("cropped to f <= 2 kHz: removed 1 point above",)
    assert s.crop(f_min_hz=5.0).meta.removed == ("cropped to f >= 5 Hz: removed 1 point below",)
    both = s.crop(f_min_hz=50.0, f_max_hz=7e4)
    np.testing.assert_array_equal(both.frequency_hz, [1e3])
    assert both.meta.removed == (
        "cropped to 50 Hz <= f <= 70 kHz: removed 1 point above 70 kHz and 2 points below 50 Hz",
    )
    again = both.crop(f_max_hz=500.0 + 1e3)  # removes nothing: no record, same spectrum
    assert again is both
    twice = s.crop(f_max_hz=2e3).crop(f_min_hz=5.0)
    assert twice.meta.removed == (
        "cropped to f <= 2 kHz: removed 1 point above",
        "cropped to f >= 5 Hz: removed 1 point below",
    )
    assert s.meta.removed == ()


def test_crop_and_mask_reset_findings_and_keep_removed() -> None:
    screened = _spectrum(source=SOURCE).with_meta(findings=(), removed=("earlier step",))
    m = screened.mask([True, True, False, True])
    assert m.meta.findings is None  # the points changed: findings would index wrong points
    assert m.meta.removed == ("earlier step",)
    c = screened.crop(f_max_hz=2e3)
    assert c.meta.findings is None
    assert c.meta.removed == ("earlier step", "cropped to f <= 2 kHz: removed 1 point above")
    assert screened.crop(f_max_hz=1e6).meta.findings == ()  # nothing removed: still valid


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"f_min_hz": 0.0}, "f_min_hz must be a positive finite frequency"),
        ({"f_max_hz": -5.0}, "f_max_hz must be a positive finite frequency"),
        ({"f_max_hz": float("nan")}, "f_max_hz must be a positive finite frequency"),
        ({"f_min_hz": float("inf")}, "f_min_hz must be a positive finite frequency"),
        ({"f_min_hz": "abc"}, "f_min_hz must be a number of Hz, not 'abc'"),
        ({"f_min_hz": 1e3, "f_max_hz": 10.0}, "f_min_hz = 1 kHz is above f_max_hz = 10 Hz"),
        (
            {"f_min_hz": 2e5},
            "cropping to f >= 200 kHz leaves no point of spectrum 2 of cellA_run7.mpt,"
            " which covers 100 mHz - 100 kHz",
        ),
        (
            {"f_min_hz": 20.0, "f_max_hz": 30.0},
            "cropping to 20 Hz <= f <= 30 Hz leaves no point of spectrum 2",
        ),
    ],
)
def test_crop_rejects_bad_bounds_and_empty_results(options, match: str) -> None:
    with pytest.raises(SpectrumError, match=re.escape(match)):
        _spectrum(source=SOURCE, index=2).crop(**options)


def test_mask_that_keeps_nothing_names_the_spectrum() -> None:
    with pytest.raises(SpectrumError, match=re.escape("no point of spectrum 0 is kept")):
        Spectrum(frequency_hz=F, impedance_ohm=Z).mask([False] * 4)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7e5, "700 kHz"),
        (12.34, "12.3 Hz"),
        (45.0, "45 Hz"),
        (1234.0, "1.23 kHz"),
        (999.9, "1 kHz"),
        (0.01, "10 mHz"),
        (7e6, "7 MHz"),
        (2e9, "2 GHz"),
        (1e-5, "10 uHz"),
    ],
)
def test_format_hz(value: float, text: str) -> None:
    assert format_hz(value) == text


def test_sorted() -> None:
    f = [10.0, 1e4, 1.0, 100.0]
    z = [1 - 1j, 2 - 2j, 3 - 3j, 4 - 4j]
    s = Spectrum(frequency_hz=f, impedance_ohm=z, meta=SpectrumMeta(source=SOURCE))
    d = s.sorted()
    np.testing.assert_array_equal(d.frequency_hz, [1e4, 100.0, 10.0, 1.0])
    np.testing.assert_array_equal(d.impedance_ohm, [2 - 2j, 4 - 4j, 1 - 1j, 3 - 3j])
    a = s.sorted(descending=False)
    np.testing.assert_array_equal(a.frequency_hz, [1.0, 10.0, 100.0, 1e4])
    np.testing.assert_array_equal(a.impedance_ohm, [3 - 3j, 1 - 1j, 4 - 4j, 2 - 2j])
    _assert_readonly(d)
    _assert_readonly(a)
    np.testing.assert_array_equal(s.frequency_hz, f)
    np.testing.assert_array_equal(s.impedance_ohm, z)
    assert d.meta == s.meta


def test_with_meta() -> None:
    s = _spectrum(source=SOURCE, index=2)
    stamp = datetime(2024, 5, 1, 12, 30)
    t = s.with_meta(temperature_k=298.15, timestamp=stamp, cycle=4)
    assert t is not s
    assert t.meta.temperature_k == 298.15
    assert t.meta.timestamp == stamp
    assert t.meta.cycle == 4
    assert t.meta.source == SOURCE and t.meta.index == 2  # untouched fields kept
    np.testing.assert_array_equal(t.frequency_hz, F)
    np.testing.assert_array_equal(t.impedance_ohm, Z)
    _assert_readonly(t)
    assert s.meta == SpectrumMeta(source=SOURCE, index=2)
    _assert_unchanged(s)


# --------------------------------------------------------------------------- properties


@st.composite
def _spectra(draw):
    n = draw(st.integers(1, 30))
    exps = draw(
        st.lists(
            st.floats(-3, 7, allow_nan=False, allow_infinity=False),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    f = 10.0 ** np.array(exps)
    if np.unique(f).size != f.size:  # distinct exponents can still round to one float
        f = np.unique(f)
    re_ = draw(st.lists(st.floats(-1e6, 1e6), min_size=f.size, max_size=f.size))
    im = draw(st.lists(st.floats(-1e6, 1e6), min_size=f.size, max_size=f.size))
    return Spectrum(frequency_hz=f, impedance_ohm=np.array(re_) + 1j * np.array(im))


@settings(max_examples=60, deadline=None)
@given(s=_spectra(), lo=st.floats(-3, 7), width=st.floats(0, 10))
def test_property_crop_and_sorted_keep_pairs(s: Spectrum, lo: float, width: float) -> None:
    pairs = dict(zip(s.frequency_hz.tolist(), s.impedance_ohm.tolist(), strict=True))
    d = s.sorted()
    assert np.all(np.diff(d.frequency_hz) < 0)
    assert dict(zip(d.frequency_hz.tolist(), d.impedance_ohm.tolist(), strict=True)) == pairs
    f_min, f_max = 10.0**lo, 10.0 ** (lo + width)
    inside = (s.frequency_hz >= f_min) & (s.frequency_hz <= f_max)
    if not inside.any():
        with pytest.raises(SpectrumError):
            s.crop(f_min_hz=f_min, f_max_hz=f_max)
        return
    c = s.crop(f_min_hz=f_min, f_max_hz=f_max)
    np.testing.assert_array_equal(c.frequency_hz, s.frequency_hz[inside])
    for f, z in zip(c.frequency_hz.tolist(), c.impedance_ohm.tolist(), strict=True):
        assert pairs[f] == z
