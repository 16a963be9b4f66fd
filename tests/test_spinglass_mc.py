"""Monte Carlo checks of sampled spherical p-spin Hamiltonians against the analytic results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from deeptheory.kernels import tensor as kt
from deeptheory.rmt.laws import semicircle_cdf
from deeptheory.spinglass import (
    e_0,
    e_inf,
    expected_critical_points,
    hessian_radius,
)
from deeptheory.spinglass.choromanska import choromanska_experiment
from deeptheory.spinglass.sample import (
    critical_points,
    energy,
    gradient_descent,
    riemannian_gradient,
    riemannian_hessian,
    sample_hamiltonian,
)


def _sphere(rng, n):
    x = rng.standard_normal(n)
    return x * math.sqrt(n) / np.linalg.norm(x)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_covariance(p):
    """E[H(s) H(s')] = N (s.s'/N)^p and E[H(s)^2] = N, within 4 standard errors."""
    n, m = 4, 3000
    rng = np.random.default_rng(0)
    s = _sphere(rng, n)
    e = _sphere(rng, n)
    e -= (e @ s) / n * s
    e *= math.sqrt(n) / np.linalg.norm(e)
    s2 = 0.6 * s + 0.8 * e  # s.s2/N = 0.6
    prod = np.empty(m)
    sq = np.empty(m)
    for i in range(m):
        h = sample_hamiltonian(n, p, i)
        a, b = energy(h, s), energy(h, s2)
        prod[i], sq[i] = a * b, a * a
    for vals, target in ((prod, n * 0.6**p), (sq, float(n))):
        se = vals.std(ddof=1) / math.sqrt(m)
        assert abs(vals.mean() - target) < 4 * se, (vals.mean(), target, se)
    # the unsymmetrised J gives the same energy: check against a direct einsum
    h = sample_hamiltonian(n, p, 5)
    j = np.random.default_rng(5).standard_normal((n,) * p) / n ** ((p - 1) / 2)
    direct = j
    for _ in range(p):
        direct = direct @ s
    assert energy(h, s) == pytest.approx(float(direct), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("p", [2, 3, 4, 5, 6])
def test_derivatives(p):
    """Kernel gradient/Hessian vs numpy einsum and finite differences; Euler; geodesic FD."""
    n = 5
    h = sample_hamiltonian(n, p, 11)
    rng = np.random.default_rng(3)
    s = _sphere(rng, n)
    t = h.tensor
    letters = "abcdef"[:p]
    g_ref = p * np.einsum(f"{letters}," + ",".join(letters[1:]) + f"->{letters[0]}",
                          t, *([s] * (p - 1)))
    g = kt.tensor_grad(h.flat, n, p, s)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    hess = kt.tensor_hess(h.flat, n, p, s)
    if p > 2:
        hess_ref = p * (p - 1) * np.einsum(
            f"{letters}," + ",".join(letters[2:]) + f"->{letters[:2]}", t, *([s] * (p - 2)))
    else:
        hess_ref = 2 * t
    np.testing.assert_allclose(hess, hess_ref, rtol=1e-12, atol=1e-12)
    # Euler identity and central finite differences of the energy
    assert s @ g == pytest.approx(p * energy(h, s), rel=1e-12)
    eps = 1e-5
    # off the sphere: the polynomial T(s, .., s) itself (energy() requires |s|^2 = N)
    fd = np.array([(kt.tensor_value(h.flat, n, p, s + eps * ei)
                    - kt.tensor_value(h.flat, n, p, s - eps * ei)) / (2 * eps)
                   for ei in np.eye(n)])
    np.testing.assert_allclose(fd, g, rtol=1e-7, atol=1e-7)
    fdh = np.array([(kt.tensor_grad(h.flat, n, p, s + eps * ei)
                     - kt.tensor_grad(h.flat, n, p, s - eps * ei)) / (2 * eps) for ei in np.eye(n)])
    np.testing.assert_allclose(fdh, hess, rtol=1e-6, atol=1e-6)
    # Riemannian gradient: tangent, equals P grad
    gr = riemannian_gradient(h, s)
    assert abs(gr @ s) < 1e-10
    np.testing.assert_allclose(gr, g - (s @ g) / n * s, atol=1e-12)
    # Riemannian Hessian eigenvalues vs the full N x N P Hess P - (pH/N) P with the radial
    # direction pushed far up
    ev = riemannian_hessian(h, s, eigenvalues=True)
    proj = np.eye(n) - np.outer(s, s) / n
    full = proj @ hess @ proj - p * energy(h, s) / n * proj + 1e3 * np.outer(s, s) / n
    np.testing.assert_allclose(ev, np.linalg.eigvalsh(full)[:-1], atol=1e-9)
    # second derivative along a geodesic s(t) = cos t s + sin t sqrt(N) e equals N e.Hess_R.e
    e = rng.standard_normal(n)
    e -= (e @ s) / n * s
    e /= np.linalg.norm(e)
    dt = 1e-4

    def along(x):
        return energy(h, math.cos(x) * s + math.sin(x) * math.sqrt(n) * e)

    d2 = (along(dt) - 2 * along(0.0) + along(-dt)) / dt**2
    m = riemannian_hessian(h, s)
    assert d2 == pytest.approx(n * (e @ full @ e), rel=1e-5, abs=1e-5)
    assert m.shape == (n - 1, n - 1)


@pytest.mark.parametrize(("n", "p"), [(3, 3), (4, 3), (5, 3), (4, 4)])
def test_critical_point_counts_vs_exact(n, p):
    """Mean number of critical points per index (multistart Newton, 40 Hamiltonians) vs ABC's
    exact finite-N formula, within 4 standard errors across Hamiltonians, plus 0.05 for
    the critical points with small basins of attraction that 300 Newton starts can miss
    (a one-sided undercount, within 2 standard errors at N = 5)."""
    reps = 40
    counts = np.array([critical_points(sample_hamiltonian(n, p, 100 + i), 300, i).counts()
                       for i in range(reps)])
    mean = counts.mean(0)
    se = counts.std(0, ddof=1) / math.sqrt(reps)
    for k in range(n):
        exact = expected_critical_points(n, p, k)
        assert abs(mean[k] - exact) < 4 * se[k] + 0.05, (k, mean[k], exact, se[k])
    tot = counts.sum(1)
    exact_tot = expected_critical_points(n, p)
    assert abs(tot.mean() - exact_tot) < 4 * tot.std(ddof=1) / math.sqrt(reps) + 0.05


def test_critical_points_are_critical():
    h = sample_hamiltonian(4, 3, 1)
    cp = critical_points(h, 200, 0)
    assert np.all(cp.grad_norm < 1e-10)
    assert np.allclose(np.sum(cp.points**2, axis=1), 4.0)
    # p odd: s critical <=> -s critical with u -> -u and index k -> N-1-k
    assert np.allclose(np.sort(cp.u), np.sort(-cp.u))
    np.testing.assert_array_equal(cp.counts(), cp.counts()[::-1])
    for x, u in zip(cp.points, cp.u, strict=True):
        assert energy(h, x) / 4 == pytest.approx(u, abs=1e-12)
    # minima have index 0 and the lowest one is the GD minimum
    gd = gradient_descent(h, 20, 0, tol=1e-10)
    assert gd.u.min() == pytest.approx(cp.u.min(), abs=1e-9)


def test_p2_critical_points_are_eigenvectors():
    """p = 2: exactly 2N critical points, +/- sqrt(N) times the eigenvectors of T, u = lambda_i,
    one pair of each index."""
    n = 5
    h = sample_hamiltonian(n, 2, 0)
    cp = critical_points(h, 200, 0)
    lam = np.linalg.eigvalsh(h.tensor)
    np.testing.assert_array_equal(cp.counts(), np.full(n, 2))
    np.testing.assert_allclose(cp.u[::2], lam, atol=1e-12)
    np.testing.assert_allclose(cp.u[1::2], lam, atol=1e-12)
    gd = gradient_descent(h, 4, 1, tol=1e-9, max_iter=200000)
    assert gd.converged.all()
    np.testing.assert_allclose(gd.u, lam[0], atol=1e-9)  # GD on p = 2 ends at lambda_min


def test_hessian_spectrum_at_minima():
    """Pooled tangent Hessian spectra at GD minima (N = 80, p = 3), shifted by p u, vs the
    semicircle of radius 2 sqrt(p(p-1)) (hessian_spectrum_pdf); KS distance below the
    Dvoretzky-Kiefer-Wolfowitz bound at level 1e-3 for the pooled sample (conservative:
    eigenvalues of one matrix repel, so their empirical CDF fluctuates less than iid)."""
    n, p = 80, 3
    h = sample_hamiltonian(n, p, 7)
    r = gradient_descent(h, 16, 1)
    assert r.converged.all()
    xs = []
    for i in np.argsort(r.u)[:8]:
        ev = riemannian_hessian(h, r.points[i], eigenvalues=True)
        assert ev.min() > -1e-5  # minima
        xs.append(ev + p * r.u[i])
    xs = np.concatenate(xs)
    rad = hessian_radius(p)
    ks = stats.kstest(xs, lambda x: semicircle_cdf(np.clip(x / rad, -1.0, 1.0), 0.25)).statistic
    assert ks < math.sqrt(math.log(2 / 1e-3) / (2 * xs.size)), ks


def test_gd_minima_energy_band():
    """GD minima at N = 80, p = 3: -E_0 - 0.03 <= u <= -E_inf + 0.25 (finite-N shift)."""
    h = sample_hamiltonian(80, 3, 3)
    r = gradient_descent(h, 16, 2)
    assert r.converged.all()
    assert np.all(r.u >= -e_0(3) - 0.03)
    assert np.all(r.u <= -e_inf(3) + 0.25)
    # the final points are on the sphere and the reported energies are right
    np.testing.assert_allclose(np.sum(r.points**2, axis=1), 80.0, rtol=1e-12)
    for x, u in zip(r.points[:3], r.u[:3], strict=True):
        assert energy(h, x) / 80 == pytest.approx(u, abs=1e-12)


def test_gd_reproducible_and_chunk_independent():
    h = sample_hamiltonian(12, 4, 0)
    a = gradient_descent(h, 10, 5, chunk=3)
    b = gradient_descent(h, 10, 5, chunk=16)
    np.testing.assert_allclose(a.u, b.u, atol=1e-12)
    np.testing.assert_array_equal(a.n_iter, b.n_iter)


def test_bad_input():
    with pytest.raises(ValueError, match="p"):
        sample_hamiltonian(5, 1)
    with pytest.raises(ValueError, match="N"):
        sample_hamiltonian(1, 3)
    with pytest.raises(ValueError, match="N\\*\\*p"):
        sample_hamiltonian(1000, 6)
    h = sample_hamiltonian(4, 3, 0)
    with pytest.raises(ValueError, match="n_starts"):
        gradient_descent(h, 0)
    with pytest.raises(ValueError, match="n_starts"):
        critical_points(h, 0)
    with pytest.raises(ValueError, match="step"):
        gradient_descent(h, 2, step=0.0)
    with pytest.raises(ValueError, match="s must"):
        energy(h, np.ones(3))


def test_choromanska_spread_narrows():
    """Choromanska et al. 2015 in miniature: final losses of wide students spread less."""
    kw = dict(n_inits=12, steps=600, n_train=128, n_test=256)
    r = choromanska_experiment((2, 32), **kw)
    assert r.train_loss.shape == (2, 12)
    assert r.spread("train")[1] < 0.5 * r.spread("train")[0]
    assert r.spread("test")[1] < r.spread("test")[0]
    assert r.train_loss[1].mean() < r.train_loss[0].mean()
    r2 = choromanska_experiment((2, 32), **kw)
    np.testing.assert_array_equal(r.test_loss, r2.test_loss)  # seeded
    with pytest.raises(ValueError, match="n_inits"):
        choromanska_experiment((2,), n_inits=1)
    with pytest.raises(ValueError, match="lr"):
        choromanska_experiment((2,), lr=0.0)
