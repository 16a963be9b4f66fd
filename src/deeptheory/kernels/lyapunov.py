"""Compiled QR (Benettin) loops for Lyapunov spectra of maps and fixed-step flows.

Method (Shimada & Nagashima 1979; Benettin, Galgani, Giorgilli & Strelcyn 1980).  An
orthonormal frame Q (n x k) is carried along a trajectory with the tangent dynamics,
Q <- J_t Q for a map or Q' = A(x(t)) Q for a flow, and every ``qr_every`` steps it is
re-orthonormalised, J Q = Q' R; the i-th exponent is the time average of ln |R_ii|.
This module only runs the loops: it knows the *form* of the update, not what it models.

State layout.  State and frame travel together as the columns of one n x (k + 1) array
Z = [x | Q], so that for the "matrix-activation" systems

    map:   Z <- W [phi(x) | phi'(x) * Q] + [c | 0]                      (x_{t+1} = W phi(x_t) + c_t)
    flow:  tau Z' = -Z + W [phi(x) | phi'(x) * Q] + [c | 0]            (fixed step, Euler or RK4)

one BLAS matrix product per step (per RK4 stage) moves both.  With ``fresh`` set, a new
W (Gaussian or scaled Haar, :func:`deeptheory.kernels.montecarlo.mc_weights`, the one
compiled network sampler) and a new offset c = sqrt(sigma_b^2) xi are drawn every step
from Numba's generator seeded once with ``seed``.

User systems (:func:`callable_lyapunov`) give f and its Jacobian; Numba-compiled callables
run in a compiled loop (:func:`ly_callable`), plain Python ones in the same loop written
with NumPy (slower; use them for small n or few steps).

Accumulation.  Measured QR intervals are grouped into blocks; ``blocks[j, i]`` is the sum
of ln |R_ii| over the intervals of block j.  The caller turns these into the running
estimate and a batch-means standard error.  ``span`` records the largest
max_i ln|R_ii| - min_i ln|R_ii| of any interval: when it nears ln(1/eps) = 36 the lowest
directions have been lost to rounding between two re-orthonormalisations.

Blocks of steps.  The loops take a step range (step0, step1): Z, ``blocks`` and ``stats``
carry the run, so consecutive calls over consecutive ranges (a caller's progress bar
advancing in between) give bit for bit the result of one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._builtin_eval import act_eval
from ._specialise import kernel
from .activations import get_activation
from .montecarlo import mc_weights

__all__ = ["callable_lyapunov", "network_lyapunov", "INTEGRATORS"]

#: fixed-step integrators of the flows (name -> kernel flag); "map" = discrete time
INTEGRATORS = {"map": 0, "euler": 1, "rk4": 2}


@kernel()
def ly_qr_due(step, n_transient, total, qr_every):  # pragma: no cover - compiled
    """After step ``step`` (0-based; ``total`` steps, the first ``n_transient`` unmeasured):
    -2 no QR, -1 an unmeasured QR (transient; always one at its end), else the index of
    the measured interval that ends here (always one at the last step)."""
    if step < n_transient:
        if (step + 1) % qr_every == 0 or step == n_transient - 1:
            return -1
        return -2
    t = step - n_transient
    if (t + 1) % qr_every == 0 or step == total - 1:
        return t // qr_every
    return -2


@kernel()
def ly_reorth(z, measured, interval, ipb, blocks, stats):  # pragma: no cover - compiled
    """QR of the frame columns z[:, 1:]; write Q back; add ln|R_ii| to the block of
    ``interval`` when ``measured``.  stats = [sum of PR of Q[:, 0], count, span]."""
    n = z.shape[0]
    k = z.shape[1] - 1
    for i in range(n):
        for j in range(k):
            if not math.isfinite(z[i, j + 1]):
                # the frame overflowed (a diverging system): LAPACK refuses it; mark the
                # block nan and let the caller report it
                if measured:
                    for jj in range(k):
                        blocks[interval // ipb, jj] = math.nan
                return
    qm, r = np.linalg.qr(z[:, 1:])
    for i in range(n):
        for j in range(k):
            z[i, j + 1] = qm[i, j]
    if not measured:
        return
    row = interval // ipb
    lo = math.inf
    hi = -math.inf
    for j in range(k):
        a = abs(r[j, j])
        la = math.log(a) if a > 0.0 else -math.inf
        blocks[row, j] += la
        lo = min(lo, la)
        hi = max(hi, la)
    if hi - lo > stats[2]:
        stats[2] = hi - lo
    s4 = 0.0
    for i in range(n):
        v = qm[i, 0] * qm[i, 0]
        s4 += v * v
    stats[0] += 1.0 / (n * s4)
    stats[1] += 1.0


@kernel()
def ly_net_rhs(code, w, z, c, a, g, out, tau, flow):  # pragma: no cover - compiled
    """out = W [phi(x) | phi'(x) * Q] + [c | 0] (map), or that minus Z, over tau (flow).
    ``a`` is scratch of z's shape; ``g`` receives the matrix product."""
    n = z.shape[0]
    m = z.shape[1]
    for i in range(n):
        x = z[i, 0]
        a[i, 0] = act_eval(code, 0, x)
        d = act_eval(code, 1, x)
        for j in range(1, m):
            a[i, j] = d * z[i, j]
    np.dot(w, a, g)
    for i in range(n):
        g[i, 0] += c[i]
    if flow == 0:
        for i in range(n):
            for j in range(m):
                out[i, j] = g[i, j]
    else:
        inv = 1.0 / tau
        for i in range(n):
            for j in range(m):
                out[i, j] = (g[i, j] - z[i, j]) * inv


@kernel()
def ly_net_step(code, w, z, c, tau, dt, scheme, s):  # pragma: no cover - compiled
    """Advance Z = [x | Q] by one step in place (scheme: 0 map, 1 Euler, 2 RK4).
    ``s`` is scratch of shape (7, n, k + 1)."""
    n = z.shape[0]
    m = z.shape[1]
    a = s[0]
    g = s[1]
    if scheme == 0:
        ly_net_rhs(code, w, z, c, a, g, z, tau, 0)
        return
    k1 = s[2]
    ly_net_rhs(code, w, z, c, a, g, k1, tau, 1)
    if scheme == 1:
        for i in range(n):
            for j in range(m):
                z[i, j] += dt * k1[i, j]
        return
    k2 = s[3]
    k3 = s[4]
    k4 = s[5]
    y = s[6]
    h2 = 0.5 * dt
    for i in range(n):
        for j in range(m):
            y[i, j] = z[i, j] + h2 * k1[i, j]
    ly_net_rhs(code, w, y, c, a, g, k2, tau, 1)
    for i in range(n):
        for j in range(m):
            y[i, j] = z[i, j] + h2 * k2[i, j]
    ly_net_rhs(code, w, y, c, a, g, k3, tau, 1)
    for i in range(n):
        for j in range(m):
            y[i, j] = z[i, j] + dt * k3[i, j]
    ly_net_rhs(code, w, y, c, a, g, k4, tau, 1)
    h6 = dt / 6.0
    for i in range(n):
        for j in range(m):
            z[i, j] += h6 * (k1[i, j] + 2.0 * (k2[i, j] + k3[i, j]) + k4[i, j])


@kernel()
def ly_network(
    code, w, b, u, z, tau, dt, scheme, fresh, sw, sb, orth, seed,
    n_transient, n_steps, qr_every, ipb, blocks, stats, step0, step1,
):  # pragma: no cover - compiled
    """Run the steps step0 .. step1 - 1 (of transient + measured ones) of the
    matrix-activation system on Z = [x | Q].

    u: inputs (T, n) added to the offset, T = 0 (none), 1 (constant) or the total
    number of steps (row t at step t).  fresh: draw W (sw, orth) and c = b + sb xi per
    step from Numba's generator seeded with ``seed`` at step 0.  Consecutive calls over
    consecutive step ranges continue the run bit for bit (Z, ``blocks`` and ``stats`` carry
    the state; Numba's generator, one per thread, carries the draws when nothing else on
    the calling thread draws from it in between)."""
    n = z.shape[0]
    m = z.shape[1]
    s = np.empty((7, n, m))
    c = np.empty(n)
    total = n_transient + n_steps
    if fresh and step0 == 0:
        np.random.seed(seed)
    for step in range(step0, step1):
        if fresh:
            w = mc_weights(n, n, sw, orth)
            xi = np.random.standard_normal(n)
            for i in range(n):
                c[i] = b[i] + sb * xi[i]
        else:
            for i in range(n):
                c[i] = b[i]
        if u.shape[0] == 1:
            for i in range(n):
                c[i] += u[0, i]
        elif u.shape[0] > 1:
            for i in range(n):
                c[i] += u[step, i]
        ly_net_step(code, w, z, c, tau, dt, scheme, s)
        due = ly_qr_due(step, n_transient, total, qr_every)
        if due != -2:
            ly_reorth(z, due >= 0, max(due, 0), ipb, blocks, stats)


def _callable_step(f, jac, z, dt, scheme):  # pragma: no cover - compiled
    """One step of a user system on Z = [x | Q] (scheme 0: map x <- f(x), Q <- J(x) Q;
    1 Euler, 2 RK4 for x' = f(x), Q' = J(x) Q).  Returns the new Z."""
    x = np.ascontiguousarray(z[:, 0])
    q = np.ascontiguousarray(z[:, 1:])
    if scheme == 0:
        out = np.empty_like(z)
        out[:, 0] = f(x)
        out[:, 1:] = np.dot(jac(x), q)
        return out
    k1 = np.empty_like(z)
    k1[:, 0] = f(x)
    k1[:, 1:] = np.dot(jac(x), q)
    if scheme == 1:
        return z + dt * k1
    y = z + 0.5 * dt * k1
    k2 = np.empty_like(z)
    k2[:, 0] = f(np.ascontiguousarray(y[:, 0]))
    k2[:, 1:] = np.dot(jac(np.ascontiguousarray(y[:, 0])), np.ascontiguousarray(y[:, 1:]))
    y = z + 0.5 * dt * k2
    k3 = np.empty_like(z)
    k3[:, 0] = f(np.ascontiguousarray(y[:, 0]))
    k3[:, 1:] = np.dot(jac(np.ascontiguousarray(y[:, 0])), np.ascontiguousarray(y[:, 1:]))
    y = z + dt * k3
    k4 = np.empty_like(z)
    k4[:, 0] = f(np.ascontiguousarray(y[:, 0]))
    k4[:, 1:] = np.dot(jac(np.ascontiguousarray(y[:, 0])), np.ascontiguousarray(y[:, 1:]))
    return z + (dt / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


def _callable_loop(
    f, jac, z, dt, scheme, n_transient, n_steps, qr_every, ipb, blocks, stats, step0, step1,
    step_fn, reorth, due_fn,
):  # pragma: no cover - compiled
    """The steps step0 .. step1 - 1 of the transient + measured loop of a user system
    (compiled, or run as Python)."""
    total = n_transient + n_steps
    for step in range(step0, step1):
        z[:, :] = step_fn(f, jac, z, dt, scheme)
        due = due_fn(step, n_transient, total, qr_every)
        if due != -2:
            reorth(z, due >= 0, max(due, 0), ipb, blocks, stats)


_COMPILED: dict[str, Any] = {}


def _compiled_callable_loop() -> Callable:
    """The compiled user-system loop (built on first use: it is specialised to each pair of
    user functions anyway, so there is nothing to cache on disk).  Plain Python callables
run the same loop uncompiled, calling the compiled :func:`ly_reorth` and
:func:`ly_qr_due`."""
    if "loop" not in _COMPILED:
        from numba import njit

        step = njit(_callable_step)
        body = njit(_callable_loop)

        def run(f, jac, z, dt, scheme, n_transient, n_steps, qr_every, ipb, blocks, stats,
                step0, step1):
            body(f, jac, z, dt, scheme, n_transient, n_steps, qr_every, ipb, blocks, stats,
                 step0, step1, step, ly_reorth, ly_qr_due)

        _COMPILED["loop"] = run
    return _COMPILED["loop"]


def is_compiled(func: Any) -> bool:
    """True for a Numba CPU dispatcher (``numba.njit`` function)."""
    return hasattr(func, "py_func") and hasattr(func, "signatures")


def _step_ranges(ranges: Iterable[tuple[int, int]] | None, total: int
                 ) -> Iterable[tuple[int, int]]:
    return ((0, total),) if ranges is None else ranges


def callable_lyapunov(
    f: Callable, jac: Callable, z: np.ndarray, *, dt: float, scheme: int, n_transient: int,
    n_steps: int, qr_every: int, ipb: int, n_blocks: int,
    ranges: Iterable[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a user map or flow on Z = [x | Q] in place; return (blocks, stats).

    ``f`` and ``jac`` both Numba-compiled: the compiled loop; otherwise the NumPy loop.
    ``ranges``: consecutive (step0, step1) blocks covering the n_transient + n_steps steps,
    one call each (a caller's progress bar advances in between; the result is the same);
    None runs them in one call.
    """
    blocks = np.zeros((n_blocks, z.shape[1] - 1))
    stats = np.zeros(3)
    args = (z, float(dt), int(scheme), int(n_transient), int(n_steps), int(qr_every), int(ipb),
            blocks, stats)
    compiled = is_compiled(f) and is_compiled(jac)
    for a, b in _step_ranges(ranges, int(n_transient) + int(n_steps)):
        if compiled:
            _compiled_callable_loop()(f, jac, *args, int(a), int(b))
        else:
            _callable_loop(f, jac, *args, int(a), int(b), _callable_step, ly_reorth, ly_qr_due)
    return blocks, stats


def network_lyapunov(
    activation: Any, w: np.ndarray, b: np.ndarray, u: np.ndarray, z: np.ndarray, *,
    tau: float = 1.0, dt: float = 0.0, scheme: int = 0, fresh: bool = False, sw: float = 0.0,
    sb: float = 0.0, orth: int = 0, seed: int = 0, n_transient: int, n_steps: int,
    qr_every: int, ipb: int, n_blocks: int, ranges: Iterable[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the matrix-activation system (module docstring) on Z = [x | Q] in place.

    ``w`` (n x n, C-contiguous) is ignored when ``fresh`` (pass an empty (n, n) array);
    ``u`` has 0, 1 or n_transient + n_steps rows.  ``ranges`` as in
    :func:`callable_lyapunov` (with ``fresh``, the blocks must run back to back on one
    thread: Numba's generator carries the weights' draws).  Returns (blocks, stats)."""
    act = get_activation(activation)
    fam = act.family("cpu")
    blocks = np.zeros((n_blocks, z.shape[1] - 1))
    stats = np.zeros(3)
    wc = np.ascontiguousarray(w, dtype=float)
    for a, c in _step_ranges(ranges, int(n_transient) + int(n_steps)):
        fam.ly_network(act.code, wc, b, u, z, float(tau), float(dt), int(scheme), bool(fresh),
                       float(sw), float(sb), int(orth), int(seed), int(n_transient),
                       int(n_steps), int(qr_every), int(ipb), blocks, stats, int(a), int(c))
    return blocks, stats
