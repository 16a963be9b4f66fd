"""Regenerate the figures of docs/rmt.md into docs/figures/.

    python docs/make_rmt_figures.py            # all figures (about a minute on 2 cores)
    python docs/make_rmt_figures.py --quick    # fewer sampled networks

Figures:

* ``rmt_free_checks.png``: free convolutions against known answers: semicircle +
  semicircle, Bernoulli + Bernoulli = arcsine, Marchenko-Pastur x Bernoulli = Marchenko-
  Pastur (built from S-transforms), and the free square of Marchenko-Pastur against the
  eigenvalues of a product of two sampled Wishart matrices.
* ``rmt_jacobian_grid.png``: the eigenvalue density of J J^T (free probability) against
  sampled networks for linear, relu, hard_tanh, erf and tanh, Gaussian and orthogonal
  weights, depth 8, on the critical line.
* ``rmt_max_singular_value.png``: the largest singular value of J against depth, Gaussian
  vs orthogonal weights, tanh at small q* and relu, with sampled networks.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib
from _figures import run  # docs/_figures.py (the script's own folder)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import deeptheory.meanfield as mf  # noqa: E402
from deeptheory import rmt  # noqa: E402
from deeptheory.rmt import laws  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100


def fig_free_checks(quick: bool) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    x = np.linspace(-3.6, 3.6, 300)
    r = rmt.free_additive_convolution(rmt.SemicircleLaw(1.0), rmt.SemicircleLaw(2.0), x)
    axes[0].plot(x, laws.semicircle_pdf(x, 3.0), "k-", lw=3, alpha=0.3, label="semicircle(3)")
    axes[0].plot(x, r.density, "C3--", label="semicircle(1) + semicircle(2)")
    axes[0].set_title("R-transforms add")
    b = rmt.DiscreteLaw([-1.0, 1.0], [0.5, 0.5])
    x = np.linspace(-1.98, 1.98, 300)
    r = rmt.free_additive_convolution(b, b, x)
    axes[1].plot(x, 1 / (np.pi * np.sqrt(4 - x * x)), "k-", lw=3, alpha=0.3,
                 label="arcsine on [-2, 2]")
    axes[1].plot(x, r.density, "C3--", label="Bernoulli(+-1) + Bernoulli(+-1)")
    axes[1].set_ylim(0, 1.2)
    axes[1].set_title("free sum of two symmetric Bernoulli")
    p = 0.4
    x = np.linspace(0.005, 4.2, 300)
    r = rmt.free_multiplicative_convolution(rmt.MarchenkoPasturLaw(1.0),
                                            rmt.DiscreteLaw([0.0, 1.0], [1 - p, p]), x)
    axes[2].plot(x, laws.marchenko_pastur_pdf(x, 1 / p, p), "k-", lw=3, alpha=0.3,
                 label=f"MP(ratio {1 / p:.3g}, var {p}) + atom {1 - p:.1f}")
    axes[2].plot(x, r.density, "C3--", label=f"MP(1) x Bernoulli({p})")
    axes[2].set_ylim(0, 1.0)
    axes[2].set_title("S-transforms multiply")
    n = 300 if quick else 800
    rng = np.random.default_rng(0)
    ev = []
    for _ in range(2 if quick else 4):
        w1 = rng.standard_normal((n, n)) / math.sqrt(n)
        w2 = rng.standard_normal((n, n)) / math.sqrt(n)
        ev.append(np.linalg.svd(w2 @ w1, compute_uv=False) ** 2)
    ev = np.concatenate(ev)
    x = np.linspace(0.02, 6.75, 300)
    r = rmt.free_multiplicative_power(rmt.MarchenkoPasturLaw(1.0), 2, x)
    axes[3].hist(ev, bins=60, range=(0, 6.75), density=True, color="0.75",
                 label=f"W2 W1, N = {n} (sampled)")
    axes[3].plot(x, r.density, "C3-", label="MP(1) squared (free power)")
    axes[3].set_ylim(0, 1.2)
    axes[3].set_title("Fuss-Catalan: (W2 W1)(W2 W1)^T")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.set_xlabel("x")
    fig.tight_layout()
    fig.savefig(OUT / "rmt_free_checks.png", dpi=DPI)
    plt.close(fig)


#: (activation, sigma_b2) on the critical line for the Jacobian grid
GRID = [("linear", 0.0), ("relu", 0.0), ("hard_tanh", 0.05), ("erf", 0.02), ("tanh", 0.05)]


def _critical(act: str, sb2: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(mf.critical_line(sb2, act))


def fig_jacobian_grid(quick: bool) -> None:
    L, n, trials = 8, 400, (1 if quick else 3)
    fig, axes = plt.subplots(2, len(GRID), figsize=(4 * len(GRID), 6.6))
    for j, (act, sb2) in enumerate(GRID):
        sw2 = _critical(act, sb2)
        for i, w in enumerate(("gaussian", "orthogonal")):
            ev = rmt.sample_jacobian_singular_values(sw2, sb2, L, act, width=n, weights=w,
                                                     n_trials=trials, seed=1).ravel()
            ax = axes[i, j]
            if act == "linear" and w == "orthogonal":
                ax.text(0.5, 0.5, "linear, orthogonal:\n$JJ^T = \\sigma_w^{2L} I$, one atom at "
                        f"{sw2 ** L:.3g}\nsampled eigenvalues in\n[{ev.min():.12f}, "
                        f"{ev.max():.12f}]", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            rmt.plot_jacobian_spectrum(sw2, sb2, L, act, w, samples=ev, ax=ax)
    fig.tight_layout()
    fig.savefig(OUT / "rmt_jacobian_grid.png", dpi=DPI)
    plt.close(fig)


def fig_max_singular_value(quick: bool) -> None:
    depths = np.array([1, 2, 4, 8, 16, 32, 64])
    cases = [("tanh", 1e-4), ("relu", 0.0)]
    n = 300 if quick else 500
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (act, sb2) in zip(axes, cases, strict=True):
        sw2 = _critical(act, sb2)
        samples = {}
        for w in ("gaussian", "orthogonal"):
            samples[w] = [
                math.sqrt(rmt.sample_jacobian_singular_values(
                    sw2, sb2, int(d), act, width=n, weights=w, n_trials=1, seed=2).max())
                for d in depths
            ]
        rmt.plot_max_singular_value(sw2, sb2, depths, act, ax=ax, samples=samples)
        ax.set_xscale("log", base=2)
        ax.set_title(ax.get_title() + f" (q* = {float(mf.q_star(sw2, sb2, act)):.3g}), "
                     f"sampled N = {n}", fontsize=9)
    fig.tight_layout()
    fig.savefig(OUT / "rmt_max_singular_value.png", dpi=DPI)
    plt.close(fig)


def main() -> None:
    run(__doc__, OUT, (fig_free_checks, fig_jacobian_grid, fig_max_singular_value))


if __name__ == "__main__":
    main()
