"""Tests for deeptheory.dynamics.transport, each against an independent truth.

Truths: brute force over all n! permutations (n <= 7); the sorted matching on the line;
POT's ``ot.emd2`` and replicated-point clouds (a weighted measure with rational weights is a
uniform measure on repeated points); closed forms of W2 between Gaussians in 1-D and for
commuting covariances; Monte Carlo samples with a tolerance derived from the spread over
seeds; exact identities of McCann's interpolation; hand-computed line-shape scores; maps
known to be (a gradient of a convex function, Brenier 1991) or not to be (a rotation) OT
maps; a brute-force loop for the track distance and a constructed case where its bound is
attained.
"""

from __future__ import annotations

import itertools
import math
import sys

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from deeptheory.dynamics.transport import (
    displacement_interpolation,
    gaussian_w2,
    line_shape_score,
    ot_assignment,
    ot_score,
    track_distance,
    track_distance_bound,
    wasserstein2,
)

# 2-D Gaussians used by the Monte Carlo checks (covariances, not standard deviations)
M1, S1 = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
M2, S2 = np.array([1.0, -0.5]), np.array([[0.4, -0.2], [-0.2, 2.0]])


def _brute(x: np.ndarray, y: np.ndarray) -> float:
    c = cdist(x, y, "sqeuclidean")
    perms = np.array(list(itertools.permutations(range(len(x)))))
    return float((c[np.arange(len(x)), perms].sum(axis=1) / len(x)).min())


# --------------------------------------------------------------------------- assignment


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.parametrize("d", [1, 2, 3])
def test_assignment_matches_brute_force(n, d):
    rng = np.random.default_rng(100 * n + d)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.5
    perm, cost = ot_assignment(x, y)
    assert sorted(perm.tolist()) == list(range(n))
    assert cost == pytest.approx(np.mean(np.sum((x - y[perm]) ** 2, axis=1)), rel=1e-14)
    assert cost == pytest.approx(_brute(x, y), rel=1e-12, abs=1e-15)


def test_assignment_on_the_line_equals_hungarian():
    # d = 1 takes the sorted matching; it must reach the Hungarian optimum
    rng = np.random.default_rng(7)
    x, y = rng.standard_t(3, size=300), rng.exponential(size=300)
    _, cost = ot_assignment(x, y)
    c = cdist(x[:, None], y[:, None], "sqeuclidean")
    r, k = linear_sum_assignment(c)
    assert cost == pytest.approx(c[r, k].mean(), rel=1e-12)
    assert wasserstein2(x, y) == pytest.approx(math.sqrt(c[r, k].mean()), rel=1e-12)


def test_assignment_of_a_permuted_copy_is_the_inverse_permutation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 3))
    sigma = rng.permutation(50)
    perm, cost = ot_assignment(x, x[sigma])
    assert cost == 0.0
    np.testing.assert_array_equal(sigma[perm], np.arange(50))


# ----------------------------------------------------- assignment: POT's simplex or scipy


def _lsa_cost(x: np.ndarray, y: np.ndarray) -> float:
    c = cdist(x, y, "sqeuclidean")
    r, k = linear_sum_assignment(c)
    return float(c[r, k].mean())


def _spy_emd(monkeypatch, ot, plan=None, code=None):
    """Count calls of ot.emd; optionally replace its plan and/or its result code."""
    calls = []
    real = ot.emd

    def emd(a, b, m, **kw):
        calls.append(len(a))
        g, log = real(a, b, m, **kw)
        if plan is not None:
            g = plan(len(a))
        if code is not None:
            log = dict(log, result_code=code)
        return g, log

    monkeypatch.setattr(ot, "emd", emd)
    return calls


@pytest.mark.parametrize(("n", "d", "seed"), [(600, 2, 0), (700, 3, 1)])
def test_assignment_by_pot_equals_scipy(monkeypatch, n, d, seed):
    # n >= _EMD_MIN_N: the network simplex (POT) path; same optimal cost as scipy's LSA
    ot = pytest.importorskip("ot")
    from deeptheory.dynamics import transport

    assert n >= transport._EMD_MIN_N
    calls = _spy_emd(monkeypatch, ot)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.3 + 0.5
    perm, cost = ot_assignment(x, y)
    assert calls == [n]
    assert sorted(perm.tolist()) == list(range(n))
    assert cost == pytest.approx(np.mean(np.sum((x - y[perm]) ** 2, axis=1)), rel=1e-14)
    np.testing.assert_allclose(cost, _lsa_cost(x, y), rtol=1e-12)


@pytest.mark.parametrize("n", range(2, 8))
def test_assignment_by_pot_matches_brute_force(monkeypatch, n):
    ot = pytest.importorskip("ot")
    from deeptheory.dynamics import transport

    monkeypatch.setattr(transport, "_EMD_MIN_N", 2)
    calls = _spy_emd(monkeypatch, ot)
    rng = np.random.default_rng(40 + n)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 0.5
    perm, cost = ot_assignment(x, y)
    assert calls == [n]
    assert sorted(perm.tolist()) == list(range(n))
    assert cost == pytest.approx(_brute(x, y), rel=1e-12, abs=1e-15)
    sigma = rng.permutation(n)  # a permuted copy: cost 0, the inverse permutation
    perm, cost = ot_assignment(x, x[sigma])
    assert cost == 0.0
    np.testing.assert_array_equal(sigma[perm], np.arange(n))


def test_assignment_without_pot_uses_scipy(monkeypatch):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(600, 2)), rng.normal(size=(600, 2)) + 0.5
    monkeypatch.setitem(sys.modules, "ot", None)  # import ot -> ImportError
    perm, cost = ot_assignment(x, y)
    assert sorted(perm.tolist()) == list(range(600))
    np.testing.assert_allclose(cost, _lsa_cost(x, y), rtol=1e-12)
    assert wasserstein2(x, y) == pytest.approx(math.sqrt(cost), rel=1e-14)


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (lambda n: np.full((n, n), 1.0 / n), None),  # optimal for the LP, not a permutation
        (lambda n: 0.5 * np.eye(n) + 0.5 * np.eye(n)[::-1], None),  # a mixture of two
        (lambda n: np.eye(n), 2),  # a permutation, but the solver did not reach optimality
        (lambda n: np.zeros((n, n + 1)), None),  # wrong shape
    ],
)
def test_assignment_falls_back_when_pot_plan_is_not_an_optimal_permutation(
    monkeypatch, plan, code
):
    ot = pytest.importorskip("ot")
    from deeptheory.dynamics import transport

    monkeypatch.setattr(transport, "_EMD_MIN_N", 2)
    calls = _spy_emd(monkeypatch, ot, plan=plan, code=code)
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 0.5
    perm, cost = ot_assignment(x, y)
    assert calls == [40]
    assert sorted(perm.tolist()) == list(range(40))
    np.testing.assert_allclose(cost, _lsa_cost(x, y), rtol=1e-12)


# --------------------------------------------------------------------------- W2 with POT


def test_w2_uniform_equals_pot():
    ot = pytest.importorskip("ot")
    for seed, d in [(0, 1), (1, 2), (2, 5)]:
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(60, d)), rng.normal(size=(60, d)) * 1.5 + 1.0
        ref = ot.emd2(np.full(60, 1 / 60), np.full(60, 1 / 60), ot.dist(x, y))
        assert wasserstein2(x, y) == pytest.approx(math.sqrt(ref), rel=1e-10)


def test_w2_weighted_and_unequal_sizes_equal_replicated_clouds():
    pytest.importorskip("ot")
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(6, 2)) + 1.0
    # unequal sizes: 4 x 3 = 6 x 2 = 12 replicated points, uniform, by assignment
    ref = math.sqrt(ot_assignment(np.repeat(x, 3, axis=0), np.repeat(y, 2, axis=0))[1])
    assert wasserstein2(x, y) == pytest.approx(ref, rel=1e-10)
    # rational weights (unnormalised, to check the normalisation): replicate by counts
    ka, kb = np.array([1, 3, 2, 2]), np.array([2, 1, 1, 1, 2, 1])
    ref = math.sqrt(ot_assignment(np.repeat(x, ka, axis=0), np.repeat(y, kb, axis=0))[1])
    assert wasserstein2(x, y, ka, kb) == pytest.approx(ref, rel=1e-10)
    assert wasserstein2(x, y, ka / 8, kb / 8) == pytest.approx(ref, rel=1e-10)


def test_w2_without_pot_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)  # import ot -> ImportError
    x = np.zeros((3, 2))
    with pytest.raises(ImportError, match="pip install pot"):
        wasserstein2(x, np.ones((4, 2)))
    assert wasserstein2(x, np.ones((3, 2))) == pytest.approx(math.sqrt(2))  # no POT needed


# --------------------------------------------------------------------------- Gaussians


def test_gaussian_w2_one_dimensional_closed_form():
    for m1, v1, m2, v2 in [(0.5, 2.0, -0.3, 0.7), (0.0, 1.0, 0.0, 1.0), (3.0, 0.0, 1.0, 4.0)]:
        ref = math.sqrt((m1 - m2) ** 2 + (math.sqrt(v1) - math.sqrt(v2)) ** 2)
        assert gaussian_w2(m1, v1, m2, v2) == pytest.approx(ref, rel=1e-12, abs=1e-7)
        assert gaussian_w2([m1], [[v1]], [m2], [[v2]]) == pytest.approx(ref, rel=1e-12, abs=1e-7)


def test_gaussian_w2_commuting_covariances():
    rng = np.random.default_rng(5)
    d = 4
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    d1, d2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    ref = math.sqrt(np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2))
    assert gaussian_w2(m1, np.diag(d1), m2, np.diag(d2)) == pytest.approx(ref, rel=1e-12)
    s1, s2 = (q * d1) @ q.T, (q * d2) @ q.T
    s1, s2 = 0.5 * (s1 + s1.T), 0.5 * (s2 + s2.T)
    assert gaussian_w2(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-10)


def test_gaussian_w2_identities():
    assert gaussian_w2(M1, S1, M2, S2) == pytest.approx(gaussian_w2(M2, S2, M1, S1), rel=1e-12)
    assert gaussian_w2(M1, S1, M1, S1) < 1e-7
    # a Dirac (zero covariance) to N(m2, S2): W2^2 = |m1 - m2|^2 + tr S2
    ref = math.sqrt(np.sum((M1 - M2) ** 2) + np.trace(S2))
    assert gaussian_w2(M1, np.zeros((2, 2)), M2, S2) == pytest.approx(ref, rel=1e-12)


# Monte Carlo: empirical W2 between two independent n-samples (assignment).  Spread measured
# over seeds while writing this test: 1-D (0.5, 2.0) vs (-0.3, 0.7), n = 2000: sd 0.033 per
# sample, mean bias +0.004 +- 0.002 (400 seeds); 2-D (M1, S1) vs (M2, S2): sd 0.057 at
# n = 500 (40 seeds, bias +0.000 +- 0.009), 0.027 at n = 2000 (20 seeds).  The finite-n bias
# is O(n^{-1/d}) only when the two laws coincide; between distinct laws the leading
# fluctuation is O(n^{-1/2}) with mean zero, which is why it is small here.  The test
# re-measures the spread from its own seeds and allows 5 standard errors of the mean plus a
# bias allowance of 0.01 (1-D) / 0.03 (2-D).


def _mc(sample, true: float, seeds: int, bias: float) -> None:
    vals = np.array([wasserstein2(*sample(np.random.default_rng(s))) for s in range(seeds)])
    sd = vals.std(ddof=1)
    assert 0.0 < sd < 0.2
    assert abs(vals.mean() - true) < 5.0 * sd / math.sqrt(seeds) + bias
    assert np.all(np.abs(vals - true) < 6.0 * sd + bias)


def test_gaussian_w2_monte_carlo_1d():
    true = gaussian_w2(0.5, 2.0, -0.3, 0.7)

    def sample(rng):
        return rng.normal(0.5, math.sqrt(2.0), 2000), rng.normal(-0.3, math.sqrt(0.7), 2000)

    _mc(sample, true, seeds=40, bias=0.01)


def test_gaussian_w2_monte_carlo_2d():
    true = gaussian_w2(M1, S1, M2, S2)

    def sample(rng):
        return rng.multivariate_normal(M1, S1, 500), rng.multivariate_normal(M2, S2, 500)

    _mc(sample, true, seeds=10, bias=0.03)


@pytest.mark.slow
def test_gaussian_w2_monte_carlo_2d_n2000():
    true = gaussian_w2(M1, S1, M2, S2)

    def sample(rng):
        return rng.multivariate_normal(M1, S1, 2000), rng.multivariate_normal(M2, S2, 2000)

    _mc(sample, true, seeds=6, bias=0.02)


# --------------------------------------------------------------------------- McCann


def test_displacement_interpolation_is_a_constant_speed_geodesic():
    rng = np.random.default_rng(21)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) * [2.0, 0.5] + [3.0, 1.0]
    t = np.linspace(0.0, 1.0, 9)
    tracks = displacement_interpolation(x, y, t)
    perm, _ = ot_assignment(x, y)
    assert tracks.shape == (9, 40, 2)
    np.testing.assert_array_equal(tracks[0], x)
    np.testing.assert_allclose(tracks[-1], y[perm], rtol=0, atol=1e-15)
    w = wasserstein2(x, y)
    for tl, cloud in zip(t, tracks, strict=True):
        assert abs(wasserstein2(x, cloud) - tl * w) < 1e-12
    assert abs(wasserstein2(tracks[2], tracks[7]) - (t[7] - t[2]) * w) < 1e-12
    assert displacement_interpolation(x, y, 0.25).shape == (40, 2)


def test_scores_are_exact_on_a_displacement_interpolation():
    rng = np.random.default_rng(22)
    x, y = rng.uniform(size=(60, 3)), rng.normal(size=(60, 3))
    tracks = displacement_interpolation(x, y, np.linspace(0.0, 1.0, 6))
    lss = line_shape_score(tracks)
    assert lss.shape == (60,)
    np.testing.assert_allclose(lss, 1.0, rtol=0, atol=1e-12)
    assert line_shape_score(tracks, mean=True) == pytest.approx(1.0, abs=1e-12)
    for layer in tracks[1:]:
        assert ot_score(x, layer) == 1.0
    assert ot_score(tracks[1], tracks[4]) == 1.0


# --------------------------------------------------------------------------- LSS by hand


def test_line_shape_score_zig_zag_by_hand():
    # unit steps e1, e2, e1: x~(3) - x~(0) = (2, 1), LSS = 3 / sqrt(5); lengths do not matter
    a = np.array([[0, 0], [1, 0], [1, 1], [2, 1]], float)
    b = np.array([[0, 0], [3, 0], [3, 2], [3.5, 2]], float)
    # three sides of a square, unit steps e1, e2, -e1: |sum| = 1, LSS = 3; a straight track
    # with a pause -> 1 (the zero step is skipped); a point that never moves -> 1
    loop = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    pause = np.array([[0, 0], [1, 1], [1, 1], [3, 3]], float)
    still = np.zeros((4, 2))
    tracks = np.stack([a, b, loop, pause, still], axis=1)
    lss = line_shape_score(tracks)
    np.testing.assert_allclose(lss, [3 / math.sqrt(5), 3 / math.sqrt(5), 3.0, 1.0, 1.0], 1e-15)
    back = np.array([[[0.0]], [[1.0]], [[0.0]]])  # forward then back: cancels
    assert line_shape_score(back)[0] == math.inf
    tiny = np.array([[[0.0, 0.0]], [[1.0, 0.0]], [[1.0, 1e-9]], [[2.0, 1e-9]]])
    assert line_shape_score(tiny)[0] == pytest.approx(3 / math.sqrt(5))
    assert line_shape_score(tiny, atol=1e-6)[0] == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(0)
    assert np.all(line_shape_score(rng.normal(size=(7, 30, 3))) >= 1.0)


# --------------------------------------------------------------------------- OTS


def test_ot_score_of_a_rotation_is_below_one():
    # x -> R x with R a 90 degree rotation is not cyclically monotone: the optimal assignment
    # between the cloud and its image costs strictly less than the rotation itself
    rng = np.random.default_rng(31)
    x = rng.normal(size=(80, 2))
    r = np.array([[0.0, -1.0], [1.0, 0.0]])
    fx = x @ r.T
    _, best = ot_assignment(x, fx)
    assert best < 0.5 * np.mean(np.sum((x - fx) ** 2, axis=1))
    assert ot_score(x, fx) < 0.2


def test_ot_score_of_a_brenier_map_is_one():
    # f(x) = A x + b with A symmetric positive definite is the gradient of a convex function,
    # hence the OT map between the cloud and its image (Brenier 1991)
    rng = np.random.default_rng(32)
    x = rng.normal(size=(80, 3))
    g = rng.normal(size=(3, 3))
    a = g @ g.T + 0.5 * np.eye(3)
    assert ot_score(x, x @ a + [1.0, -2.0, 0.5]) == 1.0
    # coincident images are compared as points, not indices
    assert ot_score([[0.0], [1.0], [2.0]], [[5.0], [5.0], [6.0]]) == 1.0


# --------------------------------------------------------------------------- track distance


def test_track_distance_matches_a_loop_and_pairs():
    rng = np.random.default_rng(41)
    tracks = rng.normal(size=(5, 9, 2))
    dist = track_distance(tracks)
    for i in range(9):
        for j in range(9):
            ref = min(np.linalg.norm(tracks[k, i] - tracks[k, j]) for k in range(5))
            assert dist[i, j] == pytest.approx(ref, rel=1e-13, abs=1e-15)
    pairs = np.array([[0, 3], [8, 2], [4, 4]])
    np.testing.assert_allclose(track_distance(tracks, pairs), dist[pairs[:, 0], pairs[:, 1]])
    assert track_distance(tracks, [1, 2]).shape == (1,)
    x, fx = tracks[0], tracks[-1]
    bound = track_distance_bound(x, fx)
    assert bound[2, 5] == pytest.approx(track_distance_bound(x, fx, pairs=[[2, 5]])[0], rel=1e-13)


def test_track_distance_is_above_the_bound_on_geodesics():
    for seed in range(5):
        rng = np.random.default_rng(50 + seed)
        x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) * 0.7 + [1.5, 0.0]
        tracks = displacement_interpolation(x, y, np.linspace(0.0, 1.0, 11))
        dist = track_distance(tracks)
        bound = track_distance_bound(tracks[0], tracks[-1])
        off = ~np.eye(30, dtype=bool)
        assert np.all(dist[off] >= bound[off] - 1e-12)
        assert np.all(bound[off] > 0)


def test_track_distance_bound_is_attained():
    # a = x1 - x2 = (2, 0), b = f(x1) - f(x2) = (0, 1): a . b = 0, so both assignments are
    # optimal (f is an OT map); the closest approach is at t* = |a|^2/(|a|^2 + |b|^2) = 0.8,
    # distance |(0.4, 0.8)| = 2/sqrt(5) = the bound, and t = 0.8 is a layer of the grid
    x = np.array([[0.0, 0.0], [-2.0, 0.0]])
    fx = np.array([[1.0, 1.0], [1.0, 0.0]])
    t = np.linspace(0.0, 1.0, 6)[:, None, None]
    tracks = (1.0 - t) * x + t * fx
    assert track_distance(tracks, [0, 1])[0] == pytest.approx(2 / math.sqrt(5), rel=1e-14)
    assert track_distance_bound(x, fx, [0, 1])[0] == pytest.approx(2 / math.sqrt(5), rel=1e-14)
    # the hypothesis matters: x -> -x is not monotone and its tracks meet at t = 1/2
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    t = np.linspace(0.0, 1.0, 5)[:, None, None]
    tracks = (1.0 - t) * x + t * (-x)
    assert track_distance(tracks, [0, 1])[0] < 1e-15
    assert track_distance_bound(x, -x, [0, 1])[0] == pytest.approx(math.sqrt(2))


# --------------------------------------------------------------------------- bad input


def _raises(match, fn, *args, **kw):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kw)


def test_bad_input_names_the_argument():
    x, y = np.zeros((4, 2)), np.ones((4, 2))
    nan = x.copy()
    nan[1, 0] = np.nan
    _raises("^x ", ot_assignment, nan, y)
    _raises("^y ", ot_assignment, x, np.full((4, 2), np.inf))
    _raises("same dimension", ot_assignment, x, np.ones((4, 3)))
    _raises("wasserstein2", ot_assignment, x, np.ones((5, 2)))
    _raises("^x ", ot_assignment, np.zeros((2, 2, 2)), y)
    _raises("^a ", wasserstein2, x, y, [1, 1, -1, 1])
    _raises("^b ", wasserstein2, x, y, None, [1, 1, 1])
    _raises("^t ", displacement_interpolation, x, y, [0.0, 1.5])
    _raises("^t ", displacement_interpolation, x, y, -0.1)
    _raises("^t ", displacement_interpolation, x, y, np.nan)
    _raises("number of points", displacement_interpolation, x, np.ones((3, 2)), 0.5)
    _raises("^S1 ", gaussian_w2, M1, [[1.0, 0.0], [0.0, -0.1]], M2, S2)
    _raises("^S2 ", gaussian_w2, M1, S1, M2, [[1.0, 2.0], [2.0, 1.0]])  # eigenvalue -1
    _raises("^S2 ", gaussian_w2, M1, S1, M2, [[1.0, 0.5], [0.0, 1.0]])  # not symmetric
    _raises("^S1 ", gaussian_w2, M1, np.eye(3), M2, S2)
    _raises("^m2 ", gaussian_w2, M1, S1, [1.0, 2.0, 3.0], S2)
    _raises("^m1 ", gaussian_w2, [np.nan, 0.0], S1, M2, S2)
    _raises("^S1 ", gaussian_w2, 0.0, -1.0, 0.0, 1.0)
    _raises("^tracks ", line_shape_score, np.zeros((1, 3, 2)))
    _raises("^tracks ", line_shape_score, np.zeros((3, 2)))
    _raises("^tracks ", line_shape_score, np.full((3, 2, 2), np.nan))
    _raises("^atol ", line_shape_score, np.zeros((3, 2, 2)), atol=-1.0)
    _raises("^fx ", ot_score, x, np.ones((5, 2)))
    _raises("^fx ", ot_score, x, nan)
    _raises("^tracks ", track_distance, np.zeros((3, 2)))
    _raises("^pairs ", track_distance, np.zeros((3, 4, 2)), [[0, 4]])
    _raises("^pairs ", track_distance, np.zeros((3, 4, 2)), [[0, 1, 2]])
    _raises("^fx ", track_distance_bound, x, np.ones((5, 2)))
    with pytest.raises(TypeError, match="pairs"):
        track_distance(np.zeros((3, 4, 2)), [[0.5, 1.0]])
