"""Regenerate the figures of docs/spinglass.md into docs/figures/.

    python docs/make_spinglass_figures.py            # all figures
    python docs/make_spinglass_figures.py --quick    # fewer starts and samples

CPU time (2-core machine under load, see docs/spinglass.md): full 689 s, --quick 98 s.

Figures:

* ``spinglass_complexity.png``: Theta_p(u), Theta_{k,p}(u) for p = 3 (bottom of the
  landscape) and the finite-N exact counts (1/N) ln E Crt_N(u) approaching Theta_p.
* ``spinglass_index.png``: the index law of Bray & Dean and the shifted-semicircle Hessian
  spectrum at a critical point of energy u.
* ``spinglass_mc.png``: Monte Carlo on sampled Hamiltonians: energies of gradient-descent
  minima against -E_0 and -E_inf; mean counts of critical points by index at N = 5 against
  the exact finite-N formula; the Hessian spectrum at found minima against the shifted
  semicircle; and the Choromanska et al. experiment (final losses of many initialisations
  of small relu networks, narrowing with size).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from _figures import run  # docs/_figures.py (the script's own folder)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deeptheory import spinglass as sg  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100


def fig_complexity(quick: bool) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    sg.plot_complexity(3, ks=(0, 1, 2, 5), ax=axes[0])
    ax = axes[1]
    p = 3
    u = np.linspace(-1.9, 0.6, 120)
    ax.plot(u, sg.theta(u, p), "k-", lw=2, label=r"$\Theta_3(u)$ (N $\to\infty$)")
    for n in (10, 40, 160) if quick else (10, 40, 160, 400):
        vals = np.array([sg.expected_critical_points_total(n, p, u_max=float(v)) for v in u])
        with np.errstate(divide="ignore"):
            ax.plot(u, np.log(vals) / n, "--", label=f"N = {n}, exact (1/N) ln E Crt_N(u)")
    ax.axvline(-float(sg.e_inf(p)), color="C3", ls=":", lw=0.8)
    ax.set_ylim(-0.3, 0.45)
    ax.set_xlabel("u")
    ax.set_ylabel("nats per site")
    ax.set_title("finite N (Kac-Rice with the GOE, exact) against the limit", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "spinglass_complexity.png", dpi=DPI)
    plt.close(fig)


def fig_index(quick: bool) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for p in (3, 4, 10):
        einf = float(sg.e_inf(p))
        u = np.linspace(-einf * 1.05, einf * 1.05, 400)
        axes[0].plot(u / einf, sg.index_fraction(u, p), label=f"p = {p}")
    axes[0].set_xlabel(r"$u / E_\infty(p)$")
    axes[0].set_ylabel("index / N")
    axes[0].set_title("index law (Bray & Dean 2007): semicircle CDF of u/E_inf", fontsize=9)
    axes[0].legend(fontsize=8)
    p = 3
    x = np.linspace(-8, 8, 500)
    for u in (-float(sg.e_inf(p)), -1.0, 0.0, 1.0):
        axes[1].plot(x, sg.hessian_spectrum_pdf(x, u, p), label=f"u = {u:.3f}")
    axes[1].axvline(0, color="0.5", lw=0.6)
    axes[1].set_xlabel("eigenvalue of the Riemannian Hessian")
    axes[1].set_title("Hessian spectrum at a critical point of energy u, p = 3: semicircle "
                      "centred at -p u", fontsize=9)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "spinglass_index.png", dpi=DPI)
    plt.close(fig)


def fig_mc(quick: bool) -> None:
    p = 3
    fig, axes = plt.subplots(1, 4, figsize=(20, 4))
    ax = axes[0]
    for n in ((50, 100) if quick else (50, 100, 200)):
        us = []
        for seed in range(2):
            h = sg.sample_hamiltonian(n, p, seed=seed)
            us.append(sg.gradient_descent(h, 100, seed=seed).u)
        us = np.concatenate(us)
        ax.hist(us, bins=40, density=True, histtype="step", lw=1.5,
                label=f"N = {n}: mean {us.mean():.4f}")
    ax.axvline(-float(sg.e_0(p)), color="C0", ls="--", label=r"$-E_0$")
    ax.axvline(-float(sg.e_inf(p)), color="C3", ls=":", label=r"$-E_\infty$")
    ax.set_xlabel("energy per site u of gradient-descent minima")
    ax.set_title("p = 3: minima found by gradient descent", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[1]
    n, reps = 5, (10 if quick else 20)
    counts = np.array([sg.critical_points(sg.sample_hamiltonian(n, p, 100 + i), 300, i).counts()
                       for i in range(reps)])
    k = np.arange(n)
    exact = [sg.expected_critical_points(n, p, int(j)) for j in k]
    ax.bar(k - 0.2, counts.mean(0), 0.4, yerr=2 * counts.std(0, ddof=1) / np.sqrt(reps),
           label=f"multistart Newton, {reps} Hamiltonians")
    ax.bar(k + 0.2, exact, 0.4, label="exact E Crt_{N,k} (Kac-Rice, GOE)")
    ax.set_xlabel("index k")
    ax.set_ylabel("mean number of critical points")
    ax.set_title(f"p = 3, N = {n}: critical points by index", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[2]
    n = 100
    h = sg.sample_hamiltonian(n, p, seed=7)
    res = sg.gradient_descent(h, 20, seed=7)
    order = np.argsort(res.u)[:10]
    eig = np.concatenate([sg.riemannian_hessian(h, res.points[i], eigenvalues=True)
                          for i in order])
    u = float(np.mean(res.u[order]))
    x = np.linspace(eig.min() - 1, eig.max() + 1, 400)
    ax.hist(eig, bins=50, density=True, color="0.75", label=f"10 minima, N = {n}")
    ax.plot(x, sg.hessian_spectrum_pdf(x, u, p), "C3-",
            label=f"semicircle centred at -p u, u = {u:.3f}")
    ax.set_xlabel("eigenvalue of the Riemannian Hessian")
    ax.set_title("Hessian spectrum at minima", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[3]
    res = sg.choromanska_experiment(n_inits=10 if quick else 20,
                                    steps=500 if quick else 2000)
    bins = np.linspace(np.min(res.test_loss), np.max(res.test_loss), 40)
    for j, hs in enumerate(res.hidden_sizes):
        ax.hist(res.test_loss[j], bins=bins, histtype="step", lw=1.5,
                label=f"{hs} hidden units (sd {np.std(res.test_loss[j]):.2g})")
    ax.set_xlabel("final test loss")
    ax.set_title("Choromanska et al.: losses of one-hidden-layer relu nets, many inits",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "spinglass_mc.png", dpi=DPI)
    plt.close(fig)


def main() -> None:
    run(__doc__, OUT, (fig_complexity, fig_index, fig_mc))


if __name__ == "__main__":
    main()
