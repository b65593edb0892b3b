"""Data screening before fitting: what in a spectrum should not be fitted as it is.

`screen` returns the spectrum with ``meta.findings`` set (a tuple of `Finding`, empty
when nothing was found; every finding is a ``warning``: the data stay usable, with that
reason).  Kinds:

``negative_real``
    points with Z' < -4 sigma |Z|, sigma the spectrum's noise estimate (a passive cell
    has Z' >= 0);
``inductive_artefact``
    a high-frequency head a series inductance cannot explain: Z'' falling toward f_max
    (a resonance), Z' falling from the intercept to below zero, or a point off the trend
    at the very top of the band.  A plain inductive head (Z'' > 0 rising, Z' steady) is
    normal and not a finding (docs/physics-notes.md sec. 1: fit a series L0, do not delete it);
``outlier``
    isolated spikes: points far off the smooth curve through their neighbours;
``non_monotonic``
    frequencies that are not one monotonic sweep (the frequency jumps back);
``truncated``
    (with ``siblings``) a spectrum much shorter than its typical sibling, or covering only
    part of their band.

How the noise is estimated and the smooth curve drawn: `eisfit.screening.points`.
`drop_flagged` removes the points of point-level findings and records it in
``meta.removed``; `prepare` is the pipeline of the command line and the batch (crop,
screen, optionally drop); `format_findings` gives printable lines.  Nothing here fits a
circuit: this module sits below the fitting engine and imports only the spectrum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import SpectrumError
from ..spectrum import Finding, Spectrum, format_hz, spectrum_name
from .points import (
    MIN_POINTS,
    artefact_head,
    negative_real,
    spikes,
)
from .siblings import SiblingBand, sibling_bands, truncation

__all__ = [
    "POINT_KINDS",
    "SiblingBand",
    "drop_flagged",
    "estimate_noise",
    "format_findings",
    "prepare",
    "screen",
    "screen_all",
    "sibling_bands",
]

#: finding kinds that name points to drop; the others concern the whole spectrum
POINT_KINDS = ("inductive_artefact", "negative_real", "outlier")
#: relative noise assumed when a spectrum is too short to estimate its own
_DEFAULT_NOISE = 0.01
_LISTED = 5


def estimate_noise(spectrum: Spectrum) -> float | None:
    """The relative noise of ``spectrum`` (a fraction of |Z| per part of Z), or None.

    The robust scale of leave-one-out residuals against a local smooth curve, spikes left
    out (`eisfit.screening.points`), at least 0.1 %; None when the spectrum has fewer
    than `screening_points.MIN_POINTS` points.
    """
    if len(spectrum) < MIN_POINTS:
        return None
    x, z, _ = _ascending(spectrum)
    return spikes(x, z)[1].sigma


def screen(
    spectrum: Spectrum,
    *,
    siblings: Sequence[Spectrum] | None = None,
    band: SiblingBand | None = None,
) -> Spectrum:
    """``spectrum`` with ``meta.findings`` set to what screening found (see module doc).

    ``siblings`` are the other spectra of the same file or run (the spectrum itself is
    ignored if it is among them), or ``band`` what they cover (`sibling_bands`); without
    either nothing is said about truncation.
    """
    x, z, order = _ascending(spectrum)
    f = spectrum.frequency_hz
    findings: list[Finding] = []
    jumps = _jumps_back(f)
    if jumps.size:
        findings.append(_non_monotonic(f, jumps))
    if len(spectrum) >= MIN_POINTS:
        spiked, residuals = spikes(x, z)
        sigma, scale = residuals.sigma, residuals.scale
    else:
        spiked = np.zeros(x.size, dtype=bool)
        sigma = _DEFAULT_NOISE
        scale = np.full(x.size, sigma)
    head = artefact_head(z, scale, spiked)
    in_head = np.zeros(x.size, dtype=bool)
    in_head[head.points] = True
    if head.points.size:
        findings.append(_artefact(f, z, order, head))
    negative = negative_real(z, sigma) & ~in_head
    if negative.any():
        findings.append(_negative(f, order[negative], sigma))
    outliers = spiked & ~in_head
    if outliers.any():
        findings.append(_outliers(f, order[outliers]))
    others = [s for s in siblings or () if s is not spectrum]
    if band is None and others:
        band = sibling_bands([spectrum, *others])[0]
    if band is not None:
        truncated = truncation(spectrum, band)
        if truncated is not None:
            findings.append(truncated)
    noise = float(sigma) if len(spectrum) >= MIN_POINTS else None
    return spectrum.with_meta(findings=tuple(findings), noise_estimate=noise)


def screen_all(spectra: Iterable[Spectrum]) -> list[Spectrum]:
    """Every spectrum screened with the others as its siblings (one file, cell or run)."""
    spectra = list(spectra)
    return [screen(s, band=b) for s, b in zip(spectra, sibling_bands(spectra), strict=True)]


def drop_flagged(spectrum: Spectrum) -> Spectrum:
    """``spectrum`` without the points named by its point-level findings.

    Point-level kinds are `POINT_KINDS`; their findings go, whole-spectrum findings stay
    (their point indices renumbered).  One sentence per removing finding is appended to
    ``meta.removed``, e.g. "removed 3 points flagged as outliers: 12.3 Hz, 45 Hz,
    1.2 kHz".  An unscreened spectrum (findings None) is screened first, without
    siblings.  Raises `SpectrumError` when every point is flagged.
    """
    return _drop_flagged(spectrum)


def prepare(
    spectra: Iterable[Spectrum],
    *,
    f_min_hz: float | None = None,
    f_max_hz: float | None = None,
    drop_flagged: bool = False,
) -> list[Spectrum]:
    """The screening pipeline of ``eisfit fit``, ``kk`` and ``batch``.

    Crops every spectrum to [f_min_hz, f_max_hz] (`Spectrum.crop`, recorded in
    ``meta.removed``), screens them together (`screen_all`: pass the spectra of one file
    or one cell), then removes flagged points when ``drop_flagged`` is true.  Raises
    `SpectrumError` naming the spectrum (source and index) that cropping would empty.
    """
    cropped = [s.crop(f_min_hz=f_min_hz, f_max_hz=f_max_hz) for s in spectra]
    screened = screen_all(cropped)
    return [_drop_flagged(s) for s in screened] if drop_flagged else screened


def format_findings(findings: Iterable[Finding] | None) -> list[str]:
    """One line per finding: "warning: outlier: 2 points off the smooth curve ..."."""
    return [f"{x.severity}: {x.kind}: {x.message}" for x in findings or ()]


# --------------------------------------------------------------------------- internals


def _ascending(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log10 f and Z in ascending frequency, and the original index of each point."""
    order = np.argsort(spectrum.frequency_hz, kind="stable")
    return np.log10(spectrum.frequency_hz[order]), spectrum.impedance_ohm[order], order


def _drop_flagged(spectrum: Spectrum) -> Spectrum:
    if spectrum.meta.findings is None:
        spectrum = screen(spectrum)
    findings = spectrum.meta.findings or ()
    f = spectrum.frequency_hz
    drop = np.zeros(len(spectrum), dtype=bool)
    sentences = []
    for finding in findings:
        if finding.kind not in POINT_KINDS:
            continue
        new = sorted(i for i in finding.points if not drop[i])
        if not new:
            continue
        drop[new] = True
        single, plural = _AS[finding.kind]
        sentences.append(
            f"removed {_points(len(new))} {single if len(new) == 1 else plural}: {_list(f[new])}"
        )
    if not drop.any():
        return spectrum
    if drop.all():
        raise SpectrumError(
            f"every point of {spectrum_name(spectrum.meta)} is flagged: nothing would be left "
            "to fit after dropping them"
        )
    renumber = np.cumsum(~drop) - 1
    kept = tuple(
        Finding(
            x.kind, x.message, tuple(int(renumber[i]) for i in x.points if not drop[i]), x.severity
        )
        for x in findings
        if x.kind not in POINT_KINDS
    )
    out = spectrum.mask(~drop)
    return out.with_meta(findings=kept, removed=(*spectrum.meta.removed, *sentences))


_AS = {
    "outlier": ("flagged as an outlier", "flagged as outliers"),
    "negative_real": ("flagged with Z' < 0",) * 2,
    "inductive_artefact": ("of the high-frequency artefact",) * 2,
}


def _points(n: int) -> str:
    return "1 point" if n == 1 else f"{n} points"


def _list(frequency_hz: np.ndarray) -> str:
    """'12.3 Hz, 45 Hz, 1.2 kHz', or 'between 40 Hz and 2.1 kHz' for many."""
    values = np.sort(frequency_hz)
    if values.size <= _LISTED:
        return ", ".join(format_hz(v) for v in values)
    return f"between {format_hz(values[0])} and {format_hz(values[-1])}"


def _cli(frequency_hz: float) -> str:
    """A frequency as a command-line number: 7e5, 1.23e4, 0.1, 50."""
    if 0.01 <= frequency_hz < 1e4:
        return f"{frequency_hz:.3g}"
    exponent = math.floor(math.log10(frequency_hz))
    mantissa = round(frequency_hz / 10.0**exponent, 2)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:g}e{exponent}"


def _crop_advice(f: np.ndarray, points: np.ndarray) -> str | None:
    """'crop with --f-max 7e5' when the points are the top (or bottom) of the band."""
    chosen = np.zeros(f.size, dtype=bool)
    chosen[points] = True
    rest = f[~chosen]
    if rest.size and f[chosen].min() > rest.max():
        return f"crop with --f-max {_cli(rest.max())}"
    if rest.size and f[chosen].max() < rest.min():
        return f"crop with --f-min {_cli(rest.min())}"
    return None


def _advice(f: np.ndarray, points: np.ndarray) -> str:
    crop = _crop_advice(f, points)
    drop = "use --drop-flagged-points to leave them out"
    return f"{crop} or {drop}" if crop else drop


def _outliers(f: np.ndarray, points: np.ndarray) -> Finding:
    points = np.sort(points)
    text = (
        f"{_points(points.size)} far off the smooth curve through"
        f" {'its' if points.size == 1 else 'their'} neighbours"
        f" ({_list(f[points])}): {_advice(f, points)}"
    )
    return Finding("outlier", text, tuple(int(i) for i in points))


def _negative(f: np.ndarray, points: np.ndarray, sigma: float) -> Finding:
    points = np.sort(points)
    share = points.size / f.size
    text = (
        f"{_points(points.size)} of {f.size} with Z' < 0 beyond the noise"
        f" ({_list(f[points])}; noise {100 * sigma:.2g} % of |Z|): a passive cell has"
        " Z' >= 0"
    )
    if share > 0.5:
        text += "; most of the spectrum is negative: check the sign convention of the"
        text += " export and the cell connections"
    return Finding("negative_real", f"{text}; {_advice(f, points)}", tuple(int(i) for i in points))


def _artefact(f: np.ndarray, z: np.ndarray, order: np.ndarray, head) -> Finding:
    """The inductive_artefact finding (``head`` in ascending order, see artefact_head)."""
    f_up = f[order]
    why = []
    if head.resonance_peak is not None:
        peak = head.resonance_peak
        why.append(
            f"Z'' falls from {z.imag[peak]:.3g} ohm at {format_hz(f_up[peak])} to"
            f" {z.imag[-1]:.3g} ohm at {format_hz(f_up[-1])} where a series inductance"
            " makes it rise (a resonance)"
        )
    if head.rise_from is not None:
        low = head.rise_from
        why.append(
            f"Z' rises from {z.real[low]:.3g} ohm at {format_hz(f_up[low])} to"
            f" {z.real[-1]:.3g} ohm at {format_hz(f_up[-1])} where a series inductance keeps"
            " it steady (a resonance, or a non-ideal cable: a modified inductance La fits it)"
        )
    if head.intercept is not None:
        start = head.intercept
        why.append(
            f"Z' falls from {z.real[start]:.3g} ohm at {format_hz(f_up[start])} to"
            f" {z.real[-1]:.3g} ohm at {format_hz(f_up[-1])}, below zero"
        )
    if head.top_spikes:
        why.append(f"{_points(head.top_spikes)} at the top of the band off the trend")
    points = np.sort(order[head.points])
    keep_max = f_up[head.points.min() - 1] if head.points.min() > 0 else None
    where = f"above {format_hz(keep_max)}" if keep_max else "(every point)"
    text = (
        f"the high-frequency head is not a plain series inductance: {'; '.join(why)};"
        f" {_points(points.size)} {where}"
    )
    if keep_max:
        text += f": crop with --f-max {_cli(keep_max)} or use --drop-flagged-points"
    return Finding("inductive_artefact", text, tuple(int(i) for i in points))


def _jumps_back(f: np.ndarray) -> np.ndarray:
    """Indices of the points after which the sweep direction reverses (empty: one sweep)."""
    step = np.sign(np.diff(f))
    if step.size == 0:
        return np.array([], dtype=int)
    direction = 1.0 if np.sum(step > 0) > np.sum(step < 0) else -1.0
    return np.flatnonzero(step != direction) + 1


def _non_monotonic(f: np.ndarray, jumps: np.ndarray) -> Finding:
    first = int(jumps[0])
    text = (
        f"the frequencies are not one monotonic sweep: the frequency jumps back"
        f" {jumps.size} time{'s' if jumps.size > 1 else ''}, first after point {first - 1}"
        f" ({format_hz(f[first - 1])}) to {format_hz(f[first])}: several sweeps may be"
        " merged into one spectrum; split them (one spectrum per sweep) or check the export"
    )
    return Finding("non_monotonic", text, tuple(int(i) for i in jumps))
