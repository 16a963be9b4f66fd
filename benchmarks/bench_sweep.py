"""Benchmark: a 64-point Monte Carlo verification sweep on a local Dask cluster vs a serial loop.

The sweep: ``meanfield.simulate_chi1`` (finite tanh networks, width ``--width`` (200),
depth 20, 8 trials; about 0.25 s per point on one idle core) on 16 sigma_w2 x 4 sigma_b2
values, each point's seed ``point_seed(seed, coords)``; at the end every point is compared
with the mean-field chi_1 (z-scores), so the run is also a verification.

Measured in one run, same points, same seeds, one compute thread per process everywhere
(NUMBA_NUM_THREADS = OMP / MKL / OPENBLAS_NUM_THREADS = 1, set before the imports, and in
the workers):

1. serial loop: ``mf.simulate_chi1(...)`` called 64 times in this process (after a warm-up
   call: Numba's compilation / cache load is excluded) -> T_serial, t = T_serial / 64;
2. ``sweep(..., scheduler="serial")`` -> the cost of the sweep machinery without Dask;
3. for n in (1, 2, ...): ``local_cluster(n)`` (the LocalCluster that ``sweep`` embeds)
   started beforehand (start time printed separately) and warmed up (each worker runs one
   point), then ``sweep(..., scheduler=client, chunk_size=1, path=tmp)`` (one task and one
   netCDF file per point) -> T_n.  Printed: speed-up T_serial / T_n (ideal n, up to the
   number of idle cores); wall overhead per point (n T_n - T_serial) / 64 as a fraction of
   t (target < 10 %); CPU overhead per point: (CPU seconds of this process and all the
   cluster's processes during the sweep - those of the serial loop) / 64, less sensitive
   to other load than the wall overhead (it includes Dask's background work, heartbeats
   and event loops, about 0.1 core-second per second on this machine, so it grows when a
   loaded machine stretches the run); and the time per point of the same sweep of a
   function that costs nothing (``noop``): the sweep's own cost per point (task round
   trip, result conversion, one netCDF file);
4. the default call ``sweep(...)`` (embedded cluster started and stopped inside) end to end.

Steps 1 and 3 run in ``--rounds`` interleaved rounds (serial loop, 1 worker, 2 workers,
serial loop, ...) and the best of each counts, so that a change of load on a shared
machine hits all of them alike.  Every cluster result is checked bitwise equal to the
serial loop's values.

    python benchmarks/bench_sweep.py                 # width 200, workers 1 2, 3 rounds
    python benchmarks/bench_sweep.py --width 150 --workers 1 2 4

On a shared machine the numbers move with the load: run it twice.
"""

from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import deeptheory.meanfield as mf  # noqa: E402
from deeptheory.sweep import local_cluster, point_seed, sweep  # noqa: E402

SEED = 2026


def _warm(width: int, depth: int, n_trials: int) -> float:
    """One small call on a worker: loads the compiled kernels from Numba's cache."""
    import deeptheory.meanfield as m

    return m.simulate_chi1(1.5, 0.1, "tanh", width=width, depth=depth, n_trials=n_trials,
                           seed=0).value


def noop(sigma_w2: float, sigma_b2: float, seed: int = 0) -> float:
    """A point that costs nothing: a sweep of it measures the sweep's own cost per point."""
    return sigma_w2 + sigma_b2


def _cpu() -> float:
    """CPU seconds of this process and all its children (the cluster's processes)."""
    import psutil

    me = psutil.Process()
    t = sum(me.cpu_times()[:2])
    for c in me.children(recursive=True):
        try:
            t += sum(c.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return t


def _serial_loop(sw2: list, sb2: list, fixed: dict, out: np.ndarray) -> tuple[float, float]:
    c0, t0 = _cpu(), time.perf_counter()
    for i, a in enumerate(sw2):
        for j, b in enumerate(sb2):
            s = point_seed(SEED, {"sigma_w2": a, "sigma_b2": b})
            out[i, j] = mf.simulate_chi1(a, b, seed=s, **fixed).value
    return time.perf_counter() - t0, _cpu() - c0


def _cluster_round(nw: int, params: dict, fixed: dict, args: Any) -> dict:
    """Start local_cluster(nw), warm it, time a no-op sweep and the Monte Carlo sweep."""
    from distributed import Client

    t0 = time.perf_counter()
    with local_cluster(nw) as lc, Client(lc, set_as_default=False) as client:
        r = {"start": time.perf_counter() - t0}
        client.run(_warm, args.width, args.depth, args.n_trials)
        with tempfile.TemporaryDirectory() as tmp:
            sweep(noop, params, scheduler=client, chunk_size=1)  # warm the task path
            t0 = time.perf_counter()
            sweep(noop, params, scheduler=client, chunk_size=1, path=Path(tmp) / "noop")
            r["noop"] = time.perf_counter() - t0
            c0, t0 = _cpu(), time.perf_counter()
            r["ds"] = sweep("meanfield.simulate_chi1", params, fixed=fixed, seed=SEED,
                            scheduler=client, chunk_size=1, path=Path(tmp) / "sw")
            r["wall"], r["cpu"] = time.perf_counter() - t0, _cpu() - c0
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--n-trials", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds (serial loop, then each cluster); best counts")
    ap.add_argument("--no-embedded", action="store_true", help="skip step 4")
    args = ap.parse_args()

    sw2 = [float(x) for x in np.round(np.linspace(0.8, 2.3, 16), 4)]
    sb2 = [0.05, 0.1, 0.2, 0.3]
    params = {"sigma_w2": sw2, "sigma_b2": sb2}
    fixed = {"activation": "tanh", "width": args.width, "depth": args.depth,
             "n_trials": args.n_trials}
    n = len(sw2) * len(sb2)
    cores = os.cpu_count() or 1
    print(f"{n}-point sweep of meanfield.simulate_chi1 (width {args.width}, depth "
          f"{args.depth}, {args.n_trials} trials), {cores} cores, one thread per process; "
          f"{args.rounds} interleaved rounds, best of each; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    _warm(args.width, args.depth, args.n_trials)
    vals = np.empty((len(sw2), len(sb2)))
    serial, clusters = [], {nw: [] for nw in args.workers}
    for _ in range(args.rounds):
        serial.append(_serial_loop(sw2, sb2, fixed, vals))
        for nw in args.workers:
            r = _cluster_round(nw, params, fixed, args)
            assert np.array_equal(r.pop("ds")["value"].values, vals), "cluster result differs"
            clusters[nw].append(r)
    t_serial = min(w for w, _ in serial)
    cpu_serial = min(c for _, c in serial)
    per, cpu_per = t_serial / n, cpu_serial / n
    print(f"serial loop                  {t_serial:7.2f} s   {per * 1e3:6.1f} ms/point "
          f"(CPU {cpu_per * 1e3:.1f} ms/point; rounds: "
          f"{', '.join(f'{w:.1f}' for w, _ in serial)} s)")

    # 2. the sweep machinery alone, in this process
    t0 = time.perf_counter()
    ds = sweep("meanfield.simulate_chi1", params, fixed=fixed, seed=SEED, scheduler="serial")
    t_ser_sweep = time.perf_counter() - t0
    assert np.array_equal(ds["value"].values, vals)
    print(f"sweep(scheduler='serial')    {t_ser_sweep:7.2f} s   "
          f"{(t_ser_sweep - t_serial) / n * 1e3:+6.1f} ms/point vs the loop "
          f"({100 * (t_ser_sweep - t_serial) / t_serial:+.1f} %, one run)")

    # 3. local clusters
    for nw, rs in clusters.items():
        t_n = min(r["wall"] for r in rs)
        cpu_n = min(r["cpu"] for r in rs)
        noop_pp = min(r["noop"] for r in rs) / n
        over = (nw * t_n - t_serial) / n
        cpu_over = (cpu_n - cpu_serial) / n
        print(f"LocalCluster {nw} worker{'s' if nw > 1 else ' '}       {t_n:7.2f} s   speed-up "
              f"{t_serial / t_n:4.2f}x (ideal {min(nw, cores)}x); overhead per point: wall "
              f"{over * 1e3:+6.1f} ms ({100 * over / per:+5.1f} %), CPU {cpu_over * 1e3:+6.1f} "
              f"ms ({100 * cpu_over / cpu_per:+5.1f} %), no-op sweep {noop_pp * 1e3:5.1f} ms "
              f"({100 * noop_pp / per:4.1f} %); cluster start "
              f"{min(r['start'] for r in rs):.1f} s (not counted); rounds: "
              f"{', '.join(format(r['wall'], '.1f') for r in rs)} s")

    # 4. the default call, end to end
    if not args.no_embedded:
        t0 = time.perf_counter()
        ds = sweep("meanfield.simulate_chi1", params, fixed=fixed, seed=SEED)
        t_emb = time.perf_counter() - t0
        assert np.array_equal(ds["value"].values, vals)
        print(f"sweep() embedded cluster     {t_emb:7.2f} s   (start, run, stop; "
              f"speed-up {t_serial / t_emb:4.2f}x, one run)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")

    # the verification: Monte Carlo vs mean field
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theory = np.array([[float(mf.chi1(a, b, "tanh")) for b in sb2] for a in sw2])
    z = (ds["value"].values - theory) / ds["stderr"].values
    print(f"verification: chi_1 Monte Carlo vs mean field over {n} points: max |z| = "
          f"{np.max(np.abs(z)):.2f}, mean z = {np.mean(z):+.2f} (finite-width bias O(1/N))")


if __name__ == "__main__":
    main()
