"""Compiled Gaussian-expectation kernels (CPU ``prange`` and CUDA).

Expectations of products of activation derivatives under one Gaussian,

    E[f_a(x) f_b(x)],                x ~ N(0, q),

and under a correlated pair,

    E[f_a(u1) f_b(u2)],   u1 = sqrt(q11) z1,  u2 = sqrt(q22) (c z1 + sqrt(1 - c^2) z2),

computed as an outer integral over u1 and an inner integral over u2 | u1 ~
N(c sqrt(q22/q11) u1, q22 (1 - c^2)).  Each one-dimensional integral uses the
rule built by :func:`build_rule`:

* ``rule = 0`` ("panel", default): composite Gauss-Legendre in x with panel
  edges at the Gaussian's scale (mu + sigma * GEDGES) merged with fixed edges
  at the activation's scale and its kinks (``Activation.edges``),
  truncated at |x - mu| = 8.5 sigma (tail mass 2e-17).  This
  resolves tanh(sqrt(q) z), which tends to a step as q grows and defeats any
  fixed Gauss-Hermite rule.
* ``rule = 1`` ("hermite"): probabilists' Gauss-Hermite nodes mu + sigma z_k.

Here f_d = phi^(d) for d >= 0 and f_{-1} = 1.  ``mode = 2`` replaces the
integrand by (f_a(u1) - f_a(u2))^2, which gives 1 - C(c) without cancellation.

Three kernel families: ``moments1`` (several E[f_a f_b] under one Gaussian in one pass),
``pair`` (one or two expectations of the correlated pair from the same nodes) and
``hermite`` (normalised Hermite coefficients E[f_d(sqrt(q) z) He_k(z)] / sqrt(k!) by the
three-term recurrence, for Mehler's series).
Kernels know nothing about networks; see :mod:`deeptheory.kernels.quadrature`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._builtin_eval import act_eval
from ._specialise import kernel

#: maximum nodes of one 1-D rule (per thread buffer)
MAXN = 4096
#: maximum panel edges of one 1-D rule
MAXE = 256
#: panel edges in units of the Gaussian's standard deviation
GEDGES = np.array([-8.5, -5.5, -3.5, -2.0, -1.0, 0.0, 1.0, 2.0, 3.5, 5.5, 8.5])
#: wider edges for Hermite coefficients: He_k(z) e^{-z^2/2} / sqrt(k!) decays only like
#: e^{-z^2/4} inside the turning points |z| < 2 sqrt(k), which needs |z| up to 13 (1e-18)
HEDGES = np.array([-13.0, -10.5, -8.5, -5.5, -3.5, -2.0, -1.0, 0.0, 1.0, 2.0, 3.5, 5.5, 8.5,
                   10.5, 13.0])
INV_SQRT_2PI = 0.3989422804014327


@kernel()
def fval(code, d, x):  # pragma: no cover - compiled
    if d < 0:
        return 1.0
    return act_eval(code, d, x)


@kernel()
def add_panel(a, b, mu, sigma, t, wt, xs, ws, n):  # pragma: no cover - compiled
    """Append Gauss-Legendre nodes of [a, b] weighted by the N(mu, sigma^2) density."""
    m = t.shape[0]
    if n + m > xs.shape[0]:
        return -1
    h = 0.5 * (b - a)
    cmid = 0.5 * (b + a)
    for j in range(m):
        x = cmid + h * t[j]
        y = (x - mu) / sigma
        xs[n] = x
        ws[n] = wt[j] * h * INV_SQRT_2PI / sigma * math.exp(-0.5 * y * y)
        n += 1
    return n


@kernel()
def build_rule(
    mu, sigma, rule, maxw, t, wt, gedges, aedges, kinks, kmul, kscale, eb, xs, ws
):  # pragma: no cover - compiled
    """Fill xs, ws with a rule for E[F(x)], x ~ N(mu, sigma^2); return node count (-1: overflow).

    Panel edges: mu + sigma * gedges, the fixed ``aedges`` inside that window, and,
    when ``kscale > 0``, a layer kinks[j] * kmul + kscale * gedges around each kink
    image (used by the outer integral of a correlated pair, where the inner
    expectation changes on the scale of the conditional deviation near a kink).
    ``eb`` is scratch space for the edge list.
    """
    if sigma <= 0.0:
        xs[0] = mu
        ws[0] = 1.0
        return 1
    if rule == 1:  # Gauss-Hermite: t, wt are normalised probabilists' nodes/weights
        if t.shape[0] > xs.shape[0]:
            return -1
        for j in range(t.shape[0]):
            xs[j] = mu + sigma * t[j]
            ws[j] = wt[j]
        return t.shape[0]
    ng = gedges.shape[0]
    lo = mu + sigma * gedges[0]
    hi = mu + sigma * gedges[ng - 1]
    ne = 0
    for i in range(ng):
        eb[ne] = mu + sigma * gedges[i]
        ne += 1
    for i in range(aedges.shape[0]):
        e = aedges[i]
        if lo < e < hi and ne < eb.shape[0]:
            eb[ne] = e
            ne += 1
    if kscale > 0.0:
        for j in range(kinks.shape[0]):
            for i in range(ng):
                e = kinks[j] * kmul + kscale * gedges[i]
                if lo < e < hi:
                    if ne >= eb.shape[0]:
                        return -1
                    eb[ne] = e
                    ne += 1
    # insertion sort (the list is short and mostly sorted)
    for i in range(1, ne):
        v = eb[i]
        j = i - 1
        while j >= 0 and eb[j] > v:
            eb[j + 1] = eb[j]
            j -= 1
        eb[j + 1] = v
    tol = 1e-12 * (hi - lo)
    prev = lo
    n = 0
    for i in range(1, ne):
        e = eb[i]
        if e <= prev + tol:
            continue
        k = 1
        if (e - prev) > maxw:
            k = int(math.ceil((e - prev) / maxw))
        step = (e - prev) / k
        for s in range(k):
            n = add_panel(prev + s * step, prev + (s + 1) * step, mu, sigma, t, wt, xs, ws, n)
            if n < 0:
                return -1
        prev = e
    return n


@kernel()
def moments1_point(
    code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, eb, xs, ws, out, row
):  # pragma: no cover - compiled
    """out[row, j] = E[f_pa[j](x) f_pb[j](x)], x ~ N(0, q), for every j, in one pass.

    Each derivative order that occurs is evaluated once per node.
    """
    m = pa.shape[0]
    need0 = False
    need1 = False
    need2 = False
    for j in range(m):
        out[row, j] = 0.0
        for d in (pa[j], pb[j]):
            if d == 0:
                need0 = True
            elif d == 1:
                need1 = True
            elif d == 2:
                need2 = True
    n = build_rule(0.0, math.sqrt(q), rule, maxw, t, wt, gedges, aedges, kinks, 0.0, 0.0, eb,
                   xs, ws)
    if n < 0:
        for j in range(m):
            out[row, j] = math.nan
        return
    for k in range(n):
        x = xs[k]
        f0 = fval(code, 0, x) if need0 else 1.0
        f1 = fval(code, 1, x) if need1 else 1.0
        f2 = fval(code, 2, x) if need2 else 1.0
        w = ws[k]
        for j in range(m):
            a = pa[j]
            b = pb[j]
            va = 1.0 if a < 0 else (f0 if a == 0 else (f1 if a == 1 else f2))
            vb = 1.0 if b < 0 else (f0 if b == 0 else (f1 if b == 1 else f2))
            out[row, j] += w * va * vb


@kernel()
def pair_point(
    code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, eb, xs,
    ws, ys, vs,
):  # pragma: no cover - compiled
    """(r0, r1) for the correlated pair, both from the same nodes in one pass.

    r0 = E[f_a(u1) f_b(u2)] (mode 0) or E[(f_a(u1) - f_a(u2))^2] (mode 2);
    r1 = E[f_a2(u1) f_b2(u2)], or 0 without evaluating it when a2 < -1.
    """
    s1 = math.sqrt(q11)
    s2 = math.sqrt(q22)
    # with q11 = 0, u1 = 0 and u2 ~ N(0, q22) whatever c is
    sc = math.sqrt(max(0.0, (1.0 - c) * (1.0 + c))) if s1 > 0.0 else 1.0
    ratio = c * s2 / s1 if s1 > 0.0 else 0.0
    # inner mean ratio * x1 crosses a kink k at x1 = k / ratio within ~ s2 sc / |ratio|
    kmul = 1.0 / ratio if ratio != 0.0 else 0.0
    kscale = s2 * sc / abs(ratio) if ratio != 0.0 else 0.0
    if kscale >= s1:
        kscale = 0.0  # the layer is no thinner than the outer Gaussian: no refinement
    n1 = build_rule(0.0, s1, rule, maxw, t, wt, gedges, aedges, kinks, kmul, kscale, eb, xs, ws)
    if n1 < 0:
        return math.nan, math.nan
    two = a2 >= -1
    tot = 0.0
    tot2 = 0.0
    for i in range(n1):
        x1 = xs[i]
        n2 = build_rule(ratio * x1, s2 * sc, rule, maxw, t, wt, gedges, aedges, kinks, 0.0, 0.0,
                        eb, ys, vs)
        if n2 < 0:
            return math.nan, math.nan
        inner = 0.0
        inner2 = 0.0
        if mode == 2:
            y = fval(code, a, x1)
            for k in range(n2):
                dlt = y - fval(code, a, ys[k])
                inner += vs[k] * dlt * dlt
                if two:
                    inner2 += vs[k] * fval(code, b2, ys[k])
            tot += ws[i] * inner
        else:
            for k in range(n2):
                inner += vs[k] * fval(code, b, ys[k])
                if two:
                    inner2 += vs[k] * fval(code, b2, ys[k])
            tot += ws[i] * fval(code, a, x1) * inner
        if two:
            tot2 += ws[i] * fval(code, a2, x1) * inner2
    return tot, tot2


@kernel()
def hermite_point(
    code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, eb, xs, ws, pm, p,
    out, row,
):  # pragma: no cover - compiled
    """Normalised Hermite coefficients of f_d(sqrt(q) z), z ~ N(0, 1), in one sweep.

    out[row, k] = a_k = E[f_d(sqrt(q) z) He_k(z)] / sqrt(k!) for k <= kmax (zero after
    the stop) and out[row, kmax + 1] = E[f_d^2], all with one rule whose panels are at
    most ``hz`` wide in z (He_k oscillates on the scale 1 / sqrt(k)).  The normalised
    polynomials follow psi_{k+1} = (z psi_k - sqrt(k) psi_{k-1}) / sqrt(k + 1).  With
    ttol > 0, stops after the first k with E[f^2] - sum_{j<=k} a_j^2 <= ttol E[f^2].
    """
    for k in range(kmax + 2):
        out[row, k] = 0.0
    s = math.sqrt(q)
    if s <= 0.0:
        f = fval(code, d, 0.0)
        out[row, 0] = f
        out[row, kmax + 1] = f * f
        return
    n = build_rule(0.0, s, rule, min(maxw, hz * s), t, wt, gedges, aedges, kinks, 0.0, 0.0,
                   eb, xs, ws)
    if n < 0:
        for k in range(kmax + 2):
            out[row, k] = math.nan
        return
    e = 0.0
    a = 0.0
    for i in range(n):
        f = fval(code, d, xs[i])
        v = ws[i] * f
        e += v * f
        a += v
        ws[i] = v  # w_i f_i from here on
        xs[i] = xs[i] / s  # z_i
        pm[i] = 0.0
        p[i] = 1.0
    out[row, kmax + 1] = e
    tail = e - a * a
    out[row, 0] = a
    for k in range(kmax):
        if ttol > 0.0 and tail <= ttol * e:
            break
        sk = math.sqrt(k)
        r = 1.0 / math.sqrt(k + 1.0)
        a = 0.0
        for i in range(n):
            nv = (xs[i] * p[i] - sk * pm[i]) * r
            pm[i] = p[i]
            p[i] = nv
            a += ws[i] * nv
        out[row, k + 1] = a
        tail -= a * a


# ----------------------------------------------------------------- CPU drivers
# One body per kernel (``*_item``: grid point i, its own scratch buffers) and two
# drivers: ``*_grid`` (``prange``) and ``*_serial``.  ``quadrature._launch`` picks one by
# the batch's estimated work (:mod:`._threads`); both give bitwise equal results.  The
# items are inlined into their drivers (``inline="always"``, one compilation fewer each),
# and the ``prange`` index is cast to int64 so both drivers type the body alike.  Three
# kernel families only (1-D moments, the correlated pair, Hermite coefficients): each
# compiled entry point costs 1.5-3 CPU-s without the disk cache.


@kernel(inline="always")
def moments1_item(
    i, code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    eb = np.empty(MAXE)
    xs = np.empty(MAXN)
    ws = np.empty(MAXN)
    moments1_point(code, pa, pb, q[i], rule, maxw, t, wt, gedges, aedges, kinks, eb, xs, ws,
                   out, i)


@kernel(inline="always")
def pair_item(
    i, code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    eb = np.empty(MAXE)
    xs = np.empty(MAXN)
    ws = np.empty(MAXN)
    ys = np.empty(MAXN)
    vs = np.empty(MAXN)
    out[i, 0], out[i, 1] = pair_point(
        code, a, b, mode, a2, b2, q11[i], q22[i], c[i], rule, maxw, t, wt, gedges, aedges,
        kinks, eb, xs, ws, ys, vs,
    )


@kernel(inline="always")
def hermite_item(
    i, code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    eb = np.empty(MAXE)
    xs = np.empty(MAXN)
    ws = np.empty(MAXN)
    pm = np.empty(MAXN)
    p = np.empty(MAXN)
    hermite_point(code, d, q[i], kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, eb,
                  xs, ws, pm, p, out, i)


@kernel(role="cpu", parallel=True)
def moments1_grid(
    code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in prange(q.shape[0]):
        moments1_item(np.int64(i), code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out)


@kernel(role="cpu")
def moments1_serial(
    code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in range(q.shape[0]):
        moments1_item(i, code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out)


@kernel(role="cpu", parallel=True)
def pair_grid(
    code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in prange(q11.shape[0]):
        pair_item(
            np.int64(i), code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges,
            kinks, out)


@kernel(role="cpu")
def pair_serial(
    code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in range(q11.shape[0]):
        pair_item(
            i, code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, out)


@kernel(role="cpu", parallel=True)
def hermite_grid(
    code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in prange(q.shape[0]):
        hermite_item(
            np.int64(i), code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out)


@kernel(role="cpu")
def hermite_serial(
    code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    for i in range(q.shape[0]):
        hermite_item(i, code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out)


# ---------------------------------------------------------------- CUDA kernels
# Compiled only by specialise(..., "cuda"); ``cuda`` and ``float64`` are looked up
# in the specialised globals (see _specialise.specialise).


@kernel(role="cuda")
def moments1_cuda(
    code, pa, pb, q, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    i = cuda.grid(1)  # noqa: F821
    if i < q.shape[0]:
        eb = cuda.local.array(MAXE, float64)  # noqa: F821
        xs = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        ws = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        moments1_point(code, pa, pb, q[i], rule, maxw, t, wt, gedges, aedges, kinks, eb, xs, ws,
                       out, i)


@kernel(role="cuda")
def pair_cuda(
    code, a, b, mode, a2, b2, q11, q22, c, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    i = cuda.grid(1)  # noqa: F821
    if i < q11.shape[0]:
        eb = cuda.local.array(MAXE, float64)  # noqa: F821
        xs = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        ws = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        ys = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        vs = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        r0, r1 = pair_point(
            code, a, b, mode, a2, b2, q11[i], q22[i], c[i], rule, maxw, t, wt, gedges, aedges,
            kinks, eb, xs, ws, ys, vs,
        )
        out[i, 0] = r0
        out[i, 1] = r1


@kernel(role="cuda")
def hermite_cuda(
    code, d, q, kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks, out
):  # pragma: no cover - compiled
    i = cuda.grid(1)  # noqa: F821
    if i < q.shape[0]:
        eb = cuda.local.array(MAXE, float64)  # noqa: F821
        xs = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        ws = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        pm = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        p = cuda.local.array(MAXN_CUDA, float64)  # noqa: F821
        hermite_point(code, d, q[i], kmax, ttol, hz, rule, maxw, t, wt, gedges, aedges, kinks,
                      eb, xs, ws, pm, p, out, i)
