"""Compiled kernels for a dense symmetric order-p tensor and gradient descent on a sphere.

Generic tensor algebra (nothing here knows about spin glasses).  A symmetric tensor T of order
p >= 2 in dimension n is stored densely as a flat C-ordered float64 array of length n**p
(``T.reshape(-1)`` of an (n,)*p array).  With the tensor symmetric (invariant under every
permutation of its indices),

    f(s)        = T(s, ..., s)                = sum T_{i1..ip} s_i1 ... s_ip,
    grad f(s)   = p T(s, ..., s, .)           (p - 1 contractions),
    Hess f(s)   = p (p - 1) T(s, ..., s, ., .)  (p - 2 contractions),

each contraction summing the *last* index against s (so the formulas are only right for a
symmetric T: symmetrise first).  Euler's identity s . grad f = p f holds for any p.

:func:`sphere_gd_batch` runs projected (Riemannian) gradient descent of f on the sphere
|s|^2 = radius2 from many starts at once,

    g_R = grad f - (s . grad f / |s|^2) s,    s <- sqrt(radius2) (s - step g_R) / |s - step g_R|,

stopping a start when |g_R| < tol or after max_iter steps.  Starts are processed in chunks
(``prange`` over chunks); inside a chunk the first, dominant contraction is one matrix product
(n**(p-1) x n times n x chunk, through BLAS): run it under
:func:`deeptheory.kernels.montecarlo.single_thread_blas` on small machines.  Every start follows
its own deterministic trajectory: the result does not depend on the other starts (up to the
last bits of the BLAS product) nor on the number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["contract", "tensor_value", "tensor_grad", "tensor_hess", "sphere_gd_batch"]


@njit(cache=True)
def contract(t, n, s, m):  # pragma: no cover - compiled
    """Contract the last index of the flat tensor ``t`` (length n**q) with ``s``, ``m`` times.

    Returns a flat array of length n**(q - m).
    """
    if m == 0:
        return t.copy()
    cur = _contract_last(t, n, s)  # first contraction straight from t (no copy)
    for _ in range(m - 1):
        cur = _contract_last(cur, n, s)
    return cur


@njit(cache=True)
def _contract_last(cur, n, s):  # pragma: no cover - compiled
    """Contract the last index of the flat array ``cur`` (length L n) with s: length L."""
    length = cur.size // n
    nxt = np.empty(length)
    for a in range(length):
        acc = 0.0
        base = a * n
        for k in range(n):
            acc += cur[base + k] * s[k]
        nxt[a] = acc
    return nxt


@njit(cache=True)
def tensor_value(t, n, p, s):  # pragma: no cover - compiled
    """T(s, ..., s) for the flat symmetric tensor ``t`` of order ``p``."""
    return contract(t, n, s, p)[0]


@njit(cache=True)
def tensor_grad(t, n, p, s):  # pragma: no cover - compiled
    """p T(s, ..., s, .) (length n): the gradient of T(s, ..., s) for symmetric T."""
    return p * contract(t, n, s, p - 1)


@njit(cache=True)
def tensor_hess(t, n, p, s):  # pragma: no cover - compiled
    """p (p - 1) T(s, ..., s, ., .) (n x n): the Hessian of T(s, ..., s) for symmetric T."""
    return (p * (p - 1)) * contract(t, n, s, p - 2).reshape(n, n)


@njit(cache=True)
def _chunk_grads(t2, n, p, s, v):  # pragma: no cover - compiled
    """v[b] = T(s_b, ..., s_b, .) (p - 1 contractions) for every row s_b of s (m x n)."""
    m = s.shape[0]
    w = np.dot(s, t2.T)  # (m, n**(p-1)): first contraction for the whole chunk
    for b in range(m):
        cur = w[b]
        for _ in range(p - 2):
            cur = _contract_last(cur, n, s[b])
        for i in range(n):
            v[b, i] = cur[i]


@njit(cache=True)
def _gd_chunk(t2, n, p, s, radius2, step, tol, max_iter, e_out, gn_out, it_out):
    # pragma: no cover - compiled
    m = s.shape[0]
    v = np.empty((m, n))
    active = np.ones(m, dtype=np.bool_)
    n_active = m
    it = 0
    while True:
        _chunk_grads(t2, n, p, s, v)
        for b in range(m):
            if not active[b]:
                continue
            sg = 0.0
            ss = 0.0
            for i in range(n):
                sg += s[b, i] * v[b, i]
                ss += s[b, i] * s[b, i]
            # f = s . v ; grad = p v ; g_R = p (v - (s.v / |s|^2) s)
            e_out[b] = sg
            c = sg / ss
            gn = 0.0
            for i in range(n):
                gr = p * (v[b, i] - c * s[b, i])
                gn += gr * gr
            gn = math.sqrt(gn)
            gn_out[b] = gn
            it_out[b] = it
            if gn < tol or it >= max_iter:
                active[b] = False
                n_active -= 1
                continue
            nrm = 0.0
            for i in range(n):
                x = s[b, i] - step * p * (v[b, i] - c * s[b, i])
                s[b, i] = x
                nrm += x * x
            sc = math.sqrt(radius2 / nrm)
            for i in range(n):
                s[b, i] *= sc
        if n_active == 0:
            break
        it += 1


@njit(cache=True, parallel=True)
def sphere_gd_batch(t2, n, p, s, radius2, step, tol, max_iter, chunk, e_out, gn_out, it_out):
    # pragma: no cover - compiled
    """Projected gradient descent of T(s, ..., s) on |s|^2 = radius2 for every row of ``s``.

    ``t2``: the symmetric tensor reshaped to (n**(p-1), n), C order; ``s`` (B, n): the starts,
    overwritten with the final points (each start is first rescaled onto the sphere by the
    caller).  Fills ``e_out`` (final T(s, ..., s)), ``gn_out`` (final Riemannian gradient norm
    |g_R|) and ``it_out`` (steps taken; max_iter means not converged unless gn_out < tol).
    """
    b_total = s.shape[0]
    n_chunks = (b_total + chunk - 1) // chunk
    for c in prange(n_chunks):
        lo = c * chunk
        hi = min(b_total, lo + chunk)
        sc = s[lo:hi].copy()
        e = np.empty(hi - lo)
        gn = np.empty(hi - lo)
        it = np.empty(hi - lo, dtype=np.int64)
        _gd_chunk(t2, n, p, sc, radius2, step, tol, max_iter, e, gn, it)
        for b in range(hi - lo):
            for i in range(n):
                s[lo + b, i] = sc[b, i]
            e_out[lo + b] = e[b]
            gn_out[lo + b] = gn[b]
            it_out[lo + b] = it[b]
