"""Two-player games as dynamical systems (deeptheory.dynamics.games, .game_spectra,
.game_dynamics).

Independent truths: numpy eigenvalues of the update matrices; powers of those matrices
applied to z0 on a linear game (the iteration is exactly M^k z0); finite-difference
Jacobians of the field and of one step of each method; the exact norm identities
|z'|^2 = (1 + c^2) |z|^2 (simultaneous) and (1 - c^2 + c^4) |z|^2 (extragradient) on the
bilinear game and |z'|^2 = (1 + eta^2 h'(theta psi)^2) |z|^2 on the Dirac-GAN; the
conserved quantity of alternating GD; the sign algebra of the SGA alignment rule.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from deeptheory import ConvergenceError
from deeptheory.dynamics import game_dynamics, game_spectra
from deeptheory.dynamics import games as gm
from deeptheory.dynamics.game_dynamics import (
    alternating_gd,
    extragradient,
    game_trajectories,
    optimistic_gd,
    sga_gd,
    simultaneous_gd,
)
from deeptheory.dynamics.game_spectra import (
    bilinear_eigenvalues,
    bilinear_regime,
    norm_growth_rate,
    update_jacobian,
    update_spectrum,
)
from deeptheory.dynamics.games import (
    BilinearGame,
    DiracGAN,
    alternating_invariant,
    decompose_jacobian,
    dirac_gan_eigenvalues,
    numerical_jacobian,
    sga_alignment_sign,
    symplectic_gradient_adjustment,
)

RUNNERS = {"simultaneous": simultaneous_gd, "alternating": alternating_gd,
           "extragradient": extragradient, "optimistic": optimistic_gd}


def _match(a, b):
    """Largest distance in the best one-to-one pairing of two eigenvalue lists."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    d = np.abs(a[:, None] - b[None, :])
    r, c = linear_sum_assignment(d)
    return float(d[r, c].max())


def _linear_field(j, dx):
    return lambda x, y: ((j @ np.concatenate([x, y]))[:dx], (j @ np.concatenate([x, y]))[dx:])


# ---------------------------------------------------------------- closed forms vs numpy


@pytest.mark.parametrize("method", gm.METHODS)
@pytest.mark.parametrize("eta,a", [(0.1, 1.0), (0.3, 2.0), (0.7, 1.3), (0.05, -4.0)])
def test_bilinear_eigenvalues_scalar_match_numpy(method, eta, a):
    j = BilinearGame(a).jacobian()
    num = update_spectrum(method, eta, j, nx=1, lam=0.7).eigenvalues
    assert _match(num, bilinear_eigenvalues(method, eta, a, lam=0.7)) < 1e-12


@pytest.mark.parametrize("method", gm.METHODS)
@pytest.mark.parametrize("shape", [(3, 5), (4, 4), (5, 2)])
def test_bilinear_eigenvalues_matrix_match_numpy(method, shape):
    a = np.random.default_rng(sum(shape)).standard_normal(shape)
    j = BilinearGame(a).jacobian()
    num = update_jacobian(method, 0.2, j, nx=shape[0], lam=0.5)
    assert _match(np.linalg.eigvals(num), bilinear_eigenvalues(method, 0.2, a, lam=0.5)) < 1e-11


def test_theory_statements_for_the_scalar_bilinear_game():
    eta, a = 0.4, 1.5
    c = eta * a
    sim = bilinear_eigenvalues("simultaneous", eta, a)
    assert np.allclose(np.abs(sim), math.sqrt(1 + c * c), rtol=0, atol=1e-15)
    alt = update_jacobian("alternating", eta, BilinearGame(a).jacobian())
    assert np.linalg.det(alt) == pytest.approx(1.0, abs=1e-14)
    assert np.trace(alt) == pytest.approx(2 - c * c, abs=1e-14)
    assert np.allclose(np.abs(bilinear_eigenvalues("alternating", eta, a)), 1.0, atol=1e-14)
    eg = bilinear_eigenvalues("extragradient", eta, a)
    assert np.allclose(np.abs(eg) ** 2, 1 - c * c + c ** 4, atol=1e-15)
    assert _match(eg, [1 - c * c - 1j * c, 1 - c * c + 1j * c]) < 1e-15
    # the optimistic threshold c = 1/sqrt 3 and the extragradient one c = 1: modulus exactly 1
    rho_og = np.abs(bilinear_eigenvalues("optimistic", 1 / math.sqrt(3), 1.0)).max()
    rho_eg = np.abs(bilinear_eigenvalues("extragradient", 1.0, 1.0)).max()
    assert rho_og == pytest.approx(1.0, abs=1e-15) and rho_eg == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("method", gm.METHODS)
def test_update_jacobian_is_the_iteration_on_a_linear_game(method):
    """On v(z) = J z (any J) k steps of the method are exactly M^k z0."""
    rng = np.random.default_rng(1)
    dx, dy = 2, 3
    j = rng.standard_normal((5, 5))
    field = _linear_field(j, dx)
    x0, y0 = rng.standard_normal(dx), rng.standard_normal(dy)
    eta, k = 0.07, 25
    m = update_jacobian(method, eta, j, nx=dx, lam=0.6)
    z = np.concatenate([x0, y0])
    if method == "optimistic":
        z = np.concatenate([z, z])  # v(z_{-1}) = v(z_0)
    zs = [z]
    for _ in range(k):
        zs.append(m @ zs[-1])
    want = np.array(zs)[:, :5]
    if method == "sga":
        traj = sga_gd(field, lambda x, y: j, x0, y0, eta, k, lam=0.6)
    else:
        traj = RUNNERS[method](field, x0, y0, eta, k)
    assert np.allclose(traj.z, want, rtol=1e-12, atol=1e-12)
    assert traj.n_field_evals == k * (2 if method in ("alternating", "extragradient") else 1)


def test_alternating_split_follows_nx():
    j = np.random.default_rng(2).standard_normal((3, 3))
    m1 = update_jacobian("alternating", 0.1, j, nx=1)
    m2 = update_jacobian("alternating", 0.1, j, nx=2)
    assert not np.allclose(m1, m2)
    with pytest.raises(ValueError, match="nx"):
        update_jacobian("alternating", 0.1, j)  # odd size: nx required


# ---------------------------------------------------------------- iteration regimes


@pytest.mark.parametrize("method", gm.METHODS)
def test_growth_rate_from_trajectory_matches_spectral_radius(method):
    game = BilinearGame(1.0)
    eta, n = 0.3, 400
    if method == "sga":
        traj = sga_gd(game.field, game.jacobian, 1.0, 0.5, eta, n)
    else:
        traj = RUNNERS[method](game.field, 1.0, 0.5, eta, n)
    rho = update_spectrum(method, eta, game.jacobian()).spectral_radius
    rate = norm_growth_rate(traj.distance, skip=100)
    tol = 1e-4 if method == "alternating" else 1e-10  # alternating: bounded oscillation
    assert rate == pytest.approx(math.log(rho), abs=tol)


def test_exact_norm_identities_on_the_bilinear_game():
    game, eta, a = BilinearGame(2.0), 0.2, 2.0
    c = eta * a
    d = simultaneous_gd(game.field, 0.3, -1.1, eta, 60).distance
    assert np.allclose(d[1:] / d[:-1], math.sqrt(1 + c * c), rtol=1e-13, atol=0)
    d = extragradient(game.field, 0.3, -1.1, eta, 60).distance
    assert np.allclose(d[1:] / d[:-1], math.sqrt(1 - c * c + c ** 4), rtol=1e-13, atol=0)


@pytest.mark.parametrize("eta", [0.3, 1.2, 1.9])
def test_alternating_conserves_the_invariant_and_cycles(eta):
    a = 1.0
    game = BilinearGame(a)
    traj = alternating_gd(game.field, 1.0, 0.5, eta, 5000)
    q = alternating_invariant(traj.x, traj.y, eta, a)
    assert np.ptp(q) / q[0] < 1e-12
    # |z|^2 lies between Q / (1 + eta a / 2) and Q / (1 - eta a / 2)
    d2 = traj.distance ** 2
    assert np.all(d2 <= q[0] / (1 - eta * a / 2) * (1 + 1e-12))
    assert np.all(d2 >= q[0] / (1 + eta * a / 2) * (1 - 1e-12))
    assert norm_growth_rate(traj.distance) == pytest.approx(0.0, abs=1e-5)


def test_alternating_invariant_for_a_matrix_game():
    a = np.random.default_rng(3).standard_normal((3, 2))
    eta = 0.5 / np.linalg.norm(a, 2)
    game = BilinearGame(a)
    traj = alternating_gd(game.field, [1.0, -0.2, 0.4], [0.3, 0.9], eta, 2000)
    q = alternating_invariant(traj.x, traj.y, eta, a)
    assert np.ptp(q) / q[0] < 1e-12
    assert game.invariant(traj.x[-1], traj.y[-1], eta) == pytest.approx(q[0], rel=1e-12)


@pytest.mark.parametrize("c", [0.2, 0.5, 0.8, 1.5, 2.5])
@pytest.mark.parametrize("method", gm.METHODS)
def test_regime_predicted_matches_iteration(method, c):
    game = BilinearGame(1.0)
    n = 300
    if method == "sga":
        traj = sga_gd(game.field, game.jacobian, 1.0, 0.3, c, n, on_fail="ignore")
    else:  # (not (1, 0.5): the contracting eigenvector of alternating GD at c = 2.5)
        traj = RUNNERS[method](game.field, 1.0, 0.3, c, n, on_fail="ignore")
    rate = norm_growth_rate(traj.distance, skip=min(50, traj.distance.size // 2))
    # the slowest predicted rate on this grid is |log 0.9806| = 0.0196 (c = 0.2)
    seen = "converges" if rate < -5e-3 else ("diverges" if rate > 5e-3 else "cycles")
    assert seen == bilinear_regime(method, c, 1.0)


def test_regime_boundaries():
    assert bilinear_regime("extragradient", 1.0, 1.0) == "cycles"
    assert bilinear_regime("optimistic", 1 / math.sqrt(3), 1.0) == "cycles"
    assert bilinear_regime("alternating", 2.0, 1.0) == "diverges"
    assert bilinear_regime("sga", 1.0, 1.0, lam=1.0) == "cycles"  # 2 lam / (1 + lam^2 a^2)
    assert bilinear_regime("sga", 0.1, 1.0, lam=-1.0) == "diverges"
    # alternating at c = 2: the Jordan block of -1 makes |z_k| grow linearly
    game = BilinearGame(1.0)
    d = alternating_gd(game.field, 1.0, 0.5, 2.0, 1000).distance
    assert d[-1] > 100 * d[0] and d[-1] < 1e4 * d[0]


# ---------------------------------------------------------------- Dirac-GAN


GANS = [{}, {"gamma": 0.3}, {"noise_std": 0.7}, {"gamma": 0.2, "noise_std": 1.3},
        {"loss": "wgan", "gamma": 0.5}, {"loss": "wgan", "noise_std": 1.0}]


@pytest.mark.parametrize("kw", GANS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_dirac_gan_jacobian_against_finite_differences(kw):
    gan = DiracGAN(**kw)
    j0 = gan.equilibrium_jacobian()
    assert np.abs(numerical_jacobian(gan.field, 0.0, 0.0) - j0).max() < 1e-9
    assert np.abs(gan.jacobian(0.0, 0.0) - j0).max() < 1e-12
    for th, ps in [(0.7, -1.2), (2.0, 0.5), (-0.3, 3.0)]:
        fd = numerical_jacobian(gan.field, th, ps)
        assert np.abs(fd - gan.jacobian(th, ps)).max() < 1e-9
    assert _match(np.linalg.eigvals(j0), gan.equilibrium_eigenvalues()) < 1e-14


def test_dirac_gan_field_is_the_gradient_of_the_objective():
    gan = DiracGAN(gamma=0.4, noise_std=0.8)
    th, ps, h = 0.6, -0.9, 1e-6
    df_th = (gan.value(th + h, ps) - gan.value(th - h, ps)) / (2 * h)
    df_ps = (gan.value(th, ps + h) - gan.value(th, ps - h)) / (2 * h)
    vt, vp = gan.field(th, ps)
    assert vt == pytest.approx(df_th, abs=1e-8) and vp == pytest.approx(-df_ps, abs=1e-8)
    # without noise f = h(psi theta) + h(0) exactly
    f = DiracGAN().value(0.6, -0.9)
    assert f == pytest.approx(-math.log1p(math.exp(0.54)) - math.log(2.0), rel=1e-14)


def test_dirac_gan_closed_form_eigenvalues():
    assert _match(dirac_gan_eigenvalues(), [0.5j, -0.5j]) < 1e-16
    g = 0.3
    r1 = dirac_gan_eigenvalues(gamma=g)
    assert _match(r1, g / 2 + np.array([1, -1]) * np.sqrt(complex(g * g / 4 - 0.25))) < 1e-15
    s = 0.7  # instance noise: -h''(0) s^2 -+ sqrt(h''(0)^2 s^4 - h'(0)^2), h'' = -1/4
    inn = dirac_gan_eigenvalues(noise_std=s)
    want = 0.25 * s * s + np.array([1, -1]) * np.sqrt(complex(s ** 4 / 16 - 0.25))
    assert _match(inn, want) < 1e-15
    assert _match(dirac_gan_eigenvalues("wgan", noise_std=2.0), [1j, -1j]) < 1e-16


def test_dirac_gan_unregularised_dynamics():
    gan, eta = DiracGAN(), 0.2
    traj = simultaneous_gd(gan.field, 1.0, 1.0, eta, 2000)
    d, th, ps = traj.distance, traj.x[:, 0], traj.y[:, 0]
    hp = 1.0 / (1.0 + np.exp(th * ps))  # h'(theta psi)
    # the step is orthogonal to z: |z'|^2 = (1 + eta^2 h'^2) |z|^2, strictly increasing
    assert np.allclose(d[1:] ** 2, d[:-1] ** 2 * (1 + eta * eta * hp[:-1] ** 2), rtol=1e-13)
    assert d[-1] > 2.5 * d[0]
    alt = alternating_gd(gan.field, 1.0, 1.0, eta, 5000).distance
    assert alt.max() < 1.05 * alt[0] and alt.min() > 0.9 * alt[0]  # neither in nor out
    for run in (extragradient, optimistic_gd):
        t = run(gan.field, 1.0, 1.0, eta, 5000)
        rho = update_spectrum(t.method, eta, gan.equilibrium_jacobian()).spectral_radius
        assert t.distance[-1] < 1e-9
        assert norm_growth_rate(t.distance, skip=3000) == pytest.approx(math.log(rho), rel=1e-6)


@pytest.mark.parametrize("kw", [{"gamma": 0.3}, {"noise_std": 0.7}])
def test_dirac_gan_regularised_converges_at_the_predicted_rate(kw):
    gan, eta = DiracGAN(**kw), 0.5
    traj = simultaneous_gd(gan.field, 1.0, 1.0, eta, 600)
    lam = gan.equilibrium_eigenvalues()
    rho = float(np.abs(1 - eta * lam).max())  # eigenvalues of I - eta J
    assert rho < 1 and traj.distance[-1] < 1e-6
    assert norm_growth_rate(traj.distance, skip=300) == pytest.approx(math.log(rho), rel=1e-3)


@pytest.mark.parametrize("method", ["simultaneous", "alternating", "extragradient", "sga"])
def test_one_step_linearisation_on_the_dirac_gan(method):
    """Finite-difference Jacobian of one step of the real iteration at (0, 0) equals
    update_jacobian(method, eta, J*) with the closed-form J*."""
    gan, eta = DiracGAN(gamma=0.4, noise_std=0.5), 0.3

    def step(x, y):
        if method == "sga":
            t = sga_gd(gan.field, lambda a, b: gan.jacobian(a, b).reshape(2, 2), x, y, eta, 1)
        else:
            t = RUNNERS[method](gan.field, x, y, eta, 1)
        return t.x[1], t.y[1]

    fd = numerical_jacobian(step, 0.0, 0.0)
    want = update_jacobian(method, eta, gan.equilibrium_jacobian())
    assert np.abs(fd - want).max() < 1e-9


# ---------------------------------------------------------------- Hamiltonian / potential


def test_decomposition_and_hamiltonian_gradient():
    j = np.random.default_rng(4).standard_normal((4, 4))
    dec = decompose_jacobian(j)
    s, a = dec.symmetric, dec.antisymmetric
    assert np.allclose(s + a, j, atol=0) and np.allclose(s, s.T) and np.allclose(a, -a.T)
    game = BilinearGame(np.array([[1.0, 2.0], [0.5, -1.0]]))
    dec = decompose_jacobian(game.jacobian())
    assert np.abs(dec.symmetric).max() == 0.0  # purely Hamiltonian
    # on a Hamiltonian game A^T v = grad H, H = |v|^2/2 (finite differences)
    x, y = np.array([0.3, -0.7]), np.array([1.1, 0.2])
    v = np.concatenate(game.field(x, y))

    def ham(z):
        return 0.5 * np.sum(np.concatenate(game.field(z[:2], z[2:])) ** 2)

    z, h = np.concatenate([x, y]), 1e-6
    grad = np.array([(ham(z + h * e) - ham(z - h * e)) / (2 * h) for e in np.eye(4)])
    adj = symplectic_gradient_adjustment(v, game.jacobian(), 1.0) - v
    assert np.allclose(adj, grad, atol=1e-8)


def test_sga_converges_where_simultaneous_diverges():
    a, eta, lam = 1.5, 0.2, 1.0
    game = BilinearGame(a)
    assert eta < 2 * lam / (1 + lam * lam * a * a)
    sim = simultaneous_gd(game.field, 1.0, 1.0, eta, 300)
    sga = sga_gd(game.field, game.jacobian, 1.0, 1.0, eta, 300, lam=lam)
    assert sim.distance[-1] > 10 * sim.distance[0]
    assert sga.distance[-1] < 1e-12 * sga.distance[0]
    want = math.log(abs(1 - lam * eta * a * a - 1j * eta * a))
    assert norm_growth_rate(sga.distance) == pytest.approx(want, abs=1e-10)
    # the paper's rule picks lam > 0 on a Hamiltonian game (<v, grad H> = 0, eps breaks the tie)
    aligned = sga_gd(game.field, game.jacobian, 1.0, 1.0, eta, 300, lam=lam, align=True)
    assert np.allclose(aligned.z, sga.z, rtol=0, atol=1e-15)


def test_sga_alignment_rule_sign_algebra():
    rng = np.random.default_rng(5)
    for _ in range(200):
        j = rng.standard_normal((4, 4))
        v = rng.standard_normal(4)
        sgn = sga_alignment_sign(v, j, eps=0.0)
        gh = j.T @ v
        before = v @ gh
        after = symplectic_gradient_adjustment(v, j, 0.7 * sgn) @ gh
        assert np.sign(after) == np.sign(before) and abs(after) >= abs(before)


def test_sga_alignment_repels_from_an_unstable_equilibrium():
    """v = J z with S = -eps I (unstable for the flow): lam = +1 would make it attracting;
    the aligned sign (eps = 0) is -1 there and the iterate is pushed away."""
    e, a, eta = 0.1, 1.0, 0.1
    j = np.array([[-e, a], [-a, -e]])
    field = _linear_field(j, 1)
    plus = sga_gd(field, lambda x, y: j, 1.0, 1.0, eta, 200, lam=1.0)
    assert plus.distance[-1] < 1e-3 * plus.distance[0]
    aligned = sga_gd(field, lambda x, y: j, 1.0, 1.0, eta, 200, lam=1.0, align=True, eps=0.0)
    assert aligned.distance[-1] > 1e3 * aligned.distance[0]
    z = aligned.z[7]
    assert sga_alignment_sign(j @ z, j, eps=0.0) == -1.0
    stable = -j.T @ np.diag([1.0, 1.0])  # S = +eps I: the rule keeps lam = +1
    assert sga_alignment_sign(stable @ z, stable, eps=0.0) == 1.0


# ---------------------------------------------------------------- figure data


def test_game_trajectories_for_the_figure():
    fig = game_trajectories(n_steps=200)
    for key in ("bilinear", "dirac"):
        runs = getattr(fig, key)
        assert set(runs) == {"simultaneous", "alternating", "extragradient", "optimistic"}
        for t in runs.values():
            assert t.x.shape == (201, 1) and t.diverged_at is None
        assert runs["simultaneous"].distance[-1] > runs["simultaneous"].distance[0]
        assert runs["extragradient"].distance[-1] < runs["extragradient"].distance[0]
        assert runs["optimistic"].distance[-1] < runs["optimistic"].distance[0]
    q = alternating_invariant(fig.bilinear["alternating"].x, fig.bilinear["alternating"].y,
                              fig.bilinear_eta, fig.a)
    assert np.ptp(q) < 1e-13
    fig = game_trajectories(n_steps=50, bilinear_eta=3.0, methods=("simultaneous", "sga"))
    div = fig.bilinear["simultaneous"]  # |z_k| = sqrt 2 * 10^{k/2} passes 1e10 at k = 20
    assert div.diverged_at == 20 and div.distance.size == 20
    assert set(fig.dirac) == {"simultaneous", "sga"}


# ---------------------------------------------------------------- bad input


def test_bad_step_sizes_and_matrices():
    j = np.eye(2)
    for eta in (0.0, -0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="eta"):
            update_jacobian("simultaneous", eta, j)
        with pytest.raises(ValueError, match="eta"):
            simultaneous_gd(BilinearGame(1.0).field, 1.0, 1.0, eta, 3)
        with pytest.raises(ValueError, match="eta"):
            bilinear_eigenvalues("extragradient", eta, 1.0)
    with pytest.raises(ValueError, match="J"):
        update_jacobian("simultaneous", 0.1, np.ones((2, 3)))
    with pytest.raises(ValueError, match="J"):
        decompose_jacobian(np.ones(3))
    with pytest.raises(ValueError, match="J"):
        update_spectrum("optimistic", 0.1, [[1.0, math.nan], [0.0, 1.0]])
    with pytest.raises(ValueError, match="method"):
        update_jacobian("adam", 0.1, j)
    with pytest.raises(ValueError, match="nx"):
        update_jacobian("alternating", 0.1, j, nx=2)
    with pytest.raises(ValueError, match="J"):
        symplectic_gradient_adjustment(np.ones(3), j)
    with pytest.raises(TypeError, match="v"):
        sga_alignment_sign(["a", "b"], j)
    with pytest.raises(ValueError, match="a"):
        bilinear_regime("simultaneous", 0.1, 0.0)
    with pytest.raises(ValueError, match="x and y"):
        alternating_invariant([1.0, 2.0], [1.0], 0.1, 1.0)
    with pytest.raises(ValueError, match="distance"):
        norm_growth_rate([1.0, 0.0, 0.5])


def test_bad_games():
    with pytest.raises(ValueError, match="loss"):
        DiracGAN(loss="hinge")
    with pytest.raises(ValueError, match="gamma"):
        DiracGAN(gamma=-1.0)
    with pytest.raises(ValueError, match="noise_std"):
        DiracGAN(noise_std=math.nan)
    with pytest.raises(ValueError, match="a"):
        BilinearGame(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="x and y"):
        BilinearGame(np.ones((2, 3))).field([1.0, 2.0], [1.0, 2.0])


def test_bad_iteration_input_and_errors_name_the_iteration():
    game = BilinearGame(1.0)
    with pytest.raises(TypeError, match="field"):
        simultaneous_gd(None, 1.0, 1.0, 0.1, 3)
    with pytest.raises(ValueError, match="x0"):
        simultaneous_gd(game.field, np.ones((2, 2)), 1.0, 0.1, 3)
    with pytest.raises(ValueError, match="x0"):
        extragradient(game.field, math.inf, 1.0, 0.1, 3)
    with pytest.raises(ValueError, match="n_steps"):
        optimistic_gd(game.field, 1.0, 1.0, 0.1, -1)
    with pytest.raises(ValueError, match="on_fail"):
        simultaneous_gd(game.field, 1.0, 1.0, 0.1, 3, on_fail="maybe")
    with pytest.raises(ValueError, match="field returned sizes"):
        simultaneous_gd(lambda x, y: (np.ones(2), y), 1.0, 1.0, 0.1, 3)
    with pytest.raises(TypeError, match="pair"):
        simultaneous_gd(lambda x, y: 1.0, 1.0, 1.0, 0.1, 3)
    with pytest.raises(ValueError, match="jacobian"):
        sga_gd(game.field, lambda x, y: np.eye(3), 1.0, 1.0, 0.1, 3)

    calls = []

    def flaky(x, y):
        calls.append(1)
        return (np.full(1, math.nan), y) if len(calls) == 4 else game.field(x, y)

    with pytest.raises(ValueError, match=r"non-finite values at iteration 3\b"):
        simultaneous_gd(flaky, 1.0, 1.0, 0.1, 10)
    calls.clear()
    with pytest.raises(ValueError, match=r"extragradient: .*iteration 1\b"):
        extragradient(flaky, 1.0, 1.0, 0.1, 10)  # the 4th call is the 2nd step's second


def test_divergence_is_reported_at_the_predicted_iteration():
    # simultaneous GD at c = 1: |z_k| = sqrt 2 * 2^{k/2} first exceeds 100 at k = 13
    game = BilinearGame(1.0)
    with pytest.raises(ConvergenceError, match=r"iteration 13\b"):
        simultaneous_gd(game.field, 1.0, 1.0, 1.0, 50, max_norm=100.0)
    t = simultaneous_gd(game.field, 1.0, 1.0, 1.0, 50, max_norm=100.0, on_fail="ignore")
    assert t.diverged_at == 13 and t.x.shape == (13, 1) and t.distance[-1] <= 100.0
    with pytest.warns(RuntimeWarning, match="iteration 13"):
        simultaneous_gd(game.field, 1.0, 1.0, 1.0, 50, max_norm=100.0, on_fail="warn")
    # overflow to inf counts as divergence too
    t = simultaneous_gd(lambda x, y: (1e300 * np.ones(1), y), 1.0, 1.0, 1e10, 5,
                        max_norm=math.inf, on_fail="ignore")
    assert t.diverged_at == 1


# ---------------------------------------------------------------- docstrings


_CITE = re.compile(r"(1[89]\d\d|20[0-4]\d)|et al\.|:func:`|:class:`")
_BANNED = re.compile(r"THEORY\.md|seed\s*0\d\d|seeds?/|the seed's|/work/|/home/|/tmp/", re.I)


# the games module was split in three: games, game_spectra, game_dynamics
_MODULES = (gm, game_spectra, game_dynamics)


@pytest.mark.parametrize("mod,name", [(m, n) for m in _MODULES for n in m.__all__])
def test_docstrings_cite_sources(mod, name):
    obj = getattr(mod, name)
    doc = inspect.getdoc(obj)
    assert doc and len(doc) > 20 and not _BANNED.search(doc)
    if inspect.isfunction(obj):
        assert _CITE.search(doc)
    assert not _BANNED.search(mod.__doc__)
