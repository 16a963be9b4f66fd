"""Shared argument handling for the mean-field functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float, as_int, broadcast
from ..kernels import Activation, get_activation


def network_params(
    sigma_w2: Any, sigma_b2: Any, activation: str | Activation, **extra: Any
) -> tuple[Activation, tuple[int, ...], list[np.ndarray]]:
    """Validate (sigma_w^2 >= 0, sigma_b^2 >= 0, extra >= 0) and broadcast; return flat arrays."""
    act = get_activation(activation)
    arrs = {"sigma_w2": as_float("sigma_w2", sigma_w2, lo=0.0),
            "sigma_b2": as_float("sigma_b2", sigma_b2, lo=0.0)}
    for k, v in extra.items():
        arrs[k] = v
    b = broadcast(**arrs)
    shape = b[0].shape
    return act, shape, [np.ascontiguousarray(x, dtype=float).ravel() for x in b]


def shaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
    r = np.asarray(a).reshape(shape)
    return r if r.ndim else float(r)


def check_solver(rtol: Any, maxiter: Any) -> tuple[float, int]:
    """Validate the solver options: 0 < rtol < 1 (finite) and maxiter an integer >= 1."""
    if isinstance(rtol, bool):
        raise TypeError(f"rtol must be a real number, got {rtol!r}")
    r = float(as_float("rtol", rtol))
    if np.ndim(rtol) or not 0.0 < r < 1.0:
        raise ValueError(f"rtol must be a scalar in (0, 1), got {rtol!r}")
    return r, as_int("maxiter", maxiter, lo=1, hi=100_000)
