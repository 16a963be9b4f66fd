"""12-bit task, MLP trainer and information plane, against independent checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deeptheory.infotheory.binning import binned_mi
from deeptheory.infotheory.kde import kde_mi_ty, kde_mi_upper
from deeptheory.infotheory.mlp import init_mlp, mlp_gradients, train_mlp
from deeptheory.infotheory.plane import _ranges, information_plane
from deeptheory.infotheory.task12 import icosahedron_points, twelve_bit_task
from deeptheory.kernels import get_activation


def test_icosahedron_geometry():
    """Unit vectors; each vertex has 5 neighbours at p.q = 1/sqrt5, 5 at -1/sqrt5, and its
    antipode at -1 (the regular icosahedron)."""
    p = icosahedron_points()
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-15)
    g = p @ p.T
    for i in range(12):
        vals = np.sort(np.delete(g[i], i))
        np.testing.assert_allclose(vals[0], -1.0, atol=1e-14)
        np.testing.assert_allclose(vals[1:6], -1 / math.sqrt(5), atol=1e-14)
        np.testing.assert_allclose(vals[6:], 1 / math.sqrt(5), atol=1e-14)


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def test_task_is_rotation_invariant():
    """f is unchanged when the bits are permuted by a rotation mapping the points to
    themselves (5-fold about a vertex, 3-fold about a face centre)."""
    t = twelve_bit_task()
    p = t.points
    face = p[0] + p[np.argsort(-(p @ p[0]))[1]]
    face = face + p[np.argsort(-(p @ face))[2]]
    for axis, angle in ((p[0], 2 * math.pi / 5), (face, 2 * math.pi / 3)):
        rp = p @ _rotation(axis, angle).T
        perm = np.array([int(np.argmin(np.linalg.norm(p - q, axis=1))) for q in rp])
        np.testing.assert_allclose(p[perm], rp, atol=1e-12)  # a symmetry of the point set
        moved = np.zeros_like(t.x)
        moved[:, perm] = t.x  # bit i moves to the image of point i
        idx = (moved.astype(np.int64) << np.arange(12)).sum(1)
        np.testing.assert_allclose(t.f[idx], t.f, atol=1e-9)
        np.testing.assert_array_equal(t.y[idx], t.y)


def test_task_label_balance():
    """p(y = 1) is as close to 1/2 as the level sets allow: moving theta to a neighbouring
    level of f never gets closer to 2048 ones; with kappa = 1/2 the entropy of Y equals the
    published 0.99916 bits (2118 ones)."""
    t = twelve_bit_task()
    levels = np.unique(t.f)
    counts = np.array([(t.f > lv).sum() for lv in levels])
    assert abs(t.y.sum() - 2048) == np.min(np.abs(counts - 2048))
    q = t.y.mean()
    hy = -(q * math.log2(q) + (1 - q) * math.log2(1 - q))
    assert hy == pytest.approx(0.99916, abs=5e-6)
    assert twelve_bit_task(3.0).y.sum() != t.y.sum()  # kappa matters
    with pytest.raises(ValueError, match="kappa"):
        twelve_bit_task(0.0)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_backprop_matches_finite_differences(activation):
    rng = np.random.default_rng(0)
    params = init_mlp((4, 5, 3, 2), rng)
    x = rng.normal(size=(7, 4))
    y = rng.integers(0, 2, 7)
    act = get_activation(activation)
    _, grads = mlp_gradients(params, x, y, act)
    h = 1e-6
    for k in range(len(params)):
        for j in range(2):
            it = np.nditer(params[k][j], flags=["multi_index"])
            for _ in it:
                i = it.multi_index
                old = params[k][j][i]
                params[k][j][i] = old + h
                lp, _ = mlp_gradients(params, x, y, act)
                params[k][j][i] = old - h
                lm, _ = mlp_gradients(params, x, y, act)
                params[k][j][i] = old
                assert grads[k][j][i] == pytest.approx((lp - lm) / (2 * h), abs=1e-7)


def test_training_learns_and_is_reproducible():
    t = twelve_bit_task()
    a = train_mlp(t.x, t.y, (10, 7, 5, 4, 3), "tanh", epochs=300, n_record=8, seed=1)
    b = train_mlp(t.x, t.y, (10, 7, 5, 4, 3), "tanh", epochs=300, n_record=8, seed=1)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert a.epochs[0] == 0 and a.epochs[-1] == 300
    assert a.loss[-1] < 0.5 * a.loss[0]
    assert a.train_accuracy[-1] > 0.9
    assert len(a.activity[0]) == 6 and a.activity[0][0].shape == (4096, 10)
    assert a.train_index.size == round(0.8 * 4096)


def test_plane_binning_matches_generic_estimator_and_bounds():
    """The integer-code fast path equals :func:`binned_mi` on every layer and record;
    I(X;T) <= log2 4096 = 12 bits and I(T;Y) <= H(Y)."""
    t = twelve_bit_task()
    for act in ("tanh", "relu"):
        run = train_mlp(t.x, t.y, activation=act, epochs=100, n_record=4, seed=2)
        pl = information_plane(run, t.y)
        for k in range(len(run.epochs)):
            for layer in range(6):
                lo, hi = _ranges(run, layer, None, None)
                ref = binned_mi(np.arange(4096), run.activity[k][layer], t.y, 30, lo=lo, hi=hi,
                                base=2)
                assert pl.i_xt[k, layer] == pytest.approx(ref.i_xt, abs=1e-12)
                assert pl.i_ty[k, layer] == pytest.approx(ref.i_ty, abs=1e-12)
        q = t.y.mean()
        hy = -(q * math.log2(q) + (1 - q) * math.log2(1 - q))
        assert np.all(pl.i_xt <= 12 + 1e-12) and np.all(pl.i_ty <= hy + 1e-12)


def test_plane_kde_uses_the_bounds():
    t = twelve_bit_task()
    run = train_mlp(t.x, t.y, activation="tanh", epochs=20, n_record=3, seed=0)
    sub = np.arange(0, 4096, 8)
    small = run._replace(activity=[[a[sub] for a in rec] for rec in run.activity])
    pl = information_plane(small, t.y[sub], estimator="kde", records=[0, 2], noise_var=1e-2)
    assert pl.i_xt[1, 2] == pytest.approx(kde_mi_upper(small.activity[2][2], 1e-2, base=2))
    assert pl.i_ty[0, 4] == pytest.approx(kde_mi_ty(small.activity[0][4], t.y[sub], 1e-2,
                                                   base=2))


def test_bad_input():
    t = twelve_bit_task()
    with pytest.raises(ValueError, match="y"):
        train_mlp(t.x, t.y[:10])
    with pytest.raises(ValueError, match="labels"):
        train_mlp(t.x, t.y * 2)
    with pytest.raises(ValueError, match="optimizer"):
        train_mlp(t.x, t.y, optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        train_mlp(t.x, t.y, lr=0.0)
    run = train_mlp(t.x, t.y, epochs=2, n_record=2)
    with pytest.raises(ValueError, match="estimator"):
        information_plane(run, t.y, estimator="ksg")
    with pytest.raises(ValueError, match="records"):
        information_plane(run, t.y, records=[5])
    with pytest.raises(ValueError, match="y"):
        information_plane(run, t.y[:5])


def test_pairwise_logsumexp_kernel_matches_numpy():
    from scipy.special import logsumexp

    from deeptheory.kernels.pairwise import pairwise_logsumexp

    h = np.random.default_rng(4).normal(size=(300, 3))
    d2 = ((h[:, None, :] - h[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(pairwise_logsumexp(h, 0.7), logsumexp(-d2 / 0.7, axis=1),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="scale"):
        pairwise_logsumexp(h, 0.0)
