"""Shared argument checks and unit conversion for :mod:`deeptheory.infotheory`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_float


def log_base(base: Any) -> float:
    """ln(base) for converting nats to other units; ``base`` > 0 and != 1 (e.g. 2 -> bits)."""
    b = float(as_float("base", base, lo=0.0))
    if b <= 0.0 or b == 1.0:
        raise ValueError(f"base must be > 0 and != 1, got {b}")
    return math.log(b)


def samples_2d(name: str, v: Any) -> np.ndarray:
    """A finite float sample as an (N, d) array (a 1-D input is one column)."""
    a = as_float(name, v)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D or 2-D (samples x dims) array, "
                         f"got shape {a.shape}")
    return np.ascontiguousarray(a)


def same_n(**arrays: np.ndarray) -> int:
    """The common number of samples (first axis) or a ValueError naming every argument."""
    for k, v in arrays.items():
        if np.ndim(v) == 0:
            raise ValueError(f"{k} must be an array of samples, got a scalar")
    ns = {k: np.shape(v)[0] for k, v in arrays.items()}
    if len(set(ns.values())) != 1:
        desc = ", ".join(f"{k} has {n}" for k, n in ns.items())
        raise ValueError(f"sample counts differ: {desc}")
    return next(iter(ns.values()))
