"""Benchmark: Jacobian spectrum of a deep network, library vs plain numpy, same process.

    python benchmarks/bench_rmt.py [--points 1000] [--depth 32] [--width 1000]

1. Density of J J^T on ``--points`` points at depth L for tanh with orthogonal weights on
   the critical line (sigma_b^2 = 0.01), ``jacobian_density`` (compiled Stieltjes sums,
   vectorised continuation) against a plain numpy loop that solves the same equation
   point by point (scalar Newton with the same vertical continuation, D^2 law summed with
   numpy).  Target: under 1 s.  The two must agree to 1e-8.
2. Monte Carlo: eigenvalues of J J^T of one network of width N and depth L,
   ``sample_jacobian_singular_values`` (J <- diag(phi') (W J), row scaling, SVD of J)
   against the textbook numpy chain (J <- D @ W @ J with D = np.diag(phi'), then
   eigvalsh(J J^T)).  Target: no slower than the numpy matmul chain.

Prints times and ratios; timings move with machine load (2 shared cores here).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings

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
    ap.add_argument("--baseline-points", type=int, default=100,
                    help="points the slow baseline solves (its time is scaled up)")
    args = ap.parse_args()
    # state the machine and its load: the times below mean little without them
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (other work running inflates the times)")
    sb2 = 0.01
    sw2 = float(mf.critical_line(sb2, "tanh"))
    L = args.depth
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, "tanh", "orthogonal")
    x = lam * np.geomspace(1e-6, 0.999, args.points)
    warnings.simplefilter("ignore", RuntimeWarning)
    rmt.jacobian_density(x[:5], sw2, sb2, L, "tanh", "orthogonal")  # JIT warm-up
    t = time.perf_counter()
    dens = np.asarray(rmt.jacobian_density(x, sw2, sb2, L, "tanh", "orthogonal").density)
    t_lib = time.perf_counter() - t
    sub = np.linspace(0, x.size - 1, min(args.baseline_points, x.size)).astype(int)
    t = time.perf_counter()
    base = baseline_density(x[sub], sw2, sb2, L)
    t_base = (time.perf_counter() - t) * x.size / sub.size
    err = float(np.max(np.abs(base - dens[sub]) / np.maximum(dens[sub], 1e-300)))
    print(f"density of J J^T, tanh orthogonal, L = {L}, {x.size} points "
          f"(sigma_w2 = {sw2:.6g}, sigma_b2 = {sb2})")
    print(f"  library        {t_lib:8.3f} s   (target < 1 s)")
    print(f"  numpy loop     {t_base:8.3f} s   ({sub.size} points timed, scaled to {x.size})")
    print(f"  ratio          {t_base / t_lib:8.1f} x   max relative difference {err:.2e}")

    n = args.width
    q = float(mf.q_star(sw2, sb2, "tanh"))
    rmt.sample_jacobian_singular_values(sw2, sb2, 2, "tanh", width=50, weights="orthogonal")
    t = time.perf_counter()
    ev = rmt.sample_jacobian_singular_values(sw2, sb2, L, "tanh", width=n, weights="orthogonal",
                                             n_trials=1, seed=0).ravel()
    t_mc = time.perf_counter() - t
    with single_thread_blas():
        t = time.perf_counter()
        ev_base = baseline_mc(sw2, sb2, L, n, q, seed=0)
        t_mc_base = time.perf_counter() - t
    print(f"Monte Carlo: one network, width {n}, depth {L}, orthogonal tanh")
    print(f"  library        {t_mc:8.3f} s   (row scaling, SVD of J)")
    print(f"  numpy chain    {t_mc_base:8.3f} s   (np.diag(phi') @ W @ J, eigvalsh(J J^T))")
    print(f"  ratio          {t_mc_base / t_mc:8.2f} x   mean eigenvalue {ev.mean():.4f} vs "
          f"{ev_base.mean():.4f} (theory m1 = 1)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
