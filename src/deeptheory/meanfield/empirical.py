"""Empirical NNGP and NTK of sampled finite networks (Monte Carlo checks of the wide kernels).

The network (NTK parameterisation, Jacot et al. 2018; Lee et al. 2018, 2019) has
``depth`` = L hidden layers of width N and a scalar readout, inputs x in R^d:

    h^1 = W^1 x + b^1,     h^l = W^l phi(h^{l-1}) + b^l   (l = 2..L),
    f(x) = W^{L+1} phi(h^L) + b^{L+1}                      (W^{L+1}: 1 x N),

    W^l = sqrt(sigma_w2 / n_{l-1}) omega^l,   b^l = sqrt(sigma_b2) beta^l,

with n_0 = d, n_l = N and omega, beta ~ N(0, 1) the trained parameters.  As N -> oo,
f is a Gaussian process with covariance Sigma^{L+1} (the NNGP) and the tangent kernel
sum_theta df(x)/dtheta df(x')/dtheta tends to Theta^{L+1} (the NTK); the recursions
are in :mod:`deeptheory.meanfield.widekernels`.

Networks come from the shared sampler of :mod:`deeptheory.kernels.montecarlo`:
network k uses seed + k, the hidden layers of :func:`empirical_nngp` are
:func:`~deeptheory.kernels.montecarlo.propagate_batch`'s network for that seed, and
:func:`empirical_ntk` draws the *same* hidden layers with
:func:`~deeptheory.kernels.montecarlo.sample_parameters` (depth + 1 layers; the
first row of the extra layer W^{L+1} (N x N, variance sigma_w2 / N) and the first entry
of b^{L+1} are the readout).  So for one seed both functions see one network.

Finite width: the per-network kernels fluctuate by O(1/sqrt N) about their mean and
the mean differs from the infinite-width kernel by O(depth / N) (Hanin & Nica 2019,
"Finite depth and width corrections to the neural tangent kernel"; Yaida 2020);
for depth 1 both means are exact (h^1 is exactly Gaussian and independent of the
readout).  The standard error returned is over networks only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._api import Estimate
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation
from ..kernels.montecarlo import propagate_batch, sample_parameters
from .simulate import _trial_seed

__all__ = ["empirical_nngp", "empirical_ntk"]


def _inputs(x: Any) -> np.ndarray:
    a = as_float("x", x)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"x must be a non-empty 2-D array (n_inputs, d), got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float64)


def _variance(name: str, v: Any) -> float:
    if v is None:
        raise TypeError(f"{name} must be a real number, got None")
    a = as_float(name, v, lo=0.0)
    if a.ndim:
        raise TypeError(f"{name} must be a scalar, got an array of shape {a.shape}")
    return float(a)


def _args(x, depth, sigma_w2, sigma_b2, activation, width, n_networks, seed):
    xa = _inputs(x)
    depth = as_int("depth", depth, lo=1)
    width = as_int("width", width, lo=1)
    n_networks = as_int("n_networks", n_networks, lo=2)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    act = get_activation(activation)
    seed = _trial_seed(seed, n_networks)  # network k uses seed + k < 2**32
    return xa, depth, sw2, sb2, act, width, n_networks, seed


def _warn_nonfinite(name: str, samples: np.ndarray) -> None:
    if not np.isfinite(samples).all():
        warnings.warn(f"{name}: non-finite values (overflow in a deep expanding network); "
                      "reduce depth or sigma_w2", RuntimeWarning, stacklevel=3)


def empirical_nngp(
    x: Any,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    activation: str | Activation = "relu",
    width: int = 1000,
    n_networks: int = 16,
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> Estimate:
    """Monte Carlo NNGP of the scalar readout of finite random networks.

    For each sampled network the readout f = W^{L+1} phi(h^L) + b^{L+1}, with
    W^{L+1}_j ~ N(0, sigma_w2 / N) and b^{L+1} ~ N(0, sigma_b2) independent of the
    hidden layers, has conditional covariance given the last hidden layer

        K(x_a, x_b) = sigma_w2 phi(h^L(x_a)) . phi(h^L(x_b)) / N + sigma_b2,

    which is averaged over ``n_networks`` networks.  As N -> oo it tends to the NNGP
    Sigma^{L+1}(x_a, x_b) (Neal 1996; Lee et al. 2018, "Deep neural networks as
    Gaussian processes"; Matthews et al. 2018); for ``depth`` = 1 its mean is exact.

    Parameters
    ----------
    x : array (n_inputs, d), finite; one input per row.  Layer 1 has
        W^1_ij ~ N(0, sigma_w2 / d), so Sigma^1 = sigma_w2 x.x'/d + sigma_b2.
    depth : number L >= 1 of hidden nonlinear layers.
    sigma_w2, sigma_b2 : weight and bias variances (>= 0, finite).
    activation : name or :class:`~deeptheory.kernels.Activation`.
    width : hidden width N >= 1.
    n_networks : number >= 2 of independent networks.
    seed : int >= 0 (network k uses ``seed + k``, bitwise the network of
        :func:`~deeptheory.kernels.montecarlo.propagate_batch` with that seed), a
        numpy Generator or None (an int seed is then drawn from it).
    progress : a progress bar (tqdm on stderr) of the networks done; off by default.

    Returns
    -------
    :class:`~deeptheory.Estimate` with ``value`` and ``stderr`` of shape
    (n_inputs, n_inputs) (mean over networks and std(ddof=1) / sqrt(n_networks)),
    ``n`` = n_networks and ``samples`` (n_networks, n_inputs, n_inputs).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> est = empirical_nngp(x, depth=1, sigma_w2=2.0, width=200, n_networks=4)
    >>> est.value.shape, est.samples.shape
    ((2, 2), (4, 2, 2))
    """
    prog = check_progress(progress)
    xa, depth, sw2, sb2, act, width, n_networks, seed = _args(
        x, depth, sigma_w2, sigma_b2, activation, width, n_networks, seed)
    samples = np.empty((n_networks, xa.shape[0], xa.shape[0]))
    with progress_bar(n_networks, "empirical_nngp", prog, unit="network") as bar:
        for k in range(n_networks):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                h = propagate_batch(act, xa.T, sw2, sb2, width=width, depth=depth,
                                    seed=seed + k)
            a = act(h[-1])  # (N, P)
            samples[k] = sw2 * (a.T @ a) / width + sb2
            bar.update()
    _warn_nonfinite("empirical_nngp", samples)
    return Estimate.from_samples(samples)


def _network_ntk(xa: np.ndarray, params: list[tuple[np.ndarray, np.ndarray]],
                 act: Activation, sw2: float, sb2: float) -> np.ndarray:
    """Tangent kernel of one network: ``params`` holds L hidden layers and then the
    readout layer, whose first row / first bias entry is used."""
    depth = len(params) - 1
    a = [xa.T]  # a[l] = phi(h^l) (n_l x P), a[0] = x
    dphi = []
    for w, b in params[:depth]:
        h = w @ a[-1] + b[:, None]
        a.append(act(h))
        dphi.append(act(h, 1))
    v = params[depth][0][0]  # readout weights W^{L+1} (length N)
    # layer L + 1: delta = df/df = 1, so its Gram matrix is all ones
    theta = sw2 * (a[depth].T @ a[depth]) / a[depth].shape[0] + sb2
    delta = dphi[depth - 1] * v[:, None]  # delta^L = df/dh^L (N x P)
    for layer in range(depth, 0, -1):  # layer l = depth..1, delta = delta^l
        fan_in = a[layer - 1].shape[0]
        gram_a = sw2 * (a[layer - 1].T @ a[layer - 1]) / fan_in + sb2
        theta += (delta.T @ delta) * gram_a
        if layer > 1:
            delta = dphi[layer - 2] * (params[layer - 1][0].T @ delta)
    return theta


def empirical_ntk(
    x: Any,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    activation: str | Activation = "relu",
    width: int = 1000,
    n_networks: int = 16,
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> Estimate:
    """Monte Carlo neural tangent kernel of finite random networks (NTK parameterisation).

    For each network (module docstring; W^l = sqrt(sigma_w2 / n_{l-1}) omega^l,
    b^l = sqrt(sigma_b2) beta^l) the empirical NTK is

        Theta(x, x') = sum_theta df(x)/dtheta df(x')/dtheta
                     = sum_{l=1}^{L+1} (delta^l . delta'^l)
                       [sigma_w2 (a^{l-1} . a'^{l-1}) / n_{l-1} + sigma_b2],

    because df/domega^l_ij = sqrt(sigma_w2 / n_{l-1}) delta^l_i a^{l-1}_j and
    df/dbeta^l_i = sqrt(sigma_b2) delta^l_i, with a^0 = x, a^l = phi(h^l),
    n_0 = d, n_l = N, and the backpropagated deltas delta^l = df/dh^l:
    delta^{L+1} = 1, delta^L = phi'(h^L) * W^{L+1}, delta^l = phi'(h^l) * (W^{l+1})^T delta^{l+1}.
    It is evaluated for all input pairs at once as a sum of Hadamard products of Gram
    matrices over the batch.  The l = L + 1 term is the per-network NNGP estimate of
    :func:`empirical_nngp`.  As N -> oo, Theta tends to the NTK Theta^{L+1} (Jacot et
    al. 2018, "Neural tangent kernel: convergence and generalization in neural
    networks"; Arora et al. 2019); its fluctuations are O(1/sqrt N) and its mean is
    off by O(depth / N) (Hanin & Nica 2019); for ``depth`` = 1 the mean is exact.

    Parameters
    ----------
    x, depth, sigma_w2, sigma_b2, width, n_networks : as in :func:`empirical_nngp`.
    activation : name or :class:`~deeptheory.kernels.Activation` whose phi' exists as a
        function (``max_deriv >= 1``; relu's phi' is its step, the kink has measure 0).
    seed : int >= 0; network k is
        ``sample_parameters(d, width=width, depth=depth + 1, sigma_w2=sigma_w2,
        sigma_b2=sigma_b2, seed=seed + k)``: its first ``depth`` layers are the hidden
        layers (bitwise those of :func:`empirical_nngp` with the same seed) and the
        first row of W^{depth+1} with the first entry of b^{depth+1} is the readout.
        A numpy Generator or None draws the int seed.
    progress : a progress bar (tqdm on stderr) of the networks done; off by default.

    Returns
    -------
    :class:`~deeptheory.Estimate` as in :func:`empirical_nngp` (value, stderr of shape
    (n_inputs, n_inputs); samples: the per-network tangent kernels).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> est = empirical_ntk(x, depth=2, sigma_w2=2.0, width=100, n_networks=3)
    >>> bool(np.allclose(est.samples, est.samples.transpose(0, 2, 1)))
    True
    """
    prog = check_progress(progress)
    xa, depth, sw2, sb2, act, width, n_networks, seed = _args(
        x, depth, sigma_w2, sigma_b2, activation, width, n_networks, seed)
    act.require(1, "the empirical NTK")
    samples = np.empty((n_networks, xa.shape[0], xa.shape[0]))
    with (np.errstate(over="ignore", invalid="ignore"),
          progress_bar(n_networks, "empirical_ntk", prog, unit="network") as bar):
        for k in range(n_networks):
            params = sample_parameters(xa.shape[1], width=width, depth=depth + 1,
                                       sigma_w2=sw2, sigma_b2=sb2, seed=seed + k)
            samples[k] = _network_ntk(xa, params, act, sw2, sb2)
            bar.update()
    _warn_nonfinite("empirical_ntk", samples)
    return Estimate.from_samples(samples)
