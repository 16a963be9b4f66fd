"""Compiled Stieltjes sums of a discrete measure (CPU, serial or ``prange``).

    G(z)  = sum_k w_k / (z - x_k),
    G'(z) = -sum_k w_k / (z - x_k)^2,

for many complex points z at once.  A discrete measure here is any quadrature rule
(nodes x_k, weights w_k) standing for a probability law; the random-matrix layer
builds laws from it.  Kernels know nothing about matrices or networks.

Threads: a batch runs on Numba's thread pool only when its estimated serial time
(points x nodes x :data:`NS_PER_TERM`) reaches the threshold of
:mod:`deeptheory.kernels._threads`; smaller batches (the stragglers of a Newton
continuation) run serially.  Both drivers call the same per-point function, so the
values are bitwise the same either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from ._threads import pick

__all__ = ["stieltjes_sum"]


#: serial cost of one term w_k/(z - x_k) with its derivative, ns (measured on a 2-core
#: x86-64 machine: 3-6 ns from 100 to 10,000 points x 108 nodes)
NS_PER_TERM = 4.0


@njit(cache=True, error_model="numpy")
def _point(zi, x, w):  # pragma: no cover - compiled
    """(G(zi), G'(zi)) of the measure sum_k w_k delta_{x_k}.

    With a = Re z - x_k, b = Im z and q = a^2 + b^2: 1/(z - x_k) = (a - i b)/q and
    1/(z - x_k)^2 = (a^2 - b^2 - 2 i a b)/q^2, so each term costs one real division and
    a few products (about 2.5x faster than a complex division), and the imaginary parts
    are sums of real terms times b.  Where q would over- or underflow the term falls
    back to complex division.
    """
    zr = zi.real
    b = zi.imag
    bb = b * b
    sr = 0.0
    st = 0.0
    dr = 0.0
    da = 0.0
    gfb = 0j
    dfb = 0j
    for k in range(x.shape[0]):
        a = zr - x[k]
        aa = a * a
        q = aa + bb
        if 1e-290 < q < 1e290:
            r = 1.0 / q
            t = w[k] * r
            sr += t * a
            st += t
            u = t * r
            dr += u * (aa - bb)
            da += u * a
        else:
            c = 1.0 / (zi - x[k])
            t = w[k] * c
            gfb += t
            dfb += t * c
    return complex(sr, -b * st) + gfb, complex(-dr, 2.0 * b * da) - dfb


@njit(cache=True)
def _sums_serial(z, x, w, g, dg):  # pragma: no cover - compiled
    for i in range(z.shape[0]):
        g[i], dg[i] = _point(z[i], x, w)


@njit(cache=True, parallel=True)
def _sums_parallel(z, x, w, g, dg):  # pragma: no cover - compiled
    for i in prange(z.shape[0]):
        g[i], dg[i] = _point(z[i], x, w)


def stieltjes_sum(z: Any, nodes: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """G(z) = sum_k w_k/(z - x_k) and G'(z) for complex ``z`` (any shape), one kernel call.

    The Cauchy-Stieltjes transform of the discrete measure sum_k w_k delta_{x_k}
    (Mingo & Speicher 2017, ch. 2), as used for quadrature laws in :mod:`deeptheory.rmt`.

    ``nodes`` and ``weights`` are real 1-d arrays of equal length.  Returns two complex
    arrays of ``z``'s shape.  Callers keep z off the nodes (e.g. Im z > 0).

    A ``z`` exactly equal to a node x_k (real, no imaginary part) is a pole of G: the
    sum is infinite there, with a direction that depends on how z approaches x_k, so
    ``ValueError`` is raised naming the point (rather than returning inf or NaN).

    The call runs serially when points x nodes is small (see the module docstring); the
    result does not depend on that choice or on the number of threads.
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
    pick(_sums_serial, _sums_parallel, flat.size * x.size * NS_PER_TERM)(flat, x, w, g, dg)
    return g.reshape(za.shape), dg.reshape(za.shape)
