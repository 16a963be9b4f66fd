"""Regenerate the figures of docs/dynamics.md into docs/figures/.

    python docs/make_dynamics_figures.py            # all figures (9.3 min on 2 busy cores)
    python docs/make_dynamics_figures.py --quick    # narrower networks, shorter runs (75 s)
    python docs/make_dynamics_figures.py --only lorenz_figure newman_figure

Figures:

* ``dynamics_spectrum.png`` (:func:`spectrum_figure`): the full Lyapunov spectrum of the
  random tanh network h_{t+1} = W tanh(h_t) (N = 200) at g = 1.5, 2, 3 against the
  fresh-weights map at sigma_w2 = g^2 (sampled, ``DeepMap``) and its free-probability law
  (``fresh_weights_exponents``), with the mean-field lambda_max; bottom row: the
  differences from the law;
* ``dynamics_lambda_max.png`` (:func:`lambda_max_figure`): lambda_max against g across
  the transition, mean field 1/2 ln chi_1 against networks of width 100 and 400 (k = 1,
  several networks per point), and lambda_max against 1/N at g = 1.5, 2, 3;
* ``dynamics_newman.png`` (:func:`newman_figure`): the linear Gaussian product
  (``DeepMap``, N = 100) against Newman's exact spectrum;
* ``dynamics_lorenz.png`` (:func:`lorenz_figure`): running estimates of the Lorenz
  exponents (numba-compiled f and Jacobian, RK4, dt = 0.01);
* ``dynamics_rate.png`` (:func:`rate_figure`): the continuous-time rate network:
  lambda_max against g (transition at g = 1) and a full spectrum with its sum rule
  -N / tau.

ODE flows of networks (issue 13; 64 s in all, ``--quick`` 24 s, plus 10-30 s of numba
compilation of the odeint kernels when their cache is cold):

* ``dynamics_odeflow_ring.png`` (:func:`odeflow_ring_figure`): ring and spiral classifiers
  (width 32, 10 RK4 blocks) in the plane and augmented to 3-D: tracks, read-out, the
  image of the circle |x| = 1 and of the origin (ring);
* ``dynamics_resnet_order.png`` (:func:`resnet_order_figure`): global error of Euler and
  RK4 ResNets against the ODE flow (orders 1 and 4);
* ``dynamics_gronwall.png`` (:func:`gronwall_figure`): distances of trajectory pairs
  against the Gronwall envelope, a random tanh field and f(z) = 0.8 z (equality);
* ``dynamics_geodesic.png`` (:func:`geodesic_figure`): line-shape score, OT score and
  cost ratio over training with and without L2 (ring in 3-D, spiral in 2-D), and tracks;
* ``dynamics_iresnet.png`` (:func:`iresnet_figure`): inverting invertible residual
  blocks by fixed-point iteration (error against c^k) and their bi-Lipschitz bounds.

Each figure is one function ``name(outdir, quick=False)`` that writes its PNG into
``outdir`` and returns a summary (printed; the numbers quoted in docs/dynamics.md);
:func:`main` runs them in turn (add new ones to ``FIGURES``).  Every run is seeded.
BLAS is held at one thread (``single_thread_blas``): the QR loop calls BLAS for small
matrices at every step, and BLAS threads competing with other work made it 10-100x slower
on the 2-core machine.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
from _figures import run_registry, save_figure  # noqa: E402  docs/_figures.py (the script's own folder)

import deeptheory.dynamics as dyn  # noqa: E402
from deeptheory.dynamics.plotting import (  # noqa: E402
    plot_geodesic_history,
    plot_gronwall,
    plot_lambda_max,
    plot_lyapunov_spectrum,
    plot_resnet_order,
    plot_running_exponents,
    plot_trajectories,
)
from deeptheory.kernels.montecarlo import single_thread_blas  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100

#: reference Lorenz exponents (sigma = 10, rho = 28, beta = 8/3), nats per unit time
LORENZ = (0.9056, 0.0, -14.5723)


def _save(fig, outdir: Path, name: str) -> Path:
    return save_figure(fig, outdir, name, DPI)


def _spectrum(system, **kw):
    """lyapunov_spectrum with non-convergence reported in the summary, not as a warning."""
    kw.setdefault("on_fail", "ignore")
    return dyn.lyapunov_spectrum(system, **kw)


def _show(d: dict) -> dict:
    print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in d.items()))
    return d


# ------------------------------------------------------------------ figure 1


def spectrum_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Recurrent spectrum vs fresh weights (sampled and free probability) at g = 1.5, 2, 3."""
    n, steps_rnn, steps_fresh = (100, 2000, 1000) if quick else (200, 5000, 2000)
    gains = (1.5, 2.0, 3.0)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1]})
    out = []
    for col, g in enumerate(gains):
        t0 = time.perf_counter()
        rnn = _spectrum(dyn.random_rnn(n, g, seed=1), n_steps=steps_rnn, seed=1)
        fresh = _spectrum(dyn.DeepMap(n, g * g), n_steps=steps_fresh, seed=2)
        law = np.asarray(dyn.fresh_weights_exponents(n, g * g))
        mf = float(dyn.rnn_max_exponent(g))
        a, b = axes[0, col], axes[1, col]
        plot_lyapunov_spectrum(fresh, ax=a, color="C1",
                               label=f"fresh weights, sampled ({steps_fresh} layers)")
        plot_lyapunov_spectrum(rnn, g, ax=a, color="C0",
                               label=f"recurrent network ({steps_rnn} steps)")
        i = np.arange(1, n + 1)
        for res, c in ((fresh, "C1"), (rnn, "C0")):
            d = res.exponents - law
            b.plot(i, d, "-", color=c, lw=1.2)
            b.fill_between(i, d - 2 * res.stderr, d + 2 * res.stderr, color=c, alpha=0.25,
                           lw=0)
        b.axhline(0.0, color="k", lw=0.8, ls="--")
        b.set_xlabel("index $i$")
        b.set_ylabel(r"$\lambda_i - \lambda_i^{\rm fresh\ law}$")
        half = slice(0, n // 2)
        bulk = slice(0, int(0.9 * n))
        s = {"g": g, "N": n, "rnn_lambda1": float(rnn.exponents[0]),
             "rnn_lambda1_se": float(rnn.stderr[0]), "mean_field": mf,
             "fresh_lambda1": float(fresh.exponents[0]), "law_lambda1": float(law[0]),
             "rnn_qr_every": rnn.qr_every, "rnn_positive": int(np.sum(rnn.exponents > 0)),
             "law_positive": int(np.sum(law > 0)),
             "rnn_kaplan_yorke": rnn.kaplan_yorke, "law_kaplan_yorke":
                 float(dyn.kaplan_yorke_dimension(law)),
             "rnn_ks": rnn.ks_entropy, "law_ks": float(dyn.ks_entropy(law)),
             "rnn_sum": float(rnn.exponents.sum()), "law_sum": float(law.sum()),
             "rnn_top_half_max_dev": float(np.max(np.abs(rnn.exponents - law)[half])),
             "rnn_bulk_mean_dev": float(np.mean((rnn.exponents - law)[bulk])),
             "rnn_bulk_min_dev": float(np.min((rnn.exponents - law)[bulk])),
             "fresh_bulk_mean_dev": float(np.mean((fresh.exponents - law)[bulk])),
             "fresh_bulk_max_dev": float(np.max(np.abs(fresh.exponents - law)[bulk])),
             "rnn_last": float(rnn.exponents[-1]), "law_last": float(law[-1]),
             "fresh_max_dev": float(np.max(np.abs(fresh.exponents - law))),
             "fresh_bulk_max_z": float(np.max(np.abs(fresh.exponents - law)[: n - 5]
                                              / fresh.stderr[: n - 5])),
             "rnn_max_se": float(rnn.stderr.max()), "rnn_converged": rnn.converged,
             "fresh_max_se": float(fresh.stderr.max()),
             "seconds": time.perf_counter() - t0}
        out.append(_show(s))
    fig.suptitle(f"Random tanh network $h_{{t+1}} = W \\tanh(h_t)$, "
                 f"$W_{{ij}} \\sim N(0, g^2/N)$, N = {n}: full spectrum (band: 2 s.e.) vs "
                 "fresh weights per step", fontsize=11)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_spectrum.png")
    return out


# ------------------------------------------------------------------ figure 2


_LAMBDA_CACHE: dict[tuple, float] = {}


def _lambda_max_runs(n: int, gains, seeds, steps: int, transient: int) -> np.ndarray:
    """lambda_max (k = 1) of the networks random_rnn(n, g, seed=s): (len(gains), len(seeds));
    a run already made (same n, g, seed, steps, transient) is reused."""
    vals = np.empty((len(gains), len(seeds)))
    for a, g in enumerate(gains):
        for b, s in enumerate(seeds):
            key = (n, float(g), s, steps, transient)
            if key not in _LAMBDA_CACHE:
                r = _spectrum(dyn.random_rnn(n, g, seed=s), k=1, n_steps=steps,
                              transient=transient, seed=s)
                _LAMBDA_CACHE[key] = float(r.exponents[0])
            vals[a, b] = _LAMBDA_CACHE[key]
    return vals


def lambda_max_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """lambda_max vs g (mean field vs widths 100, 400) and vs 1/N at g = 1.5, 2, 3."""
    if quick:
        gains = np.array([0.5, 0.8, 0.95, 1.1, 1.3, 1.5, 2.0, 2.5, 3.0])
        seeds, steps, transient = range(2), 3000, 1000
        widths_n = (50, 100, 200)
    else:
        gains = np.array([0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75,
                          2.0, 2.5, 3.0])
        seeds, steps, transient = range(4), 10000, 3000
        widths_n = (50, 100, 200, 400, 800)
    widths = (100, 400)
    samples = {}
    runs = []
    out = []
    t0 = time.perf_counter()
    for n in widths:
        v = _lambda_max_runs(n, gains, seeds, steps, transient)
        runs.append(v)
        m, se = v.mean(axis=1), v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])
        samples[f"N = {n} ({len(seeds)} networks, k = 1, {steps} steps)"] = (m, se)
        for g, mm, ss in zip(gains, m, se, strict=True):
            out.append({"N": n, "g": float(g), "lambda_max": float(mm), "se": float(ss),
                        "mean_field": float(dyn.rnn_max_exponent(g))})
    print(f"  lambda_max vs g: {time.perf_counter() - t0:.1f} s")
    for s in out:
        _show(s)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.3))
    plot_lambda_max(gains, samples=samples, ax=a)
    for c, v in enumerate(runs):
        a.plot(np.repeat(gains, v.shape[1]), v.ravel(), ".", ms=2.5, color=f"C{c}", alpha=0.5)
    a.set_title(r"tanh, $\sigma_b^2$ = 0: largest exponent across the transition "
                "(dots: networks; bars: 2 s.e.)", fontsize=9)
    t0 = time.perf_counter()
    inv = 1.0 / np.asarray(widths_n, dtype=float)
    for c, g in enumerate((1.5, 2.0, 3.0)):
        v = np.array([_lambda_max_runs(n, [g], seeds, steps, transient)[0]
                      for n in widths_n])
        m, se = v.mean(axis=1), v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])
        mf = float(dyn.rnn_max_exponent(g))
        b.errorbar(inv, m, yerr=2 * se, fmt="o-", ms=4, color=f"C{c}", capsize=2, lw=1,
                   label=f"g = {g:g}")
        b.plot(np.repeat(inv, v.shape[1]), v.ravel(), ".", ms=2.5, color=f"C{c}", alpha=0.5)
        b.plot([0.0], [mf], "*", ms=10, color=f"C{c}")
        for n, mm, ss in zip(widths_n, m, se, strict=True):
            out.append(_show({"N": n, "g": g, "lambda_max": float(mm), "se": float(ss),
                              "mean_field": mf, "gap": mf - float(mm)}))
    print(f"  lambda_max vs 1/N: {time.perf_counter() - t0:.1f} s")
    b.plot([], [], "k*", ms=8, label=r"mean field $\frac{1}{2}\ln\chi_1$ (1/N = 0)")
    b.set_xlim(left=-0.001)
    b.set_xlabel("1 / N")
    b.set_ylabel(r"$\lambda_{\max}$")
    b.set_title(f"finite-width gap: N = {', '.join(map(str, widths_n))}, "
                f"{len(seeds)} networks each", fontsize=9)
    b.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_lambda_max.png")
    return out


# ------------------------------------------------------------------ figure 3


def newman_figure(outdir: Path | str = OUT, quick: bool = False) -> dict:
    """Products of Gaussian matrices N(0, 1/N), N = 100: the QR engine vs Newman 1986."""
    n, steps = 100, (1500 if quick else 4000)
    t0 = time.perf_counter()
    res = _spectrum(dyn.DeepMap(n, 1.0, activation="linear"), n_steps=steps, seed=3)
    exact = dyn.newman_exponents(n)
    law = np.asarray(dyn.fresh_weights_exponents(n, 1.0, activation="linear"))
    dev = res.exponents - exact
    s = _show({"N": n, "steps": steps, "max_abs_dev": float(np.max(np.abs(dev))),
               "max_abs_z": float(np.max(np.abs(dev) / res.stderr)),
               "sum": float(res.exponents.sum()), "sum_exact": float(exact.sum()),
               "lambda1": float(res.exponents[0]), "lambda1_exact": float(exact[0]),
               "max_se": float(res.stderr.max()), "qr_every": res.qr_every,
               "law_vs_newman_bulk": float(np.max(np.abs(law - exact)[: n - 10])),
               "seconds": time.perf_counter() - t0})
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.9))
    plot_lyapunov_spectrum(res, ax=a, label=f"QR estimate ({steps} products)")
    i = np.arange(1, n + 1)
    a.plot(i, exact, "k--", lw=1.1, label="Newman 1986 (exact)")
    a.plot(i, law, "C3:", lw=1.1, label=r"$N\to\infty$: $\frac{1}{2}\ln t$ (triangle law)")
    a.set_title("products of i.i.d. Gaussian N x N matrices, entries N(0, 1/N), N = 100",
                fontsize=9)
    a.legend(fontsize=7)
    b.plot(i, dev, "C0-", lw=1.2)
    b.fill_between(i, dev - 2 * res.stderr, dev + 2 * res.stderr, color="C0", alpha=0.25, lw=0)
    b.axhline(0.0, color="k", lw=0.8, ls="--")
    b.set_xlabel("index $i$")
    b.set_ylabel(r"$\lambda_i - \lambda_i^{\rm Newman}$ (band: 2 s.e.)")
    b.set_title(f"max |deviation| {s['max_abs_dev']:.3g}, max |z| {s['max_abs_z']:.2g}",
                fontsize=9)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_newman.png")
    return s


# ------------------------------------------------------------------ figure 4


@numba.njit(cache=True)
def lorenz_f(x):  # pragma: no cover - compiled
    out = np.empty(3)
    out[0] = 10.0 * (x[1] - x[0])
    out[1] = x[0] * (28.0 - x[2]) - x[1]
    out[2] = x[0] * x[1] - 8.0 / 3.0 * x[2]
    return out


@numba.njit(cache=True)
def lorenz_jac(x):  # pragma: no cover - compiled
    j = np.zeros((3, 3))
    j[0, 0], j[0, 1] = -10.0, 10.0
    j[1, 0], j[1, 1], j[1, 2] = 28.0 - x[2], -1.0, -x[0]
    j[2, 0], j[2, 1], j[2, 2] = x[1], x[0], -8.0 / 3.0
    return j


def lorenz_figure(outdir: Path | str = OUT, quick: bool = False) -> dict:
    """Running estimates of the Lorenz exponents against (0.9056, 0, -14.5723)."""
    t_end = 1000.0 if quick else 5000.0
    dt = 0.01
    t0 = time.perf_counter()
    res = _spectrum(dyn.FlowSystem(lorenz_f, lorenz_jac), n_steps=int(round(t_end / dt)),
                    dt=dt, x0=np.array([1.0, 1.0, 20.0]), n_blocks=200, seed=0)
    s = _show({"T": t_end, "dt": dt, "lambda1": float(res.exponents[0]),
               "lambda2": float(res.exponents[1]), "lambda3": float(res.exponents[2]),
               "se1": float(res.stderr[0]), "se2": float(res.stderr[1]),
               "se3": float(res.stderr[2]), "sum": float(res.exponents.sum()),
               "kaplan_yorke": res.kaplan_yorke, "qr_every": res.qr_every,
               "seconds": time.perf_counter() - t0})
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for j, ax in enumerate(axes):
        plot_running_exponents(res, [j], reference=[LORENZ[j]], ax=ax, unit="time")
        ax.set_title(rf"$\lambda_{j + 1}$ (reference {LORENZ[j]:g}, dashed)", fontsize=9)
    fig.suptitle(rf"Lorenz ($\sigma$ = 10, $\rho$ = 28, $\beta$ = 8/3), RK4 with dt = {dt}, "
                 f"T = {t_end:g}: sum {s['sum']:.4f} (exact -13.6667), "
                 f"Kaplan-Yorke {res.kaplan_yorke:.4f}", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_lorenz.png")
    return s


# ------------------------------------------------------------------ figure 5


def rate_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Rate network tau h' = -h + J tanh(h): lambda_max vs g; spectrum and sum rule."""
    if quick:
        n, gains, seeds, t_meas, t_trans = 100, np.array([0.5, 0.9, 1.2, 1.5, 2.0, 3.0]), \
            range(2), 200.0, 100.0
        t_full = 200.0
    else:
        n, gains, seeds, t_meas, t_trans = 200, np.array(
            [0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]), range(4), 500.0, 200.0
        t_full = 500.0
    n_full, g_full, seed_full = 100, 3.0, 0
    tau, dt = 1.0, 0.05
    steps, trans = int(t_meas / dt), int(t_trans / dt)
    out = []
    t0 = time.perf_counter()
    vals = np.empty((gains.size, len(seeds)))
    for a, g in enumerate(gains):
        for b, s in enumerate(seeds):
            r = _spectrum(dyn.random_rate_network(n, g, tau=tau, seed=s), k=1, n_steps=steps,
                          transient=trans, dt=dt, seed=s)
            vals[a, b] = r.exponents[0]
    m, se = vals.mean(axis=1), vals.std(axis=1, ddof=1) / np.sqrt(vals.shape[1])
    for g, mm, ss in zip(gains, m, se, strict=True):
        out.append(_show({"N": n, "g": float(g), "lambda_max": float(mm), "se": float(ss)}))
    print(f"  rate lambda_max vs g: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    full = _spectrum(dyn.random_rate_network(n_full, g_full, tau=tau, seed=seed_full),
                     n_steps=int(t_full / dt), transient=int(100 / dt), dt=dt, seed=seed_full)
    rule = float(dyn.exponent_sum(n_full, tau))
    out.append(_show({"N": n_full, "g": g_full, "T": t_full, "lambda1": float(full.exponents[0]),
                      "se1": float(full.stderr[0]), "sum": float(full.exponents.sum()),
                      "sum_rule": rule, "positive": int(np.sum(full.exponents > 0)),
                      "kaplan_yorke": full.kaplan_yorke, "qr_every": full.qr_every,
                      "seconds": time.perf_counter() - t0}))
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_lambda_max(gains, theory=False, ax=a,
                    samples={f"N = {n} ({len(seeds)} networks, k = 1, T = {t_meas:g})":
                             (m, se)})
    a.plot(np.repeat(gains, vals.shape[1]), vals.ravel(), ".", ms=3, color="C0", alpha=0.5)
    lo = np.linspace(gains.min(), 1.0, 50)
    a.plot(lo, (lo - 1.0) / tau, "k-", lw=1.1,
           label=r"$(g - 1)/\tau$: stability of $h = 0$ (circular law)")
    a.legend(fontsize=7)
    a.set_title(rf"rate network $\tau h' = -h + J \tanh(h)$, $J_{{ii}}$ = 0, "
                rf"$\tau$ = {tau:g}, RK4 dt = {dt}: chaos for g > 1", fontsize=9)
    a.set_ylabel(r"$\lambda_{\max}$ (per unit time)")
    plot_lyapunov_spectrum(full, ax=b, label=f"N = {n_full}, g = {g_full:g}, T = {t_full:g}")
    b.set_ylabel(r"$\lambda_i$ (per unit time)")
    b.set_title(f"sum of the exponents {full.exponents.sum():.6f}; sum rule "
                rf"$-N/\tau$ = {rule:g}", fontsize=9)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_rate.png")
    return out


# ------------------------------------------------------------------ ODE flows (issue 13)


#: the trained classifiers of the ODE-flow figures: width, blocks, data size and seed
ODE_HIDDEN, ODE_DEPTH, ODE_N, DATA_SEED = 32, 10, 200, 1


def _data(name: str):
    gen = dyn.ring_data if name == "ring" else dyn.spiral_data
    return gen(ODE_N, seed=DATA_SEED)


def _legend_add(ax, *handles) -> None:
    """Append proxy handles to the legend drawn by plot_trajectories."""
    leg = ax.get_legend()
    old = list(leg.legend_handles) if leg is not None else []
    ax.legend(handles=old + list(handles), fontsize=7, loc="best")


def _flowed_circle(ax, model, r: float = 1.0) -> None:
    """The image of the circle |x| = r (inner edge of the annulus) and of the origin."""
    from matplotlib.lines import Line2D

    th = np.linspace(0.0, 2.0 * np.pi, 721)
    zc = model.tracks(r * np.column_stack([np.cos(th), np.sin(th)]))[-1]
    z0 = model.tracks(np.zeros((1, 2)))[-1]
    ax.plot(*zc.T, "-", color="k", lw=1.6)
    ax.plot(*z0.T, "*", color="gold", mec="k", ms=13)
    _legend_add(ax, Line2D([], [], color="k", lw=1.6, label=f"image of the circle |x| = {r:g}"),
                Line2D([], [], ls="", marker="*", color="gold", mec="k", ms=10,
                       label="image of the origin"))


def odeflow_ring_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Ring and spiral classifiers in the plane (dim 2) and augmented (dim 3): tracks."""
    epochs = 120 if quick else 400
    cfg = dyn.TrainConfig(epochs=epochs, lr=0.02, l2=1e-3, seed=0)
    fig = plt.figure(figsize=(12, 10.5))
    out = []
    for row, name in enumerate(("ring", "spiral")):
        x, y = _data(name)
        for col, dim in enumerate((2, 3)):
            t0 = time.perf_counter()
            m = dyn.train_ode_classifier(x, y, dim=dim, hidden=ODE_HIDDEN, depth=ODE_DEPTH,
                                         block="rk4", config=cfg)
            secs = time.perf_counter() - t0
            acc = m.accuracy(x, y)
            margin = dyn.readout_margin(m, x, y)
            s = {"data": name, "dim": dim, "epochs": epochs, "accuracy": acc, "margin": margin,
                 "loss": float(m.history["loss"][-1]), "train_seconds": secs}
            ax = fig.add_subplot(2, 2, 2 * row + col + 1, projection="3d" if dim == 3 else None)
            plot_trajectories(m.tracks(x), y, ax=ax, readout=(m.w, m.c), seed=0)
            title = (f"{name}, {'plane (d = 2)' if dim == 2 else 'augmented (d = 3)'}: "
                     f"accuracy {acc:.3f}, margin {margin:.3g}")
            if name == "ring":
                rs = dyn.ring_separation(m, x_outer=x[y > 0] if dim == 2 else None)
                s.update(separated=rs.separated, worst_circle=float(rs.worst.min()),
                         disk_worst=rs.disk_worst)
                if dim == 2:
                    s.update(winding=",".join(str(int(v)) for v in rs.winding),
                             lipschitz=rs.lipschitz, cover=rs.cover,
                             margin_bound=rs.margin_bound)
                _flowed_circle(ax, m)
                title += "\nring separated" if rs.separated else "\nring not separated"
                if dim == 2:
                    title += f" (winding numbers {s['winding']})"
            ax.set_title(title, fontsize=9)
            if dim == 3:
                ax.view_init(elev=22, azim=-55)
            out.append(_show(s))
    fig.suptitle(f"Neural ODE / ResNet classifiers (width {ODE_HIDDEN}, {ODE_DEPTH} RK4 blocks "
                 f"on [0, 1], l2 = {cfg.l2:g}, {epochs} Adam epochs): tracks x -> z(T) of "
                 f"the {ODE_N} training points", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_odeflow_ring.png")
    return out


def resnet_order_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Global error of Euler and RK4 ResNets against the ODE flow: orders 1 and 4."""
    f = dyn.random_mlp_field(2, 32, n_nodes=9, smooth=True, seed=0)
    x0 = np.random.default_rng(0).standard_normal((100, 2))
    t_end = 1.0
    depths = {"euler": [8 * 2 ** k for k in range(5 if quick else 8)],
              "rk4": [8 * 2 ** k for k in range(4 if quick else 6)]}
    out, errs = [], []
    for blk, ds in depths.items():
        t0 = time.perf_counter()
        e = dyn.resnet_ode_error(f, x0, ds, t_end, blk)
        errs.append(e)
        out.append(_show({"block": blk, "depths": f"{ds[0]}-{ds[-1]}", "order_fit": e.order,
                          "order_finest_pair": e.order_finest, "error_coarsest": float(e.errors[0]),
                          "error_finest": float(e.errors[-1]),
                          "seconds": time.perf_counter() - t0}))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11.5, 4.3))
    sub = x0[:25]
    ts = np.linspace(0.0, t_end, 201)
    ode = dyn.odeint_batch(f, sub, ts, rtol=1e-10, atol=1e-12).states
    res = dyn.resnet_flow(f, sub, 8, t_end, "euler")
    res4 = dyn.resnet_flow(f, sub, 8, t_end, "rk4")
    for i in range(sub.shape[0]):
        a.plot(ode[:, i, 0], ode[:, i, 1], "-", color="0.3", lw=0.9)
        a.plot(res[:, i, 0], res[:, i, 1], "o-", color="C0", ms=2.5, lw=0.6)
        a.plot(res4[:, i, 0], res4[:, i, 1], "s", color="C1", ms=2.5)
    a.plot(sub[:, 0], sub[:, 1], "k.", ms=5)
    a.plot([], [], "-", color="0.3", label="ODE flow (DOPRI5, rtol 1e-10)")
    a.plot([], [], "o-", color="C0", ms=3, label="Euler ResNet, depth 8")
    a.plot([], [], "s", color="C1", ms=3, label="RK4 ResNet, depth 8")
    a.set_aspect("equal", adjustable="datalim")
    a.set_xlabel("$z_1$")
    a.set_ylabel("$z_2$")
    a.legend(fontsize=7)
    a.set_title("random smooth field, width 32, weights at 9 nodes on [0, 1]: 25 of the 100 "
                "points", fontsize=9)
    plot_resnet_order(*errs, ax=b)
    b.set_title(f"max error over 100 points: orders {errs[0].order_finest:.2f} (Euler), "
                f"{errs[1].order_finest:.2f} (RK4) between the two finest depths", fontsize=9)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_resnet_order.png")
    return out


def gronwall_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Gronwall envelope: a random tanh field (bound loose) and f(z) = C z (equality)."""
    rng = np.random.default_rng(3)
    times = np.linspace(0.0, 2.0, 41 if quick else 81)
    f = dyn.random_mlp_field(2, 32, seed=3)
    x1 = rng.standard_normal((6, 2))
    u = rng.standard_normal((6, 2))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    x2 = x1 + np.array([1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0])[:, None] * u
    out = []
    t0 = time.perf_counter()
    rnd = dyn.gronwall_check(f, x1, x2, times)
    rate = np.log(rnd.distance[-1] / rnd.distance[0]) / (times[-1] - times[0])
    end = rnd.distance[-1] / rnd.envelope[-1]
    out.append(_show({"field": "random tanh", "C": rnd.lipschitz, "holds": rnd.holds,
                      "max_ratio": rnd.max_ratio,
                      "ratio_at_T_max": float(end.max()), "ratio_at_T_min": float(end.min()),
                      "observed_rate_max": float(rate.max()),
                      "observed_rate_min": float(rate.min()),
                      "seconds": time.perf_counter() - t0}))
    c = 0.8
    lin = dyn.MLPField(c * np.eye(2), None, np.eye(2), None, activation="linear")
    t0 = time.perf_counter()
    eq = dyn.gronwall_check(lin, x1, x2, times, rtol=1e-10, atol=1e-12)
    rel = np.abs(eq.distance / eq.envelope - 1.0)
    out.append(_show({"field": "f(z) = 0.8 z", "C": eq.lipschitz, "holds": eq.holds,
                      "max_ratio": eq.max_ratio, "max_rel_gap": float(rel.max()),
                      "seconds": time.perf_counter() - t0}))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11.5, 4.2))
    plot_gronwall(rnd, ax=a)
    a.set_title(f"random tanh field, C = {rnd.lipschitz:.3g}: at t = 2 distance / "
                f"envelope = {end.min():.1g} ... {end.max():.1g}", fontsize=9)
    plot_gronwall(eq, ax=b)
    b.set_title(f"linear field f(z) = {c:g} z: equality, max |ratio - 1| = "
                f"{rel.max():.1e}", fontsize=9)
    fig.suptitle(r"Gronwall: $|z_1(t) - z_2(t)| \leq |x_1 - x_2|\, e^{Ct}$ for 6 pairs "
                 "(initial distances 1e-3 ... 2)", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_gronwall.png")
    return out


def _weight_norm2(model) -> float:
    f = model.field
    return float(sum(np.sum(np.asarray(a) ** 2) for a in (f.w1, f.b1, f.w2, f.b2)))


def geodesic_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """LSS, OTS and cost ratio over training, with and without L2 (seed 001, part II)."""
    epochs = 200 if quick else 600
    runs = (("ring", 3), ("spiral", 2))
    l2s = (0.0, 1e-3)
    hist, models, out = {}, {}, []
    for name, dim in runs:
        x, y = _data(name)
        for l2 in l2s:
            cfg = dyn.TrainConfig(epochs=epochs, l2=l2, scores=True, record_every=20, seed=0)
            t0 = time.perf_counter()
            m = dyn.train_ode_classifier(x, y, dim=dim, hidden=ODE_HIDDEN, depth=ODE_DEPTH,
                                         block="euler", n_nodes=ODE_DEPTH + 1, config=cfg)
            secs = time.perf_counter() - t0
            lab = f"{name} (d = {dim}), l2 = {l2:g}"
            h = m.history
            hist[lab] = h
            models[(name, l2)] = (m, x, y)
            tr = m.tracks(x)
            td = dyn.track_distance(tr)
            tb = dyn.track_distance_bound(tr[0], tr[-1])
            iu = np.triu_indices(x.shape[0], 1)
            out.append(_show({
                "run": lab, "accuracy": m.accuracy(x, y),
                "lss_first": float(h["lss"][0]), "lss_last": float(h["lss"][-1]),
                "lss_max": float(h["lss"].max()),
                "ots_first": float(h["ots"][0]), "ots_last": float(h["ots"][-1]),
                "cost_ratio_last": float(h["cost_ratio"][-1]),
                "cost_ratio_max": float(h["cost_ratio"].max()),
                "weights_sq": _weight_norm2(m),
                "track_dist_ge_bound": float(np.mean(td[iu] >= tb[iu] * (1 - 1e-12))),
                "seconds": secs}))
    fig = plt.figure(figsize=(14, 8.6))
    gs = fig.add_gridspec(2, 12)
    top = [fig.add_subplot(gs[0, 4 * j:4 * j + 4]) for j in range(3)]
    plot_geodesic_history(hist, ax=top)
    for j, (name, l2) in enumerate([("spiral", 0.0), ("spiral", 1e-3), ("ring", 0.0),
                                    ("ring", 1e-3)]):
        m, x, y = models[(name, l2)]
        ax = fig.add_subplot(gs[1, 3 * j:3 * j + 3], projection="3d" if m.dim == 3 else None)
        plot_trajectories(m.tracks(x), y, ax=ax, readout=(m.w, m.c), seed=0)
        ax.get_legend().remove()
        sc = dyn.geodesic_scores(m, x)
        ax.set_title(f"{name} (d = {m.dim}), l2 = {l2:g}: LSS {sc.lss:.2f}, OTS {sc.ots:.2f}",
                     fontsize=9)
        if m.dim == 3:
            ax.view_init(elev=22, azim=-55)
    fig.suptitle(f"Geodesic view (Gai & Zhang 2021): ResNets with {ODE_DEPTH} Euler blocks "
                 f"and one weight set per layer, width {ODE_HIDDEN}, {epochs} Adam epochs "
                 "(lr 0.02), with and without L2", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_geodesic.png")
    return out


def iresnet_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Inverting an invertible residual block by fixed-point iteration: error vs c^k."""
    rng = np.random.default_rng(4)
    d, hid, n = 2, 16, 200
    k_max = 60 if quick else 150
    x_rand = rng.standard_normal((n, d))
    x_tight = 0.1 * rng.standard_normal((n, d))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11.5, 4.3))
    out = []
    k = np.arange(k_max + 1)
    for j, c in enumerate((0.5, 0.9)):
        col = f"C{j}"
        # random: W1, W2 Gaussian, each normalised to spectral norm sqrt(c), random bias;
        # tight: W1 = sqrt(c) Q (orthonormal columns), W2 = +-W1^T, b1 = 0, so near 0 the
        # branch's Jacobian is +-c I: F ~ (1 +- c) x, the iteration's rate c is attained,
        # and Lip(F) = 1 + c (+) or Lip(F^-1) = 1 / (1 - c) (-)
        q, _ = np.linalg.qr(rng.standard_normal((hid, d)))
        blocks = {
            "random": (dyn.spectral_normalise(rng.standard_normal((hid, d)), np.sqrt(c)),
                       0.3 * rng.standard_normal(hid),
                       dyn.spectral_normalise(rng.standard_normal((d, hid)), np.sqrt(c)),
                       None, x_rand, "o"),
            "tight +": (np.sqrt(c) * q, None, np.sqrt(c) * q.T, None, x_tight, None),
            "tight -": (np.sqrt(c) * q, None, -np.sqrt(c) * q.T, None, x_tight, "s"),
        }
        a.semilogy(k, c ** k, "-", color=col, lw=1.6, alpha=0.5, label=f"$c^k$, c = {c:g}")
        for kind, (w1, b1, w2, b2, x, mk) in blocks.items():
            args = (w1, b1, w2, b2)
            y = dyn.iresblock_forward(x, *args)
            inv = dyn.iresblock_inverse(y, *args, max_iter=2000)
            xk = y.copy()
            e0 = float(np.max(np.linalg.norm(xk - x, axis=1)))
            err = [1.0]
            for _ in range(k_max):
                xk = y - (dyn.iresblock_forward(xk, *args) - xk)
                err.append(float(np.max(np.linalg.norm(xk - x, axis=1))) / e0)
            err = np.asarray(err)
            if mk is not None:
                a.semilogy(k, err, mk, color=col, ms=3, mfc=col if kind == "random" else "none",
                           label=f"{kind} block, c = {inv.lipschitz:.3g}")
            ok = err > 1e-13
            slope = np.polyfit(k[ok][2:], np.log(err[ok][2:]), 1)[0] if ok.sum() > 5 else np.nan
            ia, ib = rng.integers(0, n, 4000), rng.integers(0, n, 4000)
            keep = ia != ib
            dx = np.linalg.norm(x[ia[keep]] - x[ib[keep]], axis=1)
            dy = np.linalg.norm(y[ia[keep]] - y[ib[keep]], axis=1)
            if kind != "random":
                b.plot(dx / dx.max(), dy / dx.max(), "." if kind == "tight +" else "x",
                       color=col, ms=2, alpha=0.5)
            out.append(_show({"block": kind, "c": inv.lipschitz,
                              "n_iter_max": int(np.max(inv.n_iter)),
                              "observed_rate": inv.rate, "fitted_rate": float(np.exp(slope)),
                              "converged": inv.converged,
                              "max_error": float(np.max(np.linalg.norm(inv.x - x, axis=1))),
                              "max_error_bound": float(np.max(inv.error_bound)),
                              "lip_F": float(np.max(dy / dx)), "bound_lip_F": 1 + c,
                              "lip_Finv": float(np.max(dx / dy)),
                              "bound_lip_Finv": 1 / (1 - c)}))
    g = np.array([0.0, 1.0])
    for j, c in enumerate((0.5, 0.9)):
        b.plot(g, (1 + c) * g, "-", color=f"C{j}", lw=1, label=f"slopes 1 + c, 1 - c (c = {c:g})")
        b.plot(g, (1 - c) * g, "-", color=f"C{j}", lw=1)
    b.plot(g, g, "k:", lw=0.8)
    b.set_xlabel("$|x_a - x_b|$ (scaled)")
    b.set_ylabel("$|F(x_a) - F(x_b)|$ (same scale)")
    b.legend(fontsize=7)
    b.set_title(r"tight blocks ($W_2 = \pm W_1^T$), 4000 pairs: "
                r"$(1 - c)|dx| \leq |dF| \leq (1 + c)|dx|$", fontsize=9)
    a.set_xlabel("iteration k")
    a.set_ylabel(r"$\max_i |x_k - x| \;/\; \max_i |x_0 - x|$")
    a.set_ylim(bottom=1e-16)
    a.legend(fontsize=7)
    a.set_title(r"fixed point $x_{k+1} = y - g(x_k)$, $x_0 = y$ (200 points, d = 2, H = 16)",
                fontsize=9)
    fig.suptitle("Invertible residual block F(x) = x + W2 tanh(W1 x + b1), "
                 r"$\|W_1\|_2 = \|W_2\|_2 = \sqrt{c}$ (Behrmann et al. 2019)", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_iresnet.png")
    return out


FIGURES = [spectrum_figure, lambda_max_figure, newman_figure, lorenz_figure, rate_figure,
           odeflow_ring_figure, resnet_order_figure, gronwall_figure, geodesic_figure,
           iresnet_figure]


@contextmanager
def _quiet_blas():
    """BLAS on one thread; every FrameCollapseWarning shown."""
    with single_thread_blas(), warnings.catch_warnings():
        warnings.simplefilter("always", dyn.FrameCollapseWarning)
        yield


def main(argv=None) -> None:
    run_registry("Regenerate docs/figures/ for docs/dynamics.md.", OUT, FIGURES, argv=argv,
                 quick_help="narrower networks, shorter runs", context=_quiet_blas)


if __name__ == "__main__":
    main()
