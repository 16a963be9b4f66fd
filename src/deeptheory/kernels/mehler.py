"""Compiled power-series Gram matrices (CPU, serial or ``prange``).

    out[s, i, j] = sum_{k=0}^{K} a[s, i, k] b[s, k, j] c[i, j]^k

for S series at once, evaluated by Horner's rule in c[i, j].  With a[s, i, :] and
b[s, :, j] the normalised Hermite coefficients of two functions f_i, g_j (see
:func:`deeptheory.kernels.hermite_coefficients`), this is Mehler's formula for the
correlated Gaussian pair: E[f_i(z1) g_j(c z1 + sqrt(1 - c^2) z2)] = sum_k a_k b_k c^k
(Mehler 1866; the "dual activation" of Daniely, Frostig & Singer 2016).  One call
covers every (i, j) of an n1 x n2 grid.

Layout: ``a`` is (S, n1, K + 1) and ``b`` is (S, K + 1, n2) (transposed, so that the
innermost loop runs over contiguous j and vectorises).  The grid is cut into tiles of
:data:`TILE_I` rows by :data:`TILE_J` columns; each tile keeps its accumulators and its
block of c in local arrays and runs the K + 1 Horner steps over them, so the work is
2 S (K + 1) floating-point operations per entry with one load of b per TILE_I entries.
With ``upper=True`` (a symmetric problem: a = b^T and c = c^T) only the tiles that reach
the diagonal or lie above it are computed; the caller mirrors the upper triangle.

Threads: tiles run on Numba's thread pool when the estimated serial time
(:data:`NS_PER_TERM` per entry, series and term) reaches the threshold of
:mod:`deeptheory.kernels._threads`; both drivers call the same tile function, so the
values are bitwise the same either way.  Rounding: each entry carries an absolute error
of about (K + 1) eps sum_k |a_k b_k| <= (K + 1) eps sqrt(sum a_k^2 sum b_k^2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from ._threads import pick

__all__ = ["series_gram"]

#: tile shape (rows x columns): TILE_I accumulators per column load, TILE_J contiguous lanes
TILE_I = 16
TILE_J = 128
#: serial cost per entry, series and term, ns (measured on a 2-core x86-64 machine)
NS_PER_TERM = 0.2


@njit(cache=True, fastmath=False)
def _tile(a, b, c, i0, j0, out):  # pragma: no cover - compiled
    ns = a.shape[0]
    n1 = a.shape[1]
    kk = a.shape[2]
    n2 = b.shape[2]
    bi = min(TILE_I, n1 - i0)
    bj = min(TILE_J, n2 - j0)
    cb = np.empty((TILE_I, TILE_J))
    acc = np.zeros((TILE_I, TILE_J))
    for ii in range(bi):
        for jj in range(bj):
            cb[ii, jj] = c[i0 + ii, j0 + jj]
    for s in range(ns):
        for ii in range(bi):
            for jj in range(bj):
                acc[ii, jj] = 0.0
        for k in range(kk - 1, -1, -1):
            brow = b[s, k, j0:j0 + bj]
            for ii in range(bi):
                ak = a[s, i0 + ii, k]
                arow = acc[ii]
                crow = cb[ii]
                for jj in range(bj):
                    arow[jj] = arow[jj] * crow[jj] + ak * brow[jj]
        for ii in range(bi):
            for jj in range(bj):
                out[s, i0 + ii, j0 + jj] = acc[ii, jj]


@njit(cache=True, fastmath=False)
def _gram_serial(a, b, c, tiles, out):  # pragma: no cover - compiled
    for t in range(tiles.shape[0]):
        _tile(a, b, c, tiles[t, 0], tiles[t, 1], out)


@njit(cache=True, parallel=True, fastmath=False)
def _gram_parallel(a, b, c, tiles, out):  # pragma: no cover - compiled
    for t in prange(tiles.shape[0]):
        _tile(a, b, c, tiles[t, 0], tiles[t, 1], out)


@njit(cache=True, parallel=True, fastmath=False)
def _mirror(out):  # pragma: no cover - compiled
    """Copy the upper triangle of each out[s] to its lower triangle."""
    n = out.shape[1]
    for s in range(out.shape[0]):
        for j in prange(n):
            for i in range(j):
                out[s, j, i] = out[s, i, j]


def _tiles(n1: int, n2: int, upper: bool) -> np.ndarray:
    rows = np.arange(0, n1, TILE_I)
    cols = np.arange(0, n2, TILE_J)
    # column-major order: consecutive tiles share their block of b (kept in cache)
    j0, i0 = np.meshgrid(cols, rows, indexing="ij")
    keep = (j0 + TILE_J > i0) if upper else np.ones(i0.shape, dtype=bool)
    return np.ascontiguousarray(np.stack([i0[keep], j0[keep]], axis=1).astype(np.int64))


def series_gram(a: Any, b: Any, c: Any, *, upper: bool = False) -> np.ndarray:
    """out[s, i, j] = sum_k a[s, i, k] b[s, k, j] c[i, j]^k for every (s, i, j).

    With Hermite coefficients (:func:`deeptheory.kernels.hermite_coefficients`) this is
    Mehler's formula (Mehler 1866) for all pairs of a correlated Gaussian grid at once.

    Parameters
    ----------
    a : (S, n1, K + 1) or (n1, K + 1) coefficients of the row functions.
    b : (S, K + 1, n2) or (K + 1, n2) coefficients of the column functions (transposed).
    c : (n1, n2) arguments of the power series (finite; |c| <= 1 keeps the terms bounded).
    upper : the problem is symmetric (n1 = n2, a[s] = b[s].T, c = c.T): compute only the
        tiles on or above the diagonal and mirror the upper triangle.

    Returns
    -------
    (S, n1, n2) array, or (n1, n2) when ``a`` was 2-D.
    """
    aa = np.asarray(a, dtype=float)
    squeeze = aa.ndim == 2
    if squeeze:
        aa = aa[None]
    bb = np.asarray(b, dtype=float)
    if bb.ndim == 2:
        bb = bb[None]
    cc = np.asarray(c, dtype=float)
    if aa.ndim != 3 or bb.ndim != 3 or cc.ndim != 2:
        raise ValueError(f"a must be (S, n1, K+1), b (S, K+1, n2), c (n1, n2); got shapes "
                         f"{aa.shape}, {bb.shape}, {cc.shape}")
    ns, n1, kk = aa.shape
    if bb.shape[:2] != (ns, kk) or cc.shape != (n1, bb.shape[2]):
        raise ValueError(f"shapes do not match: a {aa.shape}, b {bb.shape}, c {cc.shape}")
    n2 = bb.shape[2]
    if not (np.isfinite(aa).all() and np.isfinite(bb).all() and np.isfinite(cc).all()):
        raise ValueError("a, b and c must be finite")
    if upper and n1 != n2:
        raise ValueError(f"upper=True needs a square grid, got {n1} x {n2}")
    out = np.zeros((ns, n1, n2))
    if n1 == 0 or n2 == 0 or kk == 0:
        return out[0] if squeeze else out
    tiles = _tiles(n1, n2, upper)
    work = float(ns) * kk * len(tiles) * TILE_I * TILE_J * NS_PER_TERM
    run = pick(_gram_serial, _gram_parallel, work)
    run(np.ascontiguousarray(aa), np.ascontiguousarray(bb), np.ascontiguousarray(cc), tiles,
        out)
    if upper:
        _mirror(out)
    return out[0] if squeeze else out
