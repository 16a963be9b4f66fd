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
transition is found late; THEORY.md).  Near a transition convergence slows by one to two
orders of magnitude, so every solve has a tolerance and a cap and reports whether it
converged.

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
import warnings
from typing import Any, NamedTuple

import numpy as np

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


class IBSolution(NamedTuple):
    """A fixed point of the IB equations at one beta.

    ``encoder[x, t]`` = p(t|x); ``p_t``; ``decoder[t, y]`` = p(y|t); ``i_xt``, ``i_ty``
    in the requested units; ``n_iter`` iterations used; ``converged``: the largest change
    of p(t|x) in the last iteration was below ``tol``.
    """

    encoder: np.ndarray
    p_t: np.ndarray
    decoder: np.ndarray
    i_xt: float
    i_ty: float
    beta: float
    n_iter: int
    converged: bool


class IBCurve(NamedTuple):
    """The IB curve traced by annealing: arrays over ``beta`` (ascending)."""

    beta: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


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
    ixt = _h(px) + _h(pxt.sum(axis=0)) - _h(pxt)
    ity = _h(pty.sum(axis=1)) + _h(pty.sum(axis=0)) - _h(pty)
    return max(ixt, 0.0), max(ity, 0.0)


def _iterate(
    enc: np.ndarray, px: np.ndarray, pxy: np.ndarray, py_x: np.ndarray, beta: float,
    tol: float, max_iter: int,
) -> tuple[np.ndarray, int, bool]:
    # sum_y p(y|x) ln p(y|x), the x-only part of the KL divergence
    with np.errstate(divide="ignore", invalid="ignore"):
        neg_hx = np.where(py_x > 0, py_x * np.log(np.where(py_x > 0, py_x, 1.0)), 0.0).sum(1)
    for it in range(1, max_iter + 1):
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
        delta = float(np.max(np.abs(new - enc)))
        enc = new
        if delta < tol:
            return enc, it, True
    return enc, max_iter, False


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


def _check_common(beta: Any, n_t: Any, n_x: int, tol: Any, max_iter: Any):
    b = float(as_float("beta", beta, lo=0.0))
    if not math.isfinite(b):
        raise ValueError(f"beta must be finite, got {beta!r}")
    nt = n_x if n_t is None else as_int("n_t", n_t, lo=1)
    t = float(as_float("tol", tol))
    if not t > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    return b, nt, t, as_int("max_iter", max_iter, lo=1)


def information_bottleneck(
    pxy: Any,
    beta: float,
    n_t: int | None = None,
    *,
    init: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    seed: int = 0,
    base: float = math.e,
) -> IBSolution:
    """Solve the IB self-consistent equations for a discrete p(x, y) at one ``beta``.

    ``pxy[x, y]``: joint pmf (sums to 1).  ``n_t``: cardinality of T (default |X|).
    ``init``: starting encoder p(t|x) (shape (|X|, n_t)); default a seeded random one.
    Iterates until max |change of p(t|x)| < ``tol`` or ``max_iter`` iterations; if the
    cap is hit a ``RuntimeWarning`` says so and ``converged`` is False.
    Tishby, Pereira & Bialek (1999), Theorem 4; I values in nats (``base=2``: bits).
    """
    p, px, py_x = _setup(pxy)
    lb = log_base(base)
    b, nt, t, mi = _check_common(beta, n_t, px.size, tol, max_iter)
    if init is None:
        rng = np.random.default_rng(as_int("seed", seed, lo=0))
        enc = rng.random((px.size, nt)) + 0.5
    else:
        enc = np.array(init, dtype=float)
        if enc.shape != (px.size, nt) or not np.all(np.isfinite(enc)) or np.any(enc < 0):
            raise ValueError(f"init must be a non-negative finite ({px.size}, {nt}) array")
    enc = enc / enc.sum(axis=1, keepdims=True)
    enc, it, ok = _iterate(enc, px, p, py_x, b, t, mi)
    if not ok:
        warnings.warn(f"information_bottleneck: beta={b}: not converged after {mi} "
                      f"iterations (tol {t})", RuntimeWarning, stacklevel=2)
    ixt, ity = _information(enc, px, p)
    pt = px @ enc
    pty = enc.T @ p
    dec = np.divide(pty, pt[:, None], out=np.zeros_like(pty), where=pt[:, None] > 0)
    return IBSolution(enc, pt, dec, ixt / lb, ity / lb, b, it, ok)


def ib_curve(
    pxy: Any,
    betas: Any,
    n_t: int | None = None,
    *,
    perturb: float = 1e-3,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    seed: int = 0,
    base: float = math.e,
) -> IBCurve:
    """Trace the IB curve by deterministic annealing over ascending ``betas``.

    At each beta the previous encoder is perturbed (seeded) and iterated to convergence
    (``tol``, ``max_iter``).  The perturbation is that of deterministic annealing (Rose
    1998): clusters with equal decoders p(y|t) are merged (copies form a neutral fixed
    point that the iteration never leaves), and every cluster with p(t) ~ 0 is re-seeded
    as a copy of a used cluster (chosen at random, weighted by p(t)), sharing its p(t|x)
    in proportions 1/2 (1 +- perturb u_x), u ~ U(-1, 1); all entries are also multiplied
    by 1 + perturb u.  Below a cluster's critical beta the copies merge again; above it
    they split.  Points
    that hit the cap are flagged in ``converged`` (one ``RuntimeWarning`` for all).
    Returns :class:`IBCurve` with I(X;T) and I(T;Y) (nats; ``base=2``: bits).
    """
    p, px, py_x = _setup(pxy)
    lb = log_base(base)
    bs = np.ravel(as_float("betas", betas, lo=0.0))
    if bs.size == 0 or not np.all(np.isfinite(bs)) or np.any(np.diff(bs) < 0):
        raise ValueError("betas must be a non-empty, finite, ascending sequence")
    _, nt, t, mi = _check_common(bs[0], n_t, px.size, tol, max_iter)
    pert = float(as_float("perturb", perturb, lo=0.0))
    rng = np.random.default_rng(as_int("seed", seed, lo=0))
    # start near the trivial solution p(t|x) = p(t): annealing then finds each split
    enc = np.full((px.size, nt), 1.0 / nt) * (1.0 + 0.1 * rng.uniform(-1, 1, (px.size, nt)))
    enc /= enc.sum(axis=1, keepdims=True)
    out = np.empty((4, bs.size))
    conv = np.empty(bs.size, bool)
    for k, b in enumerate(bs):
        enc = _perturb(enc, px, p, pert, rng)
        enc, it, ok = _iterate(enc, px, p, py_x, float(b), t, mi)
        ixt, ity = _information(enc, px, p)
        out[:, k] = (b, ixt / lb, ity / lb, it)
        conv[k] = ok
    if not conv.all():
        warnings.warn(f"ib_curve: {int((~conv).sum())} of {bs.size} betas not converged after "
                      f"{mi} iterations (tol {t})", RuntimeWarning, stacklevel=2)
    return IBCurve(out[0], out[1], out[2], out[3].astype(int), conv)


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
