"""Compiled log-density and score of a Gaussian mixture.

A mixture of K components in R^d in precision form::

    p(y) = sum_k exp(l_k(y)),   l_k(y) = c_k - (1/2) (y - mu_k)^T P_k (y - mu_k),

with c_k = ln w_k - (1/2) ln det C_k - (d/2) ln 2 pi and P_k = C_k^{-1}.  Then
ln p = logsumexp_k l_k (max-shifted) and the score (Hyvarinen 2005) is the posterior-weighted
sum of the component scores,

    grad ln p(y) = - sum_k r_k P_k (y - mu_k),    r_k = exp(l_k - ln p)  (softmax of the l_k).

:func:`gmix_precision` builds (c, mu, P) for the mixture sum_k w_k N(a m_k, b S_k + c I)
from the eigendecompositions S_k = U_k diag(lam_k) U_k^T (``evecs`` (K, d, d), columns the
eigenvectors; ``evals`` (K, d)): C_k = U_k diag(b lam_k + c) U_k^T, so P_k = U_k diag(1 /
(b lam_k + c)) U_k^T and ln det C_k = sum_j ln(b lam_kj + c), with no inversion.  Arrays in
precision form are flat: c (K,), mu (K d) (row k at k d), P (K d d) (P_k row-major at
k d^2), so that a row of a table of them (one row per time) is again one.

The per-point functions allocate nothing (``work``: the caller's scratch of length K (d +
1)), so they can run inside the step loops of :mod:`deeptheory.kernels.odeint`.  Cost: one
d x d product per component and evaluation, and one exponential by the branch-free
:func:`deeptheory.kernels.odeint.ode_exp` (2 ulp; a separate loop over the components that
vectorises), with an unrolled path for d = 2: about 75 ns for K = 8 on an x86-64 core,
against 95 ns with libm's exp.  The batch drivers loop over rows, serially or on the thread
pool (bitwise the same; :func:`deeptheory.kernels._threads.pick`).  No ``fastmath``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._threads import pick
from .odeint import ode_exp

__all__ = [
    "GMIX_NS_PER_TERM",
    "gmix_cost_ns",
    "gmix_form_size",
    "gmix_logpdf_batch",
    "gmix_score_batch",
    "gmix_work_size",
    "precision_form",
]

#: serial cost per component and evaluation at d = 2 (ns; measured about 9-12 on an
#: x86-64 core for K = 8); d > 2 adds about d^2 multiply-adds per component
GMIX_NS_PER_TERM = 10.0
_LOG_2PI = math.log(2.0 * math.pi)
#: smallest exponent passed to ode_exp (exp(-708) ~ 3e-308: a term that small is 0 beside
#: the largest, which is 1)
_EXP_MIN = -708.0
#: rows per scratch allocation (and per task) in the thread-pool drivers
_CHUNK = 64


def gmix_work_size(k: int, d: int) -> int:
    """Scratch length of one evaluation of :func:`gmix_score` or :func:`gmix_logpdf`:
    K (d + 1)."""
    return k * (d + 1)


def gmix_form_size(k: int, d: int) -> int:
    """Length of one precision form (c, mu, P) of :func:`gmix_precision`, stored flat:
    K (1 + d + d^2)."""
    return k * (1 + d + d * d)


@njit(cache=True, error_model="numpy")
def gmix_precision(logw, means, evecs, evals, a, b, c, logc, mu, prec):  # pragma: no cover
    """(c, mu, P) (module doc) of sum_k w_k N(a m_k, b S_k + c I), S_k = U_k diag(lam_k)
    U_k^T; b lam + c must be > 0."""
    kk, d = means.shape
    for k in range(kk):
        logdet = 0.0
        for j in range(d):
            logdet += math.log(b * evals[k, j] + c)
        logc[k] = logw[k] - 0.5 * logdet - 0.5 * d * _LOG_2PI
        for i in range(d):
            mu[k * d + i] = a * means[k, i]
            for j in range(i, d):
                acc = 0.0
                for m in range(d):
                    acc += evecs[k, i, m] * evecs[k, j, m] / (b * evals[k, m] + c)
                prec[(k * d + i) * d + j] = acc
                prec[(k * d + j) * d + i] = acc


@njit(cache=True, error_model="numpy")
def gmix_precision_table(logw, means, evecs, evals, coefs, logc, mu, prec):  # pragma: no cover
    """Row r of (logc, mu, prec) ((M, K), (M, K d), (M, K d d)): :func:`gmix_precision`
    with (a, b, c) = coefs[r]."""
    for r in range(coefs.shape[0]):
        gmix_precision(logw, means, evecs, evals, coefs[r, 0], coefs[r, 1], coefs[r, 2],
                       logc[r], mu[r], prec[r])


@njit(cache=True, error_model="numpy", inline="always")
def _exp_shifted(work, kk, lmax):  # pragma: no cover - compiled
    """work[k] = exp(max(work[k] - lmax, -708)) for k < kk (vectorises)."""
    for k in range(kk):
        work[k] = ode_exp(max(work[k] - lmax, _EXP_MIN))


@njit(cache=True, error_model="numpy", inline="always")
def gmix_terms(logc, mu, prec, y, work):  # pragma: no cover - compiled
    """work[k] = l_k(y), work[K + k d + i] = (P_k (y - mu_k))_i; returns max_k l_k."""
    kk = logc.shape[0]
    d = y.shape[0]
    lmax = -math.inf
    if d == 2:
        y0 = y[0]
        y1 = y[1]
        for k in range(kk):
            d0 = y0 - mu[2 * k]
            d1 = y1 - mu[2 * k + 1]
            p0 = prec[4 * k] * d0 + prec[4 * k + 1] * d1
            p1 = prec[4 * k + 2] * d0 + prec[4 * k + 3] * d1
            lk = logc[k] - 0.5 * (d0 * p0 + d1 * p1)
            work[k] = lk
            work[kk + 2 * k] = p0
            work[kk + 2 * k + 1] = p1
            lmax = max(lmax, lk)
        return lmax
    for k in range(kk):
        q = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += prec[(k * d + i) * d + j] * (y[j] - mu[k * d + j])
            work[kk + k * d + i] = acc
            q += (y[i] - mu[k * d + i]) * acc
        lk = logc[k] - 0.5 * q
        work[k] = lk
        lmax = max(lmax, lk)
    return lmax


@njit(cache=True, error_model="numpy")
def gmix_score(logc, mu, prec, y, work, out):  # pragma: no cover - compiled
    """out = grad ln p(y) (module doc); ``work``: scratch of length K (d + 1)."""
    kk = logc.shape[0]
    d = y.shape[0]
    lmax = gmix_terms(logc, mu, prec, y, work)
    _exp_shifted(work, kk, lmax)
    tot = 0.0
    for k in range(kk):
        tot += work[k]
    if d == 2:
        s0 = 0.0
        s1 = 0.0
        for k in range(kk):
            r = work[k]
            s0 += r * work[kk + 2 * k]
            s1 += r * work[kk + 2 * k + 1]
        out[0] = -s0 / tot
        out[1] = -s1 / tot
        return
    for i in range(d):
        out[i] = 0.0
    for k in range(kk):
        r = work[k]
        for i in range(d):
            out[i] -= r * work[kk + k * d + i]
    for i in range(d):
        out[i] /= tot


@njit(cache=True, error_model="numpy")
def gmix_logpdf(logc, mu, prec, y, work):  # pragma: no cover - compiled
    """ln p(y) (module doc; libm's exp and log); ``work``: scratch of length K (d + 1)."""
    kk = logc.shape[0]
    lmax = gmix_terms(logc, mu, prec, y, work)
    tot = 0.0
    for k in range(kk):
        tot += math.exp(work[k] - lmax)
    return lmax + math.log(tot)


@njit(cache=True)
def _score_rows(logc, mu, prec, y, out, lo, hi):  # pragma: no cover - compiled
    work = np.empty(logc.shape[0] * (y.shape[1] + 1))
    for i in range(lo, hi):
        gmix_score(logc, mu, prec, y[i], work, out[i])


@njit(cache=True)
def _logpdf_rows(logc, mu, prec, y, out, lo, hi):  # pragma: no cover - compiled
    work = np.empty(logc.shape[0] * (y.shape[1] + 1))
    for i in range(lo, hi):
        out[i] = gmix_logpdf(logc, mu, prec, y[i], work)


@njit(cache=True)
def _score_serial(logc, mu, prec, y, out):  # pragma: no cover - compiled
    _score_rows(logc, mu, prec, y, out, 0, y.shape[0])


@njit(cache=True, parallel=True)
def _score_parallel(logc, mu, prec, y, out):  # pragma: no cover - compiled
    n = y.shape[0]
    for ch in prange((n + _CHUNK - 1) // _CHUNK):
        _score_rows(logc, mu, prec, y, out, ch * _CHUNK, min(n, (ch + 1) * _CHUNK))


@njit(cache=True)
def _logpdf_serial(logc, mu, prec, y, out):  # pragma: no cover - compiled
    _logpdf_rows(logc, mu, prec, y, out, 0, y.shape[0])


@njit(cache=True, parallel=True)
def _logpdf_parallel(logc, mu, prec, y, out):  # pragma: no cover - compiled
    n = y.shape[0]
    for ch in prange((n + _CHUNK - 1) // _CHUNK):
        _logpdf_rows(logc, mu, prec, y, out, ch * _CHUNK, min(n, (ch + 1) * _CHUNK))


def gmix_cost_ns(n: int, k: int, d: int) -> float:
    """Estimated serial time (ns) of n evaluations of :func:`gmix_score` (for the
    serial/parallel choice of :func:`deeptheory.kernels._threads.pick`)."""
    return n * k * (GMIX_NS_PER_TERM + max(d * d - 4, 0))


def precision_form(logw: np.ndarray, means: np.ndarray, evecs: np.ndarray,
                   evals: np.ndarray, a: float, b: float, c: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, mu, P) of :func:`gmix_precision` as new flat arrays."""
    kk, d = means.shape
    logc, mu, prec = np.empty(kk), np.empty(kk * d), np.empty(kk * d * d)
    gmix_precision(logw, means, evecs, evals, float(a), float(b), float(c), logc, mu, prec)
    return logc, mu, prec


def gmix_score_batch(form: tuple[np.ndarray, np.ndarray, np.ndarray],
                     y: np.ndarray) -> np.ndarray:
    """The score at every row of y (n, d), C-contiguous float64, for the precision form
    ``form`` = (c, mu, P) (module doc; :func:`precision_form`); inputs are trusted."""
    out = np.empty_like(y)
    logc = form[0]
    run = pick(_score_serial, _score_parallel, gmix_cost_ns(y.shape[0], logc.size, y.shape[1]))
    run(*form, y, out)
    return out


def gmix_logpdf_batch(form: tuple[np.ndarray, np.ndarray, np.ndarray],
                      y: np.ndarray) -> np.ndarray:
    """ln p at every row of y (n, d) for the precision form ``form`` (as
    :func:`gmix_score_batch`)."""
    out = np.empty(y.shape[0])
    logc = form[0]
    run = pick(_logpdf_serial, _logpdf_parallel,
               gmix_cost_ns(y.shape[0], logc.size, y.shape[1]))
    run(*form, y, out)
    return out
