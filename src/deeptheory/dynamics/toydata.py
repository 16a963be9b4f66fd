"""Two-dimensional toy data of the ODE view of ResNets (Dupont et al. 2019).

* :func:`ring_data`: a disk of radius r1 (label -1) inside an annulus r2 <= |x| <= r3
  (label +1), the function g(x) of Dupont et al. 2019 (sec. 4), not representable by the
  flow of a 2-D ODE followed by a linear map.
* :func:`spiral_data`: two interleaved spirals (Lang & Witbrock 1988).
* :func:`augment`: zero padding to a higher dimension (augmented neural ODEs).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._api import as_rng
from .._validation import as_float, as_int

__all__ = ["augment", "ring_data", "spiral_data"]


def ring_data(
    n: int, *, r1: float = 0.5, r2: float = 1.0, r3: float = 1.5, seed: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """n points of Dupont et al. 2019's ring problem (sec. 4, fig. 2): g(x) = -1 for
    |x| <= r1 and g(x) = +1 for r2 <= |x| <= r3 in the plane, half of the points in each
    class, uniform in area (radius sqrt(U) scaled; angle uniform).

    Returns x (n, 2) and y (n,) in {-1, +1} (the first n // 2 points are the disk).
    Requires 0 < r1 < r2 < r3.
    """
    m = as_int("n", n, lo=2, hi=10**7)
    a, b, c = (float(as_float(k, v, lo=0.0)) for k, v in (("r1", r1), ("r2", r2), ("r3", r3)))
    if not 0.0 < a < b < c:
        raise ValueError(f"radii must satisfy 0 < r1 < r2 < r3, got {a}, {b}, {c}")
    rng = as_rng(seed)
    n_in = m // 2
    n_out = m - n_in
    r_in = a * np.sqrt(rng.random(n_in))
    r_out = np.sqrt(b * b + (c * c - b * b) * rng.random(n_out))
    phi = 2.0 * math.pi * rng.random(m)
    r = np.concatenate([r_in, r_out])
    x = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    y = np.concatenate([-np.ones(n_in), np.ones(n_out)])
    return x, y


def spiral_data(
    n: int, *, turns: float = 1.5, noise: float = 0.05, seed: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """n points on two interleaved spirals (Lang & Witbrock 1988) r = theta / (2 pi turns), theta in
    [pi/2, 2 pi turns] (labels -1 and +1, the second spiral rotated by pi), plus isotropic
    Gaussian noise of standard deviation ``noise``.  Returns x (n, 2) (|x| <~ 1) and
    y (n,) in {-1, +1} (the first n // 2 points have label -1).
    """
    m = as_int("n", n, lo=2, hi=10**7)
    tr = float(as_float("turns", turns))
    if tr <= 0.25:
        raise ValueError(f"turns must be > 0.25, got {tr}")
    sd = float(as_float("noise", noise, lo=0.0))
    rng = as_rng(seed)
    n_a = m // 2
    top = 2.0 * math.pi * tr
    theta = math.pi / 2 + (top - math.pi / 2) * np.sqrt(rng.random(m))
    r = theta / top
    sign = np.concatenate([np.ones(n_a), -np.ones(m - n_a)])
    x = sign[:, None] * np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    x = x + sd * rng.standard_normal((m, 2))
    y = np.concatenate([-np.ones(n_a), np.ones(m - n_a)])
    return x, y


def augment(x: Any, dim: int) -> np.ndarray:
    """Pad points x (n, d) with dim - d zero coordinates (Dupont et al. 2019: the augmented
    neural ODE starts at (x, 0) in R^dim).  dim = d returns a copy."""
    a = as_float("x", x)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"x must have shape (n, d), got {a.shape}")
    p = as_int("dim", dim, lo=a.shape[1], hi=10**4)
    out = np.zeros((a.shape[0], p))
    out[:, :a.shape[1]] = a
    return out
