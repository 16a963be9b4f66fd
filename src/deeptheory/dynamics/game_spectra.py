"""The linearised update maps of first-order methods on two-player games.

Around an equilibrium z* of a game (v(z*) = 0, J = Dv(z*), see :mod:`.games`) each method
of :mod:`.game_dynamics` is, to first order, a linear map z_{k+1} - z* = M (z_k - z*):

* :func:`update_jacobian`: I - eta J for simultaneous GD (Mescheder et al. 2017); the
  product of the two half-steps for alternating GD; I - eta J (I - eta J) for extragradient
  (Korpelevich 1976); the 2n x 2n matrix of optimistic GD (Daskalakis et al. 2018); and
  I - eta (J + lam A^T J) for symplectic gradient adjustment (Balduzzi et al. 2018).
* :func:`update_spectrum`: its eigenvalues and spectral radius (< 1: local convergence).
* On the bilinear game f = x^T A y the closed forms of Gidel et al. 2019
  :func:`bilinear_eigenvalues` (simultaneous 1 -+ i eta sigma, alternating determinant 1
  and trace 2 - eta^2 sigma^2, extragradient (1 - eta^2 sigma^2) -+ i eta sigma, optimistic
  the roots of mu^2 - (1 - 2 eta lambda) mu - eta lambda) and :func:`bilinear_regime`
  (diverges, cycles or converges).
* :func:`norm_growth_rate`: the rate read off a trajectory, to compare with the spectral
  radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int
from .games import _eta, _method, _scalar, _split, _square

__all__ = [
    "UpdateSpectrum",
    "bilinear_eigenvalues",
    "bilinear_regime",
    "norm_growth_rate",
    "update_jacobian",
    "update_spectrum",
]


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class UpdateSpectrum(Result):
    """Result of :func:`update_spectrum`.

    method, eta : as given.
    matrix : the linearised update (:func:`update_jacobian`).
    eigenvalues : its eigenvalues (complex), sorted by decreasing modulus.
    spectral_radius : max |eigenvalue|: < 1 converges locally, > 1 diverges.
    """

    method: str
    eta: float
    matrix: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: float


# ---------------------------------------------------------------- linear analysis


def update_jacobian(method: str, eta: float, J: Any, *, nx: int | None = None,
                    lam: float = 1.0) -> np.ndarray:
    """The Jacobian of one step of a game method at an equilibrium z* (v(z*) = 0), given
    the game Jacobian J = Dv(z*) (Gidel et al. 2019; Mescheder et al. 2017):

    * "simultaneous": I - eta J.
    * "alternating" (x moves first, then y at the new x): M2 M1 with
      M1 = [[I - eta J_xx, -eta J_xy], [0, I]] and M2 = [[I, 0], [-eta J_yx, I - eta J_yy]];
      ``nx`` is the size of x (default half of J's size).
    * "extragradient" (Korpelevich 1976): I - eta J (I - eta J).
    * "optimistic" (Daskalakis et al. 2018), z_{k+1} = z_k - 2 eta v(z_k) + eta v(z_{k-1}),
      on the stacked state (z_k, z_{k-1}): [[I - 2 eta J, eta J], [I, 0]], 2n x 2n.
    * "sga", descent on v + lam A^T v (Balduzzi et al. 2018): I - eta (J + lam A^T J),
      A = (J - J^T)/2 (the derivative of A^T at z* does not enter, since v(z*) = 0).
    """
    m = _method(method)
    e = _eta(eta)
    j = _square("J", J)
    n = j.shape[0]
    eye = np.eye(n)
    if m == "simultaneous":
        return eye - e * j
    if m == "extragradient":
        return eye - e * j @ (eye - e * j)
    if m == "optimistic":
        out = np.zeros((2 * n, 2 * n))
        out[:n, :n] = eye - 2.0 * e * j
        out[:n, n:] = e * j
        out[n:, :n] = eye
        return out
    if m == "sga":
        la = _scalar("lam", lam)
        a = 0.5 * (j - j.T)
        return eye - e * (j + la * a.T @ j)
    k = _split(n, nx)
    m1 = eye.copy()
    m1[:k, :] -= e * j[:k, :]
    m2 = eye.copy()
    m2[k:, :] -= e * j[k:, :]
    return m2 @ m1


def _sorted_eigs(w: np.ndarray) -> np.ndarray:
    order = np.lexsort((w.imag, w.real, -np.abs(w)))
    return w[order]


def update_spectrum(method: str, eta: float, J: Any, *, nx: int | None = None,
                    lam: float = 1.0) -> UpdateSpectrum:
    """Eigenvalues and spectral radius of :func:`update_jacobian` (numpy.linalg.eigvals).
    The method converges locally iff the spectral radius is < 1 (Mescheder et al. 2017)."""
    mat = update_jacobian(method, eta, J, nx=nx, lam=lam)
    w = _sorted_eigs(np.linalg.eigvals(mat).astype(complex))
    return UpdateSpectrum(method, _eta(eta), mat, w, float(np.max(np.abs(w))))


def _singular_values(a: Any) -> tuple[np.ndarray, int]:
    m = as_float("a", a)
    if m.ndim == 0:
        m = m.reshape(1, 1)
    if m.ndim != 2 or m.size < 1:
        raise ValueError(f"a must be a scalar or a non-empty matrix, got shape {m.shape}")
    s = np.linalg.svd(m, compute_uv=False)
    return s, abs(m.shape[0] - m.shape[1])


def bilinear_eigenvalues(method: str, eta: float, a: Any, *, lam: float = 1.0) -> np.ndarray:
    """Closed-form eigenvalues of the linearised update of a method on the bilinear game
    f(x, y) = x^T A y (``a`` a scalar or the (m, n) matrix A), for each singular value
    sigma of A, with c = eta sigma (Gidel et al. 2019; Daskalakis et al. 2018):

    * simultaneous: 1 -+ i c (modulus sqrt(1 + c^2) > 1: spirals out);
    * alternating: 1 - c^2/2 -+ i c sqrt(4 - c^2)/2 (determinant 1, trace 2 - c^2: on the
      unit circle for c < 2, cycles);
    * extragradient (Korpelevich 1976): (1 - c^2) -+ i c (modulus^2 1 - c^2 + c^4 < 1 for
      0 < c < 1);
    * optimistic: for each eigenvalue l = -+ i sigma of J, the two roots of
      mu^2 - (1 - 2 eta l) mu - eta l = 0, i.e. (1 -+ 2 i c +- sqrt(1 - 4 c^2))/2 (four per
      sigma; spectral radius < 1 iff 0 < c < 1/sqrt 3);
    * sga (Balduzzi et al. 2018): (1 - lam eta sigma^2) -+ i c.

    The |m - n| directions of J's kernel add eigenvalue 1 (and, for optimistic, 1 and 0).
    Complex array, blocks in order of the singular values (descending), kernel last.
    """
    m = _method(method)
    e = _eta(eta)
    s, extra = _singular_values(a)
    c = e * s
    if m == "simultaneous":
        pairs = [1.0 - 1j * c, 1.0 + 1j * c]
    elif m == "alternating":
        r = np.sqrt((1.0 - c * c / 2.0) ** 2 - 1.0 + 0j)
        pairs = [1.0 - c * c / 2.0 - r, 1.0 - c * c / 2.0 + r]
    elif m == "extragradient":
        pairs = [1.0 - c * c - 1j * c, 1.0 - c * c + 1j * c]
    elif m == "sga":
        la = _scalar("lam", lam)
        pairs = [1.0 - la * e * s * s - 1j * c, 1.0 - la * e * s * s + 1j * c]
    else:
        r = np.sqrt(1.0 - 4.0 * c * c + 0j)
        up = (1.0 - 2j * c + r) / 2.0, (1.0 - 2j * c - r) / 2.0
        pairs = [up[0], up[1], np.conj(up[0]), np.conj(up[1])]
    out = np.stack(pairs, axis=1).ravel()
    tail = [1.0, 0.0] if m == "optimistic" else [1.0]
    return np.concatenate([out, np.tile(np.array(tail, dtype=complex), extra)])


def bilinear_regime(method: str, eta: float, a: float, *, lam: float = 1.0) -> str:
    """Divergence, cycling or convergence of a method on the scalar bilinear game
    f = a x y, a != 0, with c = eta |a| (from :func:`bilinear_eigenvalues`):

    * simultaneous: "diverges" for every c > 0;
    * alternating: "cycles" for c < 2 (eigenvalues on the unit circle, bounded orbits),
      "diverges" for c >= 2 (c = 2: the double eigenvalue -1 has a Jordan block);
    * extragradient: "converges" for c < 1, "cycles" at c = 1, "diverges" beyond;
    * optimistic: "converges" for c < 1/sqrt 3, "cycles" at c = 1/sqrt 3, "diverges" beyond;
    * sga: "converges" iff lam > 0 and eta < 2 lam / (1 + lam^2 a^2) (then |1 - lam eta a^2
      -+ i c| < 1), "cycles" at equality, "diverges" otherwise.

    Exact comparisons: boundary cases are "cycles" only when c hits the threshold exactly.
    """
    m = _method(method)
    e = _eta(eta)
    av = _scalar("a", a)
    if av == 0.0:
        raise ValueError("a must be non-zero")
    c = e * abs(av)

    def cmp(val: float, limit: float) -> str:
        return "converges" if val < limit else ("cycles" if val == limit else "diverges")

    if m == "simultaneous":
        return "diverges"
    if m == "alternating":
        return "cycles" if c < 2.0 else "diverges"
    if m == "extragradient":
        return cmp(c, 1.0)
    if m == "optimistic":
        return cmp(c, 1.0 / math.sqrt(3.0))
    la = _scalar("lam", lam)
    if la <= 0.0:
        return "diverges"
    return cmp(e, 2.0 * la / (1.0 + la * la * av * av))


def norm_growth_rate(distance: Any, *, skip: int = 0) -> float:
    """The per-step growth rate r of |z_k - z*| ~ C e^{r k}: the least-squares slope of
    log |z_k - z*| against k over k >= ``skip``; compare with log of the spectral radius of
    :func:`update_jacobian` (exact on the bilinear game for simultaneous GD and extragradient,
    whose update matrices are normal; asymptotic otherwise, so skip a transient)."""
    d = as_float("distance", distance, lo=0.0)
    if d.ndim != 1:
        raise ValueError(f"distance must be 1-D, got shape {d.shape}")
    k0 = as_int("skip", skip, lo=0, hi=max(d.size - 2, 0))
    seg = d[k0:]
    if seg.size < 2:
        raise ValueError("distance needs at least 2 points after skip")
    if np.any(seg <= 0.0):
        raise ValueError("distance must be > 0 on the fitted range (the iterate hit z*)")
    k = np.arange(seg.size, dtype=float)
    return float(np.polyfit(k, np.log(seg), 1)[0])
