"""Exact statics (deeptheory.spinglass.exact, deeptheory.kernels.enumerate).

Independent truths: brute-force numpy sums over all 2^N states (N <= 12); the transfer matrix
against enumeration of rings (and its infinite-chain closed forms); Kaufman's finite-lattice
formula against enumeration (L = 2..4, rectangles up to 4 x 6 = 24 spins) and its approach to
Onsager; Onsager's free energy against mpmath quadrature of a different integral form at 30
digits, its energy and specific heat against mpmath derivatives of that form; Yang's
magnetisation against the low-temperature series (Domb), Yang's own x = e^{-2K} form and the
enumerated <|m|> of a 4 x 4 torus at low temperature; symmetry (Z(h) = Z(-h), Z(J) = Z(-J) on
bipartite lattices); the annealed SK formula against an average of exactly enumerated Z over
coupling samples, and the quenched SK free energy against the Aizenman-Lebowitz-Ruelle mean.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest

from deeptheory.kernels._threads import forced
from deeptheory.kernels.enumerate import gibbs_sums
from deeptheory.spinglass import sample_hamiltonian
from deeptheory.spinglass.exact import (
    MAX_ENUM_N,
    ONSAGER_BETA_C,
    ONSAGER_TC,
    enumerate_gibbs,
    ising_1d,
    ising_1d_correlation,
    ising_2d_finite,
    onsager,
    onsager_free_energy,
    sk_annealed,
    spherical_annealed,
    yang_magnetisation,
)
from deeptheory.spinglass.models import IsingLattice, SKModel, mixed_spherical, sk_model

BETAS = np.array([0.0, 0.2, 0.44, 0.7, 1.5, 6.0])


def _all_states(n):
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def _brute(energies, states, beta):
    """Gibbs sums by numpy over all states (independent of the Gray-code kernel)."""
    lw = -beta * energies
    mx = lw.max()
    w = np.exp(lw - mx)
    z = w.sum()
    p = w / z
    mag = states.sum(1)
    mean_e = p @ energies
    return dict(log_z=math.log(z) + mx, mean_e=mean_e, var_e=p @ (energies - mean_e) ** 2,
                m1=p @ mag, mabs=p @ np.abs(mag), m2=p @ mag**2, m4=p @ mag**4,
                si=p @ states, sisj=np.einsum("s,si,sj->ij", p, states, states))


def _check_against_brute(res, energies, states, betas, n, tol=1e-11):
    for b, beta in enumerate(betas):
        r = _brute(energies, states, beta)
        assert res.log_z[b] == pytest.approx(r["log_z"], abs=tol * max(1, abs(r["log_z"])))
        assert res.energy[b] * n == pytest.approx(r["mean_e"], abs=tol * n)
        assert res.specific_heat[b] * n == pytest.approx(beta**2 * r["var_e"], abs=tol * n)
        assert res.magnetisation[b] * n == pytest.approx(r["m1"], abs=tol * n)
        assert res.abs_magnetisation[b] * n == pytest.approx(r["mabs"], abs=tol * n)
        assert res.m2[b] * n**2 == pytest.approx(r["m2"], abs=tol * n**2)
        assert res.m4[b] * n**4 == pytest.approx(r["m4"], abs=tol * n**4)
        np.testing.assert_allclose(res.spin_mean[b], r["si"], atol=tol)
        np.testing.assert_allclose(res.spin_corr[b], r["sisj"], atol=tol)
    assert res.ground_energy == pytest.approx(energies.min(), abs=1e-12)
    # the returned ground state has the minimal energy
    idx = np.flatnonzero(np.all(states == res.ground_state, axis=1))
    assert energies[idx[0]] == pytest.approx(energies.min(), abs=1e-12)


# ------------------------------------------------------------------------------ enumeration


@pytest.mark.parametrize("n,h", [(2, 0.0), (7, 0.3), (12, -0.15)])
def test_enumeration_sk_vs_brute_force(n, h):
    m = sk_model(n, seed=n, h=h)
    s = _all_states(n)
    e = -0.5 * np.einsum("si,ij,sj->s", s, m.J, s) - h * s.sum(1)
    _check_against_brute(enumerate_gibbs(m, BETAS), e, s, BETAS, n)


@pytest.mark.parametrize("L,dim,J,h", [(3, 2, 1.0, 0.0), (2, 2, -0.8, 0.4), (9, 1, 1.1, 0.2)])
def test_enumeration_lattice_vs_brute_force(L, dim, J, h):
    m = IsingLattice(L, dim, J, h)
    s = _all_states(m.n_spins)
    _check_against_brute(enumerate_gibbs(m, BETAS), m.energy(s), s, BETAS, m.n_spins)


@pytest.mark.parametrize("coeffs", [{2: 1.0}, {3: 1.0}, {2: 0.6, 3: 0.9}])
def test_enumeration_pspin_on_hypercube_vs_brute_force(coeffs):
    """Spherical p <= 3 models restricted to {-1, 1}^N (the Ising p-spin model)."""
    n = 8
    mm = mixed_spherical(n, coeffs, seed=4)
    model = mm.components[0][1] if len(coeffs) == 1 and mm.components[0][0] == 1.0 else mm
    s = _all_states(n)
    e = mm.energy(s)  # |s|^2 = N: the cube lies on the sphere
    _check_against_brute(enumerate_gibbs(model, BETAS), e, s, BETAS, n, tol=1e-10)


def test_enumeration_general_kernel_with_three_body_term():
    rng = np.random.default_rng(2)
    n = 9
    c = np.triu(rng.standard_normal((n, n)), 1)
    c = c + c.T
    h = 0.3 * rng.standard_normal(n)
    k = rng.standard_normal((n, n, n))
    k = sum(k.transpose(p) for p in itertools.permutations(range(3))) / 6
    s = _all_states(n)
    e = -0.5 * np.einsum("si,ij,sj->s", s, c, s) - s @ h
    for i, j, q in itertools.combinations(range(n), 3):
        e -= k[i, j, q] * s[:, i] * s[:, j] * s[:, q]
    betas = np.array([0.0, 0.5, 3.0])
    r = gibbs_sums(c, h, betas, k)
    for b, beta in enumerate(betas):
        ref = _brute(e, s, beta)
        assert r.log_z[b] == pytest.approx(ref["log_z"], abs=1e-11)
        assert r.mean_e[b] == pytest.approx(ref["mean_e"], abs=1e-11)
        assert r.var_e[b] == pytest.approx(ref["var_e"], abs=1e-10)
        np.testing.assert_allclose(r.sisj[b], ref["sisj"], atol=1e-11)
    assert r.e_min == pytest.approx(e.min(), abs=1e-12)


def test_enumeration_beta_array_one_pass_equals_scalar_calls_and_threads():
    m = sk_model(14, seed=9, h=0.1)
    betas = np.array([[0.1, 0.9], [2.0, 20.0]])
    r = enumerate_gibbs(m, betas)
    assert r.log_z.shape == (2, 2) and r.spin_corr.shape == (2, 2, 14, 14)
    for idx in np.ndindex(2, 2):
        one = enumerate_gibbs(m, betas[idx])
        assert isinstance(one.log_z, float)
        assert one.log_z == pytest.approx(r.log_z[idx], rel=1e-13)
        assert one.specific_heat == pytest.approx(r.specific_heat[idx], rel=1e-10, abs=1e-13)
        np.testing.assert_allclose(one.spin_corr, r.spin_corr[idx], atol=1e-12)
    with forced("serial"):
        a = enumerate_gibbs(m, betas)
    with forced("parallel"):
        b = enumerate_gibbs(m, betas)
    assert np.array_equal(a.log_z, b.log_z) and np.array_equal(a.spin_corr, b.spin_corr)


def test_enumeration_is_stable_at_large_beta():
    """log-sum-exp shifts: log Z -> -beta E_0 + log(degeneracy) with no overflow."""
    m = IsingLattice(4, 2)
    r = enumerate_gibbs(m, np.array([50.0, 500.0, 5000.0]), correlations=False)
    np.testing.assert_allclose(r.log_z, np.array([50.0, 500.0, 5000.0]) * 32 + math.log(2),
                               rtol=1e-14)
    np.testing.assert_allclose(r.abs_magnetisation, 1.0, atol=1e-12)
    assert np.all(np.isfinite(r.specific_heat)) and np.all(r.specific_heat < 1e-30)
    assert r.ground_energy == -32.0 and abs(r.ground_state.sum()) == 16


def test_symmetries_field_and_coupling_sign():
    """Z(h) = Z(-h) (s -> -s); on the bipartite 4 x 4 torus Z(J) = Z(-J) at h = 0."""
    m = sk_model(10, seed=1)
    a = enumerate_gibbs(SKModel(m.J, 0.3), BETAS)
    b = enumerate_gibbs(SKModel(m.J, -0.3), BETAS)
    np.testing.assert_allclose(a.log_z, b.log_z, rtol=1e-13)
    np.testing.assert_allclose(a.magnetisation, -b.magnetisation, atol=1e-13)
    np.testing.assert_allclose(a.spin_mean, -b.spin_mean, atol=1e-13)
    c = enumerate_gibbs(IsingLattice(4, 2, 1.0), BETAS, correlations=False)
    d = enumerate_gibbs(IsingLattice(4, 2, -1.0), BETAS, correlations=False)
    np.testing.assert_allclose(c.log_z, d.log_z, rtol=1e-13)
    z = enumerate_gibbs(m, 0.7)
    np.testing.assert_allclose(z.spin_mean, 0.0, atol=1e-13)  # h = 0: <s_i> = 0
    np.testing.assert_allclose(z.spin_corr, z.spin_corr.T, atol=1e-15)


def test_max_size_ring_vs_transfer_matrix():
    """N = 24 = MAX_ENUM_N: the longest ring against tr T^24."""
    m = IsingLattice(MAX_ENUM_N, 1, J=0.9, h=0.05)
    betas = np.array([0.3, 1.2])
    e = enumerate_gibbs(m, betas)
    t = ising_1d(betas, 0.9, 0.05, L=MAX_ENUM_N)
    np.testing.assert_allclose(e.log_z / MAX_ENUM_N, t.log_z, rtol=1e-12)
    np.testing.assert_allclose(e.specific_heat, t.specific_heat, rtol=1e-9)
    cor = ising_1d_correlation(betas[:, None], np.arange(MAX_ENUM_N)[None, :], 0.9, 0.05,
                               MAX_ENUM_N)
    np.testing.assert_allclose(e.spin_corr[:, 0, :], cor, atol=1e-10)


# ------------------------------------------------------------------------------ 1-D


@pytest.mark.parametrize("L,J,h", [(2, 1.0, 0.0), (5, 1.0, 0.3), (8, -0.7, 0.2),
                                   (11, 1.3, -0.1)])
def test_transfer_matrix_vs_enumerated_ring(L, J, h):
    betas = np.array([0.0, 0.2, 0.7, 1.5, 4.0])
    e = enumerate_gibbs(IsingLattice(L, 1, J, h), betas)
    t = ising_1d(betas, J, h, L)
    np.testing.assert_allclose(t.log_z, e.log_z / L, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(t.energy, e.energy, atol=1e-13)
    np.testing.assert_allclose(t.specific_heat, e.specific_heat, atol=1e-12)
    np.testing.assert_allclose(t.magnetisation, e.magnetisation, atol=1e-13)
    np.testing.assert_allclose(t.susceptibility, betas * L * (e.m2 - e.magnetisation**2),
                               atol=1e-11)
    cor = ising_1d_correlation(betas[:, None], np.arange(L + 1)[None, :], J, h, L)
    np.testing.assert_allclose(cor[:, :L], e.spin_corr[:, 0, :], atol=1e-13)
    np.testing.assert_allclose(cor[:, L], 1.0, atol=1e-13)


def test_transfer_matrix_infinite_chain_closed_forms():
    b = np.array([0.0, 0.1, 0.5, 1.0, 3.0, 30.0])
    r = ising_1d(b)
    np.testing.assert_allclose(r.log_z, np.log(2 * np.cosh(b)), rtol=1e-14)
    np.testing.assert_allclose(r.energy, -np.tanh(b), atol=1e-15)
    np.testing.assert_allclose(r.specific_heat, (b / np.cosh(b)) ** 2, atol=1e-15)
    np.testing.assert_allclose(r.magnetisation, 0.0, atol=1e-15)
    np.testing.assert_allclose(r.susceptibility, b * np.exp(2 * b), rtol=1e-12)
    # xi = 1 / ln coth K, ln coth K = log1p(2 / expm1(2K)) (e^{2K} / 2 at large K)
    np.testing.assert_allclose(r.correlation_length[1:], 1 / np.log1p(2 / np.expm1(2 * b[1:])),
                               rtol=1e-12)
    assert ising_1d(0.5, -1.0).correlation_length == pytest.approx(1 / math.log(1 / math.tanh(0.5)))
    assert r.correlation_length[0] == 0.0 and r.free_energy[0] == -np.inf
    # field: m = sinh b / sqrt(sinh^2 b + e^{-4K})
    k, hh = 0.8, 0.3
    m = ising_1d(1.0, k, hh).magnetisation
    assert m == pytest.approx(math.sinh(hh) / math.sqrt(math.sinh(hh) ** 2 + math.exp(-4 * k)),
                              rel=1e-14)
    # L -> inf: a long ring
    np.testing.assert_allclose(ising_1d(b, 0.9, 0.2, L=400).log_z, ising_1d(b, 0.9, 0.2).log_z,
                               rtol=1e-14)
    cinf = ising_1d_correlation(0.7, np.arange(6))
    np.testing.assert_allclose(cinf, np.tanh(0.7) ** np.arange(6), rtol=1e-14)


# ------------------------------------------------------------------------------ 2-D


def _rect_couplings(L, M):
    """Torus of L rows and M columns (site x + M y), built bond by bond."""
    n = L * M
    c = np.zeros((n, n))
    for y in range(L):
        for x in range(M):
            i = x + M * y
            for j in ((x + 1) % M + M * y, x + M * ((y + 1) % L)):
                c[i, j] += 1.0
                c[j, i] += 1.0
    return c


@pytest.mark.parametrize("L,M", [(2, 2), (3, 3), (4, 4), (2, 5), (3, 6), (4, 6)])
def test_kaufman_vs_enumeration(L, M):
    betas = np.array([0.0, 0.2, ONSAGER_BETA_C, 0.6, 1.5, 5.0])
    n = L * M
    g = gibbs_sums(_rect_couplings(L, M), np.zeros(n), betas, correlations=False)
    k = ising_2d_finite(betas, L, M)
    np.testing.assert_allclose(k.log_z, g.log_z / n, rtol=5e-13, atol=1e-14)
    np.testing.assert_allclose(k.energy, g.mean_e / n, atol=1e-12)
    np.testing.assert_allclose(k.specific_heat, betas**2 * g.var_e / n, atol=1e-10)
    assert ising_2d_finite(betas, M, L).log_z == pytest.approx(k.log_z, rel=1e-13)
    if L == M:
        e = enumerate_gibbs(IsingLattice(L, 2), betas, correlations=False)
        np.testing.assert_allclose(k.log_z, e.log_z / n, rtol=1e-13)


def test_kaufman_tends_to_onsager():
    betas = np.array([0.3, ONSAGER_BETA_C, 0.6])
    o = onsager(betas)
    err = []
    for L in (8, 16, 32, 64):
        k = ising_2d_finite(betas, L)
        # below T_c the two ordered phases add ln 2 to ln Z
        err.append(np.abs(k.log_z - o.log_z - np.array([0, 0, math.log(2)]) / L**2))
    err = np.array(err)
    assert err[-1, 0] < 1e-14 and err[-1, 2] < 1e-14  # off T_c: exponentially small
    assert np.all(np.diff(err[:, 1]) < 0)
    # at T_c, f_L - f = O(1 / L^2): the error quarters with each doubling
    ratios = err[:-1, 1] / err[1:, 1]
    np.testing.assert_allclose(ratios, 4.0, rtol=0.02)
    # specific heat at T_c grows like (8 K_c^2 / pi) ln L
    c = [float(ising_2d_finite(ONSAGER_BETA_C, L).specific_heat) for L in (32, 64, 128)]
    amp = 8 * ONSAGER_BETA_C**2 / math.pi
    assert (c[2] - c[1]) / math.log(2) == pytest.approx(amp, rel=0.01)
    assert (c[1] - c[0]) / math.log(2) == pytest.approx(amp, rel=0.02)


def _mp_free_energy(k):
    """-beta f from a different single-integral form (Onsager 1944), in mpmath:
    ln 2 / 2 + (1/2pi) int_0^pi ln[cosh^2 2K + sqrt(1 + q^2 - 2 q cos 2t) / q] dt,
    q = 1 / sinh^2 2K, split where the integrand turns at T_c."""
    k = mp.mpf(k)
    q = 1 / mp.sinh(2 * k) ** 2
    f = lambda t: mp.log(mp.cosh(2 * k) ** 2 + mp.sqrt(1 + q * q - 2 * q * mp.cos(2 * t)) / q)  # noqa: E731
    pts = [0] + [mp.mpf(10) ** (-j) for j in range(8, 0, -1)] + [mp.pi / 2, mp.pi]
    return mp.log(2) / 2 + mp.quad(f, pts) / (2 * mp.pi)


def test_onsager_free_energy_vs_mpmath():
    bs = [0.05, 0.3, 0.44, ONSAGER_BETA_C * (1 - 1e-6), ONSAGER_BETA_C, 0.45, 0.7, 1.5, 5.0]
    ours = onsager_free_energy(np.array(bs))
    with mp.workdps(30):
        for b, v in zip(bs, ours, strict=True):
            assert abs(float(_mp_free_energy(b)) - v) < 1e-12, b
    assert onsager_free_energy(0.0) == pytest.approx(math.log(2), abs=1e-15)
    assert onsager_free_energy(0.3, J=-1.0) == onsager_free_energy(0.3)


def test_onsager_energy_and_specific_heat_vs_mpmath_derivatives():
    with mp.workdps(20):
        for b in (0.2, 0.43, 0.46, 0.8):
            r = onsager(b)
            _, d1, d2 = mp.diffs(_mp_free_energy, b, 2)
            assert abs(float(-d1) - r.energy) < 1e-12
            assert abs(float(b**2 * d2) - r.specific_heat) < 1e-11
    # high temperature: -beta f = ln 2 + 2 ln cosh K + t^4 + 2 t^6 + O(t^8), t = tanh K
    k = np.array([1e-6, 1e-4, 1e-3])
    tk = np.tanh(k)
    series = -2 * tk - (4 * tk**3 + 12 * tk**5) * (1 - tk**2)
    np.testing.assert_allclose(onsager(k).energy, series, rtol=1e-11)
    rc = onsager(ONSAGER_BETA_C)
    assert rc.energy == pytest.approx(-math.sqrt(2), abs=1e-15) and rc.specific_heat == np.inf
    assert ONSAGER_TC == pytest.approx(2.269185314213022, rel=1e-15)


def test_onsager_specific_heat_log_singularity():
    """c(t) ~ -(8 K_c^2 / pi) ln|t| on both sides of T_c (Onsager 1944)."""
    amp = 8 * ONSAGER_BETA_C**2 / math.pi
    for sign in (1.0, -1.0):
        t1, t2 = 1e-6, 1e-8
        c1 = onsager(ONSAGER_BETA_C / (1 + sign * t1)).specific_heat
        c2 = onsager(ONSAGER_BETA_C / (1 + sign * t2)).specific_heat
        assert (c2 - c1) / math.log(t1 / t2) == pytest.approx(amp, rel=1e-3)


def test_yang_vs_low_temperature_series_and_x_form():
    """m_0 = 1 - 2u^2 - 8u^3 - 34u^4 - 152u^5 - 714u^6 - 3472u^7 + O(u^8), u = e^{-4K}
    (low-temperature series, Domb 1960), and Yang's (1952) own form
    (1 + x^2)^{1/4} (1 - 6x^2 + x^4)^{1/8} / (1 - x^2)^{1/2}, x = e^{-2K}."""
    b = np.array([0.9, 1.0, 1.5, 3.0])
    u = np.exp(-4 * b)
    ser = 1 - 2 * u**2 - 8 * u**3 - 34 * u**4 - 152 * u**5 - 714 * u**6 - 3472 * u**7
    y = yang_magnetisation(b)
    assert np.all(np.abs(ser - y) < 3e4 * u**8 + 1e-15)
    bb = np.linspace(ONSAGER_BETA_C * 1.0001, 2.0, 40)
    x = np.exp(-2 * bb)
    xf = (1 + x**2) ** 0.25 * (1 - 6 * x**2 + x**4) ** 0.125 / np.sqrt(1 - x**2)
    np.testing.assert_allclose(yang_magnetisation(bb), xf, rtol=1e-13)
    assert np.all(yang_magnetisation(np.array([0.0, 0.3, ONSAGER_BETA_C * 0.999999])) == 0.0)
    # critical exponent 1/8
    t = np.array([1e-6, 1e-8])
    m = yang_magnetisation(ONSAGER_BETA_C / (1 - t))
    assert math.log(m[0] / m[1]) / math.log(t[0] / t[1]) == pytest.approx(0.125, rel=1e-3)


def test_yang_vs_enumerated_torus_at_low_temperature():
    """<|m|> on the 4 x 4 torus equals m_0 up to excitations that wrap around (O(u^4))."""
    b = np.array([1.5, 2.0])
    e = enumerate_gibbs(IsingLattice(4, 2), b, correlations=False)
    u = np.exp(-4 * b)
    assert np.all(np.abs(e.abs_magnetisation - yang_magnetisation(b)) < 20 * u**4)


# ------------------------------------------------------------------------------ annealed


def test_sk_annealed_exact_finite_n_by_averaging_z():
    """E Z_N over couplings (brute force, N = 6) = exp(N sk_annealed(beta, N)), with the
    diagonal correction -beta^2/4 (total) resolved (Sherrington & Kirkpatrick 1975)."""
    n, reps, beta, h = 6, 20000, 1.0, 0.3
    rng = np.random.default_rng(0)
    g = np.triu(rng.standard_normal((reps, n, n)), 1) / math.sqrt(n)
    j = g + np.swapaxes(g, 1, 2)
    s = _all_states(n)
    e = -0.5 * np.einsum("si,rij,sj->rs", s, j, s) - h * s.sum(1)
    z = np.exp(-beta * e).sum(1)
    se = z.std(ddof=1) / math.sqrt(reps)
    ez = math.exp(n * sk_annealed(beta, n, h))
    assert abs(z.mean() - ez) < 4 * se
    assert abs(z.mean() - math.exp(n * sk_annealed(beta, None, h))) > 10 * se  # correction
    assert sk_annealed(0.5) == pytest.approx(math.log(2) + 0.0625, rel=1e-15)


def test_sk_quenched_high_temperature():
    """(1/N) E ln Z_N at beta = 0.5 (T > T_c = 1): ln Z - ln E Z_N has mean
    (ln(1 - beta^2) + beta^2) / 4 and variance -(ln(1 - beta^2) + beta^2) / 2
    (Aizenman, Lebowitz & Ruelle 1987), so (1/N) E ln Z -> ln 2 + beta^2 / 4."""
    n, reps, beta = 16, 60, 0.5
    d = np.array([enumerate_gibbs(sk_model(n, seed=k), beta, correlations=False).log_z
                  for k in range(reps)]) - n * sk_annealed(beta, n)
    alr = (math.log(1 - beta**2) + beta**2) / 4
    se = d.std(ddof=1) / math.sqrt(reps)
    assert abs(d.mean() - alr) < 4 * se + 0.02  # + finite-N allowance
    assert d.std() == pytest.approx(math.sqrt(-2 * alr), rel=0.35)


def test_spherical_annealed_units():
    assert spherical_annealed(0.7) == pytest.approx(0.245, rel=1e-15)
    assert spherical_annealed(0.7, units="cs") == pytest.approx(0.1225, rel=1e-15)
    mm = mixed_spherical(4, {2: 0.6, 3: 0.8})
    assert spherical_annealed(1.0, mm) == pytest.approx(0.5, rel=1e-14)
    assert spherical_annealed(1.0, sample_hamiltonian(3, 3)) == 0.5
    np.testing.assert_allclose(spherical_annealed(np.array([0.0, 2.0])), [0.0, 2.0])


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf, [0.5, -1.0]])
def test_bad_beta(bad):
    msg = "beta must be"
    with pytest.raises(ValueError, match=msg):
        enumerate_gibbs(sk_model(4), bad)
    with pytest.raises(ValueError, match=msg):
        ising_1d(bad)
    with pytest.raises(ValueError, match=msg):
        onsager(bad)
    with pytest.raises(ValueError, match=msg):
        ising_2d_finite(bad, 4)
    with pytest.raises(ValueError, match=msg):
        sk_annealed(bad)
    with pytest.raises(ValueError, match=msg):
        spherical_annealed(bad)


def test_bad_sizes_and_models():
    with pytest.raises(ValueError, match=r"N <= 24"):
        enumerate_gibbs(sk_model(25), 1.0)
    with pytest.raises(ValueError, match=r"N <= 24.*N = 25"):
        enumerate_gibbs(IsingLattice(5, 2), 1.0)
    with pytest.raises(ValueError, match="L must be >= 2"):
        ising_1d(1.0, L=1)
    with pytest.raises(ValueError, match="L must be >= 2"):
        ising_2d_finite(1.0, 1)
    with pytest.raises(ValueError, match="M must be >= 2"):
        ising_2d_finite(1.0, 4, 1)
    with pytest.raises(ValueError, match="p <= 3"):
        enumerate_gibbs(sample_hamiltonian(4, 4), 1.0)
    with pytest.raises(TypeError, match="model must be"):
        enumerate_gibbs(np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="J must be > 0"):
        yang_magnetisation(1.0, J=-1.0)
    with pytest.raises(ValueError, match=r"r must be integers in \[0, L\]"):
        ising_1d_correlation(1.0, 5, L=4)
    with pytest.raises(ValueError, match="units"):
        spherical_annealed(1.0, units="si")
    with pytest.raises(ValueError, match="N must be >= 2"):
        sk_annealed(1.0, N=1)
