"""``deeptheory phase-diagram``, ``meanfield`` and ``kernel``: the mean-field subcommands
(:mod:`deeptheory.meanfield`), with their checks and run-time estimates."""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
import warnings
from typing import Any

from .. import cli as _cli  # the public limits and costs, read at call time
from ._common import _check_out, _duration, _fmt, _guard, _Progress, _require, _UsageError

#: PhaseDiagram fields that ``phase-diagram --quantity`` can plot
QUANTITIES = ("xi_c", "xi_q", "q_star", "chi1", "chi2", "c_star", "chi_c")


def _phase_cost(act_name: str, n: int) -> float:
    pt, row = _cli.COSTS["phase_point"], _cli.COSTS["phase_row"]
    return pt.get(act_name, pt["*"]) * n * n + row.get(act_name, row["*"]) * n


def _check_phase_diagram(args: argparse.Namespace) -> float:
    if args.sw2_min >= args.sw2_max:
        raise _UsageError(f"--sw2-min ({args.sw2_min}) must be below --sw2-max ({args.sw2_max})")
    _check_out(args.out)
    _require(args.activation, 1, "the phase diagram (chi_1)")
    if args.quantity == "chi2":
        _require(args.activation, 2, "--quantity chi2")
    est = _phase_cost(args.activation, args.grid)
    _guard(args, est, f"phase-diagram --grid {args.grid} ({args.grid ** 2} points, "
           f"{args.activation})", "use a smaller --grid")
    return est


def _check_meanfield(args: argparse.Namespace) -> float:
    _require(args.activation, 1, "chi_1")
    return 0.0


def _check_kernel(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "the NTK")
    est = _cli.COSTS["kernel_layer"] * args.depth
    _guard(args, est, f"kernel --depth {args.depth}", "use a smaller --depth")
    return est


KERNEL_COSINES = (-1.0, -0.5, 0.0, 0.5, 0.9, 0.99, 1.0)


def _stack_rows(parts: list[Any]) -> Any:
    """Join PhaseDiagrams computed on consecutive blocks of sigma_b2 rows into one."""
    import numpy as np

    first = parts[0]
    if len(parts) == 1:
        return first
    nw = len(first.sigma_w2)

    def join(vals: list[Any], name: str) -> Any:
        v0 = vals[0]
        if name in ("sigma_b2", "critical_sigma_w2"):
            return np.concatenate([np.atleast_1d(v) for v in vals])
        if isinstance(v0, np.ndarray) and v0.ndim >= 2 and v0.shape[1] == nw:
            return np.concatenate(vals, axis=0)
        if isinstance(v0, dict):
            return {k: join([v[k] for v in vals], k) for k in v0}
        return v0

    kw = {f.name: join([getattr(p, f.name) for p in parts], f.name)
          for f in dataclasses.fields(first) if f.init}
    return dataclasses.replace(first, **kw)


def _phase_diagram_rows(sw2: Any, sb2: Any, act: Any, progress: _Progress,
                        chunks: int = 20) -> Any:
    """``mf.phase_diagram(sw2, sb2, act)`` computed in blocks of sigma_b2 rows (one progress
    line per block); non-convergence warnings are counted, not repeated per block."""
    import numpy as np

    from .. import meanfield as mf

    step = max(1, math.ceil(len(sb2) / chunks)) if progress.enabled else len(sb2)
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(0, len(sb2), step):
            parts.append(mf.phase_diagram(sw2, np.asarray(sb2[i:i + step]), act, on_fail="warn"))
            progress.update(min(i + step, len(sb2)))
    return _stack_rows(parts)


def _cmd_phase_diagram(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from ..kernels import get_activation

    act = get_activation(args.activation)
    n = args.grid
    sw2 = np.linspace(args.sw2_min, args.sw2_max, n)
    sb2 = np.linspace(0.0, args.sb2_max, n)
    prog = _Progress("phase-diagram", n, "sigma_b2 rows", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"{n} x {n} grid, estimated {_duration(estimate)} of CPU time")
    t0 = time.perf_counter()
    pd = _phase_diagram_rows(sw2, sb2, act, prog)
    elapsed = time.perf_counter() - t0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..meanfield.plotting import plot_phase_diagram

    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        plot_phase_diagram(pd, quantity=args.quantity, ax=ax)
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)

    crit0 = float(pd.critical_sigma_w2[0])
    chaotic = float(np.mean(pd.chaotic))
    z = np.asarray(getattr(pd, args.quantity), dtype=float)
    print(f"phase diagram: activation={act.name}  grid={n} x {n} "
          f"(sigma_w2 in [{_fmt(sw2[0])}, {_fmt(sw2[-1])}], "
          f"sigma_b2 in [0, {_fmt(sb2[-1])}])")
    print(f"  computed in {elapsed:.2f} s ({1e6 * elapsed / (n * n):.1f} us per point)")
    if math.isfinite(crit0):
        print(f"  critical line (chi_1 = 1) at sigma_b2 = 0: sigma_w2 = {crit0:.6g}")
    else:
        print("  critical line (chi_1 = 1) at sigma_b2 = 0: none (no point with chi_1 = 1)")
    print(f"  chaotic fraction of the grid: {chaotic:.3f}")
    n_nan = int(np.isnan(z).sum())
    if n_nan:
        print(f"  {args.quantity}: {n_nan} of {z.size} points failed (NaN, grey in the figure)")
    print(f"  wrote {args.out} ({args.quantity})")
    return 0


def _cmd_meanfield(args: argparse.Namespace, estimate: float = 0.0) -> int:
    from .. import meanfield as mf
    from ..kernels import get_activation

    act = get_activation(args.activation)
    sw2, sb2 = args.sigma_w2, args.sigma_b2
    qs = mf.q_star(sw2, sb2, act)
    c1 = mf.chi1(sw2, sb2, act)
    if act.max_deriv >= 2:
        c2 = _fmt(mf.chi2(sw2, sb2, act))
    else:
        c2 = "inf: phi'' has a delta"
    cs = mf.c_star(sw2, sb2, act)
    cc = mf.chi_c(sw2, sb2, act)
    xq = mf.xi_q(sw2, sb2, act)
    xc = mf.xi_c(sw2, sb2, act)
    xg = mf.xi_grad(sw2, sb2, act)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        crit = float(mf.critical_line(sb2, act))
    if c1 > 1.0:
        phase = "chaotic (chi_1 > 1)"
    elif c1 < 1.0:
        phase = "ordered (chi_1 < 1)"
    else:
        phase = "critical (chi_1 = 1)"
    crit_s = _fmt(crit) if math.isfinite(crit) else "none (no point with chi_1 = 1)"
    rows: list[tuple[str, Any]] = [
        ("q*", _fmt(qs)),
        ("chi_1", _fmt(c1)),
        ("chi_2", c2),
        ("c*", _fmt(cs)),
        ("chi_c", _fmt(cc)),
        ("xi_q", _fmt(xq)),
        ("xi_c", _fmt(xc)),
        ("xi_grad", _fmt(xg)),
        ("phase", phase),
        (f"critical sigma_w2 at sigma_b2={_fmt(sb2)}", crit_s),
    ]
    print(f"mean field: activation={act.name}  sigma_w2={_fmt(sw2)}  sigma_b2={_fmt(sb2)}")
    width = max(len(k) for k, _ in rows[:-1])
    for k, v in rows[:-1]:
        print(f"  {k:<{width}} = {v}")
    k, v = rows[-1]
    print(f"  {k}: {v}")
    return 0


def _cmd_kernel(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from .. import meanfield as mf
    from ..kernels import get_activation

    act = get_activation(args.activation)
    net = {"sigma_w2": args.sigma_w2, "sigma_b2": args.sigma_b2, "activation": act,
           "q0": args.q0, "network": args.network, "kind": args.kind, "alpha": args.alpha}
    c = np.linspace(-1.0, 1.0, 201)
    t0 = time.perf_counter()
    curves = {k: mf.dot_product_kernel(c, depth=args.depth, kernel=k, layers=True,
                                       **net).value_layers for k in ("nngp", "ntk")}
    table = {k: mf.dot_product_kernel(np.array(KERNEL_COSINES), depth=args.depth, kernel=k,
                                      **net).value for k in ("nngp", "ntk")}
    elapsed = time.perf_counter() - t0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..meanfield.plotting import plot_dot_product_kernels

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    try:
        plot_dot_product_kernels(c, curves, axes=axes, title=f"{act.name}, {args.network}")
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)

    print(f"kernel: activation={act.name}  network={args.network}"
          + (f" ({args.kind}, alpha={args.alpha})" if args.network == "resnet" else "")
          + f"  depth={args.depth}  sigma_w2={_fmt(args.sigma_w2)}  "
          f"sigma_b2={_fmt(args.sigma_b2)}  q0={_fmt(args.q0)}")
    print(f"  computed in {elapsed:.2f} s (NTK parameterisation; depth = hidden layers)")
    print("  " + "c".rjust(9) + "".join(f" {v:>12g}" for v in KERNEL_COSINES))
    for k in ("nngp", "ntk"):
        print("  " + k.upper().rjust(9) + "".join(f" {v:>12.6g}" for v in table[k]))
        norm = table[k] / table[k][-1]
        print("  " + (k.upper() + "/k(1)").rjust(9) + "".join(f" {v:>12.6g}" for v in norm))
    if args.network == "plain":
        c1 = float(mf.chi1(args.sigma_w2, args.sigma_b2, act))
        xc = float(mf.xi_c(args.sigma_w2, args.sigma_b2, act))
        phase = "ordered" if c1 < 1.0 else ("chaotic" if c1 > 1.0 else "critical")
        print(f"  mean field: chi_1 = {_fmt(c1)} ({phase}), xi_c = {_fmt(xc)} layers")
    print(f"  wrote {args.out} (kappa(c) / kappa(1) after each layer)")
    return 0
