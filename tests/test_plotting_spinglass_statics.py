"""Plots of the spin-glass statics (``deeptheory.spinglass.plotting``): every drawn curve is
the library's value (read back from the artists), theory markers sit where the library puts
them, and bad input is refused before drawing."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from deeptheory import spinglass as sg  # noqa: E402
from deeptheory.spinglass import plotting as sgp  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _line(ax, label):
    """The Line2D with this legend label."""
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert found, (label, [ln.get_label() for ln in ax.get_lines()])
    return found[0]


def _errorbar_y(ax, label):
    cont = [c for c in ax.containers if c.get_label() == label]
    assert cont, (label, [c.get_label() for c in ax.containers])
    x, y = cont[0].lines[0].get_data()
    return np.asarray(x), np.asarray(y)


@pytest.fixture(scope="module")
def ising2d_runs():
    return {L: sg.metropolis(sg.IsingLattice(L, 2), [0.3, 0.5], 300, 2, seed=L)
            for L in (4, 6)}


# ------------------------------------------------------------------------------ Ising


def test_ising_2d_curves_are_kaufman_onsager_yang(ising2d_runs):
    axes = sgp.plot_ising_mc(ising2d_runs, dim=2)
    assert len(axes) == 3
    for L in (4, 6):
        ln = _line(axes[0], f"Kaufman, {L} x {L} (exact)")
        t, y = ln.get_data()
        np.testing.assert_allclose(y, sg.ising_2d_finite(1 / t, L).energy, rtol=1e-12)
        t, y = _line(axes[1], f"Kaufman, {L} x {L} (exact)").get_data()
        np.testing.assert_allclose(y, sg.ising_2d_finite(1 / t, L).specific_heat, rtol=1e-12)
        r = ising2d_runs[L]
        x, y = _errorbar_y(axes[0], f"Monte Carlo, L = {L}")
        np.testing.assert_allclose(x, 1 / r.betas)
        np.testing.assert_array_equal(y, r.energy.value)
        _, y = _errorbar_y(axes[2], f"Monte Carlo, L = {L}")
        np.testing.assert_array_equal(y, r.magnetisation.value)
    t, y = _line(axes[0], "Onsager (L = inf)").get_data()
    np.testing.assert_allclose(y, sg.onsager(1 / t).energy, rtol=1e-12)
    t, y = _line(axes[2], "Yang (L = inf)").get_data()
    np.testing.assert_allclose(y, sg.yang_magnetisation(1 / t), rtol=1e-12)
    # T_c marked on every panel
    for ax in axes:
        xs = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        assert any(math.isclose(x, sg.ONSAGER_TC) for x in xs)


def test_ising_1d_m2_curve_is_the_correlation_sum():
    """<m^2> of the ring is drawn from chi / (beta L); it equals (1/L) sum_r <s_0 s_r>."""
    r = sg.metropolis(sg.IsingLattice(10, 1), [0.4, 0.8], 300, 2, seed=1)
    axes = sgp.plot_ising_mc({10: r}, dim=1)
    t, y = _line(axes[2], "transfer matrix, ring of 10 (exact)").get_data()
    corr = sg.ising_1d_correlation(1 / t[:, None], np.arange(10)[None, :], L=10)
    np.testing.assert_allclose(y, corr.mean(axis=1), rtol=1e-10)
    t, y = _line(axes[0], "infinite chain").get_data()
    np.testing.assert_allclose(y, -np.tanh(1 / t), rtol=1e-12)


def test_ising_bad_input(ising2d_runs):
    r4 = ising2d_runs[4]
    with pytest.raises(TypeError, match="mapping"):
        sgp.plot_ising_mc(r4)
    with pytest.raises(ValueError, match="N = 16 spins"):
        sgp.plot_ising_mc({5: r4})
    with pytest.raises(ValueError, match="dim"):
        sgp.plot_ising_mc(ising2d_runs, dim=3)
    with pytest.raises(ValueError, match="J must be > 0"):
        sgp.plot_ising_mc(ising2d_runs, J=-1.0)
    with pytest.raises(ValueError, match="empty"):
        sgp.plot_ising_mc({})
    with pytest.raises(ValueError, match="3 axes"):
        _, axes = plt.subplots(1, 2)
        sgp.plot_ising_mc(ising2d_runs, axes=axes)


# ------------------------------------------------------------------------------ SK theory


def test_sk_theory_curves_are_the_replica_solutions():
    t = np.array([0.0, 0.5, 1.0, 1.5])
    th = sgp.sk_theory_curves(t, k=2)
    rs = sg.sk_rs_free_energy(t)
    np.testing.assert_allclose(th.f_rs, rs.f, rtol=1e-14)
    np.testing.assert_allclose(th.q2_rs, rs.q**2, rtol=1e-14)
    # above T_c every solution is the paramagnet: -beta f = ln 2 + beta^2 / 4, u = -beta/2
    for f in (th.f_para, th.f_rs, th.f_1rsb, th.f_k):
        np.testing.assert_allclose(f[2:], -t[2:] * (math.log(2) + 0.25 / t[2:] ** 2),
                                   rtol=1e-12)
    np.testing.assert_allclose(th.u_k[2:], -0.5 / t[2:], rtol=1e-12)
    # (at T = 1 exactly the RS iteration q <- E tanh^2 converges only like 1/n: q ~ 2e-7)
    assert np.isnan(th.f_para[0]) and th.q2_k[0] == 1.0 and th.q_max[2:].max() < 1e-6
    p = sg.sk_parisi(0.5, 0.0, 2)
    assert th.f_k[1] == p.f and th.u_k[1] == p.energy and th.q_max[1] == p.q[-1]
    m = np.concatenate([[0.0], p.m, [1.0]])
    assert th.q2_k[1] == pytest.approx(np.sum(np.diff(m) * p.q**2), rel=1e-14)
    assert th.f_1rsb[1] == sg.sk_1rsb(0.5).f
    # Guerra's bound: RS <= 1RSB <= 2-step <= paramagnet continued is below all of them
    assert th.f_para[1] < th.f_rs[1] <= th.f_1rsb[1] <= th.f_k[1]
    # ground state: T = 0 energy of the 2-step solution
    assert th.f_k[0] == pytest.approx(-0.763608, abs=2e-6)
    with pytest.raises(ValueError, match="k"):
        sgp.sk_theory_curves(0.5, k=0)
    with pytest.raises(ValueError, match="T"):
        sgp.sk_theory_curves(-0.1)


def test_sk_thermodynamics_plot_and_difference():
    t = np.array([0.5, 0.8, 1.2])
    mc = {"MC": (np.array([0.5, 1.2]), np.array([-0.77, -1.03]), np.array([0.01, 0.01]))}
    ax = sgp.plot_sk_thermodynamics("f", t, 1, mc=mc)
    th = sgp.sk_theory_curves(t, 1)
    np.testing.assert_array_equal(_line(ax, "replica symmetric").get_ydata(), th.f_rs)
    np.testing.assert_array_equal(_line(ax, "Parisi, 1-step").get_ydata(), th.f_k)
    _, y = _errorbar_y(ax, "MC")
    np.testing.assert_array_equal(y, [-0.77, -1.03])
    ax = sgp.plot_sk_thermodynamics("f", t, 1, mc=mc, difference=True)
    np.testing.assert_array_equal(_line(ax, "Parisi, 1-step").get_ydata(), 0.0)
    _, y = _errorbar_y(ax, "MC")
    ref = sgp.sk_theory_curves([0.5, 1.2], 1).f_k
    np.testing.assert_allclose(y, np.array([-0.77, -1.03]) - ref, rtol=1e-14)
    ax = sgp.plot_sk_thermodynamics("q2", t, 1)
    np.testing.assert_array_equal(_line(ax, "paramagnet (annealed)").get_ydata(), 0.0)
    ax = sgp.plot_sk_thermodynamics("energy", t, 1)
    np.testing.assert_array_equal(_line(ax, "1RSB").get_ydata(), th.u_1rsb)
    with pytest.raises(ValueError, match="quantity"):
        sgp.plot_sk_thermodynamics("entropy", t)
    with pytest.raises(ValueError, match="one length"):
        sgp.plot_sk_thermodynamics("f", t, 1, mc={"x": ([0.5], [1.0, 2.0], [0.1])})
    with pytest.raises(ValueError, match="at least 2"):
        sgp.plot_sk_thermodynamics("f", [0.5], 1)


def test_at_line_is_the_library_line():
    ax = sgp.plot_sk_at_line(0.8, 6)
    h, t = _line(ax, r"$T_{AT}(h)$ (de Almeida-Thouless)").get_data()
    np.testing.assert_allclose(t, sg.sk_at_temperature(h), rtol=1e-12)
    assert t[0] == 1.0
    with pytest.raises(ValueError, match="h_max"):
        sgp.plot_sk_at_line(0.0)
    with pytest.raises(ValueError, match="n_points"):
        sgp.plot_sk_at_line(1.0, 2)


# ------------------------------------------------------------------------------ P(q), e(N)


@pytest.fixture(scope="module")
def sk_runs():
    betas = [0.8, 1.4, 2.0]
    return [sg.parallel_tempering(sg.sk_model(10, seed=j), betas, 400, n_copies=2, seed=j)
            for j in range(3)]


def test_overlap_distribution_is_the_sample_average(sk_runs):
    ax = sgp.plot_overlap_distribution(sk_runs, k_rsb=1)
    patch = ax.patches[0]  # the filled histogram
    dens = np.mean([r.overlap_distribution()[1] for r in sk_runs], axis=0)
    verts = patch.get_path().vertices
    assert np.nanmax(verts[:, 1]) == pytest.approx(dens.max())
    lab = [ln.get_label() for ln in ax.get_lines()]
    qrs = float(sg.sk_rs_free_energy(0.5).q)
    pr = sg.sk_parisi(0.5, 0.0, 1)
    assert f"replica symmetric q = {qrs:.3f}" in lab
    assert f"Parisi q_1 (q_EA) = {pr.q[-1]:.3f}" in lab
    xs = sorted(ln.get_xdata()[0] for ln in ax.get_lines())
    assert min(abs(x - pr.q[-1]) for x in xs) < 1e-12 and min(abs(x + qrs) for x in xs) < 1e-12
    ax = sgp.plot_overlap_distribution(sk_runs[0], k=0, theory=False)
    assert not ax.get_lines()  # above T_c, without theory markers


def test_overlap_distribution_bad_input(sk_runs):
    one = sg.parallel_tempering(sg.sk_model(10, seed=0), [0.8, 1.4, 2.0], 200, n_copies=1)
    with pytest.raises(ValueError, match="n_copies >= 2"):
        sgp.plot_overlap_distribution(one)
    other = sg.parallel_tempering(sg.sk_model(12, seed=0), [0.8, 1.4, 2.0], 200, n_copies=2)
    with pytest.raises(ValueError, match="share N"):
        sgp.plot_overlap_distribution([sk_runs[0], other])
    with pytest.raises(ValueError, match="k must be"):
        sgp.plot_overlap_distribution(sk_runs, k=3)
    with pytest.raises(ValueError, match="empty"):
        sgp.plot_overlap_distribution([])
    with pytest.raises(TypeError):
        sgp.plot_overlap_distribution([1, 2])


def test_ground_state_fit_plot():
    fit = sg.sk_ground_state_extrapolation([6, 8, 10], 3, seed=1, n_sweeps=100)
    ax = sgp.plot_ground_state_fit(fit)
    x, y = _errorbar_y(ax, "parallel tempering, 3 samples per N")
    np.testing.assert_allclose(x, fit.Ns ** (-2 / 3))
    np.testing.assert_array_equal(y, fit.e_mean)
    ln = next(ln for ln in ax.get_lines() if ln.get_label().startswith("fit e_inf"))
    xs, ys = ln.get_data()
    np.testing.assert_allclose(ys, fit.e_inf + fit.slope * xs, rtol=1e-12)
    assert "N^(-2/3)" in ax.get_xlabel()
    hs = [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_label().startswith("Parisi")]
    assert hs == [sg.SK_GROUND_STATE_PARISI]
    with pytest.raises(TypeError, match="GroundStateFit"):
        sgp.plot_ground_state_fit(fit._asdict())


# ------------------------------------------------------------------------------ spherical


def test_spherical_statics_curves_and_transitions():
    axes = sgp.plot_spherical_statics(3)
    t, f = _line(axes[0], "f, equilibrium (1RSB below T_s)").get_data()
    np.testing.assert_allclose(f, sg.spherical_1rsb(t, 3, measure="uniform").f, rtol=1e-12)
    t, q = _line(axes[1], "q, equilibrium").get_data()
    ts = sg.spherical_static_transition(3)
    # the paramagnet from T_s up (q = 0), the 1RSB overlap just below it close to q_s
    assert np.all(q[t >= ts.T] == 0) and q[t < ts.T][-1] == pytest.approx(ts.q, abs=0.01)
    td = sg.spherical_dynamic_transition(3)
    for ax in axes:
        xs = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"
              and np.ptp(ln.get_xdata()) == 0]
        assert any(math.isclose(x, ts.T) for x in xs) and any(math.isclose(x, td.T)
                                                               for x in xs)
    t, q = _line(axes[1], "q, threshold states").get_data()
    assert t.max() == pytest.approx(td.T) and q[-1] == pytest.approx(td.q, abs=1e-9)
    with pytest.raises(ValueError, match="p must be one integer >= 3"):
        sgp.plot_spherical_statics(2)
    with pytest.raises(ValueError, match="T_max"):
        sgp.plot_spherical_statics(3, T_max=0.5)


def test_spherical_levels_land_on_the_complexity_zeros():
    """The T = 0 ends of the statics, converted to ABC units, are -E_0 and -E_inf."""
    top, bot = sgp.plot_spherical_levels(3)
    g = [ln for ln in bot.get_lines() if ln.get_label().startswith("1RSB ground state")][0]
    th = [ln for ln in bot.get_lines() if ln.get_label().startswith("threshold at T = 0")][0]
    assert g.get_xdata()[0] == pytest.approx(-float(sg.e_0(3)), abs=1e-9)
    assert th.get_xdata()[0] == pytest.approx(-float(sg.e_inf(3)), abs=1e-12)
    u, t = _line(bot, "equilibrium energy (1RSB below T_s)").get_data()
    assert u[0] == pytest.approx(-float(sg.e_0(3)), abs=1e-9) and t[0] == 0.0
    u, th_ = _line(top, r"$\Theta_p(u)$, all critical points").get_data()
    np.testing.assert_allclose(th_, sg.theta(u, 3), rtol=1e-14)
    with pytest.raises(ValueError, match="u_range"):
        sgp.plot_spherical_levels(3, u_range=(1.0, 0.0))
