"""``deeptheory jacobian-spectrum``: the random-matrix subcommand (:mod:`deeptheory.rmt`),
with its check and run-time estimate."""

from __future__ import annotations

import argparse
import math
import time
import warnings

from .. import cli as _cli  # the public limits and costs, read at call time
from ._common import _check_out, _duration, _fmt, _guard, _Progress, _require, _UsageError


def _jacobian_cost(args: argparse.Namespace) -> tuple[float, float]:
    theory = _cli.COSTS["jacobian_fixed"] + _cli.COSTS["jacobian_layer"] * args.depth
    sample = 0.0 if args.no_sample else (
        _cli.COSTS["jacobian_sample"] * float(args.width) ** 3 * args.depth * args.trials)
    return theory, sample


def _check_jacobian_spectrum(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "the Jacobian")
    theory, sample = _jacobian_cost(args)
    _guard(args, theory + sample,
           f"jacobian-spectrum (depth {args.depth}"
           + ("" if args.no_sample else f", {args.trials} x width {args.width} sampled") + ")",
           "use a smaller --depth, --width or --trials (or --no-sample)")
    return theory + sample


def _cmd_jacobian_spectrum(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import meanfield as mf
    from .. import rmt

    sb2 = args.sigma_b2
    if args.sigma_w2 is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sw2 = float(mf.critical_line(sb2, args.activation))
        if not math.isfinite(sw2):
            raise _UsageError(f"{args.activation} has no critical point at sigma_b2 = {sb2}; "
                              "pass --sigma-w2")
    else:
        sw2 = args.sigma_w2
    L, w = args.depth, args.weights
    theory_s, sample_s = _jacobian_cost(args)
    n_stages = 3 if args.no_sample else 4
    prog = _Progress("jacobian-spectrum", n_stages, "stages", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: theory at depth {L} "
              f"(~{_duration(theory_s)})"
              + ("" if args.no_sample else f", {args.trials} sampled networks of width "
                 f"{args.width} (~{_duration(sample_s)})"))
    t0 = time.perf_counter()
    mom = rmt.jacobian_moments(sw2, sb2, L, args.activation, w)
    iso = rmt.dynamical_isometry(sw2, sb2, L, args.activation, w, tol=1e-6)
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, args.activation, w)
    prog.update(1, "moments and largest eigenvalue")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    try:
        depths = np.unique(np.geomspace(1, max(L, 2), 12).astype(int))
        rmt.plot_max_singular_value(sw2, sb2, depths, args.activation, ax=axes[1])
        prog.update(2, "largest singular value against depth")
        samples = None
        if not args.no_sample:
            samples = rmt.sample_jacobian_singular_values(
                sw2, sb2, L, args.activation, width=args.width, weights=w,
                n_trials=args.trials, seed=args.seed, progress=prog.enabled,
            ).ravel()
            prog.update(3, "sampled networks")
        rmt.plot_jacobian_spectrum(sw2, sb2, L, args.activation, w, samples=samples,
                                   ax=axes[0])
        prog.update(n_stages, "limiting density")
        fig.tight_layout()
        fig.savefig(args.out, dpi=100)
    finally:
        plt.close(fig)
    elapsed = time.perf_counter() - t0
    print(f"jacobian spectrum: activation={args.activation}  weights={w}  depth={L}  "
          f"sigma_w2={_fmt(sw2)}  sigma_b2={_fmt(sb2)}")
    print(f"  q* = {_fmt(mf.q_star(sw2, sb2, args.activation))}  chi_1 = {_fmt(iso.chi1)}")
    print(f"  m1 = {_fmt(mom.m1)}  m2 = {_fmt(mom.m2)}  variance = {_fmt(mom.variance)}")
    print(f"  relative variance (m2 - m1^2)/m1^2 = {_fmt(iso.relative_variance)}")
    print(f"  largest singular value (theory) = {_fmt(math.sqrt(lam))}")
    if samples is not None:
        print(f"  sampled ({args.trials} x width {args.width}): mean eigenvalue = "
              f"{_fmt(np.mean(samples))}, largest singular value = "
              f"{_fmt(math.sqrt(np.max(samples)))}")
    print(f"  wrote {args.out} in {elapsed:.1f} s")
    return 0
