"""Compiled vertical continuation of the free multiplicative power equation, point by point.

For a discrete law A = sum_k p_k delta_{d_k} (a quadrature law, e.g. of D^2 = phi'^2) the
unknown w = chi_A(m) at z solves

    F(w) = L log w - (L - 1) log((1 + m)/m) - L log S_W(m) - log z = 0  (mod 2 pi i),
    m = M_A(w) = w G_A(w) - 1,

with log S_W = 0 (no weight factor), -log sigma_w^2 (orthogonal weights) or
-log sigma_w^2 - log(1 + m) (Gaussian weights) (Pennington, Schoenholz & Ganguli 2018,
eqs. 12-16).  This module runs, for every point on its own, the algorithm of the
vectorised solver in :mod:`deeptheory.rmt.free` (vertical continuation from a large
height, Euler predictor, damped Newton with a trust region and step halving, the
lowest height solved kept as fallback), compiled: no Python work per Newton step and one
kernel launch for all points, on Numba's thread pool when the batch is large enough
(:mod:`deeptheory.kernels._threads`).  Points are independent, so the result does not
depend on the number of threads; it agrees with the vectorised solver to rounding (the
complex logarithms are Numba's, not NumPy's).
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit, prange

from ._threads import pick
from .stieltjes import NS_PER_TERM, _point

#: weight factor of the power equation: none, orthogonal (S_W = 1/sigma_w^2), Gaussian
NO_WEIGHTS, ORTHOGONAL, GAUSSIAN = 0, 1, 2
#: estimated G evaluations per point of one continuation (for the thread dispatch)
EVALS_PER_POINT = 150


@njit(cache=True, error_model="numpy")
def _residual(w, z, nodes, wts, L, kind, lsw):  # pragma: no cover - compiled
    """(F(w), F'(w)) at z, the imaginary part of F reduced to (-pi, pi]."""
    g, dg = _point(w, nodes, wts)
    m = w * g - 1.0
    dm = g + w * dg
    lr = cmath.log(1.0 + m) - cmath.log(m)
    dfdm = -(L - 1) * (1.0 / (1.0 + m) - 1.0 / m)
    f = L * cmath.log(w) - (L - 1) * lr - cmath.log(z)
    if kind == ORTHOGONAL:
        f = f + L * lsw
    elif kind == GAUSSIAN:
        f = f + L * (lsw + cmath.log(1.0 + m))
        dfdm = dfdm + L / (1.0 + m)
    im = f.imag
    return complex(f.real, math.atan2(math.sin(im), math.cos(im))), L / w + dfdm * dm


@njit(cache=True, error_model="numpy")
def _finite(c):  # pragma: no cover - compiled
    return math.isfinite(c.real) and math.isfinite(c.imag)


@njit(cache=True, error_model="numpy")
def _solve_point(i, x, eps, ys, nodes, wts, L, kind, lsw, m1_total, mean, mom2,
                 z_best, g_best, norm_out):  # pragma: no cover - compiled
    """Continuation for point i (heights max(ys[k], eps[i]), then eps[i])."""
    xi = x[i]
    e = eps[i]
    nlev = ys.shape[0] + 1
    z = complex(xi, max(ys[0], e))
    w = mean / (m1_total / z) + mom2 / mean
    jac = 1.0 + 0j
    zprev = z
    zb = complex(math.nan, math.nan)
    wb = zb
    norm = 0.0
    for n in range(nlev):
        y = max(ys[n], e) if n < nlev - 1 else e
        zcur = complex(xi, y)
        if n > 0:
            # Euler predictor: dw = -F_w^{-1} F_z dz with F_z = -1/z
            pred = w - ((-1.0 / zprev) * (zcur - zprev)) / jac
            if _finite(pred) and pred.imag >= 0.0:
                w = pred
        zprev = zcur
        r, jac = _residual(w, zcur, nodes, wts, L, kind, lsw)
        norm = abs(r)
        for _ in range(80 if n == nlev - 1 else 5):
            s = r / jac
            if abs(s) <= 1e-14 * (abs(w) + 1e-14) or norm < 1e-14:
                break
            # trust region: at most half the distance to the axis (the law's poles)
            cap = 0.5 * abs(w.imag) + 1e-3 * abs(w)
            t = min(1.0, cap / max(abs(s), 1e-300))
            moved = False
            for _h in range(30):
                cand = w - t * s
                if cand == w:  # the step vanished in rounding: this and every shorter
                    break      # one would be rejected
                rc, jc = _residual(cand, zcur, nodes, wts, L, kind, lsw)
                nc = abs(rc)
                if math.isfinite(nc) and nc < norm * (1.0 - 1e-4 * t) + 1e-300 and \
                        cand.imag >= 0.0:
                    w, r, jac, norm = cand, rc, jc, nc
                    moved = True
                    break
                t *= 0.5
            if not moved:
                # nothing changed: the next step would be the same and fail the same way
                break
        if norm < 1e-8:
            zb = zcur
            wb = w
    z_best[i] = zb
    norm_out[i] = norm
    if _finite(wb):
        g, _ = _point(wb, nodes, wts)
        g_best[i] = (1.0 + (wb * g - 1.0)) / zb
    else:
        g_best[i] = complex(math.nan, math.nan)


@njit(cache=True, error_model="numpy")
def _solve_serial(x, eps, ys, nodes, wts, L, kind, lsw, m1_total, mean, mom2,
                  z_best, g_best, norm):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        _solve_point(i, x, eps, ys, nodes, wts, L, kind, lsw, m1_total, mean, mom2,
                     z_best, g_best, norm)


@njit(cache=True, parallel=True, error_model="numpy")
def _solve_parallel(x, eps, ys, nodes, wts, L, kind, lsw, m1_total, mean, mom2,
                    z_best, g_best, norm):  # pragma: no cover - compiled
    for i in prange(x.shape[0]):
        _solve_point(i, x, eps, ys, nodes, wts, L, kind, lsw, m1_total, mean, mom2,
                     z_best, g_best, norm)


def power_continuation(
    nodes: np.ndarray, weights: np.ndarray, moments: tuple, L: int, x: np.ndarray,
    eps: np.ndarray, ys: np.ndarray, kind: int, log_sigma_w2: float, m1_total: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the lowest z = x + i h solved to 1e-8 (NaN if none), G there, and the
    residual at the last height; ``ys`` are the continuation heights above ``eps``."""
    xf = np.ascontiguousarray(x, dtype=float)
    ef = np.ascontiguousarray(eps, dtype=float)
    z_best = np.empty(xf.size, complex)
    g_best = np.empty(xf.size, complex)
    norm = np.empty(xf.size)
    work = xf.size * nodes.size * NS_PER_TERM * EVALS_PER_POINT
    pick(_solve_serial, _solve_parallel, work)(
        xf, ef, np.ascontiguousarray(ys, dtype=float), nodes, weights, int(L), int(kind),
        float(log_sigma_w2), float(m1_total), float(moments[1]), float(moments[2]),
        z_best, g_best, norm,
    )
    return z_best, g_best, norm
