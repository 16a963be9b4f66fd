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

import math
import sys
from collections.abc import Sequence
from typing import Any

from ._common import PROG, _UsageError
from ._parser import build_parser

__all__ = ["main", "build_parser", "MAX_SECONDS", "PROGRESS_SECONDS", "VARIANCE_MAX", "COSTS"]

# The package: this module holds main() and the public limits and cost table, which the
# submodules read from here at call time (so that assigning deeptheory.cli.MAX_SECONDS, or
# monkeypatching it, takes effect); _common the shared argument types, checks, guard and
# progress lines; _parser the argparse tree; _meanfield, _rmt, _infotheory, _spinglass and
# _dynamics the subcommands of one pillar each (their checks, cost estimates and commands).

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

#: largest gain of ``lyapunov --gain``: sigma_w2 = g^2 stays within VARIANCE_MAX
GAIN_MAX = math.sqrt(VARIANCE_MAX)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``deeptheory`` command with ``argv`` (default ``sys.argv[1:]``); return the status.

    Exit status 0 on success (and for ``--help``, ``--version``), 2 on bad input or a run
    refused by its time estimate (one line on stderr), 1 when a computation fails to
    converge or the output cannot be written.  Never raises ``SystemExit`` itself, so it
    can be called in-process.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "verify":  # its own parser (deeptheory.verify), --help included
        from ..verify import main_verify

        return int(main_verify(argv[1:]))
    if argv and argv[0] == "sweep":  # its own parser (deeptheory.sweep)
        from ..sweep import main_sweep

        return int(main_sweep(argv[1:]))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from .._api import ConvergenceError

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
