"""Compiled pairwise Gaussian-kernel sums (CPU, serial or ``prange``).

    out[i] = ln sum_j exp(-|h_i - h_j|^2 / scale)

for the N rows h_i of an (N, d) array, in O(N^2 d) time and O(N) memory, with the
usual max-shift for stability (the j = i term is exp(0) = 1, so the shift is 0 and no
term overflows).  Generic geometry: the information-theory layer builds mixture-entropy
bounds from it.

Threads: the rows run on Numba's thread pool only when the estimated serial time
(N^2 (:data:`NS_PER_PAIR` + d :data:`NS_PER_COORD`)) reaches the threshold of
:mod:`deeptheory.kernels._threads`; small N run serially.  Both drivers call the same
per-row function, so the values are bitwise the same either way.  ``rows=(lo, hi)``
computes rows lo..hi-1 only (against all N rows), by the same per-row function: the
blocks of a progress bar, bitwise the matching slice of the full call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from ._threads import pick

__all__ = ["pairwise_logsumexp"]


#: serial cost per pair (the exp) and per pair and coordinate, ns (measured on a 2-core
#: x86-64 machine: 7-13 ns per pair for N = 100-4000, d = 1-12)
NS_PER_PAIR = 8.0
NS_PER_COORD = 0.5


@njit(cache=True, fastmath=False)
def _row(h, i, inv_scale):  # pragma: no cover - compiled
    """ln sum_j exp(-|h_i - h_j|^2 inv_scale)."""
    n, d = h.shape
    acc = 0.0
    for j in range(n):
        s = 0.0
        for k in range(d):
            t = h[i, k] - h[j, k]
            s += t * t
        acc += math.exp(-s * inv_scale)
    return math.log(acc)


@njit(cache=True, fastmath=False)
def _lse_serial(h, inv_scale, lo, out):  # pragma: no cover - compiled
    """Rows lo .. lo + len(out) - 1 (the full call: lo = 0, len(out) = N)."""
    for i in range(out.shape[0]):
        out[i] = _row(h, lo + i, inv_scale)


@njit(cache=True, parallel=True, fastmath=False)
def _lse_parallel(h, inv_scale, lo, out):  # pragma: no cover - compiled
    for i in prange(out.shape[0]):
        out[i] = _row(h, lo + i, inv_scale)


def pairwise_logsumexp(h: Any, scale: float, *, rows: tuple[int, int] | None = None
                       ) -> np.ndarray:
    """ln sum_j exp(-|h_i - h_j|^2 / scale) for every row i of ``h`` ((N, d) or (N,)).

    ``scale`` > 0.  The sum includes j = i (a term equal to 1), so every value is >= 0
    and no underflow to -inf can occur.  Small N run serially (module docstring); the
    values do not depend on that choice or on the number of threads.  ``rows=(lo, hi)``:
    only rows lo..hi-1 (each still summed over all N rows), bitwise ``out[lo:hi]`` of
    the full call (the blocks of a progress bar).
    """
    a = np.asarray(h, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"h must be (N,) or (N, d), got shape {a.shape}")
    sc = float(scale)
    if not (sc > 0 and math.isfinite(sc)):
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    n, d = a.shape
    lo, hi = (0, n) if rows is None else (int(rows[0]), int(rows[1]))
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"rows must satisfy 0 <= lo <= hi <= {n}, got {rows!r}")
    out = np.empty(hi - lo)
    run = pick(_lse_serial, _lse_parallel, float(hi - lo) * n * (NS_PER_PAIR + NS_PER_COORD * d))
    run(np.ascontiguousarray(a), 1.0 / sc, lo, out)
    return out
    out = np.empty(a.shape[0])
    run = pick(_lse_serial, _lse_parallel, float(n) * n * (NS_PER_PAIR + NS_PER_COORD * d))
    run(np.ascontiguousarray(a), 1.0 / sc, out)
    return out
