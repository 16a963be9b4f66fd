"""Numerical laws, R/S transforms, free convolutions and the Jacobian density of smooth
activations, each against an independent truth (closed forms, moment formulas, the exact
Bernoulli engine, Monte Carlo)."""

from __future__ import annotations

import math
import warnings
from math import comb

import mpmath
import numpy as np
import pytest
from scipy.special import roots_legendre

import deeptheory.meanfield as mf
from deeptheory.kernels import get_activation, stieltjes_sum
from deeptheory.rmt import laws
from deeptheory.rmt.free import (
    free_additive_convolution,
    free_multiplicative_convolution,
    free_multiplicative_power,
)
from deeptheory.rmt.jacobian import jacobian_moments, sample_jacobian_singular_values
from deeptheory.rmt.numerical import (
    DiscreteLaw,
    MarchenkoPasturLaw,
    SemicircleLaw,
    dphi2_law,
    inverse_moment_generating,
    inverse_stieltjes,
    law_from_density,
    law_from_moments,
    moment_generating,
    r_transform,
    s_transform,
    stieltjes,
)
from deeptheory.rmt.spectrum import (
    _General,
    _general_density,
    jacobian_cdf,
    jacobian_density,
    jacobian_max_eigenvalue,
    jacobian_singular_value_density,
)

W_PTS = np.array([0.05, 0.2 + 0.1j, -0.15j, -0.1 + 0.05j])
M_PTS = np.array([0.05, 0.3 + 0.2j, -0.2, 0.1 - 0.4j])


# --------------------------------------------------------------------------- laws and transforms


def test_stieltjes_sum_matches_python_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    w = rng.random(50)
    z = rng.normal(size=7) + 1j * rng.random(7)
    g, dg = stieltjes_sum(z, x, w)
    g_ref = np.array([sum(wk / (zi - xk) for xk, wk in zip(x, w, strict=True)) for zi in z])
    dg_ref = np.array([-sum(wk / (zi - xk) ** 2 for xk, wk in zip(x, w, strict=True))
                       for zi in z])
    np.testing.assert_allclose(g, g_ref, rtol=1e-13)
    np.testing.assert_allclose(dg, dg_ref, rtol=1e-13)


@pytest.mark.parametrize("var", [0.5, 2.0])
def test_semicircle_r_transform_closed_and_quadrature(var):
    """R(w) = s^2 w (Voiculescu), from the closed-form G and from a quadrature law."""
    exact = var * W_PTS
    np.testing.assert_allclose(r_transform(SemicircleLaw(var), W_PTS), exact, atol=1e-12)
    r = 2 * math.sqrt(var)
    q = law_from_density(lambda x: laws.semicircle_pdf(x, var), -r, r)
    np.testing.assert_allclose(r_transform(q, W_PTS), exact, atol=1e-10)


@pytest.mark.parametrize("ratio,var", [(0.5, 1.5), (0.25, 1.0)])
def test_marchenko_pastur_s_transform_closed_and_quadrature(ratio, var):
    """S(m) = 1/(s^2 (1 + c m)) from the closed-form G and from a quadrature law."""
    exact = 1.0 / (var * (1.0 + ratio * M_PTS))
    np.testing.assert_allclose(s_transform(MarchenkoPasturLaw(ratio, var), M_PTS), exact,
                               rtol=1e-12)
    a, b = laws.marchenko_pastur_support(ratio, var)
    q = law_from_density(lambda x: laws.marchenko_pastur_pdf(x, ratio, var), a, b)
    np.testing.assert_allclose(s_transform(q, M_PTS), exact, rtol=1e-10)


def test_bernoulli_s_transform():
    """Bernoulli(p): S(m) = (1 + m)/(m + p) (Pennington et al. 2017)."""
    p = 0.3
    law = DiscreteLaw([0.0, 1.0], [1 - p, p])
    np.testing.assert_allclose(s_transform(law, M_PTS), (1 + M_PTS) / (M_PTS + p), rtol=1e-12)
    assert s_transform(law, 0.0) == pytest.approx(1 / p)
    assert r_transform(law, 0.0) == pytest.approx(p)


def test_quadrature_stieltjes_matches_closed_form():
    """G of the quadrature law equals the closed form to 1e-10 a little off the support."""
    z = np.array([2.5 + 0.0j, 0.3 + 0.5j, -1.0 + 0.2j, 3j])
    q = law_from_density(laws.semicircle_pdf, -2, 2)
    np.testing.assert_allclose(stieltjes(q, z), laws.semicircle_stieltjes(z), atol=1e-10)
    np.testing.assert_allclose(moment_generating(q, z), z * laws.semicircle_stieltjes(z) - 1,
                               atol=1e-10)


def test_law_from_moments_is_the_gauss_rule():
    """The n-point rule of the semicircle's moments (Catalan numbers) reproduces m_0..m_2n-1
    and its nodes are the zeros of the Chebyshev U_n(x/2) (Jacobi matrix of U_n)."""
    n = 6
    mom = [float(laws.semicircle_moment(k)) for k in range(2 * n)]
    law = law_from_moments(mom)
    for k in range(2 * n):
        assert np.sum(law.weights * law.nodes**k) == pytest.approx(mom[k], abs=1e-12)
    nodes = np.sort(2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1)))
    np.testing.assert_allclose(law.nodes, nodes, atol=1e-12)
    # weights of Gauss-Chebyshev (2nd kind) for the semicircle: (2/(n+1)) sin^2(k pi/(n+1))
    k = np.arange(1, n + 1)
    order = np.argsort(2 * np.cos(k * np.pi / (n + 1)))
    w = (2 / (n + 1) * np.sin(k * np.pi / (n + 1)) ** 2)[order]
    np.testing.assert_allclose(law.weights, w, atol=1e-12)


def test_dphi2_law_moments_match_mpmath():
    """E[D^2] and E[D^4] of the tanh D^2 law against mpmath quadrature."""
    q = 0.7
    law = dphi2_law("tanh", q)
    for k in (1, 2):
        ref = mpmath.quad(
            lambda z, k=k: mpmath.sech(mpmath.sqrt(q) * z) ** (4 * k) * mpmath.npdf(z),
            [-mpmath.inf, 0, mpmath.inf],
        )
        assert np.sum(law.weights * law.nodes**k) == pytest.approx(float(ref), rel=1e-13)


def test_bad_input_transforms():
    with pytest.raises(ValueError, match="support"):
        stieltjes(SemicircleLaw(1.0), 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        DiscreteLaw([0, 1], [0.5, 0.6])
    with pytest.raises(ValueError, match="weights"):
        DiscreteLaw([0, 1], [-0.5, 1.5])
    with pytest.raises(ValueError, match="var"):
        SemicircleLaw(-1.0)
    with pytest.raises(ValueError, match="ratio"):
        MarchenkoPasturLaw(0.0)
    with pytest.raises(ValueError, match="integrates"):
        law_from_density(lambda x: 2 * laws.semicircle_pdf(x), -2, 2)
    with pytest.raises(ValueError, match="support points"):
        law_from_moments([1.0, 0.0, 0.0, 0.0])  # a point mass has 1 support point, not 2
    with pytest.raises(ValueError, match="nonzero mean"):
        s_transform(SemicircleLaw(1.0), 0.1)
    with pytest.raises(TypeError, match="SpectralLaw"):
        r_transform([1, 2], 0.1)
    with pytest.raises(ValueError, match="support|domain"):
        # G(2) = 1 at the edge of the semicircle: no real z has G(z) = 1.5
        inverse_stieltjes(SemicircleLaw(1.0), 1.5)
    with pytest.raises(ValueError, match="nonzero"):
        inverse_moment_generating(MarchenkoPasturLaw(0.5), 0.0)


# --------------------------------------------------------------------------- free convolutions


def test_semicircle_plus_semicircle():
    """Semicircle(v1) + semicircle(v2) = semicircle(v1 + v2) (R-transforms add)."""
    x = np.linspace(-3.5, 3.5, 141)
    res = free_additive_convolution(SemicircleLaw(1.0), SemicircleLaw(2.0), x, eps=1e-12)
    np.testing.assert_allclose(res.density, laws.semicircle_pdf(x, 3.0), atol=1e-8)
    z = x + 0.3j
    res = free_additive_convolution(SemicircleLaw(1.0), SemicircleLaw(2.0), x,
                                    eps=0.3 / (2 * math.sqrt(2)))
    np.testing.assert_allclose(res.stieltjes, laws.semicircle_stieltjes(z, 3.0), atol=1e-12)


def test_bernoulli_plus_bernoulli_is_arcsine():
    """Two free symmetric Bernoulli(+-1) laws sum to the arcsine law on [-2, 2]:
    G = 1/sqrt(z^2 - 4), density 1/(pi sqrt(4 - x^2))."""
    b = DiscreteLaw([-1.0, 1.0], [0.5, 0.5])
    x = np.linspace(-1.9, 1.9, 39)
    res = free_additive_convolution(b, b, x, eps=1e-12)
    np.testing.assert_allclose(res.density, 1 / (np.pi * np.sqrt(4 - x**2)), rtol=1e-8)


def test_mp_times_bernoulli_is_mp():
    """S_MP(1) S_Bern(p) = 1/(m + p) = S of Marchenko-Pastur with ratio 1/p, variance p:
    Marchenko-Pastur built from its S-transform."""
    p = 0.4
    x = np.linspace(0.01, 4.0, 80)
    res = free_multiplicative_convolution(MarchenkoPasturLaw(1.0), DiscreteLaw([0, 1],
                                          [1 - p, p]), x, eps=1e-12)
    np.testing.assert_allclose(res.density, laws.marchenko_pastur_pdf(x, 1 / p, p), atol=2e-7)


def _integrate_positive(f, top, umin=-40.0, panels=40, order=16):
    """integral_0^top f(x) x^k dx for k = 0, 1, 2: log x below top/2, x = top (1 - s^2/2)
    above (square-root edge)."""
    t, w = roots_legendre(order)
    e = np.linspace(umin, math.log(0.5), panels + 1)
    h = np.diff(e)[:, None] / 2
    u = ((e[1:] + e[:-1])[:, None] / 2 + h * t).ravel()
    x1, w1 = top * np.exp(u), (h * w).ravel() * top * np.exp(u)
    e = np.linspace(0, 1, 21)
    h = np.diff(e)[:, None] / 2
    s = ((e[1:] + e[:-1])[:, None] / 2 + h * t).ravel()
    x2, w2 = top * (1 - 0.5 * s * s), (h * w).ravel() * top * s
    x = np.concatenate([x1, x2])
    wt = np.concatenate([w1, w2])
    d = f(x)
    return [float(np.sum(wt * d * x**k)) for k in range(3)]


@pytest.mark.parametrize("L", [2, 3])
def test_mp_power_fuss_catalan(L):
    """MP(1)^{[L]} has the Fuss-Catalan moments C((L+1)k, k)/(L k + 1); its edge is
    (L+1)^(L+1)/L^L."""
    top = (L + 1) ** (L + 1) / L**L
    mom = _integrate_positive(
        lambda x: free_multiplicative_power(MarchenkoPasturLaw(1.0), L, x, eps=1e-12).density,
        top, umin=-60.0,
    )
    fc = [comb((L + 1) * k, k) / (L * k + 1) for k in range(3)]
    # the density diverges like x^(-L/(L+1)) at 0: mass below e^-60 is ~ e^(-60/(L+1))
    assert mom[0] == pytest.approx(1.0, abs=3 * math.exp(-60 / (L + 1)))
    assert mom[1] == pytest.approx(fc[1], rel=1e-6)
    assert mom[2] == pytest.approx(fc[2], rel=1e-6)


def _contour_moments(g_of_z, radius: float, kmax: int, n: int = 64) -> np.ndarray:
    """m_k = (1/2 pi i) contour integral of z^k G(z) on |z| = radius (outside the support),
    by the trapezoid rule (exponentially accurate); G(conj z) = conj G(z) fills the lower
    half of the circle."""
    theta = (np.arange(n) + 0.5) * np.pi / n  # upper half, off the real axis
    z = radius * np.exp(1j * theta)
    g = np.asarray(g_of_z(z))
    zz = np.concatenate([z, np.conj(z)])
    gg = np.concatenate([g, np.conj(g)])
    return np.array([np.mean(zz ** (k + 1) * gg).real for k in range(kmax + 1)])


def test_multiplicative_convolution_moments():
    """Free A, B: m1 = a1 b1, m2 = a2 b1^2 + a1^2 b2 - a1^2 b1^2 (free cumulants), read
    from G on a circle around the support."""
    a = MarchenkoPasturLaw(0.3, 1.2)
    b = DiscreteLaw([0.5, 1.0, 2.0], [0.2, 0.5, 0.3])
    mom = _contour_moments(lambda z: free_multiplicative_convolution(a, b, z).stieltjes,
                           radius=15.0, kmax=2)
    a1, a2 = a.moments[1], a.moments[2]
    b1, b2 = b.moments[1], b.moments[2]
    assert mom[0] == pytest.approx(1.0, abs=1e-12)
    assert mom[1] == pytest.approx(a1 * b1, rel=1e-12)
    assert mom[2] == pytest.approx(a2 * b1**2 + a1**2 * b2 - a1**2 * b1**2, rel=1e-12)


def test_additive_convolution_moments():
    """Free A, B: m1 = a1 + b1, m2 = a2 + b2 + 2 a1 b1 (variances add)."""
    a = MarchenkoPasturLaw(0.5, 1.0)
    b = DiscreteLaw([-1.0, 0.5, 3.0], [0.3, 0.3, 0.4])
    mom = _contour_moments(lambda z: free_additive_convolution(a, b, z).stieltjes,
                           radius=20.0, kmax=2)
    a1, a2 = a.moments[1], a.moments[2]
    b1, b2 = b.moments[1], b.moments[2]
    assert mom[0] == pytest.approx(1.0, abs=1e-12)
    assert mom[1] == pytest.approx(a1 + b1, rel=1e-12)
    assert mom[2] == pytest.approx(a2 + b2 + 2 * a1 * b1, rel=1e-12)


def test_free_convolution_bad_input():
    sc = SemicircleLaw(1.0)
    with pytest.raises(ValueError, match="eps"):
        free_additive_convolution(sc, sc, 0.0, eps=0.0)
    with pytest.raises(ValueError, match=r"\[0, inf\)"):
        free_multiplicative_convolution(sc, MarchenkoPasturLaw(1.0), 1.0)
    with pytest.raises(ValueError, match="L"):
        free_multiplicative_power(MarchenkoPasturLaw(1.0), 0, 1.0)
    with pytest.raises(ValueError, match="x"):
        free_additive_convolution(sc, sc, np.nan)


# --------------------------------------------------------------------------- Jacobian, smooth phi


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("L", [2, 8])
def test_general_engine_reproduces_bernoulli_engine(weights, L):
    """The quadrature-law engine fed the exact Bernoulli law of relu's D^2 reproduces the
    closed-form Bernoulli engine."""
    law = _General(DiscreteLaw([0.0, 1.0], [0.5, 0.5]), 2.0, L, weights == "orthogonal")
    lam = jacobian_max_eigenvalue(2.0, 0.0, L, "relu", weights)
    x = np.linspace(0.02, 0.98, 9) * lam
    ref = jacobian_density(x, 2.0, 0.0, L, "relu", weights).density
    got = _general_density(x, law, 0.0, get_activation("relu"), 1.0)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7 * ref.max())


CRIT = {"tanh": 0.05, "erf": 0.02}


@pytest.mark.parametrize("act", ["tanh", "erf"])
@pytest.mark.parametrize(
    "weights,L,umin",
    [("orthogonal", 2, -60.0), ("orthogonal", 8, -60.0), ("gaussian", 2, -60.0),
     pytest.param("gaussian", 8, -250.0, marks=pytest.mark.slow)],
)
def test_smooth_density_mass_and_moments(act, weights, L, umin):
    """On the critical line: integral of rho, x rho, x^2 rho against 1, m1 and m2 of
    :func:`jacobian_moments` (Pennington et al. 2018, eq. 32), to 1e-6.

    The integral runs from lambda_max e^umin: Gaussian weights put mass ~ x^(1/(L+1))
    below x (as for products of Wishart matrices), 0.6-0.8 % below e^-60 at L = 8, so
    that case starts at e^-250 (slow); at L = 2 the part below e^-60 is < 1e-7 (measured
    with e^-250)."""
    sb2 = CRIT[act]
    sw2 = float(mf.critical_line(sb2, act))
    lam = jacobian_max_eigenvalue(sw2, sb2, L, act, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # far-tail fallback (documented)
        mom = _integrate_positive(
            lambda x: jacobian_density(x, sw2, sb2, L, act, weights).density, lam, umin=umin,
            panels=160 if umin > -100 else 400, order=24,
        )
    ref = jacobian_moments(sw2, sb2, L, act, weights)
    assert mom[0] == pytest.approx(1.0, abs=1e-6)
    assert mom[1] == pytest.approx(ref.m1, rel=1e-6)
    assert mom[2] == pytest.approx(ref.m2, rel=1e-6)


def test_depth_one_orthogonal_is_change_of_variables():
    """L = 1, orthogonal: J J^T = sigma_w^2 D^2 exactly; its CDF at y is the Gaussian mass
    where sigma_w^2 phi'(x)^2 <= y, computed here with the inverse of sech^4."""
    sw2, sb2 = 1.5, 0.1
    q = float(mf.q_star(sw2, sb2, "tanh"))
    y = np.array([0.2, 0.6, 1.0, 1.4])
    cdf = jacobian_cdf(y, sw2, sb2, 1, "tanh", "orthogonal")
    xr = np.arccosh((sw2 / y) ** 0.25)  # sech^4(x) = y / sw2
    ref = 2 * (1 - 0.5 * (1 + np.vectorize(math.erf)(xr / math.sqrt(2 * q))))
    np.testing.assert_allclose(cdf, ref, atol=1e-6)


def test_linear_gaussian_cdf_is_marchenko_pastur():
    x = np.array([0.05, 0.5, 1.0, 2.0, 3.9])
    np.testing.assert_allclose(jacobian_cdf(x, 1.0, 0.0, 1, "linear", "gaussian"),
                               laws.marchenko_pastur_cdf(x, 1.0), atol=1e-9)


def _reliable_quantiles(ev: np.ndarray, n: int = 40) -> np.ndarray:
    """Sample quantiles at levels 0.025..0.975, keeping those above 1e-20 of the largest
    eigenvalue: an SVD resolves singular values only down to ~1e-16 of the largest, so
    smaller eigenvalues are rounding noise (but still correctly counted as 'below')."""
    qs = np.quantile(ev, np.linspace(0.025, 0.975, n))
    return qs[qs > 1e-20 * ev.max()]


def _ks(ev: np.ndarray, qs: np.ndarray, cdf: np.ndarray) -> float:
    ev = np.sort(ev)
    hi = np.searchsorted(ev, qs, side="right") / ev.size
    lo = np.searchsorted(ev, qs, side="left") / ev.size
    return float(np.max(np.maximum(np.abs(hi - cdf), np.abs(lo - cdf))))


@pytest.mark.parametrize("act", ["tanh", "erf"])
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_smooth_density_vs_monte_carlo(act, weights):
    """Eigenvalues of J J^T of sampled networks (N = 400, L = 8, 8 networks) against the
    theoretical CDF at 40 sample quantiles (Kolmogorov-Smirnov distance).

    Tolerance: the Dvoretzky-Kiefer-Wolfowitz bound at level 1e-3 for n = 3200 iid draws,
    sqrt(ln(2/1e-3)/(2 n)) = 0.035, is conservative here because eigenvalues of one matrix
    repel (their empirical CDF fluctuates less than an iid sample's), plus a finite-width
    bias of 2/N.  The same test against the *other* weight ensemble fails, so it can fail.
    """
    sb2 = CRIT[act]
    sw2 = float(mf.critical_line(sb2, act))
    L, n, trials = 8, 400, 8
    ev = sample_jacobian_singular_values(sw2, sb2, L, act, width=n, weights=weights,
                                         n_trials=trials, seed=3).ravel()
    qs = _reliable_quantiles(ev)
    tol = math.sqrt(math.log(2 / 1e-3) / (2 * ev.size)) + 2 / n
    cdf = jacobian_cdf(qs, sw2, sb2, L, act, weights)
    assert _ks(ev, qs, cdf) < tol
    other = "orthogonal" if weights == "gaussian" else "gaussian"
    assert _ks(ev, qs, jacobian_cdf(qs, sw2, sb2, L, act, other)) > tol


def test_singular_value_density_integrates_to_cdf():
    """integral_{s1}^{s2} rho_sigma = F(s2^2) - F(s1^2), Gauss-Legendre in s."""
    sb2 = CRIT["tanh"]
    sw2 = float(mf.critical_line(sb2, "tanh"))
    s1_, s2_ = 0.3, 1.4
    t, w = roots_legendre(40)
    e = np.linspace(s1_, s2_, 9)
    h = np.diff(e)[:, None] / 2
    s = ((e[1:] + e[:-1])[:, None] / 2 + h * t).ravel()
    integral = np.sum((h * w).ravel()
                      * jacobian_singular_value_density(s, sw2, sb2, 4, "tanh",
                                                        "orthogonal").density)
    cdf = jacobian_cdf(np.array([s1_**2, s2_**2]), sw2, sb2, 4, "tanh", "orthogonal")
    assert integral == pytest.approx(cdf[1] - cdf[0], abs=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_smooth_density_vs_monte_carlo_deep(weights):
    """As test_smooth_density_vs_monte_carlo at depth 64, width 400, 4 networks (tanh).
    With Gaussian weights a third of the limiting mass lies below 1e-34 (the CDF grows
    like x^(1/(L+1))); only quantiles that float64 resolves are compared."""
    sb2 = CRIT["tanh"]
    sw2 = float(mf.critical_line(sb2, "tanh"))
    L, n = 64, 400
    ev = sample_jacobian_singular_values(sw2, sb2, L, "tanh", width=n, weights=weights,
                                         n_trials=4, seed=5).ravel()
    qs = _reliable_quantiles(ev)
    assert qs.size >= 10
    tol = math.sqrt(math.log(2 / 1e-3) / (2 * ev.size)) + 2 / n
    assert _ks(ev, qs, jacobian_cdf(qs, sw2, sb2, L, "tanh", weights)) < tol
