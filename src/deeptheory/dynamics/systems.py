"""The dynamical systems whose Lyapunov spectra :func:`~deeptheory.dynamics.lyapunov_spectrum`
estimates: random recurrent networks in discrete and continuous time, the depth map of a
feed-forward network with fresh weights per layer, and user maps or flows.

Each system is a small frozen configuration object; the constructors ``random_*`` draw
the weights once, from a seeded ``numpy.random.Generator`` with the weight sampler of
:mod:`deeptheory.rmt` (Gaussian N(0, g^2/N) entries, or g times a Haar orthogonal matrix
with the sign fix of Mezzadri 2007), so the same seed gives the same network.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._api import as_rng
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation
from ..rmt.jacobian import _weight

__all__ = [
    "DeepMap",
    "DiscreteRNN",
    "FlowSystem",
    "MapSystem",
    "RateNetwork",
    "random_rate_network",
    "random_rnn",
]

WEIGHTS = ("gaussian", "orthogonal")


def _square(name: str, m: Any) -> np.ndarray:
    a = np.asarray(m, dtype=float) if not np.iscomplexobj(m) else None
    if a is None:
        raise TypeError(f"{name} must be a real matrix")
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ValueError(f"{name} must be a square N x N matrix with N >= 1, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got non-finite entries")
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _vector(name: str, v: Any, n: int) -> np.ndarray:
    a = as_float(name, v)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _inputs(v: Any, n: int) -> np.ndarray | None:
    if v is None:
        return None
    a = as_float("inputs", v)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n or a.shape[0] < 1:
        raise ValueError(f"inputs must have shape ({n},) or (T, {n}), got {np.shape(v)}")
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _activation(a: Any) -> Activation:
    act = get_activation(a)
    act.require(1, "the tangent dynamics (phi' as a function)")
    return act


def _network_fields(net: Any, matrix: str) -> None:
    """Check and freeze the weight matrix ``matrix``, b, activation and inputs of a network."""
    m = _square(matrix, getattr(net, matrix))
    object.__setattr__(net, matrix, m)
    n = m.shape[0]
    object.__setattr__(net, "b", _vector("b", 0.0 if net.b is None else net.b, n))
    object.__setattr__(net, "activation", _activation(net.activation))
    object.__setattr__(net, "inputs", _inputs(net.inputs, n))


@dataclass(frozen=True)
class DiscreteRNN:
    """Discrete-time recurrent network h_{t+1} = W phi(h_t) + b + u_t (Molgedey,
    Schuchhardt & Schuster 1992).  The Jacobian of one step is W diag(phi'(h_t)).

    w : N x N weights; b : bias (length N, default 0); activation : name or
    :class:`~deeptheory.kernels.Activation`; inputs : None, a constant input (length N) or
    a sequence (T, N) whose row t is added at step t (T must cover transient + n_steps).
    """

    w: np.ndarray
    b: np.ndarray | None = None
    activation: Any = "tanh"
    inputs: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _network_fields(self, "w")

    @property
    def width(self) -> int:
        return self.w.shape[0]


@dataclass(frozen=True)
class RateNetwork:
    """Continuous-time rate network tau dh/dt = -h + J phi(h) + b + u(t) (Sompolinsky,
    Crisanti & Sommers 1988); integrated with a fixed step (Euler or RK4, with the tangent
    equation Y' = (-Y + J diag(phi'(h)) Y) / tau).  ``inputs``: as for
    :class:`DiscreteRNN`, row t held constant during step t.
    """

    j: np.ndarray
    tau: float = 1.0
    b: np.ndarray | None = None
    activation: Any = "tanh"
    inputs: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        tau = float(as_float("tau", self.tau))
        if tau <= 0.0:
            raise ValueError(f"tau must be > 0, got {tau}")
        object.__setattr__(self, "tau", tau)
        _network_fields(self, "j")

    @property
    def width(self) -> int:
        return self.j.shape[0]


@dataclass(frozen=True)
class DeepMap:
    """Depth map of a feed-forward network with fresh weights per layer,
    h^{l+1} = W^l phi(h^l) + b^l, W^l ~ N(0, sigma_w2/N) or sqrt(sigma_w2) Haar, b^l ~
    N(0, sigma_b2) drawn anew at every layer (Poole et al. 2016; Pennington, Schoenholz &
    Ganguli 2017).  Its exponents are the log singular values of prod_l D^l W^l per layer.
    """

    width: int
    sigma_w2: float
    sigma_b2: float = 0.0
    activation: Any = "tanh"
    weights: str = "gaussian"

    def __post_init__(self) -> None:
        object.__setattr__(self, "width", as_int("width", self.width, lo=1))
        object.__setattr__(self, "sigma_w2", float(as_float("sigma_w2", self.sigma_w2, lo=0.0)))
        object.__setattr__(self, "sigma_b2", float(as_float("sigma_b2", self.sigma_b2, lo=0.0)))
        object.__setattr__(self, "activation", _activation(self.activation))
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")


@dataclass(frozen=True)
class MapSystem:
    """A user map x_{t+1} = f(x_t) with Jacobian jac(x) (an n x n array).

    Plain Python callables run in a NumPy loop; if both are ``numba.njit`` functions the
    whole loop is compiled (use that for long runs)."""

    f: Callable
    jac: Callable

    def __post_init__(self) -> None:
        for name in ("f", "jac"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{name} must be callable")


@dataclass(frozen=True)
class FlowSystem:
    """A user flow dx/dt = f(x) with Jacobian jac(x) (n x n), integrated with a fixed
    step (RK4 by default) together with the tangent equation Y' = jac(x) Y.  Numba-compiled
    callables run in a compiled loop, as for :class:`MapSystem`."""

    f: Callable
    jac: Callable

    def __post_init__(self) -> None:
        for name in ("f", "jac"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{name} must be callable")


def _gain_weights(width: Any, gain: Any, weights: str, seed: Any) -> tuple[int, float, Any]:
    n = as_int("width", width, lo=1)
    g = float(as_float("gain", gain, lo=0.0))
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    return n, g, as_rng(seed)


def random_rnn(
    width: int, gain: float, *, sigma_b2: float = 0.0, activation: str | Activation = "tanh",
    weights: str = "gaussian", seed: Any = 0,
) -> DiscreteRNN:
    """A random :class:`DiscreteRNN`: W_ij ~ N(0, gain^2 / N) (or gain x Haar orthogonal),
    b_i ~ N(0, sigma_b2), both drawn once from ``seed`` (int, Generator or None).

    The mean-field transition of tanh at sigma_b2 = 0 is gain = 1
    (:func:`~deeptheory.dynamics.critical_gain`).
    """
    n, g, rng = _gain_weights(width, gain, weights, seed)
    sb = math.sqrt(float(as_float("sigma_b2", sigma_b2, lo=0.0)))
    w = _weight(rng, n, g, weights == "orthogonal")
    b = sb * rng.standard_normal(n)
    return DiscreteRNN(w, b, activation)


def random_rate_network(
    width: int, gain: float, *, tau: float = 1.0, zero_diagonal: bool = True,
    activation: str | Activation = "tanh", weights: str = "gaussian", seed: Any = 0,
) -> RateNetwork:
    """A random :class:`RateNetwork` with J_ij ~ N(0, gain^2 / N) (Sompolinsky, Crisanti &
    Sommers 1988: chaos for gain > 1 with tanh), the diagonal set to 0 by default (then
    the exponents sum to exactly -N / tau)."""
    n, g, rng = _gain_weights(width, gain, weights, seed)
    j = _weight(rng, n, g, weights == "orthogonal")
    if zero_diagonal:
        np.fill_diagonal(j, 0.0)
    return RateNetwork(j, tau, None, activation)
