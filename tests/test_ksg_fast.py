"""The compiled KSG path (deeptheory.kernels.knn) against an independent O(N^2) numpy KSG.

Kraskov, Stoegbauer & Grassberger (2004), eqs. (8) and (9), max norm.  The reference below
builds the full distance matrices and takes, for each sample, its k nearest *other*
samples by a stable sort (ties at equal distance: lower index first), so it defines the
estimator on tied data too:

* algorithm 1: eps_i = k-th smallest joint distance, n_x = #{j != i : dx_ij < eps_i};
* algorithm 2: eps_x(i) = largest x-distance to the k neighbours,
  n_x = #{j != i : dx_ij <= eps_x(i)}.

The library must reproduce these counts exactly (not just the estimate to rounding), on
continuous data, on data with ties and duplicated points (jitter=0), serially and on
threads, for every code path: 1-D marginal counts (sorted galloping) and d-dimensional
ones (tree range counts), the exact-median and sampled-pivot tree splits, one-leaf trees.
"""

from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pytest
from scipy.special import digamma

from deeptheory.infotheory import add_jitter, ksg_mi
from deeptheory.infotheory._ksg import _ksg_counts
from deeptheory.kernels import knn
from deeptheory.kernels._threads import forced


def brute_counts(x: np.ndarray, y: np.ndarray, k: int, algorithm: int):
    """(n_x, n_y, eps) by brute force: full distance matrices and a stable sort."""
    n = x.shape[0]
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    order = np.argsort(dz, axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    eps = dz[rows[:, 0], order[:, -1]]
    off = ~np.eye(n, dtype=bool)
    if algorithm == 1:
        nx = ((dx < eps[:, None]) & off).sum(1)
        ny = ((dy < eps[:, None]) & off).sum(1)
    else:
        ex = dx[rows, order].max(1)
        ey = dy[rows, order].max(1)
        nx = ((dx <= ex[:, None]) & off).sum(1)
        ny = ((dy <= ey[:, None]) & off).sum(1)
    return nx, ny, eps


def brute_ksg(x: np.ndarray, y: np.ndarray, k: int, algorithm: int) -> float:
    n = x.shape[0]
    nx, ny, _ = brute_counts(x, y, k, algorithm)
    if algorithm == 1:
        return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))
    return float(digamma(k) - 1 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny)))


def _2d(a):
    a = np.asarray(a, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def check(x, y, k, algorithm, brute=None, **kw):
    """Library counts equal the brute-force ones exactly, the estimate to 1e-12.
    ``brute``: (brute_counts, brute_ksg) if already computed."""
    xx, yy = _2d(x), _2d(y)
    nx, ny, eps = _ksg_counts(xx, yy, k, algorithm, kw.get("workers", -1))
    if brute is None:
        brute = brute_counts(xx, yy, k, algorithm), brute_ksg(xx, yy, k, algorithm)
    (bx, by, beps), bv = brute
    np.testing.assert_array_equal(eps, beps)
    np.testing.assert_array_equal(nx, bx)
    np.testing.assert_array_equal(ny, by)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero radii on duplicated data
        v = ksg_mi(x, y, k, algorithm=algorithm, jitter=0, **kw)
    assert v == pytest.approx(bv, rel=1e-12, abs=1e-12)
    return v


def gaussian(n, dx, dy, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dx + dy))
    z[:, dx:] += 0.7 * z[:, :1]
    return z[:, :dx], z[:, dx:]


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("dims", [(1, 1), (1, 3), (2, 2), (3, 1), (5, 5)])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_continuous_data_matches_brute_force(algorithm, dims, k):
    x, y = gaussian(240, *dims, seed=sum(dims) + 10 * k)
    check(x, y, k, algorithm)


@pytest.mark.parametrize("algorithm", [1, 2])
def test_heavy_tails_and_mixed_scales(algorithm):
    # (x^3, e^y) and columns of very different scales: boxes of every aspect ratio
    x, y = gaussian(300, 2, 2, seed=3)
    check(x**3, np.exp(y), 3, algorithm)
    check(1e6 * x, 1e-6 * y, 4, algorithm)


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("kind", ["integer", "rounded", "repeated_rows", "constant_x"])
def test_ties_and_duplicates_match_brute_force(algorithm, kind):
    # jitter=0 keeps every tie: equal distances at the k-th neighbour, zero radii,
    # duplicated points; the counts must still agree exactly
    rng = np.random.default_rng(21)
    if kind == "integer":
        x = rng.integers(0, 4, (250, 2)).astype(float)
        y = rng.integers(0, 3, (250, 1)).astype(float)
    elif kind == "rounded":
        x = np.round(rng.standard_normal(250), 1)
        y = np.round(x + rng.standard_normal(250), 1)
    elif kind == "repeated_rows":
        x0, y0 = gaussian(80, 1, 2, seed=4)
        x, y = np.repeat(x0, 3, axis=0), np.repeat(y0, 3, axis=0)
    else:
        x = np.full(200, 2.5)
        y = rng.standard_normal(200)
    for k in (1, 3):
        check(x, y, k, algorithm)


def test_zero_radius_warning_kept():
    x = np.repeat(np.arange(20.0), 5)
    with pytest.warns(RuntimeWarning, match="zero k-NN radius"):
        ksg_mi(x, x, 3, jitter=0)


@pytest.mark.parametrize("algorithm", [1, 2])
def test_default_jitter_is_brute_force_on_jittered_data(algorithm):
    rng = np.random.default_rng(8)
    x = np.round(rng.standard_normal((300, 2)), 1)
    y = np.round(x[:, :1] + rng.standard_normal((300, 1)), 1)
    xj, yj = add_jitter(x, y, 1e-10, seed=5)
    assert ksg_mi(x, y, 3, algorithm=algorithm, seed=5) == pytest.approx(
        brute_ksg(xj, yj, 3, algorithm), rel=1e-12)


# ----------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("dims", [(1, 1), (2, 3)])
def test_serial_threaded_and_sampled_splits_agree(algorithm, dims):
    # N > 2 * knn._APPROX_SPLIT: the top of every tree is split by sampled pivots, the
    # rest at exact medians; every thread setting gives the brute-force counts.
    n = 2 * knn._APPROX_SPLIT + 300
    x, y = gaussian(n, *dims, seed=7)
    brute = brute_counts(x, y, 3, algorithm), brute_ksg(x, y, 3, algorithm)
    values = set()
    for mode in ("serial", "parallel"):
        with forced(mode):
            for workers in (1, 2, -1):
                values.add(check(x, y, 3, algorithm, brute, workers=workers))
    assert len(values) == 1


def _threaded_value(seed):
    x, y = gaussian(20_000, 1, 1, seed=seed)
    with forced("parallel"):
        return ksg_mi(x, y, 3)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_threads_work_in_a_forked_child():
    # the thread pool is started in this process first; a forked child gets a new one
    expected = _threaded_value(1)
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_threaded_value, [1]).get(timeout=120) == [expected]


@pytest.mark.parametrize("n", [2, 4, 9])
def test_tiny_samples_one_leaf(n):
    # N <= leaf size: the tree is a single leaf; k = N - 1 uses every other point
    x, y = gaussian(n, 1, 2, seed=n)
    for algorithm in (1, 2):
        check(x, y, n - 1, algorithm)
        check(x, y, 1, algorithm)


def test_tree_structure():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5000, 3))
    for mode in ("serial", "parallel"):
        with forced(mode):
            t = knn.MaxNormTree(z, leafsize=8)
        np.testing.assert_array_equal(np.sort(t.perm), np.arange(5000))
        np.testing.assert_array_equal(t.zp, z[t.perm])
        sizes = t.ends[t.first_leaf:] - t.starts[t.first_leaf:]
        assert sizes.min() >= 1 and sizes.sum() == 5000 and sizes.max() <= 16
        # every node's box is the tight box of its rows
        for node in (0, 1, 2, 5, t.first_leaf, t.first_leaf + 77):
            rows = t.zp[t.starts[node]:t.ends[node]]
            np.testing.assert_array_equal(t.lo[node], rows.min(0))
            np.testing.assert_array_equal(t.hi[node], rows.max(0))


# ----------------------------------------------------------------------------- kernels


def _brute_count(a, r, strict):
    d = np.abs(a[:, None, :] - a[None, :, :]).max(-1)
    return (d < r[:, None]).sum(1) if strict else (d <= r[:, None]).sum(1)


@pytest.mark.parametrize("dim", [1, 2, 4])
@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_count_within_odd_radii(dim, mode):
    # zero, negative, infinite, alternately tiny and huge radii (the 1-D kernel guesses
    # each boundary from the previous query's), on data with ties
    rng = np.random.default_rng(dim)
    a = np.round(rng.standard_normal((700, dim)), 1)
    radii = {
        "zero": np.zeros(700),
        "negative": -np.ones(700),
        "inf": np.full(700, np.inf),
        "alternating": np.where(np.arange(700) % 2 == 0, 1e-3, 5.0),
        "random": rng.exponential(0.3, 700),
        "grid": rng.integers(0, 4, 700) * 0.1,
    }
    with forced(mode):
        for name, r in radii.items():
            for strict in (True, False):
                np.testing.assert_array_equal(
                    knn.count_within(a, r, strict=strict, workers=2),
                    _brute_count(a, r, strict), err_msg=f"{name}, strict={strict}")


def test_count_within_sorted_1d_legacy_kernel():
    rng = np.random.default_rng(9)
    xs = np.sort(np.round(rng.standard_normal(300), 1))
    q = np.round(rng.standard_normal(50), 1)
    r = rng.integers(0, 5, 50) * 0.1
    d = np.abs(xs[None, :] - q[:, None])
    np.testing.assert_array_equal(knn.count_within_sorted_1d(xs, q, r, True),
                                  (d < r[:, None]).sum(1))
    np.testing.assert_array_equal(knn.count_within_sorted_1d(xs, q, r, False),
                                  (d <= r[:, None]).sum(1))


@pytest.mark.parametrize("kind", ["normal", "integer", "identical"])
def test_knn_maxnorm_neighbours_in_stable_order(kind):
    rng = np.random.default_rng(11)
    z = {
        "normal": rng.standard_normal((400, 3)),
        "integer": rng.integers(0, 3, (400, 3)).astype(float),
        "identical": np.ones((400, 2)),
    }[kind]
    dz = np.abs(z[:, None, :] - z[None, :, :]).max(-1)
    np.fill_diagonal(dz, np.inf)
    for k in (1, 4):
        r, idx = knn.knn_maxnorm(z, k)
        order = np.argsort(dz, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(idx, order)
        np.testing.assert_array_equal(r, dz[np.arange(400), order[:, -1]])
        # radii only (the KSG algorithm 1 path) and extents (algorithm 2) agree
        t = knn.MaxNormTree(z)
        np.testing.assert_array_equal(t.knn(k, ties=0, neighbours=False)[0], r)
        _, _, ex, ey = t.knn(k, ties=2, dx=1, neighbours=False)
        near = order
        np.testing.assert_array_equal(
            ex, np.abs(z[near, :1] - z[:, None, :1]).max(axis=(1, 2)) * (r > 0))
        np.testing.assert_array_equal(
            ey, np.abs(z[near, 1:] - z[:, None, 1:]).max(axis=(1, 2)) * (r > 0))


def test_bad_kernel_args():
    with pytest.raises(ValueError, match="radius must have one entry"):
        knn.count_within(np.zeros(5), np.zeros(4), strict=True)
    with pytest.raises(ValueError, match="N >= k"):
        knn.knn_maxnorm(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        knn.MaxNormTree(np.zeros((2, 2, 2)))
