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

stopping a start when |g_R| < tol or after max_iter steps.

Packed contraction.  For a symmetric T, v = T(s, ..., s, .) sums over ordered (p-1)-tuples a
term that depends only on the multiset J = {j_1 <= ... <= j_{p-1}}:

    v_i = sum_J w_J T_{J i} s_{j_1} ... s_{j_{p-1}},    w_J = (p-1)! / prod(multiplicities!),

so with the monomials of all starts as the rows of X (B x K, K = C(n + p - 2, p - 1), about
n^{p-1} / (p-1)!) and the packed tensor P_{J i} = w_J T_{J i} (K x n, :func:`pack_symmetric`),
V = X P is one matrix product per step for all starts, with about (p-1)! times fewer multiply-adds
than the full contraction (half for p = 3).  The monomials are ordered colexicographically,
so the degree-q ones of a start obey X_q[c(q, m) : c(q, m+1)] = X_{q-1}[: c(q-1, m+1)] s_m with
c(q, m) = C(m + q - 1, q) (the multisets of size q drawn from {0..m-1}).  X is never formed
whole: the kernel builds a block of a few hundred columns (in cache) for the starts of one
slice and accumulates V += X_blk P_blk with BLAS dgemm (beta = 1), so the packed tensor is
read once per step and slice.  Slices of consecutive starts (GD_SLICES_PER_CPU per core, a
``prange`` loop that :func:`run_sphere_gd` makes hand them out one at a time) split the active
starts; a step with little work runs them serially (no fork-join).  Starts that stop are
compacted away.  :func:`sphere_gd_steps` runs a range of steps and carries the run's state
(active starts, their rows, the step count) between calls, so a caller can return to Python
between blocks of steps (a progress bar) and get bit for bit the result of one call.
The BLAS calls are single-threaded when run under
:func:`deeptheory.kernels.montecarlo.single_thread_blas` (as the library does).  Every start
follows its own deterministic trajectory, bit for bit the same from run to run and for any
number of threads (the slicing depends on the CPU count, not on the threads); it depends on
the other starts and the slicing only through the last bits of the BLAS product (OpenBLAS
rounds a row differently depending on where it falls in the register tiles of the product).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numba import njit, prange, set_parallel_chunksize, types

__all__ = ["contract", "tensor_value", "tensor_grad", "tensor_hess", "PackedTensor",
           "pack_symmetric", "sphere_gd_batch", "sphere_gd_steps", "run_sphere_gd"]


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


# --------------------------------------------------------------------------------------------
# packed contraction and gradient descent on the sphere

#: default width (columns of X) of one block of the packed product: at n = 200 a block of
#: monomials for a slice of 250 starts is 512 kB, the matching rows of the packed tensor 400 kB
#: (CPU time per step at n = 200, 1000 starts: 256-1024 within 2 % of each other, 128 6 % more)
GD_BLOCK = 256
#: slices of starts per CPU in a step (more slices than threads balance the load on shared
#: cores; each slice reads the packed tensor once per step)
GD_SLICES_PER_CPU = 2
#: at most this many starts in one product (bounds the work buffers: 2.6 MB per slice at
#: n = 200, p = 3; a slice with more active starts runs several products)
GD_ROWS = 512
#: a step with fewer multiply-adds than this (active starts x K x n, ~1 ms on one core) runs
#: its slices on one thread: a prange fork-join cost 40-50 us on 2 shared cores, and 2 threads
#: were slower than 1 up to 3e6 multiply-adds per step even then (N = 40, p = 3, 100 starts)
GD_PAR_MIN_WORK = 10_000_000

# numba's own wrapper of SciPy's BLAS dgemm (what np.dot calls): linked by name, so the
# kernels that call it can be cached; unlike np.dot it takes beta, leading dimensions and
# pointers into the middle of a buffer
_XXGEMM = types.ExternalFunction("numba_xxgemm", types.intc(
    types.char, types.char, types.char, types.intp, types.intp, types.intp,
    types.CPointer(types.float64), types.CPointer(types.float64), types.intp,
    types.CPointer(types.float64), types.intp, types.CPointer(types.float64),
    types.CPointer(types.float64), types.intp))
_KIND_D = ord("d")
_NOTRANS = ord("n")


class PackedTensor(NamedTuple):
    """A symmetric order-p tensor packed for :func:`sphere_gd_batch` (see the module docstring).

    ``tensor`` (K, n): row J is w_J T_{J, .} for the multisets J of size p - 1 in colex order;
    ``cnt`` (p - 1, n + 1) int64: cnt[q, m] = C(m + q - 1, q), the number of multisets of size q
    from {0..m-1}; ``blocks`` (n_blocks + 1, 2) int64: first column and first segment of each
    column block (a sentinel row closes the table); ``segs`` (n_segments, 4) int64: for each
    segment of a block, (m, t0, length, offset): block columns offset .. offset + length - 1
    are X_{p-2}[t0 : t0 + length] s_m.
    """

    tensor: np.ndarray
    cnt: np.ndarray
    blocks: np.ndarray
    segs: np.ndarray


def _multisets(n: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted index tuples (K, r) of the multisets of size r from range(n), colex order, and cnt."""
    cnt = np.zeros((r + 1, n + 1), dtype=np.int64)
    cnt[0, :] = 1
    for q in range(1, r + 1):
        for m in range(1, n + 1):
            cnt[q, m] = math.comb(m + q - 1, q)
    cur = np.zeros((1, 0), dtype=np.int64)
    for q in range(1, r + 1):
        parts = []
        for m in range(n):
            pre = cur[: cnt[q - 1, m + 1]]
            parts.append(np.concatenate([pre, np.full((pre.shape[0], 1), m, np.int64)], 1))
        cur = np.concatenate(parts)
    return cur, cnt


def pack_symmetric(t: np.ndarray, p: int, block: int = GD_BLOCK) -> PackedTensor:
    """Pack the symmetric tensor ``t`` (shape (n,)*p, p >= 2) for :func:`sphere_gd_batch`.

    Row J of the packed tensor is w_J T[j_1, ..., j_{p-1}, :], w_J the number of distinct
    orderings of the multiset J, so X P = T(s, ..., s, .) for a symmetric T (only the entries
    with sorted leading indices are read).  ``block``: columns of X per block of the product.
    """
    t = np.ascontiguousarray(t, dtype=np.float64)
    n = t.shape[0]
    r = p - 1
    if t.shape != (n,) * p or p < 2:
        raise ValueError(f"t must have shape (n,)*p with p >= 2, got {t.shape} and p = {p}")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    idx, cnt = _multisets(n, r)
    # weights r! / prod(mult!) built exactly in integers: w_q = w_{q-1} q / k_q, with k_q
    # the position of index q within its run of equal indices (tuples are sorted)
    w = np.ones(idx.shape[0], dtype=np.int64)
    run = np.ones(idx.shape[0], dtype=np.int64)
    for q in range(1, r):
        run = np.where(idx[:, q] == idx[:, q - 1], run + 1, 1)
        w = w * (q + 1) // run
    rows = np.zeros(idx.shape[0], dtype=np.int64)
    for q in range(r):
        rows = rows * n + idx[:, q]
    tp = t.reshape(n**r, n)[rows] * w.astype(np.float64)[:, None]
    # column blocks of <= block columns; the monomials s_m X_{r-1}[:cnt[r-1, m+1]] of one m
    # are contiguous columns cnt[r, m] .. cnt[r, m+1] - 1 and may straddle blocks
    blocks = [(0, 0)]
    segs = []
    col = 0
    for m in range(n):
        width = int(cnt[r - 1, m + 1])
        t0 = 0
        while t0 < width:
            room = block - (col - blocks[-1][0])
            if room == 0:
                blocks.append((col, len(segs)))
                room = block
            take = min(room, width - t0)
            segs.append((m, t0, take, col - blocks[-1][0]))
            col += take
            t0 += take
    blocks.append((col, len(segs)))
    return PackedTensor(np.ascontiguousarray(tp), cnt[:r],
                        np.array(blocks, dtype=np.int64),
                        np.array(segs, dtype=np.int64).reshape(-1, 4))


@njit(cache=True)
def _gemm(m, n, k, a, lda, b, ldb, c, ldc, beta, one):  # pragma: no cover - compiled
    """Column-major C (m x n) <- A (m x k) B (k x n) + beta C; a, b, c flat buffers starting at
    the first element; ``beta`` and ``one`` one-element arrays (BLAS takes pointers)."""
    _XXGEMM(_KIND_D, _NOTRANS, _NOTRANS, m, n, k, one.ctypes, a.ctypes, lda, b.ctypes, ldb,
            beta.ctypes, c.ctypes, ldc)


@njit(cache=True)
def _monomials(srow, q_top, cnt, n, out):  # pragma: no cover - compiled
    """out[: cnt[q_top, n]] = the monomials of degree q_top of srow, colex order (in place:
    level q overwrites level q - 1 from the top, m and t descending, never a value still read)."""
    out[0] = 1.0
    for q in range(1, q_top + 1):
        for m in range(n - 1, -1, -1):
            base = cnt[q, m]
            sm = srow[m]
            for t in range(cnt[q - 1, m + 1] - 1, -1, -1):
                out[base + t] = out[t] * sm


@njit(cache=True, fastmath={"reassoc", "contract"})
def _update_row(x, vb, b, n, p, radius2, step, tol, it, max_iter, e_w, gn_w, done):
    # pragma: no cover - compiled
    """One projected GD step for start b (its point x, updated in place), from
    vb = T(x, ..., x, .) (vectorised sums)."""
    sg = 0.0
    ss = 0.0
    for i in range(n):
        sg += x[i] * vb[i]
        ss += x[i] * x[i]
    # f = s . v ; grad = p v ; g_R = p (v - (s.v / |s|^2) s)
    e_w[b] = sg
    c = sg / ss
    gn = 0.0
    for i in range(n):
        gr = p * (vb[i] - c * x[i])
        gn += gr * gr
    gn = math.sqrt(gn)
    gn_w[b] = gn
    if gn < tol or it >= max_iter:
        done[b] = True
        return
    done[b] = False
    nrm = 0.0
    for i in range(n):
        y = x[i] - step * p * (vb[i] - c * x[i])
        x[i] = y
        nrm += y * y
    sc = math.sqrt(radius2 / nrm)
    for i in range(n):
        x[i] *= sc


@njit(cache=True)
def _slice_step(tp, cnt, blocks, segs, n, p, lo, hi, sw, v, low, xblk, one, zero, radius2,
                step, tol, it, max_iter, e_w, gn_w, done):  # pragma: no cover - compiled
    """v = T(s_b, ..., s_b, .) for the starts (rows) lo..hi-1 of sw, then one step for each.

    ``v`` (R n), ``low`` (R, K_{p-2}), ``xblk`` (R x widest block): this slice's work buffers
    for R starts; more than R starts take several products of at most R rows."""
    rows = low.shape[0]
    nblk = blocks.shape[0] - 1
    for r0 in range(lo, hi, rows):
        mb = min(hi, r0 + rows) - r0
        for b in range(mb):
            _monomials(sw[r0 + b], p - 2, cnt, n, low[b])
        for kb in range(nblk):
            c0 = blocks[kb, 0]
            kk = blocks[kb + 1, 0] - c0
            for b in range(mb):
                for g in range(blocks[kb, 1], blocks[kb + 1, 1]):
                    t0 = segs[g, 1]
                    ln = segs[g, 2]
                    dst = b * kk + segs[g, 3]
                    sm = sw[r0 + b, segs[g, 0]]
                    xv = xblk[dst:dst + ln]  # views: a plain range index vectorises
                    lv = low[b, t0:t0 + ln]
                    for t in range(ln):
                        xv[t] = lv[t] * sm
            # column-major: V^T (n x mb) (+)= P_blk^T (n x kk) X_blk^T (kk x mb)
            _gemm(n, mb, kk, tp[c0 * n:], n, xblk, kk, v, n, zero if kb == 0 else one, one)
        for b in range(mb):
            _update_row(sw[r0 + b], v[b * n:(b + 1) * n], r0 + b, n, p, radius2, step, tol,
                        it, max_iter, e_w, gn_w, done)


@njit(cache=True, parallel=True, nogil=True)
def sphere_gd_steps(tp, cnt, blocks, segs, n, p, s, radius2, step, tol, max_iter, chunk,
                    nslices, e_out, gn_out, it_out, sw, idx, state, it_stop):
    # pragma: no cover - compiled
    """The steps ``state[1]`` .. ``it_stop - 1`` of :func:`sphere_gd_batch` (resumable).

    The run's state travels between calls: ``sw`` (B, n) the active starts (first
    ``state[0]`` rows, compacted), ``idx`` (B,) their rows of ``s``, ``state`` (2,) int64 =
    (active count, next step).  Start with sw = s.copy(), idx = arange(B), state = (B, 0);
    the run is over when state[0] == 0 (at the latest after step max_iter).  Calls that split
    the steps 0 .. max_iter into consecutive ranges give bit for bit the result of one call
    with it_stop = max_iter + 1: the slicing depends only on B, ``chunk``, ``nslices`` and
    the active count, and the work buffers are rewritten before they are read at every step.
    Other arguments and outputs as in :func:`sphere_gd_batch`.
    """
    b_total = s.shape[0]
    k_total = tp.shape[0]
    tpf = tp.reshape(-1)
    kbmax = 1
    for kb in range(blocks.shape[0] - 1):
        kbmax = max(kbmax, blocks[kb + 1, 0] - blocks[kb, 0])
    # the slice count never grows as starts stop: buffers for the first step's slices
    nsl0 = max((b_total + chunk - 1) // chunk, min(b_total, nslices))
    rows = min(GD_ROWS, (b_total + nsl0 - 1) // nsl0)
    v = np.empty((nsl0, rows * n))
    low = np.empty((nsl0, rows, cnt[p - 2, n]))
    xblk = np.empty((nsl0, rows * kbmax))
    e_w = np.empty(b_total)
    gn_w = np.empty(b_total)
    done = np.zeros(b_total, dtype=np.bool_)
    one = np.ones(1)
    zero = np.zeros(1)
    # resolve the BLAS function pointer here, on the calling thread, not inside prange
    tmp = np.zeros(1)
    _gemm(1, 1, 1, one, 1, one, 1, tmp, 1, zero, one)
    na = state[0]
    it = state[1]
    while na > 0 and it < it_stop:
        nsl = max((na + chunk - 1) // chunk, min(na, nslices))
        if nsl == 1 or float(na) * k_total * n < GD_PAR_MIN_WORK:
            for q in range(nsl):
                _slice_step(tpf, cnt, blocks, segs, n, p, q * na // nsl, (q + 1) * na // nsl,
                            sw, v[q], low[q], xblk[q], one, zero, radius2, step, tol, it,
                            max_iter, e_w, gn_w, done)
        else:
            for q in prange(nsl):
                _slice_step(tpf, cnt, blocks, segs, n, p, q * na // nsl, (q + 1) * na // nsl,
                            sw, v[q], low[q], xblk[q], one, zero, radius2, step, tol, it,
                            max_iter, e_w, gn_w, done)
        k = 0
        for row in range(na):  # write out the starts that stopped; keep the rest in order
            if done[row]:
                j = idx[row]
                for i in range(n):
                    s[j, i] = sw[row, i]
                e_out[j] = e_w[row]
                gn_out[j] = gn_w[row]
                it_out[j] = it
            else:
                if k != row:
                    for i in range(n):
                        sw[k, i] = sw[row, i]
                    idx[k] = idx[row]
                k += 1
        na = k
        it += 1
    state[0] = na
    state[1] = it


@njit(cache=True, nogil=True)
def sphere_gd_batch(tp, cnt, blocks, segs, n, p, s, radius2, step, tol, max_iter, chunk,
                    nslices, e_out, gn_out, it_out):  # pragma: no cover - compiled
    """Projected gradient descent of T(s, ..., s) on |s|^2 = radius2 for every row of ``s``.

    ``tp, cnt, blocks, segs``: the fields of :func:`pack_symmetric` (T symmetric, order p);
    ``s`` (B, n): the starts, overwritten with the final points (each start is first rescaled
    onto the sphere by the caller).  Each step splits the active starts into
    max(ceil(active / chunk), min(active, nslices)) slices of consecutive starts; a slice
    multiplies at most min(GD_ROWS, ceil(B / first slice count)) starts at a time.  The slices
    run in a ``prange`` loop, or in a plain loop when a step has fewer than GD_PAR_MIN_WORK
    multiply-adds; either way the result does not depend on the number of threads.  Fills
    ``e_out`` (final T(s, ..., s)), ``gn_out`` (final Riemannian gradient norm |g_R|) and
    ``it_out`` (steps taken; max_iter means not converged unless gn_out < tol).  All steps in
    one call of :func:`sphere_gd_steps`.
    """
    b_total = s.shape[0]
    state = np.zeros(2, dtype=np.int64)
    state[0] = b_total
    sphere_gd_steps(tp, cnt, blocks, segs, n, p, s, radius2, step, tol, max_iter, chunk,
                    nslices, e_out, gn_out, it_out, s.copy(), np.arange(b_total), state,
                    max_iter + 1)


def run_sphere_gd(pk: PackedTensor, s: np.ndarray, radius2: float, step: float, tol: float,
                  max_iter: int, chunk: int, e_out: np.ndarray, gn_out: np.ndarray,
                  it_out: np.ndarray, nslices: int | None = None,
                  stops: Iterable[int] | None = None) -> None:
    """Run :func:`sphere_gd_steps` over all steps, with ``nslices`` (default
    GD_SLICES_PER_CPU x the CPU count) slices handed out to the threads one at a time
    (numba's parallel chunk size 1: a thread slowed by other work on a shared machine takes
    fewer slices).  The chunk size is set here, not in the kernel, which then could not be
    cached; it does not change the result.  ``stops``: increasing step counts at which to
    return to Python between calls (the last must be max_iter + 1; a caller's progress bar
    advances in between); None runs every step in one call.  Either way the result is bit
    for bit the same."""
    n = s.shape[1]
    p = pk.cnt.shape[0] + 1
    if nslices is None:
        nslices = GD_SLICES_PER_CPU * (os.cpu_count() or 1)
    sw = s.copy()
    idx = np.arange(s.shape[0])
    state = np.array([s.shape[0], 0], dtype=np.int64)
    old = set_parallel_chunksize(1)
    try:
        for stop in ((max_iter + 1,) if stops is None else stops):
            sphere_gd_steps(pk.tensor, pk.cnt, pk.blocks, pk.segs, n, p, s, radius2, step, tol,
                            max_iter, chunk, nslices, e_out, gn_out, it_out, sw, idx, state,
                            int(stop))
    finally:
        set_parallel_chunksize(old)
