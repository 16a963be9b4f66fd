"""Regenerate the figures of docs/resnet_kernels.md into docs/figures/.

    python docs/make_resnet_kernels_figures.py            # all figures
    python docs/make_resnet_kernels_figures.py --quick    # narrower networks, fewer trials

Figures:

* ``kernels_depth.png`` (:func:`kernels_depth_figure`): the relu NTK at the edge of chaos
  (normalised off-diagonal -> 1/4) and condition numbers of deep tanh kernels vs depth;
* ``kernels_mc.png`` (:func:`kernels_mc_figure`): kappa(c) of the NNGP and NTK against the
  empirical kernels of sampled finite networks;
* ``kernel_kappa_tanh.png`` (:func:`kernel_kappa_figure`): the figure of
  ``deeptheory kernel --activation tanh --depth 10``;
* ``kernel_regression.png`` (:func:`kernel_regression_figure`): GP regression with the
  NNGP and the NTK mean prediction of a wide network trained by gradient flow;
* ``resnet_depth.png`` (:func:`resnet_figure`): squared length, correlation and
  cumulative gradient growth against depth for plain and residual networks (tanh and
  relu), mean-field lines (``layer_recursion``, ``resnet_recursion``) over Monte Carlo
  points (``simulate_layers``, ``simulate_resnet``) with 2-standard-error bars.

Each figure is one function ``name(outdir, quick=False)`` that writes its PNG into
``outdir`` and returns a summary; :func:`main` runs them in turn (add new ones to
``FIGURES``).
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import run_registry, save_figure  # noqa: E402  docs/_figures.py (the script's own folder)

import deeptheory.meanfield as mf  # noqa: E402
from deeptheory.kernels import expect  # noqa: E402
from deeptheory.meanfield.resnet import resnet_recursion  # noqa: E402
from deeptheory.meanfield.simulate import simulate_layers  # noqa: E402
from deeptheory.meanfield.simulate_resnet import simulate_resnet  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100

#: (activation, sigma_w2, sigma_b2) for the plain/residual comparison: tanh in the
#: ordered phase near the edge of chaos (chi_1 = 0.94), relu at its critical point (He)
RESNET_CASES = [("tanh", 1.5, 0.05), ("relu", 2.0, 0.0)]
#: residual branch scales shown (Yang & Schoenholz 2017: alpha = 1; Hayou et al. 2021:
#: alpha = 1/sqrt(L)); every residual network is the full one with sigma_v2 = 1, sigma_a2 = 0
RESNET_ALPHAS = [("1", "C0"), ("1/sqrt(L)", "C1")]
ALPHA_LABELS = {"1": r"$\alpha = 1$", "1/sqrt(L)": r"$\alpha = 1/\sqrt{L}$"}
P0, C0 = 1.0, 0.5


def _save(fig, outdir: Path, name: str) -> Path:
    return save_figure(fig, outdir, name, DPI)


def _points(ax, x, est, color, marker="o"):
    ax.errorbar(x, est.value, yerr=2.0 * np.asarray(est.stderr), fmt=marker, ms=3,
                color=color, elinewidth=0.8, capsize=1.5, lw=0)


def _plain_growth_theory(act: str, sw2: float, q: np.ndarray) -> np.ndarray:
    """Mean-field |delta^l|^2 / |delta^L|^2 = prod_{k=l+1}^{L} chi_1(q^{k-1}) of a plain
    network, l = 1..L (q = q^1..q^L)."""
    chi = sw2 * np.asarray(expect(act, q[:-1], (1, 1)))  # chi_1(q^{k-1}), k = 2..L
    out = np.ones(q.size)
    out[:-1] = np.cumprod(chi[::-1])[::-1]
    return out


def _plain_growth_mc(g: np.ndarray) -> np.ndarray:
    """Per-trial |t^L|^2 / |t^l|^2 from the forward tangent (n_trials, L)."""
    return g[:, -1:] / g


def resnet_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Plain vs residual networks against depth: lengths, correlations, gradient growth.

    Columns: squared length (plain: q^l = |h^l|^2 / N; residual: p^l = |x^l|^2 / N),
    correlation of two inputs (plain: pre-activations; residual: the stream), and the
    cumulative gradient growth |g^l|^2 / |g^L|^2 (residual: the true backward pass;
    plain: |t^L|^2 / |t^l|^2 of the forward tangent, which has the same mean-field law
    prod chi_1(q^{k-1})).  Returns one summary dict per curve (max |z| and the largest
    relative deviation of Monte Carlo from theory per quantity) for the docs table.
    """
    width, n_trials, depth = (256, 4, 20) if quick else (300, 16, 30)
    seed = 2024
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.2))
    summary = []
    for row, (act, sw2, sb2) in enumerate(RESNET_CASES):
        ax_p, ax_c, ax_g = axes[row]
        t0 = time.perf_counter()
        # plain network
        th = mf.layer_recursion(sw2, sb2, depth, act, q1_0=P0, c0=C0)
        mc = simulate_layers(sw2, sb2, act, q0=P0, c0=C0, width=width, depth=depth,
                             n_trials=n_trials, seed=seed)
        layers = np.arange(1, depth + 1)
        grow_th = _plain_growth_theory(act, sw2, th.q1)
        grow_mc = mf.MCEstimate.from_samples(_plain_growth_mc(mc.sample.g))
        ax_p.plot(layers, th.q1, "k-", lw=1.2, label="plain (theory)")
        _points(ax_p, layers, mc.q1, "k")
        ax_c.plot(layers, th.c, "k-", lw=1.2)
        _points(ax_c, layers, mc.c, "k")
        ax_g.plot(layers, grow_th, "k-", lw=1.2)
        _points(ax_g, layers, grow_mc, "k")
        summary.append(_summary(act, "plain", sw2, sb2, width, n_trials, depth,
                                [("length", mc.q1, th.q1), ("c", mc.c, th.c),
                                 ("grad", grow_mc, grow_th)]))
        # residual networks
        for alpha, color in RESNET_ALPHAS:
            kw = dict(depth=depth, alpha=alpha, kind="full", sigma_v2=1.0, sigma_a2=0.0,
                      p0=P0, c0=C0)
            rt = resnet_recursion(sw2, sb2, act, **kw)
            rs = simulate_resnet(sw2, sb2, act, width=width, n_trials=n_trials, seed=seed,
                                 **kw)
            ls = rt.layers
            lab = "residual, " + ALPHA_LABELS[alpha]
            ax_p.plot(ls, rt.p1, "-", color=color, lw=1.2, label=lab)
            _points(ax_p, ls, rs.p, color, "s")
            ax_c.plot(ls, rt.c, "-", color=color, lw=1.2)
            _points(ax_c, ls, rs.c, color, "s")
            ax_g.plot(ls, rt.grad_growth, "-", color=color, lw=1.2)
            _points(ax_g, ls, rs.grad_growth, color, "s")
            summary.append(_summary(act, f"residual alpha={alpha}", sw2, sb2, width,
                                    n_trials, depth,
                                    [("length", rs.p, rt.p1), ("c", rs.c, rt.c),
                                     ("grad", rs.grad_growth, rt.grad_growth)]))
        print(f"{act}: sigma_w2={sw2}, sigma_b2={sb2}, width {width} x {n_trials} trials, "
              f"depth {depth}: {time.perf_counter() - t0:.1f} s")
        title = f"{act}, $\\sigma_w^2$={sw2}, $\\sigma_b^2$={sb2}"
        ax_p.set_yscale("log")
        ax_p.set_ylabel("squared length ($q^l$ plain, $p^l$ residual)")
        ax_p.set_title(title, fontsize=10)
        ax_p.legend(fontsize=8)
        ax_c.set_ylabel("correlation $c^l$")
        ax_c.set_title(title, fontsize=10)
        ax_g.set_yscale("log")
        ax_g.set_ylabel(r"gradient growth $|g^l|^2 / |g^L|^2$")
        ax_g.set_title(title, fontsize=10)
        for ax in (ax_p, ax_c, ax_g):
            ax.set_xlabel("layer $l$")
    fig.suptitle(f"Plain vs residual networks (full, $\\sigma_v^2$=1): mean field (lines) vs "
                 f"Monte Carlo (width {width}, {n_trials} trials, bars = 2 s.e.)", fontsize=11)
    fig.tight_layout()
    _save(fig, Path(outdir), "resnet_depth.png")
    print(markdown_table(summary))
    return summary


def markdown_table(summary: list[dict]) -> str:
    """The docs table: per curve, max |z| over layers and the largest relative deviation."""
    lines = ["| activation | network | length: max abs z, max rel. dev. | c: max abs z, max "
             "rel. dev. | gradient growth: max abs z, max rel. dev. |",
             "|---|---|---|---|---|"]
    for s in summary:
        cells = [f"{s[f'{k}_max_z']:.1f}, {100 * s[f'{k}_max_rel']:.1f}%"
                 for k in ("length", "c", "grad")]
        lines.append(f"| {s['activation']} | {s['network']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(act, net, sw2, sb2, width, n_trials, depth, items) -> dict:
    out = {"activation": act, "network": net, "sigma_w2": sw2, "sigma_b2": sb2,
           "width": width, "n_trials": n_trials, "depth": depth}
    for name, est, th in items:
        v = np.asarray(est.value)
        se = np.asarray(est.stderr)
        th = np.asarray(th)
        ok = se > 1e-9 * np.abs(th)  # rows with spread (not the exact input row)
        out[f"{name}_max_z"] = float(np.max(np.abs(v[ok] - th[ok]) / se[ok]))
        out[f"{name}_max_rel"] = float(np.max(np.abs(v / th - 1.0)))
        out[f"{name}_last_rel"] = float(v[-2 if name == "grad" else -1]
                                        / th[-2 if name == "grad" else -1] - 1.0)
    print("  " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in out.items()))
    return out


#: every figure of this page: name(outdir, quick) -> summary
# ------------------------------------------------------------------ infinite-width kernels

#: phases shown in the conditioning panel: tanh, sigma_b2 = 0.05
COND_CASES = [(0.8, "ordered", "C0"), (1.5, "ordered, near critical", "C1"),
              (3.0, "chaotic", "C3")]


def kernels_depth_figure(outdir: Path | str = OUT, quick: bool = False) -> Path:
    """(a) relu at the edge of chaos: normalised off-diagonal NTK -> 1/4, NNGP -> 1 with
    depth; (b) condition numbers of the NNGP and NTK matrices of 30 inputs vs depth (tanh)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.9))
    depths = np.unique(np.round(np.logspace(0, 2 if quick else 3, 40)).astype(int))
    for cc, col in zip([0.0, 0.5, -0.5], ["C0", "C1", "C2"], strict=True):
        for kern, ls, lw in [("ntk", "-", 1.5), ("nngp", "--", 1.0)]:
            r = np.array([mf.dot_product_kernel([cc, 1.0], depth=int(L), sigma_w2=2.0,
                                                activation="relu", kernel=kern).value
                          for L in depths])
            a.semilogx(depths, r[:, 0] / r[:, 1], ls, color=col, lw=lw,
                       label=f"{kern.upper()}, c = {cc:g}")
    a.axhline(0.25, color="k", lw=0.8, ls=":")
    a.text(1.2, 0.27, "1/4", fontsize=9)
    a.set_xlabel("depth L (hidden layers)")
    a.set_ylabel(r"$K(x, x') / K(x, x)$")
    a.set_title(r"relu at the edge of chaos ($\sigma_w^2 = 2$, $\sigma_b^2 = 0$)")
    a.legend(fontsize=7, ncol=2)
    x = np.random.default_rng(0).normal(size=(30, 5))
    L = 40 if quick else 80
    for sw2, name, col in COND_CASES:
        d = mf.kernel_diagnostics(x, depth=L, sigma_w2=sw2, sigma_b2=0.05, activation="tanh",
                                  warn=False)
        b.semilogy(d.depth, d.cond_ntk, color=col,
                   label=fr"$\sigma_w^2 = {sw2:g}$ ({name}, $\xi_c$ = {d.xi_c:.3g})")
        b.semilogy(d.depth, d.cond_nngp, "--", color=col, lw=1)
    b.axhline(1e8, color="k", lw=0.8, ls=":")
    b.set_xlabel("depth L")
    b.set_ylabel("condition number (NTK solid, NNGP dashed)")
    b.set_title(r"tanh, $\sigma_b^2 = 0.05$, 30 Gaussian inputs in d = 5")
    b.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, outdir, "kernels_depth.png")


def kernels_mc_figure(outdir: Path | str = OUT, quick: bool = False) -> Path:
    """kappa(c) of the NNGP and NTK (lines) against the empirical kernels of sampled
    finite networks (points, 2 standard errors), tanh and relu, depth 3."""
    n_pts = 9
    theta = np.linspace(0.0, np.pi, n_pts)
    d = 4
    x = np.zeros((n_pts, d))
    x[:, 0], x[:, 1] = np.sqrt(d) * np.cos(theta), np.sqrt(d) * np.sin(theta)
    c_line = np.linspace(-1.0, 1.0, 201)
    width, nets = (256, 16) if quick else (1024, 32)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    for ax, (act, sw2, sb2) in zip(axes, [("tanh", 1.5, 0.05), ("relu", 2.0, 0.0)],
                                   strict=True):
        kw = dict(depth=3, sigma_w2=sw2, sigma_b2=sb2, activation=act)
        for kern, col, emp in [("nngp", "C0", mf.empirical_nngp), ("ntk", "C3", mf.empirical_ntk)]:
            line = mf.dot_product_kernel(c_line, kernel=kern, **kw).value
            ax.plot(c_line, line, color=col, label=f"{kern.upper()} (theory)")
            est = emp(x, width=width, n_networks=nets, seed=1, **kw)
            ax.errorbar(np.cos(theta), est.value[0], yerr=2 * est.stderr[0], fmt="o", ms=3,
                        color=col, capsize=2, label=f"{kern.upper()}, width {width}")
        ax.set_xlabel("input cosine c")
        ax.set_ylabel(r"$K(x_0, x(c))$")
        ax.set_title(rf"{act}, $\sigma_w^2$ = {sw2:g}, $\sigma_b^2$ = {sb2:g}, depth 3, "
                     f"{nets} networks")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, outdir, "kernels_mc.png")


def kernel_kappa_figure(outdir: Path | str = OUT, quick: bool = False) -> Path:
    """The figure of ``deeptheory kernel --activation tanh --depth 10``."""
    from deeptheory.cli import main as cli_main

    path = Path(outdir) / "kernel_kappa_tanh.png"
    cli_main(["kernel", "--activation", "tanh", "--depth", "10", "--out", str(path)])
    return path


def kernel_regression_figure(outdir: Path | str = OUT, quick: bool = False) -> Path:
    """GP regression with the NNGP (posterior mean, 2 sd band) and the mean prediction of
    an infinitely wide network trained by gradient flow (NTK, Lee et al. 2019) at several
    times, on inputs around a circle (tanh, depth 3)."""
    rng = np.random.default_rng(2)
    n = 12
    th_train = np.sort(rng.uniform(0.0, 2.0 * np.pi, n))
    th_test = np.linspace(0.0, 2.0 * np.pi, 200)

    def circle(th):
        return np.sqrt(2.0) * np.stack([np.cos(th), np.sin(th)], axis=1)  # |x|^2 / d = 1

    y = np.sin(3.0 * th_train) + 0.1 * rng.normal(size=n)
    kw = dict(depth=3, sigma_w2=2.0, sigma_b2=0.1, activation="tanh")
    ktt = mf.network_kernels(circle(th_train), **kw)
    kst = mf.network_kernels(circle(th_test), circle(th_train), **kw)
    kss = mf.nngp_kernel(circle(th_test), **kw)
    post = mf.gp_posterior(ktt.nngp, y, kst.nngp, kss, noise_var=0.01)
    times = np.array([0.3, 3.0, 30.0, np.inf])
    pred = mf.ntk_mean_prediction(ktt.ntk, y, kst.ntk, times, learning_rate=1.0 / n)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.7), sharey=True)
    sd = np.sqrt(np.clip(np.diag(post.cov), 0.0, None))
    a.fill_between(th_test, post.mean - 2 * sd, post.mean + 2 * sd, color="C0", alpha=0.2,
                   label="NNGP posterior, 2 sd")
    a.plot(th_test, post.mean, color="C0", label="NNGP posterior mean")
    a.plot(th_test, np.sin(3 * th_test), "k:", lw=1, label="sin 3 theta")
    a.plot(th_train, y, "ko", ms=4, label="training data")
    a.set_title(r"GP regression, noise variance 0.01")
    for ax in (a, b):
        ax.set_xlabel(r"angle $\theta$ of the input on the circle")
    a.set_ylabel("f(x)")
    a.legend(fontsize=7)
    cmap = plt.get_cmap("viridis")
    for i, t in enumerate(times):
        b.plot(th_test, pred.test[i], color=cmap(i / (len(times) - 1)),
               label=f"t = {t:g}" if np.isfinite(t) else "t = inf (kernel regression)")
    b.plot(th_train, y, "ko", ms=4)
    b.set_title(r"NTK mean of a wide network trained on MSE ($\eta = 1/n$)")
    b.legend(fontsize=7)
    fig.suptitle(r"tanh, depth 3, $\sigma_w^2 = 2$, $\sigma_b^2 = 0.1$, 12 points", fontsize=9)
    fig.tight_layout()
    return _save(fig, outdir, "kernel_regression.png")


FIGURES = [resnet_figure, kernels_depth_figure, kernels_mc_figure, kernel_kappa_figure,
           kernel_regression_figure]


def main(argv=None) -> None:
    run_registry("Regenerate docs/figures/ for docs/resnet_kernels.md.", OUT, FIGURES,
                 argv=argv, quick_help="narrow networks and few trials")


if __name__ == "__main__":
    main()
