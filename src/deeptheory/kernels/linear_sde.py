"""Compiled right-hand sides of linear SDEs whose marginals are Gaussian mixtures.

For dy = -(1/2) kappa g(t)^2 y dt + g(t) dW (kind 0: kappa = 0, g = 1, "Brownian"; kind 1:
kappa = 1, g^2 = beta(t) = beta0 + (beta1 - beta0) t / T, "variance preserving"), a Gaussian
mixture sum_k pi_k N(m_k, S_k) at t = 0 stays one with the same weights:
sum_k pi_k N(a m_k, b S_k + c I).  :func:`sde_schedule` gives (a, b, c, g^2) at t and
:func:`sde_mixture_rhs` the field f(y, t) - lam g^2 grad ln p_t(y) from the mixture-score
kernels of :mod:`deeptheory.kernels.mixture` (Song et al. 2021; Ho et al. 2020).  It is the
``ode_rhs`` that :func:`deeptheory.kernels.odeint.ode_specialise` binds to the shared
Euler / RK4 / Dormand-Prince drivers.  Generic numerics: nothing here knows what the
mixture models.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .mixture import gmix_precision, gmix_score

__all__ = ["sde_mixture_rhs", "sde_schedule", "sde_schedule_table"]


@njit(cache=True)
def sde_schedule(kind, beta0, beta1, horizon, t):  # pragma: no cover - compiled
    """(a, b, c, g^2) at time t: p_t = sum pi_k N(a m_k, b S_k + c I), and g(t)^2 (= beta(t)
    for vp, 1 for brownian; the drift is -(1/2) g^2 y for vp, 0 for brownian)."""
    if kind == 0:
        return 1.0, 1.0, t, 1.0
    slope = (beta1 - beta0) / horizon
    big_b = beta0 * t + 0.5 * slope * t * t
    return math.exp(-0.5 * big_b), math.exp(-big_b), -math.expm1(-big_b), beta0 + slope * t


@njit(cache=True, inline="always")
def sde_mixture_rhs(p, t, y, scratch, out):  # pragma: no cover - compiled
    """out = f(y, t) - lam g(t)^2 grad ln p_t(y): lam = 1/2 the probability-flow ODE, lam = 1
    the drift of the reverse-time SDE.  p = (kind, beta_min, beta_max, T, lam, ln pi, means,
    eigenvectors, eigenvalues, tab_t, tab_g2, tab_logc, tab_mu, tab_prec): g^2 and the
    precision form of p_t (:mod:`deeptheory.kernels.mixture`) are read from the table row
    whose time equals t exactly (the stage times of a fixed-step run, tab_t equally spaced),
    else computed (the form in ``scratch``, length K (d + 1) + K (1 + d + d^2)); either way
    the same numbers."""
    kind, beta0, beta1, horizon, lam, logw, means, evecs, evals, tt, tg2, tlogc, tmu, tprec = p
    kk, d = means.shape
    m = tt.shape[0]
    row = -1
    if m == 1:
        if tt[0] == t:
            row = 0
    elif m > 1:
        idx = int(math.floor((t - tt[0]) / (tt[1] - tt[0]) + 0.5))
        if 0 <= idx < m and tt[idx] == t:
            row = idx
    nw = kk * (d + 1)
    if row >= 0:
        g2 = tg2[row]
        gmix_score(tlogc[row], tmu[row], tprec[row], y, scratch, out)
    else:
        a, b, c, g2 = sde_schedule(kind, beta0, beta1, horizon, t)
        logc = scratch[nw:nw + kk]
        mu = scratch[nw + kk:nw + kk + kk * d]
        prec = scratch[nw + kk + kk * d:nw + kk + kk * d + kk * d * d]
        gmix_precision(logw, means, evecs, evals, a, b, c, logc, mu, prec)
        gmix_score(logc, mu, prec, y, scratch, out)
    fy = 0.5 * g2 if kind == 1 else 0.0
    for j in range(d):
        out[j] = -fy * y[j] - lam * g2 * out[j]


@njit(cache=True)
def sde_schedule_table(kind, beta0, beta1, horizon, times):  # pragma: no cover - compiled
    """(a, b, c, g^2) of :func:`sde_schedule` at every time (rows)."""
    out = np.empty((times.shape[0], 4))
    for r in range(times.shape[0]):
        a, b, c, g2 = sde_schedule(kind, beta0, beta1, horizon, times[r])
        out[r, 0] = a
        out[r, 1] = b
        out[r, 2] = c
        out[r, 3] = g2
    return out
