"""Regenerate the figures of docs/dynamics.md into docs/figures/.

    python docs/make_dynamics_figures.py            # all 17 figures (about 10.7 min, 2 busy cores)
    python docs/make_dynamics_figures.py --quick    # narrower networks, shorter runs (about 95 s)
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

Training as a dynamical system (issue 14; 42 s in all, 36 s of it the two SGD trainings;
``--quick`` 10 s; the two diffusion figures another 41 s, ``--quick`` 8 s):

* ``dynamics_stability.png`` (:func:`stability_figure`): stability regions and rates of
  GD, heavy ball and Nesterov on a quadratic with spectrum (0.1, 0.4, 1), Polyak's
  optimal point, iteration decay against the predicted rates, and the iterates against
  their continuous limits (gradient flow, damped oscillator, Su-Boyd-Candes ODE);
* ``dynamics_backward_error.png`` (:func:`backward_error_figure`): local error of one GD
  step against the gradient flow (slope 2) and the modified flow (slope 3) on a log-cosh
  loss and Rosenbrock, and the global distance of GD from both flows;
* ``dynamics_hamiltonian.png`` (:func:`hamiltonian_figure`): leapfrog against explicit
  Euler on a quadratic and the pendulum (phase planes, energy errors);
* ``dynamics_games.png`` (:func:`games_figure`): simultaneous, alternating, extragradient,
  optimistic GD and SGA on the bilinear game and the Dirac-GAN, the spectral radius
  against eta a (closed form, numpy eigenvalues, fitted from iterations), and Dirac-GAN
  rates with R1 and instance noise;
* ``dynamics_sgd_phases.png`` (:func:`sgd_phases_figure`): gradient norms, SNR and its
  transition, I(X;T) and the information plane on one epoch axis, tanh and relu
  (``sgd_phases`` defaults, seed 0; ``--quick``: 300 epochs);
* ``dynamics_diffusion.png`` (:func:`diffusion_figure`): score-based diffusion with the
  exact score of an 8-component 2-D mixture on a ring (:func:`diffusion_ring`), VP SDE and
  dy = dW: exact draws of p_T, probability-flow ODE (RK4, 100 steps) and reverse-SDE
  (Euler-Maruyama, 500 steps) samples over the target's density contours with the
  ``compare_to_target`` verdicts, and ODE trajectories from p_T to p_t0 (10^4 points per
  sampler, W2 on 2000; ``--quick``: 2000 and 500);
* ``dynamics_diffusion_order.png`` (:func:`diffusion_order_figure`): global error of the
  probability-flow ODE against the number of steps, Euler and RK4, both processes, with
  the measured orders.

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
    plot_energy,
    plot_game_trajectories,
    plot_geodesic_history,
    plot_gradient_snr,
    plot_gronwall,
    plot_lambda_max,
    plot_local_error_order,
    plot_lyapunov_spectrum,
    plot_resnet_order,
    plot_running_exponents,
    plot_sgd_phases,
    plot_stability_region,
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


# ------------------------------------------------------------------ issue 14: training dynamics

#: the non-quadratic test loss of tests/test_dynamics_optimizers.py:
#: L = log cosh x1 + log cosh x2 + C x1 x2 + x2^2/2
LC_C = 0.5
LC_X0 = np.array([1.3, -0.7])


def lc_loss(x):
    return float(np.log(np.cosh(x[0])) + np.log(np.cosh(x[1])) + LC_C * x[0] * x[1]
                 + 0.5 * x[1] ** 2)


def lc_grad(x):
    return np.array([np.tanh(x[0]) + LC_C * x[1], np.tanh(x[1]) + LC_C * x[0] + x[1]])


def lc_hess(x):
    s = 1.0 / np.cosh(x) ** 2
    return np.array([[s[0], LC_C], [LC_C, s[1] + 1.0]])


def _envelope_rate(e: np.ndarray, j: int, window: int) -> float:
    """exp of the slope of log max-envelope of |x_k| between step j and the last step."""
    n = e.size - 1
    hi, lo = e[n - window + 1:].max(), e[j - window + 1:j + 1].max()
    return float(np.exp((np.log(hi) - np.log(lo)) / (n - j)))


def stability_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """GD, heavy ball and Nesterov on a quadratic: stability regions and rates (closed form),
    Polyak's optimal point, iteration decay against the predicted rates, continuous limits."""
    mu, big = 0.1, 1.0
    lam = np.array([mu, 0.4, big])
    n_e, n_b = (120, 80) if quick else (400, 250)
    etas = np.linspace(0.01, 4.2, n_e)
    betas = np.linspace(0.0, 0.99, n_b)
    grids = {"gd": dyn.stability_grid(etas, [0.0], lam, "gd"),
             "heavy_ball": dyn.stability_grid(etas, betas, lam, "heavy_ball"),
             "nesterov": dyn.stability_grid(etas, betas, lam, "nesterov")}
    hb, gd = dyn.optimal_heavy_ball(mu, big), dyn.optimal_gd(mu, big)
    sk = np.sqrt(big / mu)
    nes = (1.0 / big, (sk - 1) / (sk + 1))
    out = []
    # boundary check: first unstable grid column against the closed form
    for m, g in grids.items():
        gap = []
        for i in range(g.betas.size):
            bad = np.nonzero(~g.stable[i])[0]
            if bad.size:
                gap.append(abs(g.etas[bad[0]] - g.eta_max[i]))
        out.append(_show({"method": m, "eta_max(beta=0)": float(g.eta_max[0]),
                          "eta_max(beta=0.9)": float(dyn.max_stable_step(0.9, big, m))
                          if m != "gd" else float("nan"),
                          "min_rate_on_grid": float(g.rate.min()),
                          "boundary_vs_grid_max_gap": float(max(gap)),
                          "grid_step": float(etas[1] - etas[0])}))
    fig = plt.figure(figsize=(15, 9.2))
    gs = fig.add_gridspec(2, 6, height_ratios=[1, 1])
    a_gd = fig.add_subplot(gs[0, 0:2])
    a_hb = fig.add_subplot(gs[0, 2:4])
    a_ne = fig.add_subplot(gs[0, 4:6])
    plot_stability_region(grids["gd"], ax=a_gd, optimal=gd, scaled=True)
    plot_stability_region(grids["heavy_ball"], ax=a_hb, optimal=hb, scaled=True)
    plot_stability_region(grids["nesterov"], ax=a_ne, optimal=(nes[0], nes[1]), scaled=True,
                          optimal_label=rf"$\eta = 1/L$, $\beta = (\sqrt{{\kappa}}-1)/"
                          rf"(\sqrt{{\kappa}}+1)$ = {nes[1]:.3f}, rate "
                          f"{float(dyn.quadratic_rate(nes[0], nes[1], lam, 'nesterov')):.3f}")
    a_gd.set_title(r"gradient descent: rate $\max_\lambda |1 - \eta\lambda|$", fontsize=9)
    a_hb.set_title(r"heavy ball: stable iff $\eta\lambda_{\max} < 2(1+\beta)$", fontsize=9)
    a_ne.set_title(r"Nesterov: stable iff $\eta\lambda_{\max} < 2(1+\beta)/(1+2\beta)$",
                   fontsize=9)
    # iteration decay against the predicted rates
    a_dec = fig.add_subplot(gs[1, 0:3])
    n = 100 if quick else 150
    window = 20
    runs = [("GD, optimal", "gd", gd.eta, None),
            ("heavy ball, Polyak optimal", "heavy_ball", hb.eta, hb.beta),
            (rf"Nesterov, $\eta = 1/L$, $\beta = {nes[1]:.3f}$", "nesterov", nes[0], nes[1]),
            (r"heavy ball, $\eta = 1$, $\beta = 0.9$", "heavy_ball", 1.0, 0.9),
            (r"Nesterov, $\eta = 3.5$, $\beta = 0.2$ (unstable)", "nesterov", 3.5, 0.2)]

    def grad(x):
        return lam * x

    x0 = np.ones(3)
    for c, (lab, m, eta, beta) in enumerate(runs):
        rho = float(dyn.quadratic_rate(eta, beta, lam, m))
        nn = n if rho < 1 else 60
        if m == "gd":
            tr = dyn.gradient_descent(grad, x0, eta, nn)
        elif m == "heavy_ball":
            tr = dyn.heavy_ball(grad, x0, eta, beta, nn)
        else:
            tr = dyn.nesterov(grad, x0, eta, beta, nn)
        e = np.linalg.norm(tr.x, axis=1)
        k = np.arange(nn + 1)
        fit = _envelope_rate(e, nn // 2, min(window, nn // 4))
        a_dec.semilogy(k, e, "-", color=f"C{c}", lw=1.0,
                       label=f"{lab}: predicted {rho:.4f}, fitted {fit:.4f}")
        mid = nn // 2
        a_dec.semilogy(k, e[mid] * rho ** (k - mid), ":", color=f"C{c}", lw=1.2)
        out.append(_show({"run": lab.replace("$", "").replace("\\", ""), "eta": float(eta),
                          "beta": float(beta) if beta is not None else 0.0,
                          "predicted_rate": rho, "fitted_rate": fit,
                          "final_error": float(e[-1])}))
    a_dec.set_ylim(1e-30, 1e6)
    a_dec.set_xlabel("iteration k")
    a_dec.set_ylabel(r"$|x_k - x^*|$")
    a_dec.legend(fontsize=7, loc="lower left")
    a_dec.set_title(r"$L = \frac{1}{2}\sum_i \lambda_i x_i^2$, $\lambda$ = (0.1, 0.4, 1), "
                    r"$x_0$ = (1, 1, 1); dotted: $\rho^k$ through the midpoint; fitted: "
                    "envelope slope over the second half", fontsize=8)
    # continuous limits on the log-cosh loss
    a_fl = fig.add_subplot(gs[1, 3:6])
    t_end, h = 6.0, 0.1
    nk = int(round(t_end / h))
    tt = np.linspace(0.0, t_end, 301)
    tk = np.arange(nk + 1) * h
    limits = (
        (rf"GD $\eta$ = {h:g} / gradient flow $x' = -\nabla L$",
         dyn.gradient_descent(lc_grad, LC_X0, h, nk), dyn.gradient_flow),
        (rf"heavy ball $\eta = h^2$, $\beta = 1 - a h$ (h = {h:g}, a = 1) / "
         r"$x'' + a x' + \nabla L = 0$",
         dyn.heavy_ball(lc_grad, LC_X0, h * h, 1.0 - h, nk),
         lambda g, x, t: dyn.momentum_flow(g, x, t, 1.0)),
        (rf"Nesterov s = {h * h:g}, $\beta_k = (k-1)/(k+2)$ / $x'' + (3/t) x' + \nabla L = 0$",
         dyn.nesterov(lc_grad, LC_X0, h * h, None, nk), dyn.nesterov_flow))
    for c, (lab, tr, flow_fn) in enumerate(limits):
        flow = flow_fn(lc_grad, LC_X0, tt)
        ref = flow_fn(lc_grad, LC_X0, tk).x
        a_fl.plot(tt, flow.x[:, 0], "-", color=f"C{c}", lw=1.3, label=lab)
        a_fl.plot(tk, tr.x[:, 0], "o", color=f"C{c}", ms=3)
        out.append(_show({"limit": lab.split(" /")[0].replace("$", "").replace("\\", ""),
                          "t_end": t_end, "max_dev_from_ode": float(np.abs(tr.x - ref).max())}))
    a_fl.axhline(0.0, color="0.6", lw=0.6)
    a_fl.set_xlabel(r"time t (k $\eta$ for GD, k $\sqrt{\eta}$ for momentum)")
    a_fl.set_ylabel("$x_1$")
    a_fl.legend(fontsize=7)
    a_fl.set_title(r"continuous limits on $L = \log\cosh x_1 + \log\cosh x_2 + x_1 x_2/2 + "
                   r"x_2^2/2$ from (1.3, -0.7): iterates (dots) vs ODEs (lines)", fontsize=8)
    fig.suptitle(rf"Optimisers on quadratics with Hessian spectrum in [{mu:g}, {big:g}] "
                 rf"($\kappa$ = {big / mu:g}): rate = spectral radius of the linear iteration "
                 "(Polyak 1964; Nesterov 1983; Su, Boyd & Candes 2016)", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_stability.png")
    return out


def _rosen_grad(x):
    """gradient of (1 - x)^2 + (y - x^2)^2 (Rosenbrock with b = 1)."""
    return np.array([-2 * (1 - x[0]) - 4 * x[0] * (x[1] - x[0] ** 2), 2 * (x[1] - x[0] ** 2)])


def backward_error_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Backward error analysis (Barrett & Dherin 2021): one GD step against the gradient
    flow (local error eta^2) and the modified flow of L + (eta/4)|grad L|^2 (eta^3)."""
    etas = np.logspace(-3.0, -1.5, 5 if quick else 9)
    out = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    t0 = time.perf_counter()
    g0, h0 = lc_grad(LC_X0), lc_hess(LC_X0)
    d3 = -2.0 * np.tanh(LC_X0) / np.cosh(LC_X0) ** 2 * g0 * g0
    c2 = 0.5 * float(np.linalg.norm(h0 @ g0))
    c3 = float(np.linalg.norm(h0 @ h0 @ g0 / 3 + d3 / 12))
    for ax, (name, grad, x0, hess) in zip(axes[:2], (
            ("log cosh", lc_grad, LC_X0, lc_hess),
            ("Rosenbrock", _rosen_grad, np.array([-0.5, 0.8]), None)), strict=True):
        r = dyn.local_error_order(grad, x0, etas, hessian=hess)
        plot_local_error_order(r, ax=ax)
        s = {"loss": name, "plain_slope": r.plain_slope, "modified_slope": r.modified_slope,
             "plain_error_at_min_eta": float(r.plain_error[0]),
             "modified_error_at_min_eta": float(r.modified_error[0]),
             "ratio_plain/modified_at_max_eta": float(r.plain_error[-1] / r.modified_error[-1])}
        if name == "log cosh":
            s["plain/(c2 eta^2) range"] = (f"{(r.plain_error / (c2 * etas ** 2)).min():.4f}-"
                                           f"{(r.plain_error / (c2 * etas ** 2)).max():.4f}")
            s["modified/(c3 eta^3) range"] = (
                f"{(r.modified_error / (c3 * etas ** 3)).min():.4f}-"
                f"{(r.modified_error / (c3 * etas ** 3)).max():.4f}")
            ee = np.array([etas[0], etas[-1]])
            ax.loglog(ee, c2 * ee ** 2, ":", color="C0", lw=1.0,
                      label=r"Taylor $\frac{\eta^2}{2}|Hg|$")
            ax.loglog(ee, c3 * ee ** 3, ":", color="C1", lw=1.0,
                      label=r"Taylor $\eta^3|H^2 g/3 + D^3L[g,g]/12|$")
            ax.legend(fontsize=7)
        ax.set_title(f"{name} loss, x0 = ({x0[0]:g}, {x0[1]:g}): one GD step against the\n"
                     r"flows at time $\eta$ (local error)", fontsize=9)
        out.append(_show(s))
    # many steps: distance of GD from both flows along the run
    ax = axes[2]
    t_end = 6.0
    for c, eta in enumerate((0.2, 0.1, 0.05)):
        nn = int(round(t_end / eta))
        tk = np.arange(nn + 1) * eta
        gd = dyn.gradient_descent(lc_grad, LC_X0, eta, nn)
        plain = dyn.gradient_flow(lc_grad, LC_X0, tk)
        mod = dyn.gradient_flow(lambda x, eta=eta: dyn.modified_loss_gradient(
            lc_grad, x, eta, hessian=lc_hess), LC_X0, tk)
        dp = np.linalg.norm(gd.x - plain.x, axis=1)
        dm = np.linalg.norm(gd.x - mod.x, axis=1)
        ax.semilogy(tk[1:], dp[1:], "-", color=f"C{c}", lw=1.3,
                    label=rf"$\eta$ = {eta:g}: flow of $L$ (max {dp.max():.2g})")
        ax.semilogy(tk[1:], dm[1:], "--", color=f"C{c}", lw=1.3,
                    label=rf"$\eta$ = {eta:g}: modified flow (max {dm.max():.2g})")
        out.append(_show({"global, eta": eta, "T": t_end, "max_dist_plain": float(dp.max()),
                          "max_dist_modified": float(dm.max())}))
    out[-1]["seconds"] = time.perf_counter() - t0
    ax.set_xlabel(r"time $t = k\eta$")
    ax.set_ylabel(r"$|x_k - X(k\eta)|$")
    ax.set_ylim(bottom=3e-7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("log cosh loss, GD for t <= 6: distance to the two flows\n"
                 r"(global error $O(\eta)$ against $O(\eta^2)$)", fontsize=9)
    fig.suptitle("Implicit gradient regularisation (Barrett & Dherin 2021): GD follows the "
                 r"flow of $L + \frac{\eta}{4}|\nabla L|^2$ to $O(\eta^3)$ per step, the flow "
                 r"of $L$ only to $O(\eta^2)$", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_backward_error.png")
    return out


def hamiltonian_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Frictionless momentum as a Hamiltonian system: leapfrog keeps the energy bounded,
    explicit Euler does not (quadratic and pendulum; Hairer, Lubich & Wanner 2006)."""
    w, h = 1.0, 0.1
    n_q = 300 if quick else 600
    n_p = 2000 if quick else 10_000
    out = []
    t0 = time.perf_counter()

    def qgrad(x):
        return w * w * x

    def qloss(x):
        return 0.5 * w * w * float(np.sum(x * x))

    def pgrad(x):
        return np.sin(x)

    def ploss(x):
        return float(np.sum(1.0 - np.cos(x)))

    fig, axes = plt.subplots(2, 2, figsize=(12.5, 9.0))
    # quadratic
    lf = dyn.leapfrog(qgrad, [1.0], [0.0], h, n_q, loss=qloss)
    eu = dyn.explicit_euler(qgrad, [1.0], [0.0], h, n_q, loss=qloss)
    a, b = axes[0]
    n_show = min(n_q, 250)
    a.plot(eu.x[:n_show + 1, 0], eu.p[:n_show + 1, 0], "-", color="C1", lw=0.8,
           label=f"explicit Euler, first {n_show} steps")
    a.plot(lf.x[:, 0], lf.p[:, 0], "-", color="C0", lw=1.6, label=f"leapfrog, {n_q} steps")
    a.plot([1.0], [0.0], "ks", ms=5, label="start (1, 0)")
    a.set_aspect("equal", adjustable="datalim")
    a.set_xlabel("x")
    a.set_ylabel("p")
    a.legend(fontsize=7, loc="upper right")
    a.set_title(rf"$L = \omega^2 x^2/2$, $\omega$ = {w:g}, h = {h:g}: phase plane", fontsize=9)
    plot_energy([lf, eu], ax=b, relative=True)
    k = np.arange(n_q + 1)
    band = h * h * w * w / (4 - h * h * w * w)
    b.semilogy(k[1:], (1 + h * h * w * w) ** k[1:] - 1, "k:", lw=1.0,
               label=r"exact: $(1 + h^2\omega^2)^k - 1$")
    b.axhline(band, color="k", ls="-.", lw=0.9,
              label=r"exact band $h^2\omega^2/(4 - h^2\omega^2)$")
    b.legend(fontsize=7)
    b.set_title("relative energy error (leapfrog: bounded, O(h^2); Euler: grows)", fontsize=9)
    rel_lf = np.abs(lf.energy_error) / lf.energy[0]
    out.append(_show({"system": "quadratic", "h": h, "steps": n_q,
                      "leapfrog_max_rel_error": float(rel_lf.max()), "band": band,
                      "euler_final_ratio": float(eu.energy[-1] / eu.energy[0]),
                      "euler_exact_ratio": float((1 + h * h * w * w) ** n_q)}))
    # pendulum
    a, b = axes[1]
    runs = [dyn.leapfrog(pgrad, [2.0], [0.0], 0.2, n_p // 2, loss=ploss),
            dyn.leapfrog(pgrad, [2.0], [0.0], 0.1, n_p, loss=ploss),
            dyn.explicit_euler(pgrad, [2.0], [0.0], 0.1, n_p, loss=ploss)]
    n_eu = min(n_p, 600)

    def wrapped(x, p):
        """angle in [-pi, pi), the line broken where it wraps."""
        xw = (x + np.pi) % (2 * np.pi) - np.pi
        jump = np.nonzero(np.abs(np.diff(xw)) > np.pi)[0] + 1
        return np.insert(xw, jump, np.nan), np.insert(p, jump, np.nan)

    a.plot(*wrapped(runs[2].x[:n_eu + 1, 0], runs[2].p[:n_eu + 1, 0]), "-", color="C2",
           lw=0.7, label=f"explicit Euler h = 0.1, first {n_eu} steps")
    a.plot(runs[1].x[:, 0], runs[1].p[:, 0], "-", color="C1", lw=1.6,
           label=f"leapfrog h = 0.1, {n_p} steps")
    a.plot(runs[0].x[:, 0], runs[0].p[:, 0], "-", color="C0", lw=0.8,
           label=f"leapfrog h = 0.2, {n_p // 2} steps")
    xs = np.linspace(-np.pi, np.pi, 400)
    a.plot(xs, 2 * np.cos(xs / 2), "k:", lw=0.8, label="separatrix H = 2")
    a.plot(xs, -2 * np.cos(xs / 2), "k:", lw=0.8)
    a.plot([2.0], [0.0], "ks", ms=5)
    a.set_xlabel(r"x (angle, wrapped to [$-\pi$, $\pi$))")
    a.set_ylabel("p")
    a.legend(fontsize=7, loc="lower right")
    a.set_title(r"pendulum $L = 1 - \cos x$, x0 = 2, p0 = 0: phase plane", fontsize=9)
    plot_energy(runs, ax=b, relative=True, time=True, block=max(1, n_p // 200))
    b.set_title(f"relative energy error against time t = k h (maximum over blocks of "
                f"{max(1, n_p // 200)} steps)", fontsize=9)
    e02 = np.abs(runs[0].energy_error).max()
    e01 = np.abs(runs[1].energy_error).max()
    half = runs[1].energy.size // 2
    eh = np.abs(runs[1].energy_error)
    out.append(_show({"system": "pendulum", "steps_h0.1": n_p,
                      "leapfrog_max_err_h0.2": float(e02), "leapfrog_max_err_h0.1": float(e01),
                      "ratio": float(e02 / e01),
                      "leapfrog_h0.1_first_half_max": float(eh[:half].max()),
                      "leapfrog_h0.1_second_half_max": float(eh[half:].max()),
                      "euler_energy_at_t=40": float(runs[2].energy[400]),
                      "euler_final_energy": float(runs[2].energy[-1]),
                      "H0": float(runs[2].energy[0]),
                      "seconds": time.perf_counter() - t0}))
    fig.suptitle(r"Momentum without friction: $x' = p$, $p' = -\nabla L(x)$ conserves "
                 r"$H = |p|^2/2 + L(x)$; leapfrog (= heavy ball with $\beta = 1$, "
                 r"$\eta = h^2$) is symplectic, explicit Euler is not", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_hamiltonian.png")
    return out


GAME_METHODS = ("simultaneous", "alternating", "extragradient", "optimistic", "sga")


def _game_run(method: str, field, jacobian, eta: float, n: int, z0=(1.0, 1.0)):
    if method == "sga":
        return dyn.sga_gd(field, jacobian, z0[0], z0[1], eta, n, on_fail="ignore")
    fn = {"simultaneous": dyn.simultaneous_gd, "alternating": dyn.alternating_gd,
          "extragradient": dyn.extragradient, "optimistic": dyn.optimistic_gd}[method]
    return fn(field, z0[0], z0[1], eta, n, on_fail="ignore")


def games_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Min-max games (Mescheder et al. 2018; Balduzzi et al. 2018): the four methods and SGA
    on the bilinear game and the Dirac-GAN, and the spectral radius of the update against
    eta a in closed form, from numpy eigenvalues and from the iterations."""
    from deeptheory.dynamics.plotting import METHOD_COLOURS, METHOD_NAMES

    n = 150 if quick else 300
    out = []
    t0 = time.perf_counter()
    data = dyn.game_trajectories(n_steps=n, methods=GAME_METHODS)
    fig, axes = plt.subplots(2, 2, figsize=(13, 11.5))
    plot_game_trajectories(data, ax=axes[0])
    for key in ("bilinear", "dirac"):
        for m, t in getattr(data, key).items():
            out.append(_show({"game": key, "method": m, "start": float(t.distance[0]),
                              f"|z_{n}|": float(t.distance[-1]),
                              "diverged_at": t.diverged_at}))
    # spectral radius against c = eta a on f = x y
    ax = axes[1, 0]
    game = dyn.BilinearGame(1.0)
    j = game.jacobian()
    cs = np.linspace(0.005, 2.4, 480)
    c_num = np.linspace(0.1, 2.3, 12 if quick else 23)
    c_traj = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 1.9])
    n_traj = 100 if quick else 200
    for m in GAME_METHODS:
        col = METHOD_COLOURS[m]
        closed = np.array([np.abs(dyn.bilinear_eigenvalues(m, c, 1.0)).max() for c in cs])
        ax.plot(cs, closed, "-", color=col, lw=1.4, label=METHOD_NAMES[m])
        num = np.array([dyn.update_spectrum(m, c, j).spectral_radius for c in c_num])
        want = np.array([np.abs(dyn.bilinear_eigenvalues(m, c, 1.0)).max() for c in c_num])
        ax.plot(c_num, num, "o", color=col, ms=4, mfc="none")
        fitted = []
        for c in c_traj:
            tr = _game_run(m, game.field, game.jacobian, c, n_traj)
            skip = min(20, tr.distance.size // 4)
            fitted.append(np.exp(dyn.norm_growth_rate(tr.distance, skip=skip)))
        fitted = np.array(fitted)
        pred = np.array([np.abs(dyn.bilinear_eigenvalues(m, c, 1.0)).max() for c in c_traj])
        ax.plot(c_traj, fitted, "^", color=col, ms=5)
        regimes = [dyn.bilinear_regime(m, c, 1.0) for c in (0.5, 0.9, 1.5)]
        out.append(_show({"method": m, "max|closed - numpy eig|": float(np.abs(num - want).max()),
                          "max|fitted - closed| (iterations)": float(np.abs(fitted - pred).max()),
                          "regime c=0.5/0.9/1.5": "/".join(regimes)}))
    ax.axhline(1.0, color="k", lw=0.8)
    for cc, txt in ((1 / np.sqrt(3), r"$1/\sqrt{3}$"), (1.0, "1"), (2.0, "2")):
        ax.axvline(cc, color="0.6", lw=0.7, ls=":")
        ax.text(cc, 0.62, txt, fontsize=8, ha="center", color="0.3")
    ax.plot([], [], "ko", mfc="none", ms=4, label="numpy eigenvalues of the update Jacobian")
    ax.plot([], [], "k^", ms=5, label=f"fitted growth of |z_k| ({n_traj} iterations)")
    ax.set_ylim(0.6, 1.6)
    ax.set_xlabel(r"$c = \eta\,|a|$")
    ax.set_ylabel("spectral radius of the linearised update")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(r"bilinear game $f = a x y$: closed form (lines) vs computed; < 1 converges, "
                 "= 1 cycles", fontsize=9)
    # Dirac-GAN: regularisers, predicted vs measured rates
    ax = axes[1, 1]
    eta = data.dirac_eta
    variants = [("GAN, no regulariser", dyn.DiracGAN(), "simultaneous"),
                (r"GAN, R1 $\gamma$ = 0.5", dyn.DiracGAN(gamma=0.5), "simultaneous"),
                (r"GAN, instance noise $\sigma$ = 1", dyn.DiracGAN(noise_std=1.0),
                 "simultaneous"),
                ("WGAN, no regulariser", dyn.DiracGAN(loss="wgan"), "simultaneous"),
                ("GAN, no regulariser", dyn.DiracGAN(), "extragradient"),
                ("GAN, no regulariser", dyn.DiracGAN(), "sga")]
    n_d = 400 if quick else 800
    colours = ("C3", "C9", "C8", "C5", "C0", "C4")  # the methods keep their phase-plane colours
    for col, (lab, g, m) in zip(colours, variants, strict=True):
        tr = _game_run(m, g.field, lambda x, y, g=g: g.jacobian(x, y).reshape(2, 2), eta, n_d)
        je = g.equilibrium_jacobian()
        jn = dyn.numerical_jacobian(g.field, 0.0, 0.0)
        rho = dyn.update_spectrum(m, eta, je).spectral_radius
        k = np.arange(tr.distance.size)
        skip = tr.distance.size // 2
        fit = float(np.exp(dyn.norm_growth_rate(tr.distance, skip=skip)))
        ax.semilogy(k, tr.distance, "-", color=col, lw=1.1,
                    label=f"{METHOD_NAMES[m]}, {lab}: predicted {rho:.4f}, fitted {fit:.4f}")
        ax.semilogy(k[skip:], tr.distance[skip] * rho ** (k[skip:] - skip), ":", color="k",
                    lw=0.9)
        ev = np.sort_complex(g.equilibrium_eigenvalues())
        out.append(_show({"dirac": lab.replace("$", "").replace("\\", ""), "method": m,
                          "eig": f"{ev[0]:.4f}, {ev[1]:.4f}",
                          "max|J_closed - J_fd|": float(np.abs(je - jn).max()),
                          "predicted_rate": rho, "fitted_rate_2nd_half": fit,
                          f"|z_{n_d}|": float(tr.distance[-1]),
                          "diverged_at": tr.diverged_at}))
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$|(\theta_k, \psi_k)|$")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(rf"Dirac-GAN, $\eta$ = {eta:g}, from (1, 1): predicted rate = spectral radius "
                 "at the equilibrium;\ndotted: predicted slope over the second half", fontsize=9)
    out[-1]["seconds"] = time.perf_counter() - t0
    fig.suptitle("Min-max games as dynamical systems: simultaneous GD spirals out, alternating "
                 "GD cycles, extragradient (Korpelevich 1976), optimistic GD (Daskalakis et al. "
                 "2018)\nand SGA (Balduzzi et al. 2018) converge; Dirac-GAN after Mescheder et al. "
                 "2018", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_games.png")
    return out


def _sgd_run(act: str, quick: bool):
    if quick:
        return dyn.sgd_phases(act, epochs=300, n_record=40)
    return dyn.sgd_phases(act)


def sgd_phases_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """SGD drift and diffusion phases beside the information plane (Shwartz-Ziv & Tishby
    2017; Saxe et al. 2018): tanh and relu, default settings of ``sgd_phases`` (seed 0)."""
    out = []
    fig, axes = plt.subplots(2, 4, figsize=(21, 9.2),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.15]})
    for row, act in enumerate(("tanh", "relu")):
        t0 = time.perf_counter()
        res = _sgd_run(act, quick)
        secs = time.perf_counter() - t0
        a_g, a_s, a_i, a_p = axes[row]
        plot_sgd_phases(res, axes=[a_g, a_i, a_p], smooth=0.1)
        plot_gradient_snr(res, ax=a_s)
        for a in (a_s, a_i):
            a.sharex(a_g)
        a_g.set_xlim(1, res.gradients.epochs[-1])
        a_i.set_title(f"{act}: I(X;T) per layer; triangles: compression start;\n"
                      "vertical lines: SNR transition", fontsize=9)
        a_g.set_title(f"{act}: |<g>|/|W| (solid), |std g|/|W| (dashed), running median "
                      "over 0.1 decades;\nvertical lines: SNR transition", fontsize=9)
        a_s.set_title(f"{act}: gradient SNR (faint: raw; solid: running median over 0.2 "
                      "decades)\ndots: transition = start of the final stretch below 1",
                      fontsize=9)
        a_p.set_title(f"{act}: information plane (binning, bits)", fontsize=9)
        g = res.gradients
        for k in range(g.snr.shape[1]):
            out.append(_show({
                "activation": act, "layer": k + 1, "snr_epoch": float(res.snr_epoch[k]),
                "compression_epoch": float(res.compression_epoch[k]),
                "coincide(x2)": bool(res.coincide[k]),
                "snr_first5": float(g.snr[:5, k].mean()),
                "snr_last200": float(g.snr[-200:, k].mean()),
                "ixt_max": float(res.plane.i_xt[:, k].max()),
                "ixt_end": float(res.plane.i_xt[-1, k])}))
        out.append(_show({"activation": act, "epochs": res.settings["epochs"],
                          "n_batches": g.n_batches,
                          "train_acc": float(res.train_accuracy[-1]),
                          "test_acc": float(res.test_accuracy[-1]), "seconds": secs}))
    fig.suptitle("SGD drift and diffusion phases beside the information plane (Shwartz-Ziv & "
                 "Tishby 2017, figs. 3-4; Saxe et al. 2018): 12-bit task, 12-10-7-5-4-3-2, "
                 "Adam lr 4e-4, batch 512, seed 0, one run per row", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_sgd_phases.png")
    return out


# ------------------------------------------------------------------- diffusion models

#: forward processes of the diffusion figures (T = 1; VP: beta 0.1 to 20, Song et al. 2021)
DIFF_PROCS = (("vp", "VP SDE"), ("brownian", "dy = dW"))


def diffusion_ring(k: int = 8, seed: int = 0):
    """The 2-D mixture of the diffusion figures and of ``bench_dynamics.py --part
    diffusion``: K = 8 components with means on a circle of radius 3, covariances
    A A^T + 0.05 I (A entries N(0, 0.09)) and weights U(0.5, 1.5) normalised, seeded."""
    rng = np.random.default_rng(seed)
    ang = 2.0 * np.pi * np.arange(k) / k
    means = 3.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    a = rng.standard_normal((k, 2, 2)) * 0.3
    covs = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(2)
    w = rng.uniform(0.5, 1.5, k)
    return dyn.GaussianMixture(w / w.sum(), means, covs)


def _flow_paths(mix, proc, x_t, n_steps: int, t0: float) -> np.ndarray:
    """(n_steps + 1, m, 2) states of the RK4 probability-flow ODE on its n_steps-step grid
    from T to t0: the run to the k-th grid time takes k steps of the same size."""
    h = (proc.T - t0) / n_steps
    out = [x_t]
    for k in range(1, n_steps + 1):
        tk = t0 if k == n_steps else proc.T - k * h
        out.append(dyn.probability_flow_sample(mix, proc, x_T=x_t, n_steps=k, method="rk4",
                                               t0=tk).samples)
    return np.stack(out)


def _second_moment_z(y, target) -> float:
    """(mean |y|^2 - E|Y|^2) / (sd |y|^2 / sqrt n), E|Y|^2 = sum_k pi_k (|m_k|^2 + tr S_k)
    exact for the mixture: a check with more power against a scale bias than KS."""
    r2 = np.sum(y * y, axis=1)
    exact = float(np.sum(target.weights * (np.sum(target.means ** 2, axis=1)
                                           + np.trace(target.covs, axis1=1, axis2=2))))
    return float((r2.mean() - exact) / (r2.std(ddof=1) / np.sqrt(r2.size)))


def _verdict(chk, chk_w2) -> str:
    """Two-line text of compare_to_target verdicts (KS and energy at n, W2 at n_w2)."""
    ok = "pass" if chk.ks_ok and chk.energy_ok and chk_w2.w2_ok else "FAIL"
    ez = (chk.energy - chk.energy_ref) / chk.energy_ref_sd
    return (f"KS max D = {chk.ks_stat.max():.4f} (crit {chk.ks_critical:.4f}); energy "
            f"z = {ez.max():+.1f}\nW2 = {chk_w2.w2:.3f} (ref {chk_w2.w2_ref:.3f} "
            f"$\\pm$ {chk_w2.w2_ref_sd:.3f}, n = {chk_w2.n}): {ok}")


def diffusion_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Diffusion models with the exact score (Song et al. 2021; Anderson 1982): exact draws
    of p_T, probability-flow ODE (RK4, 100 steps) and reverse-SDE samples beside the target
    p_t0, and ODE trajectories from p_T to p_t0, for the VP SDE and dy = dW."""
    from deeptheory.dynamics.plotting import plot_diffusion_samples

    mix = diffusion_ring()
    n = 2000 if quick else 10_000         # points per sampler; KS and energy on all of them
    n_w2 = 500 if quick else 2000         # W2 (exact OT, O(n^3)) on the first n_w2
    n_sde = 500                           # Euler-Maruyama steps (the library default)
    t0 = 1e-3
    out = []
    fig, axes = plt.subplots(2, 4, figsize=(20.5, 10.6), layout="constrained")
    for row, (kind, pname) in enumerate(DIFF_PROCS):
        proc = dyn.ForwardProcess(kind)
        tt = time.perf_counter()
        p_t = dyn.marginal(mix, proc.T, proc)
        x_t = p_t.sample(n, seed=1)
        ode = dyn.probability_flow_sample(mix, proc, x_T=x_t, n_steps=100, method="rk4",
                                          t0=t0)
        sde = dyn.reverse_sde_sample(mix, proc, x_T=x_t, n_steps=n_sde, t0=t0, seed=2)
        sde100 = dyn.reverse_sde_sample(mix, proc, x_T=x_t, n_steps=100, t0=t0, seed=2)
        a0, b0, c0 = proc.coefficients(proc.T)
        plot_diffusion_samples(x_t, p_t, ax=axes[row, 0], color="0.4",
                               label="exact draws of $p_T$", target_label="$p_T$")
        axes[row, 0].set_title(f"{pname}: start, exact draws of $p_T$ (T = {proc.T:g}):\n"
                               f"means x {a0:.3g}, covariances x {b0:.3g} + {c0:.3g} I",
                               fontsize=9)
        for col, (res, name) in enumerate(((ode, "ode_rk4_100"), (sde, f"sde_em_{n_sde}")),
                                          start=1):
            chk = dyn.compare_to_target(res.samples, res.target, w2=False, seed=3)
            chk_w2 = dyn.compare_to_target(res.samples[:n_w2], res.target, seed=4)
            ax = plot_diffusion_samples(res, ax=axes[row, col], color=f"C{col - 1}",
                                        label=f"generated ({min(4000, n)} of {n} shown)",
                                        target_label="target $p_{t_0}$", legend_loc="center")
            ax.set_title(f"{pname}: " + ax.get_title(), fontsize=9)
            ax.text(0.02, 0.02, _verdict(chk, chk_w2), transform=ax.transAxes, fontsize=7,
                    va="bottom", bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.5})
            ez = (chk.energy - chk.energy_ref) / chk.energy_ref_sd
            out.append(_show({
                "process": kind, "sampler": name, "n": n,
                "second_moment_z": _second_moment_z(res.samples, res.target),
                "ks_D": " ".join(f"{v:.4f}" for v in chk.ks_stat),
                "ks_crit": chk.ks_critical, "ks_ok": chk.ks_ok,
                "energy": " ".join(f"{v:.4f}" for v in chk.energy),
                "energy_ref": " ".join(f"{m:.4f}+-{s:.4f}" for m, s in
                                       zip(chk.energy_ref, chk.energy_ref_sd, strict=True)),
                "energy_z_max": float(ez.max()), "energy_ok": chk.energy_ok,
                "n_w2": n_w2, "w2": chk_w2.w2, "w2_ref": chk_w2.w2_ref,
                "w2_ref_sd": chk_w2.w2_ref_sd, "w2_ok": chk_w2.w2_ok,
                "passed": bool(chk.ks_ok and chk.energy_ok and chk_w2.w2_ok),
                "n_fev_per_point": int(res.n_fev.max())}))
        chk = dyn.compare_to_target(sde100.samples, sde100.target, w2=False, seed=3)
        ez = (chk.energy - chk.energy_ref) / chk.energy_ref_sd
        out.append(_show({"process": kind, "sampler": "sde_em_100", "n": n,
                          "second_moment_z": _second_moment_z(sde100.samples, sde100.target),
                          "ks_D": " ".join(f"{v:.4f}" for v in chk.ks_stat),
                          "ks_crit": chk.ks_critical, "energy_z_max": float(ez.max()),
                          "ks_ok": chk.ks_ok, "energy_ok": chk.energy_ok}))
        m = 12
        paths = _flow_paths(mix, proc, x_t[:m], 100, t0)
        gap = float(np.abs(paths[-1] - ode.samples[:m]).max())
        ax = plot_diffusion_samples(ode.samples, ode.target, ax=axes[row, 3], paths=paths,
                                    n_show=1500, color="0.6", label="ODE samples (1500)",
                                    target_label="target $p_{t_0}$", legend_loc="center")
        leg = ax.get_legend()  # outside, right of the panel: the trajectories fill the middle
        ax.legend(leg.legend_handles, [t.get_text() for t in leg.texts], fontsize=7,
                  loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_title(f"{pname}: probability-flow trajectories of {m} points,\n"
                     f"T = {proc.T:g} $\\to$ t0 = {t0:g} (RK4 grid, 100 steps)", fontsize=9)
        out[-1]["paths_end_vs_samples"] = gap
        out[-1]["seconds"] = time.perf_counter() - tt
    fig.suptitle("Score-based diffusion with the exact score of an 8-component 2-D Gaussian "
                 "mixture (Song et al. 2021): probability-flow ODE and reverse-time SDE "
                 "(Anderson 1982) against the exact $p_{t_0}$;\ncontours: regions holding "
                 "50, 90, 99 % of the target's mass; checks: per-coordinate KS "
                 "(level 0.01) and energy distance (z <= 4), W2 vs exact pairs of the same "
                 "size", fontsize=10)
    _save(fig, outdir, "dynamics_diffusion.png")
    return out


def diffusion_order_figure(outdir: Path | str = OUT, quick: bool = False) -> list[dict]:
    """Global error of the probability-flow ODE (exact score) against the number of steps:
    Euler (order 1) and RK4 (order 4) against Dormand-Prince 5(4) at rtol 1e-12, for the VP
    SDE and dy = dW (Hairer, Norsett & Wanner 1993, thm. II.3.6)."""
    from deeptheory.dynamics.plotting import plot_flow_order

    mix = diffusion_ring()
    n = 50 if quick else 200
    steps = {"euler": 2 ** np.arange(5, 12 if quick else 14),
             "rk4": 2 ** np.arange(4, 9 if quick else 11)}
    out = []
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.0), sharey=True)
    for ax, (kind, pname) in zip(axes, DIFF_PROCS, strict=True):
        proc = dyn.ForwardProcess(kind)
        tt = time.perf_counter()
        res = [dyn.flow_error_order(mix, proc, steps=steps[m], method=m, n=n, seed=0)
               for m in ("euler", "rk4")]
        plot_flow_order(*res, ax=ax)
        at100 = {}
        for m in ("euler", "rk4"):
            e100 = dyn.flow_error_order(mix, proc, steps=(100, 200), method=m, n=n, seed=0)
            at100[m] = float(e100.errors[0])
        ax.axvline(100, color="0.5", ls=":", lw=1.0)
        ax.text(104, ax.get_ylim()[0] * 3, "N = 100:\n" + "\n".join(
            f"{'Euler' if m == 'euler' else 'RK4'} {v:.1e}" for m, v in at100.items()),
            fontsize=7, va="bottom")
        ax.set_title(f"{pname} (T = {proc.T:g} to t0 = 1e-3), {n} exact draws of $p_T$, "
                     "max error over points\nagainst Dormand-Prince 5(4) at rtol 1e-12",
                     fontsize=9)
        for r in res:
            slopes = -np.diff(np.log(r.errors)) / np.diff(np.log(r.steps))
            out.append(_show({"process": kind, "method": r.method,
                              "steps": f"{r.steps[0]}-{r.steps[-1]}",
                              "order_lsq": r.order, "order_finest": r.order_finest,
                              "order_change": r.order_change,
                              "slopes": " ".join(f"{v:.3f}" for v in slopes),
                              "err_min": float(r.errors.min()),
                              "err_at_100": at100[r.method]}))
        out[-1]["seconds"] = time.perf_counter() - tt
    axes[1].set_ylabel("")
    fig.suptitle("Probability-flow ODE with the exact score: global error against the number "
                 "of steps (shared compiled Euler and RK4 steppers; dashed: least-squares "
                 "power law over all counts)", fontsize=10)
    fig.tight_layout()
    _save(fig, outdir, "dynamics_diffusion_order.png")
    return out


FIGURES = [spectrum_figure, lambda_max_figure, newman_figure, lorenz_figure, rate_figure,
           odeflow_ring_figure, resnet_order_figure, gronwall_figure, geodesic_figure,
           iresnet_figure, stability_figure, backward_error_figure,
           hamiltonian_figure, games_figure, sgd_phases_figure, diffusion_figure,
           diffusion_order_figure]


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
