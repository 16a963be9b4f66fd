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

    The Cauchy-Stieltjes transform of the discrete measure sum_k w_k delta_{x_k}
    (Mingo & Speicher 2017, ch. 2), as used for quadrature laws in :mod:`deeptheory.rmt`.

    ``nodes`` and ``weights`` are real 1-d arrays of equal length.  Returns two complex
    arrays of ``z``'s shape.  Callers keep z off the nodes (e.g. Im z > 0).

    A ``z`` exactly equal to a node x_k (real, no imaginary part) is a pole of G: the
    sum is infinite there, with a direction that depends on how z approaches x_k, so
    ``ValueError`` is raised naming the point (rather than returning inf or NaN).
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
    on_axis = flat[flat.imag == 0.0].real
    if on_axis.size and x.size:
        hit = np.isin(on_axis, x)
        if hit.any():
            raise ValueError(
                f"z = {float(on_axis[hit][0])!r} coincides with a node of the measure: G(z) = "
                "sum_k w_k/(z - x_k) has a pole there; evaluate off the nodes (e.g. Im z > 0)"
            )
    g = np.empty_like(flat)
    dg = np.empty_like(flat)
    _sums(flat, x, w, g, dg)
    return g.reshape(za.shape), dg.reshape(za.shape)
