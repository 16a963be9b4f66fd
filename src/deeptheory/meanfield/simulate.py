"""Mean-field quantities measured in sampled finite networks (Monte Carlo checks of the theory).

Each function samples ``n_trials`` independent random networks of width N with
:func:`deeptheory.kernels.montecarlo.sample_network` (W_ij ~ N(0, sigma_w^2 / fan_in)
or scaled Haar orthogonal, b_i ~ N(0, sigma_b^2)), measures a per-trial value and
returns an :class:`MCEstimate`: the mean over trials and its standard error
std / sqrt(n_trials) (ddof = 1).  Trials are independent, so the standard error is
honest even though the layers within one trial are correlated.

Measured quantities (Poole et al. 2016, "Exponential expressivity in deep neural
networks through transient chaos"; Schoenholz et al. 2017, "Deep information
propagation"):

    q^l    = |h^l|^2 / N                                     -> q-map   q^l = V(q^{l-1})
    c^l    = (h_1^l . h_2^l) / sqrt(|h_1^l|^2 |h_2^l|^2)       -> C-map   c^l = C(c^{l-1})
    chi_1  = <|t^l|^2 / |t^{l-1}|^2>  over layers l > burn_in  -> sigma_w^2 E[phi'(sqrt(q*) z)^2]
    chi_c  = sigma_w^2 <(1/N) sum_i phi'(h_1i^l) phi'(h_2i^l)>   -> sigma_w^2 E[phi'(u1) phi'(u2)]
    g^l, kappa_l^2 of a great circle of inputs                  -> Poole et al. 2016 eqs. 9-10

where t^l = (d h^l / d x) v is a tangent vector pushed through the network
(t^l = W^l (phi'(h^{l-1}) * t^{l-1})).  Given layer l - 1, E|W u|^2 = sigma_w^2 |u|^2 / N
for both weight ensembles, so each ratio is an estimate of
sigma_w^2 <phi'(h^{l-1})^2>_{t^2-weighted}, i.e. chi_1 at q^{l-1}; after the burn-in
q^{l-1} ~ q*.  Finite width biases every estimate by O(1/N) (the layer-to-layer
fluctuations of q are O(1/sqrt N) and enter the nonlinear maps at second order).

The curve statistics (:func:`simulate_curvature`) push a whole discretised circle of
inputs through each network with :func:`deeptheory.kernels.montecarlo.propagate_batch`
and differentiate along it by finite differences.

Inputs are deterministic (:func:`make_inputs`): orthogonal cosine vectors of
length N0 = ``n0`` (default: the width) scaled so that |x_a|^2 / N0 = q0 and the
cosine similarity of x1 and x2 is c0; the tangent v is a third orthogonal cosine
vector with |v|^2 / N0 = 1.  Both weight ensembles are rotation invariant, so
the direction of the inputs does not matter.  The circle of
:func:`simulate_curvature` is different: it is a curve of *pre-activations* (phi acts
on it coordinate-wise before the first layer, as in Poole et al. 2016), so
:func:`make_circle` spans it by directions whose coordinates look Gaussian.

Reproducibility: ``seed`` is an int >= 0, a :class:`numpy.random.Generator` or None
(fresh entropy); a Generator or None draws the int seed.  Trial k uses Numba's generator
seeded with ``seed + k`` (see :mod:`deeptheory.kernels.montecarlo`; seed + n_trials - 1
must stay below 2**32); the same int seed gives bitwise the same result for any thread
count, and with or without ``progress=True`` (a tqdm bar on stderr of the trials done:
the trials then run in consecutive blocks, block [a, b) seeded with seed + a).

Scalars only: unlike the mean-field functions, the ``simulate_*`` functions do not
broadcast.  ``sigma_w2``, ``sigma_b2``, ``q0``, ``c0`` must be scalars (a 1-D sweep of
sigma_w^2 is :func:`simulate_transition`); an array raises ``TypeError``.  Loop over
parameter values to sample several networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._api import Estimate, Result, as_rng, as_seed
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation
from ..kernels.montecarlo import MAX_SEED, NetworkSample, propagate_batch, sample_network
from .cmap import c_star as _mf_c_star
from .qmap import q_star as _mf_q_star

__all__ = [
    "CurvatureSimulation",
    "LayerSimulation",
    "MCEstimate",
    "TransitionScan",
    "curve_geometry",
    "make_circle",
    "make_inputs",
    "simulate_c_star",
    "simulate_chi1",
    "simulate_chi_c",
    "simulate_curvature",
    "simulate_layers",
    "simulate_q_star",
    "simulate_transition",
]


#: The one estimate type of the package (value, stderr, n); kept under its old name here.
MCEstimate = Estimate


_estimate = Estimate.from_samples


def _scalar(name: str, v: Any, lo: float | None = None, hi: float | None = None) -> float:
    """A finite scalar in [lo, hi]; arrays raise TypeError (the simulate_* functions do not
    broadcast)."""
    if v is None:
        raise TypeError(f"{name} must be a real number, got None")
    a = as_float(name, v, lo=lo, hi=hi)
    if a.ndim:
        raise TypeError(f"{name} must be a scalar: the simulate_* functions do not broadcast "
                        f"(loop over the values), got an array of shape {a.shape}")
    return float(a)


def _trial_seed(seed: Any, n_trials: int) -> int:
    """The int seed of trial 0 from an int >= 0, a numpy Generator or None.

    Trial k uses seed + k, so seed + n_trials - 1 must be <= 2**32 - 1; a Generator or
    None draws a seed in that range.
    """
    hi = MAX_SEED - (n_trials - 1)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed = as_seed(seed)
        if seed > hi:
            raise ValueError(f"seed must be in [0, {hi}] (trial k uses seed + k < 2**32 with "
                             f"n_trials = {n_trials}), got {seed}")
        return seed
    return int(as_rng(seed).integers(0, hi + 1))


@dataclass(frozen=True)
class LayerSimulation(Result):
    """Per-layer estimates for layers 1..depth (axis 0 of each ``mean``/``stderr``).

    ``q1``, ``q2``: |h_a^l|^2 / N; ``q12``: h_1^l . h_2^l / N; ``c``: the per-trial
    correlation q12 / sqrt(q1 q2) averaged over trials; ``g``: |t^l|^2 / N.
    ``sample`` is the raw :class:`NetworkSample`.
    """

    layers: np.ndarray
    q1: MCEstimate
    q2: MCEstimate
    q12: MCEstimate
    c: MCEstimate
    g: MCEstimate
    sample: NetworkSample = field(repr=False)


@dataclass(frozen=True)
class TransitionScan(Result):
    """chi_1 measured along a sweep of sigma_w^2 (see :func:`simulate_transition`).

    ``crossing``: sigma_w^2 where the mean chi_1 first crosses 1 (linear
    interpolation; NaN if it does not cross on the grid).  ``crossing_band``: the
    crossings of mean + 2 stderr and mean - 2 stderr (a rough 2-sigma interval;
    NaN where those curves do not cross).
    """

    sigma_w2: np.ndarray
    chi1: MCEstimate
    crossing: float
    crossing_band: tuple[float, float]


@dataclass(frozen=True)
class CurvatureSimulation(Result):
    """Geometry of a great circle pushed through random networks (see :func:`simulate_curvature`).

    Axis 0 of every ``mean``/``stderr`` is the layer l = 0..depth (l = 0: the input
    circle itself, measured with the same finite differences), as in
    :func:`deeptheory.meanfield.curvature`.  ``g``: length element |dh/dtheta|^2 / N;
    ``kappa2``: squared curvature scaled by N; ``q``: |h|^2 / N; each averaged over the
    points of the circle, then over trials.  ``q0``: the circle's |h^0|^2 / N0;
    ``theta``: the n_points angles.
    """

    layers: np.ndarray
    g: MCEstimate
    kappa2: MCEstimate
    q: MCEstimate
    q0: float
    theta: np.ndarray = field(repr=False)


def make_inputs(n0: int, q0: float = 1.0, c0: float = 0.5) -> tuple[np.ndarray, ...]:
    """Deterministic inputs x1, x2 and tangent v of length n0 (>= 3) for the two-input
    and curvature experiments of Poole et al. 2016.

    With the orthogonal cosine vectors u_k(i) = sqrt(2 - delta_k0) cos(pi k (i + 1/2) / n0),
    k = 0, 1, 2 (|u_k|^2 = n0): x1 = sqrt(q0) u_0, x2 = sqrt(q0) (c0 u_0 + sqrt(1 - c0^2) u_1),
    v = u_2.  So |x_a|^2 / n0 = q0, cos(x1, x2) = c0, |v|^2 / n0 = 1, v orthogonal to both.
    """
    n0 = as_int("n0", n0, lo=3)
    q0 = _scalar("q0", q0, lo=0.0)
    c0 = _scalar("c0", c0, lo=-1.0, hi=1.0)
    i = np.arange(n0) + 0.5
    u0 = np.ones(n0)
    u1 = np.sqrt(2.0) * np.cos(np.pi * i / n0)
    u2 = np.sqrt(2.0) * np.cos(2.0 * np.pi * i / n0)
    x1 = np.sqrt(q0) * u0
    x2 = np.sqrt(q0) * (c0 * u0 + np.sqrt(max(0.0, (1.0 - c0) * (1.0 + c0))) * u1)
    return x1, x2, u2


#: golden-ratio conjugate, for the low-discrepancy angles of :func:`make_circle`
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def make_circle(n0: int, q0: float = 1.0, n_points: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A discretised great circle x(theta) = sqrt(n0 q0) (u0 cos theta + u1 sin theta).

    Returns ``(x, theta)``: x is n0 x n_points (column j is the point at
    theta_j = 2 pi j / n_points), so |x(theta)|^2 / n0 = q0 at every point.  The circle
    has radius R = sqrt(n0 q0): length element |dx/dtheta|^2 / n0 = q0 and curvature
    1 / R, i.e. kappa^2 = n0 / R^2 = 1 / q0 in the sqrt(n0)-scaled units of Poole et al. 2016.

    u0, u1 are orthonormal and *Gaussian-like*: the coordinate pairs
    sqrt(n0) (u0_i, u1_i) are a stratified sample of a standard 2-D Gaussian
    (Rayleigh quantiles for the radius, golden-ratio angles), so that at every theta the
    coordinates of x(theta) look like n0 draws of N(0, q0).  This matters when the
    circle is a set of *pre-activations* (phi is applied to it coordinate-wise): a
    delocalised but non-Gaussian direction such as (1, ..., 1) / sqrt(n0) would give
    |phi(x)|^2 / n0 far from E[phi(sqrt(q0) z)^2].  Deterministic: no random numbers.
    """
    n0 = as_int("n0", n0, lo=3)
    q0 = _scalar("q0", q0, lo=0.0)
    n_points = as_int("n_points", n_points, lo=5)
    i = np.arange(n0) + 0.5
    r = np.sqrt(-2.0 * np.log1p(-i / n0))
    alpha = 2.0 * np.pi * ((i * _GOLDEN) % 1.0)
    u0 = r * np.cos(alpha)
    u1 = r * np.sin(alpha)
    u0 /= np.linalg.norm(u0)
    u1 -= (u1 @ u0) * u0
    u1 /= np.linalg.norm(u1)
    theta = 2.0 * np.pi * np.arange(n_points) / n_points
    x = np.sqrt(n0 * q0) * (np.outer(u0, np.cos(theta)) + np.outer(u1, np.sin(theta)))
    return x, theta


def _sample(sigma_w2, sigma_b2, activation, q0, c0, width, depth, n_trials, weights, seed, n0,
            progress=False, desc="sample_network"):
    n_trials = as_int("n_trials", n_trials, lo=2)  # a standard error needs two trials
    width = as_int("width", width, lo=1)
    sigma_w2 = _scalar("sigma_w2", sigma_w2, lo=0.0)
    sigma_b2 = _scalar("sigma_b2", sigma_b2, lo=0.0)
    seed = _trial_seed(seed, n_trials)
    n0 = width if n0 is None else n0
    x1, x2, v = make_inputs(n0, q0, c0)
    return sample_network(
        activation, x1, x2, v, sigma_w2, sigma_b2,
        width=width, depth=depth, n_trials=n_trials, weights=weights, seed=seed,
        progress=progress, desc=desc,
    )


def _burn_in(burn_in: int | None, depth: int, lo: int) -> int:
    depth = as_int("depth", depth, lo=lo + 1)
    if burn_in is None:
        return max(lo, depth // 2)
    return as_int("burn_in", burn_in, lo=lo, hi=depth - 1)


def simulate_layers(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float = 1.0,
    c0: float = 0.5,
    width: int = 1000,
    depth: int = 10,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> LayerSimulation:
    """Per-layer q^l and c^l of finite random networks, with standard errors over trials.

    Mean-field prediction (Poole et al. 2016, eqs. 3 and 5): q^1 = sigma_w^2 q0 + sigma_b^2,
    q^l = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2, and
    q_12^l = sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2, c^l = q_12^l / sqrt(q_1^l q_2^l)
    (see :func:`deeptheory.meanfield.layer_recursion`).  The finite-width estimates
    carry an O(1/N) bias on top of the O(1/sqrt(N n_trials)) standard error.

    Parameters
    ----------
    sigma_w2, sigma_b2 : weight and bias variances (>= 0).
    activation : name or :class:`Activation` (phi' must exist: the tangent is propagated).
    q0, c0 : squared length per input component and input correlation (see :func:`make_inputs`).
    width, depth, n_trials (>= 2), weights ("gaussian" or "orthogonal") :
        see :func:`deeptheory.kernels.montecarlo.sample_network`.
    seed : int >= 0 (trial k uses seed + k), numpy Generator or None (draws the int seed).
    n0 : input dimension (default: ``width``, so orthogonal first layers are square).
    progress : a progress bar (tqdm on stderr) of the trials done; off by default.
    """
    prog = check_progress(progress)
    s = _sample(sigma_w2, sigma_b2, activation, q0, c0, width, depth, n_trials, weights, seed, n0,
                prog, "simulate_layers")
    return LayerSimulation(
        layers=np.arange(1, s.q1.shape[1] + 1),
        q1=_estimate(s.q1),
        q2=_estimate(s.q2),
        q12=_estimate(s.q12),
        c=_estimate(s.c),
        g=_estimate(s.g),
        sample=s,
    )


def simulate_q_star(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float = 1.0,
    width: int = 1000,
    depth: int = 20,
    burn_in: int | None = None,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> MCEstimate:
    """Fixed point q* of the q-map, q* = sigma_w^2 E[phi(sqrt(q*) z)^2] + sigma_b^2, measured.

    Per trial: the average of |h^l|^2 / N over layers burn_in < l <= depth and over
    two (uncorrelated, c0 = 0) inputs; then mean and standard error over trials.
    ``burn_in`` defaults to depth // 2 (q converges within a few layers away from
    the critical line: |q^l - q*| ~ exp(-l / xi_q), Schoenholz et al. 2017).
    Other parameters as in :func:`simulate_layers`.

    progress : a progress bar (tqdm on stderr) of the trials done; off by default.
    """
    prog = check_progress(progress)
    b = _burn_in(burn_in, depth, 0)
    s = _sample(sigma_w2, sigma_b2, activation, q0, 0.0, width, depth, n_trials, weights, seed, n0,
                prog, "simulate_q_star")
    per_trial = 0.5 * (s.q1[:, b:] + s.q2[:, b:]).mean(axis=1)
    return _estimate(per_trial)


def simulate_c_star(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float = 1.0,
    c0: float = 0.5,
    width: int = 1000,
    depth: int = 30,
    burn_in: int | None = None,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> MCEstimate:
    """Fixed point c* of the C-map, c* = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*, measured.

    Per trial: the correlation c^l = q_12^l / sqrt(q_1^l q_2^l) averaged over layers
    burn_in < l <= depth (default burn_in = depth // 2).  In the ordered phase c* = 1;
    in the chaotic phase c* < 1 (Poole et al. 2016).  Near the critical line the
    approach is slow (1 - c^l ~ 2 / (q* chi_2 l)): a finite depth does not reach c*.
    Other parameters as in :func:`simulate_layers`.

    progress : a progress bar (tqdm on stderr) of the trials done; off by default.
    """
    prog = check_progress(progress)
    b = _burn_in(burn_in, depth, 0)
    s = _sample(sigma_w2, sigma_b2, activation, q0, c0, width, depth, n_trials, weights, seed, n0,
                prog, "simulate_c_star")
    return _estimate(s.c[:, b:].mean(axis=1))


def _chi1_per_trial(s: NetworkSample, b: int) -> np.ndarray:
    g = s.g
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = g[:, b:] / g[:, b - 1 : -1]  # layer l = b + 1 .. depth over layer l - 1
    return ratios.mean(axis=1)


def simulate_chi1(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float = 1.0,
    width: int = 1000,
    depth: int = 20,
    burn_in: int | None = None,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> MCEstimate:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] from the growth of a tangent vector.

    Per trial: the ratios g^l / g^{l-1}, g^l = |t^l|^2 / N, t^l = W^l (phi'(h^{l-1}) t^{l-1}),
    averaged over layers burn_in < l <= depth (burn_in >= 1; default depth // 2);
    then mean and standard error over trials.  This is the mean squared singular
    value growth of the input-output Jacobian per layer: chi_1 < 1 ordered
    (gradients vanish), chi_1 > 1 chaotic (Poole et al. 2016; Schoenholz et al. 2017).
    The ratio (not its logarithm) is averaged: it is unbiased layer by layer given the
    previous layer, while <log ratio> is low by about Var/2 = O(1/N).
    Other parameters as in :func:`simulate_layers`.

    progress : a progress bar (tqdm on stderr) of the trials done; off by default.
    """
    prog = check_progress(progress)
    b = _burn_in(burn_in, depth, 1)
    s = _sample(sigma_w2, sigma_b2, activation, q0, 0.0, width, depth, n_trials, weights, seed, n0,
                prog, "simulate_chi1")
    return _estimate(_chi1_per_trial(s, b))


def _fixed_point_inputs(sw2, sb2, activation, q0, c0):
    """Input q0, c0 (see :func:`make_inputs`) that put layer 1 at the mean-field (q*, c*)."""
    sw2 = _scalar("sigma_w2", sw2, lo=0.0)
    sb2 = _scalar("sigma_b2", sb2, lo=0.0)
    if sw2 == 0.0:  # the inputs do not reach layer 1
        return (1.0 if q0 is None else q0), (1.0 if c0 is None else c0)
    qs = float(_mf_q_star(sw2, sb2, activation))
    if not np.isfinite(qs):
        raise ValueError("q* is infinite (the length diverges): pass q0 and c0 explicitly")
    if q0 is None:
        q0 = (qs - sb2) / sw2  # q^1 = sigma_w^2 q0 + sigma_b^2 = q*
    q1 = sw2 * _scalar("q0", q0, lo=0.0) + sb2
    if c0 is None:
        if qs <= 0.0 or q1 <= sb2:  # q* = 0 (ordered, sigma_b = 0): c* = 1
            c0 = 1.0
        else:
            cs = float(_mf_c_star(sw2, sb2, activation))
            # c^1 = (sigma_w^2 c0 q0 + sigma_b^2) / q^1 = c*
            c0 = float(np.clip((cs * q1 - sb2) / (q1 - sb2), -1.0, 1.0))
    return q0, c0


def simulate_chi_c(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float | None = None,
    c0: float | None = None,
    width: int = 1000,
    depth: int = 20,
    burn_in: int | None = None,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> MCEstimate:
    """chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at (q*, c*), measured in finite networks.

    Schoenholz et al. 2017, eq. 9: chi_c is the slope of the C-map at its fixed point c*,
    chi_c = sigma_w^2 E[phi'(u1) phi'(u2)], u1 = sqrt(q*) z1,
    u2 = sqrt(q*) (c* z1 + sqrt(1 - c*^2) z2); xi_c = -1 / ln chi_c.  In the ordered
    phase c* = 1 and chi_c = chi_1; in the chaotic phase chi_c < 1 < chi_1.

    Per trial: sigma_w^2 times d12^l = (1/N) sum_i phi'(h_{1,i}^l) phi'(h_{2,i}^l) (two
    inputs through the same network), averaged over layers burn_in < l <= depth
    (default burn_in = depth // 2); then mean and standard error over trials.  Given
    layer l - 1 the pair (h_{1,i}^l, h_{2,i}^l) is exactly Gaussian with the empirical
    covariance of that layer, so d12^l estimates E[phi'(u1) phi'(u2)] at (q^l, c^l) up to
    O(1/N) (the fluctuations of the empirical covariance enter at second order).

    By default the inputs put layer 1 at the mean-field fixed point:
    q0 = (q* - sigma_b^2) / sigma_w^2 (so q^1 = q*) and c0 chosen so that c^1 = c*
    (c* from :func:`deeptheory.meanfield.c_star`).  The network then stays at (q*, c*)
    up to finite-width noise; had the theory's c* been wrong, c^l would drift to the
    true one during the burn-in (at the rate chi_c per layer).  Pass ``q0``/``c0``
    (input squared length per component and input correlation, as in
    :func:`make_inputs`) to start elsewhere: then use a burn-in of several
    xi_c = -1 / ln chi_c layers.  Other parameters as in :func:`simulate_layers`.

    progress : a progress bar (tqdm on stderr) of the trials done; off by default.
    """
    prog = check_progress(progress)
    b = _burn_in(burn_in, depth, 0)
    if q0 is None or c0 is None:
        q0, c0 = _fixed_point_inputs(sigma_w2, sigma_b2, activation, q0, c0)
    s = _sample(sigma_w2, sigma_b2, activation, q0, c0, width, depth, n_trials, weights, seed, n0,
                prog, "simulate_chi_c")
    sw2 = _scalar("sigma_w2", sigma_w2, lo=0.0)
    return _estimate(sw2 * s.d12[:, b:].mean(axis=1))


#: central finite-difference stencils along the circle: offset -> weight
_STENCILS = {
    2: ({-1: -0.5, 1: 0.5}, {-1: 1.0, 0: -2.0, 1: 1.0}),
    4: (
        {-2: 1 / 12, -1: -8 / 12, 1: 8 / 12, 2: -1 / 12},
        {-2: -1 / 12, -1: 16 / 12, 0: -30 / 12, 1: 16 / 12, 2: -1 / 12},
    ),
}


def _apply_stencil(h: np.ndarray, stencil: dict[int, float]) -> np.ndarray:
    """sum_k w_k h[..., j + k] with periodic wrap along the last axis."""
    out = np.zeros_like(h)
    for k, w in stencil.items():
        out += w * (np.roll(h, -k, axis=-1) if k else h)
    return out


def curve_geometry(
    h: np.ndarray, dtheta: float, fd_order: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point length element, squared curvature and squared length of a closed curve.

    ``h``: array (..., N, P), the curve sampled at P equally spaced parameter values
    theta_j = j dtheta with periodic wrap (a closed curve).  Central finite differences
    of order ``fd_order`` (2 or 4) along the last axis give the velocity v = dh/dtheta
    and acceleration a = d^2h/dtheta^2, and (Poole et al. 2016 normalisation)

        g = |v|^2 / N,   kappa^2 = N (|v|^2 |a|^2 - (v.a)^2) / |v|^6,   q = |h|^2 / N,

    each of shape (..., P).  kappa is the extrinsic curvature of the curve in R^N
    scaled by sqrt(N) (a circle of radius sqrt(N q) has g = q and kappa^2 = 1 / q).
    Discretisation error: O(dtheta^fd_order) relative, growing with the curve's
    higher derivatives; the 4th-order stencil needs about half the points.
    """
    if fd_order not in _STENCILS:
        raise ValueError(f"fd_order must be 2 or 4, got {fd_order!r}")
    h = np.asarray(h, dtype=float)
    n = h.shape[-2]
    sv, sa = _STENCILS[fd_order]
    v = _apply_stencil(h, sv) / dtheta
    a = _apply_stencil(h, sa) / dtheta**2
    vv = np.einsum("...ij,...ij->...j", v, v) / n
    aa = np.einsum("...ij,...ij->...j", a, a) / n
    va = np.einsum("...ij,...ij->...j", v, a) / n
    qq = np.einsum("...ij,...ij->...j", h, h) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        k2 = (vv * aa - va * va) / vv**3
    return vv, k2, qq


def simulate_curvature(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    depth: int = 8,
    width: int = 1000,
    n_points: int = 64,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    q0: float | None = None,
    fd_order: int = 4,
    progress: bool = False,
) -> CurvatureSimulation:
    """Length element g^l and squared curvature kappa_l^2 of a great circle through random networks.

    Poole et al. 2016 ("Exponential expressivity in deep neural networks through
    transient chaos", eqs. 9-10): a great circle of pre-activations
    h^0(theta) = sqrt(N q*) (u0 cos theta + u1 sin theta) on the q* sphere, pushed
    through h^l = W^l phi(h^{l-1}) + b^l, has in the mean-field limit

        g^l = chi_1 g^{l-1},   kappa_l^2 = 3 chi_2 / chi_1^2 + kappa_{l-1}^2 / chi_1,

    from g^0 = q*, kappa_0^2 = 1 / q* (compare with
    ``deeptheory.meanfield.curvature(..., g0=q0, kappa2_0=1 / q0)``); in the chaotic
    phase kappa^2 tends to 3 chi_2 / (chi_1 (chi_1 - 1)) while g grows like chi_1^l.

    Each trial draws one network (seed + k, as trial k of
    :func:`deeptheory.kernels.montecarlo.sample_network`), pushes the n_points points of
    the circle (:func:`make_circle` with n0 = width, theta_j = 2 pi j / n_points)
    through it with :func:`deeptheory.kernels.montecarlo.propagate_batch`, and measures
    per layer and point g = |v|^2 / N and kappa^2 = N (|v|^2 |a|^2 - (v.a)^2) / |v|^6 with
    finite differences along the circle (:func:`curve_geometry`); the per-trial value is
    the average over the points, then mean and standard error over trials.

    Parameters
    ----------
    sigma_w2, sigma_b2 : weight and bias variances (>= 0).
    activation : name or :class:`Activation` (phi is evaluated; the theory needs phi'').
    depth : L >= 1 layers.  width : N (also the dimension of the input circle).
    n_points : points on the circle (>= 5).  The finite-difference error grows with
        depth in the chaotic phase (the curve gets longer and wigglier).  Mean-field
        values of the stencil estimates for tanh at sigma_w^2 = 4, sigma_b^2 = 0.3,
        fd_order = 4, layer 8: g is 10% low at 64 points, 3% at 96, 1.3% at 128;
        kappa^2 0.4%, 0.4%, 0.2% low.  At layer 4 all of these are below 0.5% from 64
        points on.  fd_order = 2 needs about 4x more points for the same error.
    n_trials : >= 2 independent networks.  weights : "gaussian" or "orthogonal".
    seed : int >= 0 (trial k uses seed + k), numpy Generator or None (draws the int seed).
    q0 : squared length per component of the input circle (default: the mean-field q*).
    fd_order : 2 or 4, the accuracy order of the finite differences.
    progress : a progress bar (tqdm on stderr) of the trials done; off by default.

    Finite width: g is nearly unbiased (E|v^l|^2 given layer l - 1 is exactly
    sigma_w^2 sum_i phi'(h_i)^2 v_i^2 / N), but kappa^2 is a nonlinear function of the
    layer's empirical second moments (|v|^2, |a|^2, v.a over N units), whose O(1/sqrt N)
    fluctuations bias it at second order, and the curve carries every layer's
    distortion forward: the bias is about +c l kappa_l^2 / N at layer l, with c measured
    at 2.5-5 (tanh, sigma_w^2 = 1.5-4, N = 300-2000; e.g. +13% at N = 300 and +3% at
    N = 1000 by layer 8 for sigma_w^2 = 4, sigma_b^2 = 0.3).  Memory: depth x width x
    n_points doubles per trial.
    """
    prog = check_progress(progress)
    act = get_activation(activation)
    depth = as_int("depth", depth, lo=1)
    width = as_int("width", width, lo=3)
    n_trials = as_int("n_trials", n_trials, lo=2)
    seed = _trial_seed(seed, n_trials)
    sigma_w2 = _scalar("sigma_w2", sigma_w2, lo=0.0)
    sigma_b2 = _scalar("sigma_b2", sigma_b2, lo=0.0)
    if fd_order not in _STENCILS:
        raise ValueError(f"fd_order must be 2 or 4, got {fd_order!r}")
    if q0 is None:
        q0 = float(_mf_q_star(sigma_w2, sigma_b2, act))
        if not (np.isfinite(q0) and q0 > 0.0):
            raise ValueError(f"q* = {q0}: the circle needs 0 < q* < inf; pass q0 explicitly")
    q0 = _scalar("q0", q0, lo=0.0)
    if q0 <= 0.0:
        raise ValueError("q0 must be > 0")
    x, theta = make_circle(width, q0, n_points)
    dtheta = 2.0 * np.pi / x.shape[1]
    g = np.empty((n_trials, depth + 1))
    k2 = np.empty_like(g)
    qq = np.empty_like(g)
    g0, k20, q00 = curve_geometry(x, dtheta, fd_order)
    g[:, 0], k2[:, 0], qq[:, 0] = g0.mean(), k20.mean(), q00.mean()
    with progress_bar(n_trials, "simulate_curvature", prog, unit="trial") as bar:
        for k in range(n_trials):
            h = propagate_batch(
                act, x, sigma_w2, sigma_b2, width=width, depth=depth, weights=weights,
                seed=seed + k, preactivation=True,
            )
            gl, kl, ql = curve_geometry(h, dtheta, fd_order)
            g[k, 1:], k2[k, 1:], qq[k, 1:] = gl.mean(axis=-1), kl.mean(axis=-1), ql.mean(axis=-1)
            bar.update()
    return CurvatureSimulation(
        layers=np.arange(depth + 1),
        g=_estimate(g),
        kappa2=_estimate(k2),
        q=_estimate(qq),
        q0=q0,
        theta=theta,
    )


def _first_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """x where y first crosses 1 going up (linear interpolation), NaN if never."""
    d = y - 1.0
    for k in range(len(x) - 1):
        if d[k] < 0.0 <= d[k + 1]:
            return float(x[k] + (x[k + 1] - x[k]) * (-d[k]) / (d[k + 1] - d[k]))
    return float(x[0]) if len(x) and d[0] == 0.0 else float("nan")


def simulate_transition(
    sigma_w2_grid: Any,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    q0: float = 1.0,
    width: int = 500,
    depth: int = 20,
    burn_in: int | None = None,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    n0: int | None = None,
    progress: bool = False,
) -> TransitionScan:
    """Measured chi_1 across a sweep of sigma_w^2, and where it crosses 1 (order/chaos edge).

    Every grid point uses the same seeds (common random numbers), so the curve is
    smooth in sigma_w^2 and its crossing of 1 is located more precisely than the
    per-point standard errors suggest.  For tanh at sigma_b^2 = 0 the mean-field
    transition is at sigma_w^2 = 1, for relu at sigma_w^2 = 2 (Poole et al. 2016;
    Schoenholz et al. 2017).  ``sigma_w2_grid`` must be strictly increasing.
    Other parameters as in :func:`simulate_chi1`.

    progress : a progress bar (tqdm on stderr) of the sigma_w^2 points done (each runs
        ``n_trials`` trials); off by default.
    """
    prog = check_progress(progress)
    grid = as_float("sigma_w2_grid", sigma_w2_grid, lo=0.0)
    if grid.ndim != 1 or grid.size < 1:
        raise ValueError(f"sigma_w2_grid must be a non-empty 1-D array, got shape {grid.shape}")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("sigma_w2_grid must be strictly increasing")
    b = _burn_in(burn_in, depth, 1)
    seed = _trial_seed(seed, as_int("n_trials", n_trials, lo=2))  # common random numbers
    _scalar("sigma_b2", sigma_b2, lo=0.0)
    per = []
    with progress_bar(grid.size, "simulate_transition", prog, unit="point") as bar:
        for sw2 in grid:
            s = _sample(sw2, sigma_b2, activation, q0, 0.0, width, depth, n_trials, weights, seed,
                        n0)
            per.append(_chi1_per_trial(s, b))
            bar.update()
    est = _estimate(np.stack(per, axis=1))
    mean = np.asarray(est.mean)
    se = np.asarray(est.stderr)
    band = (_first_crossing(grid, mean + 2 * se), _first_crossing(grid, mean - 2 * se))
    return TransitionScan(
        sigma_w2=grid, chi1=est, crossing=_first_crossing(grid, mean), crossing_band=band
    )
