"""Spectral laws known numerically, and their Stieltjes, R and S transforms.

Conventions as in :mod:`deeptheory.rmt.laws`: ``G(z) = integral rho(t)/(z - t) dt``
(``Im G < 0`` above the axis), ``M(z) = z G(z) - 1``, ``R(G(z)) + 1/G(z) = z`` and
``S(m) = (1 + m)/(m M^{-1}(m))`` (Voiculescu 1986, 1987).

A :class:`SpectralLaw` is anything that can evaluate ``G`` and ``G'`` at complex points
off its support.  Laws are built

* in closed form: :class:`SemicircleLaw`, :class:`MarchenkoPasturLaw`;
* from a quadrature rule or a sample: :class:`DiscreteLaw` (nodes and weights; the
  Bernoulli law of ``D^2`` for relu is ``DiscreteLaw([0, 1], [1 - p, p])`` exactly);
* from a density on an interval: :func:`law_from_density` (Gauss-Legendre in the angle
  theta of x = a + (b - a)(1 - cos theta)/2, which absorbs square-root and inverse-square-root
  edges);
* from moments: :func:`law_from_moments` (the Gauss rule of the moment sequence,
  Golub & Welsch 1969, via a high-precision Cholesky factor of the Hankel matrix);
* from an activation: :func:`dphi2_law`, the law of ``phi'(sqrt(q) z)^2``, ``z ~ N(0, 1)``
  (the diagonal ``D^2`` of Pennington, Schoenholz & Ganguli 2017), from the kernels'
  Gaussian quadrature rule.

A discrete law's ``G`` equals the true one up to the quadrature error, which decays
exponentially with the distance of ``z`` from the support; close to the support (``Im z``
comparable to the node spacing) it shows the nodes.  Free convolutions evaluate the laws at
subordination points, which stay well inside the upper half-plane where the result has
positive density.

The inverses :func:`r_transform` and :func:`s_transform` solve ``G(z) = w`` and
``M(z) = m`` by Newton's method continued along the ray ``t w`` (``t m``) from ``t``
small, where ``z ~ 1/w + m_1`` (``z ~ m_1/m + m_2/m_1``): this stays on the branch
that is analytic at ``w = 0`` (``m = 0``).  A point that the continuation cannot reach
(outside the domain of the inverse) raises ``ValueError``.  A quadrature law is a true
discrete law: for real arguments beyond the values its continuous original takes at the
edges of the support, its inverse exists between nodes, so only closed-form laws (or
complex arguments) detect that case.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import as_float, as_int
from ..kernels import gaussian_rule, get_activation, legendre_rule, stieltjes_sum
from . import laws

__all__ = [
    "SpectralLaw",
    "DiscreteLaw",
    "SemicircleLaw",
    "MarchenkoPasturLaw",
    "law_from_density",
    "law_from_moments",
    "dphi2_law",
    "stieltjes",
    "moment_generating",
    "inverse_stieltjes",
    "r_transform",
    "inverse_moment_generating",
    "s_transform",
]


class SpectralLaw:
    """A probability law on the real line, known through its Stieltjes transform.

    Subclasses implement :meth:`G_dG` (``G`` and ``G'`` at complex points off the
    support) and set ``moments`` (at least ``(1, m1, m2)``) and ``support`` (an interval
    ``(lo, hi)`` containing the support).

    G(z) = integral rho(t)/(z - t) dt and M(z) = z G(z) - 1 (Akhiezer 1965; Mingo &
    Speicher 2017, ch. 2).
    """

    moments: tuple[float, ...]
    support: tuple[float, float]

    def G_dG(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    @property
    def mean(self) -> float:
        return self.moments[1]

    @property
    def variance(self) -> float:
        return self.moments[2] - self.moments[1] ** 2

    def M_dM(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """M(z) = z G(z) - 1 and M'(z) = G + z G'."""
        g, dg = self.G_dG(z)
        return z * g - 1.0, g + z * dg


class DiscreteLaw(SpectralLaw):
    """Finite sum of point masses: ``rho = sum_k w_k delta(x - x_k)``.

    ``weights`` must be >= 0 and sum to 1 (within 1e-9; they are then renormalised).
    ``G(z) = sum_k w_k/(z - x_k)`` is a compiled kernel sum
    (:func:`deeptheory.kernels.stieltjes_sum`).

    (Akhiezer 1965: a Gauss rule is the discrete law whose G is the Pade approximant.)
    """

    def __init__(self, nodes: Any, weights: Any):
        x = np.ravel(as_float("nodes", nodes))
        w = np.ravel(as_float("weights", weights, lo=0.0))
        if x.size == 0 or x.shape != w.shape:
            raise ValueError(
                f"nodes and weights must be non-empty and of equal length, got {x.size} "
                f"and {w.size}"
            )
        tot = float(w.sum())
        if abs(tot - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1 (a probability law), got {tot!r}")
        # merge repeated nodes (e.g. phi'(x)^2 at +-x for odd phi) and drop zero weights
        nodes, inv = np.unique(x, return_inverse=True)
        merged = np.bincount(inv.ravel(), weights=w, minlength=nodes.size)
        keep = merged > 0.0
        self.nodes = np.ascontiguousarray(nodes[keep])
        self.weights = np.ascontiguousarray(merged[keep] / tot)
        self.moments = tuple(float(np.sum(self.weights * self.nodes**k)) for k in range(5))
        self.support = (float(self.nodes.min()), float(self.nodes.max()))

    def G_dG(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return stieltjes_sum(z, self.nodes, self.weights)


class SemicircleLaw(SpectralLaw):
    """Wigner semicircle of variance ``var`` (closed form, :func:`laws.semicircle_stieltjes`).

    ``G' = G / (2 s^2 G - z)`` from ``s^2 G^2 - z G + 1 = 0``.

    (Wigner 1958.)
    """

    def __init__(self, var: float = 1.0):
        v = float(as_float("var", var))
        if not (v > 0.0 and math.isfinite(v)):
            raise ValueError(f"var must be finite and > 0, got {var!r}")
        self.var = v
        self.moments = (1.0, 0.0, v, 0.0, 2.0 * v * v)
        r = 2.0 * math.sqrt(v)
        self.support = (-r, r)

    def G_dG(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.asarray(laws.semicircle_stieltjes(z, self.var))
        return g, g / (2.0 * self.var * g - z)


class MarchenkoPasturLaw(SpectralLaw):
    """Marchenko-Pastur law of ``X X^T / M`` (``X`` is N x M, entries of variance ``var``,
    ``ratio`` c = N/M), atom at 0 included when c > 1 (:func:`laws.marchenko_pastur_stieltjes`).

    ``G' = (G - c s^2 G^2) / (2 c s^2 z G - (z - s^2 (1 - c)))``.

    (Marchenko & Pastur 1967.)
    """

    def __init__(self, ratio: float, var: float = 1.0):
        c = float(as_float("ratio", ratio))
        v = float(as_float("var", var))
        if not (c > 0.0 and math.isfinite(c)):
            raise ValueError(f"ratio must be finite and > 0, got {ratio!r}")
        if not (v > 0.0 and math.isfinite(v)):
            raise ValueError(f"var must be finite and > 0, got {var!r}")
        self.ratio, self.var = c, v
        self.moments = tuple(
            float(laws.marchenko_pastur_moment(k, c, v)) if k else 1.0 for k in range(5)
        )
        a, b = laws.marchenko_pastur_support(c, v)
        self.support = (0.0 if c > 1.0 else float(a), float(b))

    def G_dG(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, v = self.ratio, self.var
        g = np.asarray(laws.marchenko_pastur_stieltjes(z, c, v))
        dg = (g - c * v * g * g) / (2.0 * c * v * z * g - (z - v * (1.0 - c)))
        return g, dg


def law_from_density(
    pdf: Callable[[np.ndarray], Any], lo: float, hi: float, *, order: int = 32,
    panels: int = 32,
) -> DiscreteLaw:
    """Quadrature law of a density ``pdf`` supported on ``[lo, hi]``.

    Nodes x = lo + (hi - lo)(1 - cos theta)/2 with composite Gauss-Legendre in theta on
    [0, pi] (``panels`` x ``order`` nodes), weights pdf(x) dx/dtheta.  The substitution
    makes square-root edges (semicircle, Marchenko-Pastur) and inverse-square-root edges
    (arcsine) smooth in theta.  The density must integrate to 1 within 1e-6 on the rule
    (``ValueError`` otherwise: pass a normalised density and its whole support).

    Quadrature: Davis & Rabinowitz (1984), ch. 2; G(z) = sum_k w_k / (z - x_k).
    """
    a = float(as_float("lo", lo))
    b = float(as_float("hi", hi))
    if not (math.isfinite(a) and math.isfinite(b) and b > a):
        raise ValueError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
    t, wt = legendre_rule(as_int("order", order, lo=2, hi=64))
    k = as_int("panels", panels, lo=1, hi=10_000)
    edges = np.linspace(0.0, math.pi, k + 1)
    half = 0.5 * np.diff(edges)[:, None]
    th = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * t[None, :]
    wth = (half * wt[None, :]).ravel()
    th = th.ravel()
    x = a + 0.5 * (b - a) * (1.0 - np.cos(th))
    f = np.asarray(pdf(x), dtype=float)
    if f.shape != x.shape or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError("pdf must return finite, non-negative values of x's shape on [lo, hi]")
    w = wth * f * 0.5 * (b - a) * np.sin(th)
    tot = float(w.sum())
    if abs(tot - 1.0) > 1e-6:
        raise ValueError(f"pdf integrates to {tot!r} on [lo, hi], not 1 (within 1e-6)")
    return DiscreteLaw(x, w / tot)


def law_from_moments(moments: Any, *, dps: int = 50) -> DiscreteLaw:
    """Gauss rule of a moment sequence ``(m_0 = 1, m_1, ..., m_{2n-1})``: n nodes.

    The n-point rule reproduces m_0..m_{2n-1} exactly.  Its recurrence coefficients come
    from the moments by Chebyshev's algorithm (Gautschi 2004, sec. 2.1.7) in ``dps``
    decimal digits (mpmath), and its nodes and weights from the Jacobi matrix (Golub &
    Welsch 1969).  Its G matches the true G to O(|z|^(-2n-1)) at large |z| and is a
    rational approximation nearer the support.  The moments must come from a law with at
    least n support points (``ValueError`` otherwise).  Float moments carry float
    rounding, which the map from moments to nodes amplifies exponentially: beyond about
    2n = 20 the rule is unreliable.
    """
    mom = np.ravel(as_float("moments", moments))
    if mom.size < 2:
        raise ValueError("moments must hold at least m_0, m_1")
    if abs(mom[0] - 1.0) > 1e-12:
        raise ValueError(f"moments[0] (total mass) must be 1, got {mom[0]!r}")
    n = mom.size // 2
    import mpmath  # deferred: start-up time

    with mpmath.workdps(dps):
        mu = [mpmath.mpf(float(v)) for v in mom[: 2 * n]]
        prev = [mpmath.mpf(0)] * (2 * n)
        cur = list(mu)
        alpha = [mu[1] / mu[0]]
        beta = [mu[0]]
        for k in range(1, n):
            nxt = [mpmath.mpf(0)] * (2 * n)
            for m in range(k, 2 * n - k):
                nxt[m] = cur[m + 1] - alpha[k - 1] * cur[m] - beta[k - 1] * prev[m]
            if not nxt[k] > 0:
                raise ValueError(
                    f"moments are not those of a law with at least {n} support points "
                    f"(recurrence coefficient beta_{k} <= 0): pass fewer moments"
                )
            alpha.append(nxt[k + 1] / nxt[k] - cur[k] / cur[k - 1])
            beta.append(nxt[k] / cur[k - 1])
            prev, cur = cur, nxt
        jac = np.diag(np.array([float(a) for a in alpha]))
        for j in range(1, n):
            jac[j - 1, j] = jac[j, j - 1] = float(mpmath.sqrt(beta[j]))
    ev, vec = np.linalg.eigh(jac)
    w = vec[0] ** 2
    return DiscreteLaw(ev, w / w.sum())


def dphi2_law(activation: Any, q: float, *, order: int | None = None) -> DiscreteLaw:
    """Law of ``D^2 = phi'(sqrt(q) z)^2``, ``z ~ N(0, 1)``, as a quadrature rule.

    The nodes are phi'(x_k)^2 at the nodes x_k of :func:`deeptheory.kernels.gaussian_rule`
    (the rule the mean-field expectations use) and the weights are its Gaussian weights,
    so E[f(D^2)] = sum_k w_k f(phi'(x_k)^2) for smooth f.  This is the diagonal D_l^2 of
    a layer at variance q (Pennington, Schoenholz & Ganguli 2017, eq. 7).
    """
    act = get_activation(activation)
    act.require(1, "the law of phi'^2")
    x, w = gaussian_rule(act, q, order=order)
    d = np.asarray(act(x, 1), dtype=float) ** 2
    return DiscreteLaw(d, w / w.sum())


# --------------------------------------------------------------------------- transforms


def _check_law(law: Any) -> SpectralLaw:
    if not isinstance(law, SpectralLaw):
        raise TypeError(f"law must be a SpectralLaw, got {type(law).__name__}")
    return law


def _complex(name: str, v: Any) -> np.ndarray:
    return laws._as_complex(name, v)


def _off_support(law: SpectralLaw, z: np.ndarray) -> None:
    lo, hi = law.support
    on = (z.imag == 0) & (z.real >= lo) & (z.real <= hi)
    if np.any(on):
        raise ValueError(
            f"z lies on the real axis inside the support [{lo:.6g}, {hi:.6g}] of the law; "
            f"G is undefined there (use z + i eps)"
        )


def _out(a: np.ndarray) -> np.ndarray | complex:
    return a if a.ndim else complex(a)


def stieltjes(law: SpectralLaw, z: Any) -> np.ndarray | complex:
    """``G(z) = integral rho(t)/(z - t) dt`` of ``law`` (``Im G < 0`` for ``Im z > 0``).

    Stieltjes inversion: rho(x) = -Im G(x + i0)/pi (Akhiezer 1965).
    """
    law = _check_law(law)
    za = _complex("z", z)
    _off_support(law, za)
    return _out(law.G_dG(za)[0])


def moment_generating(law: SpectralLaw, z: Any) -> np.ndarray | complex:
    """``M(z) = z G(z) - 1 = sum_k m_k z^(-k)``.

    (Voiculescu 1987; Mingo & Speicher 2017, ch. 2.)
    """
    law = _check_law(law)
    za = _complex("z", z)
    _off_support(law, za)
    return _out(law.M_dM(za)[0])


def _ray_newton(
    f_df: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    target: np.ndarray,
    z0: Callable[[np.ndarray], np.ndarray],
    what: str,
    steps: int = 60,
) -> np.ndarray:
    """Solve f(z) = target by Newton continued along t * target, t = 1e-4 .. 1."""
    ts = np.concatenate((np.geomspace(1e-4, 1.0, steps), [1.0]))
    z = z0(ts[0] * target)
    for i, t in enumerate(ts):
        tgt = t * target
        last = i == len(ts) - 1
        for _ in range(60 if last else 8):
            f, df = f_df(z)
            step = (f - tgt) / df
            z = z - step
            if np.all(np.abs(step) <= 1e-15 * np.abs(z)):
                break
    f, _ = f_df(z)
    bad = ~(np.abs(f - target) <= 1e-11 * np.abs(target) + 1e-300) | ~np.isfinite(z)
    if np.any(bad):
        raise ValueError(
            f"{what}: Newton continuation from 0 did not reach some points (the value is "
            f"outside the domain of the inverse, e.g. beyond the edge of the support)"
        )
    return z


def inverse_stieltjes(law: SpectralLaw, w: Any) -> np.ndarray | complex:
    """``G^{-1}(w)``: the z with G(z) = w on the branch analytic at w = 0 (z ~ 1/w).

    R(w) = G^{-1}(w) - 1/w (Voiculescu 1986).
    """
    law = _check_law(law)
    wa = _complex("w", w)
    if np.any(wa == 0):
        raise ValueError("w must be nonzero (G^{-1}(w) ~ 1/w)")
    m1 = law.mean
    z = _ray_newton(law.G_dG, wa.ravel(), lambda t: 1.0 / t + m1, "inverse_stieltjes")
    return _out(z.reshape(wa.shape))


def r_transform(law: SpectralLaw, w: Any) -> np.ndarray | complex:
    """R-transform ``R(w) = G^{-1}(w) - 1/w`` (Voiculescu 1986); R(0) = m_1.

    For real ``w`` the result is real up to rounding; the imaginary part is kept.
    """
    law = _check_law(law)
    wa = _complex("w", w)
    out = np.empty(wa.shape, complex)
    zero = wa == 0
    out[zero] = law.mean
    if np.any(~zero):
        out[~zero] = np.asarray(inverse_stieltjes(law, wa[~zero])) - 1.0 / wa[~zero]
    return _out(out)


def inverse_moment_generating(law: SpectralLaw, m: Any) -> np.ndarray | complex:
    """``M^{-1}(m)``: the z with M(z) = m on the branch analytic at m = 0 (z ~ m_1/m).

    chi = M^{-1} gives S(m) = (1 + m)/(m chi(m)) (Voiculescu 1987).
    """
    law = _check_law(law)
    ma = _complex("m", m)
    m1, m2 = law.moments[1], law.moments[2]
    if m1 == 0.0:
        raise ValueError("the S-transform needs a law with nonzero mean m_1")
    if np.any(ma == 0):
        raise ValueError("m must be nonzero (M^{-1}(m) ~ m_1/m)")
    z = _ray_newton(law.M_dM, ma.ravel(), lambda t: m1 / t + m2 / m1, "inverse_moment_generating")
    return _out(z.reshape(ma.shape))


def s_transform(law: SpectralLaw, m: Any) -> np.ndarray | complex:
    """S-transform ``S(m) = (1 + m)/(m M^{-1}(m))`` (Voiculescu 1987); S(0) = 1/m_1.

    Defined near m = 0 for laws on [0, inf) with m_1 > 0 (for real m in (-1, 0) it is
    reached along the ray from 0 while the inverse exists).
    """
    law = _check_law(law)
    ma = _complex("m", m)
    out = np.empty(ma.shape, complex)
    zero = ma == 0
    if law.mean == 0.0:
        raise ValueError("the S-transform needs a law with nonzero mean m_1")
    out[zero] = 1.0 / law.mean
    if np.any(~zero):
        mm = ma[~zero]
        out[~zero] = (1.0 + mm) / (mm * np.asarray(inverse_moment_generating(law, mm)))
    return _out(out)
