"""Full limiting eigenvalue density of J J^T for a deep random network (free probability).

For J = D_L W_L ... D_1 W_1 with every layer at the fixed point q* (see
:mod:`deeptheory.rmt.jacobian`), Pennington, Schoenholz & Ganguli (2017, 2018) show that the
S-transform of J J^T factorises over the layers,

    S_{J J^T}(m) = S_{D^2}(m)^L  S_{W W^T}(m)^L,

with S_{W W^T} = 1/(sigma_w^2 (1 + m)) for Gaussian weights, 1/sigma_w^2 for scaled Haar
orthogonal ones, and S_{D^2}(m) = (1 + m)/(c^2 (m + p)) when phi' takes only the values 0
and c (D^2 ~ c^2 Bernoulli(p): linear c = p = 1, relu p = 1/2, hard_tanh p = erf(1/sqrt(2 q*))).
Other activations (tanh, erf, ...) have no closed-form S_{D^2}: their D^2 is a quadrature
law (:func:`deeptheory.rmt.numerical.dphi2_law`) and the density comes from the
subordination solver of :mod:`deeptheory.rmt.free` (see :func:`jacobian_density`).

Method.  With s = (sigma_w^2 c^2)^L, the inverse of the moment generating function
M(z) = z G(z) - 1 is M^{-1}(m) = (1 + m)/(m S(m)), i.e.

    Gaussian:    z / s = (1 + m) (m + p)^L / m,
    orthogonal:  z / s = (m + p)^L / (m (1 + m)^(L - 1)).

We solve z = M^{-1}(M) at z = x + i eps for all x at once by Newton's method on
log M^{-1}(M) - log z in the variable u = M + p, with *vertical continuation*: start at a
large height Im z = Y (where M ~ m1/z + m2/z^2), lower Im z geometrically (factor 1/2) down
to eps with warm starts and a few backtracked Newton steps per level.  This follows the
physical branch (Im G < 0 above the axis); picking "the root with the largest density"
among polynomial roots can pick the wrong branch.  Working with u = M + p avoids
cancellation: G = (1 + M)/z = (1 - p)/z + u/z, so the atom (1 - p) delta_0 is removed
exactly and the continuous part near 0 is u/z.

Atoms: mass 1 - p at 0 (the rank of J is at most p N), and for orthogonal weights with
Bernoulli D^2 an atom at s = (sigma_w^2 c^2)^L of mass max(0, 1 - L (1 - p)) (the
subspace on which every D_l is the identity).  The second is subtracted from G before
reading rho = -Im G / pi.  The returned density is the continuous part only; its integral
is 1 minus the atom masses.  Orthogonal linear networks (p = 1) are s times an orthogonal
matrix: J J^T = s I, a single atom, and the continuous density is identically 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._api import Result, check_on_fail, report_nonconvergence
from .._validation import as_float, as_int, scalar_or_array
from ..kernels import get_activation, legendre_rule
from .free import _check_continuation, _power_solve, _WeightS
from .jacobian import _network_grid, _setup, dphi_moment
from .numerical import DiscreteLaw, dphi2_law

__all__ = [
    "JacobianDensity",
    "jacobian_atoms",
    "jacobian_cdf",
    "jacobian_singular_value_density",
    "jacobian_density",
    "jacobian_max_eigenvalue",
]


@dataclass(frozen=True)
class JacobianDensity(Result):
    """Result of :func:`jacobian_density`.

    ``density``: continuous part of the limiting eigenvalue density of J J^T at ``x``
    (float for scalar ``x``, else an array of x's shape);
    ``atoms``: tuple of (location, mass) pairs with mass > 0, not included in ``density``.
    The total mass is ``integral density + sum of atom masses = 1``.

    (Pennington, Schoenholz & Ganguli 2017, 2018.)
    """

    density: np.ndarray | float
    atoms: tuple[tuple[float, float], ...]


class _Law(NamedTuple):
    scale: float  # s = (sigma_w^2 c^2)^L
    p: float  # Bernoulli parameter of D^2 / c^2
    L: int
    orthogonal: bool


class _General(NamedTuple):
    d2: DiscreteLaw  # law of D^2 = phi'(sqrt(q*) z)^2
    sigma_w2: float
    L: int
    orthogonal: bool
    d2_sup: float = math.nan  # sup of phi'^2 (used at depth 1, orthogonal)
    q: float = math.nan  # the fixed point q* (variance of every layer)


def _dphi_values(act) -> list[float]:
    import sympy as sp  # deferred: start-up time

    d = act.derivative_expr(1)
    if d.is_Number:
        return [float(d)]
    if isinstance(d, sp.Piecewise) and all(e.is_Number for e, _ in d.args):
        return [float(e) for e, _ in d.args]
    return []


def _law(sigma_w2, sigma_b2, depth, activation, weights) -> _Law | _General:
    act, sw2, _, L, _, q = _setup(sigma_w2, sigma_b2, depth, activation, weights)
    vals = {abs(v) for v in _dphi_values(act)}
    nonzero = vals - {0.0}
    if not vals or len(nonzero) != 1:
        return _General(dphi2_law(act, q), sw2, L, weights == "orthogonal", _sup_dphi2(act, q),
                        q)
    c2 = nonzero.pop() ** 2
    p = float(dphi_moment(act, q, 1)) / c2  # E[phi'^2] = c^2 P(phi' != 0)
    p = min(max(p, 0.0), 1.0)
    if p <= 0.0 or sw2 == 0.0:
        raise ValueError(
            "the Jacobian is identically zero here (p = P(phi' != 0) = 0 or sigma_w2 = 0): "
            "the spectrum is a single atom at 0"
        )
    return _Law((sw2 * c2) ** L, p, L, weights == "orthogonal")


def _atoms(law: _Law | _General) -> tuple[tuple[float, float], ...]:
    if isinstance(law, _General):
        # phi' = 0 with positive probability (a flat piece): an atom of D^2, hence of J J^T
        mass = float(law.d2.weights[law.d2.nodes == 0.0].sum())
        return ((0.0, mass),) if mass > 0.0 else ()
    out = []
    if law.p < 1.0:
        out.append((0.0, 1.0 - law.p))
    if law.orthogonal:
        mass = max(0.0, 1.0 - law.L * (1.0 - law.p))
        if mass > 0.0:
            out.append((law.scale, mass))
    return tuple(out)


def jacobian_atoms(
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
) -> tuple[tuple[float, float], ...]:
    """Atoms (location, mass) of the limiting spectrum of J J^T.

    Bernoulli D^2 (linear, relu, hard_tanh): mass 1 - p at 0 when p < 1; for orthogonal
    weights, mass max(0, 1 - L (1 - p)) at (sigma_w^2 c^2)^L.  Smooth activations
    (tanh, erf, ...) have none (an atom at 0 only if phi' vanishes on a set of positive
    Gaussian measure).  Pennington, Schoenholz & Ganguli (2017, sec. 4; 2018, sec. 4.2).
    The network parameters must be scalars (the result is a tuple of pairs).

    Masses: m_0 = 1 - p at 0, m_s = max(0, 1 - L (1 - p)) at s = (sigma_w^2 c^2)^L.
    """
    return _atoms(_law(sigma_w2, sigma_b2, depth, activation, weights))


def _minv_log(u: np.ndarray, law: _Law) -> tuple[np.ndarray, np.ndarray]:
    """log(M^{-1}(M)/s) and its u-derivative, with u = M + p (complex arrays)."""
    p, L = law.p, law.L
    one_m = 1.0 - p + u  # 1 + M
    m = u - p  # M
    if law.orthogonal:
        f = L * np.log(u) - np.log(m) - (L - 1) * np.log(one_m)
        df = L / u - 1.0 / m - (L - 1) / one_m
    else:
        f = np.log(one_m) + L * np.log(u) - np.log(m)
        df = 1.0 / one_m + L / u - 1.0 / m
    return f, df


def _wrap(r: np.ndarray) -> np.ndarray:
    """Reduce the imaginary part of a log residual to (-pi, pi]."""
    return r.real + 1j * np.angle(np.exp(1j * r.imag))


def _lambda_max_scaled(law: _Law) -> float:
    """min over real m > 0 of M^{-1}(m)/s (the upper spectral edge, scaled)."""
    m = np.logspace(-8, 8, 4001)
    f, _ = _minv_log(m.astype(complex) + law.p, law)
    k = int(np.argmin(f.real))
    lo, hi = m[max(k - 1, 0)], m[min(k + 1, m.size - 1)]
    for _ in range(100):  # golden-section refinement in log m
        a, b = math.log(lo), math.log(hi)
        c1, c2 = b - 0.618 * (b - a), a + 0.618 * (b - a)
        f1 = _minv_log(np.array([math.exp(c1) + law.p], complex), law)[0].real[0]
        f2 = _minv_log(np.array([math.exp(c2) + law.p], complex), law)[0].real[0]
        if f1 < f2:
            hi = math.exp(c2)
        else:
            lo = math.exp(c1)
    return float(np.exp(_minv_log(np.array([0.5 * (lo + hi) + law.p], complex), law)[0].real[0]))


def _general_log_s_w(law: _General) -> _WeightS:
    """log S_{W W^T}(m) = -log sigma_w^2 [- log(1 + m) for Gaussian weights] and d/dm."""
    return _WeightS(law.orthogonal, math.log(law.sigma_w2))


def _general_log_z_real(law: _General, w: np.ndarray) -> np.ndarray:
    """log M_J^{-1}(m) at m = M_{D^2}(w) for real w above the support of D^2."""
    m = law.d2.M_dM(w.astype(complex))[0].real
    lr = np.log1p(m) - np.log(m)
    f = law.L * np.log(w) - (law.L - 1) * lr + law.L * math.log(law.sigma_w2)
    if not law.orthogonal:
        f = f + law.L * np.log1p(m)
    return f


def _sup_dphi2(act, q: float) -> float:
    """max of phi'(x)^2 over |x| <= 8.5 sqrt(q) (grid, then golden-section refinement)."""
    sd = math.sqrt(q)
    grid = np.linspace(-8.5 * sd, 8.5 * sd, 40001)
    vals = np.asarray(act(grid, 1)) ** 2
    k = int(np.argmax(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    for _ in range(80):
        c1, c2 = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
        if float(act(c1, 1)) ** 2 > float(act(c2, 1)) ** 2:
            hi = c2
        else:
            lo = c1
    return max(float(vals[k]), float(act(0.5 * (lo + hi), 1)) ** 2)


def _general_lambda_max(law: _General) -> float:
    """Upper edge: min over real w > max D^2 of M_J^{-1}(M_{D^2}(w)) (m = M_{D^2}(w) > 0)."""
    if law.orthogonal and law.L == 1:
        return law.sigma_w2 * law.d2_sup
    top = law.d2.support[1]
    t = np.logspace(-10, 6, 4001)  # w = top (1 + t)
    f = _general_log_z_real(law, top * (1.0 + t))
    k = int(np.argmin(f))
    lo, hi = math.log(t[max(k - 1, 0)]), math.log(t[min(k + 1, t.size - 1)])
    for _ in range(100):  # golden-section refinement in log t
        c1, c2 = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
        f1, f2 = _general_log_z_real(law, top * (1.0 + np.exp(np.array([c1, c2]))))
        if f1 < f2:
            hi = c2
        else:
            lo = c1
    tm = math.exp(0.5 * (lo + hi))
    return float(np.exp(_general_log_z_real(law, np.array([top * (1.0 + tm)]))[0]))


def jacobian_max_eigenvalue(
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
) -> float:
    """lambda_max = min over real m > 0 of M^{-1}(m), the top of the spectrum of J J^T.

    Any activation: for smooth phi (tanh, erf, ...) m = M_{D^2}(w) is parametrised by
    real w above the support of D^2 and the minimum is taken over w.

    Gaussian linear network: sigma_w^(2L) (L + 1)^(L + 1) / L^L.  This is the top of the
    whole spectrum, atoms included: for orthogonal weights with an atom at s =
    (sigma_w^2 c^2)^L (mass max(0, 1 - L(1 - p)) > 0, or the linear case) it returns s,
    and the continuous part then ends below s.

    ``sigma_w2``, ``sigma_b2`` and ``depth`` broadcast (numpy rules; the result is then an
    array equal to the elementwise loop).  Pennington, Schoenholz & Ganguli (2018, eq. 18).
    """
    if np.ndim(sigma_w2) or np.ndim(sigma_b2) or np.ndim(depth):
        sw, sb, d = _network_grid(sigma_w2, sigma_b2, depth)
        out = np.empty(sw.shape)
        for i in np.ndindex(sw.shape):
            out[i] = jacobian_max_eigenvalue(float(sw[i]), float(sb[i]), int(d[i]),
                                             activation, weights)
        return out
    return _max_eigenvalue(_law(sigma_w2, sigma_b2, depth, activation, weights))


def _max_eigenvalue(law: _Law | _General) -> float:
    """Body of :func:`jacobian_max_eigenvalue` for a validated law."""
    if isinstance(law, _General):
        return _general_lambda_max(law)
    if law.orthogonal and law.p == 1.0:
        return law.scale
    return law.scale * _lambda_max_scaled(law)


def _solve_u(
    zs: np.ndarray, law: _Law, y_top: float, shrink: float = 0.5, iters: int = 4,
    on_fail: str = "raise",
) -> np.ndarray:
    """u = M(z) + p on the physical branch at z = zs (scaled by s), by vertical continuation."""
    p, L = law.p, law.L
    m1 = p**L
    rel = L * (1.0 / p - 1.0 - (0.0 if law.orthogonal else -1.0))  # L (mu2/mu1^2 - 1 - s1)
    m2 = m1 * m1 * (1.0 + rel)
    x, eps = zs.real, zs.imag
    ys = [y_top]
    while ys[-1] * shrink > eps.min():
        ys.append(ys[-1] * shrink)
    heights = [np.maximum(y, eps) for y in ys] + [eps]
    z = x + 1j * heights[0]
    u = m1 / z + m2 / z**2 + p
    for k, y in enumerate(heights):
        logz = np.log(x + 1j * y)
        f, df = _minv_log(u, law)
        r = _wrap(f - logz)
        n_it = iters if k < len(heights) - 1 else 10 * iters
        for _ in range(n_it):
            step = r / df
            if np.all(np.abs(step) <= 1e-14 * np.abs(u)):
                break
            # damped Newton: halve the step where it does not lower |residual|
            t = np.ones(u.shape)
            todo = np.ones(u.shape, bool)
            for _ in range(12):
                idx = np.nonzero(todo)[0]
                cand = u[idx] - t[idx] * step[idx]
                fc, dfc = _minv_log(cand, law)
                rc = _wrap(fc - logz[idx])
                ok = np.abs(rc) < np.abs(r[idx]) * (1.0 - 1e-4 * t[idx]) + 1e-15
                acc = idx[ok]
                u[acc], r[acc], df[acc] = cand[ok], rc[ok], dfc[ok]
                todo[acc] = False
                t[idx[~ok]] *= 0.5
                if not todo.any():
                    break
    res = np.abs(r)
    if not np.all(res < 1e-8):
        report_nonconvergence(
            f"jacobian_density: Newton continuation did not converge at "
            f"{int(np.sum(~(res < 1e-8)))} points (max log-residual {np.nanmax(res):.3g})",
            on_fail, stacklevel=5,
        )
        u = np.where(res < 1e-8, u, complex(np.nan, np.nan))
    return u


#: lowest height (relative to s) of the vertical continuation before the real axis
_FLOOR = 1e-12


def _to_axis(x: np.ndarray, z: np.ndarray, u: np.ndarray, law: _Law):
    """Newton from the continuation's last height onto the real axis (y = 0).

    Inside the support the physical root is the conjugate with Im u < 0; outside it is real.
    Where the axis solve fails (x at a pole: the orthogonal atom) or leaves the branch
    (Im u > 0), the value at the continuation's last height is kept.
    """
    logx = np.log(x.astype(complex))
    v = u.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return _to_axis_newton(x, z, u, v, logx, law)


def _to_axis_newton(x, z, u, v, logx, law):
    """Body of :func:`_to_axis` (floating-point warnings silenced by the caller)."""
    f, df = _minv_log(v, law)
    for _ in range(30):
        step = _wrap(f - logx) / df
        v = v - step
        f, df = _minv_log(v, law)
        if np.all(np.abs(step) <= 1e-14 * np.abs(v)):
            break
    res = np.abs(_wrap(f - logx))
    good = np.isfinite(res) & (res < 1e-10) & (v.imag <= 1e-12 * np.abs(v))
    good &= np.abs(v - u) < 1e-3 * np.abs(u) + 1e-6
    return np.where(good, x + 0j, z), np.where(good, v, u)


#: final height of the continuation for smooth activations, relative to min(x, lambda_max)
GENERAL_EPS = 1e-8


def _pushforward_density(y: np.ndarray, act, q: float, scale: float) -> np.ndarray:
    """Density of scale * phi'(X)^2, X ~ N(0, q), at y: sum over roots of phi'(x)^2 = y/scale
    of the Gaussian density over |d(phi'^2)/dx| (roots bracketed on a fine grid, bisection)."""
    act.require(2, "the depth-1 orthogonal Jacobian density (change of variables)")
    sd = math.sqrt(q)
    grid = np.linspace(-8.5 * sd, 8.5 * sd, 40001)
    gv = np.asarray(act(grid, 1)) ** 2
    t = y / scale
    out = np.zeros(y.shape)
    diff = gv[None, :] - t[:, None]
    br = np.nonzero(np.signbit(diff[:, :-1]) != np.signbit(diff[:, 1:]))
    if br[0].size:
        lo, hi, tt = grid[br[1]], grid[br[1] + 1], t[br[0]]
        flo = np.asarray(act(lo, 1)) ** 2 - tt
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            fm = np.asarray(act(mid, 1)) ** 2 - tt
            same = np.signbit(fm) == np.signbit(flo)
            lo, flo = np.where(same, mid, lo), np.where(same, fm, flo)
            hi = np.where(same, hi, mid)
        xr = 0.5 * (lo + hi)
        slope = np.abs(2.0 * np.asarray(act(xr, 1)) * np.asarray(act(xr, 2)))
        pdf = np.exp(-0.5 * xr * xr / q) / math.sqrt(2.0 * math.pi * q)
        with np.errstate(divide="ignore"):
            np.add.at(out, br[0], pdf / slope / scale)
    return out


def _general_density(xs: np.ndarray, law: _General, eps: float, act, q: float,
                     on_fail: str = "raise"):
    """-Im G/pi at x + i h with h = eps lambda_max, or (eps = 0) h = GENERAL_EPS min(x, lambda_max).

    Points where the continuation does not reach that height (far tails, below the
    resolution of the quadrature law of D^2) keep the value at the lowest height reached,
    with a ``RuntimeWarning``.
    """
    flat = xs.reshape(-1)
    out = np.zeros(flat.shape)
    pos = np.nonzero(flat > 0.0)[0]
    if not pos.size:
        return scalar_or_array(out.reshape(xs.shape))
    xp = flat[pos]
    if law.orthogonal and law.L == 1:
        # J J^T = sigma_w^2 D^2 exactly: no free convolution, a change of variables
        out[pos] = _pushforward_density(xp, act, q, law.sigma_w2)
        return scalar_or_array(out.reshape(xs.shape))
    lam = _general_lambda_max(law)
    # eps = 0: a height proportional to x: deep networks spread the density over many
    # decades near 0, and a fixed height would smooth that mass away
    floor = np.full(xp.shape, eps * lam) if eps > 0.0 else GENERAL_EPS * np.minimum(xp, lam)
    m1 = (law.sigma_w2 * law.d2.mean) ** law.L
    y_top = 4.0 * (lam + float(xp.max())) + 1.0
    idx = np.arange(xp.size)
    dens = np.full(xp.size, np.nan)
    if law.orthogonal:
        # the smallest singular value of J is at least prod_l sigma_w min|phi'| over the
        # nodes of the D^2 law; below that the law of the rule has no mass, and the true law
        # has less than L times the Gaussian tail beyond the rule (2e-17 per layer)
        below = xp < (law.sigma_w2 * law.d2.support[0]) ** law.L
        dens[below] = 0.0
        idx = idx[~below]
    if idx.size:
        z, g, norm = _power_solve(
            law.d2, law.L, xp[idx], floor[idx], _general_log_s_w(law), m1, y_top
        )
        _check_continuation(z, g, norm, "jacobian_density", stacklevel=6, on_fail=on_fail)
        dens[idx] = np.where(np.isnan(g), np.nan, np.maximum(-g.imag / np.pi, 0.0))
    out[pos] = dens
    return scalar_or_array(out.reshape(xs.shape))


def jacobian_density(
    x: Any,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
    *,
    eps: float = 0.0,
    on_fail: str = "raise",
) -> JacobianDensity:
    """Continuous part of the limiting (N -> inf) eigenvalue density of J J^T.

    Pennington, Schoenholz & Ganguli (2017, 2018): S_{J J^T} = S_{D^2}^L S_{W W^T}^L with
    D^2 = phi'(sqrt(q*) z)^2 at the fixed point q* (``mf.q_star``) and ``weights``
    ``"gaussian"`` or ``"orthogonal"``.

    *Smooth activations* (tanh, erf, sigmoid, ...): D^2 is the quadrature law
    :func:`~deeptheory.rmt.numerical.dphi2_law` and the density is read at
    z = x + i h, h = 1e-8 min(x, lambda_max) (``eps = 0``) or h = eps lambda_max, from
    the subordination solve of :mod:`deeptheory.rmt.free` (one unknown w = chi_{D^2}(m)).
    Its bias is O(h) (first order: Im G(x + i h) = -pi rho(x) + h Re G'(x) + ...), about
    1e-8 relative by default; mass and the moments m1, m2 agree with the exact values to
    about 1e-8 (tests/test_rmt_free.py).  Depth 1 with orthogonal weights is sigma_w^2
    D^2 itself: its density is a change of variables (needs phi'').  Deep networks spread
    their spectrum over many decades near 0, which a fixed height would smooth away.

    *phi' in {0, c}* (linear, relu, hard_tanh): D^2 ~ c^2 Bernoulli(p) with p =
    E[phi'^2]/c^2 (p = 1/2 for relu, erf(1/sqrt(2 q*)) for hard_tanh), closed-form
    S-transform and the following method.
    rho(x) = -Im G(x + i eps s)/pi with s = (sigma_w^2 c^2)^L (``eps`` is relative to
    that scale), G = u/z after removing the atom at 0 exactly and the orthogonal atom at s
    by subtraction; M is found by Newton with vertical continuation (module docstring)
    down to height eps s, or for ``eps = 0`` (default) down to min(1e-12 s, 1e-6 x) (at
    least 1e-40 s) followed by a last Newton solve on the real
    axis itself (no smoothing: near 0 the density diverges like x^(1/L - 1) and a
    smoothing eps would hide mass ~ eps^(1/L) there).  Where that axis solve is not
    possible (x at the orthogonal atom) the value at that last height is returned.
    Returns :class:`JacobianDensity` (density, atoms); the density excludes the atoms and
    integrates to 1 - sum of atom masses.  The density is 0 for x < 0.

    Broadcasting: ``x`` may have any shape; the network parameters ``sigma_w2``,
    ``sigma_b2``, ``depth``, ``activation`` and ``weights`` must be scalars (one law per
    call; an array raises ``ValueError``/``TypeError`` naming it).  ``on_fail``: where the
    Newton continuation does not converge, ``"raise"`` (default) raises
    :class:`~deeptheory._api.ConvergenceError`; ``"warn"`` / ``"ignore"`` return NaN at
    those points and keep the rest of the grid.
    """
    check_on_fail(on_fail)
    xs = as_float("x", x)
    e = float(as_float("eps", eps, lo=0.0))
    if not math.isfinite(e):
        raise ValueError(f"eps must be finite, got {eps!r}")
    if not np.all(np.isfinite(xs)):
        raise ValueError("x must be finite")
    law = _law(sigma_w2, sigma_b2, depth, activation, weights)
    return JacobianDensity(_density(xs, law, e, activation, on_fail), _atoms(law))


def _density(xs: np.ndarray, law: _Law | _General, e: float, activation: Any,
             on_fail: str = "raise") -> np.ndarray | float:
    """Body of :func:`jacobian_density` for validated ``x`` (finite) and ``eps``, and a law."""
    if isinstance(law, _General):
        return _general_density(xs, law, e, get_activation(activation), law.q, on_fail)
    atoms = _atoms(law)
    flat = xs.reshape(-1) / law.scale
    out = np.zeros(flat.shape)
    pos = np.nonzero(flat > 0.0)[0]
    if pos.size and not (law.orthogonal and law.p == 1.0):
        lam = _lambda_max_scaled(law)
        xp = flat[pos]
        y_top = 4.0 * (lam + float(xp.max())) + 1.0
        # continue down to well below x itself so the axis solve starts next to its root
        floor = np.full(xp.shape, e) if e > 0.0 else np.clip(1e-6 * xp, 1e-40, _FLOOR)
        z = xp + 1j * floor
        u = _solve_u(z, law, y_top, on_fail=on_fail)
        if e == 0.0:
            z, u = _to_axis(xp, z, u, law)
        g = u / z
        for loc, mass in atoms:
            if loc > 0.0:
                g = g - mass / (z - loc / law.scale)
        out[pos] = np.where(np.isnan(g), np.nan, np.maximum(-g.imag / np.pi, 0.0)) / law.scale
    return scalar_or_array(out.reshape(xs.shape))


def jacobian_cdf(
    x: Any,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
    *,
    order: int = 12,
    panels: int = 16,
) -> np.ndarray | float:
    """Distribution function F(x) = P(lambda <= x) of the limiting spectrum of J J^T.

    Computed from the top, F(x) = 1 - integral_x^lambda_max rho(t) dt (atoms above x
    subtracted), because deep networks put mass over many decades near 0 that no grid
    from 0 resolves: composite Gauss-Legendre (``order`` nodes, ``panels`` panels per
    interval) in log t between the sorted points and lambda_max / 2, and in s with
    t = lambda_max (1 - s^2 / 2) above, which absorbs the square-root edge.  Accuracy
    about 1e-8 where the density is smooth (it inherits :func:`jacobian_density`'s).

    Below the lower edge of the continuous part (orthogonal weights, smooth phi, L > 1:
    (sigma_w^2 min phi'^2)^L over the quadrature law of D^2) F is the atom mass exactly.
    Because of the 1e-8 bias, 1 - integral could fall slightly below the atom mass at
    small x (e.g. -1e-8 for Gaussian tanh, L = 2, before clipping); the result is
    therefore clipped to [mass of the atoms <= x, 1] and made non-decreasing over the
    requested points (the clip moves values by at most the ~1e-8 accuracy).  Known
    limitation: for orthogonal weights and a smooth phi, F just above that lower edge
    (where the quadrature law of D^2 shows its nodes) was measured 9.4e-6 above 0 for
    tanh at L = 2 (sigma_w2 = 1.5, sigma_b2 = 0.05) and constant over the next decade,
    i.e. an absolute error of ~1e-5 in the extreme lower tail, not 1e-8.  The network
    parameters must be scalars (see :func:`jacobian_density`); ``x`` any shape.

    (Pennington, Schoenholz & Ganguli 2017, 2018 for the density.)
    """
    xs = as_float("x", x)
    if not np.all(np.isfinite(xs)):
        raise ValueError("x must be finite")
    # one law for everything below (the fixed point q* and the law of D^2 computed once)
    law = _law(sigma_w2, sigma_b2, depth, activation, weights)
    lam = _max_eigenvalue(law)
    atoms = _atoms(law)
    # lower edge of the continuous part: for orthogonal weights and a smooth phi the
    # smallest singular value of J is at least prod_l sigma_w min|phi'| (the density is 0
    # below, see _general_density); an integral from below it down-weights the
    # square-root edge and gave F = -8.8e-6 there (tanh, L = 2), so F is set exactly
    cont_lo = 0.0
    if isinstance(law, _General) and law.orthogonal and law.L > 1:
        cont_lo = (law.sigma_w2 * law.d2.support[0]) ** law.L
    t, wt = legendre_rule(as_int("order", order, lo=2, hi=64))
    k = as_int("panels", panels, lo=1, hi=1000)
    flat = xs.ravel()
    cont_top = lam
    half = 0.5 * cont_top
    # breakpoints: the requested points (clipped to (0, lam]) plus lam/2, in log t
    pts = np.unique(np.clip(flat[flat > 0.0], 1e-300, half))
    brk = np.unique(np.concatenate((pts, [half])))
    nodes, weights_, seg = [], [], []
    lo_all = np.log(brk[:-1])
    hi_all = np.log(brk[1:])
    for j, (a, b) in enumerate(zip(lo_all, hi_all, strict=True)):
        e = np.linspace(a, b, k + 1) if b - a > 1.0 else np.array([a, b])
        h = 0.5 * np.diff(e)[:, None]
        u = ((0.5 * (e[1:] + e[:-1]))[:, None] + h * t[None, :]).ravel()
        nodes.append(np.exp(u))
        weights_.append((h * wt[None, :]).ravel() * np.exp(u))
        seg.append(np.full(u.size, j))
    e = np.linspace(0.0, 1.0, k + 1)
    h = 0.5 * np.diff(e)[:, None]
    sn = ((0.5 * (e[1:] + e[:-1]))[:, None] + h * t[None, :]).ravel()
    nodes.append(cont_top * (1.0 - 0.5 * sn * sn))
    weights_.append((h * wt[None, :]).ravel() * cont_top * sn)
    seg.append(np.full(sn.size, brk.size - 1))
    tn = np.concatenate(nodes)
    tw = np.concatenate(weights_)
    sg = np.concatenate(seg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dens = np.asarray(_density(tn, law, 0.0, activation))
    per = np.bincount(sg, weights=tw * dens, minlength=brk.size)
    # above[j] = integral from brk[j] to the top
    above = np.cumsum(per[::-1])[::-1]
    out = np.empty(flat.shape)
    top = np.nonzero((flat > half) & (flat < lam))[0]
    top_int = dict(zip(top.tolist(), _top_part(flat[top], lam, law, activation, t, wt),
                       strict=True))
    for i, xv in enumerate(flat):
        atoms_below = sum(m for loc, m in atoms if loc <= xv)
        if xv <= cont_lo:
            out[i] = atoms_below
        elif xv >= lam:
            out[i] = 1.0
        else:
            cont_above = top_int[i] if i in top_int else above[int(np.searchsorted(brk, xv))]
            out[i] = 1.0 - cont_above - sum(m for loc, m in atoms if loc > xv)
    # The density carries a relative bias of about 1e-8 (the height of its evaluation,
    # see jacobian_density), so 1 - integral_x^lambda_max rho can fall up to ~1e-8 below
    # the mass of the atoms at or below x, or decrease by as much between two close
    # points.  Last resort (documented above): clip to [atoms below x, 1] and make F
    # non-decreasing over the requested points.
    atoms_below = np.array([sum(m for loc, m in atoms if loc <= xv) for xv in flat])
    out = np.clip(out, atoms_below, 1.0)
    order_ = np.argsort(flat, kind="stable")
    out[order_] = np.maximum.accumulate(out[order_])
    return scalar_or_array(out.reshape(xs.shape))


def _top_part(xv, lam, law, activation, t, wt) -> list:
    """integral_x^lam rho for each lam/2 < x < lam, in s with t = lam - (lam - x) s^2."""
    if not len(xv):
        return []
    d = (lam - xv)[:, None]
    e = np.linspace(0.0, 1.0, 4)
    h = 0.5 * np.diff(e)[:, None]
    sn = ((0.5 * (e[1:] + e[:-1]))[:, None] + h * t[None, :]).ravel()[None, :]
    tn = lam - d * sn * sn
    w = (h * wt[None, :]).ravel()[None, :] * 2.0 * d * sn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dens = _density(tn, law, 0.0, activation)
    return np.sum(w * np.asarray(dens), axis=1).tolist()


def jacobian_singular_value_density(
    s: Any,
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
    *,
    eps: float = 0.0,
) -> JacobianDensity:
    """Limiting density of the singular values sigma = sqrt(lambda) of J.

    rho_sigma(s) = 2 s rho_lambda(s^2) for s > 0, with rho_lambda from
    :func:`jacobian_density` (Pennington, Schoenholz & Ganguli 2017, fig. 2 plots this
    law); the atoms are returned at sqrt(location).  ``s`` any shape; network
    parameters scalars.
    """
    sa = as_float("s", s)
    if not np.all(np.isfinite(sa)):
        raise ValueError("s must be finite")
    sq = np.where(sa > 0.0, sa * sa, 0.0)
    res = jacobian_density(sq, sigma_w2, sigma_b2, depth, activation, weights, eps=eps)
    dens = np.where(sa > 0.0, 2.0 * sa * np.asarray(res.density), 0.0)
    atoms = tuple((math.sqrt(loc), m) for loc, m in res.atoms)
    return JacobianDensity(scalar_or_array(dens), atoms)
