"""The `Spectrum`: one impedance spectrum with its metadata, immutable.

Sign convention: ``impedance_ohm`` is the physical impedance Z = Z' + j Z'' with
Z'' < 0 for a capacitive arc.  Readers convert vendor conventions (BioLogic's -Im(Z),
for example) to this one before a `Spectrum` is built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import SpectrumError

__all__ = ["Finding", "Spectrum", "SpectrumMeta", "format_hz", "spectrum_name"]


@dataclass(frozen=True)
class Finding:
    """Something data screening (`eisfit.screening.screen`) found in a spectrum.

    ``kind`` is a short key (e.g. ``negative_real``, ``outlier``, ``inductive_artefact``,
    ``non_monotonic``, ``truncated``); ``message`` one sentence for people, naming the
    points and what to do; ``points`` the indices (into the spectrum's point order) of
    the points concerned, empty when the finding is about the whole spectrum;
    ``severity`` is the status the finding gives a fit of these data (``warning`` for
    every kind so far: the data are usable, with that reason).
    """

    kind: str
    message: str
    points: tuple[int, ...] = ()
    severity: str = "warning"


@dataclass(frozen=True)
class SpectrumMeta:
    """Where a spectrum came from and under which conditions it was measured.

    ``timestamp`` is timezone-naive, as the instrument wrote it.  ``extra`` holds
    anything else a reader found (instrument, technique, warnings...).  ``findings`` is
    what data screening found (None: not screened yet; empty: screened, nothing found);
    ``removed`` says, one sentence per step, which points were removed and why
    (cropping, dropping flagged points), so that no removal goes unrecorded;
    ``noise_estimate`` the relative noise screening estimated (a fraction of |Z|, None:
    not estimated), which a fit's residuals are judged against when lin-KK did not run.
    """

    source: str | None = None
    index: int = 0
    timestamp: datetime | None = None
    cycle: int | None = None
    temperature_k: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] | None = None
    removed: tuple[str, ...] = ()
    noise_estimate: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        if self.findings is not None:
            object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "removed", tuple(self.removed))


def _readonly(values: npt.ArrayLike, dtype: type) -> np.ndarray:
    out = np.array(values, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Spectrum:
    """An impedance spectrum: frequencies in Hz and complex impedances in ohm.

    Arrays are copied and made read-only.  Validation rejects empty data, length
    mismatches, non-finite values and non-positive or duplicate frequencies, each with a
    message naming the first offending point.  Point order is kept as given.
    """

    frequency_hz: np.ndarray
    impedance_ohm: np.ndarray
    meta: SpectrumMeta = field(default_factory=SpectrumMeta)

    def __post_init__(self) -> None:
        where = (
            f" ({self.meta.source})"
            if isinstance(self.meta, SpectrumMeta) and self.meta.source
            else ""
        )
        if np.iscomplexobj(self.frequency_hz):
            raise SpectrumError(f"frequency_hz is not numeric real data{where}: it is complex")
        try:
            f = _readonly(self.frequency_hz, float)
            z = _readonly(self.impedance_ohm, complex)
        except (TypeError, ValueError) as exc:
            raise SpectrumError(f"spectrum data are not numeric{where}: {exc}") from None
        if f.ndim != 1 or z.ndim != 1:
            raise SpectrumError(f"frequency_hz and impedance_ohm must be 1-D{where}")
        if f.size != z.size:
            raise SpectrumError(
                f"length mismatch{where}: {f.size} frequencies but {z.size} impedances"
            )
        if f.size == 0:
            raise SpectrumError(f"spectrum has no points{where}")
        _check_finite(f, "frequency", where)
        _check_finite(z, "impedance", where)
        bad = np.flatnonzero(f <= 0)
        if bad.size:
            raise SpectrumError(
                f"frequency must be > 0{where}: point {bad[0]} has f = {f[bad[0]]:g} Hz"
            )
        order = np.argsort(f, kind="stable")
        dup = np.flatnonzero(np.diff(f[order]) == 0)
        if dup.size:
            a, b = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
            raise SpectrumError(
                f"duplicate frequency{where}: points {a} and {b} both have f = {f[a]:g} Hz"
            )
        if not isinstance(self.meta, SpectrumMeta):
            raise SpectrumError("meta must be a SpectrumMeta")
        object.__setattr__(self, "frequency_hz", f)
        object.__setattr__(self, "impedance_ohm", z)

    def _repr_html_(self) -> str:  # Jupyter
        from .notebook import spectrum_html

        return spectrum_html(self)

    def __len__(self) -> int:
        return int(self.frequency_hz.size)

    @property
    def angular_frequency(self) -> np.ndarray:
        """omega = 2 pi f in rad/s."""
        return 2.0 * np.pi * self.frequency_hz

    def mask(self, keep: npt.ArrayLike) -> Spectrum:
        """A new spectrum holding only the points where ``keep`` is true.

        ``meta.removed`` is kept as it is (the caller records why points went: `crop`
        and `eisfit.screening.screen.drop_flagged` do); ``meta.findings`` is reset to None
        (not screened), since findings name points by index and the points changed.
        Raises `SpectrumError` when no point is kept.
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != self.frequency_hz.shape:
            raise SpectrumError("mask must have one entry per point")
        if not keep.any():
            raise SpectrumError(f"no point of {spectrum_name(self.meta)} is kept")
        return replace(
            self,
            frequency_hz=self.frequency_hz[keep],
            impedance_ohm=self.impedance_ohm[keep],
            meta=replace(self.meta, findings=None),
        )

    def crop(self, *, f_min_hz: float | None = None, f_max_hz: float | None = None) -> Spectrum:
        """A new spectrum restricted to f_min_hz <= f <= f_max_hz (bounds included).

        Appends one sentence to ``meta.removed`` saying what went, e.g. "cropped to
        f <= 700 kHz: removed 4 points above" (nothing is appended when no point lies
        outside the bounds).  Findings are reset as by `mask`.  Raises `SpectrumError`
        for a bound that is not a positive finite number, for f_min_hz > f_max_hz, and
        when no point would be left (the message names the spectrum and its band).
        """
        low = _bound(f_min_hz, "f_min_hz")
        high = _bound(f_max_hz, "f_max_hz")
        if low is not None and high is not None and low > high:
            raise SpectrumError(
                f"f_min_hz = {format_hz(low)} is above f_max_hz = {format_hz(high)}"
            )
        f = self.frequency_hz
        below = f < low if low is not None else np.zeros(f.shape, dtype=bool)
        above = f > high if high is not None else np.zeros(f.shape, dtype=bool)
        if not below.any() and not above.any():
            return self
        keep = ~(below | above)
        if not keep.any():
            raise SpectrumError(
                f"cropping to {_band_text(low, high)} leaves no point of "
                f"{spectrum_name(self.meta)}, which covers "
                f"{format_hz(f.min())} - {format_hz(f.max())}"
            )
        parts = []
        if above.any():
            parts.append(
                f"{_count(above.sum())} above" + (f" {format_hz(high)}" if low is not None else "")
            )
        if below.any():
            parts.append(
                f"{_count(below.sum())} below" + (f" {format_hz(low)}" if high is not None else "")
            )
        text = f"cropped to {_band_text(low, high)}: removed " + " and ".join(parts)
        cropped = self.mask(keep)
        return cropped.with_meta(removed=(*self.meta.removed, text))

    def sorted(self, *, descending: bool = True) -> Spectrum:
        """A new spectrum with points ordered by frequency (high to low by default)."""
        order = np.argsort(self.frequency_hz, kind="stable")
        if descending:
            order = order[::-1]
        return replace(
            self, frequency_hz=self.frequency_hz[order], impedance_ohm=self.impedance_ohm[order]
        )

    def with_meta(self, **changes: Any) -> Spectrum:
        """A new spectrum with some metadata fields replaced."""
        return replace(self, meta=replace(self.meta, **changes))


def format_hz(frequency_hz: float) -> str:
    """A frequency for people, with an SI prefix and 3 significant digits: '700 kHz'."""
    value = float(frequency_hz)
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m")):
        if abs(value) >= factor * (1 - 5e-4):
            return f"{value / factor:.3g} {prefix}Hz"
    return f"{value / 1e-6:.3g} uHz"


def _bound(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpectrumError(f"{name} must be a number of Hz, not {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise SpectrumError(f"{name} must be a positive finite frequency in Hz, not {value!r}")
    return number


def _band_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{format_hz(low)} <= f <= {format_hz(high)}"
    if low is not None:
        return f"f >= {format_hz(low)}"
    return f"f <= {format_hz(high)}"


def _count(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def spectrum_name(meta: SpectrumMeta) -> str:
    """'spectrum 3 of run.mpt' (or 'spectrum 3' without a source) for messages."""
    return f"spectrum {meta.index}" + (f" of {meta.source}" if meta.source else "")


def _check_finite(values: np.ndarray, what: str, where: str) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size == values.size:
        raise SpectrumError(f"every {what} value is NaN or infinite{where}")
    if bad.size:
        raise SpectrumError(f"{what} is NaN or infinite{where} at point {bad[0]}")
