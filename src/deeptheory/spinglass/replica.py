"""Replica theory of the Sherrington-Kirkpatrick model: replica symmetry and the AT line.

Conventions (every function here and in :mod:`.parisi`):

* H(s) = -sum_{i<j} J_ij s_i s_j - h sum_i s_i, s_i = +-1, J_ij iid N(0, 1/N), so that
  E[H(s) H(s')] = (N/2) (s.s'/N)^2 + O(1) at h = 0 (Sherrington & Kirkpatrick 1975); T_c = 1.
* Quantities are per spin and in units of the coupling scale (k_B = 1): the free energy
  f = -(T/N) E log Z (so -beta f is the pressure p_N of the Gibbs measure), the internal energy
  u = E<H>/N (field term included) and the entropy s = beta (u - f), in nats.
* Above T_c (h = 0), -beta f = ln 2 + beta^2 / 4 (annealed = quenched); the ground-state
  energy is lim_{T -> 0} f = min H / N, negative.

The replica-symmetric solution (Sherrington & Kirkpatrick 1975) is :func:`sk_rs_free_energy`;
its stability, the replicon eigenvalue and the de Almeida & Thouless (1978) line, are
:func:`sk_replicon` and :func:`sk_at_temperature`.  Below the AT line replica symmetry is
broken: Parisi's (1979, 1980) k-step functional and its optimisation (1RSB, k-step RSB, the
ground-state energy) are in :mod:`.parisi`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from .._api import ConvergenceError, Result
from .._validation import as_float, as_int, broadcast, scalar_or_array

__all__ = [
    "SKRSResult",
    "sk_rs_free_energy",
    "sk_replicon",
    "sk_at_temperature",
    "SK_GROUND_STATE_RS",
]

#: replica-symmetric ground-state energy per spin, -sqrt(2/pi) (Sherrington & Kirkpatrick 1975)
SK_GROUND_STATE_RS = -float(np.sqrt(2.0 / np.pi))

_LN2 = float(np.log(2.0))
_ZMAX = 9.0          # Gaussian integrals are cut at 9 standard deviations (tail 2e-19)


# --------------------------------------------------------------------------- argument checks


def _check_T(T: Any, *, allow_zero: bool) -> np.ndarray:
    t = as_float("T", T)
    if allow_zero:
        if np.any(t < 0):
            raise ValueError(f"T must be >= 0 (T = 0 is the ground state), got min {t.min()}")
    elif np.any(t <= 0):
        raise ValueError(f"T must be > 0, got min {t.min()}")
    return t


def _check_tol(tol: Any, max_iter: Any) -> tuple[float, int]:
    tl = float(as_float("tol", tol))
    if not tl > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    return tl, as_int("max_iter", max_iter, lo=1)


def _scalar(name: str, v: Any) -> float:
    a = as_float(name, v)
    if a.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    return float(a)


# --------------------------------------------------------------------------- replica symmetry


def _z_grid(dz: float) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid nodes and weights for E f(z), z ~ N(0, 1), on [-9, 9] with spacing ~dz."""
    n = int(np.ceil(_ZMAX / dz))
    z = np.linspace(-_ZMAX, _ZMAX, 2 * n + 1)
    w = np.exp(-0.5 * z**2)
    return z, w / w.sum()


_GL_T, _GL_W = np.polynomial.legendre.leggauss(12)


def _kink_nodes(beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [-18/beta, 18/beta], panels of width 2/beta, split at y = 0.

    For functions of beta y that decay like exp(-2 beta |y|) (sech^2, ln(1 + e^{-2 beta |y|}),
    ...) and are analytic within pi / (2 beta) of each half-line: errors ~1e-13, truncation
    below e^{-36}.
    """
    edges = (2.0 / beta) * np.arange(10)
    mid = 0.5 * (edges[1:] + edges[:-1])
    yp = (mid[:, None] + _GL_T[None, :] / beta).ravel()
    wp = np.tile(_GL_W / beta, mid.size)
    return np.concatenate([-yp[::-1], yp]), np.concatenate([wp[::-1], wp])


def _rs_moments(beta: float, q: float, h: float) -> tuple[float, ...]:
    """E tanh^2, E sech^2, E tanh, E ln cosh / beta and E sech^4 of beta y, y ~ N(h, q).

    For beta sqrt(q) >= 3 (sharp steps) the smooth parts are exact (|y|, sign y) and the rest,
    localised within ~1/beta of y = 0, is integrated on :func:`_kink_nodes`; otherwise a
    trapezoid sum in z with spacing min(0.05, 0.28 / (beta sqrt(q))) (the integrands are
    analytic in a strip of half-width pi / (2 beta sqrt(q)): errors < 1e-15).
    """
    sig = np.sqrt(q)
    if beta * sig < 3.0:
        z, w = _z_grid(min(0.05, 0.28 / max(beta * sig, 1e-300)))
        y = beta * (sig * z + h)
        ay = np.abs(y)
        sech2 = 1.0 / np.cosh(np.minimum(ay, 350.0)) ** 2
        lc = (ay + np.log1p(np.exp(-2.0 * ay)) - _LN2) / beta
        th = np.tanh(y)
        return (float(w @ th**2), float(w @ sech2), float(w @ th), float(w @ lc),
                float(w @ sech2**2))
    y, wy = _kink_nodes(beta)
    W = wy * np.exp(-0.5 * ((y - h) / sig) ** 2) / (sig * np.sqrt(2.0 * np.pi))
    ay = beta * np.abs(y)
    e2 = np.exp(-2.0 * ay)
    sech2 = 4.0 * e2 / (1.0 + e2) ** 2
    m_step = 1.0 - 2.0 * ndtr(-h / sig)           # E sign(y)
    e_abs = sig * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * (h / sig) ** 2) + h * m_step
    mag = m_step - float(W @ (np.sign(y) * 2.0 * e2 / (1.0 + e2)))
    lc = e_abs - _LN2 / beta + float(W @ np.log1p(e2)) / beta
    s2 = float(W @ sech2)
    return 1.0 - s2, s2, mag, lc, float(W @ sech2**2)


@dataclass(frozen=True)
class SKRSResult(Result):
    """Replica-symmetric SK solution (Sherrington & Kirkpatrick 1975), per spin.

    ``f`` free energy, ``q`` Edwards-Anderson overlap, ``magnetization`` E tanh(beta H),
    ``energy`` internal energy u (field term included), ``entropy`` s = beta (u - f), and
    ``replicon`` 1 - beta^2 E sech^4 (de Almeida & Thouless 1978; < 0 means RS is unstable).
    Arrays broadcast over (T, h).
    """

    f: np.ndarray | float
    q: np.ndarray | float
    magnetization: np.ndarray | float
    energy: np.ndarray | float
    entropy: np.ndarray | float
    replicon: np.ndarray | float


def _rs_scalar(T: float, h: float, tol: float, max_iter: int) -> tuple[float, ...]:
    """Solve q = E tanh^2(beta (sqrt(q) z + h)) and evaluate the RS thermodynamics."""
    if T == 0.0:
        # beta -> inf: q -> 1, tanh -> sign, ln cosh(beta y) / beta -> |y|
        e = -(np.sqrt(2.0 / np.pi) * np.exp(-0.5 * h * h) + h * (1.0 - 2.0 * ndtr(-h)))
        # entropy -C^2/4 with C = lim beta (1 - q) = sqrt(2/pi) exp(-h^2/2): negative (RS fails)
        mag = 1.0 - 2.0 * ndtr(-h)
        return e, 1.0, mag, e, -np.exp(-h * h) / (2.0 * np.pi), -np.inf
    beta = 1.0 / T

    # q -> E tanh^2 is increasing and concave for q > 0: from q = 1 the iteration descends
    # monotonically onto the largest (physical) fixed point.  The small one of q and w = 1 - q
    # is carried exactly (E tanh^2 and E sech^2 are both computed directly); the stopping rule
    # is |dq| <= tol, relative to 1 - q when q > 1/2 (low T).
    def step(v: float, upper: bool) -> float:     # the map in the variable v = w or q
        t2, s2 = _rs_moments(beta, 1.0 - v if upper else v, h)[:2]
        return s2 if upper else t2

    v, upper = 0.0, True
    if h == 0.0 and T >= 1.0:
        # E tanh^2(beta sqrt(q) z) < beta^2 q for q > 0: q = 0 is the only fixed point for
        # beta <= 1 (at T = 1 the iteration would approach it only algebraically)
        v, upper = 0.0, False
    else:
        for _ in range(max_iter):
            v_new = step(v, upper)
            if abs(v_new - v) <= tol * (min(1.0, 2.0 * v_new) if upper else 1.0):
                v = v_new
                break
            # secant-type acceleration of the slow (near-critical) linear convergence
            g_new = step(v_new, upper)
            slope = (g_new - v_new) / (v_new - v) if v_new != v else 0.0
            v = v_new + (g_new - v_new) / (1.0 - slope) if 0.0 <= slope < 1.0 else v_new
            v = min(max(v, 0.0), 1.0)
            if upper and v > 0.5:
                v, upper = 1.0 - v, False
            if not upper and v == 0.0:   # the paramagnet
                break
        else:
            raise ConvergenceError(
                f"sk_rs_free_energy: q = E tanh^2 did not converge to tol={tol:g} in "
                f"max_iter={max_iter} iterations (T={T:g}, h={h:g}, last q="
                f"{1.0 - v if upper else v!r})")
    q = 1.0 - v if upper else v
    t2, one_q, mag, lc, s4 = _rs_moments(beta, q, h)
    f = -T * _LN2 - beta * one_q**2 / 4.0 - lc
    energy = -beta / 2.0 * one_q * (1.0 + q) - h * mag
    replicon = 1.0 - beta**2 * s4
    return f, q, mag, energy, beta * (energy - f), replicon


def sk_rs_free_energy(T: Any, h: Any = 0.0, *, tol: float = 1e-13, max_iter: int = 10_000
                      ) -> SKRSResult:
    """Replica-symmetric free energy of the SK model (Sherrington & Kirkpatrick 1975).

        -beta f_RS = ln 2 + beta^2 (1 - q)^2 / 4 + E ln cosh(beta (sqrt(q) z + h)),
        q = E tanh^2(beta (sqrt(q) z + h)),   z ~ N(0, 1),

    per spin, J_ij ~ N(0, 1/N), H = -sum_{i<j} J_ij s_i s_j - h sum_i s_i (module docstring).
    Returns :class:`SKRSResult` with f, q, the magnetization, the energy
    u = -(beta/2)(1 - q^2) - h m, the entropy s = beta (u - f) and the de Almeida & Thouless
    (1978) replicon eigenvalue.  RS is exact above the AT line (h = 0: T >= 1, where q = 0 and
    -beta f = ln 2 + beta^2/4) and wrong below it (its T = 0 energy at h = 0 is
    -sqrt(2/pi) = -0.79788 and its entropy there is negative, -exp(-h^2) / (2 pi)).

    ``T`` >= 0 and ``h`` (finite) broadcast (T = 0 gives the zero-temperature limit).  The
    fixed point is iterated from q = 1 (monotone descent onto the largest root), accelerated,
    until |dq| <= ``tol``; :class:`deeptheory.ConvergenceError` after ``max_iter`` iterations.
    Gaussian averages: trapezoid sums in z, or, once beta sqrt(q) >= 3, exact step parts plus
    Gauss-Legendre panels near the step (accurate to ~1e-13 at any T, so the entropy
    beta (u - f) to ~1e-13 / T).
    """
    tl, mi = _check_tol(tol, max_iter)
    tt, hh = broadcast(T=_check_T(T, allow_zero=True), h=as_float("h", h))
    out = np.array([_rs_scalar(float(a), abs(float(b)), tl, mi)
                    for a, b in zip(tt.ravel(), hh.ravel(), strict=True)])
    out = out.reshape(*tt.shape, 6)
    sign = np.sign(hh) + (hh == 0)
    vals = [out[..., i] for i in range(6)]
    vals[2] = vals[2] * sign
    return SKRSResult(*(scalar_or_array(v) for v in vals))


def sk_replicon(T: Any, h: Any = 0.0, *, tol: float = 1e-13, max_iter: int = 10_000
                ) -> np.ndarray | float:
    """de Almeida-Thouless replicon eigenvalue 1 - beta^2 E sech^4(beta (sqrt(q) z + h)) of RS.

    de Almeida & Thouless 1978: the replica-symmetric SK solution (:func:`sk_rs_free_energy`,
    same conventions) is stable while this is > 0; it vanishes on the AT line and is
    1 - beta^2 > 0 above T_c = 1 at h = 0.  ``T`` > 0 and ``h`` broadcast.
    """
    _check_T(T, allow_zero=False)
    return sk_rs_free_energy(T, h, tol=tol, max_iter=max_iter).replicon


def _at_scalar(h: float, tol: float, max_iter: int) -> float:
    if h == 0.0:
        return 1.0

    def g(T: float) -> float:
        return float(sk_rs_free_energy(T, h, tol=1e-14, max_iter=max_iter).replicon)

    hi, lo = 1.0, 1e-3
    while g(lo) >= 0:  # large fields: T_AT ~ (4/3) phi(h) -> 0
        hi, lo = lo, lo * 1e-3
        if lo < 1e-30:
            raise ValueError(f"h = {h} is too large: T_AT(h) < 1e-30")
    T, res = brentq(g, lo, hi, xtol=min(tol, 1e-3 * lo), maxiter=max_iter, full_output=True,
                    disp=False)
    if not res.converged:
        raise ConvergenceError(
            f"sk_at_temperature: Brent's method did not reach tol={tol:g} in {max_iter} "
            f"iterations (h={h:g})")
    return float(T)


def sk_at_temperature(h: Any, *, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray | float:
    """Temperature T_AT(h) of the de Almeida-Thouless line of the SK model.

    de Almeida & Thouless 1978: beta^2 E sech^4(beta (sqrt(q) z + h)) = 1 with q the
    replica-symmetric overlap (:func:`sk_rs_free_energy`); below T_AT(h) replica symmetry is
    broken (Parisi 1979).  T_AT(0) = 1 and T_AT(h) ~ 1 - (3/4)^{1/3} h^{2/3} for small h.
    For large h, T_AT ~ (4/3) phi(h) (phi the normal density) becomes tiny.  Units: J_ij ~
    N(0, 1/N), field h per spin.  ``h`` finite (array ok; only |h| matters; ValueError where
    T_AT < 1e-30); Brent's method in T to ``tol``, :class:`deeptheory.ConvergenceError` after
    ``max_iter`` iterations.
    """
    tl, mi = _check_tol(tol, max_iter)
    hh = np.abs(as_float("h", h))
    out = np.array([_at_scalar(float(b), tl, mi) for b in hh.ravel()]).reshape(hh.shape)
    return scalar_or_array(out)
