"""Figures of the training-dynamics part of ``deeptheory.dynamics`` (issue 14): the artists
hold the data they were given (rates, closed-form boundaries, optimal points, errors and
fitted slopes, energies, game trajectories, gradient SNRs and transition epochs) and bad
input is a clear error."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import deeptheory.dynamics as dyn  # noqa: E402
from deeptheory.dynamics.plotting import (  # noqa: E402
    METHOD_COLOURS,
    plot_energy,
    plot_game_trajectories,
    plot_gradient_snr,
    plot_local_error_order,
    plot_sgd_phases,
    plot_stability_region,
)
from deeptheory.dynamics.sgd_phases import GradientSNR, SGDPhases  # noqa: E402
from deeptheory.infotheory.plane import InformationPlane  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


LAM = np.array([0.1, 0.4, 1.0])


# ------------------------------------------------------------------ stability regions


@pytest.mark.parametrize("method", ["heavy_ball", "nesterov"])
def test_stability_region_image_boundary_and_optimal_point(method):
    etas = np.linspace(0.05, 4.0, 40)
    betas = np.linspace(0.0, 0.95, 12)
    lam = 2.0 * LAM  # lambda_max = 2: the scaled axis is 2 eta
    grid = dyn.stability_grid(etas, betas, lam, method)
    opt = dyn.optimal_heavy_ball(0.2, 2.0)
    ax = plot_stability_region(grid, optimal=opt)
    mesh, = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.get_gid() == "rate"
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(grid.rate.shape),
                                  grid.rate)
    assert mesh.norm.vmax == 1.0
    assert mesh.norm.vmin == math.floor(10 * grid.rate.min()) / 10
    bd, = _by_gid(ax.lines, "boundary")
    np.testing.assert_array_equal(bd.get_xdata(), grid.eta_max)
    np.testing.assert_array_equal(bd.get_ydata(), betas)
    # the closed-form boundary separates the stable cells from the others
    np.testing.assert_allclose(grid.eta_max, dyn.max_stable_step(betas, 2.0, method))
    assert np.array_equal(grid.stable, etas[None, :] < grid.eta_max[:, None])
    star, = _by_gid(ax.lines, "optimal")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (opt.eta, opt.beta)
    assert f"{opt.rate:.3g}" in star.get_label()
    cs, = [c for c in ax.get_children() if getattr(c, "get_gid", lambda: None)() == "contours"]
    assert all(0.5 <= v < 1 for v in cs.levels)
    # scaled: the x axis is eta lambda_max
    ax2 = plot_stability_region(grid, optimal=(1.0, 0.5), scaled=True, vmin=0.3,
                                optimal_label="my point")
    mesh2, = [c for c in ax2.collections if isinstance(c, QuadMesh)]
    assert mesh2.norm.vmin == 0.3
    bd2, = _by_gid(ax2.lines, "boundary")
    np.testing.assert_allclose(bd2.get_xdata(), 2.0 * grid.eta_max)
    star2, = _by_gid(ax2.lines, "optimal")
    assert star2.get_xdata()[0] == 2.0 and star2.get_label() == "my point"
    assert ax2.get_xlim() == pytest.approx((2 * etas[0], 2 * etas[-1]))


def test_stability_region_gradient_descent_curve():
    etas = np.linspace(0.01, 3.0, 61)
    grid = dyn.stability_grid(etas, [0.0], LAM, "gd")
    opt = dyn.optimal_gd(0.1, 1.0)
    ax = plot_stability_region(grid, optimal=opt)
    line, = _by_gid(ax.lines, "rate")
    np.testing.assert_array_equal(line.get_xdata(), etas)
    np.testing.assert_array_equal(line.get_ydata(), grid.rate[0])
    np.testing.assert_allclose(line.get_ydata(), np.abs(1 - etas[:, None] * LAM).max(axis=1),
                               rtol=1e-14)
    per = _by_gid(ax.lines, "rate_eigenvalue")
    assert len(per) == 3
    for ln, li in zip(per, LAM, strict=True):
        np.testing.assert_allclose(ln.get_ydata(), np.abs(1 - etas * li), rtol=1e-14)
    bd, = _by_gid(ax.lines, "boundary")
    assert bd.get_xdata()[0] == pytest.approx(2.0)  # 2 / lambda_max
    star, = _by_gid(ax.lines, "optimal")
    assert star.get_xdata()[0] == opt.eta and star.get_ydata()[0] == pytest.approx(opt.rate)


def test_stability_region_bad_input():
    grid = dyn.stability_grid(np.linspace(0.1, 2, 5), np.linspace(0, 0.9, 4), LAM)
    with pytest.raises(TypeError, match="StabilityGrid"):
        plot_stability_region(np.ones((4, 5)))
    with pytest.raises(ValueError, match="rate must have shape"):
        plot_stability_region(grid._replace(rate=grid.rate[:, :3]))
    with pytest.raises(ValueError, match="eta_max"):
        plot_stability_region(grid._replace(eta_max=grid.eta_max[:2]))
    with pytest.raises(ValueError, match="etas must be 1-D"):
        plot_stability_region(grid._replace(etas=np.array([0.5])))
    with pytest.raises(ValueError, match="> 0"):
        plot_stability_region(grid._replace(etas=np.linspace(-1, 1, 5)))
    with pytest.raises(ValueError, match="finite"):
        plot_stability_region(grid._replace(rate=np.full(grid.rate.shape, np.nan)))
    with pytest.raises(ValueError, match="optimal"):
        plot_stability_region(grid, optimal=3.0)
    with pytest.raises(ValueError, match="finite"):
        plot_stability_region(grid, optimal=(np.nan, 0.1))
    neg = dyn.stability_grid(np.linspace(0.1, 2, 5), np.linspace(0, 0.9, 4), [-1.0, -0.5])
    with pytest.raises(ValueError, match="largest eigenvalue > 0"):
        plot_stability_region(neg, scaled=True)
    plot_stability_region(neg)  # no boundary (eta_max is nan), still drawn
    assert not _by_gid(plt.gca().lines, "boundary")


# ------------------------------------------------------------------ backward error analysis


def _lc_grad(x):
    return np.array([np.tanh(x[0]) + 0.5 * x[1], np.tanh(x[1]) + 0.5 * x[0] + x[1]])


def test_local_error_order_markers_and_fitted_slopes():
    res = dyn.local_error_order(_lc_grad, [1.3, -0.7], np.logspace(-3, -1.5, 4))
    ax = plot_local_error_order(res)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    for gid, err, slope in (("plain", res.plain_error, res.plain_slope),
                            ("modified", res.modified_error, res.modified_slope)):
        mk, = _by_gid(ax.lines, gid)
        np.testing.assert_array_equal(mk.get_xdata(), res.etas)
        np.testing.assert_array_equal(mk.get_ydata(), err)
        fit, = _by_gid(ax.lines, f"{gid}_fit")
        lx, ly = np.log(fit.get_xdata()), np.log(fit.get_ydata())
        assert (ly[1] - ly[0]) / (lx[1] - lx[0]) == pytest.approx(slope, rel=1e-12)
        assert f"{slope:.3f}" in fit.get_label()
        assert fit.get_color() == mk.get_color()
    assert abs(res.plain_slope - 2) < 0.05 and abs(res.modified_slope - 3) < 0.05


def test_local_error_order_exact_power_law_and_bad_input():
    e = np.array([1e-3, 1e-2, 1e-1])
    res = dyn.LocalErrorOrder(etas=e, plain_error=5 * e ** 2, modified_error=np.array(
        [0.0, 2e-6, 2e-3]), plain_slope=2.0, modified_slope=3.0)
    ax = plot_local_error_order(res)
    fit, = _by_gid(ax.lines, "plain_fit")
    np.testing.assert_allclose(fit.get_ydata(), 5 * fit.get_xdata() ** 2, rtol=1e-12)
    mk, = _by_gid(ax.lines, "modified")
    assert len(mk.get_xdata()) == 2  # the zero error is left out
    with pytest.raises(TypeError, match="LocalErrorOrder"):
        plot_local_error_order(np.ones(3))
    with pytest.raises(ValueError, match="shape of etas"):
        plot_local_error_order(res._replace(plain_error=e[:2]))
    with pytest.raises(ValueError, match="> 0"):
        plot_local_error_order(res._replace(etas=-e))
    with pytest.raises(ValueError, match="at least 2"):
        plot_local_error_order(res._replace(etas=e[:1], plain_error=e[:1],
                                            modified_error=e[:1]))


# ------------------------------------------------------------------ energy


def _quad():
    w = 1.5
    return (lambda x: w * w * x), (lambda x: 0.5 * w * w * float(np.sum(x * x))), w


def test_energy_lines_hold_the_energies_relative_and_time_axes():
    g, loss, w = _quad()
    h, n = 0.1, 200
    lf = dyn.leapfrog(g, [1.0], [0.0], h, n, loss=loss)
    eu = dyn.explicit_euler(g, [1.0], [0.0], h, n, loss=loss)
    ax = plot_energy([lf, eu])
    a, b = _by_gid(ax.lines, "energy")
    np.testing.assert_array_equal(a.get_xdata(), np.arange(n + 1))
    np.testing.assert_array_equal(a.get_ydata(), lf.energy)
    np.testing.assert_array_equal(b.get_ydata(), eu.energy)
    assert a.get_linestyle() == "-" and b.get_linestyle() == "--"
    assert a.get_label() == "leapfrog, h = 0.1" and b.get_label() == "explicit Euler, h = 0.1"
    # Euler's energy grows by exactly (1 + h^2 w^2) per step
    np.testing.assert_allclose(b.get_ydata(), eu.energy[0] * (1 + h * h * w * w) **
                               np.arange(n + 1), rtol=1e-11)
    ax = plot_energy(eu, relative=True, time=True, labels=["Euler"])
    ln, = _by_gid(ax.lines, "energy")
    assert ax.get_yscale() == "log" and ln.get_label() == "Euler"
    np.testing.assert_allclose(ln.get_xdata(), h * np.arange(n + 1))
    want = np.abs(eu.energy - eu.energy[0]) / eu.energy[0]
    assert np.isnan(ln.get_ydata()[0])  # the zero at k = 0 is left out
    np.testing.assert_array_equal(ln.get_ydata()[1:], want[1:])


def test_energy_block_maximum():
    g, loss, _ = _quad()
    lf = dyn.leapfrog(g, [1.0], [0.3], 0.2, 100, loss=loss)
    ax = plot_energy(lf, relative=True, block=10)
    ln, = _by_gid(ax.lines, "energy")
    rel = np.abs(lf.energy - lf.energy[0]) / lf.energy[0]
    np.testing.assert_array_equal(ln.get_xdata(), np.arange(0, 101, 10))
    np.testing.assert_allclose(ln.get_ydata()[1:], rel[1:].reshape(10, 10).max(axis=1))


def test_energy_bad_input():
    g, loss, _ = _quad()
    no_loss = dyn.leapfrog(g, [1.0], [0.0], 0.1, 5)
    with pytest.raises(ValueError, match="loss="):
        plot_energy(no_loss)
    lf = dyn.leapfrog(g, [1.0], [0.0], 0.1, 5, loss=loss)
    with pytest.raises(ValueError, match="empty"):
        plot_energy([])
    with pytest.raises(ValueError, match="labels"):
        plot_energy([lf, lf], labels=["one"])
    with pytest.raises(ValueError, match="block"):
        plot_energy(lf, block=0)
    with pytest.raises(TypeError, match="HamiltonianTrajectory"):
        plot_energy(np.ones(3))
    with pytest.raises(TypeError, match="HamiltonianTrajectory"):
        plot_energy([np.ones(3)])
    zero = dyn.leapfrog(g, [0.0], [0.0], 0.1, 5, loss=loss)
    with pytest.raises(ValueError, match="H_0 = 0"):
        plot_energy(zero, relative=True)


# ------------------------------------------------------------------ games


def test_game_figure_data_two_panels_with_the_trajectories():
    data = dyn.game_trajectories(n_steps=40, methods=("simultaneous", "alternating",
                                                      "extragradient", "sga"))
    axes = plot_game_trajectories(data)
    assert len(axes) == 2
    for ax, trajs in zip(axes, (data.bilinear, data.dirac), strict=True):
        lines = _by_gid(ax.lines, "trajectory")
        assert len(lines) == len(trajs)
        for ln, (m, t) in zip(lines, trajs.items(), strict=True):
            np.testing.assert_array_equal(ln.get_xdata(), t.x[:, 0])
            np.testing.assert_array_equal(ln.get_ydata(), t.y[:, 0])
            assert to_rgba(ln.get_color())[:3] == to_rgba(METHOD_COLOURS[m])[:3]
            assert f"{t.distance[-1]:.2g}" in ln.get_label()
        ends = _by_gid(ax.lines, "end")
        assert [e.get_xdata()[0] for e in ends] == [t.x[-1, 0] for t in trajs.values()]
        st, = _by_gid(ax.lines, "start")
        assert (st.get_xdata()[0], st.get_ydata()[0]) == (1.0, 1.0)
        eq, = _by_gid(ax.lines, "equilibrium")
        assert (eq.get_xdata()[0], eq.get_ydata()[0]) == (0.0, 0.0)
    assert "bilinear" in axes[0].get_title() and "Dirac-GAN" in axes[1].get_title()
    # simultaneous GD spirals out by sqrt(1 + c^2) per step, SGA converges
    bl = data.bilinear
    assert bl["simultaneous"].distance[-1] == pytest.approx(
        bl["simultaneous"].distance[0] * 1.01 ** 20, rel=1e-12)
    assert bl["sga"].distance[-1] < 0.1
    one = plot_game_trajectories(data, game="dirac")
    assert len(_by_gid(one.lines, "trajectory")) == 4


def test_game_trajectories_list_and_divergence_label():
    game = dyn.BilinearGame(1.0)
    sim = dyn.simultaneous_gd(game.field, 1.0, 1.0, 1.5, 200, max_norm=1e3, on_fail="ignore")
    eg = dyn.extragradient(game.field, 1.0, 1.0, 0.5, 30)
    ax = plot_game_trajectories([sim, eg], equilibrium=None)
    lines = _by_gid(ax.lines, "trajectory")
    assert f"diverged at step {sim.diverged_at}" in lines[0].get_label()
    assert not _by_gid(ax.lines, "equilibrium")
    ax2 = plot_game_trajectories({"eg": eg})
    np.testing.assert_array_equal(_by_gid(ax2.lines, "trajectory")[0].get_ydata(), eg.y[:, 0])


def test_game_trajectories_bad_input():
    data = dyn.game_trajectories(n_steps=5, methods=("simultaneous",))
    with pytest.raises(ValueError, match="game must be"):
        plot_game_trajectories(data, game="rps")
    with pytest.raises(ValueError, match="no trajectories"):
        plot_game_trajectories([])
    with pytest.raises(TypeError, match="GameFigureData"):
        plot_game_trajectories(np.ones(3))
    with pytest.raises(TypeError, match="GameTrajectory"):
        plot_game_trajectories([np.ones(3)])
    with pytest.raises(ValueError, match="game selects"):
        plot_game_trajectories(list(data.bilinear.values()), game="dirac")
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 Axes"):
        plot_game_trajectories(data, ax=ax)
    with pytest.raises(ValueError, match="equilibrium"):
        plot_game_trajectories(data, equilibrium=1.0)


# ------------------------------------------------------------------ SGD phases


def _synthetic_phases(n_ep=200, layers=3):
    """SNR falling through 1 at known epochs, a plane with a maximum of I(X;T)."""
    ep = np.arange(1, n_ep + 1, dtype=float)
    cross = np.array([20.0, 40.0, 80.0])[:layers]
    snr = (cross[None, :] / ep[:, None]) ** 0.8
    std = np.full((n_ep, layers), 0.01)
    g = GradientSNR(epochs=ep, mean_norm=snr * std, std_norm=std, snr=snr,
                    weight_norm=np.ones((n_ep, layers)), n_batches=7)
    rec = np.unique(np.round(np.logspace(0, np.log10(n_ep), 15)))
    rec = np.concatenate([[0.0], rec])
    ixt = 5 + np.sin(np.log1p(rec))[:, None] * np.arange(1, layers + 1)
    plane = InformationPlane(rec, ixt, 0.5 * ixt / ixt.max(), "binning", 2.0)
    snr_ep = np.asarray(dyn.phase_transition_epoch(g, width=0.0), dtype=float)
    comp = dyn.compression_start_epoch(plane)
    return SGDPhases("tanh", g, dyn.log_running_median(ep, snr, 0.0), plane, ixt,
                     snr_ep, comp, np.zeros(layers, bool), 2.0, np.zeros(rec.size),
                     np.zeros(rec.size), np.zeros(rec.size), {})


def test_gradient_snr_lines_transitions_and_noise_floor():
    res = _synthetic_phases()
    # without smoothing the crossing is the first epoch with SNR < 1: just after `cross`
    np.testing.assert_array_equal(res.snr_epoch, [21.0, 41.0, 81.0])
    ax = plot_gradient_snr(res)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    sm = _by_gid(ax.lines, "snr_smooth")
    raw = _by_gid(ax.lines, "snr_raw")
    assert len(sm) == len(raw) == 3
    for k in range(3):
        np.testing.assert_array_equal(sm[k].get_ydata(), res.snr_smooth[:, k])
        np.testing.assert_array_equal(raw[k].get_ydata(), res.gradients.snr[:, k])
        assert f"L{k + 1}: {res.snr_epoch[k]:g}" == sm[k].get_label()
    dots = _by_gid(ax.lines, "transition")
    assert [d.get_xdata()[0] for d in dots] == list(res.snr_epoch)
    assert all(d.get_ydata()[0] == 1.0 for d in dots)
    floor, = _by_gid(ax.lines, "noise_floor")
    assert floor.get_ydata()[0] == pytest.approx(1 / math.sqrt(6))
    # a GradientSNR alone: smoothed and detected with the library defaults
    ax2 = plot_gradient_snr(res.gradients)
    dots2 = _by_gid(ax2.lines, "transition")
    want = dyn.phase_transition_epoch(res.gradients)
    np.testing.assert_array_equal([d.get_xdata()[0] for d in dots2], want)


def test_gradient_snr_never_crossing_and_bad_input():
    res = _synthetic_phases()
    flat = res._replace(snr_epoch=np.array([np.nan, 41.0, 81.0]))
    ax = plot_gradient_snr(flat)
    assert len(_by_gid(ax.lines, "transition")) == 2
    assert _by_gid(ax.lines, "snr_smooth")[0].get_label() == "L1: none"
    with pytest.raises(TypeError, match="SGDPhases"):
        plot_gradient_snr(np.ones(3))
    with pytest.raises(ValueError, match="one transition epoch per layer"):
        plot_gradient_snr(res._replace(snr_epoch=np.ones(2)))
    with pytest.raises(ValueError, match="shape"):
        plot_gradient_snr(res._replace(snr_smooth=res.snr_smooth[:5]))
    with pytest.raises(ValueError, match="level"):
        plot_gradient_snr(res, level=0.0)


def test_sgd_phases_smoothed_gradient_norms():
    res = _synthetic_phases()
    axes = plot_sgd_phases(res, smooth=0.2)
    assert len(axes) == 3
    solid = [ln for ln in axes[0].lines if ln.get_linestyle() == "-" and ln.get_alpha() is None]
    assert len(solid) == 3
    want = dyn.log_running_median(res.gradients.epochs, res.gradients.mean_norm, 0.2)
    for k, ln in enumerate(solid):
        np.testing.assert_array_equal(ln.get_ydata(), want[:, k])
    with pytest.raises(ValueError, match="smooth"):
        plot_sgd_phases(res, smooth=-1.0)
