"""Command-line interface: ``deeptheory phase-diagram``, ``deeptheory meanfield``,
``deeptheory kernel``, ``deeptheory jacobian-spectrum``, ``deeptheory info-plane``,
``deeptheory complexity``, ``deeptheory gibbs``, ``deeptheory lyapunov``,
``deeptheory diffusion``, ``deeptheory ode-flow``, ``deeptheory verify`` and
``deeptheory sweep``.

``phase-diagram``, ``meanfield`` and ``kernel`` use the mean-field library
(:mod:`deeptheory.meanfield`), ``jacobian-spectrum`` the random-matrix library
(:mod:`deeptheory.rmt`), ``info-plane`` the information-theory library
(:mod:`deeptheory.infotheory`), ``complexity`` and ``gibbs`` the spin-glass library
(:mod:`deeptheory.spinglass`) and ``lyapunov``, ``diffusion`` and ``ode-flow`` the dynamics library
(:mod:`deeptheory.dynamics`); variances are variances (sigma_w^2, sigma_b^2),
not standard deviations (``lyapunov`` takes the gain g, W_ij ~ N(0, g^2 / N), so
sigma_w^2 = g^2).  ``deeptheory --version`` prints the version.

Every argument is checked before any computation starts: bad input (unknown
activation or an expression that does not parse, a variance outside
[0, :data:`VARIANCE_MAX`], a negative seed, an output file whose extension
matplotlib cannot write or whose directory is missing or not writable, ...)
prints one line to stderr and exits with status 2; no traceback.

Long runs: each figure subcommand estimates its run time up front from the
measured costs in :data:`COSTS` and refuses (status 2, with the estimate) when
it exceeds :data:`MAX_SECONDS` unless ``--force`` is given; runs estimated
above :data:`PROGRESS_SECONDS` print progress lines to stderr and turn on the progress
bars (tqdm, stderr) of the long library calls they make (sampling, training, spectra);
``deeptheory sweep`` shows its bar unless ``--no-progress``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main", "build_parser", "MAX_SECONDS", "PROGRESS_SECONDS", "VARIANCE_MAX", "COSTS"]

PROG = "deeptheory"

#: PhaseDiagram fields that ``phase-diagram --quantity`` can plot
QUANTITIES = ("xi_c", "xi_q", "q_star", "chi1", "chi2", "c_star", "chi_c")

#: largest variance (sigma_w2, sigma_b2, --sw2-max, --sb2-max) the command line accepts;
#: far beyond every critical line of the built-in activations (all O(1)), and inside the
#: range where the fixed-point solvers run without overflow
VARIANCE_MAX = 1e4

#: a run estimated to take longer than this (seconds) is refused unless ``--force``
MAX_SECONDS = 600.0

#: a run estimated to take longer than this (seconds) prints progress lines to stderr
PROGRESS_SECONDS = 5.0

#: Measured costs behind the run-time estimates, in CPU seconds of one core
#: (``time.process_time``; 2-core x86-64 VM, Python 3.11, numpy 2.4, measured on the
#: 2026-11 tree while other jobs loaded the machine, so upper-side on an idle one).
#: phase-diagram: per grid point and per sigma_b2 row (the critical line) by activation,
#: from ``mf.phase_diagram`` on a 32 x 32 grid after the Mehler-series engine (CPU per point:
#: tanh 1.7e-4 s, hard_tanh 7.8e-4, gelu 2.3e-4, elu 2.6e-4, sin 1.0e-4; rounded up);
#: ``"*"``: any other activation, user expressions included (their kernels are compiled
#: in each process, a few seconds more).  jacobian-spectrum: the theory part
#: (density of J J^T on 400 points, largest singular value at 12 depths) fixed + per
#: layer (tanh: 19 s at depth 32, 43 s at depth 320), the sampled networks per
#: width^3 x depth x trial (0.6-0.7e-9 s measured at width 300, depth 16).  info-plane:
#: per training epoch (2000 epochs in 28 s) and per KDE record.  complexity: fixed + per
#: index curve (the legend dominates: 4.7 s for 201 curves, 24 s for 1001).  lyapunov:
#: fixed (theory, figure) + per floating-point operation of the QR loop, counted as
#: (2 N^2 (k + 1) + 4 N k^2) per step (one matrix product and one QR per step, the
#: worst case of ``--qr-every auto``), + per step (loop overhead) + per weight read per
#: step (memory-bound for small k), with BLAS held at one thread (CPU per step: N = k = 100
#: 0.38 ms, N = k = 200 2.0 ms, N = k = 400 11 ms; k = 1: N = 1000 1.0 ms, N = 2000 5.0 ms).
#: diffusion: fixed (compiled kernels from the cache, figure) + per score evaluation per
#: mixture component (about 8.7e-8 s per evaluation at K = 8, 10^5 points, RK4, one core;
#: rounded up) + per squared sample size for the W2 check (nine exact OT solves: 2.6 s at
#: n = 1500 with scipy; POT takes over above 500 points).
#: ode-flow: fixed (checks, figure) + per epoch x point x hidden unit x block stage
#: (1.3e-7 s measured: 33 ms per epoch at n = 200, H = 32, 10 RK4 blocks; rounded up).
#: gibbs: fixed (compiled kernels from the cache, exact values, figure; 0.6 s) + per
#: single-spin update of an Ising lattice (4.2e-9 s: L = 128, 2.6e9 updates in 11.6 s) + per
#: operation of an SK update (an update costs 1 + N/20 operations, the library's count;
#: 2.3e-9 s: N = 512, 2.2e9 operations in 5.6 s) + per temperature below T_c and RSB step
#: of the SK replica theory (0.46 s at k = 3, 0.3 s at k = 1); the defaults took 12.7 s
#: (sk), 2.3 s (ising2d), 0.6 s (ising1d) of CPU, estimated 16, 3.0 and 1.1 s.
COSTS: dict[str, Any] = {
    "phase_point": {"linear": 5e-6, "relu": 5e-6, "erf": 5e-6, "sigmoid": 1e-4,
                    "tanh": 2e-4, "hard_tanh": 8e-4, "*": 1e-3},
    "phase_row": {"linear": 1e-4, "relu": 1e-4, "erf": 1e-3, "*": 1e-3},
    "jacobian_fixed": 15.0,
    "jacobian_layer": 0.1,
    "jacobian_sample": 1e-9,
    "info_epoch": 1.5e-2,
    "info_kde_record": 3.0,
    "complexity_fixed": 0.3,
    "complexity_index": 0.005,
    "kernel_layer": 0.03,
    "lyapunov_fixed": 3.0,
    "lyapunov_flop": 6e-11,
    "lyapunov_step": 1e-5,
    "lyapunov_word": 1e-9,
    "odeflow_fixed": 2.0,
    "odeflow_unit": 2e-7,
    "diffusion_fixed": 3.0,
    "diffusion_eval": 1.5e-8,
    "diffusion_w2": 2e-6,
    "gibbs_fixed": 1.0,
    "gibbs_ising_update": 5e-9,
    "gibbs_sk_op": 3e-9,
    "gibbs_parisi_step": 0.5,
}


class _UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single stderr line (status 2), not usage + message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ---------------------------------------------------------------- argument types


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return v


def _nonneg_float(text: str) -> float:
    """A variance in [0, VARIANCE_MAX]."""
    v = _number(text)
    if not 0 <= v <= VARIANCE_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a variance in [0, {VARIANCE_MAX:g}], got {text}")
    return v


def _pos_float(text: str) -> float:
    """A variance in (0, VARIANCE_MAX]."""
    v = _number(text)
    if not 0 < v <= VARIANCE_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a variance in (0, {VARIANCE_MAX:g}], got {text}")
    return v


def _int_in(lo: int, hi: int | None = None, why: str = "", hi_text: str = "") -> Any:
    """argparse type: an integer in [lo, hi] (``why`` explains the bound in the error,
    ``hi_text`` writes hi)."""

    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi_text or hi}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}{why}, got {v}")
        return v

    return conv


_grid_size = _int_in(2)
_depth = _int_in(1)
_pspin = _int_in(3, None, " (p = 2 has no exponential complexity)")
_nonneg_int = _int_in(0)
_seed = _int_in(0, 2**63 - 1, hi_text="2^63 - 1")
_dpi = _int_in(10, 1000)
_width = _int_in(2)
_records = _int_in(2, 1000)
_lyap_width = _int_in(2, 10000)
_steps = _int_in(10)

#: largest gain of ``lyapunov --gain``: sigma_w2 = g^2 stays within VARIANCE_MAX
GAIN_MAX = math.sqrt(VARIANCE_MAX)


def _gain(text: str) -> float:
    """A gain g in (0, GAIN_MAX] (W_ij ~ N(0, g^2 / N))."""
    v = _number(text)
    if not 0 < v <= GAIN_MAX:
        raise argparse.ArgumentTypeError(f"must be a gain in (0, {GAIN_MAX:g}], got {text}")
    return v


def _tol(text: str) -> float:
    """A tolerance >= 0."""
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return v


def _positive_in(hi: float) -> Any:
    def parse(text: str) -> float:
        v = _number(text)
        if not 0.0 < v <= hi:
            raise argparse.ArgumentTypeError(f"must be in (0, {hi:g}], got {text}")
        return v
    return parse


_radius = _positive_in(100.0)
_spread = _positive_in(100.0)


def _lr(text: str) -> float:
    v = _number(text)
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return v


def _qr_every(text: str) -> int | str:
    """``auto`` or an integer >= 1."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {text!r}") \
            from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {v}")
    return v

#: ``gibbs`` limits: SK couplings are dense (N^2 doubles), lattices up to 1024 x 1024
GIBBS_MAX_SK_N = 4096
GIBBS_MAX_SPINS = 1_048_576
GIBBS_MAX_L = 1024
GIBBS_MAX_TEMPS = 128
#: ``gibbs`` default size and temperature range per model
GIBBS_DEFAULTS = {"sk": (128, 0.5, 1.6), "ising2d": (32, 1.5, 3.5), "ising1d": (64, 0.5, 3.0)}
#: ``gibbs`` warns when Monte Carlo and an exact value differ by more standard errors
GIBBS_Z_WARN = 5.0
#: smallest and largest temperature ``gibbs`` accepts
GIBBS_T_RANGE = (0.01, 1000.0)


def _temperature(text: str) -> float:
    """A temperature in GIBBS_T_RANGE."""
    v = _number(text)
    lo, hi = GIBBS_T_RANGE
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"must be a temperature in [{lo:g}, {hi:g}], got "
                                         f"{text}")
    return v


#: a plain name (not an expression): ``--activation nosuch`` is an unknown name
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _activation(text: str) -> str:
    """A registered activation name, or an expression in x (registered on the fly)."""
    from .kernels import get_activation, register_activation

    try:
        return get_activation(text).name
    except (ValueError, TypeError) as exc:
        if _NAME.match(text.strip()) and text.strip() != "x":
            raise argparse.ArgumentTypeError(str(exc)) from None
    name = "".join(text.split())  # the expression, without blanks, is its registered name
    try:
        return get_activation(name).name
    except (ValueError, TypeError):
        pass
    try:
        return register_activation(name, text).name
    except Exception as exc:  # sympy raises several types; all mean "bad expression"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "does not parse" in msg:
            msg = "it does not parse"
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a known activation nor a usable expression in x: {msg}"
        ) from None


def _activation_names() -> str:
    from .kernels import list_activations

    return ", ".join(list_activations())


def _figure_types() -> dict[str, str]:
    """Extensions matplotlib's savefig can write (without importing pyplot)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def _figure_args(sp: argparse.ArgumentParser, default: str, force_help: str) -> None:
    """The --out FILE.png, --dpi and --force options of a figure-writing subcommand."""
    sp.add_argument("--out", type=Path, default=Path(default), metavar="FILE.png",
                    help=f"output figure; its directory must exist (default: {default})")
    sp.add_argument("--dpi", type=_dpi, default=100,
                    help="resolution of raster output, 10 to 1000 (default: 100)")
    sp.add_argument("--force", action="store_true", help=force_help)


def _check_out(out: Path, opt: str = "--out") -> Path:
    """The output figure file: an extension savefig writes, an existing writable directory."""
    types = _figure_types()
    ext = out.suffix.lower().lstrip(".")
    if ext not in types:
        got = f"'.{ext}'" if ext else "no extension"
        raise _UsageError(f"{opt}: {str(out)!r} has {got}; matplotlib writes "
                          f"{', '.join('.' + t for t in sorted(types))}")
    if out.is_dir():
        raise _UsageError(f"{opt}: {str(out)!r} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise _UsageError(f"{opt}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UsageError(f"{opt}: directory {str(parent)!r} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise _UsageError(f"{opt}: {str(out)!r} exists and is not writable")
    return out


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _guard(args: argparse.Namespace, seconds: float, what: str, hint: str) -> None:
    """Refuse a run estimated above MAX_SECONDS unless --force (a usage error)."""
    if seconds > MAX_SECONDS and not getattr(args, "force", False):
        raise _UsageError(
            f"{what}: estimated {_duration(seconds)} of CPU time, above the "
            f"{_duration(MAX_SECONDS)} "
            f"limit; {hint}, or pass --force to run it anyway")


class _Progress:
    """One stderr line per chunk: done/total, elapsed and remaining time."""

    def __init__(self, command: str, total: int, unit: str, enabled: bool) -> None:
        self.command, self.total, self.unit, self.enabled = command, total, unit, enabled
        self.t0 = time.perf_counter()

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"{PROG} {self.command}: {text}", file=sys.stderr, flush=True)

    def update(self, done: int, label: str = "") -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        what = f" ({label})" if label else ""
        if done >= self.total:
            tail = f"{_duration(el)} elapsed"
        else:
            tail = f"{_duration(el)} elapsed, ~{_duration(el * (self.total - done) / done)} left"
        self.note(f"{done}/{self.total} {self.unit}{what} ({100 * done / self.total:.0f}%), "
                  + tail)


# ---------------------------------------------------------------- parser


def _delegated(sub: Any, name: str, func: Any, help: str, description: str) -> None:
    """A subcommand with its own parser: listed here, its arguments parsed by ``func``."""
    sp = sub.add_parser(name, help=help, add_help=False, description=f"{description} Run "
                        f"'deeptheory {name} --help' for its options.")
    sp.add_argument("args", nargs=argparse.REMAINDER, help=f"options of deeptheory {name}")
    sp.set_defaults(func=func, check=lambda args: 0.0)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for the ``deeptheory`` command (used by :func:`main`)."""
    from . import __version__

    acts = _activation_names()
    act_help = (f"activation function phi (default: tanh): one of {acts}, or an expression "
                "in x such as 'tanh(x)+0.1*x' (registered under that name)")
    force_help = (f"run even when the estimated time exceeds the {MAX_SECONDS:.0f} s limit")
    p = _Parser(
        prog=PROG,
        description="Theory-first numerics for deep networks. Mean-field signal propagation "
        "(Poole et al. 2016; Schoenholz et al. 2017) with weights W_ij ~ N(0, sigma_w2/N) and "
        "biases b_i ~ N(0, sigma_b2): sigma_w2 and sigma_b2 are VARIANCES.",
        epilog="Run 'deeptheory SUBCOMMAND --help' for the options of each subcommand.",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)

    pd = sub.add_parser(
        "phase-diagram",
        help="compute a (sigma_w2, sigma_b2) phase diagram and write it as a figure",
        description="Compute the mean-field phase diagram on an N x N grid (sigma_w2 in "
        "[sw2-min, sw2-max], sigma_b2 in [0, sb2-max]) and write a heat map of one quantity "
        "with the order-to-chaos line chi_1 = 1 drawn on top.",
    )
    pd.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    pd.add_argument("--grid", type=_grid_size, default=100, metavar="N",
                    help="number of grid points along each axis, >= 2 (default: 100)")
    pd.add_argument("--out", type=Path, default=Path("phase_diagram.png"), metavar="FILE.png",
                    help="output figure (.png, .pdf, .svg, ...); its directory must exist "
                    "(default: phase_diagram.png)")
    pd.add_argument("--sw2-min", type=_pos_float, default=0.05, metavar="X",
                    help="smallest weight variance sigma_w2 on the grid, > 0 (default: 0.05)")
    pd.add_argument("--sw2-max", type=_pos_float, default=4.0, metavar="X",
                    help=f"largest weight variance sigma_w2 on the grid, <= {VARIANCE_MAX:g} "
                    "(default: 4)")
    pd.add_argument("--sb2-max", type=_pos_float, default=2.0, metavar="Y",
                    help="largest bias variance sigma_b2 on the grid; the grid starts at 0 "
                    "(default: 2)")
    pd.add_argument("--quantity", choices=QUANTITIES, default="xi_c",
                    help="quantity shown as the heat map: xi_c (correlation depth scale), "
                    "xi_q (length depth scale), q_star, chi1, chi2 (smooth phi only), c_star, "
                    "chi_c (default: xi_c)")
    pd.add_argument("--dpi", type=_dpi, default=100,
                    help="resolution of raster output, 10 to 1000 (default: 100)")
    pd.add_argument("--force", action="store_true", help=force_help)
    pd.set_defaults(func=_cmd_phase_diagram, check=_check_phase_diagram)

    mfp = sub.add_parser(
        "meanfield",
        help="print the mean-field quantities at one (sigma_w2, sigma_b2)",
        description="Print q*, chi_1, chi_2, c*, chi_c, the depth scales xi_q, xi_c, xi_grad, "
        "the phase (ordered: chi_1 < 1; chaotic: chi_1 > 1) and the critical sigma_w2 "
        "(chi_1 = 1) at the given sigma_b2.",
    )
    mfp.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    mfp.add_argument("--sigma-w2", type=_nonneg_float, required=True, metavar="X",
                     help="weight variance sigma_w^2 (W_ij ~ N(0, sigma_w2 / N)), in "
                     f"[0, {VARIANCE_MAX:g}]")
    mfp.add_argument("--sigma-b2", type=_nonneg_float, required=True, metavar="Y",
                     help="bias variance sigma_b^2 (b_i ~ N(0, sigma_b2)), in "
                     f"[0, {VARIANCE_MAX:g}]")
    mfp.set_defaults(func=_cmd_meanfield, check=_check_meanfield)

    kp = sub.add_parser(
        "kernel",
        help="summarise the infinite-width NNGP / NTK dot-product kernel and plot kappa(c)",
        description="Infinite-width kernels of a fully connected network on the sphere "
        "(|x|^2 / d = q0): print kappa(c) = K(x, x') of the NNGP and the NTK (NTK "
        "parameterisation) at a few cosines c, the mean-field phase, and write a figure of "
        "the normalised kappa(c) / kappa(1) after every layer (Lee et al. 2018; Jacot et al. "
        "2018). depth = number of hidden layers.",
    )
    kp.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    kp.add_argument("--depth", type=_int_in(1, 1000), default=10, metavar="L",
                    help="number of hidden layers, 1 to 1000 (default: 10)")
    kp.add_argument("--sigma-w2", type=_pos_float, default=2.0, metavar="X",
                    help="weight variance sigma_w2 (W_ij ~ N(0, sigma_w2 / fan_in)) "
                    "(default: 2)")
    kp.add_argument("--sigma-b2", type=_nonneg_float, default=0.0, metavar="Y",
                    help="bias variance sigma_b2 (default: 0)")
    kp.add_argument("--q0", type=_pos_float, default=1.0, metavar="Q",
                    help="squared input norm per coordinate |x|^2 / d (default: 1)")
    kp.add_argument("--network", choices=("plain", "resnet"), default="plain",
                    help="plain or residual network (default: plain)")
    kp.add_argument("--kind", choices=("reduced", "full"), default="reduced",
                    help="residual block: reduced x + alpha phi(h) or full "
                    "x + alpha (V phi(h) + a) (default: reduced)")
    kp.add_argument("--alpha", choices=("1", "1/sqrt(L)", "1/L"), default="1",
                    help="residual branch scale (default: 1)")
    _figure_args(kp, "kernel.png", force_help)
    kp.set_defaults(func=_cmd_kernel, check=_check_kernel)

    js = sub.add_parser(
        "jacobian-spectrum",
        help="plot the spectrum of the input-output Jacobian of a deep random network",
        description="Limiting eigenvalue density of J J^T (free probability: Pennington, "
        "Schoenholz & Ganguli 2017, 2018) at the fixed point q*, against the eigenvalues of "
        "sampled networks, and the largest singular value against depth for Gaussian and "
        "orthogonal weights; written as a figure. By default sigma_w2 is on the critical "
        "line chi_1 = 1 at the given sigma_b2.",
    )
    js.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    js.add_argument("--weights", choices=("gaussian", "orthogonal"), default="gaussian",
                    help="weight ensemble: Gaussian N(0, sigma_w2/N) or sigma_w times a Haar "
                    "orthogonal matrix (default: gaussian, as in the library)")
    js.add_argument("--depth", type=_depth, default=32, metavar="L",
                    help="number of layers L >= 1 (default: 32)")
    js.add_argument("--sigma-w2", type=_pos_float, default=None, metavar="X",
                    help="weight variance in (0, 1e4] (default: the critical value chi_1 = 1)")
    js.add_argument("--sigma-b2", type=_nonneg_float, default=0.01, metavar="Y",
                    help=f"bias variance in [0, {VARIANCE_MAX:g}] (default: 0.01)")
    js.add_argument("--width", type=_width, default=400, metavar="N",
                    help="width of the sampled networks, >= 2 (default: 400)")
    js.add_argument("--trials", type=_depth, default=2, metavar="K",
                    help="number of sampled networks (default: 2); 0 is not allowed, use "
                    "--no-sample")
    js.add_argument("--no-sample", action="store_true", help="theory only, no sampled networks")
    js.add_argument("--seed", type=_seed, default=0,
                    help="seed of the sampled networks, an integer >= 0 (default: 0)")
    js.add_argument("--out", type=Path, default=Path("jacobian_spectrum.png"),
                    metavar="FILE.png", help="output figure (default: jacobian_spectrum.png)")
    js.add_argument("--force", action="store_true", help=force_help)
    js.set_defaults(func=_cmd_jacobian_spectrum, check=_check_jacobian_spectrum)

    ip = sub.add_parser(
        "info-plane",
        help="train a network on the 12-bit task and plot its information plane",
        description="Train a 12-10-7-5-4-3-2 network (Shwartz-Ziv & Tishby 2017; Adam, "
        "lr 4e-4, batch 512, 80% of the 4096 patterns) and plot every layer's trajectory "
        "in the (I(X;T), I(T;Y)) plane, in bits, estimated by binning (30 bins) and, with "
        "--kde, by the Kolchinsky-Tracey KDE bound (noise variance 1e-3; Saxe et al. 2018). "
        "The arrays are saved next to the figure as .npz.",
    )
    ip.add_argument("--activation", type=_activation, default="tanh",
                    help="hidden activation (default: tanh; relu gives the Saxe et al. "
                    "counter-example); a name or an expression in x")
    ip.add_argument("--epochs", type=_depth, default=2000, metavar="N",
                    help="training epochs (default: 2000; the paper used 8000)")
    ip.add_argument("--records", type=_records, default=40, metavar="R",
                    help="number of log-spaced epochs recorded, 2 to 1000 (default: 40)")
    ip.add_argument("--kde", action="store_true",
                    help="also estimate by KDE (O(N^2) per point: uses 10 of the records)")
    ip.add_argument("--seed", type=_seed, default=0,
                    help="seed of the initialisation and split, an integer >= 0 (default: 0)")
    ip.add_argument("--progress", action="store_true",
                    help="print training progress (automatic for long runs)")
    ip.add_argument("--out", type=Path, default=Path("info_plane.png"), metavar="FILE.png",
                    help="output figure (default: info_plane.png); the arrays go to the same "
                    "name with .npz")
    ip.add_argument("--force", action="store_true", help=force_help)
    ip.set_defaults(func=_cmd_info_plane, check=_check_info_plane)

    cp = sub.add_parser(
        "complexity",
        help="plot the complexity of the spherical p-spin landscape",
        description="Complexity Theta_p(u) and Theta_{k,p}(u) of critical points of the "
        "spherical p-spin Hamiltonian (Auffinger, Ben Arous & Cerny 2013; H normalised so "
        "that E[H(s)H(s')] = N (s.s'/N)^p on |s|^2 = N, energies per site u = H/N), with "
        "the levels -E_0 (ground state), -E_k and -E_inf; writes a figure and prints them.",
    )
    cp.add_argument("--p", type=_int_in(3, 1000, " (p = 2 has no exponential complexity)"),
                    default=3, metavar="P", help="interaction order p, 3 to 1000 (default: 3)")
    cp.add_argument("--max-index", type=_nonneg_int, default=5, metavar="K",
                    help="largest index k drawn (default: 5)")
    cp.add_argument("--out", type=Path, default=Path("complexity.png"), metavar="FILE.png",
                    help="output figure (default: complexity.png)")
    cp.add_argument("--force", action="store_true", help=force_help)
    cp.set_defaults(func=_cmd_complexity, check=_check_complexity)

    gb = sub.add_parser(
        "gibbs",
        help="sample the Gibbs measure of the SK model or an Ising lattice (parallel "
        "tempering) against the exact solution or replica theory",
        description="Sample exp(-H/T) / Z by parallel tempering (Hukushima & Nemoto 1996; "
        "or independent Metropolis chains) on a ladder of temperatures geometric in 1/T, "
        "and print per temperature the energy per spin, the specific heat, <|m|> or <m^2> "
        "or the overlap <q^2>, with blocking standard errors, integrated autocorrelation "
        "times and swap rates, beside the exact or theoretical values: ising2d, Kaufman's "
        "finite L x L torus (exact) and Onsager / Yang (L = inf); ising1d, the transfer "
        "matrix of the ring (exact); sk (H = -sum_{i<j} J_ij s_i s_j, J_ij ~ N(0, 1/N), "
        "T_c = 1), the paramagnet above T_c and the k-step Parisi solution below it, the "
        "replica-symmetric free energy beside. Writes a figure (for sk, the overlap "
        "distribution P(q) at the lowest temperature).",
    )
    gb.add_argument("--model", choices=("sk", "ising2d", "ising1d"), default="sk",
                    help="sk (Sherrington-Kirkpatrick), ising2d (L x L periodic square "
                    "lattice, J = 1) or ising1d (periodic ring, J = 1) (default: sk)")
    gb.add_argument("--n", type=_int_in(2, None), default=None, metavar="N",
                    help=f"number of spins: sk 2 to {GIBBS_MAX_SK_N} (default: 128), ising1d "
                    f"2 to {GIBBS_MAX_SPINS} (default: 64); not for ising2d (use --l)")
    gb.add_argument("--l", type=_int_in(2, None), default=None, metavar="L",
                    help=f"side of the ising2d lattice, L x L spins, 2 to {GIBBS_MAX_L} "
                    "(default: 32)")
    gb.add_argument("--t-min", type=_temperature, default=None, metavar="T",
                    help="lowest temperature (default: sk 0.5, ising2d 1.5, ising1d 0.5)")
    gb.add_argument("--t-max", type=_temperature, default=None, metavar="T",
                    help="highest temperature (default: sk 1.6, ising2d 3.5, ising1d 3)")
    gb.add_argument("--temps", type=_int_in(1, GIBBS_MAX_TEMPS), default=16, metavar="K",
                    help=f"number of temperatures, geometric in 1/T, 1 to {GIBBS_MAX_TEMPS} "
                    "(default: 16; parallel tempering needs 2; with 1 the temperature is "
                    "--t-min)")
    gb.add_argument("--sweeps", type=_int_in(100, 10**9), default=10000, metavar="S",
                    help="measured sweeps (N single-spin updates each) after S/4 of burn-in, "
                    ">= 100 (default: 10000)")
    gb.add_argument("--copies", type=_int_in(1, 64), default=2, metavar="C",
                    help="independent copies of the ladder, 1 to 64; the overlaps q pair "
                    "copies (1, 2), (3, 4), ... (default: 2; sk needs 2)")
    gb.add_argument("--method", choices=("pt", "metropolis"), default="pt",
                    help="pt: parallel tempering, an exchange attempt after every sweep; "
                    "metropolis: independent chains (default: pt)")
    gb.add_argument("--k-rsb", type=_int_in(1, 8), default=3, metavar="K",
                    help="steps of replica-symmetry breaking of the sk theory below T_c, "
                    "1 to 8 (default: 3, within 1.5e-4 of full RSB)")
    gb.add_argument("--seed", type=_seed, default=0,
                    help="seed of the couplings (sk) and of the Monte Carlo, an integer >= 0 "
                    "(default: 0)")
    _figure_args(gb, "gibbs.png", force_help)
    gb.set_defaults(func=_cmd_gibbs, check=_check_gibbs)

    ly = sub.add_parser(
        "lyapunov",
        help="Lyapunov spectrum of a random recurrent network against mean-field theory",
        description="Sample the random network h_{t+1} = W phi(h_t) + b, W_ij ~ N(0, g^2/N), "
        "b_i ~ N(0, sigma_b2), estimate its Lyapunov spectrum by the QR method (Benettin et "
        "al. 1980) and print the largest exponent with its standard error, the mean-field "
        "prediction 1/2 ln chi_1 at sigma_w2 = g^2 (Molgedey et al. 1992), the phase, the "
        "Kaplan-Yorke dimension and the KS entropy (sum of the positive exponents); write a "
        "figure of the spectrum against the fresh-weights law (free probability) and of the "
        "running estimates. Exponents in nats per step.",
    )
    ly.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    ly.add_argument("--gain", type=_gain, default=2.0, metavar="G",
                    help=f"gain g in (0, {GAIN_MAX:g}]: W_ij ~ N(0, g^2 / N), i.e. "
                    "sigma_w2 = g^2 (default: 2; tanh is chaotic for g > 1)")
    ly.add_argument("--width", type=_lyap_width, default=200, metavar="N",
                    help="number of units N, 2 to 10000 (default: 200)")
    ly.add_argument("--sigma-b2", type=_nonneg_float, default=0.0, metavar="Y",
                    help=f"bias variance in [0, {VARIANCE_MAX:g}] (fixed biases; default: 0)")
    ly.add_argument("--weights", choices=("gaussian", "orthogonal"), default="gaussian",
                    help="weight ensemble: Gaussian N(0, g^2/N) or g times a Haar orthogonal "
                    "matrix (default: gaussian)")
    ly.add_argument("--k", type=_depth, default=None, metavar="K",
                    help="number of leading exponents, 1 to N (default: all N)")
    ly.add_argument("--steps", type=_steps, default=5000, metavar="T",
                    help="measured steps after the transient, >= 10 (default: 5000)")
    ly.add_argument("--transient", type=_nonneg_int, default=None, metavar="T0",
                    help="steps discarded before measuring (default: steps / 10)")
    ly.add_argument("--qr-every", type=_qr_every, default="auto", metavar="M",
                    help="re-orthonormalise every M steps, or 'auto' (default: auto, the "
                    "largest interval <= 10 that keeps the frame from collapsing)")
    ly.add_argument("--tol", type=_tol, default=0.02, metavar="E",
                    help="largest standard error (nats per step) reported as converged "
                    "(default: 0.02)")
    ly.add_argument("--seed", type=_seed, default=0,
                    help="seed of the network and of the initial state, an integer >= 0 "
                    "(default: 0)")
    _figure_args(ly, "lyapunov.png", force_help)
    ly.set_defaults(func=_cmd_lyapunov, check=_check_lyapunov)

    of = sub.add_parser(
        "ode-flow",
        help="train a neural-ODE classifier on 2-D ring or spiral data, with or without "
        "an augmented dimension, and draw its trajectories",
        description="Train the residual network that discretises z' = f(z, t), f(z) = W2 "
        "phi(W1 z + b1) + b2 (Chen et al. 2018), followed by a linear read-out, on 2-D ring "
        "data (a disk inside an annulus; Dupont et al. 2019) or two spirals, in the plane "
        "(--dim 2) or with augmented zero coordinates (--dim 3); full-batch Adam on the "
        "logistic loss (+ L2). Prints the accuracy, the read-out margin, for the ring "
        "whether the flow separates the continuous ring (a 2-D flow cannot: the flowed "
        "circle winds about the flowed centre), and the line-shape and OT scores of the "
        "tracks (Gai & Zhang 2021); writes the trajectories and the training loss.",
    )
    of.add_argument("--data", choices=("ring", "spiral"), default="ring",
                    help="data set (default: ring)")
    of.add_argument("--dim", type=_int_in(2, 3), default=3, metavar="D",
                    help="state dimension: 2 (plain neural ODE) or 3 (augmented; default: 3)")
    of.add_argument("--n", type=_int_in(4, 5000), default=200, metavar="N",
                    help="number of training points, 4 to 5000 (default: 200)")
    of.add_argument("--hidden", type=_int_in(1, 1024), default=32, metavar="H",
                    help="hidden width of the field, 1 to 1024 (default: 32)")
    of.add_argument("--depth", type=_int_in(1, 1000), default=10, metavar="L",
                    help="number of residual blocks on t in [0, 1], 1 to 1000 (default: 10)")
    of.add_argument("--block", choices=("euler", "rk4"), default="rk4",
                    help="block type: Euler (a plain ResNet) or classical RK4 (default: rk4)")
    of.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    of.add_argument("--epochs", type=_int_in(1, 100000), default=400, metavar="E",
                    help="full-batch Adam steps (default: 400)")
    of.add_argument("--lr", type=_lr, default=0.02, help="Adam step size in (0, 1] "
                    "(default: 0.02)")
    of.add_argument("--l2", type=_nonneg_float, default=1e-3, metavar="LAMBDA",
                    help="L2 regulariser (LAMBDA / 2) |theta|^2 of the field's weights "
                    "(default: 0.001)")
    of.add_argument("--seed", type=_seed, default=0,
                    help="seed of the data and of the initial weights (default: 0)")
    _figure_args(of, "ode_flow.png", force_help)
    of.set_defaults(func=_cmd_ode_flow, check=_check_ode_flow)

    df = sub.add_parser(
        "diffusion",
        help="sample a 2-D Gaussian mixture with a score-based diffusion model (exact score)",
        description="Score-based diffusion (Song et al. 2021) on a 2-D Gaussian mixture of K "
        "components on a circle of radius R (covariance S I each), whose noised marginals "
        "p_t and scores are exact: sample by the probability-flow ODE (Euler or RK4 on the "
        "compiled integrator) or the reverse-time SDE (Euler-Maruyama, Anderson 1982) from "
        "exact samples of p_T, under the variance-preserving process (Ho et al. 2020) or "
        "dy = dW; print the Kolmogorov-Smirnov, energy-distance and W2 checks against the "
        "exact target and write the samples beside the target's density contours.",
    )
    df.add_argument("--process", choices=("vp", "brownian"), default="vp",
                    help="forward process: variance preserving (beta 0.1 -> 20 on [0, 1]) or "
                    "dy = dW (default: vp)")
    df.add_argument("--sampler", choices=("ode", "sde"), default="ode",
                    help="probability-flow ODE or reverse-time SDE (default: ode)")
    df.add_argument("--method", choices=("euler", "rk4"), default="rk4",
                    help="ODE stepper (the SDE always uses Euler-Maruyama; default: rk4)")
    df.add_argument("--steps", type=_int_in(1, 100000), default=None, metavar="S",
                    help="number of steps (default: 100 for the ODE, 500 for the SDE)")
    df.add_argument("--n", type=_int_in(10, 10**6), default=2000, metavar="N",
                    help="number of samples, 10 to 10^6 (default: 2000)")
    df.add_argument("--components", type=_int_in(1, 64), default=8, metavar="K",
                    help="mixture components on the circle, 1 to 64 (default: 8)")
    df.add_argument("--radius", type=_radius, default=2.0, metavar="R",
                    help="radius of the circle of means, in (0, 100] (default: 2)")
    df.add_argument("--spread", type=_spread, default=0.05, metavar="S",
                    help="variance of each component, in (0, 100] (default: 0.05)")
    df.add_argument("--seed", type=_seed, default=0,
                    help="seed of the initial samples and of the SDE noise (default: 0)")
    _figure_args(df, "diffusion.png", force_help)
    df.set_defaults(func=_cmd_diffusion, check=_check_diffusion)

    _delegated(sub, "verify", _cmd_verify,
               "theory beside simulation for every pillar, with a PASS/FAIL verdict per row",
               "Compute every quantity the toolkit both predicts and measures (mean field, "
               "residual networks and kernels, Jacobian spectra, Lyapunov exponents, "
               "spin-glass counts and Gibbs quantities, information estimators) and print "
               "theory, simulation, standard error, z-score, finite-size allowance and the "
               "verdict; exit status 1 when a row fails.")
    _delegated(sub, "sweep", _cmd_sweep,
               "run a toolkit function over a parameter grid (Dask), stored and resumable",
               "Run a toolkit function at every point of a parameter grid on an embedded or "
               "existing Dask cluster, storing the labelled result (xarray, netCDF or Zarr) "
               "chunk by chunk so that a rerun resumes.")
    return p


# ---------------------------------------------------------------- checks (before computing)


def _require(act_name: str, order: int, what: str) -> Any:
    from .kernels import get_activation

    act = get_activation(act_name)
    if act.max_deriv < order:
        d = "phi'" if order == 1 else "phi''"
        raise _UsageError(f"--activation: {what} needs {d}, which {act.name!r} does not have "
                          "(it contains a delta)")
    return act


def _phase_cost(act_name: str, n: int) -> float:
    pt, row = COSTS["phase_point"], COSTS["phase_row"]
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


def _jacobian_cost(args: argparse.Namespace) -> tuple[float, float]:
    theory = COSTS["jacobian_fixed"] + COSTS["jacobian_layer"] * args.depth
    sample = 0.0 if args.no_sample else (
        COSTS["jacobian_sample"] * float(args.width) ** 3 * args.depth * args.trials)
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


def _check_info_plane(args: argparse.Namespace) -> float:
    out = _check_out(args.out)
    npz = out.with_suffix(".npz")
    if npz.exists() and not os.access(npz, os.W_OK):
        raise _UsageError(f"--out: the arrays file {str(npz)!r} is not writable")
    _require(args.activation, 1, "backpropagation")
    est = COSTS["info_epoch"] * args.epochs + (COSTS["info_kde_record"] * 10 if args.kde else 0)
    _guard(args, est, f"info-plane --epochs {args.epochs}", "use fewer --epochs")
    return est


def _check_complexity(args: argparse.Namespace) -> float:
    _check_out(args.out)
    from .spinglass import MAX_PLOT_INDICES

    if args.max_index + 1 > MAX_PLOT_INDICES:
        raise _UsageError(f"--max-index must be at most {MAX_PLOT_INDICES - 1} (one curve per "
                          f"index k = 0..K; the figure takes at most {MAX_PLOT_INDICES}), "
                          f"got {args.max_index}")
    est = COSTS["complexity_fixed"] + COSTS["complexity_index"] * (args.max_index + 1)
    _guard(args, est, f"complexity --max-index {args.max_index}", "use a smaller --max-index")
    return est


def _gibbs_setup(args: argparse.Namespace) -> None:
    """Fill in the per-model defaults of ``gibbs`` (size, temperatures) and check them."""
    size, t_lo, t_hi = GIBBS_DEFAULTS[args.model]
    if args.model == "ising2d":
        if args.n is not None:
            raise _UsageError("--n: ising2d takes --l (the side L of the L x L lattice), "
                              "not --n")
        args.l = size if args.l is None else args.l
        if args.l > GIBBS_MAX_L:
            raise _UsageError(f"--l must be at most {GIBBS_MAX_L} ({GIBBS_MAX_L}^2 spins), "
                              f"got {args.l}")
        args.spins = args.l * args.l
    else:
        if args.l is not None:
            raise _UsageError(f"--l is the side of the ising2d lattice; {args.model} takes "
                              "--n (the number of spins)")
        args.n = size if args.n is None else args.n
        top = GIBBS_MAX_SK_N if args.model == "sk" else GIBBS_MAX_SPINS
        if args.n > top:
            why = " (dense couplings, N^2 numbers)" if args.model == "sk" else ""
            raise _UsageError(f"--n must be at most {top} for {args.model}{why}, got "
                              f"{args.n}")
        args.spins = args.n
    args.t_min = t_lo if args.t_min is None else args.t_min
    args.t_max = t_hi if args.t_max is None else args.t_max
    if args.temps > 1 and not args.t_min < args.t_max:
        raise _UsageError(f"--t-min ({args.t_min:g}) must be below --t-max ({args.t_max:g})")
    if args.method == "pt" and args.temps < 2:
        raise _UsageError("--temps must be at least 2 for parallel tempering (--method pt); "
                          "use --method metropolis for one temperature")
    if args.model == "sk" and args.copies < 2:
        raise _UsageError("--copies must be at least 2 for sk (the overlap q pairs two "
                          "copies)")


def _gibbs_betas(t_min: float, t_max: float, k: int) -> Any:
    """The ``gibbs`` ladder: K inverse temperatures geometric between 1/t_max and 1/t_min,
    ascending (one temperature: 1/t_min)."""
    import numpy as np

    if k == 1:
        return np.array([1.0 / t_min])
    return np.geomspace(1.0 / t_max, 1.0 / t_min, k)


def _gibbs_seeds(seed: int) -> tuple[Any, int]:
    """Independent streams for the couplings (a Generator) and the Monte Carlo (an int)."""
    import numpy as np

    model, mc = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(model), int(mc.generate_state(1, dtype=np.uint64)[0] >> 1)


def _gibbs_cost(args: argparse.Namespace) -> tuple[float, float]:
    """(estimated seconds, spin-update operations as the library counts them) of ``gibbs``."""
    n = args.spins
    sweeps = args.sweeps + args.sweeps // 4
    updates = float(args.copies) * args.temps * sweeps * n
    if args.model == "sk":
        ops = updates * (1.0 + n / 20.0)
        est = COSTS["gibbs_sk_op"] * ops
        betas = _gibbs_betas(args.t_min, args.t_max, args.temps)
        below = int((betas > 1.0).sum())
        est += COSTS["gibbs_parisi_step"] * below * args.k_rsb
    else:
        ops = updates
        est = COSTS["gibbs_ising_update"] * updates
    return COSTS["gibbs_fixed"] + est, ops


def _check_gibbs(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _gibbs_setup(args)
    from .spinglass.montecarlo import MAX_MC_SWEEP_WORK, MAX_RECORD_BYTES

    rec = 8.0 * args.sweeps * args.temps * (2 * args.copies + args.copies // 2)
    if rec > MAX_RECORD_BYTES:
        raise _UsageError(f"--sweeps x --temps x --copies: the recorded series would take "
                          f"{rec / 2**20:.0f} MiB, above the library's "
                          f"{MAX_RECORD_BYTES / 2**20:.0f} MiB; lower --sweeps, --temps or "
                          "--copies")
    est, ops = _gibbs_cost(args)
    size = f"L = {args.l}" if args.model == "ising2d" else f"N = {args.n}"
    _guard(args, est, f"gibbs ({args.model}, {size}, {args.temps} temperatures x "
           f"{args.copies} copies, {args.sweeps} sweeps)",
           "use fewer --sweeps, --temps or --copies, or a smaller system")
    if ops > MAX_MC_SWEEP_WORK:  # reached only with --force
        raise _UsageError(f"this run needs about {ops:.2e} spin-update operations, above the "
                          f"library's limit {MAX_MC_SWEEP_WORK:.0e} (about an hour); lower "
                          "--sweeps, --temps or --copies")
    return est


def _lyapunov_cost(args: argparse.Namespace) -> tuple[float, float]:
    """(estimated seconds, floating-point operations) of ``lyapunov``."""
    n = args.width
    k = n if args.k is None else args.k
    steps = args.steps + (args.steps // 10 if args.transient is None else args.transient)
    qr = 1 if args.qr_every == "auto" else args.qr_every
    flops = steps * (2.0 * n * n * (k + 1) + 4.0 * n * k * k / qr)
    est = (COSTS["lyapunov_fixed"] + COSTS["lyapunov_flop"] * flops
           + (COSTS["lyapunov_step"] + COSTS["lyapunov_word"] * n * n) * steps)
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
    from .dynamics.lyapunov import MAX_FLOPS

    if flops > MAX_FLOPS:  # reached only with --force
        raise _UsageError(f"this run needs about {flops:.2e} flops, above the library's limit "
                          f"{MAX_FLOPS:.0e}; lower --steps, --k or --width")
    return est


def _check_ode_flow(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "training (the gradient)")
    stages = 4 if args.block == "rk4" else 1
    est = (COSTS["odeflow_fixed"]
           + COSTS["odeflow_unit"] * args.epochs * args.n * args.hidden * args.depth * stages)
    _guard(args, est, f"ode-flow ({args.epochs} epochs, {args.n} points, width {args.hidden}, "
           f"{args.depth} {args.block} blocks)", "use fewer --epochs, --n, --hidden or --depth")
    return est


def _diffusion_steps(args: argparse.Namespace) -> int:
    return args.steps if args.steps is not None else (100 if args.sampler == "ode" else 500)


def _check_diffusion(args: argparse.Namespace) -> float:
    _check_out(args.out)
    stages = 4 if (args.sampler == "ode" and args.method == "rk4") else 1
    steps = _diffusion_steps(args)
    w2_n = min(args.n, 5000)
    est = (COSTS["diffusion_fixed"]
           + COSTS["diffusion_eval"] * args.n * steps * stages * args.components
           + COSTS["diffusion_w2"] * w2_n * w2_n)
    _guard(args, est, f"diffusion ({args.n} samples, {steps} steps, {args.components} "
           "components)", "use fewer --n, --steps or --components")
    return est


# ---------------------------------------------------------------- commands


def _fmt(v: float) -> str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.12g}"


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

    from . import meanfield as mf

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

    from .kernels import get_activation

    act = get_activation(args.activation)
    n = args.grid
    sw2 = np.linspace(args.sw2_min, args.sw2_max, n)
    sb2 = np.linspace(0.0, args.sb2_max, n)
    prog = _Progress("phase-diagram", n, "sigma_b2 rows", estimate > PROGRESS_SECONDS)
    prog.note(f"{n} x {n} grid, estimated {_duration(estimate)} of CPU time")
    t0 = time.perf_counter()
    pd = _phase_diagram_rows(sw2, sb2, act, prog)
    elapsed = time.perf_counter() - t0

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .meanfield.plotting import plot_phase_diagram

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


def _check_kernel(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _require(args.activation, 1, "the NTK")
    est = COSTS["kernel_layer"] * args.depth
    _guard(args, est, f"kernel --depth {args.depth}", "use a smaller --depth")
    return est


KERNEL_COSINES = (-1.0, -0.5, 0.0, 0.5, 0.9, 0.99, 1.0)


def _cmd_kernel(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from . import meanfield as mf
    from .kernels import get_activation

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

    from .meanfield.plotting import plot_dot_product_kernels

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


def _cmd_jacobian_spectrum(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import meanfield as mf
    from . import rmt

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
    prog = _Progress("jacobian-spectrum", n_stages, "stages", estimate > PROGRESS_SECONDS)
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


def _cmd_info_plane(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import infotheory as it

    out = args.out
    long_run = estimate > PROGRESS_SECONDS
    prog = _Progress("info-plane", 3 if args.kde else 2, "stages", long_run)
    prog.note(f"estimated {_duration(estimate)} of CPU time: training {args.epochs} epochs")
    t0 = time.perf_counter()
    task = it.twelve_bit_task()
    run = it.train_mlp(task.x, task.y, activation=args.activation, epochs=args.epochs,
                       n_record=args.records, seed=args.seed,
                       progress=args.progress or long_run)
    t_train = time.perf_counter() - t0
    prog.update(1, "training")
    planes = [it.information_plane(run, task.y)]
    prog.update(2, "binning estimate")
    if args.kde:
        rec = np.unique(np.linspace(0, len(run.epochs) - 1, 10).astype(int))
        planes.append(it.information_plane(run, task.y, estimator="kde", records=rec,
                                           progress=args.progress or long_run))
        prog.update(3, "KDE estimate")
    fig, axes = plt.subplots(1, len(planes), figsize=(6 * len(planes), 4.5), squeeze=False)
    try:
        for ax, pl in zip(axes[0], planes, strict=True):
            it.plot_information_plane(pl, ax=ax, title=f"{args.activation}, 12-bit task, "
                                      f"{pl.estimator}")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    arrays = {"epochs": run.epochs, "loss": run.loss, "train_accuracy": run.train_accuracy,
              "test_accuracy": run.test_accuracy}
    for pl in planes:
        arrays[f"{pl.estimator}_epochs"] = pl.epochs
        arrays[f"{pl.estimator}_i_xt"] = pl.i_xt
        arrays[f"{pl.estimator}_i_ty"] = pl.i_ty
    npz = out.with_suffix(".npz")
    np.savez(npz, **arrays)
    elapsed = time.perf_counter() - t0
    print(f"information plane: activation={args.activation}  epochs={args.epochs}  "
          f"seed={args.seed}")
    print(f"  trained in {t_train:.1f} s: loss {_fmt(run.loss[0])} -> {_fmt(run.loss[-1])}, "
          f"train accuracy {run.train_accuracy[-1]:.4f}, test accuracy "
          f"{run.test_accuracy[-1]:.4f}")
    i_xt, i_ty = planes[0].i_xt, planes[0].i_ty
    print("  last epoch, binning (bits): " + ", ".join(
        f"L{k + 1} ({i_xt[-1, k]:.3f}, {i_ty[-1, k]:.3f})" for k in range(i_xt.shape[1])))
    print(f"  wrote {out} and {npz} in {elapsed:.1f} s")
    return 0


def _cmd_complexity(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import spinglass as sg

    out = args.out
    p = args.p
    ks = list(range(args.max_index + 1))
    prog = _Progress("complexity", 3, "stages", estimate > PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time for {len(ks)} index curves")
    levels = [float(sg.e_k(p, k)) for k in ks]
    prog.update(1, "levels E_k")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    try:
        sg.plot_complexity(p, ks=ks, ax=ax)
        prog.update(2, "curves")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
        prog.update(3, "figure written")
    finally:
        plt.close(fig)
    print(f"spherical {p}-spin (E[H(s)H(s')] = N (s.s'/N)^{p}, u = H/N):")
    print(f"  E_inf = {_fmt(sg.e_inf(p))}   (total complexity Theta_p(0) = 1/2 ln(p - 1) = "
          f"{_fmt(sg.theta(0.0, p))})")
    for k, e in zip(ks, levels, strict=True):
        print(f"  E_{k} = {_fmt(e)}" + ("   (ground state)" if k == 0 else ""))
    print(f"  wrote {out}")
    return 0


def _col(v: float, width: int = 10, prec: int = 6) -> str:
    """A table cell: fixed-point, or '-' for nan."""
    v = float(v)
    return f"{'-':>{width}s}" if math.isnan(v) else f"{v:{width}.{prec}f}"


def _cmd_gibbs(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from . import spinglass as sg
    from .spinglass import plotting as sgp

    model_rng, mc_seed = _gibbs_seeds(args.seed)
    betas = _gibbs_betas(args.t_min, args.t_max, args.temps)
    temps = 1.0 / betas
    k, c, n = args.temps, args.copies, args.spins
    if args.model == "sk":
        model = sg.sk_model(n, seed=model_rng)
        size = f"N = {n}"
    elif args.model == "ising2d":
        model = sg.IsingLattice(args.l, 2)
        size = f"L = {args.l} ({n} spins)"
    else:
        model = sg.IsingLattice(n, 1)
        size = f"N = {n} (ring)"
    prog = _Progress("gibbs", 3, "stages", estimate > PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: {k} temperatures x {c} copies x "
              f"{args.sweeps} sweeps of {n} spins")
    t0 = time.perf_counter()
    if args.method == "pt":
        res = sg.parallel_tempering(model, betas, args.sweeps, n_copies=c, seed=mc_seed,
                                    max_work=math.inf, progress=estimate > PROGRESS_SECONDS)
    else:
        res = sg.metropolis(model, betas, args.sweeps, c, seed=mc_seed, max_work=math.inf,
                            progress=estimate > PROGRESS_SECONDS)
    t_mc = time.perf_counter() - t0
    prog.update(1, "Monte Carlo")

    e, ch = res.energy, res.specific_heat
    nan = np.full(k, np.nan)
    if args.model == "ising2d":
        kf = sg.ising_2d_finite(betas, args.l)
        third, third_name = res.magnetisation, "<|m|>"
        exact = (kf.energy, kf.specific_heat, np.asarray(sg.yang_magnetisation(betas)))
        heads = ("Kaufman", "Kaufman", "Yang(inf)")
    elif args.model == "ising1d":
        ex = sg.ising_1d(betas, L=n)
        third, third_name = res.m2, "<m^2>"
        exact = (ex.energy, ex.specific_heat, np.asarray(ex.susceptibility) / (betas * n))
        heads = ("exact", "exact", "exact")
    else:
        th = sgp.sk_theory_curves(temps, args.k_rsb)
        third, third_name = res.q2, "<q^2>"
        above = temps >= 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            q2_hi = np.where(betas < 1.0, 1.0 / (n * (1.0 - betas**2)), np.nan)
        exact = (np.where(above, th.u_para, th.u_k), np.where(above, betas**2 / 2.0, nan),
                 np.where(above, q2_hi, th.q2_k))
        heads = ("theory", "theory", "theory")
    prog.update(2, "theory")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    try:
        if args.model == "sk":
            lab = f"Monte Carlo, N = {n}"
            if k >= 2:
                sgp.plot_sk_thermodynamics("energy", temps, args.k_rsb, ax=axes[0],
                                           mc={lab: (temps, e.value, e.stderr)})
                sgp.plot_sk_thermodynamics("q2", temps, args.k_rsb, ax=axes[1],
                                           mc={lab: (temps, third.value, third.stderr)})
                axes[1].plot(temps[betas < 1], q2_hi[betas < 1], ":", color="C1",
                             label="1 / (N (1 - beta^2))")
                top = np.nanmax(np.concatenate([third.value + third.stderr, th.q2_k]))
                axes[1].set_ylim(0.0, 1.3 * top)  # the high-T form diverges at T_c
                axes[1].legend(fontsize=6.5)
            else:
                for ax, est, nm in ((axes[0], e, "energy per spin"),
                                    (axes[1], third, "<q^2>")):
                    ax.errorbar(temps, est.value, yerr=est.stderr, fmt="o")
                    ax.set_xlabel("temperature T")
                    ax.set_ylabel(nm)
            sgp.plot_overlap_distribution(res, k_rsb=args.k_rsb, ax=axes[2], label=lab)
        else:
            sgp.plot_ising_mc({args.l if args.model == "ising2d" else n: res},
                              dim=2 if args.model == "ising2d" else 1, axes=axes)
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)
    prog.update(3, "figure")

    meth = "parallel tempering" if args.method == "pt" else "Metropolis (independent chains)"
    print(f"gibbs: model={args.model}  {size}  method={args.method}  temperatures={k} in "
          f"[{_fmt(temps.min())}, {_fmt(temps.max())}]  sweeps={args.sweeps}  copies={c}  "
          f"seed={args.seed}")
    print(f"  {meth}: {c} x {k} replicas, {args.sweeps} sweeps after {res.burn_in} of "
          f"burn-in, in {t_mc:.1f} s; +- is the blocking standard error, tau_int in sweeps, "
          "swap the exchange rate with the next lower temperature")
    if args.model == "ising2d":
        print("  exact: Kaufman's finite L x L torus (energy, specific heat); Yang's "
              "spontaneous <|m|> of the infinite lattice (a finite lattice has <|m|> ~ "
              "L^-1/8 at T_c and ~ 1/L above it)")
    elif args.model == "ising1d":
        print("  exact: transfer matrix of the ring of N spins (<m^2> = chi / (beta N))")
    else:
        print(f"  theory (N = inf): above T_c = 1 the paramagnet (u = -beta/2, c = beta^2/2) "
              f"and <q^2> = 1 / (N (1 - beta^2)); below, the {args.k_rsb}-step Parisi "
              "solution; f_theory likewise, f_RS the replica-symmetric free energy")
        print("  one sample of the couplings at finite N: below T_c its energy and <q^2> "
              "differ from the N = inf theory by finite-size and sample-to-sample terms (a "
              "few hundredths in the energy at N ~ 100, more in <q^2>)")
    swaps = res.swap_rates
    cols = ["T", "energy", "+-", heads[0], "spec.heat", "+-", heads[1], third_name, "+-",
            heads[2]]
    if args.model == "sk":
        cols += ["f_theory", "f_RS"]
    cols += ["tau_int", "swap"]
    print("  " + " ".join(f"{h:>10s}" for h in cols))
    for i in range(k - 1, -1, -1):  # ascending temperature
        row = [temps[i], e.value[i], e.stderr[i], exact[0][i], ch.value[i], ch.stderr[i],
               exact[1][i], third.value[i], third.stderr[i], exact[2][i]]
        if args.model == "sk":
            row += [th.f_para[i] if temps[i] >= 1.0 else th.f_k[i], th.f_rs[i]]
        cells = [_col(v) for v in row]
        cells.append(f"{res.tau_int[i]:10.2f}")
        # the swap rate of the pair (this temperature, the next lower one)
        cells.append(_col(swaps[i], prec=4) if swaps is not None and i < k - 1 else
                     f"{'-':>10s}")
        print("  " + " ".join(cells))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_e = np.abs(e.value - exact[0]) / e.stderr
        z_c = np.abs(ch.value - exact[1]) / ch.stderr
    if args.model != "sk":
        z_max = max(np.nanmax(z_e), np.nanmax(z_c))
        print(f"  max_z_energy = {np.nanmax(z_e):.3g}  (largest |MC - exact| / standard "
              "error over the temperatures)")
        print(f"  max_z_specific_heat = {np.nanmax(z_c):.3g}")
    if args.model == "ising2d":
        print(f"  T_c = {_fmt(sg.ONSAGER_TC)}  (Onsager 1944)")
    elif args.model == "ising1d":
        with np.errstate(divide="ignore", invalid="ignore"):
            z_m = np.abs(third.value - exact[2]) / third.stderr
        print(f"  max_z_m2 = {np.nanmax(z_m):.3g}")
        z_max = max(z_max, np.nanmax(z_m))
    if args.model != "sk" and z_max > GIBBS_Z_WARN:
        print(f"  warning: Monte Carlo and exact values differ by up to {z_max:.3g} standard "
              f"errors (> {GIBBS_Z_WARN:g}): the chains are not in equilibrium or not "
              "ergodic; raise --sweeps, or try --method pt")
    if args.model == "sk":
        i0 = k - 1  # the lowest temperature
        q = res.overlaps[:, i0, :].ravel()
        tl = temps[i0]
        q_ea = th.q_max[i0]
        print(f"  overlap at T = {_fmt(tl)}: mean_abs_q = {np.abs(q).mean():.6f}, q2 = "
              f"{third.value[i0]:.6f}")
        if tl < 1.0:
            pr = sg.sk_parisi(tl, 0.0, args.k_rsb)
            print(f"  small_q_weight = {np.mean(np.abs(q) < q_ea / 2):.6f}  (fraction of "
                  f"|q| < q_EA / 2 = {q_ea / 2:.4f}; replica symmetry would put ~0 there "
                  "as N -> inf)")
            print("  parisi_q = " + " ".join(f"{v:.6f}" for v in pr.q)
                  + f"  ({args.k_rsb}-step overlaps q_0..q_k at T = {_fmt(tl)})")
            print(f"  rs_q = {th.q_rs[i0]:.6f}")
    if swaps is not None:
        print(f"  swap_rate_min = {swaps.min():.4f}  (mean {swaps.mean():.4f}, of the "
              f"{len(swaps)} neighbouring pairs)")
    j = int(np.argmax(res.tau_int))
    print(f"  tau_int_max = {res.tau_int[j]:.3g} sweeps  (energy, at T = {temps[j]:.4g})")
    if np.all(res.converged):
        print("  converged = yes  (every temperature: blocking plateau, run >= 50 tau_int)")
    else:
        bad = ", ".join(f"{t:.4g}" for t in temps[~res.converged])
        print(f"  converged = no  (not at T = {bad}); raise --sweeps")
    print(f"  wrote {args.out}")
    return 0


def _lyapunov_seeds(seed: int) -> tuple[Any, Any]:
    """Independent generators for the network and for the run (initial state, frame)."""
    import numpy as np

    net, run = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net), np.random.default_rng(run)


def _cmd_lyapunov(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from . import dynamics as dyn
    from .kernels.montecarlo import single_thread_blas

    act, g, n, sb2, w = args.activation, args.gain, args.width, args.sigma_b2, args.weights
    k = n if args.k is None else args.k
    prog = _Progress("lyapunov", 2, "stages", estimate > PROGRESS_SECONDS)
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

    from .dynamics.plotting import plot_lyapunov_spectrum, plot_running_exponents

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


def _cmd_ode_flow(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from . import dynamics as dyn

    gen = dyn.ring_data if args.data == "ring" else dyn.spiral_data
    x, y = gen(args.n, seed=args.seed)
    prog = _Progress("ode-flow", 2, "stages", estimate > PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: {args.epochs} epochs")
    cfg = dyn.TrainConfig(epochs=args.epochs, lr=args.lr, l2=args.l2,
                          record_every=max(1, args.epochs // 100), seed=args.seed)
    t0 = time.perf_counter()
    model = dyn.train_ode_classifier(x, y, dim=args.dim, hidden=args.hidden, depth=args.depth,
                                     block=args.block, activation=args.activation, config=cfg,
                                     progress=estimate > PROGRESS_SECONDS)
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

    from .dynamics.plotting import plot_trajectories

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


def _cmd_diffusion(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from . import dynamics as dyn

    k = args.components
    ang = 2.0 * np.pi * np.arange(k) / k
    means = args.radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    mix = dyn.GaussianMixture(np.full(k, 1.0 / k), means,
                              np.repeat(args.spread * np.eye(2)[None], k, axis=0))
    proc = dyn.ForwardProcess(args.process)
    steps = _diffusion_steps(args)
    prog = _Progress("diffusion", 3, "stages", estimate > PROGRESS_SECONDS)
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

    from .dynamics.plotting import plot_diffusion_samples

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


def _cmd_verify(args: argparse.Namespace, estimate: float = 0.0) -> int:
    from .verify import main_verify

    return int(main_verify(list(args.args)))


def _cmd_sweep(args: argparse.Namespace, estimate: float = 0.0) -> int:
    from .sweep import main_sweep

    return int(main_sweep(list(args.args)))


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deeptheory`` command with ``argv`` (default ``sys.argv[1:]``); return the status.

    Exit status 0 on success (and for ``--help``, ``--version``), 2 on bad input or a run
    refused by its time estimate (one line on stderr), 1 when a computation fails to
    converge or the output cannot be written.  Never raises ``SystemExit`` itself, so it
    can be called in-process.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "verify":  # its own parser (deeptheory.verify), --help included
        from .verify import main_verify

        return int(main_verify(argv[1:]))
    if argv and argv[0] == "sweep":  # its own parser (deeptheory.sweep)
        from .sweep import main_sweep

        return int(main_sweep(argv[1:]))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from ._api import ConvergenceError

    try:
        estimate = float(args.check(args))  # every argument, before any computation
        return int(args.func(args, estimate))
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
