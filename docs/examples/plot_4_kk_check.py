"""
Kramers-Kronig check of a spectrum (lin-KK)
===========================================

`eisfit.kk_check` fits a chain of RC elements that obeys the Kramers-Kronig relations
(Boukamp 1995, with the automatic choice of their number of Schönleber et al. 2014) and
judges the residuals against the noise of the data.  The sample spectrum passes; the
same cell made to drift during the sweep (its interphase resistance rising by 15 % from
the first to the last point) does not.
"""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import eisfit
from eisfit.synthetic import simulate

ROOT = next(
    p for p in [Path.cwd(), *Path.cwd().parents] if (p / "sample_spectra").is_dir()
)
spectrum = eisfit.read(ROOT / "sample_spectra" / "na_nzsp_na_single.csv")[0]
good = eisfit.kk_check(spectrum)
print(textwrap.fill(f"sample: {good.reason}", 88))

# %%
# A drifting cell: each point is measured on a cell whose interphase resistance has
# grown a little more (points run from high to low frequency, so the slow, low-frequency
# end sees the most drift).

circuit = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
truth = {
    "L0.L": 2e-7,
    "R0.R": 110.0,
    "R1.R": 80.0,
    "CPE1.Q": 1.77613e-8,
    "CPE1.n": 0.9,
    "R2.R": 400.0,
    "CPE2.Q": 1.44343e-5,
    "CPE2.n": 0.8,
}
f = spectrum.frequency_hz
rng = np.random.default_rng(5)
z = np.empty(f.size, dtype=complex)
for i, fi in enumerate(f):
    values = dict(truth, **{"R2.R": 400.0 * (1 + 0.15 * i / (f.size - 1))})
    z[i] = simulate(circuit, values, [fi], noise=0.005, rng=rng).impedance_ohm[0]
drifting = eisfit.Spectrum(frequency_hz=f, impedance_ohm=z)
bad = eisfit.kk_check(drifting)
print(textwrap.fill(f"drifting: {bad.reason}", 88))

# %%
# The residuals of the KK model, as a fraction of ``|Z|``, with the limit each verdict used.

fig, axes = plt.subplots(1, 2, sharey=True, figsize=(9, 3.4), layout="constrained")
for ax, check, title in ((axes[0], good, "sample"), (axes[1], bad, "drifting")):
    ax.semilogx(f, 100 * check.residuals_real, "o", ms=3, label="real")
    ax.semilogx(f, 100 * check.residuals_imag, "s", ms=3, label="imaginary")
    for sign in (-1, 1):
        ax.axhline(sign * 100 * check.residual_limit, color="0.5", ls="--", lw=0.8)
    ax.set_title(f"{title}: {check.verdict}")
    ax.set_xlabel("frequency / Hz")
axes[0].set_ylabel("lin-KK residual / % of |Z|")
axes[0].legend()
