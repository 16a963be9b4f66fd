"""Spectrum of the input-output Jacobian of a deep random network (free probability).

For the network  h^l = W^l x^{l-1} + b^l,  x^l = phi(h^l)  (l = 1..L, width N),
the input-output Jacobian is

    J = d x^L / d x^0 = D_L W_L ... D_1 W_1,      D_l = diag(phi'(h^l)).

Pennington, Schoenholz & Ganguli, "Resurrecting the sigmoid in deep learning through
dynamical isometry" (NIPS 2017) and "The emergence of spectral universality in deep
networks" (AISTATS 2018) compute the limiting (N -> inf) spectrum of J J^T when every
layer's pre-activations sit at the fixed point q* of the length map.  Its first two
moments m_k = lim E[tr (J J^T)^k / N] are

    m1 = (sigma_w^2 mu_1)^L,
    (m2 - m1^2) / m1^2 = L (mu_2 / mu_1^2 - 1 - s_1),
    mu_k = E[phi'(sqrt(q*) z)^(2k)],  z ~ N(0, 1),

where s_1 is the first coefficient of the S-transform of W W^T / sigma_w^2:
s_1 = -1 for Gaussian weights W_ij ~ N(0, sigma_w^2 / N) and s_1 = 0 for scaled
Haar-orthogonal weights W = sigma_w Q.  sigma_w^2 mu_1 = chi_1 is the mean-field
slope of Schoenholz et al. (2017): m1 = 1 exactly on the critical line chi_1 = 1, and
*dynamical isometry* needs in addition a relative variance that stays small as L grows
(possible with orthogonal weights and mu_2 ~ mu_1^2, e.g. tanh at small q*; impossible
for relu, whose relative variance is at least L with either ensemble).

:func:`sample_jacobian_singular_values` draws finite-width networks and returns the
eigenvalues of J J^T (the squared singular values of J) for Monte Carlo checks.  The
spectrum is heavy-tailed for large L: compare distribution functions, not sample
variances (Pennington, Schoenholz & Ganguli 2018, sec. 5: the largest eigenvalue grows
with L while the mean stays 1).

Broadcasting: :func:`dphi_moment` broadcasts over ``q`` and ``k``;
:func:`jacobian_moments` and :func:`dynamical_isometry` over ``sigma_w2``, ``sigma_b2``
and ``depth`` (numpy rules; the result's fields are then arrays of the broadcast shape,
equal to the elementwise loop).  ``activation`` and ``weights`` are single values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.special import ndtr

from .. import meanfield as mf
from .._api import Result, as_rng
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int, broadcast
from ..kernels import Activation, expect, gaussian_rule, get_activation
from ..kernels.montecarlo import single_thread_blas

__all__ = [
    "DynamicalIsometry",
    "JacobianMoments",
    "S1",
    "dphi_moment",
    "dynamical_isometry",
    "jacobian_moments",
    "s1",
    "sample_jacobian_singular_values",
]

#: first S-transform coefficient s_1 of W W^T / sigma_w^2, per weight ensemble
S1 = {"gaussian": -1.0, "orthogonal": 0.0}


@dataclass(frozen=True)
class JacobianMoments(Result):
    """Limiting moments of the spectrum of J J^T: m1, m2 and variance = m2 - m1^2.

    (Pennington, Schoenholz & Ganguli 2018, eqs. 32-33.)
    """

    m1: float
    m2: float
    variance: float


@dataclass(frozen=True)
class DynamicalIsometry(Result):
    """Result of :func:`dynamical_isometry`.

    ``critical``: |chi_1 - 1| <= tol (then m1 = chi_1^L = 1 up to L tol);
    ``chi1`` = sigma_w^2 mu_1; ``m1`` = chi_1^L;
    ``relative_variance`` = (m2 - m1^2) / m1^2 = L (mu_2 / mu_1^2 - 1 - s_1).

    (Pennington, Schoenholz & Ganguli 2017, 2018.)
    """

    critical: bool
    chi1: float
    m1: float
    relative_variance: float


def s1(weights: str) -> float:
    """s_1 of the weight ensemble, S_{W W^T / sigma_w^2}(m) = 1 + s_1 m + O(m^2): -1 for
    ``"gaussian"`` (S = 1/(1 + m)), 0 for ``"orthogonal"`` (Haar, S = 1)
    (Pennington, Schoenholz & Ganguli 2018, eq. 17)."""
    try:
        return S1[weights]
    except (KeyError, TypeError):
        raise ValueError(f"weights must be one of {sorted(S1)}, got {weights!r}") from None


def _piecewise_constant_dphi(act: Activation) -> bool:
    """True if phi' is a constant or a Piecewise of constants (linear, relu, hard_tanh...)."""
    import sympy as sp  # deferred: start-up time

    d = act.derivative_expr(1)
    if d.is_Number:
        return True
    return isinstance(d, sp.Piecewise) and all(e.is_Number for e, _ in d.args)


def _homogeneous(act: Activation) -> bool:
    """phi(a x) = a phi(x) for a > 0: phi' piecewise constant with kinks only at 0."""
    return _piecewise_constant_dphi(act) and all(k == 0.0 for k in act.kinks)


def dphi_moment(activation: str | Activation, q: Any, k: Any) -> Any:
    """mu_k = E[phi'(sqrt(q) z)^(2k)], z ~ N(0, 1), for q >= 0 and k >= 1
    (Pennington, Schoenholz & Ganguli 2017, eq. 9: the moments of the law of D^2).

    ``q`` and ``k`` broadcast (numpy rules): arrays give an array of the broadcast shape,
    scalars a float.

    * k = 1: :func:`deeptheory.kernels.expect` with derivs (1, 1) (panel rule, ~1e-14).
    * phi' piecewise constant (linear, relu, hard_tanh, leaky variants): exact,
      sum over the pieces between the kinks of value^(2k) * Gaussian mass of the piece
      (so mu_2 = mu_1 when phi' takes only the values 0 and 1).
    * otherwise: the panel rule of :func:`deeptheory.kernels.gaussian_rule` (the
      rule :func:`~deeptheory.kernels.expect` uses), summed over phi'(x_k)^(2k).
      Relative error against mpmath below 1e-12 for tanh, erf and elu at q in
      [0.1, 100] (tests/test_rmt_jacobian.py).  Gauss-Hermite with 200 nodes was not
      good enough: 1e-7 for tanh at q = 2, 2 % at q = 10, 0.5 % for elu (kink in phi'').
    """
    act = get_activation(activation)
    act.require(1, "E[phi'^(2k)]")
    if np.ndim(q) or np.ndim(k):
        qa = as_float("q", q, lo=0.0)
        ka = np.asarray(k)
        if ka.dtype.kind not in "iu":
            raise TypeError(f"k must be an integer or an integer array, got {k!r}")
        qa, ka = broadcast(q=qa, k=ka)
        out = np.empty(qa.shape)
        for idx in np.ndindex(qa.shape):
            out[idx] = dphi_moment(act, float(qa[idx]), int(ka[idx]))
        return out
    qf = float(as_float("q", q, lo=0.0))
    k = as_int("k", k, lo=1)
    if k == 1:
        return float(expect(act, qf, (1, 1)))
    if qf == 0.0:
        return float(act(0.0, 1)) ** (2 * k)
    sq = math.sqrt(qf)
    if _piecewise_constant_dphi(act):
        edges = np.concatenate(([-np.inf], np.sort(act.kinks), [np.inf]))
        total = 0.0
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if math.isinf(a) and math.isinf(b):
                mid = 0.0
            elif math.isinf(a):
                mid = b - 1.0
            elif math.isinf(b):
                mid = a + 1.0
            else:
                mid = 0.5 * (a + b)
            total += float(act(mid, 1)) ** (2 * k) * (ndtr(b / sq) - ndtr(a / sq))
        return float(total)
    x, w = gaussian_rule(act, qf)
    return float(np.sum(w * np.asarray(act(x, 1), dtype=float) ** (2 * k)))


def _network_grid(sigma_w2, sigma_b2, depth) -> list[np.ndarray]:
    """(sigma_w2, sigma_b2, depth) checked and broadcast together."""
    sw = as_float("sigma_w2", sigma_w2, lo=0.0)
    sb = as_float("sigma_b2", sigma_b2, lo=0.0)
    d = np.asarray(depth)
    if d.dtype.kind not in "iu":
        raise TypeError(f"depth must be an integer or an integer array, got {depth!r}")
    return broadcast(sigma_w2=sw, sigma_b2=sb, depth=d)


def _broadcast_network(fn, sigma_w2, sigma_b2, depth, tuple_cls, **kw):
    """Elementwise loop of ``fn`` over broadcast (sigma_w2, sigma_b2, depth): a
    ``tuple_cls`` whose fields are arrays of the broadcast shape."""
    sw, sb, d = _network_grid(sigma_w2, sigma_b2, depth)
    rows = [fn(float(sw[i]), float(sb[i]), int(d[i]), **kw) for i in np.ndindex(sw.shape)]
    cols = []
    for name in (f.name for f in fields(tuple_cls)):
        dtype = bool if name == "critical" else float
        cols.append(np.array([getattr(r, name) for r in rows], dtype=dtype).reshape(sw.shape))
    return tuple_cls(*cols)


def _setup(sigma_w2: Any, sigma_b2: Any, depth: Any, activation: Any, weights: Any):
    """Validate; return (act, sw2, sb2, L, s_1, q) with q the variance the moments use."""
    sw2 = as_float("sigma_w2", sigma_w2, lo=0.0)
    sb2 = as_float("sigma_b2", sigma_b2, lo=0.0)
    if sw2.ndim or sb2.ndim:
        raise ValueError("sigma_w2 and sigma_b2 must be scalars")
    sw2, sb2 = float(sw2), float(sb2)
    L = as_int("depth", depth, lo=1)
    s_1 = s1(weights)
    act = get_activation(activation)
    act.require(1, "the Jacobian")
    q = float(mf.q_star(sw2, sb2, act))
    if _homogeneous(act) and (q == 0.0 or math.isinf(q)):
        # phi' depends only on sign(h): mu_k is the same for every q > 0, and q* = 0 or
        # inf only records that the length map has no (or a degenerate) fixed point
        q = 1.0
    elif not math.isfinite(q):
        raise ValueError(
            f"the length map of {act.name!r} at sigma_w2={sw2}, sigma_b2={sb2} has no finite "
            "fixed point q* (the pre-activations grow without bound)"
        )
    return act, sw2, sb2, L, s_1, q


def jacobian_moments(
    sigma_w2: Any,
    sigma_b2: Any,
    depth: Any,
    activation: str | Activation = "tanh",
    weights: str = "gaussian",
) -> JacobianMoments:
    """Limiting (N -> inf) moments of the spectrum of J J^T at the fixed point q*.

    m1 = (sigma_w^2 mu_1)^L, m2 = m1^2 (1 + L (mu_2 / mu_1^2 - 1 - s_1)),
    variance = m2 - m1^2, with mu_k = :func:`dphi_moment` at q* = ``mf.q_star``
    (Pennington, Schoenholz & Ganguli 2017, 2018).  For positively homogeneous phi
    (linear, relu) mu_k does not depend on q, and q* = 0 or inf is accepted; for any
    other phi an infinite q* raises ``ValueError``.
    ``sigma_w2``, ``sigma_b2`` and ``depth`` broadcast (the fields are then arrays).
    """
    if np.ndim(sigma_w2) or np.ndim(sigma_b2) or np.ndim(depth):
        return _broadcast_network(jacobian_moments, sigma_w2, sigma_b2, depth,
                                  JacobianMoments, activation=activation, weights=weights)
    act, sw2, _, L, s_1, q = _setup(sigma_w2, sigma_b2, depth, activation, weights)
    mu1 = dphi_moment(act, q, 1)
    mu2 = dphi_moment(act, q, 2)
    m1 = (sw2 * mu1) ** L
    if mu1 == 0.0:
        return JacobianMoments(m1, 0.0, 0.0)
    m2 = m1 * m1 * (1.0 + L * (mu2 / mu1**2 - 1.0 - s_1))
    return JacobianMoments(m1, m2, m2 - m1 * m1)


def dynamical_isometry(
    sigma_w2: Any,
    sigma_b2: Any,
    depth: Any,
    activation: str | Activation = "tanh",
    weights: str = "gaussian",
    *,
    tol: float = 1e-8,
) -> DynamicalIsometry:
    """Is (sigma_w2, sigma_b2) critical (m1 = 1), and how wide is the spectrum there?

    Returns :class:`DynamicalIsometry` with critical = |sigma_w^2 mu_1 - 1| <= tol and
    relative_variance = (m2 - m1^2)/m1^2 = L (mu_2/mu_1^2 - 1 - s_1).  Dynamical
    isometry means critical and relative_variance << 1 (e.g. orthogonal tanh, small q*;
    Pennington, Schoenholz & Ganguli 2017, sec. 3).  ``sigma_w2``, ``sigma_b2`` and
    ``depth`` broadcast (the fields are then arrays).
    """
    tol = float(as_float("tol", tol, lo=0.0))
    if np.ndim(sigma_w2) or np.ndim(sigma_b2) or np.ndim(depth):
        return _broadcast_network(dynamical_isometry, sigma_w2, sigma_b2, depth,
                                  DynamicalIsometry, activation=activation, weights=weights,
                                  tol=tol)
    act, sw2, _, L, s_1, q = _setup(sigma_w2, sigma_b2, depth, activation, weights)
    mu1 = dphi_moment(act, q, 1)
    mu2 = dphi_moment(act, q, 2)
    chi1 = sw2 * mu1
    rel = L * (mu2 / mu1**2 - 1.0 - s_1) if mu1 > 0.0 else 0.0
    return DynamicalIsometry(bool(abs(chi1 - 1.0) <= tol), chi1, chi1**L, rel)


def _weight(rng: np.random.Generator, n: int, sw: float, orthogonal: bool) -> np.ndarray:
    """N x N weight matrix: N(0, sigma_w^2 / N) entries, or sigma_w Q with Q Haar."""
    g = rng.standard_normal((n, n))
    if not orthogonal:
        return g * (sw / math.sqrt(n))
    qm, r = np.linalg.qr(g)
    # without the sign fix the Q factor of LAPACK's QR is not Haar distributed
    return qm * (sw * np.where(np.diag(r) < 0.0, -1.0, 1.0))


def sample_jacobian_singular_values(
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: str | Activation = "tanh",
    *,
    width: int,
    weights: str = "gaussian",
    n_trials: int = 1,
    seed: Any = 0,
    progress: bool = False,
) -> np.ndarray:
    """Eigenvalues of J J^T (squared singular values of J) of random networks.

    Each trial draws a network of width N = ``width`` and depth L (square layers,
    W^l Gaussian N(0, sigma_w^2/N) or sigma_w * Haar orthogonal, b^l ~ N(0, sigma_b^2)),
    forward-propagates x^0 = phi(h^0) with h^0 a random direction scaled to
    |h^0|^2 / N = q* exactly (so every layer's pre-activations start at the fixed
    point; q* as in :func:`jacobian_moments`), accumulates J <- diag(phi'(h^l)) (W^l J)
    with one matrix product per layer, and returns the singular values of J squared.

    Returns an array of shape (n_trials, width), each row in descending order.
    ``seed``: an int >= 0, a ``numpy.random.Generator`` (used and advanced as is) or
    None (fresh entropy); randomness comes only from it, so an int seed and
    ``numpy.random.default_rng(seed)`` give equal results.  BLAS runs single-threaded
    inside (see :func:`deeptheory.kernels.montecarlo.single_thread_blas`).
    ``progress``: a progress bar (tqdm on stderr) of the trials done; off by default
    (it only counts the loop's trials: the random stream, hence the result, is the same).
    Reference: Pennington, Schoenholz & Ganguli (2017, sec. 5; 2018, fig. 2) compare
    the same sampled spectra with the free-probability density.
    """
    prog = check_progress(progress)
    act, sw2, sb2, L, _, q = _setup(sigma_w2, sigma_b2, depth, activation, weights)
    n = as_int("width", width, lo=1)
    trials = as_int("n_trials", n_trials, lo=1)
    rng = as_rng(seed)
    orthogonal = weights == "orthogonal"
    sw, sb = math.sqrt(sw2), math.sqrt(sb2)
    out = np.empty((trials, n))
    with (single_thread_blas(),
          progress_bar(trials, "sample_jacobian_singular_values", prog, unit="trial") as bar):
        for t in range(trials):
            h0 = rng.standard_normal(n)
            h0 *= math.sqrt(q * n / max(float(h0 @ h0), 1e-300))
            x = np.asarray(act(h0), dtype=float)
            jac = np.eye(n)
            for _ in range(L):
                w = _weight(rng, n, sw, orthogonal)
                h = w @ x + sb * rng.standard_normal(n)
                jac = np.asarray(act(h, 1), dtype=float)[:, None] * np.dot(w, jac)
                x = np.asarray(act(h), dtype=float)
            out[t] = np.linalg.svd(jac, compute_uv=False) ** 2
            bar.update()
    return out
