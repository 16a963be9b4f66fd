"""First-order methods on two-player games: the iterations of GAN training in miniature.

A method is a discrete map z_{k+1} = F(z_k), z = (x, y), driven by the simultaneous
gradient field v = (grad_x f, -grad_y f) of a game min_x max_y f(x, y) (:mod:`.games`);
its linearisation is in :mod:`.game_spectra`.

* Iterations (:func:`simultaneous_gd` (Mescheder et al. 2017), :func:`alternating_gd`,
  :func:`extragradient` (Korpelevich 1976), :func:`optimistic_gd` (Daskalakis et al. 2018),
  :func:`sga_gd` (Balduzzi et al. 2018)) return a :class:`GameTrajectory`; a non-finite
  field value stops with a ValueError naming the iteration, an iterate leaving
  ``max_norm`` is a divergence (:class:`~deeptheory.ConvergenceError` by default).
* :func:`game_trajectories`: the trajectories behind a figure of the methods on the
  bilinear game and the Dirac-GAN (Mescheder et al. 2018, figure 1; Gidel et al. 2019),
  returned as a :class:`GameFigureData`.

Sign convention: every method descends v (x descends f, y ascends it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, check_on_fail, report_nonconvergence
from .._progress import check_progress, progress_bar
from .._validation import as_int
from .games import (
    BilinearGame,
    DiracGAN,
    Field,
    _check_out,
    _eta,
    _method,
    _scalar,
    _vector,
    sga_alignment_sign,
    symplectic_gradient_adjustment,
)

__all__ = [
    "GameFigureData",
    "GameTrajectory",
    "alternating_gd",
    "extragradient",
    "game_trajectories",
    "optimistic_gd",
    "sga_gd",
    "simultaneous_gd",
]

#: default bound on |z - z*| beyond which an iteration counts as diverged
MAX_NORM = 1e10


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


# ---------------------------------------------------------------- iterations


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
