"""Momentum without friction is a Hamiltonian system.

With no friction (a = 0 in x'' + a x' + grad L = 0, the beta -> 1 limit of heavy ball) the
motion conserves H(x, p) = |p|^2/2 + L(x), with x' = p, p' = -grad L(x).  A symplectic
discretisation, Stormer-Verlet / leapfrog (:func:`leapfrog`), conserves a modified energy
exactly on quadratics and keeps the energy error bounded, O(h^2), over exponentially long
times (Hairer, Lubich & Wanner 2006, ch. IX); explicit Euler (:func:`explicit_euler`) is not
symplectic and on a quadratic its energy grows by exactly (1 + h^2 omega^2) per step.
Heavy ball with beta = 1, x_{k+1} = 2 x_k - x_{k-1} - eta grad L(x_k), is the position
form of leapfrog with h = sqrt(eta).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int
from .optimizers import _as_point, _check_callable, _eta, _grad, _loss

__all__ = [
    "HamiltonianTrajectory",
    "explicit_euler",
    "hamiltonian_energy",
    "leapfrog",
]


@dataclass(frozen=True)
class HamiltonianTrajectory(Result):
    """Result of :func:`leapfrog` and :func:`explicit_euler`.

    x, p : (n_steps + 1, *x0.shape) positions and momenta at t = k h.
    energy : (n_steps + 1,) H = |p|^2/2 + L(x), or None when no loss was given.
    h : the time step; method : "leapfrog" or "explicit_euler".
    """

    x: np.ndarray
    p: np.ndarray
    energy: np.ndarray | None
    h: float
    method: str

    @property
    def energy_error(self) -> np.ndarray | None:
        """H(x_k, p_k) - H(x_0, p_0), or None without a loss."""
        return None if self.energy is None else self.energy - self.energy[0]


def hamiltonian_energy(loss: Callable, x: Any, p: Any) -> float:
    """H(x, p) = |p|^2/2 + L(x), the energy conserved by frictionless momentum (the
    heavy-ball ODE x'' + grad L = 0; Polyak 1964, Hairer, Lubich & Wanner 2006)."""
    _check_callable("loss", loss)
    xx = _as_point("x", x)
    pp = as_float("p", p)
    if pp.shape != xx.shape:
        raise ValueError(f"p must have x's shape {xx.shape}, got {pp.shape}")
    return 0.5 * float(np.sum(pp * pp)) + _loss(loss, xx, 0)


def _integrate(method: str, gradient: Callable, x0: Any, p0: Any, h: Any, n_steps: Any,
               loss: Callable | None) -> HamiltonianTrajectory:
    _check_callable("gradient", gradient)
    if loss is not None:
        _check_callable("loss", loss)
    x = _as_point("x0", x0)
    p = as_float("p0", p0).astype(float)
    try:
        p = np.broadcast_to(p, x.shape).copy()
    except ValueError:
        raise ValueError(f"p0 of shape {p.shape} does not broadcast to x0's shape "
                         f"{x.shape}") from None
    h = _eta(h, "h")
    n = as_int("n_steps", n_steps, lo=0)
    xs = np.empty((n + 1, *x.shape))
    ps = np.empty_like(xs)
    en = np.empty(n + 1) if loss is not None else None
    xs[0], ps[0] = x, p
    if en is not None:
        en[0] = 0.5 * float(np.sum(p * p)) + _loss(loss, x, 0)
    g = _grad(gradient, x, 0)
    for k in range(1, n + 1):
        if method == "leapfrog":
            p_half = p - 0.5 * h * g
            x = x + h * p_half
            g = _grad(gradient, x, k)
            p = p_half - 0.5 * h * g
        else:
            x, p = x + h * p, p - h * g
            g = _grad(gradient, x, k)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
            raise ValueError(f"{method}: state not finite at step {k}")
        xs[k], ps[k] = x, p
        if en is not None:
            en[k] = 0.5 * float(np.sum(p * p)) + _loss(loss, x, k)
    return HamiltonianTrajectory(x=xs, p=ps, energy=en, h=h, method=method)


def leapfrog(gradient: Callable, x0: Any, p0: Any, h: float, n_steps: int, *,
             loss: Callable | None = None) -> HamiltonianTrajectory:
    """Stormer-Verlet (leapfrog, kick-drift-kick) for x' = p, p' = -grad L(x) (Hairer,
    Lubich & Wanner 2006, sec. I.1.4):

        p_{k+1/2} = p_k - (h/2) grad L(x_k),   x_{k+1} = x_k + h p_{k+1/2},
        p_{k+1} = p_{k+1/2} - (h/2) grad L(x_{k+1}).

    Symplectic and time-reversible, second order.  Eliminating p gives
    x_{k+1} = 2 x_k - x_{k-1} - h^2 grad L(x_k): heavy ball with beta = 1 and eta = h^2.
    On L = omega^2 |x|^2/2 (h omega < 2) it conserves the modified energy
    |p|^2/2 + (omega^2/2)(1 - h^2 omega^2/4)|x|^2 exactly, so the energy oscillates
    within a relative band h^2 omega^2/(4 - h^2 omega^2) forever; on smooth non-quadratic
    losses the energy error stays O(h^2) without drift (backward error analysis, ibid.
    ch. IX).  ``loss`` (optional) records H = |p|^2/2 + L(x).
    """
    return _integrate("leapfrog", gradient, x0, p0, h, n_steps, loss)


def explicit_euler(gradient: Callable, x0: Any, p0: Any, h: float, n_steps: int, *,
                   loss: Callable | None = None) -> HamiltonianTrajectory:
    """Explicit Euler for x' = p, p' = -grad L(x): x_{k+1} = x_k + h p_k,
    p_{k+1} = p_k - h grad L(x_k) (Hairer, Lubich & Wanner 2006, sec. I.1.2).  Not
    symplectic: on L = omega^2 |x|^2/2 the map (omega x, p) is sqrt(1 + h^2 omega^2) times a
    rotation, so the energy is multiplied by exactly (1 + h^2 omega^2) every step and
    grows like (1 + h^2 omega^2)^k (compare :func:`leapfrog`).
    """
    return _integrate("explicit_euler", gradient, x0, p0, h, n_steps, loss)

