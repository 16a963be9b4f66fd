"""Exact sums over all 2^n vectors s in {-1, +1}^n (compiled Gray-code loop).

For a real symmetric (n, n) matrix C with zero diagonal, a vector h and optionally a symmetric
(n, n, n) tensor K (only entries with three distinct indices are read),

    E(s) = -1/2 s.C.s - h.s - sum_{i<j<k} K_ijk s_i s_j s_k,

:func:`gibbs_sums` returns, for every beta of an array, log Z(beta) = log sum_s exp(-beta E(s)),
the mean and variance of E, moments of M = sum_i s_i, and optionally the averages <s_i> and
<s_i s_j> under exp(-beta E) / Z, together with min E and one minimiser.

Method.  The states are visited in binary-reflected Gray-code order (Gray 1953), so consecutive
states differ in one coordinate m and E changes by 2 s_m (C_m.s + h_m + sum_{i<j} K_mij s_i s_j):
O(n) per state with the local fields C s kept up to date (O(n^2) with a cubic term).  The last
(up to 6) coordinates are fixed per chunk and the chunks run in parallel (each with its own
accumulators, combined in a fixed order, so the result does not depend on the thread count).

Stability.  Weights are accumulated as exp(-beta (E - E_ref)), E_ref the lowest energy met so
far in the chunk: whenever beta_max (E_ref - E) would exceed 100, every accumulator is
multiplied by exp(-beta (E_ref - E)) and E_ref moves down (a streaming log-sum-exp), so no
weight exceeds e^100 and the ground state is never lost to underflow.  Energy moments are
accumulated in E - E_ref (shifted on every rescale), which keeps the variance well conditioned
at low temperature.  <s_i> and <s_i s_j> are accumulated lazily: a product s_i s_j is constant
between flips of i or j, so at each flip of m the weight summed since that pair last changed
(a difference of the running partition sum) is added for the n - 1 pairs that contain m: O(n)
per state and beta instead of O(n^2).

Knows nothing about spin glasses; the models live in :mod:`deeptheory.spinglass`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .._api import Result
from .._progress import progress_ranges
from ._threads import pick, thread_count

__all__ = ["MAX_N", "GibbsSums", "gibbs_sums"]

#: hard upper limit on n (2^30 states, minutes); callers set their own, lower limits
MAX_N = 30
#: at most this many leading coordinates are fixed per chunk (2^6 = 64 chunks)
TOP_BITS = 6
#: rescale the accumulators once beta_max (E_ref - E) exceeds this
RESCALE_AT = 100.0
#: measured serial cost per state and beta (ns, without and with correlations, per n)
_NS_STATE = 8.0
_NS_PAIR = 1.5
_NACC = 7  # S0, S1, S2, sum M, sum M^2, sum |M|, sum M^4


@dataclass(frozen=True)
class GibbsSums(Result):
    """Output of :func:`gibbs_sums` (arrays over beta first).

    ``log_z`` (nb,); ``mean_e``, ``var_e`` (nb,): mean and variance of E; ``m1, m2, mabs, m4``
    (nb,): <M>, <M^2>, <|M|>, <M^4> with M = sum s_i; ``si`` (nb, n) <s_i> and ``sisj``
    (nb, n, n) <s_i s_j> (None without correlations); ``e_min`` the smallest E and
    ``ground_state`` (n,) a minimiser (+-1 floats; the first met in Gray-code order).
    """

    log_z: np.ndarray
    mean_e: np.ndarray
    var_e: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    mabs: np.ndarray
    m4: np.ndarray
    si: np.ndarray | None
    sisj: np.ndarray | None
    e_min: float
    ground_state: np.ndarray


@njit(cache=True)
def _local3(k3, s, m, n):  # pragma: no cover - compiled
    """sum_{i<j; i, j != m} K_mij s_i s_j."""
    acc = 0.0
    for i in range(n):
        if i == m:
            continue
        part = 0.0
        for j in range(i + 1, n):
            if j != m:
                part += k3[m, i, j] * s[j]
        acc += part * s[i]
    return acc


@njit(cache=True)
def _rescale(fac, d, nb, n, corr, w, wl1, wl2, acc, a1, a2):  # pragma: no cover - compiled
    """Multiply every accumulator by fac[b] and shift the energy moments by d = E_ref_old -
    E_ref_new > 0 (moments taken about E_ref)."""
    for b in range(nb):
        f = fac[b]
        s0 = w[b]  # the running partition sum (acc[0] is filled at the end)
        s1 = acc[1, b]
        s2 = acc[2, b]
        acc[1, b] = f * (s1 + d * s0)
        acc[2, b] = f * (s2 + 2.0 * d * s1 + d * d * s0)
        for k in range(3, _NACC):
            acc[k, b] *= f
        w[b] = f * s0
    if corr:
        for i in range(n):
            for b in range(nb):
                wl1[i, b] *= fac[b]
                a1[i, b] *= fac[b]
            for j in range(n):
                for b in range(nb):
                    wl2[i, j, b] *= fac[b]
                    a2[i, j, b] *= fac[b]


@njit(cache=True)
def _chunk(q, c, h, k3, has3, betas, nfree, corr, eref_o, emin_o, gs_o, acc_o, a1_o, a2_o):
    # pragma: no cover - compiled
    """Enumerate the 2^nfree states whose last n - nfree coordinates are the bits of q."""
    n = c.shape[0]
    nb = betas.shape[0]
    bmax = 0.0
    for b in range(nb):
        bmax = max(bmax, betas[b])
    s = np.empty(n)
    for i in range(n):
        s[i] = -1.0 if i < nfree else (1.0 if (q >> (i - nfree)) & 1 else -1.0)
    g = np.empty(n)  # C s + h
    e = 0.0
    mag = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += c[i, j] * s[j]
        g[i] = row + h[i]
        e -= s[i] * (0.5 * row + h[i])
        mag += s[i]
    if has3:
        for i in range(n):
            for j in range(i + 1, n):
                for k in range(j + 1, n):
                    e -= k3[i, j, k] * s[i] * s[j] * s[k]
    eref = e
    emin = e
    gs = np.int64(q) << nfree
    acc = acc_o[q]
    acc[:, :] = 0.0
    w = np.zeros(nb)  # running partition sum (relative to eref)
    nc = n if corr else 1
    wl1 = np.zeros((nc, nb))
    wl2 = np.zeros((nc, nc, nb))
    a1 = a1_o[q]
    a2 = a2_o[q]
    a1[:, :] = 0.0
    a2[:, :, :] = 0.0
    fac = np.empty(nb)
    total = np.int64(1) << nfree
    for t in range(total):
        if t > 0:
            m = 0
            while not (t >> m) & 1:
                m += 1
            sm = s[m]
            f = g[m]
            if has3:
                f += _local3(k3, s, m, n)
            e += 2.0 * sm * f
            mag -= 2.0 * sm
            if corr:
                for b in range(nb):
                    a1[m, b] += sm * (w[b] - wl1[m, b])
                    wl1[m, b] = w[b]
                for j in range(n):
                    if j != m:
                        ps = sm * s[j]
                        for b in range(nb):
                            a2[m, j, b] += ps * (w[b] - wl2[m, j, b])
                            wl2[m, j, b] = w[b]
                            wl2[j, m, b] = w[b]
            s[m] = -sm
            tw = 2.0 * sm
            for k in range(n):
                g[k] -= tw * c[k, m]
            if e < emin:
                emin = e
                gs = (np.int64(q) << nfree) | (t ^ (t >> 1))
            if bmax * (eref - e) > RESCALE_AT:
                d = eref - e
                for b in range(nb):
                    fac[b] = math.exp(-betas[b] * d)
                _rescale(fac, d, nb, nc, corr, w, wl1, wl2, acc, a1, a2)
                eref = e
        x = e - eref
        m2 = mag * mag
        am = abs(mag)
        for b in range(nb):
            wt = math.exp(-betas[b] * x)
            w[b] += wt
            wx = wt * x
            acc[1, b] += wx
            acc[2, b] += wx * x
            acc[3, b] += wt * mag
            acc[4, b] += wt * m2
            acc[5, b] += wt * am
            acc[6, b] += wt * m2 * m2
    for b in range(nb):
        acc[0, b] = w[b]
    if corr:  # close the open intervals
        for i in range(n):
            for b in range(nb):
                a1[i, b] += s[i] * (w[b] - wl1[i, b])
            for j in range(i + 1, n):
                ps = s[i] * s[j]
                for b in range(nb):
                    a2[i, j, b] += ps * (w[b] - wl2[i, j, b])
    eref_o[q] = eref
    emin_o[q] = emin
    gs_o[q] = gs


@njit(cache=True)
def _run_serial(c, h, k3, has3, betas, nfree, corr, eref, emin, gs, acc, a1, a2, q0, q1):
    # pragma: no cover - compiled
    for q in range(q0, q1):
        _chunk(q, c, h, k3, has3, betas, nfree, corr, eref, emin, gs, acc, a1, a2)


@njit(cache=True, parallel=True)
def _run_parallel(c, h, k3, has3, betas, nfree, corr, eref, emin, gs, acc, a1, a2, q0, q1):
    # pragma: no cover - compiled
    for q in prange(q0, q1):
        _chunk(q, c, h, k3, has3, betas, nfree, corr, eref, emin, gs, acc, a1, a2)


def gibbs_sums(c: np.ndarray, h: np.ndarray, betas: np.ndarray, k3: np.ndarray | None = None,
               *, correlations: bool = True, progress: bool = False,
               desc: str = "gibbs_sums") -> GibbsSums:
    """Exact Gibbs sums over {-1, +1}^n for E(s) = -1/2 s.C.s - h.s - sum_{i<j<k} K_ijk s_i s_j s_k.

    ``c`` (n, n) symmetric with zero diagonal, ``h`` (n,), ``k3`` None or (n, n, n) symmetric
    (distinct-index entries read), ``betas`` (nb,) finite and >= 0; 1 <= n <= :data:`MAX_N`.
    The caller validates; this checks shapes only.  One Gray-code pass (Gray 1953) for all
    betas; see the module docstring for the stable accumulation.  Cost about 2^n nb (8 + 1.5 n
    with correlations) ns on one core, 2^n n^2 / 2 more with ``k3``.  ``progress``: a bar
    (``desc``) of the chunks of states done; the chunks then run in about 50 calls of at
    least the thread count each (a chunk writes only its own accumulators, so the result is
    bit for bit that of the single call made without it).
    """
    c = np.ascontiguousarray(c, dtype=np.float64)
    n = c.shape[0]
    if c.shape != (n, n) or not 1 <= n <= MAX_N:
        raise ValueError(f"c must be (n, n) with 1 <= n <= {MAX_N}, got shape {c.shape}")
    h = np.ascontiguousarray(h, dtype=np.float64)
    if h.shape != (n,):
        raise ValueError(f"h must have shape ({n},), got {h.shape}")
    betas = np.ascontiguousarray(np.atleast_1d(betas), dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0:
        raise ValueError(f"betas must be a non-empty 1-D array, got shape {betas.shape}")
    has3 = k3 is not None
    if has3:
        k3 = np.ascontiguousarray(k3, dtype=np.float64)
        if k3.shape != (n, n, n):
            raise ValueError(f"k3 must have shape ({n}, {n}, {n}), got {k3.shape}")
    else:
        k3 = np.zeros((1, 1, 1))
    nb = betas.size
    top = min(TOP_BITS, n - 1)
    nfree = n - top
    nch = 1 << top
    corr = bool(correlations)
    nc = n if corr else 1
    eref = np.empty(nch)
    emin = np.empty(nch)
    gs = np.empty(nch, dtype=np.int64)
    acc = np.empty((nch, _NACC, nb))
    a1 = np.empty((nch, nc, nb))
    a2 = np.empty((nch, nc, nc, nb))
    work = 2.0**n * nb * (_NS_STATE + (_NS_PAIR * n if corr else 0.0))
    if has3:
        work += 2.0**n * n * n * 0.5
    for q0, q1 in progress_ranges(nch, desc, progress, unit="chunk", min_size=thread_count()):
        run = pick(_run_serial, _run_parallel, work * (q1 - q0) / nch)
        run(c, h, k3, has3, betas, nfree, corr, eref, emin, gs, acc, a1, a2, q0, q1)
    # combine the chunks about the lowest reference energy (fixed order: thread-independent)
    e0 = float(eref.min())
    d = eref - e0  # >= 0
    fac = np.exp(-betas[None, :] * d[:, None])  # (nch, nb), <= 1, = 1 for the lowest chunk
    s0 = np.sum(fac * acc[:, 0], axis=0)
    s1 = np.sum(fac * (acc[:, 1] + d[:, None] * acc[:, 0]), axis=0)
    s2 = np.sum(fac * (acc[:, 2] + 2.0 * d[:, None] * acc[:, 1]
                       + d[:, None] ** 2 * acc[:, 0]), axis=0)
    mom = [np.sum(fac * acc[:, k], axis=0) / s0 for k in range(3, _NACC)]
    mu = s1 / s0
    var = np.maximum(s2 / s0 - mu * mu, 0.0)
    si = sisj = None
    if corr:
        si = (np.einsum("cb,cib->bi", fac, a1) / s0[:, None])
        up = np.einsum("cb,cijb->bij", fac, a2)
        sisj = (up + np.transpose(up, (0, 2, 1))) / s0[:, None, None]
        idx = np.arange(n)
        sisj[:, idx, idx] = 1.0
    k = int(np.argmin(emin))
    bits = int(gs[k])
    ground = np.where((bits >> np.arange(n)) & 1, 1.0, -1.0)
    return GibbsSums(np.log(s0) - betas * e0, e0 + mu, var, mom[0], mom[1], mom[2], mom[3],
                     si, sisj, float(emin[k]), ground)
