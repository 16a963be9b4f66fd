"""GP posterior and NTK gradient-flow predictions against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from deeptheory.meanfield.gp import (
    GPPosterior,
    NTKPrediction,
    gp_posterior,
    ntk_gp_prediction,
    ntk_mean_prediction,
)


def rbf(a, b, ell=1.5, amp=1.3):
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return amp * np.exp(-0.5 * d2 / ell**2)


def arccos1(a, b):
    """Order-1 arc-cosine kernel plus a bias (an infinitely wide relu layer), PD on distinct x."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    c = np.clip(a @ b.T / np.outer(na, nb), -1.0, 1.0)
    th = np.arccos(c)
    return 0.1 + np.outer(na, nb) * (np.sin(th) + (np.pi - th) * c) / np.pi


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    x, xs = rng.normal(size=(12, 3)), rng.normal(size=(5, 3))
    y = np.sin(x[:, 0]) + 0.3 * x[:, 1]
    y2 = np.stack([y, np.cos(x[:, 2])], axis=1)
    return x, xs, y, y2


# ------------------------------------------------------------------ gp_posterior
def test_gp_posterior_matches_direct_inverse(data):
    x, xs, y, y2 = data
    k, kx, kss = rbf(x, x), rbf(xs, x), rbf(xs, xs)
    s2 = 0.05
    ainv = np.linalg.inv(k + s2 * np.eye(len(x)))
    res = gp_posterior(k, y2, kx, kss, noise_var=s2)
    assert isinstance(res, GPPosterior)
    np.testing.assert_allclose(res.mean, kx @ ainv @ y2, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(res.cov, kss - kx @ ainv @ kx.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.var, np.diag(kss - kx @ ainv @ kx.T), atol=1e-12)
    a = k + s2 * np.eye(len(x))
    _, logdet = np.linalg.slogdet(a)
    lml = sum(-0.5 * yy @ ainv @ yy - 0.5 * logdet - 0.5 * len(x) * np.log(2 * np.pi)
              for yy in y2.T)
    assert res.log_marginal_likelihood == pytest.approx(lml, rel=1e-12)
    assert res.jitter == 0.0
    # 1-D targets give 1-D means; no k_test, no covariance
    r1 = gp_posterior(k, y, kx, noise_var=s2)
    np.testing.assert_allclose(r1.mean, res.mean[:, 0], rtol=1e-13)
    assert r1.cov is None and r1.var is None
    mean, cov, lml1, jit = r1  # unpacks in field order
    assert cov is None and jit == 0.0


def test_gp_posterior_one_and_two_points():
    # one training point: mean = k* y / (k + s2), var = k** - k*^2 / (k + s2)
    r = gp_posterior([[2.0]], [3.0], [[0.5]], [[1.5]], noise_var=0.5)
    assert r.mean[0] == pytest.approx(0.5 * 3.0 / 2.5, rel=1e-14)
    assert r.cov[0, 0] == pytest.approx(1.5 - 0.25 / 2.5, rel=1e-14)
    assert r.log_marginal_likelihood == pytest.approx(
        -0.5 * 9.0 / 2.5 - 0.5 * np.log(2.5) - 0.5 * np.log(2 * np.pi), rel=1e-14)
    # two points, test at the first training point, no noise: interpolation, zero variance
    k = np.array([[1.0, 0.3], [0.3, 1.0]])
    r = gp_posterior(k, [1.0, -2.0], k[:1], k[:1, :1])
    assert r.mean[0] == pytest.approx(1.0, rel=1e-14)
    assert abs(r.cov[0, 0]) < 1e-15
    # two points, hand inverse: [[a, b], [b, a]]^{-1} = [[a, -b], [-b, a]] / (a^2 - b^2)
    ks = np.array([[0.5, 0.2]])
    inv = np.array([[1.0, -0.3], [-0.3, 1.0]]) / (1 - 0.09)
    r = gp_posterior(k, [1.0, -2.0], ks, [[0.7]])
    assert r.mean[0] == pytest.approx((ks @ inv @ [1.0, -2.0])[0], rel=1e-14)
    assert r.cov[0, 0] == pytest.approx(0.7 - (ks @ inv @ ks.T)[0, 0], rel=1e-13)


def test_gp_posterior_jitter_on_singular_kernel():
    # rank-1 kernel: no noise -> automatic jitter; a given jitter is used as is
    v = np.array([1.0, 2.0, 3.0])
    k = np.outer(v, v) + np.diag([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="k_train is not numerically positive definite"):
        gp_posterior(k, v, k[:1], jitter=0.0)
    r = gp_posterior(np.eye(3) + 1e-3, v, np.ones((1, 3)), jitter=0.0)
    assert r.jitter == 0.0
    k2 = np.ones((3, 3)) + 1e-13 * np.eye(3)  # PD, but rcond ~ 1e-13 / 3: passes
    r = gp_posterior(k2, [1.0, 1.0, 1.0], np.ones((1, 3)))
    assert r.jitter == 0.0
    k3 = np.ones((3, 3))  # exactly singular: jitter 1e-12 * mean(diag) is enough
    r = gp_posterior(k3, [1.0, 1.0, 1.0], np.ones((1, 3)))
    assert r.jitter == pytest.approx(1e-12)
    # the mean is then the limit of the ridge solution: 3 / (3 + jitter) ~ 1
    assert r.mean[0] == pytest.approx(1.0, rel=1e-9)
    r = gp_posterior(k3, [1.0, 1.0, 1.0], np.ones((1, 3)), jitter=1e-3)
    assert r.jitter == 1e-3
    assert r.mean[0] == pytest.approx(3.0 / 3.001, rel=1e-12)


def test_gp_posterior_not_positive_definite():
    k = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues -1, 3
    with pytest.raises(ValueError, match=r"k_train is not numerically positive definite.*"
                                         r"-1 to 3.*noise_var"):
        gp_posterior(k, [1.0, 1.0], [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"k_train \+ noise_var \* I is not"):
        gp_posterior(k, [1.0, 1.0], [[1.0, 0.0]], noise_var=0.5)


@pytest.mark.parametrize("kwargs,match", [
    (dict(k_train=np.ones((2, 3))), "k_train must have 2 rows|k_train must be square"),
    (dict(k_train=np.ones(3)), "k_train must be a 2-D matrix"),
    (dict(k_train=[[1.0, 0.5], [0.4, 1.0]]), "k_train must be symmetric"),
    (dict(k_train=[[1.0, np.nan], [np.nan, 1.0]]), "k_train must be finite"),
    (dict(y_train=[1.0, 2.0, 3.0]), "y_train must have shape"),
    (dict(y_train=np.ones((2, 2, 2))), "y_train must have shape"),
    (dict(k_cross=np.ones((1, 3))), r"k_cross must have 2 columns"),
    (dict(k_test=np.ones((2, 2))), "k_test must have 1 rows"),
    (dict(noise_var=-1.0), "noise_var must be >= 0"),
    (dict(noise_var=[0.1, 0.2]), "noise_var must be a scalar"),
    (dict(jitter=-1e-3), "jitter must be >= 0"),
])
def test_gp_posterior_errors(kwargs, match):
    args = dict(k_train=[[1.0, 0.5], [0.5, 1.0]], y_train=[1.0, 2.0], k_cross=[[0.2, 0.3]],
                k_test=[[1.0]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        gp_posterior(**args)


def test_gp_posterior_type_errors():
    with pytest.raises(TypeError, match="noise_var must be real"):
        gp_posterior([[1.0]], [1.0], [[1.0]], noise_var="a")
    with pytest.raises(TypeError, match="k_train must be real"):
        gp_posterior([["a"]], [1.0], [[1.0]])


# ---------------------------------------------------------- ntk_mean_prediction
def _ode(th, thx, y, f0, f0s, t_end, eta):
    """Integrate df/dt = -eta Theta (f - y), df*/dt = -eta Theta_*X (f - y) numerically."""
    n = th.shape[0]
    y = y.reshape(n, -1)
    k = y.shape[1]

    def rhs(_, z):
        f = z[: n * k].reshape(n, k)
        g = -eta * (f - y)
        return np.concatenate([(th @ g).ravel(), (thx @ g).ravel()])

    z0 = np.concatenate([f0.reshape(n, k).ravel(), f0s.reshape(-1, k).ravel()])
    sol = solve_ivp(rhs, (0.0, max(t_end)), z0, t_eval=t_end, rtol=1e-11, atol=1e-13,
                    method="DOP853")
    return sol.y[: n * k].T.reshape(len(t_end), n, k), sol.y[n * k:].T.reshape(len(t_end), -1, k)


def test_ntk_mean_matches_ode(data):
    x, xs, y, y2 = data
    th, thx = arccos1(x, x), arccos1(xs, x)
    rng = np.random.default_rng(2)
    f0, f0s = 0.3 * rng.normal(size=y2.shape), 0.3 * rng.normal(size=(len(xs), 2))
    ts = np.array([0.0, 0.05, 0.3, 1.0, 4.0])
    eta = 0.7
    ftr, fte = _ode(th, thx, y2, f0, f0s, ts, eta)
    r = ntk_mean_prediction(th, y2, thx, ts, learning_rate=eta, f0_train=f0, f0_test=f0s)
    assert isinstance(r, NTKPrediction)
    assert r.test.shape == (5, 5, 2) and r.train.shape == (5, 12, 2)
    np.testing.assert_allclose(r.test, fte, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.train, ftr, rtol=0, atol=1e-8)
    # zero initial outputs, 1-D targets, scalar t
    ftr, fte = _ode(th, thx, y, 0 * y, np.zeros(len(xs)), [2.0], 1.0)
    r = ntk_mean_prediction(th, y, thx, 2.0)
    assert r.test.shape == (5,) and r.t == 2.0
    np.testing.assert_allclose(r.test, fte[0, :, 0], atol=1e-8)
    np.testing.assert_allclose(r.train, ftr[0, :, 0], atol=1e-8)


def test_ntk_mean_closed_form_and_limits(data):
    x, xs, y, _ = data
    th, thx = arccos1(x, x), arccos1(xs, x)
    n = len(x)
    # direct formula with scipy.linalg.expm and np.linalg.inv
    t, eta = 0.8, 1.3
    direct = thx @ np.linalg.inv(th) @ (np.eye(n) - expm(-eta * t * th)) @ y
    r = ntk_mean_prediction(th, y, thx, [0.0, t, np.inf], learning_rate=eta)
    np.testing.assert_allclose(r.test[1], direct, rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(r.test[0], 0.0)  # t = 0: f_0 = 0
    np.testing.assert_array_equal(r.train[0], 0.0)
    np.testing.assert_allclose(r.test[2], thx @ np.linalg.solve(th, y), rtol=1e-9)
    np.testing.assert_array_equal(r.train[2], y)  # t = inf: interpolates
    # learning_rate and t enter only through their product
    r2 = ntk_mean_prediction(th, y, thx, t * eta / 2, learning_rate=2.0)
    np.testing.assert_allclose(r2.test, r.test[1], rtol=1e-12)
    # large finite t approaches t = inf; the training residual decays
    rbig = ntk_mean_prediction(th, y, thx, 1e9)
    np.testing.assert_allclose(rbig.test, r.test[2], rtol=1e-7)
    # t = 0 with given initial outputs returns them
    f0s = np.arange(5.0)
    r0 = ntk_mean_prediction(th, y, thx, 0.0, f0_test=f0s, f0_train=y + 1)
    np.testing.assert_array_equal(r0.test, f0s)
    np.testing.assert_allclose(r0.train, y + 1, rtol=1e-13)
    assert ntk_mean_prediction(th, y, None, 1.0).test is None


def test_ntk_mean_singular_theta_finite_time():
    # rank-1 Theta: only the mode along v is learned, at rate eta |v|^2; finite t is fine
    v = np.array([1.0, 2.0, 2.0])
    th = np.outer(v, v)
    y = np.array([1.0, 0.0, -1.0])
    t = 0.4
    r = ntk_mean_prediction(th, y, th[:1], t)
    u = v / 3.0
    want_train = (1 - np.exp(-9 * t)) * (u @ y) * u
    np.testing.assert_allclose(r.train, want_train, atol=1e-14)
    # test point = first training input: equal to the training prediction there
    assert r.test[0] == pytest.approx(want_train[0], abs=1e-14)
    # tiny eigenvalues: (1 - exp(-lam t)) / lam -> t, no cancellation
    th2 = np.diag([1.0, 1e-20, 0.0])
    r = ntk_mean_prediction(th2, [1.0, 1.0, 1.0], np.eye(3), 3.0)
    # (naively 1 - exp(-3e-20) = 0, so 0 / 1e-20 = 0 for the middle entry)
    np.testing.assert_allclose(r.test, [1 - np.exp(-3.0), 3.0, 3.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(r.train, [1 - np.exp(-3.0), 3e-20, 0.0], rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="theta_train is singular.*finite t"):
        ntk_mean_prediction(th, y, th[:1], np.inf)


def test_ntk_mean_errors():
    th = np.array([[2.0, 0.5], [0.5, 1.0]])
    y = [1.0, 0.0]
    with pytest.raises(ValueError, match="t must be >= 0"):
        ntk_mean_prediction(th, y, th, [1.0, -1.0])
    with pytest.raises(ValueError, match="t must not be NaN"):
        ntk_mean_prediction(th, y, th, np.nan)
    with pytest.raises(ValueError, match="t must be a scalar or a 1-D"):
        ntk_mean_prediction(th, y, th, np.ones((2, 2)))
    with pytest.raises(TypeError, match="t must be real"):
        ntk_mean_prediction(th, y, th, "soon")
    with pytest.raises(ValueError, match="theta_train must be positive semi-definite"):
        ntk_mean_prediction([[1.0, 2.0], [2.0, 1.0]], y, th, 1.0)
    with pytest.raises(ValueError, match="theta_train must be symmetric"):
        ntk_mean_prediction([[1.0, 0.2], [0.1, 1.0]], y, th, 1.0)
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        ntk_mean_prediction(th, y, th, 1.0, learning_rate=0.0)
    with pytest.raises(ValueError, match="theta_cross must have 2 columns"):
        ntk_mean_prediction(th, y, np.ones((3, 3)), 1.0)
    with pytest.raises(ValueError, match="y_train must have shape"):
        ntk_mean_prediction(th, [1.0], th, 1.0)
    with pytest.raises(ValueError, match="f0_train must have shape"):
        ntk_mean_prediction(th, y, th, 1.0, f0_train=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="f0_test must have shape"):
        ntk_mean_prediction(th, y, th, 1.0, f0_test=[1.0])
    with pytest.raises(ValueError, match="f0_test needs theta_cross"):
        ntk_mean_prediction(th, y, None, 1.0, f0_test=[1.0])
    # round-off negative eigenvalues are accepted
    th_rnd = np.ones((2, 2)) - 1e-10 * np.eye(2)  # eigenvalues 2 - 1e-10 and -1e-10
    r = ntk_mean_prediction(th_rnd, y, th_rnd, 1.0)
    np.testing.assert_allclose(r.test, r.train, rtol=1e-9)
    np.testing.assert_allclose(r.train, 0.5 * (1 - np.exp(-2.0)), rtol=1e-9)


# ------------------------------------------------------------ ntk_gp_prediction
def test_ntk_gp_prediction_matches_direct(data):
    x, xs, y, y2 = data
    th, thx, ths = arccos1(x, x), arccos1(xs, x), arccos1(xs, xs)
    k, kx, kss = rbf(x, x), rbf(xs, x), rbf(xs, xs)
    n = len(x)
    ts = np.array([0.0, 0.5, np.inf])
    r = ntk_gp_prediction(th, y2, thx, k, kx, kss, ts, learning_rate=0.9)
    assert r.mean.shape == (3, 5, 2) and r.cov.shape == (3, 5, 5)
    np.testing.assert_array_equal(r.mean[0], 0.0)
    np.testing.assert_allclose(r.cov[0], kss, rtol=1e-13)
    for i, t in enumerate(ts[1:], start=1):
        if np.isinf(t):
            a = thx @ np.linalg.inv(th)
        else:
            a = thx @ np.linalg.inv(th) @ (np.eye(n) - expm(-0.9 * t * th))
        cov = kss + a @ k @ a.T - a @ kx.T - kx @ a.T
        np.testing.assert_allclose(r.mean[i], a @ y2, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(r.cov[i], cov, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(r.var, np.diagonal(r.cov, axis1=1, axis2=2))
    # same means as ntk_mean_prediction
    m = ntk_mean_prediction(th, y2, thx, ts, learning_rate=0.9)
    np.testing.assert_allclose(r.mean, m.test, rtol=1e-13, atol=1e-14)
    # Theta = K: the t = inf ensemble is the noiseless GP posterior
    g = gp_posterior(th, y, thx, ths, jitter=0.0)
    r = ntk_gp_prediction(th, y, thx, th, thx, ths)
    assert r.t == np.inf and r.mean.shape == (5,)
    np.testing.assert_allclose(r.mean, g.mean, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(r.cov, g.cov, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="theta_cross is required"):
        ntk_gp_prediction(th, y, None, k, kx, kss)
    with pytest.raises(ValueError, match="k_cross must have 5 rows"):
        ntk_gp_prediction(th, y, thx, k, kx[:2], kss)
