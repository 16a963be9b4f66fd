"""Command-line interface: ``deeptheory phase-diagram``, ``deeptheory meanfield`` and
``deeptheory jacobian-spectrum``.

The first two use the mean-field library (:mod:`deeptheory.meanfield`), the third the
random-matrix library (:mod:`deeptheory.rmt`); variances are variances (sigma_w^2,
sigma_b^2), not standard deviations.

Bad input (unknown activation, negative variance, ...) prints one line to
stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main", "build_parser"]

PROG = "deeptheory"

#: PhaseDiagram fields that ``phase-diagram --quantity`` can plot
QUANTITIES = ("xi_c", "xi_q", "q_star", "chi1", "chi2", "c_star", "chi_c")


class _UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single stderr line (status 2), not usage + message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ---------------------------------------------------------------- argument types


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be a finite variance >= 0, got {text}")
    return v


def _pos_float(text: str) -> float:
    v = _nonneg_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _grid_size(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, got {v}")
    return v


def _int_at_least(lo: int, why: str = "") -> Any:
    """argparse type: an integer >= lo (``why`` explains the bound in the error)."""

    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}{why}, got {v}")
        return v

    return conv


_depth = _int_at_least(1)
_pspin = _int_at_least(3, " (p = 2 has no exponential complexity)")
_nonneg_int = _int_at_least(0)


def _out_path(out: Path) -> Path:
    """The output file, after checking that its directory exists (a usage error if not)."""
    if out.parent != Path("") and not out.parent.is_dir():
        raise _UsageError(f"--out: directory {str(out.parent)!r} does not exist")
    return out


def _activation(text: str) -> str:
    from .kernels import get_activation

    try:
        return get_activation(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _activation_names() -> str:
    from .kernels import list_activations

    return ", ".join(list_activations())


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for the ``deeptheory`` command (used by :func:`main`)."""
    acts = _activation_names()
    p = _Parser(
        prog=PROG,
        description="Theory-first numerics for deep networks. Mean-field signal propagation "
        "(Poole et al. 2016; Schoenholz et al. 2017) with weights W_ij ~ N(0, sigma_w2/N) and "
        "biases b_i ~ N(0, sigma_b2): sigma_w2 and sigma_b2 are VARIANCES.",
        epilog="Run 'deeptheory SUBCOMMAND --help' for the options of each subcommand.",
    )
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)

    pd = sub.add_parser(
        "phase-diagram",
        help="compute a (sigma_w2, sigma_b2) phase diagram and write it as a PNG",
        description="Compute the mean-field phase diagram on an N x N grid (sigma_w2 in "
        "[sw2-min, sw2-max], sigma_b2 in [0, sb2-max]) and write a heat map of one quantity "
        "with the order-to-chaos line chi_1 = 1 drawn on top.",
    )
    pd.add_argument("--activation", type=_activation, default="tanh",
                    help=f"activation function phi (default: tanh); one of: {acts}")
    pd.add_argument("--grid", type=_grid_size, default=100, metavar="N",
                    help="number of grid points along each axis, >= 2 (default: 100)")
    pd.add_argument("--out", type=Path, default=Path("phase_diagram.png"), metavar="FILE.png",
                    help="output PNG file; its directory must exist (default: phase_diagram.png)")
    pd.add_argument("--sw2-min", type=_pos_float, default=0.05, metavar="X",
                    help="smallest weight variance sigma_w2 on the grid, > 0 (default: 0.05)")
    pd.add_argument("--sw2-max", type=_pos_float, default=4.0, metavar="X",
                    help="largest weight variance sigma_w2 on the grid (default: 4)")
    pd.add_argument("--sb2-max", type=_pos_float, default=2.0, metavar="Y",
                    help="largest bias variance sigma_b2 on the grid; the grid starts at 0 "
                    "(default: 2)")
    pd.add_argument("--quantity", choices=QUANTITIES, default="xi_c",
                    help="quantity shown as the heat map: xi_c (correlation depth scale), "
                    "xi_q (length depth scale), q_star, chi1, chi2 (smooth phi only), c_star, "
                    "chi_c (default: xi_c)")
    pd.add_argument("--dpi", type=_grid_size, default=100, help="PNG resolution (default: 100)")
    pd.set_defaults(func=_cmd_phase_diagram)

    mfp = sub.add_parser(
        "meanfield",
        help="print the mean-field quantities at one (sigma_w2, sigma_b2)",
        description="Print q*, chi_1, chi_2, c*, chi_c, the depth scales xi_q, xi_c, xi_grad, "
        "the phase (ordered: chi_1 < 1; chaotic: chi_1 > 1) and the critical sigma_w2 "
        "(chi_1 = 1) at the given sigma_b2.",
    )
    mfp.add_argument("--activation", type=_activation, default="tanh",
                     help=f"activation function phi (default: tanh); one of: {acts}")
    mfp.add_argument("--sigma-w2", type=_nonneg_float, required=True, metavar="X",
                     help="weight variance sigma_w^2 (W_ij ~ N(0, sigma_w2 / N)), >= 0")
    mfp.add_argument("--sigma-b2", type=_nonneg_float, required=True, metavar="Y",
                     help="bias variance sigma_b^2 (b_i ~ N(0, sigma_b2)), >= 0")
    mfp.set_defaults(func=_cmd_meanfield)

    js = sub.add_parser(
        "jacobian-spectrum",
        help="plot the spectrum of the input-output Jacobian of a deep random network",
        description="Limiting eigenvalue density of J J^T (free probability: Pennington, "
        "Schoenholz & Ganguli 2017, 2018) at the fixed point q*, against the eigenvalues of "
        "sampled networks, and the largest singular value against depth for Gaussian and "
        "orthogonal weights; written as a PNG. By default sigma_w2 is on the critical line "
        "chi_1 = 1 at the given sigma_b2.",
    )
    js.add_argument("--activation", type=_activation, default="tanh",
                    help=f"activation function phi (default: tanh); one of: {acts}")
    js.add_argument("--weights", choices=("gaussian", "orthogonal"), default="orthogonal",
                    help="weight ensemble: Gaussian N(0, sigma_w2/N) or sigma_w times a Haar "
                    "orthogonal matrix (default: orthogonal)")
    js.add_argument("--depth", type=_depth, default=32, metavar="L",
                    help="number of layers L >= 1 (default: 32)")
    js.add_argument("--sigma-w2", type=_nonneg_float, default=None, metavar="X",
                    help="weight variance (default: the critical value chi_1 = 1)")
    js.add_argument("--sigma-b2", type=_nonneg_float, default=0.01, metavar="Y",
                    help="bias variance (default: 0.01)")
    js.add_argument("--width", type=_depth, default=400, metavar="N",
                    help="width of the sampled networks (default: 400)")
    js.add_argument("--trials", type=_depth, default=2, metavar="K",
                    help="number of sampled networks (default: 2); 0 is not allowed, use "
                    "--no-sample")
    js.add_argument("--no-sample", action="store_true", help="theory only, no sampled networks")
    js.add_argument("--seed", type=int, default=0, help="seed of the sampled networks")
    js.add_argument("--out", type=Path, default=Path("jacobian_spectrum.png"),
                    metavar="FILE.png", help="output PNG (default: jacobian_spectrum.png)")
    js.set_defaults(func=_cmd_jacobian_spectrum)

    ip = sub.add_parser(
        "info-plane",
        help="train a network on the 12-bit task and plot its information plane",
        description="Train a 12-10-7-5-4-3-2 network (Shwartz-Ziv & Tishby 2017; Adam, "
        "lr 4e-4, batch 512, 80%% of the 4096 patterns) and plot every layer's trajectory "
        "in the (I(X;T), I(T;Y)) plane, in bits, estimated by binning (30 bins) and, with "
        "--kde, by the Kolchinsky-Tracey KDE bound (noise variance 1e-3; Saxe et al. 2018). "
        "The arrays are saved next to the PNG as .npz.",
    )
    ip.add_argument("--activation", type=_activation, default="tanh",
                    help="hidden activation (default: tanh; relu gives the Saxe et al. "
                    "counter-example)")
    ip.add_argument("--epochs", type=_depth, default=2000, metavar="N",
                    help="training epochs (default: 2000; the paper used 8000)")
    ip.add_argument("--records", type=_grid_size, default=40, metavar="R",
                    help="number of log-spaced epochs recorded (default: 40)")
    ip.add_argument("--kde", action="store_true",
                    help="also estimate by KDE (O(N^2) per point: uses 10 of the records)")
    ip.add_argument("--seed", type=int, default=0, help="seed of the initialisation and split")
    ip.add_argument("--progress", action="store_true", help="print training progress")
    ip.add_argument("--out", type=Path, default=Path("info_plane.png"), metavar="FILE.png",
                    help="output PNG (default: info_plane.png)")
    ip.set_defaults(func=_cmd_info_plane)

    cp = sub.add_parser(
        "complexity",
        help="plot the complexity of the spherical p-spin landscape",
        description="Complexity Theta_p(u) and Theta_{k,p}(u) of critical points of the "
        "spherical p-spin Hamiltonian (Auffinger, Ben Arous & Cerny 2013; H normalised so "
        "that E[H(s)H(s')] = N (s.s'/N)^p on |s|^2 = N, energies per site u = H/N), with "
        "the levels -E_0 (ground state), -E_k and -E_inf; writes a PNG and prints them.",
    )
    cp.add_argument("--p", type=_pspin, default=3, metavar="P",
                    help="interaction order p >= 3 (default: 3)")
    cp.add_argument("--max-index", type=_nonneg_int, default=5, metavar="K",
                    help="largest index k drawn (default: 5)")
    cp.add_argument("--out", type=Path, default=Path("complexity.png"), metavar="FILE.png",
                    help="output PNG (default: complexity.png)")
    cp.set_defaults(func=_cmd_complexity)
    return p


# ---------------------------------------------------------------- commands


def _fmt(v: float) -> str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.12g}"


def _cmd_phase_diagram(args: argparse.Namespace) -> int:
    import numpy as np

    if args.sw2_min >= args.sw2_max:
        raise _UsageError(f"--sw2-min ({args.sw2_min}) must be below --sw2-max ({args.sw2_max})")
    out = _out_path(args.out)
    if out.suffix.lower() != ".png":
        raise _UsageError(f"--out must name a .png file, got {str(out)!r}")

    from . import meanfield as mf
    from .kernels import get_activation

    act = get_activation(args.activation)
    if args.quantity == "chi2" and act.max_deriv < 2:
        raise _UsageError(f"--quantity chi2: chi_2 is infinite for {act.name!r} "
                          "(phi'' has a delta)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .meanfield.plotting import plot_phase_diagram

    n = args.grid
    sw2 = np.linspace(args.sw2_min, args.sw2_max, n)
    sb2 = np.linspace(0.0, args.sb2_max, n)
    t0 = time.perf_counter()
    pd = mf.phase_diagram(sw2, sb2, act)
    elapsed = time.perf_counter() - t0

    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        plot_phase_diagram(pd, quantity=args.quantity, ax=ax)
        fig.tight_layout()
        fig.savefig(out, dpi=args.dpi)
    finally:
        plt.close(fig)

    crit0 = float(pd.critical_sigma_w2[0])
    chaotic = float(np.mean(pd.chaotic))
    print(f"phase diagram: activation={act.name}  grid={n} x {n} "
          f"(sigma_w2 in [{_fmt(sw2[0])}, {_fmt(sw2[-1])}], "
          f"sigma_b2 in [0, {_fmt(sb2[-1])}])")
    print(f"  computed in {elapsed:.2f} s ({1e6 * elapsed / (n * n):.1f} us per point)")
    if math.isfinite(crit0):
        print(f"  critical line (chi_1 = 1) at sigma_b2 = 0: sigma_w2 = {crit0:.6g}")
    else:
        print("  critical line (chi_1 = 1) at sigma_b2 = 0: none (no point with chi_1 = 1)")
    print(f"  chaotic fraction of the grid: {chaotic:.3f}")
    print(f"  wrote {out} ({args.quantity})")
    return 0


def _cmd_meanfield(args: argparse.Namespace) -> int:
    from . import meanfield as mf
    from .kernels import get_activation

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


def _cmd_jacobian_spectrum(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import meanfield as mf
    from . import rmt

    sb2 = args.sigma_b2
    _out_path(args.out)
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
    t0 = time.perf_counter()
    mom = rmt.jacobian_moments(sw2, sb2, L, args.activation, w)
    iso = rmt.dynamical_isometry(sw2, sb2, L, args.activation, w, tol=1e-6)
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, args.activation, w)
    samples = None
    if not args.no_sample:
        samples = rmt.sample_jacobian_singular_values(
            sw2, sb2, L, args.activation, width=args.width, weights=w,
            n_trials=args.trials, seed=args.seed,
        ).ravel()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    rmt.plot_jacobian_spectrum(sw2, sb2, L, args.activation, w, samples=samples, ax=axes[0])
    depths = np.unique(np.geomspace(1, max(L, 2), 12).astype(int))
    rmt.plot_max_singular_value(sw2, sb2, depths, args.activation, ax=axes[1])
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
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


def _cmd_info_plane(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import infotheory as it

    out = _out_path(args.out)
    if args.seed < 0:
        raise _UsageError(f"--seed must be >= 0, got {args.seed}")
    t0 = time.perf_counter()
    task = it.twelve_bit_task()
    run = it.train_mlp(task.x, task.y, activation=args.activation, epochs=args.epochs,
                       n_record=args.records, seed=args.seed, progress=args.progress)
    t_train = time.perf_counter() - t0
    planes = [it.information_plane(run, task.y)]
    if args.kde:
        rec = np.unique(np.linspace(0, len(run.epochs) - 1, 10).astype(int))
        planes.append(it.information_plane(run, task.y, estimator="kde", records=rec))
    fig, axes = plt.subplots(1, len(planes), figsize=(6 * len(planes), 4.5), squeeze=False)
    for ax, pl in zip(axes[0], planes, strict=True):
        it.plot_information_plane(pl, ax=ax, title=f"{args.activation}, 12-bit task, "
                                  f"{pl.estimator}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    arrays = {"epochs": run.epochs, "loss": run.loss, "train_accuracy": run.train_accuracy,
              "test_accuracy": run.test_accuracy}
    for pl in planes:
        arrays[f"{pl.estimator}_epochs"] = pl.epochs
        arrays[f"{pl.estimator}_ixt"] = pl.ixt
        arrays[f"{pl.estimator}_ity"] = pl.ity
    npz = out.with_suffix(".npz")
    np.savez(npz, **arrays)
    elapsed = time.perf_counter() - t0
    print(f"information plane: activation={args.activation}  epochs={args.epochs}  "
          f"seed={args.seed}")
    print(f"  trained in {t_train:.1f} s: loss {_fmt(run.loss[0])} -> {_fmt(run.loss[-1])}, "
          f"train accuracy {run.train_accuracy[-1]:.4f}, test accuracy "
          f"{run.test_accuracy[-1]:.4f}")
    last = planes[0]
    print("  last epoch, binning (bits): " + ", ".join(
        f"L{k + 1} ({last.ixt[-1, k]:.3f}, {last.ity[-1, k]:.3f})"
        for k in range(last.ixt.shape[1])))
    print(f"  wrote {out} and {npz} in {elapsed:.1f} s")
    return 0


def _cmd_complexity(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import spinglass as sg

    out = _out_path(args.out)
    p = args.p
    ks = list(range(args.max_index + 1))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    sg.plot_complexity(p, ks=ks, ax=ax)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"spherical {p}-spin (E[H(s)H(s')] = N (s.s'/N)^{p}, u = H/N):")
    print(f"  E_inf = {_fmt(sg.e_inf(p))}   (total complexity Theta_p(0) = 1/2 ln(p - 1) = "
          f"{_fmt(sg.theta(0.0, p))})")
    for k in ks:
        print(f"  E_{k} = {_fmt(sg.e_k(p, k))}" + ("   (ground state)" if k == 0 else ""))
    print(f"  wrote {out}")
    return 0


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deeptheory`` command with ``argv`` (default ``sys.argv[1:]``); return the status.

    Exit status 0 on success (and for ``--help``), 2 on bad input (one line on
    stderr), 1 when a computation fails to converge or the output cannot be
    written.  Never raises ``SystemExit`` itself, so it can be called in-process.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument (already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from .meanfield import ConvergenceError

    try:
        return int(args.func(args))
    except _UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ConvergenceError as exc:
        print(f"{PROG} {args.command}: did not converge: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
