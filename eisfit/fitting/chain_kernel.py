"""Compiled batched Levenberg-Marquardt for series chains (imported only when numba is).

The same algorithm as `eisfit.fitting.lm.batched_lm`, step for step, and the same code
for every decision: the rules of `eisfit.fitting.lm_rules` (Marquardt-scaled damping with
Nielsen's update, the active set of parameters held on a bound, the convergence tests,
the dropping of starts far above the best and the early end once a second start
confirms the leader's cost) are compiled here from the functions `batched_lm` calls.
Only the model is fixed: the closed-form impedance of a `ChainLayout` (series R, L, C,
CPE and R||CPE / R||C arcs) with its analytic derivatives, by the formulas of
`eisfit.notation.closed_forms` (the ones the numpy evaluator uses), weighted and
accumulated straight into J J^T, J r and |r|^2 for one start at a time.

Why compiled: `batched_lm` spends about 0.5 ms per iteration of ten 3-arc starts,
mostly numpy call overhead on arrays of a few thousand numbers; here it is about 80 us.
See `eisfit.fitting.compiled` for when this is used.

Caching: numba keys the cache of `chain_lm` on this file only, not on the modules whose
functions it compiles in, so `chain_lm` carries a digest of their source as a closure
value, which numba's cache key includes: editing a rule or a formula recompiles the
kernel instead of loading a stale one.  The helpers that call shared code (`_normal`)
are not cached on their own for the same reason; `chain_lm`'s cache holds them.

``error_model="numpy"``: division by zero gives inf or NaN as in numpy (a trial step
that underflows Q to 0 costs inf and is rejected), not Python's ZeroDivisionError.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ..notation import closed_forms as cf
from . import lm_rules as rules

_jit = numba.njit(error_model="numpy")


@overload(cf.scaled, inline="always")
def _scaled(x, c):
    """`eisfit.notation.closed_forms.scaled` in compiled code: two real products (a real
    ``x`` and a complex ``c`` only; other types find no implementation)."""
    if not (isinstance(x, types.Float) and isinstance(c, types.Complex)):
        return None

    def scaled(x, c):
        return complex(x * c.real, x * c.imag)

    return scaled


# the shared decision rules, compiled
_clip = _jit(rules.clip)
_damping = _jit(rules.damping)
_dropped = _jit(rules.dropped)
_judge = _jit(rules.judge)
_lead_clock = _jit(rules.lead_clock)
_pinned = _jit(rules.pinned)
_race_over = _jit(rules.race_over)
_racing = _jit(rules.racing)
_same_minimum = _jit(rules.same_minimum)
_steepest_step = _jit(rules.steepest_step)
_tiny_step = _jit(rules.tiny_step)
_LAMBDA_START, _NU_START, _HELD = rules.LAMBDA_START, rules.NU_START, rules.HELD_DAMPING

# the shared closed forms, compiled
_arc = _jit(cf.arc)
_arc_denominator = _jit(cf.arc_denominator)
_arc_exponent_derivative = _jit(cf.arc_exponent_derivative)
_inductor = _jit(cf.inductor)
_power = _jit(cf.power)
_resistor = _jit(cf.resistor)
_rotation = _jit(cf.rotation)
_spike = _jit(cf.spike)
_HALF_PI = cf.HALF_PI_J.imag  # ln(j omega) = ln(omega) + j pi/2


def _shared_source_digest() -> str:
    """sha256 of the source of the modules `chain_lm` compiles in (its cache key)."""
    digest = hashlib.sha256()
    for module in (rules, cf):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _gram(jac, res, grad, hess):
    """|r|^2, J r into ``grad`` and J J^T into ``hess``.  Reassociation lets the compiler
    vectorise the sums (the order of the additions is the only change)."""
    p, m2 = grad.size, jac.shape[1]  # row p of jac is unused
    for i in range(p):
        acc = 0.0
        for c in range(m2):
            acc += jac[i, c] * res[c]
        grad[i] = acc
        for k in range(i + 1):
            acc = 0.0
            for c in range(m2):
                acc += jac[i, c] * jac[k, c]
            hess[i, k] = acc
            hess[k, i] = acc
    acc = 0.0
    for c in range(m2):
        acc += res[c] * res[c]
    return acc


@numba.njit(error_model="numpy")
def _reciprocal(d):
    """1/d of a complex d as (d_re, -d_im) / |d|^2: no branches, unlike a general complex
    division, so the loop over frequencies that calls it can be vectorised."""
    den = 1.0 / (d.real * d.real + d.imag * d.imag)
    return complex(d.real * den, -d.imag * den)


@numba.njit(error_model="numpy")
def _normal(x, problem, layout, theta, pos, zz, jac, res, grad, hess):
    """|r|^2 of the start ``x``; fills ``grad`` (J r) and ``hess`` (J J^T).

    ``problem`` is (base, free, log, omega, log_omega, z_re, z_im, w_re, w_im) and
    ``layout`` (arc_r, arc_q, arc_n, series_r, series_l, spike_q, spike_n), see
    `ChainLayout`.  Scratch: ``theta`` (P,), ``pos`` (P,), ``zz`` (4, m) (real and
    imaginary parts of Z and of (j omega)^n), ``jac`` (p + 1, 2 m) (real parts in the
    first m columns, imaginary in the last m; row p takes the derivatives of held
    parameters and is not used) and ``res`` (2 m).  Complex values live in registers
    only: arrays of complex numbers keep the compiler from vectorising the loops.  The
    parts are added in the order of the numpy evaluator (arcs, then series R, L, CPE, C).
    Jacobian entries that are not finite count as 0; a residual that is not finite gives
    a cost of inf.
    """
    base, free, log, omega, log_omega, z_re, z_im, w_re, w_im = problem
    arc_r, arc_q, arc_n, series_r, series_l, spike_q, spike_n = layout
    p = free.size
    m = omega.size
    theta[:] = base
    pos[:] = p  # row of each parameter in the Jacobian; held ones write to row p, unused
    for i in range(p):
        theta[free[i]] = math.exp(x[i]) if log[i] else x[i]
        pos[free[i]] = i
    jac[:, :] = 0.0
    zr, zi, sr, si = zz[0], zz[1], zz[2], zz[3]
    zr[:] = 0.0
    zi[:] = 0.0
    # sc: d theta / d x of a free parameter, the chain rule of log parameters
    for a in range(arc_r.size):
        r, q = theta[arc_r[a]], theta[arc_q[a]]
        n = theta[arc_n[a]] if arc_n[a] >= 0 else 1.0
        i_r, i_q = pos[arc_r[a]], pos[arc_q[a]]
        i_n = pos[arc_n[a]] if arc_n[a] >= 0 else p  # R||C: dZ/dn goes to the unused row
        sc_r = r if i_r < p and log[i_r] else 1.0
        sc_q = q if i_q < p and log[i_q] else 1.0
        sc_n = n if i_n < p and log[i_n] else 1.0
        rot = _rotation(n)
        for k in range(m):
            s = _power(n, log_omega[k], rot)
            sr[k], si[k] = s.real, s.imag
        for k in range(m):  # no branches: the compiler can vectorise this loop
            s = complex(sr[k], si[k])
            inv_d = _reciprocal(_arc_denominator(r, q, s))
            z_a, d_r, d_q = _arc(r, q, s, inv_d)
            d_n = _arc_exponent_derivative(d_q, q, complex(log_omega[k], _HALF_PI))
            zr[k] += z_a.real
            zi[k] += z_a.imag
            jac[i_r, k] = w_re[k] * sc_r * d_r.real
            jac[i_r, m + k] = w_im[k] * sc_r * d_r.imag
            jac[i_q, k] = w_re[k] * sc_q * d_q.real
            jac[i_q, m + k] = w_im[k] * sc_q * d_q.imag
            jac[i_n, k] = w_re[k] * sc_n * d_n.real
            jac[i_n, m + k] = w_im[k] * sc_n * d_n.imag
    for b in range(series_r.size):
        i, v = pos[series_r[b]], theta[series_r[b]]
        sc = v if i < p and log[i] else 1.0
        z_r, d_r = _resistor(v)
        for k in range(m):
            zr[k] += z_r
            jac[i, k] = w_re[k] * sc * d_r
    for b in range(series_l.size):
        i, v = pos[series_l[b]], theta[series_l[b]]
        sc = v if i < p and log[i] else 1.0
        for k in range(m):
            z_l, d_l = _inductor(v, complex(0.0, omega[k]))
            zr[k] += z_l.real
            zi[k] += z_l.imag
            jac[i, k] = w_re[k] * sc * d_l.real
            jac[i, m + k] = w_im[k] * sc * d_l.imag
    for b in range(spike_q.size):
        q = theta[spike_q[b]]
        e = theta[spike_n[b]] if spike_n[b] >= 0 else 1.0
        i_q = pos[spike_q[b]]
        i_e = pos[spike_n[b]] if spike_n[b] >= 0 else p
        sc_q = q if i_q < p and log[i_q] else 1.0
        sc_e = e if i_e < p and log[i_e] else 1.0
        rot = _rotation(-e)
        for k in range(m):
            z_s, d_q, d_e = _spike(q, e, log_omega[k], rot, complex(log_omega[k], _HALF_PI))
            zr[k] += z_s.real
            zi[k] += z_s.imag
            jac[i_q, k] = w_re[k] * sc_q * d_q.real
            jac[i_q, m + k] = w_im[k] * sc_q * d_q.imag
            jac[i_e, k] = w_re[k] * sc_e * d_e.real
            jac[i_e, m + k] = w_im[k] * sc_e * d_e.imag
    for k in range(m):
        res[k] = w_re[k] * (zr[k] - z_re[k])
        res[m + k] = w_im[k] * (zi[k] - z_im[k])
    cost = _gram(jac, res, grad, hess)
    finite = True
    for i in range(p):
        finite = finite and math.isfinite(hess[i, i])
    if not finite:  # a row of J with a non-finite entry: those entries count as 0
        for i in range(p):
            for c in range(2 * m):
                if not math.isfinite(jac[i, c]):
                    jac[i, c] = 0.0
        cost = _gram(jac, res, grad, hess)
    return cost if math.isfinite(cost) else np.inf


@numba.njit(cache=True, error_model="numpy")
def _solve(a, b, out):
    """Solve a out = b by Gaussian elimination with partial pivoting (a, b overwritten).

    Returns False when a pivot is exactly zero (singular), as LAPACK's getrf reports.
    """
    p = b.size
    for c in range(p):
        piv = c
        big = abs(a[c, c])
        for r in range(c + 1, p):
            if abs(a[r, c]) > big:
                big = abs(a[r, c])
                piv = r
        if big == 0.0 or not math.isfinite(big):
            return False
        if piv != c:
            for j in range(p):
                a[c, j], a[piv, j] = a[piv, j], a[c, j]
            b[c], b[piv] = b[piv], b[c]
        for r in range(c + 1, p):
            f = a[r, c] / a[c, c]
            if f != 0.0:
                for j in range(c + 1, p):
                    a[r, j] -= f * a[c, j]
                b[r] -= f * b[c]
    for c in range(p - 1, -1, -1):
        acc = b[c]
        for j in range(c + 1, p):
            acc -= a[c, j] * out[j]
        out[c] = acc / a[c, c]
    return True


def _kernel(shared_source: str):
    """`chain_lm`, with ``shared_source`` (`_shared_source_digest`) in its cache key."""

    @numba.njit(cache=True, error_model="numpy")
    def chain_lm(
        x0, lower, upper, base, free, log, omega, z_re, z_im, w_re, w_im, layout,
        max_iter, ftol, xtol, drop_ratio, grace, same_cost, max_rows,
    ):  # fmt: skip
        """`eisfit.fitting.lm.batched_lm` for a chain; ``drop_ratio`` <= 0: never drop,
        ``max_rows`` < 0: no evaluation budget.

        Returns (x, cost, converged, n_evaluations, n_rows, pinned).
        """
        _ = shared_source  # a closure value: numba's cache key holds it
        n_starts, p = x0.shape
        x = np.empty((n_starts, p))
        for s in range(n_starts):
            for i in range(p):
                x[s, i] = _clip(x0[s, i], lower[i], upper[i])
        problem = (base, free, log, omega, np.log(omega), z_re, z_im, w_re, w_im)
        theta = base.copy()
        pos = np.empty(base.size, dtype=np.int64)
        zz = np.empty((4, omega.size))
        jac = np.empty((p + 1, 2 * omega.size))
        res = np.empty(2 * omega.size)
        cost = np.empty(n_starts)
        grad = np.empty((n_starts, p))
        hess = np.empty((n_starts, p, p))
        for s in range(n_starts):
            cost[s] = _normal(x[s], problem, layout, theta, pos, zz, jac, res, grad[s], hess[s])
        converged = np.zeros(n_starts, dtype=np.bool_)
        active = np.empty(n_starts, dtype=np.bool_)
        for s in range(n_starts):
            active[s] = math.isfinite(cost[s])
        bounded = False
        for i in range(p):
            bounded = bounded or math.isfinite(lower[i]) or math.isfinite(upper[i])
        lam = np.full(n_starts, _LAMBDA_START)
        nu = np.full(n_starts, _NU_START)
        n_eval, n_rows = 1, n_starts
        lead_seen, lead_done_at = -1, 0
        pinned = np.zeros(p, dtype=np.bool_)
        a = np.empty((p, p))
        g = np.empty(p)
        damp = np.empty(p)
        step = np.empty(p)
        rhs = np.empty(p)
        trial = np.empty(p)
        hs = np.empty(p)
        g_t = np.empty(p)
        h_t = np.empty((p, p))
        leave = np.zeros(n_starts, dtype=np.bool_)
        for it in range(1, max_iter + 1):
            n_active = 0
            for s in range(n_starts):
                if active[s]:
                    n_active += 1
            if n_active == 0 or (max_rows >= 0 and n_rows > max_rows):
                break
            n_eval += 1
            n_rows += n_active
            for s in range(n_starts):
                leave[s] = False
                if not active[s]:
                    continue
                h = hess[s]
                for i in range(p):
                    pinned[i] = _pinned(x[s, i], grad[s, i], lower[i], upper[i])
                for i in range(p):
                    damp[i] = _HELD if pinned[i] else _damping(lam[s], h[i, i])
                    g[i] = 0.0 if pinned[i] else grad[s, i]
                    for j in range(p):
                        a[i, j] = 0.0 if (pinned[i] or pinned[j]) else h[i, j]
                    a[i, i] += damp[i]
                    rhs[i] = -g[i]
                if not _solve(a, rhs, step):
                    for i in range(p):
                        step[i] = _steepest_step(g[i], damp[i])
                clipped = False
                for i in range(p):
                    raw = x[s, i] + step[i]
                    trial[i] = _clip(raw, lower[i], upper[i])
                    clipped = clipped or trial[i] != raw
                # predicted decrease of |r|^2 from the linear model (see batched_lm)
                predicted = 0.0
                if bounded and clipped:
                    for i in range(p):
                        step[i] = trial[i] - x[s, i]
                    for i in range(p):
                        acc = 0.0
                        for j in range(p):
                            if not (pinned[i] or pinned[j]):
                                acc += h[i, j] * step[j]
                        hs[i] = acc
                    for i in range(p):
                        predicted -= step[i] * (2.0 * g[i] + hs[i])
                else:
                    for i in range(p):
                        predicted += step[i] * (damp[i] * step[i] - g[i])
                c_t = _normal(trial, problem, layout, theta, pos, zz, jac, res, g_t, h_t)
                step_max, x_max = 0.0, 0.0
                for i in range(p):
                    step_max = max(step_max, abs(step[i]))
                    x_max = max(x_max, abs(x[s, i]))
                tiny = _tiny_step(step_max, x_max, xtol)
                better, done, lam[s], nu[s] = _judge(
                    cost[s], c_t, predicted, lam[s], nu[s], ftol, tiny
                )
                if better:
                    x[s, :] = trial
                    cost[s] = c_t
                    grad[s, :] = g_t
                    hess[s, :, :] = h_t
                if done:
                    converged[s] = True
                    leave[s] = True
            if drop_ratio > 0 and _racing(it, grace):
                lead = 0
                for s in range(1, n_starts):
                    if cost[s] < cost[lead]:
                        lead = s
                best = cost[lead]
                for s in range(n_starts):
                    if active[s] and _dropped(cost[s], best, drop_ratio):
                        leave[s] = True
                if converged[lead]:
                    lead_done_at = _lead_clock(lead, lead_seen, lead_done_at, it)
                    lead_seen = lead
                    n_same = 0
                    for s in range(n_starts):
                        if _same_minimum(cost[s], best, same_cost):
                            n_same += 1
                    if _race_over(n_same, it, lead_done_at, grace):
                        break
            for s in range(n_starts):
                if leave[s]:
                    active[s] = False
        out_pinned = np.zeros((n_starts, p), dtype=np.bool_)
        for s in range(n_starts):
            for i in range(p):
                out_pinned[s, i] = _pinned(x[s, i], grad[s, i], lower[i], upper[i])
        return x, cost, converged, n_eval, n_rows, out_pinned

    return chain_lm


chain_lm = _kernel(_shared_source_digest())
