"""Closed-form entropies and mutual informations of Gaussian vectors (Cover & Thomas 2006, ch. 8).

Ground truths for the sample estimators.  Nats by default; ``base=2`` gives bits.

* h(N(mu, S)) = 1/2 ln det(2 pi e S)                       (Cover & Thomas 2006, thm. 8.4.1)
* I(X;Y) = 1/2 [ln det S_xx + ln det S_yy - ln det S]       for (X, Y) jointly Gaussian
* bivariate, correlation rho: I = -1/2 ln(1 - rho^2)

Log-determinants are taken with ``numpy.linalg.slogdet`` (no overflow of det in
high dimension); covariances must be symmetric (within 1e-10 relative) and positive
definite (Cholesky succeeds), else ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_float, scalar_or_array
from ._common import log_base

__all__ = ["gaussian_entropy", "gaussian_mi", "gaussian_mi_bivariate"]


def _cov(cov: Any) -> np.ndarray:
    s = as_float("cov", cov)
    if s.ndim == 0:
        s = s.reshape(1, 1)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] == 0:
        raise ValueError(f"cov must be a square 2-D matrix, got shape {s.shape}")
    scale = max(float(np.abs(s).max()), np.finfo(float).tiny)
    if np.abs(s - s.T).max() > 1e-10 * scale:
        raise ValueError("cov must be symmetric")
    try:
        np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        raise ValueError("cov must be positive definite") from None
    return s


def _logdet(s: np.ndarray) -> float:
    sign, ld = np.linalg.slogdet(s)
    if sign <= 0:  # pragma: no cover - excluded by the Cholesky check
        raise ValueError("cov must be positive definite")
    return float(ld)


def gaussian_entropy(cov: Any, *, base: float = np.e) -> float:
    """Differential entropy 1/2 ln det(2 pi e S) of N(mu, S) (Cover & Thomas 2006, thm. 8.4.1).

    Nats by default, ``base=2`` for bits.  ``cov``: a d x d covariance or a scalar
    variance (d = 1).
    """
    lb = log_base(base)
    s = _cov(cov)
    d = s.shape[0]
    return (0.5 * d * math.log(2 * math.pi * math.e) + 0.5 * _logdet(s)) / lb


def _index(name: str, idx: Any, d: int) -> np.ndarray:
    a = np.atleast_1d(np.asarray(idx))
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a non-empty sequence of integer indices, got {idx!r}")
    if a.min() < 0 or a.max() >= d:
        raise ValueError(f"{name} must hold indices in [0, {d - 1}], got {a.tolist()}")
    if len(np.unique(a)) != a.size:
        raise ValueError(f"{name} must not repeat indices, got {a.tolist()}")
    return a


def gaussian_mi(
    cov: Any, x_idx: Sequence[int] | int, y_idx: Sequence[int] | int, *, base: float = np.e
) -> float:
    """I(X;Y) = 1/2 [ln det S_xx + ln det S_yy - ln det S_(x,y)] for jointly Gaussian X, Y.

    Nats by default, ``base=2`` for bits.  ``x_idx`` and ``y_idx`` are disjoint
    index sets into the covariance ``cov`` of the full vector; S_(x,y) is the
    covariance of the concatenation (other coordinates are marginalised out).
    Standard result, e.g. Cover & Thomas 2006, ch. 8 (I = h(X) + h(Y) - h(X,Y)).

    Equivalently I = -1/2 sum_i ln(1 - rho_i^2) over the canonical correlations
    rho_i (Hotelling 1936; Kullback 1959, ch. 9), the singular values of
    L_x^{-1} S_xy L_y^{-T} (L the Cholesky factors).  That form, with ``log1p``, is
    used when every rho_i^2 < 1/2: it keeps full relative accuracy for tiny I
    (I ~ 1e-13, where the difference of log-determinants keeps only a few digits);
    the log-determinant form is used otherwise (it is accurate when some rho_i ~ 1).
    """
    lb = log_base(base)
    s = _cov(cov)
    d = s.shape[0]
    xi = _index("x_idx", x_idx, d)
    yi = _index("y_idx", y_idx, d)
    if np.intersect1d(xi, yi).size:
        raise ValueError("x_idx and y_idx must be disjoint")
    sxx, syy, sxy = s[np.ix_(xi, xi)], s[np.ix_(yi, yi)], s[np.ix_(xi, yi)]
    # canonical correlations rho_i: singular values of L_x^{-1} S_xy L_y^{-T}
    lx = np.linalg.cholesky(sxx)
    ly = np.linalg.cholesky(syy)
    c = np.linalg.solve(ly, np.linalg.solve(lx, sxy).T).T
    rho = np.linalg.svd(c, compute_uv=False)
    if rho.size == 0 or rho.max() ** 2 < 0.5:
        # -1/2 sum ln(1 - rho_i^2) with log1p: no cancellation when I is tiny
        mi = -0.5 * float(np.sum(np.log1p(-(rho * rho))))
    else:
        xy = np.concatenate([xi, yi])
        mi = 0.5 * (_logdet(sxx) + _logdet(syy) - _logdet(s[np.ix_(xy, xy)]))
    return max(mi, 0.0) / lb


def gaussian_mi_bivariate(rho: Any, *, base: float = np.e) -> np.ndarray | float:
    """I(X;Y) = -1/2 ln(1 - rho^2) for a bivariate Gaussian with correlation ``rho``
    (Cover & Thomas 2006, ch. 8).

    Nats by default, ``base=2`` for bits.  ``rho`` broadcasts, must lie in
    [-1, 1]; |rho| = 1 gives inf.
    """
    lb = log_base(base)
    r = as_float("rho", rho, lo=-1.0, hi=1.0)
    with np.errstate(divide="ignore"):
        out = -0.5 * np.log1p(-r * r) / lb
    return scalar_or_array(out)
