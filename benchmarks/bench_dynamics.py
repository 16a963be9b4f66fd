"""Benchmarks of deeptheory.dynamics, library vs competent baselines in the same process.

    python benchmarks/bench_dynamics.py [--part lyapunov|ode|ot|diffusion|all]
                                        [--width 500] [--steps 10000] [--qr-every 10]
                                        [--gain 2] [--k-small 10] [--rounds 1]
                                        [--ode-points 10000] [--ot-points 2000]
                                        [--diffusion-points 100000]

Part "ode" (issue 13): 10^4 points in d = 2 through a width-64 tanh field
f(z, t) = W2 phi(W1 z + b1) + b2 (constant weights, and weights at 5 time nodes), from
t = 0 to 1, ``odeint_batch`` (compiled Dormand-Prince 5(4), per-point step control,
serial and on the thread pool) against ``scipy.integrate.solve_ivp`` (RK45, the same
rtol = 1e-8 and atol = 1e-10) on the flattened batched system with a competent vectorised
numpy right-hand side (two BLAS products and ``np.tanh`` in place, constant weights
hoisted; timed with BLAS at one thread and at its default, the faster kept).  Target >= 10x.
Prints the step counts of both (accepted / rejected steps, evaluations, tanh evaluations;
both take 6 evaluations = 6 x 64 tanh per step attempt), the cost per tanh unit, and the
error at t = 1 of both against a tight reference (our dopri5 at rtol 1e-12 on every point,
itself checked against scipy's DOP853 at rtol 1e-13 on a subset), plus the library at a
10x tighter tolerance (accuracy at least solve_ivp's) so the ratio can be read at matched
accuracy.  solve_ivp's batch-wide RMS error norm gives every point the steps the batch
average needs, so easy points are over-resolved and hard ones under-resolved; per-point
control takes fewer evaluations in all (the "units per point" factor).

Part "ot" (issue 13): exact OT between two seeded 2-D Gaussian clouds of ``--ot-points``
points each: ``dynamics.ot_assignment`` (POT's network simplex when installed, else
``scipy.optimize.linear_sum_assignment``) against ``linear_sum_assignment`` and POT's
``ot.emd`` called directly, cost matrix included in every time; prints the optimal costs
to show that they agree.

Part "diffusion" (issue 14): ``--diffusion-points`` (10^5) samples of a 2-D, 8-component
Gaussian mixture by the probability-flow ODE of the VP SDE (Song et al. 2021; beta 0.1 to 20,
T = 1, down to t0 = 1e-3) with the exact score, 100 steps of RK4 and of Euler, from the same
exact draws of p_T: ``dynamics.diffusion.probability_flow_sample`` (the shared compiled
steppers, serial and on the thread pool) against two vectorised NumPy implementations of
the same scheme in the same run: "einsum" (the K x n x d arrays a NumPy user writes first)
and "in place" (coordinate-wise (K, n) arrays, preallocated buffers, ufuncs with ``out=``;
the fastest we found).  Both NumPy versions build the per-stage constants (precisions, log
determinants) once per stage, as the library does through its table of stage times.
Target >= 3x against the faster NumPy.  Prints the maximum difference of the samples.

Part "lyapunov" (issue 12):
The system is h_{t+1} = W tanh(h_t), W ~ N(0, g^2 / N), one network for every contender
(same W, same initial state and frame), full spectrum (k = N), ``--steps`` steps with a QR
every ``--qr-every`` steps and no transient.  Timed in the same process:

1. library: ``dynamics.lyapunov_spectrum`` (compiled loop: one BLAS product moves the state
   and the frame together, LAPACK QR through Numba);
2. numpy: the competent loop ``a = tanh(h); Q = W @ ((1 - a*a)[:, None] * Q); h = W @ a``
   with ``numpy.linalg.qr`` every ``--qr-every`` steps and ln|diag R| accumulated;
3. floors: the ``steps / qr_every`` QR factorisations alone (``numpy.linalg.qr`` of an N x N
   matrix, and ``scipy.linalg.qr(mode="economic")``), and the ``steps`` matrix products
   alone (``W @ Q``), which no implementation of the method can avoid.

Each is timed with BLAS held at one thread and with BLAS's default thread count (on a
loaded 2-core machine OpenBLAS's threads can be many times slower); ratios take the faster
time of each contender.

Targets (issue 12): library >= 3x faster than numpy, and library time <= 2x the QR floor.
Both need the per-step products to cost less than the QRs; with N x N frames they cost
qr_every * 2 N^3 flops per QR (20 N^3 for qr_every = 10) against about 8/3 N^3 for the QR,
so the printed floors show how far any implementation can get.  A second line runs the
leading ``--k-small`` exponents only (frame N x k), where the per-step overheads dominate.

Prints times and ratios (numpy time / library time: > 1 means the library is faster); the
machine has 2 shared cores, so timings move with load.  The two runs start from the same
state and frame, but in a chaotic network rounding differences grow like e^{lambda_1 t},
so the trajectories decorrelate after about 36 / lambda_1 steps and the exponents agree
only statistically: the largest |difference| / (library stderr) is printed, over the
exponents above the frame's rounding limit (the lowest ones, lost to rounding when the
spread of ln|R_ii| per interval exceeds ~36 nats, differ between any two implementations).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import time
import warnings

import numba
import numpy as np
import scipy.linalg

from deeptheory import dynamics as dyn
from deeptheory.kernels.montecarlo import single_thread_blas


def numpy_spectrum(w, h0, q0, steps, qr_every):
    """The competent numpy loop (full or leading-k frame)."""
    h = h0.copy()
    q = q0.copy()
    acc = np.zeros(q.shape[1])
    for s in range(steps):
        a = np.tanh(h)
        q = w @ ((1.0 - a * a)[:, None] * q)
        h = w @ a
        if (s + 1) % qr_every == 0 or s == steps - 1:
            q, r = np.linalg.qr(q)
            acc += np.log(np.abs(np.diag(r)))
    return acc / steps


def library_spectrum(net, h0, k, steps, qr_every, blas="one"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dyn.lyapunov_spectrum(net, n_steps=steps, k=k, qr_every=qr_every, transient=0,
                                     x0=h0, seed=0, on_fail="ignore", blas_threads=blas)


def numpy_one_thread(*args):
    with single_thread_blas():
        return numpy_spectrum(*args)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def qr_floor(n, k, count, rng):
    a = rng.standard_normal((n, k))
    t_np = timed(lambda: [np.linalg.qr(a) for _ in range(count)])[0]
    t_sp = timed(lambda: [scipy.linalg.qr(a, mode="economic", check_finite=False)
                          for _ in range(count)])[0]
    return t_np, t_sp


def gemm_floor(w, k, steps, rng):
    q = rng.standard_normal((w.shape[0], k + 1))
    return timed(lambda: [w @ q for _ in range(steps)])[0]


def run(n, k, steps, qr_every, gain, rounds, seed=0):
    rng = np.random.default_rng(seed)
    net = dyn.random_rnn(n, gain, seed=seed)
    h0 = np.random.default_rng(seed).standard_normal(n)
    # the library's frame for x0 given: QR of default_rng(seed).standard_normal((n, k))
    q0 = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, k)))[0]
    library_spectrum(net, h0, k, 2 * qr_every, qr_every)  # compile outside the timing
    t = {key: math.inf for key in ("lib1", "libT", "np1", "npT")}
    w = np.asarray(net.w)
    for _ in range(rounds):
        for key, fn, args in (("lib1", library_spectrum, (net, h0, k, steps, qr_every, "one")),
                              ("libT", library_spectrum,
                               (net, h0, k, steps, qr_every, "default")),
                              ("np1", numpy_one_thread, (w, h0, q0, steps, qr_every)),
                              ("npT", numpy_spectrum, (w, h0, q0, steps, qr_every))):
            dt, out = timed(fn, *args)
            t[key] = min(t[key], dt)
            if key == "lib1":
                res = out
            elif key == "np1":
                ref = out
    best_lib, best_np = min(t["lib1"], t["libT"]), min(t["np1"], t["npT"])
    with single_thread_blas():
        q1 = qr_floor(n, k, -(-steps // qr_every), rng)
        g1 = gemm_floor(w, k, steps, rng)
    qT = qr_floor(n, k, -(-steps // qr_every), rng)
    gT = gemm_floor(w, k, steps, rng)
    t_qr = min(q1[0], qT[0])
    ok = res.exponents > res.exponents[0] - 30.0 / qr_every  # above the rounding limit
    err = float(np.max(np.abs(res.exponents[ok] - ref[ok])))
    zmax = float(np.max(np.abs(res.exponents[ok] - ref[ok]) / res.stderr[ok]))
    print(f"N = {n}, k = {k}, {steps} steps, QR every {qr_every}, g = {gain} "
          "(times: BLAS 1 thread / BLAS default threads)")
    print(f"  library           {t['lib1']:8.2f} / {t['libT']:8.2f} s   lambda_1 = "
          f"{res.exponents[0]:.6f}, span {res.span:.1f} nats")
    print(f"  numpy loop        {t['np1']:8.2f} / {t['npT']:8.2f} s   ratio numpy / library "
          f"(best of each) = {best_np / best_lib:.2f}x (target >= 3x)")
    print(f"  QR floor (numpy)  {q1[0]:8.2f} / {qT[0]:8.2f} s   library / QR floor (best of "
          f"each) = {best_lib / t_qr:.2f}x (target <= 2x)")
    print(f"  QR floor (scipy economic, no checks) {q1[1]:6.2f} / {qT[1]:6.2f} s")
    print(f"  matmul floor      {g1:8.2f} / {gT:8.2f} s   ({steps} products W @ Q, N x (k + 1))")
    print(f"  max |library - numpy| over {int(ok.sum())} exponents above the rounding limit: "
          f"{err:.2e} ({zmax:.1f} library standard errors)")


def numpy_rhs(f, n: int, d: int):
    """The competent vectorised right-hand side of the flattened n*d system for solve_ivp:
    two BLAS products, numpy's tanh in place, weights hoisted when they are constant."""
    const = f.weights_at(0.0) if f.n_nodes == 1 else None

    def rhs(t, y):
        w1, b1, w2, b2 = const if const is not None else f.weights_at(t)
        a = y.reshape(-1, d) @ w1.T
        a += b1
        np.tanh(a, out=a)
        out = a @ w2.T
        out += b2
        return out.ravel()

    return rhs


def ode_benchmark(n: int, d: int = 2, hidden: int = 64, t_end: float = 1.0,
                  rtol: float = 1e-8, atol: float = 1e-10, rounds: int = 1,
                  n_check: int = 300) -> None:
    from scipy.integrate import solve_ivp

    from deeptheory.kernels._threads import forced

    for n_nodes in (1, 5):
        f = dyn.random_mlp_field(d, hidden, sigma_w2=1.0, sigma_b2=0.1, n_nodes=n_nodes,
                                 t_max=t_end, seed=0)
        x0 = np.random.default_rng(1).standard_normal((n, d))
        for mode in ("serial", "parallel"):  # compile both drivers outside the timing
            with forced(mode):
                dyn.odeint_batch(f, x0[:10], [0.0, t_end], rtol=rtol, atol=atol)
        rhs = numpy_rhs(f, n, d)
        t = {"serial": math.inf, "parallel": math.inf, "scipy": math.inf}
        for _ in range(rounds):
            for mode in ("serial", "parallel"):
                with forced(mode):
                    dt, r = timed(dyn.odeint_batch, f, x0, [0.0, t_end], rtol=rtol, atol=atol)
                t[mode] = min(t[mode], dt)
            for blas in ("one", "default"):  # OpenBLAS threads can be slow on a busy machine
                with single_thread_blas() if blas == "one" else contextlib.nullcontext():
                    dt, sol = timed(solve_ivp, rhs, (0.0, t_end), x0.ravel(), method="RK45",
                                    rtol=rtol, atol=atol)
                t["scipy"] = min(t["scipy"], dt)
        end_sp = sol.y[:, -1].reshape(n, d)
        # references: our dopri5 at rtol 1e-12 on every point, checked against scipy's
        # DOP853 at rtol 1e-13 (batch RMS norm) on a subset
        ref = dyn.odeint_batch(f, x0, [0.0, t_end], rtol=1e-12, atol=1e-14).states[-1]
        sub = np.random.default_rng(2).choice(n, size=min(n_check, n), replace=False)
        dop = solve_ivp(numpy_rhs(f, sub.size, d), (0.0, t_end), x0[sub].ravel(),
                        method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1].reshape(-1, d)
        e_lib = np.abs(r.states[-1] - ref).max(axis=1)
        e_sp = np.abs(end_sp - ref).max(axis=1)
        # solve_ivp's RK45: 2 evaluations to start (f(t0), the initial-step probe), then 6
        # per step attempt (FSAL), as for the library
        sp_acc = sol.t.size - 1
        sp_att = (sol.nfev - 2) / 6
        best = min(t["serial"], t["parallel"])
        units_lib = n * r.n_fev.mean() * hidden
        units_sp = n * sol.nfev * hidden
        print(f"ODE flow, {n} points, d = {d}, width {hidden}, tanh, {n_nodes} weight node(s), "
              f"t in [0, {t_end:g}], rtol {rtol:g}, atol {atol:g}")
        print(f"  odeint_batch (dopri5, per point) serial {t['serial']:.3f} s, parallel "
              f"{t['parallel']:.3f} s   ({1e9 * t['serial'] / units_lib:.1f} ns per tanh unit "
              "serial)")
        print(f"  solve_ivp RK45 (batch, numpy RHS)  {t['scipy']:.3f} s   "
              f"({1e9 * t['scipy'] / units_sp:.1f} ns per tanh unit)")
        print(f"  ratio solve_ivp / library (best) = {t['scipy'] / best:.1f}x (target >= 10x); "
              f"per tanh unit {t['scipy'] / units_sp / (best / units_lib):.1f}x, "
              f"units per point {units_sp / units_lib:.2f}x")
        print(f"  steps per point: library accepted {r.n_steps_taken.mean():.1f} mean "
              f"({r.n_steps_taken.min()}-{r.n_steps_taken.max()}), rejected "
              f"{r.n_rejected.mean():.2f}, {r.n_fev.mean():.1f} evaluations = "
              f"{r.n_fev.mean() * hidden:.0f} tanh; solve_ivp accepted {sp_acc}, rejected "
              f"{sp_att - sp_acc:g}, {sol.nfev} evaluations = {sol.nfev * hidden} tanh")
        # the library at a 10x tighter tolerance: accuracy at least that of solve_ivp
        rt2 = rtol / 10
        t2 = math.inf
        for _ in range(rounds):
            with forced("parallel"):
                dt, r2 = timed(dyn.odeint_batch, f, x0, [0.0, t_end], rtol=rt2, atol=atol / 10)
            t2 = min(t2, dt)
        e_lib2 = np.abs(r2.states[-1] - ref).max(axis=1)
        print(f"  library at rtol {rt2:g}, atol {atol / 10:g} (parallel): {t2:.3f} s, "
              f"{r2.n_fev.mean():.1f} evaluations per point, error max {e_lib2.max():.1e} / "
              f"median {np.median(e_lib2):.1e}; ratio solve_ivp (rtol {rtol:g}) / this = "
              f"{t['scipy'] / t2:.1f}x")
        print(f"  error at t = {t_end:g} vs dopri5 rtol 1e-12 (all points; it differs from "
              f"DOP853 rtol 1e-13 by {np.abs(ref[sub] - dop).max():.1e} on {sub.size}): "
              f"library max {e_lib.max():.1e} / median {np.median(e_lib):.1e}, solve_ivp max "
              f"{e_sp.max():.1e} / median {np.median(e_sp):.1e}; |library - solve_ivp| max "
              f"{np.abs(r.states[-1] - end_sp).max():.1e}")


def ot_benchmark(n: int, d: int = 2, rounds: int = 1) -> None:
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    try:
        t_imp, ot = timed(__import__, "ot")
    except ImportError:
        ot, t_imp = None, 0.0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((n, d)) * np.linspace(1.5, 0.7, d) + np.linspace(1.0, -0.5, d)

    def lsa():
        c = cdist(x, y, "sqeuclidean")
        r, k = linear_sum_assignment(c)
        return float(c[r, k].mean())

    def emd():
        c = cdist(x, y, "sqeuclidean")
        u = np.full(n, 1.0 / n)
        plan, log = ot.emd(u, u, c, numItermax=max(100_000, 50 * n * n), log=True)
        return float(np.sum(plan * c)), log["result_code"]

    t = {"lib": math.inf, "lsa": math.inf, "emd": math.inf}
    for _ in range(rounds):
        dt, (_, c_lib) = timed(dyn.ot_assignment, x, y)
        t["lib"] = min(t["lib"], dt)
        dt, c_lsa = timed(lsa)
        t["lsa"] = min(t["lsa"], dt)
        if ot is not None:
            dt, (c_emd, code) = timed(emd)
            t["emd"] = min(t["emd"], dt)
    print(f"Exact OT, {n} points per cloud, d = {d}, 2 Gaussian clouds (seeded), squared "
          "Euclidean cost (times include the cost matrix)")
    print(f"  ot_assignment                  {t['lib']:7.3f} s   cost {c_lib:.15f}")
    print(f"  scipy linear_sum_assignment    {t['lsa']:7.3f} s   cost {c_lsa:.15f}   "
          f"(lsa / ot_assignment = {t['lsa'] / t['lib']:.1f}x)")
    if ot is None:
        print("  POT not installed: ot_assignment used linear_sum_assignment")
    else:
        print(f"  POT ot.emd (uniform 1/n)       {t['emd']:7.3f} s   cost {c_emd:.15f}   "
              f"(result code {code}; import ot took {t_imp:.2f} s once)")
        rel = max(abs(c_lib - c_lsa), abs(c_emd - c_lsa)) / c_lsa
        print(f"  max relative cost difference {rel:.1e}")


def diffusion_mixture(k: int = 8, d: int = 2, seed: int = 0):
    """K components with means on a circle of radius 3 and random covariances."""
    from deeptheory.dynamics.diffusion import GaussianMixture

    rng = np.random.default_rng(seed)
    ang = 2.0 * np.pi * np.arange(k) / k
    means = 3.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    if d > 2:
        means = np.concatenate([means, np.zeros((k, d - 2))], axis=1)
    a = rng.standard_normal((k, d, d)) * 0.3
    covs = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(d)
    w = rng.uniform(0.5, 1.5, k)
    return GaussianMixture(w / w.sum(), means, covs)


def _vp_constants(mix, proc, t):
    """Per-stage constants in NumPy: mean scale a, g^2, component precisions and
    log-normalisers of p_t (eigendecomposition of the data covariances)."""
    slope = (proc.beta_max - proc.beta_min) / proc.T
    big_b = proc.beta_min * t + 0.5 * slope * t * t
    a, b, c = math.exp(-0.5 * big_b), math.exp(-big_b), -math.expm1(-big_b)
    g2 = proc.beta_min + slope * t
    s = b * mix.evals + c                                           # (K, d)
    prec = (mix.evecs / s[:, None, :]) @ mix.evecs.transpose(0, 2, 1)  # (K, d, d)
    logc = mix.log_weights - 0.5 * np.log(s).sum(axis=1)
    return a, g2, prec, logc


def numpy_flow_einsum(mix, proc):
    """dy/dt = -(1/2) beta y - (1/2) beta grad ln p_t(y) with (K, n, d) arrays."""

    def rhs(t, y):
        a, g2, prec, logc = _vp_constants(mix, proc, t)
        diff = y[None, :, :] - (a * mix.means)[:, None, :]        # (K, n, d)
        pd = diff @ prec                                            # (K, n, d)
        lk = np.einsum("knd,knd->kn", diff, pd)
        lk *= -0.5
        lk += logc[:, None]
        lk -= lk.max(axis=0)
        np.exp(lk, out=lk)
        lk /= lk.sum(axis=0)
        return -0.5 * g2 * y + 0.5 * g2 * np.einsum("kn,knd->nd", lk, pd)

    return rhs


def numpy_flow_inplace(mix, proc, n):
    """The same field with coordinate-wise (K, n) arrays and preallocated buffers."""
    kk, d = mix.means.shape
    diff = np.empty((d, kk, n))
    pd = np.empty((d, kk, n))
    lbuf = np.empty((kk, n))
    tmp = np.empty((kk, n))

    def rhs(t, y):
        a, g2, prec, logc = _vp_constants(mix, proc, t)
        lk = lbuf
        out = np.empty((n, d))  # the stages k1..k4 are alive together
        am = a * mix.means
        for i in range(d):
            np.subtract(y[:, i][None, :], am[:, i][:, None], out=diff[i])
        for i in range(d):
            np.multiply(prec[:, i, 0][:, None], diff[0], out=pd[i])
            for j in range(1, d):
                np.multiply(prec[:, i, j][:, None], diff[j], out=tmp)
                pd[i] += tmp
        np.multiply(diff[0], pd[0], out=lk)
        for i in range(1, d):
            np.multiply(diff[i], pd[i], out=tmp)
            lk += tmp
        lk *= -0.5
        lk += logc[:, None]
        lk -= lk.max(axis=0)
        np.exp(lk, out=lk)
        tot = lk.sum(axis=0)
        for i in range(d):
            np.multiply(lk, pd[i], out=tmp)
            out[:, i] = tmp.sum(axis=0)
        out /= tot[:, None]
        out -= y
        out *= 0.5 * g2
        return out

    return rhs


def numpy_fixed_steps(rhs, x, t_start, t_end, n_steps, method):
    """Euler or classical RK4 with equal steps (t decreasing), vectorised over the points."""
    y = x.copy()
    h = (t_end - t_start) / n_steps
    for s in range(n_steps):
        t = t_start + s * h
        k1 = rhs(t, y)
        if method == "euler":
            y += h * k1
            continue
        k2 = rhs(t + 0.5 * h, y + (0.5 * h) * k1)
        k3 = rhs(t + 0.5 * h, y + (0.5 * h) * k2)
        k4 = rhs(t_start + (s + 1) * h, y + h * k3)
        y += (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)
    return y


def diffusion_benchmark(n: int, n_steps: int = 100, rounds: int = 1) -> None:
    from deeptheory.dynamics.diffusion import ForwardProcess, marginal, probability_flow_sample
    from deeptheory.kernels._threads import forced

    mix = diffusion_mixture()
    proc = ForwardProcess("vp")
    t0 = 1e-3
    x = marginal(mix, proc.T, proc).sample(n, seed=1)
    for method in ("rk4", "euler"):
        for mode in ("serial", "parallel"):  # compile (or load) both drivers outside the timing
            with forced(mode):
                probability_flow_sample(mix, proc, x_T=x[:64], n_steps=n_steps, method=method,
                                        t0=t0)
        t = {"serial": math.inf, "parallel": math.inf, "einsum": math.inf, "inplace": math.inf}
        for _ in range(rounds):
            for mode in ("serial", "parallel"):
                with forced(mode):
                    dt, r = timed(probability_flow_sample, mix, proc, x_T=x, n_steps=n_steps,
                                  method=method, t0=t0)
                t[mode] = min(t[mode], dt)
            dt, y_e = timed(numpy_fixed_steps, numpy_flow_einsum(mix, proc), x, proc.T, t0,
                            n_steps, method)
            t["einsum"] = min(t["einsum"], dt)
            dt, y_i = timed(numpy_fixed_steps, numpy_flow_inplace(mix, proc, n), x, proc.T,
                            t0, n_steps, method)
            t["inplace"] = min(t["inplace"], dt)
        evals = n * n_steps * (4 if method == "rk4" else 1)
        best_np = min(t["einsum"], t["inplace"])
        best = min(t["serial"], t["parallel"])
        print(f"Probability-flow ODE (VP, exact score), {n} points, d = 2, K = 8, "
              f"{n_steps} {method} steps, T = 1 -> t0 = {t0:g}")
        for key, label in (("serial", "library serial"), ("parallel", "library parallel"),
                           ("einsum", "numpy einsum"), ("inplace", "numpy in place")):
            print(f"  {label:18s} {t[key]:8.3f} s   ({1e9 * t[key] / evals:6.1f} ns per point "
                  "and evaluation)")
        print(f"  ratio best numpy / library: serial {best_np / t['serial']:.1f}x, parallel "
              f"{best_np / t['parallel']:.1f}x, best {best_np / best:.1f}x (target >= 3x); "
              f"max |library - numpy| = "
              f"{max(np.abs(r.samples - y_e).max(), np.abs(r.samples - y_i).max()):.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("lyapunov", "ode", "ot", "diffusion", "all"),
                    default="all")
    ap.add_argument("--ode-points", type=int, default=10_000)
    ap.add_argument("--ot-points", type=int, default=2000)
    ap.add_argument("--diffusion-points", type=int, default=100_000)
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--qr-every", type=int, default=10)
    ap.add_argument("--gain", type=float, default=2.0)
    ap.add_argument("--k-small", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__} ({numba.get_num_threads()} threads), numpy "
          f"{np.__version__}; load average {os.getloadavg()[0]:.2f}")
    if a.part in ("ode", "all"):
        ode_benchmark(a.ode_points, rounds=a.rounds)
    if a.part in ("ot", "all"):
        ot_benchmark(a.ot_points, rounds=a.rounds)
    if a.part in ("diffusion", "all"):
        diffusion_benchmark(a.diffusion_points, rounds=a.rounds)
    if a.part in ("lyapunov", "all"):
        run(a.width, a.width, a.steps, a.qr_every, a.gain, a.rounds)
        if a.k_small:
            run(a.width, a.k_small, a.steps, a.qr_every, a.gain, a.rounds)


if __name__ == "__main__":
    main()
