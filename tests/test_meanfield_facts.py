"""deeptheory.meanfield: known facts, internal consistency, broadcasting and input checks.

Facts from Poole et al. 2016, Schoenholz et al. 2017 and Hayou et al. 2019 (relu edge
of chaos); the closed forms are re-derived here, not copied from the library.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deeptheory.meanfield as mf
from deeptheory.kernels import expect, get_activation
from deeptheory.meanfield import _gauss


@pytest.fixture(autouse=True, scope="module")
def _serial_kernels():
    """One Numba thread: these tests make many one-point kernel calls, and on a loaded
    2-core machine each parallel launch costs ~8 ms of fork/join (1-thread: ~0.03 ms)."""
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


SMOOTH = ["tanh", "erf"]

# --------------------------------------------------------------------------------------
# relu (arc-cosine kernel) and the critical points at sigma_b^2 = 0


@pytest.mark.parametrize("sw2, sb2", [(0.5, 0.0), (1.0, 0.1), (1.9, 2.0), (3.0, 0.0), (3.0, 0.5)])
def test_relu_chi1_is_half_sw2(sw2, sb2):
    # E[relu'(x)^2] = P(x > 0) = 1/2 whatever q is
    assert mf.chi1(sw2, sb2, "relu") == pytest.approx(sw2 / 2, rel=1e-14)
    assert mf.xi_grad(sw2, sb2, "relu") == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-13)


def test_relu_q_star():
    # V(q) = sw2 q / 2 + sb2 is linear: q* = sb2 / (1 - sw2/2) below sw2 = 2, inf above
    for sw2, sb2 in [(1.0, 0.1), (1.5, 0.3), (0.2, 2.0)]:
        assert mf.q_star(sw2, sb2, "relu") == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-12)
    assert mf.q_star(1.0, 0.0, "relu") == 0.0
    assert mf.q_star(2.0, 0.0, "relu") == 0.0  # V(q) = q: the trivial point is marginal
    for sw2, sb2 in [(2.5, 0.0), (3.0, 0.5), (2.0, 0.1), (10.0, 1.0)]:
        assert mf.q_star(sw2, sb2, "relu") == np.inf


def test_relu_xi_q_is_finite():
    """V'(q) = sw2 E[phi'^2 + phi phi''] and phi phi'' = x delta(x) = 0 for relu, so
    V'(q*) = sw2 / 2 and xi_q = -1 / ln(sw2 / 2) is finite (no delta survives)."""
    for sw2, sb2 in [(1.0, 0.1), (1.5, 0.3)]:
        # V' = sw2 / 2 in closed form (no numerical derivative): agreement to rounding
        assert mf.xi_q(sw2, sb2, "relu") == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-14)
        assert mf.q_map_slope(0.7, sw2, sb2, "relu") == pytest.approx(sw2 / 2, rel=1e-15)
    # q* = inf: q^l grows like (sw2 / 2)^l, so xi_q = -1 / ln(sw2 / 2) < 0 (README convention)
    assert mf.xi_q(3.0, 0.5, "relu") == pytest.approx(-1 / math.log(1.5), rel=1e-14)


def test_relu_critical_line_is_two():
    assert mf.critical_line(0.0, "relu") == pytest.approx(2.0, rel=1e-14)
    np.testing.assert_allclose(mf.critical_line([0.0, 0.3, 2.0], "relu"), 2.0, rtol=1e-14)
    assert mf.critical_line(0.4, "linear") == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize("fn", ["chi2", "xi_c_dummy", "curvature"])
def test_relu_second_derivative_quantities_raise(fn):
    if fn == "chi2":
        with pytest.raises(ValueError, match="delta"):
            mf.chi2(1.0, 0.1, "relu")
    elif fn == "curvature":
        with pytest.raises(ValueError, match="delta"):
            mf.curvature(1.0, 0.1, 3, "relu")
    else:
        # the C-map of relu is fine (only phi'' has the delta)
        assert mf.c_map_slope(1.0, 1.0, 0.1, "relu") == pytest.approx(0.5, rel=1e-13)
    with pytest.raises(ValueError, match="delta"):
        mf.chi2(1.5, 0.1, "hard_tanh")


def test_relu_c_map_arc_cosine():
    """C(c) = (sw2 q*/(2 pi) (sin t + (pi - t) cos t) + sb2) / q*, t = arccos c (Cho & Saul)."""
    sw2, sb2 = 1.5, 0.3
    qs = sb2 / (1 - sw2 / 2)
    for c in (-0.8, 0.0, 0.4, 0.9):
        t = math.acos(c)
        ref = (sw2 * qs / (2 * math.pi) * (math.sin(t) + (math.pi - t) * math.cos(t)) + sb2) / qs
        assert mf.c_map(c, sw2, sb2, "relu") == pytest.approx(ref, rel=1e-13)
        assert mf.c_map_slope(c, sw2, sb2, "relu") == pytest.approx(
            sw2 * (math.pi - t) / (2 * math.pi), rel=1e-13)


def test_relu_zero_bias_cmap_independent_of_sw2():
    """With sigma_b = 0 the normalised relu C-map does not depend on sigma_w (Hayou et al.)."""
    c = np.array([-0.5, 0.2, 0.8])
    a = mf.c_map(c, 1.0, 0.0, "relu", q=1.0)
    b = mf.c_map(c, 3.0, 0.0, "relu", q=7.0)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    # above sw2 = 2, q* = inf: the map's slope at c = 1 is exactly 1 and c* = 1
    assert mf.c_star(3.0, 0.0, "relu") == 1.0
    assert mf.chi_c(3.0, 0.0, "relu") == pytest.approx(1.0, rel=1e-12)


def test_tanh_critical_sw2_is_one():
    assert mf.critical_line(0.0, "tanh") == pytest.approx(1.0, rel=1e-9)


def test_erf_critical_sw2_is_pi_over_4():
    """phi = erf(x) (not rescaled): erf'(0) = 2/sqrt(pi), so at q* = 0 chi_1 = sw2 * 4/pi
    and the sigma_b^2 = 0 transition is at sigma_w^2 = pi/4, not 1 (that holds for
    erf(sqrt(pi) x / 2), whose slope at 0 is 1)."""
    crit = mf.critical_line(0.0, "erf")
    assert crit == pytest.approx(math.pi / 4, rel=1e-9)
    assert crit != pytest.approx(1.0, rel=1e-3)
    below, above = 0.99 * math.pi / 4, 1.01 * math.pi / 4
    assert mf.q_star(below, 0.0, "erf") == 0.0
    assert mf.chi1(below, 0.0, "erf") == pytest.approx(below * 4 / math.pi, rel=1e-9)
    assert mf.q_star(above, 0.0, "erf") > 0.0
    assert mf.chi1(above, 0.0, "erf") > 1.0
    # sigma_w^2 = 1 is already chaotic for plain erf
    assert mf.chi1(1.0, 0.0, "erf") > 1.0
    assert mf.c_star(1.0, 0.0, "erf") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("act", SMOOTH)
@pytest.mark.parametrize("sb2", [0.01, 0.1, 0.5, 2.0])
def test_chi1_is_one_on_critical_line(act, sb2):
    w = mf.critical_line(sb2, act)
    assert mf.chi1(w, sb2, act) == pytest.approx(1.0, rel=1e-9)
    # and the fixed point is stable there (V'(q*) < 1)
    assert mf.q_map_slope(mf.q_star(w, sb2, act), w, sb2, act) < 1.0


@pytest.mark.parametrize("act", SMOOTH)
def test_critical_line_parametric(act):
    """Poole et al. 2016: sw2(q) = 1/E[phi'^2], sb2(q) = q - sw2 E[phi^2] traces chi_1 = 1."""
    a = get_activation(act)
    for q in (0.05, 0.7, 3.0):
        sw2 = 1.0 / expect(a, q, (1, 1))
        sb2 = q - sw2 * expect(a, q, (0, 0))
        assert mf.critical_line(sb2, act) == pytest.approx(sw2, rel=1e-9)
        assert mf.q_star(sw2, sb2, act) == pytest.approx(q, rel=1e-9)


def test_critical_line_warns_without_solution():
    # softplus: phi(0) != 0 makes sb2 small unreachable on the line
    with pytest.warns(RuntimeWarning, match="critical_line"):
        out = mf.critical_line(np.array([0.0]), "softplus")
    assert np.isnan(out).all()


# --------------------------------------------------------------------------------------
# closed forms in _gauss against the compiled quadrature


Q_GRID = np.array([1e-6, 1e-3, 0.1, 1.0, 5.0, 30.0, 100.0])
C_GRID = np.array([-0.99, -0.9, -0.3, 0.0, 0.2, 0.7, 0.9, 0.99])
CLOSED1 = {
    "erf": [(0, 0), (1, 1), (2, 2), (0, 2), (2, 0)],
    "relu": [(0, 0), (1, 1)],
    "linear": [(0, 0), (1, 1), (0, 2), (2, 2)],
}


def _agree(x, y, rtol=1e-12, atol=1e-15):
    x, y = np.asarray(x, float), np.asarray(y, float)
    err = np.abs(x - y) - (atol + rtol * np.abs(y))
    worst = np.unravel_index(err.argmax(), err.shape)
    assert np.all(err <= 0), f"worst excess {err.max():.3g} at {worst}"


@pytest.mark.parametrize("name", sorted(CLOSED1))
def test_closed_E1_matches_quadrature(name):
    a = get_activation(name)
    for d in CLOSED1[name]:
        closed = _gauss.E1(a, Q_GRID, d, closed=True)
        quad = _gauss.E1(a, Q_GRID, d, closed=False)
        _agree(closed, quad, atol=1e-15 * Q_GRID)


@pytest.mark.parametrize("name", ["erf", "relu", "linear"])
def test_closed_E2_matches_quadrature(name):
    a = get_activation(name)
    Q, C = np.meshgrid(Q_GRID, C_GRID)
    for d in [(0, 0), (1, 1)]:
        _agree(_gauss.E2(a, Q, C, d, closed=True), _gauss.E2(a, Q, C, d, closed=False),
               atol=1e-15 * (1 + Q))
    sq_c = _gauss.E2_sqdiff(a, Q, C, closed=True)
    sq_q = _gauss.E2_sqdiff(a, Q, C, closed=False)
    _agree(sq_c, sq_q, atol=1e-15 * (1 + Q))


def test_closed_sqdiff_near_one_smooth():
    # smooth phi: the closed and compiled cancellation-free forms agree even at 1 - c = 1e-9
    a = get_activation("erf")
    for c in (1 - 1e-4, 1 - 1e-6, 1 - 1e-9):
        _agree(_gauss.E2_sqdiff(a, 1.3, c, closed=True),
               _gauss.E2_sqdiff(a, 1.3, c, closed=False), rtol=1e-10, atol=0)


def test_kinked_quadrature_near_c_one():
    """Compiled 2-D quadrature for kinked phi keeps its accuracy as c -> 1 (the narrow
    conditional Gaussian straddles the kink)."""
    a = get_activation("relu")
    for q in (1e-3, 1.0, 50.0):
        for c in (1 - 1e-4, 1 - 1e-6, 1 - 1e-9):
            for d in [(0, 0), (1, 1)]:
                _agree(_gauss.E2(a, q, c, d, closed=True), _gauss.E2(a, q, c, d, closed=False),
                       rtol=1e-12, atol=0)
            _agree(_gauss.E2_sqdiff(a, q, c, closed=True),
                   _gauss.E2_sqdiff(a, q, c, closed=False), rtol=1e-11, atol=0)
    # hard_tanh has no closed form: 1 - C(c) = chi_1 (1 - c) + O((1 - c)^{3/2})
    sw2, sb2 = 1.5, 0.1
    chi1 = mf.chi1(sw2, sb2, "hard_tanh")
    for d in (1e-6, 1e-8):
        omc = 1 - mf.c_map(1 - d, sw2, sb2, "hard_tanh")
        assert omc == pytest.approx(chi1 * d, rel=20 * d**0.5)
        assert mf.c_map_slope(1 - d, sw2, sb2, "hard_tanh") == pytest.approx(chi1,
                                                                              rel=20 * d**0.5)


def _relu_kernel_near_minus_one(c):
    """E[relu(u1) relu(u2)] / q = (sin t + (pi - t) cos t) / (2 pi) without cancellation at
    c -> -1: with e = pi - t, sin e - e cos e = e^3/3 - e^5/30 + e^7/840 - e^9/45360."""
    e = 2 * math.asin(math.sqrt((1 + c) / 2))
    return (e**3 / 3 - e**5 / 30 + e**7 / 840 - e**9 / 45360) / (2 * math.pi)


def test_relu_closed_form_near_minus_one():
    a = get_activation("relu")
    for c in (-(1 - 1e-6), -(1 - 1e-9)):
        ref = _relu_kernel_near_minus_one(c)
        _agree(_gauss.E2(a, 1.0, c, (0, 0), closed=False), ref, rtol=1e-12, atol=0)
        _agree(_gauss.E2(a, 1.0, c, (0, 0), closed=True), ref, rtol=1e-9, atol=0)


def test_erf_chi2_closed_form():
    # chi_2 = sw2 * 16 q / (pi (1 + 4q)^{3/2}) at q = q*
    for sw2, sb2 in [(0.8, 0.05), (2.5, 0.3)]:
        q = mf.q_star(sw2, sb2, "erf")
        ref = sw2 * 16 * q / (math.pi * (1 + 4 * q) ** 1.5)
        assert mf.chi2(sw2, sb2, "erf") == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------------------
# fixed points and phases

POINTS = [(0.8, 0.05), (1.5, 0.2), (2.5, 0.05), (4.0, 0.3), (1.2, 1.5)]


@pytest.mark.parametrize("act", SMOOTH + ["softplus"])
@pytest.mark.parametrize("sw2, sb2", POINTS)
def test_fixed_points(act, sw2, sb2):
    qs = mf.q_star(sw2, sb2, act)
    if act == "softplus" and sw2 > 2:
        assert qs == np.inf  # softplus(x) ~ relu(x): V(q) ~ sw2 q / 2 diverges
        return
    assert qs > 0
    assert mf.q_map(qs, sw2, sb2, act) == pytest.approx(qs, rel=1e-12)
    # stable: V'(q*) < 1 and xi_q = -1 / ln V'(q*)
    slope = mf.q_map_slope(qs, sw2, sb2, act)
    assert slope < 1
    assert mf.xi_q(sw2, sb2, act) == pytest.approx(-1 / math.log(slope), rel=1e-10)
    cs = mf.c_star(sw2, sb2, act)
    assert mf.c_map(cs, sw2, sb2, act) == pytest.approx(cs, rel=1e-11, abs=1e-13)
    # C(1) = 1 and C'(1) = chi_1
    assert mf.c_map(1.0, sw2, sb2, act) == pytest.approx(1.0, rel=1e-13)
    chi1 = mf.chi1(sw2, sb2, act)
    assert mf.c_map_slope(1.0, sw2, sb2, act) == pytest.approx(chi1, rel=1e-11)
    chic = mf.chi_c(sw2, sb2, act)
    assert mf.xi_c(sw2, sb2, act) == pytest.approx(-1 / math.log(chic), rel=1e-12)
    assert mf.xi_grad(sw2, sb2, act) == pytest.approx(-1 / math.log(chi1), rel=1e-12)
    if chi1 < 1:
        # ordered: c* = 1 and chi_c = chi_1
        assert cs == 1.0
        assert chic == pytest.approx(chi1, rel=1e-14)
    else:
        assert cs < 1
        assert chic < 1  # c* is stable
        assert mf.c_map_slope(cs, sw2, sb2, act) == pytest.approx(chic, rel=1e-10)
        assert mf.xi_grad(sw2, sb2, act) < 0


@pytest.mark.parametrize("act", SMOOTH)
@pytest.mark.parametrize("sw2", [1.7, 3.0])
def test_odd_phi_zero_bias_chaotic_c_star_is_zero(act, sw2):
    assert mf.chi1(sw2, 0.0, act) > 1
    assert mf.c_star(sw2, 0.0, act) == pytest.approx(0.0, abs=1e-12)
    # chi_c = sw2 E[phi'(u1) phi'(u2)] at c = 0 = sw2 E[phi'(sqrt(q*) z)]^2
    qs = mf.q_star(sw2, 0.0, act)
    ref = sw2 * expect(get_activation(act), qs, (1, None)) ** 2
    assert mf.chi_c(sw2, 0.0, act) == pytest.approx(ref, rel=1e-12)


def test_sin_q_star():
    # E[sin^2(sqrt(q) z)] = (1 - exp(-2q)) / 2, so V is bounded and q* is finite
    sw2, sb2 = 1.5, 0.2
    qs = mf.q_star(sw2, sb2, "sin")
    assert qs == pytest.approx(sw2 * (1 - math.exp(-2 * qs)) / 2 + sb2, rel=1e-12)


def test_q_star_tiny_bias():
    # V(q) = sw2 (q - 2 q^2 + ...) + sb2 for tanh: q* ~ sb2 / (1 - sw2) off criticality
    assert mf.q_star(0.999, 1e-100, "tanh") == pytest.approx(1e-97, rel=1e-6)


def test_q_star_ill_conditioned_is_reported():
    # at sw2 = 1, q* ~ sqrt(sb2 / 2) = 7e-31, but V(q) - q ~ 1e-60 is below the float64
    # rounding of V(q) ~ q: the library must refuse, not return a wrong number
    with pytest.raises(mf.ConvergenceError, match="ill-conditioned"):
        mf.q_star(1.0, 1e-60, "tanh")
    with pytest.warns(RuntimeWarning, match="ill-conditioned"):
        assert np.isnan(mf.q_star(1.0, 1e-60, "tanh", on_fail="warn"))


def test_ordered_zero_bias_q_star_zero():
    assert mf.q_star(0.7, 0.0, "tanh") == 0.0
    assert mf.chi1(0.7, 0.0, "tanh") == pytest.approx(0.7, rel=1e-10)  # phi'(0) = 1
    with pytest.raises(ValueError, match="q = 0"):
        mf.c_map(0.5, 0.7, 0.0, "tanh")
    # with an explicit q the map is defined
    assert 0 < mf.c_map(0.5, 0.7, 0.0, "tanh", q=1.0) < 0.5


@pytest.mark.parametrize("act", SMOOTH)
def test_xi_c_diverges_at_critical_line(act):
    sb2 = 0.1
    w = mf.critical_line(sb2, act)
    at = mf.xi_c(w, sb2, act)
    assert at > 1e8  # inf, or 1 / (rounding of chi_c - 1)
    assert mf.depth_scale(1.0) == np.inf
    for side in (-1, 1):
        xs = [mf.xi_c(w * (1 + side * d), sb2, act) for d in (1e-1, 1e-2, 1e-3, 1e-4)]
        assert all(0 < x for x in xs)
        assert all(b > 5 * a for a, b in zip(xs[:-1], xs[1:], strict=True))  # ~ 1 / |sw2 - sw2_c|
    # chaotic side: c* -> 1 as the line is approached
    cs = [mf.c_star(w * (1 + d), sb2, act) for d in (1e-1, 1e-2, 1e-3)]
    assert cs[0] < cs[1] < cs[2] < 1


def test_depth_scale():
    np.testing.assert_allclose(mf.depth_scale([0.5, 2.0]), [1 / math.log(2), -1 / math.log(2)])
    assert mf.depth_scale(0.0) == 0.0
    assert mf.depth_scale(1.0) == np.inf


# --------------------------------------------------------------------------------------
# curvature


@pytest.mark.parametrize("sw2, sb2", [(0.8, 0.05), (2.5, 0.05), (4.0, 0.3)])
def test_curvature_recursion(sw2, sb2):
    depth = 200
    g0, k0 = 2.0, 0.7
    cv = mf.curvature(sw2, sb2, depth, "tanh", g0=g0, kappa2_0=k0)
    c1, c2 = mf.chi1(sw2, sb2), mf.chi2(sw2, sb2)
    assert cv.chi1 == pytest.approx(c1, rel=1e-14)
    assert cv.chi2 == pytest.approx(c2, rel=1e-14)
    g, k = [g0], [k0]
    for _ in range(depth):
        g.append(c1 * g[-1])
        k.append(3 * c2 / c1**2 + k[-1] / c1)
    assert cv.g.shape == cv.kappa2.shape == (depth + 1,)
    np.testing.assert_allclose(cv.g, g, rtol=1e-12)
    np.testing.assert_allclose(cv.kappa2, k, rtol=1e-12)
    if c1 > 1:
        lim = 3 * c2 / (c1 * (c1 - 1))
        assert cv.kappa2_limit == pytest.approx(lim, rel=1e-13)
        assert cv.kappa2[-1] == pytest.approx(lim, rel=1e-9)
    else:
        assert cv.kappa2_limit == np.inf
        assert np.all(np.diff(cv.kappa2) > 0)


def test_curvature_broadcasts():
    sw2 = np.array([0.8, 2.5, 4.0])
    cv = mf.curvature(sw2, 0.05, 10, "erf", g0=np.array([1.0, 2.0, 3.0]))
    assert cv.g.shape == cv.kappa2.shape == (11, 3)
    for i, w in enumerate(sw2):
        one = mf.curvature(w, 0.05, 10, "erf", g0=float(i + 1))
        np.testing.assert_allclose(cv.kappa2[:, i], one.kappa2, rtol=1e-14)
        np.testing.assert_allclose(cv.g[:, i], one.g, rtol=1e-14)


# --------------------------------------------------------------------------------------
# phase diagram, layer recursion, broadcasting


@pytest.mark.parametrize("act", ["tanh", "erf"])
def test_phase_diagram_matches_pointwise(act):
    sw = np.array([0.5, 1.2, 2.5])
    sb = np.array([0.0, 0.1, 0.5])
    for order, rtol in [(12, 1e-10), (8, 1e-8)]:
        pd = mf.phase_diagram(sw, sb, act, order=order)
        assert pd.q_star.shape == (3, 3)  # rows: sigma_b2
        for i, b in enumerate(sb):
            for j, w in enumerate(sw):
                qs = mf.q_star(w, b, act)
                assert pd.q_star[i, j] == pytest.approx(qs, rel=rtol, abs=1e-300)
                assert pd.chi1[i, j] == pytest.approx(mf.chi1(w, b, act), rel=rtol)
                assert pd.c_star[i, j] == pytest.approx(mf.c_star(w, b, act), rel=rtol,
                                                        abs=1e-12)
                assert pd.chi_c[i, j] == pytest.approx(mf.chi_c(w, b, act), rel=rtol)
                assert pd.xi_c[i, j] == pytest.approx(mf.xi_c(w, b, act), rel=rtol)
                assert pd.chi2[i, j] == pytest.approx(mf.chi2(w, b, act), rel=rtol,
                                                      abs=1e-290)
                if qs > 0:
                    assert pd.xi_q[i, j] == pytest.approx(mf.xi_q(w, b, act), rel=rtol)
                assert pd.chaotic[i, j] == (mf.chi1(w, b, act) > 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_allclose(pd.critical_sigma_w2, mf.critical_line(sb, act),
                                       rtol=1e-12)


def test_phase_diagram_relu_has_no_chi2():
    pd = mf.phase_diagram([1.0, 3.0], [0.1], "relu")
    assert pd.chi2 is None
    np.testing.assert_allclose(pd.chi1, [[0.5, 1.5]], rtol=1e-13)
    assert pd.q_star[0, 1] == np.inf


@pytest.mark.parametrize("act, sw2, sb2", [("tanh", 0.8, 0.05), ("tanh", 2.5, 0.05),
                                          ("erf", 4.0, 0.3)])
def test_layer_recursion_converges(act, sw2, sb2):
    depth = 300
    r = mf.layer_recursion(sw2, sb2, depth, act, q1_0=2.0, q2_0=0.5, c0=0.3)
    assert r.q1.shape == r.q2.shape == r.c.shape == (depth,)
    # first layer: the input enters without phi
    assert r.q1[0] == pytest.approx(sw2 * 2.0 + sb2, rel=1e-15)
    assert r.q2[0] == pytest.approx(sw2 * 0.5 + sb2, rel=1e-15)
    assert r.c[0] == pytest.approx((sw2 * 0.3 * 1.0 + sb2) / math.sqrt(r.q1[0] * r.q2[0]),
                                   rel=1e-14)
    qs, cs = mf.q_star(sw2, sb2, act), mf.c_star(sw2, sb2, act)
    assert r.q1[-1] == pytest.approx(qs, rel=1e-10)
    assert r.q2[-1] == pytest.approx(qs, rel=1e-10)
    assert r.c[-1] == pytest.approx(cs, rel=1e-8)


def test_layer_recursion_relu_matches_arc_cosine_iteration():
    """relu at sw2 = 2, sb2 = 0 (q constant): c^l follows the arc-cosine map exactly."""
    depth = 100
    r = mf.layer_recursion(2.0, 0.0, depth, "relu", c0=0.5)
    np.testing.assert_allclose(r.q1, 2.0, rtol=1e-12)  # marginal: rounding accumulates
    d, ds = 0.5, [0.5]  # 1 - c, iterated in the cancellation-free form
    for _ in range(depth - 1):
        t = 2 * math.asin(math.sqrt(d / 2))
        d = (2 * math.pi * math.sin(t / 2) ** 2 + t * math.cos(t) - math.sin(t)) / math.pi
        ds.append(d)
    np.testing.assert_allclose(1 - r.c, ds, rtol=1e-9)
    # algebraic approach: (1 - c^l) l^2 -> 9 pi^2 / 2 (slowly; 79% of it at l = 100)
    assert 0.75 < ds[-1] * depth**2 / (9 * math.pi**2 / 2) < 0.85


def test_layer_recursion_relu_deep():
    """Deep in the algebraic regime (1 - c ~ 4e-5 at l = 1000) the recursion still follows
    the exact arc-cosine iteration, and (1 - c^l) l^2 approaches 9 pi^2 / 2."""
    depth = 1000
    r = mf.layer_recursion(2.0, 0.0, depth, "relu", c0=0.5)
    d = 0.5
    for _ in range(depth - 1):
        t = 2 * math.asin(math.sqrt(d / 2))
        d = (2 * math.pi * math.sin(t / 2) ** 2 + t * math.cos(t) - math.sin(t)) / math.pi
    assert 1 - r.c[-1] == pytest.approx(d, rel=1e-6)
    assert 0.95 < d * depth**2 / (9 * math.pi**2 / 2) < 1.0


def test_broadcasting():
    sw2 = np.array([[0.8], [1.5], [3.0]])
    sb2 = np.array([[0.05, 0.2, 0.5, 1.0]])
    for fn in (mf.q_star, mf.chi1, mf.c_star, mf.chi_c, mf.xi_c, mf.xi_q, mf.chi2):
        out = fn(sw2, sb2, "tanh")
        assert out.shape == (3, 4), fn.__name__
        for i in range(3):
            for j in range(4):
                assert out[i, j] == pytest.approx(fn(float(sw2[i, 0]), float(sb2[0, j]),
                                                     "tanh"), rel=1e-12), fn.__name__
    q = np.array([0.3, 1.0, 4.0, 9.0])
    out = mf.q_map(q, sw2, 0.1, "erf")
    assert out.shape == (3, 4)
    assert out[2, 1] == pytest.approx(mf.q_map(1.0, 3.0, 0.1, "erf"), rel=1e-15)
    c = np.array([[0.1, 0.5, 0.9, 1.0]])
    assert mf.c_map(c, sw2, 0.2, "tanh").shape == (3, 4)
    assert mf.c_map_slope(c, sw2, 0.2, "tanh").shape == (3, 4)
    assert isinstance(mf.q_star(1.5, 0.2), float)
    assert np.shape(mf.q_star([1.5], 0.2)) == (1,)


# --------------------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize("call, name", [
    (lambda: mf.q_star(-1.0, 0.1), "sigma_w2"),
    (lambda: mf.q_star(1.0, -0.1), "sigma_b2"),
    (lambda: mf.q_star(np.nan, 0.1), "sigma_w2"),
    (lambda: mf.chi1(1.0, np.inf), "sigma_b2"),
    (lambda: mf.q_map(-0.5, 1.0, 0.1), "q"),
    (lambda: mf.q_map(np.nan, 1.0, 0.1), "q"),
    (lambda: mf.q_map_slope(0.0, 1.0, 0.1), "q"),
    (lambda: mf.c_map(1.5, 1.0, 0.1), "c"),
    (lambda: mf.c_map(-1.01, 1.0, 0.1), "c"),
    (lambda: mf.c_map_slope(np.nan, 1.0, 0.1), "c"),
    (lambda: mf.c_map(0.5, 1.0, 0.1, q=-1.0), "q"),
    (lambda: mf.q_star(1.0, 0.1, "nonexistent"), "activation"),
    (lambda: mf.critical_line(-0.1), "sigma_b2"),
    (lambda: mf.critical_line(0.1, "nonexistent"), "activation"),
    (lambda: mf.curvature(1.5, 0.1, 0), "depth"),
    (lambda: mf.curvature(1.5, 0.1, 5, g0=-1.0), "g0"),
    (lambda: mf.curvature(1.5, 0.1, 5, kappa2_0=np.nan), "kappa2_0"),
    (lambda: mf.curvature(0.0, 0.1, 5), "chi_1"),
    (lambda: mf.layer_recursion(1.5, 0.1, 0), "depth"),
    (lambda: mf.layer_recursion(1.5, 0.1, 5, c0=1.5), "c0"),
    (lambda: mf.layer_recursion(-1.5, 0.1, 5), "sigma_w2"),
    (lambda: mf.layer_recursion(1.5, 0.1, 5, q1_0=-1.0), "q1_0"),
    (lambda: mf.phase_diagram([[1.0, 2.0]], [0.1]), "1-D"),
    (lambda: mf.phase_diagram([1.0, -2.0], [0.1]), "sigma_w2"),
    (lambda: mf.q_star(np.ones(3), np.ones(4)), "sigma_w2"),
    (lambda: mf.c_star(1.5, 0.1, on_fail="explode"), "on_fail"),
])
def test_bad_input_raises_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="depth"):
        mf.curvature(1.5, 0.1, 3.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        mf.q_star(1.5, 0.1, "tanh", nodes=5)
    with pytest.raises(TypeError, match="sigma_w2"):
        mf.q_star("abc", 0.1)


def test_convergence_error_is_raised_or_warned():
    with pytest.raises(mf.ConvergenceError):
        mf.q_star(1.5, 0.1, "tanh", maxiter=1)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        out = mf.q_star(1.5, 0.1, "tanh", maxiter=1, on_fail="warn")
    assert np.isnan(out)


# --------------------------------------------------------------------------------------
# property tests

_PROP = settings(max_examples=15, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


@_PROP
@given(sw2=st.floats(0.1, 5.0), sb2=st.one_of(st.just(0.0), st.floats(1e-6, 2.0)))
def test_property_tanh_fixed_points(sw2, sb2):
    qs = mf.q_star(sw2, sb2, "tanh")
    assert qs >= 0 and np.isfinite(qs)
    assert mf.q_map(qs, sw2, sb2, "tanh") == pytest.approx(qs, rel=1e-11, abs=1e-300)
    cs = mf.c_star(sw2, sb2, "tanh")
    assert 0.0 <= cs <= 1.0
    chi1 = mf.chi1(sw2, sb2, "tanh")
    assert (cs == 1.0) == (chi1 <= 1.0 + 1e-12) or qs == 0.0
    assert mf.chi_c(sw2, sb2, "tanh") <= 1.0 + 1e-9  # c* is stable
    if qs > 0:
        assert mf.c_map(cs, sw2, sb2, "tanh") == pytest.approx(cs, rel=1e-10, abs=1e-12)


@_PROP
@given(sb2=st.floats(0.0, 3.0))
def test_property_erf_critical_line(sb2):
    w = mf.critical_line(sb2, "erf")
    assert math.pi / 4 * (1 - 1e-9) <= w
    assert mf.chi1(w, sb2, "erf") == pytest.approx(1.0, rel=1e-9)


@_PROP
@given(c=st.floats(-1.0, 1.0), sw2=st.floats(0.2, 4.0), sb2=st.floats(0.01, 1.0))
def test_property_c_map_monotone_and_bounded(c, sw2, sb2):
    C = mf.c_map(c, sw2, sb2, "erf")
    assert -1.0 <= C <= 1.0 + 1e-15
    assert mf.c_map_slope(c, sw2, sb2, "erf") > 0
    # C is increasing: C(c) <= C(c') for c <= c'
    c2 = min(1.0, c + 0.1)
    assert C <= mf.c_map(c2, sw2, sb2, "erf") + 1e-15


def test_scaled_erf_critical_point_is_one():
    # The "erf critical sigma_w^2 = 1" of the literature is for erf(sqrt(pi) x / 2), whose
    # slope at 0 is 1; plain erf (the registry's) has erf'(0)^2 = 4/pi and critical pi/4.
    from deeptheory.kernels import list_activations, register_activation

    name = "erf_unit_slope_facts"
    act = (get_activation(name) if name in list_activations()
           else register_activation(name, "erf(sqrt(pi)*x/2)"))
    assert mf.critical_line(0.0, act) == pytest.approx(1.0, rel=1e-9)
    assert mf.critical_line(0.0, "erf") == pytest.approx(math.pi / 4, rel=1e-9)
    assert mf.chi1(1.0 - 1e-3, 0.0, act) < 1.0 < mf.chi1(1.0 + 1e-3, 0.0, act)
