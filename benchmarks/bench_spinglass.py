"""Benchmark: projected gradient descent on a spherical 3-spin landscape, library vs batched numpy.

Every implementation runs the same algorithm from the same starts with the same step and the
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

    python benchmarks/bench_spinglass.py                       # N = 200, 1000 starts, 100 steps
    python benchmarks/bench_spinglass.py --starts 200 --iters 20 --repeats 1   # quick
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2, help="alternating full runs of each")
    ap.add_argument("--probe-steps", type=int, default=2)
    ap.add_argument("--numpy-starts", type=int, default=10, help="starts for the einsum line")
    ap.add_argument("--no-extra", action="store_true", help="skip the two extra lines")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
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


if __name__ == "__main__":
    main()
