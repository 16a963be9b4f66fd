"""Score-based diffusion models on Gaussian-mixture data, where every score is exact.

Forward processes (Song et al. 2021, "Score-based generative modeling through stochastic
differential equations", ICLR), for data p_0 = sum_k pi_k N(m_k, S_k):

* ``"brownian"``: dy = dW (the variance-exploding SDE with sigma^2(t) = t), so
  p_t = sum_k pi_k N(m_k, S_k + t I);
* ``"vp"``: the variance-preserving (Ornstein-Uhlenbeck) SDE of Ho et al. 2020 (DDPM) in
  Song et al.'s continuous form, dy = -(1/2) beta(t) y dt + sqrt(beta(t)) dW with the linear
  schedule beta(t) = beta_min + (beta_max - beta_min) t / T; with B(t) = int_0^t beta,
  p_t = sum_k pi_k N(e^{-B/2} m_k, e^{-B} S_k + (1 - e^{-B}) I).

Both are linear SDEs, so a Gaussian stays Gaussian and p_t is again a mixture with the same
weights: :func:`marginal` returns it, :func:`marginal_score` evaluates its score
grad ln p_t (softmax-weighted component scores; :mod:`deeptheory.kernels.mixture`).

Samplers, from exact samples of p_T down to a time t0 in [0, T) (default 1e-3, as in Song
et al. 2021; the target is then the exact p_{t0}, and t0 = 0 is allowed because every S_k
is positive definite):

* reverse-time SDE (Anderson 1982): dy = [f(y, t) - g(t)^2 grad ln p_t(y)] dt + g(t) dW-bar
  run backwards in t, by Euler-Maruyama (:func:`reverse_sde_sample`);
* probability-flow ODE (Song et al. 2021, eq. 13): dy/dt = f(y, t) - (1/2) g(t)^2
  grad ln p_t(y), which has the same marginals p_t, integrated backwards
  (:func:`probability_flow_sample`) with the compiled Euler, RK4 and Dormand-Prince 5(4)
  steppers of :mod:`deeptheory.kernels.odeint` (the very drivers of
  :func:`~deeptheory.dynamics.odeint_batch`, bound to this right-hand side by
  :func:`deeptheory.kernels.odeint.ode_specialise`);

here f = 0, g^2 = 1 (brownian) or f = -(1/2) beta y, g^2 = beta (vp).  Either sampler takes
the exact score or a user score function ``score(y, t)`` (NumPy, (n, d) -> (n, d)); the
ODE then runs the same steppers with the batch as one state (batch-wide steps).

With the exact score the right-hand side is compiled
(:func:`deeptheory.kernels.linear_sde.sde_mixture_rhs`, the one place that knows the
processes): every point is integrated on its own, and the precision form of
p_t (component precisions and normalisers) is read from a table built once per run for the
stage times of the fixed-step grid (computed on the fly at other times, e.g. by dopri5,
with the same numbers), so an evaluation costs K small quadratic forms and K exponentials.

Checks (:func:`compare_to_target`): per-coordinate Kolmogorov-Smirnov against the exact
marginal CDF (a weighted sum of normal CDFs) with the exact finite-n critical value,
per-coordinate energy distances (Szekely & Rizzo 2013) and W2
(:func:`~deeptheory.dynamics.transport.wasserstein2`) against independent exact samples,
with references computed the same way between exact samples of the same size.
:func:`flow_error_order` measures the global error of the probability-flow ODE against the
number of steps and its order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .._api import Result, as_rng, check_on_fail, report_nonconvergence
from .._progress import check_progress, progress_bar, progress_ranges
from .._validation import as_float, as_int
from ..kernels import odeint as _kode
from ..kernels._threads import pick, thread_count
from ..kernels.linear_sde import (
    sde_mixture_rhs as _drift_rhs,
)
from ..kernels.linear_sde import (
    sde_schedule as _schedule,
)
from ..kernels.linear_sde import (
    sde_schedule_table as _schedule_table,
)
from ..kernels.mixture import (
    gmix_cost_ns,
    gmix_form_size,
    gmix_logpdf_batch,
    gmix_precision_table,
    gmix_score_batch,
    gmix_work_size,
    precision_form,
)
from .transport import wasserstein2

__all__ = [
    "DiffusionSamples",
    "FlowOrder",
    "ForwardProcess",
    "GaussianMixture",
    "SampleCheck",
    "compare_to_target",
    "flow_error_order",
    "marginal",
    "marginal_score",
    "probability_flow_sample",
    "reverse_sde_sample",
]

PROCESSES = ("brownian", "vp")
_KIND = {"brownian": 0, "vp": 1}
#: |sum of the mixture weights - 1| accepted (the weights are then rescaled to sum 1)
WEIGHT_ATOL = 1e-8
#: relative asymmetry |S - S^T| / |S| accepted in a covariance (it is then symmetrised)
SYM_RTOL = 1e-10
#: a covariance is positive definite when its smallest eigenvalue exceeds PD_RTOL d times
#: its largest (below that it is singular to working precision)
PD_RTOL = np.finfo(float).eps
#: probability-flow ODE methods (the fixed-step ones take n_steps)
ODE_METHODS = ("euler", "rk4", "dopri5")
#: smallest rtol accepted by dopri5 (10 machine epsilons, as odeint_batch)
RTOL_MIN = 10.0 * np.finfo(float).eps


# --------------------------------------------------------------------------- the mixture


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """A Gaussian mixture p(y) = sum_k pi_k N(y; m_k, S_k) in R^d (configuration).

    weights : (K,) pi_k > 0 with |sum - 1| <= :data:`WEIGHT_ATOL` (then rescaled to sum 1);
    means : (K, d); covs : (K, d, d) symmetric (to :data:`SYM_RTOL`, then symmetrised) and
    positive definite (smallest eigenvalue > d eps times the largest, :data:`PD_RTOL`).  A
    ValueError names the argument otherwise.
    Stored read-only, with the eigendecompositions S_k = U_k diag(lam_k) U_k^T that the
    compiled density and score use (:mod:`deeptheory.kernels.mixture`).  Methods:
    :meth:`sample`, :meth:`log_density`, :meth:`score` (grad ln p; Hyvarinen 2005),
    :meth:`cdf` (of one coordinate), :meth:`scaled`.
    """

    weights: Any
    means: Any
    covs: Any
    evals: np.ndarray = field(init=False, repr=False)
    evecs: np.ndarray = field(init=False, repr=False)
    log_weights: np.ndarray = field(init=False, repr=False)
    _form: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        w = as_float("weights", self.weights)
        if w.ndim != 1 or w.size < 1:
            raise ValueError(f"weights must be a 1-D array of K >= 1 entries, got shape {w.shape}")
        if np.any(w <= 0.0):
            raise ValueError(f"weights must be > 0 (drop empty components), got min {w.min()}")
        tot = float(w.sum())
        if abs(tot - 1.0) > WEIGHT_ATOL:
            raise ValueError(f"weights must sum to 1 (within {WEIGHT_ATOL:g}), got sum {tot!r}")
        kk = w.size
        m = as_float("means", self.means)
        if m.ndim != 2 or m.shape[0] != kk or m.shape[1] < 1:
            raise ValueError(f"means must have shape ({kk}, d) (one row per weight), got "
                             f"{m.shape}")
        d = m.shape[1]
        s = as_float("covs", self.covs)
        if s.shape != (kk, d, d):
            raise ValueError(f"covs must have shape ({kk}, {d}, {d}), got {s.shape}")
        asym = np.abs(s - np.swapaxes(s, 1, 2)).max(axis=(1, 2))
        scale = np.abs(s).max(axis=(1, 2))
        bad = np.nonzero(asym > SYM_RTOL * scale)[0]
        if bad.size:
            raise ValueError(f"covs[{bad[0]}] is not symmetric (max |S - S^T| = "
                             f"{asym[bad[0]]:.3g})")
        s = 0.5 * (s + np.swapaxes(s, 1, 2))
        lam, u = np.linalg.eigh(s)
        bad = np.nonzero(lam[:, 0] <= PD_RTOL * d * np.abs(lam[:, -1]))[0]
        if bad.size:
            raise ValueError(f"covs[{bad[0]}] must be positive definite, eigenvalues "
                             f"{lam[bad[0], 0]:.3g} to {lam[bad[0], -1]:.3g}")
        w = w / tot
        vals = {"weights": w, "means": m, "covs": s, "evals": lam, "evecs": u,
                "log_weights": np.log(w)}
        for name, v in vals.items():
            v = np.ascontiguousarray(v, dtype=float)
            v.flags.writeable = False
            object.__setattr__(self, name, v)
        object.__setattr__(self, "_form", self.precision_form(1.0, 1.0, 0.0))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return self.means.shape[1]

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.weights.size

    def _points(self, y: Any, name: str = "y") -> tuple[np.ndarray, bool]:
        a = as_float(name, y)
        single = a.ndim == 1
        if single:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (n, {self.dim}) or ({self.dim},), got "
                             f"{np.shape(y)}")
        return np.ascontiguousarray(a), single

    def _kernel_args(self) -> tuple[np.ndarray, ...]:
        return self.log_weights, self.means, self.evecs, self.evals

    def precision_form(self, a: float = 1.0, b: float = 1.0, c: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat (ln-normalisers, means, precisions) of sum_k pi_k N(a m_k, b S_k + c I), the
        form :mod:`deeptheory.kernels.mixture` evaluates (:func:`deeptheory.kernels.mixture.
        gmix_precision`; P_k = U_k diag(1 / (b lam_k + c)) U_k^T)."""
        return precision_form(*self._kernel_args(), a, b, c)

    def sample(self, n: int, seed: Any = 0, *, return_labels: bool = False) -> Any:
        """n independent draws (n, d) (and their component labels if ``return_labels``):
        a label k with probability pi_k, then m_k + L_k z, L_k L_k^T = S_k, z ~ N(0, I)
        (the standard mixture sampler; e.g. Bishop 2006, sec. 9.2)."""
        n = as_int("n", n, lo=1)
        rng = as_rng(seed)
        lab = rng.choice(self.n_components, size=n, p=self.weights)
        z = rng.standard_normal((n, self.dim))
        chol = np.linalg.cholesky(self.covs)
        y = self.means[lab] + np.einsum("nij,nj->ni", chol[lab], z)
        return (y, lab) if return_labels else y

    def log_density(self, y: Any) -> np.ndarray | float:
        """ln p(y) for y (n, d) or (d,): a max-shifted log-sum-exp over the components
        (compiled, :func:`deeptheory.kernels.mixture.gmix_logpdf`)."""
        a, single = self._points(y)
        out = gmix_logpdf_batch(self._form, a)
        return float(out[0]) if single else out

    def score(self, y: Any) -> np.ndarray:
        """grad ln p(y) = -sum_k r_k(y) S_k^{-1} (y - m_k), r_k the posterior component
        probabilities (Hyvarinen 2005; compiled, :func:`deeptheory.kernels.mixture.
        gmix_score`), for y (n, d) or (d,)."""
        a, single = self._points(y)
        out = gmix_score_batch(self._form, a)
        return out[0] if single else out

    def cdf(self, x: Any, axis: int = 0) -> np.ndarray:
        """The CDF of coordinate ``axis``: sum_k pi_k Phi((x - m_k[axis]) / sqrt(S_k[axis,
        axis])) (a marginal of a Gaussian is Gaussian; Anderson 2003, thm. 2.4.3)."""
        ax = as_int("axis", axis, lo=0, hi=self.dim - 1)
        xa = as_float("x", x)
        sd = np.sqrt(self.covs[:, ax, ax])
        z = (xa[..., None] - self.means[:, ax]) / sd
        return np.sum(self.weights * stats.norm.cdf(z), axis=-1)

    def scaled(self, a: float, b: float, c: float) -> GaussianMixture:
        """The mixture sum_k pi_k N(a m_k, b S_k + c I) (b > 0, c >= 0), with the same
        weights: the form of every marginal of a linear forward SDE (:func:`marginal`)."""
        a = float(as_float("a", a))
        b = float(as_float("b", b))
        c = float(as_float("c", c, lo=0.0))
        if b <= 0.0:
            raise ValueError(f"b must be > 0, got {b}")
        return GaussianMixture(self.weights, a * self.means,
                               b * self.covs + c * np.eye(self.dim)[None])


# ------------------------------------------------------------------- forward processes


@dataclass(frozen=True)
class ForwardProcess:
    """A forward noising SDE of a score-based diffusion model (configuration; Song et al.
    2021).

    kind : ``"vp"`` (default; Ho et al. 2020, Song et al. 2021): dy = -(1/2) beta(t) y dt +
        sqrt(beta(t)) dW, beta(t) = beta_min + (beta_max - beta_min) t / T (defaults 0.1,
        20, T = 1: Song et al.'s VP SDE); ``"brownian"``: dy = dW (beta unused).
    T : the horizon (> 0): samplers start from p_T and times must lie in (0, T].
    Methods: :meth:`coefficients` (a, b, c of the marginal), :meth:`g2`, :meth:`drift`.
    """

    kind: str = "vp"
    T: float = 1.0
    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in PROCESSES:
            raise ValueError(f"kind must be one of {PROCESSES}, got {self.kind!r}")
        horizon = float(as_float("T", self.T))
        if horizon <= 0.0:
            raise ValueError(f"T must be > 0, got {horizon}")
        b0 = float(as_float("beta_min", self.beta_min, lo=0.0))
        b1 = float(as_float("beta_max", self.beta_max, lo=0.0))
        if self.kind == "vp" and not (b1 > 0.0 and b1 >= b0):
            raise ValueError(f"beta_max must be > 0 and >= beta_min, got beta_min={b0}, "
                             f"beta_max={b1}")
        object.__setattr__(self, "T", horizon)
        object.__setattr__(self, "beta_min", b0)
        object.__setattr__(self, "beta_max", b1)

    def _params(self) -> tuple[int, float, float, float]:
        return _KIND[self.kind], self.beta_min, self.beta_max, self.T

    def check_time(self, t: Any, name: str = "t") -> float:
        """t as a float in (0, T], or a ValueError naming ``name`` (:func:`marginal`)."""
        tf = float(as_float(name, t))
        if not 0.0 < tf <= self.T:
            raise ValueError(f"{name} must lie in (0, T] = (0, {self.T:g}], got {tf!r}")
        return tf

    def coefficients(self, t: Any) -> tuple[float, float, float]:
        """(a, b, c) with p_t = sum_k pi_k N(a m_k, b S_k + c I): (1, 1, t) for brownian,
        (e^{-B/2}, e^{-B}, 1 - e^{-B}), B = beta_min t + (beta_max - beta_min) t^2 / (2T),
        for vp (Song et al. 2021, eq. 29)."""
        a, b, c, _ = _schedule(*self._params(), self.check_time(t))
        return a, b, c

    def g2(self, t: Any) -> float:
        """The squared diffusion coefficient g(t)^2: 1 (brownian) or beta(t) (vp; Song et
        al. 2021)."""
        return _schedule(*self._params(), self.check_time(t))[3]

    def drift(self, y: Any, t: Any) -> np.ndarray:
        """The drift f(y, t): 0 (brownian) or -(1/2) beta(t) y (vp; Ho et al. 2020)."""
        g2 = self.g2(t)
        ya = as_float("y", y)
        return -0.5 * g2 * ya if self.kind == "vp" else np.zeros_like(ya)


def _process(process: Any) -> ForwardProcess:
    if process is None:
        return ForwardProcess()
    if not isinstance(process, ForwardProcess):
        raise TypeError(f"process must be a ForwardProcess, got {type(process).__name__}")
    return process


def _mixture(mixture: Any) -> GaussianMixture:
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
    return mixture


def marginal(mixture: GaussianMixture, t: Any, process: ForwardProcess | None = None
             ) -> GaussianMixture:
    """The exact marginal p_t of the forward process started at p_0 = ``mixture``.

    For p_0 = sum_k pi_k N(m_k, S_k) and a linear forward SDE (Song et al. 2021; Ho et al.
    2020 for vp), p_t = sum_k pi_k N(a(t) m_k, b(t) S_k + c(t) I) with (a, b, c) from
    :meth:`ForwardProcess.coefficients`: (1, 1, t) for dy = dW; (e^{-B/2}, e^{-B},
    1 - e^{-B}) for vp.  t must lie in (0, T] (ValueError otherwise).
    """
    mix = _mixture(mixture)
    a, b, c = _process(process).coefficients(t)
    return mix.scaled(a, b, c)


def marginal_score(mixture: GaussianMixture, y: Any, t: Any,
                   process: ForwardProcess | None = None) -> np.ndarray:
    """The exact score grad_y ln p_t(y) of :func:`marginal` at y (n, d) or (d,):
    -sum_k r_k(y) C_k(t)^{-1} (y - a(t) m_k), C_k(t) = b(t) S_k + c(t) I, r_k the softmax
    posterior of the components (Song et al. 2021; compiled,
    :func:`deeptheory.kernels.mixture.gmix_score`)."""
    mix = _mixture(mixture)
    a, b, c = _process(process).coefficients(t)
    pts, single = mix._points(y)
    out = gmix_score_batch(mix.precision_form(a, b, c), pts)
    return out[0] if single else out


# ------------------------------------------------------------------------------ samplers


@dataclass(frozen=True)
class DiffusionSamples(Result):
    """Samples of a diffusion sampler (:func:`probability_flow_sample`,
    :func:`reverse_sde_sample`).

    samples : (n, d) the generated points at time t0.
    initial : (n, d) the starting points, exact draws from p_T (or those given).
    target : the exact p_{t0} (:func:`marginal`; p_0 itself when t0 = 0).
    sampler : "probability_flow" or "reverse_sde".
    method : "euler", "rk4", "dopri5" (ODE) or "euler_maruyama" (SDE).
    t0, T : the final and the starting time.
    n_steps : (n,) steps per point (accepted steps for dopri5; a batch-wide count repeated
        for a user score).
    n_fev : (n,) score evaluations per point.
    exact_score : whether the exact mixture score drove the sampler.
    status : (n,) 0 ok, else the code of :data:`deeptheory.kernels.odeint.ODE_STATUS`.
    success : every status is 0.
    """

    samples: np.ndarray
    initial: np.ndarray
    target: GaussianMixture = field(repr=False)
    sampler: str
    method: str
    t0: float
    T: float
    n_steps: np.ndarray = field(repr=False)
    n_fev: np.ndarray = field(repr=False)
    exact_score: bool
    status: np.ndarray = field(repr=False)
    success: bool = True


_FAMILY: list[Any] = []


def _flow_family() -> Any:
    """The odeint drivers bound to :func:`~deeptheory.kernels.linear_sde.sde_mixture_rhs`
    (compiled or loaded on first use)."""
    if not _FAMILY:
        _FAMILY.append(_kode.ode_specialise(_drift_rhs, "gmix_drift"))
    return _FAMILY[0]


#: largest table of precision forms (float64 entries) built for a fixed-step run; beyond it
#: every evaluation builds its own (the same numbers, slower)
MAX_TABLE = 1 << 22


def _table(mix: GaussianMixture, proc: ForwardProcess, times: np.ndarray
           ) -> tuple[np.ndarray, ...]:
    """(times, g^2, ln-normalisers, means, precisions) of p_t at every time (rows), or empty
    arrays when that would exceed :data:`MAX_TABLE` entries."""
    kk, d = mix.n_components, mix.dim
    if times.size * gmix_form_size(kk, d) > MAX_TABLE:
        times = times[:0]
    m = times.size
    logc, mu, prec = np.empty((m, kk)), np.empty((m, kk * d)), np.empty((m, kk * d * d))
    coefs = _schedule_table(*proc._params(), np.ascontiguousarray(times, dtype=float))
    if m:
        gmix_precision_table(*mix._kernel_args(), coefs, logc, mu, prec)
    return (np.ascontiguousarray(times, dtype=float), np.ascontiguousarray(coefs[:, 3]), logc,
            mu, prec)


def _stage_times(t_start: float, h: float, n_steps: int) -> np.ndarray:
    """The times at which the fixed-step drivers evaluate the field, in the floating-point
    expressions of :func:`deeptheory.kernels.odeint.ode_fixed_point` (t0 + s h and
    (t0 + s h) + h / 2), interleaved: row 2 s is step s's start, row 2 s + 1 its midpoint."""
    grid = t_start + np.arange(n_steps + 1) * h
    out = np.empty(2 * n_steps + 1)
    out[0::2] = grid
    out[1::2] = grid[:-1] + 0.5 * h
    return out


def _start(mix: GaussianMixture, proc: ForwardProcess, n: Any, x_T: Any, t0: Any,
           seed: Any) -> tuple[np.ndarray, float, GaussianMixture, np.random.Generator]:
    t_end = float(as_float("t0", t0))
    if not 0.0 <= t_end < proc.T:
        raise ValueError(f"t0 must lie in [0, T) = [0, {proc.T:g}), got {t_end!r}")
    rng = as_rng(seed)
    if x_T is None:
        x = marginal(mix, proc.T, proc).sample(as_int("n", n, lo=1), rng)
    else:
        x, _ = mix._points(x_T, "x_T")
        x = x.copy()
    target = mix if t_end == 0.0 else marginal(mix, t_end, proc)
    return x, t_end, target, rng


def _user_score(score: Any, n: int, d: int) -> Any:
    """score(y (n, d), t) -> (n, d) with its output checked (shape, finiteness)."""
    if not callable(score):
        raise TypeError(f"score must be callable score(y, t) or None, got {type(score).__name__}")

    def call(y: np.ndarray, t: float) -> np.ndarray:
        s = np.asarray(score(y, t), dtype=float)
        if s.shape != (n, d):
            raise ValueError(f"score(y, t) must return shape ({n}, {d}), got {s.shape}")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"score(y, t) returned non-finite values at t = {t!r}")
        return s

    return call


def _coef(proc: ForwardProcess, t: float) -> tuple[float, float]:
    """(drift factor phi, g^2) at t, f(y, t) = -phi y; t may be 0 (inside the samplers)."""
    _, _, _, g2 = _schedule(*proc._params(), t)
    return (0.5 * g2 if proc.kind == "vp" else 0.0), g2


def _report(status: np.ndarray, on_fail: str, what: str) -> None:
    bad = np.nonzero(status)[0]
    if bad.size:
        code = int(status[bad[0]])
        report_nonconvergence(
            f"{what}: {bad.size} point(s) failed (first: point {int(bad[0])}, "
            f"{_kode.ODE_STATUS.get(code, code)}); their samples are nan", on_fail,
            stacklevel=4)


def _point_blocks(npts: int, states: np.ndarray, prog: bool
                  ) -> Iterator[tuple[int, int, np.ndarray]]:
    """(a, b, block) for the points a..b-1 of a compiled run with the exact score:
    ``states`` itself for the single block of a run without a bar, else a fresh
    C-contiguous (outputs, b - a, dim) block (the kernels' own layout) that
    :func:`_store` copies back; with a bar, blocks of at least Numba's thread count."""
    for a, b in progress_ranges(npts, "probability_flow_sample", prog, unit="pt",
                                min_size=thread_count()):
        if a == 0 and b == npts:
            yield a, b, states
        else:
            yield a, b, np.empty((states.shape[0], b - a, states.shape[2]))


def _store(states: np.ndarray, block: np.ndarray, a: int, b: int) -> None:
    """Copy the block of points a..b-1 back into ``states`` (nothing if it is ``states``)."""
    if block is not states:
        states[:, a:b] = block


@contextmanager
def _python_rhs(rhs: Any, total: int | None, prog: bool) -> Iterator[None]:
    """:func:`deeptheory.kernels.odeint.python_rhs` (rhs); with ``prog``, a bar of the
    calls of rhs (score evaluations; ``total`` None when unknown, for dopri5)."""
    if not prog:
        with _kode.python_rhs(rhs):
            yield
        return
    with progress_bar(total, "probability_flow_sample", True, unit="eval") as bar:

        def counted(t: float, y: np.ndarray, out: np.ndarray) -> None:
            rhs(t, y, out)
            bar.update(1)

        with _kode.python_rhs(counted):
            yield


def probability_flow_sample(
    mixture: GaussianMixture, process: ForwardProcess | None = None, n: int = 1000, *,
    n_steps: int | None = 100, method: str = "rk4", t0: float = 1e-3, score: Any = None,
    x_T: Any = None, seed: Any = 0, rtol: float = 1e-8, atol: float = 1e-10,
    max_steps: int = 100000, on_fail: str = "raise", progress: bool = False,
) -> DiffusionSamples:
    """Sample by the probability-flow ODE of Song et al. 2021 (eq. 13), integrated from T
    back to t0:

        dy/dt = f(y, t) - (1/2) g(t)^2 grad ln p_t(y),

    whose solutions started from p_T have the marginals p_t of the forward SDE at every t,
    so y(t0) ~ p_{t0} exactly up to discretisation (Song et al. 2021, app. D.1; Maoutsa,
    Reich & Opper 2020).  Starts from ``n`` exact draws of p_T (:func:`marginal`), or the
    rows of ``x_T``; t0 in [0, T) (default 1e-3; the target is the exact p_{t0}).

    score : None (the exact score of :func:`marginal`, compiled: every point integrated on
        its own, on the thread pool for large batches) or a NumPy function score(y, t),
        y (n, d) -> (n, d), called once per stage for the whole batch (the batch is one
        state of the same steppers, so dopri5's steps are batch-wide).
    method : "euler" or "rk4" with ``n_steps`` equal steps, or "dopri5" (Dormand & Prince
        1980; per-point error control with rtol, atol, at most ``max_steps`` attempts;
        ``n_steps`` must be None).  The steppers are those of
        :func:`~deeptheory.dynamics.odeint_batch` (:mod:`deeptheory.kernels.odeint`).
    Non-finite states stop a point (its sample is nan) and raise a
    :class:`~deeptheory.ConvergenceError` (``on_fail="raise"``), warn or pass silently.
    progress : a progress bar (tqdm on stderr) of the points integrated (exact score: the
        points then run in blocks of at least Numba's thread count, each point integrated
        on its own as in one call, so the samples are bitwise the same) or of the score
        evaluations (a user score); off by default.
    """
    mix = _mixture(mixture)
    proc = _process(process)
    if method not in ODE_METHODS:
        raise ValueError(f"method must be one of {ODE_METHODS}, got {method!r}")
    check_on_fail(on_fail)
    prog = check_progress(progress)
    if method == "dopri5":
        if n_steps is not None:
            raise ValueError("n_steps applies to euler and rk4; dopri5 is adaptive (pass "
                             "n_steps=None)")
        rt = float(as_float("rtol", rtol))
        if not rt >= RTOL_MIN:
            raise ValueError(f"rtol must be >= {RTOL_MIN:.1e} (10 eps), got {rt}")
        at = float(as_float("atol", atol, lo=0.0))
        ms = as_int("max_steps", max_steps, lo=1)
    else:
        if n_steps is None:
            raise ValueError(f"n_steps is required for method {method!r}")
        ns = as_int("n_steps", n_steps, lo=1)
    x, t_end, target, _ = _start(mix, proc, n, x_T, t0, seed)
    m, d = x.shape
    span = proc.T - t_end
    if score is None:
        fam = _flow_family()
        kk = mix.n_components
        if method == "dopri5":
            tab = _table(mix, proc, np.empty(0))
        else:
            tab = _table(mix, proc, _stage_times(proc.T, -span / ns, ns))
        p = (*proc._params(), 0.5, *mix._kernel_args(), *tab)
        nscr = gmix_work_size(kk, d) + gmix_form_size(kk, d)
        x0 = x
        unit = gmix_cost_ns(1, kk, d) * (1 if tab[0].size else 2)
    else:
        fam = _kode.ode_python_family()
        call = _user_score(score, m, d)
        phi_g2 = _coef

        def rhs(t: float, y: np.ndarray, out: np.ndarray) -> None:
            ph, g2 = phi_g2(proc, t)
            yy = y.reshape(m, d)
            with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is a status
                out.reshape(m, d)[...] = -ph * yy - 0.5 * g2 * call(yy, t)

        p = (0,)
        nscr = 0
        x0 = x.reshape(1, m * d)
    npts = x0.shape[0]
    status = np.zeros(npts, dtype=np.int64)
    if method == "dopri5":
        states = np.empty((2, npts, x0.shape[1]))
        counts = np.zeros((npts, 3), dtype=np.int64)
        head = (p, nscr)
        mid = (proc.T, -1.0, np.array([t_end]), np.array([1], dtype=np.int64), rt, at, 0.0,
               span, ms)
        if score is None:
            for a, b, blk in _point_blocks(npts, states, prog):
                pick(fam.ode_dopri_run_serial, fam.ode_dopri_run, (b - a) * 300 * unit)(
                    *head, x0[a:b], *mid, blk, status[a:b], counts[a:b])
                _store(states, blk, a, b)
        else:
            with _python_rhs(rhs, None, prog):
                fam.ode_dopri_run_serial(*head, x0, *mid, states, status, counts)
        steps, fev = counts[:, 0], counts[:, 2]
    else:
        scheme = _kode.ODE_SCHEMES[method]
        states = np.empty((1, npts, x0.shape[1]))
        fev = np.zeros(npts, dtype=np.int64)
        head = (p, nscr)
        mid = (proc.T, -span / ns, ns, scheme, np.array([ns], dtype=np.int64))
        if score is None:
            for a, b, blk in _point_blocks(npts, states, prog):
                pick(fam.ode_fixed_run_serial, fam.ode_fixed_run,
                     (b - a) * ns * scheme * scheme * unit)(
                    *head, x0[a:b], *mid, blk, status[a:b], fev[a:b])
                _store(states, blk, a, b)
        else:
            with _python_rhs(rhs, ns * scheme * scheme, prog):
                fam.ode_fixed_run_serial(*head, x0, *mid, states, status, fev)
        steps = np.where(status == 0, ns, fev // (scheme * scheme))
    out = states[-1].reshape(m, d)
    if score is not None:
        status, steps, fev = (np.repeat(v, m) for v in (status, steps, fev))
    _report(status, on_fail, "probability_flow_sample")
    return DiffusionSamples(samples=out, initial=x, target=target, sampler="probability_flow",
                            method=method, t0=t_end, T=proc.T, n_steps=steps, n_fev=fev,
                            exact_score=score is None, status=status,
                            success=bool(np.all(status == 0)))


def reverse_sde_sample(
    mixture: GaussianMixture, process: ForwardProcess | None = None, n: int = 1000, *,
    n_steps: int = 500, t0: float = 1e-3, score: Any = None, x_T: Any = None, seed: Any = 0,
    on_fail: str = "raise", progress: bool = False,
) -> DiffusionSamples:
    """Sample by the reverse-time SDE (Anderson 1982; Song et al. 2021, eq. 6),

        dy = [f(y, t) - g(t)^2 grad ln p_t(y)] dt + g(t) dW-bar   (t running from T to t0),

    by Euler-Maruyama with ``n_steps`` equal steps h = (T - t0) / n_steps (Kloeden & Platen
    1992; weak order 1): y <- y - h [f(y, t) - g(t)^2 score(y, t)] + g(t) sqrt(h) z,
    t <- t - h, z ~ N(0, I) fresh at every step (also at the last one: the output is a
    draw of the SDE at t0, compared with the exact p_{t0}).  Starts from ``n`` exact draws
    of p_T (or ``x_T``).  score : None (the exact score, its drift compiled by the same
    right-hand side as :func:`probability_flow_sample`) or score(y, t) (NumPy, (n, d) ->
    (n, d)).  A non-finite state raises a :class:`~deeptheory.ConvergenceError`
    (``on_fail="raise"``), warns, or is left as nan.
    progress : a progress bar (tqdm on stderr) of the time steps done (the noise is drawn
        step by step from one stream either way, so the samples are the same); off by
        default.
    """
    mix = _mixture(mixture)
    proc = _process(process)
    check_on_fail(on_fail)
    ns = as_int("n_steps", n_steps, lo=1)
    prog = check_progress(progress)
    x, t_end, target, rng = _start(mix, proc, n, x_T, t0, seed)
    m, d = x.shape
    h = (proc.T - t_end) / ns
    y = x.copy()
    drift = np.empty_like(y)
    if score is None:
        fam = _flow_family()
        kk = mix.n_components
        nscr = gmix_work_size(kk, d) + gmix_form_size(kk, d)
        run = pick(fam.ode_eval_run_serial, fam.ode_eval_run, gmix_cost_ns(m, kk, d))
    else:
        call = _user_score(score, m, d)
    with progress_bar(ns, "reverse_sde_sample", prog, unit="step") as bar:
        for k in range(ns):
            t = proc.T - k * h
            ph, g2 = _coef(proc, t)
            if score is None:
                # the precision form of p_t once for every point: a one-row table
                p = (*proc._params(), 1.0, *mix._kernel_args(),
                     *_table(mix, proc, np.array([t])))
                run(p, nscr, t, y, drift)
            else:
                with np.errstate(over="ignore", invalid="ignore"):  # reported below
                    drift[...] = -ph * y - g2 * call(y, t)
            with np.errstate(over="ignore", invalid="ignore"):
                y -= h * drift
                y += math.sqrt(g2 * h) * rng.standard_normal((m, d))
            bar.update(1)
    status = np.where(np.all(np.isfinite(y), axis=1), 0, 3).astype(np.int64)
    y[status != 0] = np.nan
    _report(status, on_fail, "reverse_sde_sample")
    return DiffusionSamples(samples=y, initial=x, target=target, sampler="reverse_sde",
                            method="euler_maruyama", t0=t_end, T=proc.T,
                            n_steps=np.full(m, ns), n_fev=np.full(m, ns),
                            exact_score=score is None, status=status,
                            success=bool(np.all(status == 0)))


# -------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class SampleCheck(Result):
    """Generated samples against an exact Gaussian mixture (:func:`compare_to_target`).

    ks_stat, ks_pvalue : (d,) one-sample Kolmogorov-Smirnov statistic D_n of every
        coordinate against the exact marginal CDF, and its exact p-value.
    ks_critical : the exact critical value of D_n at level alpha / d (Bonferroni over the
        coordinates; ``scipy.stats.kstwo``, Simard & L'Ecuyer 2011).
    energy, energy_ref : (d,) energy distance of every coordinate to an independent exact
        sample of the same size; the mean over ``n_ref`` pairs of exact samples.
    energy_ref_sd : (d,) the standard deviation of those reference values.
    w2, w2_ref, w2_ref_sd : W2 (:func:`~.transport.wasserstein2`) to an independent exact
        sample of the same size; the mean and standard deviation over the reference pairs.
    z : the number of reference standard deviations above which energy and W2 fail.
    ks_ok, energy_ok, w2_ok, passed : the three verdicts and their conjunction.
    n : sample size (finite rows).
    """

    ks_stat: np.ndarray
    ks_pvalue: np.ndarray
    ks_critical: float
    energy: np.ndarray
    energy_ref: np.ndarray
    energy_ref_sd: np.ndarray
    w2: float
    w2_ref: float
    w2_ref_sd: float
    z: float
    ks_ok: bool
    energy_ok: bool
    w2_ok: bool
    passed: bool
    n: int


def compare_to_target(samples: Any, target: GaussianMixture, *, alpha: float = 0.01,
                      n_ref: int = 8, z: float = 4.0, w2: bool = True, seed: Any = 0,
                      progress: bool = False) -> SampleCheck:
    """Test generated samples (n, d) against the exact mixture ``target``, with tolerances
    set by the sample size.

    * KS: every coordinate against the exact marginal CDF (:meth:`GaussianMixture.cdf`),
      ``scipy.stats.kstest`` (Kolmogorov 1933; Smirnov 1948); pass if every D_n is at most
      the exact level-alpha/d critical value (a false alarm with probability <= alpha).
    * energy distance per coordinate (Szekely & Rizzo 2013, ``scipy.stats.energy_distance``)
      and W2 of the d-dimensional clouds (:func:`~.transport.wasserstein2`; skipped with
      ``w2=False``), each against an independent exact sample of the same size n; the
      reference is the same statistic between two independent exact samples of size n,
      over ``n_ref`` pairs (mean, standard deviation): if the samples follow the target,
      the statistic is one more draw of that reference law, approximately normal for large
      n (del Barrio & Loubes 2019 for W2), so it fails when above mean + z sd.
    Rows with non-finite values are an error (a ValueError naming ``samples``).
    progress : a progress bar (tqdm on stderr) of the comparisons done (the ``n_ref``
    reference pairs, then the samples against their reference: each an energy distance
    per coordinate and, with ``w2``, an exact W2 assignment of n points); off by default.
    """
    tgt = _mixture(target)
    x, _ = tgt._points(samples, "samples")
    n, d = x.shape
    if n < 2:
        raise ValueError(f"samples must hold at least 2 points, got {n}")
    a = float(as_float("alpha", alpha))
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {a}")
    nr = as_int("n_ref", n_ref, lo=2)
    zz = float(as_float("z", z, lo=0.0))
    prog = check_progress(progress)
    rng = as_rng(seed)
    ks = np.empty(d)
    pv = np.empty(d)
    for j in range(d):
        res = stats.kstest(x[:, j], lambda v, j=j: tgt.cdf(v, j))
        ks[j], pv[j] = res.statistic, res.pvalue
    crit = float(stats.kstwo.ppf(1.0 - a / d, n))
    ref = tgt.sample(n, rng)
    en = np.array([stats.energy_distance(x[:, j], ref[:, j]) for j in range(d)])
    en_ref = np.empty((nr, d))
    w2_ref = np.empty(nr)
    with progress_bar(nr + 1, "compare_to_target", prog, unit="pair") as bar:
        for r in range(nr):
            u, v = tgt.sample(n, rng), tgt.sample(n, rng)
            en_ref[r] = [stats.energy_distance(u[:, j], v[:, j]) for j in range(d)]
            w2_ref[r] = wasserstein2(u, v) if w2 else np.nan
            bar.update(1)
        w2_val = wasserstein2(x, ref) if w2 else math.nan
        bar.update(1)
    e_mean, e_sd = en_ref.mean(axis=0), en_ref.std(axis=0, ddof=1)
    w_mean = float(w2_ref.mean())
    w_sd = float(w2_ref.std(ddof=1))
    ks_ok = bool(np.all(ks <= crit))
    en_ok = bool(np.all(en <= e_mean + zz * e_sd))
    w2_ok = (not w2) or bool(w2_val <= w_mean + zz * w_sd)
    return SampleCheck(ks_stat=ks, ks_pvalue=pv, ks_critical=crit, energy=en,
                       energy_ref=e_mean, energy_ref_sd=e_sd, w2=float(w2_val), w2_ref=w_mean,
                       w2_ref_sd=w_sd, z=zz, ks_ok=ks_ok, energy_ok=en_ok, w2_ok=w2_ok,
                       passed=ks_ok and en_ok and w2_ok, n=n)


@dataclass(frozen=True)
class FlowOrder(Result):
    """Global error of the probability-flow ODE against the number of steps
    (:func:`flow_error_order`).

    steps : the step counts; errors : max over the points of |y_N - y_ref| at t0.
    order : least-squares slope of -ln error against ln steps (all counts);
    order_finest : the slope between the two finest counts; order_change : its change
        from the previous pair (the next term of the error expansion: the finest slope is
        within about |order_change| of the asymptotic order when the slopes converge
        geometrically).
    expected : 1 (euler) or 4 (rk4).  method : the scheme.  reference : how y_ref was
    obtained.  points : number of initial points.
    """

    steps: np.ndarray
    errors: np.ndarray
    order: float
    order_finest: float
    order_change: float
    expected: int
    method: str
    reference: str
    points: int


def flow_error_order(
    mixture: GaussianMixture, process: ForwardProcess | None = None, *,
    steps: Any = (16, 32, 64, 128), method: str = "rk4", n: int = 200, t0: float = 1e-3,
    x_T: Any = None, seed: Any = 0, ref_rtol: float = 1e-12,
) -> FlowOrder:
    """Measure the order of :func:`probability_flow_sample` with the exact score: the same
    initial points (n exact draws of p_T, or ``x_T``) are integrated with every step count
    in ``steps`` and compared at t0 with a Dormand-Prince 5(4) solution at rtol
    ``ref_rtol`` (atol ref_rtol / 100); a method of order p has global error C N^{-p}
    (Hairer, Norsett & Wanner 1993, thm. II.3.6), so -slope of ln error vs ln N -> p.
    """
    mix = _mixture(mixture)
    proc = _process(process)
    if method not in ("euler", "rk4"):
        raise ValueError(f"method must be 'euler' or 'rk4', got {method!r}")
    st = np.asarray(steps)
    if st.ndim != 1 or st.size < 2 or not np.issubdtype(st.dtype, np.integer):
        raise ValueError(f"steps must be at least 2 integers, got {steps!r}")
    if np.any(st < 1) or np.any(np.diff(st) <= 0):
        raise ValueError(f"steps must be >= 1 and strictly increasing, got {st.tolist()}")
    x, t_end, _, _ = _start(mix, proc, n, x_T, t0, seed)
    rt = float(as_float("ref_rtol", ref_rtol))
    ref = probability_flow_sample(mix, proc, x_T=x, method="dopri5", n_steps=None, t0=t_end,
                                  rtol=rt, atol=rt / 100.0).samples
    err = np.empty(st.size)
    for i, k in enumerate(st):
        y = probability_flow_sample(mix, proc, x_T=x, method=method, n_steps=int(k),
                                    t0=t_end).samples
        err[i] = np.max(np.abs(y - ref))
    le, ls = np.log(err), np.log(st.astype(float))
    order = float(-np.polyfit(ls, le, 1)[0])
    slopes = -np.diff(le) / np.diff(ls)
    change = float(slopes[-1] - slopes[-2]) if slopes.size > 1 else math.nan
    return FlowOrder(steps=st.copy(), errors=err, order=order, order_finest=float(slopes[-1]),
                     order_change=change, expected=1 if method == "euler" else 4,
                     method=method, reference=f"dopri5 rtol {rt:g}", points=x.shape[0])
