"""Argument checks shared by the spin-glass modules (private).

The interaction order p of a spherical p-spin model (Auffinger, Ben Arous & Cerny 2013) is an
integer >= 2; an index k is an integer >= 0; a point s of the model lies on |s|^2 = N.  Work
limits: every function whose cost grows fast with its arguments estimates the work before
starting and refuses (ValueError, with the estimate) above a documented limit, unless the
caller raises the limit with ``max_work=``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: relative tolerance on |s|^2 = N for points passed to energy / riemannian_* (float64
#: rounding of sqrt(N) s / |s| is ~1e-16; 1e-8 leaves room for points stored in text files)
SPHERE_RTOL = 1e-8


def _integer_array(name: str, v: Any, lo: int, what: str) -> np.ndarray:
    """An array of integers >= lo (integer-valued floats such as 3.0 are accepted)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, got {v!r}")
    try:
        a = np.asarray(v)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise TypeError(f"{name} must be {what}, got {v!r}") from exc
    if a.dtype.kind == "O":
        try:
            a = a.astype(float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"{name} must be {what}, got {v!r}") from exc
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {what}, got {v!r}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be {what}, got non-finite values")
        bad = a != np.round(a)
        if np.any(bad):
            raise ValueError(f"{name} must be {what}, got {a[bad].flat[0]!r}")
    if np.any(a < lo):
        raise ValueError(f"{name} must be {what}, got {a.min()!r}")
    return a


def check_p(p: Any) -> np.ndarray:
    """p as a float array of integers >= 2 (the interaction order; 3.0 is accepted, 2.5 is not)."""
    return _integer_array("p", p, 2, "an integer >= 2 (the interaction order)").astype(float)


def check_k(k: Any) -> np.ndarray:
    """k as an int64 array of integers in [0, 2**53) (an index: negative Hessian eigenvalues)."""
    a = _integer_array("k", k, 0, "an integer >= 0 (the index)")
    if np.any(a >= 2.0**53):
        raise ValueError(f"k must be < 2**53, got {a.max()!r}")
    return a.astype(np.int64)


def check_work(what: str, work: float, max_work: Any, unit: str, rate: float) -> None:
    """Refuse (ValueError) when the estimated ``work`` exceeds ``max_work``.

    ``rate`` (units per second) turns the estimate into a rough time, measured on 2 shared
    cores (see docs/spinglass.md); the message names ``max_work`` so the caller can raise it.
    """
    try:
        lim = float(max_work)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"max_work must be a number > 0 or inf, got {max_work!r}") from exc
    if not lim > 0:
        raise ValueError(f"max_work must be > 0, got {max_work!r}")
    if work > lim:
        raise ValueError(
            f"{what}: estimated work {work:.3g} {unit} (about {work / rate:.3g} s on 2 cores) "
            f"exceeds max_work = {lim:.3g}; reduce the problem or pass a larger max_work "
            "(max_work=float('inf') removes the limit)")
