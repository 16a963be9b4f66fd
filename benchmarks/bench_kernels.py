"""Benchmark: deep tanh NNGP / NTK matrices, deeptheory vs. numpy Gauss-Hermite, neural-tangents.

Setting (issue 11): n = 2000 inputs X ~ N(0, 1) in d = 10 (seed 0), a plain network of
depth 10 (10 hidden tanh layers), sigma_w2 = 1.5, sigma_b2 = 0.05, NTK parameterisation:

    Sigma^1 = sigma_w2 X X^T / d + sigma_b2,               Theta^1 = Sigma^1,
    Sigma^{l+1} = sigma_w2 E[phi(u) phi(v)] + sigma_b2,
    dSigma^{l+1} = sigma_w2 E[phi'(u) phi'(v)],
    Theta^{l+1} = Theta^l dSigma^{l+1} + Sigma^{l+1},
    (u, v) ~ N(0, [[S_ii, S_ij], [S_ij, S_jj]]) with S = Sigma^l,

reported after 10 expectations: Sigma^11, Theta^11 (= neural-tangents'
``stax.serial(*[Dense(1, W_std, b_std), ElementwiseNumerical(tanh, deg=25)] * 10,
Dense(1, W_std, b_std))`` with W_std^2 = sigma_w2, b_std^2 = sigma_b2).

* deeptheory: ``network_kernels(X, depth=10, sigma_w2, sigma_b2, activation="tanh",
  rtol=1e-10)``.
* numpy GH-25 (the competent baseline): every pair i <= j, every layer, a 25 x 25
  bivariate Gauss-Hermite rule (``scipy.special.roots_hermitenorm``) through the Cholesky
  factor, u = sqrt(S11) z1, v = S12 / sqrt(S11) z1 + sqrt(S22 - S12^2 / S11) z2; one
  tanh per node (phi(u) is shared by the 25 nodes of z1, phi' = 1 - tanh^2 reuses it),
  vectorised over blocks of pairs (``--chunk``; one reused 100 MB node buffer).
* neural-tangents ``ElementwiseNumerical(fn=jnp.tanh, deg=25, df=analytic tanh')``,
  float64, through ``nt.batch`` (blocks of ``--nt-batch``), timed after a warm-up (JIT)
  call; run in this interpreter when importable, else with ``--nt-python PATH`` in a
  subprocess on the same X (saved to a temporary .npy), else skipped.

Errors: on ``--pairs`` entries (random pairs, some diagonal ones and the most correlated
input pairs) against the same recursion done pair by pair with
``deeptheory.kernels.expect2`` at order 16 (panel rule, ~1e-13 per expectation),
normwise: |K_ij - K_ij^ref| / sqrt(K_ii^ref K_jj^ref), for NNGP and NTK.  The methods
run alternately, ``--repeats`` rounds, best and median times kept.

    python benchmarks/bench_kernels.py                      # n = 2000 (numpy: minutes)
    python benchmarks/bench_kernels.py --n 300 --repeats 3  # quick check
    python benchmarks/bench_kernels.py --nt-python /path/to/venv/bin/python

Target (issue 11): at rtol 1e-10 at least 5x faster than numpy GH-25 with errors
<= 1e-10, the baselines reaching only their own accuracy (reported).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from scipy.special import roots_hermitenorm

SIGMA_W2 = 1.5
SIGMA_B2 = 0.05
D_IN = 10


# ------------------------------------------------------------ competent baseline
def gh_kernels(x: np.ndarray, depth: int, sigma_w2: float, sigma_b2: float, deg: int = 25,
               chunk: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """(NNGP, NTK) after ``depth`` tanh layers with a deg x deg Gauss-Hermite rule."""
    n, d = x.shape
    z, w = roots_hermitenorm(deg)
    w = w / w.sum()
    s = sigma_w2 * (x @ x.T) / d + sigma_b2
    th = s.copy()
    iu, ju = np.triu_indices(n)
    buf = np.empty((min(chunk, iu.size), deg, deg))  # reused: no page faults per block
    for _ in range(depth):
        dg = np.diag(s).copy()
        e_pp = np.empty(iu.size)
        e_dd = np.empty(iu.size)
        for k in range(0, iu.size, chunk):
            i, j = iu[k:k + chunk], ju[k:k + chunk]
            s11, s22, s12 = dg[i], dg[j], s[i, j]
            a = np.sqrt(s11)
            b = s12 / a
            c = np.sqrt(np.maximum(s22 - b * b, 0.0))
            tu = np.tanh(a[:, None] * z)  # phi(u): 25 values per pair
            v = buf[: i.size]
            np.add((b[:, None] * z)[:, :, None], (c[:, None] * z)[:, None, :], out=v)
            np.tanh(v, out=v)
            inner = v @ w  # E[phi(v) | z1]
            np.square(v, out=v)
            inner_d = 1.0 - v @ w  # E[phi'(v) | z1] = 1 - E[tanh^2(v) | z1]
            e_pp[k:k + chunk] = (tu * inner) @ w
            e_dd[k:k + chunk] = ((1.0 - tu * tu) * inner_d) @ w
        s_new = np.empty_like(s)
        ds = np.empty_like(s)
        s_new[iu, ju] = sigma_w2 * e_pp + sigma_b2
        s_new[ju, iu] = s_new[iu, ju]
        ds[iu, ju] = sigma_w2 * e_dd
        ds[ju, iu] = ds[iu, ju]
        th = th * ds + s_new
        s = s_new
    return s, th


# ------------------------------------------------------------------ deeptheory
def library_kernels(x: np.ndarray, depth: int, sigma_w2: float, sigma_b2: float,
                    rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """(NNGP, NTK) from ``deeptheory.meanfield.network_kernels``."""
    try:
        from deeptheory.meanfield import network_kernels
    except ImportError:  # before the export
        from deeptheory.meanfield.widekernels import network_kernels

    r = network_kernels(x, depth=depth, sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                        activation="tanh", network="plain", rtol=rtol)
    return np.asarray(r.nngp), np.asarray(r.ntk)


# ------------------------------------------------------------------- reference
def reference_pairs(x: np.ndarray, i: np.ndarray, j: np.ndarray, depth: int, sigma_w2: float,
                    sigma_b2: float, order: int = 16) -> tuple[np.ndarray, ...]:
    """(nngp_ij, ntk_ij, nngp_ii, nngp_jj, ntk_ii, ntk_jj) by expect2, pair by pair."""
    from deeptheory.kernels import expect2

    d = x.shape[1]
    # rows: the pairs (i, j), then (i, i), then (j, j)
    a = np.concatenate([i, i, j])
    b = np.concatenate([j, i, j])
    s = sigma_w2 * np.einsum("kd,kd->k", x[a], x[b]) / d + sigma_b2
    m = i.size
    th = s.copy()
    for _ in range(depth):
        q1 = np.concatenate([s[m:2 * m], s[m:2 * m], s[2 * m:]])
        q2 = np.concatenate([s[2 * m:], s[m:2 * m], s[2 * m:]])
        c = np.clip(s / np.sqrt(q1 * q2), -1.0, 1.0)
        c[m:] = 1.0
        e_pp = expect2("tanh", q1, q2, c, (0, 0), order=order)
        e_dd = expect2("tanh", q1, q2, c, (1, 1), order=order)
        s = sigma_w2 * e_pp + sigma_b2
        th = th * sigma_w2 * e_dd + s
    return s[:m], th[:m], s[m:2 * m], s[2 * m:], th[m:2 * m], th[2 * m:]


def check_pairs(x: np.ndarray, n_pairs: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs i < j, a few diagonal ones and the most correlated input pairs."""
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    n_diag = max(1, n_pairs // 10)
    n_close = max(1, n_pairs // 10)
    n_rand = max(0, n_pairs - n_diag - n_close)
    i = rng.integers(0, n, size=n_rand)
    j = (i + rng.integers(1, n, size=n_rand)) % n
    dg = rng.choice(n, size=min(n_diag, n), replace=False)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sub = rng.choice(n, size=min(n, 500), replace=False)  # search a subset for close pairs
    cc = xn[sub] @ xn[sub].T
    np.fill_diagonal(cc, -2.0)
    flat = np.argsort(cc, axis=None)[::-1][: 2 * n_close: 2]  # each pair appears twice
    ci, cj = np.unravel_index(flat, cc.shape)
    return (np.concatenate([i, dg, sub[ci]]), np.concatenate([j, dg, sub[cj]]))


def normwise_errors(nngp: np.ndarray, ntk: np.ndarray, i: np.ndarray, j: np.ndarray,
                    ref: tuple[np.ndarray, ...]) -> tuple[float, float]:
    s, th, sii, sjj, tii, tjj = ref
    e1 = np.abs(nngp[i, j] - s) / np.sqrt(sii * sjj)
    e2 = np.abs(ntk[i, j] - th) / np.sqrt(tii * tjj)
    return float(e1.max()), float(e2.max())


# -------------------------------------------------------------- neural-tangents
_NT_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as onp
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")
import jax.numpy as jnp
import neural_tangents as nt
from neural_tangents import stax

xpath, outdir, depth, sw2, sb2, deg, batch = sys.argv[1:8]
depth, deg, batch = int(depth), int(deg), int(batch)
sw, sb = float(sw2) ** 0.5, float(sb2) ** 0.5
x = jnp.asarray(onp.load(xpath))
layers = [stax.Dense(1, W_std=sw, b_std=sb),
          stax.ElementwiseNumerical(fn=jnp.tanh, deg=deg, df=lambda t: 1.0 - jnp.tanh(t) ** 2)]
_, _, kernel_fn = stax.serial(*(layers * depth), stax.Dense(1, W_std=sw, b_std=sb))
kfn = nt.batch(kernel_fn, batch_size=batch, device_count=0, store_on_device=False)
w = kfn(x[: 2 * batch], None, ("nngp", "ntk"))  # warm-up: compiles the block
jax.block_until_ready(w)
t0 = time.perf_counter()
k = kfn(x, None, ("nngp", "ntk"))
jax.block_until_ready(k)
dt = time.perf_counter() - t0
onp.save(outdir + "/nngp.npy", onp.asarray(k[0]))
onp.save(outdir + "/ntk.npy", onp.asarray(k[1]))
print(json.dumps({"time": dt, "jax": jax.__version__, "nt": nt.__version__,
                  "devices": str(jax.devices())}))
"""


def nt_kernels(python: str, x: np.ndarray, depth: int, sigma_w2: float, sigma_b2: float,
               deg: int = 25, batch: int = 200) -> tuple[np.ndarray, np.ndarray, float, dict]:
    """(NNGP, NTK, seconds, info) from neural-tangents run by ``python`` in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        xp = os.path.join(tmp, "x.npy")
        np.save(xp, x)
        cmd = [python, "-c", _NT_SCRIPT, xp, tmp, str(depth), repr(sigma_w2), repr(sigma_b2),
               str(deg), str(batch)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"neural-tangents run failed:\n{p.stderr[-3000:]}")
        info = json.loads(p.stdout.strip().splitlines()[-1])
        return (np.load(os.path.join(tmp, "nngp.npy")), np.load(os.path.join(tmp, "ntk.npy")),
                float(info.pop("time")), info)


def _divisor_at_most(n: int, b: int) -> int:
    return max(k for k in range(1, min(n, b) + 1) if n % k == 0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of inputs (default 2000)")
    ap.add_argument("--depth", type=int, default=10, help="hidden tanh layers (default 10)")
    ap.add_argument("--repeats", type=int, default=1, help="alternating rounds (default 1)")
    ap.add_argument("--pairs", type=int, default=50, help="entries checked (default 50)")
    ap.add_argument("--rtol", type=float, default=1e-10, help="deeptheory rtol (default 1e-10)")
    ap.add_argument("--deg", type=int, default=25, help="baselines' Gauss-Hermite degree")
    ap.add_argument("--chunk", type=int, default=20000, help="numpy baseline pairs per block")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy baseline")
    ap.add_argument("--nt-python", default=os.environ.get("NT_PYTHON"),
                    help="python with neural_tangents (default: $NT_PYTHON; this one if it "
                         "imports neural_tangents)")
    ap.add_argument("--nt-batch", type=int, default=200, help="neural-tangents block size")
    args = ap.parse_args(argv)

    x = np.random.default_rng(0).normal(size=(args.n, D_IN))
    depth, sw2, sb2 = args.depth, SIGMA_W2, SIGMA_B2
    warnings.simplefilter("ignore", RuntimeWarning)

    ci, cj = check_pairs(x, args.pairs)
    t0 = time.perf_counter()
    ref = reference_pairs(x, ci, cj, depth, sw2, sb2)
    t_ref = time.perf_counter() - t0

    nt_python = args.nt_python
    nt_note = ""
    if importlib.util.find_spec("neural_tangents") is not None:
        nt_python, nt_note = sys.executable, "in this interpreter's environment"
    elif nt_python:
        nt_note = f"not installed here; run with {nt_python}"
    else:
        nt_note = "not installed here and no --nt-python given: skipped"
        nt_python = None

    runs = {}
    try:
        library_kernels(x[:4], depth, sw2, sb2, args.rtol)  # JIT / cache warm-up
        runs[f"deeptheory rtol={args.rtol:g}"] = lambda: library_kernels(x, depth, sw2, sb2,
                                                                         args.rtol)
    except ImportError as exc:
        print(f"deeptheory.meanfield.network_kernels not available ({exc}): skipped")
    if not args.no_numpy:
        gh_kernels(x[:4], 1, sw2, sb2, args.deg)
        runs[f"numpy GH-{args.deg}"] = lambda: gh_kernels(x, depth, sw2, sb2, args.deg,
                                                          args.chunk)
    nt_batch = _divisor_at_most(args.n, args.nt_batch)
    nt_info: dict = {}
    if nt_python:
        def _nt():
            nngp, ntk, dt, info = nt_kernels(nt_python, x, depth, sw2, sb2, args.deg, nt_batch)
            nt_info.update(info)
            return (nngp, ntk), dt

        runs[f"neural-tangents deg={args.deg}"] = _nt

    load0 = os.getloadavg()[0]
    times: dict[str, list[float]] = {k: [] for k in runs}
    out = {}
    for _ in range(args.repeats):
        for name, f in runs.items():
            t0 = time.perf_counter()
            r = f()
            dt = time.perf_counter() - t0
            if name.startswith("neural"):
                r, dt = r  # timed inside the subprocess, after its warm-up call
            times[name].append(dt)
            out[name] = r

    print(f"tanh NNGP + NTK, n = {args.n}, d = {D_IN}, depth {depth} "
          f"(sigma_w2 = {sw2}, sigma_b2 = {sb2}), {args.repeats} alternating round(s); "
          f"{os.cpu_count()} cores, load average {load0:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after the runs")
    base = f"numpy GH-{args.deg}"
    tb = min(times[base]) if base in times else np.nan
    print(f"  {'':28} {'best/s':>8} {'median/s':>9} {'ratio':>7} {'err NNGP':>9} {'err NTK':>9}")
    errs = {}
    for name in runs:
        nngp, ntk = out[name]
        errs[name] = normwise_errors(nngp, ntk, ci, cj, ref)
        best, med = min(times[name]), float(np.median(times[name]))
        ratio = f"{tb / best:7.2f}" if np.isfinite(tb) else f"{'-':>7}"
        print(f"  {name:28} {best:8.2f} {med:9.2f} {ratio} {errs[name][0]:9.1e} "
              f"{errs[name][1]:9.1e}")
    print(f"  ratio = numpy GH-{args.deg} best time / this best time.  Errors: max over "
          f"{ci.size} entries of |K_ij - ref| / sqrt(ref_ii ref_jj), ref = the recursion pair "
          f"by pair with kernels.expect2 at order 16 ({t_ref:.1f} s)")
    print(f"  neural-tangents: {nt_note}" + (f"; batch {nt_batch}, jax {nt_info.get('jax')}, "
                                             f"neural-tangents {nt_info.get('nt')}, float64, "
                                             "time after a warm-up call" if nt_info else ""))
    ntn = f"neural-tangents deg={args.deg}"
    if base in out and ntn in out:
        # the same product rule, but it depends on which input is conditioned on: numpy
        # GH conditions on x_i for i <= j, neural-tangents on the row input (K != K^T)
        def nw(a, ref):
            return float(np.max(np.abs(a) / np.sqrt(np.outer(np.diag(ref), np.diag(ref)))))

        d_up = [nw(np.triu(a - b), a) for a, b in zip(out[base], out[ntn], strict=True)]
        asym = [nw(b - b.T, b) for b in out[ntn]]
        print(f"  numpy GH-{args.deg} vs neural-tangents on i <= j (normwise): NNGP "
              f"{d_up[0]:.1e}, NTK {d_up[1]:.1e}; neural-tangents' asymmetry |K - K^T|: "
              f"NNGP {asym[0]:.1e}, NTK {asym[1]:.1e}")
    lib = f"deeptheory rtol={args.rtol:g}"
    if lib in times and base in times:
        ratio = tb / min(times[lib])
        ok = ratio >= 5.0 and max(errs[lib]) <= 1e-10
        print(f"target: >= 5x numpy GH-{args.deg} with errors <= 1e-10 -> "
              f"{'MET' if ok else 'MISSED'} ({ratio:.1f}x, {max(errs[lib]):.1e}; "
              f"GH-{args.deg} reaches {max(errs[base]):.1e})")


if __name__ == "__main__":
    main()
