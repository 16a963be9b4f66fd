"""Theorems about ResNets as ODEs, checked numerically.

* Lipschitz constant of a one-hidden-layer field f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t):
  C <= ||W2||_2 ||W1||_2 sup|phi'| (:func:`lipschitz_bound`, :func:`activation_lipschitz`).
* Gronwall's inequality (Gronwall 1919): two solutions of z' = f(z, t) with f C-Lipschitz
  satisfy |z1(t) - z2(t)| <= |x1 - x2| e^{C |t - t0|} (:func:`gronwall_check`).
* ODE flows are homeomorphisms, so trajectories never meet or cross (Chen et al. 2018;
  Dupont et al. 2019, "Augmented neural ODEs"); a discrete residual map with a large step
  can (:func:`trajectories_cross`).
* The plane's topology: a homeomorphism keeps the winding number of a closed curve about a
  point (+-1 for a circle about an interior point), so a 2-D flow cannot pull a disk out of
  the ring around it (Dupont et al. 2019) (:func:`winding_number`,
  :func:`flow_map_lipschitz`).
* Invertible residual blocks (Behrmann et al. 2019): F(x) = x + h g(x) with Lip(h g) <= c < 1
  is a bi-Lipschitz bijection, inverted by the fixed-point iteration x <- y - h g(x)
  (:func:`spectral_normalise`, :func:`iresblock_forward`, :func:`iresblock_inverse`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import erf

from .._api import Result, check_on_fail, report_nonconvergence
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation
from .odeflow import MLPField, odeint_batch

__all__ = [
    "CrossingCheck",
    "GronwallCheck",
    "IResInverse",
    "activation_lipschitz",
    "flow_map_lipschitz",
    "gronwall_check",
    "iresblock_forward",
    "iresblock_inverse",
    "lipschitz_bound",
    "spectral_normalise",
    "trajectories_cross",
    "winding_number",
]

# ---------------------------------------------------------------- sup |phi'|

_SQRT2 = math.sqrt(2.0)


def _gelu_sup() -> float:
    # phi'(x) = Phi(x) + x N(x); phi''(x) = N(x) (2 - x^2) = 0 at x = sqrt 2
    x = _SQRT2
    return 0.5 * (1.0 + float(erf(x / _SQRT2))) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _silu_sup() -> float:
    # phi'(x) = s (1 + x (1 - s)), s = sigmoid; maximum at the root of phi'' in (2, 3)
    act = get_activation("silu")
    x = brentq(lambda u: float(act(u, 2)), 2.0, 3.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return float(act(x, 1))


#: sup_x |phi'(x)| of the built-in activations (closed forms or a root of phi'')
_CLOSED: dict[str, Any] = {
    "linear": 1.0, "tanh": 1.0, "erf": 2.0 / math.sqrt(math.pi), "relu": 1.0,
    "hard_tanh": 1.0, "sigmoid": 0.25, "elu": 1.0, "softplus": 1.0, "sin": 1.0,
    "gelu": _gelu_sup, "silu": _silu_sup,
}
_SUP_CACHE: dict[str, tuple[Activation, float]] = {}
#: half-width and spacing of the grid on which a user activation's |phi'| is maximised
GRID_HALF_WIDTH = 64.0
GRID_STEP = 1e-3
#: tail probes |x| = 10^2 ... 10^12: phi' still above the core maximum there means unbounded
_TAIL = 10.0 ** np.arange(2, 13)


def _numeric_sup(act: Activation) -> float:
    """Grid maximum of |phi'| on [-64, 64] (step 1e-3, plus the kinks from both sides),
    refined by a bounded scalar search around the best grid point, and the tail probes;
    +inf when phi' is not a function (a jump in phi) or grows at the far tail probes."""
    if act.max_deriv < 1:
        return math.inf
    x = np.arange(-GRID_HALF_WIDTH, GRID_HALF_WIDTH + GRID_STEP / 2, GRID_STEP)
    eps = 1e-9
    k = np.asarray(act.kinks, dtype=float)
    x = np.concatenate([x, k - eps, k + eps])
    with np.errstate(all="ignore"):
        v = np.abs(np.asarray(act(x, 1), dtype=float))
        tails = [np.abs(np.asarray(act(sg * _TAIL, 1), dtype=float)) for sg in (1.0, -1.0)]
    if not np.all(np.isfinite(v)):
        return math.inf
    core = float(v.max())
    above = core * (1.0 + 1e-9)
    top = core
    for side in tails:
        seen: list[float] = []
        for val in side:
            if not math.isfinite(val):  # overflow: unbounded if it was already climbing
                if seen and seen[-1] > above:
                    return math.inf
                break
            seen.append(float(val))
        if len(seen) >= 2 and seen[-1] > above and seen[-1] > seen[-2] * (1.0 + 1e-6):
            return math.inf  # still growing at the farthest finite probe
        top = max(top, *seen) if seen else top
    core = top
    i = int(np.argmax(v))
    lo, hi = x[i] - GRID_STEP, x[i] + GRID_STEP
    res = minimize_scalar(lambda u: -abs(float(act(u, 1))), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    return max(core, -float(res.fun))


def activation_lipschitz(activation: Any) -> float:
    """L_phi = sup_x |phi'(x)|, the Lipschitz constant of the activation (used in the
    product bound of Behrmann et al. 2019, Lip(W2 phi(W1 z)) <= ||W2||_2 ||W1||_2 L_phi).

    Built-ins use closed values: 1 for linear, tanh, relu, hard_tanh, elu, softplus (a
    supremum not attained) and sin; 2/sqrt(pi) for erf; 1/4 for sigmoid; Phi(sqrt 2) +
    sqrt 2 N(sqrt 2) = 1.128904... for gelu; silu's maximum at the root of phi'' in (2, 3)
    (1.099839...).  A user activation is maximised numerically: |phi'| on a grid of step
    1e-3 over [-64, 64] and on both sides of its kinks, refined by a bounded scalar search
    around the best grid point.  The result is +inf when phi' is not a function (phi has
    a jump), is non-finite on the grid, or |phi'| at the tail probes |x| = 10^2 ... 10^12
    exceeds the grid maximum and still grows at the farthest finite probe, or overflows
    after exceeding it (e.g. phi = x^2, x log(1 + x^2), exp x); a
    bounded tail (a supremum approached at infinity, as for softplus) enters the maximum.
    A grid cannot see a spike narrower than its step: for such activations pass a known
    bound instead.
    """
    act = get_activation(activation)
    hit = _SUP_CACHE.get(act.name)
    if hit is not None and hit[0] is act:
        return hit[1]
    closed = _CLOSED.get(act.name) if act.builtin else None
    if closed is not None:
        val = float(closed() if callable(closed) else closed)
    else:
        val = _numeric_sup(act)
    _SUP_CACHE[act.name] = (act, val)
    return val


# ---------------------------------------------------------------- Lipschitz bound of a field


def _check_field(field: Any) -> MLPField:
    if not isinstance(field, MLPField):
        raise TypeError(f"field must be an MLPField, got {type(field).__name__}")
    return field


def lipschitz_bound(field: MLPField, t: float | None = None) -> float:
    """Upper bound on the Lipschitz constant in z of f(z, t) = W2(t) phi(W1(t) z + b1(t)) +
    b2(t) (an :class:`~deeptheory.dynamics.odeflow.MLPField`; Chen et al. 2018):

        |f(z1, t) - f(z2, t)| <= ||W2(t)||_2 ||W1(t)||_2 L_phi |z1 - z2|,

    L_phi = sup|phi'| (:func:`activation_lipschitz`), the spectral-norm product bound of
    Behrmann et al. 2019.  With ``t`` given: that bound at time t.  Without: a bound valid
    at every t, C = max over weight intervals [t_k, t_{k+1}] of max_{s in [0, 1]}
    ((1 - s) a2_k + s a2_{k+1}) ((1 - s) a1_k + s a1_{k+1}), a_k = ||W_k||_2 (the norm of
    the interpolated weight is at most the interpolated norm; the product of two linear
    functions of s is maximised at an end or at its vertex).  For constant weights it is
    ||W2||_2 ||W1||_2 L_phi; it is the maximum over the nodes whenever the norms move
    together.  The product bound is tight when W2 W1 has norm ||W2|| ||W1|| and phi is
    linear (e.g. W2 = c W1^T with W1 having orthonormal columns), loose otherwise.
    +inf for an activation without bounded phi'.
    """
    f = _check_field(field)
    lphi = activation_lipschitz(f.activation)
    if t is not None:
        w1, _, w2, _ = f.weights_at(t)
        return float(np.linalg.norm(w2, 2) * np.linalg.norm(w1, 2)) * lphi
    a1 = np.array([np.linalg.norm(w, 2) for w in f.w1])
    a2 = np.array([np.linalg.norm(w, 2) for w in f.w2])
    best = float(np.max(a1 * a2))
    for k in range(a1.size - 1):
        p1, q1 = a1[k], a1[k + 1] - a1[k]
        p2, q2 = a2[k], a2[k + 1] - a2[k]
        qq = q1 * q2
        if qq < 0.0:  # concave quadratic p1 p2 + s (p1 q2 + p2 q1) + s^2 q1 q2
            s = -(p1 * q2 + p2 * q1) / (2.0 * qq)
            if 0.0 < s < 1.0:
                best = max(best, (p1 + s * q1) * (p2 + s * q2))
    return best * lphi if lphi < math.inf else math.inf


# ---------------------------------------------------------------- Gronwall


@dataclass(frozen=True)
class GronwallCheck(Result):
    """Result of :func:`gronwall_check`.

    times : (n_times,) output times (times[0] = t0).
    distance : (n_times, n) |z1(t) - z2(t)| for every pair; (n_times,) for one pair.
    envelope : same shape, |x1 - x2| e^{C |t - t0|}.
    lipschitz : the constant C used.
    slack : the relative slack allowed (see :func:`gronwall_check`).
    max_ratio : max over the times after t0 and over the pairs of distance / envelope (how
        close the trajectories come to the bound; 1 at t0 by construction, so t0 is left
        out; nan when there is no later time).
    holds : distance <= envelope + slack (envelope + |z1| + |z2|) everywhere.
    """

    times: np.ndarray
    distance: np.ndarray
    envelope: np.ndarray
    lipschitz: float
    slack: float
    max_ratio: float
    holds: bool


def gronwall_check(
    field: MLPField, x1: Any, x2: Any, times: Any, *, lipschitz: float | None = None,
    slack: float | None = None, **odeint_kw: Any,
) -> GronwallCheck:
    """Check Gronwall's inequality (Gronwall 1919) along two solutions of z' = f(z, t)
    (a neural ODE, Chen et al. 2018): if f is C-Lipschitz in z then

        |z1(t) - z2(t)| <= |x1 - x2| e^{C |t - t0|},

    with equality for the linear field f(z) = C z.  x1, x2 : (d,) or (n, d) initial points
    (row i of x1 is paired with row i of x2); times : t0 and the output times, as for
    :func:`~deeptheory.dynamics.odeflow.odeint_batch` (backward in time also works);
    ``odeint_kw`` go to that integrator (default dopri5, rtol 1e-8, atol 1e-10).
    lipschitz : C (default :func:`lipschitz_bound` of the field, valid for every t).

    The computed distance carries the integrator's error, about tol (|z1| + |z2|) for a
    global relative error tol, so the check is distance <= envelope + slack (envelope +
    |z1(t)| + |z2(t)|).  Default slack: 1000 rtol for dopri5 (global error is a modest
    multiple of the local tolerance for these smooth fields); 1e-12 for euler and rk4,
    whose one-step maps are themselves (1 + hC)- and (sum_{j<=4} (hC)^j / j!)-Lipschitz,
    both <= e^{hC}, so the discrete solution obeys the bound up to rounding.
    """
    f = _check_field(field)
    a = as_float("x1", x1)
    b = as_float("x2", x2)
    single = a.ndim == 1
    if a.shape != b.shape:
        raise ValueError(f"x1 and x2 must have the same shape, got {a.shape} and {b.shape}")
    if single:
        a, b = a[None], b[None]
    if a.ndim != 2 or a.shape[1] != f.dim or a.shape[0] < 1:
        raise ValueError(f"x1 must have shape (n, {f.dim}) or ({f.dim},), got {np.shape(x1)}")
    if lipschitz is None:
        c = lipschitz_bound(f)
    else:
        c = float(as_float("lipschitz", lipschitz, lo=0.0))
    if not math.isfinite(c):
        raise ValueError(f"lipschitz must be finite; activation {f.activation.name!r} has "
                         f"unbounded phi' (pass lipschitz= explicitly)")
    method = odeint_kw.get("method", "dopri5")
    if slack is None:
        sl = 1000.0 * float(odeint_kw.get("rtol", 1e-8)) if method == "dopri5" else 1e-12
    else:
        sl = float(as_float("slack", slack, lo=0.0))
    n = a.shape[0]
    sol = odeint_batch(f, np.concatenate([a, b]), times, **odeint_kw)
    z1, z2 = sol.states[:, :n], sol.states[:, n:]
    ts = sol.times
    dist = np.linalg.norm(z1 - z2, axis=-1)
    d0 = np.linalg.norm(a - b, axis=-1)
    env = d0[None, :] * np.exp(c * np.abs(ts - ts[0]))[:, None]
    allow = env + sl * (env + np.linalg.norm(z1, axis=-1) + np.linalg.norm(z2, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(env > 0, dist / np.where(env > 0, env, 1.0),
                         np.where(dist > 0, np.inf, 1.0))
    holds = bool(np.all(dist <= allow))
    if single:
        dist, env = dist[:, 0], env[:, 0]
    return GronwallCheck(times=ts, distance=dist, envelope=env, lipschitz=c, slack=sl,
                         max_ratio=float(np.max(ratio[1:])) if ratio.shape[0] > 1 else math.nan,
                         holds=holds)


# ---------------------------------------------------------------- discrete flow map, winding


def flow_map_lipschitz(field: MLPField, t_end: float, n_steps: int, block: str = "rk4") -> float:
    """Upper bound on the Lipschitz constant of the fixed-step flow map x_0 -> x_L of
    :func:`~deeptheory.dynamics.resnet_ode.resnet_flow` (h = T / L, t_l = l h):

        Euler block:  Lip <= prod_l (1 + h C_l),
        RK4 block:    Lip <= prod_l sum_{j=0}^{4} (h C_l)^j / j!   (<= e^{h C_l}),

    with C_l the :func:`lipschitz_bound` of f at t_l (Euler) or the largest of its values at
    the stage times t_l, t_l + h/2, t_{l+1} (RK4).  The RK4 factor follows stage by stage:
    Lip(k1) <= C, Lip(k2) <= C (1 + hC/2), Lip(k3) <= C (1 + hC/2 + (hC)^2/4),
    Lip(k4) <= C (1 + hC + (hC)^2/2 + (hC)^3/4), and 1 + h/6 (k1 + 2 k2 + 2 k3 + k4).
    Both are at most e^{C T} for C = max_l C_l (the discrete Gronwall bound).
    """
    from .resnet_ode import _check_block  # noqa: PLC0415  (resnet_ode imports odeflow only)

    f = _check_field(field)
    blk = _check_block(block)
    ns = as_int("n_steps", n_steps, lo=1)
    T = float(as_float("t_end", t_end))
    if T <= 0.0:
        raise ValueError(f"t_end must be > 0, got {T}")
    h = T / ns
    total = 0.0  # sum of logs
    for step in range(ns):
        t = step * h
        if blk == "euler":
            c = lipschitz_bound(f, t)
            total += math.log1p(h * c)
        else:
            c = max(lipschitz_bound(f, t), lipschitz_bound(f, t + 0.5 * h),
                    lipschitz_bound(f, t + h))
            x = h * c
            total += math.log1p(x + x * x / 2.0 + x ** 3 / 6.0 + x ** 4 / 24.0)
    return math.exp(total)


def winding_number(curve: Any, point: Any) -> np.ndarray:
    """Winding number of the closed polygon through ``curve`` (m, 2) (the last vertex joins
    the first) about ``point`` (2,) or (k, 2): the signed number of turns of
    curve - point, sum_j angle(v_j, v_{j+1}) / 2 pi with v_j = curve_j - point, each angle
    in (-pi, pi] (atan2 of the cross and dot products).  Exact (an integer up to
    rounding, returned rounded) for a polygon that does not pass through the point; a
    point on the polygon raises ValueError.  A homeomorphism of the plane maps a circle
    about an interior point to a curve of winding number +-1 about its image, which is
    why a 2-D flow cannot separate a disk from a ring around it (Dupont et al. 2019).
    Returns an int array of shape (k,) (or a 0-d array for one point).
    """
    c = as_float("curve", curve)
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 3:
        raise ValueError(f"curve must have shape (m, 2) with m >= 3, got {c.shape}")
    p = as_float("point", point)
    single = p.ndim == 1
    if p.shape[-1:] != (2,) or p.ndim > 2:
        raise ValueError(f"point must have shape (2,) or (k, 2), got {p.shape}")
    p = np.atleast_2d(p)
    v = c[None, :, :] - p[:, None, :]  # (k, m, 2)
    w = np.roll(v, -1, axis=1)
    cross = v[..., 0] * w[..., 1] - v[..., 1] * w[..., 0]
    dot = np.sum(v * w, axis=-1)
    scale = np.linalg.norm(v, axis=-1) * np.linalg.norm(w, axis=-1)
    if np.any((np.abs(cross) <= 1e-14 * scale) & (dot <= 0.0)):
        raise ValueError("point lies on the curve: the winding number is undefined")
    turns = np.sum(np.arctan2(cross, dot), axis=1) / (2.0 * math.pi)
    out = np.rint(turns).astype(np.int64)
    return out[0] if single else out


# ---------------------------------------------------------------- non-crossing


@dataclass(frozen=True)
class CrossingCheck(Result):
    """Result of :func:`trajectories_cross`.

    crossed : some pair came within ``tol`` (relative to its initial distance).
    min_ratio : min over pairs and times of |z_i(t) - z_j(t)| / |z_i(t0) - z_j(t0)|.
    pair : (i, j), i < j, the pair attaining it.
    position : where, in units of the sample index (k + s: between samples k and k + 1).
    min_distance : the absolute distance there.
    ratios : (n, n) the per-pair minimum ratio (diagonal +inf).
    """

    crossed: bool
    min_ratio: float
    pair: tuple[int, int]
    position: float
    min_distance: float
    ratios: np.ndarray


def trajectories_cross(
    states: Any, tol: float = 1e-6, *, interpolate: bool = True,
) -> CrossingCheck:
    """Do any two trajectories of a batch meet?  states : (n_times, n, d) (as in
    :class:`~deeptheory.dynamics.odeflow.OdeSolution`), n >= 2 distinct initial points.

    The solution map of z' = f(z, t) with f Lipschitz is a homeomorphism (Picard-Lindelof
    uniqueness), so distinct trajectories never meet and, in one dimension, never change
    order (Chen et al. 2018; Dupont et al. 2019): by Gronwall (1919) run backwards,
    |z_i(t) - z_j(t)| >= |z_i(t0) - z_j(t0)| e^{-C |t - t0|}.  A residual network with a
    large step, x <- x + h f(x), is not a flow and can map two points onto each other or
    swap them.

    For every pair the minimum of |z_i - z_j| over time is divided by the initial
    distance; ``crossed`` when the smallest such ratio is <= ``tol``.  With
    ``interpolate`` (default) each step k -> k + 1 is the straight, time-synchronous
    segment z(s) = (1 - s) z_k + s z_{k+1}, and the minimum of |Delta_k + s (Delta_{k+1} -
    Delta_k)| over s in [0, 1] is taken in closed form, so a swap between two samples
    (a sign change of Delta in one dimension) counts as a meeting; otherwise only the
    samples are compared.  O(n_times n^2 d) time, O(n^2 d) memory.
    """
    s = as_float("states", states)
    if s.ndim != 3 or s.shape[0] < 1 or s.shape[1] < 2 or s.shape[2] < 1:
        raise ValueError(f"states must have shape (n_times, n >= 2, d), got {s.shape}")
    tl = float(as_float("tol", tol, lo=0.0))
    if not isinstance(interpolate, (bool, np.bool_)):
        raise TypeError(f"interpolate must be a bool, got {interpolate!r}")
    nt, n, _ = s.shape
    iu = np.triu_indices(n, 1)

    def diffs(k: int) -> np.ndarray:
        return (s[k][:, None, :] - s[k][None, :, :])[iu]  # (n_pairs, d)

    d_prev = diffs(0)
    d0 = np.linalg.norm(d_prev, axis=-1)
    if np.any(d0 == 0.0):
        p = int(np.flatnonzero(d0 == 0.0)[0])
        raise ValueError(f"states has coincident initial points {iu[0][p]} and {iu[1][p]}")
    best = d0.copy()
    where = np.zeros_like(d0)
    for k in range(1, nt):
        d_next = diffs(k)
        dist = np.linalg.norm(d_next, axis=-1)
        pos = np.full_like(dist, float(k))
        if interpolate:
            e = d_next - d_prev
            ee = np.einsum("ij,ij->i", e, e)
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.clip(-np.einsum("ij,ij->i", d_prev, e) / ee, 0.0, 1.0)
            u = np.where(ee > 0, u, 0.0)
            seg = np.linalg.norm(d_prev + u[:, None] * e, axis=-1)
            closer = seg < dist
            dist = np.where(closer, seg, dist)
            pos = np.where(closer, k - 1 + u, pos)
        upd = dist < best
        best = np.where(upd, dist, best)
        where = np.where(upd, pos, where)
        d_prev = d_next
    r = best / d0
    m = int(np.argmin(r))
    ratios = np.full((n, n), np.inf)
    ratios[iu] = r
    ratios[iu[1], iu[0]] = r
    return CrossingCheck(crossed=bool(r[m] <= tl), min_ratio=float(r[m]),
                         pair=(int(iu[0][m]), int(iu[1][m])), position=float(where[m]),
                         min_distance=float(best[m]), ratios=ratios)


# ---------------------------------------------------------------- invertible residual blocks


def spectral_normalise(w: Any, c: float) -> np.ndarray:
    """Scale a weight matrix so that its spectral norm is at most c (Behrmann et al. 2019;
    Miyato et al. 2018):

        w~ = w min(1, c / ||w||_2),

    with ||w||_2 the largest singular value computed exactly by SVD.  Behrmann et al.
    estimate ||w||_2 by one power-iteration step per training step, which approaches
    sigma_max from below, so their normalised weights may exceed c slightly; here the
    bound is exact (to rounding).  w : 2-D array; c > 0.  Returns a new array.
    """
    a = as_float("w", w)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"w must be a non-empty 2-D matrix, got shape {a.shape}")
    cc = float(as_float("c", c))
    if not cc > 0.0:
        raise ValueError(f"c must be > 0, got {cc}")
    sig = float(np.linalg.norm(a, 2))
    if sig <= cc:
        return a.copy()
    return a * (cc / sig)


def _block(x: Any, w1: Any, b1: Any, w2: Any, b2: Any, activation: Any, h: Any,
           xname: str) -> tuple[np.ndarray, bool, np.ndarray, np.ndarray, np.ndarray,
                                np.ndarray, Activation, float]:
    a1 = as_float("w1", w1)
    if a1.ndim != 2 or a1.size == 0:
        raise ValueError(f"w1 must be a non-empty (H, d) matrix, got shape {a1.shape}")
    hid, d = a1.shape
    a2 = as_float("w2", w2)
    if a2.shape != (d, hid):
        raise ValueError(f"w2 must have shape ({d}, {hid}) (d, H), got {a2.shape}")
    c1 = np.zeros(hid) if b1 is None else as_float("b1", b1)
    if c1.shape != (hid,):
        raise ValueError(f"b1 must have shape ({hid},), got {c1.shape}")
    c2 = np.zeros(d) if b2 is None else as_float("b2", b2)
    if c2.shape != (d,):
        raise ValueError(f"b2 must have shape ({d},), got {c2.shape}")
    hh = float(as_float("h", h))
    if not hh > 0.0:
        raise ValueError(f"h must be > 0, got {hh}")
    act = get_activation(activation)
    xa = as_float(xname, x)
    single = xa.ndim == 1
    if single:
        xa = xa[None]
    if xa.ndim != 2 or xa.shape[1] != d:
        raise ValueError(f"{xname} must have shape (n, {d}) or ({d},), got {np.shape(x)}")
    return xa, single, a1, c1, a2, c2, act, hh


def _branch(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
            act: Activation, h: float) -> np.ndarray:
    return h * (np.asarray(act(x @ w1.T + b1)) @ w2.T + b2)


def iresblock_forward(
    x: Any, w1: Any, b1: Any, w2: Any, b2: Any, activation: Any = "tanh", h: float = 1.0,
) -> np.ndarray:
    """An invertible residual block (Behrmann et al. 2019; He et al. 2016):

        F(x) = x + h g(x),     g(x) = W2 phi(W1 x + b1) + b2,

    x : (d,) or (n, d); w1 : (H, d); w2 : (d, H); b1 : (H,) or None; b2 : (d,) or None;
    h > 0 the step.  F is invertible when Lip(h g) <= c < 1 (:func:`iresblock_inverse`);
    this forward map needs no condition.
    """
    xa, single, a1, c1, a2, c2, act, hh = _block(x, w1, b1, w2, b2, activation, h, "x")
    y = xa + _branch(xa, a1, c1, a2, c2, act, hh)
    return y[0] if single else y


@dataclass(frozen=True)
class IResInverse(Result):
    """Result of :func:`iresblock_inverse`.

    x : (d,) or (n, d) the preimage, F(x) = y.
    n_iter : (n,) iterations each point took (int for a single point).
    rate : the largest observed contraction ratio |x_{k+1} - x_k| / |x_k - x_{k-1}|
        over points and iterations with |x_k - x_{k-1}| > sqrt(eps) max(1, |x_{k+1}|)
        (below that the ratio is rounding noise); nan if there is none.
    lipschitz : c = h ||W2||_2 ||W1||_2 sup|phi'|, the guaranteed rate.
    error_bound : (n,) a posteriori bound c / (1 - c) |x_K - x_{K-1}| on |x - F^{-1}(y)|.
    converged : every point met the tolerance.
    """

    x: np.ndarray
    n_iter: np.ndarray | int
    rate: float
    lipschitz: float
    error_bound: np.ndarray | float
    converged: bool


def iresblock_inverse(
    y: Any, w1: Any, b1: Any, w2: Any, b2: Any, activation: Any = "tanh", h: float = 1.0, *,
    tol: float = 1e-13, max_iter: int = 500, x0: Any = None, on_fail: str = "raise",
) -> IResInverse:
    """Invert the residual block y = F(x) = x + h g(x) of :func:`iresblock_forward` by the
    fixed-point iteration of Behrmann et al. 2019 (Banach's contraction principle):

        x_0 = y (or ``x0``),    x_{k+1} = y - h g(x_k).

    With c = h ||W2||_2 ||W1||_2 sup|phi'| < 1 (:func:`activation_lipschitz`) the map
    x -> y - h g(x) is a c-contraction: |x_{k+1} - x_k| <= c^k |x_1 - x_0|, the error
    after K steps is at most c / (1 - c) |x_K - x_{K-1}|, and F is bi-Lipschitz with
    Lip(F) <= 1 + c, Lip(F^{-1}) <= 1 / (1 - c).  A point stops when |x_{k+1} - x_k| <=
    tol max(1, |x_{k+1}|), so it takes at most 1 + ceil(log(tol / |x_1 - x_0|) / log c)
    iterations.  c >= 1 is a ValueError ("a branch with Lip >= 1 asked to invert"): the
    guarantee is gone and F need not be injective.  Reaching ``max_iter`` is a
    :class:`~deeptheory.ConvergenceError` (``on_fail="raise"``), a warning ("warn") or
    silent ("ignore").
    """
    ya, single, a1, c1, a2, c2, act, hh = _block(y, w1, b1, w2, b2, activation, h, "y")
    tl = float(as_float("tol", tol))
    if not tl > 0.0:
        raise ValueError(f"tol must be > 0, got {tl}")
    mi = as_int("max_iter", max_iter, lo=1)
    check_on_fail(on_fail)
    lphi = activation_lipschitz(act)
    c = hh * float(np.linalg.norm(a2, 2) * np.linalg.norm(a1, 2)) * lphi
    if not c < 1.0:
        raise ValueError(
            f"a branch with Lip >= 1 asked to invert: h ||W2||_2 ||W1||_2 sup|phi'| = {c:.6g} "
            f"(activation {act.name!r}); rescale w1, w2 (spectral_normalise) or h"
        )
    if x0 is None:
        x = ya.copy()
    else:
        x = as_float("x0", x0)
        x = x[None].copy() if x.ndim == 1 else x.copy()
        if x.shape != ya.shape:
            raise ValueError(f"x0 must have the shape of y, {np.shape(y)}, got {np.shape(x0)}")
    n = ya.shape[0]
    active = np.ones(n, dtype=bool)
    n_iter = np.zeros(n, dtype=np.int64)
    last = np.full(n, np.inf)
    prev = np.full(n, np.nan)
    rate = -np.inf
    floor = math.sqrt(np.finfo(float).eps)  # steps below this carry rounding noise
    for _ in range(mi):
        idx = np.flatnonzero(active)
        xa = x[idx]
        xn = ya[idx] - _branch(xa, a1, c1, a2, c2, act, hh)
        step = np.linalg.norm(xn - xa, axis=-1)
        x[idx] = xn
        n_iter[idx] += 1
        scale = np.maximum(1.0, np.linalg.norm(xn, axis=-1))
        pv = prev[idx]
        ok = np.isfinite(pv) & (pv > floor * scale)
        if np.any(ok):
            rate = max(rate, float(np.max(step[ok] / pv[ok])))
        prev[idx] = step
        last[idx] = step
        done = step <= tl * scale
        active[idx[done]] = False
        if not active.any():
            break
    converged = not active.any()
    if not converged:
        report_nonconvergence(
            f"iresblock_inverse: {int(active.sum())} of {n} points did not reach tol={tl:g} "
            f"in max_iter={mi} iterations (contraction bound c = {c:.6g})",
            on_fail, stacklevel=3,
        )
    err = c / (1.0 - c) * last
    return IResInverse(
        x=x[0] if single else x, n_iter=int(n_iter[0]) if single else n_iter,
        rate=float(rate) if rate > -np.inf else math.nan, lipschitz=c,
        error_bound=float(err[0]) if single else err, converged=converged,
    )
