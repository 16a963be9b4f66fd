"""c* and chi_c from the Hermite (Mehler) series of the correlation map.

With a_k the normalised Hermite coefficients of phi(sqrt(q) z) (``hermite_coefficients``),
Mehler's formula (Mehler 1866; the dual activation of Daniely, Frostig & Singer 2016,
"Toward deeper understanding of neural networks", Lemma 11) gives the C-map at q = q*
as a power series with non-negative coefficients,

    C(c) = (sigma_w^2 sum_k a_k^2 c^k + sigma_b^2) / V,     V = V(q*) = q*.

Writing T_j = E[phi^2] - sum_{k<=j} a_k^2 (the tail sums, T_j >= 0 and decreasing),
sum_k a_k^2 (1 - c^k) = (1 - c) sum_j T_j c^j, so

    1 - C(c) = (1 - c) P(c),     P(c) = sigma_w^2 sum_j T_j c^j / V,

without cancellation.  P increases on [0, 1] from P(0) = 1 - C(0) <= 1 to
P(1) = C'(1) = chi_1, so in the chaotic phase (chi_1 > 1) the fixed point c* < 1 is the
unique root of P(c) = 1 in [0, 1) (C(0) = (sigma_w^2 a_0^2 + sigma_b^2) / V >= 0 puts
c* >= 0), found by Newton from c = 1 (P is convex, so the iterates decrease
monotonically), and chi_c = C'(c*) = P(c*) - (1 - c*) P'(c*) = 1 - (1 - c*) P'(c*).

The series is cut at j = K.  Since T_j <= T_K for j > K, the neglected part of P is at
most sigma_w^2 T_K c^{K+1} / ((1 - c) V) and that of P' at most
sigma_w^2 T_K ((K + 1) c^K + c^{K+1} / (1 - c)) / ((1 - c) V); a point whose bounds
exceed the requested accuracy (c* close to 1, next to the critical line) is left to the
quadrature of the correlated pair.  One sweep of 1-D quadrature per point replaces the
2-D integrals of every Newton step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import Activation
from ..kernels.quadrature import HERMITE_KMAX, hermite_coefficients

#: series lengths tried in turn (a point that fails the error bound goes to the next)
STAGES = (256, HERMITE_KMAX)


def tail_sums(
    a: np.ndarray, second: np.ndarray, ttol: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tail sums per row, cut where they fall to ``ttol`` E[phi^2].

    Returns (T, T_K, K): T_j = E[phi^2] - sum_{k<=j} a_k^2 (clipped at 0) for j <= K and
    0 after, the last kept value T_K and the cut K (the first j with T_j <= ttol E[phi^2],
    else the last index).
    """
    t = second[:, None] - np.cumsum(a * a, axis=1)
    np.maximum(t, 0.0, out=t)
    below = t <= ttol * second[:, None]
    last = t.shape[1] - 1
    k = np.where(below.any(axis=1), np.argmax(below, axis=1), last)
    tail = t[np.arange(t.shape[0]), k]
    t[np.arange(t.shape[1])[None, :] > k[:, None]] = 0.0
    return t, tail, k


def _series(t: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum_j t_j c^j and its derivative in c, per row (c in [0, 1])."""
    j = np.arange(t.shape[1], dtype=float)
    pw = np.power(c[:, None], j[None, :])  # 0^0 = 1
    p = np.einsum("ij,ij->i", t, pw)
    dp = np.einsum("ij,ij->i", t[:, 1:] * j[None, 1:], pw[:, :-1])
    return p, dp


def solve_series(
    t: np.ndarray, tail: np.ndarray, kk: np.ndarray, sw2: np.ndarray, v: np.ndarray,
    rtol: float, maxiter: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c*, chi_c, ok) from tail sums ``t`` cut at ``kk`` (rows: points); see the module doc.

    ``ok`` is False where Newton did not settle or the truncation bounds exceed
    ``rtol`` (relative, on 1 - c* and on chi_c).
    """
    n = t.shape[0]
    scale = sw2 / v
    c = np.ones(n)
    done = np.zeros(n, dtype=bool)
    p0 = scale * t[:, 0]
    zero = p0 >= 1.0 - 1e-15  # P(0) = 1 - C(0) = 1: c* = 0 (odd phi, sigma_b^2 = 0)
    c[zero] = 0.0
    done |= zero
    # the truncated P(1) must exceed 1 for Newton from c = 1 (else: too close to chi_1 = 1)
    short = ~zero & (scale * t.sum(axis=1) <= 1.0)
    c[short] = np.nan
    done |= short
    for _ in range(maxiter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        p, dp = _series(t[act], c[act])
        f = scale[act] * p - 1.0
        step = f / (scale[act] * dp)
        cn = np.maximum(c[act] - step, 0.0)
        # quadratic convergence: a step below sqrt(rtol) d leaves an error far below rtol d
        conv = (np.abs(step) <= 1e-2 * rtol * (1.0 - cn)) | (np.abs(step) <= 8e-16) | (f <= 0)
        c[act] = cn
        done[act] = conv
    p, dp = _series(t, c)
    d = 1.0 - c
    chic = 1.0 - d * scale * dp
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        ck = c**kk
        err_p = scale * tail * ck * c / d
        err_dp = scale * tail * ((kk + 1) * ck + ck * c / d) / d
        err_c = err_p / (scale * dp)  # shift of the root
        ok = done & ~short & (err_c <= 0.1 * rtol * d) & (d * err_dp <= 0.1 * rtol * np.abs(chic))
    return c, chic, ok


def c_star_series(
    act: Activation, q: np.ndarray, sw2: np.ndarray, sb2: np.ndarray, quad: dict[str, Any],
    rtol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c*, chi_c, ok) for chaotic points at q = q* from the Mehler series (stages ``STAGES``)."""
    n = q.size
    cs = np.full(n, np.nan)
    chic = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    todo = np.arange(n)
    kw = {k: v for k, v in quad.items() if k in ("order", "target")}
    for kmax in STAGES:
        if todo.size == 0:
            break
        try:
            a, second = hermite_coefficients(act, q[todo], kmax, tail_rtol=1e-3 * rtol, **kw)
        except ValueError:
            # the series' rule exceeds the node buffer (an oscillating phi at large q*):
            # these points are left to the 2-D quadrature
            break
        t, tail, kk = tail_sums(a, second, 1e-3 * rtol)
        t = t[:, : int(kk.max()) + 1]
        v = sw2[todo] * second + sb2[todo]
        c, x, good = solve_series(t, tail, kk, sw2[todo], v, rtol)
        cs[todo], chic[todo] = c, x
        ok[todo[good]] = True
        todo = todo[~good]
    return cs, chic, ok
