"""Curvature / metric recursion of a curve propagated through a deep network.

Poole et al. 2016, eqs. 9-10: for inputs on the q* sphere, the
squared length element g^l (= |v|^2 / N of a tangent vector) and the
normalised extrinsic curvature kappa^l (scaled by sqrt(N)) obey

    g^l = chi_1 g^{l-1},
    (kappa^l)^2 = 3 chi_2 / chi_1^2 + (kappa^{l-1})^2 / chi_1.

In the chaotic phase (chi_1 > 1) (kappa^l)^2 -> 3 chi_2 / (chi_1 (chi_1 - 1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int
from ..kernels import Activation
from .depth import chi1 as _chi1
from .depth import chi2 as _chi2

__all__ = ["Curvature", "curvature"]


@dataclass(frozen=True)
class Curvature(Result):
    """Layers l = 0..depth along axis 0: g (length element), kappa2 (squared curvature)."""

    g: np.ndarray
    kappa2: np.ndarray
    chi1: np.ndarray
    chi2: np.ndarray

    @property
    def kappa2_limit(self) -> np.ndarray:
        """3 chi_2 / (chi_1 (chi_1 - 1)) where chi_1 > 1, else inf (unbounded growth)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = 3.0 * self.chi2 / (self.chi1 * (self.chi1 - 1.0))
        return np.where(self.chi1 > 1.0, lim, np.inf)


def curvature(
    sigma_w2: Any,
    sigma_b2: Any,
    depth: int,
    activation: str | Activation = "tanh",
    *,
    g0: Any = 1.0,
    kappa2_0: Any = 0.0,
    **quad: Any,
) -> Curvature:
    """Iterate the metric and curvature recursion for ``depth`` layers.

    ``g0`` and ``kappa2_0`` (>= 0) are the input curve's length element and squared
    curvature; a great circle of radius sqrt(N q*) has kappa2_0 = 1 / q* in these
    units (Poole et al. 2016).  Needs phi'' (raises ``ValueError`` for relu).
    """
    depth = as_int("depth", depth, lo=1)
    c1 = np.asarray(_chi1(sigma_w2, sigma_b2, activation, **quad))
    c2 = np.asarray(_chi2(sigma_w2, sigma_b2, activation, **quad))
    g0a = as_float("g0", g0, lo=0.0)
    k0 = as_float("kappa2_0", kappa2_0, lo=0.0)
    c1, c2, g, k = np.broadcast_arrays(c1, c2, g0a, k0)
    if np.any(c1 <= 0):
        raise ValueError("chi_1 = 0 (sigma_w2 = 0): the curve collapses to a point")
    gs = [g.astype(float)]
    ks = [k.astype(float)]
    for _ in range(depth):
        gs.append(c1 * gs[-1])
        ks.append(3.0 * c2 / c1**2 + ks[-1] / c1)
    return Curvature(g=np.stack(gs), kappa2=np.stack(ks), chi1=c1, chi2=c2)
