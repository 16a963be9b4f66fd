"""Tests for deeptheory.dynamics.theory, each against an independent truth.

Truths: mpmath digamma (Newman 1986); closed forms (linear, relu, orthogonal weights);
scipy quadrature of M(z) = E[x / (z - x)] solved with brentq (no rmt law involved); the
Fuglede-Kadison mean integral_0^1 lambda(t) dt = 1/2 (E ln phi'^2 + E ln eig W^T W) by
Gaussian quadrature (Kargin 2008); chi_1 from deeptheory.meanfield; published numbers.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from deeptheory import meanfield as mf
from deeptheory import rmt
from deeptheory.dynamics.theory import (
    critical_gain,
    exponent_sum,
    fresh_weights_exponents,
    fresh_weights_quantile,
    kaplan_yorke_dimension,
    ks_entropy,
    newman_exponents,
    rnn_max_exponent,
)

LORENZ = (0.9056, 0.0, -14.5723)


def _gauss_expect(f, a: float = 12.0) -> float:
    """E[f(u)], u ~ N(0, 1), by adaptive quadrature on [-a, a] (even f: 2 x [0, a])."""
    val, _ = quad(lambda u: f(u) * math.exp(-0.5 * u * u), 0.0, a, limit=200, epsabs=1e-14)
    return 2.0 * val / math.sqrt(2.0 * math.pi)


def _log_cosh(y: float) -> float:
    y = abs(y)
    return y + math.log1p(math.exp(-2.0 * y)) - math.log(2.0)


def _log_dtanh2(x: float) -> float:
    """ln tanh'(x)^2 = -4 ln cosh x, stable for large |x|."""
    return -4.0 * _log_cosh(x)


# --------------------------------------------------------------------------- Newman


@pytest.mark.parametrize("n,s2", [(1, 1.0), (7, 2.5), (100, 1.0), (64, 0.3)])
def test_newman_matches_mpmath_digamma(n, s2):
    got = newman_exponents(n, s2)
    with mpmath.workdps(30):
        ref = [
            0.5 * (mpmath.digamma(mpmath.mpf(n - i + 1) / 2) + mpmath.log(2 * mpmath.mpf(s2) / n))
            for i in range(1, n + 1)
        ]
        ref_sum = 0.5 * mpmath.fsum(mpmath.digamma(mpmath.mpf(i) / 2) for i in range(1, n + 1))
        ref_sum += mpmath.mpf(n) / 2 * mpmath.log(2 * mpmath.mpf(s2) / n)
    np.testing.assert_allclose(got, np.array([float(v) for v in ref]), rtol=1e-14, atol=1e-14)
    assert got.sum() == pytest.approx(float(ref_sum), rel=1e-13, abs=1e-13)
    assert np.all(np.diff(got) < 0)


def test_newman_reference_numbers_and_broadcast():
    lam = newman_exponents(100)
    assert lam[0] == pytest.approx(-0.005017, abs=5e-7)
    assert lam[49] == pytest.approx(-0.346540, abs=5e-7)
    assert lam.sum() == pytest.approx(-51.2193, abs=5e-5)
    s2 = np.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]])
    out = newman_exponents(10, s2)
    assert out.shape == (2, 3, 10)
    np.testing.assert_allclose(out[1, 2], newman_exponents(10, 5.0), rtol=0, atol=1e-15)
    # scaling: s2 multiplies every exponent's e^{2 lambda}
    np.testing.assert_allclose(out[0, 0] - out[0, 1], 0.5 * math.log(0.5), atol=1e-15)


# --------------------------------------------------------------------------- fresh weights


@pytest.mark.parametrize("sw2", [0.5, 1.0, 3.7])
def test_linear_gaussian_is_half_log_sw2_t(sw2):
    t = np.array([1e-30, 1e-8, 0.01, 0.3, 0.5, 0.77, 1 - 1e-12, 1.0])
    got = fresh_weights_quantile(t, sw2, 0.0, "linear")
    np.testing.assert_allclose(got, 0.5 * np.log(sw2 * t), rtol=0, atol=1e-14)
    orth = fresh_weights_quantile(t, sw2, 0.2, "linear", "orthogonal")
    np.testing.assert_allclose(orth, 0.5 * math.log(sw2), rtol=0, atol=1e-15)


def test_linear_gaussian_is_large_n_limit_of_newman():
    n, s2 = 400, 1.8
    fw = fresh_weights_exponents(n, s2, 0.0, "linear")
    nw = newman_exponents(n, s2)
    i = np.arange(1, n + 1)
    bulk = (n - i + 1) / 2.0 >= 5
    # psi((N - i + 1)/2) = ln((N - i)/2) + O((N - i)^-2): Newman's lambda_i sits at the
    # quantile (N - i)/N, the midpoint rule at (N - i + 1/2)/N, so the gap is
    # 1/2 ln(1 + 1/(2(N - i))) ~ 1/(4 (N - i + 1/2)), vanishing as N -> inf
    np.testing.assert_allclose(((fw - nw) * (n - i + 0.5))[bulk], 0.25, atol=0.004)
    assert np.median(np.abs(fw - nw)) < 1.5e-3


@pytest.mark.parametrize("sw2,sb2", [(1.0, 0.0), (2.5, 0.0), (1.5, 0.3), (4.0, 1.0)])
def test_relu_closed_form(sw2, sb2):
    t = np.array([0.01, 0.25, 0.5, 0.5 + 1e-6, 0.6, 0.9, 1.0])
    got = fresh_weights_quantile(t, sw2, sb2, "relu")
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where(t > 0.5, 0.5 * np.log(sw2 * (t - 0.5)), -np.inf)
    # the atom's mass is a quadrature sum, 1/2 to ~1e-16: near t = 1/2 the error is
    # 1e-16 / (2 (t - 1/2))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[4:], ref[4:], rtol=0, atol=1e-14)
    # orthogonal weights, from rmt's closed S-transforms (Bernoulli(1/2) and Haar)
    to = t[t > 0.5]
    got_o = fresh_weights_quantile(to, sw2, sb2, "relu", "orthogonal")
    s = np.asarray(rmt.bernoulli_s(to - 1, 0.5)) * np.asarray(rmt.haar_s(to - 1, sw2))
    np.testing.assert_allclose(got_o, -0.5 * np.log(s), rtol=1e-10, atol=1e-12)
    assert np.all(fresh_weights_quantile(t[t <= 0.5], sw2, sb2, "relu", "orthogonal") == -np.inf)


def test_hard_tanh_atom():
    sw2, sb2 = 2.0, 0.1
    p = float(math.erf(1.0 / math.sqrt(2.0 * mf.q_star(sw2, sb2, "hard_tanh"))))
    t = np.array([0.5 * (1 - p), 1 - p, 1 - p + 1e-3, 0.5 + 0.5 * (1 - p), 1.0])
    got = fresh_weights_quantile(t, sw2, sb2, "hard_tanh")
    assert np.all(got[:2] == -np.inf)
    # Bernoulli(p) with Gaussian weights: lambda = 1/2 ln(sigma_w^2 (t - (1 - p)))
    np.testing.assert_allclose(got[2:], 0.5 * np.log(sw2 * (t[2:] - (1 - p))), rtol=1e-7)


def _tanh_quantile_by_quadrature(t: float, sw2: float, sb2: float, orthogonal: bool) -> float:
    """lambda(t) from M(z) = E[x/(z - x)], x = tanh'(sqrt(q*) u)^2, by scipy quad + brentq."""
    a = math.sqrt(mf.q_star(sw2, sb2, "tanh"))

    def k_of(s):  # 1 + M(-s) = E[s / (s + x)]
        return _gauss_expect(lambda u: s / (s + math.exp(_log_dtanh2(a * u))))

    ls = brentq(lambda v: k_of(math.exp(v)) - t, -60.0, 60.0, xtol=1e-13, rtol=1e-14)
    log_sd = math.log(t) - math.log1p(-t) - ls
    log_sw = -math.log(sw2) - (0.0 if orthogonal else math.log(t))
    return -0.5 * (log_sd + log_sw)


@pytest.mark.parametrize("sw2,sb2", [(2.0, 0.0), (1.3, 0.05)])
@pytest.mark.parametrize("orthogonal", [False, True])
def test_tanh_quantile_matches_independent_quadrature(sw2, sb2, orthogonal):
    w = "orthogonal" if orthogonal else "gaussian"
    for t in (0.02, 0.4, 0.93):
        ref = _tanh_quantile_by_quadrature(t, sw2, sb2, orthogonal)
        assert fresh_weights_quantile(t, sw2, sb2, "tanh", w) == pytest.approx(ref, abs=1e-9)


def test_s_transform_agrees_with_rmt_where_rmt_converges():
    sw2 = 2.0
    law = rmt.dphi2_law("tanh", mf.q_star(sw2, 0.0))
    m = np.array([-0.05, -0.3, -0.6])
    s_d = np.asarray(rmt.s_transform(law, m)).real
    s_a = s_d * np.asarray(rmt.marchenko_pastur_s(m, 1.0, sw2))
    np.testing.assert_allclose(
        fresh_weights_quantile(1 + m, sw2), -0.5 * np.log(s_a), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("act", ["tanh", "erf"])
def test_top_exponent_is_half_log_chi1(act):
    sw2 = np.array([[0.5], [1.0], [1.5], [3.0], [8.0]])
    sb2 = np.array([0.0, 0.05, 0.5])
    got = fresh_weights_quantile(1.0, sw2, sb2, act)
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, 0.5 * np.log(mf.chi1(sw2, sb2, act)), rtol=0, atol=1e-12)
    top = fresh_weights_exponents(200, sw2, sb2, act, "orthogonal")[..., 0]
    assert np.all(top <= got + 1e-15) and np.all(got - top < 1e-2)


@pytest.mark.parametrize("sw2,sb2", [(1.5, 0.0), (4.0, 0.1)])
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_tanh_mean_is_log_determinant(sw2, sb2, weights):
    """integral_0^1 lambda = 1/2 (E ln tanh'(sqrt(q*) z)^2 + E ln eig), by Gaussian quadrature."""
    a = math.sqrt(mf.q_star(sw2, sb2, "tanh"))
    e_log_d2 = _gauss_expect(lambda u: _log_dtanh2(a * u), a=14.0)
    e_log_w = math.log(sw2) - (1.0 if weights == "gaussian" else 0.0)
    ref = 0.5 * (e_log_d2 + e_log_w)

    def lam(t):
        return fresh_weights_quantile(t, sw2, sb2, "tanh", weights)

    got, err = quad(lam, 0.0, 1.0, limit=200, epsabs=1e-11, epsrel=1e-11)
    assert err < 1e-8
    assert got == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("sw2", [1.5, 2.0])
def test_tanh_orthogonal_bottom_is_harmonic_mean(sw2):
    """lambda(0+) = 1/2 ln(sigma_w^2 / E[1/phi'^2]) with orthogonal weights (S_{D^2}(-1) =
    E[1/D^2]); for tanh E[cosh^4(a z)] = (3 + 4 e^{2 a^2} + e^{8 a^2}) / 8, a^2 = q*."""
    q = mf.q_star(sw2, 0.0, "tanh")
    e_inv = (3.0 + 4.0 * math.exp(2.0 * q) + math.exp(8.0 * q)) / 8.0
    got = fresh_weights_quantile(1e-13, sw2, 0.0, "tanh", "orthogonal")
    # cosh^4(a z) phi(z) peaks at z = 4a (3.6 at sigma_w^2 = 2): the rule's cut at 8.5
    # standard deviations misses ~1e-7 of E[1/phi'^2] there
    assert got == pytest.approx(0.5 * math.log(sw2 / e_inv), abs=1e-7)


@pytest.mark.parametrize("act", ["tanh", "erf", "relu", "hard_tanh", "silu", "sin"])
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_monotone_in_t_and_exponents_consistent(act, weights):
    t = np.linspace(1e-4, 1.0, 301)
    lam = fresh_weights_quantile(t, 2.5, 0.1, act, weights)
    fin = np.isfinite(lam)
    assert np.all(lam[~fin] == -np.inf)
    assert np.all(np.diff(lam[fin]) >= -1e-13)
    n = 40
    ex = fresh_weights_exponents(n, 2.5, 0.1, act, weights)
    tm = (n - np.arange(1, n + 1) + 0.5) / n
    np.testing.assert_array_equal(ex, fresh_weights_quantile(tm, 2.5, 0.1, act, weights))


def test_exponents_broadcast_shape():
    out = fresh_weights_exponents(16, np.array([1.5, 2.0, 3.0]), np.array([[0.0], [0.2]]))
    assert out.shape == (2, 3, 16)
    assert np.all(np.diff(out, axis=-1) <= 0)
    np.testing.assert_array_equal(out[1, 2], fresh_weights_exponents(16, 3.0, 0.2))


# --------------------------------------------------------------------------- recurrent network


def test_rnn_reference_numbers():
    g = np.array([1.5, 2.0, 3.0])
    np.testing.assert_allclose(
        rnn_max_exponent(g), [0.065217, 0.154724, 0.310249], rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(mf.q_star(g[:2] ** 2, 0.0), [0.793354, 2.121474], atol=1e-6)


def test_rnn_below_transition_is_log_gain():
    g = np.array([0.1, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(rnn_max_exponent(g), np.log(g), rtol=0, atol=1e-14)
    assert rnn_max_exponent(0.0) == -np.inf
    out = rnn_max_exponent(np.array([[0.5], [2.0]]), np.array([0.0, 0.1, 0.3]))
    assert out.shape == (2, 3)


def test_critical_gain():
    assert critical_gain(0.0) == pytest.approx(1.0, abs=1e-12)
    assert critical_gain(0.3, "relu") == pytest.approx(math.sqrt(2.0), abs=1e-12)
    sb2 = 0.05
    root = brentq(lambda g: rnn_max_exponent(g, sb2), 1.0, 3.0, xtol=1e-13)
    assert critical_gain(sb2) == pytest.approx(root, abs=1e-9)
    assert abs(rnn_max_exponent(critical_gain(sb2), sb2)) < 1e-10
    assert np.shape(critical_gain([0.0, 0.05])) == (2,)


# --------------------------------------------------------------------------- spectra


def test_kaplan_yorke_lorenz_and_hand_cases():
    assert kaplan_yorke_dimension(LORENZ) == pytest.approx(2 + 0.9056 / 14.5723, abs=1e-14)
    assert kaplan_yorke_dimension(LORENZ) == pytest.approx(2.0621, abs=5e-5)
    assert kaplan_yorke_dimension(LORENZ[::-1]) == kaplan_yorke_dimension(LORENZ)  # sorted here
    assert kaplan_yorke_dimension([1.0, -2.0]) == pytest.approx(1.5)
    assert kaplan_yorke_dimension([-1.0, -2.0]) == 0.0
    assert kaplan_yorke_dimension([1.0, 0.5, -0.2]) == 3.0  # full sum >= 0: N
    assert kaplan_yorke_dimension([1.0, -1.0]) == 2.0  # S_N = 0 >= 0
    assert kaplan_yorke_dimension([0.5, 0.2, -1.0, -3.0]) == pytest.approx(2.7)
    assert kaplan_yorke_dimension([1.0, -np.inf]) == 1.0
    assert kaplan_yorke_dimension([0.3]) == 1.0
    batch = np.array([LORENZ, (1.0, -2.0, -3.0)])
    np.testing.assert_allclose(kaplan_yorke_dimension(batch), [2.0621453, 1.5], atol=1e-7)
    assert kaplan_yorke_dimension(np.zeros((4, 2, 5))).shape == (4, 2)


def test_ks_entropy_and_exponent_sum():
    assert ks_entropy(LORENZ) == pytest.approx(0.9056)
    assert ks_entropy([-1.0, -np.inf]) == 0.0
    np.testing.assert_allclose(ks_entropy([[0.3, 0.2, -1.0], [-0.1, 0.4, 0.0]]), [0.5, 0.4])
    assert exponent_sum(100) == -100.0
    np.testing.assert_allclose(exponent_sum(10, [0.5, 2.0]), [-20.0, -5.0])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: newman_exponents(0), ValueError, "width"),
        (lambda: newman_exponents(2.5), TypeError, "width"),
        (lambda: newman_exponents(5, -1.0), ValueError, "s2"),
        (lambda: newman_exponents(5, np.nan), ValueError, "s2"),
        (lambda: fresh_weights_quantile(0.0, 2.0), ValueError, "t must"),
        (lambda: fresh_weights_quantile(1.5, 2.0), ValueError, "t must"),
        (lambda: fresh_weights_quantile(np.nan, 2.0), ValueError, "t must"),
        (lambda: fresh_weights_quantile(0.5, -1.0), ValueError, "sigma_w2"),
        (lambda: fresh_weights_quantile(0.5, 0.0), ValueError, "sigma_w2"),
        (lambda: fresh_weights_quantile(0.5, np.inf), ValueError, "sigma_w2"),
        (lambda: fresh_weights_quantile(0.5, 2.0, -0.1), ValueError, "sigma_b2"),
        (lambda: fresh_weights_quantile(0.5, 2.0, weights="unitary"), ValueError, "weights"),
        (lambda: fresh_weights_quantile([0.5, 0.6], [1.0, 2.0, 3.0]), ValueError, "broadcast"),
        (lambda: fresh_weights_exponents(0, 2.0), ValueError, "width"),
        (lambda: fresh_weights_exponents(10, 2.0, np.nan), ValueError, "sigma_b2"),
        (lambda: rnn_max_exponent(-1.0), ValueError, "gain"),
        (lambda: rnn_max_exponent(np.inf), ValueError, "gain"),
        (lambda: rnn_max_exponent(1.5, -0.2), ValueError, "sigma_b2"),
        (lambda: critical_gain(-1.0), ValueError, "sigma_b2"),
        (lambda: kaplan_yorke_dimension([np.nan, 1.0]), ValueError, "exponents"),
        (lambda: kaplan_yorke_dimension([np.inf, 1.0]), ValueError, "exponents"),
        (lambda: kaplan_yorke_dimension(1.0), ValueError, "exponents"),
        (lambda: kaplan_yorke_dimension(["a"]), TypeError, "exponents"),
        (lambda: ks_entropy(np.empty((3, 0))), ValueError, "exponents"),
        (lambda: exponent_sum(0), ValueError, "width"),
        (lambda: exponent_sum(10, 0.0), ValueError, "tau"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_unknown_activation():
    with pytest.raises((ValueError, KeyError)):
        fresh_weights_quantile(0.5, 2.0, 0.0, "not_an_activation")
