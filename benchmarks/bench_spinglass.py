"""Benchmark: p-spin gradient descent, 2-D Ising Metropolis, SK parallel tempering.

Three parts (``--parts gd,ising,pt``, all by default), each in this one process.

Part "gd": projected gradient descent on a spherical 3-spin landscape, library vs batched
numpy.  Every implementation runs the same algorithm from the same starts with the same step and the
same fixed number of steps (tol = 0: no start stops early), i.e. iters steps and iters + 1
evaluations of v = T(s, s, .):

    g_R = grad H - (s . grad H / N) s,   s <- sqrt(N) (s - step g_R) / |s - step g_R|,

on H_N(s) = T(s, s, s), T the symmetrised, normalised coupling tensor of
:func:`deeptheory.spinglass.sample.sample_hamiltonian` (N = 200: 8e6 entries, 64 MB).

* deeptheory: :func:`deeptheory.spinglass.sample.gradient_descent`, i.e. the compiled kernel
  :func:`deeptheory.kernels.tensor.sphere_gd_batch`: one packed product per step for all starts
  (v_i = sum_{j <= k} w_jk T_jki s_j s_k: N(N+1)/2 instead of N^2 columns), built and
  multiplied block by block, two slices of starts per core handed out to the threads one at
  a time, BLAS on one thread per slice.
* the competent baseline, batched numpy, one GEMM per step for all starts, in two forms:
  "x(x)x": X2 = the batch of s (x) s as (B, N^2), V = X2 @ T.reshape(N, N^2).T;
  "W": W = S @ T.reshape(N^2, N).T as (B, N, N), V = W @ s (batched matrix-vector).
  A short probe picks the faster form at each BLAS thread count (1, and the CPU count);
  each is then timed in full.  The ratio is given against numpy with the library's thread
  count (the CPU count) and against numpy's best thread count.
* the DGEMM bound: iters + 1 plain GEMMs in a row of the shapes the library's step needs,
  (B x N(N+1)/2) @ (N(N+1)/2 x N), numpy at its best thread count; and, for reference, one
  GEMM of the full shapes (B x N^2) @ (N^2 x N) that the numpy baseline multiplies, times
  iters + 1.
* extra lines: numpy with the same symmetric packing (shows what is algorithm and what is
  implementation), and plain numpy einsum one start at a time (the old baseline; run on
  ``--numpy-starts`` starts and scaled linearly to all starts, every start costing the same).

Timings alternate (library; numpy and the DGEMM bound at 1 thread; the same at the CPU count;
repeated ``--repeats`` times) and the best of each is kept, in one process.  Every run's
final energies must agree with the library's to 1e-10 relative to max(1, |H|), and the
library's must be bit-identical from run to run.

Part "ising": single-spin Metropolis updates per second on periodic L x L Ising lattices
(J = 1, h = 0, ``--ising-l`` 64, ``--ising-replicas`` 4 independent lattices, beta = 0.44,
near T_c), the library's :func:`deeptheory.spinglass.montecarlo.metropolis` (compiled
checkerboard sweep, counter-based random numbers, replicas in a ``prange`` loop) end to end,
on 1 thread and on all threads, against the competent numpy baseline: a vectorised
checkerboard on the four strided sublattices of every lattice at once (even x even, even x odd,
...; each half-sweep updates exactly the sites of one colour with ``np.roll`` neighbour sums,
an acceptance table indexed by s m and one uniform per site).  Best of ``--repeats``
alternating runs, wall clock; both samplers' mean energies are checked against Kaufman's exact
finite-L value (4 standard errors + 2e-3).  Target: library / numpy >= 5x.

Part "pt": parallel tempering of one SK sample, N = 512 (``--pt-n``), 32 temperatures
(``--pt-temps``, geometric in beta over [0.3, 3]), one copy: sweeps of the whole ladder per
second (each sweep: N updates of each of the 32 replicas, then one exchange step), with the
measured swap rates.

    python benchmarks/bench_spinglass.py                       # all parts, full size
    python benchmarks/bench_spinglass.py --parts gd --starts 200 --iters 20 --repeats 1   # quick
    python benchmarks/bench_spinglass.py --parts ising,pt
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba
import numpy as np

from deeptheory.kernels.tensor import GD_SLICES_PER_CPU
from deeptheory.spinglass.sample import default_step, gradient_descent, sample_hamiltonian

TOL = 1e-10


@contextmanager
def blas_threads(k: int) -> Iterator[None]:
    """numpy's BLAS on k threads inside the block (threadpoolctl if installed, else OpenBLAS's
    own setter found in the loaded libraries)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=k, user_api="blas"):
            yield
        return
    from deeptheory.kernels.montecarlo import _openblas_controls

    controls = _openblas_controls()
    if not controls:
        raise RuntimeError("cannot set the BLAS thread count: install threadpoolctl")
    saved = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(k)
    try:
        yield
    finally:
        for (_, set_), n in zip(controls, saved, strict=True):
            set_(max(1, int(n)))


def _gd_loop(s: np.ndarray, step: float, iters: int, v_of: Callable[[np.ndarray], np.ndarray]
             ) -> np.ndarray:
    """The library's algorithm, batched: iters steps, iters + 1 evaluations; final energies."""
    n = s.shape[1]
    s = s.copy()
    for it in range(iters + 1):
        v = v_of(s)  # T(s, s, .) for every row
        if it == iters:
            break
        g = 3.0 * v
        c = np.einsum("bi,bi->b", s, g) / np.einsum("bi,bi->b", s, s)
        s = s - step * (g - c[:, None] * s)
        s *= (math.sqrt(n) / np.linalg.norm(s, axis=1))[:, None]
    return np.einsum("bi,bi->b", s, v)


def numpy_xx(t: np.ndarray, s: np.ndarray, step: float, iters: int) -> np.ndarray:
    """One GEMM per step: V = (s (x) s) @ T.reshape(N, N^2).T, the outer products in a buffer."""
    b, n = s.shape
    ta_t = t.reshape(n, n * n).T
    buf = np.empty((b, n, n))

    def v_of(x: np.ndarray) -> np.ndarray:
        np.multiply(x[:, :, None], x[:, None, :], out=buf)
        return buf.reshape(b, n * n) @ ta_t

    return _gd_loop(s, step, iters, v_of)


def numpy_w(t: np.ndarray, s: np.ndarray, step: float, iters: int) -> np.ndarray:
    """One GEMM per step: W = S @ T.reshape(N^2, N).T, then V = W @ s batched."""
    b, n = s.shape
    tb_t = t.reshape(n * n, n).T

    def v_of(x: np.ndarray) -> np.ndarray:
        w = (x @ tb_t).reshape(b, n, n)
        return np.matmul(w, x[:, :, None])[:, :, 0]

    return _gd_loop(s, step, iters, v_of)


def numpy_packed(t: np.ndarray, s: np.ndarray, step: float, iters: int) -> np.ndarray:
    """The library's algorithm in numpy: V = X @ P with X[b, (j<=k)] = s_j s_k and
    P[(j, k), :] = (2 - delta_jk) T[j, k, :] (an independent construction of the packing)."""
    n = s.shape[1]
    j, k = np.triu_indices(n)
    p = t[j, k, :] * np.where(j == k, 1.0, 2.0)[:, None]

    def v_of(x: np.ndarray) -> np.ndarray:
        return (x[:, j] * x[:, k]) @ p

    return _gd_loop(s, step, iters, v_of)


def numpy_gd_one(t: np.ndarray, s: np.ndarray, step: float, iters: int) -> float:
    """Plain numpy: projected GD of T(s, s, s) on |s|^2 = N from one start; returns H."""
    n = s.size
    s = s.copy()
    for _ in range(iters):
        g = 3.0 * np.einsum("ijk,j,k->i", t, s, s)
        gr = g - (s @ g) / (s @ s) * s
        s = s - step * gr
        s *= math.sqrt(n) / np.linalg.norm(s)
    return float(np.einsum("ijk,i,j,k->", t, s, s, s, optimize=True))


VARIANTS = {"x(x)x": numpy_xx, "W": numpy_w}


def _timed(f: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def _check(name: str, e: np.ndarray, ref: np.ndarray) -> float:
    err = float(np.max(np.abs(e - ref) / np.maximum(1.0, np.abs(ref))))
    assert err < TOL, f"{name}: energies differ from the library's by {err:.2e}"
    return err


def bench_gd(a: argparse.Namespace) -> None:
    """Part "gd" (see the module docstring)."""
    n, p, b, iters = a.n, 3, a.starts, a.iters
    ncpu = os.cpu_count() or 1
    threads = sorted({1, ncpu})
    h = sample_hamiltonian(n, p, a.seed)
    t = h.tensor
    rng = np.random.default_rng(a.seed + 1)
    x = rng.standard_normal((b, n))
    starts = x * (math.sqrt(n) / np.linalg.norm(x, axis=1))[:, None]
    step = default_step(p)
    print(f"spherical 3-spin, N = {n}, {b} starts, {iters} GD steps ({iters + 1} evaluations "
          f"of T(s, s, .)), step = {step:.4f}; {ncpu} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")

    def lib() -> np.ndarray:
        r = gradient_descent(h, b, starts=starts, tol=0.0, max_iter=iters)
        assert np.all(r.n_iter == iters)
        return r.u * n

    gradient_descent(h, 2, starts=starts[:2], tol=0.0, max_iter=1)  # compile / load the cache

    # probe: the faster numpy form at each thread count (a few steps, best of 3, alternating)
    probe: dict[tuple[str, int], float] = {}
    for _ in range(3):
        for k in threads:
            with blas_threads(k):
                for name, f in VARIANTS.items():
                    dt, _ = _timed(lambda f=f: f(t, starts, step, a.probe_steps))
                    probe[(name, k)] = min(probe.get((name, k), math.inf), dt)
    best_form = {k: min(VARIANTS, key=lambda nm, k=k: probe[(nm, k)]) for k in threads}
    print(f"probe ({a.probe_steps} steps, best of 3; s per step): " + ", ".join(
        f"{nm} {k} thr {probe[(nm, k)] / (a.probe_steps + 1):.3f}"
        for k in threads for nm in VARIANTS))

    # main: alternating full runs of the library, numpy at each thread count, and the DGEMM
    # bound (iters + 1 plain products of the packed shapes in a row), best of the repeats
    kk = n * (n + 1) // 2
    xr = rng.standard_normal((b, kk))
    pr = rng.standard_normal((kk, n))
    evals = iters + 1

    def bound() -> np.ndarray:
        for _ in range(evals):
            out = xr @ pr
        return out

    times: dict[str, float] = {}
    e_lib = None
    errs = []
    for _ in range(max(1, a.repeats)):
        dt, e = _timed(lib)
        times["lib"] = min(times.get("lib", math.inf), dt)
        e_lib = e if e_lib is None else e_lib
        assert np.array_equal(e, e_lib), "library not reproducible from run to run"
        for k in threads:
            f = VARIANTS[best_form[k]]
            with blas_threads(k):
                dt, e = _timed(lambda f=f: f(t, starts, step, iters))
                times[f"np{k}"] = min(times.get(f"np{k}", math.inf), dt)
                errs.append(_check(f"numpy {best_form[k]} {k} threads", e, e_lib))
                dt, _ = _timed(bound)
                times[f"gemm{k}"] = min(times.get(f"gemm{k}", math.inf), dt)
    # for reference: one product of the full shapes that the numpy baseline multiplies
    xf = rng.standard_normal((b, n * n))
    tf = t.reshape(n, n * n).T
    full: dict[int, float] = {}
    for _ in range(2):
        for k in threads:
            with blas_threads(k):
                dt, _ = _timed(lambda xf=xf, tf=tf: xf @ tf)
                full[k] = min(full.get(k, math.inf), dt)
    del xf

    t_lib = times["lib"]
    print(f"deeptheory gradient_descent (numba, {GD_SLICES_PER_CPU * ncpu} slices on "
          f"{numba.get_num_threads()} threads, BLAS 1 thread each): "
          f"{t_lib:7.2f} s   min u = {e_lib.min() / n:.4f}, mean u = {e_lib.mean() / n:.4f}")
    for k in threads:
        tag = " (the library's thread count)" if k == ncpu else ""
        print(f"numpy batched, {best_form[k]}, {k} BLAS thread(s){tag}: {times[f'np{k}']:7.2f} s"
              f"   ratio numpy / deeptheory {times[f'np{k}'] / t_lib:.2f}x")
    k_best = min(threads, key=lambda k: times[f"np{k}"])
    r_same = times[f"np{ncpu}"] / t_lib
    r_best = times[f"np{k_best}"] / t_lib
    print(f"ratio vs batched numpy: same thread count {r_same:.2f}x, best thread count "
          f"({k_best}) {r_best:.2f}x   (target >= 1.5x: {'met' if r_best >= 1.5 else 'MISSED'})")
    print(f"  max relative energy difference, numpy vs deeptheory: {max(errs):.2e}")
    kb = min(threads, key=lambda k: times[f"gemm{k}"])
    t_b = times[f"gemm{kb}"]
    print(f"DGEMM bound: {evals} x ({b} x {kk}) @ ({kk} x {n}) in a row, {kb} thread(s): "
          f"{t_b:.2f} s;  deeptheory / bound = {t_lib / t_b:.2f}   "
          f"(target <= 1.2: {'met' if t_lib <= 1.2 * t_b else 'MISSED'})")
    kf = min(threads, key=lambda k: full[k])
    print(f"  for reference, the full GEMM of the numpy baseline: ({b} x {n * n}) @ "
          f"({n * n} x {n}), {kf} thread(s), {full[kf] * 1e3:.1f} ms (best of 2) x {evals} = "
          f"{full[kf] * evals:.2f} s")

    if not a.no_extra:
        with blas_threads(k_best):
            dt, e = _timed(lambda: numpy_packed(t, starts, step, iters))
        err = _check("numpy packed", e, e_lib)
        print(f"extra: numpy with the same symmetric packing, {k_best} BLAS thread(s), one run: "
              f"{dt:7.2f} s   ratio {dt / t_lib:.2f}x   (max rel. energy difference {err:.2e})")
        m = min(a.numpy_starts, b)
        with blas_threads(1):
            dt, e = _timed(lambda: np.array([numpy_gd_one(t, starts[i], step, iters)
                                             for i in range(m)]))
        err = _check("numpy einsum per start", e, e_lib[:m])
        t_one = dt * b / m
        scaled = f", measured on {m} starts, scaled x{b / m:.0f}" if m < b else ""
        print(f"extra: plain numpy einsum, one start at a time (1 BLAS thread{scaled}): "
              f"{t_one:7.2f} s   ratio {t_one / t_lib:.1f}x   (max rel. energy difference "
              f"{err:.2e})")
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


# --------------------------------------------------------------------------------------------
# part "ising": 2-D Ising Metropolis, compiled checkerboard vs vectorised numpy checkerboard


def numpy_checkerboard(s: np.ndarray, beta: float, sweeps: int, rng: np.random.Generator,
                       energies: list | None = None) -> np.ndarray:
    """Checkerboard Metropolis sweeps of the (R, L, L) int8 lattices ``s`` (L even) in place.

    The four strided sublattices A (even y, even x), B (even y, odd x), C (odd y, even x) and
    D (odd y, odd x) are views of s; colour 0 is A and D, colour 1 is B and C.  A site of A at
    (2i, 2j) has its x-neighbours in B at (i, j) and (i, j - 1) and its y-neighbours in C at
    (i, j) and (i - 1, j) (periodic: np.roll), and so on.  Appends the energy per spin of every
    sweep to ``energies`` when given.
    """
    r, side, _ = s.shape
    ptab = np.minimum(1.0, np.exp(-2.0 * beta * np.arange(-4, 5)))  # index s m + 4
    a, b, c, d = s[:, 0::2, 0::2], s[:, 0::2, 1::2], s[:, 1::2, 0::2], s[:, 1::2, 1::2]

    def update(x: np.ndarray, m: np.ndarray) -> None:
        flip = rng.random(x.shape) < ptab[x * m + 4]
        x[flip] *= -1

    for _ in range(sweeps):
        update(a, b + np.roll(b, 1, 2) + c + np.roll(c, 1, 1))
        update(d, c + np.roll(c, -1, 2) + b + np.roll(b, -1, 1))
        update(b, a + np.roll(a, -1, 2) + d + np.roll(d, 1, 1))
        update(c, d + np.roll(d, 1, 2) + a + np.roll(a, -1, 1))
        if energies is not None:
            bonds = s * np.roll(s, 1, 1) + s * np.roll(s, 1, 2)
            energies.append(-bonds.sum(axis=(1, 2)) / (side * side))
    return s


@contextmanager
def numba_threads(k: int) -> Iterator[None]:
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def bench_ising(a: argparse.Namespace) -> None:
    """Part "ising" (see the module docstring)."""
    from deeptheory._stats import blocking
    from deeptheory.kernels._threads import forced
    from deeptheory.spinglass.exact import ising_2d_finite
    from deeptheory.spinglass.models import IsingLattice
    from deeptheory.spinglass.montecarlo import metropolis

    side, reps, sweeps, beta = a.ising_l, a.ising_replicas, a.ising_sweeps, 0.44
    if side % 2:
        raise SystemExit("--ising-l must be even (the numpy checkerboard)")
    ncpu = numba.config.NUMBA_NUM_THREADS
    model = IsingLattice(side, 2)
    updates = sweeps * reps * side * side
    print(f"\n2-D Ising Metropolis, {reps} lattices of {side} x {side}, beta = {beta}, "
          f"{sweeps} sweeps ({updates:.3g} single-spin updates); load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")

    def lib(k: int) -> Callable[[], object]:
        def run() -> object:
            with numba_threads(k), forced("parallel" if k > 1 else "serial"):
                return metropolis(model, beta, sweeps, reps, seed=1, burn_in=0,
                                  measure_every=10)
        return run

    rng = np.random.default_rng(0)
    lattice = (2 * rng.integers(0, 2, (reps, side, side)) - 1).astype(np.int8)

    def npy() -> np.ndarray:
        return numpy_checkerboard(lattice, beta, sweeps, rng)

    lib(1)(), lib(ncpu)(), numpy_checkerboard(lattice.copy(), beta, 2, rng)  # compile, warm
    times: dict[str, float] = {}
    for _ in range(max(1, a.repeats)):
        for name, f in (("lib1", lib(1)), (f"lib{ncpu}", lib(ncpu)), ("numpy", npy)):
            dt, _ = _timed(f)
            times[name] = min(times.get(name, math.inf), dt)
    # accuracy: both samplers at equilibrium against Kaufman's exact energy
    exact = float(ising_2d_finite(beta, side).energy)
    r = metropolis(model, beta, 4000, reps, seed=2, burn_in=1000)
    es: list = []
    numpy_checkerboard(lattice, beta, 1000, rng)
    numpy_checkerboard(lattice, beta, 4000, rng, es)
    e_np = np.mean(es, axis=1)
    se_np = blocking(e_np).stderr
    for name, val, se in (("library", float(r.energy.value[0]), float(r.energy.stderr[0])),
                          ("numpy", float(e_np.mean()), se_np)):
        ok = abs(val - exact) < 4 * se + 2e-3
        print(f"  {name:8s} <H>/N = {val:.5f} +- {se:.5f}   exact (Kaufman, L = {side}) "
              f"{exact:.5f}   {'ok' if ok else 'DISAGREES'}")
    for name in ("lib1", f"lib{ncpu}", "numpy"):
        label = {"lib1": "deeptheory metropolis, 1 thread", "numpy": "numpy checkerboard"}.get(
            name, f"deeptheory metropolis, {ncpu} threads")
        print(f"{label:38s} {times[name]:7.3f} s   {updates / times[name] / 1e6:8.1f} M "
              f"updates/s   ({times[name] / updates * 1e9:5.2f} ns per update)")
    r1 = times["numpy"] / times["lib1"]
    rn = times["numpy"] / times[f"lib{ncpu}"]
    verdict = ("met on 1 thread" if r1 >= 5 else f"met on {ncpu} threads only" if rn >= 5
               else "MISSED")
    print(f"ratio numpy / deeptheory: {r1:.1f}x on 1 thread, {rn:.1f}x on {ncpu} threads   "
          f"(target >= 5x: {verdict})")


# --------------------------------------------------------------------------------------------
# part "pt": parallel tempering of SK, N = 512, 32 replicas


def bench_pt(a: argparse.Namespace) -> None:
    """Part "pt" (see the module docstring)."""
    from deeptheory.spinglass.models import sk_model
    from deeptheory.spinglass.montecarlo import parallel_tempering

    n, k, sweeps = a.pt_n, a.pt_temps, a.pt_sweeps
    model = sk_model(n, seed=a.seed)
    betas = np.geomspace(0.3, 3.0, k)
    ncpu = numba.config.NUMBA_NUM_THREADS
    print(f"\nparallel tempering, SK N = {n}, {k} temperatures (beta 0.3 .. 3, geometric), "
          f"1 copy, {sweeps} sweeps, exchange after every sweep; load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    parallel_tempering(model, betas, 8, n_copies=1, burn_in=0, seed=0)  # compile / load
    best: dict[int, float] = {}
    res = None
    for _ in range(max(1, a.repeats)):
        for thr in sorted({1, ncpu}):
            with numba_threads(thr):
                dt, res = _timed(lambda: parallel_tempering(model, betas, sweeps, n_copies=1,
                                                            burn_in=0, seed=0))
            best[thr] = min(best.get(thr, math.inf), dt)
    for thr, dt in sorted(best.items()):
        print(f"  {thr} thread(s): {dt:6.2f} s   {sweeps / dt:8.1f} ladder sweeps/s   "
              f"{sweeps * k / dt:9.1f} replica sweeps/s   {sweeps * k * n / dt / 1e6:6.1f} M "
              f"updates/s")
    sr = res.swap_rates
    print(f"  swap rates: min {sr.min():.2f}, median {np.median(sr):.2f}, max {sr.max():.2f}; "
          f"single-spin acceptance {res.acceptance[0]:.2f} (hot) .. {res.acceptance[-1]:.3f} "
          f"(cold); lowest <H>/N {res.energy.value[-1]:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="gd,ising,pt", help="comma-separated: gd, ising, pt")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2, help="alternating full runs of each")
    ap.add_argument("--probe-steps", type=int, default=2)
    ap.add_argument("--numpy-starts", type=int, default=10, help="starts for the einsum line")
    ap.add_argument("--no-extra", action="store_true", help="skip the two extra lines")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ising-l", type=int, default=64)
    ap.add_argument("--ising-replicas", type=int, default=4)
    ap.add_argument("--ising-sweeps", type=int, default=1000)
    ap.add_argument("--pt-n", type=int, default=512)
    ap.add_argument("--pt-temps", type=int, default=32)
    ap.add_argument("--pt-sweeps", type=int, default=500)
    a = ap.parse_args()
    parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    bad = set(parts) - {"gd", "ising", "pt"}
    if bad:
        raise SystemExit(f"unknown parts {sorted(bad)}; choose from gd, ising, pt")
    for part in parts:
        {"gd": bench_gd, "ising": bench_ising, "pt": bench_pt}[part](a)


if __name__ == "__main__":
    main()
