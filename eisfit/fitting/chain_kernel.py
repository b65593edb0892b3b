"""Compiled batched Levenberg-Marquardt for series chains (imported only when numba is).

The same algorithm as `eisfit.fitting.lm.batched_lm`, step for step: Marquardt-scaled damping
with Nielsen's update, the active set of parameters held on a bound, the same
convergence tests, and the same dropping of starts that are far above the best and the
same early end once a second start confirms the leader's cost.  Only the model is fixed:
the closed-form impedance of a `ChainLayout` (series R, L, C, CPE and R||CPE / R||C arcs)
with its analytic derivatives, weighted and accumulated straight into J J^T, J r and
|r|^2 for one start at a time.

Why compiled: `batched_lm` spends about 0.5 ms per iteration of ten 3-arc starts,
mostly numpy call overhead on arrays of a few thousand numbers; here it is about 80 us.
See `eisfit.fitting.compiled` for when this is used.

``error_model="numpy"``: division by zero gives inf or NaN as in numpy (a trial step
that underflows Q to 0 costs inf and is rejected), not Python's ZeroDivisionError.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_HALF_PI = 0.5 * math.pi


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


@numba.njit(cache=True, error_model="numpy")
def _normal(x, problem, layout, theta, pos, zz, jac, res, grad, hess):
    """|r|^2 of the start ``x``; fills ``grad`` (J r) and ``hess`` (J J^T).

    ``problem`` is (base, free, log, omega, log_omega, z_re, z_im, w_re, w_im) and
    ``layout`` (arc_r, arc_q, arc_n, series_r, series_l, spike_q, spike_n), see
    `ChainLayout`.  Scratch: ``theta`` (P,), ``pos`` (P,), ``zz`` (3, m), ``jac``
    (p + 1, 2 m) (real parts in the first m columns, imaginary in the last m; row p takes
    the derivatives of held parameters and is not used) and ``res`` (2 m).
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
    zr, zi, mags = zz[0], zz[1], zz[2]
    zr[:] = 0.0
    zi[:] = 0.0
    # d theta / d x of a free parameter: the chain rule of log parameters
    for b in range(series_r.size):
        i, v = pos[series_r[b]], theta[series_r[b]]
        sc = v if i < p and log[i] else 1.0
        for k in range(m):
            zr[k] += v
            jac[i, k] = w_re[k] * sc
    for b in range(series_l.size):
        i, v = pos[series_l[b]], theta[series_l[b]]
        sc = v if i < p and log[i] else 1.0
        for k in range(m):
            zi[k] += v * omega[k]
            jac[i, m + k] = w_im[k] * sc * omega[k]
    for a in range(arc_r.size):
        # y = R Q (j w)^n, D = 1 + y: Z = R/D, dZ/dR = 1/D^2, dZ/dQ = -R^2 (j w)^n / D^2,
        # dZ/dn = dZ/dQ Q ln(j w), with (j w)^n = w^n e^(j n pi/2)
        r, q = theta[arc_r[a]], theta[arc_q[a]]
        n = theta[arc_n[a]] if arc_n[a] >= 0 else 1.0
        i_r, i_q = pos[arc_r[a]], pos[arc_q[a]]
        i_n = pos[arc_n[a]] if arc_n[a] >= 0 else p
        sc_r = r if i_r < p and log[i_r] else 1.0
        sc_q = q if i_q < p and log[i_q] else 1.0
        sc_n = n if i_n < p and log[i_n] else 1.0
        c_n, s_n = math.cos(n * _HALF_PI), math.sin(n * _HALF_PI)
        rq, r2 = r * q, r * r
        for k in range(m):
            mags[k] = math.exp(n * log_omega[k])
        for k in range(m):  # no branches: the compiler can vectorise this loop
            lw = log_omega[k]
            s_re, s_im = mags[k] * c_n, mags[k] * s_n
            d_re, d_im = 1.0 + rq * s_re, rq * s_im
            den = 1.0 / (d_re * d_re + d_im * d_im)
            v_re, v_im = d_re * den, -d_im * den  # 1/D
            v2_re, v2_im = v_re * v_re - v_im * v_im, 2.0 * v_re * v_im  # 1/D^2
            zr[k] += r * v_re
            zi[k] += r * v_im
            q_re = -r2 * (s_re * v2_re - s_im * v2_im)  # dZ/dQ
            q_im = -r2 * (s_re * v2_im + s_im * v2_re)
            jac[i_r, k] = w_re[k] * sc_r * v2_re
            jac[i_r, m + k] = w_im[k] * sc_r * v2_im
            jac[i_q, k] = w_re[k] * sc_q * q_re
            jac[i_q, m + k] = w_im[k] * sc_q * q_im
            # dZ/dn: times Q (lw + j pi/2); an R||C arc writes it to the unused row
            jac[i_n, k] = w_re[k] * sc_n * q * (q_re * lw - q_im * _HALF_PI)
            jac[i_n, m + k] = w_im[k] * sc_n * q * (q_re * _HALF_PI + q_im * lw)
    for b in range(spike_q.size):
        # Z = (j w)^-e / Q: dZ/dQ = -Z/Q, dZ/de = -ln(j w) Z
        q = theta[spike_q[b]]
        e = theta[spike_n[b]] if spike_n[b] >= 0 else 1.0
        i_q = pos[spike_q[b]]
        i_e = pos[spike_n[b]] if spike_n[b] >= 0 else p
        sc_q = q if i_q < p and log[i_q] else 1.0
        sc_e = e if i_e < p and log[i_e] else 1.0
        c_e, s_e = math.cos(e * _HALF_PI), -math.sin(e * _HALF_PI)
        for k in range(m):
            lw = log_omega[k]
            mag = math.exp(-e * lw) / q
            s_re, s_im = mag * c_e, mag * s_e
            zr[k] += s_re
            zi[k] += s_im
            jac[i_q, k] = -w_re[k] * sc_q * s_re / q
            jac[i_q, m + k] = -w_im[k] * sc_q * s_im / q
            jac[i_e, k] = -w_re[k] * sc_e * (lw * s_re - _HALF_PI * s_im)
            jac[i_e, m + k] = -w_im[k] * sc_e * (lw * s_im + _HALF_PI * s_re)
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


@numba.njit(cache=True, error_model="numpy")
def _pinned(x, g, lower, upper, out):
    """Parameters on a bound whose gradient points out of the box (into ``out``)."""
    for i in range(x.size):
        out[i] = (x[i] <= lower[i] and g[i] > 0.0) or (x[i] >= upper[i] and g[i] < 0.0)


@numba.njit(cache=True, error_model="numpy")
def chain_lm(
    x0, lower, upper, base, free, log, omega, z_re, z_im, w_re, w_im, layout,
    max_iter, ftol, xtol, drop_ratio, grace, same_cost, max_rows,
):  # fmt: skip
    """`eisfit.fitting.lm.batched_lm` for a chain; ``drop_ratio`` <= 0: never drop, ``max_rows``
    < 0: no evaluation budget.

    Returns (x, cost, converged, n_evaluations, n_rows, pinned).
    """
    n_starts, p = x0.shape
    x = np.empty((n_starts, p))
    for s in range(n_starts):
        for i in range(p):
            x[s, i] = min(max(x0[s, i], lower[i]), upper[i])
    problem = (base, free, log, omega, np.log(omega), z_re, z_im, w_re, w_im)
    theta = base.copy()
    pos = np.empty(base.size, dtype=np.int64)
    zz = np.empty((3, omega.size))
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
    lam = np.full(n_starts, 1e-3)
    nu = np.full(n_starts, 2.0)
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
            _pinned(x[s], grad[s], lower, upper, pinned)
            for i in range(p):
                damp[i] = 1.0 if pinned[i] else lam[s] * max(h[i, i], 1e-30)
                g[i] = 0.0 if pinned[i] else grad[s, i]
                for j in range(p):
                    a[i, j] = 0.0 if (pinned[i] or pinned[j]) else h[i, j]
                a[i, i] += damp[i]
                rhs[i] = -g[i]
            ok = _solve(a, rhs, step)
            if not ok:
                for i in range(p):
                    step[i] = -g[i] / damp[i]
            clipped = False
            for i in range(p):
                raw = x[s, i] + step[i]
                trial[i] = min(max(raw, lower[i]), upper[i])
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
            tiny = step_max <= xtol * (x_max + xtol)
            # the step's fate and the damping: `eisfit.fitting.lm._judge`
            decrease = cost[s] - c_t
            rho = decrease / predicted if predicted > 0 else 0.0
            better = rho > 0
            if better:
                t = 2.0 * rho - 1.0
                lam[s] = max(lam[s] * max(1.0 / 3.0, 1.0 - t * t * t), 1e-15)
                nu[s] = 2.0
            else:
                lam[s] *= nu[s]
                nu[s] *= 2.0
            done = (better and (decrease <= ftol * cost[s] or tiny)) or lam[s] > 1e12
            if better:
                x[s, :] = trial
                cost[s] = c_t
                grad[s, :] = g_t
                hess[s, :, :] = h_t
            if done:
                converged[s] = True
                leave[s] = True
        if drop_ratio > 0 and it >= grace:
            lead = 0
            for s in range(1, n_starts):
                if cost[s] < cost[lead]:
                    lead = s
            best = cost[lead]
            for s in range(n_starts):
                if active[s] and cost[s] > drop_ratio * best:
                    leave[s] = True
            if converged[lead]:
                if lead != lead_seen:
                    lead_done_at = it
                lead_seen = lead
                same = 0
                for s in range(n_starts):
                    if cost[s] <= best * (1.0 + same_cost):
                        same += 1
                if same >= 2 or it - lead_done_at >= grace:
                    break
        for s in range(n_starts):
            if leave[s]:
                active[s] = False
    out_pinned = np.zeros((n_starts, p), dtype=np.bool_)
    for s in range(n_starts):
        _pinned(x[s], grad[s], lower, upper, out_pinned[s])
    return x, cost, converged, n_eval, n_rows, out_pinned
