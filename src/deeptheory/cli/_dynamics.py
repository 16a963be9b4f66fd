"""``deeptheory lyapunov``, ``ode-flow`` and ``diffusion``: the dynamics subcommands
(:mod:`deeptheory.dynamics`), with their checks and run-time estimates."""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

from .. import cli as _cli  # the public limits and costs, read at call time
from ._common import _check_out, _duration, _fmt, _guard, _Progress, _require, _UsageError


def _lyapunov_cost(args: argparse.Namespace) -> tuple[float, float]:
    """(estimated seconds, floating-point operations) of ``lyapunov``."""
    n = args.width
    k = n if args.k is None else args.k
    steps = args.steps + (args.steps // 10 if args.transient is None else args.transient)
    qr = 1 if args.qr_every == "auto" else args.qr_every
    flops = steps * (2.0 * n * n * (k + 1) + 4.0 * n * k * k / qr)
    est = (_cli.COSTS["lyapunov_fixed"] + _cli.COSTS["lyapunov_flop"] * flops
           + (_cli.COSTS["lyapunov_step"] + _cli.COSTS["lyapunov_word"] * n * n) * steps)
    return est, flops


def _check_lyapunov(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "the tangent dynamics")
    if args.k is not None and args.k > args.width:
        raise _UsageError(f"--k ({args.k}) must be at most --width ({args.width})")
    if args.qr_every != "auto" and args.qr_every > args.steps:
        raise _UsageError(f"--qr-every ({args.qr_every}) must be at most --steps "
                          f"({args.steps})")
    est, flops = _lyapunov_cost(args)
    k = args.width if args.k is None else args.k
    _guard(args, est, f"lyapunov (width {args.width}, {k} exponents, {args.steps} steps)",
           "use a smaller --width, --k or --steps")
    from ..dynamics.lyapunov import MAX_FLOPS

    if flops > MAX_FLOPS:  # reached only with --force
        raise _UsageError(f"this run needs about {flops:.2e} flops, above the library's limit "
                          f"{MAX_FLOPS:.0e}; lower --steps, --k or --width")
    return est


def _lyapunov_seeds(seed: int) -> tuple[Any, Any]:
    """Independent generators for the network and for the run (initial state, frame)."""
    import numpy as np

    net, run = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net), np.random.default_rng(run)


def _cmd_lyapunov(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from .. import dynamics as dyn
    from ..kernels.montecarlo import single_thread_blas

    act, g, n, sb2, w = args.activation, args.gain, args.width, args.sigma_b2, args.weights
    k = n if args.k is None else args.k
    prog = _Progress("lyapunov", 2, "stages", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: {k} exponents of a width-{n} "
              f"network over {args.steps} steps")
    net_rng, run_rng = _lyapunov_seeds(args.seed)
    system = dyn.random_rnn(n, g, sigma_b2=sb2, activation=act, weights=w, seed=net_rng)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, single_thread_blas():
        warnings.simplefilter("always", dyn.FrameCollapseWarning)
        res = dyn.lyapunov_spectrum(system, n_steps=args.steps, k=k, qr_every=args.qr_every,
                                    transient=args.transient, seed=run_rng, tol=args.tol,
                                    on_fail="ignore", progress=prog.enabled)
    elapsed = time.perf_counter() - t0
    prog.update(1, "spectrum")
    ex, se = res.exponents, res.stderr
    if not np.all(np.isfinite(ex)):
        raise _UsageError(f"the exponents are not finite (the state of this network left the "
                          f"floating-point range: {act} at gain {_fmt(g)}); lower --gain")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mf_lam = float(dyn.rnn_max_exponent(g, sb2, act))
        g_c = float(dyn.critical_gain(sb2, act))
        law = np.asarray(dyn.fresh_weights_exponents(n, g * g, sb2, act, w), dtype=float)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..dynamics.plotting import plot_lyapunov_spectrum, plot_running_exponents

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    try:
        plot_lyapunov_spectrum(res, g, sb2, act, w, width=n, ax=axes[0],
                               label=f"recurrent network ({args.steps} steps)")
        m = min(3, k)
        plot_running_exponents(res, range(m), reference=[mf_lam] + [math.nan] * (m - 1),
                               ax=axes[1])
        axes[1].set_title(r"running estimates (dashed: mean-field $\lambda_{\max}$)",
                          fontsize=9)
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)
    prog.update(2, "figure")

    if math.isfinite(g_c):
        rel = ">" if g > g_c else ("<" if g < g_c else "=")
        word = {">": "chaotic", "<": "ordered", "=": "critical"}[rel]
        phase = f"{word} (g {rel} critical gain {_fmt(g_c)})"
    else:
        word = "chaotic" if mf_lam > 0 else ("ordered" if mf_lam < 0 else "critical")
        phase = f"{word} (1/2 ln chi_1 {'>' if mf_lam > 0 else '<='} 0; no critical gain)"
    n_pos = int(np.sum(ex > 0))
    ky = f"{_fmt(res.kaplan_yorke)}"
    if k < n and ex.sum() >= 0:
        ky += f" (a lower bound: the {k} exponents computed sum to >= 0; raise --k)"
    ks = f"{_fmt(res.ks_entropy)}  (sum of the {n_pos} positive exponents, nats per step)"
    if k < n and ex[-1] > 0:
        ks += f"; a lower bound: all {k} computed are positive, raise --k"
    qr = f"{res.qr_every}" + (" (auto)" if args.qr_every == "auto" else "")
    print(f"lyapunov: activation={act}  weights={w}  gain={_fmt(g)}  width={n}  "
          f"sigma_b2={_fmt(sb2)}  seed={args.seed}")
    print(f"  {k} exponents from {res.n_steps} steps after a {res.transient}-step transient, "
          f"qr_every = {qr}, computed in {elapsed:.1f} s")
    print(f"  lambda_max = {_fmt(ex[0])} +- {se[0]:.3g}  (nats per step, batch-means "
          "standard error)")
    print(f"  mean_field = {_fmt(mf_lam)}  (1/2 ln chi_1 at sigma_w2 = g^2 = {_fmt(g * g)})")
    print(f"  fresh_law_max = {_fmt(law[0])}  (top of the fresh-weights law, N = {n})")
    print(f"  phase = {phase}")
    print(f"  kaplan_yorke = {ky}")
    print(f"  ks_entropy = {ks}")
    print(f"  sum = {_fmt(ex.sum())}  (of the {k} exponents)")
    if res.converged:
        print(f"  converged = yes (every standard error <= {args.tol:g}, no drift)")
    else:
        i = int(np.argmax(se))
        print(f"  converged = no (largest standard error {se[i]:.3g} at exponent {i + 1}, "
              f"tol {args.tol:g}, or drift between the halves of the run); raise --steps")
    for wng in caught:
        if issubclass(wng.category, dyn.FrameCollapseWarning):
            print(f"  warning: {wng.message}")
    print(f"  wrote {args.out}")
    return 0


def _check_ode_flow(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "training (the gradient)")
    stages = 4 if args.block == "rk4" else 1
    est = (_cli.COSTS["odeflow_fixed"]
           + _cli.COSTS["odeflow_unit"] * args.epochs * args.n * args.hidden * args.depth * stages)
    _guard(args, est, f"ode-flow ({args.epochs} epochs, {args.n} points, width {args.hidden}, "
           f"{args.depth} {args.block} blocks)", "use fewer --epochs, --n, --hidden or --depth")
    return est


def _cmd_ode_flow(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from .. import dynamics as dyn

    gen = dyn.ring_data if args.data == "ring" else dyn.spiral_data
    x, y = gen(args.n, seed=args.seed)
    prog = _Progress("ode-flow", 2, "stages", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: {args.epochs} epochs")
    cfg = dyn.TrainConfig(epochs=args.epochs, lr=args.lr, l2=args.l2,
                          record_every=max(1, args.epochs // 100), seed=args.seed)
    t0 = time.perf_counter()
    model = dyn.train_ode_classifier(x, y, dim=args.dim, hidden=args.hidden, depth=args.depth,
                                     block=args.block, activation=args.activation, config=cfg,
                                     progress=estimate > _cli.PROGRESS_SECONDS)
    elapsed = time.perf_counter() - t0
    prog.update(1, "training")
    tracks = model.tracks(x)
    if not np.all(np.isfinite(tracks)):
        raise _UsageError("the trajectories left the floating-point range; lower --lr")
    acc = model.accuracy(x, y)
    margin = dyn.readout_margin(model, x, y)
    scores = dyn.geodesic_scores(model, x)
    ring = None
    if args.data == "ring":
        ring = dyn.ring_separation(model, x_outer=x[y > 0] if args.dim == 2 else None)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..dynamics.plotting import plot_trajectories

    fig = plt.figure(figsize=(11, 4.5))
    try:
        ax0 = fig.add_subplot(1, 2, 1, projection="3d" if args.dim == 3 else None)
        plot_trajectories(tracks, y, ax=ax0, readout=(model.w, model.c), seed=args.seed)
        ax0.set_title(f"{args.data}, dim {args.dim}: accuracy {acc:.3f}", fontsize=9)
        ax1 = fig.add_subplot(1, 2, 2)
        h = model.history
        ax1.semilogy(h["epoch"], h["loss"], label="logistic loss")
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("loss")
        ax1.legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)
    prog.update(2, "figure")

    print(f"ode-flow: data={args.data}  dim={args.dim}  n={args.n}  hidden={args.hidden}  "
          f"depth={args.depth}  block={args.block}  activation={args.activation}  "
          f"l2={args.l2:g}  seed={args.seed}")
    print(f"  trained {args.epochs} epochs in {elapsed:.1f} s: loss = "
          f"{_fmt(model.history['loss'][-1])}, accuracy = {acc:.4f}")
    print(f"  margin = {_fmt(margin)}  (min over points of y s / |w|; < 0: misclassified)")
    if ring is not None:
        worst = float(np.min(ring.worst))
        print(f"  ring_separated = {'yes' if ring.separated else 'no'}  (worst signed "
              f"distance on the annulus circles {_fmt(worst)}, on the disk "
              f"{_fmt(ring.disk_worst)})")
        if args.dim == 2:
            wn = ", ".join(str(int(v)) for v in ring.winding)
            print(f"  winding = {wn}  (of the flowed annulus circles about the flowed centre; "
                  "+-1: a 2-D flow cannot separate the ring)")
            print(f"  margin_bound = {_fmt(ring.margin_bound)}  (Lip {_fmt(ring.lipschitz)} x "
                  f"cover {_fmt(ring.cover)}: the largest training margin a 2-D flow can "
                  "reach)")
    print(f"  line_shape_score = {_fmt(scores.lss)}, ot_score = {_fmt(scores.ots)}, "
          f"cost_ratio = {_fmt(scores.cost_ratio)}")
    print(f"  wrote {args.out}")
    return 0


def _diffusion_steps(args: argparse.Namespace) -> int:
    return args.steps if args.steps is not None else (100 if args.sampler == "ode" else 500)


def _check_diffusion(args: argparse.Namespace) -> float:
    _check_out(args.out)
    stages = 4 if (args.sampler == "ode" and args.method == "rk4") else 1
    steps = _diffusion_steps(args)
    w2_n = min(args.n, 5000)
    est = (_cli.COSTS["diffusion_fixed"]
           + _cli.COSTS["diffusion_eval"] * args.n * steps * stages * args.components
           + _cli.COSTS["diffusion_w2"] * w2_n * w2_n)
    _guard(args, est, f"diffusion ({args.n} samples, {steps} steps, {args.components} "
           "components)", "use fewer --n, --steps or --components")
    return est


def _cmd_diffusion(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from .. import dynamics as dyn

    k = args.components
    ang = 2.0 * np.pi * np.arange(k) / k
    means = args.radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    mix = dyn.GaussianMixture(np.full(k, 1.0 / k), means,
                              np.repeat(args.spread * np.eye(2)[None], k, axis=0))
    proc = dyn.ForwardProcess(args.process)
    steps = _diffusion_steps(args)
    prog = _Progress("diffusion", 3, "stages", estimate > _cli.PROGRESS_SECONDS)
    t0 = time.perf_counter()
    if args.sampler == "ode":
        res = dyn.probability_flow_sample(mix, proc, args.n, n_steps=steps, method=args.method,
                                          seed=args.seed, progress=prog.enabled)
    else:
        res = dyn.reverse_sde_sample(mix, proc, args.n, n_steps=steps, seed=args.seed,
                                     progress=prog.enabled)
    elapsed = time.perf_counter() - t0
    prog.update(1, "sampling")
    # W2 needs exact OT between clouds: a random subset of at most 5000 points
    sub = res.samples
    if sub.shape[0] > 5000:
        pick = np.random.default_rng(args.seed).choice(sub.shape[0], 5000, replace=False)
        sub = sub[pick]
    full = sub is res.samples
    chk = dyn.compare_to_target(res.samples, res.target, w2=full, seed=args.seed,
                                progress=prog.enabled)
    w2chk = chk if full else dyn.compare_to_target(sub, res.target, seed=args.seed)
    prog.update(2, "checks")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..dynamics.plotting import plot_diffusion_samples

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    try:
        plot_diffusion_samples(res.samples, res.target, ax=axes[0], label="generated")
        what = "probability-flow ODE" if args.sampler == "ode" else "reverse-time SDE"
        axes[0].set_title(f"{what} ({res.method}, {steps} steps, {args.process})", fontsize=9)
        plot_diffusion_samples(res.initial, None, ax=axes[1], color="0.4",
                               label=f"start: exact p_T (T = {res.T:g})")
        axes[1].set_title("initial samples", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)
    prog.update(3, "figure")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(f"diffusion: process={args.process}  sampler={args.sampler}  method={res.method}  "
          f"steps={steps}  n={args.n}  components={k}  radius={_fmt(args.radius)}  "
          f"spread={_fmt(args.spread)}  seed={args.seed}")
    print(f"  sampled in {elapsed:.2f} s, from T = {_fmt(res.T)} to t0 = {_fmt(res.t0)} "
          f"(the target is the exact p_t0)")
    ks = ", ".join(f"{v:.4g}" for v in chk.ks_stat)
    print(f"  ks = {verdict(chk.ks_ok)}  (statistics {ks} per coordinate; critical value "
          f"{chk.ks_critical:.4g} at alpha 0.01 / d)")
    en = ", ".join(f"{v:.3g}" for v in chk.energy)
    ref = ", ".join(f"{m:.3g} +- {s:.2g}" for m, s in zip(chk.energy_ref, chk.energy_ref_sd,
                                                         strict=True))
    print(f"  energy_distance = {verdict(chk.energy_ok)}  ({en}; exact-vs-exact reference "
          f"{ref}; fails above mean + {chk.z:g} sd)")
    print(f"  w2 = {verdict(w2chk.w2_ok)}  ({w2chk.w2:.4g}; reference {w2chk.w2_ref:.4g} +- "
          f"{w2chk.w2_ref_sd:.2g} on {w2chk.n} points)")
    print(f"  passed = {'yes' if chk.ks_ok and chk.energy_ok and w2chk.w2_ok else 'no'}")
    print(f"  wrote {args.out}")
    return 0
