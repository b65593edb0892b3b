"""Fitting an equivalent circuit to a spectrum without hand-tuned starting values.

The public entry is `eisfit.fit` (`api.fit`).  The stages, in the order a fit runs:

- `weighting`: the weights (modulus, proportional, unit or the user's sigma) and the
  points no weighting can use;
- `problem`: the `Problem` one fit solves (parameters, bounds, internal coordinates);
- `structure`: the series structure of a circuit (arcs, spikes, leads), `surrogate` and
  `initial` / `initial_blocks` / `combinations`: the starting values from a linear grid
  pre-fit; `bounds`: parameter bounds from the data;
- `solver`, `rounds`, `lm`: a batched Levenberg-Marquardt race of many starts, on numpy
  or on the compiled kernel (`compiled`, `chain_kernel`, optional numba);
- `assemble` and `verdict`: the `FitResult` (`result`) built from the best optimum, its
  uncertainties, and what the numbers are worth.

Nothing here is imported by ``import eisfit``: the engine (and scipy.optimize) loads on
the first fit.
"""
