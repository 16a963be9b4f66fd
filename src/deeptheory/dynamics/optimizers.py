"""Optimisers as discrete maps and as flows (training as a dynamical system).

* Iterations on a user loss (a gradient callable, optionally the loss):
  :func:`gradient_descent`, :func:`heavy_ball` (Polyak 1964) and :func:`nesterov`
  (Nesterov 1983), each returning an :class:`OptimizerTrajectory`.
* Quadratics L(x) = x^T A x / 2: the iteration is linear, its rate is the spectral radius
  of a 1x1 (GD) or 2x2 (momentum) matrix per eigenvalue of A, in closed form
  (:func:`quadratic_rate`, :func:`stable_region`, :func:`max_stable_step`,
  :func:`stability_grid`), and the optimal tunings (:func:`optimal_gd`,
  :func:`optimal_heavy_ball`, Polyak 1964).
* Continuous limits, integrated with ``scipy.integrate.solve_ivp``: gradient flow
  x' = -grad L (:func:`gradient_flow`); the damped oscillator x'' + a x' + grad L = 0 as the
  limit of heavy ball with eta = h^2, beta = 1 - a h (:func:`momentum_flow`,
  :func:`heavy_ball_limit`); x'' + (3/t) x' + grad L = 0 as the limit of Nesterov's method
  (Su, Boyd & Candes 2016; :func:`nesterov_flow`).
* Backward error analysis (Barrett & Dherin 2021): a GD step follows the flow of the
  modified loss L + (eta/4) |grad L|^2 with local error O(eta^3), against O(eta^2) for the
  plain flow (:func:`modified_loss`, :func:`modified_loss_gradient`,
  :func:`local_error_order`).

The frictionless (Hamiltonian) view of momentum is in :mod:`.hamiltonian`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from .._api import ConvergenceError, Result
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int, broadcast, scalar_or_array

__all__ = [
    "FlowTrajectory",
    "LocalErrorOrder",
    "OptimalParameters",
    "OptimizerTrajectory",
    "StabilityGrid",
    "gradient_descent",
    "gradient_flow",
    "heavy_ball",
    "heavy_ball_limit",
    "local_error_order",
    "max_stable_step",
    "modified_loss",
    "modified_loss_gradient",
    "momentum_flow",
    "nesterov",
    "nesterov_flow",
    "optimal_gd",
    "optimal_heavy_ball",
    "quadratic_rate",
    "stability_grid",
    "stable_region",
]

METHODS = ("gd", "heavy_ball", "nesterov")

#: relative step of the central finite difference used for Hessian-vector products:
#: truncation O(eps^2) and rounding O(u / eps) balance at eps ~ u^(1/3) ~ 6e-6
_EPS = float(np.finfo(float).eps)
FD_STEP = _EPS ** (1.0 / 3.0)


# ---------------------------------------------------------------- argument checks


def _check_callable(name: str, f: Any) -> None:
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")


def _as_point(name: str, x: Any) -> np.ndarray:
    a = as_float(name, x)
    return a.copy()


def _eta(v: Any, name: str = "eta") -> float:
    a = as_float(name, v)
    if a.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    if not a > 0:
        raise ValueError(f"{name} (step size) must be > 0, got {float(a)}")
    return float(a)


def _beta(v: Any, name: str = "beta") -> float:
    a = as_float(name, v)
    if a.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    if not 0.0 <= a < 1.0:
        raise ValueError(f"{name} (momentum) must be in [0, 1), got {float(a)}")
    return float(a)


def _norm(v: np.ndarray) -> float:
    """Euclidean norm without overflow for finite entries near the float limit."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    return 0.0 if m == 0.0 else m * float(np.linalg.norm(v / m))


def _grad(gradient: Callable, x: np.ndarray, k: int, where: str | None = None) -> np.ndarray:
    g = np.asarray(gradient(x.copy()), dtype=float)
    if g.shape != x.shape:
        raise ValueError(f"gradient must return an array of the point's shape {x.shape}, "
                         f"got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        where = where or f"x_{k}"
        raise ValueError(f"gradient is not finite at iteration {k} (evaluated at {where}); "
                         f"the step size is probably too large for this loss")
    return g


def _loss(loss: Callable | None, x: np.ndarray, k: int) -> float:
    if loss is None:
        return math.nan
    v = np.asarray(loss(x.copy()), dtype=float)
    if v.size != 1:
        raise ValueError(f"loss must return a scalar, got shape {v.shape}")
    v = float(v.reshape(()))
    if not math.isfinite(v):
        raise ValueError(f"loss is not finite at iteration {k} (value {v})")
    return v


def _velocity(v0: Any, shape: tuple[int, ...]) -> np.ndarray:
    v = as_float("v0", v0)
    try:
        return np.broadcast_to(v, shape).copy()
    except ValueError:
        raise ValueError(f"v0 of shape {v.shape} does not broadcast to x0's shape "
                         f"{shape}") from None


def _check_iterate(x: np.ndarray, k: int, method: str) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{method}: iterate x_{k} is not finite at iteration {k} "
                         f"(the iteration diverged)")


# ---------------------------------------------------------------- iterations as maps


@dataclass(frozen=True)
class OptimizerTrajectory(Result):
    """Result of :func:`gradient_descent`, :func:`heavy_ball` and :func:`nesterov`.

    x : (n_steps + 1, *x0.shape) the iterates x_0 ... x_n.
    loss : (n_steps + 1,) the loss at each iterate, or None when no loss was given.
    grad_norm : (n_steps + 1,) |grad L(x_k)| (for Nesterov, |grad L| at the x_k too, one
        extra gradient call per step; it is what a stopping rule would look at).
    method : "gd", "heavy_ball" or "nesterov".
    eta, beta : the step and the momentum (beta = 0 for GD; None for Nesterov's
        (k - 1)/(k + 2) schedule).
    """

    x: np.ndarray
    loss: np.ndarray | None
    grad_norm: np.ndarray
    method: str
    eta: float
    beta: float | None

    @property
    def n_steps(self) -> int:
        return int(self.x.shape[0] - 1)


#: the public function of each method (the desc of its progress bar)
_FUNCTION = {"gd": "gradient_descent", "heavy_ball": "heavy_ball", "nesterov": "nesterov"}


def _run(method: str, gradient: Callable, x0: Any, eta: Any, beta: Any, n_steps: Any,
         loss: Callable | None, v0: Any = None, progress: Any = False) -> OptimizerTrajectory:
    _check_callable("gradient", gradient)
    if loss is not None:
        _check_callable("loss", loss)
    x = _as_point("x0", x0)
    eta = _eta(eta)
    schedule = method == "nesterov" and beta is None
    b = 0.0 if method == "gd" else (math.nan if schedule else _beta(beta))
    n = as_int("n_steps", n_steps, lo=0)
    prog = check_progress(progress)
    xs = np.empty((n + 1, *x.shape))
    gn = np.empty(n + 1)
    ls = np.full(n + 1, math.nan) if loss is not None else None
    xs[0] = x
    g = _grad(gradient, x, 0)
    gn[0] = _norm(g)
    if ls is not None:
        ls[0] = _loss(loss, x, 0)
    if method == "heavy_ball" and v0 is not None:
        x_prev = x + _velocity(v0, x.shape)
    else:
        x_prev = x.copy()
    with progress_bar(n, _FUNCTION[method], prog, unit="step") as bar:
        for k in range(1, n + 1):
            if method == "gd":
                x_new = x - eta * g
            elif method == "heavy_ball":
                x_new = x - eta * g + b * (x - x_prev)
            else:
                bk = (k - 2) / (k + 1) if schedule else b  # y_{k-1} uses beta_{k-1}
                y = x + (max(bk, 0.0) if schedule else bk) * (x - x_prev)
                gy = _grad(gradient, y, k, where=f"y_{k - 1}")
                x_new = y - eta * gy
            _check_iterate(x_new, k, method)
            x_prev, x = x, x_new
            xs[k] = x
            g = _grad(gradient, x, k)
            gn[k] = _norm(g)
            if ls is not None:
                ls[k] = _loss(loss, x, k)
            bar.update(1)
    return OptimizerTrajectory(x=xs, loss=ls, grad_norm=gn, method=method, eta=eta,
                               beta=None if schedule else b)


def gradient_descent(gradient: Callable, x0: Any, eta: float, n_steps: int = 100, *,
                     loss: Callable | None = None, progress: bool = False
                     ) -> OptimizerTrajectory:
    """Gradient descent x_{k+1} = x_k - eta grad L(x_k) (Cauchy 1847), n_steps steps.

    ``gradient(x)`` returns grad L at an array of x0's shape; ``loss(x)`` (optional)
    returns L, recorded at every iterate.  Raises ValueError naming the iteration when the
    gradient, the loss or the iterate stops being finite, and for eta <= 0.  On a quadratic
    its rate is |1 - eta lambda| per eigenvalue (:func:`quadratic_rate`); as eta -> 0,
    x_k follows the gradient flow at t = k eta (:func:`gradient_flow`).
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    return _run("gd", gradient, x0, eta, 0.0, n_steps, loss, progress=progress)


def heavy_ball(gradient: Callable, x0: Any, eta: float, beta: float, n_steps: int = 100, *,
               loss: Callable | None = None, v0: Any = None, progress: bool = False
               ) -> OptimizerTrajectory:
    """Polyak's heavy-ball method (Polyak 1964), n_steps steps:

        x_{k+1} = x_k - eta grad L(x_k) + beta (x_k - x_{k-1}),   x_{-1} = x_0 + v0.

    The velocity form common in deep learning (Sutskever et al. 2013),

        v_{k+1} = gamma v_k + eta grad L(theta_k),   theta_{k+1} = theta_k - v_{k+1},

    is the same iteration with beta = gamma, theta_k = x_k and v_k = x_{k-1} - x_k (so its
    v_0 is this function's ``v0``; the default v0 = 0 starts at rest).  Requires eta > 0 and
    0 <= beta < 1.  On a quadratic the rate is the largest root modulus of
    z^2 - (1 + beta - eta lambda) z + beta (:func:`quadratic_rate`); with eta = h^2 and
    beta = 1 - a h it follows x'' + a x' + grad L = 0 at t = k h (:func:`momentum_flow`).
    Raises ValueError naming the iteration when the gradient, loss or iterate is not
    finite.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    return _run("heavy_ball", gradient, x0, eta, beta, n_steps, loss, v0=v0, progress=progress)


def nesterov(gradient: Callable, x0: Any, eta: float, beta: float | None = None,
             n_steps: int = 100, *, loss: Callable | None = None, progress: bool = False
             ) -> OptimizerTrajectory:
    """Nesterov's accelerated gradient method (Nesterov 1983), n_steps steps:

        x_k = y_{k-1} - eta grad L(y_{k-1}),   y_k = x_k + beta_k (x_k - x_{k-1}),   y_0 = x_0,

    with a constant beta in [0, 1), or, for ``beta=None``, the convex-case schedule
    beta_k = (k - 1)/(k + 2) of Su, Boyd & Candes 2016 (eq. 3), whose limit for eta = s -> 0
    is x'' + (3/t) x' + grad L = 0 at t = k sqrt(s) (:func:`nesterov_flow`).  The gradient is
    evaluated at y (and once more at x_k for ``grad_norm``).  On a quadratic with constant
    beta the rate is the largest root modulus of z^2 - (1 + beta)(1 - eta lambda) z +
    beta (1 - eta lambda) (:func:`quadratic_rate`).  Raises ValueError for eta <= 0 or beta
    outside [0, 1), and names the iteration when a gradient, loss or iterate is not finite.
    progress : a progress bar (tqdm on stderr) of the steps done; off by default.
    """
    return _run("nesterov", gradient, x0, eta, beta, n_steps, loss, progress=progress)


# ---------------------------------------------------------------- quadratics


def _method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _quadratic_coeffs(method: str, eta: np.ndarray, beta: np.ndarray, lam: np.ndarray):
    """(b, c) of the characteristic polynomial z^2 - b z + c of the linear iteration."""
    if method == "heavy_ball":
        return 1.0 + beta - eta * lam, beta
    u = 1.0 - eta * lam  # nesterov
    return (1.0 + beta) * u, beta * u


def _root_modulus(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """max |z| over the roots of z^2 - b z + c (b, c real), in closed form."""
    disc = b * b - 4.0 * c
    # a double root: b^2 - 4c within its rounding error is 0 (else sqrt(rounding) ~ 1e-8)
    disc = np.where(np.abs(disc) <= 8.0 * _EPS * (b * b + 4.0 * np.abs(c)), 0.0, disc)
    with np.errstate(invalid="ignore"):
        real = 0.5 * (np.abs(b) + np.sqrt(np.maximum(disc, 0.0)))
        cplx = np.sqrt(np.maximum(c, 0.0))
    return np.where(disc >= 0.0, real, cplx)


def _eigenvalues(eigenvalues: Any) -> np.ndarray:
    lam = as_float("eigenvalues", eigenvalues)
    if lam.ndim > 1:
        raise ValueError(f"eigenvalues must be a scalar or a 1-D array (the Hessian's "
                         f"spectrum), got shape {lam.shape}")
    lam = lam.reshape(-1)
    if lam.size == 0:
        raise ValueError("eigenvalues must not be empty")
    return lam


def _eta_beta(method: str, eta: Any, beta: Any) -> tuple[np.ndarray, np.ndarray]:
    e = as_float("eta", eta)
    if np.any(e <= 0):
        raise ValueError(f"eta (step size) must be > 0, got min {e.min()}")
    if method == "gd":
        if beta is None:
            b = np.zeros(())
        else:
            b = as_float("beta", beta)
            if np.any(b != 0):
                raise ValueError("beta must be 0 (or None) for method='gd': gradient descent "
                                 "is heavy ball with beta = 0")
    else:
        if beta is None:
            raise ValueError(f"beta (momentum) is required for method={method!r}")
        b = as_float("beta", beta)
        if np.any((b < 0) | (b >= 1)):
            raise ValueError(f"beta (momentum) must be in [0, 1), got values in "
                             f"[{b.min()}, {b.max()}]")
    e, b = broadcast(eta=e, beta=b)
    return e, b


def quadratic_rate(eta: Any, beta: Any, eigenvalues: Any,
                   method: str = "heavy_ball") -> np.ndarray | float:
    """Asymptotic rate of an optimiser on L(x) = x^T A x / 2: the spectral radius of the
    linear iteration, max over the eigenvalues lambda of A of the largest root modulus.

    * "gd" (Cauchy 1847): |1 - eta lambda| (beta must be 0 or None);
    * "heavy_ball" (Polyak 1964): roots of z^2 - (1 + beta - eta lambda) z + beta;
    * "nesterov" (Nesterov 1983, constant beta): roots of
      z^2 - (1 + beta)(1 - eta lambda) z + beta (1 - eta lambda).

    The root modulus is closed-form: sqrt(c) for complex roots of z^2 - b z + c, else
    (|b| + sqrt(b^2 - 4c))/2.  ``eta`` and ``beta`` broadcast together (numpy rules);
    ``eigenvalues`` is a scalar or a 1-D spectrum, reduced over.  The error norm decays
    like rate^k (times k where the matrix is defective); rate < 1 iff the iteration
    converges for every start (:func:`stable_region`).
    """
    method = _method(method)
    e, b = _eta_beta(method, eta, beta)
    lam = _eigenvalues(eigenvalues)
    E, B, LAM = e[..., None], b[..., None], lam
    if method == "gd":
        r = np.abs(1.0 - E * LAM)
    else:
        bb, cc = _quadratic_coeffs(method, E, B, LAM)
        r = _root_modulus(bb, cc)
    return scalar_or_array(r.max(axis=-1))


def stable_region(eta: Any, beta: Any, eigenvalues: Any,
                  method: str = "heavy_ball") -> np.ndarray | bool:
    """Boolean mask of (eta, beta) where the optimiser converges on the quadratic with the
    given Hessian spectrum: :func:`quadratic_rate` < 1.  Closed forms (Polyak 1964; Jury's
    test |c| < 1, |b| < 1 + c on z^2 - b z + c), for every eigenvalue lambda:
    GD 0 < eta lambda < 2; heavy ball 0 < eta lambda < 2 (1 + beta);
    Nesterov 0 < eta lambda < 2 (1 + beta)/(1 + 2 beta) (:func:`max_stable_step`).
    Broadcasts eta and beta; reduces over the eigenvalues.
    """
    r = np.asarray(quadratic_rate(eta, beta, eigenvalues, method))
    out = r < 1.0
    return out if out.ndim else bool(out)


def max_stable_step(beta: Any, lambda_max: Any, method: str = "heavy_ball") -> np.ndarray | float:
    """Largest stable step on a quadratic with positive curvature up to lambda_max, the
    stability boundary in closed form (Polyak 1964): GD 2/lambda_max; heavy ball
    2 (1 + beta)/lambda_max; Nesterov 2 (1 + beta)/((1 + 2 beta) lambda_max).  At this eta
    the iteration matrix has the root z = -1 (see :func:`stable_region`).  Broadcasts.
    """
    method = _method(method)
    lm = as_float("lambda_max", lambda_max)
    if np.any(lm <= 0):
        raise ValueError("lambda_max must be > 0")
    if method == "gd":
        b = as_float("beta", 0.0 if beta is None else beta)
        if np.any(b != 0):
            raise ValueError("beta must be 0 (or None) for method='gd'")
    else:
        b = as_float("beta", beta)
        if np.any((b < 0) | (b >= 1)):
            raise ValueError("beta (momentum) must be in [0, 1)")
    b, lm = broadcast(beta=b, lambda_max=lm)
    if method == "gd":
        out = 2.0 / lm
    elif method == "heavy_ball":
        out = 2.0 * (1.0 + b) / lm
    else:
        out = 2.0 * (1.0 + b) / ((1.0 + 2.0 * b) * lm)
    return scalar_or_array(out)


@dataclass(frozen=True)
class StabilityGrid(Result):
    """Result of :func:`stability_grid`: data for a stability-region figure.

    etas : (n_eta,) steps (columns); betas : (n_beta,) momenta (rows).
    rate : (n_beta, n_eta) spectral radius of the iteration (< 1: converges).
    stable : (n_beta, n_eta) rate < 1.
    eta_max : (n_beta,) the closed-form boundary :func:`max_stable_step` at lambda_max
        (nan if some eigenvalue is <= 0: then no step is stable).
    eigenvalues : the Hessian spectrum used; method : the optimiser.
    """

    etas: np.ndarray
    betas: np.ndarray
    rate: np.ndarray
    stable: np.ndarray
    eta_max: np.ndarray
    eigenvalues: np.ndarray
    method: str


def stability_grid(etas: Any, betas: Any, eigenvalues: Any,
                   method: str = "heavy_ball") -> StabilityGrid:
    """The rate (:func:`quadratic_rate`) on the grid betas x etas (rows beta, columns eta)
    with the stable mask and the closed-form boundary eta_max(beta) (Polyak 1964;
    :func:`max_stable_step`), for a stability-region figure.  For "gd" pass betas = [0].
    """
    method = _method(method)
    e = as_float("etas", etas).reshape(-1) if np.ndim(etas) <= 1 else None
    b = as_float("betas", betas).reshape(-1) if np.ndim(betas) <= 1 else None
    if e is None:
        raise ValueError(f"etas must be 1-D, got shape {np.shape(etas)}")
    if b is None:
        raise ValueError(f"betas must be 1-D, got shape {np.shape(betas)}")
    lam = _eigenvalues(eigenvalues)
    rate = np.asarray(quadratic_rate(e[None, :], b[:, None], lam, method), dtype=float)
    if lam.min() > 0:
        eta_max = np.asarray(max_stable_step(b, lam.max(), method), dtype=float).reshape(-1)
    else:
        eta_max = np.full(b.shape, math.nan)
    return StabilityGrid(etas=e, betas=b, rate=rate, stable=rate < 1.0, eta_max=eta_max,
                         eigenvalues=lam, method=method)


@dataclass(frozen=True)
class OptimalParameters(Result):
    """Result of :func:`optimal_gd` and :func:`optimal_heavy_ball`: ``eta``, ``beta`` and the
    worst-case ``rate`` over quadratics with curvature in [mu, L]."""

    eta: float
    beta: float
    rate: float


def _mu_l(mu: Any, L: Any) -> tuple[float, float]:
    m = as_float("mu", mu)
    big = as_float("L", L)
    if m.ndim or big.ndim:
        raise ValueError("mu and L must be scalars")
    m, big = float(m), float(big)
    if not m > 0:
        raise ValueError(f"mu must be > 0, got {m}")
    if not big >= m:
        raise ValueError(f"L must be >= mu, got L = {big}, mu = {m}")
    return m, big


def optimal_gd(mu: float, L: float) -> OptimalParameters:
    """Best constant GD step on quadratics with Hessian spectrum in [mu, L] (Polyak 1964):
    eta = 2/(mu + L), rate (kappa - 1)/(kappa + 1), kappa = L/mu (beta = 0)."""
    m, big = _mu_l(mu, L)
    k = big / m
    return OptimalParameters(eta=2.0 / (m + big), beta=0.0, rate=(k - 1.0) / (k + 1.0))


def optimal_heavy_ball(mu: float, L: float) -> OptimalParameters:
    """Polyak's optimal heavy-ball tuning on quadratics with spectrum in [mu, L] (Polyak
    1964): eta = 4/(sqrt L + sqrt mu)^2, beta = ((sqrt kappa - 1)/(sqrt kappa + 1))^2,
    rate = sqrt(beta) = (sqrt kappa - 1)/(sqrt kappa + 1), kappa = L/mu.  At this tuning
    both extreme eigenvalues are critically damped (double roots), so the error decays like
    k rate^k there; every lambda in [mu, L] has complex roots of modulus sqrt(beta).
    """
    m, big = _mu_l(mu, L)
    sk = math.sqrt(big / m)
    rate = (sk - 1.0) / (sk + 1.0)
    return OptimalParameters(eta=4.0 / (math.sqrt(big) + math.sqrt(m)) ** 2, beta=rate * rate,
                             rate=rate)


# ---------------------------------------------------------------- continuous limits


@dataclass(frozen=True)
class FlowTrajectory(Result):
    """Result of :func:`gradient_flow`, :func:`momentum_flow` and :func:`nesterov_flow`.

    t : (n_t,) output times; x : (n_t, *x0.shape) positions; v : (n_t, *x0.shape)
    velocities x'(t) (for gradient flow, -grad L(x)); nfev : right-hand-side evaluations.
    """

    t: np.ndarray
    x: np.ndarray
    v: np.ndarray
    nfev: int


def _times(times: Any, t_start: float = 0.0) -> np.ndarray:
    t = as_float("times", times).reshape(-1)
    if t.size == 0:
        raise ValueError("times must not be empty")
    if np.any(t < t_start) or np.any(np.diff(t) < 0):
        raise ValueError(f"times must be >= {t_start} and non-decreasing")
    return t


def _solve(rhs: Callable, y0: np.ndarray, t: np.ndarray, rtol: float, atol: float,
           t0: float = 0.0, what: str = "flow"):
    rtol = float(as_float("rtol", rtol, lo=1e-14))
    atol = float(as_float("atol", atol, lo=0.0))
    if t[-1] == t0:
        return np.repeat(y0[None, :], t.size, axis=0), 0
    sol = solve_ivp(rhs, (t0, float(t[-1])), y0, method="DOP853", t_eval=t, rtol=rtol,
                    atol=atol)
    if sol.status != 0:
        raise ConvergenceError(f"{what}: solve_ivp failed: {sol.message}")
    return sol.y.T, int(sol.nfev)


def _flat_grad(gradient: Callable, shape: tuple[int, ...]) -> Callable:
    def g(z: np.ndarray) -> np.ndarray:
        out = np.asarray(gradient(z.reshape(shape)), dtype=float)
        if out.shape != shape:
            raise ValueError(f"gradient must return an array of shape {shape}, got {out.shape}")
        if not np.all(np.isfinite(out)):
            raise ValueError("gradient is not finite along the flow")
        return out.reshape(-1)
    return g


def gradient_flow(gradient: Callable, x0: Any, times: Any, *, rtol: float = 1e-10,
                  atol: float = 1e-12) -> FlowTrajectory:
    """Gradient flow x'(t) = -grad L(x), x(0) = x0, the eta -> 0 limit of GD at t = k eta
    (Cauchy 1847; the global error of GD at fixed T is O(eta)).  Integrated with scipy's
    ``solve_ivp`` (DOP853) at the output ``times`` (>= 0, non-decreasing).
    """
    _check_callable("gradient", gradient)
    x = _as_point("x0", x0)
    t = _times(times)
    g = _flat_grad(gradient, x.shape)
    y, nfev = _solve(lambda _t, z: -g(z), x.reshape(-1), t, rtol, atol, what="gradient_flow")
    xs = y.reshape(t.size, *x.shape)
    v = np.stack([-g(z).reshape(x.shape) for z in y]) if t.size else xs
    return FlowTrajectory(t=t, x=xs, v=v, nfev=nfev)


def heavy_ball_limit(eta: float, beta: float) -> tuple[float, float]:
    """Time step h and friction a of the ODE that heavy ball approximates (Polyak 1964;
    Su, Boyd & Candes 2016, sec. 2): with eta = h^2 and beta = 1 - a h,

        (x_{k+1} - 2 x_k + x_{k-1})/h^2 + a (x_k - x_{k-1})/h + grad L(x_k) = 0

    is a consistent discretisation of x'' + a x' + grad L = 0 at t = k h, so h = sqrt(eta),
    a = (1 - beta)/sqrt(eta).  The limit is taken at fixed a (beta -> 1 as eta -> 0).
    """
    e, b = _eta(eta), _beta(beta)
    h = math.sqrt(e)
    return h, (1.0 - b) / h


def momentum_flow(gradient: Callable, x0: Any, times: Any, friction: float, *,
                  v0: Any = None, rtol: float = 1e-10, atol: float = 1e-12) -> FlowTrajectory:
    """The damped second-order ODE x'' + a x' + grad L(x) = 0, x(0) = x0, x'(0) = v0 (0 by
    default), the continuous limit of heavy ball (Polyak 1964; :func:`heavy_ball_limit`).
    ``friction`` a >= 0 (a = 0: the frictionless Hamiltonian flow of :mod:`.hamiltonian`).
    Integrated with scipy's ``solve_ivp`` (DOP853) as a first-order system in (x, v).
    """
    _check_callable("gradient", gradient)
    a = float(as_float("friction", friction, lo=0.0))
    x = _as_point("x0", x0)
    v = np.zeros_like(x) if v0 is None else _velocity(v0, x.shape)
    t = _times(times)
    g = _flat_grad(gradient, x.shape)
    n = x.size

    def rhs(_t: float, z: np.ndarray) -> np.ndarray:
        return np.concatenate([z[n:], -a * z[n:] - g(z[:n])])

    y, nfev = _solve(rhs, np.concatenate([x.reshape(-1), v.reshape(-1)]), t, rtol, atol,
                     what="momentum_flow")
    return FlowTrajectory(t=t, x=y[:, :n].reshape(t.size, *x.shape),
                          v=y[:, n:].reshape(t.size, *x.shape), nfev=nfev)


def nesterov_flow(gradient: Callable, x0: Any, times: Any, *, rtol: float = 1e-10,
                  atol: float = 1e-12) -> FlowTrajectory:
    """Su, Boyd & Candes 2016 (Theorem 2): Nesterov's method with the (k - 1)/(k + 2)
    schedule and step s follows x'' + (3/t) x' + grad L(x) = 0, x(0) = x0, x'(0) = 0, at
    t = k sqrt(s) (:func:`nesterov`).  The friction is singular at t = 0; there the
    solution is x0 - grad L(x0) t^2/8 + O(t^4), so the right-hand side uses the limit
    x''(0) = -grad L(x0)/4 (from x' ~ x''(0) t in x'' + 3 x'/t = -grad L).  Integrated with
    scipy's ``solve_ivp`` (DOP853).
    """
    _check_callable("gradient", gradient)
    x = _as_point("x0", x0)
    t = _times(times)
    g = _flat_grad(gradient, x.shape)
    n = x.size

    def rhs(tt: float, z: np.ndarray) -> np.ndarray:
        gz = g(z[:n])
        acc = -0.25 * gz if tt <= 0.0 else -3.0 / tt * z[n:] - gz
        return np.concatenate([z[n:], acc])

    y, nfev = _solve(rhs, np.concatenate([x.reshape(-1), np.zeros(n)]), t, rtol, atol,
                     what="nesterov_flow")
    return FlowTrajectory(t=t, x=y[:, :n].reshape(t.size, *x.shape),
                          v=y[:, n:].reshape(t.size, *x.shape), nfev=nfev)


# ---------------------------------------------------------------- backward error analysis


def _hvp(gradient: Callable, hessian: Callable | None, x: np.ndarray, v: np.ndarray,
         fd_step: float) -> np.ndarray:
    if hessian is not None:
        h = np.asarray(hessian(x.copy()), dtype=float)
        d = x.size
        if h.shape != (d, d):
            raise ValueError(f"hessian must return a ({d}, {d}) matrix, got shape {h.shape}")
        return (h @ v.reshape(-1)).reshape(x.shape)
    nv = float(np.linalg.norm(v))
    if nv == 0.0:
        return np.zeros_like(x)
    eps = fd_step * max(1.0, float(np.linalg.norm(x)))
    u = v / nv
    gp = np.asarray(gradient(x + eps * u), dtype=float)
    gm = np.asarray(gradient(x - eps * u), dtype=float)
    return (gp - gm) * (nv / (2.0 * eps))


def modified_loss(loss: Callable, gradient: Callable, x: Any, eta: float) -> float:
    """The modified loss of implicit gradient regularisation (Barrett & Dherin 2021),
    L~(x) = L(x) + (eta/4) |grad L(x)|^2, whose gradient flow GD follows to O(eta^3) per
    step (:func:`modified_loss_gradient`, :func:`local_error_order`)."""
    _check_callable("loss", loss)
    _check_callable("gradient", gradient)
    xx = _as_point("x", x)
    e = _eta(eta)
    g = _grad(gradient, xx, 0, where="x")
    return _loss(loss, xx, 0) + 0.25 * e * float(np.sum(g * g))


def modified_loss_gradient(gradient: Callable, x: Any, eta: float, *,
                           hessian: Callable | None = None,
                           fd_step: float | None = None) -> np.ndarray:
    """grad L~ = grad L + (eta/2) H grad L, the gradient of the modified loss
    L + (eta/4) |grad L|^2 of Barrett & Dherin 2021 (H the Hessian of L).

    The Hessian-vector product uses ``hessian(x)`` (a (d, d) matrix for x of size d) when
    given, else the central difference H v ~ |v| (g(x + e u) - g(x - e u))/(2 e),
    u = v/|v|, e = fd_step max(1, |x|) with fd_step = eps^(1/3) ~ 6.1e-6 by default
    (the step balancing the O(e^2) truncation against the O(eps/e) rounding; the relative
    error of H v is then ~ 1e-10 for a smooth loss of unit scale).
    """
    _check_callable("gradient", gradient)
    if hessian is not None:
        _check_callable("hessian", hessian)
    xx = _as_point("x", x)
    e = _eta(eta)
    step = FD_STEP if fd_step is None else _eta(fd_step, "fd_step")
    g = _grad(gradient, xx, 0, where="x")
    return g + 0.5 * e * _hvp(gradient, hessian, xx, g, step)


@dataclass(frozen=True)
class LocalErrorOrder(Result):
    """Result of :func:`local_error_order`.

    etas : (n,) step sizes.
    plain_error : (n,) |GD step - gradient flow at time eta|, ~ (eta^2/2) |H g|.
    modified_error : (n,) |GD step - modified flow at time eta|,
        ~ eta^3 |H^2 g/3 + D^3 L[g, g]/12|.
    plain_slope, modified_slope : least-squares slopes of log error against log eta
        (expected 2 and 3).
    """

    etas: np.ndarray
    plain_error: np.ndarray
    modified_error: np.ndarray
    plain_slope: float
    modified_slope: float


def local_error_order(gradient: Callable, x0: Any, etas: Any = None, *,
                      hessian: Callable | None = None, rtol: float = 1e-12,
                      atol: float = 1e-15) -> LocalErrorOrder:
    """Local error order of one GD step against the gradient flow and against the modified
    flow of implicit gradient regularisation (Barrett & Dherin 2021, Theorem 3.1).

    For each eta: x1 = x0 - eta grad L(x0); X(eta) solves x' = -grad L; X~(eta) solves
    x' = -grad L~ with L~ = L + (eta/4)|grad L|^2 (:func:`modified_loss_gradient`; its
    Hessian-vector product from ``hessian`` or a central difference), both from x0 with
    ``solve_ivp`` (DOP853, rtol 1e-12).  Taylor expansion gives |x1 - X(eta)| =
    (eta^2/2)|H g| + O(eta^3) and |x1 - X~(eta)| = eta^3 |H^2 g/3 + D^3 L[g, g]/12| + O(eta^4)
    (g, H, D^3 L at x0), so the log-log slopes are 2 and 3.  Default etas: 7 values
    log-spaced in [1e-3, 10^-1.5] (small enough that the next-order terms barely bend the
    fit, large enough that eta^3 errors stay far above the integrator's tolerance).
    """
    _check_callable("gradient", gradient)
    if hessian is not None:
        _check_callable("hessian", hessian)
    x = _as_point("x0", x0)
    es = np.logspace(-3.0, -1.5, 7) if etas is None else as_float("etas", etas).reshape(-1)
    if es.size < 2:
        raise ValueError("etas must hold at least 2 step sizes")
    if np.any(es <= 0):
        raise ValueError("etas (step sizes) must be > 0")
    g0 = _grad(gradient, x, 0, where="x0")
    gf = _flat_grad(gradient, x.shape)
    shape = x.shape
    plain = np.empty(es.size)
    mod = np.empty(es.size)
    for i, eta in enumerate(es):
        x1 = x - eta * g0
        y, _ = _solve(lambda _t, z: -gf(z), x.reshape(-1), np.array([eta]), rtol, atol,
                      what="gradient flow")
        plain[i] = float(np.linalg.norm(y[-1] - x1.reshape(-1)))

        def rhs(_t: float, z: np.ndarray, eta: float = float(eta)) -> np.ndarray:
            zz = z.reshape(shape)
            gz = gf(z).reshape(shape)
            return -(gz + 0.5 * eta * _hvp(gradient, hessian, zz, gz, FD_STEP)).reshape(-1)

        y, _ = _solve(rhs, x.reshape(-1), np.array([eta]), rtol, atol, what="modified flow")
        mod[i] = float(np.linalg.norm(y[-1] - x1.reshape(-1)))
    with np.errstate(divide="ignore"):
        le = np.log(es)
        sp = float(np.polyfit(le, np.log(plain), 1)[0]) if np.all(plain > 0) else math.nan
        sm = float(np.polyfit(le, np.log(mod), 1)[0]) if np.all(mod > 0) else math.nan
    return LocalErrorOrder(etas=es, plain_error=plain, modified_error=mod, plain_slope=sp,
                           modified_slope=sm)
