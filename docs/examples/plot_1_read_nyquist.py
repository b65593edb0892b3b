"""
Read an export and draw its Nyquist plot
========================================

`eisfit.read` returns every spectrum of a file, with the physical sign
(Z'' < 0 for a capacitive arc).  A Nyquist plot needs equal axes, or the arcs stop being
semicircles.
"""

from pathlib import Path

import matplotlib.pyplot as plt

import eisfit

# the bundled sample spectra, found from the working folder or one of its parents
ROOT = next(
    p for p in [Path.cwd(), *Path.cwd().parents] if (p / "sample_spectra").is_dir()
)

path = ROOT / "sample_spectra" / "cycling_mpt" / "na_nzsp_na_part1.mpt"
spectra = eisfit.read(path)
print(f"{len(spectra)} spectra, format {eisfit.detect(path)}")
for s in spectra:
    print(
        f"  #{s.meta.index}: cycle {s.meta.cycle}, {s.meta.timestamp}, {len(s)} points"
    )

# %%
# The first and the last spectrum of the file: the interphase arc (right) grows.

fig, ax = plt.subplots(figsize=(6.5, 4.0), layout="constrained")
for s in (spectra[0], spectra[-1]):
    z = s.impedance_ohm
    ax.plot(z.real, -z.imag, "o-", ms=3, label=f"{s.meta.timestamp:%d %b %H:%M}")
ax.set_aspect("equal")
ax.set_xlabel("Z' / ohm")
ax.set_ylabel("-Z'' / ohm")
ax.legend(title="acquired")
ax.set_title("Na | NZSP | Na, EC-Lab .mpt")

# %%
# The same data against frequency (Bode plot): the apex of each arc is a peak of -Z''.

fig, (top, bottom) = plt.subplots(
    2, 1, sharex=True, figsize=(6.5, 4.5), layout="constrained"
)
for s in (spectra[0], spectra[-1]):
    top.loglog(s.frequency_hz, abs(s.impedance_ohm), "o-", ms=3)
    bottom.semilogx(s.frequency_hz, -s.impedance_ohm.imag, "o-", ms=3)
top.set_ylabel("|Z| / ohm")
bottom.set_ylabel("-Z'' / ohm")
bottom.set_xlabel("frequency / Hz")
