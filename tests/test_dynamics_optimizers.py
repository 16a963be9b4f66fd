"""Optimisers as maps and flows (deeptheory.dynamics.optimizers, .hamiltonian).

Independent truths: the velocity form of momentum and Su-Boyd-Candes' Nesterov recursion
written out here; matrix powers (I - eta A)^k; numpy eigenvalues of the 2x2 companion
matrices; decay rates fitted to actual iterations; Jury's stability test; brute-force grid
searches for the optimal tunings; exact solutions of the continuous limits (matrix
exponential, damped oscillator, 2 J_1(w t)/(w t) for x'' + 3 x'/t + w^2 x = 0); Taylor
coefficients of the local errors from analytic derivatives; the exact energy factor
(1 + h^2 w^2)^k of explicit Euler and leapfrog's exact modified energy on a quadratic.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import j1

from deeptheory.dynamics import hamiltonian as ham
from deeptheory.dynamics import optimizers as op
from deeptheory.dynamics.hamiltonian import explicit_euler, hamiltonian_energy, leapfrog
from deeptheory.dynamics.optimizers import (
    gradient_descent,
    gradient_flow,
    heavy_ball,
    heavy_ball_limit,
    local_error_order,
    max_stable_step,
    modified_loss,
    modified_loss_gradient,
    momentum_flow,
    nesterov,
    nesterov_flow,
    optimal_gd,
    optimal_heavy_ball,
    quadratic_rate,
    stability_grid,
    stable_region,
)

# ---------------------------------------------------------------- model losses

C = 0.5  # coupling of the non-quadratic test loss


def lc_loss(x):
    """log cosh x1 + log cosh x2 + C x1 x2 + x2^2/2: smooth, non-quadratic, non-separable."""
    return float(np.log(np.cosh(x[0])) + np.log(np.cosh(x[1])) + C * x[0] * x[1]
                 + 0.5 * x[1] ** 2)


def lc_grad(x):
    return np.array([np.tanh(x[0]) + C * x[1], np.tanh(x[1]) + C * x[0] + x[1]])


def lc_hess(x):
    s = 1.0 / np.cosh(x) ** 2
    return np.array([[s[0], C], [C, s[1] + 1.0]])


def lc_d3(x, v):
    """D^3 L[v, v] (the third derivative is diagonal: (log cosh)''' = -2 tanh sech^2)."""
    return -2.0 * np.tanh(x) / np.cosh(x) ** 2 * v * v


X0 = np.array([1.3, -0.7])


def quad(lam):
    lam = np.asarray(lam, dtype=float)
    return (lambda x: lam * x), (lambda x: 0.5 * float(np.sum(lam * x * x)))


def companion(eta, beta, lam, method):
    """The iteration matrix on (x_k, x_{k-1}) for one eigenvalue, written from the update."""
    if method == "gd":
        return np.array([[1.0 - eta * lam]])
    if method == "heavy_ball":  # x+ = x - eta lam x + beta (x - x_)
        return np.array([[1.0 + beta - eta * lam, -beta], [1.0, 0.0]])
    u = 1.0 - eta * lam  # x+ = u (x + beta (x - x_))
    return np.array([[u * (1.0 + beta), -u * beta], [1.0, 0.0]])


def _iterate(method, g, x0, eta, beta, n):
    if method == "gd":
        return gradient_descent(g, x0, eta, n)
    return {"heavy_ball": heavy_ball, "nesterov": nesterov}[method](g, x0, eta, beta, n)


# ---------------------------------------------------------------- iterations as maps


def test_gd_on_quadratic_is_a_matrix_power():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    tr = gradient_descent(lambda x: a @ x, [1.0, -2.0], 0.3, 25,
                          loss=lambda x: 0.5 * x @ a @ x)
    m = np.eye(2) - 0.3 * a
    for k in (0, 1, 7, 25):
        np.testing.assert_allclose(tr.x[k], np.linalg.matrix_power(m, k) @ [1.0, -2.0],
                                   rtol=1e-12, atol=1e-15)
    assert tr.x.shape == (26, 2) and tr.loss.shape == (26,) and tr.n_steps == 25
    assert np.all(np.diff(tr.loss) < 0) and tr.method == "gd" and tr.beta == 0.0
    np.testing.assert_allclose(tr.grad_norm, np.linalg.norm(tr.x @ a, axis=1))


def test_heavy_ball_equals_the_velocity_form():
    gamma, eta, v0 = 0.7, 0.05, np.array([0.1, -0.2])
    tr = heavy_ball(lc_grad, X0, eta, gamma, 40, v0=v0)
    theta, v = X0.copy(), v0.copy()  # v_{k+1} = gamma v_k + eta g(theta_k); theta -= v_{k+1}
    for k in range(1, 41):
        v = gamma * v + eta * lc_grad(theta)
        theta = theta - v
        np.testing.assert_allclose(tr.x[k], theta, rtol=1e-13, atol=1e-14)
    # beta = 0 is gradient descent
    np.testing.assert_allclose(heavy_ball(lc_grad, X0, eta, 0.0, 30).x,
                               gradient_descent(lc_grad, X0, eta, 30).x, rtol=0, atol=0)


def test_nesterov_matches_su_boyd_candes_recursion_and_constant_beta_matrix():
    s = 0.04
    tr = nesterov(lc_grad, X0, s, None, 30)
    x_prev, y = X0.copy(), X0.copy()  # x_k = y_{k-1} - s g(y_{k-1}); y_k = x_k + (k-1)/(k+2) dx
    for k in range(1, 31):
        x = y - s * lc_grad(y)
        y = x + (k - 1) / (k + 2) * (x - x_prev)
        x_prev = x
        np.testing.assert_allclose(tr.x[k], x, rtol=1e-13, atol=1e-14)
    assert tr.beta is None
    lam = np.array([0.3, 2.0])
    g, _ = quad(lam)
    tr = nesterov(g, [1.0, 1.0], 0.4, 0.6, 20)
    for j, lj in enumerate(lam):  # per coordinate, (x_k, x_{k-1}) = M^k (x_0, x_0)
        m = companion(0.4, 0.6, lj, "nesterov")
        np.testing.assert_allclose(tr.x[20, j], (np.linalg.matrix_power(m, 20) @ [1, 1])[0],
                                   rtol=1e-11)


# ---------------------------------------------------------------- quadratics


@pytest.mark.parametrize("method", ["gd", "heavy_ball", "nesterov"])
def test_closed_form_rate_equals_companion_spectral_radius(method):
    rng = np.random.default_rng(0)
    for _ in range(300):
        eta = rng.uniform(0.01, 3.0)
        beta = 0.0 if method == "gd" else rng.uniform(0.0, 0.999)
        lam = rng.uniform(-0.5, 3.0, size=3)
        want = max(np.abs(np.linalg.eigvals(companion(eta, beta, l_, method))).max()
                   for l_ in lam)
        got = quadratic_rate(eta, None if method == "gd" else beta, lam, method)
        # a double root is ill-conditioned in eigvals: |dz| ~ sqrt(eps)
        assert abs(got - want) < 1e-7 * max(1.0, want)


@pytest.mark.parametrize("method,eta,beta,window", [
    ("gd", 1.5, None, 1),
    ("heavy_ball", 0.5, 0.3, 1),   # real roots dominate
    ("heavy_ball", 1.0, 0.8, 60),  # complex roots: error oscillates, fit the envelope
    ("nesterov", 0.5, 0.3, 1),
    ("nesterov", 1.2, 0.7, 60),
])
def test_rate_matches_decay_of_actual_iteration(method, eta, beta, window):
    lam = np.array([0.05, 0.5, 1.0])
    g, _ = quad(lam)
    n, j = 1500, 500
    tr = _iterate(method, g, np.ones(3), eta, beta, n)
    e = np.linalg.norm(tr.x, axis=1)  # the minimiser is 0
    # envelope: max over a window longer than the oscillation period; the log-rate bias is
    # <= (window |ln rho| + ln(1/cos(theta/2)) + ln k-factor)/(n - j) ~ 1e-4 here
    hi, lo = e[n - window + 1:].max(), e[j - window + 1:j + 1].max()
    fitted = math.exp((math.log(hi) - math.log(lo)) / (n - j))
    rho = quadratic_rate(eta, beta, lam, method)
    assert rho < 1
    assert abs(fitted - rho) < 2e-3 * rho, (fitted, rho)
    if window == 1:  # real dominant root: a plain least-squares fit of log error
        k = np.arange(j, n + 1)
        slope = np.polyfit(k, np.log(e[j:]), 1)[0]
        assert abs(math.exp(slope) - rho) < 1e-6


@pytest.mark.parametrize("method", ["gd", "heavy_ball", "nesterov"])
def test_stability_boundary(method):
    lam_max = 2.5
    for beta in ([0.0] if method == "gd" else [0.0, 0.3, 0.9]):
        b = None if method == "gd" else beta
        eta_c = max_stable_step(b, lam_max, method)
        want = {"gd": 2.0 / lam_max, "heavy_ball": 2 * (1 + beta) / lam_max,
                "nesterov": 2 * (1 + beta) / ((1 + 2 * beta) * lam_max)}[method]
        assert eta_c == pytest.approx(want, rel=1e-15)
        # on the boundary z = -1 is a root: the companion matrix says so independently
        ev = np.linalg.eigvals(companion(eta_c, beta, lam_max, method))
        assert np.min(np.abs(ev + 1.0)) < 1e-12
        lam = [0.5, lam_max]
        assert quadratic_rate(eta_c, b, lam, method) == pytest.approx(1.0, abs=1e-12)
        assert stable_region(0.99 * eta_c, b, lam, method)
        assert not stable_region(1.01 * eta_c, b, lam, method)
        # and the iteration itself: decays just inside, blows up just outside
        g, _ = quad(lam)
        for factor, inside in ((0.99, True), (1.01, False)):
            tr = _iterate(method, g, np.ones(2), factor * eta_c, b, 3000)
            assert (np.abs(tr.x[-1]).max() < 1e-3) if inside else (np.abs(tr.x[-1]).max() > 1e3)
    # heavy ball's published region: 0 < eta lambda < 2 (1 + beta)
    if method == "heavy_ball":
        etas, betas = np.linspace(0.01, 4.0, 201), np.linspace(0.0, 0.99, 100)
        m = stable_region(etas[None, :], betas[:, None], 1.0, method)
        jury = etas[None, :] * 1.0 < 2 * (1 + betas[:, None])
        off = np.abs(etas[None, :] - 2 * (1 + betas[:, None])) > 1e-9
        assert np.array_equal(m[off], jury[off])


def test_stable_region_broadcasts_and_matches_brute_force():
    etas = np.linspace(0.05, 3.0, 23)
    betas = np.linspace(0.0, 0.95, 11)
    lam = np.array([0.2, 1.0, 1.5])
    for method in ("heavy_ball", "nesterov"):
        mask = stable_region(etas[None, :], betas[:, None], lam, method)
        assert mask.shape == (11, 23) and mask.dtype == bool
        brute = np.array([[all(np.abs(np.linalg.eigvals(companion(e, b, l_, method))).max()
                                < 1 for l_ in lam) for e in etas] for b in betas])
        assert np.array_equal(mask, brute)
        grid = stability_grid(etas, betas, lam, method)
        assert grid.rate.shape == (11, 23) and np.array_equal(grid.stable, mask)
        np.testing.assert_allclose(grid.eta_max, max_stable_step(betas, 1.5, method))
        assert np.all(grid.stable == (etas[None, :] < grid.eta_max[:, None]))
    assert isinstance(stable_region(0.1, 0.5, [1.0]), bool)
    assert isinstance(quadratic_rate(0.1, 0.5, 1.0), float)
    assert np.isnan(stability_grid(etas, [0.0], [-1.0, 1.0], "gd").eta_max).all()


def test_optimal_tunings_beat_a_grid_search():
    mu, big = 0.1, 10.0
    kappa = big / mu
    hb = optimal_heavy_ball(mu, big)
    sk = math.sqrt(kappa)
    assert hb.rate == pytest.approx((sk - 1) / (sk + 1), rel=1e-14)
    assert hb.eta == pytest.approx(4 / (math.sqrt(big) + math.sqrt(mu)) ** 2, rel=1e-14)
    assert hb.beta == pytest.approx(hb.rate ** 2, rel=1e-14)
    spectrum = np.linspace(mu, big, 401)
    assert quadratic_rate(hb.eta, hb.beta, spectrum) == pytest.approx(hb.rate, abs=1e-14)
    etas = np.linspace(0.01, 0.5, 300)[None, :]
    betas = np.linspace(0.0, 0.99, 300)[:, None]
    best = np.min(quadratic_rate(etas, betas, [mu, big]))
    assert best >= hb.rate - 1e-12 and best < hb.rate + 5e-3
    gd = optimal_gd(mu, big)
    assert gd.eta == pytest.approx(2 / (mu + big)) and gd.rate == pytest.approx(
        (kappa - 1) / (kappa + 1))
    best_gd = np.min(quadratic_rate(np.linspace(0.001, 0.2, 4001), None, [mu, big], "gd"))
    assert best_gd >= gd.rate - 1e-12 and best_gd < gd.rate + 1e-3
    assert hb.rate < gd.rate  # acceleration: sqrt(kappa) instead of kappa
    eta, beta, rate = hb  # a Result unpacks
    assert rate == hb.rate


# ---------------------------------------------------------------- continuous limits


def test_flows_against_exact_solutions():
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    t = np.linspace(0.0, 3.0, 7)
    fl = gradient_flow(lambda x: a @ x, [1.0, -1.0], t)
    for ti, xi in zip(t, fl.x, strict=True):
        np.testing.assert_allclose(xi, expm(-a * ti) @ [1.0, -1.0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fl.v, -fl.x @ a, atol=1e-9)
    # x'' + a x' + w^2 x = 0, x(0) = 1, x'(0) = 0, underdamped
    w, fr = 2.0, 0.6
    wd = math.sqrt(w * w - fr * fr / 4)
    mf = momentum_flow(lambda x: w * w * x, 1.0, t, fr)
    exact = np.exp(-fr * t / 2) * (np.cos(wd * t) + fr / (2 * wd) * np.sin(wd * t))
    np.testing.assert_allclose(mf.x, exact, atol=1e-9)
    # Su-Boyd-Candes on a quadratic: x(t) = 2 J_1(w t)/(w t) (x(0) = 1)
    t2 = np.linspace(0.0, 10.0, 21)
    nf = nesterov_flow(lambda x: w * w * x, [1.0], t2)
    exact = np.ones_like(t2)
    exact[1:] = 2 * j1(w * t2[1:]) / (w * t2[1:])
    np.testing.assert_allclose(nf.x[:, 0], exact, atol=1e-8)


def _max_error(traj, flow):
    return float(np.abs(traj.x - flow.x).max())


def test_gd_tracks_gradient_flow_with_error_order_eta():
    T, errs, etas = 4.0, [], [0.02, 0.01, 0.005]
    for eta in etas:
        n = int(round(T / eta))
        tr = gradient_descent(lc_grad, X0, eta, n)
        errs.append(_max_error(tr, gradient_flow(lc_grad, X0, np.arange(n + 1) * eta)))
    slope = np.polyfit(np.log(etas), np.log(errs), 1)[0]
    assert abs(slope - 1.0) < 0.05, slope


def test_momentum_methods_track_their_odes_with_error_order_sqrt_step():
    T, hs = 4.0, [0.1, 0.05, 0.025]
    e_hb, e_nag = [], []
    for h in hs:
        n = int(round(T / h))
        times = np.arange(n + 1) * h
        eta, beta = h * h, 1.0 - 1.0 * h  # friction a = 1
        assert heavy_ball_limit(eta, beta) == pytest.approx((h, 1.0), rel=1e-12)
        e_hb.append(_max_error(heavy_ball(lc_grad, X0, eta, beta, n),
                               momentum_flow(lc_grad, X0, times, 1.0)))
        e_nag.append(_max_error(nesterov(lc_grad, X0, h * h, None, n),
                                nesterov_flow(lc_grad, X0, times)))
    for errs in (e_hb, e_nag):  # O(h) = O(sqrt(eta)) at t = k h
        slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
        assert abs(slope - 1.0) < 0.05, (slope, errs)


# ---------------------------------------------------------------- backward error analysis


def test_modified_loss_gradient_is_the_gradient_of_the_modified_loss():
    eta = 0.1
    g = lc_grad(X0)
    want = g + 0.5 * eta * lc_hess(X0) @ g
    np.testing.assert_allclose(modified_loss_gradient(lc_grad, X0, eta, hessian=lc_hess), want,
                               rtol=1e-14)
    np.testing.assert_allclose(modified_loss_gradient(lc_grad, X0, eta), want, rtol=1e-9)
    h = 1e-5  # central differences of L + (eta/4)|grad L|^2 itself
    fd = np.array([(modified_loss(lc_loss, lc_grad, X0 + h * e, eta)
                    - modified_loss(lc_loss, lc_grad, X0 - h * e, eta)) / (2 * h)
                   for e in np.eye(2)])
    np.testing.assert_allclose(fd, want, rtol=1e-8)


def test_local_error_orders_two_and_three_with_exact_coefficients():
    g, hs = lc_grad(X0), lc_hess(X0)
    c2 = 0.5 * np.linalg.norm(hs @ g)
    c3 = np.linalg.norm(hs @ hs @ g / 3 + lc_d3(X0, g) / 12)
    for hess in (lc_hess, None):
        r = local_error_order(lc_grad, X0, hessian=hess)
        # the next Taylor term bends each curve by a relative r * eta; measured here the
        # ratios error/(c eta^p) stay within 1.5% over eta in [1e-3, 0.03], which moves a
        # fitted slope by < 0.015 / ln(30) ~ 0.005; allow 0.02
        assert abs(r.plain_slope - 2.0) < 0.02 and abs(r.modified_slope - 3.0) < 0.02
        np.testing.assert_allclose(r.plain_error / r.etas ** 2 / c2, 1.0, atol=0.02)
        np.testing.assert_allclose(r.modified_error / r.etas ** 3 / c3, 1.0, atol=0.02)
        assert abs(r.plain_error[0] / r.etas[0] ** 2 / c2 - 1) < 2e-3
        assert abs(r.modified_error[0] / r.etas[0] ** 3 / c3 - 1) < 2e-3
        assert np.all(r.modified_error < r.plain_error)


def test_local_error_order_on_rosenbrock():
    def grad(x):  # (1 - x)^2 + (y - x^2)^2
        return np.array([-2 * (1 - x[0]) - 4 * x[0] * (x[1] - x[0] ** 2), 2 * (x[1] - x[0] ** 2)])

    r = local_error_order(grad, [-0.5, 0.8])
    # a larger next-order term than log cosh (r eta up to ~0.15 at eta = 0.03)
    assert abs(r.plain_slope - 2.0) < 0.1 and abs(r.modified_slope - 3.0) < 0.1


# ---------------------------------------------------------------- Hamiltonian view


def test_explicit_euler_energy_grows_by_exact_factor():
    w, h, n = 1.7, 0.05, 2000
    g, loss = quad(w * w)
    tr = explicit_euler(g, [1.0], [0.4], h, n, loss=loss)
    k = np.arange(n + 1)
    np.testing.assert_allclose(tr.energy, tr.energy[0] * (1 + h * h * w * w) ** k, rtol=1e-11)
    assert tr.energy[-1] / tr.energy[0] > 300  # (1.007225)^2000


def test_leapfrog_energy_stays_in_exact_band_on_quadratic():
    w, h, n = 1.7, 0.1, 10_000
    g, loss = quad(w * w)
    tr = leapfrog(g, [1.0], [0.4], h, n, loss=loss)
    shadow = 0.5 * tr.p[:, 0] ** 2 + 0.5 * w * w * (1 - h * h * w * w / 4) * tr.x[:, 0] ** 2
    np.testing.assert_allclose(shadow, shadow[0], rtol=1e-12)  # conserved exactly
    band = h * h * w * w / (4 - h * h * w * w)
    rel = tr.energy / shadow[0] - 1.0
    assert rel.min() >= -1e-12 and rel.max() <= band * (1 + 1e-9)
    assert rel.max() > 0.99 * band  # the band is attained: O(h^2), no growth
    assert np.abs(tr.energy_error).max() < 0.01 * tr.energy[0]


def test_leapfrog_is_heavy_ball_with_beta_one():
    h = 0.1
    tr = leapfrog(lc_grad, X0, np.zeros(2), h, 50)
    x = tr.x
    np.testing.assert_allclose(x[2:], 2 * x[1:-1] - x[:-2] - h * h *
                               np.array([lc_grad(z) for z in x[1:-1]]), atol=1e-13)


def test_pendulum_leapfrog_energy_bounded_euler_drifts():
    grad, loss = (lambda x: np.sin(x)), (lambda x: float(np.sum(1 - np.cos(x))))
    errs = []
    for h in (0.2, 0.1):
        tr = leapfrog(grad, [2.0], [0.0], h, 10_000, loss=loss)
        err = np.abs(tr.energy_error)
        half = err.size // 2
        assert err[half:].max() < 1.1 * err[:half].max()  # no drift
        errs.append(err.max())
    assert 3.5 < errs[0] / errs[1] < 4.5  # O(h^2)
    eu = explicit_euler(grad, [2.0], [0.0], 0.1, 2000, loss=loss)
    assert eu.energy[-1] - eu.energy[0] > 50 * errs[1]
    assert hamiltonian_energy(loss, [2.0], [0.0]) == pytest.approx(1 - math.cos(2.0))


# ---------------------------------------------------------------- bad input


def test_bad_input():
    g, _ = quad([1.0, 2.0])
    x0 = [1.0, 1.0]
    for bad in (0.0, -0.1, math.nan):
        with pytest.raises(ValueError, match="eta"):
            gradient_descent(g, x0, bad, 5)
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="beta"):
            heavy_ball(g, x0, 0.1, bad, 5)
        with pytest.raises(ValueError, match="beta"):
            nesterov(g, x0, 0.1, bad, 5)
        with pytest.raises(ValueError, match="beta"):
            quadratic_rate(0.1, [0.2, bad], [1.0])
    # a diverging run on x^4/4: x = 3, -24, 13800, -2.6e12, 1.8e37, -5.8e111, then x^3 overflows
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="iteration 5 "):
        gradient_descent(lambda x: x ** 3, [3.0], 1.0, 10)
    with pytest.raises(ValueError, match=r"not finite at iteration 4 \(evaluated at x_4\)"):
        gradient_descent(lambda x: x if x[0] > 0.3 else np.full(1, np.nan), [1.0], 0.3, 10)
    with pytest.raises(ValueError, match="loss is not finite at iteration 2"):
        gradient_descent(g, x0, 0.1, 5, loss=lambda x: 1.0 if x[0] > 0.85 else np.inf)
    with pytest.raises(ValueError, match="gradient must return"):
        gradient_descent(lambda x: np.zeros(3), x0, 0.1, 5)
    with pytest.raises(TypeError, match="gradient"):
        gradient_descent("grad", x0, 0.1, 5)
    with pytest.raises(TypeError, match="n_steps"):
        gradient_descent(g, x0, 0.1, 5.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        quadratic_rate(np.ones(3), np.full(4, 0.5), [1.0])
    with pytest.raises(ValueError, match="v0 of shape .3,. does not broadcast"):
        heavy_ball(g, x0, 0.1, 0.5, 3, v0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="v0 of shape .3,. does not broadcast"):
        momentum_flow(g, x0, [0.0, 1.0], 1.0, v0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="eta"):
        stable_region([0.1, 0.0], 0.5, [1.0])
    with pytest.raises(ValueError, match="method"):
        quadratic_rate(0.1, 0.5, [1.0], "adam")
    with pytest.raises(ValueError, match="beta must be 0"):
        quadratic_rate(0.1, 0.5, [1.0], "gd")
    with pytest.raises(ValueError, match="eigenvalues"):
        quadratic_rate(0.1, 0.5, np.ones((2, 2)))
    with pytest.raises(ValueError, match="mu"):
        optimal_heavy_ball(0.0, 1.0)
    with pytest.raises(ValueError, match="L must be >= mu"):
        optimal_heavy_ball(2.0, 1.0)
    with pytest.raises(ValueError, match="h"):
        leapfrog(g, x0, [0.0, 0.0], 0.0, 5)
    with pytest.raises(ValueError, match="p0"):
        leapfrog(g, x0, [0.0, 0.0, 0.0], 0.1, 5)
    with pytest.raises(ValueError, match="friction"):
        momentum_flow(g, x0, [0.0, 1.0], -1.0)
    with pytest.raises(ValueError, match="times"):
        gradient_flow(g, x0, [1.0, 0.5])
    with pytest.raises(ValueError, match="etas"):
        local_error_order(g, x0, [0.1, -0.1])
    with pytest.raises(ValueError, match="hessian"):
        modified_loss_gradient(g, x0, 0.1, hessian=lambda x: np.eye(3))


# ---------------------------------------------------------------- docstrings

_CITE = re.compile(r"(1[89]\d\d|20[0-4]\d)|et al\.|:func:`|:class:`")
_BANNED = re.compile(r"THEORY\.md|seed\s*0\d\d|seeds?/|the seed's|/work/|/home/|/tmp/", re.I)


@pytest.mark.parametrize("mod", [op, ham])
def test_docstrings_cite_and_do_not_cite_notes(mod):
    assert not _BANNED.search(mod.__doc__)
    for name in mod.__all__:
        obj = getattr(mod, name)
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 20 and not _BANNED.search(doc), name
        if inspect.isfunction(obj):
            assert _CITE.search(doc), name
