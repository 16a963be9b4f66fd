"""``deeptheory sweep``: the command line of :func:`deeptheory.sweep.sweep`."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._cliutil import OneLineParser, UsageError, parse_or_status

__all__ = ["build_sweep_parser", "main_sweep", "parse_value"]

PROG = "deeptheory sweep"


def parse_value(s: str) -> Any:
    """A command-line value: an int, else a float, else true / false, else the string."""
    t = s.strip()
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return t


def _assignment(kind: str, many: bool):
    def parse(s: str) -> tuple[str, Any]:
        name, sep, rhs = s.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise argparse.ArgumentTypeError(f"{kind} must be NAME=VALUE"
                                             f"{'[,VALUE...]' if many else ''}, got {s!r}")
        if not many:
            return name, parse_value(rhs)
        items = [t for t in (x.strip() for x in rhs.split(","))]
        if not rhs.strip() or any(not t for t in items):
            raise argparse.ArgumentTypeError(f"{kind} {name}: empty value in {s!r}")
        return name, [parse_value(t) for t in items]
    return parse


def build_sweep_parser() -> argparse.ArgumentParser:
    """The argument parser of ``deeptheory sweep``."""
    p = OneLineParser(prog=PROG, description=(
        "Run a toolkit function at every point of a parameter grid (the outer product of "
        "the --param lists), on an embedded Dask cluster, an existing one (--scheduler "
        "tcp://host:8786 or DEEPTHEORY_SCHEDULER) or serially, and store the labelled "
        "result chunk by chunk in a directory that resumes when the same command is run "
        "again. Values are ints, floats, true/false or strings. Exit status 0 when every "
        "point ran, 1 when some failed (recorded in the 'error' variable), 2 on bad input."))
    p.add_argument("function", help="dotted name within deeptheory, e.g. "
                   "meanfield.simulate_chi1 or rmt.jacobian_moments")
    p.add_argument("--param", action="append", type=_assignment("--param", True),
                   default=[], metavar="NAME=V1,V2,...", help="a swept parameter (repeat)")
    p.add_argument("--fixed", action="append", type=_assignment("--fixed", False),
                   default=[], metavar="NAME=VALUE", help="an argument passed unchanged")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the sweep directory (created; a rerun resumes it)")
    p.add_argument("--store", choices=("netcdf", "zarr"), default="netcdf",
                   help="format of the chunks (default netcdf; zarr needs the zarr package)")
    p.add_argument("--save", default=None, metavar="FILE",
                   help="also write the whole result as one .nc file or .zarr store")
    p.add_argument("--scheduler", default=None,
                   help="local (default, or DEEPTHEORY_SCHEDULER), serial, or the address "
                   "tcp://host:port of a running Dask scheduler")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the embedded cluster (default: one per core)")
    p.add_argument("--chunk-size", type=int, default=None, help="points per task and file")
    p.add_argument("--outputs", default=None, metavar="A,B",
                   help="fields of the result to keep (default: all)")
    p.add_argument("--seed", type=int, default=0, help="sweep seed, int >= 0 (default 0)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to reach the scheduler (default 30)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def main_sweep(argv: Sequence[str] | None = None) -> int:
    """Run ``deeptheory sweep`` (:func:`deeptheory.sweep.sweep`) with ``argv`` (without the
    program and subcommand names).

    Prints a summary of the Dataset (dimensions, variables, failures) to stdout and a
    progress bar to stderr; returns 0 when every point ran, 1 when some point failed, 2 on
    bad input or an unreachable scheduler (one line on stderr).
    """
    from . import _store
    from ._engine import SweepMismatchError, sweep

    try:
        args = parse_or_status(build_sweep_parser(), sys.argv[1:] if argv is None else argv)
        if isinstance(args, int):
            return args
        if not args.param:
            raise UsageError("give at least one --param NAME=V1,V2,...")
        params: dict[str, Any] = {}
        for name, values in args.param:
            if name in params:
                raise UsageError(f"--param {name} given twice")
            params[name] = values
        fixed: dict[str, Any] = {}
        for name, value in args.fixed:
            if name in fixed:
                raise UsageError(f"--fixed {name} given twice")
            fixed[name] = value
        if args.seed < 0:
            raise UsageError(f"--seed must be >= 0, got {args.seed}")
        save = None if args.save is None else Path(args.save)
        if save is not None:
            if save.suffix not in (".nc", ".zarr"):
                raise UsageError(f"--save must end in .nc or .zarr, got {args.save!r}")
            if save.exists():
                raise UsageError(f"--save: {args.save!r} exists")
            if not save.parent.is_dir():
                raise UsageError(f"--save: directory {str(save.parent)!r} does not exist")
        outputs = None if args.outputs is None else [t.strip() for t in args.outputs.split(",")]
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            ds = sweep(args.function, params, fixed=fixed, seed=args.seed, outputs=outputs,
                       path=args.out, store=args.store, scheduler=args.scheduler,
                       chunk_size=args.chunk_size, n_workers=args.workers,
                       progress=not args.no_progress, timeout=args.timeout)
        elapsed = time.perf_counter() - t0
    except (UsageError, ValueError, TypeError, ConnectionError, TimeoutError,
            FileExistsError, FileNotFoundError, ImportError, SweepMismatchError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    for w in caught:
        print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    dims = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
    n_failed = int(ds.attrs["n_failed"])
    print(f"sweep of {ds.attrs['function']}: {ds.attrs['n_points']} points ({dims}), "
          f"{n_failed} failed, in {elapsed:.1f} s")
    print(f"  variables: {', '.join(str(k) for k in ds.data_vars)}")
    print(f"  fixed: {json.dumps(fixed)}  seed: {args.seed}")
    print(f"  stored in {args.out} ({args.store} chunks; open with "
          f"deeptheory.sweep.open_sweep({str(args.out)!r}))")
    if save is not None:
        _store.save_sweep(ds, save)
        print(f"  wrote {save}")
    return 1 if n_failed else 0
