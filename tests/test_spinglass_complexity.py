"""deeptheory.spinglass against independent truths computed here.

References used (never constants produced by the library itself):

* mpmath (50 / 30 digits) evaluations of ABC's closed forms for I_1, Theta_{k,p}, Theta_p, and
  mpmath root finding for -E_k(p) (ABC 2013, section 2);
* the values printed in ABC 2013 for p = 3 (E_0 = 1.657, E_inf = 1.633) and the 7-digit
  value E_0(3) = 1.656998... (mpmath root of ABC's Theta_{0,3}, Thm 2.5);
* closed forms: Mehta's GOE normalisation integral, the N = 2 Kac-Rice count of a random
  trigonometric polynomial on a circle (2 sqrt(3p - 2) critical points, and Rice's formula for
  the heights of minima / maxima), p = 2 (exactly 2 critical points of each index);
* seeded Monte Carlo over GOE matrices and over Gaussian p-spin tensors, with tolerances
  derived from the sample standard errors (or from exact GOE variances).
"""

from __future__ import annotations

import numpy as np
import pytest
from mpmath import mp
from scipy import integrate
from scipy.special import gammaln
from scipy.stats import norm

from deeptheory.rmt.laws import semicircle_cdf as _rmt_sc_cdf
from deeptheory.spinglass import (
    e_0,
    e_inf,
    e_k,
    energy_table,
    expected_critical_points,
    expected_critical_points_mc,
    expected_critical_points_total,
    hessian_spectrum_pdf,
    i1_delta,
    index_fraction,
    mixed_theta,
    mixed_theta_density,
    mixed_total_complexity,
    rate_i1,
    theta,
    theta_k,
)
from deeptheory.spinglass.finite_n import _log_norm_product, _ordered_integrals


def semicircle_cdf(x):
    """The semicircle CDF on [-1, 1] (variance 1/4) that spinglass's index law uses."""
    return _rmt_sc_cdf(x, 0.25)

# --------------------------------------------------------------------------- mpmath references


def _mp_einf(p):
    return 2 * mp.sqrt(mp.mpf(p - 1) / p)


def _mp_i1(u, p):
    """ABC's I_1 closed form, evaluated at high precision (0 above -E_inf)."""
    E = _mp_einf(p)
    u = mp.mpf(u)
    if u >= -E:
        return mp.mpf(0)
    r = mp.sqrt(u * u - E * E)
    return -(u / E**2) * r - mp.log(-u + r) + mp.log(E)


def _mp_theta_k(u, p, k):
    E = _mp_einf(p)
    u = mp.mpf(u)
    base = mp.log(p - 1) / 2
    if u <= -E:
        return base - (p - 2) * u**2 / (4 * (p - 1)) - (k + 1) * _mp_i1(u, p)
    return base - mp.mpf(p - 2) / p


def _mp_theta(u, p):
    E = _mp_einf(p)
    u = mp.mpf(u)
    base = mp.log(p - 1) / 2
    if u <= -E:
        return base - (p - 2) * u**2 / (4 * (p - 1)) - _mp_i1(u, p)
    if u <= 0:
        return base - (p - 2) * u**2 / (4 * (p - 1))
    return base


# --------------------------------------------------------------------------- I_1


@pytest.mark.parametrize("delta", [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.2499,
                                   0.25, 0.2501, 0.5, 1.0, 3.0, 30.0])
def test_i1_delta_against_mpmath_50_digits(delta):
    with mp.workdps(50):
        p = 3
        u = -_mp_einf(p) * (1 + mp.mpf(delta))  # the exact float delta
        ref = _mp_i1(u, p)
        got = i1_delta(delta)
        assert abs(got - float(ref)) <= 1e-13 * float(ref)


def test_i1_series_leading_terms():
    # I_1 = (4 sqrt 2 / 3) d^{3/2} (1 + 3 d / 20 - 3 d^2 / 224 + ...)
    for d in [1e-9, 1e-6, 1e-4]:
        lead = 4 * np.sqrt(2) / 3 * d**1.5
        assert abs(i1_delta(d) / lead - 1 - 3 * d / 20) < 0.02 * d**2 + 1e-14


@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_rate_i1_against_mpmath_in_u(p):
    E = float(e_inf(p))
    deltas = np.array([1e-6, 1e-4, 1e-2, 0.3, 1.0, 5.0])
    u = -E * (1 + deltas)
    got = rate_i1(u, p)
    with mp.workdps(50):
        for ui, gi in zip(u, got, strict=True):
            ref = float(_mp_i1(ui, p))  # at the exact float u
            d_true = -ui / E - 1
            # conditioning of delta = -u/E - 1 in float64 (u and E each rounded): ~2 eps / delta
            tol = 1e-13 + 1.5 * 4 * np.finfo(float).eps * (1 + d_true) / d_true
            assert abs(gi - ref) <= tol * ref
    # zero above the threshold, and vectorised
    assert np.all(rate_i1(np.array([-E, -0.5 * E, 0.0, 3.0]), p) == 0.0)


# --------------------------------------------------------------------------- Theta


@pytest.mark.parametrize("p", [2, 3, 5, 10])
@pytest.mark.parametrize("k", [0, 1, 4])
def test_theta_k_against_mpmath(p, k):
    E = float(e_inf(p))
    u = np.concatenate([-E * (1 + np.array([3.0, 1.0, 0.2, 1e-2, 1e-3])),
                        [-E, -0.5 * E, 0.0, 2.0]])
    got = theta_k(u, p, k)
    with mp.workdps(40):
        ref = np.array([float(_mp_theta_k(x, p, k)) for x in u])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("p", [2, 3, 4, 8])
def test_theta_against_mpmath(p):
    E = float(e_inf(p))
    u = np.array([-3 * E, -1.2 * E, -1.001 * E, -E, -0.7 * E, -0.1, 0.0, 0.3, 5.0])
    got = theta(u, p)
    with mp.workdps(40):
        ref = np.array([float(_mp_theta(x, p)) for x in u])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)
    # total complexity 1/2 log(p - 1)
    assert theta(1.0, p) == pytest.approx(0.5 * np.log(p - 1), rel=1e-15, abs=0)


@pytest.mark.parametrize("p", [2, 3, 6])
def test_theta_continuity_and_monotonicity(p):
    E = float(e_inf(p))
    h = 1e-9
    for k in (0, 3):
        # |dTheta/du| <= (p-2) |u| / (2(p-1)) + (k+1)|I_1'| ~ O(1) near -E_inf
        assert abs(theta_k(-E * (1 + h), p, k) - theta_k(-E * (1 - h), p, k)) < 10 * h
    assert abs(theta(-E * (1 + h), p) - theta(-E * (1 - h), p)) < 10 * h
    assert abs(theta(-1e-12, p) - theta(1e-12, p)) < 1e-15
    u = np.linspace(-4.0, 2.0, 2001)
    for f in (theta(u, p), theta_k(u, p, 0), theta_k(u, p, 2)):
        assert np.all(np.diff(f) >= -1e-15)
    # more negative index constraint gives fewer points: Theta_{k+1} <= Theta_k
    assert np.all(theta_k(u, p, 1) <= theta_k(u, p, 0) + 1e-15)
    assert np.all(theta_k(u, p, 0) <= theta(u, p) + 1e-15)


def test_p2_has_no_exponential_complexity():
    u = np.linspace(-3.0, 2.0, 51)
    assert np.all(theta(u, 2) <= 0) and np.all(theta_k(u, 2, 1) <= 0)
    np.testing.assert_array_equal(theta_k(u, 2, 2), -3 * np.asarray(rate_i1(u, 2)))
    assert e_0(2) == pytest.approx(np.sqrt(2), rel=1e-15)


def test_theta_broadcasting_shapes():
    u = np.linspace(-2, 0, 5)[:, None]
    p = np.array([3.0, 4.0, 5.0])[None, :]
    assert np.shape(theta(u, p)) == (5, 3)
    assert np.shape(theta_k(u, p, 2)) == (5, 3)
    assert np.shape(rate_i1(u, p)) == (5, 3)
    assert isinstance(theta(-1.0, 3), float)
    np.testing.assert_allclose(theta(u, p)[:, 1], theta(u[:, 0], 4.0), rtol=0, atol=0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theta(-1.0, 1.5), "p"),
        (lambda: theta_k(-1.0, 3, -1), "k"),
        (lambda: theta_k(-1.0, 3, 1.5), "k"),
        (lambda: theta(np.nan, 3), "u"),
        (lambda: theta(np.inf, 3), "u"),
        (lambda: rate_i1(-np.inf, 3), "u"),
        (lambda: i1_delta(-1e-3), "delta"),
        (lambda: e_k(1.0, 0), "p"),
        (lambda: e_k(3, -2), "k"),
        (lambda: e_inf(np.nan), "p"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --------------------------------------------------------------------------- E_k


def test_e0_p3_printed_values():
    # ABC 2013 print E_0(3) ~ 1.657 and E_inf(3) ~ 1.633; 7 digits: 1.656998..., 1.632993...
    assert round(float(e_0(3)), 3) == 1.657
    assert round(float(e_inf(3)), 3) == 1.633
    assert abs(e_0(3) - 1.656998) < 1e-6
    assert abs(e_inf(3) - 1.632993) < 1e-6


def test_energy_table_against_mpmath_findroot_30_digits():
    tab = energy_table(range(3, 11), ks=(0, 1, 2))
    assert list(tab["p"]) == list(range(3, 11))
    with mp.workdps(30):
        for i, p in enumerate(tab["p"]):
            p = int(p)
            E = _mp_einf(p)
            assert abs(tab["E_inf"][i] - float(E)) < 1e-14
            for k in (0, 1, 2):
                root = mp.findroot(lambda u, p=p, k=k: _mp_theta_k(u, p, k), (-4, -E),
                                   solver="illinois")
                assert abs(_mp_theta_k(root, p, k)) < mp.mpf(10) ** -25
                assert abs(tab[f"E_{k}"][i] - float(-root)) < 1e-12
            # layered structure E_0 > E_1 > E_2 > E_inf
            assert tab["E_0"][i] > tab["E_1"][i] > tab["E_2"][i] > tab["E_inf"][i]


def test_e_k_residual_and_vectorised():
    ps = np.array([3, 5, 12])
    for k in (0, 5):
        ek = e_k(ps, k)
        assert np.shape(ek) == (3,)
        for p, e in zip(ps, ek, strict=True):
            assert abs(theta_k(-e, p, k)) < 1e-14
    # k -> infinity: E_k -> E_inf with (k+1) (4 sqrt 2/3) delta^{3/2} ~ Theta_{k,3}(-E_inf)
    # = 1/2 log 2 - 1/3 (the (1+delta)^2 term shifts delta by ~0.5% at k = 1e4)
    k = 10_000
    delta = ((0.5 * np.log(2) - 1 / 3) / ((k + 1) * 4 * np.sqrt(2) / 3)) ** (2 / 3)
    assert e_k(3, k) / e_inf(3) - 1 == pytest.approx(delta, rel=0.02)


# --------------------------------------------------------------------------- finite N


@pytest.mark.parametrize("N", [2, 3, 5, 8, 10])
def test_ordered_goe_integral_against_mehta(N):
    # int_{R^N} prod|x_i - x_j| prod e^{-x_i^2/2} = (2 pi)^{N/2} prod_{j<=N} G(1+j/2)/G(3/2),
    # rescaled to e^{-N x^2/2} and restricted to the ordered region (/ N!)
    j = np.arange(1, N + 1)
    log_mehta = (N / 2 * np.log(2 * np.pi) + np.sum(gammaln(1 + j / 2) - gammaln(1.5))
                 - gammaln(N + 1) - (N / 2 + N * (N - 1) / 4) * np.log(N))
    z0, _ = _ordered_integrals(N, None, None, None)
    assert abs(np.log(z0) + _log_norm_product(N) - log_mehta) < 1e-12


@pytest.mark.parametrize("p", [2, 3, 4, 6])
def test_n2_total_count_closed_form(p):
    # on the circle of radius sqrt 2, H is a stationary process with covariance 2 cos(t)^p;
    # Kac-Rice: E #crit = 2 sqrt(lambda_4 / lambda_2) = 2 sqrt(3p - 2); half minima, half maxima
    assert expected_critical_points(2, p) == pytest.approx(2 * np.sqrt(3 * p - 2), rel=1e-12)
    for k in (0, 1):
        assert expected_critical_points(2, p, k) == pytest.approx(np.sqrt(3 * p - 2), rel=1e-12)


def _rice_circle(p, u_max, minima):
    """Expected number of minima (maxima) of X(theta) = H on the circle with X <= 2 u_max.

    X ~ N(0, 2), X' ~ N(0, 2p) independent of (X, X''), X'' | X = x ~ N(-p x, 4p(p-1)).
    """
    sd = np.sqrt(4 * p * (p - 1))

    def integrand(x):
        m = -p * x if minima else p * x
        return norm.pdf(x, scale=np.sqrt(2)) * (m * norm.cdf(m / sd) + sd * norm.pdf(m / sd))

    val, _ = integrate.quad(integrand, -np.inf, 2 * u_max, epsabs=1e-14, epsrel=1e-12)
    return 2 * np.pi * norm.pdf(0, scale=np.sqrt(2 * p)) * val


@pytest.mark.parametrize("p", [2, 3, 5])
@pytest.mark.parametrize("u_max", [-1.7, -1.0, 0.0, 0.6])
def test_n2_energy_resolved_against_rice_formula(p, u_max):
    for k, minima in ((0, True), (1, False)):
        ref = _rice_circle(p, u_max, minima)
        assert expected_critical_points(2, p, k, u_max) == pytest.approx(ref, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("N", [3, 5, 8])
def test_p2_exactly_two_per_index(N):
    for k in range(N):
        assert expected_critical_points(N, 2, k) == pytest.approx(2.0, rel=1e-11)
    assert expected_critical_points(N, 2) == pytest.approx(2.0 * N, rel=1e-11)


def test_index_symmetry_and_sum():
    # H -> -H maps index k to N-1-k; the sum over k is the k=None count
    N, p = 5, 3
    per_k = [expected_critical_points(N, p, k) for k in range(N)]
    for k in range(N):
        assert per_k[k] == pytest.approx(per_k[N - 1 - k], rel=1e-11)
    assert sum(per_k) == pytest.approx(expected_critical_points(N, p), rel=1e-11)
    # restricted to u <= u_max, also additive and monotone in u_max
    u = -1.0
    per_k_u = [expected_critical_points(N, p, k, u) for k in range(N)]
    assert sum(per_k_u) == pytest.approx(expected_critical_points(N, p, None, u), rel=1e-11)
    assert expected_critical_points(N, p, 0, -1.2) < per_k_u[0] < per_k[0]
    assert expected_critical_points(N, p, 0, -50.0) == 0.0


def test_n3_deep_tail_against_direct_triple_integral():
    # E Crt_{3,0}(u) far below -E_inf (a rare event for Monte Carlo), against scipy's tplquad of
    # the ordered GOE_3 density normalised by Mehta's constant
    N, p, u = 3, 3, -3.0
    t = u * np.sqrt(p / (2 * (p - 1)))
    j = np.arange(1, N + 1)
    log_z = (N / 2 * np.log(2 * np.pi) + np.sum(gammaln(1 + j / 2) - gammaln(1.5))
             - gammaln(N + 1) - (N / 2 + N * (N - 1) / 4) * np.log(N))

    def f(x2, x1, x0):
        return ((x1 - x0) * (x2 - x0) * (x2 - x1)
                * np.exp(-N * (x0 * x0 + x1 * x1 + x2 * x2) / 2 - N * (p - 2) * x0 * x0 / (2 * p)))

    val, err = integrate.tplquad(f, -7, t, lambda x0: x0, lambda x0: 7, lambda x0, x1: x1,
                                 lambda x0, x1: 7, epsabs=0, epsrel=1e-8)
    ref = 2 * np.sqrt(2 / p) * (p - 1) ** (N / 2) * val / np.exp(log_z)
    assert expected_critical_points(N, p, 0, u) == pytest.approx(ref, rel=1e-7)


@pytest.mark.parametrize(
    "N, p, k, u_max",
    [(4, 3, None, np.inf), (5, 4, 0, -1.5), (6, 3, 1, -1.0), (7, 5, None, -0.5)],
)
def test_exact_against_goe_monte_carlo(N, p, k, u_max):
    exact = expected_critical_points(N, p, k, u_max)
    mc = expected_critical_points_mc(N, p, k, u_max, n_samples=20000, seed=12345)
    assert abs(mc.mean - exact) < 4.5 * mc.stderr


def test_large_n_total_approaches_theta():
    # E Crt_N(R) = 2 sqrt(2/p) (p-1)^{N/2} N <exp(-N c l^2)>_{rho_N}, c = (p-2)/(2p); for large N
    # the average is rho_sc(0) sqrt(pi / (N c)) (1 + O(1/N)), rho_sc(0) = sqrt(2)/pi, so
    # log E Crt_N - N Theta_p(+inf) - log(2 sqrt(2/p) (sqrt 2/pi) sqrt(pi N / c)) = O(1/N).
    # The exact values at N <= 12 give about -1.2/N (p = 3); allow 2/N plus 4.5 MC standard
    # errors.  (N stays <= 64 in the Monte Carlo: multithreaded LAPACK is slow on shared cores.)
    for p in (3, 4):
        c = (p - 2) / (2 * p)
        for N, method in ((8, "exact"), (10, "exact"), (32, "mc"), (64, "mc")):
            if method == "exact":
                mean, rel = expected_critical_points(N, p), 0.0
            else:
                est = expected_critical_points_mc(N, p, n_samples=300, seed=N + p)
                mean, rel = est.mean, est.stderr / est.mean
            lead = np.log(2 * np.sqrt(2 / p) * np.sqrt(2) / np.pi * np.sqrt(np.pi * N / c))
            resid = np.log(mean) - N * theta(1.0, p) - lead
            assert abs(resid) < 2.0 / N + 4.5 * rel
            # hence (1/N) log E Crt_N -> Theta_p = 1/2 log(p-1)
            assert abs(np.log(mean) / N - theta(1.0, p)) < (lead + 2.0) / N + 4.5 * rel / N


@pytest.mark.parametrize("N", [2, 3, 8, 9])
def test_total_via_mehta_density_matches_ordered_integration(N):
    # two exact routes: Mehta's one-point density (both parities) vs the ordered-region programme
    for p, u in ((3, np.inf), (3, -1.0), (4, -1.8), (3, -2.5)):
        a = expected_critical_points(N, p, None, u)
        assert expected_critical_points_total(N, p, u) == pytest.approx(a, rel=1e-12)


def test_total_via_mehta_density_against_monte_carlo():
    mc = expected_critical_points_mc(40, 3, None, -1.2, n_samples=2000, seed=99)
    assert abs(expected_critical_points_total(40, 3, -1.2) - mc.mean) < 4.5 * mc.stderr


@pytest.mark.parametrize("p", [3, 4])
def test_large_n_energy_resolved_approaches_theta(p):
    # (1/N) log E Crt_N(u) -> Theta_p(u) (ABC Thm 2.8), also below -E_inf where Theta_p contains
    # the GOE large-deviation rate -I_1.  The exact finite-N count is N Theta_p(u) plus the log of
    # a prefactor polynomial in N (the N eigenvalues, the sqrt(N) Laplace widths of the energy
    # and of the eigenvalue tail, the density's N^{1/2} scale), so the gap is
    # O(log N / N): allow 1.5 log N / N + 2/N and require it to shrink from N = 100 to 400.
    for u in (-2.5, -2.0, -1.7, -1.0, 0.5):
        gaps = []
        for N in (100, 400):
            gap = np.log(expected_critical_points_total(N, p, u)) / N - theta(u, p)
            assert abs(gap) < 1.5 * np.log(N) / N + 2.0 / N
            gaps.append(abs(gap))
        assert gaps[1] < gaps[0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: expected_critical_points(1, 3), "N"),
        (lambda: expected_critical_points(13, 3), "N"),
        (lambda: expected_critical_points(4, 1), "p"),
        (lambda: expected_critical_points(4, 3, 4), "k"),
        (lambda: expected_critical_points(4, 3, -1), "k"),
        (lambda: expected_critical_points(4, 3, None, np.nan), "u_max"),
        (lambda: expected_critical_points_mc(4, 3, n_samples=1), "n_samples"),
        (lambda: expected_critical_points_total(401, 3), "N"),
        (lambda: expected_critical_points_total(20, 3, -np.inf), "u_max"),
    ],
)
def test_finite_n_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --------------------------------------------------------------------------- index law


def test_index_fraction_against_mpmath_quadrature():
    p = 3
    E = float(e_inf(p))
    u = np.array([-2.0, -E, -0.999 * E, -0.5, 0.0, 0.7, E, 3.0])
    got = index_fraction(u, p)
    with mp.workdps(30):
        for ui, gi in zip(u, got, strict=True):
            x = min(max(mp.mpf(ui) / _mp_einf(p), -1), 1)
            ref = mp.quad(lambda t: 2 / mp.pi * mp.sqrt(1 - t * t), [-1, x])
            assert abs(gi - float(ref)) < 1e-14
    # semicircle_cdf tail accuracy: relative, against mpmath
    with mp.workdps(30):
        for eps in [1e-12, 1e-6, 1e-2, 0.3]:
            ref = mp.quad(lambda t: 2 / mp.pi * mp.sqrt(1 - t * t), [-1, -1 + mp.mpf(eps)])
            assert abs(semicircle_cdf(-1 + eps) / float(ref) - 1) < 1e-9 + 1e-15 / eps


def test_index_fraction_bottom_asymptotic():
    # Bray & Dean: alpha ~ (4 sqrt 2 / (3 pi)) eps^{3/2}, eps = (u + E_inf)/E_inf;
    # the next relative term is -3 eps / 20
    for p in (3, 5):
        E = float(e_inf(p))
        for eps in [1e-8, 1e-5, 1e-3, 1e-2]:
            u = -E + eps * E
            e_true = (u + E) / E
            ratio = index_fraction(u, p) / (4 * np.sqrt(2) / (3 * np.pi) * e_true**1.5)
            assert abs(ratio - 1) < 0.2 * e_true + 1e-7
        assert index_fraction(-1.01 * E, p) == 0.0 and index_fraction(1.01 * E, p) == 1.0
        assert index_fraction(0.0, p) == pytest.approx(0.5, abs=1e-15)


def test_hessian_spectrum_pdf_moments_and_index():
    for p, u in ((3, -1.0), (4, 0.4), (3, -1.7)):
        R = 2 * np.sqrt(p * (p - 1))
        c = -p * u

        def f(x, k, u=u, p=p):
            return x**k * hessian_spectrum_pdf(x, u, p)

        mass = integrate.quad(f, c - R, c + R, args=(0,), epsabs=1e-13)[0]
        mean = integrate.quad(f, c - R, c + R, args=(1,), epsabs=1e-13)[0]
        m2 = integrate.quad(f, c - R, c + R, args=(2,), epsabs=1e-12)[0]
        assert mass == pytest.approx(1.0, abs=1e-10)
        assert mean == pytest.approx(c, abs=1e-9)
        assert m2 - mean**2 == pytest.approx(p * (p - 1), rel=1e-9)
        neg = integrate.quad(f, min(c - R, 0.0), 0.0, args=(0,), epsabs=1e-13)[0] if c - R < 0 \
            else 0.0
        assert neg == pytest.approx(index_fraction(u, p), abs=1e-9)


def _sym3(J):
    return (J + J.transpose(0, 2, 1) + J.transpose(1, 0, 2) + J.transpose(1, 2, 0)
            + J.transpose(2, 0, 1) + J.transpose(2, 1, 0)) / 6.0


def test_hamiltonian_covariance_convention():
    # E[H(s) H(s')] = N (s.s'/N)^3 for H = N^{-1} sum J_ijk s_i s_j s_k (p = 3), J iid N(0,1)
    rng = np.random.default_rng(2026)
    N, n = 5, 20000
    s1 = rng.standard_normal(N)
    s1 *= np.sqrt(N) / np.linalg.norm(s1)
    s2 = s1 + 0.8 * rng.standard_normal(N)
    s2 *= np.sqrt(N) / np.linalg.norm(s2)
    J = rng.standard_normal((n, N, N, N))
    h1 = np.einsum("nijk,i,j,k->n", J, s1, s1, s1) / N
    h2 = np.einsum("nijk,i,j,k->n", J, s2, s2, s2) / N
    for a, b, ref in ((h1, h1, N), (h1, h2, N * (s1 @ s2 / N) ** 3)):
        prod = a * b
        assert abs(prod.mean() - ref) < 4.5 * prod.std(ddof=1) / np.sqrt(n)


def test_sampled_hessian_matches_semicircle():
    # Tangent Euclidean Hessian of a p = 3 H_N at a point independent of J is GOE with
    # off-diagonal variance p(p-1)/N: E tr(T^2)/(N-1) = p(p-1) exactly, with standard deviation
    # 2 v sqrt(n(n+1))/n per sample (v = p(p-1)/N, n = N-1).  The Riemannian Hessian
    # T - (s.grad H / N) I is shifted by -p u (Euler: s.grad H = p H).
    rng = np.random.default_rng(7)
    N, p, reps = 150, 3, 3
    n, v = N - 1, p * (p - 1) / N
    R = 2 * np.sqrt(p * (p - 1))
    m2 = []
    for _ in range(reps):
        Js = _sym3(rng.standard_normal((N, N, N)))
        s = rng.standard_normal(N)
        s *= np.sqrt(N) / np.linalg.norm(s)
        H = np.einsum("ijk,i,j,k->", Js, s, s, s) / N
        grad = 3 * np.einsum("ijk,j,k->i", Js, s, s) / N
        hess = 6 * np.einsum("ijk,k->ij", Js, s) / N
        assert s @ grad == pytest.approx(p * H, rel=1e-10)
        # tangent basis: columns 2..N of the Householder reflection swapping e_1 and s/|s|
        w = s / np.linalg.norm(s)
        w[0] -= 1.0
        Q = (np.eye(N) - 2.0 * np.outer(w, w) / (w @ w))[:, 1:]
        assert np.abs(Q.T @ s).max() < 1e-12 and np.allclose(Q.T @ Q, np.eye(n), atol=1e-13)
        T = Q.T @ hess @ Q
        m2.append(np.trace(T @ T) / n)
        u = H / N
        lam = np.sort(np.linalg.eigvalsh(T - (s @ grad / N) * np.eye(n)))
        # empirical CDF vs the semicircle of hessian_spectrum_pdf (centre -p u, radius R);
        # GOE rigidity keeps the KS distance O(log n / n) ~ 0.03 at n = 149
        F = np.asarray(semicircle_cdf((lam + p * u) / R))
        ks = max(np.max(np.abs(F - np.arange(1, n + 1) / n)), np.max(np.abs(F - np.arange(n) / n)))
        assert ks < 0.05
    sd = 2 * v * np.sqrt(n * (n + 1)) / n
    assert abs(np.mean(m2) - p * (p - 1)) < 4.5 * sd / np.sqrt(reps)


# --------------------------------------------------------------------------- mixed models


@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_mixed_pure_reduces_to_abc(p):
    a2 = np.zeros(p + 1)
    a2[p] = 2.5  # an overall scale does not change the counts
    assert mixed_total_complexity(a2) == pytest.approx(0.5 * np.log(p - 1), rel=1e-15, abs=1e-300)
    assert mixed_total_complexity(a2) == pytest.approx(theta(1.0, p), rel=1e-15, abs=1e-300)
    E = float(e_inf(p))
    u = np.array([-3.0, -1.3 * E, -1.001 * E, -E, -0.4, 0.0, 1.0])
    with mp.workdps(30):
        ref = np.array([float(_mp_theta(x, p)) for x in u])
    np.testing.assert_allclose(mixed_theta(u * np.sqrt(2.5), a2), ref, rtol=1e-12, atol=1e-13)


def test_mixed_properties():
    a2 = [0, 0, 0.3, 1.0, 0.5]
    nu, d1, d2 = 1.8, 0.6 + 3 + 2.0, 0.6 + 6 + 6.0
    total = mixed_total_complexity(a2)
    assert total == pytest.approx(0.5 * np.log(d2 / d1), rel=1e-15)
    u = np.linspace(-3.0, 3.0, 241) * np.sqrt(nu)
    D = mixed_theta_density(u, a2)
    np.testing.assert_allclose(D, D[::-1], rtol=0, atol=1e-13)  # H -> -H symmetry
    assert np.max(D) <= total + 1e-14
    assert mixed_theta_density(0.0, a2) == pytest.approx(total, rel=1e-14)
    th = mixed_theta(u, a2)
    assert np.all(np.diff(th) >= -1e-14)
    # near-pure mixture: continuity in the mixture, O(eps) from Theta_3
    eps = 1e-7
    uu = np.linspace(-2.5, 0.5, 31)
    np.testing.assert_allclose(mixed_theta(uu, [0, 0, 0, 1, eps]), theta(uu, 3), atol=50 * eps)


@pytest.mark.parametrize("a2", [[0, 0, 0], [1, 0, 1], [0, 1, 1], [0, 0, -1], [[0, 0, 1]]])
def test_mixed_bad_input(a2):
    with pytest.raises(ValueError, match="a2"):
        mixed_total_complexity(a2)
