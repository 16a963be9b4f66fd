"""Compiled pairwise Gaussian-kernel sums (CPU ``prange``).

    out[i] = ln sum_j exp(-|h_i - h_j|^2 / scale)

for the N rows h_i of an (N, d) array, in O(N^2 d) time and O(N) memory, with the
usual max-shift for stability (the j = i term is exp(0) = 1, so the shift is 0 and no
term overflows).  Generic geometry: the information-theory layer builds mixture-entropy
bounds from it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

__all__ = ["pairwise_logsumexp"]


@njit(cache=True, parallel=True, fastmath=False)
def _lse(h, inv_scale, out):  # pragma: no cover - compiled
    n, d = h.shape
    for i in prange(n):
        acc = 0.0
        for j in range(n):
            s = 0.0
            for k in range(d):
                t = h[i, k] - h[j, k]
                s += t * t
            acc += math.exp(-s * inv_scale)
        out[i] = math.log(acc)


def pairwise_logsumexp(h: Any, scale: float) -> np.ndarray:
    """ln sum_j exp(-|h_i - h_j|^2 / scale) for every row i of ``h`` ((N, d) or (N,)).

    ``scale`` > 0.  The sum includes j = i (a term equal to 1), so every value is >= 0
    and no underflow to -inf can occur.
    """
    a = np.asarray(h, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"h must be (N,) or (N, d), got shape {a.shape}")
    sc = float(scale)
    if not (sc > 0 and math.isfinite(sc)):
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    out = np.empty(a.shape[0])
    _lse(np.ascontiguousarray(a), 1.0 / sc, out)
    return out
