"""Compiled batched integrators for the ODE flow of a one-hidden-layer vector field.

Vector field (the only model this module knows)::

    f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t),      z in R^d, hidden width H,

with phi an activation evaluated by ``act_eval(code, 0, x)`` and the weights given at
nodes t_0 < ... < t_K (``tn``; arrays w1 (K+1, H, d), b1 (K+1, H), w2 (K+1, d, H),
b2 (K+1, d)), linearly interpolated in t and held constant outside [t_0, t_K]
(K = 0: constant weights).  The interpolation is applied to the two affine maps,
W(t) z + b(t) = (1 - s) (W_k z + b_k) + s (W_{k+1} z + b_{k+1}), so no interpolated
matrix is ever formed.

Each of the n initial points (rows of x0) is integrated on its own, in a ``prange`` loop
over points (serial and parallel drivers share one body, so they agree bitwise;
:func:`deeptheory.kernels._threads.pick` chooses).  Time may run forwards or backwards
(``sign`` = +1 or -1).

* Fixed steps (``scheme`` 1 Euler, 2 classical RK4): ``n_steps`` equal steps h from t0;
  the state after step ``out_step[j]`` is written to ``states[j]``.
* Dormand-Prince 5(4) (Dormand & Prince 1980; Hairer, Norsett & Wanner, *Solving ODEs I*,
  2nd ed. 1993, sec. II.4-5): the standard tableau with FSAL; local error estimate
  err = h sum_i e_i k_i (fifth minus fourth order), its norm the RMS over the d components
  of err / (atol + rtol max(|y|, |y_new|)); a step is accepted when the norm is <= 1, and
  the next step is h min(10, max(0.2, 0.9 norm^(-1/5))) (no growth right after a
  rejection).  Initial step by Hairer's heuristic (ibid. p. 169).  Adaptivity is per
  point: each point takes the steps its own error needs (a batch-wide step would be set
  by the worst point).  The integrator stops exactly at every entry of ``stops`` (the
  output times and the interior weight nodes, where f has a kink in t) by shortening the
  step, so no dense output is needed and no step straddles a kink.

Per-point status: 0 ok, 1 ``max_steps`` step attempts reached, 2 step size underflow
(h below 10 eps |t|), 3 non-finite state (fixed steps) or a non-finite stage that could
not be cured by shrinking the step.  A failed point stops; its remaining outputs are nan.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._builtin_eval import act_eval
from ._specialise import kernel

__all__ = ["ODE_NS_PER_UNIT", "ODE_SCHEMES", "ODE_STATUS"]

#: fixed-step schemes (name -> kernel flag)
ODE_SCHEMES = {"euler": 1, "rk4": 2}
#: per-point status codes of the kernels
ODE_STATUS = {0: "ok", 1: "max_steps reached", 2: "step size underflow", 3: "non-finite state"}
#: rough serial cost of one field evaluation per hidden unit (ns; activation + 2 d flops),
#: for the serial/parallel choice
ODE_NS_PER_UNIT = 15.0

_ODE_EPS = 2.220446049250313e-16


@kernel()
def ode_node(tn, t):  # pragma: no cover - compiled
    """Index k and weight s of t between nodes: t = (1 - s) tn[k] + s tn[k+1] (clamped)."""
    m = tn.shape[0]
    if m == 1 or t <= tn[0]:
        return 0, 0.0
    if t >= tn[m - 1]:
        return m - 1, 0.0
    lo = 0
    hi = m - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if tn[mid] <= t:
            lo = mid
        else:
            hi = mid
    return lo, (t - tn[lo]) / (tn[lo + 1] - tn[lo])


@kernel()
def ode_field(code, tn, w1, b1, w2, b2, t, z, a, out):  # pragma: no cover - compiled
    """out = W2(t) phi(W1(t) z + b1(t)) + b2(t); ``a`` is scratch of length H."""
    hdim = w1.shape[1]
    d = w1.shape[2]
    k, s = ode_node(tn, t)
    if s == 0.0:
        for h in range(hdim):
            acc = b1[k, h]
            for j in range(d):
                acc += w1[k, h, j] * z[j]
            a[h] = act_eval(code, 0, acc)
        for i in range(d):
            acc = b2[k, i]
            for h in range(hdim):
                acc += w2[k, i, h] * a[h]
            out[i] = acc
        return
    r = 1.0 - s
    k1 = k + 1
    for h in range(hdim):
        p0 = b1[k, h]
        p1 = b1[k1, h]
        for j in range(d):
            p0 += w1[k, h, j] * z[j]
            p1 += w1[k1, h, j] * z[j]
        a[h] = act_eval(code, 0, r * p0 + s * p1)
    for i in range(d):
        q0 = b2[k, i]
        q1 = b2[k1, i]
        for h in range(hdim):
            q0 += w2[k, i, h] * a[h]
            q1 += w2[k1, i, h] * a[h]
        out[i] = r * q0 + s * q1


@kernel()
def ode_fixed_point(
    code, tn, w1, b1, w2, b2, i, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """Integrate point i with ``n_steps`` fixed steps (scheme 1 Euler, 2 RK4)."""
    d = x0.shape[1]
    hdim = w1.shape[1]
    a = np.empty(hdim)
    y = np.empty(d)
    yt = np.empty(d)
    k1 = np.empty(d)
    k2 = np.empty(d)
    k3 = np.empty(d)
    k4 = np.empty(d)
    for j in range(d):
        y[j] = x0[i, j]
    n_out = out_step.shape[0]
    jo = 0
    while jo < n_out and out_step[jo] == 0:
        for j in range(d):
            states[jo, i, j] = y[j]
        jo += 1
    ev = 0
    for step in range(n_steps):
        t = t0 + step * h
        ode_field(code, tn, w1, b1, w2, b2, t, y, a, k1)
        ev += 1
        if scheme == 1:
            for j in range(d):
                y[j] += h * k1[j]
        else:
            h2 = 0.5 * h
            for j in range(d):
                yt[j] = y[j] + h2 * k1[j]
            ode_field(code, tn, w1, b1, w2, b2, t + h2, yt, a, k2)
            for j in range(d):
                yt[j] = y[j] + h2 * k2[j]
            ode_field(code, tn, w1, b1, w2, b2, t + h2, yt, a, k3)
            for j in range(d):
                yt[j] = y[j] + h * k3[j]
            ode_field(code, tn, w1, b1, w2, b2, t0 + (step + 1) * h, yt, a, k4)
            ev += 3
            h6 = h / 6.0
            for j in range(d):
                y[j] += h6 * (k1[j] + 2.0 * (k2[j] + k3[j]) + k4[j])
        finite = True
        for j in range(d):
            if not math.isfinite(y[j]):
                finite = False
        if not finite:
            status[i] = 3
            break
        while jo < n_out and out_step[jo] == step + 1:
            for j in range(d):
                states[jo, i, j] = y[j]
            jo += 1
    nfev[i] = ev
    for jj in range(jo, n_out):
        for j in range(d):
            states[jj, i, j] = math.nan


@kernel(role="cpu", parallel=True)
def ode_fixed(
    code, tn, w1, b1, w2, b2, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """Fixed-step Euler / RK4 for every row of x0 (thread pool); see :func:`ode_fixed_point`."""
    for i in prange(x0.shape[0]):
        ode_fixed_point(code, tn, w1, b1, w2, b2, i, x0, t0, h, n_steps, scheme, out_step,
                        states, status, nfev)


@kernel(role="cpu")
def ode_fixed_serial(
    code, tn, w1, b1, w2, b2, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """:func:`ode_fixed` on the calling thread (bitwise the same)."""
    for i in range(x0.shape[0]):
        ode_fixed_point(code, tn, w1, b1, w2, b2, i, x0, t0, h, n_steps, scheme, out_step,
                        states, status, nfev)


@kernel()
def ode_rms(err, y, ynew, rtol, atol):  # pragma: no cover - compiled
    """sqrt(mean_j (err_j / (atol + rtol max(|y_j|, |ynew_j|)))^2)."""
    d = err.shape[0]
    acc = 0.0
    for j in range(d):
        sc = atol + rtol * max(abs(y[j]), abs(ynew[j]))
        v = err[j] / sc
        acc += v * v
    return math.sqrt(acc / d)


@kernel()
def ode_dopri_point(
    code, tn, w1, b1, w2, b2, i, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """Dormand-Prince 5(4) for point i from t0 through every time in ``stops`` (monotone in
    the direction ``sign``); at stops[m] with out_idx[m] >= 0 write states[out_idx[m], i].
    counts[i] = (accepted steps, rejected steps, field evaluations)."""
    d = x0.shape[1]
    hdim = w1.shape[1]
    a = np.empty(hdim)
    y = np.empty(d)
    yn = np.empty(d)
    yt = np.empty(d)
    err = np.empty(d)
    k1 = np.empty(d)
    k2 = np.empty(d)
    k3 = np.empty(d)
    k4 = np.empty(d)
    k5 = np.empty(d)
    k6 = np.empty(d)
    k7 = np.empty(d)
    for j in range(d):
        y[j] = x0[i, j]
    # time 0 of the outputs is t0 itself
    states[0, i, :] = y
    t = t0
    ode_field(code, tn, w1, b1, w2, b2, t, y, a, k1)
    nfev = 1
    # initial step (Hairer, Norsett & Wanner, sec. II.4, p. 169), p + 1 = 5
    if h_first > 0.0:
        h = h_first
    else:
        d0 = 0.0
        d1 = 0.0
        for j in range(d):
            sc = atol + rtol * abs(y[j])
            d0 += (y[j] / sc) ** 2
            d1 += (k1[j] / sc) ** 2
        d0 = math.sqrt(d0 / d)
        d1 = math.sqrt(d1 / d)
        if d0 < 1e-5 or d1 < 1e-5:
            h0 = 1e-6
        else:
            h0 = 0.01 * d0 / d1
        h0 = min(h0, h_max)
        for j in range(d):
            yt[j] = y[j] + sign * h0 * k1[j]
        ode_field(code, tn, w1, b1, w2, b2, t + sign * h0, yt, a, k2)
        nfev += 1
        d2 = 0.0
        for j in range(d):
            sc = atol + rtol * abs(y[j])
            d2 += ((k2[j] - k1[j]) / sc) ** 2
        d2 = math.sqrt(d2 / d) / h0
        dm = max(d1, d2)
        if dm <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / dm) ** 0.2
        h = min(100.0 * h0, h1)
    h = min(h, h_max)
    n_acc = 0
    n_rej = 0
    failed = 0
    m = 0
    n_stops = stops.shape[0]
    rejected = False
    while m < n_stops:
        t_stop = stops[m]
        remaining = sign * (t_stop - t)
        if n_acc + n_rej >= max_steps:
            failed = 1
            break
        h_min = 10.0 * _ODE_EPS * max(abs(t), abs(t_stop))
        if h < h_min:
            failed = 2
            break
        last = False
        h_try = h
        if h >= remaining or remaining - h <= h_min:
            h_try = remaining
            last = True
        hs = sign * h_try
        for j in range(d):
            yt[j] = y[j] + hs * (0.2 * k1[j])
        ode_field(code, tn, w1, b1, w2, b2, t + 0.2 * hs, yt, a, k2)
        for j in range(d):
            yt[j] = y[j] + hs * (3.0 / 40.0 * k1[j] + 9.0 / 40.0 * k2[j])
        ode_field(code, tn, w1, b1, w2, b2, t + 0.3 * hs, yt, a, k3)
        for j in range(d):
            yt[j] = y[j] + hs * (44.0 / 45.0 * k1[j] - 56.0 / 15.0 * k2[j]
                                 + 32.0 / 9.0 * k3[j])
        ode_field(code, tn, w1, b1, w2, b2, t + 0.8 * hs, yt, a, k4)
        for j in range(d):
            yt[j] = y[j] + hs * (19372.0 / 6561.0 * k1[j] - 25360.0 / 2187.0 * k2[j]
                                 + 64448.0 / 6561.0 * k3[j] - 212.0 / 729.0 * k4[j])
        ode_field(code, tn, w1, b1, w2, b2, t + 8.0 / 9.0 * hs, yt, a, k5)
        for j in range(d):
            yt[j] = y[j] + hs * (9017.0 / 3168.0 * k1[j] - 355.0 / 33.0 * k2[j]
                                 + 46732.0 / 5247.0 * k3[j] + 49.0 / 176.0 * k4[j]
                                 - 5103.0 / 18656.0 * k5[j])
        t_new = t_stop if last else t + hs
        ode_field(code, tn, w1, b1, w2, b2, t_new, yt, a, k6)
        for j in range(d):
            yn[j] = y[j] + hs * (35.0 / 384.0 * k1[j] + 500.0 / 1113.0 * k3[j]
                                 + 125.0 / 192.0 * k4[j] - 2187.0 / 6784.0 * k5[j]
                                 + 11.0 / 84.0 * k6[j])
        ode_field(code, tn, w1, b1, w2, b2, t_new, yn, a, k7)
        nfev += 6
        for j in range(d):
            err[j] = hs * (71.0 / 57600.0 * k1[j] - 71.0 / 16695.0 * k3[j]
                           + 71.0 / 1920.0 * k4[j] - 17253.0 / 339200.0 * k5[j]
                           + 22.0 / 525.0 * k6[j] - 1.0 / 40.0 * k7[j])
        en = ode_rms(err, y, yn, rtol, atol)
        if not math.isfinite(en):
            # a stage overflowed: shrink hard and retry (underflow ends a true blow-up)
            n_rej += 1
            h = 0.2 * h_try
            rejected = True
            continue
        if en <= 1.0:
            n_acc += 1
            if en == 0.0:
                fac = 10.0
            else:
                fac = min(10.0, max(0.2, 0.9 * en ** -0.2))
            if rejected:
                fac = min(fac, 1.0)
            rejected = False
            h_next = h_try * fac
            if last:
                # the step was shortened to hit the stop: do not let that shrink the next one
                h_next = max(h_next, min(h, h_try * 10.0))
            t = t_new
            for j in range(d):
                y[j] = yn[j]
                k1[j] = k7[j]
            h = min(h_next, h_max)
            if last:
                oi = out_idx[m]
                if oi >= 0:
                    for j in range(d):
                        states[oi, i, j] = y[j]
                m += 1
        else:
            n_rej += 1
            h = h_try * max(0.2, 0.9 * en ** -0.2)
            rejected = True
    status[i] = failed
    counts[i, 0] = n_acc
    counts[i, 1] = n_rej
    counts[i, 2] = nfev
    if failed != 0:
        for mm in range(m, n_stops):
            oi = out_idx[mm]
            if oi >= 0:
                for j in range(d):
                    states[oi, i, j] = math.nan


@kernel(role="cpu", parallel=True)
def ode_dopri(
    code, tn, w1, b1, w2, b2, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """Dormand-Prince 5(4) for every row of x0 (thread pool); see :func:`ode_dopri_point`."""
    for i in prange(x0.shape[0]):
        ode_dopri_point(code, tn, w1, b1, w2, b2, i, x0, t0, sign, stops, out_idx, rtol, atol,
                        h_first, h_max, max_steps, states, status, counts)


@kernel(role="cpu")
def ode_dopri_serial(
    code, tn, w1, b1, w2, b2, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """:func:`ode_dopri` on the calling thread (bitwise the same)."""
    for i in range(x0.shape[0]):
        ode_dopri_point(code, tn, w1, b1, w2, b2, i, x0, t0, sign, stops, out_idx, rtol, atol,
                        h_first, h_max, max_steps, states, status, counts)
