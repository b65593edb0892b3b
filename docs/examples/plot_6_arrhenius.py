"""
Arrhenius plot of a temperature series
======================================

The bundled sample has no temperature series, so this example simulates the sample cell
from -30 to 60 C with known activation energies (bulk 0.30 eV, grain boundary 0.42 eV)
and recovers them with `eisfit.arrhenius_series`: every spectrum is fitted (coldest
first, each fit starting from the previous one) and analysed, then
sigma T = A exp(-Ea / kB T) is fitted per role.
"""

import matplotlib.pyplot as plt
import numpy as np

import eisfit
from eisfit.spectrum import SpectrumMeta
from eisfit.synthetic import simulate

KB_EV_PER_K = 8.617333e-5
EA_EV = {"bulk": 0.30, "grain_boundary": 0.42}
SIGMA_25C_S_CM = {"bulk": 9.1e-4, "grain_boundary": 1.25e-3}
cell = eisfit.Cell(area_cm2=1.0, thickness_cm=0.1)


def resistance_ohm(role, temperature_k):
    """R = L / (sigma A), with sigma T = A exp(-Ea / kB T) scaled to its value at 25 C."""
    boltzmann = np.exp(-EA_EV[role] / KB_EV_PER_K * (1 / temperature_k - 1 / 298.15))
    sigma = SIGMA_25C_S_CM[role] * 298.15 / temperature_k * boltzmann
    return cell.thickness_cm / (sigma * cell.area_cm2)


def arc(index, r, c, n):
    """R || CPE values with a fixed Hsu-Mansfeld capacitance c: Q = c^n r^(n-1)."""
    return {f"R{index}.R": r, f"CPE{index}.Q": c**n * r ** (n - 1), f"CPE{index}.n": n}


rng = np.random.default_rng(7)
frequency_hz = np.logspace(6.85, -1, 80)
spectra = []
for t_c in (-30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0):
    t_k = t_c + 273.15
    r_interface = 400.0 * np.exp(0.5 / KB_EV_PER_K * (1 / t_k - 1 / 298.15))
    values = {
        "L0.L": 2e-7,
        "R0.R": resistance_ohm("bulk", t_k),
        **arc(1, resistance_ohm("grain_boundary", t_k), 4e-9, 0.9),
        **arc(2, r_interface, 4e-6, 0.8),
    }
    spectra.append(
        simulate(
            "L0-R0-p(R1,CPE1)-p(R2,CPE2)",
            values,
            frequency_hz,
            noise=0.005,
            rng=rng,
            meta=SpectrumMeta(source=f"{t_c:+.0f} C", temperature_k=t_k),
        )
    )

series = eisfit.arrhenius_series(spectra, None, eisfit.get_model("gb-soli"), cell)
for role, line in series.fits.items():
    truth = f" (truth {EA_EV[role]:.2f})" if role in EA_EV else " (a mix of both)"
    ea, ea_se = line.activation_energy_ev, line.activation_energy_stderr_ev
    print(f"{role:15s} Ea = {ea:.3f} +/- {ea_se:.3f} eV{truth}")

# %%
# log10(sigma T) against 1000 / T with the fitted lines
# (`eisfit.physics.arrhenius_plot.plot_arrhenius` draws the same figure for a report or a
# file).

fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
for role, line in series.fits.items():
    t = np.asarray(line.temperatures_k)
    sigma_t = np.asarray(line.conductivities_s_cm) * t
    ax.plot(
        1000 / t,
        np.log10(sigma_t),
        "o",
        label=f"{role}: Ea = {line.activation_energy_ev:.3f} eV",
    )
    t_fine = np.linspace(t.min(), t.max(), 50)
    fitted = line.prefactor_s_k_cm * np.exp(
        -line.activation_energy_ev / (KB_EV_PER_K * t_fine)
    )
    ax.plot(1000 / t_fine, np.log10(fitted), "-", color=ax.lines[-1].get_color())
ax.set_xlabel("1000 / T / K^-1")
ax.set_ylabel("log10(sigma T / S K cm^-1)")
ax.legend()
