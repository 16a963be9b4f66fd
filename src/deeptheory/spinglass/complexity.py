"""Annealed complexity of the spherical pure p-spin model (Auffinger, Ben Arous & Cerny 2013).

Conventions (used by every function here):

* H_N(s) = N^{-(p-1)/2} sum_{i_1..i_p} J_{i_1..i_p} s_{i_1} ... s_{i_p}, J iid N(0, 1), on the
  sphere |s|^2 = N, so that E[H_N(s) H_N(s')] = N (s.s'/N)^p.
* Energies are per site, u = H_N / N; minima sit at negative u (near -E_0).
* Complexities are exponential rates in nats: Theta(u) = lim (1/N) log E[Crt_N(u)], where
  Crt_N(u) counts the critical points with H_N <= N u.
* The index k of a critical point is the number of negative eigenvalues of the Riemannian
  Hessian on the (N - 1)-dimensional tangent space.

References: A. Auffinger, G. Ben Arous, J. Cerny, "Random matrices and complexity of spin
glasses", Comm. Pure Appl. Math. 66 (2013) 165-201 [ABC], section 2 (Theorems 2.5 and 2.8;
theorem numbers as in arXiv:1003.1129); A. Auffinger, G. Ben Arous, "Complexity of random
smooth functions on the high-dimensional sphere", Ann. Probab. 41 (2013) 4214-4247 [AB]
(mixed models).

p = 2 (spherical Sherrington-Kirkpatrick) is accepted everywhere: there are exactly 2N critical
points (the +/- eigenvectors of the coupling matrix), so there is no exponential complexity.
The formulas of ABC stay valid as limits of (1/N) log E: Theta_{k,2}(u) = -(k + 1) I_1(u) <= 0
is then the large-deviation rate of E Crt_{N,k}(u) = 2 P(lambda_k <= u), and Theta_2 = 0 for
u >= -E_inf(2) = -sqrt(2), which is also the ground state energy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import binom

from .._api import ConvergenceError
from .._validation import as_float, as_int, broadcast, scalar_or_array
from ._checks import check_k, check_p

__all__ = [
    "e_inf",
    "i1_delta",
    "rate_i1",
    "theta",
    "theta_k",
    "e_k",
    "e_0",
    "energy_table",
    "mixed_total_complexity",
    "mixed_theta_density",
    "mixed_theta",
]

# Series of I_1 in delta: I_1 = 2 sqrt(2) delta^{3/2} sum_n c_n delta^n with
# c_n = binom(1/2, n) 2^{-n} / (n + 3/2), from I_1 = int_0^delta 2 sqrt(s (2 + s)) ds.
# Consecutive terms shrink by ~delta/2, so 24 terms reach 1e-22 relative for delta <= 0.25.
_SERIES_MAX_DELTA = 0.25
_N_SERIES = 24
_C = np.array([binom(0.5, n) * 2.0**-n / (n + 1.5) for n in range(_N_SERIES)])


def _check_p(p: Any) -> np.ndarray:
    return check_p(p)


def _check_u(u: Any) -> np.ndarray:
    return as_float("u", u)


def e_inf(p: Any) -> np.ndarray | float:
    """Threshold energy E_inf(p) = 2 sqrt((p - 1)/p) (Auffinger, Ben Arous & Cerny 2013, sec. 2).

    -E_inf is the left edge of the Hessian's semicircle at a critical point: below it the
    critical points are (exponentially dominated by) minima and saddles of finite index.
    ``p`` (integer >= 2; an array broadcasts) is the interaction order.
    """
    pp = _check_p(p)
    return scalar_or_array(2.0 * np.sqrt((pp - 1.0) / pp))


def _i1_delta(d: np.ndarray) -> np.ndarray:
    """I_1 in the reduced variable delta >= 0 (no checks), stable for all delta."""
    d = np.asarray(d, dtype=float)
    out = np.zeros_like(d)
    small = (d > 0) & (d <= _SERIES_MAX_DELTA)
    if np.any(small):
        ds = d[small]
        out[small] = 2.0 * np.sqrt(2.0) * ds * np.sqrt(ds) * np.polynomial.polynomial.polyval(
            ds, _C)
    big = d > _SERIES_MAX_DELTA
    if np.any(big):
        db = d[big]
        y = np.sqrt(db * (2.0 + db))          # sqrt(x^2 - 1), x = 1 + delta
        out[big] = (1.0 + db) * y - np.log1p(db + y)  # x sqrt(x^2-1) - arccosh(x)
    return out


def i1_delta(delta: Any) -> np.ndarray | float:
    """I_1 as a function of delta = (-u - E_inf)/E_inf >= 0 (p-independent form).

    With u = -E_inf (1 + delta) and x = 1 + delta, the I_1 of Auffinger, Ben Arous & Cerny
    (2013, section 2) becomes

        I_1 = x sqrt(x^2 - 1) - arccosh(x) = int_0^delta 2 sqrt(s (2 + s)) ds
            = (4 sqrt(2) / 3) delta^{3/2} (1 + 3 delta / 20 + ...).

    The closed form cancels catastrophically for small delta (relative error ~1e-16 /
    delta^{3/2}); for delta <= 0.25 the series above (24 terms) is summed instead, giving
    ~1e-15 relative accuracy for every delta.  Use this entry point when delta is known
    exactly: passing u = -E_inf (1 + delta) through :func:`rate_i1` loses the relative
    accuracy eps * |u| / (E_inf delta) of representing u in float64.
    ``delta`` must be finite and >= 0.
    """
    d = as_float("delta", delta, lo=0.0)
    return scalar_or_array(_i1_delta(d))


def rate_i1(u: Any, p: Any) -> np.ndarray | float:
    """Large-deviation rate I_1(u) of the smallest GOE eigenvalue, in the scaling of Auffinger,
    Ben Arous & Cerny 2013 (section 2).

        I_1(u) = -(u / E_inf^2) sqrt(u^2 - E_inf^2) - log(-u + sqrt(u^2 - E_inf^2)) + log E_inf

    for u <= -E_inf, and 0 for u >= -E_inf (E_inf = 2 sqrt((p-1)/p), u = H_N/N).  Evaluated
    stably through :func:`i1_delta` with delta = -u/E_inf - 1.  ``u`` (finite) and ``p``
    (integer >= 2) broadcast.
    """
    uu, pp = broadcast(u=_check_u(u), p=_check_p(p))
    E = 2.0 * np.sqrt((pp - 1.0) / pp)
    d = np.maximum(-uu / E - 1.0, 0.0)
    return scalar_or_array(_i1_delta(d))


def theta_k(u: Any, p: Any, k: int = 0) -> np.ndarray | float:
    """Complexity Theta_{k,p}(u) of critical points of index k below energy u.

    Auffinger, Ben Arous & Cerny 2013 (ABC), Theorem 2.5:

        Theta_{k,p}(u) = 1/2 log(p-1) - (p-2) u^2 / (4(p-1)) - (k+1) I_1(u),  u <= -E_inf
                       = 1/2 log(p-1) - (p-2)/p,                               u >= -E_inf

    (ABC section 2; the branches meet at u = -E_inf since E_inf^2 = 4(p-1)/p).  Conventions:
    u = H_N / N on the sphere of radius sqrt(N), rates in nats, k = number of negative
    Hessian eigenvalues.  ``u`` (finite), ``p`` (integer >= 2) and ``k`` (integer >= 0)
    broadcast together (numpy rules).  For p = 2 the value is <= 0: no exponential complexity
    (see the module docstring).
    """
    uu, pp, kk = broadcast(u=_check_u(u), p=_check_p(p), k=check_k(k))
    E = 2.0 * np.sqrt((pp - 1.0) / pp)
    base = 0.5 * np.log(pp - 1.0)
    low = uu <= -E
    d = np.maximum(-uu / E - 1.0, 0.0)
    out = np.where(
        low,
        base - (pp - 2.0) * uu**2 / (4.0 * (pp - 1.0)) - (kk + 1) * _i1_delta(d),
        base - (pp - 2.0) / pp,
    )
    return scalar_or_array(out)


def theta(u: Any, p: Any) -> np.ndarray | float:
    """Complexity Theta_p(u) of all critical points below energy u.

    Auffinger, Ben Arous & Cerny 2013 (ABC), Theorem 2.8:

        Theta_p(u) = 1/2 log(p-1) - (p-2) u^2 / (4(p-1)) - I_1(u),   u <= -E_inf
                   = 1/2 log(p-1) - (p-2) u^2 / (4(p-1)),            -E_inf <= u <= 0
                   = 1/2 log(p-1),                                    u >= 0

    so the total complexity (all critical points, any energy) is 1/2 log(p-1).  Conventions
    as in :func:`theta_k`.  ``u`` (finite) and ``p`` (integer >= 2) broadcast; non-finite u raise
    ValueError (use any u >= 0 for the total).
    """
    uu, pp = broadcast(u=_check_u(u), p=_check_p(p))
    E = 2.0 * np.sqrt((pp - 1.0) / pp)
    d = np.maximum(-uu / E - 1.0, 0.0)
    quad = (pp - 2.0) * np.minimum(uu, 0.0) ** 2 / (4.0 * (pp - 1.0))
    out = 0.5 * np.log(pp - 1.0) - quad - _i1_delta(d)
    return scalar_or_array(out)


def _theta_k_delta(d: float, p: float, k: int) -> float:
    """Theta_{k,p} at u = -E_inf (1 + d), written in d (no cancellation in u^2)."""
    return float(0.5 * np.log(p - 1.0) - (p - 2.0) / p * (1.0 + d) ** 2
                 - (k + 1) * _i1_delta(np.array(d)))


def _e_k_scalar(p: float, k: int, xtol: float, maxiter: int) -> float:
    E = 2.0 * np.sqrt((p - 1.0) / p)
    if p == 2.0:
        return float(E)
    f0 = _theta_k_delta(0.0, p, k)
    if not f0 > 0:  # only for p so close to 2 that Theta(-E_inf) ~ (p-2)^3/24 underflows
        return float(E)
    hi = 0.125
    while _theta_k_delta(hi, p, k) >= 0:
        hi *= 2.0
        if hi > 1e6:  # pragma: no cover - Theta_{k,p} -> -inf, cannot happen for finite p
            raise ConvergenceError(f"e_k: no sign change of Theta_k found for p={p}, k={k}")
    d, res = brentq(_theta_k_delta, 0.0, hi, args=(p, k), xtol=xtol,
                    rtol=4 * np.finfo(float).eps, maxiter=maxiter, full_output=True, disp=False)
    if not res.converged:
        raise ConvergenceError(
            f"e_k: Brent's method did not reach xtol={xtol:g} on delta in maxiter={maxiter} "
            f"iterations (p={p:g}, k={k}, last delta={d!r}); raise maxiter")
    return float(E * (1.0 + d))


def e_k(p: Any, k: int = 0, *, xtol: float = 1e-15, maxiter: int = 200) -> np.ndarray | float:
    """E_k(p): -E_k(p) is the zero of Theta_{k,p} on u < -E_inf.

        Theta_{k,p}(-E_k) = 0,   E_k > E_inf   (Auffinger, Ben Arous & Cerny 2013, Thm 2.5).

    Below -E_k(p) the mean number of critical points of index k vanishes exponentially; the
    ground state energy is -E_0(p) (ABC section 2).  E_0 > E_1 > ... > E_inf: the layered
    structure of ABC section 2.  Solved with Brent's method in delta = -u/E_inf - 1 >= 0 on a
    bracket [0, hi] (hi doubled until Theta < 0; Theta_{k,p}(-E_inf) = 1/2 log(p-1) - (p-2)/p > 0
    for p > 2), with the stable I_1 of :func:`i1_delta`; absolute tolerance ``xtol`` on delta
    (so E_k to ~1e-15 relative), at most ``maxiter`` iterations
    (:class:`deeptheory.ConvergenceError` beyond).

    p = 2: Theta_{k,2} = -(k+1) I_1 < 0 below -E_inf and 0 above, so the boundary value
    E_k(2) = E_inf(2) = sqrt(2) is returned (the ground state energy of the spherical SK model).
    ``p`` (integer >= 2) and ``k`` (integer >= 0) broadcast (one root per element, ~2 ms each).
    """
    pp, kk = broadcast(p=_check_p(p), k=check_k(k))
    xt = float(as_float("xtol", xtol, lo=0.0))
    if xt <= 0:
        raise ValueError("xtol must be > 0")
    mi = as_int("maxiter", maxiter, lo=1)
    out = np.array([_e_k_scalar(float(a), int(b), xt, mi)
                    for a, b in zip(pp.ravel(), kk.ravel(), strict=True)]).reshape(pp.shape)
    return scalar_or_array(out)


def e_0(p: Any) -> np.ndarray | float:
    """Ground state energy E_0(p): min H_N / N -> -E_0(p), where Theta_{0,p}(-E_0) = 0.

        1/2 log(p-1) - (p-2) E_0^2 / (4(p-1)) - I_1(-E_0) = 0,   E_0 > E_inf = 2 sqrt((p-1)/p)

    (Auffinger, Ben Arous & Cerny 2013, Thm 2.5 and section 2: E_0(3) = 1.657).  ``p`` an
    integer >= 2 (array ok); see :func:`e_k`.
    """
    return e_k(p, 0)


def energy_table(ps: Iterable[int] = range(3, 11), ks: Iterable[int] = (0, 1, 2)
                 ) -> dict[str, np.ndarray]:
    """Table of E_inf(p) = 2 sqrt((p-1)/p) and E_k(p) (Theta_{k,p}(-E_k) = 0) for given p and k.

    Auffinger, Ben Arous & Cerny 2013, Theorem 2.5 (:func:`e_inf`, :func:`e_k`).

    Returns a dict with key ``"p"`` (int array), ``"E_inf"`` and ``"E_<k>"`` for each k in
    ``ks`` (float arrays aligned with ``p``).  Energies are per site and positive: the
    critical values sit at u = -E.  E_0 > E_1 > E_2 > ... > E_inf for every p >= 3.
    """
    plist = [as_int("ps", v, lo=2) for v in ps]
    klist = [as_int("ks", v, lo=0) for v in ks]
    if not plist:
        raise ValueError("ps must not be empty")
    parr = np.array(plist, dtype=int)
    table: dict[str, np.ndarray] = {"p": parr, "E_inf": np.asarray(e_inf(parr.astype(float)))}
    for k in klist:
        table[f"E_{k}"] = np.asarray(e_k(parr.astype(float), k))
    return table


def _mixture(a2: Any) -> tuple[float, float, float]:
    """(xi(1), xi'(1), xi''(1)) of xi(t) = sum_p a2[p] t^p, with argument checks."""
    c = as_float("a2", a2, lo=0.0)
    if c.ndim != 1:
        raise ValueError(f"a2 must be a 1-d sequence of coefficients, got shape {c.shape}")
    if c.size < 3 or not np.any(c[2:] > 0):
        raise ValueError("a2 must have a positive coefficient for some p >= 2")
    if np.any(c[:2] != 0):
        raise ValueError("a2[0] and a2[1] (constant and external-field terms) must be 0")
    pw = np.arange(c.size, dtype=float)
    return float(np.sum(c)), float(np.sum(c * pw)), float(np.sum(c * pw * (pw - 1.0)))


def mixed_total_complexity(a2: Any) -> float:
    """Total annealed complexity of a mixed spherical p-spin model (cf. Auffinger & Ben Arous,
    Ann. Probab. 41 (2013) 4214-4247).

    Mixture xi(t) = sum_p a_p^2 t^p, i.e. H_N = sum_p a_p H_{N,p} with independent pure p-spin
    H_{N,p} in the convention above, E[H_N(s) H_N(s')] = N xi(s.s'/N).  ``a2[j]`` is the
    coefficient a_p^2 of t^p for p = j (``a2[0]`` and ``a2[1]`` must be 0: no constant or
    external-field term); entries finite, >= 0, not all 0.

        lim (1/N) log E Crt_N(R) = 1/2 log(xi''(1) / xi'(1))    (nats)

    Derived here by the Kac-Rice computation of AB 2013 (section 3): the tangent Euclidean
    Hessian is GOE with off-diagonal variance xi''(1)/N, independent of the gradient (variance
    xi'(1)) and of Y = s.grad H / N ~ N(0, (xi''(1) + xi'(1))/N); the Riemannian Hessian is that
    GOE minus Y I.
    The Laplace method in (u, Y) (see :func:`mixed_theta_density`) is maximal at u = Y = 0 since
    xi''(1) >= xi'(1) for p >= 2.  Pure p: 1/2 log(p - 1), as :func:`theta` at u >= 0; pure
    p = 2: 0.
    """
    _, d1, d2 = _mixture(a2)
    return 0.5 * float(np.log(d2 / d1))


def _phi_prime(x: float) -> float:
    """d/dx int log|x - l| rho_sc(l) dl for the semicircle on [-sqrt 2, sqrt 2]."""
    if abs(x) <= np.sqrt(2.0):
        return x
    return x - np.sign(x) * np.sqrt(x * x - 2.0)


def _mixed_density_scalar(u: float, nu: float, d1: float, d2: float) -> float:
    a2 = max(d2 + d1 - d1 * d1 / nu, 0.0)
    m = d1 * u / nu
    s = np.sqrt(2.0 * d2)
    if a2 <= 1e-14 * (d2 + d1) or m == 0.0:
        y = m
    else:
        hi = m * 2.0 * d2 / (2.0 * d2 - a2)

        def gp(y: float) -> float:
            return _phi_prime(y / s) / s - (y - m) / a2

        if abs(hi) <= s * np.sqrt(2.0):
            y = hi  # the bulk (x in [-sqrt 2, sqrt 2]) stationary point, exact
        else:  # gp(m) and gp(hi) have opposite signs since Phi'(x) < x outside the bulk
            y, res = brentq(gp, min(m, hi), max(m, hi), xtol=1e-15 * (1 + abs(hi)),
                            rtol=4 * np.finfo(float).eps, maxiter=200, full_output=True,
                            disp=False)
            if not res.converged:  # pragma: no cover - concave sup on a valid bracket
                raise ConvergenceError(
                    f"mixed_theta_density: Brent's method did not converge at u={u!r}")
    x = y / s
    tilt = 0.0 if a2 <= 1e-14 * (d2 + d1) else (y - m) ** 2 / (2.0 * a2)
    # Phi(x) + 1/2 + 1/2 log 2 = x^2/2 - I_1 (the constants combine with the Kac-Rice volume)
    phi = 0.5 * x * x - float(_i1_delta(np.array(max(abs(x) / np.sqrt(2.0) - 1.0, 0.0))))
    return 0.5 * np.log(d2 / d1) - u * u / (2.0 * nu) + phi - tilt


def mixed_theta_density(u: Any, a2: Any) -> np.ndarray | float:
    """Complexity of critical values at energy u of the mixed spherical model xi (all indices);
    Kac-Rice as in Auffinger & Ben Arous 2013 (Ann. Probab. 41, 4214-4247), section 3.

        D(u) = 1/2 log(xi''/xi') - u^2 / (2 xi) + sup_y [ x^2/2 - I_1(x) - (y - m(u))^2 / (2 a^2) ]

    with xi, xi', xi'' at t = 1, x = y / sqrt(2 xi''), I_1(x) = i1_delta(|x|/sqrt(2) - 1) (0 for
    |x| <= sqrt 2), m(u) = xi' u / xi and a^2 = xi'' + xi' - xi'^2 / xi the conditional variance
    (times N) of Y = s.grad H / N given H / N = u.  This is the Kac-Rice formula (AB 2013 section
    3, ABC section 3) with E|det(GOE - y)| evaluated by its large-N limit
    exp(N int log|x - l| rho_sc(dl)) and the Gaussian integral over Y done by the Laplace method;
    the sup over y is concave and is solved by Brent's method on a bracket.  For a pure p-spin
    a^2 = 0 and y = p u, giving ABC's Theta_p(u) on u <= 0.  D is even in u and maximal at u = 0
    where it equals :func:`mixed_total_complexity`.  Derived here, not transcribed from AB 2013
    (whose statement was not compared): it is tested against ABC's pure-p formula, the total,
    the H -> -H symmetry and continuity in the mixture only.  ``u`` finite (array ok); ``a2`` as
    in :func:`mixed_total_complexity`.
    """
    uu = _check_u(u)
    nu, d1, d2 = _mixture(a2)
    out = np.array([_mixed_density_scalar(float(v), nu, d1, d2) for v in uu.ravel()])
    return scalar_or_array(out.reshape(uu.shape))


def mixed_theta(u: Any, a2: Any) -> np.ndarray | float:
    """Complexity of all critical points below energy u for the mixed model: sup_{v <= u} D(v)
    (Auffinger & Ben Arous 2013, Ann. Probab. 41, 4214-4247; derived as in
    :func:`mixed_theta_density`).

    D (:func:`mixed_theta_density`) is non-decreasing on u <= 0 (at the optimum
    |xi' Phi'(x*)| / sqrt(2 xi'') <= xi'^2 |u| / (xi (2 xi'' - a^2)) <= |u| because
    xi'' >= xi'), so this is D(min(u, 0)): the total complexity 1/2 log(xi''/xi') for u >= 0.
    Pure p: equals :func:`theta`.  Conventions and arguments as in :func:`mixed_theta_density`.
    """
    uu = _check_u(u)
    return mixed_theta_density(np.minimum(uu, 0.0), a2)
