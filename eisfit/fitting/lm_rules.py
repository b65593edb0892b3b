"""The decision rules of the batched Levenberg-Marquardt solver, written once.

Both solvers of a batched race call these functions and keep no copy of them: the numpy
reference `eisfit.fitting.lm.batched_lm` calls them directly, the compiled
`eisfit.fitting.chain_kernel.chain_lm` compiles them with ``numba.njit``.  So they are
plain functions of floats, booleans and ints (the array rules also work elementwise on
numpy arrays: they use only operators and numpy ufuncs), and this module does not import
numba.  How each solver forms the normal equations and solves them is its own business;
what it does with the numbers is decided here.

The rules (Marquardt, J. SIAM 11 (1963) 431; More, Lecture Notes in Math. 630 (1978)
105; Nielsen, IMM-REP-1999-05; Madsen, Nielsen & Tingleff, Methods for Non-Linear Least
Squares Problems (2004), sec. 3.2):

* damping: the step solves (J J^T + lambda D) delta = -J r with D = diag(J J^T), each
  entry floored at `DIAGONAL_FLOOR`, starting at lambda = `LAMBDA_START`;
* active set: a parameter on a bound whose gradient points out of the box is held there
  for the step (its damping `HELD_DAMPING`, its row and column decoupled), and the trial
  point is clipped to the box;
* acceptance: a step is taken when the gain ratio rho (actual over predicted decrease of
  the cost) is positive; Nielsen's update then shrinks lambda by max(1/3, 1 - (2 rho -
  1)^3) (not below `LAMBDA_FLOOR`), and a rejected step multiplies it by nu, which
  doubles after each rejection in a row;
* convergence of a start: a taken step that lowered the cost by less than ``ftol``
  (relative) or moved no parameter by more than ``xtol`` (relative to max |x| + xtol),
  or a damping past `LAMBDA_GIVE_UP` (no descent direction left: a minimum or a bound);
* the race: from iteration ``grace`` on, a start whose cost exceeds ``drop_ratio`` times
  the lowest cost is dropped (it is in another basin), and the race is over once the
  leader has converged and another start reached its cost (relative ``same_cost``), or
  ``grace`` iterations after the leader converged.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DIAGONAL_FLOOR",
    "HELD_DAMPING",
    "LAMBDA_FLOOR",
    "LAMBDA_GIVE_UP",
    "LAMBDA_START",
    "NU_START",
    "clip",
    "damping",
    "dropped",
    "judge",
    "lead_clock",
    "pinned",
    "race_over",
    "racing",
    "same_minimum",
    "steepest_step",
    "tiny_step",
]

LAMBDA_START = 1e-3  # damping of every start at the first step
NU_START = 2.0  # growth factor of the damping after the first rejected step
LAMBDA_FLOOR = 1e-15  # the damping never shrinks below this
LAMBDA_GIVE_UP = 1e12  # a start whose damping passes this has converged
DIAGONAL_FLOOR = 1e-30  # floor of diag(J J^T) in Marquardt's scaling
HELD_DAMPING = 1.0  # diagonal of a held (pinned) parameter's decoupled row


def damping(lam, diagonal):
    """Marquardt's scaled damping lambda max(diag(J J^T), `DIAGONAL_FLOOR`) (elementwise)."""
    return lam * np.maximum(diagonal, DIAGONAL_FLOOR)


def pinned(x, gradient, lower, upper):
    """True for a parameter on a bound whose gradient J r points out of the box
    (elementwise): the step would push it further out, so it is held for the step."""
    return ((x <= lower) & (gradient > 0.0)) | ((x >= upper) & (gradient < 0.0))


def clip(x, lower, upper):
    """``x`` clipped to [``lower``, ``upper``] (elementwise): the trial point of a step."""
    return np.minimum(np.maximum(x, lower), upper)


def steepest_step(gradient, damp):
    """The step when the damped normal equations are singular: -J r / damping
    (elementwise), a short steepest-descent step."""
    return -gradient / damp


def tiny_step(step_max, x_max, xtol):
    """True when the largest step component is below ``xtol`` relative to max |x| + xtol."""
    return step_max <= xtol * (x_max + xtol)


def judge(cost, trial_cost, predicted, lam, nu, ftol, tiny):
    """The fate of one start's trial step: (taken, converged, new lambda, new nu).

    ``cost`` and ``trial_cost`` are |r|^2 before and at the trial point (a non-finite
    trial costs inf and fails), ``predicted`` the decrease the linear model predicted,
    ``tiny`` the `tiny_step` test of the step.  The gain ratio is 0 unless a decrease was
    predicted; the step is taken when it is positive, and Nielsen's update of the damping
    follows (see the module docstring).
    """
    decrease = cost - trial_cost
    rho = decrease / predicted if predicted > 0.0 else 0.0
    taken = rho > 0.0
    if taken:
        t = 2.0 * rho - 1.0
        lam = max(lam * max(1.0 / 3.0, 1.0 - t * t * t), LAMBDA_FLOOR)
        nu = NU_START
    else:
        lam = lam * nu
        nu = 2.0 * nu
    done = (taken and (decrease <= ftol * cost or tiny)) or lam > LAMBDA_GIVE_UP
    return taken, done, lam, nu


def racing(iteration, grace):
    """True from iteration ``grace`` on (iterations count from 1): starts may be dropped
    and the race may end."""
    return iteration >= grace


def dropped(cost, best, drop_ratio):
    """True for a start whose cost exceeds ``drop_ratio`` times the lowest (elementwise)."""
    return cost > drop_ratio * best


def same_minimum(cost, best, same_cost):
    """True for a start whose cost is the lowest one, within ``same_cost`` (relative)."""
    return cost <= best * (1.0 + same_cost)


def lead_clock(lead, lead_seen, lead_done_at, iteration):
    """The iteration since which the converged leader ``lead`` has led: ``lead_done_at``
    while it is the leader seen before (``lead_seen``), else this ``iteration``."""
    return lead_done_at if lead == lead_seen else iteration


def race_over(n_same, iteration, lead_done_at, grace):
    """With the leader converged: True once ``n_same`` >= 2 starts share its cost (the
    minimum is confirmed) or ``grace`` iterations have passed since it converged."""
    return n_same >= 2 or iteration - lead_done_at >= grace
