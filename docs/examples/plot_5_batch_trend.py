"""
A cycling run: batch fit and the interphase trend
=================================================

`eisfit.run_batch` fits the 24 spectra of the sample run (four timestamped EC-Lab files)
in time order, each fit starting from the previous one, and writes ``results.csv``,
``fits/`` and ``trends.json``.  The growth law of every quantity is chosen by AICc
against a constant ("no change").  The sample interphase was generated as
R(t) = 400 ohm + 60 ohm h^-1/2 sqrt(t).
"""

import json
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import eisfit
from eisfit.status import status_counts
from eisfit.trends.laws import evaluate_law

ROOT = next(
    p for p in [Path.cwd(), *Path.cwd().parents] if (p / "sample_spectra").is_dir()
)

settings = eisfit.BatchSettings.from_model(
    "gb-soli", cell=eisfit.Cell(area_cm2=1.0, thickness_cm=0.1)
)
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "run"
    table = eisfit.run_batch(
        [ROOT / "sample_spectra" / "cycling_mpt"],
        settings,
        out_dir=out,
        jobs=1,
        progress=False,
    )
    trends = json.loads((out / "trends.json").read_text())
    written = sorted(p.name for p in out.iterdir())

print("written:", written)
print(status_counts(table["status"]))
print(
    table[
        ["time_h", "status", "start_path", "R_soli_ohm", "asr_soli_ohm_cm2"]
    ].to_string(max_rows=8)
)

# %%
# The chosen laws:

for quantity in ("R_bulk_ohm", "R_gb_ohm", "R_soli_ohm"):
    message = trends["trends"][quantity]["message"]
    print(textwrap.fill(f"{quantity}: {message}", 88, subsequent_indent="    "))

# %%
# The interphase resistance with one-stderr error bars and the chosen growth law:

soli = trends["trends"]["R_soli_ohm"]["chosen"]
r0, k = soli["parameters"]["R0"], soli["parameters"]["k"]
t_fine = np.linspace(0, table["time_h"].max(), 200)
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
ax.errorbar(
    table["time_h"],
    table["R_soli_ohm"],
    yerr=table["R_soli_ohm_stderr"],
    fmt="o",
    ms=4,
    label="fitted R_SOLI",
)
ax.plot(
    t_fine,
    evaluate_law(soli["law"], soli["parameters"], t_fine),
    "-",
    label=f"{soli['law']} law: R0 = {r0:.0f} ohm, k = {k:.1f} ohm/h^0.5",
)
ax.set_xlabel("time / h")
ax.set_ylabel("R_SOLI / ohm (both interfaces)")
ax.legend()
