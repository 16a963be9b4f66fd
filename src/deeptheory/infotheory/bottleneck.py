"""The information bottleneck method (Tishby, Pereira & Bialek 1999) and its Gaussian case.

For a discrete joint law p(x, y), a compressed representation T of X (a stochastic
encoder p(t|x), T - X - Y a Markov chain) minimises I(X;T) - beta I(T;Y).  The
self-consistent equations (Tishby et al. 1999, Theorem 4) are

    p(t|x) = p(t) exp(-beta KL[p(y|x) || p(y|t)]) / Z(x, beta),
    p(t)   = sum_x p(x) p(t|x),
    p(y|t) = sum_x p(y|x) p(x|t),

iterated to a fixed point (the iterative IB algorithm, a Blahut-Arimoto-type
alternation).  Tracing the *IB curve* I(T;Y) against I(X;T) over beta uses
deterministic annealing: beta increases, each solution starts from the previous one,
perturbed (without the perturbation a symmetric solution stays symmetric and the first
transition is found late; Rose 1998).  Near a transition the plain iteration slows by one
to two orders of magnitude; it is accelerated by SQUAREM (Varadhan & Roland 2008, scheme
S3, safeguarded so that L never increases; see ``_iterate``), and every solve still has a
tolerance and a cap and reports whether it converged.

Gaussian ground truth (Chechik, Globerson, Tishby & Weiss 2005, "Information
bottleneck for Gaussian variables"): for jointly Gaussian X, Y let lambda_1 <= ... be
the eigenvalues of S_{x|y} S_xx^{-1}.  Eigen-direction i switches on at
beta_i = 1/(1 - lambda_i), and with n(I) active directions the optimal curve is

    I_Y(I_X) = I_X - (n/2) ln( prod_{i<=n} (1 - lambda_i)^(1/n)
                               + e^(2 I_X / n) prod_{i<=n} lambda_i^(1/n) ).

Units: nats by default; ``base=2`` gives bits (information values only; beta is
dimensionless and refers to nats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, as_rng, check_on_fail, report_nonconvergence
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ._common import log_base
from .discrete import _h, _pmf

__all__ = [
    "IBSolution",
    "IBCurve",
    "information_bottleneck",
    "ib_curve",
    "gaussian_ib_critical_betas",
    "gaussian_ib_curve",
]

_TINY = 1e-300


@dataclass(frozen=True)
class IBSolution(Result):
    """A fixed point of the IB equations at one beta.

    ``encoder[x, t]`` = p(t|x); ``p_t``; ``decoder[t, y]`` = p(y|t); ``i_xt``, ``i_ty``
    in the requested units; ``n_iter`` iterations used (by the kept start);
    ``converged``: that start met the stopping rule (see :func:`information_bottleneck`);
    ``lagrangian``: L = I(X;T) - beta I(T;Y) in the requested units (smaller is better);
    ``n_starts``: how many starts were compared.
    """

    encoder: np.ndarray
    p_t: np.ndarray
    decoder: np.ndarray
    i_xt: float
    i_ty: float
    beta: float
    n_iter: int
    converged: bool
    lagrangian: float = math.nan
    n_starts: int = 1


@dataclass(frozen=True)
class IBCurve(Result):
    """The IB curve traced by annealing: arrays over ``beta`` (ascending).

    ``lagrangian`` = I(X;T) - beta I(T;Y) of the kept solution (requested units).
    """

    beta: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    lagrangian: np.ndarray | None = None


def _setup(pxy: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _pmf("pxy", pxy, ndim=2)
    px = p.sum(axis=1)
    keep = px > 0
    p = p[keep]
    px = px[keep]
    py_x = p / px[:, None]
    return p, px, py_x


def _information(enc: np.ndarray, px: np.ndarray, pxy: np.ndarray) -> tuple[float, float]:
    """I(X;T) and I(T;Y) in nats for the encoder p(t|x)."""
    pxt = px[:, None] * enc
    pty = enc.T @ pxy
    i_xt = _h(px) + _h(pxt.sum(axis=0)) - _h(pxt)
    i_ty = _h(pty.sum(axis=1)) + _h(pty.sum(axis=0)) - _h(pty)
    return max(i_xt, 0.0), max(i_ty, 0.0)


def _lagrangian(enc: np.ndarray, px: np.ndarray, pxy: np.ndarray, beta: float) -> float:
    """The IB functional L = I(X;T) - beta I(T;Y) in nats (Tishby et al. 1999, eq. 15)."""
    i_xt, i_ty = _information(enc, px, pxy)
    return i_xt - beta * i_ty


#: iterations between two evaluations of the Lagrangian in the stopping rule
_CHECK = 50
#: SQUAREM step-length bounds: |alpha| starts capped at 1 (a plain double step); the cap
#: grows by _MSTEP after an accepted step that used all of it, shrinks after a rejection
_MSTEP = 4.0
#: entries of p(t|x) below this are not extrapolated (their logarithms are unreliable)
_LOG_FLOOR = 1e-200
#: windows in a row that must meet the Lagrangian rule when accelerated (its decrease is
#: less regular than the plain iteration's geometric one)
_NEED = 3
#: annealing sweeps of :func:`information_bottleneck`
_IB_SWEEPS = 3


def _ib_map(px: np.ndarray, pxy: np.ndarray, py_x: np.ndarray, beta: float):
    """The self-consistent map F: p(t|x) -> p(t) exp(-beta KL[p(y|x) || p(y|t)]) / Z."""
    # sum_y p(y|x) ln p(y|x), the x-only part of the KL divergence
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_hx = np.where(py_x > 0, py_x * np.log(np.where(py_x > 0, py_x, 1.0)), 0.0).sum(1)

    def step(enc: np.ndarray) -> np.ndarray:
        pt = px @ enc
        pty = enc.T @ pxy  # p(t, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            py_t = np.where(pt[:, None] > 0, pty / np.maximum(pt[:, None], _TINY), 0.0)
            log_py_t = np.log(np.maximum(py_t, _TINY))
        kl = neg_hx[:, None] - py_x @ log_py_t.T  # KL[p(y|x) || p(y|t)], shape (x, t)
        with np.errstate(divide="ignore"):
            logits = np.log(pt)[None, :] - beta * kl
        logits -= logits.max(axis=1, keepdims=True)
        new = np.exp(logits)
        new /= new.sum(axis=1, keepdims=True)
        return new

    return step


class _Settled:
    """The Lagrangian stopping rule: with d1, d0 the decreases of L over the last two
    windows of >= ``_CHECK`` iterations and r = d1/d0 < 1, L has settled when the
    geometric remainder d1 / (1 - r) is below ``ltol`` (1 + |L|), or when d1 is at the
    rounding level."""

    __slots__ = ("ltol", "l_prev", "d_prev", "next_it", "need", "hits")

    def __init__(self, ltol: float, need: int = 1) -> None:
        self.ltol = ltol
        self.l_prev = self.d_prev = math.inf
        self.next_it = _CHECK
        self.need = need  # consecutive windows that must satisfy the rule
        self.hits = 0

    def __call__(self, it: int, lag: float) -> bool:
        if self.ltol <= 0.0 or it < self.next_it:
            return False
        self.next_it = it + _CHECK
        d1 = max(self.l_prev - lag, 0.0)
        scale = self.ltol * (1.0 + abs(lag))
        if d1 <= 4e-16 * (1.0 + abs(lag)):
            return True
        if d1 < self.d_prev and d1 / (1.0 - d1 / self.d_prev) < scale:
            self.hits += 1
            if self.hits >= self.need:
                return True
        else:
            self.hits = 0
        self.l_prev, self.d_prev = lag, d1
        return False


def _iterate(
    enc: np.ndarray, px: np.ndarray, pxy: np.ndarray, py_x: np.ndarray, beta: float,
    tol: float, max_iter: int, ltol: float = 0.0, accelerate: bool = True,
) -> tuple[np.ndarray, int, bool]:
    """Iterate the self-consistent equations from ``enc``.

    Stops when max |change of p(t|x)| over one plain application of the map is below
    ``tol`` (a fixed point), or when the IB Lagrangian L has settled (:class:`_Settled`;
    ``ltol`` = 0 disables this rule).  Returns (encoder, iterations, converged); an
    iteration is one application of the map.

    With ``accelerate`` (default) the iteration is SQUAREM-accelerated (Varadhan &
    Roland 2008, scheme S3) in the coordinates u = ln p(t|x): from u0, two plain steps
    give u1, u2; with r = u1 - u0, v = u2 - 2 u1 + u0 and alpha = -min(cap, max(1,
    |r|/|v|)) (norms weighted by p(x) p(t|x), so entries near zero do not set the step),
    the extrapolated point u0 - 2 alpha r + alpha^2 v is renormalised row-wise (a valid
    encoder) and followed by one plain step.  The result is accepted only if its L is no
    larger than L(u2) (up to the rounding of L); otherwise the cycle ends at u2, the plain
    double step.  So L never increases beyond rounding, as in the plain iteration, which
    only finds fixed points of the map; near transitions, where the plain iteration
    slows by orders of magnitude, the accelerated one needs far fewer iterations.
    """
    step = _ib_map(px, pxy, py_x, beta)
    settled = _Settled(ltol, _NEED if accelerate else 1)
    if not accelerate:
        for it in range(1, max_iter + 1):
            new = step(enc)
            delta = float(np.max(np.abs(new - enc)))
            enc = new
            if delta < tol:
                return enc, it, True
            if settled(it, _lagrangian(enc, px, pxy, beta) if ltol > 0.0 and
                       it >= settled.next_it else 0.0):
                return enc, it, True
        return enc, max_iter, False
    cap = 1.0
    it = 0
    x0 = enc
    lag0 = math.nan
    while True:
        xs = [x0]
        for _ in range(2):  # two plain steps, each checked against tol and the cap
            xs.append(step(xs[-1]))
            it += 1
            if float(np.max(np.abs(xs[-1] - xs[-2]))) < tol:
                return xs[-1], it, True
            if it >= max_iter:
                return xs[-1], it, False
        _, x1, x2 = xs
        lag2 = _lagrangian(x2, px, pxy, beta)
        x_next, lag_next = x2, lag2
        small = np.minimum(np.minimum(x0, x1), x2) < _LOG_FLOOR
        with np.errstate(divide="ignore"):
            u0 = np.log(np.where(small, 1.0, x0))
            u1 = np.log(np.where(small, 1.0, x1))
            u2 = np.log(np.where(small, 1.0, x2))
        r = u1 - u0
        v = u2 - u1 - r
        w = px[:, None] * x2
        nr = math.sqrt(float(np.sum(w * r * r)))
        nv = math.sqrt(float(np.sum(w * v * v)))
        a = min(cap, nr / nv) if nv > 0.0 else cap
        if a > 1.0:
            # alpha = -a: u0 - 2 alpha r + alpha^2 v
            u = u0 + 2.0 * a * r + a * a * v
            u = np.where(small, -np.inf, u)
            u -= u.max(axis=1, keepdims=True)
            xe = np.where(small, x2, np.exp(np.maximum(u, -700.0)))
            xe /= xe.sum(axis=1, keepdims=True)
            x3 = step(xe)
            it += 1
            delta = float(np.max(np.abs(x3 - xe)))
            lag3 = _lagrangian(x3, px, pxy, beta)
            if lag3 <= lag2 + 1e-14 * (1.0 + abs(lag2)):
                x_next, lag_next = x3, lag3
                if a >= cap:
                    cap *= _MSTEP
                if delta < tol:
                    return x3, it, True
            elif a >= cap:
                cap = max(1.0, cap / _MSTEP)
        elif nr / max(nv, _TINY) >= cap:
            cap *= _MSTEP
        x0, lag0 = x_next, lag_next
        if settled(it, lag0):
            return x0, it, True
        if it >= max_iter:
            return x0, it, False


def _perturb(enc: np.ndarray, px: np.ndarray, pxy: np.ndarray, pert: float, rng) -> np.ndarray:
    """Annealing step (Rose 1998): merge clusters with equal decoders p(y|t) (a neutral
    fixed point the iteration never leaves), re-seed every empty cluster as a perturbed
    copy of a used one (chosen at random, weighted by p(t)), jitter all entries."""
    enc = enc.copy()
    pt = px @ enc
    dec = (enc.T @ pxy) / np.maximum(pt[:, None], _TINY)
    order = np.argsort(pt)[::-1]
    for i, t in enumerate(order):
        if pt[t] <= 0.0:
            continue
        for u in order[i + 1:]:
            if pt[u] > 0.0 and np.max(np.abs(dec[u] - dec[t])) < 1e-6:
                enc[:, t] += enc[:, u]
                enc[:, u] = 0.0
                pt[t] += pt[u]
                pt[u] = 0.0
    dead = np.nonzero(pt < 1e-9 * pt.max())[0]
    live = np.nonzero(pt >= 1e-9 * pt.max())[0]
    for t in dead:
        src = rng.choice(live, p=pt[live] / pt[live].sum())
        share = 0.5 * (1.0 + pert * rng.uniform(-1, 1, enc.shape[0]))
        enc[:, t] = enc[:, src] * share
        enc[:, src] = enc[:, src] * (1.0 - share)
    enc = enc * (1.0 + pert * rng.uniform(-1, 1, enc.shape))
    return enc / enc.sum(axis=1, keepdims=True)


def _random_start(n_x: int, n_t: int, r: int, rng: np.random.Generator) -> np.ndarray:
    """Start ``r`` of a multistart: soft (U(0.5, 1.5) entries) for even r, nearly hard
    (U(0, 1)^8 entries: most of each row on one or two clusters) for odd r."""
    u = rng.random((n_x, n_t))
    enc = u + 0.5 if r % 2 == 0 else u**8 + 1e-12
    return enc / enc.sum(axis=1, keepdims=True)


def _hard_start(px: np.ndarray, pxy: np.ndarray, n_t: int) -> np.ndarray:
    """A hard encoder for large beta, slightly smoothed: T = X when n_t >= |X| (the
    minimiser of L as beta -> inf), else the agglomerative IB clustering (Slonim &
    Tishby 1999): starting from T = X, repeatedly merge the two clusters whose merge
    loses least I(T;Y), (p_i + p_j) JS_{pi_i, pi_j}[p(y|i), p(y|j)], until n_t remain.

    Lowering beta from such a start merges clusters deterministically, without the
    symmetry breaking that an upward annealing path must guess.
    """
    n_x = px.size
    groups = [[i] for i in range(n_x)]
    w = list(px)
    dec = [pxy[i] / px[i] for i in range(n_x)]

    def h(v):
        v = v[v > 0]
        return float(-np.sum(v * np.log(v)))

    while len(groups) > n_t:
        best, pair = math.inf, (0, 1)
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                wi, wj = w[i], w[j]
                m = (wi * dec[i] + wj * dec[j]) / (wi + wj)
                cost = (wi + wj) * h(m) - wi * h(dec[i]) - wj * h(dec[j])
                if cost < best:
                    best, pair = cost, (i, j)
        i, j = pair
        dec[i] = (w[i] * dec[i] + w[j] * dec[j]) / (w[i] + w[j])
        w[i] += w[j]
        groups[i] += groups[j]
        del groups[j], w[j], dec[j]
    enc = np.full((n_x, n_t), 1e-9)
    for t, g in enumerate(groups):
        enc[g, t] = 1.0
    return enc / enc.sum(axis=1, keepdims=True)


def _check_common(beta: Any, n_t: Any, n_x: int, tol: Any, max_iter: Any):
    b = float(as_float("beta", beta, lo=0.0))
    if not math.isfinite(b):
        raise ValueError(f"beta must be finite, got {beta!r}")
    nt = n_x if n_t is None else as_int("n_t", n_t, lo=1)
    t = float(as_float("tol", tol))
    if not t > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    return b, nt, t, as_int("max_iter", max_iter, lo=1)


def _check_ltol(ltol: Any) -> float:
    v = as_float("ltol", ltol, lo=0.0)
    if v.ndim != 0:
        raise ValueError(f"ltol must be a scalar >= 0, got shape {v.shape}")
    return float(v)


class _Best:
    """The best (smallest-Lagrangian) solution seen so far at one beta."""

    __slots__ = ("enc", "lag", "it", "ok")

    def __init__(self) -> None:
        self.enc: np.ndarray | None = None
        self.lag = math.inf
        self.it = 0
        self.ok = False

    def offer(self, enc: np.ndarray, lag: float, it: int, ok: bool) -> bool:
        # ties within rounding keep the earlier solution; a converged one wins a tie
        if lag < self.lag - 1e-12 * (1.0 + abs(lag)) or (
                ok and not self.ok and lag <= self.lag + 1e-12 * (1.0 + abs(lag))):
            self.enc, self.lag, self.it, self.ok = enc, lag, it, ok
            return True
        return False


def information_bottleneck(
    pxy: Any,
    beta: float,
    n_t: int | None = None,
    *,
    init: np.ndarray | None = None,
    n_restarts: int = 8,
    anneal: bool = True,
    tol: float = 1e-10,
    ltol: float = 0.0,
    max_iter: int = 100_000,
    seed: Any = 0,
    base: float = math.e,
    on_fail: str = "warn",
    progress: bool = False,
) -> IBSolution:
    """Minimise the IB Lagrangian L = I(X;T) - beta I(T;Y) for a discrete p(x, y) at one ``beta``.

    Tishby, Pereira & Bialek (1999), eq. (15) and Theorem 4: every stationary point
    satisfies p(t|x) = p(t) exp(-beta KL[p(y|x) || p(y|t)]) / Z(x, beta), iterated here
    to a fixed point.  The iteration only finds a *local* minimum of L, so several
    starts are compared and the one with the smallest L is returned:

    * ``init`` (a starting encoder p(t|x) of shape (|X|, n_t)), if given;
    * a hard clustering: T = X when n_t >= |X| (the minimiser as beta -> inf), else
      the agglomerative IB clustering of Slonim & Tishby (1999), slightly smoothed;
    * ``n_restarts`` random encoders (seeded; half soft, half nearly hard);
    * if ``anneal`` (and beta > 1): the end of a deterministic-annealing path (Rose
      1998; :func:`ib_curve`) over geometric steps of ratio <= 1.15 from beta = 1
      (where T is trivial: L >= (1 - beta) I(X;T) >= 0 for beta <= 1 by data
      processing) up to 8 ``beta``, then back down over the same ladder and up again
      (annealing in both directions).

    ``pxy[x, y]``: joint pmf (sums to 1).  ``n_t``: cardinality of T (default |X|).
    Each start iterates until max |change of p(t|x)| < ``tol``, or (``ltol`` > 0)
    until the predicted further decrease of L is below ``ltol`` (1 + |L|) nats, or
    ``max_iter`` iterations.  ``seed``: int >= 0, numpy Generator or None.
    If the kept start did not converge, ``on_fail`` decides: "warn" (default; a
    ``RuntimeWarning``, ``converged`` False), "raise" (:class:`ConvergenceError`) or
    "ignore".  I values and L in nats (``base=2``: bits); beta refers to nats.
    progress : a progress bar (tqdm on stderr) of the solves done (each start, and each
    beta of the three annealing sweeps; sweeps skipped by the early stop count as done);
    off by default.
    """
    p, px, py_x = _setup(pxy)
    lb = log_base(base)
    b, nt, t, mi = _check_common(beta, n_t, px.size, tol, max_iter)
    nr = as_int("n_restarts", n_restarts, lo=0)
    lt = _check_ltol(ltol)
    check_on_fail(on_fail)
    if not isinstance(anneal, (bool, np.bool_)):
        raise TypeError(f"anneal must be True or False, got {anneal!r}")
    prog = check_progress(progress)
    ladder = None
    if anneal and b > 1.0 and nt > 1:
        up = np.geomspace(1.0, b, max(8, math.ceil(math.log(b) / math.log(1.15)) + 1))
        ladder = (up.size, np.concatenate([up, b * np.geomspace(1.0, 8.0, 16)[1:]]))
    total = (init is not None) + 1 + nr + (_IB_SWEEPS * ladder[1].size if ladder is not None else 0)
    with progress_bar(total, "information_bottleneck", prog, unit="solve") as bar:
        return _information_bottleneck(p, px, py_x, lb, b, nt, t, mi, nr, lt, init, ladder,
                                       seed, on_fail, bar)


def _information_bottleneck(p, px, py_x, lb, b, nt, t, mi, nr, lt, init, ladder, seed,
                            on_fail, bar) -> IBSolution:
    """:func:`information_bottleneck` after its checks: ``ladder`` is None (no annealing)
    or (number of betas up to ``b``, the annealing betas); ``bar`` a progress bar of the
    solves."""
    rng = as_rng(seed)
    # every start stops on the Lagrangian rule (or ``tol``); the winner is then polished
    # with the caller's rule
    lt_fast = max(lt, 1e-13)
    best = _Best()
    n_starts = 0
    if init is not None:
        enc = np.array(init, dtype=float)
        if (enc.shape != (px.size, nt) or not np.all(np.isfinite(enc)) or np.any(enc < 0)
                or np.any(enc.sum(axis=1) <= 0)):
            raise ValueError(f"init must be a non-negative finite ({px.size}, {nt}) array "
                             "with no zero row")
        enc = enc / enc.sum(axis=1, keepdims=True)
        best.offer(*_solve(enc, px, p, py_x, b, t, mi, lt_fast))
        n_starts += 1
        bar.update(1)
    best.offer(*_solve(_hard_start(px, p, nt), px, p, py_x, b, t, mi, lt_fast))
    n_starts += 1
    bar.update(1)
    for r in range(nr):
        best.offer(*_solve(_random_start(px.size, nt, r, rng), px, p, py_x, b, t, mi,
                           lt_fast))
        n_starts += 1
        bar.update(1)
    if ladder is not None:
        encs, lags, its, oks = _anneal(p, px, py_x, ladder[1], nt, 1e-3, t, mi, lt_fast, rng,
                                       n_restarts=0, sweeps=_IB_SWEEPS, bar=bar)
        k = ladder[0] - 1
        best.offer(encs[k], float(lags[k]), int(its[k]), bool(oks[k]))
        n_starts += 1
    if best.enc is None:  # n_restarts = 0, no init, no annealing: one random start
        best.offer(*_solve(_random_start(px.size, nt, 0, rng), px, p, py_x, b, t, mi,
                           lt_fast))
        n_starts += 1
    if lt < lt_fast:  # polish the winner with the caller's stopping rule
        it0 = best.it
        enc, lag, it1, ok = _solve(best.enc, px, p, py_x, b, t, mi, lt)
        if lag <= best.lag + 1e-12 * (1.0 + abs(lag)):
            best.enc, best.lag, best.it, best.ok = enc, lag, it0 + it1, ok
    enc = best.enc
    if not best.ok:
        report_nonconvergence(f"information_bottleneck: beta={b}: the best of {n_starts} "
                              f"starts: not converged after {mi} iterations (tol {t})",
                              on_fail, stacklevel=4)
    i_xt, i_ty = _information(enc, px, p)
    pt = px @ enc
    pty = enc.T @ p
    dec = np.divide(pty, pt[:, None], out=np.zeros_like(pty), where=pt[:, None] > 0)
    return IBSolution(enc, pt, dec, i_xt / lb, i_ty / lb, b, best.it, best.ok,
                      (i_xt - b * i_ty) / lb, n_starts)


def _solve(enc, px, p, py_x, beta, tol, max_iter, ltol):
    """Iterate from ``enc``; (encoder, Lagrangian in nats, iterations, converged)."""
    enc, it, ok = _iterate(enc, px, p, py_x, beta, tol, max_iter, ltol)
    return enc, _lagrangian(enc, px, p, beta), it, ok


def _anneal(p, px, py_x, bs, nt, pert, tol, max_iter, ltol, rng, *, n_restarts, sweeps,
            bar=None):
    """Deterministic annealing over ascending ``bs`` in both directions.

    Sweep 1 goes up from a near-trivial encoder; then sweeps alternate down (the first
    one from the better of sweep 1's end and the hard clustering of ``_hard_start``) and up,
    each step starting from the (perturbed) best solution of the previous beta of the
    sweep; at every beta the solution with the smallest L is kept.  ``n_restarts``
    random starts are added at every beta in the first sweep.  Stops after ``sweeps``
    sweeps or when a whole sweep after the first improved nothing.  ``bar`` (a progress
    bar or None) advances by one per beta of a sweep, and by the betas of the sweeps
    left out at an early stop.
    """
    k_n = bs.size
    best = [_Best() for _ in range(k_n)]
    hard = _hard_start(px, p, nt)
    enc = np.full((px.size, nt), 1.0 / nt) * (1.0 + 0.1 * rng.uniform(-1, 1, (px.size, nt)))
    enc /= enc.sum(axis=1, keepdims=True)
    for sweep in range(sweeps):
        order = range(k_n) if sweep % 2 == 0 else range(k_n - 1, -1, -1)
        improved = False
        for k in order:
            if sweep > 0 or k > 0:
                enc = _perturb(enc, px, p, pert, rng)
            improved |= best[k].offer(*_solve(enc, px, p, py_x, float(bs[k]), tol, max_iter,
                                              ltol))
            if sweep == 0:
                for r in range(n_restarts):
                    best[k].offer(*_solve(_random_start(px.size, nt, r, rng), px, p, py_x,
                                          float(bs[k]), tol, max_iter, ltol))
            enc = best[k].enc
            if bar is not None:
                bar.update(1)
        if sweep > 0 and not improved:
            if bar is not None:
                bar.update((sweeps - sweep - 1) * k_n)
            break
        if sweep == 0:  # the downward sweep may start from the hard clustering
            best[-1].offer(*_solve(hard, px, p, py_x, float(bs[-1]), tol, max_iter, ltol))
            enc = best[-1].enc
    return ([c.enc for c in best], np.array([c.lag for c in best]),
            np.array([c.it for c in best]), np.array([c.ok for c in best]))


def ib_curve(
    pxy: Any,
    betas: Any,
    n_t: int | None = None,
    *,
    n_restarts: int = 0,
    sweeps: int = 3,
    perturb: float = 1e-3,
    tol: float = 1e-10,
    ltol: float = 1e-13,
    max_iter: int = 100_000,
    seed: Any = 0,
    base: float = math.e,
    on_fail: str = "warn",
    progress: bool = False,
) -> IBCurve:
    """Trace the IB curve: at each beta, the encoder minimising L = I(X;T) - beta I(T;Y).

    Tishby, Pereira & Bialek (1999), eq. (15); the curve I(T;Y) against I(X;T) is traced
    by deterministic annealing (Rose 1998) in both directions: a first sweep up the
    ascending ``betas`` from a near-trivial encoder, then sweeps down and up again
    (``sweeps`` in all, stopping early when a sweep improves nothing; the first downward
    sweep may start from a hard clustering: T = X when n_t >= |X|, else agglomerative
    IB, Slonim & Tishby 1999); each step starts
    from the best solution at the previous beta of the sweep, perturbed, and every beta
    keeps the solution with the smallest L found by any sweep.  ``n_restarts`` random
    encoders (seeded) are also tried at every beta in the first sweep.

    The perturbation (Rose 1998): clusters with equal decoders p(y|t) are merged (copies
    form a neutral fixed point that the iteration never leaves), and every cluster with
    p(t) ~ 0 is re-seeded as a copy of a used cluster (chosen at random, weighted by
    p(t)), sharing its p(t|x) in proportions 1/2 (1 +- perturb u_x), u ~ U(-1, 1); all
    entries are also multiplied by 1 + perturb u.  Below a cluster's critical beta the
    copies merge again; above it they split.

    Stopping rule per solve (see :func:`information_bottleneck`): max |change of
    p(t|x)| < ``tol``, or the predicted further decrease of L below ``ltol`` (1 + |L|)
    (default 1e-13; near transitions the encoder drifts along nearly flat directions
    for 1e4-1e5 iterations while L has settled; ``ltol=0``: encoder rule only), or
    ``max_iter``.  Points whose kept solution did not converge are flagged in
    ``converged``; ``on_fail="warn"`` (default, suited to a curve over many betas) gives
    one ``RuntimeWarning`` for all, "raise" a :class:`ConvergenceError`, "ignore" nothing.
    ``seed``: int >= 0, numpy Generator or None.  Returns :class:`IBCurve` with I(X;T),
    I(T;Y) and L (nats; ``base=2``: bits).
    progress : a progress bar (tqdm on stderr) of the annealing steps done (sweeps x
    betas; the sweeps skipped by the early stop count as done); off by default.
    """
    p, px, py_x = _setup(pxy)
    lb = log_base(base)
    bs = np.ravel(as_float("betas", betas, lo=0.0))
    if bs.size == 0 or not np.all(np.isfinite(bs)) or np.any(np.diff(bs) < 0):
        raise ValueError("betas must be a non-empty, finite, ascending sequence")
    _, nt, t, mi = _check_common(bs[0], n_t, px.size, tol, max_iter)
    pert = float(as_float("perturb", perturb, lo=0.0))
    nr = as_int("n_restarts", n_restarts, lo=0)
    sw = as_int("sweeps", sweeps, lo=1)
    lt = _check_ltol(ltol)
    check_on_fail(on_fail)
    prog = check_progress(progress)
    rng = as_rng(seed)
    with progress_bar(sw * bs.size, "ib_curve", prog, unit="beta") as bar:
        encs, _, its, conv = _anneal(p, px, py_x, bs, nt, pert, t, mi, lt, rng,
                                     n_restarts=nr, sweeps=sw, bar=bar)
    out = np.empty((2, bs.size))
    for k, enc in enumerate(encs):
        out[:, k] = _information(enc, px, p)
    if not conv.all():
        report_nonconvergence(f"ib_curve: {int((~conv).sum())} of {bs.size} betas not "
                              f"converged after {mi} iterations (tol {t}, ltol {lt})", on_fail)
    return IBCurve(bs.copy(), out[0] / lb, out[1] / lb, its.astype(int), conv,
                   (out[0] - bs * out[1]) / lb)


def _gaussian_lambdas(cov_xx: Any, cov_xy: Any, cov_yy: Any) -> np.ndarray:
    sxx = np.atleast_2d(as_float("cov_xx", cov_xx))
    syy = np.atleast_2d(as_float("cov_yy", cov_yy))
    sxy = np.atleast_2d(as_float("cov_xy", cov_xy))
    if sxx.shape[0] != sxx.shape[1] or syy.shape[0] != syy.shape[1]:
        raise ValueError("cov_xx and cov_yy must be square")
    if sxy.shape != (sxx.shape[0], syy.shape[0]):
        raise ValueError(f"cov_xy must have shape {(sxx.shape[0], syy.shape[0])}, "
                         f"got {sxy.shape}")
    full = np.block([[sxx, sxy], [sxy.T, syy]])
    if not np.all(np.isfinite(full)) or np.any(np.linalg.eigvalsh(full) <= 0):
        raise ValueError("the joint covariance must be finite and positive definite")
    s_x_given_y = sxx - sxy @ np.linalg.solve(syy, sxy.T)
    lam = np.linalg.eigvals(s_x_given_y @ np.linalg.inv(sxx)).real
    return np.sort(np.clip(lam, 0.0, 1.0))


def gaussian_ib_critical_betas(cov_xx: Any, cov_xy: Any, cov_yy: Any) -> np.ndarray:
    """beta_i = 1/(1 - lambda_i), ascending, where eigen-direction i of the Gaussian IB
    switches on (Chechik et al. 2005, eq. 12); lambda_i the eigenvalues of
    S_{x|y} S_xx^{-1}.  Directions with lambda_i = 1 (independent of Y) give inf."""
    lam = _gaussian_lambdas(cov_xx, cov_xy, cov_yy)
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 - lam)


def gaussian_ib_curve(
    i_x: Any, cov_xx: Any, cov_xy: Any, cov_yy: Any, *, base: float = math.e
) -> np.ndarray | float:
    """Optimal I(T;Y) at compression I(X;T) = ``i_x`` for jointly Gaussian X, Y.

    Chechik et al. (2005, eq. 16): with n = n(I_X) directions active,
    I_Y = I_X - (n/2) ln( prod (1 - lambda_i)^(1/n) + e^(2 I_X/n) prod lambda_i^(1/n) );
    direction n + 1 becomes active when I_X exceeds
    c_n = sum_{i<=n} (1/2) ln[ (lambda_{n+1}/lambda_i) (1 - lambda_i)/(1 - lambda_{n+1}) ].
    ``i_x`` (>= 0) and the result are in nats, or bits with ``base=2``.
    """
    lb = log_base(base)
    ix = as_float("i_x", i_x, lo=0.0) * lb
    lam = _gaussian_lambdas(cov_xx, cov_xy, cov_yy)
    lam = lam[lam < 1.0]
    out = np.zeros(ix.shape)
    if lam.size == 0:
        return out if out.ndim else float(out)
    # thresholds where the next direction switches on
    lam_c = np.clip(lam, 1e-300, None)
    thr = [0.0]
    for n in range(1, lam.size):
        thr.append(float(np.sum(0.5 * np.log(lam_c[n] / lam_c[:n] * (1 - lam[:n])
                                             / (1 - lam[n])))))
    flat = ix.ravel()
    res = np.empty(flat.shape)
    for k, v in enumerate(flat):
        n = int(np.searchsorted(thr, v, side="right"))
        a = np.exp(np.mean(np.log(1.0 - lam[:n])))
        b = np.exp(np.mean(np.log(lam_c[:n])))
        res[k] = v - 0.5 * n * math.log(a + math.exp(2.0 * v / n) * b)
    res = np.maximum(res, 0.0).reshape(ix.shape) / lb
    return res if res.ndim else float(res)
