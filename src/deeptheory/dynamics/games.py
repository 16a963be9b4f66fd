"""Two-player differentiable games as dynamical systems: GAN training in miniature.

A game min_x max_y f(x, y) is played through its simultaneous gradient field

    v(x, y) = (grad_x f, -grad_y f),    J = Dv (the game Jacobian),

and a first-order method is a discrete map z_{k+1} = F(z_k) with z = (x, y).  This module
holds the games and the structure of their fields; the iterations are in
:mod:`.game_dynamics`, the linearised update maps and their spectra in :mod:`.game_spectra`.

* The bilinear game f = x^T A y of Gidel et al. 2019 and Daskalakis et al. 2018
  (:class:`BilinearGame`) and the quantity conserved by alternating GD on it
  (:func:`alternating_invariant`; Bailey et al. 2020).
* The Dirac-GAN of Mescheder et al. 2018 (:class:`DiracGAN`): f(theta, psi) = h(psi theta)
  + h(0), its field, Jacobian, and the closed-form equilibrium eigenvalues with an R1
  gradient penalty and instance noise (:func:`dirac_gan_eigenvalues`).
* :func:`numerical_jacobian`: the game Jacobian J = Dv by central differences.
* The potential/Hamiltonian split of Balduzzi et al. 2018: :func:`decompose_jacobian`,
  :func:`symplectic_gradient_adjustment`, :func:`sga_alignment_sign`.

Sign convention: every method descends v (x descends f, y ascends it); an equilibrium is
stable for the gradient flow z' = -v(z) when the eigenvalues of J have positive real part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .._api import Result
from .._validation import as_float, as_int

__all__ = [
    "BilinearGame",
    "DiracGAN",
    "JacobianDecomposition",
    "alternating_invariant",
    "decompose_jacobian",
    "dirac_gan_eigenvalues",
    "numerical_jacobian",
    "sga_alignment_sign",
    "symplectic_gradient_adjustment",
]

#: methods known to :func:`~deeptheory.dynamics.update_jacobian` and the iterations
#: (:mod:`.game_dynamics`)
METHODS = ("simultaneous", "alternating", "extragradient", "optimistic", "sga")

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


# ---------------------------------------------------------------- results


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


# ---------------------------------------------------------------- numerical Jacobian


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


# ---------------------------------------------------------------- bilinear invariant


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
