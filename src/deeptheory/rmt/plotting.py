"""Matplotlib figures for the Jacobian spectrum (theory against sampled networks)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .spectrum import jacobian_atoms, jacobian_density, jacobian_max_eigenvalue

__all__ = ["plot_jacobian_spectrum", "plot_max_singular_value"]


def plot_jacobian_spectrum(
    sigma_w2: float,
    sigma_b2: float,
    depth: int,
    activation: Any = "tanh",
    weights: str = "gaussian",
    *,
    samples: np.ndarray | None = None,
    ax: Any = None,
    bins: int = 60,
    points: int = 400,
) -> Any:
    """Density of log10(lambda), lambda an eigenvalue of J J^T (squared singular value of J).

    Theory: lambda ln(10) rho(lambda) from :func:`~deeptheory.rmt.jacobian_density` on a
    log grid (deep networks spread the spectrum over decades); atoms are listed in the
    legend.  ``samples`` (eigenvalues of sampled networks) are drawn as a histogram
    normalised by the total number of samples (so an atom at 0 lowers it like the theory).

    Plotted: lambda ln(10) rho(lambda), rho from S_{J J^T} = S_{D^2}^L S_{W W^T}^L
    (Pennington, Schoenholz & Ganguli 2017, 2018).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    lam = jacobian_max_eigenvalue(sigma_w2, sigma_b2, depth, activation, weights)
    lo = math.log10(lam) - 8.0
    if samples is not None:
        pos = np.asarray(samples, float)
        pos = pos[pos > 0]
        if pos.size:
            lo = max(min(lo, float(np.log10(pos).min())), math.log10(lam) - 30.0)
    u = np.linspace(lo, math.log10(lam), points)
    x = 10.0**u
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dens = np.asarray(jacobian_density(x, sigma_w2, sigma_b2, depth, activation,
                                           weights).density)
    if samples is not None and pos.size:
        # normalised by *all* samples (zeros of an atom and values below the range
        # included), so that heights compare with the theory's continuous part
        hi = math.log10(lam) + 0.05
        width = (hi - lo) / bins
        n_all = np.asarray(samples).size
        ax.hist(np.log10(pos), bins=bins, range=(lo, hi),
                weights=np.full(pos.size, 1.0 / (n_all * width)), color="0.75",
                label=f"sampled ({n_all} eigenvalues)")
    label = "theory (free probability)"
    atoms = [a for a in jacobian_atoms(sigma_w2, sigma_b2, depth, activation, weights)
             if a[1] > 0]
    if atoms:
        label += " + atoms " + ", ".join(f"{m:.2f} at {loc:.3g}" for loc, m in atoms)
    ax.plot(u, x * math.log(10.0) * dens, "C3-", lw=1.5, label=label)
    name = activation if isinstance(activation, str) else activation.name
    ax.set_xlabel(r"$\log_{10}\lambda$ ($\lambda$: eigenvalue of $JJ^T$)")
    ax.set_ylabel("density")
    ax.set_title(f"{name}, {weights}, L = {depth}, "
                 rf"$\sigma_w^2$ = {sigma_w2:.4g}, $\sigma_b^2$ = {sigma_b2:.4g}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_max_singular_value(
    sigma_w2: float,
    sigma_b2: float,
    depths: Any,
    activation: Any = "tanh",
    *,
    ax: Any = None,
    samples: dict[str, np.ndarray] | None = None,
) -> Any:
    """Largest singular value of J, sqrt(lambda_max), against depth, Gaussian vs orthogonal.

    ``samples`` may map "gaussian"/"orthogonal" to sampled largest singular values per
    depth (same length as ``depths``), drawn as markers.

    Theory: sigma_max = sqrt(lambda_max), lambda_max = min over m > 0 of M^{-1}(m)
    (Pennington, Schoenholz & Ganguli 2018).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.8))
    ds = np.asarray(depths, dtype=int)
    for k, w in enumerate(("gaussian", "orthogonal")):
        smax = [math.sqrt(jacobian_max_eigenvalue(sigma_w2, sigma_b2, int(d), activation, w))
                for d in ds]
        ax.plot(ds, smax, f"C{k}-", label=f"{w} (theory)")
        if samples is not None and w in samples:
            ax.plot(ds, samples[w], f"C{k}o", ms=4, label=f"{w} (sampled)")
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"largest singular value of $J$")
    name = activation if isinstance(activation, str) else activation.name
    ax.set_title(f"{name}, " + rf"$\sigma_w^2$ = {sigma_w2:.4g}, $\sigma_b^2$ = {sigma_b2:.4g}",
                 fontsize=9)
    ax.legend(fontsize=8)
    return ax
