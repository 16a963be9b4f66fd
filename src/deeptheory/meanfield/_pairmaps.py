"""Layer maps of two sets of Gaussian variables, for every pair at once (kernel matrices).

For variances q1 (n1,), q2 (n2,) and correlations c (n1, n2) computes, for each
requested derivative level m,

    G_m[i, j] = E[phi^(m)(u_i) phi^(m)(v_j)],   Var u_i = q1[i], Var v_j = q2[j], Corr = c[i, j],

and the diagonals M_m(q) = E[phi^(m)(sqrt(q) z)^2] of both sets.  Three tiers:

1. closed forms (linear, relu, erf; :func:`._gauss.closed_pair`);
2. Mehler's formula with the normalised Hermite coefficients a_k(q) of
   phi^(m)(sqrt(q) z) (:func:`deeptheory.kernels.hermite_coefficients`):
   G_m[i, j] = sum_k a_k(q1_i) a_k(q2_j) c_ij^k, every pair in one compiled
   :func:`deeptheory.kernels.series_gram` call truncated at K terms.  The truncation
   error is bounded by Cauchy-Schwarz,

       |sum_{k > K} a_k(q1_i) a_k(q2_j) c^k| <= |c|^{K+1} sqrt(T_i(K) T_j(K)),

   with the tails T(K) = M - sum_{k <= K} a_k^2 known exactly (the rule returns M from
   the same nodes).  A pair is accepted when this is at most ``rtol`` sqrt(M_i M_j);
   the rest are re-summed with up to ``KMAX_SPARSE`` coefficients and, if the bound still
   fails (large q with |c| near 1: phi(sqrt(q) z) tends to a step), go to
3. the 2-D panel quadrature of :func:`deeptheory.kernels.expect2_joint` (relative
   error below 1e-13) for those pairs only.

Pairs with c = 1 and equal variances are the diagonal itself: M, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..kernels import (
    Activation,
    expect2,
    expect2_joint,
    expect_moments,
    hermite_coefficients,
    series_gram,
)
from ..kernels.quadrature import HERMITE_KMAX
from ._gauss import CLOSED_2D, closed_pair

#: Hermite coefficients computed for every variance: the first stage that resolves every
#: pair (or the last); the dense series runs on at most this many terms
KMAX_STAGES = (96, 256)
#: coefficients for the pairs that the dense series does not resolve
KMAX_SPARSE = HERMITE_KMAX - 2  # room for the Stein shift of two derivative levels
#: truncation ladder of the dense series (the smallest K that loses no pair is used)
_LADDER = (16, 24, 32, 48, 64, 96, 128, 192)
#: at most this many pairs may need the 2-D panel quadrature (about 1 ms each)
MAX_QUAD_PAIRS = 200_000
#: tails are not resolved below this (relative rounding of M - sum a_k^2)
_TAIL_FLOOR = 1e-15


def _tails(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Relative tails tau(K) = (M - sum_{k<=K} a_k^2) / M, non-increasing, >= floor."""
    t = m[:, None] - np.cumsum(a * a, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(m[:, None] > 0, t / m[:, None], 0.0)
    t = np.minimum.accumulate(np.maximum(t, 0.0), axis=1)
    return np.maximum(t, np.where(m[:, None] > 0, _TAIL_FLOOR, 0.0))


#: below this variance the derivative levels are computed directly, not by Stein's identity
#: (which divides by sqrt(q))
_STEIN_QMIN = 1e-3


def _coefficients(act: Activation, q: np.ndarray, levels: Sequence[int], kmax: int,
                  order: int):
    """Per level: coefficients (nq, kmax + 1), diagonals M (nq,), relative tails.

    Levels m >= 1 follow from level 0 by Stein's identity (Gaussian integration by parts),
    E[phi^(m)(sqrt(q) z) He_k(z)] = q^{-m/2} E[phi(sqrt(q) z) He_{k+m}(z)], i.e. for the
    normalised coefficients b_k = sqrt((k+1)(k+2)...(k+m) / q^m) a_{k+m}: one Hermite
    sweep serves every level (their diagonals M come from the 1-D panel rule).  Variances
    below ``_STEIN_QMIN`` get their own sweep per level.
    """
    top = max(levels)
    a0, m0 = hermite_coefficients(act, q, kmax + top, order=order)
    a0, m0 = np.atleast_2d(a0), np.atleast_1d(m0)
    small = q < _STEIN_QMIN
    k = np.arange(kmax + 1, dtype=float)
    out = []
    for m in levels:
        if m == 0:
            a, mm = a0[:, : kmax + 1], m0
        else:
            ratio = np.ones(kmax + 1)
            for j in range(1, m + 1):
                ratio = ratio * (k + j)
            with np.errstate(divide="ignore", invalid="ignore"):
                a = a0[:, m: m + kmax + 1] * np.sqrt(ratio[None, :] / q[:, None] ** m)
            mm = np.atleast_1d(expect_moments(act, q, [(m, m)], order=order)[..., 0])
            if small.any():
                ad, md = hermite_coefficients(act, q[small], kmax, deriv=m, order=order)
                a[small], mm[small] = np.atleast_2d(ad), np.atleast_1d(md)
        out.append((a, mm, _tails(a, mm)))
    return out


def _row_bound(lt1, lt2, logcmax, k):
    """Per row i, an upper bound of the log truncation bound over all columns at K = k."""
    b = np.full(logcmax.shape, -np.inf)
    for l1, l2 in zip(lt1, lt2, strict=True):
        b = np.maximum(b, l1[:, k] + l2[:, k].max() + (2 * k + 2) * logcmax)
    return b


def _pair_bound(lt1, lt2, logc, rows, k):
    """Exact log truncation bound (max over levels) for the pairs of ``rows`` at K = k."""
    b = np.full((rows.size, logc.shape[1]), -np.inf)
    for l1, l2 in zip(lt1, lt2, strict=True):
        b = np.maximum(b, l1[rows, k][:, None] + l2[:, k][None, :] + (2 * k + 2) * logc[rows])
    return b


def pair_maps(
    act: Activation,
    q1: np.ndarray,
    q2: np.ndarray,
    c: np.ndarray,
    levels: Sequence[int] = (0, 1),
    *,
    symmetric: bool = False,
    rtol: float = 1e-10,
    order: int = 12,
    closed: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(G, M1, M2): G[m] (n1, n2) pair maps, M1[m] (n1,), M2[m] (n2,) diagonals per level.

    ``symmetric``: q1 = q2 and c = c^T (a Gram matrix); only its upper triangle is
    computed and the diagonal is M exactly.  ``order``: panel order of the quadrature
    behind the Hermite coefficients, the diagonals and tier 3.
    """
    q1 = np.asarray(q1, dtype=float)
    q2 = np.asarray(q2, dtype=float)
    c = np.clip(np.asarray(c, dtype=float), -1.0, 1.0)
    if closed and act.builtin and act.name in CLOSED_2D:
        g = [closed_pair(act.name, q1[:, None], q2[None, :], c, m) for m in levels]
        m1 = [closed_pair(act.name, q1, q1, 1.0, m) for m in levels]
        m2 = [closed_pair(act.name, q2, q2, 1.0, m) for m in levels]
        return g, m1, m2

    uq, inv = np.unique(np.concatenate([q1, q2]), return_inverse=True)
    i1, i2 = inv[: q1.size], inv[q1.size:]
    same = (c >= 1.0) & (q1[:, None] == q2[None, :])
    if symmetric:
        same |= np.eye(q1.size, dtype=bool)
    with np.errstate(divide="ignore"):
        logc = np.log(np.where(same, 0.0, np.abs(c)))
    logcmax = logc.max(axis=1)
    tol = 2.0 * np.log(rtol)
    for kmax in KMAX_STAGES:
        coef = _coefficients(act, uq, levels, kmax, order)
        with np.errstate(divide="ignore"):
            lt1 = [np.log(t[i1]) for _, _, t in coef]
            lt2 = [np.log(t[i2]) for _, _, t in coef]
        # rows whose loose bound fails at K = kmax get an exact check per pair
        rows = np.nonzero(_row_bound(lt1, lt2, logcmax, kmax) > tol)[0]
        bad = np.zeros(c.shape, dtype=bool)
        if rows.size:
            bad[rows] = _pair_bound(lt1, lt2, logc, rows, kmax) > tol
        if not bad.any():
            break
    m1 = [mm[i1] for _, mm, _ in coef]
    m2 = [mm[i2] for _, mm, _ in coef]
    # the smallest K at which every other row passes its loose bound
    ok_rows = np.ones(q1.size, dtype=bool)
    ok_rows[rows] = False
    k_run = kmax
    for k in _LADDER:
        if k >= kmax:
            break
        if not np.all(_row_bound(lt1, lt2, logcmax, k)[ok_rows] <= tol):
            continue
        if rows.size and ((_pair_bound(lt1, lt2, logc, rows, k) > tol) & ~bad[rows]).any():
            continue
        k_run = k
        break
    a1 = np.stack([a[i1, : k_run + 1] for a, _, _ in coef])
    a2t = np.stack([np.ascontiguousarray(a[i2, : k_run + 1].T) for a, _, _ in coef])
    g = list(series_gram(a1, a2t, c, upper=symmetric))

    for gm, mm in zip(g, m1, strict=True):
        np.copyto(gm, np.broadcast_to(mm[:, None], gm.shape), where=same)
    bad &= ~same
    if symmetric:
        bad = np.triu(bad)
    if bad.any():
        _resolve(act, q1, q2, c, levels, bad, uq, i1, i2, g, rtol, order)
        if symmetric:
            for gm in g:
                il = np.tril_indices(q1.size, -1)
                gm[il] = gm.T[il]
    return g, m1, m2


def _resolve(act, q1, q2, c, levels, bad, uq, i1, i2, g, rtol, order) -> None:
    """Tiers 2 and 3 for the pairs marked in ``bad`` (in place)."""
    ii, jj = np.nonzero(bad)
    need = np.unique(np.concatenate([i1[ii], i2[jj]]))
    coef = _coefficients(act, uq[need], levels, KMAX_SPARSE, order)
    pos = np.full(uq.size, -1)
    pos[need] = np.arange(need.size)
    r1, r2 = pos[i1[ii]], pos[i2[jj]]
    cc = c[ii, jj]
    with np.errstate(divide="ignore"):
        logc = np.log(np.abs(cc))
    ok = np.ones(ii.size, dtype=bool)
    for (a, _, t), gm in zip(coef, g, strict=True):
        acc = np.zeros(ii.size)
        for k in range(KMAX_SPARSE, -1, -1):
            acc = acc * cc + a[r1, k] * a[r2, k]
        gm[ii, jj] = acc
        with np.errstate(divide="ignore"):
            bound = np.log(t[r1, -1]) + np.log(t[r2, -1]) + (2 * KMAX_SPARSE + 2) * logc
        ok &= bound <= 2.0 * np.log(rtol)
    if ok.all():
        return
    ii, jj = ii[~ok], jj[~ok]
    if ii.size > MAX_QUAD_PAIRS:
        raise ValueError(
            f"{ii.size} pairs need the 2-D quadrature (more than {MAX_QUAD_PAIRS}, about 1 ms "
            f"each): their variances are large and their correlations near +-1, where "
            f"phi(sqrt(q) z) is nearly a step; raise rtol or reduce the input scale")
    qa, qb, cc = q1[ii], q2[jj], c[ii, jj]
    # the panel rule's inner Gaussian has width sqrt(1 - c^2): below 1 - |c| = 1e-12 it
    # resolves less than 1e-10 (measured), while rounding c to +-1 moves E by |dE/dc| 1e-12
    cc = np.where(1.0 - np.abs(cc) < 1e-12, np.sign(cc), cc)
    lv = list(levels)
    order = max(order, 12)  # few pairs: the rule's most accurate order (error < 1e-13)
    done: dict[int, np.ndarray] = {}
    if 0 in lv and 1 in lv:
        done[0], done[1] = expect2_joint(act, qa, qb, cc, (0, 0), (1, 1), order=order)
    for m in lv:
        if m not in done:
            done[m] = np.asarray(expect2(act, qa, qb, cc, (m, m), order=order))
    for m, gm in zip(lv, g, strict=True):
        gm[ii, jj] = done[m]


def diagonal_maps(act: Activation, q: np.ndarray, levels: Sequence[int], *, order: int = 12,
                  closed: bool = True) -> list[np.ndarray]:
    """M_m(q) = E[phi^(m)(sqrt(q) z)^2] for each level m (closed form or 1-D panel rule)."""
    q = np.asarray(q, dtype=float)
    if closed and act.builtin and act.name in CLOSED_2D:
        return [closed_pair(act.name, q, q, 1.0, m) for m in levels]
    mom = expect_moments(act, q, [(m, m) for m in levels], order=order)
    return [mom[..., k] for k in range(len(levels))]
