"""Compiled batched ODE integrators: Euler, RK4 and Dormand-Prince 5(4), one copy each,
for any compiled right-hand side; built in for a one-hidden-layer vector field.

The step loops (:func:`ode_fixed_point`, :func:`ode_dopri_point`) call
``ode_rhs(p, t, y, scratch, out)``: out = f(y, t) for one state y, with ``p`` a tuple of
parameters passed through and ``scratch`` the right-hand side's own scratch.  The drivers
``ode_fixed_run``, ``ode_dopri_run`` and ``ode_eval_run`` (f at one time for every row)
take (p, n_scratch, ...).  In this module ``ode_rhs`` is the one-hidden-layer field

    f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t),      z in R^d, hidden width H,

(p = (code, tn, w1t, b1, w2, b2)), behind the entry points ``ode_fixed`` and ``ode_dopri``
that :func:`deeptheory.dynamics.odeint_batch` calls.  :func:`ode_specialise` compiles the
same drivers (the same code objects) with another compiled right-hand side, and
:func:`ode_python_family` with a NumPy one (object mode, once per stage for a whole batch
passed as one state): there is no second copy of any scheme.

The one-hidden-layer field: phi an activation evaluated by ``act_eval(code, 0, x)`` and the
weights given at nodes t_0 < ... < t_K (``tn``; arrays w1 (K+1, H, d), b1 (K+1, H), w2
(K+1, d, H), b2 (K+1, d)), linearly interpolated in t and held constant outside
[t_0, t_K] (K = 0: constant weights).  The interpolation is applied to the two affine maps,
W(t) z + b(t) = (1 - s) (W_k z + b_k) + s (W_{k+1} z + b_{k+1}), so no interpolated
matrix is ever formed.

Each of the n initial points (rows of x0) is integrated on its own, in a ``prange`` loop
over chunks of ``_CHUNK`` points (one scratch allocation per chunk; nothing is allocated
inside the step loop); serial and parallel drivers share one body, so they agree bitwise
(:func:`deeptheory.kernels._threads.pick` chooses).  Time may run forwards or backwards
(``sign`` = +1 or -1).  The per-point loops are compiled without reference counting
(``_nrt=False``; they allocate nothing): with it, every tuple item and scratch slice the
right-hand side takes costs two atomic operations per evaluation, measured 15-25% of the
whole run for the field below.

Field evaluation (:func:`ode_field`), the whole cost: the drivers transpose W1 once to
(K+1, d, H) so the pre-activation b1 + sum_j W1[:, j] z_j runs over contiguous rows of
length H (SIMD; the same summation order per unit as a plain loop); tanh, the built-in
activation the flows use most, is :func:`ode_tanh`, a branch-free form of Cephes' tanh
that vectorises (max error 1.46 ulp; libm's ``tanh``, a call per unit that blocks SIMD,
measured 21 ns per value against 2.3 ns); other activations call ``act_eval`` per unit;
the output rows W2[i] . a are SIMD dot products (:func:`ode_dot`).  Between weight nodes
with d = 2 both nodes' pre-activations are formed in one pass.  Width 64, d = 2 on an
x86-64 core with AVX2: about 0.24 us per evaluation (0.25 us between nodes), against 1.3
us with libm's tanh and plain loops (benchmarks/bench_dynamics.py --part ode).

* Fixed steps (``scheme`` 1 Euler, 2 classical RK4): ``n_steps`` equal steps h from t0
  (stage times t0 + s h and (t0 + s h) + h / 2, in these floating-point expressions);
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

import hashlib
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType, FunctionType, SimpleNamespace
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, objmode, prange, types
from numba.extending import intrinsic

from ._builtin_eval import act_eval
from ._specialise import _SPECS, _code_names, kernel
from .activation_defs import BUILTIN_DEFS

__all__ = [
    "ODE_NS_PER_UNIT", "ODE_SCHEMES", "ODE_STATUS", "ode_python_family", "ode_specialise",
    "python_rhs",
]

#: fixed-step schemes (name -> kernel flag)
ODE_SCHEMES = {"euler": 1, "rk4": 2}
#: per-point status codes of the kernels
ODE_STATUS = {0: "ok", 1: "max_steps reached", 2: "step size underflow", 3: "non-finite state"}
#: rough serial cost of one field evaluation per hidden unit and per (d + 1) (ns), for the
#: serial/parallel choice: measured 1.3 (tanh, vectorised) and 2.6 (erf, libm) for width 64,
#: d = 2 on an x86-64 core with AVX2; user activations may cost more
ODE_NS_PER_UNIT = 2.5

_ODE_EPS = 2.220446049250313e-16
#: points per scratch allocation (and per task) in the thread-pool drivers
_CHUNK = 16
#: activation code of the built-in tanh, evaluated by :func:`ode_tanh` in the field
_TANH_CODE = next(a.code for a in BUILTIN_DEFS if a.name == "tanh")
# exp range reduction y = n ln2 + r (Cephes: ln2 split so n * _LN2_HI is exact)
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93145751953125e-1
_LN2_LO = 1.42860682030941723212e-6
_ROUND = 6755399441055744.0  # 1.5 * 2^52: v + _ROUND rounds v to an integer in the low bits


@intrinsic
def _f64_bits(typingctx, v):
    """The IEEE-754 bits of a float64 as int64 (an LLVM bitcast; vectorises)."""
    if not isinstance(v, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, v):
    """The float64 with the given IEEE-754 bits (inverse of :func:`_f64_bits`)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@kernel(inline="always", error_model="numpy")
def ode_exp(y):  # pragma: no cover - compiled
    """exp(y) for -708 <= y <= 709 by Cephes' exp.c (Moshier 1989) without branches, so a
    loop of it vectorises: y = n ln2 + r, |r| <= ln2 / 2 (ln2 split in two so n ln2_hi is
    exact), exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)), times 2^n built from its
    exponent bits (valid for -1022 < n < 1024, hence the range).  Max error 2 ulp
    (tests/test_dynamics_diffusion); the caller clamps y."""
    nb = y * _LOG2E + _ROUND
    n = nb - _ROUND
    r = (y - n * _LN2_HI) - n * _LN2_LO
    rr = r * r
    rp = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr
              + 9.99999999999999999910e-1)
    qr = (((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
           + 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0)
    e = 1.0 + 2.0 * (rp / (qr - rp))
    # times 2^n: exponent field n + 1023 (n = the low bits of nb)
    return e * _bits_f64((_f64_bits(nb) - _f64_bits(_ROUND) + 1023) << 52)


@kernel(inline="always", error_model="numpy")
def ode_tanh(x):  # pragma: no cover - compiled
    """tanh(x) by Cephes' algorithm (Moshier, *Methods and Programs for Mathematical
    Functions*, 1989; tanh.c, exp.c), written without branches so a loop of it vectorises:
    |x| < 0.625: x + x s P(s) / Q(s), s = x^2 (rational minimax); otherwise
    1 - 2 / (exp(2|x|) + 1) with exp by :func:`ode_exp`.  Both branches are
    computed on |x| and one selected, the sign restored by ``copysign`` (tanh(-0) = -0,
    +-inf -> +-1, nan -> nan; no masked store); |x| > 20 is clamped in the exp (tanh(20)
    rounds to 1).  Max error 1.46 ulp against an 80-bit reference (libm's tanh: 1.2 ulp;
    tests/test_dynamics_odeflow checks 1.5 ulp).  The ``error_model`` skips
    Python's zero-division check (no division here can be by zero), which would block
    vectorisation."""
    ax = abs(x)
    s = ax * ax
    ps = ((-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s
          - 1.61468768441708447952e3)
    qs = (((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s
          + 4.84406305325125486048e3)
    big = ax
    if big > 20.0:
        big = 20.0
    e = ode_exp(big + big)
    # |x| < 0.625: |x| + |x| s P(s) / Q(s); else 1 - 2 / (e + 1); one division for both
    if ax < 0.625:
        base = ax
        num = ax * s * ps
        den = qs
    else:
        base = 1.0
        num = -2.0
        den = e + 1.0
    return math.copysign(base + num / den, x)


@kernel(error_model="numpy", fastmath={"contract"})
def ode_tanh_array(a):  # pragma: no cover - compiled
    """a[:] = tanh(a) in place with :func:`ode_tanh` (SIMD over the entries; ``contract``
    lets LLVM fuse multiply-adds, never less accurate: the ulp test covers it)."""
    for h in range(a.shape[0]):
        a[h] = ode_tanh(a[h])


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
def ode_transpose_w1(w1):  # pragma: no cover - compiled
    """w1 (K+1, H, d) as a C-contiguous (K+1, d, H) copy: the rows the field loops read."""
    k1, hdim, d = w1.shape
    w1t = np.empty((k1, d, hdim))
    for k in range(k1):
        for h in range(hdim):
            for j in range(d):
                w1t[k, j, h] = w1[k, h, j]
    return w1t


@kernel(fastmath={"reassoc", "contract"})
def ode_dot(w, a):  # pragma: no cover - compiled
    """sum_h w[h] a[h], vectorised: ``reassoc`` lets LLVM keep SIMD partial sums (the same
    worst-case rounding bound as any summation order; a fixed order for given H, so the
    serial and parallel drivers still agree bitwise, which the tests check)."""
    acc = 0.0
    for h in range(a.shape[0]):
        acc += w[h] * a[h]
    return acc


@kernel()
def ode_preact(w1t, b1, k, z, a):  # pragma: no cover - compiled
    """a = W1_k z + b1_k, summed b1 + w_1 z_1 + ... + w_d z_d in that order for every h
    (loops over h innermost, on contiguous rows of the transposed W1, so they vectorise;
    the first two terms in one pass)."""
    hdim = a.shape[0]
    d = w1t.shape[1]
    z0 = z[0]
    if d == 1:
        for h in range(hdim):
            a[h] = b1[k, h] + w1t[k, 0, h] * z0
        return
    z1 = z[1]
    for h in range(hdim):
        a[h] = (b1[k, h] + w1t[k, 0, h] * z0) + w1t[k, 1, h] * z1
    for j in range(2, d):
        zj = z[j]
        for h in range(hdim):
            a[h] += w1t[k, j, h] * zj


@kernel()
def ode_field(code, tn, w1t, b1, w2, b2, t, z, a, a1, out):  # pragma: no cover - compiled
    """out = W2(t) phi(W1(t) z + b1(t)) + b2(t), with w1t the (K+1, d, H) transpose of
    W1 (:func:`ode_transpose_w1`); ``a``, ``a1`` are scratch of length H.  tanh (built-in
    code) uses the vectorised :func:`ode_tanh_array`, other activations ``act_eval``."""
    hdim = w1t.shape[2]
    d = w1t.shape[1]
    k, s = ode_node(tn, t)
    if s == 0.0:
        ode_preact(w1t, b1, k, z, a)
    elif d == 2:
        # both nodes in one pass (the same sums as ode_preact's, then interpolated)
        r = 1.0 - s
        k1 = k + 1
        z0 = z[0]
        z1 = z[1]
        for h in range(hdim):
            p0 = (b1[k, h] + w1t[k, 0, h] * z0) + w1t[k, 1, h] * z1
            p1 = (b1[k1, h] + w1t[k1, 0, h] * z0) + w1t[k1, 1, h] * z1
            a[h] = r * p0 + s * p1
    else:
        ode_preact(w1t, b1, k, z, a)
        ode_preact(w1t, b1, k + 1, z, a1)
        r = 1.0 - s
        for h in range(hdim):
            a[h] = r * a[h] + s * a1[h]
    if code == _TANH_CODE:
        ode_tanh_array(a)
    else:
        for h in range(hdim):
            a[h] = act_eval(code, 0, a[h])
    if s == 0.0:
        for i in range(d):
            out[i] = b2[k, i] + ode_dot(w2[k, i], a)
    else:
        r = 1.0 - s
        for i in range(d):
            q0 = b2[k, i] + ode_dot(w2[k, i], a)
            q1 = b2[k + 1, i] + ode_dot(w2[k + 1, i], a)
            out[i] = r * q0 + s * q1


@kernel(inline="always")
def ode_rhs(p, t, y, scratch, out):  # pragma: no cover - compiled
    """The right-hand side the generic drivers call: here the one-hidden-layer field,
    out = f(y, t) by :func:`ode_field` with p = (code, tn, w1t, b1, w2, b2) (w1t the
    transposed W1, :func:`ode_transpose_w1`) and ``scratch`` of length >= 2 H.
    :func:`ode_specialise` compiles the drivers again with another ``ode_rhs``."""
    code, tn, w1t, b1, w2, b2 = p
    hdim = w1t.shape[2]
    ode_field(code, tn, w1t, b1, w2, b2, t, y, scratch[:hdim], scratch[hdim:2 * hdim], out)


@kernel()
def ode_work_size(d, n_scratch):  # pragma: no cover - compiled
    """Scratch length of one point: 11 vectors of length d (the stages of the largest
    scheme, Dormand-Prince) and the ``n_scratch`` entries the right-hand side asks for."""
    return 11 * d + n_scratch


@kernel(_nrt=False)
def ode_fixed_point(
    p, i, x0, t0, h, n_steps, scheme, out_step, states, status, nfev, work,
):  # pragma: no cover - compiled
    """Integrate point i of y' = ode_rhs(p, t, y) with ``n_steps`` fixed steps h from t0
    (scheme 1 Euler, 2 classical RK4); the state after step ``out_step[j]`` goes to
    states[j, i].  ``work``: scratch of length :func:`ode_work_size` (every entry written
    before it is read; the right-hand side gets work[11 d:])."""
    d = x0.shape[1]
    y = work[0:d]
    yt = work[d:2 * d]
    k1 = work[2 * d:3 * d]
    k2 = work[3 * d:4 * d]
    k3 = work[4 * d:5 * d]
    k4 = work[5 * d:6 * d]
    scr = work[11 * d:]
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
        ode_rhs(p, t, y, scr, k1)
        ev += 1
        if scheme == 1:
            for j in range(d):
                y[j] += h * k1[j]
        else:
            h2 = 0.5 * h
            for j in range(d):
                yt[j] = y[j] + h2 * k1[j]
            ode_rhs(p, t + h2, yt, scr, k2)
            for j in range(d):
                yt[j] = y[j] + h2 * k2[j]
            ode_rhs(p, t + h2, yt, scr, k3)
            for j in range(d):
                yt[j] = y[j] + h * k3[j]
            ode_rhs(p, t0 + (step + 1) * h, yt, scr, k4)
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


@kernel()
def ode_fixed_chunk(
    p, n_scratch, lo, hi, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """Points lo..hi-1 of :func:`ode_fixed_run` with one scratch allocation."""
    work = np.empty(ode_work_size(x0.shape[1], n_scratch))
    for i in range(lo, hi):
        ode_fixed_point(p, i, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
                        work)


@kernel(role="cpu", parallel=True)
def ode_fixed_run(
    p, n_scratch, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """Fixed-step Euler / RK4 of y' = ode_rhs(p, t, y) for every row of x0 (thread pool,
    chunks of ``_CHUNK`` points); see :func:`ode_fixed_point`."""
    n = x0.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        ode_fixed_chunk(p, n_scratch, c * _CHUNK, min(n, (c + 1) * _CHUNK), x0, t0, h,
                        n_steps, scheme, out_step, states, status, nfev)


@kernel(role="cpu")
def ode_fixed_run_serial(
    p, n_scratch, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """:func:`ode_fixed_run` on the calling thread (bitwise the same)."""
    ode_fixed_chunk(p, n_scratch, 0, x0.shape[0], x0, t0, h, n_steps, scheme, out_step,
                    states, status, nfev)


@kernel(role="cpu")
def ode_fixed(
    code, tn, w1, b1, w2, b2, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """:func:`ode_fixed_run` for the one-hidden-layer field (thread pool)."""
    w1t = ode_transpose_w1(w1)
    ode_fixed_run((code, tn, w1t, b1, w2, b2), 2 * w1t.shape[2], x0, t0, h, n_steps, scheme,
                  out_step, states, status, nfev)


@kernel(role="cpu")
def ode_fixed_serial(
    code, tn, w1, b1, w2, b2, x0, t0, h, n_steps, scheme, out_step, states, status, nfev,
):  # pragma: no cover - compiled
    """:func:`ode_fixed` on the calling thread (bitwise the same)."""
    w1t = ode_transpose_w1(w1)
    ode_fixed_run_serial((code, tn, w1t, b1, w2, b2), 2 * w1t.shape[2], x0, t0, h, n_steps,
                         scheme, out_step, states, status, nfev)


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


@kernel(_nrt=False)
def ode_dopri_point(
    p, i, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max, max_steps, states,
    status, counts, work,
):  # pragma: no cover - compiled
    """Dormand-Prince 5(4) of y' = ode_rhs(p, t, y) for point i from t0 through every time
    in ``stops`` (monotone in the direction ``sign``); at stops[m] with out_idx[m] >= 0
    write states[out_idx[m], i].  counts[i] = (accepted steps, rejected steps, field
    evaluations).  ``work``: scratch of length :func:`ode_work_size` (every entry written
    before it is read; the right-hand side gets work[11 d:])."""
    d = x0.shape[1]
    y = work[0:d]
    yn = work[d:2 * d]
    yt = work[2 * d:3 * d]
    err = work[3 * d:4 * d]
    k1 = work[4 * d:5 * d]
    k2 = work[5 * d:6 * d]
    k3 = work[6 * d:7 * d]
    k4 = work[7 * d:8 * d]
    k5 = work[8 * d:9 * d]
    k6 = work[9 * d:10 * d]
    k7 = work[10 * d:11 * d]
    scr = work[11 * d:]
    # time 0 of the outputs is t0 itself
    for j in range(d):
        y[j] = x0[i, j]
        states[0, i, j] = y[j]
    t = t0
    ode_rhs(p, t, y, scr, k1)
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
        ode_rhs(p, t + sign * h0, yt, scr, k2)
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
        ode_rhs(p, t + 0.2 * hs, yt, scr, k2)
        for j in range(d):
            yt[j] = y[j] + hs * (3.0 / 40.0 * k1[j] + 9.0 / 40.0 * k2[j])
        ode_rhs(p, t + 0.3 * hs, yt, scr, k3)
        for j in range(d):
            yt[j] = y[j] + hs * (44.0 / 45.0 * k1[j] - 56.0 / 15.0 * k2[j]
                                 + 32.0 / 9.0 * k3[j])
        ode_rhs(p, t + 0.8 * hs, yt, scr, k4)
        for j in range(d):
            yt[j] = y[j] + hs * (19372.0 / 6561.0 * k1[j] - 25360.0 / 2187.0 * k2[j]
                                 + 64448.0 / 6561.0 * k3[j] - 212.0 / 729.0 * k4[j])
        ode_rhs(p, t + 8.0 / 9.0 * hs, yt, scr, k5)
        for j in range(d):
            yt[j] = y[j] + hs * (9017.0 / 3168.0 * k1[j] - 355.0 / 33.0 * k2[j]
                                 + 46732.0 / 5247.0 * k3[j] + 49.0 / 176.0 * k4[j]
                                 - 5103.0 / 18656.0 * k5[j])
        t_new = t_stop if last else t + hs
        ode_rhs(p, t_new, yt, scr, k6)
        for j in range(d):
            yn[j] = y[j] + hs * (35.0 / 384.0 * k1[j] + 500.0 / 1113.0 * k3[j]
                                 + 125.0 / 192.0 * k4[j] - 2187.0 / 6784.0 * k5[j]
                                 + 11.0 / 84.0 * k6[j])
        ode_rhs(p, t_new, yn, scr, k7)
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


@kernel()
def ode_dopri_chunk(
    p, n_scratch, lo, hi, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """Points lo..hi-1 of :func:`ode_dopri_run` with one scratch allocation."""
    work = np.empty(ode_work_size(x0.shape[1], n_scratch))
    for i in range(lo, hi):
        ode_dopri_point(p, i, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
                        max_steps, states, status, counts, work)


@kernel(role="cpu", parallel=True)
def ode_dopri_run(
    p, n_scratch, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max, max_steps,
    states, status, counts,
):  # pragma: no cover - compiled
    """Dormand-Prince 5(4) of y' = ode_rhs(p, t, y) for every row of x0 (thread pool,
    chunks of ``_CHUNK`` points); see :func:`ode_dopri_point`."""
    n = x0.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        ode_dopri_chunk(p, n_scratch, c * _CHUNK, min(n, (c + 1) * _CHUNK), x0, t0, sign,
                        stops, out_idx, rtol, atol, h_first, h_max, max_steps, states,
                        status, counts)


@kernel(role="cpu")
def ode_dopri_run_serial(
    p, n_scratch, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max, max_steps,
    states, status, counts,
):  # pragma: no cover - compiled
    """:func:`ode_dopri_run` on the calling thread (bitwise the same)."""
    ode_dopri_chunk(p, n_scratch, 0, x0.shape[0], x0, t0, sign, stops, out_idx, rtol, atol,
                    h_first, h_max, max_steps, states, status, counts)


@kernel(role="cpu")
def ode_dopri(
    code, tn, w1, b1, w2, b2, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """:func:`ode_dopri_run` for the one-hidden-layer field (thread pool)."""
    w1t = ode_transpose_w1(w1)
    ode_dopri_run((code, tn, w1t, b1, w2, b2), 2 * w1t.shape[2], x0, t0, sign, stops,
                  out_idx, rtol, atol, h_first, h_max, max_steps, states, status, counts)


@kernel(role="cpu")
def ode_dopri_serial(
    code, tn, w1, b1, w2, b2, x0, t0, sign, stops, out_idx, rtol, atol, h_first, h_max,
    max_steps, states, status, counts,
):  # pragma: no cover - compiled
    """:func:`ode_dopri` on the calling thread (bitwise the same)."""
    w1t = ode_transpose_w1(w1)
    ode_dopri_run_serial((code, tn, w1t, b1, w2, b2), 2 * w1t.shape[2], x0, t0, sign, stops,
                         out_idx, rtol, atol, h_first, h_max, max_steps, states, status,
                         counts)


@kernel()
def ode_eval_chunk(p, n_scratch, lo, hi, t, y, out):  # pragma: no cover - compiled
    """out[i] = ode_rhs(p, t, y[i]) for rows lo..hi-1 (one scratch allocation)."""
    scr = np.empty(n_scratch)
    for i in range(lo, hi):
        ode_rhs(p, t, y[i], scr, out[i])


@kernel(role="cpu", parallel=True)
def ode_eval_run(p, n_scratch, t, y, out):  # pragma: no cover - compiled
    """The right-hand side at time t for every row of y (thread pool): what a stochastic
    or user-written stepper needs between its own updates."""
    n = y.shape[0]
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        ode_eval_chunk(p, n_scratch, c * _CHUNK, min(n, (c + 1) * _CHUNK), t, y, out)


@kernel(role="cpu")
def ode_eval_run_serial(p, n_scratch, t, y, out):  # pragma: no cover - compiled
    """:func:`ode_eval_run` on the calling thread (bitwise the same)."""
    ode_eval_chunk(p, n_scratch, 0, y.shape[0], t, y, out)


# ------------------------------------------------------------------ other right-hand sides

#: the generic drivers and the functions under them that call ``ode_rhs`` (callees first)
_RHS_GENERIC = (
    "ode_fixed_point", "ode_fixed_chunk", "ode_fixed_run", "ode_fixed_run_serial",
    "ode_dopri_point", "ode_dopri_chunk", "ode_dopri_run", "ode_dopri_run_serial",
    "ode_eval_chunk", "ode_eval_run", "ode_eval_run_serial",
)
_RHS_FAMILIES: dict[str, SimpleNamespace] = {}
_RHS_LOCK = threading.Lock()


def _code_digest(code: CodeType, h: Any) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _code_digest(const, h)
        else:
            h.update(repr(const).encode())


def _fingerprint(func: Any) -> str:
    """A digest of a compiled function's code and of every compiled function and constant
    global it reaches (recursively): a changed right-hand side gets new cache entries."""
    h = hashlib.sha256()
    seen: set[int] = set()

    def visit(f: Any) -> None:
        py = getattr(f, "py_func", f)
        if id(py) in seen:
            return
        seen.add(id(py))
        _code_digest(py.__code__, h)
        h.update(repr(getattr(f, "targetoptions", None)).encode())
        for name in sorted(_code_names(py.__code__)):
            v = py.__globals__.get(name)
            if hasattr(v, "py_func"):
                visit(v)
            elif isinstance(v, (bool, int, float, str, tuple)):
                h.update(repr((name, v)).encode())

    visit(func)
    return h.hexdigest()[:16]


def ode_specialise(rhs: Any, tag: str, *, cache: bool = True,
                   refcount: bool = False) -> SimpleNamespace:
    """The generic drivers compiled with ``ode_rhs`` bound to another right-hand side.

    ``rhs(p, t, y, scratch, out)`` is a Numba-compiled function writing f(y, t) to ``out``
    for one point y (length d), with ``p`` any tuple of parameters the caller passes
    through and ``scratch`` (length ``n_scratch``, the drivers' second argument) its own
    scratch.  It is called from the per-point step loops, which are compiled without
    reference counting: it must not allocate, and it runs fastest when declared
    ``inline="always"`` (no slice or tuple access then costs an atomic reference count).
    Returns a namespace with ``ode_fixed_run`` / ``ode_fixed_run_serial`` (Euler, RK4),
    ``ode_dopri_run`` / ``ode_dopri_run_serial`` (Dormand-Prince 5(4); Dormand & Prince
    1980) and ``ode_eval_run`` / ``ode_eval_run_serial`` (f at one time for every row),
    each taking (p, n_scratch, ...) then the arguments of the one-hidden-layer drivers.

    The drivers are the very code objects of this module, cloned with another global
    ``ode_rhs`` (as :mod:`deeptheory.kernels._specialise` does for activations) under the
    name ``<driver>__<tag>_<digest of rhs>``: cached on disk, and a changed ``rhs`` (or
    anything compiled it calls) gets a new name instead of a stale cache entry.  One
    family per (tag, digest) per process.  ``cache=False``, ``refcount=True``: for a
    right-hand side that cannot be cached or needs reference counting in the loops that
    call it (an ``objmode`` block, :func:`ode_python_family`).
    """
    if not hasattr(rhs, "py_func"):
        raise TypeError(f"rhs must be a numba-compiled function, got {type(rhs).__name__}")
    if not tag.isidentifier():
        raise ValueError(f"tag must be an identifier, got {tag!r}")
    key = f"{tag}_{_fingerprint(rhs)}{'' if cache else '_nocache'}{'_rc' if refcount else ''}"
    with _RHS_LOCK:
        fam = _RHS_FAMILIES.get(key)
        if fam is not None:
            return fam
        g = dict(globals())
        g["ode_rhs"] = rhs
        out = {}
        for name in _RHS_GENERIC:
            spec = _SPECS[name]
            src = spec.py_func
            clone = FunctionType(src.__code__, g, name, src.__defaults__, src.__closure__)
            clone.__qualname__ = f"{name}__{key}"
            clone.__doc__ = src.__doc__
            opts = dict(spec.options)
            if refcount:
                opts.pop("_nrt", None)
            g[name] = out[name] = njit(cache=cache, **opts)(clone)
        fam = _RHS_FAMILIES[key] = SimpleNamespace(**out)
        return fam


class _PythonRhs(threading.local):
    """The Python right-hand side of :func:`ode_python_family` (per calling thread)."""

    fn: Any = None


_PY_RHS = _PythonRhs()


@njit(cache=False)
def _python_rhs(p, t, y, scratch, out):  # pragma: no cover - compiled
    """out = fn(t, y) with fn the Python function of the calling thread (object mode)."""
    with objmode():
        _PY_RHS.fn(t, y, out)


def ode_python_family() -> SimpleNamespace:
    """The generic drivers of :func:`ode_specialise` with a Python right-hand side.

    Within :func:`python_rhs` (fn), the drivers call ``fn(t, y, out)`` (NumPy arrays; fn
    writes f(y, t) into ``out``) once per stage.  Pass a whole batch of m points in R^d as
    one point of dimension m d (x0 of shape (1, m d)) so that fn sees every point at once
    and can vectorise; the steps are then batch-wide (Dormand-Prince controls the RMS error
    over the batch, as ``scipy.integrate.solve_ivp`` does).  Use the serial drivers: the
    function is per thread.  Compiled once per process (object mode cannot be cached).
    """
    return ode_specialise(_python_rhs, "python", cache=False, refcount=True)


@contextmanager
def python_rhs(fn: Any) -> Iterator[None]:
    """Bind ``fn(t, y, out)`` as the right-hand side of :func:`ode_python_family` on this
    thread inside the block (Hairer, Norsett & Wanner 1993 steppers with a NumPy field)."""
    prev = _PY_RHS.fn
    _PY_RHS.fn = fn
    try:
        yield
    finally:
        _PY_RHS.fn = prev
