"""Hessian spectrum and index law at critical points of the spherical pure p-spin model.

Conventions as in :mod:`deeptheory.spinglass.complexity`: E[H_N(s) H_N(s')] = N (s.s'/N)^p on
|s|^2 = N, u = H_N / N.

Hessian at a critical point (derived from the covariance; ABC section 3, Bray &
Dean 2007).  Differentiating N (s.s'/N)^p twice in s and twice in s' along tangent directions
e_i, e_j, e_k, e_l orthogonal to s gives

    Cov(d_ij H, d_kl H) = (p (p - 1) / N) (delta_ik delta_jl + delta_il delta_jk),

and Cov(d_ij H, H) = Cov(d_ij H, d_m H) = 0: the tangent block of the Euclidean Hessian is an
(N-1) x (N-1) GOE with off-diagonal variance p(p-1)/N (diagonal 2p(p-1)/N), independent of the
energy and the gradient.  The Riemannian Hessian is P (Euclidean Hessian) P - (s.grad H / N) P
with P = I - s s^T / N, and s.grad H = p H by homogeneity, so at a critical point of energy u

    Hess = GOE(variance p(p-1)/N) - p u I     on the tangent space,

whose spectrum converges to a semicircle centred at -p u with radius R = 2 sqrt(p (p - 1)).
The fraction of negative eigenvalues is F_sc(p u / R) = F_sc(u / E_inf) with E_inf = 2
sqrt((p-1)/p), F_sc(x) = 1/2 + (x sqrt(1 - x^2) + arcsin x) / pi the distribution function of
the semicircle on [-1, 1], i.e. of variance 1/4: ``deeptheory.rmt.laws.semicircle_cdf(x,
var=0.25)`` (the one semicircle CDF of the package, tail-accurate).

References: A. Auffinger, G. Ben Arous, J. Cerny, Comm. Pure Appl. Math. 66 (2013) 165-201
[ABC]; A. J. Bray, D. S. Dean, "Statistics of critical points of Gaussian fields on
large-dimensional spaces", Phys. Rev. Lett. 98 (2007) 150201.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float, broadcast, scalar_or_array
from ._checks import check_p

__all__ = ["index_fraction", "hessian_radius", "hessian_spectrum_pdf"]


def index_fraction(u: Any, p: Any) -> np.ndarray | float:
    """Fraction of negative Hessian eigenvalues at a typical critical point of energy u.

        alpha(u) = F_sc(u / E_inf(p)),    E_inf = 2 sqrt((p - 1)/p),

    0 for u <= -E_inf (minima and finite-index saddles), 1 for u >= E_inf, 1/2 at u = 0.  Near
    the bottom alpha ~ (4 sqrt(2) / (3 pi)) ((u + E_inf)/E_inf)^{3/2} (Bray & Dean, PRL 98
    (2007) 150201, eq. (10); ABC section 2).  Conventions: u = H_N/N on the sphere of radius
    sqrt(N).  ``u`` (finite) and ``p`` (integer >= 2) broadcast.  F_sc is
    :func:`deeptheory.rmt.laws.semicircle_cdf` with var = 1/4 (support [-1, 1]).
    """
    from ..rmt.laws import semicircle_cdf  # lazy: keeps `import deeptheory.spinglass` light

    uu, pp = broadcast(u=as_float("u", u), p=check_p(p))
    E = 2.0 * np.sqrt((pp - 1.0) / pp)
    return semicircle_cdf(uu / E, 0.25)


def hessian_radius(p: Any) -> np.ndarray | float:
    """Radius of the Riemannian Hessian's semicircle at a critical point of the p-spin model.

        R = 2 sqrt(p (p - 1)),

    twice the standard deviation sqrt(p (p-1)) of the GOE part of the Hessian of H_N (module
    docstring; Auffinger, Ben Arous & Cerny 2013, section 3).  ``p`` integer >= 2 (array ok).
    """
    pp = check_p(p)
    return scalar_or_array(2.0 * np.sqrt(pp * (pp - 1.0)))


def hessian_spectrum_pdf(x: Any, u: Any, p: Any) -> np.ndarray | float:
    """Limiting eigenvalue density of the Riemannian Hessian at a critical point of energy u.

        rho(x) = (2 / (pi R^2)) sqrt(R^2 - (x + p u)^2),   |x + p u| <= R = 2 sqrt(p (p-1)),

    and 0 outside: a semicircle of unit mass, mean -p u and variance R^2/4 = p (p - 1), the
    N -> infinity limit of the empirical spectrum of GOE(off-diagonal variance p(p-1)/N) - p u I
    (module docstring; Auffinger, Ben Arous & Cerny 2013, section 3).  Hessian of H_N itself
    (not of H_N / N), sphere of radius sqrt(N), u = H_N/N.  ``x``, ``u`` (finite) and ``p``
    (integer >= 2) broadcast.
    """
    xx, uu, pp = broadcast(x=as_float("x", x), u=as_float("u", u), p=check_p(p))
    R2 = 4.0 * pp * (pp - 1.0)
    y2 = (xx + pp * uu) ** 2
    out = np.where(y2 < R2, 2.0 / (np.pi * R2) * np.sqrt(np.maximum(R2 - y2, 0.0)), 0.0)
    return scalar_or_array(out)
