"""``deeptheory verify``: the command line of :func:`deeptheory.verify.verify`."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

from .._cliutil import OneLineParser, UsageError, parse_or_status

__all__ = ["build_verify_parser", "main_verify"]

PROG = "deeptheory verify"


def _list(conv, name):
    def parse(s: str):
        items = [t.strip() for t in s.split(",")]
        if not s.strip() or any(not t for t in items):
            raise argparse.ArgumentTypeError(f"{name}: empty entry in {s!r}")
        try:
            return [conv(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: cannot read {s!r}") from None
    return parse


def _config(s: str) -> tuple[str, float, float]:
    parts = s.split(":")
    if len(parts) != 3 or not parts[0]:
        raise argparse.ArgumentTypeError(f"--config must be ACTIVATION:SIGMA_W2:SIGMA_B2, "
                                         f"got {s!r}")
    try:
        return parts[0], float(parts[1]), float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--config: cannot read the variances in {s!r}") from None


def build_verify_parser() -> argparse.ArgumentParser:
    """The argument parser of ``deeptheory verify`` (also usable as a subparser's parents)."""
    p = OneLineParser(prog=PROG, description=(
        "Every quantity the toolkit both predicts and measures, theory beside simulation: "
        "a table with standard errors, z-scores, finite-size allowances and PASS/FAIL "
        "(PASS iff |simulation - theory| <= k stderr + allowance). Comma-separated values of "
        "--activation, --sigma-w2 and --sigma-b2 run every combination. Exit status 1 if "
        "any row fails, 2 on bad input."))
    p.add_argument("--activation", type=_list(str, "--activation"), default=["tanh"],
                   help="activation name(s) (default tanh)")
    p.add_argument("--sigma-w2", type=_list(float, "--sigma-w2"), default=[1.5],
                   help="weight variance(s) (default 1.5)")
    p.add_argument("--sigma-b2", type=_list(float, "--sigma-b2"), default=[0.05],
                   help="bias variance(s) (default 0.05)")
    p.add_argument("--config", action="append", type=_config, default=None,
                   metavar="ACT:SW2:SB2",
                   help="one configuration, e.g. relu:2:0 (repeatable; replaces the "
                        "combinations of --activation, --sigma-w2, --sigma-b2)")
    p.add_argument("--weights", choices=("gaussian", "orthogonal"), default="gaussian")
    p.add_argument("--width", type=int, default=None, help="width of the mean-field networks")
    p.add_argument("--depth", type=int, default=None, help="depth of the layer profiles")
    p.add_argument("--n-samples", type=int, default=None,
                   help="independent networks per estimate (>= 8)")
    p.add_argument("--pillars", default=None,
                   help="comma-separated pillars (meanfield, rmt, dynamics, spinglass, "
                        "infotheory) or check names (default: all)")
    p.add_argument("--quick", action="store_true", help="small simulations (seconds)")
    p.add_argument("--seed", type=int, default=0, help="int >= 0 (default 0)")
    p.add_argument("--k", type=float, default=4.0, help="standard errors in the rule (4)")
    p.add_argument("--out", default=None,
                   help="write the report as Markdown here (figures into <stem>_files/)")
    p.add_argument("--no-figures", action="store_true", help="Markdown without figures")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    p.add_argument("--scheduler", default=None,
                   help="run the checks as Dask tasks: local (an embedded cluster) or the "
                   "address tcp://host:port of a running scheduler (default: this process)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to reach the scheduler (default 30)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    return p


def main_verify(argv: Sequence[str] | None = None) -> int:
    """Run ``deeptheory verify`` (:func:`deeptheory.verify.verify`) with ``argv`` (without
    the program and subcommand names).

    Prints the table to stdout (progress lines to stderr), writes the Markdown report with
    ``--out``, and returns 0 when every row passes, 1 when a row fails, 2 on bad input
    (one line on stderr: ``deeptheory verify: error: ...``).
    """
    from ._core import VerifyConfig, list_checks, verify

    try:
        args = parse_or_status(build_verify_parser(), sys.argv[1:] if argv is None else argv)
        if isinstance(args, int):
            return args
        if args.list:
            for c in list_checks():
                print(f"{c.name:28s} {c.theory}  vs  {c.simulation}")
            return 0
        if args.seed < 0:
            raise UsageError(f"--seed must be >= 0, got {args.seed}")
        out = None
        if args.out is not None:
            out = Path(args.out)
            if out.suffix.lower() not in (".md", ".markdown"):
                raise UsageError(f"--out must be a Markdown file (.md), got {args.out!r}")
            if not out.parent.is_dir():
                raise UsageError(f"--out: directory {str(out.parent)!r} does not exist")
        sizes = {k: v for k, v in (("width", args.width), ("depth", args.depth),
                                   ("n_samples", args.n_samples)) if v is not None}
        nets = args.config or list(itertools.product(args.activation, args.sigma_w2,
                                                     args.sigma_b2))
        configs = [VerifyConfig(activation=a, sigma_w2=w, sigma_b2=b, weights=args.weights,
                                **sizes) for a, w, b in nets]
        report = verify(configs, pillars=args.pillars, seed=args.seed, quick=args.quick,
                        progress=not args.no_progress, k=args.k, scheduler=args.scheduler,
                        timeout=args.timeout)
    except (UsageError, ValueError, TypeError, ConnectionError, TimeoutError,
            RuntimeError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(report)
    if out is not None:
        report.to_markdown(out, figures=not args.no_figures)
        print(f"wrote {out}", file=sys.stderr)
    return 0 if report.passed else 1
