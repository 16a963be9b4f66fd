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

Cost O(N^2 d) time in a compiled parallel kernel, O(N) memory.  ``progress=True`` shows
a bar of the rows i done: the rows then run in blocks (each block of at least Numba's
thread count), every row by the same compiled function against all N rows, and the
sum runs over the assembled array of all N row values, so the result is bitwise that of
the single call.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._progress import check_progress, progress_bar
from .._validation import as_float
from ..kernels._threads import thread_count
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


#: blocks of rows per pairwise term when a progress bar is shown
_N_CHUNKS = 50


def _pairwise_term(h: np.ndarray, two_var: float, bar: Any = None) -> float:
    """-(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / two_var), in nats
    (compiled O(N^2 d) sum, :func:`deeptheory.kernels.pairwise.pairwise_logsumexp`).

    ``bar``: None (one compiled call), or a progress bar advanced by the rows of each
    block of rows; the row values are assembled into one array before the same sum."""
    n = h.shape[0]
    if bar is None:
        return math.log(n) - float(np.sum(pairwise_logsumexp(h, two_var))) / n
    vals = np.empty(n)
    size = max(thread_count(), -(-n // _N_CHUNKS), 1)
    for a in range(0, n, size):
        b = min(n, a + size)
        vals[a:b] = pairwise_logsumexp(h, two_var, rows=(a, b))
        bar.update(b - a)
    return math.log(n) - float(np.sum(vals)) / n


def _bar(total: int, desc: str, progress: Any) -> Any:
    """A bar of ``total`` rows when ``progress`` (validated), else None."""
    return progress_bar(total, desc, True, unit="row") if check_progress(progress) else None


def _opened(bar: Any) -> Any:
    """``bar`` as a context manager (closed at the end), or a null context for None."""
    return nullcontext() if bar is None else bar


def pairwise_mi_bounds(h: Any, noise_var: float, *, base: float = np.e,
                       progress: bool = False) -> MIBounds:
    """Kolchinsky-Tracey (lower, upper) bounds on I(X;T), T = h(X) + N(0, s^2 I).

    Nats by default, ``base=2`` for bits.  ``h``: (N, d) (or (N,)) layer values
    for N equally likely inputs; ``noise_var``: s^2 > 0.  upper uses the KL
    divergence d^2 / (2 s^2), lower the Bhattacharyya distance d^2 / (8 s^2)
    (Kolchinsky & Tracey 2017); both are <= ln N.
    progress : a progress bar (tqdm on stderr) of the rows done (2 N: both bounds); off
    by default.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    bar = _bar(2 * hh.shape[0], "pairwise_mi_bounds", progress)
    with _opened(bar):
        return MIBounds(_pairwise_term(hh, 8.0 * s2, bar) / lb,
                        _pairwise_term(hh, 2.0 * s2, bar) / lb)


def kde_mi_upper(h: Any, noise_var: float, *, base: float = np.e,
                 progress: bool = False) -> float:
    """Upper bound of :func:`pairwise_mi_bounds` (KL; Kolchinsky & Tracey 2017).

    I(X;T) <= -(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / (2 s^2)); nats by
    default, ``base=2`` for bits.
    progress : a progress bar (tqdm on stderr) of the rows done; off by default.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    bar = _bar(hh.shape[0], "kde_mi_upper", progress)
    with _opened(bar):
        return _pairwise_term(hh, 2.0 * s2, bar) / lb


def kde_mi_lower(h: Any, noise_var: float, *, base: float = np.e,
                 progress: bool = False) -> float:
    """Lower bound of :func:`pairwise_mi_bounds` (Bhattacharyya; Kolchinsky & Tracey 2017).

    I(X;T) >= -(1/N) sum_i ln (1/N) sum_j exp(-|h_i - h_j|^2 / (8 s^2)); nats by
    default, ``base=2`` for bits.
    progress : a progress bar (tqdm on stderr) of the rows done; off by default.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    bar = _bar(hh.shape[0], "kde_mi_lower", progress)
    with _opened(bar):
        return _pairwise_term(hh, 8.0 * s2, bar) / lb


def kde_mi_ty(h: Any, y: Any, noise_var: float, *, base: float = np.e,
              progress: bool = False) -> float:
    """Saxe et al.'s estimate of I(T;Y): upper(H(T)) - sum_y p(y) upper(H(T | Y=y)).

    Nats by default, ``base=2`` for bits.  ``h``: (N, d) layer values, ``y``: N
    discrete labels, ``noise_var``: s^2 > 0.  The H(T|X) terms cancel, so this is
    ``kde_mi_upper(h) - sum_y p(y) kde_mi_upper(h[y == c])``.  It is a difference
    of two upper bounds and therefore **not a bound** on I(T;Y), only an estimate.
    progress : a progress bar (tqdm on stderr) of the rows done (2 N: all N rows, then
    the rows of every class); off by default.
    """
    lb = log_base(base)
    hh = samples_2d("h", h)
    s2 = _noise_var(noise_var)
    yy = np.asarray(y)
    if yy.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {yy.shape}")
    n = same_n(h=hh, y=yy)
    bar = _bar(2 * n, "kde_mi_ty", progress)
    with _opened(bar):
        total = _pairwise_term(hh, 2.0 * s2, bar)
        cond = 0.0
        for c in np.unique(yy):
            m = yy == c
            cond += m.sum() / n * _pairwise_term(hh[m], 2.0 * s2, bar)
        return (total - cond) / lb
