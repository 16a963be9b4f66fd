"""Binned mutual information of a layer, as in Shwartz-Ziv & Tishby (2017).

Each unit's activity is snapped to a grid of ``n_bins`` levels
``edges = linspace(lo, hi, n_bins)`` (default ``linspace(-1, 1, 30)``, the tanh
range used by Shwartz-Ziv & Tishby): a value v becomes the largest edge <= v, i.e.
``edges[digitize(v, edges) - 1]`` as in their code, except that values below ``lo``
are clipped to ``lo`` (their indexing wraps them to ``hi``) and values >= ``hi``
become ``hi``.  A layer's state for one input is the tuple of its binned unit values,
and I(X;T), I(T;Y) are the plug-in mutual informations of the empirical joint
distribution of (input, state) and (state, label) over the samples given.

Nats by default; ``base=2`` gives bits.  When every input occurs once (the 12-bit
task: all 4096 patterns), T is a function of X, so I(X;T) = H(T) <= ln N.  These are
properties of the binned (discrete) variable, not estimates of the MI of the
continuous activity (which is infinite for a deterministic network); they depend on
``n_bins``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int
from ._common import log_base, same_n
from .discrete import joint_from_samples, mutual_information

__all__ = ["bin_layer", "binned_mi", "BinnedMI"]


@dataclass(frozen=True)
class BinnedMI(Result):
    """I(X;T) and I(T;Y) of a binned layer (units as requested: nats by default).

    """

    i_xt: float
    i_ty: float


def _edges(n_bins: Any, lo: Any, hi: Any) -> np.ndarray:
    nb = as_int("n_bins", n_bins, lo=1)
    a = float(as_float("lo", lo))
    b = float(as_float("hi", hi))
    if nb > 1 and not a < b:
        raise ValueError(f"lo must be < hi, got lo={a}, hi={b}")
    return np.linspace(a, b, nb)


def bin_layer(t: Any, n_bins: int = 30, *, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Snap every value of ``t`` to the largest of ``linspace(lo, hi, n_bins)`` <= it.

    b(v) = edges[clip(digitize(v, edges) - 1, 0, n_bins - 1)], edges = linspace(lo, hi,
    n_bins), as in Shwartz-Ziv & Tishby (2017, sec. 3.1; their code).
    Values below ``lo`` become ``lo``, values >= ``hi`` become ``hi``; the output
    has the shape of ``t`` and at most ``n_bins`` distinct values.
    ``n_bins`` >= 1 (1: every value becomes ``lo``).
    """
    edges = _edges(n_bins, lo, hi)
    v = as_float("t", t)
    i = np.clip(np.digitize(v, edges) - 1, 0, edges.size - 1)
    return edges[i]


def binned_mi(
    x: Any,
    t: Any,
    y: Any,
    n_bins: int = 30,
    *,
    lo: float = -1.0,
    hi: float = 1.0,
    base: float = np.e,
) -> BinnedMI:
    """(I(X;T), I(T;Y)) for a layer T binned as by Shwartz-Ziv & Tishby (2017).

    Nats by default, ``base=2`` for bits.  ``x``: N discrete inputs (labels, or
    rows as states, e.g. the 12-bit patterns); ``t``: (N, units) activity of the
    layer for those inputs (or (N,) for one unit); ``y``: N discrete labels.  The
    layer state of sample n is the tuple ``bin_layer(t[n])``; both MIs are plug-in
    values of the empirical joint pmf (:func:`deeptheory.infotheory.discrete_mi`):
    I(X;T) = H(X) + H(T) - H(X,T) and I(T;Y) = H(T) + H(Y) - H(T,Y) (Cover & Thomas 2006,
    eq. 2.45).  Returns :class:`BinnedMI` (``i_xt``, ``i_ty``).
    """
    lb = log_base(base)
    tb = bin_layer(t, n_bins, lo=lo, hi=hi)
    if tb.ndim == 1:
        tb = tb[:, None]
    if tb.ndim != 2:
        raise ValueError(f"t must be (N,) or (N, units), got shape {np.shape(t)}")
    same_n(x=np.asarray(x), t=tb, y=np.asarray(y))
    pxt, _ = joint_from_samples(x, tb)
    pty, _ = joint_from_samples(tb, y)
    return BinnedMI(mutual_information(pxt) / lb, mutual_information(pty) / lb)
