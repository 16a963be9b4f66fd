"""The length map (q-map) and its fixed point q* (Poole et al. 2016, eqs. 3-4).

With weights W_ij ~ N(0, sigma_w^2 / N) and biases b_i ~ N(0, sigma_b^2), the
mean squared pre-activation q^l = (1/N) sum_i (h_i^l)^2 of a wide network obeys

    q^l = V(q^{l-1}) = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2,   z ~ N(0, 1)

(Poole et al. 2016, eq. 3; Schoenholz et al. 2017, eq. 2).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_float
from ..kernels import Activation, gaussian_rule
from ..kernels.quadrature import expect_moments
from ._gauss import CLOSED_1D, E1, check_quad
from ._params import check_solver, network_params, shaped
from ._solve import bracketed_newton, check_on_fail, report

__all__ = ["q_map", "q_map_slope", "q_star", "Q_INF", "q_cap", "asymptotic_slopes"]

#: q at which chi_2 of a diverging (q* = inf) network is evaluated; every other
#: q* = inf quantity is its analytic q -> inf limit (see :func:`asymptotic_slopes`)
Q_INF = 1e10
_LADDER = 10.0 ** np.arange(-10, 13)
_QCAP_CACHE: dict = {}
_SLOPE_CACHE: dict = {}
_PWL_CACHE: dict = {}


def _act_key(act: Activation) -> tuple:
    return (act.name, act.code, str(act.expr))


def q_cap(act: Activation, quad: dict[str, Any]) -> float:
    """Largest variance q at which the quadrature rule for ``act`` fits its node buffer.

    Only an oscillating activation (finite ``max_panel``, e.g. sin) with the panel rule
    has one: its rule needs about order * 17 sqrt(q) / max_panel nodes, so q is
    bounded (about 1.6e3 for sin at order 12).  Returns half the largest q whose
    1-D rule fits (the correlated-pair rules add panels around kinks), or inf.
    Every q-ladder in this package stops here, so the kernels' node buffer is never
    exceeded; a fixed point beyond it is reported, not returned.
    """
    rule = quad.get("rule", "panel")
    if rule != "panel" or not np.isfinite(act.max_panel):
        return math.inf
    key = (*_act_key(act), quad.get("order"))
    if key not in _QCAP_CACHE:
        def fits(lq: float) -> bool:
            try:
                gaussian_rule(act, 10.0**lq, rule="panel", order=quad.get("order"))
            except ValueError:
                return False
            return True

        lo, hi = -12.0, 13.0
        if fits(hi):
            _QCAP_CACHE[key] = math.inf
        else:
            for _ in range(40):  # bisection in log10 q to ~1e-10 decades
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            _QCAP_CACHE[key] = 0.5 * 10.0**lo
    return _QCAP_CACHE[key]


def _cap_reason(act: Activation, cap: float, quad: dict[str, Any]) -> str:
    return (f"have q* above q = {cap:.4g}, the largest variance the panel rule "
            f"(order {quad.get('order') or 'default'}) resolves for the oscillating activation "
            f"{act.name!r} within the kernels' node buffer (pass a lower quadrature `order` "
            "to raise this limit)")


def _tail_piece(expr: Any, x: Any, sign: int) -> Any:
    """The piece of a Piecewise that holds as x -> sign * inf (else the expression)."""
    import sympy as sp  # deferred: sympy is slow to import and needed only here

    if isinstance(expr, sp.Piecewise):
        for e, cond in expr.args:
            if cond == sp.true or bool(cond.subs(x, sign * sp.Integer(10) ** 300)):
                return _tail_piece(e, x, sign)
    return expr


def asymptotic_slopes(act: Activation) -> tuple[float, float]:
    """(a_-, a_+) = lim phi(x) / x as x -> -inf and x -> +inf (inf for faster growth).

    These decide every q* = inf (diverging-length) quantity: with
    a2 = (a_-^2 + a_+^2) / 2, E[phi(sqrt(q) z)^2] / q -> a2 and E[phi'(sqrt(q) z)^2] -> a2
    as q -> inf, so chi_1 -> sigma_w^2 a2 and V'(q) -> sigma_w^2 a2, and the normalised
    C-map tends to that of the positively homogeneous a_+ x (x > 0), a_- x (x < 0): the
    relu-like arc-cosine map (Cho & Saul 2009), whose slope at c = 1 is exactly 1
    (C(c) >= c, so c* = 1, chi_c = 1 and xi_c = inf).  Limits are taken with sympy.
    """
    key = _act_key(act)
    if key not in _SLOPE_CACHE:
        import sympy as sp  # deferred (see _tail_piece)

        syms = sorted(act.expr.free_symbols, key=str)
        if not syms:  # a constant phi
            _SLOPE_CACHE[key] = (0.0, 0.0)
            return _SLOPE_CACHE[key]
        x = syms[0]
        out = []
        for sign in (-1, 1):
            try:
                lim = sp.limit(_tail_piece(act.expr, x, sign) / x, x, sign * sp.oo)
                v = abs(float(lim)) if lim.is_real or lim in (sp.oo, -sp.oo) else None
            except (TypeError, ValueError, NotImplementedError, AttributeError):
                v = None
            if v is None:
                raise ValueError(
                    f"cannot determine lim phi(x)/x as x -> {'+' if sign > 0 else '-'}inf for "
                    f"activation {act.name!r} ({act.expr}); the q* = inf limits need it")
            out.append(v)
        _SLOPE_CACHE[key] = (out[0], out[1])
    return _SLOPE_CACHE[key]


def growth_a2(act: Activation) -> float:
    """a2 = (a_-^2 + a_+^2) / 2 = lim_{q -> inf} E[phi(sqrt(q) z)^2] / q (see asymptotic_slopes)."""
    am, ap = asymptotic_slopes(act)
    return 0.5 * (am * am + ap * ap)


def _piecewise_linear_kinks(act: Activation):
    """For a kinked phi that is linear between its kinks: (kinks, jumps of phi', phi(kinks)).

    None otherwise.  Then phi'' = sum_k J_k delta(x - k), J_k = phi'(k+) - phi'(k-).
    """
    key = _act_key(act)
    if key not in _PWL_CACHE:
        import sympy as sp  # deferred (see _tail_piece)

        d2 = act.derivative_expr(2)
        pieces = [e for e, _ in d2.args] if isinstance(d2, sp.Piecewise) else [d2]
        res = None
        if all(sp.simplify(e) == 0 for e in pieces):
            k = np.asarray(act.kinks, dtype=float)
            up = np.array([act(np.nextafter(v, np.inf), 1) for v in k])
            dn = np.array([act(np.nextafter(v, -np.inf), 1) for v in k])
            res = (k, up - dn, np.array([act(v) for v in k]))
        _PWL_CACHE[key] = res
    return _PWL_CACHE[key]


def q_map(
    q: Any, sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", **quad: Any
) -> np.ndarray | float:
    """V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 (Poole et al. 2016, eq. 3).

    ``q``, ``sigma_w2`` (variance of sqrt(N) W_ij) and ``sigma_b2`` (bias variance)
    broadcast; all must be finite and >= 0.  ``quad``: rule/order/target of
    :func:`deeptheory.kernels.expect`.
    """
    act, shape, (sw2, sb2, qq) = network_params(
        sigma_w2, sigma_b2, activation, q=as_float("q", q, lo=0.0))
    return shaped(_V(act, qq, sw2, sb2, check_quad(quad)), shape)


def _V(act, q, sw2, sb2, quad):
    return sw2 * E1(act, q, (0, 0), **quad) + sb2


def _fused(act, quad) -> bool:
    """True where V and V' come from one pass of the compiled kernel (no closed form)."""
    return act.max_deriv >= 2 and not (act.builtin and act.name in CLOSED_1D)


def _V_dV(act, q, sw2, sb2, quad):
    """(V(q), V'(q)) with E[phi^2], E[phi'^2], E[phi phi''] from one pass over shared nodes."""
    if not _fused(act, quad):
        return _V(act, q, sw2, sb2, quad), _dV(act, q, sw2, sb2, quad)
    m = expect_moments(act, q, [(0, 0), (1, 1), (0, 2)], **quad)
    return sw2 * m[..., 0] + sb2, sw2 * (m[..., 1] + m[..., 2])


def _dV(act, q, sw2, sb2, quad):
    """V'(q) = sigma_w^2 E[phi'^2 + phi phi''] (Gaussian integration by parts).

    For a piecewise-linear phi (relu, hard_tanh) phi'' = sum_k J_k delta(x - k), so
    E[phi phi''] = sum_k J_k phi(k) exp(-k^2 / 2q) / sqrt(2 pi q) exactly (relu: 0, so
    V'(q) = sigma_w^2 / 2).
    """
    if _fused(act, quad):
        m = expect_moments(act, q, [(1, 1), (0, 2)], **quad)
        return sw2 * (m[..., 0] + m[..., 1])
    if act.max_deriv >= 2:
        return sw2 * (E1(act, q, (1, 1), **quad) + E1(act, q, (0, 2), **quad))
    pwl = _piecewise_linear_kinks(act)
    if pwl is not None:
        k, jump, phik = pwl
        q = np.asarray(q, dtype=float)
        delta = np.zeros_like(q)
        for kk, jj, pp in zip(k, jump, phik, strict=True):
            if jj * pp != 0.0:
                with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
                    delta = delta + jj * pp * np.exp(-kk * kk / (2.0 * q)) / np.sqrt(
                        2.0 * np.pi * q)
        return sw2 * (E1(act, q, (1, 1), **quad) + delta)
    # phi'' has a delta: differentiate E[phi^2] in q numerically (relative step 1e-4, O(h^2))
    h = 1e-4
    return sw2 * (E1(act, q * (1 + h), (0, 0), **quad) - E1(act, q * (1 - h), (0, 0), **quad)) / (
        2 * h * q)


def q_map_slope(
    q: Any, sigma_w2: Any, sigma_b2: Any, activation: str | Activation = "tanh", **quad: Any
) -> np.ndarray | float:
    """dV/dq = sigma_w^2 E[phi'(sqrt(q) z)^2 + phi(sqrt(q) z) phi''(sqrt(q) z)].

    At q = q* this is the rate exp(-1/xi_q) at which q^l approaches q*
    (Schoenholz et al. 2017, eq. 4).  For kinked activations (relu, hard_tanh)
    the derivative in q is taken numerically (central difference, relative step 1e-4).
    """
    act, shape, (sw2, sb2, qq) = network_params(
        sigma_w2, sigma_b2, activation, q=as_float("q", q, lo=0.0))
    if np.any(qq <= 0):
        raise ValueError("q must be > 0 for q_map_slope")
    return shaped(_dV(act, qq, sw2, sb2, check_quad(quad)), shape)


def q_star(
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    rtol: float = 1e-13,
    maxiter: int = 100,
    on_fail: str = "raise",
    **quad: Any,
) -> np.ndarray | float:
    """Fixed point q* = V(q*) of the length map, broadcast over sigma_w2 and sigma_b2.

    Conventions:

    * If V(0) = 0 (sigma_b^2 = 0 and phi(0) = 0) and the trivial fixed point is
      stable (sigma_w^2 E[phi'(0)^2] <= 1), q* = 0.
    * Otherwise q* is the smallest stable fixed point above 0, where V(q) - q
      changes sign from + to -: found by a log-spaced upward scan of q in
      [1e-10, 1e12] (below 1e-10 the bracket starts at 1e-300) and refined by
      bracketed Newton to relative tolerance ``rtol``.  Very small q* (below
      ~1e-14, e.g. sigma_b^2 < 1e-28 at sigma_w^2 = 1) lose relative accuracy
      to the cancellation in V(q) - q.
    * If V(q) > q up to q = 1e12 (e.g. relu with sigma_w^2 > 2) the length
      diverges and q* = inf.
    * For oscillating activations (sin) the scan stops at :func:`q_cap`, the largest
      q the quadrature rule resolves (about 1.6e3 for sin at the default order): a
      q* above it is reported as not converged (see ``on_fail``), never returned
      from an overflowing rule.  Bounded activations (sin, tanh, ...) stop the scan
      at q > sigma_w^2 sup phi^2 + sigma_b^2 anyway.

    ``rtol`` must lie in (0, 1), ``maxiter`` in [1, 100000].

    Non-convergence within ``maxiter``, or a q* whose float64 conditioning
    (eps V / |V'(q*) - 1|) exceeds 1e-6 relative, raises :class:`ConvergenceError`
    (``on_fail="warn"`` returns NaN there with a warning instead).
    """
    act, shape, (sw2, sb2) = network_params(sigma_w2, sigma_b2, activation)
    rtol, maxiter = check_solver(rtol, maxiter)
    return shaped(_q_star(act, sw2, sb2, rtol, maxiter, check_on_fail(on_fail), check_quad(quad),
                          check_conditioning=True), shape)


def _q_star(act, sw2, sb2, rtol, maxiter, on_fail, quad, check_conditioning=False):
    n = sw2.size
    out = np.full(n, np.nan)
    v0 = _V(act, np.zeros(n), sw2, sb2, quad)
    trivial = v0 <= 0.0
    if trivial.any():
        s0 = sw2[trivial] * E1(act, np.full(trivial.sum(), 1e-12), (1, 1), **quad)
        stable = s0 <= 1.0
        ti = np.flatnonzero(trivial)
        out[ti[stable]] = 0.0
    todo = np.flatnonzero(np.isnan(out))
    if todo.size == 0:
        return out
    # scan V(q) - q upward on a log ladder for the first + -> - sign change; each rung
    # is one kernel call over the points not yet bracketed (bounded phi stop early)
    cap = q_cap(act, quad)
    L = _LADDER[_LADDER < cap]
    if cap < _LADDER[-1]:
        L = np.append(L, cap)  # the last rung is the largest q the rule resolves
    first = np.full(todo.size, -1)
    pending = np.arange(todo.size)
    f_first = np.full(todo.size, np.nan)  # V - q at the first negative rung
    f_prev = np.full(todo.size, np.nan)  # ... and at the rung before it (if evaluated)
    for k in range(L.size):
        # V(q) >= sigma_b^2 > q below sigma_b^2: those rungs are positive without a call
        ev = pending[sb2[todo[pending]] <= L[k]]
        if ev.size == 0:
            continue
        i = todo[ev]
        f = _V(act, np.full(i.size, L[k]), sw2[i], sb2[i], quad) - L[k]
        hit = f < 0
        first[ev[hit]] = k
        f_first[ev[hit]] = f[hit]
        f_prev[ev[~hit]] = f[~hit]
        pending = np.setdiff1d(pending, ev[hit], assume_unique=True)
        if pending.size == 0:
            break
    has = first >= 0
    if cap < _LADDER[-1] and not has.all():
        # an oscillating phi: the ladder stopped at the rule's limit, not at q = 1e12
        report(has, "q_star", maxiter, on_fail, reason=_cap_reason(act, cap, quad))
    else:
        out[todo[~has]] = np.inf
    todo, first = todo[has], first[has]
    if todo.size == 0:
        return out
    # a root below the first rung: bracket from 1e-300 (V(q) - q > 0 there: V(0) > 0, or
    # the trivial fixed point is unstable); bisection is geometric, so this costs ~10 steps
    lo = np.where(first > 0, L[np.maximum(first - 1, 0)], 1e-300)
    hi = L[first]
    # start from the chord through the two rungs where both were evaluated (else mid-bracket)
    fp, ff = f_prev[has], f_first[has]
    with np.errstate(invalid="ignore", divide="ignore"):
        chord = lo + (hi - lo) * fp / (fp - ff)
    x0 = np.where(np.isfinite(chord) & (chord > lo) & (chord < hi), chord, 0.5 * (lo + hi))

    def fdf(x, idx):
        i = todo[idx]
        v, dv = _V_dV(act, np.maximum(x, 1e-300), sw2[i], sb2[i], quad)
        return v - x, dv - 1.0

    x, conv, _ = bracketed_newton(fdf, lo, hi, x0=x0, rtol=rtol, maxiter=maxiter)
    report(conv, "q_star", maxiter, on_fail)
    out[todo] = np.where(conv, x, np.nan)
    if not check_conditioning:
        # downstream quantities (chi_1, c*, ...) depend smoothly on a tiny q*
        return out
    # conditioning: V(q) is known to ~eps * V absolutely, so q* to eps * V / |V'(q*) - 1|
    i = todo
    slope = _dV(act, np.maximum(x, 1e-300), sw2[i], sb2[i], quad) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        relerr = 4 * np.finfo(float).eps * np.maximum(x, sb2[i]) / (np.abs(slope) * x)
    ill = conv & ~(relerr <= 1e-6)
    if ill.any():
        report(~ill, "q_star", maxiter, on_fail,
               reason="are ill-conditioned in float64 (q* tiny and V'(q*) ~ 1: estimated "
               f"relative error up to {np.nanmax(relerr[ill]):.1e} > 1e-6)")
    out[todo] = np.where(conv & ~ill, x, np.nan)
    return out
