"""Figures of the ODE-flow part of ``deeptheory.dynamics`` (issue 13): the artists hold
the data they were given (tracks, read-out zero set, fitted slope, envelopes, score
histories) and bad shapes are a ValueError."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import deeptheory.dynamics as dyn  # noqa: E402
from deeptheory.dynamics.plotting import (  # noqa: E402
    LABEL_COLOURS,
    plot_geodesic_history,
    plot_gronwall,
    plot_resnet_order,
    plot_trajectories,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _tracks(n_layers=4, n=6, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((n_layers + 1, n, d)), axis=0)


def _by_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


# ------------------------------------------------------------------ trajectories


def test_trajectories_2d_lines_markers_colours_and_readout_line():
    tr = _tracks()
    y = np.array([-1, 1, 1, -1, 1, -1], dtype=float)
    w, c = np.array([0.7, -1.3]), 0.4
    ax = plot_trajectories(tr, y, readout=(w, c))
    assert ax.name != "3d"
    lines = _by_gid(ax.lines, "track")
    assert len(lines) == 6
    for i, ln in enumerate(lines):
        np.testing.assert_array_equal(ln.get_xdata(), tr[:, i, 0])
        np.testing.assert_array_equal(ln.get_ydata(), tr[:, i, 1])
        assert to_rgba(ln.get_color()) == to_rgba(LABEL_COLOURS[int(y[i])])
    start, = _by_gid(ax.collections, "start")
    end, = _by_gid(ax.collections, "end")
    np.testing.assert_array_equal(start.get_offsets(), tr[0])
    np.testing.assert_array_equal(end.get_offsets(), tr[-1])
    assert np.all(end.get_sizes() > start.get_sizes())
    ro, = _by_gid(ax.lines, "readout")
    pts = np.column_stack([ro.get_xdata(), ro.get_ydata()])
    np.testing.assert_allclose(pts @ w + c, 0.0, atol=1e-12)
    # the segment is the line clipped to the bounding box of the tracks (5% margin)
    lo, hi = tr.reshape(-1, 2).min(axis=0), tr.reshape(-1, 2).max(axis=0)
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
    assert np.all(pts >= lo - 1e-12) and np.all(pts <= hi + 1e-12)
    on_edge = np.isclose(pts, lo, atol=1e-12) | np.isclose(pts, hi, atol=1e-12)
    assert np.all(on_edge.any(axis=1))


def test_trajectories_3d_creates_3d_axes_and_draws_the_plane():
    tr = _tracks(d=3, n=5)
    w, c = np.array([0.2, -0.5, 1.0]), -0.3
    ax = plot_trajectories(tr, readout=(w, c))
    assert ax.name == "3d"
    lines = _by_gid(ax.lines, "track")
    assert len(lines) == 5
    for i, ln in enumerate(lines):
        xs, ys, zs = ln.get_data_3d()
        np.testing.assert_allclose(np.column_stack([xs, ys, zs]), tr[:, i])
    outline, = _by_gid(ax.lines, "readout")
    pts = np.column_stack(outline.get_data_3d())
    assert pts.shape == (5, 3)
    np.testing.assert_allclose(pts @ w + c, 0.0, atol=1e-12)
    assert _by_gid(ax.collections, "readout")  # the translucent plane


def test_trajectories_subsample_is_seeded_and_keeps_order():
    tr = _tracks(n=40)
    a1 = plot_trajectories(tr, n_show=7, seed=3)
    a2 = plot_trajectories(tr, n_show=7, seed=3)
    got1 = [ln.get_xdata()[0] for ln in _by_gid(a1.lines, "track")]
    got2 = [ln.get_xdata()[0] for ln in _by_gid(a2.lines, "track")]
    assert len(got1) == 7 and got1 == got2
    idx = [int(np.flatnonzero(tr[0, :, 0] == v)[0]) for v in got1]
    assert idx == sorted(idx)


def test_trajectories_bad_input():
    tr = _tracks()
    with pytest.raises(ValueError, match="d = 2 or 3"):
        plot_trajectories(_tracks(d=4))
    with pytest.raises(ValueError, match="shape"):
        plot_trajectories(tr[0])
    with pytest.raises(ValueError, match="n_layers"):
        plot_trajectories(tr[:1])
    with pytest.raises(ValueError, match="labels must have shape"):
        plot_trajectories(tr, np.ones(5))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        plot_trajectories(tr, np.zeros(6))
    with pytest.raises(ValueError, match="readout w"):
        plot_trajectories(tr, readout=(np.ones(3), 0.0))
    with pytest.raises(ValueError, match="w != 0"):
        plot_trajectories(tr, readout=(np.zeros(2), 0.0))
    with pytest.raises(ValueError, match="n_show"):
        plot_trajectories(tr, n_show=0)
    bad = tr.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        plot_trajectories(bad)
    _, ax2d = plt.subplots()
    with pytest.raises(ValueError, match="3-D Axes"):
        plot_trajectories(_tracks(d=3), ax=ax2d)
    ax3d = plt.figure().add_subplot(projection="3d")
    with pytest.raises(ValueError, match="2-D Axes"):
        plot_trajectories(tr, ax=ax3d)


# ------------------------------------------------------------------ ResNet order


def test_resnet_order_markers_and_fitted_slope():
    f = dyn.random_mlp_field(2, 8, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 2))
    eu = dyn.resnet_ode_error(f, x, [4, 8, 16, 32], 1.0, "euler")
    rk = dyn.resnet_ode_error(f, x, [2, 4, 8], 1.0, "rk4")
    ax = plot_resnet_order(eu, rk)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    markers = [ln for ln in ax.lines if ln.get_linestyle() == "None"]
    fits = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(markers) == 2 and len(fits) == 2
    for e, mk, fit in zip((eu, rk), markers, fits, strict=True):
        np.testing.assert_allclose(mk.get_xdata(), e.steps)
        np.testing.assert_allclose(mk.get_ydata(), e.errors)
        hx, ey = np.log(fit.get_xdata()), np.log(fit.get_ydata())
        assert (ey[1] - ey[0]) / (hx[1] - hx[0]) == pytest.approx(e.order, rel=1e-12)
        assert fit.get_color() == mk.get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"{eu.order:.2f}" in t for t in labels)
    assert any(f"{rk.order:.2f}" in t for t in labels)
    assert 0.8 < eu.order < 1.2 and 3.5 < rk.order < 4.5


def test_resnet_order_fit_passes_through_an_exact_power_law_and_skips_zeros():
    h = np.array([0.5, 0.25, 0.125, 0.0625])
    e = dyn.ResNetOdeError(depths=np.array([2, 4, 8, 16]), steps=h, errors=3.0 * h ** 2,
                           order=2.0, block="euler", reference=np.zeros((1, 2)))
    ax = plot_resnet_order(e)
    fit, = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(fit.get_ydata(), 3.0 * fit.get_xdata() ** 2, rtol=1e-12)
    z = dyn.ResNetOdeError(depths=np.array([2, 4, 8, 16]), steps=h,
                           errors=np.array([1e-2, 1e-4, 1e-6, 0.0]), order=6.6,
                           block="rk4", reference=np.zeros((1, 2)))
    ax = plot_resnet_order(z)
    mk, = [ln for ln in ax.lines if ln.get_linestyle() == "None"]
    assert len(mk.get_xdata()) == 3


def test_resnet_order_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        plot_resnet_order()
    with pytest.raises(TypeError, match="ResNetOdeError"):
        plot_resnet_order(np.ones(3))
    e = dyn.ResNetOdeError(depths=np.array([2, 4]), steps=np.array([0.5, 0.25]),
                           errors=np.array([1.0, 0.5, 0.2]), order=1.0, block="euler",
                           reference=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="same length"):
        plot_resnet_order(e)


# ------------------------------------------------------------------ Gronwall


def _linear_field(c, d=2):
    return dyn.MLPField(c * np.eye(d), None, np.eye(d), None, activation="linear")


def test_gronwall_lines_are_the_distances_and_envelopes():
    f = _linear_field(0.7)
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    chk = dyn.gronwall_check(f, x1, x2, np.linspace(0.0, 2.0, 21))
    ax = plot_gronwall(chk)
    assert ax.get_yscale() == "log"
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(solid) == 3 and len(dashed) == 3
    for j in range(3):
        np.testing.assert_array_equal(solid[j].get_xdata(), chk.times)
        np.testing.assert_array_equal(solid[j].get_ydata(), chk.distance[:, j])
        np.testing.assert_array_equal(dashed[j].get_ydata(), chk.envelope[:, j])
        # the linear field is the equality case
        np.testing.assert_allclose(solid[j].get_ydata(), dashed[j].get_ydata(), rtol=1e-7)
    assert "t > t0: 1" in ax.get_title()
    assert "0.7" in ax.get_legend().get_texts()[1].get_text()
    single = dyn.gronwall_check(f, x1[0], x2[0], [0.0, 0.5, 1.0])
    ax = plot_gronwall(single)
    assert len(ax.lines) == 2


def test_gronwall_bad_input():
    f = _linear_field(0.5)
    chk = dyn.gronwall_check(f, np.zeros(2), np.ones(2), [0.0, 0.5, 1.0])
    bad = dyn.GronwallCheck(times=chk.times, distance=chk.distance, envelope=chk.envelope[:2],
                            lipschitz=0.5, slack=0.0, max_ratio=1.0, holds=True)
    with pytest.raises(ValueError, match="envelope"):
        plot_gronwall(bad)
    bad = dyn.GronwallCheck(times=chk.times, distance=chk.distance[:2],
                            envelope=chk.envelope[:2], lipschitz=0.5, slack=0.0,
                            max_ratio=1.0, holds=True)
    with pytest.raises(ValueError, match="distance"):
        plot_gronwall(bad)
    with pytest.raises(TypeError, match="GronwallCheck"):
        plot_gronwall(np.ones(3))


# ------------------------------------------------------------------ geodesic scores


def _history(seed, n=5):
    rng = np.random.default_rng(seed)
    return {"epoch": np.arange(n) * 10.0, "lss": 1.0 + rng.random(n),
            "ots": rng.random(n), "cost_ratio": 1.0 + rng.random(n), "loss": rng.random(n)}


def test_geodesic_history_one_panel_per_key_one_line_per_run():
    hs = {"l2 = 0": _history(0), "l2 = 1e-3": _history(1)}
    axes = plot_geodesic_history(hs)
    assert isinstance(axes, np.ndarray) and axes.shape == (3,)
    for a, k in zip(axes, ("lss", "ots", "cost_ratio"), strict=True):
        runs = [ln for ln in a.lines if ln.get_linestyle() == "-"]
        assert len(runs) == 2
        for ln, h in zip(runs, hs.values(), strict=True):
            np.testing.assert_array_equal(ln.get_xdata(), h["epoch"])
            np.testing.assert_array_equal(ln.get_ydata(), h[k])
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == list(hs)
    _, given = plt.subplots(1, 2)
    out = plot_geodesic_history(hs, ax=given, keys=("loss", "lss"))
    assert out[0] is given[0]
    np.testing.assert_array_equal(out[0].lines[0].get_ydata(), hs["l2 = 0"]["loss"])


def test_geodesic_history_of_a_real_training_run():
    x, y = dyn.ring_data(16, seed=0)
    m = dyn.train_ode_classifier(x, y, hidden=4, depth=3, block="euler",
                                 config=dyn.TrainConfig(epochs=4, record_every=2, scores=True))
    axes = plot_geodesic_history({"ring": m.history})
    np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), m.history["lss"])
    with pytest.raises(ValueError, match="scores=True"):
        m2 = dyn.train_ode_classifier(x, y, hidden=4, depth=3, block="euler",
                                      config=dyn.TrainConfig(epochs=2))
        plot_geodesic_history({"no scores": m2.history})


def test_geodesic_history_bad_input():
    h = _history(0)
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_geodesic_history({})
    bad = dict(h, ots=h["ots"][:3])
    with pytest.raises(ValueError, match="'ots' has shape"):
        plot_geodesic_history({"a": bad})
    with pytest.raises(ValueError, match="'epoch'"):
        plot_geodesic_history({"a": {"lss": h["lss"]}})
    _, axs = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="3 Axes"):
        plot_geodesic_history({"a": h}, ax=axs)
    with pytest.raises(ValueError, match="keys"):
        plot_geodesic_history({"a": h}, keys=())
