"""Trained neural-ODE classifiers, toy data and the ring theorem (issue 13).

Independent truths: the area law of uniform disks and annuli (Kolmogorov-Smirnov at a
fixed seed); the spiral's own parametrisation; matplotlib's point-in-polygon test for
simple polygons; the exact one-step maps of a linear field ((1 + hC) and sum (hC)^k / k!);
finite differences of the training objective (numpy forward pass) against the sign of
Adam's first step; the exact line-shape score n sin(psi / 2) / sin(n psi / 2) of a track
turning by psi per step; the translation flow (straight tracks, an optimal map); and the
topological theorem itself (a homeomorphism of the plane keeps winding numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.path import Path as MplPath
from scipy.special import expit
from scipy.stats import kstest

from deeptheory.dynamics import (
    MLPField,
    OdeClassifier,
    TrainConfig,
    augment,
    flow_map_lipschitz,
    geodesic_scores,
    readout_margin,
    resnet_flow,
    ring_data,
    ring_separation,
    spiral_data,
    train_ode_classifier,
    winding_number,
)
from deeptheory.dynamics.odeflow import random_mlp_field
from deeptheory.dynamics.theorems import lipschitz_bound

# ------------------------------------------------------------------ toy data


def test_ring_data_area_law_and_labels():
    x, y = ring_data(4001, r1=0.5, r2=1.0, r3=1.5, seed=3)
    assert x.shape == (4001, 2) and y.shape == (4001,)
    r = np.linalg.norm(x, axis=1)
    inner, outer = r[y < 0], r[y > 0]
    assert inner.size == 2000 and outer.size == 2001
    assert inner.max() <= 0.5 and outer.min() >= 1.0 and outer.max() <= 1.5
    # uniform in area: (r / r1)^2 and (r^2 - r2^2) / (r3^2 - r2^2) are U(0, 1)
    assert kstest((inner / 0.5) ** 2, "uniform").pvalue > 1e-3
    assert kstest((outer ** 2 - 1.0) / (1.5 ** 2 - 1.0), "uniform").pvalue > 1e-3
    assert kstest((np.arctan2(x[:, 1], x[:, 0]) + math.pi) / (2 * math.pi),
                  "uniform").pvalue > 1e-3
    x2, _ = ring_data(4001, seed=3)
    np.testing.assert_array_equal(x, x2)


def test_spiral_data_lies_on_its_spirals():
    turns = 1.5
    x, y = spiral_data(400, turns=turns, noise=0.0, seed=1)
    top = 2 * math.pi * turns
    r = np.linalg.norm(x, axis=1)
    theta = r * top  # r = theta / top on each arm
    sign = np.where(y < 0, 1.0, -1.0)
    expect = sign[:, None] * np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    np.testing.assert_allclose(x, expect, atol=1e-12)
    assert np.all(theta >= math.pi / 2 - 1e-12) and np.all(theta <= top + 1e-12)
    assert np.sum(y < 0) == 200


def test_augment_pads_zeros():
    x = np.arange(6.0).reshape(3, 2)
    a = augment(x, 4)
    np.testing.assert_array_equal(a[:, :2], x)
    np.testing.assert_array_equal(a[:, 2:], 0.0)
    with pytest.raises(ValueError, match="dim"):
        augment(x, 1)


@pytest.mark.parametrize("call, match", [
    (lambda: ring_data(10, r1=1.0, r2=0.5), "0 < r1 < r2 < r3"),
    (lambda: ring_data(1), "n must be"),
    (lambda: ring_data(10, r3=float("nan")), "r3"),
    (lambda: spiral_data(10, turns=0.1), "turns"),
    (lambda: spiral_data(10, noise=-1.0), "noise"),
    (lambda: augment(np.ones(3), 4), "shape"),
])
def test_toydata_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ winding numbers


def test_winding_number_circles():
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    c = np.c_[np.cos(th), np.sin(th)]
    assert winding_number(c, [0.2, -0.1]) == 1
    assert winding_number(c[::-1], [0.2, -0.1]) == -1
    assert winding_number(c, [3.0, 0.0]) == 0
    twice = np.c_[np.cos(2 * th), np.sin(2 * th)]
    assert winding_number(twice, [0.0, 0.0]) == 2
    with pytest.raises(ValueError, match="on the curve"):
        winding_number(c, c[5])


def test_winding_number_matches_point_in_polygon():
    """For simple (star-shaped) polygons |winding| = 1 exactly inside (matplotlib's test)."""
    rng = np.random.default_rng(5)
    for _ in range(5):
        th = np.sort(rng.uniform(0, 2 * np.pi, 25))
        rad = rng.uniform(0.3, 1.0, 25)
        poly = np.c_[rad * np.cos(th), rad * np.sin(th)]
        pts = rng.uniform(-1.1, 1.1, (400, 2))
        inside = MplPath(poly).contains_points(pts)
        w = winding_number(poly, pts)
        np.testing.assert_array_equal(np.abs(w) == 1, inside)
        assert set(np.unique(w)) <= {0, 1}  # counter-clockwise


def test_winding_number_bad_input():
    with pytest.raises(ValueError, match="curve"):
        winding_number(np.ones((2, 2)), [0, 0])
    with pytest.raises(ValueError, match="point"):
        winding_number(np.eye(3)[:, :2], [0, 0, 0])


# ------------------------------------------------------------------ Lipschitz of the flow map


def _linear_field(c: float) -> MLPField:
    s = math.sqrt(c)
    return MLPField(s * np.eye(2), None, s * np.eye(2), None, activation="linear")


@pytest.mark.parametrize("block", ["euler", "rk4"])
def test_flow_map_lipschitz_exact_for_linear_field(block):
    """f(z) = C z: one Euler step is (1 + hC) I, one RK4 step sum_k (hC)^k / k! I."""
    c, T, L = 1.7, 1.3, 7
    x = hc = c * T / L
    step = 1 + x if block == "euler" else 1 + x + x * x / 2 + x ** 3 / 6 + x ** 4 / 24
    assert flow_map_lipschitz(_linear_field(c), T, L, block) == pytest.approx(step ** L,
                                                                              rel=1e-12)
    out = resnet_flow(_linear_field(c), np.eye(2), L, T, block)[-1]
    np.testing.assert_allclose(out, step ** L * np.eye(2), rtol=1e-12)
    assert hc > 0


@pytest.mark.parametrize("block", ["euler", "rk4"])
def test_flow_map_lipschitz_bounds_random_pairs(block):
    f = random_mlp_field(3, 16, sigma_w2=2.0, sigma_b2=0.3, n_nodes=4, seed=2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 3))
    b = a + 1e-3 * rng.standard_normal((300, 3))
    fa = resnet_flow(f, a, 8, 1.0, block)[-1]
    fb = resnet_flow(f, b, 8, 1.0, block)[-1]
    ratio = np.linalg.norm(fa - fb, axis=1) / np.linalg.norm(a - b, axis=1)
    bound = flow_map_lipschitz(f, 1.0, 8, block)
    assert ratio.max() <= bound
    # the discrete Gronwall bound: at most e^{C T} with C valid at every t
    assert bound <= math.exp(lipschitz_bound(f) * 1.0) * (1 + 1e-12)
    with pytest.raises(ValueError, match="t_end"):
        flow_map_lipschitz(f, 0.0, 8, block)


# ------------------------------------------------------------------ training


def _objective(params, x, y, l2, depth, block):
    w1, b1, w2, b2, w, c = params
    f = MLPField(w1, b1, w2, b2, activation="tanh")
    z = resnet_flow(f, x, depth, 1.0, block)[-1]
    s = z @ w + c
    return float(np.mean(np.logaddexp(0.0, -y * s))) + 0.5 * l2 * sum(
        float(np.sum(p * p)) for p in (w1, b1, w2, b2))


def test_training_lowers_the_objective():
    x, y = ring_data(40, seed=2)
    m = train_ode_classifier(x, y, dim=3, hidden=5, depth=3,
                             config=TrainConfig(epochs=100, lr=0.05, l2=0.01, seed=4))
    h = m.history
    assert h["objective"][-1] < 0.8 * h["objective"][0]
    pen = 0.5 * 0.01 * sum(float(np.sum(a * a)) for a in (m.field.w1, m.field.b1, m.field.w2,
                                                           m.field.b2))
    assert h["objective"][-1] == pytest.approx(h["loss"][-1] + pen, rel=1e-12)


def test_training_step_direction_matches_finite_differences():
    """Two runs from the same seed, 1 epoch vs initial (epochs=1 with lr -> the update):
    the update of every parameter has the sign of -dObjective/dparameter."""
    x, y = ring_data(30, seed=7)
    l2 = 0.02
    lr = 1e-7
    cfg = dict(dim=3, hidden=4, depth=2, block="euler")
    m = train_ode_classifier(x, y, **cfg, config=TrainConfig(epochs=1, lr=lr, l2=l2, seed=1))
    # recover the initial parameters: Adam's first step moves each by lr * g / (|g| + eps)
    # with |.| <= lr; the objective at the stored parameters differs by O(lr)
    fld = m.field
    theta = [fld.w1[0], fld.b1[0], fld.w2[0], fld.b2[0], m.w, np.array([m.c])]
    xa = augment(x, 3)
    # rebuild the initial state by undoing the step via a second run with lr -> 2 lr:
    m2 = train_ode_classifier(x, y, **cfg, config=TrainConfig(epochs=1, lr=2 * lr, l2=l2,
                                                              seed=1))
    theta2 = [m2.field.w1[0], m2.field.b1[0], m2.field.w2[0], m2.field.b2[0], m2.w,
              np.array([m2.c])]
    init = [2 * a - b for a, b in zip(theta, theta2, strict=True)]  # theta0 = 2 th1 - th2
    step = [a - b for a, b in zip(theta, init, strict=True)]  # = -lr g / (|g| + eps)
    eps = 1e-6
    n_checked = 0
    for i, p in enumerate(init):
        flat = p.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            vals = []
            for sgn in (1, -1):
                flat[j] = old + sgn * eps
                vals.append(_objective([init[0], init[1], init[2], init[3], init[4],
                                        float(init[5][0])], xa, y, l2, 2, "euler"))
            flat[j] = old
            g = (vals[0] - vals[1]) / (2 * eps)
            st = step[i].reshape(-1)[j]
            if abs(g) > 1e-5:
                assert np.sign(st) == -np.sign(g), (i, j, g, st)
                # |step| = lr |g| / (|g| + 1e-8) = lr up to 1e-8 / |g| (relative)
                assert abs(st) == pytest.approx(lr, rel=1e-3)
                n_checked += 1
    assert n_checked >= 15


def test_ring_not_separable_in_2d_but_separable_in_3d():
    """Seed 000 / Dupont et al. 2019.  2-D: every flowed circle of the annulus winds once
    about the flowed centre (a homeomorphism), so by the half-plane argument some point of
    every circle is on the centre's side (or the centre is misclassified): the ring is
    never separated, whatever the training.  3-D (augmented): trained to 100 % accuracy
    with a positive margin, and the whole continuous ring (5 circles x 2000 points and a
    polar grid of the disk) is separated."""
    x, y = ring_data(120, seed=1)
    cfg = TrainConfig(epochs=300, lr=0.02, l2=1e-3, seed=0)
    m2 = train_ode_classifier(x, y, dim=2, hidden=24, depth=8, config=cfg)
    m3 = train_ode_classifier(x, y, dim=3, hidden=24, depth=8, config=cfg)

    r2 = ring_separation(m2, x_outer=x[y > 0])
    np.testing.assert_array_equal(r2.winding, 1)
    assert not r2.separated
    assert np.all((r2.worst <= 0.0) | (r2.disk_worst <= 0.0))  # the theorem, circle by circle
    # the a priori bound: training margin <= Lip(flow) * cover
    assert readout_margin(m2, x, y) <= r2.margin_bound
    assert r2.cover > 0 and math.isfinite(r2.lipschitz)

    r3 = ring_separation(m3)
    assert m3.accuracy(x, y) == 1.0
    assert readout_margin(m3, x, y) > 0.0
    assert r3.separated and r3.winding.size == 0
    assert np.all(r3.worst > 0.0) and r3.disk_worst > 0.0
    # training history: recorded every 10 epochs, the loss fell
    h = m3.history
    np.testing.assert_array_equal(h["epoch"], np.arange(0, 301, 10))
    assert h["loss"][-1] < 0.1 * h["loss"][0]


def test_ring_separation_matches_direct_evaluation():
    x, y = ring_data(40, seed=0)
    m = train_ode_classifier(x, y, dim=2, hidden=6, depth=3,
                             config=TrainConfig(epochs=5, seed=0))
    r = ring_separation(m, n_radii=3, n_loop=64)
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for k, rad in enumerate(np.linspace(1.0, 1.5, 3)):
        loop = rad * np.c_[np.cos(th), np.sin(th)]
        s = m.decision(loop) / np.linalg.norm(m.w)
        assert r.worst[k] == pytest.approx(s.min(), rel=1e-12, abs=1e-14)
        z = m.tracks(loop)[-1]
        z0 = m.tracks(np.zeros((1, 2)))[-1, 0]
        assert r.winding[k] == winding_number(z, z0)
    assert math.isnan(r.margin_bound)  # no x_outer given


# ------------------------------------------------------------------ margins and scores


def _model(field: MLPField, w, c, depth=10, block="rk4") -> OdeClassifier:
    return OdeClassifier(field=field, w=np.asarray(w, float), c=float(c), dim=field.dim,
                         t_end=1.0, depth=depth, block=block, history={})


def test_readout_margin_is_the_distance_to_the_hyperplane():
    f = MLPField(np.zeros((3, 2)), None, np.zeros((2, 3)), [0.5, -0.2], activation="tanh")
    m = _model(f, [3.0, 4.0], -1.0)
    x = np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, 2.0]])
    y = np.array([1.0, -1.0, 1.0])
    z = x + np.array([0.5, -0.2])  # translation by b2 over t in [0, 1]
    expect = np.min(y * (z @ [3.0, 4.0] - 1.0)) / 5.0
    assert readout_margin(m, x, y) == pytest.approx(expect, rel=1e-12)
    with pytest.raises(ValueError, match="labels"):
        readout_margin(m, x, np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="zero"):
        readout_margin(_model(f, [0.0, 0.0], 0.0), x, y)


def test_geodesic_scores_translation_is_a_geodesic():
    """f = b2 constant: straight tracks and a translation, which is an optimal map."""
    f = MLPField(np.zeros((3, 2)), None, np.zeros((2, 3)), [0.7, -0.4], activation="tanh")
    x = np.random.default_rng(0).standard_normal((60, 2))
    s = geodesic_scores(_model(f, [1.0, 0.0], 0.0), x)
    assert s.lss == pytest.approx(1.0, abs=1e-12)
    assert s.ots == 1.0 and s.cost_ratio == pytest.approx(1.0, rel=1e-12)


def test_geodesic_scores_rotation_has_the_exact_line_shape_score():
    """f(z) = A z, A = omega [[0, -1], [1, 0]]: RK4 steps multiply by p(i omega h) =
    sum_k (i omega h)^k / k!, so successive steps turn by psi = arg p and
    LSS = n sin(psi / 2) / sin(n psi / 2) for every track."""
    om, n = 1.2, 10
    a = om * np.array([[0.0, -1.0], [1.0, 0.0]])
    f = MLPField(np.eye(2), None, a, None, activation="linear")
    x = np.random.default_rng(1).standard_normal((30, 2))
    h = 1.0 / n
    p = sum((1j * om * h) ** k / math.factorial(k) for k in range(5))
    psi = np.angle(p)
    expect = n * math.sin(psi / 2) / math.sin(n * psi / 2)
    s = geodesic_scores(_model(f, [1.0, 0.0], 0.0, depth=n), x)
    assert s.lss == pytest.approx(expect, rel=1e-10)
    assert s.lss > 1.0 and s.cost_ratio >= 1.0 - 1e-12


def test_history_scores_recorded():
    x, y = spiral_data(40, seed=0)
    m = train_ode_classifier(x, y, hidden=6, depth=4, block="euler", n_nodes=5,
                             config=TrainConfig(epochs=20, record_every=10, scores=True))
    h = m.history
    np.testing.assert_array_equal(h["epoch"], [0, 10, 20])
    last = geodesic_scores(m, x)
    assert h["lss"][-1] == pytest.approx(last.lss, rel=1e-12)
    assert h["ots"][-1] == last.ots
    assert h["cost_ratio"][-1] == pytest.approx(last.cost_ratio, rel=1e-12)
    assert m.field.n_nodes == 5
    # the stored loss is the mean logistic loss of the final model
    s = m.decision(x)
    assert h["loss"][-1] == pytest.approx(float(np.mean(np.logaddexp(0, -y * s))), rel=1e-10)
    assert h["accuracy"][-1] == pytest.approx(float(np.mean(y * s > 0)))
    assert 0 < float(np.mean(expit(y * s))) < 1


@pytest.mark.parametrize("kw, match", [
    ({"dim": 1}, "dim"),
    ({"hidden": 0}, "hidden"),
    ({"depth": 0}, "depth"),
    ({"t_end": 0.0}, "t_end"),
    ({"block": "midpoint"}, "block"),
    ({"activation": "nosuch"}, "nosuch"),
])
def test_train_bad_input(kw, match):
    x, y = ring_data(10, seed=0)
    with pytest.raises((ValueError, TypeError), match=match):
        train_ode_classifier(x, y, config=TrainConfig(epochs=1), **kw)


def test_train_bad_data_and_config():
    x, y = ring_data(10, seed=0)
    with pytest.raises(ValueError, match="labels"):
        train_ode_classifier(x, np.where(y > 0, 1.0, 0.0))
    with pytest.raises(ValueError, match="shape"):
        train_ode_classifier(x, y[:-1])
    with pytest.raises(ValueError, match="x must"):
        train_ode_classifier(x[:, 0], y)
    with pytest.raises(ValueError, match="x"):
        train_ode_classifier(np.where(x > 0, np.nan, x), y)
    with pytest.raises(TypeError, match="TrainConfig"):
        train_ode_classifier(x, y, config={"epochs": 3})
    for kw, match in (({"lr": 0.0}, "lr"), ({"epochs": 0}, "epochs"), ({"l2": -1.0}, "l2"),
                      ({"beta1": 1.0}, "beta1"), ({"record_every": 0}, "record_every")):
        with pytest.raises(ValueError, match=match):
            TrainConfig(**kw)
    m = train_ode_classifier(x, y, config=TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="2-D"):
        ring_separation(train_ode_classifier(x, y, dim=3, config=TrainConfig(epochs=1)),
                        x_outer=np.ones((3, 3)))
    with pytest.raises(ValueError, match="r1 < r2"):
        ring_separation(m, r1=1.0, r2=0.5)
    with pytest.raises(TypeError, match="OdeClassifier"):
        ring_separation("model")
