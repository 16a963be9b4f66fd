"""Lyapunov spectra of random networks in closed form and in the large-width limit.

Exponents are in nats per step (maps) or per unit time (flows), sorted descending
unless a function says otherwise.

* :func:`newman_exponents`: the exact spectrum of products of i.i.d. Gaussian matrices
  (Newman 1986).
* :func:`fresh_weights_quantile`, :func:`fresh_weights_exponents`: the spectrum of a deep
  map with fresh weights in every layer, J_l = D_l W_l, from free probability (Kargin 2008;
  Tucci 2010): the fraction t of exponents (ascending) below lambda(t) satisfies
  lambda(t) = -1/2 ln S_A(t - 1), S_A = S_{D^2} S_{W^T W}.
* :func:`rnn_max_exponent`, :func:`critical_gain`: the mean-field largest exponent of the
  discrete-time random network h_{t+1} = W phi(h_t) + b (Molgedey, Schuchhardt & Schuster
  1992; Schoenholz et al. 2017) and the gain of its order-to-chaos transition.
* :func:`kaplan_yorke_dimension` (Kaplan & Yorke 1979), :func:`ks_entropy` (Pesin 1977)
  and the sum rule :func:`exponent_sum` of the continuous-time rate network (Sompolinsky,
  Crisanti & Sommers 1988).

Nothing here is compiled: the mean-field quantities come from :mod:`deeptheory.meanfield`
and the laws of D^2 from :mod:`deeptheory.rmt`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma

from .. import meanfield as mf
from .. import rmt
from .._validation import as_float, as_int, broadcast, scalar_or_array
from ..kernels import Activation, get_activation

__all__ = [
    "newman_exponents",
    "fresh_weights_quantile",
    "fresh_weights_exponents",
    "rnn_max_exponent",
    "critical_gain",
    "kaplan_yorke_dimension",
    "ks_entropy",
    "exponent_sum",
]

_WEIGHTS = ("gaussian", "orthogonal")
#: q* = 0 is read as the limit q -> 0+ of the law of phi'(sqrt(q) z)^2 (two one-sided atoms
#: at a kink, e.g. Bernoulli(1/2) for relu), matching chi_1 = sigma_w^2 E[phi'(0)^2].
_Q_ZERO = 1e-200
#: q* = inf (a diverging length): the law of phi'(+-X)^2 at this X, or, if phi' has no
#: limits there, the quadrature law at q = _Q_INF (as deeptheory.meanfield does).
_X_INF = 1e150
_Q_INF = 1e10


# --------------------------------------------------------------------------- helpers


def _positive(name: str, v: Any) -> np.ndarray:
    a = as_float(name, v)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got min {a.min()}")
    return a


def _check_weights(weights: Any) -> bool:
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {list(_WEIGHTS)}, got {weights!r}")
    return weights == "orthogonal"


def _activation(activation: Any) -> Activation:
    act = get_activation(activation)
    act.require(1, "the Lyapunov spectrum (phi')")
    return act


def _exponent_array(exponents: Any) -> np.ndarray:
    """Exponents as a float array (last axis = exponents), NaN and +inf refused."""
    try:
        a = np.asarray(exponents, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"exponents must be real numbers, got {exponents!r}") from exc
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(
            f"exponents must have at least one exponent along the last axis, got shape {a.shape}"
        )
    if np.any(np.isnan(a) | (a == np.inf)):
        raise ValueError("exponents must be finite or -inf, got NaN or +inf")
    return a


# --------------------------------------------------------------------------- Newman


def newman_exponents(width: int, s2: Any = 1.0) -> np.ndarray:
    """Exact Lyapunov spectrum of products of i.i.d. Gaussian N x N matrices (Newman 1986).

    For matrices with i.i.d. entries N(0, s2 / N) (Newman 1986, "The distribution of
    Lyapunov exponents: exact results for random matrices", Commun. Math. Phys. 103,
    121-126)::

        lambda_i = 1/2 [psi((N - i + 1) / 2) + ln(2 s2 / N)],    i = 1, ..., N,

    psi the digamma function, in nats per step, descending.  Their sum is
    (1/2) sum_i psi(i / 2) + (N / 2) ln(2 s2 / N) = E ln|det W|.  As N -> inf the
    exponents at quantile t tend to 1/2 ln(s2 t) (the "triangle law" of e^lambda).

    Parameters
    ----------
    width : int
        N >= 1.
    s2 : array_like, optional
        Entry variance times N (> 0, finite); broadcasts.

    Returns
    -------
    numpy.ndarray
        Shape ``np.shape(s2) + (N,)``, descending along the last axis.

    Raises
    ------
    ValueError, TypeError
        ``width`` not an integer >= 1, ``s2`` not finite and > 0.
    """
    n = as_int("width", width, lo=1)
    v = _positive("s2", s2)
    i = np.arange(1, n + 1)
    psi = digamma((n - i + 1) / 2.0)
    return 0.5 * (psi + np.log(2.0 * v[..., None] / n))


# --------------------------------------------------------------------------- fresh weights


def _d2_law(act: Activation, q: float) -> rmt.DiscreteLaw:
    """The law of D^2 = phi'(sqrt(q) z)^2 (quadrature rule of :func:`rmt.dphi2_law`).

    q = 0: the limit q -> 0+ (one-sided derivatives at a kink).  q = inf: the limit law
    (phi'(-inf)^2 + phi'(+inf)^2 atoms of mass 1/2 each), whose mean is the q -> inf limit
    of E[phi'^2] that :func:`deeptheory.meanfield.chi1` uses; if phi' has no finite limits
    there, the rule at q = 1e10.
    """
    if q == 0.0:
        return rmt.dphi2_law(act, _Q_ZERO)
    if not math.isfinite(q):
        with np.errstate(all="ignore"):
            ends = np.asarray(act(np.array([-_X_INF, _X_INF]), 1), dtype=float) ** 2
        if np.all(np.isfinite(ends)) and ends.max() > 0.0:
            return rmt.DiscreteLaw(ends, [0.5, 0.5])
        return rmt.dphi2_law(act, _Q_INF)
    return rmt.dphi2_law(act, q)


def _log_s_d2(law: rmt.DiscreteLaw, t: np.ndarray) -> np.ndarray:
    """ln S_{D^2}(t - 1) for t in (0, 1], written in t (no rounding of 1 + m near t = 0).

    With s = -z > 0, 1 + M(z) = K(s) = sum_k w_k s / (s + x_k) rises from the atom mass
    w_0 at s = 0 to 1 at s = inf, so M(z) = t - 1 has one root for t in (w_0, 1), and
    S(t - 1) = t / ((1 - t) s).  For t <= w_0 (the atom at 0) S = inf (lambda = -inf).
    """
    x, w = law.nodes, law.weights
    zero = x == 0.0
    w0 = float(w[zero].sum())
    xp, wp = x[~zero], w[~zero]
    out = np.full(t.shape, np.inf)
    top = t == 1.0
    out[top] = -math.log(law.mean)
    mid = (t > w0) & ~top
    if not mid.any():
        return out
    tm = t[mid]
    if xp.size == 1:
        # one positive node c: the Bernoulli law of rmt.bernoulli_s scaled by c,
        # S = (1 + m) / (c (m + p)) with 1 + m = t and m + p = t - w_0
        c = float(xp[0])
        out[mid] = -math.log(c) if w0 == 0.0 else np.log(tm / (tm - w0)) - math.log(c)
        return out
    a = tm - w0  # K(s) - w_0 at the root
    b = 1.0 - tm
    # K is increasing; s / (s + x) lies between its values at x_max and x_min, which
    # brackets s in [x_min a / b, x_max a / b] (log scale)
    lr = np.log(a) - np.log(b)
    lo = math.log(xp.min()) + lr
    hi = math.log(xp.max()) + lr
    # near t = 1 compare 1 - K(s) = sum_k w_k x_k / (s + x_k) with 1 - t (no cancellation)
    upper = b < a
    sgn = np.where(upper, -1.0, 1.0)[:, None]
    lxp = np.log(xp)
    width = float(np.max(hi - lo))
    n_iter = min(200, max(1, int(math.ceil(math.log2(max(width, 1e-300) / 1e-16))) + 1))
    for _ in range(n_iter):
        u = 0.5 * (lo + hi)
        # s / (s + x) = 1 / (1 + exp(ln x - u)), x / (s + x) = 1 / (1 + exp(u - ln x))
        with np.errstate(over="ignore"):
            k = (wp / (1.0 + np.exp(sgn * (lxp[None, :] - u[:, None])))).sum(axis=1)
        g = np.where(upper, b - k, k - a)  # increasing in u, zero at the root
        pos = g > 0
        hi = np.where(pos, u, hi)
        lo = np.where(pos, lo, u)
    u = 0.5 * (lo + hi)
    out[mid] = np.log(tm) - np.log(b) - u
    return out


def _log_quantile(
    t: np.ndarray, sw2: np.ndarray, sb2: np.ndarray, act: Activation, orthogonal: bool
) -> np.ndarray:
    """lambda(t) for broadcast arrays t, sigma_w2, sigma_b2."""
    shape = t.shape
    tf, swf, sbf = t.ravel(), sw2.ravel(), sb2.ravel()
    if tf.size == 0:
        return np.empty(shape)
    pairs = np.stack([swf, sbf], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    qs = np.atleast_1d(mf.q_star(uniq[:, 0], uniq[:, 1], act))
    log_sd = np.empty(tf.shape)
    for j in range(uniq.shape[0]):
        sel = inv == j
        log_sd[sel] = _log_s_d2(_d2_law(act, float(qs[j])), tf[sel])
    # ln S_{W^T W}(t - 1): Gaussian 1 / (sigma_w^2 (1 + m)) = 1 / (sigma_w^2 t) (the
    # Marchenko-Pastur S of rmt.marchenko_pastur_s at ratio 1), orthogonal 1 / sigma_w^2
    # (rmt.haar_s)
    log_sw = -np.log(swf) - (0.0 if orthogonal else np.log(tf))
    with np.errstate(invalid="ignore"):
        lam = -0.5 * (log_sd + log_sw)
    lam[np.isposinf(log_sd)] = -np.inf
    return lam.reshape(shape)


def _network_args(sigma_w2: Any, sigma_b2: Any, activation: Any, weights: Any):
    sw2 = _positive("sigma_w2", sigma_w2)
    sb2 = as_float("sigma_b2", sigma_b2, lo=0.0)
    return sw2, sb2, _activation(activation), _check_weights(weights)


def fresh_weights_quantile(
    t: Any,
    sigma_w2: Any,
    sigma_b2: Any = 0.0,
    activation: str | Activation = "tanh",
    weights: str = "gaussian",
) -> np.ndarray | float:
    """Quantile function lambda(t) of the Lyapunov spectrum with fresh weights per layer.

    The deep map h^l = W^l phi(h^{l-1}) + b^l with new weights in every layer has the
    Jacobians J_l = D_l W_l, D_l = diag(phi'(h^l)).  In the large-width limit the J_l are
    free and identically distributed (Pennington, Schoenholz & Ganguli 2017), and the
    fraction t of exponents, counted from the bottom (ascending), that lie below lambda(t)
    satisfies (Kargin 2008, "Lyapunov exponents of free operators", J. Funct. Anal. 255,
    1874-1888; Tucci 2010, "Limits laws for geometric means of free random variables",
    Indiana Univ. Math. J. 59, 1-13, the law of (T_1^* ... T_n^* T_n ... T_1)^{1/2n})::

        lambda(t) = -1/2 ln S_A(t - 1),    t in (0, 1],
        S_A(m)    = S_{D^2}(m) S_{W^T W}(m)   (freeness),

    with S_{W^T W}(m) = 1 / (sigma_w^2 (1 + m)) for Gaussian weights and 1 / sigma_w^2 for
    scaled Haar orthogonal ones, and D^2 distributed as phi'(sqrt(q*) z)^2, z ~ N(0, 1),
    q* = :func:`deeptheory.meanfield.q_star`.  Special cases:

    * t = 1 (the top exponent): lambda(1) = 1/2 ln chi_1, chi_1 = sigma_w^2 E[phi'^2].
    * Linear phi, Gaussian weights: lambda(t) = 1/2 ln(sigma_w^2 t), the N -> inf limit of
      :func:`newman_exponents`; orthogonal weights: 1/2 ln sigma_w^2 for every t.
    * relu (D^2 ~ Bernoulli(1/2)): lambda(t) = 1/2 ln(sigma_w^2 (t - 1/2)) for t > 1/2 and
      -inf for t <= 1/2.  In general an atom of D^2 at 0 of mass 1 - p (phi' = 0 on a set
      of positive probability: relu, hard_tanh) puts a fraction 1 - p of the exponents at
      -inf; lambda(t) = -inf for t <= 1 - p.
    * Mean: integral_0^1 lambda(t) dt = 1/2 (E ln phi'(sqrt(q*) z)^2 + E ln x), x one
      eigenvalue of W^T W (ln sigma_w^2 - 1 Gaussian, ln sigma_w^2 orthogonal): the
      Fuglede-Kadison determinant (Kargin 2008).

    D^2 is the quadrature law of :func:`deeptheory.rmt.dphi2_law` (at q* = 0 its q -> 0+
    limit, e.g. Bernoulli(1/2) for relu; at q* = inf, a diverging length, the limit law with
    atoms phi'(-inf)^2 and phi'(+inf)^2 of mass 1/2, Bernoulli(1/2) for relu, silu, gelu,
    elu and softplus).  For t in (w_0, 1) the equation M(z) = t - 1 is solved on the real
    axis z < 0, where M(z) = E[x / (z - x)] decreases monotonically from 0 to -(1 - w_0)
    (w_0 the mass of the law at 0), by bisection in ln(-z) to about 1e-16; S(t - 1) =
    t / ((1 - t)(-z)).  Caveat: where phi'^2 evaluates to exactly 0 at quadrature nodes of
    a smooth activation (underflow; tanh's 1 - tanh^2 is 0 for |x| > 19, reached when
    q* > 5), the law has a spurious atom at 0 of that mass (tanh: 3e-14 at q* = 6.3, 2e-4
    at q* = 26) and lambda(t) = -inf for t below it.

    Parameters
    ----------
    t : array_like
        Quantiles in (0, 1].
    sigma_w2 : array_like
        Weight variance (> 0).
    sigma_b2 : array_like, optional
        Bias variance (>= 0).
    activation : str or Activation, optional
        Default ``"tanh"``.
    weights : {"gaussian", "orthogonal"}, optional

    Returns
    -------
    float or numpy.ndarray
        lambda(t) in nats per layer, broadcast over t, sigma_w2 and sigma_b2; -inf where
        t lies in the atom at -inf.

    Raises
    ------
    ValueError, TypeError
        t outside (0, 1], non-finite or negative variances, sigma_w2 = 0, unknown weights
        or activation.
    """
    tt = as_float("t", t)
    if np.any((tt <= 0.0) | (tt > 1.0)):
        raise ValueError(f"t must lie in (0, 1], got values in [{tt.min()}, {tt.max()}]")
    sw2, sb2, act, orth = _network_args(sigma_w2, sigma_b2, activation, weights)
    tt, sw2, sb2 = broadcast(t=tt, sigma_w2=sw2, sigma_b2=sb2)
    return scalar_or_array(_log_quantile(tt, sw2, sb2, act, orth))


def fresh_weights_exponents(
    width: int,
    sigma_w2: Any,
    sigma_b2: Any = 0.0,
    activation: str | Activation = "tanh",
    weights: str = "gaussian",
) -> np.ndarray:
    """N exponents of the fresh-weights spectrum at midpoint quantiles (Kargin 2008).

    lambda_i = lambda(t_i) with t_i = (N - i + 1/2) / N, i = 1, ..., N (descending), where
    lambda(t) is :func:`fresh_weights_quantile` (Tucci 2010).  For linear phi and Gaussian
    weights they exceed :func:`newman_exponents` by about 1/(4 (N - i)): since
    psi(x) = ln(x - 1/2) + O(x^-2), Newman's finite-N exponents sit at t = (N - i)/N, not at
    the midpoints (0.0025 at i = 1 and 0.024 at i = 90 for N = 100).  Exponents in an atom
    at 0 of D^2 are -inf (relu: the lower half).

    Parameters
    ----------
    width : int
        N >= 1.
    sigma_w2, sigma_b2, activation, weights
        As in :func:`fresh_weights_quantile`; sigma_w2 and sigma_b2 broadcast.

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(sigma_w2, sigma_b2).shape + (N,)``, descending.
    """
    n = as_int("width", width, lo=1)
    sw2, sb2, act, orth = _network_args(sigma_w2, sigma_b2, activation, weights)
    sw2, sb2 = broadcast(sigma_w2=sw2, sigma_b2=sb2)
    t = (n - np.arange(1, n + 1) + 0.5) / n
    shape = sw2.shape + (n,)
    tt = np.broadcast_to(t, shape)
    return _log_quantile(
        tt,
        np.broadcast_to(sw2[..., None], shape),
        np.broadcast_to(sb2[..., None], shape),
        act,
        orth,
    )


# --------------------------------------------------------------------------- recurrent network


def rnn_max_exponent(
    gain: Any, sigma_b2: Any = 0.0, activation: str | Activation = "tanh"
) -> np.ndarray | float:
    """Mean-field largest Lyapunov exponent of the discrete-time random network.

    h_{t+1} = W phi(h_t) + b, W_ij ~ N(0, g^2 / N), b_i ~ N(0, sigma_b2) (Molgedey,
    Schuchhardt & Schuster 1992, Phys. Rev. Lett. 69, 3717; Schoenholz et al. 2017)::

        lambda_max = 1/2 ln chi_1,    chi_1 = g^2 E[phi'(sqrt(q*) z)^2],

    with q* = :func:`deeptheory.meanfield.q_star` at sigma_w^2 = g^2.  Below the transition
    at sigma_b2 = 0 (q* = 0) this is ln(g |phi'(0)|), ln g for tanh; lambda_max > 0 marks
    chaos.  g = 0 gives -inf.  In nats per step.

    Parameters
    ----------
    gain : array_like
        g >= 0.
    sigma_b2 : array_like, optional
        Bias variance (>= 0); broadcasts with ``gain``.
    activation : str or Activation, optional

    Returns
    -------
    float or numpy.ndarray
    """
    g = as_float("gain", gain, lo=0.0)
    sb2 = as_float("sigma_b2", sigma_b2, lo=0.0)
    act = _activation(activation)
    g, sb2 = broadcast(gain=g, sigma_b2=sb2)
    c1 = np.asarray(mf.chi1(g * g, sb2, act), dtype=float)
    with np.errstate(divide="ignore"):
        return scalar_or_array(0.5 * np.log(c1))


def critical_gain(sigma_b2: Any = 0.0, activation: str | Activation = "tanh") -> np.ndarray | float:
    """Gain g at the order-to-chaos transition of the random network (Schoenholz et al. 2017).

    g_c = sqrt(sigma_w^2 on the line chi_1 = 1), from
    :func:`deeptheory.meanfield.critical_line`: :func:`rnn_max_exponent` is 0 there.  tanh at
    sigma_b2 = 0: g_c = 1; relu: sqrt(2) for every sigma_b2.  Broadcasts over sigma_b2.
    """
    sb2 = as_float("sigma_b2", sigma_b2, lo=0.0)
    act = _activation(activation)
    return scalar_or_array(np.sqrt(np.asarray(mf.critical_line(sb2, act), dtype=float)))


# --------------------------------------------------------------------------- spectra


def kaplan_yorke_dimension(exponents: Any) -> np.ndarray | float:
    """Kaplan-Yorke (Lyapunov) dimension of a spectrum (Kaplan & Yorke 1979).

    With the exponents sorted descending (done here, along the last axis) and
    S_k = lambda_1 + ... + lambda_k::

        D_KY = k + S_k / |lambda_{k+1}|,    k = the largest index with S_k >= 0,

    D_KY = 0 if lambda_1 < 0 (no such k), and D_KY = N if the full sum S_N >= 0 (no
    contracting direction left to balance the expansion).  Exponents equal to -inf (an
    atom, see :func:`fresh_weights_exponents`) are allowed; NaN and +inf are not.
    Vectorised over leading axes.  Lorenz (0.9056, 0, -14.5723): 2.0621.

    Parameters
    ----------
    exponents : array_like
        Shape (..., N), N >= 1, any order.

    Returns
    -------
    float or numpy.ndarray
        Shape ``exponents.shape[:-1]``.
    """
    a = _exponent_array(exponents)
    a = -np.sort(-a, axis=-1)
    n = a.shape[-1]
    s = np.cumsum(a, axis=-1)
    idx = np.arange(1, n + 1)
    k = np.where(s >= 0.0, idx, 0).max(axis=-1)
    ki = np.clip(k, 1, n)[..., None]
    s_k = np.take_along_axis(s, ki - 1, axis=-1)[..., 0]
    nxt = np.take_along_axis(a, np.minimum(ki, n - 1), axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = s_k / np.abs(nxt)
    d = np.where(k == 0, 0.0, np.where(k == n, float(n), k + frac))
    return scalar_or_array(np.asarray(d, dtype=float))


def ks_entropy(exponents: Any) -> np.ndarray | float:
    """Pesin's sum of the positive exponents (Pesin 1977), along the last axis.

    h_KS <= sum_{lambda_i > 0} lambda_i (Ruelle's inequality, Ruelle 1978) for any
    invariant measure; equality (Pesin's formula) holds for SRB measures (Ledrappier &
    Young 1985), the physical measure of a typical chaotic attractor.  In the units of the
    exponents (nats per step or per unit time).  -inf exponents are allowed.
    """
    a = _exponent_array(exponents)
    return scalar_or_array(np.asarray(np.where(a > 0.0, a, 0.0).sum(axis=-1), dtype=float))


def exponent_sum(width: int, tau: Any = 1.0) -> np.ndarray | float:
    """Sum of the N exponents of the rate network tau dh/dt = -h + J phi(h), J_ii = 0.

    (Sompolinsky, Crisanti & Sommers 1988, Phys. Rev. Lett. 61, 259.)  The exponents sum to
    the time average of the trace of the Jacobian (-I + J diag(phi'(h))) / tau, which with
    a zero diagonal is -N / tau at every point::

        sum_i lambda_i = -N / tau.

    With a nonzero diagonal the sum is -N / tau + (1 / tau) <sum_i J_ii phi'(h_i)>_time.
    Broadcasts over tau (> 0); per unit time.
    """
    n = as_int("width", width, lo=1)
    tt = _positive("tau", tau)
    return scalar_or_array(-n / tt)
