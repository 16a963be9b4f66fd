"""Gaussian expectations used by the mean-field maps, with closed-form fast paths.

``E1(act, q, (a, b))``       = E[phi^(a)(x) phi^(b)(x)],          x ~ N(0, q)
``E2(act, q, c, (a, b))``    = E[phi^(a)(u1) phi^(b)(u2)],        Var u_i = q, Corr = c
``E2_sqdiff(act, q, c)``     = E[(phi(u1) - phi(u2))^2]

Closed forms (used when ``closed=True`` and the activation has one):

* linear: E[x^2] = q, E[u1 u2] = c q.
* relu (arc-cosine kernel, Cho & Saul 2009): E[phi(u1) phi(u2)] = q/(2 pi) [sin t + (pi - t) cos t],
  E[phi'(u1) phi'(u2)] = (pi - t)/(2 pi), t = 2 asin(sqrt((1 - c)/2)) (no arccos).
* erf (Williams 1998): E[erf(u1) erf(u2)] = (2/pi) asin(2 c q / (1 + 2 q)),
  E[erf'(u1) erf'(u2)] = (4/pi) / sqrt((1 + 2q)^2 - 4 c^2 q^2),
  E[erf''^2] = 16 q / (pi (1 + 4q)^{3/2}),
  E[erf erf''] = -8 q / (pi (1 + 2q) sqrt(1 + 4q)).

Everything else goes to the compiled quadrature in :mod:`deeptheory.kernels`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import Activation, expect, expect2, expect2_sqdiff

QUAD_KEYS = frozenset({"rule", "order", "target"})
#: built-in activations with the closed forms below (1-D moments and the correlated pair)
CLOSED_1D = frozenset({"linear", "relu", "erf"})
CLOSED_2D = CLOSED_1D


def check_quad(quad: dict[str, Any]) -> dict[str, Any]:
    bad = set(quad) - QUAD_KEYS
    if bad:
        raise TypeError(f"unexpected keyword argument(s) {sorted(bad)}; quadrature options are "
                        f"{sorted(QUAD_KEYS)}")
    return quad


def _angle(c: np.ndarray) -> np.ndarray:
    return 2.0 * np.arcsin(np.sqrt(np.clip((1.0 - c) / 2.0, 0.0, 1.0)))


def _angle_to_opposite(c: np.ndarray) -> np.ndarray:
    """pi - t, computed directly so it keeps its digits as c -> -1."""
    return 2.0 * np.arcsin(np.sqrt(np.clip((1.0 + c) / 2.0, 0.0, 1.0)))


def _relu_J(c: np.ndarray) -> np.ndarray:
    """J = sin t + (pi - t) cos t = sin e - e cos e, e = pi - t (series as e -> 0, c -> -1)."""
    t, e = _angle(c), _angle_to_opposite(c)
    e2 = e * e
    series = e * e2 * (1 / 3 - e2 * (1 / 30 - e2 * (1 / 840 - e2 * (1 / 45360 - e2 / 3991680))))
    return np.where(e < 0.1, series, np.sin(t) + (np.pi - t) * np.cos(t))


def _closed1(name: str, q: np.ndarray, a: int | None, b: int | None) -> np.ndarray | None:
    key = (name, a, b) if (a is None or b is None or a <= b) else (name, b, a)
    one = np.ones_like(q)
    table = {
        ("linear", 0, 0): lambda: q,
        ("linear", 1, 1): lambda: one,
        ("linear", 0, 2): lambda: 0.0 * q,
        ("linear", 2, 2): lambda: 0.0 * q,
        ("relu", 0, 0): lambda: q / 2.0,
        ("relu", 1, 1): lambda: 0.5 * one,
        ("erf", 0, 0): lambda: (2.0 / np.pi) * np.arcsin(2.0 * q / (1.0 + 2.0 * q)),
        ("erf", 1, 1): lambda: (4.0 / np.pi) / np.sqrt(1.0 + 4.0 * q),
        ("erf", 2, 2): lambda: 16.0 * q / (np.pi * (1.0 + 4.0 * q) ** 1.5),
        ("erf", 0, 2): lambda: -8.0 * q / (np.pi * (1.0 + 2.0 * q) * np.sqrt(1.0 + 4.0 * q)),
    }
    f = table.get(key)
    return None if f is None else np.asarray(f(), dtype=float)


def closed_pair(name: str, q11: Any, q22: Any, c: Any, level: int) -> np.ndarray | None:
    """E[phi^(m)(u1) phi^(m)(u2)], m = ``level`` (0, 1, 2), in closed form, or None.

    Variances q11, q22, correlation c (covariance q12 = c sqrt(q11 q22)); each level is the
    derivative of the previous one in q12 (Price's theorem):

    * linear: q12, 1, 0.
    * relu (Cho & Saul 2009): sqrt(q11 q22) J(t) / (2 pi), (pi - t) / (2 pi),
      1 / (2 pi sqrt(q11 q22) sin t), t = 2 asin(sqrt((1 - c)/2)) (inf at c = 1).
    * erf (Williams 1997), D = (1 + 2 q11)(1 + 2 q22) - 4 q12^2:
      (2/pi) asin(2 q12 / sqrt((1 + 2 q11)(1 + 2 q22))), (4/pi) D^{-1/2}, (16/pi) q12 D^{-3/2}.
    """
    q11, q22, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q11, q22, c)))
    s = np.sqrt(q11 * q22)
    q12 = c * s
    if name == "linear":
        return (q12, np.ones_like(s), np.zeros_like(s))[level]
    if name == "relu":
        if level == 0:
            return s / (2.0 * np.pi) * _relu_J(c)
        if level == 1:
            return _angle_to_opposite(c) / (2.0 * np.pi) + 0.0 * s
        with np.errstate(divide="ignore"):
            return 1.0 / (2.0 * np.pi * s * np.sin(_angle(c)))
    if name == "erf":
        g = (1.0 + 2.0 * q11) * (1.0 + 2.0 * q22)
        if level == 0:
            return (2.0 / np.pi) * np.arcsin(2.0 * q12 / np.sqrt(g))
        # D = g - 4 q12^2 = g (1 - k^2) + 4 s^2 (1 - c^2) k-free form: no cancellation as c -> 1
        d = (1.0 + 2.0 * q11 + 2.0 * q22) + 4.0 * s * s * (1.0 - c) * (1.0 + c)
        if level == 1:
            return (4.0 / np.pi) / np.sqrt(d)
        return (16.0 / np.pi) * q12 / d**1.5
    return None


def _closed2(name: str, q: np.ndarray, c: np.ndarray, a: int, b: int) -> np.ndarray | None:
    if a == b and a in (0, 1):
        return closed_pair(name, q, q, c, a)
    return None


def _closed_sqdiff(name: str, q: np.ndarray, c: np.ndarray) -> np.ndarray | None:
    if name == "linear":
        return 2.0 * q * (1.0 - c)
    if name == "relu":
        t = _angle(c)
        # pi - J(t) = pi (1 - cos t) + t cos t - sin t, with 1 - cos t = 2 sin^2(t/2)
        pij = 2.0 * np.pi * np.sin(t / 2.0) ** 2 + t * np.cos(t) - np.sin(t)
        return q / np.pi * pij
    if name == "erf":
        k = 2.0 * q / (1.0 + 2.0 * q)
        # asin(k) - asin(k c) without cancellation (valid for c >= 0)
        den = np.sqrt(1.0 - (k * c) ** 2) + c * np.sqrt(1.0 - k * k)
        with np.errstate(divide="ignore", invalid="ignore"):
            stable = np.arcsin(np.clip(k * (1.0 - c) * (1.0 + c) / den, -1.0, 1.0))
        direct = np.arcsin(k) - np.arcsin(k * c)
        return (4.0 / np.pi) * np.where(c >= 0.0, stable, direct)
    return None


def E1(act: Activation, q: Any, derivs: tuple, closed: bool = True, **quad: Any) -> np.ndarray:
    a, b = derivs
    for d in derivs:
        if d is not None:
            act.require(d, f"E[phi^({a}) phi^({b})]")
    if closed and act.builtin:
        r = _closed1(act.name, np.asarray(q, dtype=float), a, b)
        if r is not None:
            return r
    return np.asarray(expect(act, q, derivs, **quad))


def E2(act: Activation, q: Any, c: Any, derivs: tuple, closed: bool = True, **quad: Any):
    if closed and act.builtin:
        for d in derivs:
            act.require(d, "E[phi^(a)(u1) phi^(b)(u2)]")
        qa, ca = np.broadcast_arrays(np.asarray(q, float), np.asarray(c, float))
        r = _closed2(act.name, qa, ca, *derivs)
        if r is not None:
            return r
    return np.asarray(expect2(act, q, q, c, derivs, **quad))


def E2_sqdiff(act: Activation, q: Any, c: Any, closed: bool = True, **quad: Any):
    if closed and act.builtin:
        qa, ca = np.broadcast_arrays(np.asarray(q, float), np.asarray(c, float))
        r = _closed_sqdiff(act.name, qa, ca)
        if r is not None:
            return r
    return np.asarray(expect2_sqdiff(act, q, q, c, 0, **quad))
