"""Two-player differentiable games as dynamical systems: GAN training in miniature.

A game min_x max_y f(x, y) is played through its simultaneous gradient field

    v(x, y) = (grad_x f, -grad_y f),    J = Dv (the game Jacobian),

and a first-order method is a discrete map z_{k+1} = F(z_k) with z = (x, y).

* Iterations (:func:`simultaneous_gd`, :func:`alternating_gd`, :func:`extragradient`
  (Korpelevich 1976), :func:`optimistic_gd` (Daskalakis et al. 2018), :func:`sga_gd`
  (Balduzzi et al. 2018)) return a :class:`GameTrajectory`; a non-finite field value stops
  with a ValueError naming the iteration, an iterate leaving ``max_norm`` is a divergence
  (:class:`~deeptheory.ConvergenceError` by default).
* Linear analysis around an equilibrium: :func:`update_jacobian` (I - eta J; the product
  of the two half-steps; I - eta J (I - eta J); the 2n x 2n optimistic matrix),
  :func:`update_spectrum`, and on the bilinear game f = x^T A y the closed forms
  :func:`bilinear_eigenvalues` (simultaneous 1 -+ i eta sigma, alternating determinant 1 and
  trace 2 - eta^2 sigma^2, extragradient (1 - eta^2 sigma^2) -+ i eta sigma, optimistic the
  roots of mu^2 - (1 - 2 eta lambda) mu - eta lambda), :func:`bilinear_regime`, the
  quantity conserved by alternating GD :func:`alternating_invariant`, and
  :func:`norm_growth_rate` to read the rate off a trajectory.
* The Dirac-GAN of Mescheder et al. 2018 (:class:`DiracGAN`): f(theta, psi) = h(psi theta)
  + h(0), its field, Jacobian, and the closed-form equilibrium eigenvalues with an R1
  gradient penalty and instance noise (:func:`dirac_gan_eigenvalues`).
* The potential/Hamiltonian split of Balduzzi et al. 2018: :func:`decompose_jacobian`,
  :func:`symplectic_gradient_adjustment`, :func:`sga_alignment_sign`.
* :func:`game_trajectories`: the trajectories behind a figure of the methods on both games.

Sign convention: every method descends v (x descends f, y ascends it); an equilibrium is
stable for the gradient flow z' = -v(z) when the eigenvalues of J have positive real part.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .._api import Result, check_on_fail, report_nonconvergence
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int

__all__ = [
    "BilinearGame",
    "DiracGAN",
    "GameFigureData",
    "GameTrajectory",
    "JacobianDecomposition",
    "UpdateSpectrum",
    "alternating_gd",
    "alternating_invariant",
    "bilinear_eigenvalues",
    "bilinear_regime",
    "decompose_jacobian",
    "dirac_gan_eigenvalues",
    "extragradient",
    "game_trajectories",
    "norm_growth_rate",
    "numerical_jacobian",
    "optimistic_gd",
    "sga_alignment_sign",
    "sga_gd",
    "simultaneous_gd",
    "symplectic_gradient_adjustment",
    "update_jacobian",
    "update_spectrum",
]

#: methods known to :func:`update_jacobian` and the iterations
METHODS = ("simultaneous", "alternating", "extragradient", "optimistic", "sga")
#: default bound on |z - z*| beyond which an iteration counts as diverged
MAX_NORM = 1e10

Field = Callable[[np.ndarray, np.ndarray], Any]


# ---------------------------------------------------------------- validation


def _eta(eta: Any) -> float:
    e = as_float("eta", eta)
    if e.ndim:
        raise ValueError(f"eta must be a scalar, got shape {e.shape}")
    if not e > 0.0:
        raise ValueError(f"eta must be > 0, got {float(e)}")
    return float(e)


def _scalar(name: str, v: Any) -> float:
    a = as_float(name, v)
    if a.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    return float(a)


def _square(name: str, m: Any) -> np.ndarray:
    a = as_float(name, m)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {a.shape}")
    return a


def _vector(name: str, v: Any) -> np.ndarray:
    a = as_float(name, v)
    if a.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {a.shape}")
    a = np.atleast_1d(a).copy()
    if a.size < 1:
        raise ValueError(f"{name} must not be empty")
    return a


def _method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _split(n: int, nx: Any) -> int:
    if nx is None:
        if n % 2:
            raise ValueError(f"nx (the size of x) is required when J has odd size {n}")
        return n // 2
    return as_int("nx", nx, lo=1, hi=n - 1)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class GameTrajectory(Result):
    """Result of the game iterations (:func:`simultaneous_gd` and the others).

    method : the method's name.
    eta : the step size.
    x : (n + 1, dx) iterates of the minimising player, x[0] = x0.
    y : (n + 1, dy) iterates of the maximising player.
    distance : (n + 1,) |(x_k, y_k) - (x*, y*)| to the reference point ``equilibrium``.
    n_field_evals : number of evaluations of the field (extragradient: 2 per step).
    diverged_at : the iteration at which the iterate left ``max_norm`` (or became
        non-finite); the arrays stop just before it.  None when it did not.
    """

    method: str
    eta: float
    x: np.ndarray
    y: np.ndarray
    distance: np.ndarray
    n_field_evals: int
    diverged_at: int | None = None

    @property
    def z(self) -> np.ndarray:
        """(n + 1, dx + dy) the joint iterates (x_k, y_k)."""
        return np.concatenate([self.x, self.y], axis=1)


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


@dataclass(frozen=True)
class JacobianDecomposition(Result):
    """Result of :func:`decompose_jacobian`: J = S + A.

    symmetric : S = (J + J^T)/2, the potential part.
    antisymmetric : A = (J - J^T)/2, the Hamiltonian part.
    """

    symmetric: np.ndarray
    antisymmetric: np.ndarray


# ---------------------------------------------------------------- games


class BilinearGame:
    """The bilinear game f(x, y) = x^T A y (a scalar ``a`` means f = a x y), the model
    problem of Gidel et al. 2019 and Daskalakis et al. 2018.

    field(x, y) = (A y, -A^T x); jacobian() = [[0, A], [-A^T, 0]] (antisymmetric: a purely
    Hamiltonian game in the sense of Balduzzi et al. 2018); the equilibrium is z = 0.
    """

    def __init__(self, a: Any):
        m = as_float("a", a)
        if m.ndim == 0:
            m = m.reshape(1, 1)
        if m.ndim != 2 or m.size < 1:
            raise ValueError(f"a must be a scalar or a non-empty matrix, got shape {m.shape}")
        self.A = m
        self.dx, self.dy = m.shape

    def __repr__(self) -> str:
        return f"BilinearGame(A with shape {self.A.shape})"

    def _xy(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        xv, yv = _vector("x", x), _vector("y", y)
        if xv.size != self.dx or yv.size != self.dy:
            raise ValueError(f"x and y must have sizes {self.dx} and {self.dy}, "
                             f"got {xv.size} and {yv.size}")
        return xv, yv

    def value(self, x: Any, y: Any) -> float:
        """f(x, y) = x^T A y."""
        xv, yv = self._xy(x, y)
        return float(xv @ self.A @ yv)

    def field(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """v(x, y) = (A y, -A^T x)."""
        xv, yv = self._xy(x, y)
        return self.A @ yv, -(self.A.T @ xv)

    def jacobian(self, x: Any = None, y: Any = None) -> np.ndarray:
        """J = [[0, A], [-A^T, 0]] (the same at every point)."""
        dx, dy = self.dx, self.dy
        j = np.zeros((dx + dy, dx + dy))
        j[:dx, dx:] = self.A
        j[dx:, :dx] = -self.A.T
        return j

    def invariant(self, x: Any, y: Any, eta: Any) -> float:
        """The quantity conserved by alternating GD (:func:`alternating_invariant`)."""
        return alternating_invariant(x, y, eta, self.A)


_LOSSES = ("gan", "wgan")
#: Gauss-Hermite nodes for the instance-noise expectations of the Dirac-GAN
N_QUAD = 48


@dataclass(frozen=True)
class DiracGAN:
    """The Dirac-GAN of Mescheder et al. 2018 ("Which training methods for GANs do actually
    converge?"): data p_D = delta_0, generator p_theta = delta_theta, discriminator
    D_psi(x) = psi x, and the objective (the generator theta minimises, psi maximises)

        f(theta, psi) = E h(psi (theta + e)) + E h(-psi e') - (gamma/2) psi^2,

    h(t) = -log(1 + e^{-t}) for ``loss="gan"`` and h(t) = t for ``loss="wgan"``; e, e' ~
    N(0, noise_std^2) are instance noise (absent by default, then f = h(psi theta) + h(0));
    gamma >= 0 is the R1 gradient penalty (gamma/2) E_{p_D} |grad_x D_psi|^2 = (gamma/2)
    psi^2 (R2 is the same here).  The unique equilibrium is (theta, psi) = (0, 0), with
    Jacobian [[0, h'(0)], [-h'(0), gamma - 2 h''(0) noise_std^2]]
    (:func:`dirac_gan_eigenvalues`).  Expectations over the noise use ``n_quad``-point
    Gauss-Hermite quadrature (exact for sigma = 0).
    """

    loss: str = "gan"
    gamma: float = 0.0
    noise_std: float = 0.0
    n_quad: int = N_QUAD

    def __post_init__(self) -> None:
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}")
        object.__setattr__(self, "gamma", float(as_float("gamma", self.gamma, lo=0.0)))
        object.__setattr__(self, "noise_std",
                           float(as_float("noise_std", self.noise_std, lo=0.0)))
        object.__setattr__(self, "n_quad", as_int("n_quad", self.n_quad, lo=1, hi=200))
        if self.noise_std > 0.0:
            nodes, w = np.polynomial.hermite_e.hermegauss(self.n_quad)
            w = w / w.sum()
        else:
            nodes, w = np.zeros(1), np.ones(1)
        object.__setattr__(self, "_nodes", self.noise_std * nodes)
        object.__setattr__(self, "_weights", w)

    # h and its derivatives
    def _h(self, t: np.ndarray, k: int) -> np.ndarray:
        if self.loss == "wgan":
            return t if k == 0 else (np.ones_like(t) if k == 1 else np.zeros_like(t))
        if k == 0:
            return -np.logaddexp(0.0, -t)
        if k == 1:
            return expit(-t)
        return -expit(t) * expit(-t)

    def _args(self, theta: Any, psi: Any) -> tuple[np.ndarray, np.ndarray]:
        th, ps = as_float("theta", theta), as_float("psi", psi)
        try:
            th, ps = np.broadcast_arrays(th, ps)
        except ValueError:
            raise ValueError(f"theta and psi do not broadcast: shapes {th.shape}, "
                             f"{ps.shape}") from None
        return th[..., None], ps[..., None]

    def _e(self, a: np.ndarray) -> np.ndarray:
        return a @ self._weights

    def value(self, theta: Any, psi: Any) -> np.ndarray:
        """f(theta, psi), elementwise over broadcast theta, psi."""
        th, ps = self._args(theta, psi)
        e = self._nodes
        u = th + e
        val = self._e(self._h(ps * u, 0) + self._h(-ps * e, 0)) - 0.5 * self.gamma * ps[..., 0] ** 2
        return val

    def field(self, theta: Any, psi: Any) -> tuple[np.ndarray, np.ndarray]:
        """v = (df/dtheta, -df/dpsi): (psi E h'(psi u), -E[u h'(psi u)] + E[e h'(-psi e)]
        + gamma psi), u = theta + e."""
        th, ps = self._args(theta, psi)
        e = self._nodes
        u = th + e
        h1 = self._h(ps * u, 1)
        v_th = ps[..., 0] * self._e(h1)
        v_ps = -self._e(h1 * u) + self._e(e * self._h(-ps * e, 1)) + self.gamma * ps[..., 0]
        return v_th, v_ps

    def jacobian(self, theta: Any, psi: Any) -> np.ndarray:
        """(..., 2, 2) the Jacobian of :meth:`field` at (theta, psi), analytic."""
        th, ps = self._args(theta, psi)
        e = self._nodes
        u = th + e
        h1, h2 = self._h(ps * u, 1), self._h(ps * u, 2)
        p = ps[..., 0]
        g1, gu, gu2 = self._e(h1), self._e(h2 * u), self._e(h2 * u * u)
        j = np.empty(p.shape + (2, 2))
        j[..., 0, 0] = p * p * self._e(h2)
        j[..., 0, 1] = g1 + p * gu
        j[..., 1, 0] = -(g1 + p * gu)
        j[..., 1, 1] = -gu2 - self._e(e * e * self._h(-ps * e, 2)) + self.gamma
        return j

    def equilibrium_jacobian(self) -> np.ndarray:
        """[[0, h'(0)], [-h'(0), gamma - 2 h''(0) sigma^2]], closed form (Mescheder et al.
        2018; h'(0) = 1/2, h''(0) = -1/4 for the GAN loss, 1 and 0 for WGAN)."""
        d1, d2 = _h_at_zero(self.loss)
        return np.array([[0.0, d1], [-d1, self.gamma - 2.0 * d2 * self.noise_std ** 2]])

    def equilibrium_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of :meth:`equilibrium_jacobian` (:func:`dirac_gan_eigenvalues`)."""
        return dirac_gan_eigenvalues(self.loss, gamma=self.gamma, noise_std=self.noise_std)


def _h_at_zero(loss: str) -> tuple[float, float]:
    if loss == "gan":
        return 0.5, -0.25
    if loss == "wgan":
        return 1.0, 0.0
    raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")


def dirac_gan_eigenvalues(loss: str = "gan", *, gamma: float = 0.0,
                          noise_std: float = 0.0) -> np.ndarray:
    """Eigenvalues of the Dirac-GAN's game Jacobian at its equilibrium (Mescheder et al.
    2018; here in the sign convention v = (df/dtheta, -df/dpsi)):

        lambda = tau/2 -+ sqrt(tau^2/4 - h'(0)^2),    tau = gamma - 2 h''(0) sigma^2,

    so without regularisation lambda = -+ i h'(0) (purely imaginary: gradient descent
    cannot converge), with the R1 penalty gamma/2 -+ sqrt(gamma^2/4 - h'(0)^2), with
    instance noise -h''(0) sigma^2 -+ sqrt(h''(0)^2 sigma^4 - h'(0)^2) (positive real part
    for the GAN loss, h'' < 0; none for WGAN, h'' = 0).  Returned as a complex (2,) array,
    the '-' root first.
    """
    d1, d2 = _h_at_zero(loss)
    g = float(as_float("gamma", gamma, lo=0.0))
    s = float(as_float("noise_std", noise_std, lo=0.0))
    tau = g - 2.0 * d2 * s * s
    r = np.sqrt(complex(tau * tau / 4.0 - d1 * d1))
    return np.array([tau / 2.0 - r, tau / 2.0 + r])


# ---------------------------------------------------------------- linear analysis


def numerical_jacobian(field: Field, x: Any, y: Any, *, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of a game field v(x, y) = (v_x, v_y) at (x, y): column j
    is (v(z + h e_j) - v(z - h e_j)) / (2h), error O(h^2) (the game Jacobian J = Dv of
    Balduzzi et al. 2018).  Returns (dx + dy, dx + dy)."""
    xv, yv = _vector("x", x), _vector("y", y)
    hh = _scalar("h", h)
    if hh <= 0.0:
        raise ValueError(f"h must be > 0, got {hh}")
    dx = xv.size
    z = np.concatenate([xv, yv])
    n = z.size
    jac = np.empty((n, n))
    for j in range(n):
        cols = []
        for sgn in (1.0, -1.0):
            zz = z.copy()
            zz[j] += sgn * hh
            vx, vy = _check_out(field(zz[:dx], zz[dx:]), xv, yv, "numerical_jacobian",
                                None)
            cols.append(np.concatenate([vx, vy]))
        jac[:, j] = (cols[0] - cols[1]) / (2.0 * hh)
    return jac


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


def alternating_invariant(x: Any, y: Any, eta: float, a: Any) -> np.ndarray | float:
    """The quantity conserved exactly by alternating GD on f = x^T A y (x moves first):

        Q(x, y) = |x|^2 + |y|^2 - eta x^T A y.

    Proof: with x' = x - eta A y and y' = y + eta A^T x',
    Q(x', y') = |x'|^2 + |y|^2 + eta x'^T A y = x'^T x + |y|^2 = Q(x, y).  Q is positive
    definite iff eta sigma_max(A) < 2, so the orbits are bounded (ellipses for a scalar a),
    the cycling of Gidel et al. 2019 and Bailey et al. 2020.  ``x``, ``y`` may carry leading
    batch axes ((..., m), (..., n)), e.g. a whole trajectory; a scalar ``a`` means A = [[a]].
    """
    e = _eta(eta)
    m = as_float("a", a)
    if m.ndim == 0:
        m = m.reshape(1, 1)
    if m.ndim != 2:
        raise ValueError(f"a must be a scalar or a matrix, got shape {m.shape}")
    xv, yv = as_float("x", x), as_float("y", y)
    if m.shape == (1, 1) and xv.ndim == 0:
        xv, yv = xv[..., None], yv[..., None]
    if xv.shape[-1:] != (m.shape[0],) or yv.shape[-1:] != (m.shape[1],):
        raise ValueError(f"x and y must end in sizes {m.shape[0]} and {m.shape[1]}, got "
                         f"shapes {xv.shape} and {yv.shape}")
    q = (xv * xv).sum(-1) + (yv * yv).sum(-1) - e * np.einsum("...i,ij,...j->...", xv, m, yv)
    return q if np.ndim(q) else float(q)


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


# ---------------------------------------------------------------- Hamiltonian / potential


def decompose_jacobian(J: Any) -> JacobianDecomposition:
    """J = S + A with S = (J + J^T)/2 symmetric (the potential part) and A = (J - J^T)/2
    antisymmetric (the Hamiltonian part) (Balduzzi et al. 2018, "The mechanics of n-player
    differentiable games").  A = 0 everywhere means v is a gradient field (a potential
    game); S = 0 everywhere means a Hamiltonian game, whose flow z' = -v conserves
    H = |v|^2/2.  A bilinear game is purely Hamiltonian, a single loss purely potential."""
    j = _square("J", J)
    return JacobianDecomposition(0.5 * (j + j.T), 0.5 * (j - j.T))


def _v_and_j(v: Any, J: Any) -> tuple[np.ndarray, np.ndarray]:
    vv = _vector("v", v)
    j = _square("J", J)
    if j.shape[0] != vv.size:
        raise ValueError(f"J must be ({vv.size}, {vv.size}) to match v, got {j.shape}")
    return vv, j


def symplectic_gradient_adjustment(v: Any, J: Any, lam: float = 1.0) -> np.ndarray:
    """The adjusted field v_lam = v + lam A^T v, A = (J - J^T)/2 (Balduzzi et al. 2018,
    symplectic gradient adjustment).  On a Hamiltonian game (S = 0) A^T v = grad of
    H = |v|^2/2, so SGA mixes in gradient descent on H; on the bilinear game f = a x y one
    step is z - eta (J + lam a^2 I) z, which converges for 0 < eta < 2 lam / (1 + lam^2 a^2)
    where simultaneous GD diverges (:func:`bilinear_regime`)."""
    vv, j = _v_and_j(v, J)
    la = _scalar("lam", lam)
    a = 0.5 * (j - j.T)
    return vv + la * (a.T @ vv)


def sga_alignment_sign(v: Any, J: Any, *, eps: float = 0.1) -> float:
    """The sign rule for lam in symplectic gradient adjustment (Balduzzi et al. 2018,
    Algorithm 1): with grad H = J^T v (H = |v|^2/2) and d = len(v),

        lam = sign( <v, grad H> <A^T v, grad H> / d + eps ),

    eps = 1/10 in the paper (it breaks the tie <v, grad H> = 0 of Hamiltonian games toward
    lam > 0).  With eps = 0 the rule makes <v_lam, grad H> keep the sign of <v, grad H> and
    grow in magnitude: the adjusted step is pulled harder toward a stable equilibrium
    (<v, grad H> = v^T S v > 0 nearby) and pushed harder away from an unstable one.
    Returns +1.0 or -1.0 (+1.0 when the argument is exactly 0)."""
    vv, j = _v_and_j(v, J)
    ee = _scalar("eps", eps)
    a = 0.5 * (j - j.T)
    gh = j.T @ vv
    val = float(vv @ gh) * float((a.T @ vv) @ gh) / vv.size + ee
    return -1.0 if val < 0.0 else 1.0


# ---------------------------------------------------------------- iterations


def _check_out(out: Any, x: np.ndarray, y: np.ndarray, method: str,
               k: int | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        vx, vy = out
    except (TypeError, ValueError):
        raise TypeError(f"field must return a pair (v_x, v_y), got {type(out).__name__}") \
            from None
    try:
        vx = np.asarray(vx, dtype=float)
        vy = np.asarray(vy, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("field must return real numbers") from None
    if vx.size != x.size or vy.size != y.size:
        raise ValueError(f"field returned sizes {vx.size}, {vy.size}; expected {x.size} "
                         f"(x) and {y.size} (y)")
    vx, vy = vx.reshape(x.shape), vy.reshape(y.shape)
    if not (np.all(np.isfinite(vx)) and np.all(np.isfinite(vy))):
        where = "" if k is None else f" at iteration {k}"
        raise ValueError(f"{method}: the field returned non-finite values{where} "
                         f"(x = {x}, y = {y})")
    return vx, vy


#: the public function of each method (the desc of its progress bar)
_FUNCTION = {"simultaneous": "simultaneous_gd", "alternating": "alternating_gd",
             "extragradient": "extragradient", "optimistic": "optimistic_gd", "sga": "sga_gd"}


class _Runner:
    """Shared bookkeeping: the field with checks, the trajectory, divergence, the bar."""

    def __init__(self, method: str, field: Any, x0: Any, y0: Any, eta: Any, n_steps: Any,
                 equilibrium: Any, max_norm: Any, on_fail: Any, progress: Any = False):
        if not callable(field):
            raise TypeError(f"field must be callable, got {type(field).__name__}")
        self.method = method
        self.field = field
        self.x0, self.y0 = _vector("x0", x0), _vector("y0", y0)
        self.eta = _eta(eta)
        self.n = as_int("n_steps", n_steps, lo=0)
        self.mx = math.inf if max_norm == math.inf else _scalar("max_norm", max_norm)
        if not self.mx > 0.0:
            raise ValueError(f"max_norm must be > 0 (or inf), got {self.mx}")
        self.on_fail = check_on_fail(on_fail)
        self.progress = check_progress(progress)
        dx, dy = self.x0.size, self.y0.size
        if equilibrium is None:
            self.zs = np.zeros(dx + dy)
        else:
            xs, ys = equilibrium
            xs, ys = _vector("equilibrium[0]", xs), _vector("equilibrium[1]", ys)
            if xs.size != dx or ys.size != dy:
                raise ValueError(f"equilibrium must have sizes {dx} and {dy}, got "
                                 f"{xs.size} and {ys.size}")
            self.zs = np.concatenate([xs, ys])
        self.xs = np.empty((self.n + 1, dx))
        self.ys = np.empty((self.n + 1, dy))
        self.xs[0], self.ys[0] = self.x0, self.y0
        self.evals = 0
        self.diverged: int | None = None
        self.k = 0  # index of the iterate a step starts from

    def v(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.evals += 1
        return _check_out(self.field(x, y), x, y, self.method, self.k)

    def push(self, x: np.ndarray, y: np.ndarray) -> bool:
        """Store iterate k + 1; False (and report) when it diverged."""
        k1 = self.k + 1
        z = np.concatenate([x, y])
        dist = float(np.linalg.norm(z - self.zs)) if np.all(np.isfinite(z)) else math.inf
        if not (dist <= self.mx and math.isfinite(dist)):
            self.diverged = k1
            report_nonconvergence(
                f"{self.method}: the iterate diverged at iteration {k1} (|z - z*| = {dist:.3g}"
                f" > max_norm = {self.mx:.3g}, eta = {self.eta})", self.on_fail, stacklevel=5)
            return False
        self.xs[k1], self.ys[k1] = x, y
        self.k = k1
        return True

    def run(self, step: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
            ) -> GameTrajectory:
        x, y = self.x0, self.y0
        with (np.errstate(over="ignore", invalid="ignore"),
              progress_bar(self.n, _FUNCTION[self.method], self.progress, unit="step") as bar):
            for _ in range(self.n):
                x, y = step(x, y)
                if not self.push(x, y):
                    break
                bar.update(1)
        return self.result()

    def result(self) -> GameTrajectory:
        n = self.k + 1
        xs, ys = self.xs[:n].copy(), self.ys[:n].copy()
        dist = np.linalg.norm(np.concatenate([xs, ys], axis=1) - self.zs, axis=1)
        return GameTrajectory(self.method, self.eta, xs, ys, dist, self.evals, self.diverged)


def simultaneous_gd(field: Field, x0: Any, y0: Any, eta: float, n_steps: int, *,
                    equilibrium: Any = None, max_norm: float = MAX_NORM,
                    on_fail: str = "raise", progress: bool = False) -> GameTrajectory:
    """Simultaneous gradient descent-ascent z_{k+1} = z_k - eta v(z_k), the GAN training
    rule studied by Mescheder et al. 2017 and 2018 (both players step from the same point).

    field : callable (x, y) -> (v_x, v_y) = (grad_x f, -grad_y f) on 1-D arrays (e.g.
        :meth:`BilinearGame.field`, :meth:`DiracGAN.field`).
    x0, y0 : initial points (scalars or 1-D arrays).  eta > 0 : step size.
    n_steps : number of steps.  equilibrium : (x*, y*) for ``distance`` (default 0).
    max_norm : |z - z*| beyond which (or at a non-finite iterate) the run has diverged:
        ``on_fail`` "raise" (default, :class:`~deeptheory.ConvergenceError` naming the
        iteration), "warn" or "ignore" (then the trajectory stops before it and
        ``diverged_at`` is set).  ``max_norm=inf`` only stops at overflow.

    A non-finite field value is a ValueError naming the iteration.  Returns a
    :class:`GameTrajectory`.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    r = _Runner("simultaneous", field, x0, y0, eta, n_steps, equilibrium, max_norm, on_fail,
                progress)
    e = r.eta

    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vx, vy = r.v(x, y)
        return x - e * vx, y - e * vy

    return r.run(step)


def alternating_gd(field: Field, x0: Any, y0: Any, eta: float, n_steps: int, *,
                   equilibrium: Any = None, max_norm: float = MAX_NORM,
                   on_fail: str = "raise", progress: bool = False) -> GameTrajectory:
    """Alternating gradient descent-ascent (Mescheder et al. 2018; Gidel et al. 2019):
    x_{k+1} = x_k - eta v_x(x_k, y_k), then y_{k+1} = y_k - eta v_y(x_{k+1}, y_k).  Two
    field calls per step (half of each used).  Arguments, errors and result as for
    :func:`simultaneous_gd`.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    r = _Runner("alternating", field, x0, y0, eta, n_steps, equilibrium, max_norm, on_fail,
                progress)
    e = r.eta

    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x - e * r.v(x, y)[0]
        return x, y - e * r.v(x, y)[1]

    return r.run(step)


def extragradient(field: Field, x0: Any, y0: Any, eta: float, n_steps: int, *,
                  equilibrium: Any = None, max_norm: float = MAX_NORM,
                  on_fail: str = "raise", progress: bool = False) -> GameTrajectory:
    """Extragradient (Korpelevich 1976; for GANs Gidel et al. 2019):
    z_{k+1/2} = z_k - eta v(z_k), z_{k+1} = z_k - eta v(z_{k+1/2}).  Two field calls per
    step.  Arguments, errors and result as for :func:`simultaneous_gd`.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    r = _Runner("extragradient", field, x0, y0, eta, n_steps, equilibrium, max_norm, on_fail,
                progress)
    e = r.eta

    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vx, vy = r.v(x, y)
        vx, vy = r.v(x - e * vx, y - e * vy)
        return x - e * vx, y - e * vy

    return r.run(step)


def optimistic_gd(field: Field, x0: Any, y0: Any, eta: float, n_steps: int, *,
                  equilibrium: Any = None, max_norm: float = MAX_NORM,
                  on_fail: str = "raise", progress: bool = False) -> GameTrajectory:
    """Optimistic gradient descent (Daskalakis et al. 2018, "Training GANs with optimism";
    extrapolation from the past, Gidel et al. 2019):
    z_{k+1} = z_k - 2 eta v(z_k) + eta v(z_{k-1}), with v(z_{-1}) = v(z_0) (the first step
    is plain GD).  One field call per step.  Arguments, errors and result as for
    :func:`simultaneous_gd`.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    r = _Runner("optimistic", field, x0, y0, eta, n_steps, equilibrium, max_norm, on_fail,
                progress)
    e = r.eta
    prev: list[np.ndarray] = []

    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vx, vy = r.v(x, y)
        px, py = prev if prev else (vx, vy)
        prev[:] = [vx, vy]
        return x - 2.0 * e * vx + e * px, y - 2.0 * e * vy + e * py

    return r.run(step)


def sga_gd(field: Field, jacobian: Callable[[np.ndarray, np.ndarray], Any], x0: Any, y0: Any,
           eta: float, n_steps: int, *, lam: float = 1.0, align: bool = False,
           eps: float = 0.1, equilibrium: Any = None, max_norm: float = MAX_NORM,
           on_fail: str = "raise", progress: bool = False) -> GameTrajectory:
    """Gradient descent on the symplectically adjusted field v + lam A^T v (Balduzzi et al.
    2018, :func:`symplectic_gradient_adjustment`); ``jacobian(x, y)`` returns J = Dv as an
    (n, n) array (e.g. :meth:`BilinearGame.jacobian`).  With ``align=True`` the sign of lam
    is chosen at every step by :func:`sga_alignment_sign` (|lam| kept, ``eps`` as there).
    Other arguments, errors and result as for :func:`simultaneous_gd`.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    r = _Runner("sga", field, x0, y0, eta, n_steps, equilibrium, max_norm, on_fail, progress)
    if not callable(jacobian):
        raise TypeError(f"jacobian must be callable, got {type(jacobian).__name__}")
    la = _scalar("lam", lam)
    ee = _scalar("eps", eps)
    e = r.eta
    dx, n = r.x0.size, r.x0.size + r.y0.size

    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.concatenate(r.v(x, y))
        j = np.asarray(jacobian(x, y), dtype=float)
        if j.shape != (n, n):
            raise ValueError(f"jacobian must return ({n}, {n}), got {j.shape}")
        if not np.all(np.isfinite(j)):
            raise ValueError(f"sga: the jacobian returned non-finite values at iteration {r.k}")
        lk = abs(la) * sga_alignment_sign(v, j, eps=ee) if align else la
        adj = symplectic_gradient_adjustment(v, j, lk)
        return x - e * adj[:dx], y - e * adj[dx:]

    return r.run(step)


_RUNNERS = {"simultaneous": simultaneous_gd, "alternating": alternating_gd,
            "extragradient": extragradient, "optimistic": optimistic_gd}


# ---------------------------------------------------------------- figure data


@dataclass(frozen=True)
class GameFigureData(Result):
    """Result of :func:`game_trajectories`.

    bilinear : {method: GameTrajectory} on f = a x y.
    dirac : {method: GameTrajectory} on the Dirac-GAN (theta, psi).
    bilinear_eta, dirac_eta : the step sizes used.
    a : the bilinear coupling.
    dirac_game : the :class:`DiracGAN` played.
    """

    bilinear: dict
    dirac: dict
    bilinear_eta: float
    dirac_eta: float
    a: float
    dirac_game: DiracGAN


def game_trajectories(*, n_steps: int = 300, a: float = 1.0, bilinear_eta: float = 0.1,
                      dirac_eta: float = 0.2, z0: tuple[float, float] = (1.0, 1.0),
                      dirac_game: DiracGAN | None = None,
                      methods: tuple[str, ...] = ("simultaneous", "alternating",
                                                  "extragradient", "optimistic"),
                      ) -> GameFigureData:
    """Trajectories for a figure of the game methods (Mescheder et al. 2018, figure 1;
    Gidel et al. 2019): each method in ``methods`` (those of :func:`update_jacobian` but
    "sga", which is run with lam = 1) from z0 on the bilinear game f = a x y and on the
    Dirac-GAN (default unregularised GAN loss).  Divergent runs are kept as far as they go
    (``on_fail="ignore"``; see ``diverged_at``).  Defaults: 300 steps, eta = 0.1 (bilinear,
    c = 0.1: simultaneous spirals out by sqrt(1.01) per step, alternating cycles,
    extragradient and optimistic spiral in) and eta = 0.2 on the Dirac-GAN.
    """
    n = as_int("n_steps", n_steps, lo=1)
    av = _scalar("a", a)
    be, de = _eta(bilinear_eta), _eta(dirac_eta)
    if dirac_game is None:
        dirac_game = DiracGAN()
    if not isinstance(dirac_game, DiracGAN):
        raise TypeError(f"dirac_game must be a DiracGAN, got {type(dirac_game).__name__}")
    if len(z0) != 2:
        raise ValueError(f"z0 must be a pair (x0, y0), got {z0!r}")
    x0, y0 = _scalar("z0[0]", z0[0]), _scalar("z0[1]", z0[1])
    game = BilinearGame(av)
    out: dict[str, dict] = {"bilinear": {}, "dirac": {}}
    for m in methods:
        _method(m)
        for key, fld, jac, eta in (("bilinear", game.field, game.jacobian, be),
                                   ("dirac", dirac_game.field, dirac_game.jacobian, de)):
            if m == "sga":
                traj = sga_gd(fld, lambda x, y, _j=jac: np.asarray(_j(x, y)).reshape(2, 2),
                              x0, y0, eta, n, on_fail="ignore")
            else:
                traj = _RUNNERS[m](fld, x0, y0, eta, n, on_fail="ignore")
            out[key][m] = traj
    return GameFigureData(out["bilinear"], out["dirac"], be, de, av, dirac_game)
