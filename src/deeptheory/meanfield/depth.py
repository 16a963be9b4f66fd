"""Susceptibilities chi_1, chi_2 and depth scales xi_q, xi_c, xi_grad.

Schoenholz et al. 2017 ("Deep information propagation"), eqs. 4, 7-9, and
Poole et al. 2016, eq. 7:

    chi_1   = sigma_w^2 E[phi'(sqrt(q*) z)^2]
    chi_2   = sigma_w^2 E[phi''(sqrt(q*) z)^2]
    xi_q    = -1 / ln(chi_1 + sigma_w^2 E[phi''(sqrt(q*) z) phi(sqrt(q*) z)])  (= -1/ln V'(q*))
    xi_c    = -1 / ln chi_c,    chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at c*
    xi_grad = -1 / ln chi_1     (gradients shrink like exp(-l / xi_grad))

xi_c is infinite on the critical line (chi_c = 1); xi_grad is negative in the
chaotic phase, where gradients grow like exp(l / |xi_grad|).

Limits: at q* = 0 (sigma_b^2 = 0, phi(0) = 0) chi_1 = chi_c = sigma_w^2 phi'(0)^2 and
V'(0) = chi_1 exactly; at q* = inf (the length diverges, e.g. relu with sigma_w^2 > 2)
every quantity is its analytic q -> inf limit: with a2 = lim E[phi(sqrt(q) z)^2] / q
((a_-^2 + a_+^2) / 2 for phi ~ a_+- x), chi_1 = V'(inf) = sigma_w^2 a2, so xi_q < 0
(q grows like exp(l / |xi_q|)), and chi_c = 1, xi_c = inf (the normalised C-map tends to
the arc-cosine map of Cho & Saul 2009, whose fixed point c* = 1 has slope 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import Activation
from ._gauss import E1, check_quad
from ._params import check_solver, network_params, shaped
from ._solve import check_on_fail
from .cmap import fixed_point_state, phi1_sq_at_zero
from .qmap import Q_INF, _dV, _q_star, growth_a2

__all__ = ["chi1", "chi2", "xi_q", "xi_c", "xi_grad", "depth_scale"]


#: |chi - 1| <= DEPTH_SCALE_ULPS * eps counts as chi = 1 (xi = +inf): exact criticality
#: computed in floating point (e.g. chi_1 = 1 + 2.2e-16 for tanh at (1, 0)).
DEPTH_SCALE_ULPS = 4


def depth_scale(chi: Any) -> np.ndarray | float:
    """xi = -1 / ln(chi) (Schoenholz et al. 2017, eqs. 4, 9): the depth over which a
    quantity that changes by the factor chi per layer changes by e.

    ``chi`` must be >= 0 (inf allowed) and not NaN.  xi = +inf at chi = 1 and wherever
    |chi - 1| <= 4 eps (eps = 2.2e-16: exact criticality up to rounding), negative for
    chi > 1 (growth, like exp(l / |xi|)), 0 at chi = 0, -0.0 at chi = inf.
    """
    x = np.asarray(chi, dtype=float) if not isinstance(chi, np.ndarray) else chi.astype(float)
    if np.isnan(x).any():
        raise ValueError("chi must not be NaN")
    if np.any(x < 0):
        raise ValueError(f"chi must be >= 0 (a growth factor per layer), got min {x.min()}")
    crit = np.abs(x - 1.0) <= DEPTH_SCALE_ULPS * np.finfo(float).eps
    with np.errstate(divide="ignore"):
        lg = np.log(np.where(crit, 2.0, x))
        out = np.where(crit, np.inf, -1.0 / lg)
    return out if out.ndim else float(out)


def _qeval(act, sw2, sb2, quad, rtol, maxiter, on_fail):
    qs = _q_star(act, sw2, sb2, rtol, maxiter, on_fail, quad)
    return qs, np.where(np.isinf(qs), Q_INF, np.maximum(qs, 1e-300))


def _chi1_of(act, qs, qe, sw2, quad):
    """chi_1 with its exact limits at q* = 0 and q* = inf (see the module docstring)."""
    out = np.full(qs.shape, np.nan)
    fin = np.isfinite(qs) & (qs > 0)
    out[fin] = sw2[fin] * E1(act, qe[fin], (1, 1), **quad)
    zero = qs == 0.0
    if zero.any():
        out[zero] = sw2[zero] * phi1_sq_at_zero(act)
    inf = np.isinf(qs)
    if inf.any():
        a2 = growth_a2(act)
        out[inf] = sw2[inf] * a2 if np.isfinite(a2) else np.inf
    return out


def _q_slope_at_fixed_point(act, qs, qe, sw2, sb2, quad):
    """V'(q*); at q* = 0 it is the limit sigma_w^2 phi'(0)^2 = chi_1, at q* = inf the
    limit sigma_w^2 a2 (V(q) / q -> sigma_w^2 a2)."""
    slope = np.full(qs.shape, np.nan)
    fin = np.isfinite(qs) & (qs > 0)
    slope[fin] = _dV(act, qe[fin], sw2[fin], sb2[fin], quad)
    lim = ~fin & ~np.isnan(qs)
    slope[lim] = _chi1_of(act, qs[lim], qe[lim], sw2[lim], quad)
    return slope


def _kw(rtol, maxiter, on_fail, quad):
    rtol, maxiter = check_solver(rtol, maxiter)
    return dict(rtol=rtol, maxiter=maxiter, on_fail=check_on_fail(on_fail)), check_quad(quad)


def chi1(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", *,
    rtol: float = 1e-13, maxiter: int = 100, on_fail: str = "raise", **quad: Any,
) -> np.ndarray | float:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (Poole et al. 2016; Schoenholz et al. 2017 eq. 7).

    The growth factor of a small perturbation per layer; chi_1 = 1 is the
    order-to-chaos boundary.  Where q* = inf (diverging relu-like networks) it
    is its q -> inf limit sigma_w^2 (a_-^2 + a_+^2) / 2 (a_+- = lim phi(x) / x as
    x -> +-inf; sigma_w^2 / 2 for relu); at q* = 0 it is sigma_w^2 phi'(0)^2.
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    act.require(1, "chi_1")
    kw, quad = _kw(rtol, maxiter, on_fail, quad)
    qs, qe = _qeval(act, sw2, sb2, quad, **kw)
    return shaped(_chi1_of(act, qs, qe, sw2, quad), shape)


def chi2(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", *,
    rtol: float = 1e-13, maxiter: int = 100, on_fail: str = "raise", **quad: Any,
) -> np.ndarray | float:
    """chi_2 = sigma_w^2 E[phi''(sqrt(q*) z)^2] (Poole et al. 2016, curvature growth).

    Raises ``ValueError`` for activations whose phi'' contains a Dirac delta
    (relu, hard_tanh), for which chi_2 is infinite.  At q* = inf it is evaluated at
    q = 1e10 (``Q_INF``).
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    act.require(2, "chi_2")
    kw, quad = _kw(rtol, maxiter, on_fail, quad)
    _, qe = _qeval(act, sw2, sb2, quad, **kw)
    return shaped(sw2 * E1(act, qe, (2, 2), **quad), shape)


def xi_q(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", *,
    rtol: float = 1e-13, maxiter: int = 100, on_fail: str = "raise", **quad: Any,
) -> np.ndarray | float:
    """xi_q = -1 / ln(chi_1 + sigma_w^2 E[phi'' phi]) = -1 / ln V'(q*) (Schoenholz 2017, eq. 4).

    The depth over which q^l approaches q*.  For piecewise-linear activations V'(q*)
    includes the delta terms of phi'' in closed form (relu: V' = sigma_w^2 / 2).  Where
    q* = inf the length grows like exp(l / |xi_q|): xi_q = -1 / ln(sigma_w^2 a2) < 0
    with a2 = lim V(q) / (sigma_w^2 q) (relu: -1 / ln(sigma_w^2 / 2); +inf where q grows
    only linearly, e.g. relu at sigma_w^2 = 2, sigma_b^2 > 0).
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    kw, quad = _kw(rtol, maxiter, on_fail, quad)
    qs, qe = _qeval(act, sw2, sb2, quad, **kw)
    slope = _q_slope_at_fixed_point(act, qs, qe, sw2, sb2, quad)
    return shaped(_depth_scale_nan(slope), shape)


def _depth_scale_nan(chi):
    """depth_scale that passes NaN through (entries already reported by on_fail)."""
    chi = np.asarray(chi, dtype=float)
    out = np.full(chi.shape, np.nan)
    ok = ~np.isnan(chi)
    out[ok] = depth_scale(chi[ok])
    return out


def xi_c(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", *,
    rtol: float = 1e-13, maxiter: int = 100, on_fail: str = "raise", **quad: Any,
) -> np.ndarray | float:
    """xi_c = -1 / ln chi_c (Schoenholz et al. 2017, eq. 9): depth over which correlations
    approach c*; +inf on the critical line (chi_c within 4 ulp of 1) and where q* = inf
    with an asymptotically linear phi (relu, silu, gelu, elu, softplus: chi_c -> 1 in the
    q -> inf limit, see the module docstring)."""
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    kw, quad = _kw(rtol, maxiter, on_fail, quad)
    st = fixed_point_state(act, sw2, sb2, quad, **kw)
    return shaped(_depth_scale_nan(st["chi_c"]), shape)


def xi_grad(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", *,
    rtol: float = 1e-13, maxiter: int = 100, on_fail: str = "raise", **quad: Any,
) -> np.ndarray | float:
    """Gradient depth scale xi_grad = -1 / ln chi_1 (Schoenholz et al. 2017, eq. 16).

    Gradient norms scale like exp(-l / xi_grad) going back l layers: positive
    (vanishing) in the ordered phase, negative (exploding) in the chaotic phase.
    """
    c1 = chi1(sigma_w2, sigma_b2, activation, rtol=rtol, maxiter=maxiter, on_fail=on_fail,
              **quad)
    out = _depth_scale_nan(c1)
    return out if out.ndim else float(out)
