"""What the ends of a spectrum look like: an inductive head, an inductive loop, and the
low-frequency tail (closed arc, diffusion line or capacitive spike).

These features decide which series elements the candidate circuits try (`candidates`);
they never decide the answer, the fits do.

* **Inductive head**: Z'' > 0 at the top of the band, beyond the noise.  A lead inductance
  (0.1-1 uH) shows as Z'' > 0 above ~100 kHz (docs/physics-notes.md sec. 1); keep it as a
  series L instead of deleting the points.
* **Inductive loop**: Z'' > 0 beyond the noise at frequencies *below* a capacitive part of
  the spectrum (a loop in the fourth quadrant, e.g. adsorption or corrosion).  No
  candidate here models it, so an identification reports it.
* **Low-frequency tail**: the direction in which the Nyquist curve moves as the frequency
  falls through its lowest half decade, theta = atan2(-dZ'', dZ') in degrees.  A series
  CPE Z = 1/(Q (j w)^n) moves at theta = 90 n (Orazem & Tribollet, Electrochemical
  Impedance Spectroscopy, 2nd ed. (2017), ch. 14): a blocking electrode's spike (n near
  1) at 70-90 degrees, a semi-infinite Warburg (n = 1/2) at 45 degrees; an arc closing on
  the real axis moves down to it (theta < 0).  The class boundaries (`DIFFUSION_DEG`,
  `CAPACITIVE_DEG`) sit half-way between these: a tail is "closed" below 22.5 degrees,
  "diffusion" up to 67.5 and "capacitive" above, and a tail within `MARGIN_DEG` of a
  boundary is ambiguous (both classes' elements are tried).  A tail that moves less than
  `STILL` times the noise over that half decade is "closed" whatever its angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..spectrum import Spectrum

__all__ = ["CAPACITIVE_DEG", "DIFFUSION_DEG", "ShapeFeatures", "shape_features"]

DIFFUSION_DEG = 22.5  # tail angle above which the tail is diffusion-like (W: 45 degrees)
CAPACITIVE_DEG = 67.5  # above: a capacitive spike (a series CPE with n > 3/4)
MARGIN_DEG = 10.0  # within this of a boundary both classes are tried
STILL = 3.0  # a tail moving less than this many noise sigmas is closed
_SIGMAS = 3.0  # Z'' > this many noise sigmas of |Z| counts as inductive
_TAIL_DECADES = 0.5  # the lowest half decade is the tail
_DEFAULT_NOISE = 0.01  # relative noise assumed when none is known (1 %)


@dataclass(frozen=True)
class ShapeFeatures:
    """The shape of a spectrum's ends (see the module docstring).

    ``tail``: "closed", "diffusion" or "capacitive"; ``tail_classes``: the classes whose
    elements the candidates try (two when the angle is near a boundary);
    ``tail_angle_deg``: theta, NaN when the tail did not move beyond the noise;
    ``loop_hz``: the frequency range (low, high) of an inductive loop, None without one.
    """

    inductive_head: bool
    head_points: int
    head_hint: bool  # Z'' > 0 at the top point, beyond the noise or not
    loop_hz: tuple[float, float] | None
    tail: str
    tail_classes: tuple[str, ...]
    tail_angle_deg: float
    noise: float

    def describe(self) -> list[str]:
        """One sentence per feature, for the identification's evidence."""
        out = [
            f"inductive head: Z'' > 0 at the top {self.head_points} point(s)"
            if self.inductive_head
            else "no inductive head (Z'' <= 0 at the top of the band, within the noise)"
        ]
        if self.loop_hz is not None:
            out.append(
                f"inductive loop: Z'' > 0 between {self.loop_hz[0]:.3g} and "
                f"{self.loop_hz[1]:.3g} Hz below a capacitive part (no candidate models it)"
            )
        angle = (
            "did not move beyond the noise"
            if not math.isfinite(self.tail_angle_deg)
            else f"moves at {self.tail_angle_deg:.0f} degrees"
        )
        out.append(
            f"low-frequency tail {self.tail} ({angle}; tried: {', '.join(self.tail_classes)})"
        )
        return out


def _classes(angle_deg: float) -> tuple[str, ...]:
    """The tail classes within `MARGIN_DEG` of ``angle_deg`` (closed first)."""
    if not math.isfinite(angle_deg):
        return ("closed",)
    out = []
    if angle_deg < DIFFUSION_DEG + MARGIN_DEG:
        out.append("closed")
    if DIFFUSION_DEG - MARGIN_DEG < angle_deg < CAPACITIVE_DEG + MARGIN_DEG:
        out.append("diffusion")
    if angle_deg > CAPACITIVE_DEG - MARGIN_DEG:
        out.append("capacitive")
    return tuple(out)


def _tail(f: np.ndarray, z: np.ndarray, noise: float) -> float:
    """theta of the lowest half decade (degrees), NaN when it does not move.

    ``f`` descending.  The two lowest and the two highest points of the window are
    averaged to damp the noise.
    """
    window = np.flatnonzero(f <= f[-1] * 10**_TAIL_DECADES)
    if window.size < 3:
        window = np.arange(max(f.size - 3, 0), f.size)
    first, last = z[window[:2]].mean(), z[window[-2:]].mean()
    d = last - first
    scale = noise * float(np.abs(z[window]).mean())
    if abs(d) <= STILL * scale:
        return math.nan
    return math.degrees(math.atan2(-d.imag, d.real))


def shape_features(spectrum: Spectrum, *, noise: float | None = None) -> ShapeFeatures:
    """The `ShapeFeatures` of ``spectrum``; ``noise`` is its relative noise (a fraction of
    |Z| per part of Z, e.g. lin-KK's ``noise_estimate``), 1 % when None or not finite."""
    sigma = noise if noise is not None and math.isfinite(noise) and noise > 0 else _DEFAULT_NOISE
    order = np.argsort(spectrum.frequency_hz)[::-1]
    f = spectrum.frequency_hz[order]
    z = spectrum.impedance_ohm[order]
    threshold = _SIGMAS * sigma * np.abs(z)
    inductive = z.imag > threshold
    capacitive = z.imag < -threshold
    head = 0
    while head < f.size and z.imag[head] > 0 and (inductive[head] or head > 0):
        head += 1
    loop = None
    seen_capacitive = np.cumsum(capacitive) > 0
    below = np.flatnonzero(inductive & seen_capacitive & (np.arange(f.size) >= head))
    if below.size >= 2:
        loop = (float(f[below].min()), float(f[below].max()))
    angle = _tail(f, z, sigma)
    classes = _classes(angle)
    tail = (
        "closed"
        if not math.isfinite(angle) or angle < DIFFUSION_DEG
        else "diffusion"
        if angle < CAPACITIVE_DEG
        else "capacitive"
    )
    return ShapeFeatures(
        inductive_head=head > 0,
        head_points=head,
        head_hint=bool(z.imag[0] > 0),
        loop_hz=loop,
        tail=tail,
        tail_classes=classes,
        tail_angle_deg=angle,
        noise=sigma,
    )
