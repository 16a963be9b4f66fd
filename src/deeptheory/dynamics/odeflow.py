"""Batched ODE flows of small networks: z' = f(z, t), f a one-hidden-layer network.

    f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t),     z in R^d, hidden width H,

the vector field of a neural ODE (Chen et al. 2018) and the continuous limit of a residual
network x_{l+1} = x_l + h f(x_l, t_l) (an Euler step; E 2017, Haber & Ruthotto 2017).
Weights are given at nodes t_0 < ... < t_K and interpolated linearly in t (K = 0: constant
weights).  :func:`odeint_batch` integrates many initial points at once with compiled
fixed-step Euler or RK4, or adaptive Dormand-Prince 5(4) with per-point error control
(Dormand & Prince 1980; Hairer, Norsett & Wanner 1993, sec. II.4-5); the loops live in
:mod:`deeptheory.kernels.odeint`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._api import Result, as_rng, check_on_fail, report_nonconvergence
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation
from ..kernels import odeint as _kodeint
from ..kernels._threads import pick
from ..kernels.odeint import ODE_NS_PER_UNIT, ODE_SCHEMES

__all__ = [
    "MLPField",
    "OdeSolution",
    "StepUnderflowWarning",
    "odeint_batch",
    "random_mlp_field",
]

METHODS = ("dopri5", "rk4", "euler")
#: relative distance of an output time from the fixed-step grid that still counts as on it
GRID_TOL = 1e-9
#: smallest rtol accepted by dopri5 (10 machine epsilons)
RTOL_MIN = 10.0 * np.finfo(float).eps
#: assumed field evaluations per point of an adaptive run (serial/parallel choice only)
_DOPRI_EVALS_GUESS = 300


class StepUnderflowWarning(RuntimeWarning):
    """An adaptive step of :func:`odeint_batch` fell below 10 eps |t| (Hairer, Norsett &
    Wanner 1993, sec. II.4): that point stopped and its later states are nan."""


def _stack(name: str, v: Any, ndim: int, k1: int | None) -> np.ndarray:
    """A finite float array with ``ndim`` dimensions per node, stacked to (K+1, ...)."""
    a = as_float(name, v)
    if a.ndim == ndim:
        a = a[None]
    if a.ndim != ndim + 1 or a.shape[0] < 1:
        raise ValueError(
            f"{name} must have {ndim} dimensions (constant) or {ndim + 1} (one slice per "
            f"time node), got shape {np.shape(v)}"
        )
    if k1 is not None and a.shape[0] != k1:
        raise ValueError(f"{name} has {a.shape[0]} time nodes, expected {k1}")
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class MLPField:
    """The time-dependent one-hidden-layer vector field of a neural ODE (Chen et al. 2018),

        f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t),

    with the weights given at nodes t_0 < ... < t_K and interpolated linearly in t
    (constant outside [t_0, t_K]): the affine maps are interpolated, W1(t) z + b1(t) =
    (1 - s)(W1_k z + b1_k) + s (W1_{k+1} z + b1_{k+1}), t = (1 - s) t_k + s t_{k+1}.

    w1 : (H, d) or (K+1, H, d); b1 : (H,) or (K+1, H); w2 : (d, H) or (K+1, d, H);
    b2 : (d,) or (K+1, d) (b1, b2 may be None: zero).  activation : a registered name or
    :class:`~deeptheory.kernels.Activation`.  times : the K+1 nodes (strictly increasing);
    None only for constant weights (K = 0).  Arrays are stored as read-only (K+1, ...)
    stacks.  Calling the field, ``field(z, t)``, evaluates f with NumPy (z: (d,) or (n, d)).
    """

    w1: np.ndarray
    b1: np.ndarray | None
    w2: np.ndarray
    b2: np.ndarray | None
    activation: Any = "tanh"
    times: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        w1 = _stack("w1", self.w1, 2, None)
        k1, hdim, d = w1.shape
        if hdim < 1 or d < 1:
            raise ValueError(f"w1 must have H >= 1 rows and d >= 1 columns, got {w1.shape}")
        w2 = _stack("w2", self.w2, 2, k1)
        if w2.shape[1:] != (d, hdim):
            raise ValueError(f"w2 must have shape ({d}, {hdim}) per node, got {w2.shape[1:]}")
        b1 = _stack("b1", np.zeros((k1, hdim)) if self.b1 is None else self.b1, 1, k1)
        if b1.shape[1] != hdim:
            raise ValueError(f"b1 must have length {hdim} per node, got {b1.shape[1]}")
        b2 = _stack("b2", np.zeros((k1, d)) if self.b2 is None else self.b2, 1, k1)
        if b2.shape[1] != d:
            raise ValueError(f"b2 must have length {d} per node, got {b2.shape[1]}")
        if self.times is None:
            if k1 != 1:
                raise ValueError(f"times must give the {k1} weight nodes (got None)")
            tn = np.zeros(1)
        else:
            tn = as_float("times", self.times)
            if tn.ndim == 0:
                tn = tn[None]
            if tn.shape != (k1,):
                raise ValueError(f"times must have shape ({k1},) (one per node), got {tn.shape}")
            if np.any(np.diff(tn) <= 0):
                raise ValueError("times must be strictly increasing")
            tn = np.ascontiguousarray(tn)
        tn.flags.writeable = False
        for name, val in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("times", tn)):
            object.__setattr__(self, name, val)
        object.__setattr__(self, "activation", get_activation(self.activation))

    @property
    def dim(self) -> int:
        """State dimension d."""
        return self.w1.shape[2]

    @property
    def hidden(self) -> int:
        """Hidden width H."""
        return self.w1.shape[1]

    @property
    def n_nodes(self) -> int:
        """Number of weight nodes K + 1."""
        return self.w1.shape[0]

    def weights_at(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(W1(t), b1(t), W2(t), b2(t)) linearly interpolated (clamped outside the nodes)."""
        t = float(as_float("t", t))
        tn = self.times
        if tn.size == 1 or t <= tn[0]:
            k, s = 0, 0.0
        elif t >= tn[-1]:
            k, s = tn.size - 1, 0.0
        else:
            k = int(np.searchsorted(tn, t, side="right")) - 1
            s = (t - tn[k]) / (tn[k + 1] - tn[k])
        if s == 0.0:
            return self.w1[k].copy(), self.b1[k].copy(), self.w2[k].copy(), self.b2[k].copy()
        r = 1.0 - s
        return (r * self.w1[k] + s * self.w1[k + 1], r * self.b1[k] + s * self.b1[k + 1],
                r * self.w2[k] + s * self.w2[k + 1], r * self.b2[k] + s * self.b2[k + 1])

    def __call__(self, z: Any, t: float = 0.0) -> np.ndarray:
        """f(z, t) with NumPy for z of shape (d,) or (n, d) (interpolating the weights,
        which equals interpolating the affine maps)."""
        za = as_float("z", z)
        if za.shape[-1:] != (self.dim,) or za.ndim > 2:
            raise ValueError(f"z must have shape ({self.dim},) or (n, {self.dim}), got {za.shape}")
        w1, b1, w2, b2 = self.weights_at(t)
        return self.activation(za @ w1.T + b1) @ w2.T + b2


def random_mlp_field(
    dim: int, hidden: int, *, sigma_w2: float = 1.0, sigma_b2: float = 0.0,
    activation: Any = "tanh", n_nodes: int = 1, t_max: float = 1.0, smooth: bool = True,
    seed: Any = 0,
) -> MLPField:
    """A random :class:`MLPField` with weights at ``n_nodes`` equally spaced times in
    [0, t_max]: W1 entries N(0, sigma_w2 / d), W2 entries N(0, sigma_w2 / H), b1 and b2
    entries N(0, sigma_b2) at every t (the usual 1/fan-in scaling; Poole et al. 2016).

    ``smooth`` (n_nodes > 1): every entry follows theta(t) = sd (A + B cos(2 pi t / t_max)
    + C sin(2 pi t / t_max)) / sqrt(2) with A, B, C independent N(0, 1), so Var theta(t) =
    sd^2 at every t, sampled at the nodes: a smooth, periodic theta(t) for ResNet-to-ODE
    convergence checks.  Otherwise (``smooth=False``) the nodes are
    independent draws.
    """
    d = as_int("dim", dim, lo=1)
    hdim = as_int("hidden", hidden, lo=1)
    k1 = as_int("n_nodes", n_nodes, lo=1)
    sw = float(as_float("sigma_w2", sigma_w2, lo=0.0))
    sb = float(as_float("sigma_b2", sigma_b2, lo=0.0))
    tm = float(as_float("t_max", t_max))
    if tm <= 0.0:
        raise ValueError(f"t_max must be > 0, got {tm}")
    rng = as_rng(seed)
    tn = np.linspace(0.0, tm, k1) if k1 > 1 else None
    shapes = {"w1": ((hdim, d), sw / d), "b1": ((hdim,), sb),
              "w2": ((d, hdim), sw / hdim), "b2": ((d,), sb)}
    out: dict[str, np.ndarray] = {}
    for name, (shape, var) in shapes.items():
        sd = math.sqrt(var)
        if k1 == 1:
            out[name] = sd * rng.standard_normal(shape)
        elif smooth:
            # Var(a + b cos + c sin) = 1 + cos^2 + sin^2 = 2 at every t
            a, b, c = (rng.standard_normal(shape) for _ in range(3))
            ph = 2.0 * math.pi * tn / tm
            ph = ph.reshape((k1,) + (1,) * len(shape))
            out[name] = sd * (a + b * np.cos(ph) + c * np.sin(ph)) / math.sqrt(2.0)
        else:
            out[name] = sd * rng.standard_normal((k1,) + shape)
    return MLPField(out["w1"], out["b1"], out["w2"], out["b2"], activation=activation,
                    times=tn)


@dataclass(frozen=True)
class OdeSolution(Result):
    """States of a batched ODE flow (:func:`odeint_batch`).

    times : (n_times,) the output times (times[0] is the start).
    states : (n_times, n, d) the state of every point at every output time (or
        (n_times, d) for a single point given as a vector); nan after a point failed.
    method : "dopri5", "rk4" or "euler".
    n_steps_taken : (n,) accepted steps per point (fixed steps: n_steps for every point).
    n_rejected : (n,) rejected steps per point (0 for fixed steps).
    n_fev : (n,) evaluations of f per point.
    status : (n,) 0 ok, 1 max_steps reached, 2 step-size underflow, 3 non-finite state.
    success : every status is 0.
    """

    times: np.ndarray
    states: np.ndarray
    method: str
    n_steps_taken: np.ndarray
    n_rejected: np.ndarray
    n_fev: np.ndarray
    status: np.ndarray = field(repr=False)
    success: bool = True


def _kernels(act: Activation) -> Any:
    """The compiled odeint kernels for ``act``: its CPU family when that carries them
    (deeptheory.kernels.odeint listed in KERNEL_MODULES), else the module's built-in
    compilations (built-in activations) or a family compiled now (user activations)."""
    fam = act.family("cpu")
    if hasattr(fam, "ode_dopri"):
        return fam
    if act.builtin:
        return _kodeint
    from ..kernels._specialise import specialise

    cache = _USER_FAMILIES
    key = act.name
    if key not in cache or cache[key][0] is not act:
        cache[key] = (act, specialise(act.eval_py, "cpu"))
    return cache[key][1]


_USER_FAMILIES: dict[str, tuple[Activation, Any]] = {}


def check_points(field: MLPField, x0: Any, name: str = "x0") -> tuple[np.ndarray, bool]:
    """Initial points as a C-contiguous (n, d) float array, and whether one point (d,) was
    given; a ValueError naming ``name`` when the shape does not match the field or a value
    is not finite."""
    x = as_float(name, x0)
    single = x.ndim == 1
    if single:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != field.dim or x.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (n, {field.dim}) or ({field.dim},), got {np.shape(x0)}"
        )
    return np.ascontiguousarray(x), single


def _times(times: Any) -> tuple[np.ndarray, float]:
    ts = as_float("times", times)
    if ts.ndim != 1 or ts.size < 2:
        raise ValueError(
            f"times must be a 1-D sequence of at least 2 times (t0, t1, ...), got shape {ts.shape}"
        )
    dt = np.diff(ts)
    if np.all(dt > 0):
        return np.ascontiguousarray(ts), 1.0
    if np.all(dt < 0):
        return np.ascontiguousarray(ts), -1.0
    raise ValueError("times must be strictly monotone (dt != 0, all increasing or all decreasing)")


def odeint_batch(
    field: MLPField, x0: Any, times: Any, *, method: str = "dopri5", n_steps: int | None = None,
    rtol: float = 1e-8, atol: float = 1e-10, max_steps: int = 100000,
    first_step: float | None = None, on_fail: str = "raise",
) -> OdeSolution:
    """Integrate z' = f(z, t) (an :class:`MLPField`) for every row of ``x0`` and return the
    states at ``times``.

    x0 : (n, d) initial points (or one point, (d,)).  times : t0, then the output times,
    strictly increasing or strictly decreasing (backward integration); the span is
    t0 -> times[-1].  For a span (t0, t1) pass two times.

    method : "dopri5" (Dormand & Prince 1980 5(4) pair with FSAL; per-point adaptive steps:
        local error norm RMS_j err_j / (atol + rtol max(|y_j|, |y_new_j|)) <= 1, next step
        h min(10, max(0.2, 0.9 err^(-1/5))), initial step by the heuristic of Hairer,
        Norsett & Wanner 1993, sec. II.4; the step is shortened to hit every output time
        and every interior weight node exactly), "rk4" (classical Runge-Kutta) or "euler"
        (forward Euler: the residual network z_{l+1} = z_l + h f(z_l, t_l)), the fixed-step
        methods with ``n_steps`` equal steps over the span (every output time must lie on
        that grid).

    Adaptivity is per point, not per batch: a batch-wide step (what
    ``scipy.integrate.solve_ivp`` does on the flattened n*d system) is set by the hardest
    point, or by the batch average of the error with an RMS norm, so easy points take
    too many steps and hard ones may be under-resolved; per-point control gives each
    point the tolerance asked for at the cost of a loop per point (run in parallel).
    Time dependence of the weights is piecewise linear, so f has kinks at the nodes; the
    fixed-step methods keep their order only when the nodes lie on the step grid.

    max_steps : cap on step attempts per point (dopri5).  Reaching it is a
    :class:`~deeptheory.ConvergenceError` (``on_fail="raise"``), a RuntimeWarning ("warn")
    or silent ("ignore"); the point's later states are nan.  A step that underflows
    (below 10 eps |t|) gives a :class:`StepUnderflowWarning`, a non-finite state a
    RuntimeWarning; those points also stop with nan states.
    """
    if not isinstance(field, MLPField):
        raise TypeError(f"field must be an MLPField, got {type(field).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_on_fail(on_fail)
    x, single = check_points(field, x0)
    ts, sign = _times(times)
    n, d = x.shape
    t0 = float(ts[0])
    span = abs(float(ts[-1]) - t0)
    states = np.empty((ts.size, n, d))
    status = np.zeros(n, dtype=np.int64)
    act = field.activation
    ker = _kernels(act)
    wargs = (act.code, field.times, field.w1, field.b1, field.w2, field.b2)
    unit_ns = field.hidden * (d + 1) * ODE_NS_PER_UNIT
    if method == "dopri5":
        if n_steps is not None:
            raise ValueError("n_steps applies to the fixed-step methods; dopri5 is adaptive")
        rt = float(as_float("rtol", rtol))
        if rt <= 0.0:
            raise ValueError(f"rtol must be > 0, got {rt}")
        if rt < RTOL_MIN:
            raise ValueError(f"rtol must be >= {RTOL_MIN:.1e} (10 eps; below that the "
                             f"error test is rounding noise), got {rt}")
        at = float(as_float("atol", atol, lo=0.0))
        ms = as_int("max_steps", max_steps, lo=1)
        if first_step is None:
            h1 = 0.0
        else:
            h1 = float(as_float("first_step", first_step))
            if h1 <= 0.0:
                raise ValueError(f"first_step must be > 0, got {h1}")
        nodes = field.times
        lo, hi = min(t0, ts[-1]), max(t0, ts[-1])
        inner = nodes[(nodes > lo) & (nodes < hi)]
        # a node within rounding of an output time (0.6 vs 0.6000000000000001) is that stop:
        # a separate stop would ask for a step of ~1e-16 and underflow
        if inner.size:
            gap = np.min(np.abs(inner[:, None] - ts[None, :]), axis=1)
            inner = inner[gap > 1e-12 * max(abs(hi - lo), 1.0)]
        stops = np.concatenate([ts[1:], inner])
        idx = np.concatenate([np.arange(1, ts.size), np.full(inner.size, -1)])
        # sort in the direction of time; an output time equal to a node is one stop
        order = np.lexsort((-idx, sign * stops))
        stops, idx = stops[order], idx[order]
        keep = np.ones(stops.size, dtype=bool)
        keep[1:] = stops[1:] != stops[:-1]
        stops = np.ascontiguousarray(stops[keep])
        idx = np.ascontiguousarray(idx[keep].astype(np.int64))
        counts = np.zeros((n, 3), dtype=np.int64)
        run = pick(ker.ode_dopri_serial, ker.ode_dopri, n * _DOPRI_EVALS_GUESS * unit_ns)
        run(*wargs, x, t0, sign, stops, idx, rt, at, h1, span, ms, states, status, counts)
        acc, rej, fev = counts[:, 0], counts[:, 1], counts[:, 2]
    else:
        if n_steps is None:
            raise ValueError(f"n_steps is required for method {method!r}")
        ns = as_int("n_steps", n_steps, lo=1)
        h = (float(ts[-1]) - t0) / ns
        pos = (ts - t0) / h
        steps = np.rint(pos)
        if np.any(np.abs(pos - steps) > GRID_TOL * ns):
            raise ValueError(
                f"times must lie on the grid of n_steps={ns} equal steps from {t0} to "
                f"{float(ts[-1])} (step {h})"
            )
        out_step = np.ascontiguousarray(steps.astype(np.int64))
        fev = np.zeros(n, dtype=np.int64)
        stages = ODE_SCHEMES[method] ** 2  # 1 (Euler) or 4 (RK4)
        run = pick(ker.ode_fixed_serial, ker.ode_fixed, n * ns * stages * unit_ns)
        run(*wargs, x, t0, h, ns, ODE_SCHEMES[method], out_step, states, status, fev)
        acc = np.where(status == 0, ns, fev // stages)
        rej = np.zeros(n, dtype=np.int64)
    _report(status, method, ms if method == "dopri5" else 0, on_fail)
    return OdeSolution(times=ts, states=states[:, 0, :] if single else states, method=method,
                       n_steps_taken=acc, n_rejected=rej, n_fev=fev, status=status,
                       success=bool(np.all(status == 0)))


def _report(status: np.ndarray, method: str, max_steps: int, on_fail: str) -> None:
    n = status.size
    for code, what in ((3, "a non-finite state"), (2, "a step-size underflow")):
        bad = int(np.sum(status == code))
        if bad:
            cls = StepUnderflowWarning if code == 2 else RuntimeWarning
            warnings.warn(
                f"odeint_batch ({method}): {bad} of {n} points stopped at {what} (the "
                f"flow may blow up, or the tolerance is too tight); their later states are nan",
                cls, stacklevel=3,
            )
    bad = int(np.sum(status == 1))
    if bad:
        report_nonconvergence(
            f"odeint_batch ({method}): {bad} of {n} points reached max_steps={max_steps} "
            f"before the last output time; raise max_steps or loosen rtol/atol (their later "
            f"states are nan)",
            on_fail, stacklevel=4,
        )
