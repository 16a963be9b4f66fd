"""Independent mpmath references for the wide-network NNGP and NTK (smooth activations).

Rerun (about 10 minutes on 2 cores) from the repository root with

    python tests/data/make_widekernels_mpmath_reference.py

It writes ``tests/data/widekernels_mpmath_reference.json``.  It imports nothing from
deeptheory: only mpmath, and the standard library, so the stored numbers are
independent of the code they test.  ``tests/test_widekernels_mpmath.py`` imports the
functions below to recompute a few of the stored numbers in-test.

Definitions (Lee et al. 2018; Jacot et al. 2018), inputs x, x' in R^d:

    Sigma^1 = sigma_w2 x.x'/d + sigma_b2,   Theta^1 = Sigma^1,
    Sigma^{l+1} = sigma_w2 E[phi(u) phi(v)] + sigma_b2,
    dSigma^{l+1} = sigma_w2 E[phi'(u) phi'(v)],
    Theta^{l+1} = Theta^l dSigma^{l+1} + Sigma^{l+1},

(u, v) ~ N(0, [[S11, S12], [S12, S22]]) with S = Sigma^l on the pair; a network of
depth L (hidden layers) has the kernels Sigma^{L+1}, Theta^{L+1}.

Two-dimensional expectations: u = sqrt(S11) z1, v = a z1 + b z2 with
a = S12 / sqrt(S11), b = sqrt(S22 - S12^2 / S11), z1, z2 iid N(0, 1), so

    E[f(u) g(v)] = int dz1 phi_N(z1) f(sqrt(S11) z1) int dz2 phi_N(z2) g(a z1 + b z2),

each integral by a composite Gauss-Legendre rule (``n`` nodes per panel, mpmath at
``DPS`` digits) on [-ZMAX, ZMAX] (phi_N(10) ~ 8e-23).  The activations used here
(tanh, erf, gelu, silu) vary fastest where their argument is 0, on a unit scale
(tanh's poles are at i pi/2): so the outer panels are graded geometrically toward
z1 = 0 with finest width 1/(2 sqrt(S11)), and the inner panels toward
z2* = -a z1 / b with finest width 1/(2 b); coarse unit-scale panels cover the rest.
This keeps tanh(sqrt(q) z), which is nearly a step at large q, resolved.  Nearly
parallel inputs (b ~ 1e-4) make the inner integrand almost constant, which the same
rule integrates exactly to rounding.  The rule's accuracy is checked by rerunning
with 1.5x as many nodes per panel (the difference is stored as ``max_rule_change``)
and, for a few integrals, against mpmath's adaptive tanh-sinh ``mp.quad``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from functools import cache
from pathlib import Path

import mpmath as mp

DPS = 25
ZMAX = 10
N_NODES = 12
DEPTHS = 5

HERE = Path(__file__).resolve().parent
OUT = HERE / "widekernels_mpmath_reference.json"


# --- activations and their derivatives (mpmath) --------------------------------------


def _tanh(x):
    return mp.tanh(x), mp.sech(x) ** 2


def _erf(x):
    return mp.erf(x), 2 / mp.sqrt(mp.pi) * mp.exp(-x * x)


def _gelu(x):
    # gelu(x) = x Phi(x), Phi the standard normal cdf (exact erf form)
    cdf = mp.erfc(-x / mp.sqrt(2)) / 2
    pdf = mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
    return x * cdf, cdf + x * pdf


def _silu(x):
    # silu(x) = swish(x) = x sigmoid(x)
    s = 1 / (1 + mp.exp(-x))
    return x * s, s * (1 + x * (1 - s))


ACTIVATIONS = {"tanh": _tanh, "erf": _erf, "gelu": _gelu, "silu": _silu}


# --- quadrature -------------------------------------------------------------------------


@cache
def _gl(n: int, dps: int):
    with mp.workdps(dps + 10):
        x, w = mp.gauss_quadrature(n, "legendre")
        return tuple(mp.mpf(v) for v in x), tuple(mp.mpf(v) for v in w)


#: widest panel: the Gaussian density exp(-z^2/2) needs panels of width <= 2
MAX_PANEL = 2


def _edges(center, width):
    """Panel edges on [-ZMAX, ZMAX], graded toward ``center``: the panels next to it
    have width ``width``, each further one doubles, up to MAX_PANEL."""
    lo, hi = mp.mpf(-ZMAX), mp.mpf(ZMAX)
    c = min(max(center, lo), hi)
    e = {lo, hi, c}
    for sign in (1, -1):
        t, h = c, min(width, MAX_PANEL)
        while lo < t < hi or t == c:
            t = t + sign * h
            if lo < t < hi:
                e.add(t)
            h = min(2 * h, MAX_PANEL)
    return sorted(e)


def _rule(center, width, n):
    """Nodes and weights (Gaussian density included) of the composite rule."""
    x0, w0 = _gl(n, mp.mp.dps)
    edges = _edges(center, width)
    norm = 1 / mp.sqrt(2 * mp.pi)
    nodes, weights = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m, r = (lo + hi) / 2, (hi - lo) / 2
        for xi, wi in zip(x0, w0, strict=True):
            z = m + r * xi
            nodes.append(z)
            weights.append(r * wi * norm * mp.exp(-z * z / 2))
    return nodes, weights


def expect1(act, s, n=N_NODES):
    """(E[phi(u)^2], E[phi'(u)^2]) for u ~ N(0, s)."""
    rs = mp.sqrt(s)
    nodes, weights = _rule(mp.mpf(0), 1 / (2 * rs), n)
    e0 = e1 = mp.mpf(0)
    for z, w in zip(nodes, weights, strict=True):
        f, df = act(rs * z)
        e0 += w * f * f
        e1 += w * df * df
    return e0, e1


def expect2(act, s11, s22, s12, n=N_NODES):
    """(E[phi(u) phi(v)], E[phi'(u) phi'(v)]) for (u, v) ~ N(0, [[s11, s12], [s12, s22]])."""
    r1 = mp.sqrt(s11)
    a = s12 / r1
    b2 = s22 - s12 * s12 / s11
    b = mp.sqrt(b2) if b2 > 0 else mp.mpf(0)
    outer_nodes, outer_weights = _rule(mp.mpf(0), 1 / (2 * r1), n)
    e0 = e1 = mp.mpf(0)
    for z1, w1 in zip(outer_nodes, outer_weights, strict=True):
        f, df = act(r1 * z1)
        if b == 0:
            g, dg = act(a * z1)
        else:
            g = dg = mp.mpf(0)
            for z2, w2 in zip(*_rule(-a * z1 / b, 1 / (2 * b), n), strict=True):
                gv, dgv = act(a * z1 + b * z2)
                g += w2 * gv
                dg += w2 * dgv
        e0 += w1 * f * g
        e1 += w1 * df * dg
    return e0, e1


def expect2_adaptive(act, s11, s22, s12, which=0):
    """One of the expectations of :func:`expect2` by nested adaptive ``mp.quad``
    (tanh-sinh), with the same breakpoints: slow, a check of the fixed rule."""
    r1 = mp.sqrt(s11)
    a = s12 / r1
    b = mp.sqrt(s22 - s12 * s12 / s11)
    norm = 1 / mp.sqrt(2 * mp.pi)

    def inner(z1):
        c = -a * z1 / b
        pts = [-mp.inf, c, mp.inf] if abs(c) < 40 else [-mp.inf, mp.inf]
        return mp.quad(lambda z2: act(a * z1 + b * z2)[which] * norm * mp.exp(-z2 * z2 / 2),
                       pts)

    s = 1 / r1
    return mp.quad(lambda z1: act(r1 * z1)[which] * inner(z1) * norm * mp.exp(-z1 * z1 / 2),
                   [-mp.inf, -s, 0, s, mp.inf])


# --- kernel recursion -------------------------------------------------------------------


def pair_kernels(activation, x1, x2, sigma_w2, sigma_b2, depth, n=N_NODES):
    """NNGP and NTK 2 x 2 matrices of the pair (x1, x2) for depth = 1..``depth``.

    Returns a list of (nngp, ntk) with nngp = [[S11, S12], [S12, S22]] (mpf), entry
    L - 1 for a network of depth L.  Inputs are float lists (converted exactly).
    """
    act = ACTIVATIONS[activation]
    sw2, sb2 = mp.mpf(sigma_w2), mp.mpf(sigma_b2)
    d = len(x1)
    x1 = [mp.mpf(v) for v in x1]
    x2 = [mp.mpf(v) for v in x2]
    s11 = sw2 * mp.fsum(u * u for u in x1) / d + sb2
    s22 = sw2 * mp.fsum(u * u for u in x2) / d + sb2
    s12 = sw2 * mp.fsum(u * v for u, v in zip(x1, x2, strict=True)) / d + sb2
    t11, t22, t12 = s11, s22, s12
    out = []
    for _ in range(depth):
        e11, d11 = expect1(act, s11, n)
        e22, d22 = expect1(act, s22, n)
        e12, d12 = expect2(act, s11, s22, s12, n)
        n11, n22, n12 = sw2 * e11 + sb2, sw2 * e22 + sb2, sw2 * e12 + sb2
        t11 = t11 * sw2 * d11 + n11
        t22 = t22 * sw2 * d22 + n22
        t12 = t12 * sw2 * d12 + n12
        s11, s22, s12 = n11, n22, n12
        out.append(([[s11, s12], [s12, s22]], [[t11, t12], [t12, t22]]))
    return out


# --- the stored cases -------------------------------------------------------------------


def _pair(d, q1, q2, c, rotate=0.3):
    """x1, x2 in R^d with |x1|^2/d = q1, |x2|^2/d = q2 and cosine c, as float lists.

    x2 = sqrt(q2 d) (c e1 + s e2) with s = sqrt(1 - c^2) computed as
    sqrt((1 - c)(1 + c)) (accurate for c near 1); both are then rotated in the
    (e1, e3) plane so that no coordinate is special.  The float inputs are what the
    reference uses (their exact cosine may differ from c by ~1e-16).
    """
    s = math.sqrt((1.0 - c) * (1.0 + c))
    u1 = [1.0, 0.0, 0.0] + [0.0] * (d - 3)
    u2 = [c, s, 0.0] + [0.0] * (d - 3)
    cr, sr = math.cos(rotate), math.sin(rotate)

    def rot(u):
        return [cr * u[0] - sr * u[2], u[1], sr * u[0] + cr * u[2]] + u[3:]

    r1, r2 = math.sqrt(q1 * d), math.sqrt(q2 * d)
    return [r1 * v for v in rot(u1)], [r2 * v for v in rot(u2)]


#: (name, sigma_w2, sigma_b2, q1, q2, c): q = |x|^2 / d, so Sigma^1 = sigma_w2 q + sigma_b2
CASES = [
    ("moderate", 1.5, 0.05, 1.0, 0.8, 0.3),
    ("anticorrelated", 1.2, 0.1, 0.7, 1.3, -0.7),
    ("nearly_parallel", 1.5, 0.05, 1.0, 1.0, 1.0 - 1e-8),
    ("nearly_parallel_norms", 2.0, 0.0, 0.9, 1.4, 1.0 - 1e-8),
    ("large_q", 25.0, 0.5, 1.8, 1.2, 0.5),
    ("large_q_nearly_parallel", 25.0, 0.5, 1.8, 1.8, 1.0 - 1e-8),
]

#: gelu and silu grow linearly: their large-q cases keep sigma_w2 = 2 and large inputs
LARGE_Q_UNBOUNDED = {"large_q": (2.0, 0.0, 25.0, 20.0, 0.5),
                     "large_q_nearly_parallel": (2.0, 0.0, 25.0, 25.0, 1.0 - 1e-8)}
D = 4


def case_parameters(activation):
    """The stored cases for ``activation``: list of (name, sigma_w2, sigma_b2, x1, x2)."""
    out = []
    for name, sw2, sb2, q1, q2, c in CASES:
        if activation in ("gelu", "silu") and name in LARGE_Q_UNBOUNDED:
            sw2, sb2, q1, q2, c = LARGE_Q_UNBOUNDED[name]
        x1, x2 = _pair(D, q1, q2, c)
        out.append((name, sw2, sb2, x1, x2))
    return out


def _run(job):
    activation, name, sw2, sb2, x1, x2 = job
    with mp.workdps(DPS):
        t0 = time.time()
        ref = pair_kernels(activation, x1, x2, sw2, sb2, DEPTHS, N_NODES)
        fine = pair_kernels(activation, x1, x2, sw2, sb2, DEPTHS, (3 * N_NODES) // 2)
        change = max(
            abs(a[k][i][j] - b[k][i][j]) / mp.sqrt(a[k][0][0] * a[k][1][1])
            for a, b in zip(ref, fine, strict=True) for k in (0, 1) for i in (0, 1) for j in (0, 1))
        return {
            "activation": activation, "case": name, "sigma_w2": sw2, "sigma_b2": sb2,
            "x": [x1, x2],
            "nngp": [[[float(v) for v in row] for row in r[0]] for r in fine],
            "ntk": [[[float(v) for v in row] for row in r[1]] for r in fine],
            "max_rule_change": float(change), "seconds": time.time() - t0,
        }


def main(argv: list[str]) -> None:
    from multiprocessing import Pool

    jobs = [(act, *case) for act in ACTIVATIONS for case in case_parameters(act)]
    with Pool(int(argv[1]) if len(argv) > 1 else 2) as pool:
        results = pool.map(_run, jobs, chunksize=1)
    for r in results:
        print(f"{r['activation']:5s} {r['case']:24s} rule change {r['max_rule_change']:.1e}"
              f"  {r['seconds']:.0f} s", flush=True)
    payload = {
        "description": "NNGP and NTK (NTK parameterisation) of pairs of inputs; entry "
                       "[L-1] of nngp / ntk is the 2 x 2 kernel of a network with L hidden "
                       "layers; computed by make_widekernels_mpmath_reference.py",
        "mpmath_version": mp.__version__, "dps": DPS, "nodes_per_panel":
            [N_NODES, (3 * N_NODES) // 2], "zmax": ZMAX, "depths": DEPTHS,
        "cases": results,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv)
