"""The correlation map (C-map), its fixed point c* and slope chi_c (Poole et al. 2016, eq. 5).

Two inputs with squared lengths q at the fixed point and correlation c have, one
layer up, correlation

    C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / V(q),
    u1 = sqrt(q) z1,  u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2),

with V(q) = q at q = q* (Poole et al. 2016, eq. 5).  Dividing by
V(q) rather than q keeps C(1) = 1 exactly and gives the q -> inf limit of
diverging networks (relu with sigma_w^2 > 2) the normalised kernel.  The slope is

    C'(c) = sigma_w^2 q E[phi'(u1) phi'(u2)] / V(q)   (= chi_1 at c = 1, q = q*),

and chi_c = C'(c*) (Schoenholz et al. 2017, eq. 9).  Near c = 1 we use
1 - C(c) = sigma_w^2 E[(phi(u1) - phi(u2))^2] / (2 V(q)), which has no cancellation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float
from ..kernels import Activation
from ..kernels.quadrature import expect2_pair, expect_moments
from ._gauss import CLOSED_2D, E1, E2, E2_sqdiff, check_quad
from ._mehler import c_star_series
from ._params import check_solver, network_params, shaped
from ._solve import bracketed_newton, check_on_fail, report
from .qmap import _V, Q_INF, _fused, _q_star, growth_a2

__all__ = ["c_map", "c_map_slope", "c_star", "chi_c"]


def _resolve_q(act, q, sw2, sb2, quad, rtol, maxiter, on_fail):
    if q is None:
        q = _q_star(act, sw2, sb2, rtol, maxiter, on_fail, quad)
    q = np.where(np.isinf(q), Q_INF, q)
    return q


def _C(act, c, q, sw2, sb2, quad):
    return (sw2 * E2(act, q, c, (0, 0), **quad) + sb2) / _V(act, q, sw2, sb2, quad)


def _one_minus_C(act, c, q, sw2, sb2, quad):
    return sw2 * E2_sqdiff(act, q, c, **quad) / (2.0 * _V(act, q, sw2, sb2, quad))


def _dC(act, c, q, sw2, sb2, quad):
    return sw2 * q * E2(act, q, c, (1, 1), **quad) / _V(act, q, sw2, sb2, quad)


def _prepare(c, sigma_w2, sigma_b2, activation, q, quad):
    extra = {"c": as_float("c", c, lo=-1.0, hi=1.0)}
    if q is not None:
        extra["q"] = as_float("q", q, lo=0.0)
    act, shape, arrs = network_params(sigma_w2, sigma_b2, activation, **extra)
    sw2, sb2, cc = arrs[:3]
    qq = arrs[3] if q is not None else None
    quad = check_quad(quad)
    qq = _resolve_q(act, qq, sw2, sb2, quad, 1e-13, 100, "raise")
    if np.any(qq <= 0):
        raise ValueError("the C-map is undefined at q = 0 (q* = 0 in the ordered phase with "
                         "sigma_b2 = 0); pass q > 0 explicitly")
    return act, shape, sw2, sb2, cc, qq, quad


def c_map(
    c: Any,
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    q: Any = None,
    **quad: Any,
) -> np.ndarray | float:
    """C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / V(q); q defaults to q*.

    ``c`` in [-1, 1]; everything broadcasts.  Poole et al. 2016, eq. 5.
    """
    act, shape, sw2, sb2, cc, qq, quad = _prepare(c, sigma_w2, sigma_b2, activation, q, quad)
    return shaped(_C(act, cc, qq, sw2, sb2, quad), shape)


def c_map_slope(
    c: Any,
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    q: Any = None,
    **quad: Any,
) -> np.ndarray | float:
    """dC/dc = sigma_w^2 q E[phi'(u1) phi'(u2)] / V(q) (Schoenholz et al. 2017, eq. 9)."""
    act, shape, sw2, sb2, cc, qq, quad = _prepare(c, sigma_w2, sigma_b2, activation, q, quad)
    act.require(1, "the C-map slope")
    return shaped(_dC(act, cc, qq, sw2, sb2, quad), shape)


def fixed_point_state(act, sw2, sb2, quad, rtol=1e-13, maxiter=100, on_fail="raise"):
    """q*, chi_1, c*, chi_c on flat parameter arrays (one kernel call per iteration).

    Limits (documented in docs/meanfield.md):

    * q* = 0 (sigma_b^2 = 0, phi(0) = 0): chi_1 = chi_c = sigma_w^2 phi'(0)^2 exactly
      (the mean of the one-sided values at a kink), c* = 1.
    * q* = inf: with a2 = lim E[phi(sqrt(q) z)^2] / q (:func:`asymptotic_slopes`),
      chi_1 = sigma_w^2 a2 and the normalised C-map tends to the positively homogeneous
      (relu-like arc-cosine) map with C(c) >= c and C'(1) = 1: c* = 1, chi_c = 1
      exactly.  For a phi growing faster than linearly (a2 = inf) chi_1 = inf and c*,
      chi_c are undefined: reported per ``on_fail`` (NaN).
    """
    act.require(1, "chi_1 and chi_c")
    n = sw2.size
    qs = _q_star(act, sw2, sb2, rtol, maxiter, on_fail, quad)
    inf = np.isinf(qs)
    zero = qs == 0.0
    fin = ~inf & ~zero & ~np.isnan(qs)
    qe = np.where(fin, qs, 1.0)  # placeholder where a limit is used instead
    chi1 = np.full(n, np.nan)
    moments = None
    if _fused(act, quad):
        # E[phi'^2], E[phi phi''], E[phi''^2] at q* in one pass (callers want the last two)
        moments = np.full((n, 3), np.nan)
        moments[fin] = expect_moments(act, qe[fin], [(1, 1), (0, 2), (2, 2)], **quad)
        chi1[fin] = sw2[fin] * moments[fin, 0]
    else:
        chi1[fin] = sw2[fin] * E1(act, qe[fin], (1, 1), **quad)
    if zero.any():
        chi1[zero] = sw2[zero] * phi1_sq_at_zero(act)
    cs = np.ones(n)
    if inf.any():
        a2 = growth_a2(act)
        with np.errstate(invalid="ignore"):
            chi1[inf] = sw2[inf] * a2 if np.isfinite(a2) else np.inf
        if not np.isfinite(a2):
            cs[inf] = np.nan
            report(~inf, "c_star", maxiter, on_fail,
                   reason=f"have q* = inf and activation {act.name!r} grows faster than "
                   "linearly, so the q -> inf limit of the C-map (c*, chi_c) does not exist")
    cs[np.isnan(qs)] = np.nan
    # slope of the normalised C-map at c = 1: chi_1 where q* is finite, 1 in the q* = inf limit
    s1 = np.where(inf, np.where(np.isnan(cs), np.nan, 1.0), chi1)
    chic = s1.copy()
    chaos = np.flatnonzero(fin & (s1 > 1.0 + 1e-12))
    if chaos.size:
        cs[chaos], chic[chaos] = _c_star_chaotic(
            act, qe[chaos], sw2[chaos], sb2[chaos], s1[chaos], quad, rtol, maxiter, on_fail)
    return {"q_star": qs, "chi1": chi1, "c_star": cs, "chi_c": chic, "moments": moments}


def phi1_sq_at_zero(act) -> float:
    """lim_{q -> 0} E[phi'(sqrt(q) z)^2] = (phi'(0-)^2 + phi'(0+)^2) / 2 (exact at a kink)."""
    up = act(np.nextafter(0.0, 1.0), 1)
    dn = act(np.nextafter(0.0, -1.0), 1)
    return 0.5 * (up * up + dn * dn)


def _coarse(quad):
    """A cheaper panel rule (order - 4, at least 5) for the first Newton iterations, or None."""
    from ..kernels.quadrature import DEFAULT_ORDER

    if quad.get("rule", "panel") != "panel":
        return None
    order = quad.get("order") or DEFAULT_ORDER["panel"]
    if order < 9:
        return {**quad, "order": max(5, order - 3)} if order >= 8 else None
    return {**quad, "order": order - 4}


def _c_star_chaotic(act, q, sw2, sb2, s1, quad, rtol, maxiter, on_fail):
    """c*, chi_c at chaotic points: the Mehler series where its error bound allows
    (:mod:`._mehler`), else Newton on the quadrature of the correlated pair from there."""
    closed = act.builtin and act.name in CLOSED_2D
    if closed or quad.get("rule", "panel") != "panel":
        return _c_star_nested(act, q, sw2, sb2, s1, quad, rtol, maxiter, on_fail)
    cs, chic, ok = c_star_series(act, q, sw2, sb2, quad, rtol)
    # the truncated series under-counts P, so its root bounds d* = 1 - c* from below
    seeded = np.flatnonzero(~ok & np.isfinite(cs) & (cs < 1.0))
    if seeded.size:
        i = seeded
        cs[i], chic[i] = _c_star_seeded(act, q[i], sw2[i], sb2[i], quad, rtol, maxiter, on_fail,
                                        1.0 - cs[i])
    rest = np.flatnonzero(~ok & ~(np.isfinite(cs) & (cs < 1.0)))
    if rest.size:
        i = rest
        cs[i], chic[i] = _c_star_nested(act, q[i], sw2[i], sb2[i], s1[i], quad, rtol, maxiter,
                                        on_fail)
    return cs, chic


def _c_star_seeded(act, q, sw2, sb2, quad, rtol, maxiter, on_fail, d_low):
    """Newton on h(d) = d - (1 - C(1 - d)) from a lower bound ``d_low`` of d* = 1 - c*.

    h(d_low) <= 0 and h(1) = C(0) >= 0 bracket the root (C(0) >= 0 by Mehler's formula);
    chi_c is the slope C' of the last Newton evaluation when that step was below
    ``rtol`` (relative), else one more evaluation at c*.
    """
    n = q.size
    last_d = np.full(n, np.nan)
    last_dc = np.full(n, np.nan)

    def fdf(d, j):
        omc, dc = _newton_terms(act, 1.0 - d, q[j], sw2[j], sb2[j], quad)
        last_d[j], last_dc[j] = d, dc
        return d - omc, 1.0 - dc

    d, conv, _ = bracketed_newton(fdf, 0.5 * d_low, np.ones(n), x0=d_low, rtol=rtol,
                                  maxiter=maxiter, sign_lo=-1.0)
    report(conv, "c_star", maxiter, on_fail)
    d = np.where(conv, d, np.nan)
    chic = last_dc.copy()
    redo = np.flatnonzero(conv & ~(np.abs(last_d - d) <= rtol * d))
    if redo.size:
        chic[redo] = _dC(act, 1.0 - d[redo], q[redo], sw2[redo], sb2[redo], quad)
    chic[~conv] = np.nan
    return 1.0 - d, chic


def _newton_terms(act, c, q, sw2, sb2, quad):
    """(1 - C(c), C'(c)); from one pass of the pair kernel unless a closed form exists."""
    if act.builtin and act.name in CLOSED_2D:
        return _one_minus_C(act, c, q, sw2, sb2, quad), _dC(act, c, q, sw2, sb2, quad)
    sq, pp = expect2_pair(act, q, q, c, 0, **quad)
    v = _V(act, q, sw2, sb2, quad)
    return sw2 * sq / (2.0 * v), sw2 * q * pp / v


def _c_star_nested(act, q, sw2, sb2, s1, quad, rtol, maxiter, on_fail):
    """Solve h(d) = d - (1 - C(1 - d)) = 0 for d = 1 - c* in (0, 2] by bracketed Newton."""
    n = q.size

    def h(d, i):
        return d - _one_minus_C(act, 1.0 - d, q[i], sw2[i], sb2[i], quad)

    # upper end: c = 0 if h(1) <= 0 (root in c >= 0), else c = -1
    idx = np.arange(n)
    h1 = h(np.ones(n), idx)
    dhi = np.where(h1 <= 0.0, 1.0, 2.0)
    # lower end: small d with h(d) < 0 (C(c) < c just below c = 1 since C'(1) > 1)
    if act.max_deriv >= 2:
        v = _V(act, q, sw2, sb2, quad)
        e22 = E1(act, q, (2, 2), **quad)
        guess = 2.0 * (s1 - 1.0) * v / np.maximum(sw2 * q * q * e22, 1e-300)
    else:
        guess = 0.1 * (s1 - 1.0)
    d_lo = np.clip(0.25 * guess, 1e-15, 0.5)
    ok = np.zeros(n, dtype=bool)
    todo = idx
    for _ in range(8):
        hv = h(d_lo[todo], todo)
        good = hv < 0
        ok[todo[good]] = True
        todo = todo[~good]
        if todo.size == 0:
            break
        d_lo[todo] *= 1e-2
    cs = np.ones(n)
    chic = s1.copy()
    # c* = 0 to rounding (odd phi, sigma_b = 0): the root sits on the bracket's end
    zero = ok & (np.abs(h1) <= 1e-14)
    cs[zero] = 0.0
    chic[zero] = _dC(act, cs[zero], q[zero], sw2[zero], sb2[zero], quad)
    # points where C(c) >= c all the way to c = 1 keep c* = 1 (e.g. the relu q -> inf limit)
    sol = np.flatnonzero(ok & ~zero)
    if sol.size == 0:
        return cs, chic

    def solve(qd, start):
        def fdf(d, j):
            i = sol[j]
            omc, dc = _newton_terms(act, 1.0 - d, q[i], sw2[i], sb2[i], qd)
            return d - omc, 1.0 - dc

        # h(d_lo) < 0 by construction of d_lo
        return bracketed_newton(fdf, d_lo[sol], dhi[sol], x0=start, rtol=rtol, maxiter=maxiter,
                                sign_lo=-1.0)

    start = np.clip(np.minimum(guess[sol], 0.5 * dhi[sol]), d_lo[sol], dhi[sol])
    coarse = _coarse(quad)
    if coarse is not None:
        # iterate with a cheaper rule, then polish with the requested one (Newton from a
        # start accurate to ~1e-8 converges in one or two steps)
        d, conv, _ = solve(coarse, start)
        start = np.where(conv, d, start)
    d, conv, _ = solve(quad, start)
    report(conv, "c_star", maxiter, on_fail)
    d = np.where(conv, d, np.nan)
    cs[sol] = 1.0 - d
    chic[sol] = _dC(act, cs[sol], q[sol], sw2[sol], sb2[sol], quad)
    return cs, chic


def c_star(
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    rtol: float = 1e-13,
    maxiter: int = 100,
    on_fail: str = "raise",
    **quad: Any,
) -> np.ndarray | float:
    """Stable fixed point c* of the C-map (Poole et al. 2016; Schoenholz et al. 2017).

    c* = 1 in the ordered phase (chi_1 <= 1) and on the critical line; in the
    chaotic phase c* < 1 is found by bracketed Newton on 1 - c (relative
    tolerance ``rtol`` on 1 - c*, so c* close to 1 keeps its digits).
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    rtol, maxiter = check_solver(rtol, maxiter)
    st = fixed_point_state(act, sw2, sb2, check_quad(quad), rtol, maxiter, check_on_fail(on_fail))
    return shaped(st["c_star"], shape)


def chi_c(
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    rtol: float = 1e-13,
    maxiter: int = 100,
    on_fail: str = "raise",
    **quad: Any,
) -> np.ndarray | float:
    """chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at c = c*, q = q* (Schoenholz et al. 2017, eq. 9).

    Equals chi_1 in the ordered phase (c* = 1).
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    rtol, maxiter = check_solver(rtol, maxiter)
    st = fixed_point_state(act, sw2, sb2, check_quad(quad), rtol, maxiter, check_on_fail(on_fail))
    return shaped(st["chi_c"], shape)


__all__ += ["fixed_point_state"]
_ = E1
