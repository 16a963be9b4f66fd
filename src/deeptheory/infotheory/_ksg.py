"""Kraskov-Stoegbauer-Grassberger (KSG) k-nearest-neighbour estimator of I(X;Y).

Kraskov, Stoegbauer & Grassberger (2004), "Estimating mutual information",
Phys. Rev. E 69, 066138, eqs. (8) and (9).  Distances are max-norm (Chebyshev) in
the joint space Z = (X, Y) and in each marginal.  For each sample i let eps_i be
the distance to its k-th nearest other sample in Z.

* Algorithm 1 (eq. 8):
  I = psi(k) + psi(N) - < psi(n_x(i) + 1) + psi(n_y(i) + 1) >,
  with n_x(i) = #{j != i : ||x_j - x_i|| < eps_i} (strictly inside), same for y.
* Algorithm 2 (eq. 9):
  I = psi(k) - 1/k + psi(N) - < psi(n_x(i)) + psi(n_y(i)) >,
  with eps_x(i), eps_y(i) the largest marginal distances from x_i, y_i to the
  k joint neighbours and n_x(i) = #{j != i : ||x_j - x_i|| <= eps_x(i)}.

psi is the digamma function and <.> the average over i.  Result in **nats** by
default; ``base=2`` gives bits.  The estimate can be slightly negative for
independent variables; it is not clipped.  Algorithm 1 equals NPEET's ``mi``
(which reports bits) times ln 2, and scikit-learn's ``mutual_info_regression``,
up to their jitter and scikit-learn's rescaling and clipping at 0.

Duplicated points (discrete or rounded data) make eps_i = 0 and break the
estimator (a discrete sample with true MI ln 5 gave -4.38 nats without jitter).
We therefore add a tiny tie-breaking noise before estimating:
``x[:, c] += jitter * scale_c * g`` with g standard normal from
the ``seed`` (an int >= 0, a Generator or None; x's columns drawn first, then y's), where
``scale_c`` is the standard deviation of column c (or max|x_c|, or 1, if that is
0).  The default ``jitter=1e-10`` is far below any real structure but far above
float spacing for data of order one; pass ``jitter=0`` to estimate on the raw
sample (a RuntimeWarning is issued if zero radii remain).  With the same
``seed`` the result is reproducible; :func:`add_jitter` applies the same noise.

The estimator is invariant in expectation (not sample by sample) under
invertible maps of X and Y separately, and its bias grows with the MI and the
dimension.

Cost: a compiled k-d tree over the joint sample gives every eps_i (and, for
algorithm 2, the marginal extents of the k neighbours) in one pass; marginal counts
are galloping searches in the sorted sample for 1-D marginals and range counts on a
compiled tree otherwise (:mod:`deeptheory.kernels.knn`).  All counts equal those of
an O(N^2) double loop exactly, ties included; for algorithm 2 the k neighbours are
the k nearest in the order (distance, index), as a stable sort gives them.
``progress=True`` shows a bar of the queries done (3 N: the k-NN radii, then the x and y
counts); the queries then run in blocks of leaves (of sorted positions in 1-D), one after
the other, each writing its own outputs, so the estimate is bitwise the same.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import digamma

from .._api import as_rng
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ..kernels.knn import MaxNormTree, count_within_1d
from ._common import log_base, same_n, samples_2d

__all__ = ["ksg_mi", "ksg", "add_jitter"]

# Leaf sizes of the joint k-NN tree and of the marginal range-count trees.  Serial CPU
# time (build + queries, Gaussian pairs, k = 3) was flat within 10 % for k-NN leaves of
# 8-16 rows in joint dimensions 2-10 (N = 1e4-1e6); range counts in 2-D and 5-D
# marginals (N = 1e4-1e5) were fastest with 32 (16: +4-14 %, 8: +20-45 %).
_KNN_LEAF = 8
_COUNT_LEAF = 32


def _jitter_value(jitter: Any) -> float:
    j = as_float("jitter", jitter, lo=0.0)
    if j.ndim != 0:
        raise ValueError(f"jitter must be a scalar, got shape {j.shape}")
    return float(j)


def _noise(a: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    scale = a.std(axis=0)
    amax = np.abs(a).max(axis=0)
    scale = np.where(scale > 0, scale, np.where(amax > 0, amax, 1.0))
    return a + jitter * scale * rng.standard_normal(a.shape)


def _mean_psi_sum(a: np.ndarray, b: np.ndarray) -> float:
    """mean(psi(a) + psi(b)) for integer arrays >= 1, psi from a table of digamma at
    1..max: the same values as ``digamma(a) + digamma(b)`` elementwise, so the same mean."""
    tab = digamma(np.arange(1.0, float(max(a.max(), b.max())) + 1.0))
    return float(np.mean(tab[a - 1] + tab[b - 1]))


def _marginal_counts(a: np.ndarray, radius: np.ndarray, strict: bool, workers: int,
                     bar: Any = None) -> np.ndarray:
    """Counts of a marginal sample within per-point radii, the point itself included
    (``bar``: a progress bar advanced by the queries done, or None)."""
    if a.shape[1] == 1:
        return count_within_1d(a[:, 0], radius, strict=strict, workers=workers, bar=bar)
    return MaxNormTree(a, leafsize=_COUNT_LEAF, workers=workers).count(radius, strict=strict,
                                                                      bar=bar)


def _ksg_counts(
    xx: np.ndarray, yy: np.ndarray, k: int, alg: int, workers: int, bar: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_x, n_y, eps) of Kraskov et al. eq. (8) (alg 1) or eq. (9) (alg 2); ``bar``: a
    progress bar advanced by the queries done (N per pass), or None."""
    dx = xx.shape[1]
    z = np.hstack([xx, yy])
    tree = MaxNormTree(z, leafsize=_KNN_LEAF, workers=workers, copy=False)
    if alg == 1:
        eps = tree.knn(k, ties=0, neighbours=False, bar=bar)[0]
        # counts include x_i itself whenever eps_i > 0
        self_in = (eps > 0).astype(np.int64)
        nx = _marginal_counts(xx, eps, True, workers, bar) - self_in
        ny = _marginal_counts(yy, eps, True, workers, bar) - self_in
    else:
        # the k neighbours ordered by (distance, index), as a stable sort would give
        eps, _, ex, ey = tree.knn(k, ties=2, dx=dx, neighbours=False, bar=bar)
        nx = _marginal_counts(xx, ex, False, workers, bar) - 1
        ny = _marginal_counts(yy, ey, False, workers, bar) - 1
    return nx, ny, eps


def add_jitter(
    x: Any, y: Any, jitter: float = 1e-10, seed: Any = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The jittered (N, dx), (N, dy) samples :func:`ksg_mi` estimates on.

    ``x[:, c] + jitter * std(x[:, c]) * g`` (std replaced by max|x_c| or 1 for a
    constant column), g ~ N(0, 1) drawn from ``seed`` (an int >= 0, a numpy Generator,
    used as is, or None), x's noise drawn before y's.  ``jitter=0`` returns copies as
    float arrays.  Tie-breaking noise as recommended by Kraskov et al. (2004, sec. II).
    """
    xx = samples_2d("x", x)
    yy = samples_2d("y", y)
    same_n(x=xx, y=yy)
    j = _jitter_value(jitter)
    if j == 0:
        return xx.copy(), yy.copy()
    rng = as_rng(seed)
    return _noise(xx, j, rng), _noise(yy, j, rng)


def ksg_mi(
    x: Any,
    y: Any,
    k: int = 3,
    *,
    algorithm: int = 1,
    base: float = np.e,
    jitter: float = 1e-10,
    seed: Any = 0,
    workers: int = -1,
    progress: bool = False,
) -> float:
    """KSG estimate of I(X;Y) (Kraskov et al. 2004, eq. 8 or 9); nats by default.

    ``x``: (N,) or (N, dx) and ``y``: (N,) or (N, dy) paired continuous samples,
    finite, N >= k + 1.  ``k``: neighbours (3-10 is usual; larger k: less
    variance, more bias).  ``algorithm``: 1 (strict counts in the joint radius) or
    2 (counts within the marginal extents of the k neighbours).  ``base``: units,
    e (nats, default) or 2 (bits).  ``jitter``, ``seed`` (int >= 0, numpy Generator or
    None): tie-breaking noise, see :func:`add_jitter` and the module docstring
    (``jitter=0`` disables it).
    ``workers``: threads (-1: Numba's thread count; 1: serial); small samples run
    serially whatever ``workers`` says.  The value does not depend on it.
    progress : a progress bar (tqdm on stderr) of the queries done (3 N: the joint k-NN
    radii, then the x and the y counts); off by default.  The value does not depend on it.

    No rescaling is applied: the max norm compares raw coordinates, so standardise
    columns of very different scales first if that is wanted (Kraskov et al. do).
    """
    lb = log_base(base)
    xx = samples_2d("x", x)
    yy = samples_2d("y", y)
    n = same_n(x=xx, y=yy)
    kk = as_int("k", k, lo=1)
    if n < kk + 1:
        raise ValueError(f"x and y must have at least k + 1 = {kk + 1} samples, got {n}")
    alg = as_int("algorithm", algorithm, lo=1, hi=2)
    prog = check_progress(progress)
    if _jitter_value(jitter) > 0:  # (jitter = 0: the sample as is, no copies)
        xx, yy = add_jitter(xx, yy, jitter, seed)
    if prog:
        with progress_bar(3 * n, "ksg_mi", True, unit="pt") as bar:
            nx, ny, eps = _ksg_counts(xx, yy, kk, alg, workers, bar)
    else:
        nx, ny, eps = _ksg_counts(xx, yy, kk, alg, workers)
    if np.any(eps == 0):
        warnings.warn(
            f"{int(np.sum(eps == 0))} samples have a zero k-NN radius (duplicated points): "
            "the KSG estimate is unreliable; use jitter > 0",
            RuntimeWarning, stacklevel=2)
    if alg == 1:
        mi = digamma(kk) + digamma(n) - _mean_psi_sum(nx + 1, ny + 1)
    else:
        mi = digamma(kk) - 1.0 / kk + digamma(n) - _mean_psi_sum(nx, ny)
    return float(mi) / lb


#: ``ksg(x, y, k)`` is :func:`ksg_mi` (the name users look for)
ksg = ksg_mi
