"""Diffusion models with exact scores (deeptheory.dynamics.diffusion).

Independent truths: scipy's multivariate normal densities and central finite differences
(log-density, score); forward SDEs simulated by Euler-Maruyama in NumPy (the marginals);
the closed-form flow map of the probability-flow ODE of one Gaussian,
y_t - mu_t = C_t^{1/2} C_T^{-1/2} (y_T - mu_T) (the C_t commute: C_t = b S + c I); the
exact finite-n Kolmogorov-Smirnov law (scipy.stats.kstwo); mpmath for the exponential.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import sqrtm

from deeptheory import ConvergenceError
from deeptheory.dynamics import diffusion as D
from deeptheory.dynamics.diffusion import (
    DiffusionSamples,
    FlowOrder,
    ForwardProcess,
    GaussianMixture,
    SampleCheck,
    compare_to_target,
    flow_error_order,
    marginal,
    marginal_score,
    probability_flow_sample,
    reverse_sde_sample,
)
from deeptheory.kernels import odeint as K
from deeptheory.kernels._threads import forced

PROCS = {"brownian": ForwardProcess("brownian"), "vp": ForwardProcess("vp")}


def _mixture(seed=0, k=3, d=2):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, k)
    w /= w.sum()
    m = rng.uniform(-2.5, 2.5, (k, d))
    a = rng.standard_normal((k, d, d)) * 0.4
    s = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(d)
    return GaussianMixture(w, m, s)


MIX = _mixture()


def _scipy_logpdf(mix, y):
    dens = sum(w * stats.multivariate_normal(m, s).pdf(y)
               for w, m, s in zip(mix.weights, mix.means, mix.covs, strict=True))
    return np.log(dens)


# ------------------------------------------------------------------------- the mixture


@pytest.mark.parametrize("d,k", [(1, 2), (2, 3), (3, 4)])
def test_log_density_and_score_against_scipy(d, k):
    mix = _mixture(seed=d, k=k, d=d)
    y = np.random.default_rng(7).standard_normal((20, d)) * 2
    np.testing.assert_allclose(mix.log_density(y), _scipy_logpdf(mix, y), rtol=1e-12,
                               atol=1e-12)
    eps = 1e-5
    fd = np.stack([(_scipy_logpdf(mix, y + eps * e) - _scipy_logpdf(mix, y - eps * e))
                   / (2 * eps) for e in np.eye(d)], axis=1)
    np.testing.assert_allclose(mix.score(y), fd, rtol=1e-6, atol=1e-6)
    # one point as a vector
    assert mix.score(y[0]).shape == (d,)
    assert isinstance(mix.log_density(y[0]), float)


def test_sampling_and_marginal_cdf():
    y, lab = MIX.sample(20000, seed=3, return_labels=True)
    np.testing.assert_allclose(np.bincount(lab) / lab.size, MIX.weights, atol=0.015)
    for j in range(2):
        # the sampler (Cholesky) against the CDF (normal CDFs): exact KS law, level 1e-3
        res = stats.kstest(y[:, j], lambda v, j=j: MIX.cdf(v, j))
        assert res.pvalue > 1e-3
    # the CDF against scipy's normal CDF per component
    x = np.linspace(-5, 5, 11)
    ref = sum(w * stats.norm(m[0], math.sqrt(s[0, 0])).cdf(x)
              for w, m, s in zip(MIX.weights, MIX.means, MIX.covs, strict=True))
    np.testing.assert_allclose(MIX.cdf(x, 0), ref, atol=1e-15)


def test_mixture_validation_names_the_argument():
    w, m, s = MIX.weights, MIX.means, MIX.covs
    with pytest.raises(ValueError, match="weights must sum to 1"):
        GaussianMixture(w * 1.01, m, s)
    GaussianMixture(w * (1 + 5e-9), m, s)  # within the stated tolerance, rescaled
    with pytest.raises(ValueError, match="weights must be > 0"):
        GaussianMixture([1.0, 0.0], m[:2], s[:2])
    bad = s.copy()
    bad[1] = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1
    with pytest.raises(ValueError, match=r"covs\[1\] must be positive definite"):
        GaussianMixture(w, m, bad)
    asym = s.copy()
    asym[0, 0, 1] += 0.1
    with pytest.raises(ValueError, match=r"covs\[0\] is not symmetric"):
        GaussianMixture(w, m, asym)
    with pytest.raises(ValueError, match="means must have shape"):
        GaussianMixture(w, m[:2], s)
    with pytest.raises(ValueError, match="covs must have shape"):
        GaussianMixture(w, m, s[:, :1, :1])
    nan_m = m.copy()
    nan_m[0, 0] = np.nan
    with pytest.raises(ValueError, match="means must be finite"):
        GaussianMixture(w, nan_m, s)
    with pytest.raises(ValueError, match="y must be finite"):
        MIX.score([[np.inf, 0.0]])
    with pytest.raises(ValueError, match="y must have shape"):
        MIX.log_density(np.zeros((3, 3)))


# ------------------------------------------------------------------ forward processes


def _forward_em(mix, proc, t, n, steps, seed):
    """The forward SDE by Euler-Maruyama in NumPy from exact draws of p_0."""
    rng = np.random.default_rng(seed)
    y = mix.sample(n, rng)
    h = t / steps
    for k in range(steps):
        s = k * h
        beta = proc.beta_min + (proc.beta_max - proc.beta_min) * s / proc.T
        if proc.kind == "vp":
            y = y - 0.5 * beta * y * h + math.sqrt(beta * h) * rng.standard_normal(y.shape)
        else:
            y = y + math.sqrt(h) * rng.standard_normal(y.shape)
    return y


@pytest.mark.parametrize("kind,t", [("brownian", 0.7), ("vp", 0.3), ("vp", 1.0)])
def test_marginal_matches_simulated_forward_sde(kind, t):
    proc = PROCS[kind]
    y = _forward_em(MIX, proc, t, 4000, 400, seed=11)
    pt = marginal(MIX, t, proc)
    crit = stats.kstwo.ppf(1 - 1e-3 / 2, y.shape[0])
    for j in range(2):
        assert stats.kstest(y[:, j], lambda v, j=j: pt.cdf(v, j)).statistic < crit


def test_marginal_coefficients_closed_form():
    vp = PROCS["vp"]
    t = 0.37
    big_b = 0.1 * t + 0.5 * 19.9 * t * t
    np.testing.assert_allclose(vp.coefficients(t),
                               (math.exp(-big_b / 2), math.exp(-big_b), 1 - math.exp(-big_b)),
                               rtol=1e-15)
    assert vp.g2(t) == pytest.approx(0.1 + 19.9 * t, rel=1e-15)
    np.testing.assert_allclose(vp.drift([1.0, -2.0], t), -0.5 * vp.g2(t) * np.array([1, -2]))
    assert PROCS["brownian"].coefficients(t) == (1.0, 1.0, t)
    pt = marginal(MIX, t, vp)
    a, b, c = vp.coefficients(t)
    np.testing.assert_allclose(pt.means, a * MIX.means, rtol=1e-15)
    np.testing.assert_allclose(pt.covs, b * MIX.covs + c * np.eye(2), rtol=1e-14)
    y = np.random.default_rng(2).standard_normal((10, 2))
    np.testing.assert_allclose(marginal_score(MIX, y, t, vp), pt.score(y), rtol=1e-13,
                               atol=1e-13)


@pytest.mark.parametrize("t", [0.0, -0.1, 1.5, np.nan])
def test_time_outside_horizon_is_an_error(t):
    with pytest.raises(ValueError, match="t must"):
        marginal(MIX, t, PROCS["vp"])
    with pytest.raises(ValueError, match="t must"):
        marginal_score(MIX, [0.0, 0.0], t, PROCS["brownian"])


def test_process_validation():
    with pytest.raises(ValueError, match="kind"):
        ForwardProcess("ve")
    with pytest.raises(ValueError, match="T must be > 0"):
        ForwardProcess("vp", T=0.0)
    with pytest.raises(ValueError, match="beta_max"):
        ForwardProcess("vp", beta_min=5.0, beta_max=1.0)
    with pytest.raises(ValueError, match="beta_min must be >= 0"):
        ForwardProcess("vp", beta_min=-1.0)
    with pytest.raises(TypeError, match="process must be a ForwardProcess"):
        marginal(MIX, 0.5, "vp")


# ------------------------------------------------------------ probability-flow ODE


def _gaussian_flow_map(m, s, proc, x_t, t_end):
    """The exact probability-flow map of p_0 = N(m, S) from T to t_end."""
    a_t, b_t, c_t = proc.coefficients(proc.T)
    a_0, b_0, c_0 = (1.0, 1.0, 0.0) if t_end == 0 else proc.coefficients(t_end)
    ct = b_t * s + c_t * np.eye(len(m))
    c0 = b_0 * s + c_0 * np.eye(len(m))
    mat = np.real(sqrtm(c0) @ np.linalg.inv(sqrtm(ct)))
    return a_0 * m + (x_t - a_t * m) @ mat.T


@pytest.mark.parametrize("kind", ["brownian", "vp"])
def test_flow_of_one_gaussian_is_the_closed_form_map(kind):
    proc = PROCS[kind]
    s = np.array([[0.5, 0.3], [0.3, 0.4]])
    m = np.array([1.0, -0.5])
    g = GaussianMixture([1.0], m[None], s[None])
    x_t = marginal(g, proc.T, proc).sample(50, seed=1)
    for t_end in (0.0, 1e-3):
        exact = _gaussian_flow_map(m, s, proc, x_t, t_end)
        rk = probability_flow_sample(g, proc, x_T=x_t, t0=t_end, method="rk4", n_steps=400)
        assert isinstance(rk, DiffusionSamples) and rk.success
        np.testing.assert_allclose(rk.samples, exact, atol=1e-8)
        dp = probability_flow_sample(g, proc, x_T=x_t, t0=t_end, method="dopri5",
                                     n_steps=None, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dp.samples, exact, atol=1e-7)
        assert np.all(dp.n_steps > 0) and np.all(dp.n_fev > dp.n_steps)


@pytest.mark.parametrize("kind,method,steps", [
    ("brownian", "euler", (50, 100, 200, 400)),
    ("brownian", "rk4", (16, 32, 64, 128)),
    ("vp", "euler", (200, 400, 800, 1600)),
    ("vp", "rk4", (64, 128, 256, 512)),
])
def test_flow_error_order(kind, method, steps):
    res = flow_error_order(MIX, PROCS[kind], method=method, steps=steps, n=60, seed=2)
    assert isinstance(res, FlowOrder)
    p = res.expected
    assert p == (1 if method == "euler" else 4)
    assert np.all(np.diff(res.errors) < 0)
    # the pairwise slopes converge geometrically (the next error term halves with h), so
    # the finest slope is within about its last change of p; 0.05 for rounding of the fit
    tol = max(2.0 * abs(res.order_change), 0.05)
    assert abs(res.order_finest - p) <= tol, (res.order_finest, res.order_change)
    assert abs(res.order - p) < 0.35


@pytest.mark.parametrize("kind", ["brownian", "vp"])
def test_flow_samples_pass_ks_energy_w2(kind):
    res = probability_flow_sample(MIX, PROCS[kind], 1000, n_steps=100, method="rk4", seed=4)
    chk = compare_to_target(res.samples, res.target, seed=5, n_ref=5)
    assert isinstance(chk, SampleCheck)
    assert chk.passed, chk
    assert chk.ks_critical == pytest.approx(stats.kstwo.ppf(1 - 0.01 / 2, 1000))
    assert chk.w2 > 0 and chk.w2_ref > 0 and chk.w2_ref_sd > 0
    # the target is the exact marginal at t0 (default 1e-3)
    assert res.t0 == 1e-3
    np.testing.assert_allclose(res.target.covs, marginal(MIX, 1e-3, PROCS[kind]).covs)


def test_wrong_score_fails_the_checks():
    proc = PROCS["vp"]

    def half(y, t):
        return 0.8 * marginal_score(MIX, y, t, proc)

    res = probability_flow_sample(MIX, proc, 1500, n_steps=50, score=half, seed=4)
    chk = compare_to_target(res.samples, res.target, seed=5, w2=False)
    assert not chk.ks_ok and not chk.passed
    other = _mixture(seed=9)
    assert not compare_to_target(other.sample(1500, 1), MIX, seed=2, w2=False).passed


def test_user_score_runs_the_same_steppers_bitwise():
    proc = PROCS["vp"]
    x_t = marginal(MIX, proc.T, proc).sample(300, seed=8)

    def exact(y, t):
        return marginal_score(MIX, y, t, proc)

    for method in ("euler", "rk4"):
        a = probability_flow_sample(MIX, proc, x_T=x_t, n_steps=40, method=method)
        b = probability_flow_sample(MIX, proc, x_T=x_t, n_steps=40, method=method, score=exact)
        assert not b.exact_score and a.exact_score
        np.testing.assert_array_equal(a.samples, b.samples)
        np.testing.assert_array_equal(a.n_fev, b.n_fev)
    # dopri5 with a user score: batch-wide steps, the same solution to its tolerance
    a = probability_flow_sample(MIX, proc, x_T=x_t, method="dopri5", n_steps=None,
                                rtol=1e-9, atol=1e-11)
    b = probability_flow_sample(MIX, proc, x_T=x_t, method="dopri5", n_steps=None,
                                rtol=1e-9, atol=1e-11, score=exact)
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-6)
    assert np.unique(b.n_steps).size == 1


def test_stage_table_hits_and_equals_direct_evaluation(monkeypatch):
    proc = PROCS["vp"]
    # the times the shared fixed-step loop evaluates at, recorded through a Python field
    rec = []

    def f(t, y, out):
        rec.append(t)
        out[:] = 0.0

    fam = K.ode_python_family()
    h = -(proc.T - 1e-3) / 25
    with K.python_rhs(f):
        fam.ode_fixed_run_serial((0,), 0, np.zeros((1, 2)), proc.T, h, 25, 2,
                                 np.array([25]), np.empty((1, 1, 2)), np.zeros(1, np.int64),
                                 np.zeros(1, np.int64))
    tab = D._stage_times(proc.T, h, 25)
    assert len(rec) == 100 and set(rec) <= set(tab.tolist())
    x_t = marginal(MIX, proc.T, proc).sample(64, seed=3)
    a = probability_flow_sample(MIX, proc, x_T=x_t, n_steps=25)
    monkeypatch.setattr(D, "MAX_TABLE", 0)  # every evaluation builds its own form
    b = probability_flow_sample(MIX, proc, x_T=x_t, n_steps=25)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_serial_and_parallel_agree_bitwise():
    proc = PROCS["brownian"]
    out = {}
    for mode in ("serial", "parallel"):
        with forced(mode):
            out[mode] = (probability_flow_sample(MIX, proc, 200, n_steps=20, seed=1).samples,
                         probability_flow_sample(MIX, proc, 200, method="dopri5",
                                                 n_steps=None, seed=1).samples,
                         reverse_sde_sample(MIX, proc, 200, n_steps=20, seed=1).samples)
    for a, b in zip(out["serial"], out["parallel"], strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- reverse SDE


@pytest.mark.parametrize("kind", ["brownian", "vp"])
def test_reverse_sde_passes_ks_against_exact_target(kind):
    res = reverse_sde_sample(MIX, PROCS[kind], 2000, n_steps=400, seed=6)
    assert res.success and res.method == "euler_maruyama"
    chk = compare_to_target(res.samples, res.target, seed=7, w2=False)
    assert chk.ks_ok and chk.energy_ok and chk.passed, chk
    assert np.isnan(chk.w2)


def test_reverse_sde_user_score_equals_exact_path():
    proc = PROCS["vp"]

    def exact(y, t):
        return marginal_score(MIX, y, t, proc)

    a = reverse_sde_sample(MIX, proc, 100, n_steps=30, seed=2)
    b = reverse_sde_sample(MIX, proc, 100, n_steps=30, seed=2, score=exact)
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------- bad input


def test_sampler_bad_input_names_the_argument():
    proc = PROCS["vp"]
    for fn in (probability_flow_sample, reverse_sde_sample):
        with pytest.raises(ValueError, match="n_steps must be >= 1"):
            fn(MIX, proc, 10, n_steps=0)
        with pytest.raises(ValueError, match="t0 must lie in"):
            fn(MIX, proc, 10, t0=1.0)
        with pytest.raises(ValueError, match="t0 must lie in"):
            fn(MIX, proc, 10, t0=-0.1)
        with pytest.raises(ValueError, match="x_T must be finite"):
            fn(MIX, proc, x_T=[[np.nan, 0.0]])
        with pytest.raises(ValueError, match="x_T must have shape"):
            fn(MIX, proc, x_T=np.zeros((4, 3)))
        with pytest.raises(ValueError, match="score"):
            fn(MIX, proc, 5, n_steps=3, score=lambda y, t: np.full_like(y, np.nan))
        with pytest.raises(ValueError, match="score"):
            fn(MIX, proc, 5, n_steps=3, score=lambda y, t: y[:, :1])
        with pytest.raises(TypeError, match="mixture must be a GaussianMixture"):
            fn("mix", proc, 5)
    with pytest.raises(ValueError, match="method"):
        probability_flow_sample(MIX, proc, 5, method="heun")
    with pytest.raises(ValueError, match="dopri5 is adaptive"):
        probability_flow_sample(MIX, proc, 5, method="dopri5")
    with pytest.raises(ValueError, match="rtol"):
        probability_flow_sample(MIX, proc, 5, method="dopri5", n_steps=None, rtol=0.0)
    with pytest.raises(ValueError, match="steps"):
        flow_error_order(MIX, proc, steps=(10, 5))
    with pytest.raises(ValueError, match="alpha"):
        compare_to_target(MIX.sample(10), MIX, alpha=1.5)
    with pytest.raises(ValueError, match="samples must be finite"):
        compare_to_target([[np.nan, 0.0], [0.0, 0.0]], MIX)


def test_blow_up_is_reported():
    proc = PROCS["vp"]

    def huge(y, t):  # finite, but g^2 times it overflows
        return np.full_like(y, 1.7e308)

    with pytest.raises(ConvergenceError, match="reverse_sde_sample"):
        reverse_sde_sample(MIX, proc, 5, n_steps=10, score=huge)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = reverse_sde_sample(MIX, proc, 5, n_steps=10, on_fail="warn", score=huge)
    assert not res.success and np.all(np.isnan(res.samples)) and np.all(res.status == 3)
    assert any("reverse_sde_sample" in str(w.message) for w in rec)
    with pytest.raises(ConvergenceError, match="probability_flow_sample"):
        probability_flow_sample(MIX, proc, 5, n_steps=10, method="euler", score=huge)


# ------------------------------------------------------------------ shared integrator


def test_specialised_driver_with_a_linear_field():
    from numba import njit
    from scipy.linalg import expm

    @njit(cache=False, inline="always")
    def linear(p, t, y, scratch, out):  # pragma: no cover - compiled
        a = p[0]
        for i in range(y.shape[0]):
            acc = 0.0
            for j in range(y.shape[0]):
                acc += a[i, j] * y[j]
            out[i] = acc

    fam = K.ode_specialise(linear, "test_linear")
    assert K.ode_specialise(linear, "test_linear") is fam
    a = np.array([[-0.5, 1.0], [-1.0, -0.2]])
    x0 = np.random.default_rng(0).standard_normal((7, 2))
    states = np.empty((1, 7, 2))
    st, nf = np.zeros(7, np.int64), np.zeros(7, np.int64)
    fam.ode_fixed_run_serial((a,), 0, x0, 0.0, 0.01, 100, 2, np.array([100]), states, st, nf)
    np.testing.assert_allclose(states[0], x0 @ expm(a).T, atol=1e-9)
    with pytest.raises(TypeError, match="numba-compiled"):
        K.ode_specialise(lambda p, t, y, s, o: None, "x")


def test_ode_exp_within_2_ulp():
    mpmath = pytest.importorskip("mpmath")
    from numba import njit

    @njit(cache=False)
    def run(x, out):  # pragma: no cover - compiled
        for i in range(x.size):
            out[i] = K.ode_exp(x[i])

    x = np.concatenate([np.random.default_rng(0).uniform(-708, 709, 3000),
                        np.random.default_rng(1).uniform(-1, 1, 1000), [0.0, -708.0, 709.0]])
    out = np.empty_like(x)
    run(x, out)
    mpmath.mp.prec = 80
    ref = np.array([float(mpmath.exp(mpmath.mpf(v))) for v in x])
    ulp = np.abs(out - ref) / np.spacing(ref)
    assert ulp.max() <= 2.0


# ------------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["brownian", "vp"])
def test_large_sample_ks_both_samplers(kind):
    proc = PROCS[kind]
    ode = probability_flow_sample(MIX, proc, 20000, n_steps=200, seed=21)
    sde = reverse_sde_sample(MIX, proc, 20000, n_steps=2000, seed=22)
    for res in (ode, sde):
        chk = compare_to_target(res.samples, res.target, seed=23, w2=False, n_ref=4)
        assert chk.ks_ok and chk.energy_ok, chk
