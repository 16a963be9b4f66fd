"""Max-norm nearest-neighbour geometry: k-th neighbour radii and neighbour counts.

Generic geometry for k-NN estimators (the estimators themselves live elsewhere):

* :func:`knn_maxnorm` -- for each row z_i of an (N, d) sample, the max-norm
  (Chebyshev) distance to its k-th nearest *other* row and the indices of its k
  nearest other rows (ties at equal distance: lower index first).
* :func:`count_within` -- for each row x_i and radius r_i, the number of rows x_j
  of the same sample (x_i itself included) with ``max_d |x_jd - x_id| < r_i``
  (``strict=True``) or ``<= r_i`` (``strict=False``).
* :class:`MaxNormTree` -- the compiled k-d tree behind both, for callers that
  query one sample several times (the KSG estimator).

Algorithms (all compiled with Numba, ``cache=True``):

* **k-d tree.** A balanced tree in implicit heap layout (node n has children 2n+1,
  2n+2; the leaves are one level, each holding a contiguous block of the rows, which
  are copied in tree order).  A node is split along the widest side of its tight
  bounding box: nodes of more than 1024 rows by one Hoare partition around the median
  of 127 sampled values (leaf sizes then vary by about 2x), smaller ones at the exact
  median (quickselect); every node stores its tight box.  A k-NN query for a sample
  point first scans its own leaf, then walks up the tree, searching each sibling
  subtree depth first (nearer child first) and pruning boxes whose max-norm distance
  from the query is beyond the current k-th distance; the k best distances are kept
  by a branch-free min/max insertion network when only the radius is needed.  Queries
  run leaf by leaf in tree order, so the memory they touch is local.  A range count
  adds the size of every node whose box lies entirely inside the radius without
  visiting its points, so its cost grows with the surface of the ball, not with the
  count.
* **1-D counts.** In one dimension the sample is sorted and the queries run in sorted
  order.  Each side's boundary is guessed from the previous query's count scaled by
  the ratio of the radii, bracketed by galloping from the guess and located by a
  branch-free binary search: a few local steps per query instead of two binary
  searches over the whole array.

Measured alternatives (2-core machine, serial CPU time, Gaussian pairs, k = 3): a sorted
sweep in x with max-norm pruning (the classic 2-D method) took 3.6x, 10x and 31x the
tree's build + k-NN time at N = 1e4, 1e5, 1e6 (its window holds ~sqrt(N) points); the
tree is used in every dimension.

Exactness: every distance is the float value ``max_d abs(a_d - b_d)`` (the same
number a brute-force ``np.abs(a - b).max()`` gives), and every comparison with a
radius is made on exactly that value.  Box tests bound the distance of the points
inside a box by distances to the box's corners, which are data values, using only
that floating subtraction is monotone, so pruning never drops a point that the
brute force would count.  Counts therefore agree exactly with an O(N^2) double loop,
ties included, and radii are the exact k-th smallest distances.

Threads: a kernel runs serially unless its estimated serial time is worth a
fork-join (:func:`deeptheory.kernels._threads.use_parallel`, the ``_NS_*`` costs
below); then it runs as blocks of leaves (or sorted positions, or subtrees for the
build) on a pool of Python threads, the compiled kernels releasing the GIL.  Threads
block rather than spin while waiting, and nothing is compiled with ``parallel=True``
(a cold first call compiles about 7 CPU-s instead of about twice that).  ``workers``
(-1: Numba's thread count, 1: serial, n: at most n) limits the threads for one call.
Every block writes its own outputs, so results do not depend on the thread count.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, prange  # prange: the legacy count_within_sorted_1d

from ._threads import use_parallel

__all__ = [
    "knn_maxnorm",
    "count_within",
    "count_within_sorted_1d",
    "count_within_1d",
    "MaxNormTree",
]

_INF = np.inf
_BIG = np.iinfo(np.int64).max


def _as_2d(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples x dims), got shape {a.shape}")
    return np.ascontiguousarray(a)


# ----------------------------------------------------------------------------- tree build


@njit(cache=True, nogil=True)
def _select_rows(zw, perm, s, e, m, c):  # pragma: no cover - compiled
    """Reorder rows [s, e) of zw (and perm) so that row m holds the m-th smallest in column
    c, rows before it <= and rows after it >= (Hoare selection, median-of-3 pivot)."""
    d = zw.shape[1]
    lo = s
    hi = e - 1
    while hi > lo:
        a = zw[lo, c]
        b = zw[(lo + hi) >> 1, c]
        g = zw[hi, c]
        if a > b:
            a, b = b, a
        if b > g:
            b = g
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while zw[i, c] < pivot:
                i += 1
            while zw[j, c] > pivot:
                j -= 1
            if i <= j:
                if i != j:
                    for t in range(d):
                        tmp = zw[i, t]
                        zw[i, t] = zw[j, t]
                        zw[j, t] = tmp
                    tp = perm[i]
                    perm[i] = perm[j]
                    perm[j] = tp
                i += 1
                j -= 1
        if m <= j:
            hi = j
        elif m >= i:
            lo = i
        else:
            break


@njit(cache=True, nogil=True)
def _partition_rows(zw, perm, s, e, c):  # pragma: no cover - compiled
    """One Hoare partition of rows [s, e) around the median of 127 evenly spaced sampled
    values of column c; returns m with rows [s, m) <= pivot <= rows [m, e), both parts
    non-empty (a near-median split at a third of the cost of an exact selection)."""
    d = zw.shape[1]
    ns = 127
    smp = np.empty(ns)
    step = (e - s) // ns
    for t in range(ns):
        smp[t] = zw[s + step // 2 + t * step, c]
    # median of the sample by Hoare selection
    mid = ns >> 1
    a = 0
    b = ns - 1
    while b > a:
        pv = smp[(a + b) >> 1]
        i = a
        j = b
        while i <= j:
            while smp[i] < pv:
                i += 1
            while smp[j] > pv:
                j -= 1
            if i <= j:
                tmp = smp[i]
                smp[i] = smp[j]
                smp[j] = tmp
                i += 1
                j -= 1
        if mid <= j:
            b = j
        elif mid >= i:
            a = i
        else:
            break
    pivot = smp[mid]
    i = s - 1
    j = e
    while True:
        i += 1
        while zw[i, c] < pivot:
            i += 1
        j -= 1
        while zw[j, c] > pivot:
            j -= 1
        if i >= j:
            break
        for t in range(d):
            tmp = zw[i, t]
            zw[i, t] = zw[j, t]
            zw[j, t] = tmp
        tp = perm[i]
        perm[i] = perm[j]
        perm[j] = tp
    return j + 1


#: nodes with more rows than this are split by one sampled-pivot partition (leaf sizes then
#: vary by about a factor 2 around the mean); smaller ones at their exact median
_APPROX_SPLIT = 1024


@njit(cache=True, nogil=True)
def _build_node(zw, perm, starts, ends, lo, hi, node, leaf):  # pragma: no cover - compiled
    """Tight box of a node; for an inner node, the split of its rows (near the median of
    the widest side) and the ranges of its two children."""
    d = zw.shape[1]
    s = starts[node]
    e = ends[node]
    if e <= s:  # empty node (cannot arise from the splits below; kept safe): never visited
        for c in range(d):
            lo[node, c] = _INF
            hi[node, c] = -_INF
    else:
        for c in range(d):
            mn = zw[s, c]
            mx = mn
            for j in range(s + 1, e):
                v = zw[j, c]
                mn = v if v < mn else mn
                mx = v if v > mx else mx
            lo[node, c] = mn
            hi[node, c] = mx
    if leaf:
        return
    best = 0
    wid = hi[node, 0] - lo[node, 0]
    for c in range(1, d):
        w = hi[node, c] - lo[node, c]
        if w > wid:
            wid = w
            best = c
    if e - s > _APPROX_SPLIT:
        m = _partition_rows(zw, perm, s, e, best)
    else:
        m = s + ((e - s) >> 1)
        if e - s > 1:
            _select_rows(zw, perm, s, e, m, best)
    starts[2 * node + 1] = s
    ends[2 * node + 1] = m
    starts[2 * node + 2] = m
    ends[2 * node + 2] = e


@njit(cache=True, nogil=True)
def _build_subtree(zw, perm, starts, ends, lo, hi, root, level, depth):  # pragma: no cover
    """Build the subtree of ``root`` (at ``level``) down to the leaves at ``depth``."""
    for t in range(depth - level + 1):
        first = ((root + 1) << t) - 1
        for node in range(first, first + (1 << t)):
            _build_node(zw, perm, starts, ends, lo, hi, node, level + t == depth)


@njit(cache=True, nogil=True)
def _build_top(zw, perm, starts, ends, lo, hi, top, depth):  # pragma: no cover - compiled
    """Levels 0..top-1 (inner nodes; the leaves if top > depth)."""
    for level in range(min(top, depth + 1)):
        first = (1 << level) - 1
        for node in range(first, 2 * first + 1):
            _build_node(zw, perm, starts, ends, lo, hi, node, level == depth)


@njit(cache=True, nogil=True)
def _build_subtrees(zw, perm, starts, ends, lo, hi, t0, t1, level, depth):  # pragma: no cover
    """The subtrees of the nodes number t0..t1-1 of ``level``, down to the leaves."""
    for t in range(t0, t1):
        _build_subtree(zw, perm, starts, ends, lo, hi, (1 << level) - 1 + t, level, depth)


# ----------------------------------------------------------------------------- k-NN


@njit(cache=True, nogil=True, inline="always")
def _box_gap(lo, hi, node, zp, p, d):  # pragma: no cover - compiled
    """Max-norm distance from row p to a node's box (a lower bound for its points)."""
    md = 0.0
    for c in range(d):
        q = zp[p, c]
        g = lo[node, c] - q
        g2 = q - hi[node, c]
        if g2 > g:
            g = g2
        if g > md:
            md = g
    return md


@njit(cache=True, nogil=True, inline="always")
def _scan_leaf(zp, perm, p, s, e, d, k, ties, bd, bi, bp):  # pragma: no cover - compiled
    """Offer rows [s, e) (row p excluded) to the sorted k-best lists (bd, bi, bp)."""
    for j in range(s, e):
        if j == p:
            continue
        dist = 0.0
        for c in range(d):
            v = abs(zp[j, c] - zp[p, c])
            if v > dist:
                dist = v
        kth = bd[k - 1]
        if dist > kth:
            continue
        oj = perm[j]
        if dist == kth and (ties == 0 or oj > bi[k - 1]):
            continue
        # insertion into the sorted lists, order (distance, original index)
        t = k - 1
        while t > 0 and (bd[t - 1] > dist or (bd[t - 1] == dist and bi[t - 1] > oj)):
            bd[t] = bd[t - 1]
            bi[t] = bi[t - 1]
            bp[t] = bp[t - 1]
            t -= 1
        bd[t] = dist
        bi[t] = oj
        bp[t] = j


@njit(cache=True, nogil=True, inline="always")
def _scan_leaf_r(zp, p, s, e, d, k, bd):  # pragma: no cover - compiled
    """Offer rows [s, e) (row p excluded) to the sorted k smallest distances bd, without
    branches: each distance goes through a min/max insertion network."""
    for j in range(s, e):
        dist = 0.0
        for c in range(d):
            v = abs(zp[j, c] - zp[p, c])
            dist = v if v > dist else dist
        dist = _INF if j == p else dist
        for t in range(k - 1, 0, -1):
            a = bd[t - 1]
            m = a if a > dist else dist
            b = bd[t]
            bd[t] = b if b < m else m
        b = bd[0]
        bd[0] = b if b < dist else dist


@njit(cache=True, nogil=True)
def _knn_leaves(zp, perm, starts, ends, lo, hi, first_leaf, l0, l1, k, ties, dx,
                eps, ex, ey, nbr):  # pragma: no cover - compiled
    """k-NN of every row p in leaves l0..l1-1 (leaf numbers from 0); outputs indexed by p
    (tree order)."""
    d = zp.shape[1]
    bd = np.empty(k)
    bi = np.empty(k, dtype=np.int64)
    bp = np.empty(k, dtype=np.int64)
    stack = np.empty(256, dtype=np.int64)
    sgap = np.empty(256)
    for leaf in range(l0, l1):
        node_l = first_leaf + leaf
        s = starts[node_l]
        e = ends[node_l]
        for p in range(s, e):
            for t in range(k):
                bd[t] = _INF
                bi[t] = _BIG
                bp[t] = -1
            if ties == 0:
                _scan_leaf_r(zp, p, s, e, d, k, bd)
            else:
                _scan_leaf(zp, perm, p, s, e, d, k, ties, bd, bi, bp)
            node = node_l
            while node > 0:
                sib = node + 1 if node & 1 else node - 1
                node = (node - 1) >> 1
                g = _box_gap(lo, hi, sib, zp, p, d)
                top = 0
                stack[0] = sib
                sgap[0] = g
                top = 1
                while top > 0:
                    top -= 1
                    nd = stack[top]
                    g = sgap[top]
                    kth = bd[k - 1]
                    # ties == 2: lower index first, except among duplicates at distance 0
                    if g > kth or (g == kth and (ties == 0 or (ties == 2 and kth == 0.0))):
                        continue
                    if nd >= first_leaf:
                        if ties == 0:
                            _scan_leaf_r(zp, p, starts[nd], ends[nd], d, k, bd)
                        else:
                            _scan_leaf(zp, perm, p, starts[nd], ends[nd], d, k, ties, bd, bi,
                                       bp)
                    else:
                        c1 = 2 * nd + 1
                        g1 = _box_gap(lo, hi, c1, zp, p, d)
                        g2 = _box_gap(lo, hi, c1 + 1, zp, p, d)
                        if g1 <= g2:
                            stack[top] = c1 + 1
                            sgap[top] = g2
                            stack[top + 1] = c1
                            sgap[top + 1] = g1
                        else:
                            stack[top] = c1
                            sgap[top] = g1
                            stack[top + 1] = c1 + 1
                            sgap[top + 1] = g2
                        top += 2
            eps[p] = bd[k - 1]
            if nbr.shape[0] > 0:
                for t in range(k):
                    nbr[p, t] = bi[t]
            if ex.shape[0] > 0:
                mx = 0.0
                my = 0.0
                for t in range(k):
                    j = bp[t]
                    for c in range(dx):
                        v = abs(zp[j, c] - zp[p, c])
                        if v > mx:
                            mx = v
                    for c in range(dx, d):
                        v = abs(zp[j, c] - zp[p, c])
                        if v > my:
                            my = v
                ex[p] = mx
                ey[p] = my


# ----------------------------------------------------------------------------- range counts


@njit(cache=True, nogil=True)
def _count_leaves(zp, perm, starts, ends, lo, hi, first_leaf, l0, l1, r, strict,
                  out):  # pragma: no cover - compiled
    """out[p] = #{j : maxdist(j, p) < r[p]} (or <=) for rows p of leaves l0..l1-1 (tree
    order)."""
    d = zp.shape[1]
    stack = np.empty(256, dtype=np.int64)
    for leaf in range(l0, l1):
        node_l = first_leaf + leaf
        for p in range(starts[node_l], ends[node_l]):
            rr = r[p]
            if strict and not rr > 0.0:
                out[p] = 0
                continue
            cnt = 0
            stack[0] = 0
            top = 1
            while top > 0:
                top -= 1
                nd = stack[top]
                outside = False
                inside = True
                for c in range(d):
                    q = zp[p, c]
                    a = lo[nd, c] - q
                    b = q - hi[nd, c]
                    g = a if a > b else b
                    if strict:
                        if g >= rr:
                            outside = True
                            break
                    elif g > rr:
                        outside = True
                        break
                    if inside:
                        a = abs(a)
                        b = abs(b)
                        f = a if a > b else b
                        if strict:
                            if not f < rr:
                                inside = False
                        elif not f <= rr:
                            inside = False
                if outside:
                    continue
                if inside:
                    cnt += ends[nd] - starts[nd]
                elif nd >= first_leaf:
                    for j in range(starts[nd], ends[nd]):
                        dist = 0.0
                        for c in range(d):
                            v = abs(zp[j, c] - zp[p, c])
                            dist = v if v > dist else dist
                        cnt += (dist < rr) if strict else (dist <= rr)
                else:
                    stack[top] = 2 * nd + 1
                    stack[top + 1] = 2 * nd + 2
                    top += 2
            out[p] = cnt


# ----------------------------------------------------------------------------- 1-D counts


@njit(cache=True, nogil=True)
def _beyond(dd, ri, strict):  # pragma: no cover - compiled
    return dd >= ri if strict else dd > ri


@njit(cache=True, nogil=True)
def _count_sorted_range(xs, rs, strict, p0, p1, out):  # pragma: no cover - compiled
    """out[p] = #{j : |xs[j] - xs[p]| < rs[p]} (or <=) for sorted positions p0..p1-1.

    Each side's boundary is guessed from the previous query's count on that side scaled
    by the ratio of the radii, bracketed by galloping from the guess and found by a
    branch-free binary search.  The predicates are monotone in j (floating subtraction is
    monotone), so the counts are exact whatever the guess.
    """
    n = xs.shape[0]
    cu = 1.0
    cl = 1.0
    rprev = 0.0
    for p in range(p0, p1):
        ri = rs[p]
        q = xs[p]
        if not (ri > 0.0 if strict else ri >= 0.0):
            out[p] = 0
            continue
        fu = 1.0
        fl = 1.0
        if rprev > 0.0 and rprev < _INF and ri < _INF:
            f = ri / rprev
            fu = cu * f
            fl = cl * f
        rprev = ri
        # upper: first j > p beyond the radius.  a inside (xs[p] - q = 0 is), b beyond or n
        g = p + 1 + int(fu) if fu < n - p - 1 else n
        if g < n and not _beyond(xs[g] - q, ri, strict):
            a = g
            step = 1
            while a + step < n and not _beyond(xs[a + step] - q, ri, strict):
                a += step
                step <<= 1
            b = min(a + step, n)
        else:
            b = g
            step = 1
            while b - step > p and _beyond(xs[b - step] - q, ri, strict):
                b -= step
                step <<= 1
            a = max(b - step, p)
        ln = b - a
        base = a
        while ln > 1:
            half = ln >> 1
            m = base + half
            base = base if _beyond(xs[m] - q, ri, strict) else m
            ln -= half
        upper = base + 1
        # lower: first j <= p inside the radius.  a outside or -1, b inside
        g = p - 1 - int(fl) if fl < p else -1
        if g >= 0 and not _beyond(q - xs[g], ri, strict):
            b = g
            step = 1
            while b - step >= 0 and not _beyond(q - xs[b - step], ri, strict):
                b -= step
                step <<= 1
            a = max(b - step, -1)
        else:
            a = g
            step = 1
            while a + step < p and _beyond(q - xs[a + step], ri, strict):
                a += step
                step <<= 1
            b = min(a + step, p)
        ln = b - a
        base = b
        while ln > 1:
            half = ln >> 1
            m = base - half
            base = base if _beyond(q - xs[m], ri, strict) else m
            ln -= half
        cu = upper - p - 1.0
        cl = p - base + 0.0
        out[p] = upper - base


@njit(cache=True, parallel=True)
def count_within_sorted_1d(xs, q, r, strict):  # pragma: no cover - compiled
    """#{j : |xs[j] - q[i]| < r[i]} (strict) or <= r[i], xs sorted ascending (1-D).

    Two binary searches over the whole array per query (any query points); see
    :func:`count_within_1d` for the faster form when the queries are the sample itself.
    """
    n = xs.shape[0]
    m = q.shape[0]
    out = np.empty(m, dtype=np.int64)
    for i in prange(m):
        qi = q[i]
        ri = r[i]
        lo_ = 0
        hi_ = n
        while lo_ < hi_:
            mid = (lo_ + hi_) >> 1
            d = xs[mid] - qi
            beyond = d >= ri if strict else d > ri
            if beyond:
                hi_ = mid
            else:
                lo_ = mid + 1
        upper = lo_
        lo_ = 0
        hi_ = n
        while lo_ < hi_:
            mid = (lo_ + hi_) >> 1
            d = qi - xs[mid]
            inside = d < ri if strict else d <= ri
            if inside:
                hi_ = mid
            else:
                lo_ = mid + 1
        c = upper - lo_
        out[i] = c if c > 0 else 0
    return out


# ----------------------------------------------------------------------------- dispatch

# Serial CPU cost (ns) behind the choice of serial or threaded runs
# (deeptheory.kernels._threads.use_parallel), measured on the 2-core machine at N = 1e4-1e6
# for Gaussian samples with k = 3: build 7.4 ns per point, level and dimension; k-NN 140,
# 290, 1200-2000 ns per point and dimension in 2, 4, 10 dimensions (~ 70 * 2**(d/2));
# 1-D counts ~100 ns per point; tree counts 790 (2-D) and 2700 (5-D) ns per point and
# dimension (~ 300 * 2**(d/2)).
_NS_BUILD = 8.0
_NS_KNN = 70.0
_NS_COUNT_1D = 100.0
_NS_COUNT = 300.0

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the parent's pool threads do not exist: start a new pool there."""
    global _POOL, _POOL_SIZE, _POOL_LOCK
    _POOL, _POOL_SIZE, _POOL_LOCK = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _nthreads(workers: int | None, work_ns: float) -> int:
    """Threads for one kernel: 1 (serial) unless the work is worth it
    (:func:`deeptheory.kernels._threads.use_parallel`); then Numba's thread count, capped
    by ``workers`` (-1 or None: no cap)."""
    if workers == 1 or not use_parallel(work_ns):
        return 1
    nt = numba.get_num_threads()
    if workers is not None and workers > 0:
        nt = min(nt, int(workers))
    return max(1, nt)


#: blocks of a range run one after the other when a progress bar is shown
_N_CHUNKS = 50


def _run(kernel, before: tuple, after: tuple, total: int, nt: int, bar=None,
         weight=None) -> None:
    """``kernel(*before, a, b, *after)`` over [0, total): in one call when ``nt == 1``, else
    as 4 * nt contiguous blocks on a pool of ``nt`` threads (the kernels release the GIL
    and write disjoint outputs, so the result does not depend on the split).

    ``bar`` (a progress bar, or None): the range runs as about ``_N_CHUNKS`` consecutive
    sub-ranges [a, b) of at least 4 * nt items, each split as above, and the bar advances
    by ``weight(a, b)`` (default b - a) after each; the outputs are the same."""
    if bar is None:
        _run_range(kernel, before, after, 0, total, nt)
        return
    size = max(4 * nt, -(-total // _N_CHUNKS), 1)
    for a in range(0, total, size):
        b = min(total, a + size)
        _run_range(kernel, before, after, a, b, nt)
        bar.update(b - a if weight is None else weight(a, b))


def _run_range(kernel, before: tuple, after: tuple, lo: int, hi: int, nt: int) -> None:
    """:func:`_run` over [lo, hi) (no bar)."""
    total = hi - lo
    if nt <= 1 or total < 2:
        kernel(*before, lo, hi, *after)
        return
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < nt:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=nt, thread_name_prefix="deeptheory-knn")
            _POOL_SIZE = nt
        pool = _POOL
    nblock = min(total, 4 * nt)
    edges = [lo + total * i // nblock for i in range(nblock + 1)]
    futures = [pool.submit(kernel, *before, edges[i], edges[i + 1], *after)
               for i in range(nblock) if edges[i] < edges[i + 1]]
    for f in futures:
        f.result()


def count_within_1d(
    x: np.ndarray, radius: np.ndarray, *, strict: bool, order: np.ndarray | None = None,
    workers: int = -1, bar=None,
) -> np.ndarray:
    """1-D neighbour counts of a sample against itself, self included (see :func:`count_within`).

    ``x``: (N,) sample; ``radius``: (N,); ``order``: ``np.argsort(x)`` if already known.
    Queries run in sorted order, each galloping outwards from its own rank.  ``bar``: a
    progress bar advanced by the queries done (blocks of sorted positions; same counts).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    r = np.asarray(radius, dtype=float).reshape(-1)
    n = x.shape[0]
    if r.shape[0] != n:
        raise ValueError(f"radius must have one entry per sample ({n}), got {r.shape[0]}")
    if order is None:
        order = np.argsort(x)
    xs = np.ascontiguousarray(x[order])
    rs = np.ascontiguousarray(r[order])
    outs = np.empty(n, dtype=np.int64)
    _run(_count_sorted_range, (xs, rs, bool(strict)), (outs,), n,
         _nthreads(workers, n * _NS_COUNT_1D), bar)
    out = np.empty(n, dtype=np.int64)
    out[order] = outs
    return out


# ----------------------------------------------------------------------------- the tree


def _depth_for(n: int, leafsize: int) -> int:
    depth = 0
    while -(-n // (1 << depth)) > leafsize:
        depth += 1
    return depth


class MaxNormTree:
    """A compiled, balanced k-d tree over the rows of an (N, d) sample for max-norm queries.

    ``MaxNormTree(z, leafsize=8, workers=-1)``; :meth:`knn` gives k-th neighbour radii
    (and optionally neighbours, and the marginal extents used by KSG algorithm 2),
    :meth:`count` gives neighbour counts within per-point radii.  Queries are the
    sample's own points.  See the module docstring for the algorithm and exactness.
    Attributes: ``zp`` (the rows in tree order), ``perm`` (``zp = z[perm]``).
    ``copy=False`` lets the tree reorder a C-contiguous float64 ``z`` in place (saves a
    copy of a temporary).
    """

    def __init__(self, z: np.ndarray, leafsize: int = 8, workers: int = -1, copy: bool = True):
        zin = z
        z = _as_2d("z", z)
        n, d = z.shape
        if n < 1:
            raise ValueError("z must have at least one row")
        self.n, self.d = n, d
        self.workers = workers
        depth = _depth_for(n, max(1, int(leafsize)))
        nnode = (1 << (depth + 1)) - 1
        self.depth = depth
        self.first_leaf = (1 << depth) - 1
        self.nleaf = 1 << depth
        # copy=False: a C-contiguous float64 z is reordered in place and kept as zp
        zw = z if (not copy and z is zin) else z.copy()
        perm = np.arange(n, dtype=np.int64)
        starts = np.zeros(nnode, dtype=np.int64)
        ends = np.zeros(nnode, dtype=np.int64)
        ends[0] = n
        lo = np.empty((nnode, d))
        hi = np.empty((nnode, d))
        nt = _nthreads(workers, n * (depth + 1) * _NS_BUILD * d)
        # levels 0..top-1 serially, then the 2**top subtrees below them on nt threads
        top = 0
        while (1 << top) < 2 * nt and top < depth:
            top += 1
        if nt == 1:
            top = depth + 1
        _build_top(zw, perm, starts, ends, lo, hi, top, depth)
        if top <= depth:
            _run(_build_subtrees, (zw, perm, starts, ends, lo, hi), (top, depth), 1 << top, nt)
        self.zp, self.perm, self.starts, self.ends, self.lo, self.hi = (
            zw, perm, starts, ends, lo, hi)

    def _to_input_order(self, a: np.ndarray) -> np.ndarray:
        out = np.empty_like(a)
        out[self.perm] = a
        return out

    def knn(self, k: int, *, ties: int = 1, dx: int = -1, neighbours: bool = True,
            bar=None):
        """k-th neighbour radius of every row, and optionally neighbours and extents.

        ``ties``: 0 = radii only (neighbour choice among equal distances unspecified,
        fastest with duplicates); 1 = neighbours ordered by (distance, index);
        2 = as 1 except that among duplicates at radius 0 any are taken.
        ``dx`` >= 0: also return, for each row, the largest max-norm distance to its k
        neighbours in columns [0, dx) and in columns [dx, d) (KSG algorithm 2).
        Returns ``(radius, idx or None, ex or None, ey or None)`` in input order.
        ``bar``: a progress bar advanced by the rows done (blocks of leaves; same output).
        """
        n = self.n
        if k < 1 or n < k + 1:
            raise ValueError(f"need k >= 1 and N >= k + 1, got k={k}, N={n}")
        eps = np.empty(n)
        nbr = np.empty((n, k) if neighbours else (0, k), dtype=np.int64)
        with_ext = dx >= 0
        ex = np.empty(n if with_ext else 0)
        ey = np.empty(n if with_ext else 0)
        _run(_knn_leaves,
             (self.zp, self.perm, self.starts, self.ends, self.lo, self.hi, self.first_leaf),
             (int(k), int(ties), int(max(dx, 0)), eps, ex, ey, nbr), self.nleaf,
             _nthreads(self.workers, n * _NS_KNN * self.d * 2.0 ** (self.d / 2)), bar,
             self._leaf_rows)
        back = self._to_input_order
        return (back(eps), back(nbr) if neighbours else None,
                back(ex) if with_ext else None, back(ey) if with_ext else None)

    def _leaf_rows(self, a: int, b: int) -> int:
        """Rows held by leaves a..b-1 (the weight of a block on a progress bar)."""
        return int(self.ends[self.first_leaf + b - 1] - self.starts[self.first_leaf + a])

    def count(self, radius: np.ndarray, *, strict: bool, bar=None) -> np.ndarray:
        """``out[i] = #{j : max_d |z_jd - z_id| < radius[i]}`` (``<=`` unless ``strict``).
        ``bar``: a progress bar advanced by the rows done (blocks of leaves; same counts)."""
        n = self.n
        r = np.asarray(radius, dtype=float).reshape(-1)
        if r.shape[0] != n:
            raise ValueError(f"radius must have one entry per sample ({n}), got {r.shape[0]}")
        rt = np.ascontiguousarray(r[self.perm])
        out = np.empty(n, dtype=np.int64)
        _run(_count_leaves,
             (self.zp, self.perm, self.starts, self.ends, self.lo, self.hi, self.first_leaf),
             (rt, bool(strict), out), self.nleaf,
             _nthreads(self.workers, n * _NS_COUNT * self.d * 2.0 ** (self.d / 2)), bar,
             self._leaf_rows)
        return self._to_input_order(out)


def knn_maxnorm(z: np.ndarray, k: int, *, workers: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Max-norm distance to the k-th nearest other point, and the k nearest others.

    ``z``: (N, d) or (N,) float sample, N >= k + 1.  Returns ``(radius, idx)`` with
    ``radius[i] = `` the k-th smallest of ``max_d |z_jd - z_id|`` over j != i
    (duplicates of z_i count as neighbours at distance 0) and ``idx`` an (N, k)
    int array of the corresponding neighbours, nearest first, ties at equal distance
    broken by lower index (exactly what a stable sort of the distances gives).
    ``workers``: threads (-1: all).
    """
    z = _as_2d("z", z)
    n = z.shape[0]
    if k < 1 or n < k + 1:
        raise ValueError(f"need k >= 1 and N >= k + 1, got k={k}, N={n}")
    eps, idx, _, _ = MaxNormTree(z, workers=workers).knn(k, ties=1)
    return eps, idx


def count_within(
    x: np.ndarray, radius: np.ndarray, *, strict: bool, workers: int = -1
) -> np.ndarray:
    """Neighbour counts in the max norm, the query point itself included.

    ``x``: (N, d) or (N,) sample; ``radius``: (N,) radii.  Returns an int64 array
    with ``out[i] = #{j : max_d |x_jd - x_id| < radius[i]}`` if ``strict`` else
    ``<= radius[i]``.  With ``strict`` and ``radius[i] = 0`` the count is 0.
    One dimension: sorted galloping counts; more: the compiled tree's range counts.
    """
    x = _as_2d("x", x)
    n, d = x.shape
    r = np.ascontiguousarray(np.asarray(radius, dtype=float).reshape(-1))
    if r.shape[0] != n:
        raise ValueError(f"radius must have one entry per sample ({n}), got {r.shape[0]}")
    if d == 1:
        return count_within_1d(x[:, 0], r, strict=strict, workers=workers)
    return MaxNormTree(x, leafsize=32, workers=workers).count(r, strict=strict)
