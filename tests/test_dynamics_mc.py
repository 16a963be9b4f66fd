"""Lyapunov spectra of random networks (deeptheory.dynamics) against theory: Monte Carlo.

Truths: Newman's exact spectrum of Gaussian products (digamma); the free-probability law
of the fresh-weights map (Kargin 2008, Tucci 2010) with 1/2 ln chi_1 from
deeptheory.meanfield at the top; the mean-field largest exponent of the random recurrent
network; exact linearisations (numpy.linalg.eigvals) where the dynamics settles on a
fixed point; sum rules.

Tolerances.  ``LyapunovSpectrum.stderr`` is a batch-means standard error over 50 blocks
(``test_batch_means_stderr_is_calibrated`` checks it against the spread of independent
runs).  A comparison of one run with theory uses |estimate - theory| <= z * stderr + a
finite-N allowance, z the Student-t quantile with 49 degrees of freedom at two-sided
level 1e-3 / (number of exponents compared) (Bonferroni: the family of comparisons fails
with probability <= 1e-3 if the allowance covers the bias; the seeds are fixed, so a
pass is deterministic).  Comparisons across random networks use the standard error of
the mean over networks (the spread between networks dominates the within-run error)
and the same z for the number of comparisons.  Each finite-N allowance is sized from an
independent source (Newman's exact finite-N spectrum, or a measurement with numpy
stated where it is used).  Each theory comparison also shows that a plausible wrong
answer is rejected by the same tolerance.

Runtimes (2-core machine): the fast tests about 20 s in all; the ``slow`` ones about
2 min (the four wider fresh-weights runs 20-28 s each).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import deeptheory.dynamics as dyn
from deeptheory import meanfield as mf

N_BLOCKS = 50


def z_family(m, level=1e-3, df=N_BLOCKS - 1):
    """Two-sided Student-t quantile for m comparisons at family level ``level``."""
    return float(stats.t.isf(level / (2 * m), df))


def midpoint_t(n):
    """The quantiles t_i = (N - i + 1/2) / N, i = 1..N, of fresh_weights_exponents."""
    return (n - np.arange(1, n + 1) + 0.5) / n


def newman_finite_n(n):
    """Finite-N correction of Newman's spectrum at the midpoint quantiles: the exact
    N x N exponents minus their N -> inf limit 1/2 ln t_i (s^2 = 1; the correction does not
    depend on s^2).  About -0.0017 to -0.005 in the bulk and -0.29 at the bottom."""
    return dyn.newman_exponents(n) - 0.5 * np.log(midpoint_t(n))


def within(est, se, want, allowance, m, df=N_BLOCKS - 1):
    """Boolean per exponent: |est - want| <= z_family(m) * se + allowance."""
    return np.abs(est - want) <= z_family(m, df=df) * se + allowance


# --------------------------------------------------------------------------- stderr


def test_batch_means_stderr_is_calibrated():
    """One network (g = 2, N = 50), 24 initial conditions: the spread of the estimates
    across runs matches the batch-means standard error of one run.  Measured ratios
    sd / rms(stderr): 0.86, 1.01, 0.91 (16 runs).  With 23 degrees of freedom the ratio
    lies in [0.51, 1.55] with probability 1 - 1e-3/3 per exponent (chi-square)."""
    net = dyn.random_rnn(50, 2.0, seed=0)
    runs = [dyn.lyapunov_spectrum(net, n_steps=1000, k=3, seed=s, on_fail="ignore")
            for s in range(24)]
    est = np.array([r.exponents for r in runs])
    se = np.array([r.stderr for r in runs])
    ratio = est.std(axis=0, ddof=1) / np.sqrt(np.mean(se**2, axis=0))
    a = 1e-3 / 3
    lo = math.sqrt(stats.chi2.ppf(a / 2, 23) / 23)
    hi = math.sqrt(stats.chi2.ppf(1 - a / 2, 23) / 23)
    assert np.all((lo <= ratio) & (ratio <= hi)), ratio


# --------------------------------------------------------------------------- Newman


def _newman_run(seed, n=100, steps=4000):
    return dyn.lyapunov_spectrum(dyn.DeepMap(n, 1.0, activation="linear"), n_steps=steps,
                                 seed=seed)


def test_newman_gaussian_products():
    """Products of N(0, 1/N) matrices, N = 100, 4000 steps, every exponent against
    Newman (1986): |est - exact| <= z * stderr, z = 4.93 (Bonferroni over 100 exponents,
    family level 1e-3; no bias: the law is exact at this N).  Measured (seeds 0, 1, 2):
    max |z| 2.7, 3.1, 3.6, max |est - exact| 0.023, 0.011, 0.010, mean z^2 1.08, 0.96, 1.44.

    The sum is E ln|det W| per step, i.i.d. over steps, with variance
    1/4 sum_{j=1}^N psi'(j/2) (ln|det W| = sum of 1/2 ln chi^2_j / N): its standard error
    over T steps is exact, 0.030; tolerance 3.5 of those.  Measured z: -0.05, 0.52, 0.12.

    Wrong answer rejected: the N -> inf law 1/2 ln t_i at the same N misses by up to
    18-20 standard errors (its bottom is 0.29 too high)."""
    n, steps = 100, 4000
    res = _newman_run(0, n, steps)
    exact = dyn.newman_exponents(n)
    assert dyn.newman_exponents(100)[[0, 49]] == pytest.approx([-0.005017, -0.346540],
                                                               abs=1e-6)
    assert np.all(within(res.exponents, res.stderr, exact, 0.0, n))
    var = 0.25 * np.sum(special.polygamma(1, np.arange(1, n + 1) / 2.0))
    assert abs(res.exponents.sum() - (-51.2193)) <= 3.5 * math.sqrt(var / steps) + 1e-4
    assert exact.sum() == pytest.approx(-51.2193, abs=1e-4)
    assert not np.all(within(res.exponents, res.stderr, 0.5 * np.log(midpoint_t(n)), 0.0, n))


@pytest.mark.slow
def test_newman_three_seeds_and_stderr_scale():
    # three more seeds, and the mean of z^2 over all 300 exponents: ~1 if the standard
    # errors are right (measured 0.96, 1.44, 1.18 per seed, 1.195 in all); bounds 0.6-1.7
    # leave room for the correlation between neighbouring exponents
    n, exact, z2 = 100, dyn.newman_exponents(100), []
    for seed in (1, 2, 3):
        res = _newman_run(seed)
        assert np.all(within(res.exponents, res.stderr, exact, 0.0, n))
        z2.append(((res.exponents - exact) / res.stderr) ** 2)
    assert 0.6 < np.mean(z2) < 1.7


# --------------------------------------------------------------------------- fresh weights


def _fresh_check(n, sigma_w2, weights, steps, seed, sigma_b2=0.0, skip_bottom=0,
                 allow_scale=1.0):
    """The fresh-weights tanh map against the free-probability law, exponent by exponent.

    Allowance: the finite-N correction of Newman's law at the same N and quantile
    (|newman_finite_n|: -0.0017 to -0.005 in the bulk, -0.09 and -0.29 for the last two),
    the size of the known finite-N effect of a Gaussian product.  Measured tanh
    deviations (N = 75, 150, 300; sigma_w2 = 2; 2 seeds each): bulk mean -0.0016 to
    -0.0082 where Newman's bulk correction is -0.0023 to -0.0089; bottom -0.18 to -0.24
    (Newman -0.29).  The top exponent is also checked against 1/2 ln chi_1
    (deeptheory.meanfield) with Newman's allowance at i = 1 (-0.0033 at N = 150)."""
    res = dyn.lyapunov_spectrum(
        dyn.DeepMap(n, sigma_w2, sigma_b2=sigma_b2, activation="tanh", weights=weights),
        n_steps=steps, seed=seed, on_fail="ignore")   # the bottom's stderr is above tol
    law = dyn.fresh_weights_exponents(n, sigma_w2, sigma_b2, "tanh", weights)
    allow = allow_scale * np.abs(newman_finite_n(n))
    m = n - skip_bottom
    ok = within(res.exponents, res.stderr, law, allow, m + 1)[:m]
    assert np.all(ok), np.flatnonzero(~ok)
    top = 0.5 * math.log(float(mf.chi1(sigma_w2, sigma_b2, "tanh")))
    assert within(res.exponents[0], res.stderr[0], top, abs(dyn.newman_exponents(n)[0]), m + 1)
    return res, law, allow, m


def test_fresh_weights_tanh_gaussian():
    """DeepMap(N = 150, sigma_w2 = 2, tanh, Gaussian), 2000 steps, all 150 exponents.
    Measured: max |est - law| / stderr 3.1 in the bulk, the bottom -0.24 (allowance 0.29).

    Wrong answer rejected: the Newman-like law with s^2 = chi_1 (a Gaussian product with
    the same top exponent, ignoring the law of phi'^2) misses the bulk by 0.3-1.5."""
    n = 150
    res, law, allow, m = _fresh_check(n, 2.0, "gaussian", 2000, seed=0)
    chi1 = float(mf.chi1(2.0, 0.0, "tanh"))
    wrong = dyn.newman_exponents(n, chi1)
    assert not np.all(within(res.exponents, res.stderr, wrong, allow, m + 1))
    wrong = dyn.fresh_weights_exponents(n, 2.0, 0.0, "tanh", "orthogonal")
    assert not np.all(within(res.exponents, res.stderr, wrong, allow, m + 1))


def test_fresh_weights_tanh_orthogonal():
    """DeepMap(N = 150, sigma_w2 = 2, tanh, scaled Haar), 2000 steps.  The lowest
    exponent is left out: it sits 0.24 below the law's value at t = 1/(2N) (45 standard
    errors; measured 0.28, 0.24, 0.21 at N = 75, 150, 300), even below the law's
    infimum lambda(0+) = -1.142, an edge effect of the finite product that shrinks slowly
    with N.  The other 149 use the Gaussian-product allowance (measured max |z| 3.8).

    Wrong answer rejected: the Gaussian-weights law."""
    n = 150
    res, law, allow, m = _fresh_check(n, 2.0, "orthogonal", 2000, seed=0, skip_bottom=1)
    wrong = dyn.fresh_weights_exponents(n, 2.0, 0.0, "tanh", "gaussian")
    assert not np.all(within(res.exponents, res.stderr, wrong, allow, m + 1)[:m])


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("sigma_w2,sigma_b2", [(4.0, 0.0), (2.0, 0.1)])
def test_fresh_weights_tanh_wider(weights, sigma_w2, sigma_b2):
    # N = 200, 3000 steps, two seeds.  Orthogonal weights at sigma_w2 = 4 carry a larger
    # finite-N bias in the bulk than the Gaussian product: measured (seeds 1, 2) bulk
    # deviations -0.006 to -0.016 against Newman's -0.0023 to -0.005, up to 5.2 standard
    # errors beyond Newman's allowance; their allowance is 3x Newman's correction.
    for seed in (1, 2):
        _fresh_check(200, sigma_w2, weights, 3000, seed, sigma_b2=sigma_b2,
                     skip_bottom=int(weights == "orthogonal"),
                     allow_scale=3.0 if weights == "orthogonal" else 1.0)


# --------------------------------------------------------------------------- recurrent network


def _lambda_max_over_networks(gain, width, n_nets, steps=2000, seed0=0):
    """lambda_max of n_nets random tanh networks (k = 1): mean and its standard error
    from the spread across networks (which includes the within-run error)."""
    lm = np.array([
        dyn.lyapunov_spectrum(dyn.random_rnn(width, gain, seed=seed0 + s), n_steps=steps, k=1,
                              seed=100 + s, on_fail="ignore").exponents[0]
        for s in range(n_nets)])
    return lm.mean(), lm.std(ddof=1) / math.sqrt(n_nets)


def welch_df(*parts):
    """Welch-Satterthwaite degrees of freedom of sum_j v_j, parts = (v_j, df_j)."""
    return sum(v for v, _ in parts) ** 2 / sum(v * v / d for v, d in parts)


def _check_finite_width(gain, m100, s100, n100, m400, s400, n400, below=True):
    """The finite-width gap shrinks from N = 100 to 400 (one-sided), N = 400 still sits
    below the mean-field value (one-sided; if ``below``), and the 1/N extrapolation
    (4 m400 - m100) / 3, error sqrt(16 s400^2 + s100^2) / 3, agrees with it (two-sided).
    Student-t quantiles at 1e-3 / 3 each, Welch-Satterthwaite degrees of freedom."""
    theory = dyn.rnn_max_exponent(gain)
    assert theory == pytest.approx(0.5 * math.log(float(mf.chi1(gain**2, 0.0, "tanh"))),
                                   rel=1e-12)
    a = 1e-3 / 3
    v100, v400 = (s100**2, n100 - 1), (s400**2, n400 - 1)
    assert m400 - m100 > stats.t.isf(a, welch_df(v100, v400)) * math.hypot(s100, s400)
    assert not below or theory - m400 > stats.t.isf(a, n400 - 1) * s400
    ext, se_ext = (4 * m400 - m100) / 3, math.hypot(4 * s400, s100) / 3
    df = welch_df((16 * v400[0], v400[1]), v100)
    assert abs(ext - theory) <= stats.t.isf(a / 2, df) * se_ext
    return ext, se_ext


def test_rnn_lambda_max_finite_width_g2():
    """h' = W tanh(h), W ~ N(0, g^2 / N), g = 2: mean field 1/2 ln chi_1 = 0.154724.
    Measured (2000 steps, k = 1): N = 100, 24 networks: 0.12569 +- 0.00401 (two networks
    near 0.07); N = 200, 24: 0.14391 +- 0.00219; N = 400, 8: 0.14864 +- 0.00081.  N x gap
    = -2.9, -2.2, -2.4: a 1/N law.  Extrapolation 0.1563 +- 0.0017 (0.9 sigma).
    Wrong answer rejected: N = 400 alone is 7 of its standard errors below theory."""
    m100, s100 = _lambda_max_over_networks(2.0, 100, 24)
    m400, s400 = _lambda_max_over_networks(2.0, 400, 8)
    _check_finite_width(2.0, m100, s100, 24, m400, s400, 8)


@pytest.mark.slow
def test_rnn_lambda_max_finite_width_g15():
    """g = 1.5: mean field 0.065217.  Near the transition many N = 100 networks settle on
    limit cycles (lambda_max ~ 0; 10 of 24 measured) and some N = 400 ones too, so the
    spread is large and heavy-tailed.  Measured: N = 100, 24 networks (seeds 0-23):
    0.0181 +- 0.0041, N = 400, 8: 0.0543 +- 0.0022, extrapolation 0.0664 +- 0.0032; here
    (seeds 1000-): N = 100, 48 networks: 0.0255 +- 0.0049, N = 400, 16: 0.0520 +- 0.0035
    (3.8 standard errors below theory: not asserted at the 1e-3 level), extrapolation
    0.0608 +- 0.0050 (0.9 sigma)."""
    m100, s100 = _lambda_max_over_networks(1.5, 100, 48, seed0=1000)
    m400, s400 = _lambda_max_over_networks(1.5, 400, 16, seed0=1000)
    _check_finite_width(1.5, m100, s100, 48, m400, s400, 16, below=False)


def test_rnn_ordered_phase_lambda_max():
    """g = 0.8, no bias: the state decays to 0, where the Jacobian is W, so lambda_max =
    ln rho(W) (numpy.linalg.eigvals) once the frame has aligned (k = 3 spans the top real
    eigenvalue or complex pair; transient 800 steps).  Tolerance 4.5 stderr + 1e-4
    (frame alignment with eigenvalue gaps ~0.005 per step leaves about e^(-4) / T;
    measured differences at most 7e-5, below 0.2 stderr).  The mean over networks
    approaches ln g = rnn_max_exponent only as N -> inf: ln rho(W) - ln g of 200
    Gaussian 200 x 200 matrices (numpy, default_rng(0)) had mean 0.036 and sd 0.022,
    the allowance here (mean, plus 4 sd / sqrt(networks)).

    With bias sigma_b2 = 0.05 the state settles on a fixed point h* (found here by
    iterating the map with numpy) and lambda_max = ln rho(W diag(phi'(h*))); its mean over
    networks exceeds 1/2 ln chi_1 = -0.30967 by 0.040 (sd 0.025; 100 networks, numpy,
    random_rnn seeds 1000-1099): the same kind of allowance."""
    n, gain, nets = 200, 0.8, 3
    lam, rho = [], []
    for s in range(nets):
        net = dyn.random_rnn(n, gain, seed=s)
        res = dyn.lyapunov_spectrum(net, n_steps=1500, transient=800, k=3, seed=s)
        lam.append(res.exponents[0])
        rho.append(math.log(np.abs(np.linalg.eigvals(net.w)).max()))
        assert abs(lam[-1] - rho[-1]) <= 4.5 * res.stderr[0] + 1e-4
        assert np.abs(res.state).max() < 1e-100
    assert dyn.rnn_max_exponent(gain) == pytest.approx(math.log(gain), rel=1e-12)
    assert abs(np.mean(lam) - math.log(gain) - 0.036) <= 4 * 0.022 / math.sqrt(nets)

    sb2 = 0.05
    theory = dyn.rnn_max_exponent(gain, sb2)
    assert theory == pytest.approx(0.5 * math.log(float(mf.chi1(gain**2, sb2, "tanh"))),
                                   rel=1e-12)
    lam = []
    for s in range(nets):
        net = dyn.random_rnn(n, gain, sigma_b2=sb2, seed=s)
        h = np.zeros(n)
        for _ in range(500):
            h = net.w @ np.tanh(h) + net.b
        jac = net.w * (1.0 - np.tanh(h) ** 2)[None, :]
        res = dyn.lyapunov_spectrum(net, n_steps=1500, transient=800, k=3, seed=s)
        np.testing.assert_allclose(res.state, h, rtol=0, atol=1e-12)
        lam.append(res.exponents[0])
        assert abs(lam[-1] - math.log(np.abs(np.linalg.eigvals(jac)).max())) <= (
            4.5 * res.stderr[0] + 1e-4)
    assert abs(np.mean(lam) - theory - 0.040) <= 4 * 0.025 / math.sqrt(nets)
    # wrong answer rejected: ln g (the no-bias value) is far off with the bias
    assert abs(np.mean(lam) - math.log(gain) - 0.036) > 4 * 0.025 / math.sqrt(nets)


# --------------------------------------------------------------------------- rate network


def test_rate_network_order_and_chaos():
    """tau h' = -h + J tanh(h), J ~ N(0, g^2 / N), zero diagonal, N = 200, RK4 dt = 0.05
    (Sompolinsky, Crisanti & Sommers 1988: chaos for g > 1).

    g = 0.8: h -> 0, where the tangent generator is A = -I + J, so lambda_max is RK4's
    exact growth rate max_mu ln|P(dt mu)| / dt over the eigenvalues mu of A (numpy), P the
    RK4 stability polynomial: a negative number, not the N -> inf value g - 1 (circular
    law edge) at this N.  Tolerance z * stderr + 1e-4 (measured
    differences 3e-4, 2e-5, 4e-3 with stderr 3e-3, 3e-5, 7e-3: a complex top pair makes
    the first two estimates oscillate about the pair's common value).

    g = 3: lambda_max > 0 (measured 0.132 +- 0.019, 0.184 +- 0.023).  n_blocks = 20 makes
    each block 10 time units, well above the correlation time of the chaotic state."""
    n, dt, z = 200, 0.05, z_family(4, df=19)
    for s in (0, 1):
        net = dyn.random_rate_network(n, 0.8, seed=s)
        res = dyn.lyapunov_spectrum(net, n_steps=2000, transient=2000, k=3, dt=dt, seed=s,
                                    n_blocks=20, on_fail="ignore")
        mu = dt * np.linalg.eigvals(-np.eye(n) + net.j)
        exact = np.max(np.log(np.abs(1 + mu + mu**2 / 2 + mu**3 / 6 + mu**4 / 24))) / dt
        assert abs(res.exponents[0] - exact) <= z * res.stderr[0] + 1e-4
        assert res.exponents[0] + z * res.stderr[0] < 0.0
        assert np.abs(res.state).max() < 1e-12
        # wrong answer rejected: the N -> inf value (g - 1) / tau = -0.2 (the edge of the
        # circular law); this network's spectral edge is where it is (measured -0.170
        # and -0.224, 10 and 800 stderr away)
        assert abs(res.exponents[0] - (0.8 - 1.0)) > z * res.stderr[0] + 1e-4
    for s in (0, 1):
        net = dyn.random_rate_network(n, 3.0, seed=s)
        res = dyn.lyapunov_spectrum(net, n_steps=4000, transient=400, k=1, dt=dt, seed=s,
                                    n_blocks=20, on_fail="ignore")
        assert res.exponents[0] - z * res.stderr[0] > 0.0


@pytest.mark.slow
def test_rate_network_sum_rule_n200():
    """Full spectrum, N = 200, g = 3: sum = -N / tau up to RK4's O(dt^4) (measured error
    1.6e-5 at dt = 0.05); halving dt must divide the error by at least 2^4."""
    n = 200
    net = dyn.random_rate_network(n, 3.0, tau=1.0, seed=0)
    errs = []
    for dt in (0.1, 0.05):
        res = dyn.lyapunov_spectrum(net, n_steps=int(round(20 / dt)), dt=dt, seed=0,
                                    on_fail="ignore")
        errs.append(abs(res.exponents.sum() + n))
    assert errs[0] < 2e-3 and errs[1] < errs[0] / 16


# --------------------------------------------------------------------------- recurrent vs fresh


def _recurrent_vs_laws(seeds, n=200, gain=2.0, steps=2000):
    """Median exponent (i = N/2) of recurrent networks minus the fresh-weights law
    (free probability, with the law of phi'^2) and minus the Newman-like law with
    s^2 = g^2 E[phi'^2] = chi_1 (a Gaussian product with the same top exponent)."""
    i = n // 2
    fresh = dyn.fresh_weights_exponents(n, gain**2)[i]
    newman = dyn.newman_exponents(n, float(mf.chi1(gain**2, 0.0, "tanh")))[i]
    med = np.array([
        dyn.lyapunov_spectrum(dyn.random_rnn(n, gain, seed=s), n_steps=steps, k=i + 1, seed=s,
                              on_fail="ignore").exponents[i]
        for s in seeds])
    return med - fresh, med - newman


def test_recurrent_bulk_is_not_newman_like():
    """THEORY: the bulk of the recurrent spectrum does not follow the Newman-like law with
    s^2 = g^2 E[phi'^2].  Measured (g = 2, N = 200, 8 networks, 2000 steps, median
    exponent): recurrent - Newman-like = -0.545 +- 0.020 (27 standard errors over
    networks; between-network sd 0.057), recurrent - fresh-weights law = -0.045 +- 0.020
    (2.2 standard errors: the free-probability law of the fresh-weights map is close;
    within-run stderr 0.004).  Fast: two networks; each departure from the Newman-like
    law must exceed 5 between-network sd (0.29), and the fresh law must be at least 5
    times closer."""
    d_fresh, d_newman = _recurrent_vs_laws((0, 1))
    assert np.all(d_newman < -5 * 0.057)
    assert np.all(np.abs(d_fresh) < np.abs(d_newman) / 5)


@pytest.mark.slow
def test_recurrent_bulk_over_networks():
    d_fresh, d_newman = _recurrent_vs_laws(range(8))
    se = d_newman.std(ddof=1) / math.sqrt(8)
    assert d_newman.mean() < -stats.t.isf(1e-3, 7) * se
    assert abs(d_fresh.mean()) < abs(d_newman.mean()) / 5
