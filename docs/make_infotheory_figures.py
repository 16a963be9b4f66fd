"""Regenerate the figures of docs/infotheory.md into docs/figures/.

    python docs/make_infotheory_figures.py            # all figures (197.5 s on 2 cores, 2026-11-30)
    python docs/make_infotheory_figures.py --quick    # shorter training, fewer samples

Figures:

* ``info_estimators.png``: KSG (algorithms 1, 2) against -1/2 ln(1 - rho^2) for Gaussian
  pairs and for the same pairs through invertible maps; Kolchinsky-Tracey bounds against
  the exact I(X;T) of a Gaussian mixture as the noise varies.
* ``info_bottleneck.png``: the IB curve of a binary symmetric channel (its first
  transition at beta_c = 1/(1 - 2e)^2) and the annealed iterative IB on a discretised
  Gaussian against the closed-form Gaussian IB curve (Chechik et al. 2005).
* ``info_plane.png``: the information plane of the 12-bit task, tanh and relu, by
  binning and by KDE (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
from _figures import run  # docs/_figures.py (the script's own folder)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.stats import norm  # noqa: E402

from deeptheory import infotheory as it  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100


def fig_estimators(quick: bool) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    n = 2000 if quick else 5000
    rhos = np.linspace(0.0, 0.95, 12)
    rng = np.random.default_rng(0)
    est = {1: [], 2: [], "maps": []}
    for r in rhos:
        x = rng.standard_normal(n)
        y = r * x + math.sqrt(1 - r * r) * rng.standard_normal(n)
        est[1].append(it.ksg_mi(x, y, k=3, algorithm=1))
        est[2].append(it.ksg_mi(x, y, k=3, algorithm=2))
        est["maps"].append(it.ksg_mi(x**3, np.exp(y), k=3, algorithm=1))
    ax = axes[0]
    ax.plot(rhos, it.gaussian_mi_bivariate(rhos), "k-", label=r"$-\frac{1}{2}\ln(1-\rho^2)$")
    ax.plot(rhos, est[1], "o", ms=4, label="KSG 1")
    ax.plot(rhos, est[2], "s", ms=4, mfc="none", label="KSG 2")
    ax.plot(rhos, est["maps"], "x", label=r"KSG 1 on $(x^3, e^y)$")
    ax.set_xlabel(r"$\rho$")
    ax.set_ylabel("I(X;Y) [nats]")
    ax.set_title(f"KSG, k = 3, N = {n}")
    ax.legend(fontsize=8)
    # Gaussian mixture: X uniform on {-1, 0, 2}, T = X + N(0, s^2)
    centres = np.array([-1.0, 0.0, 2.0])
    s2s = np.geomspace(1e-2, 10, 25)
    true, lo, up = [], [], []
    for s2 in s2s:
        s = math.sqrt(s2)

        def mix(t, s=s):
            return np.mean(norm.pdf(t, centres, s))

        h_t = quad(lambda t, mix=mix: -mix(t) * math.log(max(mix(t), 1e-300)),
                   -1 - 12 * s, 2 + 12 * s, limit=200, points=list(centres))[0]
        true.append(h_t - 0.5 * math.log(2 * math.pi * math.e * s2))
        b = it.pairwise_mi_bounds(centres, s2)
        lo.append(b.lower)
        up.append(b.upper)
    ax = axes[1]
    ax.semilogx(s2s, true, "k-", label="exact (quadrature)")
    ax.semilogx(s2s, up, "C3--", label="upper (KL)")
    ax.semilogx(s2s, lo, "C0--", label="lower (Bhattacharyya)")
    ax.axhline(math.log(3), color="0.6", lw=0.8, label="ln 3")
    ax.set_xlabel(r"noise variance $s^2$")
    ax.set_ylabel("I(X;T) [nats]")
    ax.set_title("Kolchinsky-Tracey bounds, X uniform on {-1, 0, 2}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "info_estimators.png", dpi=DPI)
    plt.close(fig)


def fig_bottleneck(quick: bool) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    e = 0.1
    pxy = 0.5 * np.array([[1 - e, e], [e, 1 - e]])
    bc = 1 / (1 - 2 * e) ** 2
    betas = np.linspace(1.0, 4.0, 61)
    c = it.ib_curve(pxy, betas, n_t=2, tol=1e-12, max_iter=200_000)
    ax = axes[0]
    ax.plot(c.beta, c.i_xt, "C0-", label="I(X;T)")
    ax.plot(c.beta, c.i_ty, "C1-", label="I(T;Y)")
    ax.axvline(bc, color="k", ls=":", label=r"$\beta_c = 1/(1-2e)^2$")
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel("nats")
    ax.set_title(f"IB of a binary symmetric channel, e = {e}")
    ax.legend(fontsize=8)
    rho, n = 0.8, (30 if quick else 50)
    edges = np.linspace(-4.5, 4.5, n + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    w = np.diff(norm.cdf(edges))
    xx, yy = np.meshgrid(mid, mid, indexing="ij")
    dens = np.exp(-(xx**2 - 2 * rho * xx * yy + yy**2) / (2 * (1 - rho**2)))
    p = dens * np.outer(w, w) / np.outer(norm.pdf(mid), norm.pdf(mid))
    p /= p.sum()
    # stopping rule: encoder change < 1e-8 or L settled to 1e-9 relative (ltol); near
    # transitions the encoder drifts along flat directions long after L has converged.
    # The SQUAREM-accelerated iteration converges at all 25 betas (the plain one left 8
    # at the 20,000-iteration cap)
    c = it.ib_curve(p, np.geomspace(1.2, 80, 25), n_t=n, tol=1e-8, ltol=1e-9,
                    max_iter=5_000 if quick else 20_000)
    print(f"  IB on the {n} x {n} grid: {int(c.converged.sum())} of {c.beta.size} betas "
          "converged")
    ix = np.linspace(0, 3, 200)
    ax = axes[1]
    ax.plot(ix, it.gaussian_ib_curve(ix, [[1.0]], [[rho]], [[1.0]]), "k-",
            label="Gaussian IB (Chechik et al. 2005)")
    ax.plot(c.i_xt, c.i_ty, "o", ms=4, label=f"iterative IB, {n} x {n} grid")
    ax.axhline(-0.5 * math.log(1 - rho**2), color="0.6", lw=0.8, label="I(X;Y)")
    ax.set_xlabel("I(X;T) [nats]")
    ax.set_ylabel("I(T;Y) [nats]")
    ax.set_title(r"IB curve, bivariate Gaussian $\rho$ = 0.8")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "info_bottleneck.png", dpi=DPI)
    plt.close(fig)


def fig_plane(quick: bool) -> None:
    task = it.twelve_bit_task()
    epochs = 500 if quick else 4000
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for i, act in enumerate(("tanh", "relu")):
        run = it.train_mlp(task.x, task.y, activation=act, epochs=epochs, n_record=40, seed=0)
        pb = it.information_plane(run, task.y)
        rec = np.unique(np.linspace(0, len(run.epochs) - 1, 6 if quick else 12).astype(int))
        pk = it.information_plane(run, task.y, estimator="kde", records=rec)
        it.plot_information_plane(pb, axes[i, 0], f"{act}: binning (30 bins)")
        it.plot_information_plane(pk, axes[i, 1], f"{act}: KDE upper bound, s^2 = 1e-3")
    fig.suptitle(f"12-bit task, 12-10-7-5-4-3-2 network, Adam lr 4e-4, {epochs} epochs",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "info_plane.png", dpi=DPI)
    plt.close(fig)


def main() -> None:
    run(__doc__, OUT, (fig_estimators, fig_bottleneck, fig_plane))


if __name__ == "__main__":
    main()
