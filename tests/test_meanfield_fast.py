"""The fast mean-field engine: fused kernels, Hermite (Mehler) series, order from rtol.

Independent truths: closed-form Hermite coefficients of sin, mpmath quadrature for tanh,
the 2-D quadrature of the correlated pair (a different algorithm from the series), and
the single-quantity kernels the fused ones replace.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory.kernels import _threads, register_activation
from deeptheory.kernels import quadrature as Q
from deeptheory.meanfield import _mehler, cmap
from deeptheory.meanfield._params import network_params

SMOOTH = ["tanh", "silu", "gelu", "softplus", "sigmoid", "sin"]


# --------------------------------------------------------------- fused kernels
@pytest.mark.parametrize("act", ["tanh", "relu", "elu", "hard_tanh", "silu"])
def test_expect_moments_equals_single_expectations(act):
    q = np.array([0.0, 1e-3, 0.7, 3.0, 40.0, 1e4])
    pairs = [(0, 0), (1, 1), (None, 1), (0, None)]
    if act in ("tanh", "silu"):
        pairs += [(0, 2), (2, 2)]
    m = Q.expect_moments(act, q, pairs)
    assert m.shape == (q.size, len(pairs))
    for j, p in enumerate(pairs):
        np.testing.assert_array_equal(m[:, j], Q.expect(act, q, p))


def test_expect_moments_broadcast_shape_and_errors():
    q = np.full((2, 3), 0.5)
    assert Q.expect_moments("tanh", q, [(0, 0)]).shape == (2, 3, 1)
    with pytest.raises(ValueError, match="pairs"):
        Q.expect_moments("tanh", 1.0, [])
    with pytest.raises(ValueError, match="q"):
        Q.expect_moments("tanh", -1.0, [(0, 0)])
    with pytest.raises(ValueError):
        Q.expect_moments("relu", 1.0, [(2, 2)])  # relu'' is a delta


@pytest.mark.parametrize("act", ["tanh", "elu", "hard_tanh", "softplus"])
def test_expect2_pair_equals_the_two_kernels(act):
    q = np.array([0.3, 2.0, 9.0, 2.0, 2.0])
    c = np.array([0.2, 0.9, 0.999, -0.6, 1.0])
    sq, pp = Q.expect2_pair(act, q, q, c)
    np.testing.assert_array_equal(sq, Q.expect2_sqdiff(act, q, q, c))
    np.testing.assert_array_equal(pp, Q.expect2(act, q, q, c, (1, 1)))


def test_serial_and_parallel_drivers_agree_bitwise():
    q = np.linspace(0.01, 30.0, 37)
    c = np.linspace(-0.9, 0.99, 37)
    calls = [
        lambda: Q.expect("tanh", q, (1, 1)),
        lambda: Q.expect_moments("silu", q, [(0, 0), (0, 2)]),
        lambda: Q.expect2("gelu", q, q, c, (0, 0)),
        lambda: Q.expect2_pair("tanh", q, q, c),
        lambda: Q.hermite_coefficients("tanh", q[:9], 64)[0],
    ]
    for f in calls:
        with _threads.forced("serial"):
            a = np.asarray(f())
        with _threads.forced("parallel"):
            b = np.asarray(f())
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------- Hermite coefficients
def test_hermite_coefficients_of_sin_match_closed_form():
    # E[sin(s z) He_k(z)] = Im((i s)^k) e^{-s^2/2}: s^k e^{-s^2/2} (-1)^((k-1)/2) for odd k
    q = 2.3
    s = math.sqrt(q)
    a, second = Q.hermite_coefficients("sin", q, 80)
    k = np.arange(81)
    im = np.where(k % 2 == 1, (-1.0) ** ((k - 1) // 2), 0.0)
    lg = k * math.log(s) - 0.5 * q - 0.5 * np.array([math.lgamma(j + 1.0) for j in k])
    expect = im * np.exp(lg)
    np.testing.assert_allclose(a, expect, rtol=0, atol=2e-14)
    assert second == pytest.approx((1.0 - math.exp(-2.0 * q)) / 2.0, rel=1e-13)


def test_hermite_coefficients_of_tanh_match_mpmath():
    q = 4.0
    s = mp.sqrt(q)
    a, second = Q.hermite_coefficients("tanh", q, 41)
    mp.mp.dps = 30
    try:
        for k in (1, 3, 11, 25, 41):
            def f(z, k=k):
                he = mp.hermite(k, z / mp.sqrt(2)) / mp.power(2, mp.mpf(k) / 2)  # He_k
                return mp.tanh(s * z) * he * mp.npdf(z)

            ref = mp.quad(f, [-mp.inf, -2, -0.5, 0, 0.5, 2, mp.inf]) / mp.sqrt(mp.factorial(k))
            assert abs(a[k] - float(ref)) <= 1e-13
        for k in (0, 2, 10):  # tanh is odd
            assert a[k] == pytest.approx(0.0, abs=1e-15)
    finally:
        mp.mp.dps = 15
    assert second == pytest.approx(float(Q.expect("tanh", q)), rel=1e-13)


@pytest.mark.parametrize("act", SMOOTH + ["elu", "hard_tanh"])
def test_mehler_sum_matches_the_2d_quadrature(act):
    q = 1.7
    a, second = Q.hermite_coefficients(act, q, 600)
    for c in (-0.5, 0.3, 0.8):
        series = float(np.polyval((a * a)[::-1], c))
        assert series == pytest.approx(float(Q.expect2(act, q, q, c)), abs=5e-13)
    # Parseval: the squared coefficients sum to E[phi^2] (the tail goes to 0)
    tail = second - np.sum(a * a)
    assert abs(tail) <= (1e-12 if act not in ("elu", "hard_tanh") else 1e-4)


def test_hermite_coefficients_tail_stop_and_errors():
    a, second = Q.hermite_coefficients("tanh", 0.5, 300, tail_rtol=1e-12)
    t = second - np.cumsum(a * a)
    k = int(np.argmax(t <= 1e-12 * second))
    assert 0 < k < 300 and np.all(a[k + 1:] == 0.0)
    with pytest.raises(ValueError, match="kmax"):
        Q.hermite_coefficients("tanh", 1.0, Q.HERMITE_KMAX + 1)
    with pytest.raises(ValueError, match="q"):
        Q.hermite_coefficients("tanh", math.inf, 10)
    with pytest.raises(ValueError, match="tail_rtol"):
        Q.hermite_coefficients("tanh", 1.0, 10, tail_rtol=-1.0)


# ------------------------------------------------------------- c* from the series
def _nested(act, sw2, sb2):
    a, _, (w, b) = network_params(sw2, sb2, act)
    quad = {"order": 12}
    qs = mf.q_star(w, b, act, order=12)
    chi = mf.chi1(w, b, act, order=12)
    return cmap._c_star_nested(a, np.atleast_1d(qs), w, b, np.atleast_1d(chi), quad, 1e-13,
                               100, "raise")


@pytest.mark.parametrize(("act", "scale"), [("tanh", 1.0), ("sin", 1.0), ("atan(x)", 1.0),
                                           ("hard_tanh", 1.0), ("0.5*tanh(2*x) + 0.1*x", 1.0)])
def test_series_c_star_matches_2d_newton(act, scale):
    if "(" in act:
        act = register_activation(act)
    sw2 = scale * np.array([1.6, 2.5, 3.5, 4.0, 2.2, 2.9])
    sb2 = np.array([0.01, 0.1, 0.0, 0.3, 0.05, 0.2])
    chi = mf.chi1(sw2, sb2, act)
    keep = (chi > 1.05) & np.isfinite(mf.q_star(sw2, sb2, act))
    sw2, sb2 = sw2[keep], sb2[keep]
    assert sw2.size >= 3
    cs, chic = _nested(act, sw2, sb2)
    np.testing.assert_allclose(mf.c_star(sw2, sb2, act), cs, rtol=0, atol=1e-11)
    np.testing.assert_allclose(mf.chi_c(sw2, sb2, act), chic, rtol=1e-10)


def test_fallback_when_the_series_is_cut_short(monkeypatch):
    """Short series fail their error bound: the seeded 2-D Newton must give the same c*."""
    sw2 = np.array([1.2, 1.05, 2.0, 3.0])
    sb2 = np.array([0.01, 0.0, 0.5, 0.2])
    full = mf.c_star(sw2, sb2, "tanh"), mf.chi_c(sw2, sb2, "tanh")
    monkeypatch.setattr(_mehler, "STAGES", (6,))
    short = mf.c_star(sw2, sb2, "tanh"), mf.chi_c(sw2, sb2, "tanh")
    np.testing.assert_allclose(short[0], full[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(short[1], full[1], rtol=1e-11)


def test_series_error_bound_flags_points_next_to_the_critical_line():
    # truncated geometric tails: T_j = r^j; cut at K = 20, tail T_K = r^20
    r = 0.5
    t = np.array([[r**j for j in range(21)]])
    sw2 = np.array([1.0])
    v = np.array([1.2])  # P(c) = sum_j T_j c^j / 1.2, P(1) ~ 1.67 > 1: a root below 1
    c, chic, ok = _mehler.solve_series(t, t[:, -1], np.array([20]), sw2, v, 1e-10)
    assert 0.0 < c[0] < 1.0
    # P(c*) = 1 exactly for the truncated series (Newton's root)
    assert np.sum(t[0] * c[0] ** np.arange(21)) / 1.2 == pytest.approx(1.0, rel=1e-13)
    # the bound scales with T_K c^(K+1): here far below 1e-10 relative, so accepted
    assert ok[0]
    c2, _, ok2 = _mehler.solve_series(t, np.array([0.5]), np.array([20]), sw2, v, 1e-10)
    assert not ok2[0]  # a large neglected tail fails the bound


# ------------------------------------------------------------------ order from rtol
def test_order_for_rtol_table_and_errors():
    assert Q.order_for_rtol(1e-10) == 8
    assert Q.order_for_rtol(1e-6) == 6
    assert Q.order_for_rtol(1e-3) == 4
    assert Q.order_for_rtol(1e-14) == Q.DEFAULT_ORDER["panel"]
    with pytest.raises(ValueError, match="rtol"):
        Q.order_for_rtol(0.0)


@pytest.mark.parametrize("act", ["tanh", "elu", "softplus"])
@pytest.mark.parametrize("rtol", [1e-6, 1e-10])
def test_phase_diagram_meets_its_rtol(act, rtol):
    sw2 = np.linspace(0.3, 3.9, 9)
    sb2 = np.linspace(0.02, 2.0, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = mf.phase_diagram(sw2, sb2, act, order=16, rtol=1e-14)
        pd = mf.phase_diagram(sw2, sb2, act, rtol=rtol)
    slope = np.exp(-1.0 / ref.xi_q)
    good = (np.abs(slope - 1.0) > 1e-3) & (np.abs(ref.chi_c - 1.0) > 1e-3)
    assert good.sum() >= 20
    for k in ("q_star", "chi1", "chi_c"):
        a, b = getattr(pd, k)[good], getattr(ref, k)[good]
        fin = np.isfinite(b) & (b != 0)
        assert np.max(np.abs(a[fin] - b[fin]) / np.abs(b[fin])) <= rtol, k
    assert np.max(np.abs(pd.c_star - ref.c_star)[good]) <= rtol


def test_sin_at_large_q_falls_back_to_the_2d_rule():
    """At q* ~ 700 the series' wider rule overflows the node buffer for sin: the 2-D
    quadrature takes over.  Closed form: E[sin u1 sin u2] = e^{-q} sinh(c q)."""
    sw2, sb2 = 1400.0, 0.1
    with pytest.raises(ValueError, match="node buffer"):
        Q.hermite_coefficients("sin", 700.0, 256, order=12)
    qs = float(mf.q_star(sw2, sb2, "sin"))
    assert qs == pytest.approx(sw2 * (1.0 - math.exp(-2.0 * qs)) / 2.0 + sb2, rel=1e-12)
    mp.mp.dps = 40
    try:
        q = mp.mpf(qs)
        ref = mp.findroot(lambda c: (sw2 * mp.exp(-q) * mp.sinh(c * q) + sb2) / q - c,
                          mp.mpf(sb2) / q)
    finally:
        mp.mp.dps = 15
    assert float(mf.c_star(sw2, sb2, "sin")) == pytest.approx(float(ref), rel=1e-10)
