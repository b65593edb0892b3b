"""
Roles, ASR per interface and conductivity of a cell
===================================================

`eisfit.analyse` turns a fit into the physics of a symmetric Na | SSE | Na cell: the
role of each element, effective capacitances, the interphase ASR **per interface**
(R x A / 2: both electrodes are in series) and the electrolyte conductivity
(L / (R x A), never halved).
"""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import eisfit

ROOT = next(
    p for p in [Path.cwd(), *Path.cwd().parents] if (p / "sample_spectra").is_dir()
)

spectrum = eisfit.read(ROOT / "sample_spectra" / "na_nzsp_na_single.csv")[0]
model = eisfit.get_model("gb-soli")
result = eisfit.fit(spectrum, model.circuit, bounds=dict(model.bounds))
cell = eisfit.Cell(area_cm2=1.0, thickness_cm=0.1)
analysis = eisfit.analyse(result, cell, roles=model.roles)

for part in analysis.contributions:
    r, r_se = part.resistance_ohm, part.resistance_stderr_ohm
    line = f"{part.role:15s} R = {r:8.2f} +/- {r_se:.2f} ohm"
    if part.capacitance_f is not None:
        line += f", C_eff = {part.capacitance_f:.3g} F ({part.capacitance_formula})"
        line += f", apex {part.apex_frequency_hz:.3g} Hz"
    if part.asr_ohm_cm2 is not None:
        line += f", ASR = {part.asr_ohm_cm2:.1f} ohm cm2"
        line += f" (per interface: {part.per_interface})"
    if part.conductivity_s_cm is not None:
        line += f", sigma = {part.conductivity_s_cm:.3g} S/cm"
    print(line)
sigma, sigma_se = (
    analysis.total_conductivity_s_cm,
    analysis.total_conductivity_stderr_s_cm,
)
print(f"total: sigma = {sigma:.3g} +/- {sigma_se:.1g} S/cm")

# %%
# Why each arc got its role:

for role in ("grain_boundary", "soli"):
    reason = analysis.by_role(role).reason
    print(textwrap.fill(f"{role}: {reason}", 88, subsequent_indent="    "))

# %%
# The fitted spectrum with each arc's apex marked: the grain-boundary arc near 500 kHz,
# the interphase (SOLI) near 100 Hz.

f_fine = np.logspace(
    np.log10(spectrum.frequency_hz.max()), np.log10(spectrum.frequency_hz.min()), 400
)
z_fit = result.predict(f_fine)
fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
ax.plot(
    spectrum.impedance_ohm.real,
    -spectrum.impedance_ohm.imag,
    "o",
    ms=3,
    color="0.6",
    label="data",
)
ax.plot(z_fit.real, -z_fit.imag, "-", color="k", lw=1, label="fit")
for part in analysis.contributions:
    if part.apex_frequency_hz is None:
        continue
    z_apex = result.predict([part.apex_frequency_hz])[0]
    ax.plot(
        z_apex.real,
        -z_apex.imag,
        "v",
        ms=9,
        label=f"{part.role} apex, {part.apex_frequency_hz:.3g} Hz",
    )
ax.set_aspect("equal")
ax.set_xlabel("Z' / ohm")
ax.set_ylabel("-Z'' / ohm")
ax.legend(fontsize=8)
