"""Benchmark: every representative public call with one Numba thread against two.

    python benchmarks/bench_threads.py [--rounds 7] [--only SUBSTRING] [--threads 2]

For each call (the Jacobian density of a deep network, a free convolution, KDE mutual
information bounds, mean-field network simulation, and, as they are, KSG, p-spin gradient
descent and a mean-field phase diagram) it compiles both ways, then times the call with
``numba.set_num_threads(1)`` and ``numba.set_num_threads(T)`` alternating in this one
process (order swapped every round, best of ``--rounds`` each), and prints

    t(1 thread), t(T threads), ratio t(T)/t(1)

flagging every call that is more than 5 % slower with T threads ("SLOWER").  It also checks
that the values are bitwise the same with either thread count (kernels that run serially
on small batches and in parallel on large ones must not change a result) and prints
"DIFFERENT" where they are not.  Exit status 1 if any call is flagged, differs or fails.

Timings move with machine load (the header prints the load average): a loaded machine
makes every fork-join expensive, which is what the serial dispatch of small batches in
the kernels guards against.  BLAS threads are left as configured.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

import numba
import numpy as np

import deeptheory.infotheory as it
import deeptheory.meanfield as mf
import deeptheory.spinglass as sg
from deeptheory import rmt
from deeptheory.rmt import numerical as nm


def _values(obj: Any) -> list[np.ndarray]:
    """Every number in a result, as a flat list of arrays (dataclasses, tuples, arrays)."""
    if is_dataclass(obj):
        return [v for f in fields(obj) for v in _values(getattr(obj, f.name))]
    if isinstance(obj, (tuple, list)):
        return [v for o in obj for v in _values(o)]
    if isinstance(obj, dict):
        return [v for k in sorted(obj) for v in _values(obj[k])]
    a = np.asarray(obj)
    if a.dtype == object:
        return []
    return [a]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")
        for x, y in zip(a, b, strict=True)
    )


def cases() -> list[tuple[str, Callable[[], Any]]]:
    """(label, call) pairs; the inputs are built here, outside the timed calls."""
    sb2 = 0.01
    sw2 = float(mf.critical_line(sb2, "tanh"))
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, 32, "tanh", "orthogonal")
    x_jd = lam * np.geomspace(1e-6, 0.999, 1000)
    semi = nm.SemicircleLaw(1.0)
    arcsine = nm.law_from_density(
        lambda t: 1.0 / (math.pi * np.sqrt(np.maximum(4.0 - t * t, 1e-300))), -2.0, 2.0
    )
    x_add = np.linspace(-3.5, 3.5, 400)
    rng = np.random.default_rng(0)
    h_small = rng.standard_normal((256, 4))
    h_large = rng.standard_normal((2000, 10))
    x_ksg = rng.standard_normal(20000)
    y_ksg = x_ksg + 0.5 * rng.standard_normal(20000)
    ham = sg.sample_hamiltonian(60, 3, seed=0)
    grid_w = np.linspace(0.5, 3.0, 30)
    grid_b = np.linspace(0.0, 1.0, 30)

    def sim_small():
        return mf.simulate_layers(1.5, 0.05, "tanh", width=100, depth=10, n_trials=16, seed=1)

    def sim_large():
        return mf.simulate_chi1(1.5, 0.05, "tanh", width=400, depth=12, n_trials=8,
                                weights="orthogonal", seed=2)

    return [
        ("rmt.jacobian_density L=32 tanh orth, 1000 pts",
         lambda: rmt.jacobian_density(x_jd, sw2, sb2, 32, "tanh", "orthogonal")),
        ("rmt.jacobian_cdf L=8 tanh gauss, 9 pts",
         lambda: rmt.jacobian_cdf(np.linspace(0.05, 3.0, 9), sw2, sb2, 8, "tanh", "gaussian")),
        ("rmt.free_additive_convolution 1024 nodes, 400 pts",
         lambda: rmt.free_additive_convolution(semi, arcsine, x_add)),
        ("infotheory.pairwise_mi_bounds N=256 d=4",
         lambda: it.pairwise_mi_bounds(h_small, 0.1)),
        ("infotheory.pairwise_mi_bounds N=2000 d=10",
         lambda: it.pairwise_mi_bounds(h_large, 0.1)),
        ("meanfield.simulate_layers N=100 L=10 16 trials", sim_small),
        ("meanfield.simulate_chi1 N=400 L=12 8 trials orth", sim_large),
        ("infotheory.ksg_mi N=20000 d=1 (as is)", lambda: it.ksg_mi(x_ksg, y_ksg, 3)),
        ("spinglass.gradient_descent N=60 200 starts (as is)",
         lambda: sg.gradient_descent(ham, 200, seed=0, max_iter=200)),
        ("meanfield.phase_diagram 30x30 tanh (as is)",
         lambda: mf.phase_diagram(grid_w, grid_b, "tanh")),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="timed calls per thread count")
    ap.add_argument("--threads", type=int, default=2, help="the thread count against 1")
    ap.add_argument("--only", default="", help="run only the calls whose label contains this")
    args = ap.parse_args()
    nt = args.threads
    if numba.config.NUMBA_NUM_THREADS < nt:
        print(f"Numba has {numba.config.NUMBA_NUM_THREADS} threads here, need {nt}")
        return 2
    warnings.simplefilter("ignore")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; numba {numba.__version__}, threading "
          f"layer {numba.config.THREADING_LAYER!r}; best of {args.rounds}, alternating")
    width = 52
    print(f"{'call':<{width}} {'1 thread':>10} {f'{nt} threads':>10} {'ratio':>7}")
    bad = 0
    for label, call in cases():
        if args.only and args.only not in label:
            continue
        vals = {}
        try:
            for n in (1, nt):  # compile / warm up both ways, keep the values
                numba.set_num_threads(n)
                vals[n] = _values(call())
        except Exception as exc:  # report and go on with the other calls
            print(f"{label:<{width}} ERROR {type(exc).__name__}: {exc}", flush=True)
            bad += 1
            continue
        best = {1: math.inf, nt: math.inf}
        for r in range(args.rounds):
            for n in ((1, nt) if r % 2 == 0 else (nt, 1)):
                numba.set_num_threads(n)
                t0 = time.perf_counter()
                call()
                best[n] = min(best[n], time.perf_counter() - t0)
        ratio = best[nt] / best[1]
        notes = []
        if ratio > 1.05:
            notes.append("SLOWER")
        if not _same(vals[1], vals[nt]):
            notes.append("DIFFERENT values")
        bad += bool(notes)
        print(f"{label:<{width}} {best[1]:9.4f}s {best[nt]:9.4f}s {ratio:7.2f} {' '.join(notes)}",
              flush=True)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}; flagged: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
