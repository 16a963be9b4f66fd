"""Compiled Stieltjes sums of a discrete measure (CPU ``prange``).

    G(z)  = sum_k w_k / (z - x_k),
    G'(z) = -sum_k w_k / (z - x_k)^2,

for many complex points z at once.  A discrete measure here is any quadrature rule
(nodes x_k, weights w_k) standing for a probability law; the random-matrix layer
builds laws from it.  Kernels know nothing about matrices or networks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

__all__ = ["stieltjes_sum"]


@njit(cache=True, parallel=True)
def _sums(z, x, w, g, dg):  # pragma: no cover - compiled
    n = x.shape[0]
    for i in prange(z.shape[0]):
        zi = z[i]
        s = 0j
        d = 0j
        for k in range(n):
            r = 1.0 / (zi - x[k])
            t = w[k] * r
            s += t
            d += t * r
        g[i] = s
        dg[i] = -d


def stieltjes_sum(z: Any, nodes: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """G(z) = sum_k w_k/(z - x_k) and G'(z) for complex ``z`` (any shape), one kernel call.

    ``nodes`` and ``weights`` are real 1-d arrays of equal length.  Returns two complex
    arrays of ``z``'s shape.  At z equal to a node the result is infinite or NaN: callers
    keep z off the nodes (e.g. Im z > 0).
    """
    za = np.asarray(z, dtype=complex)
    x = np.ascontiguousarray(nodes, dtype=float)
    w = np.ascontiguousarray(weights, dtype=float)
    if x.ndim != 1 or x.shape != w.shape:
        raise ValueError(
            f"nodes and weights must be 1-d arrays of equal length, got shapes "
            f"{x.shape} and {w.shape}"
        )
    flat = np.ascontiguousarray(za.ravel())
    g = np.empty_like(flat)
    dg = np.empty_like(flat)
    _sums(flat, x, w, g, dg)
    return g.reshape(za.shape), dg.reshape(za.shape)
