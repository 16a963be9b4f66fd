"""Benchmark: tanh mean-field phase diagram, deeptheory vs. vectorised numpy Gauss-Hermite.

The competent baseline is what a numerically literate user writes with numpy: a
Gauss-Hermite rule with 100 nodes (probabilists', ``scipy.special.roots_hermitenorm``),
Newton iterations vectorised over the whole grid,

* q*  : Newton on V(q) - q, V'(q) = sigma_w^2 E[phi'^2 + phi phi''], from q = sigma_w^2 + sigma_b^2;
* chi_1 = sigma_w^2 E[tanh'(sqrt(q*) z)^2];
* c*  : (chaotic points) Newton on C(c) - c from c = 0 (C is convex on [0, 1], so the
        iterates rise monotonically to the root), C and C' from the 100 x 100 product
        rule, 256 points per numpy block.

deeptheory runs ``phase_diagram`` (which also returns chi_c, xi_c, xi_q, chi_2 and the
critical line) at its default ``rtol=1e-10`` and at ``rtol=1e-6`` (the setting for plots).
Both run with the same threads (Numba's and BLAS's defaults), alternating, best of
``--repeat``.  Errors are measured on the whole grid against ``phase_diagram`` at order 16
and rtol 1e-13, itself checked against scipy ``quad``/``dblquad``/``brentq`` on a few points
(the slow textbook baseline, printed as an extra line).

    python benchmarks/bench_meanfield.py                 # 200 x 200 grid
    python benchmarks/bench_meanfield.py --grid 60       # quick check

Targets (issue 10): at rtol 1e-10 at least as fast as GH-100 with errors <= 1e-10 in q*,
chi_1 (relative) and c* (absolute); at rtol 1e-6 at least 3x faster than GH-100 with
errors below GH-100's.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import integrate, optimize
from scipy.special import roots_hermitenorm

import deeptheory.meanfield as mf

SQRT2PI = np.sqrt(2.0 * np.pi)


# ------------------------------------------------------------ competent baseline
def gh_phase(sw2: np.ndarray, sb2: np.ndarray, n: int = 100, tol: float = 1e-13,
             maxiter: int = 60, block: int = 256):
    """(q*, chi_1, c*) on the grid (rows sigma_b^2) with an n-node Gauss-Hermite rule."""
    z, w = roots_hermitenorm(n)
    w = w / w.sum()
    SW, SB = np.meshgrid(sw2, sb2)
    W, B = SW.ravel(), SB.ravel()
    q = np.zeros(W.size)
    idx = np.flatnonzero(~((B == 0) & (W <= 1)))  # else q* = 0 (tanh'(0) = 1)
    q[idx] = W[idx] + B[idx]
    for _ in range(maxiter):
        if idx.size == 0:
            break
        t = np.tanh(np.sqrt(q[idx])[:, None] * z)
        dt = 1.0 - t * t
        f = W[idx] * ((t * t) @ w) + B[idx] - q[idx]
        df = W[idx] * ((dt * dt - 2.0 * t * t * dt) @ w) - 1.0  # tanh'' = -2 t (1 - t^2)
        qn = np.maximum(q[idx] - f / df, 0.5 * q[idx])
        done = np.abs(qn - q[idx]) <= tol * qn
        q[idx] = qn
        idx = idx[~done]
    chi1 = W * (((1.0 - np.tanh(np.sqrt(q)[:, None] * z) ** 2) ** 2) @ w)
    c = np.ones(W.size)
    idx = np.flatnonzero(chi1 > 1.0)
    c[idx] = 0.0
    Z1, Z2 = z[:, None], z[None, :]
    W2 = (w[:, None] * w[None, :]).ravel()
    for _ in range(maxiter):
        if idx.size == 0:
            break
        cn = np.empty(idx.size)
        for k in range(0, idx.size, block):
            j = idx[k:k + block]
            s = np.sqrt(q[j])[:, None, None]
            cc = c[j][:, None, None]
            t1 = np.tanh(s * Z1)
            t2 = np.tanh(s * (cc * Z1 + np.sqrt(1.0 - cc * cc) * Z2))
            e = (t1 * t2).reshape(j.size, -1) @ W2
            d = ((1.0 - t1 * t1) * (1.0 - t2 * t2)).reshape(j.size, -1) @ W2
            cmap = (W[j] * e + B[j]) / q[j]
            cn[k:k + block] = np.clip(c[j] - (cmap - c[j]) / (W[j] * d - 1.0), -1.0, 1.0 - 1e-15)
        done = np.abs(cn - c[idx]) <= tol
        c[idx] = cn
        idx = idx[~done]
    return q.reshape(SW.shape), chi1.reshape(SW.shape), c.reshape(SW.shape)


# --------------------------------------------------------- textbook scipy check
def _pdf(z):
    return np.exp(-0.5 * z * z) / SQRT2PI


def scipy_point(sw2: float, sb2: float) -> tuple[float, float, float]:
    """(q*, chi_1, c*) for tanh at one point with quad / dblquad / brentq."""
    def e1(f, q):
        s = np.sqrt(q)
        return integrate.quad(lambda z: f(s * z) * _pdf(z), -np.inf, np.inf, epsabs=1e-13,
                              epsrel=1e-12)[0]

    def V(q):
        return sw2 * e1(lambda x: np.tanh(x) ** 2, q) + sb2

    if sb2 == 0.0 and sw2 <= 1.0:
        qs = 0.0
    else:
        qs = optimize.brentq(lambda q: V(q) - q, 0.0 if sb2 > 0 else 1e-10, sw2 + sb2 + 1.0,
                             xtol=1e-15, rtol=1e-13)
    chi1 = sw2 * e1(lambda x: (1.0 - np.tanh(x) ** 2) ** 2, qs) if qs > 0 else sw2
    if chi1 <= 1.0 or qs == 0.0:
        return qs, chi1, 1.0
    s = np.sqrt(qs)

    def g(c):
        r = np.sqrt(max(1.0 - c * c, 0.0))

        def f(z2, z1):
            return np.tanh(s * z1) * np.tanh(s * (c * z1 + r * z2)) * _pdf(z1) * _pdf(z2)

        e2 = integrate.dblquad(f, -np.inf, np.inf, -np.inf, np.inf, epsabs=1e-11,
                               epsrel=1e-11)[0]
        return (sw2 * e2 + sb2) / qs - c

    d = 0.1
    while g(1.0 - d) >= 0.0 and d > 1e-8:
        d *= 0.1
    return qs, chi1, optimize.brentq(g, 0.0, 1.0 - d, xtol=1e-13, rtol=1e-12)


#: a point is well conditioned when |V'(q*) - 1| and |chi_c - 1| exceed this: there a
#: relative error delta of the integrals moves q* and c* by about delta / |slope - 1|
COND = 1e-3


def _errors(q, chi1, c, ref, mask) -> tuple[float, float, float]:
    def rel(a, b):
        m = mask & np.isfinite(b) & (b != 0)
        return float(np.max(np.abs(a[m] - b[m]) / np.abs(b[m])))

    return (rel(q, ref.q_star), rel(chi1, ref.chi1),
            float(np.max(np.abs(c - ref.c_star)[mask])))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", type=int, default=200, help="N for the N x N grid (default 200)")
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs, best kept")
    ap.add_argument("--scipy-points", type=int, default=4,
                    help="points checked against scipy quad/dblquad (default 4; 0 skips)")
    args = ap.parse_args(argv)

    n = args.grid
    sw2 = np.linspace(0.05, 4.0, n)
    sb2 = np.linspace(0.0, 2.0, n)
    warnings.simplefilter("ignore", RuntimeWarning)
    for rt in (1e-10, 1e-6):  # JIT / cache warm-up, not timed
        mf.phase_diagram(sw2[:3], sb2[:3], "tanh", rtol=rt)
    gh_phase(sw2[:3], sb2[:3])

    runs = {"deeptheory rtol=1e-10": lambda: mf.phase_diagram(sw2, sb2, "tanh", rtol=1e-10),
            "numpy GH-100": lambda: gh_phase(sw2, sb2),
            "deeptheory rtol=1e-6": lambda: mf.phase_diagram(sw2, sb2, "tanh", rtol=1e-6)}
    best = {k: np.inf for k in runs}
    out = {}
    for _ in range(args.repeat):
        for name, f in runs.items():
            t0 = time.perf_counter()
            out[name] = f()
            best[name] = min(best[name], time.perf_counter() - t0)

    t0 = time.perf_counter()
    ref = mf.phase_diagram(sw2, sb2, "tanh", order=16, rtol=1e-13)
    t_ref = time.perf_counter() - t0
    with np.errstate(divide="ignore"):
        vslope = np.exp(-1.0 / ref.xi_q)  # V'(q*)
    good = (np.abs(vslope - 1.0) > COND) & (np.abs(ref.chi_c - 1.0) > COND)
    res, res_all = {}, {}
    for name, r in out.items():
        vals = r if name.startswith("numpy") else (r.q_star, r.chi1, r.c_star)
        res[name] = _errors(*vals, ref, good)
        res_all[name] = _errors(*vals, ref, np.ones_like(good))
    frac = float(ref.chaotic.mean())
    print(f"tanh phase diagram, {n} x {n} grid (sigma_w2 in [0.05, 4], sigma_b2 in [0, 2]; "
          f"{100 * frac:.0f}% chaotic), best of {args.repeat} alternating runs")
    print(f"  {'':24} {'time/s':>8} {'ratio':>7} {'err q*':>9} {'err chi1':>9} {'err c*':>9}"
          f"   {'all points: q*':>14} {'chi1':>8} {'c*':>8}")
    tb = best["numpy GH-100"]
    for name in runs:
        e, a = res[name], res_all[name]
        print(f"  {name:24} {best[name]:8.2f} {tb / best[name]:7.2f} {e[0]:9.1e} {e[1]:9.1e} "
              f"{e[2]:9.1e}   {a[0]:14.1e} {a[1]:8.1e} {a[2]:8.1e}")
    print(f"  ratio = GH-100 time / this time.  Errors against order 16, rtol 1e-13 "
          f"({t_ref:.1f} s): q*, chi_1 relative, c* absolute, on the {good.sum()} of "
          f"{good.size} points with "
          f"|V'(q*) - 1| and |chi_c - 1| > {COND:g}, then on all points (next to the "
          "critical line the conditioning, not the method, sets the error)")
    e10, e6, egh = res["deeptheory rtol=1e-10"], res["deeptheory rtol=1e-6"], res["numpy GH-100"]
    ok1 = best["deeptheory rtol=1e-10"] <= tb and max(e10) <= 1e-10
    ok2 = tb / best["deeptheory rtol=1e-6"] >= 3.0 and all(a < b for a, b in zip(e6, egh,
                                                                               strict=True))
    print(f"target rtol=1e-10: >= GH-100 speed, errors <= 1e-10 -> "
          f"{'MET' if ok1 else 'MISSED'}")
    print(f"target rtol=1e-6 : >= 3x GH-100, errors below GH-100's -> {'MET' if ok2 else 'MISSED'}")

    if args.scipy_points:
        rng = np.random.default_rng(0)
        picks = []  # half in each phase
        for mask, k in ((ref.chaotic, args.scipy_points // 2),
                        (~ref.chaotic, args.scipy_points - args.scipy_points // 2)):
            idx = np.flatnonzero(mask)
            picks += list(rng.choice(idx, size=min(k, idx.size), replace=False))
        ii, jj = np.unravel_index(np.array(picks, dtype=int), ref.chaotic.shape)
        t0 = time.perf_counter()
        worst = 0.0
        for i, j in zip(ii, jj, strict=True):
            qs, c1, cs = scipy_point(float(sw2[j]), float(sb2[i]))
            worst = max(worst, abs(qs - ref.q_star[i, j]) / max(qs, 1e-300),
                        abs(c1 - ref.chi1[i, j]) / c1, abs(cs - ref.c_star[i, j]))
        per = (time.perf_counter() - t0) / len(picks)
        print(f"extra: scipy quad/dblquad/brentq, {per:.2f} s per point (half of them chaotic); "
              f"its largest difference from the reference on {len(picks)} points: {worst:.1e}")


if __name__ == "__main__":
    main()
