"""Free additive and multiplicative convolution, computed by subordination.

Conventions as in :mod:`deeptheory.rmt.laws` (``G ~ 1/z``, ``Im G < 0`` above the axis,
``M = z G - 1``, ``R(G(z)) + 1/G(z) = z``, ``S(m) = (1 + m)/(m M^{-1}(m))``).

Additive (``R_{A+B} = R_A + R_B``; Voiculescu 1986).  There are analytic subordination
functions w_A, w_B of the upper half-plane (Biane 1998; Belinschi & Bercovici 2007) with

    G(z) = G_A(w_A) = G_B(w_B),     w_A + w_B = z + 1/G(z).

Multiplicative (``S_{AB} = S_A S_B`` for laws on [0, inf); Voiculescu 1987).  With
chi = M^{-1}, S_A S_B = S_AB reads chi_A(m) chi_B(m) = chi_AB(m) (1 + m)/m, so with
m = M(z) and w_A = chi_A(m), w_B = chi_B(m):

    M(z) = M_A(w_A) = M_B(w_B),     w_A w_B = z (1 + M(z)) / M(z).

Free multiplicative power A^{[L]} (L free copies multiplied), optionally times L copies of
a law with closed-form S (the weights of a deep network): with w = chi_A(m),

    log z = L log w - (L - 1) log((1 + m)/m) - L log S_W(m),

one complex unknown w per point (Pennington, Schoenholz & Ganguli 2018, eqs. 12-16, in
these variables).

Alternatives in the literature are Rao & Edelman's polynomial method (2008; exact for
algebraic laws, with a root to choose at every z) and Olver & Nadakuditi (2012; Chebyshev
expansions of compactly supported densities).  Subordination needs only G and G' of the
two laws, which covers closed forms, quadrature laws of densities and the law of
phi'(x)^2 of any activation alike.

Solver: damped Newton on these equations (two unknowns for the convolutions, one for the
power, logarithms compared modulo 2 pi i) at z = x + i y for all x at once, with *vertical
continuation*: start at a large height y where w ~ z (additive) or the moment series holds,
halve y down to the requested height with warm starts.  This follows the physical branch
(the subordination functions are analytic in the upper half-plane, Belinschi & Bercovici
2007); picking a polynomial root by largest density can pick the wrong one.
Each step is accepted only if it lowers the residual and keeps every subordination point in
the closed upper half-plane (Im w >= Im z for the additive case, Im w >= 0 for the
multiplicative one).  The density is rho(x) = -Im G(x + i h)/pi at the final height
h = eps times the scale of the support (additive) or times min(|x|, scale)
(multiplicative); its bias is O(h) in the bulk (first order: h Re G'(x)) and O(sqrt(h))
at square-root edges; atoms show as peaks of height mass/(pi h).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._api import ConvergenceError, Result, check_on_fail, report_nonconvergence
from .._validation import as_float, as_int, scalar_or_array
from ..kernels import power_equation as _power
from .numerical import DiscreteLaw, SpectralLaw, _check_law

__all__ = [
    "FreeConvolution",
    "free_additive_convolution",
    "free_multiplicative_convolution",
    "free_multiplicative_power",
]


@dataclass(frozen=True)
class FreeConvolution(Result):
    """Result of a free convolution evaluated at ``z = x + i h`` (h from ``eps``, or
    z = x itself for complex x).

    ``density``: -Im G/pi at the points (float for scalar x); ``stieltjes``: G there;
    ``z``: the complex points used.

    Density by Stieltjes inversion, rho = -Im G(x + i h)/pi (Akhiezer 1965; Biane 1998).
    """

    density: np.ndarray | float
    stieltjes: np.ndarray | complex
    z: np.ndarray | complex


def _wrap(r: np.ndarray) -> np.ndarray:
    """Reduce the imaginary part of a log residual to (-pi, pi]."""
    return r.real + 1j * np.angle(np.exp(1j * r.imag))


#: step halvings of the damped Newton line search
_HALVINGS = 30
#: a line-search call tries at least this many (point, step length) pairs: few remaining
#: points try several halvings at once (one kernel launch instead of one per halving)
_LINE_BATCH = 64


def _newton(
    unknowns: list[np.ndarray],
    residual: Callable,
    admissible: Callable,
    iters: int,
    tol: float = 1e-14,
    max_step: Callable | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Damped Newton for 1 or 2 complex unknowns per point (vectorised over points).

    ``residual(u) -> (r, jac)`` with r a list of k arrays and jac a k x k nested list.
    ``max_step(u)`` (optional) caps the length of each unknown's step per point (a trust
    region: it keeps subordination points from jumping onto the poles of a discrete law).
    A step is halved (up to 30 times) until the residual norm drops and
    ``admissible(u)`` holds; when few points are left in the line search they try their
    next halvings in one residual call (at least ``_LINE_BATCH`` candidates per call) and
    each keeps its first acceptable one, which is the step halving one at a time would
    take.  Returns the unknowns and the final residual norm.
    """
    k = len(unknowns)
    u = [a.copy() for a in unknowns]
    r, jac = residual(u)
    norm = np.sqrt(sum(np.abs(ri) ** 2 for ri in r))
    # points whose whole line search failed: their state is unchanged, so every further
    # iteration would repeat the same rejected steps (typically a residual at rounding
    # level above 1e-14): they stop, which changes no value
    stuck = np.zeros(u[0].shape, bool)
    for _ in range(iters):
        if k == 1:
            steps = [r[0] / jac[0][0]]
        else:
            det = jac[0][0] * jac[1][1] - jac[0][1] * jac[1][0]
            steps = [
                (r[0] * jac[1][1] - jac[0][1] * r[1]) / det,
                (jac[0][0] * r[1] - jac[1][0] * r[0]) / det,
            ]
        small = np.all(
            [np.abs(s) <= tol * (np.abs(ui) + tol) for s, ui in zip(steps, u, strict=True)],
            axis=0,
        )
        # converged: a negligible step, or a residual at rounding level (1e-14) where
        # further steps cannot lower it
        small |= norm < 1e-14
        small |= stuck
        if np.all(small):
            break
        t = np.ones(u[0].shape)
        if max_step is not None:
            for si, cap in zip(steps, max_step(u), strict=True):
                t = np.minimum(t, cap / np.maximum(np.abs(si), 1e-300))
        todo = ~small
        tried = 0
        while tried < _HALVINGS:
            idx = np.nonzero(todo)[0]
            if idx.size == 0:
                break
            # the stragglers' next nb step lengths t, t/2, ... in one residual call
            nb = min(_HALVINGS - tried, -(-_LINE_BATCH // idx.size))
            tt = np.empty((nb, idx.size))
            tt[0] = t[idx]
            for j in range(1, nb):
                tt[j] = tt[j - 1] * 0.5
            rep = np.tile(idx, nb)
            tf = tt.ravel()
            cand = [ui[rep] - tf * si[rep] for ui, si in zip(u, steps, strict=True)]
            with np.errstate(all="ignore"):
                rc, jc = residual(cand, rep)
                nc = np.sqrt(sum(np.abs(ri) ** 2 for ri in rc))
            ok = np.isfinite(nc) & (nc < norm[rep] * (1.0 - 1e-4 * tf) + 1e-300)
            ok &= admissible(cand, rep)
            okm = ok.reshape(nb, idx.size)
            hit = okm.any(axis=0)
            # per point, the first (longest) acceptable step, as halving one by one would
            sel = (np.argmax(okm, axis=0) * idx.size + np.arange(idx.size))[hit]
            acc = idx[hit]
            for j in range(k):
                u[j][acc] = cand[j][sel]
                r[j][acc] = rc[j][sel]
                for i in range(k):
                    jac[j][i][acc] = jc[j][i][sel]
            norm[acc] = nc[sel]
            todo[acc] = False
            t[idx[~hit]] = tt[-1][~hit] * 0.5
            tried += nb
        stuck |= todo
    return u, norm


def _top(s: float, xf: np.ndarray, heights: np.ndarray) -> float:
    """Starting height of the continuation: well above the support and every point."""
    return 4.0 * (s + float(np.abs(xf).max(initial=0.0))) + 1.0 + float(heights.max(initial=0))


def _levels(y_top: float, eps: np.ndarray, shrink: float = 0.25) -> list[float]:
    """Heights y_top, y_top shrink, ... down to the lowest final height (before the
    per-point floor max(y, eps) and the last level eps itself)."""
    ys = [y_top]
    while ys[-1] * shrink > float(eps.min()):
        ys.append(ys[-1] * shrink)
    return ys


def _heights(y_top: float, eps: np.ndarray, shrink: float = 0.25) -> list[np.ndarray]:
    return [np.maximum(y, eps) for y in _levels(y_top, eps, shrink)] + [eps]


def _prepare_x(
    x: Any, eps: Any, scale: float, relative: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate x and eps; return (real points, final heights, eps).

    Real ``x``: heights eps * scale, or eps * min(|x|, scale) (``relative``, for laws on
    [0, inf) whose density can spread over many decades near 0).  Complex ``x`` (every
    Im x > 0): evaluate at those points, the heights are Im x and ``eps`` is ignored.
    """
    if np.iscomplexobj(np.asarray(x)):
        za = np.asarray(x, dtype=complex)
        if not np.all(np.isfinite(za)):
            raise ValueError("x must be finite")
        if not np.all(za.imag > 0.0):
            raise ValueError("complex x must lie in the upper half-plane (Im x > 0)")
        return za.real.copy(), za.imag.ravel().copy(), float("nan")
    xs = as_float("x", x)
    if not np.all(np.isfinite(xs)):
        raise ValueError("x must be finite")
    e = float(as_float("eps", eps))
    if not (e > 0.0 and math.isfinite(e)):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    if relative:
        ax = np.abs(xs.ravel())
        return xs, e * np.where(ax > 0.0, np.minimum(ax, scale), scale), e
    return xs, np.full(xs.size, e * scale), e


def _finish(xs: np.ndarray, z: np.ndarray, g: np.ndarray, norm: np.ndarray, what: str):
    if not np.all(norm < 1e-8):
        raise ConvergenceError(
            f"{what}: Newton continuation did not converge at {int(np.sum(norm >= 1e-8))} "
            f"points (max residual {float(np.nanmax(norm)):.3g}); try a larger eps"
        )
    dens = np.where(np.isnan(g), np.nan, np.maximum(-g.imag / np.pi, 0.0))
    shape = xs.shape
    gz = g.reshape(shape)
    zz = z.reshape(shape)
    return FreeConvolution(
        scalar_or_array(dens.reshape(shape)),
        gz if gz.ndim else complex(gz),
        zz if zz.ndim else complex(zz),
    )


def _scale(*ls: SpectralLaw) -> float:
    return max(max(abs(v) for v in law.support) for law in ls) or 1.0


def _solve2(jac, r):
    """Solve the 1x1 or 2x2 complex systems jac d = r (vectorised)."""
    if len(r) == 1:
        return [r[0] / jac[0][0]]
    det = jac[0][0] * jac[1][1] - jac[0][1] * jac[1][0]
    return [(r[0] * jac[1][1] - jac[0][1] * r[1]) / det,
            (jac[0][0] * r[1] - jac[1][0] * r[0]) / det]


def _continue(
    xf: np.ndarray,
    hs: list[np.ndarray],
    u0: list[np.ndarray],
    residual: Callable,
    dfdz: Callable,
    g_of: Callable,
    admissible: Callable,
    max_step: Callable,
    state: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical continuation from height hs[0] down to hs[-1] (per point).

    At each level an Euler predictor (du = -J^{-1} dF/dz dz) and a damped, trust-region
    Newton correction.  ``state["z"]`` is the current z the residual reads.  Returns, per
    point, the lowest z at which the equations were solved to 1e-8, G there, and the
    residual norm at the last level (>= 1e-8 where the last levels failed).
    """
    u = [np.asarray(v, complex).copy() for v in u0]
    norm = np.zeros(xf.size)
    z_best = np.full(xf.size, np.nan + 0j)
    g_best = np.full(xf.size, np.nan + 0j)
    zprev = None
    for n, y in enumerate(hs):
        zcur = xf + 1j * y
        if zprev is not None:
            state["z"] = zprev
            _, jac = residual(u)
            du = _solve2(jac, [d * (zcur - zprev) for d in dfdz(u, zprev)])
            pred = [ui - di for ui, di in zip(u, du, strict=True)]
            good = np.all([np.isfinite(p) for p in pred], axis=0) & admissible(pred)
            u = [np.where(good, p, ui) for p, ui in zip(pred, u, strict=True)]
        zprev = zcur
        state["z"] = zcur
        last = n == len(hs) - 1
        u, norm = _newton(u, residual, admissible, 80 if last else 5, max_step=max_step)
        # remember the lowest height at which each point was solved (fallback for points
        # whose last levels fail, e.g. below the resolution of a quadrature law)
        ok = norm < 1e-8
        z_best[ok] = zcur[ok]
        g_best[ok] = g_of([ui[ok] for ui in u], zcur[ok])
    return z_best, g_best, norm


def _trust(u):
    """Cap each step at half the distance to the real axis (where a quadrature law has
    its poles) plus 1e-3 |w|, so that real solutions (outside the support) stay reachable."""
    return [0.5 * np.abs(ui.imag) + 1e-3 * np.abs(ui) for ui in u]


def _check_continuation(z, g, norm, what, stacklevel: int = 4, on_fail: str = "raise") -> None:
    """Where no level was solved: :class:`~deeptheory._api.ConvergenceError` (``on_fail =
    "raise"``), or a warning / nothing, those points then being NaN; warn where the last
    levels failed (the value is then the one at the lowest height reached, see
    :func:`_continue`)."""
    if np.any(np.isnan(g)):
        report_nonconvergence(
            f"{what}: Newton continuation did not converge at {int(np.isnan(g).sum())} "
            f"points (returned as NaN with on_fail='warn'/'ignore'); try a larger eps",
            on_fail, stacklevel=stacklevel,
        )
    late = norm >= 1e-8
    if np.any(late):
        k = int(np.argmax(late))
        warnings.warn(
            f"{what}: at {int(late.sum())} points (e.g. x = {z[k].real:.3g}) the "
            f"continuation stopped at height {z[k].imag:.3g} above the requested one: the "
            f"density there is smoothed at that height",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _result(xs, z, g, norm, what, on_fail="raise"):
    _check_continuation(z, g, norm, what, stacklevel=5, on_fail=on_fail)
    return _finish(xs, z, g, np.zeros(z.shape), what)


def _empty(xs: np.ndarray) -> FreeConvolution:
    """Result for an empty ``x`` (numpy convention: empty in, empty out, same shape)."""
    return FreeConvolution(np.zeros(xs.shape), np.zeros(xs.shape, complex),
                           np.zeros(xs.shape, complex))


def free_additive_convolution(
    a: SpectralLaw, b: SpectralLaw, x: Any, *, eps: float = 1e-9, on_fail: str = "raise"
) -> FreeConvolution:
    """Law of A + B for free A, B (``R_{A+B} = R_A + R_B``; Voiculescu 1986).

    Evaluated at z = x + i eps s, s the largest |support edge| of ``a`` and ``b``, by
    subordination (module docstring): unknowns w_A, w_B with
    G_A(w_A) - G_B(w_B) = 0 and w_A + w_B - z - 1/G_A(w_A) = 0, Newton continued down
    from height 4 (s + max|x|) + 1, steps kept at Im w >= Im z (Belinschi & Bercovici
    2007).  A complex ``x`` (Im x > 0) is used as z itself.  Returns
    :class:`FreeConvolution` (density -Im G/pi, G, z).
    Check: two semicircles of variances v1, v2 give the semicircle of variance v1 + v2.
    ``on_fail``: where the continuation solves no level at some points, ``"raise"``
    (default) raises :class:`~deeptheory._api.ConvergenceError`; ``"warn"`` / ``"ignore"``
    return NaN there and keep the rest of the grid.  An empty ``x`` gives empty arrays.
    """
    a, b = _check_law(a), _check_law(b)
    s = _scale(a, b)
    check_on_fail(on_fail)
    xs, eps_abs, _ = _prepare_x(x, eps, s)
    if xs.size == 0:
        return _empty(xs)
    xf = xs.ravel()
    hs = _heights(_top(s, xf, eps_abs), eps_abs)
    z = xf + 1j * hs[0]
    state = {"z": z}

    def residual(u, idx=slice(None)):
        ga, dga = a.G_dG(u[0])
        gb, dgb = b.G_dG(u[1])
        r = [ga - gb, u[0] + u[1] - state["z"][idx] - 1.0 / ga]
        jac = [[dga, -dgb], [1.0 + dga / (ga * ga), np.ones_like(ga)]]
        return r, jac

    def admissible(u, idx=slice(None)):
        lim = state["z"][idx].imag * (1.0 - 1e-9)
        return (u[0].imag >= lim) & (u[1].imag >= lim)

    zb, gb, norm = _continue(
        xf, hs, [z - b.mean, z - a.mean], residual,
        lambda u, zz: [np.zeros_like(zz), -np.ones_like(zz)],
        lambda u, zz: a.G_dG(u[0])[0], admissible, None, state,
    )
    return _result(xs, zb, gb, norm, "free_additive_convolution", on_fail)


def _positive_law(law: SpectralLaw, name: str) -> None:
    if law.support[0] < 0.0 or not law.mean > 0.0:
        raise ValueError(
            f"{name} must be a law on [0, inf) with a positive mean for the S-transform "
            f"(support starts at {law.support[0]!r}, mean {law.mean!r})"
        )


def free_multiplicative_convolution(
    a: SpectralLaw, b: SpectralLaw, x: Any, *, eps: float = 1e-9, on_fail: str = "raise"
) -> FreeConvolution:
    """Law of A^(1/2) B A^(1/2) for free A, B >= 0 (``S_{AB} = S_A S_B``; Voiculescu 1987).

    Subordination (module docstring): unknowns w_A, w_B with M_A(w_A) - M_B(w_B) = 0 and
    log w_A + log w_B - log z - log((1 + m)/m) = 0 (m = M_A(w_A), logs modulo 2 pi i),
    Newton continued down from a large height to z = x + i eps min(|x|, s) (s = scale of
    the laws' supports: the height is relative to x, because products spread their mass
    over many decades near 0), steps kept at Im w >= 0.  Both laws must be on [0, inf)
    with positive mean.  A complex ``x`` (Im x > 0) is used as z itself.  Returns
    :class:`FreeConvolution`.
    ``on_fail``: where the continuation solves no level at some points, ``"raise"``
    (default) raises :class:`~deeptheory._api.ConvergenceError`; ``"warn"`` / ``"ignore"``
    return NaN there and keep the rest of the grid.  An empty ``x`` gives empty arrays.
    """
    a, b = _check_law(a), _check_law(b)
    _positive_law(a, "a")
    _positive_law(b, "b")
    s = max(a.support[1] * b.support[1], a.mean * b.mean)
    check_on_fail(on_fail)
    xs, eps_abs, _ = _prepare_x(x, eps, s, relative=True)
    if xs.size == 0:
        return _empty(xs)
    xf = xs.ravel()
    hs = _heights(_top(s, xf, eps_abs), eps_abs)
    z = xf + 1j * hs[0]
    state = {"z": z}

    def residual(u, idx=slice(None)):
        ma, dma = a.M_dM(u[0])
        mb, dmb = b.M_dM(u[1])
        r = [
            ma - mb,
            _wrap(np.log(u[0]) + np.log(u[1]) - np.log(state["z"][idx]) - np.log1p(ma)
                  + np.log(ma)),
        ]
        dlog = 1.0 / (1.0 + ma) - 1.0 / ma
        jac = [[dma, -dmb], [1.0 / u[0] - dlog * dma, 1.0 / u[1]]]
        return r, jac

    def admissible(u, idx=slice(None)):
        return (u[0].imag >= 0.0) & (u[1].imag >= 0.0)

    zb, gb, norm = _continue(
        xf, hs, [z / b.mean, z / a.mean], residual,
        lambda u, zz: [np.zeros_like(zz), -1.0 / zz],
        lambda u, zz: (1.0 + a.M_dM(u[0])[0]) / zz, admissible, _trust, state,
    )
    return _result(xs, zb, gb, norm, "free_multiplicative_convolution", on_fail)


class _WeightS(NamedTuple):
    """S-transform of the weights W W^T in the power equation: S_W = 1/sigma_w^2
    (``orthogonal``) or 1/(sigma_w^2 (1 + m)) (Gaussian)."""

    orthogonal: bool
    log_sigma_w2: float

    def __call__(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log S_W(m), d/dm log S_W(m))."""
        if self.orthogonal:
            return np.full_like(m, -self.log_sigma_w2), np.zeros_like(m)
        return -self.log_sigma_w2 - np.log1p(m), -1.0 / (1.0 + m)


#: solve the power equation of a discrete law with the compiled per-point continuation
#: (:mod:`deeptheory.kernels.power_equation`); False: the vectorised solver below (any law)
COMPILED_POWER = True


def _power_solve(
    law: SpectralLaw,
    L: int,
    xf: np.ndarray,
    eps_abs: np.ndarray,
    log_s_w: _WeightS | None,
    m1_total: float,
    y_top: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve for w = chi_law(m) at z = x + i eps; return (z, G, residual norm), see
    :func:`_continue`.

    Residual: L log w - (L - 1) log((1+m)/m) - L log S_W(m) - log z, m = M_law(w)
    (since log chi_W - log((1+m)/m) = -log S_W); ``log_s_w(m)`` returns (log S_W, d/dm),
    or is None for no weight factor.  A :class:`DiscreteLaw` goes through the compiled
    per-point continuation (the same algorithm, one kernel launch), any other law
    through the vectorised one.
    """
    if COMPILED_POWER and isinstance(law, DiscreteLaw):
        if log_s_w is None:
            kind, lsw = _power.NO_WEIGHTS, 0.0
        else:
            kind = _power.ORTHOGONAL if log_s_w.orthogonal else _power.GAUSSIAN
            lsw = log_s_w.log_sigma_w2
        return _power.power_continuation(
            law.nodes, law.weights, law.moments, L, xf, eps_abs,
            np.array(_levels(y_top, eps_abs)), kind, lsw, m1_total,
        )
    hs = _heights(y_top, eps_abs)
    z = xf + 1j * hs[0]
    m = m1_total / z
    state = {"z": z}

    def residual(u, idx=slice(None)):
        mm, dmm = law.M_dM(u[0])
        lr = np.log1p(mm) - np.log(mm)
        dlr = 1.0 / (1.0 + mm) - 1.0 / mm
        f = L * np.log(u[0]) - (L - 1) * lr - np.log(state["z"][idx])
        dfdm = -(L - 1) * dlr
        if log_s_w is not None:
            ls, dls = log_s_w(mm)
            f = f - L * ls
            dfdm = dfdm - L * dls
        return [_wrap(f)], [[L / u[0] + dfdm * dmm]]

    def admissible(u, idx=slice(None)):
        return u[0].imag >= 0.0

    return _continue(
        xf, hs, [law.mean / m + law.moments[2] / law.mean], residual,
        lambda u, zz: [-1.0 / zz], lambda u, zz: (1.0 + law.M_dM(u[0])[0]) / zz,
        admissible, _trust, state,
    )


def free_multiplicative_power(
    law: SpectralLaw, L: int, x: Any, *, eps: float = 1e-9, on_fail: str = "raise"
) -> FreeConvolution:
    """Law of the product of ``L`` free copies of ``law`` >= 0: S = S_law^L.

    One unknown w = chi_law(m) per point: L log w - (L - 1) log((1 + m)/m) = log z with
    m = M_law(w) (module docstring), Newton continued down to z = x + i eps min(|x|, s),
    s = (upper support edge)^L.  Check: the square of Marchenko-Pastur (ratio 1) has the
    Fuss-Catalan moments C(3k, k)/(2k + 1).  A complex ``x`` (Im x > 0) is used as z
    itself.  Returns :class:`FreeConvolution`.
    ``on_fail``: where the continuation solves no level at some points, ``"raise"``
    (default) raises :class:`~deeptheory._api.ConvergenceError`; ``"warn"`` / ``"ignore"``
    return NaN there and keep the rest of the grid.  An empty ``x`` gives empty arrays.

    S-transforms multiply: S_{A^[L]} = S_A^L (Voiculescu 1987; Pennington, Schoenholz
    & Ganguli 2018, eqs. 12-16; Fuss-Catalan moments: Mlotkowski 2010).
    """
    law = _check_law(law)
    _positive_law(law, "law")
    L = as_int("L", L, lo=1)
    s = max(law.support[1], law.mean) ** L
    check_on_fail(on_fail)
    xs, eps_abs, _ = _prepare_x(x, eps, s, relative=True)
    if xs.size == 0:
        return _empty(xs)
    xf = xs.ravel()
    z, g, norm = _power_solve(law, L, xf, eps_abs, None, law.mean**L, _top(s, xf, eps_abs))
    return _result(xs, z, g, norm, "free_multiplicative_power", on_fail)
