"""Benchmark: Jacobian spectrum of a deep network, library vs competent numpy, same process.

    python benchmarks/bench_rmt.py [--points 1000] [--depth 32] [--width 1000] [--rounds 3]

1. Density of J J^T on ``--points`` points at depth L for tanh with orthogonal weights on
   the critical line (sigma_b^2 = 0.01), ``jacobian_density`` (compiled Stieltjes sums,
   vectorised continuation) against a *vectorised numpy* solve of the same equation for
   all points at once (the same continuation heights and trust region, G and G' of the
   D^2 law as one complex matrix product per Newton step, converged points dropped).
   Timed alternating, best of ``--rounds`` each; numpy runs both with one BLAS thread and
   with BLAS's own thread count and the ratio takes the faster (on a loaded machine
   OpenBLAS's threads can be far slower), the library with Numba's default threads.
   Target: under 1 s.  The two must agree to
   1e-8; so must the extra line, the textbook point-by-point scalar loop (100 points timed,
   scaled).
2. Monte Carlo: eigenvalues of J J^T of one network of width N and depth L,
   ``sample_jacobian_singular_values`` (J <- diag(phi') (W J), row scaling, SVD of J, BLAS
   on one thread) against the same numpy chain written out by hand with BLAS on one
   thread as well (same seed, so the same network: the spectra must agree to 1e-8),
   alternating, best of ``--mc-rounds``.  Extra line: the textbook chain (J <- D @ W @ J
   with D = np.diag(phi'), then eigvalsh(J J^T)); with ``--blas-threads`` also the numpy
   chain with BLAS's own thread count (166 s against 10.5 s with one thread on the loaded
   2-core machine, load average 5-6: why the library pins BLAS to one thread).

Prints times and ratios (numpy time / library time: > 1 means the library is faster);
timings move with machine load (2 shared cores here).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings

import numba
import numpy as np

import deeptheory.meanfield as mf
from deeptheory import rmt
from deeptheory.kernels import get_activation
from deeptheory.kernels.montecarlo import single_thread_blas
from deeptheory.rmt.spectrum import _law


def baseline_density(x: np.ndarray, sw2: float, sb2: float, L: int) -> np.ndarray:
    """Point-by-point scalar solve of L log w - (L - 1) log((1+m)/m) + L log sigma_w^2
    = log z, m = M_{D^2}(w), with the same continuation heights as the library."""
    law = _law(sw2, sb2, L, "tanh", "orthogonal")
    d, p = law.d2.nodes, law.d2.weights
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, "tanh", "orthogonal")
    m1 = (sw2 * law.d2.mean) ** L
    out = np.empty(x.size)
    for i, xv in enumerate(x):
        h_end = 1e-8 * min(xv, lam)
        y = 4.0 * (lam + xv) + 1.0 + h_end
        heights = []
        while y * 0.25 > h_end:
            heights.append(y)
            y *= 0.25
        heights.append(h_end)
        z = xv + 1j * heights[0]
        w = law.d2.mean * z / m1 + law.d2.moments[2] / law.d2.mean
        for k, y in enumerate(heights):
            z = xv + 1j * y
            for _ in range(80 if k == len(heights) - 1 else 5):
                r = 1.0 / (w - d)
                g = np.sum(p * r)
                dg = -np.sum(p * r * r)
                m = w * g - 1.0
                dm = g + w * dg
                f = L * np.log(w) - (L - 1) * (np.log1p(m) - np.log(m)) + L * math.log(sw2)
                f -= np.log(z)
                f = f.real + 1j * np.angle(np.exp(1j * f.imag))
                df = L / w - (L - 1) * (1 / (1 + m) - 1 / m) * dm
                step = f / df
                cap = 0.5 * abs(w.imag) + 1e-3 * abs(w)
                if abs(step) > cap:
                    step *= cap / abs(step)
                w = w - step
                if abs(step) < 1e-14 * abs(w):
                    break
        g = law.d2.G_dG(np.array([w]))[0][0]
        m = w * g - 1.0
        out[i] = max(-((1.0 + m) / z).imag / math.pi, 0.0)
    return out


def numpy_density(x: np.ndarray, sw2: float, sb2: float, L: int) -> np.ndarray:
    """Vectorised numpy: the same equation and continuation as the library for all points
    at once, G(w) = sum_k p_k/(w - d_k) and G' as complex matrix products."""
    law = _law(sw2, sb2, L, "tanh", "orthogonal")
    d, p = law.d2.nodes, law.d2.weights.astype(complex)
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, "tanh", "orthogonal")
    m1 = (sw2 * law.d2.mean) ** L
    h_end = 1e-8 * np.minimum(x, lam)
    ys = [4.0 * (lam + float(x.max())) + 1.0]
    while ys[-1] * 0.25 > h_end.min():
        ys.append(ys[-1] * 0.25)
    heights = [np.maximum(y, h_end) for y in ys] + [h_end]
    z = x + 1j * heights[0]
    w = law.d2.mean * z / m1 + law.d2.moments[2] / law.d2.mean
    lsw = L * math.log(sw2)
    for k, y in enumerate(heights):
        z = x + 1j * y
        act = np.arange(x.size)
        for _ in range(80 if k == len(heights) - 1 else 5):
            wa = w[act]
            r = 1.0 / (wa[:, None] - d[None, :])
            g = r @ p
            dg = -((r * r) @ p)
            m = wa * g - 1.0
            dm = g + wa * dg
            f = L * np.log(wa) - (L - 1) * (np.log1p(m) - np.log(m)) + lsw - np.log(z[act])
            f = f.real + 1j * np.angle(np.exp(1j * f.imag))
            df = L / wa - (L - 1) * (1.0 / (1.0 + m) - 1.0 / m) * dm
            step = f / df
            cap = 0.5 * np.abs(wa.imag) + 1e-3 * np.abs(wa)
            big = np.abs(step) > cap
            step[big] *= cap[big] / np.abs(step[big])
            w[act] = wa - step
            act = act[np.abs(step) >= 1e-14 * np.abs(w[act])]
            if not act.size:
                break
    g = (1.0 / (w[:, None] - d[None, :])) @ p
    m = w * g - 1.0
    return np.maximum(-((1.0 + m) / z).imag / math.pi, 0.0)


def numpy_mc(sw2: float, sb2: float, L: int, n: int, q: float, seed: int) -> np.ndarray:
    """Competent numpy: the draws of the library in the same order (so the same network),
    J <- phi'(h)[:, None] * (W @ J), squared singular values of J."""
    rng = np.random.default_rng(seed)
    h0 = rng.standard_normal(n)
    h0 *= math.sqrt(q * n / float(h0 @ h0))
    x = np.tanh(h0)
    jac = np.eye(n)
    sw, sb = math.sqrt(sw2), math.sqrt(sb2)
    for _ in range(L):
        qm, r = np.linalg.qr(rng.standard_normal((n, n)))
        w = qm * (sw * np.where(np.diag(r) < 0.0, -1.0, 1.0))
        h = w @ x + sb * rng.standard_normal(n)
        t = np.tanh(h)
        jac = (1.0 - t * t)[:, None] * (w @ jac)
        x = t
    return np.linalg.svd(jac, compute_uv=False) ** 2


def _alternate(calls: dict, rounds: int) -> tuple[dict, dict]:
    """Best time of each call over ``rounds`` rounds, alternating (order swapped each round);
    returns (best times, last values)."""
    best = {k: math.inf for k in calls}
    vals = {}
    for r in range(rounds):
        for k in (list(calls) if r % 2 == 0 else list(calls)[::-1]):
            t = time.perf_counter()
            vals[k] = calls[k]()
            best[k] = min(best[k], time.perf_counter() - t)
    return best, vals


def baseline_mc(sw2: float, sb2: float, L: int, n: int, q: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    act = get_activation("tanh")
    h0 = rng.standard_normal(n)
    h0 *= math.sqrt(q * n / float(h0 @ h0))
    x = np.tanh(h0)
    jac = np.eye(n)
    sw = math.sqrt(sw2)
    for _ in range(L):
        qm, r = np.linalg.qr(rng.standard_normal((n, n)))
        w = sw * qm * np.sign(np.diag(r))
        h = w @ x + math.sqrt(sb2) * rng.standard_normal(n)
        jac = np.diag(np.asarray(act(h, 1))) @ w @ jac
        x = np.tanh(h)
    return np.linalg.eigvalsh(jac @ jac.T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="timed density calls per side")
    ap.add_argument("--mc-rounds", type=int, default=2, help="timed networks per side")
    ap.add_argument("--blas-threads", action="store_true",
                    help="also time the Monte Carlo numpy chain with BLAS's own threads")
    ap.add_argument("--baseline-points", type=int, default=100,
                    help="points the slow textbook loop solves (its time is scaled up)")
    args = ap.parse_args()
    # state the machine and its load: the times below mean little without them
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (other work running inflates the times); "
          f"Numba threads {numba.get_num_threads()}")
    sb2 = 0.01
    sw2 = float(mf.critical_line(sb2, "tanh"))
    L = args.depth
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, "tanh", "orthogonal")
    x = lam * np.geomspace(1e-6, 0.999, args.points)
    warnings.simplefilter("ignore", RuntimeWarning)
    rmt.jacobian_density(x[:5], sw2, sb2, L, "tanh", "orthogonal")  # JIT warm-up
    def numpy_density_one_thread():
        with single_thread_blas():
            return numpy_density(x, sw2, sb2, L)

    best, vals = _alternate({
        "lib": lambda: np.asarray(
            rmt.jacobian_density(x, sw2, sb2, L, "tanh", "orthogonal").density),
        "numpy1": numpy_density_one_thread,
        "numpy": lambda: numpy_density(x, sw2, sb2, L),
    }, args.rounds)
    dens = vals["lib"]
    err_np = max(float(np.max(np.abs(vals[k] - dens) / np.maximum(dens, 1e-300)))
                 for k in ("numpy1", "numpy"))
    t_np = min(best["numpy1"], best["numpy"])
    sub = np.linspace(0, x.size - 1, min(args.baseline_points, x.size)).astype(int)
    t = time.perf_counter()
    base = baseline_density(x[sub], sw2, sb2, L)
    t_base = (time.perf_counter() - t) * x.size / sub.size
    err = float(np.max(np.abs(base - dens[sub]) / np.maximum(dens[sub], 1e-300)))
    print(f"density of J J^T, tanh orthogonal, L = {L}, {x.size} points "
          f"(sigma_w2 = {sw2:.6g}, sigma_b2 = {sb2}); best of {args.rounds}, alternating")
    print(f"  library          {best['lib']:8.3f} s   (target < 1 s: "
          f"{'met' if best['lib'] < 1.0 else 'MISSED'})")
    print(f"  numpy vectorised {t_np:8.3f} s   (all points at once, G by matrix products; "
          f"{best['numpy1']:.3f} s with 1 BLAS thread, {best['numpy']:.3f} s with BLAS's own)")
    print(f"  ratio            {t_np / best['lib']:8.2f} x   max relative difference "
          f"{err_np:.2e}{'' if err_np < 1e-8 else '  DISAGREE'}")
    print(f"  extra: textbook scalar loop {t_base:.3f} s ({sub.size} points timed, scaled to "
          f"{x.size}; {t_base / best['lib']:.1f} x the library), max relative difference "
          f"{err:.2e}{'' if err < 1e-8 else '  DISAGREE'}")

    n = args.width
    q = float(mf.q_star(sw2, sb2, "tanh"))
    rmt.sample_jacobian_singular_values(sw2, sb2, 2, "tanh", width=50, weights="orthogonal")

    def numpy_one_thread():
        with single_thread_blas():
            return numpy_mc(sw2, sb2, L, n, q, seed=0)

    best, vals = _alternate({
        "lib": lambda: rmt.sample_jacobian_singular_values(
            sw2, sb2, L, "tanh", width=n, weights="orthogonal", n_trials=1, seed=0).ravel(),
        "numpy": numpy_one_thread,
    }, args.mc_rounds)
    ev = vals["lib"]
    err_mc = float(np.max(np.abs(np.sort(vals["numpy"]) - np.sort(ev))) / ev.max())
    extra = ""
    if args.blas_threads:
        t = time.perf_counter()
        numpy_mc(sw2, sb2, L, n, q, seed=0)
        extra = f"numpy with BLAS's own threads {time.perf_counter() - t:.3f} s; "
    with single_thread_blas():
        t = time.perf_counter()
        ev_base = baseline_mc(sw2, sb2, L, n, q, seed=0)
        t_mc_base = time.perf_counter() - t
    print(f"Monte Carlo: one network, width {n}, depth {L}, orthogonal tanh; best of "
          f"{args.mc_rounds}, alternating")
    print(f"  library          {best['lib']:8.3f} s   (row scaling, SVD of J, 1 BLAS thread)")
    print(f"  numpy            {best['numpy']:8.3f} s   (the same chain by hand, 1 BLAS thread)")
    print(f"  ratio            {best['numpy'] / best['lib']:8.2f} x   max difference of the "
          f"spectra / top {err_mc:.1e}{'' if err_mc < 1e-8 else '  DISAGREE'}")
    print(f"  extra: {extra}textbook chain "
          f"(np.diag(phi') @ W @ J, eigvalsh(J J^T), 1 BLAS thread) {t_mc_base:.3f} s, "
          f"mean eigenvalue {ev_base.mean():.4f} vs {ev.mean():.4f} (theory m1 = 1)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
