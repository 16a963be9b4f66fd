"""Mean-field quantities of residual networks measured in sampled finite networks.

:func:`simulate_resnet` samples ``n_trials`` independent random residual networks of
width N with :func:`deeptheory.kernels.montecarlo.sample_resnet` and returns, per layer,
the mean over trials and its standard error (an :class:`~deeptheory.Estimate`) of

    p^l = |x^l|^2 / N,  c^l = x_1^l . x_2^l / (|x_1^l| |x_2^l|),  q^l = |h^l|^2 / N,
    r^l = |g^{l-1}|^2 / |g^l|^2  (true backward pass, g^L a fixed unit-variance vector),

the finite-width counterparts of :func:`deeptheory.meanfield.resnet_recursion`
(Yang & Schoenholz 2017, "Mean field residual networks: on the edge of chaos";
Hayou et al. 2021, "Stable ResNet").

Inputs are deterministic, zero-mean and orthogonal: with the cosine vectors
u_k(i) = sqrt(2) cos(pi k (i + 1/2) / N) (|u_k|^2 = N, sum_i u_k(i) = 0 for k = 1..N-1),
x1 = sqrt(p0) u_1, x2 = sqrt(p0) (c0 u_1 + sqrt(1 - c0^2) u_2) and g^L = u_3.  So
|x_a^0|^2 / N = p0, cos(x1, x2) = c0, the inputs' mean component is 0 (the recursion's
default m0 = 0) and |g^L|^2 / N = 1.

Scalars only (one network ensemble per call), like the other ``simulate_*`` functions;
``seed`` is an int >= 0 (trial k uses seed + k), a numpy Generator or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._api import Estimate, Result
from .._progress import check_progress
from .._validation import as_int
from ..kernels import Activation
from ..kernels.montecarlo import ResNetSample, sample_resnet
from .resnet import RESNET_KINDS, branch_scale
from .simulate import _scalar, _trial_seed

__all__ = ["ResNetSimulation", "resnet_inputs", "simulate_resnet"]


@dataclass(frozen=True)
class ResNetSimulation(Result):
    """Per-layer estimates (mean over trials, standard error) of :func:`simulate_resnet`.

    Residual stream, axis 0 = l = 0..depth (row 0: the inputs, stderr 0): ``p`` (=
    |x_1^l|^2 / N), ``p2``, ``p12``, ``c`` (per-trial correlation, then averaged) and
    ``grad_growth`` (|g^l|^2 / |g^L|^2 per trial, then averaged; row depth is 1).
    Per layer, axis 0 = l - 1 for l = 1..depth: ``q`` (|h_1^l|^2 / N) and ``grad_ratio``
    (|g^{l-1}|^2 / |g^l|^2).  ``layers`` = 0..depth, ``alpha`` the branch scale used,
    ``sample`` the raw :class:`~deeptheory.kernels.montecarlo.ResNetSample`.
    """

    layers: np.ndarray
    p: Estimate
    p2: Estimate
    p12: Estimate
    c: Estimate
    q: Estimate
    grad_ratio: Estimate
    grad_growth: Estimate
    alpha: float
    sample: ResNetSample = field(repr=False)


def resnet_inputs(n: int, p0: float = 1.0, c0: float = 0.5) -> tuple[np.ndarray, ...]:
    """Zero-mean inputs x1, x2 (|x_a|^2 / n = p0, cosine c0) and a unit-variance backward
    vector g of length n >= 4, mutually built from the orthogonal cosine vectors u_1, u_2,
    u_3 (see the module docstring); the inputs of :func:`simulate_resnet`."""
    n = as_int("width", n, lo=4)
    p0 = _scalar("p0", p0, lo=0.0)
    c0 = _scalar("c0", c0, lo=-1.0, hi=1.0)
    i = np.arange(n) + 0.5
    u1, u2, u3 = (np.sqrt(2.0) * np.cos(np.pi * k * i / n) for k in (1, 2, 3))
    x1 = np.sqrt(p0) * u1
    x2 = np.sqrt(p0) * (c0 * u1 + np.sqrt(max(0.0, (1.0 - c0) * (1.0 + c0))) * u2)
    return x1, x2, u3


def simulate_resnet(
    sigma_w2: float,
    sigma_b2: float,
    activation: str | Activation = "tanh",
    *,
    depth: int,
    alpha: float | str = 1.0,
    kind: str = "reduced",
    sigma_v2: float = 1.0,
    sigma_a2: float = 0.0,
    p0: float = 1.0,
    c0: float = 0.5,
    width: int = 1000,
    n_trials: int = 8,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> ResNetSimulation:
    """Per-layer p^l, c^l, q^l and gradient ratios of finite random residual networks.

    Networks (Yang & Schoenholz 2017): h^l = W^l x^{l-1} + b^l and
    x^l = x^{l-1} + alpha phi(h^l) (``kind="reduced"``) or
    x^l = x^{l-1} + alpha (V^l phi(h^l) + a^l) (``"full"``), width N = ``width`` in every
    layer; the gradient ratio comes from the true backward pass
    g^{l-1} = g^l + alpha W^T (phi'(h^l) * V^T g^l).  Compare with
    ``resnet_recursion(sigma_w2, sigma_b2, activation, depth=depth, alpha=alpha, kind=kind,
    sigma_v2=sigma_v2, sigma_a2=sigma_a2, p0=p0, c0=c0)``.

    Parameters
    ----------
    sigma_w2, sigma_b2, sigma_v2, sigma_a2 : variances (finite scalars >= 0); the reduced
        network requires sigma_v2 = 1 and sigma_a2 = 0.
    activation : name or :class:`Activation` (phi' must exist).
    depth : L >= 1.  alpha : number >= 0 or "1", "1/sqrt(L)", "1/L" (L = depth).
    kind : "reduced" or "full".  p0, c0 : input squared length per component (>= 0) and
        correlation (in [-1, 1]); see :func:`resnet_inputs`.
    width : N >= 4.  n_trials : >= 2 independent networks.
    weights : "gaussian" or "orthogonal" (W and V).
    seed : int >= 0 (trial k uses seed + k), numpy Generator or None.
    progress : a progress bar (tqdm on stderr) of the trials done; off by default (the
        trials then run in consecutive blocks, block [a, b) seeded with seed + a: bitwise
        the same result).

    Finite width: the estimates carry an O(1/N) bias (the layer's empirical second
    moments fluctuate by O(1/sqrt N) and enter nonlinear maps at second order) on top of
    the standard error; for exponential growth (relu, alpha = 1) the per-trial values are
    log-normal-like and the bias grows with depth (about l / N relative after l layers).
    Cost: every weight matrix is drawn twice (forward and backward); width 1000,
    depth 200, 4 trials took 70-105 s (reduced) and 80-220 s (full) on 2 shared cores.
    """
    prog = check_progress(progress)
    if kind not in RESNET_KINDS:
        raise ValueError(f"kind must be one of {list(RESNET_KINDS)}, got {kind!r}")
    depth = as_int("depth", depth, lo=1)
    width = as_int("width", width, lo=4)
    n_trials = as_int("n_trials", n_trials, lo=2)
    sw2 = _scalar("sigma_w2", sigma_w2, lo=0.0)
    sb2 = _scalar("sigma_b2", sigma_b2, lo=0.0)
    sv2 = _scalar("sigma_v2", sigma_v2, lo=0.0)
    sa2 = _scalar("sigma_a2", sigma_a2, lo=0.0)
    if isinstance(alpha, str):
        al = branch_scale(alpha, depth)
    else:
        al = _scalar("alpha", alpha, lo=0.0)
    if kind == "reduced" and (sv2 != 1.0 or sa2 != 0.0):
        raise ValueError("kind='reduced' has no V, a: sigma_v2 must be 1 and sigma_a2 0 "
                         f"(got {sv2}, {sa2}); use kind='full'")
    x1, x2, g = resnet_inputs(width, p0, c0)
    seed = _trial_seed(seed, n_trials)
    s = sample_resnet(activation, x1, x2, g, sw2, sb2, depth=depth, n_trials=n_trials,
                      alpha=float(al), kind=kind, sigma_v2=sv2, sigma_a2=sa2,
                      weights=weights, seed=seed, progress=prog, desc="simulate_resnet")
    est = Estimate.from_samples
    return ResNetSimulation(
        layers=np.arange(depth + 1),
        p=est(s.p1),
        p2=est(s.p2),
        p12=est(s.p12),
        c=est(s.c),
        q=est(s.q1),
        grad_ratio=est(s.grad_ratio),
        grad_growth=est(s.grad_growth),
        alpha=float(al),
        sample=s,
    )
