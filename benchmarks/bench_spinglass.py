"""Benchmark: projected gradient descent on a spherical 3-spin landscape, Numba vs numpy.

Both run the same algorithm from the same starts with the same step and the same fixed number
of iterations (tol = 0, so no start stops early):

    g_R = grad H - (s . grad H / N) s,   s <- sqrt(N) (s - step g_R) / |s - step g_R|,

on H_N(s) = T(s, s, s) with T the symmetrised, normalised coupling tensor of
:func:`deeptheory.spinglass.sample.sample_hamiltonian` (N = 200: T has 8e6 entries, 64 MB).

* deeptheory: :func:`deeptheory.spinglass.sample.gradient_descent`, i.e. the compiled kernel
  :func:`deeptheory.kernels.tensor.sphere_gd_batch` (prange over chunks of starts, the first
  contraction of a chunk one BLAS product, BLAS on one thread).
* baseline "plain numpy einsum": one start at a time, grad H = 3 einsum('ijk,j,k->i', T, s, s).
  At ~10 ms per gradient this would take ~1000 s for 1000 starts x 100 steps, so it runs on
  the first ``--numpy-starts`` starts and its time is scaled linearly to all starts (every
  start costs the same: fixed iteration count); the output says so.
* also shown: a batched numpy version (all starts in one matrix product per step, one BLAS
  thread), a much stronger baseline than the per-start loop.

The energies of the common starts must agree to 1e-10 (relative to |H|).

    python benchmarks/bench_spinglass.py                       # N = 200, 1000 starts, 100 steps
    python benchmarks/bench_spinglass.py --starts 200 --iters 30 --numpy-starts 4   # quick
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from deeptheory.kernels.montecarlo import single_thread_blas
from deeptheory.spinglass.sample import default_step, gradient_descent, sample_hamiltonian


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


def numpy_gd_batched(t: np.ndarray, s: np.ndarray, step: float, iters: int) -> np.ndarray:
    """The same algorithm for all starts at once (rows of s), one GEMM per step."""
    n = s.shape[1]
    t2 = t.reshape(n * n, n)
    s = s.copy()
    for _ in range(iters):
        w = (s @ t2.T).reshape(s.shape[0], n, n)
        g = 3.0 * np.einsum("bij,bj->bi", w, s)
        c = np.sum(s * g, 1) / np.sum(s * s, 1)
        s = s - step * (g - c[:, None] * s)
        s *= (math.sqrt(n) / np.linalg.norm(s, axis=1))[:, None]
    w = (s @ t2.T).reshape(s.shape[0], n, n)
    return np.einsum("bij,bi,bj->b", w, s, s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--numpy-starts", type=int, default=10)
    ap.add_argument("--no-batched", action="store_true", help="skip the batched numpy run")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    n, p = a.n, 3
    h = sample_hamiltonian(n, p, a.seed)
    rng = np.random.default_rng(a.seed + 1)
    x = rng.standard_normal((a.starts, n))
    starts = x * (math.sqrt(n) / np.linalg.norm(x, axis=1))[:, None]
    step = default_step(p)
    print(f"spherical 3-spin, N = {n}, {a.starts} starts, {a.iters} GD steps, step = {step:.4f}")

    gradient_descent(h, 2, starts=starts[:2], tol=0.0, max_iter=1)  # compile / load cache
    t0 = time.perf_counter()
    res = gradient_descent(h, a.starts, starts=starts, tol=0.0, max_iter=a.iters)
    t_nb = time.perf_counter() - t0
    e_nb = res.u * n
    assert np.all(res.n_iter == a.iters)
    print(f"deeptheory (numba kernel): {t_nb:8.2f} s   min u = {res.u.min():.4f}, "
          f"mean u = {res.u.mean():.4f}")

    m = min(a.numpy_starts, a.starts)
    with single_thread_blas():
        t0 = time.perf_counter()
        e_np = np.array([numpy_gd_one(h.tensor, starts[i], step, a.iters) for i in range(m)])
        t_np_sub = time.perf_counter() - t0
    t_np = t_np_sub * a.starts / m
    scaled = f" (measured on {m} starts, scaled x{a.starts / m:.0f})" if m < a.starts else ""
    print(f"numpy einsum, per start:  {t_np:8.2f} s{scaled}")
    err = np.max(np.abs(e_np - e_nb[:m]) / np.maximum(1.0, np.abs(e_nb[:m])))
    print(f"  max relative energy difference on {m} common starts: {err:.2e}")
    assert err < 1e-10, err
    print(f"  speed-up numba / per-start numpy: {t_np / t_nb:.1f}x (target >= 10x)")

    if not a.no_batched:
        with single_thread_blas():
            t0 = time.perf_counter()
            e_b = numpy_gd_batched(h.tensor, starts, step, a.iters)
            t_b = time.perf_counter() - t0
        errb = np.max(np.abs(e_b - e_nb) / np.maximum(1.0, np.abs(e_nb)))
        print(f"numpy batched (1 BLAS thread): {t_b:8.2f} s, max rel. energy difference "
              f"{errb:.2e}, speed-up numba / batched numpy: {t_b / t_nb:.1f}x")
        assert errb < 1e-10, errb


if __name__ == "__main__":
    main()
