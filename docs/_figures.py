"""Shared command line of the docs/make_*_figures.py scripts (not part of the package)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
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
