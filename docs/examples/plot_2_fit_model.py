"""
Fit a named model, with uncertainties
=====================================

`eisfit.fit` needs no starting values.  Every parameter comes with a standard error;
one the data cannot determine is NaN with the reason.  Here the sample spectrum is
fitted with the named model ``gb-soli`` (intercept, grain boundary, interphase).
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import eisfit

ROOT = next(
    p for p in [Path.cwd(), *Path.cwd().parents] if (p / "sample_spectra").is_dir()
)

spectrum = eisfit.read(ROOT / "sample_spectra" / "na_nzsp_na_single.csv")[0]
model = eisfit.get_model("gb-soli")
print(model.name, model.circuit)
result = eisfit.fit(spectrum, model.circuit, bounds=dict(model.bounds))
print("status:", result.status, "|", result.message)

# %%
# Parameters with their standard errors, next to the values the sample was generated
# with (``sample_spectra/ground_truth.json``):

import json  # noqa: E402

truth = json.loads((ROOT / "sample_spectra" / "ground_truth.json").read_text())[
    "single"
]["values"]
table = result.to_dataframe()[["value", "stderr", "unit"]]
table["truth"] = [truth[name] for name in table.index]
table["z-score"] = (table["value"] - table["truth"]) / table["stderr"]
print(table.to_string(float_format=lambda x: f"{x:.4g}"))

# %%
# The fit over the data, and the relative residuals (Z - Z_fit) / ``|Z|``, which should look
# like noise (here 0.5 % of ``|Z|``).

f_fine = np.logspace(
    np.log10(spectrum.frequency_hz.max()), np.log10(spectrum.frequency_hz.min()), 400
)
z_fit = result.predict(f_fine)
fig, (ax, res) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
ax.plot(
    spectrum.impedance_ohm.real, -spectrum.impedance_ohm.imag, "o", ms=3, label="data"
)
ax.plot(z_fit.real, -z_fit.imag, "-", label="fit")
ax.set_aspect("equal")
ax.set_xlabel("Z' / ohm")
ax.set_ylabel("-Z'' / ohm")
ax.legend()
res.semilogx(
    spectrum.frequency_hz, 100 * result.residuals_real, "o", ms=3, label="real"
)
res.semilogx(
    spectrum.frequency_hz, 100 * result.residuals_imag, "s", ms=3, label="imaginary"
)
res.axhline(0, color="0.5", lw=0.8)
res.set_xlabel("frequency / Hz")
res.set_ylabel("residual / % of |Z|")
res.legend()
