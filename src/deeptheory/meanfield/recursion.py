"""Layer-by-layer mean-field recursion for two inputs (theory side of the Monte Carlo checks).

Poole et al. 2016, eqs. 3 and 5, without assuming the fixed point: inputs x1, x2
with squared lengths per component q1^0, q2^0 and correlation c^0 give

    q_a^1 = sigma_w^2 q_a^0 + sigma_b^2,     q_12^1 = sigma_w^2 c^0 sqrt(q1^0 q2^0) + sigma_b^2,
    q_a^l = sigma_w^2 E[phi(h_a)^2] + sigma_b^2,
    q_12^l = sigma_w^2 E[phi(h_1) phi(h_2)] + sigma_b^2,

(h_1, h_2) jointly Gaussian with the layer-(l-1) covariances, and
c^l = q_12^l / sqrt(q_1^l q_2^l).  (The input enters the first layer without phi.)

1 - c is carried without cancellation: with D = E[(phi(h_1) - phi(h_2))^2] (the
kernels' ``expect2_sqdiff``; the identity map at the first layer),
2 q_12^l = q_1^l + q_2^l - sigma_w^2 D, so

    1 - c^l = (sigma_w^2 D - (sqrt(q_1^l) - sqrt(q_2^l))^2) / (2 sqrt(q_1^l q_2^l)),

which for equal lengths (q2_0 = q1_0) is the cancellation-free form the C-map uses
(1 - C(c) = sigma_w^2 E[(phi(u1) - phi(u2))^2] / 2V(q)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int, broadcast
from ..kernels import Activation, expect2_sqdiff, get_activation
from ._gauss import E1, E2_sqdiff, check_quad

__all__ = ["LayerRecursion", "layer_recursion"]


@dataclass(frozen=True)
class LayerRecursion(Result):
    """Per-layer values for l = 1..depth (axis 0; the other axes are the broadcast shape of
    the parameters): q1, q2, c and one_minus_c (1 - c to full relative accuracy)."""

    q1: np.ndarray
    q2: np.ndarray
    c: np.ndarray
    one_minus_c: np.ndarray


def _relu_sqdiff_unit(d: np.ndarray) -> np.ndarray:
    """E[(relu(u1) - relu(u2))^2] / sqrt(q1 q2) at equal variances 1 and 1 - c = d (Cho & Saul
    2009): (pi d + t cos t - sin t) / pi, t = 2 asin(sqrt(d / 2)), series for small t."""
    t = 2.0 * np.arcsin(np.sqrt(np.clip(d / 2.0, 0.0, 1.0)))
    t2 = t * t
    series = -t * t2 * (1 / 3 - t2 * (1 / 30 - t2 * (1 / 840 - t2 * (1 / 45360 - t2 / 3991680))))
    tail = np.where(t < 0.1, series, t * np.cos(t) - np.sin(t))
    return (np.pi * d + tail) / np.pi


def _sqdiff(act, q1, q2, d, same, quad):
    """E[(phi(h1) - phi(h2))^2] for variances q1, q2 and correlation c = 1 - d."""
    s1, s2 = np.sqrt(q1), np.sqrt(q2)
    if act.builtin and act.name == "linear":
        return (s1 - s2) ** 2 + 2.0 * s1 * s2 * d
    if act.builtin and act.name == "relu":  # homogeneous of degree 1
        return 0.5 * (s1 - s2) ** 2 + s1 * s2 * _relu_sqdiff_unit(d)
    c = np.clip(1.0 - d, -1.0, 1.0)
    if same:
        return E2_sqdiff(act, q1, c, **quad)
    return np.asarray(expect2_sqdiff(act, q1, q2, c, 0, **quad), dtype=float)


def _one_minus_c(q1, q2, sw2, D):
    s1, s2 = np.sqrt(q1), np.sqrt(q2)
    den = 2.0 * s1 * s2
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (sw2 * D - (s1 - s2) ** 2) / den
    return np.clip(np.where(den > 0, d, 0.0), 0.0, 2.0)  # c = 1 where a length vanishes


def layer_recursion(
    sigma_w2: Any,
    sigma_b2: Any,
    depth: int,
    activation: str | Activation = "tanh",
    *,
    q1_0: Any = 1.0,
    q2_0: Any = None,
    c0: Any = 0.5,
    **quad: Any,
) -> LayerRecursion:
    """Mean-field q1^l, q2^l, c^l for layers 1..depth (Poole et al. 2016, eqs. 3 and 5).

    ``sigma_w2``, ``sigma_b2`` (>= 0), ``q1_0``, ``q2_0`` (>= 0; default q2_0 = q1_0) and
    ``c0`` (in [-1, 1]) broadcast together; every output has shape
    ``(depth, *broadcast_shape)``.  Each layer is one kernel call for E[phi^2] and one for
    E[(phi(h_1) - phi(h_2))^2] over all parameter points (closed forms for linear, relu
    and erf), and 1 - c is built from E[(phi(h_1) - phi(h_2))^2], without cancellation
    when q2_0 = q1_0 (see the module docstring; also returned as ``one_minus_c``).
    When every point's (q1, q2, 1 - c) repeats exactly from one layer to the next (a
    fixed point in floating point) the remaining layers are copies, so deep recursions
    that converge cost only their transient.
    ``quad``: rule/order/target of :func:`deeptheory.kernels.expect`.
    """
    act = get_activation(activation)
    depth = as_int("depth", depth, lo=1, hi=10**8)
    quad = check_quad(quad)
    same = q2_0 is None
    arrs = {"sigma_w2": as_float("sigma_w2", sigma_w2, lo=0.0),
            "sigma_b2": as_float("sigma_b2", sigma_b2, lo=0.0),
            "q1_0": as_float("q1_0", q1_0, lo=0.0),
            "q2_0": as_float("q1_0" if same else "q2_0", q1_0 if same else q2_0, lo=0.0),
            "c0": as_float("c0", c0, lo=-1.0, hi=1.0)}
    sw2, sb2, q1, q2, cc = broadcast(**arrs)
    shape = sw2.shape
    sw2, sb2, q1, q2, cc = (np.ascontiguousarray(a, dtype=float).ravel()
                            for a in (sw2, sb2, q1, q2, cc))
    if same:
        same = bool(np.array_equal(q1, q2))
    n = sw2.size
    out = np.empty((4, depth, n))
    # layer 1: the inputs enter linearly
    D = _sqdiff(get_activation("linear"), q1, q2, 1.0 - cc, False, {})
    q1, q2 = sw2 * q1 + sb2, sw2 * q2 + sb2
    d = _one_minus_c(q1, q2, sw2, D)
    out[:, 0] = q1, q2, 1.0 - d, d
    for layer in range(1, depth):
        D = _sqdiff(act, q1, q2, d, same, quad)
        n1 = sw2 * E1(act, q1, (0, 0), **quad) + sb2
        n2 = n1 if same else sw2 * E1(act, q2, (0, 0), **quad) + sb2
        nd = _one_minus_c(n1, n2, sw2, D)
        if np.array_equal(n1, q1) and np.array_equal(n2, q2) and np.array_equal(nd, d):
            out[:, layer:] = out[:, layer - 1 : layer]  # a floating-point fixed point
            break
        q1, q2, d = n1, n2, nd
        out[:, layer] = q1, q2, 1.0 - d, d
    out = out.reshape((4, depth, *shape))
    return LayerRecursion(q1=out[0], q2=out[1], c=out[2], one_minus_c=out[3])
