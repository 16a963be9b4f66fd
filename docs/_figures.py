"""Shared command line of the docs/make_*_figures.py scripts (not part of the package)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path


def run(doc: str, out: Path, figures: Sequence[Callable[[bool], None]]) -> None:
    """Parse ``--quick``, create ``out`` and make every figure, printing its time."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="coarser grids, fewer samples")
    args = ap.parse_args()
    out.mkdir(exist_ok=True)
    for f in figures:
        t = time.perf_counter()
        f(args.quick)
        print(f"{f.__name__}: {time.perf_counter() - t:.1f} s")


def run_registry(
    description: str,
    out: Path,
    figures: Sequence[Callable[..., object]],
    *,
    argv: Sequence[str] | None = None,
    quick_help: str = "coarser grids, fewer samples",
    context: Callable[[], AbstractContextManager] | None = None,
) -> None:
    """Parse ``--quick``, ``--outdir`` and ``--only NAME ...``; make the chosen figures as
    ``f(outdir, quick=...)`` inside ``context()`` (if given), printing each time."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--outdir", type=Path, default=out, help="output folder (default docs/figures)")
    ap.add_argument("--only", nargs="+", choices=[f.__name__ for f in figures],
                    help="make only these figures")
    args = ap.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    with context() if context is not None else nullcontext():
        for f in figures:
            if args.only and f.__name__ not in args.only:
                continue
            t = time.perf_counter()
            f(args.outdir, quick=args.quick)
            print(f"{f.__name__}: {time.perf_counter() - t:.1f} s")
    print(f"total: {time.perf_counter() - t_all:.1f} s")


def save_figure(fig, outdir: Path, name: str, dpi: int = 100) -> Path:
    """Write ``fig`` to ``outdir / name`` at ``dpi``, close it and print the path and size."""
    import matplotlib.pyplot as plt

    path = Path(outdir) / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"  wrote {path} ({path.stat().st_size // 1024} KiB)")
    return path
