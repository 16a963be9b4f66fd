"""Entropy and mutual information of discrete distributions.

Shannon 1948; Cover & Thomas 2006, ch. 2.

All quantities are in **nats** by default; ``base=2`` gives bits (any ``base`` > 0,
!= 1, divides by ln(base)).  Terms with p = 0 contribute 0 (0 ln 0 = 0).

A joint pmf is an array with one axis per variable, entries >= 0 summing to 1
(within 1e-9); anything else raises ValueError naming the argument.
:func:`joint_from_samples` builds such an array from paired samples, and
:func:`discrete_entropy` / :func:`discrete_mi` are the plug-in (maximum-likelihood)
estimates from samples: entropy is biased low by about (|X| - 1) / (2N) nats and MI
high by about (|X| - 1)(|Y| - 1) / (2N) nats (Miller-Madow); no correction is applied.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._api import Estimate, as_rng
from .._validation import as_int
from ._common import log_base, same_n

__all__ = [
    "entropy",
    "mutual_information",
    "conditional_mutual_information",
    "joint_from_samples",
    "discrete_entropy",
    "discrete_mi",
    "discrete_mi_bootstrap",
    "MIEstimate",
]

_PMF_ATOL = 1e-9


def _pmf(name: str, p: Any, ndim: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be real numbers, got {p!r}") from exc
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D joint pmf array, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    if np.any(a < 0):
        raise ValueError(f"{name} must have entries >= 0, got min {a.min()}")
    s = a.sum()
    if abs(s - 1.0) > _PMF_ATOL:
        raise ValueError(f"{name} must sum to 1 (within {_PMF_ATOL}), got sum {s!r}")
    return a


def _h(p: np.ndarray) -> float:
    """-sum p ln p over p > 0 (nats)."""
    q = p[p > 0]
    return float(-np.sum(q * np.log(q)))


def entropy(p: Any, *, base: float = np.e) -> float:
    """Shannon entropy H = -sum_x p(x) ln p(x) of a pmf array (all axes; Shannon 1948).

    Nats by default, ``base=2`` for bits.  ``p`` of any shape: the joint entropy of
    all its axes.
    """
    lb = log_base(base)
    return _h(_pmf("p", p)) / lb


def mutual_information(pxy: Any, *, base: float = np.e) -> float:
    """I(X;Y) = sum_{x,y} p(x,y) ln [p(x,y) / (p(x) p(y))] of a 2-D joint pmf ``pxy[x, y]``.

    Nats by default, ``base=2`` for bits.  Computed as H(X) + H(Y) - H(X,Y)
    (Cover & Thomas 2006, eq. 2.45) and clipped at 0 against rounding (at most ~1e-15).
    """
    lb = log_base(base)
    p = _pmf("pxy", pxy, ndim=2)
    mi = _h(p.sum(axis=1)) + _h(p.sum(axis=0)) - _h(p)
    return max(mi, 0.0) / lb


def conditional_mutual_information(pxyz: Any, *, base: float = np.e) -> float:
    """I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(Z) - H(X,Y,Z) of a 3-D joint pmf ``pxyz[x, y, z]``.

    Nats by default, ``base=2`` for bits (Cover & Thomas 2006, eq. 2.60); clipped at 0
    against rounding.
    """
    lb = log_base(base)
    p = _pmf("pxyz", pxyz, ndim=3)
    cmi = _h(p.sum(axis=1)) + _h(p.sum(axis=0)) - _h(p.sum(axis=(0, 1))) - _h(p)
    return max(cmi, 0.0) / lb


def _codes(name: str, v: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(v)
    if a.ndim == 0 or a.ndim > 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels or 2-D array "
                         f"(samples x components), got shape {a.shape}")
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    if a.ndim == 2:
        labels, inv = np.unique(a, axis=0, return_inverse=True)
    else:
        labels, inv = np.unique(a, return_inverse=True)
    return labels, inv.reshape(-1)


def joint_from_samples(*samples: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Empirical joint pmf of paired discrete samples (the input of :func:`mutual_information`).

    Each sample is a 1-D array of N labels or an (N, d) array whose rows are the
    states (e.g. binned layer activity).  Returns ``(pmf, labels)``: ``pmf`` has
    one axis per sample, ``pmf[i, j, ...]`` the fraction of samples n with
    ``samples[0][n] == labels[0][i]``, ...; ``labels[a]`` holds the sorted distinct
    states of sample a.
    """
    if not samples:
        raise ValueError("samples: need at least one sample")
    coded = [_codes(f"samples[{i}]", s) for i, s in enumerate(samples)]
    n = same_n(**{f"samples[{i}]": c[1] for i, c in enumerate(coded)})
    shape = tuple(len(c[0]) for c in coded)
    flat = np.ravel_multi_index(tuple(c[1] for c in coded), shape)
    pmf = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape) / n
    return pmf, tuple(c[0] for c in coded)


def _warn_all_distinct(func: str, pmf: np.ndarray, names: tuple[str, ...], n: int) -> None:
    """UserWarning when every one of the n >= 2 samples of some argument is its own state
    (each axis of the empirical ``pmf`` has as many states as there are samples)."""
    for name, k in zip(names, pmf.shape, strict=True):
        if n >= 2 and k == n:
            warnings.warn(
                f"{func}: every one of the {n} samples of {name} is a distinct state "
                "(continuous data?): the plug-in value is then fixed by the sample size "
                f"(H = ln {n}; I = H of the other variable), not an estimate; bin the data "
                "(bin_layer) or use ksg_mi for continuous samples",
                UserWarning, stacklevel=3)


def discrete_entropy(x: Any, *, base: float = np.e) -> float:
    """Plug-in entropy H = -sum_x p_N(x) ln p_N(x) of a discrete sample (labels or rows
    as states), p_N the empirical pmf (Cover & Thomas 2006, eq. 2.1; Miller 1955 for the bias).

    Nats by default, ``base=2`` for bits.  Biased low; no correction applied.  If
    every sample is its own state (continuous floats) the value is ln N whatever the
    law: a ``UserWarning`` says so.
    """
    pmf = joint_from_samples(x)[0]
    _warn_all_distinct("discrete_entropy", pmf, ("x",), np.shape(x)[0])
    return entropy(pmf, base=base)


def discrete_mi(x: Any, y: Any, *, base: float = np.e) -> float:
    """Plug-in I(X;Y) = sum p_N(x,y) ln[p_N(x,y) / (p_N(x) p_N(y))] of paired discrete
    samples (labels or rows as states), p_N the empirical pmf (Cover & Thomas 2006, eq. 2.28).

    Nats by default, ``base=2`` for bits.  This is :func:`mutual_information` of
    the empirical joint pmf; biased high for independent variables, by about
    (|X| - 1)(|Y| - 1) / (2N) nats (Miller 1955).  If every sample of x (or y) is its
    own state, e.g. continuous floats, the value is H(Y) (or H(X)) <= ln N whatever
    the dependence: a ``UserWarning`` says so.
    """
    pmf = joint_from_samples(x, y)[0]
    _warn_all_distinct("discrete_mi", pmf, ("x", "y"), np.shape(x)[0])
    return mutual_information(pmf, base=base)


#: the former name of the estimate type (kept as an alias)
MIEstimate = Estimate


def discrete_mi_bootstrap(
    x: Any, y: Any, *, n_boot: int = 200, seed: Any = 0, base: float = np.e
) -> Estimate:
    """Plug-in I(X;Y) of paired discrete samples with a seeded bootstrap standard error.

    Nats by default, ``base=2`` for bits.  ``value`` is :func:`discrete_mi` of the
    sample; ``stderr`` the standard deviation (ddof=1) of :func:`discrete_mi` over
    ``n_boot`` >= 2 resamples of the N pairs with replacement (Efron & Tibshirani
    1993), drawn from ``seed`` (an int >= 0, a numpy Generator or None).  It measures
    the sampling spread only, not the plug-in bias (about (|X| - 1)(|Y| - 1) / (2N)
    nats).  Asymptotically it matches the delta-method value
    sqrt((E[L^2] - I^2) / N), L = ln p(x,y)/(p(x)p(y)).  Returns
    :class:`deeptheory._api.Estimate` (``value``, ``stderr``, ``n`` = N pairs).
    Warns like :func:`discrete_mi` when every sample is its own state.
    """
    lb = log_base(base)
    nb = as_int("n_boot", n_boot, lo=2)
    rng = as_rng(seed)
    pxy, _ = joint_from_samples(x, y)
    _warn_all_distinct("discrete_mi_bootstrap", pxy, ("x", "y"), np.shape(x)[0])
    _, ix = _codes("x", x)
    _, iy = _codes("y", y)
    n = ix.size
    shape = pxy.shape
    flat = ix * shape[1] + iy
    boot = np.empty(nb)
    for b in range(nb):
        counts = np.bincount(flat[rng.integers(0, n, n)], minlength=shape[0] * shape[1])
        boot[b] = mutual_information(counts.reshape(shape) / n)
    return Estimate(mutual_information(pxy) / lb, float(np.std(boot, ddof=1)) / lb, int(n))
