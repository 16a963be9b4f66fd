"""Pairwise-distance bounds on I(X;T) for a noisy layer T = h(X) + N(0, s^2 I).

Kolchinsky & Tracey (2017, "Estimating mixture entropy with pairwise distances"),
as used by Saxe et al. (2018).  With X uniform over N samples with layer values
h_1..h_N in R^d, T is the mixture (1/N) sum_i N(h_i, s^2 I) and
I(X;T) = H(T) - H(T|X) = H(T) - d/2 ln(2 pi e s^2).  For any pairwise divergence D
between the components, H(T|X) - (1/N) sum_i ln (1/N) sum_j exp(-D_ij) brackets
H(T) from below when D = Bhattacharyya distance and from above when D = KL
divergence.  For equal-covariance Gaussians KL = |h_i - h_j|^2 / (2 s^2) and
Bhattacharyya = |h_i - h_j|^2 / (8 s^2), so

    upper = -(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / (2 s^2)),
    lower = the same with 8 s^2 in place of 2 s^2,

and lower <= I(X;T) <= upper <= ln N (both are <= ln N because the j = i term is
exp(0) = 1).  Nats by default; ``base=2`` gives bits.  Saxe et al. used
s^2 = 1e-3 for the 12-bit network and 1e-1 for MNIST.  Duplicate h_i are allowed:
X is the sample index, and I(index; T) = I(h(X); T).

:func:`kde_mi_ty` follows Saxe et al.'s code for I(T;Y): the upper bound on H(T)
minus the p(y)-weighted upper bounds on H(T|Y=y).  **A difference of two upper
bounds is not a bound** (neither upper nor lower) on I(T;Y): it is an estimate.

Cost O(N^2 d) time in a compiled parallel kernel, O(N) memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float
from ..kernels.pairwise import pairwise_logsumexp
from ._common import log_base, same_n, samples_2d

__all__ = ["MIBounds", "pairwise_mi_bounds", "kde_mi_upper", "kde_mi_lower", "kde_mi_ty"]


@dataclass(frozen=True)
class MIBounds(Result):
    """Lower and upper bounds on a mutual information (units as requested)."""

    lower: float
    upper: float


def _noise_var(noise_var: Any) -> float:
    v = as_float("noise_var", noise_var)
    if v.ndim != 0:
        raise ValueError(f"noise_var must be a scalar, got shape {v.shape}")
    if not v > 0:
        raise ValueError(f"noise_var must be > 0, got {float(v)}")
    return float(v)


def _pairwise_term(h: np.ndarray, two_var: float) -> float:
    """-(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / two_var), in nats
    (compiled O(N^2 d) sum, :func:`deeptheory.kernels.pairwise.pairwise_logsumexp`)."""
    n = h.shape[0]
    return math.log(n) - float(np.sum(pairwise_logsumexp(h, two_var))) / n


def pairwise_mi_bounds(h: Any, noise_var: float, *, base: float = np.e) -> MIBounds:
    """Kolchinsky-Tracey (lower, upper) bounds on I(X;T), T = h(X) + N(0, s^2 I).

    Nats by default, ``base=2`` for bits.  ``h``: (N, d) (or (N,)) layer values
    for N equally likely inputs; ``noise_var``: s^2 > 0.  upper uses the KL
    divergence d^2 / (2 s^2), lower the Bhattacharyya distance d^2 / (8 s^2)
    (Kolchinsky & Tracey 2017); both are <= ln N.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    return MIBounds(_pairwise_term(hh, 8.0 * s2) / lb, _pairwise_term(hh, 2.0 * s2) / lb)


def kde_mi_upper(h: Any, noise_var: float, *, base: float = np.e) -> float:
    """Upper bound of :func:`pairwise_mi_bounds` (KL; Kolchinsky & Tracey 2017).

    I(X;T) <= -(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / (2 s^2)); nats by
    default, ``base=2`` for bits.
    """
    lb = log_base(base)
    return _pairwise_term(samples_2d("h", h), 2.0 * _noise_var(noise_var)) / lb


def kde_mi_lower(h: Any, noise_var: float, *, base: float = np.e) -> float:
    """Lower bound of :func:`pairwise_mi_bounds` (Bhattacharyya; Kolchinsky & Tracey 2017).

    I(X;T) >= -(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / (8 s^2)); nats by
    default, ``base=2`` for bits.
    """
    lb = log_base(base)
    return _pairwise_term(samples_2d("h", h), 8.0 * _noise_var(noise_var)) / lb


def kde_mi_ty(h: Any, y: Any, noise_var: float, *, base: float = np.e) -> float:
    """Saxe et al.'s estimate of I(T;Y): upper(H(T)) - sum_y p(y) upper(H(T | Y=y)).

    Nats by default, ``base=2`` for bits.  ``h``: (N, d) layer values, ``y``: N
    discrete labels, ``noise_var``: s^2 > 0.  The H(T|X) terms cancel, so this is
    ``kde_mi_upper(h) - sum_y p(y) kde_mi_upper(h[y == c])``.  It is a difference
    of two upper bounds and therefore **not a bound** on I(T;Y), only an estimate.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    yy = np.asarray(y)
    if yy.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {yy.shape}")
    n = same_n(h=hh, y=yy)
    total = _pairwise_term(hh, 2.0 * s2)
    cond = 0.0
    for c in np.unique(yy):
        m = yy == c
        cond += m.sum() / n * _pairwise_term(hh[m], 2.0 * s2)
    return (total - cond) / lb
