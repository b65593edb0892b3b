"""Data screening before a fit: what in a spectrum should not be fitted as it stands.

`screen` finds outliers, inductive or negative-resistance artefacts, jumps and
non-monotonic frequency sweeps (`points`), and compares spectra of one cell with each
other (`siblings`); its findings are advice with reasons, never a silent edit.
"""
