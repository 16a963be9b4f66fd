"""Monte Carlo of spin models against independent exact results.

Truths: exact enumeration of all 2^N states (SK, 4 x 4 Ising), Kaufman's exact finite-L
2-D Ising torus, Yang's spontaneous magnetisation, the 1-D transfer matrix, the Boltzmann
weights of a 16-state system and of the exchange move itself, a quadrature over the sphere
S^2, the SK annealed free energy ln 2 + beta^2 / 4 - beta^2 / (4N) above T_c, and an AR(1)
series with known variance of the mean.  Tolerances are derived from the reported standard
errors (|MC - exact| < Z_TOL stderr), whose calibration is itself tested on the AR(1) case.
Fixed seeds: every check is deterministic.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.signal import lfilter

from deeptheory._stats import blocking, integrated_autocorr_time
from deeptheory.kernels import spin_mc
from deeptheory.kernels._threads import forced
from deeptheory.spinglass.exact import (
    enumerate_gibbs,
    ising_1d,
    ising_2d_finite,
    sk_annealed,
    yang_magnetisation,
)
from deeptheory.spinglass.models import (
    IsingLattice,
    SKModel,
    ising_energy,
    mixed_spherical,
    sk_model,
)
from deeptheory.spinglass.montecarlo import (
    SK_GROUND_STATE,
    log_partition_ti,
    metropolis,
    parallel_tempering,
    sk_ground_state_extrapolation,
    temperature_ladder,
)
from deeptheory.spinglass.sample import PSpinHamiltonian, sample_hamiltonian

Z_TOL = 4.0


def _z(est, exact):
    return np.abs((np.asarray(est.value) - np.asarray(exact)) / np.asarray(est.stderr))


# ------------------------------------------------------------------------------ error bars


def test_blocking_calibrated_on_ar1():
    """AR(1), x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t: Var(mean) -> 2 tau / n with
    tau_int = (1 + phi) / (2 (1 - phi)).  The blocking error bar matches the true spread of
    the mean over independent series, and z = mean / stderr has unit spread."""
    rng = np.random.default_rng(7)
    phi, n, m = 0.9, 2**13, 200
    tau = (1 + phi) / (2 * (1 - phi))
    e = rng.standard_normal((m, n)) * math.sqrt(1 - phi**2)
    e[:, 0] = rng.standard_normal(m)  # stationary start
    x = lfilter([1.0], [1.0, -phi], e, axis=1)
    se_true = math.sqrt(2 * tau / n * (1 - tau / n))  # leading finite-n correction is tiny
    res = [blocking(r) for r in x]
    se = np.array([r.stderr for r in res])
    z = x.mean(axis=1) / se
    assert all(r.plateau for r in res)
    assert abs(se.mean() / se_true - 1) < 0.05, se.mean() / se_true
    assert 0.85 < z.std() < 1.15, z.std()
    # spread of the mean over the series agrees with the exact value (chi^2_199: +-10 %)
    assert abs(x.mean(axis=1).std() / se_true - 1) < 0.15
    taus = np.array([integrated_autocorr_time(r)[0] for r in x[:50]])
    assert abs(taus.mean() / tau - 1) < 0.05, taus.mean()
    # uncorrelated data: tau = 1/2 and the naive error bar
    w = rng.standard_normal(4096)
    assert blocking(w).stderr == pytest.approx(w.std(ddof=1) / 64, rel=0.1)
    assert integrated_autocorr_time(w)[0] == pytest.approx(0.5, abs=0.05)


# ------------------------------------------------------------------------------ enumeration


def test_sk_parallel_tempering_vs_enumeration():
    """SK, N = 12: energy, specific heat, <|m|>, <m^2> and the overlap moment <q^2> =
    (1/N^2) sum_ij <s_i s_j>^2 at four temperatures (two below T_c) against all 4096 states."""
    model = sk_model(12, seed=3)
    betas = np.array([0.3, 0.7, 1.2, 2.0])
    ex = enumerate_gibbs(model, betas)
    r = parallel_tempering(model, betas, 20000, n_copies=2, seed=11)
    q2 = np.array([np.sum(c**2) for c in ex.spin_corr]) / 144
    for est, truth in ((r.energy, ex.energy), (r.specific_heat, ex.specific_heat),
                       (r.magnetisation, ex.abs_magnetisation), (r.m2, ex.m2), (r.q2, q2)):
        assert np.all(_z(est, truth) < Z_TOL), (est, truth)
    assert np.all(r.converged)
    assert np.all((r.swap_rates > 0.1) & (r.swap_rates < 1))
    # P(q) at the lowest temperature: a normalised density, symmetric about q = 0
    edges, dens = r.overlap_distribution()
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0)
    mean_q = np.sum(dens * np.diff(edges) * 0.5 * (edges[1:] + edges[:-1]))
    assert abs(mean_q) < 0.1


def test_ising_4x4_checkerboard_vs_enumeration_and_kaufman():
    """4 x 4 torus (checkerboard kernel), single-temperature Metropolis chains: energy,
    specific heat, <|m|>, <m^2> against enumeration, energy and specific heat also against
    Kaufman's closed form."""
    model = IsingLattice(4, 2)
    betas = np.array([0.3, 0.44, 0.6])
    ex = enumerate_gibbs(model, betas)
    kf = ising_2d_finite(betas, 4)
    np.testing.assert_allclose(kf.energy, ex.energy, rtol=1e-10)
    r = metropolis(model, betas, 20000, 4, seed=5)
    for est, truth in ((r.energy, ex.energy), (r.specific_heat, ex.specific_heat),
                       (r.magnetisation, ex.abs_magnetisation), (r.m2, ex.m2)):
        assert np.all(_z(est, truth) < Z_TOL), (est, truth)
    assert np.all(_z(r.specific_heat, kf.specific_heat) < Z_TOL)


def test_ising_chain_table_kernel_vs_transfer_matrix():
    """1-D ring of 10 spins in a field (neighbour-table kernel) vs the exact transfer matrix."""
    model = IsingLattice(10, 1, J=1.0, h=0.3)
    betas = np.array([0.5, 1.0])
    tm = ising_1d(betas, J=1.0, h=0.3, L=10)
    ex = enumerate_gibbs(model, betas)
    np.testing.assert_allclose(tm.energy, ex.energy, rtol=1e-10)
    r = metropolis(model, betas, 20000, 2, seed=2)
    assert np.all(_z(r.energy, tm.energy) < Z_TOL)
    assert np.all(_z(r.specific_heat, tm.specific_heat) < Z_TOL)


def test_dense_couplings_any_model():
    """A model given only by couplings() and field() (dense kernel) vs enumeration of an SK
    model with the same couplings and a field."""
    base = sk_model(10, seed=8, h=0.2)

    class Dense:
        def couplings(self):
            return base.J

        def field(self):
            return np.full(10, 0.2)

    ex = enumerate_gibbs(base, 1.0)
    r = metropolis(Dense(), 1.0, 20000, 2, seed=4)
    assert _z(r.energy, ex.energy)[0] < Z_TOL
    assert _z(r.m2, ex.m2)[0] < Z_TOL


# ------------------------------------------------------------------------------ 2-D Ising


def _ising_2d_check(L, sweeps, seed):
    """Energy and specific heat vs Kaufman's exact torus (away from T_c and at T_c, where
    the finite-L values are exact too), <|m|> vs Yang below T_c (finite-size corrections
    exp(-L / xi) with xi ~ 1 at T = 1.67 are far below the error bar)."""
    model = IsingLattice(L, 2)
    betas = np.array([0.3, 0.6])
    r = metropolis(model, betas, sweeps, 2, seed=seed, burn_in=sweeps // 5)
    kf = ising_2d_finite(betas, L)
    assert np.all(_z(r.energy, kf.energy) < Z_TOL), (r.energy, kf.energy)
    assert np.all(_z(r.specific_heat, kf.specific_heat) < Z_TOL)
    assert _z(r.magnetisation, yang_magnetisation(0.6))[1] < Z_TOL
    assert r.magnetisation.value[0] < 0.1  # disordered at T = 3.3
    assert np.all(r.converged)
    return r


def test_ising_2d_L32_vs_kaufman_and_yang():
    _ising_2d_check(32, 6000, seed=1)


@pytest.mark.slow
def test_ising_2d_L64_vs_kaufman_and_yang():
    _ising_2d_check(64, 40000, seed=1)


@pytest.mark.slow
def test_ising_2d_L32_at_tc_vs_kaufman():
    """At T_c, where the infinite-lattice specific heat diverges, Kaufman's finite-L values
    remain exact: parallel tempering around T_c reproduces them."""
    from deeptheory.spinglass.exact import ONSAGER_BETA_C

    betas = ONSAGER_BETA_C * np.array([0.9, 0.95, 1.0, 1.05])
    r = parallel_tempering(IsingLattice(32, 2), betas, 100000, n_copies=2, seed=3)
    kf = ising_2d_finite(betas, 32)
    assert np.all(_z(r.energy, kf.energy) < Z_TOL)
    assert np.all(_z(r.specific_heat, kf.specific_heat) < Z_TOL)


# ------------------------------------------------------------------------------ exchange move


def _run_swaps(betas, energies, n_steps, key=99):
    k = len(betas)
    e = np.asarray(energies, dtype=np.float64)
    temp_of = np.arange(k, dtype=np.int64)
    rep_at = np.arange(k, dtype=np.int64).reshape(1, k)
    keys = np.array([key], dtype=np.uint64)
    acc = np.zeros(k - 1, np.int64)
    tries = np.zeros(k - 1, np.int64)
    states = np.empty((n_steps, k), np.int64)
    b = np.asarray(betas, dtype=np.float64)
    for t in range(n_steps):
        spin_mc.swap_step(e, temp_of, rep_at, b, keys, t, t % 2, acc, tries)
        states[t] = rep_at[0]
    return states, acc, tries


def test_swap_acceptance_two_states():
    """Two temperatures, replicas with fixed energies: the exchange is accepted with
    probability min(1, exp((b0 - b1)(E_a - E_b))) and the two arrangements satisfy detailed
    balance, pi(x) P(x -> y) = pi(y) P(y -> x), with pi ~ exp(-b0 E_at0 - b1 E_at1)."""
    b = [0.5, 1.0]
    e = [-1.0, -3.0]  # the hot replica 0 higher: exchanging costs exp(-1)
    n = 40000
    states, _, _ = _run_swaps(b, e, n)
    # every even step attempts pair 0; from arrangement (0, 1) the move is accepted w.p. p
    at = states[::2, 0]
    prev = np.concatenate([[0], at[:-1]])
    p_fwd = min(1.0, math.exp((b[0] - b[1]) * (e[0] - e[1])))  # from (0, 1): exp(-1)
    assert p_fwd == pytest.approx(math.exp(-1.0))
    from_x = prev == 0
    rate_fwd = np.mean(at[from_x] != 0)
    rate_back = np.mean(at[~from_x] != 1)
    nf, nb = from_x.sum(), (~from_x).sum()
    assert abs(rate_fwd - p_fwd) < 4 * math.sqrt(p_fwd * (1 - p_fwd) / nf)
    assert rate_back == 1.0  # the reverse move lowers the joint energy
    pi_x = math.exp(-b[0] * e[0] - b[1] * e[1])
    pi_y = math.exp(-b[0] * e[1] - b[1] * e[0])
    assert pi_x * p_fwd == pytest.approx(pi_y * 1.0)
    assert np.mean(at == 0) == pytest.approx(pi_x / (pi_x + pi_y), abs=4 * math.sqrt(
        0.25 / nb))


def test_swap_stationary_three_temperatures():
    """Three temperatures, three replicas with fixed energies: exchange moves alone visit the
    3! arrangements with the product Boltzmann weights prod_k exp(-b_k E_rep_at(k))."""
    import itertools

    b = np.array([0.2, 0.6, 1.1])
    e = np.array([1.0, -0.5, -1.5])
    states, _, _ = _run_swaps(b, e, 120000, key=5)
    perms = list(itertools.permutations(range(3)))
    w = np.array([math.exp(-np.sum(b * e[list(p)])) for p in perms])
    w /= w.sum()
    code = states[:, 0] * 3 + states[:, 1]
    for p, wp in zip(perms, w, strict=True):
        ind = (code == p[0] * 3 + p[1]).astype(float)
        bl = blocking(ind)
        assert abs(ind.mean() - wp) < Z_TOL * bl.stderr + 1e-12, (p, ind.mean(), wp)


def test_pt_stationary_distribution_tiny_system():
    """N = 4 SK model in a field, three temperatures: the frequency of each of the 16 states
    sampled by parallel tempering matches its Boltzmann probability."""
    model = sk_model(4, seed=21, h=0.3)
    betas = np.array([0.4, 1.0, 2.5])
    r = parallel_tempering(model, betas, 20000, n_copies=1, seed=9, record_configs=True)
    allst = 1 - 2 * ((np.arange(16)[:, None] >> np.arange(4)) & 1)
    en = ising_energy(model, allst)
    cfg = r.configs[0]  # (K, T, N)
    idx = ((1 - cfg) // 2 * (1 << np.arange(4))).sum(axis=2)  # (K, T)
    for k, beta in enumerate(betas):
        w = np.exp(-beta * (en - en.min()))
        w /= w.sum()
        for st in range(16):
            ind = (idx[k] == st).astype(float)
            se = blocking(ind).stderr
            assert abs(ind.mean() - w[st]) < Z_TOL * se + 1e-3 * (se == 0), (k, st)


# ------------------------------------------------------------------------------ spherical


def _sphere_energies(model, x):
    """H(x) for rows x by einsum (independent of the compiled contraction)."""
    comps = ((1.0, model),) if isinstance(model, PSpinHamiltonian) else model.components
    out = np.zeros(x.shape[0])
    for a, hp in comps:
        if hp.p == 2:
            out += a * np.einsum("ij,ni,nj->n", hp.tensor, x, x)
        else:
            out += a * np.einsum("ijk,ni,nj,nk->n", hp.tensor, x, x, x)
    return out


def _sphere_quadrature(model, betas, n_t=400, n_p=800):
    """(<H>/N, (1/N) ln E_uniform exp(-beta H)) on the sphere |x|^2 = 3 by Gauss-Legendre in
    cos(theta) and the trapezoid rule in phi (periodic: spectrally accurate)."""
    c, wc = np.polynomial.legendre.leggauss(n_t)
    ph = np.linspace(0, 2 * np.pi, n_p, endpoint=False)
    st = np.sqrt(1 - c**2)
    x = math.sqrt(3) * np.stack([np.outer(st, np.cos(ph)), np.outer(st, np.sin(ph)),
                                 np.outer(c, np.ones(n_p))], axis=-1).reshape(-1, 3)
    h = _sphere_energies(model, x)
    wq = np.repeat(wc, n_p) / (2.0 * n_p)  # uniform probability measure
    e, lz = [], []
    for beta in np.atleast_1d(betas):
        w = wq * np.exp(-beta * (h - h.min()))
        e.append(float(np.sum(w * h) / np.sum(w)) / 3)
        lz.append((math.log(np.sum(w)) - beta * h.min()) / 3)
    return np.array(e), np.array(lz)


def _sphere_truth(model, beta):
    return float(_sphere_quadrature(model, beta)[0][0])


def test_spherical_metropolis_vs_quadrature():
    model = sample_hamiltonian(3, 3, seed=4)
    beta = 1.5
    truth = _sphere_truth(model, beta)
    r = metropolis(model, beta, 40000, 2, seed=1)
    assert _z(r.energy, truth)[0] < Z_TOL, (r.energy, truth)
    assert 0.2 < r.acceptance[0] < 0.5  # the tuned step
    assert r.magnetisation is None


def test_spherical_pt_and_ti_vs_quadrature():
    """A mixed 2 + 3 spherical model at N = 3: parallel tempering energies and (1/N) ln Z by
    thermodynamic integration (Z the average of exp(-beta H) over the uniform measure)
    against the quadrature."""
    model = mixed_spherical(3, {2: 0.6, 3: 1.0}, seed=5)
    grid = np.linspace(0.0, 2.0, 9)
    e, lz = _sphere_quadrature(model, grid)
    ti = log_partition_ti(model, grid, 20000, seed=3, n_copies=2)
    assert np.all(_z(ti.mc.energy, e) < Z_TOL)
    err = np.abs(ti.log_z - lz)
    assert np.all(err[1:] < Z_TOL * (ti.stderr[1:] + ti.quad_error[1:])), (err, ti.stderr)
    assert ti.mc.q2 is not None and np.all(ti.mc.swap_rates > 0.3)


def test_spherical_langevin_bias_is_first_order():
    """Langevin on the sphere has an O(eta) bias: visible at eta = 0.1, and the Richardson
    combination 2 <u>(eta/2) - <u>(eta) agrees with the quadrature."""
    model = sample_hamiltonian(3, 3, seed=4)
    beta = 1.5
    truth = _sphere_truth(model, beta)
    r1 = metropolis(model, beta, 60000, 4, seed=2, method="langevin", step=0.1, burn_in=5000)
    r2 = metropolis(model, beta, 60000, 4, seed=3, method="langevin", step=0.05,
                    measure_every=2, burn_in=10000)
    assert _z(r1.energy, truth)[0] > Z_TOL  # the bias is resolved
    ext = 2 * r2.energy.value[0] - r1.energy.value[0]
    se = math.hypot(2 * r2.energy.stderr[0], r1.energy.stderr[0])
    assert abs(ext - truth) < Z_TOL * se, (ext, truth, se)


# ------------------------------------------------------------------------------ free energy


def test_ti_vs_enumeration():
    """(1/N) ln Z(beta) by thermodynamic integration on a 13-point grid to beta = 1.5 (below
    T_c) against the exact sum over 4096 states, within 4 (stderr + quadrature error)."""
    model = sk_model(12, seed=3)
    grid = np.linspace(0.0, 1.5, 13)
    ti = log_partition_ti(model, grid, 20000, seed=1)
    exact = enumerate_gibbs(model, grid, correlations=False).log_z / 12
    assert ti.log_z[0] == pytest.approx(math.log(2.0))
    err = np.abs(ti.log_z - exact)
    assert np.all(err[1:] < Z_TOL * (ti.stderr[1:] + ti.quad_error[1:])), (err, ti.stderr)
    assert np.max(ti.quad_error) < 2e-3
    assert np.all(ti.stderr[1:] > 0)


def _sk_ti_high_t(n, n_samples, sweeps):
    """Disorder average of (1/N) ln Z_N at beta = 0.5 (T = 2 > T_c = 1) against the annealed
    value ln 2 + beta^2/4 - beta^2/(4N) (exact for E Z_N); the quenched average lies below it by
    sigma^2 / (2N), sigma^2 = -(ln(1 - beta^2) + beta^2)/2 (Aizenman, Lebowitz & Ruelle 1987),
    1.5e-4 at N = 64, added to the tolerance.  The error bar is the spread over samples (it
    contains both the Monte Carlo and the disorder fluctuations)."""
    beta = 0.5
    vals = []
    for i in range(n_samples):
        ti = log_partition_ti(sk_model(n, seed=100 + i), beta, sweeps, n_grid=9, seed=i)
        vals.append(ti.log_z[-1])
    vals = np.array(vals)
    se = vals.std(ddof=1) / math.sqrt(n_samples)
    gap = -(math.log(1 - beta**2) + beta**2) / 2 / (2 * n)
    truth = float(sk_annealed(beta, n))
    assert abs(vals.mean() - truth) < Z_TOL * se + gap, (vals.mean(), truth, se)
    # and the N -> inf theory ln 2 + beta^2 / 4, with the O(1/N) terms allowed for
    assert abs(vals.mean() - (math.log(2) + beta**2 / 4)) < Z_TOL * se + beta**2 / (4 * n) + gap
    return vals


def test_sk_ti_high_temperature():
    _sk_ti_high_t(64, 8, 4000)


@pytest.mark.slow
def test_sk_ti_high_temperature_large_n():
    _sk_ti_high_t(256, 16, 10000)


# ------------------------------------------------------------------------- ladder, ground state


def test_automatic_ladder_uniform_swap_rates():
    model = sk_model(64, seed=2)
    b, _ = temperature_ladder(model, (0.3, 2.5), target_swap=0.3, tune_sweeps=1000, seed=0)
    assert b[0] == pytest.approx(0.3) and b[-1] == pytest.approx(2.5)
    assert np.all(np.diff(b) > 0)
    r = parallel_tempering(model, b, 4000, n_copies=1, seed=1)
    rates = r.swap_rates
    assert np.all(rates > 0.12) and np.all(rates < 0.7), rates
    assert rates.max() / rates.min() < 3.0, rates
    # betas=None runs the same ladder construction
    r2 = parallel_tempering(model, None, 2000, beta_range=(0.3, 2.5), n_copies=1, seed=1)
    assert r2.betas[0] == pytest.approx(0.3) and r2.betas.size >= 3


def test_ground_states_small_n_match_enumeration():
    """The PT minima at N = 10, 14, 18 are the exact ground states of the same couplings."""
    fit = sk_ground_state_extrapolation([10, 14, 18], 3, seed=4, n_sweeps=600)
    for i, n in enumerate(fit.Ns):
        for j in range(3):
            ex = enumerate_gibbs(sk_model(int(n), seed=int(fit.sample_seeds[i, j])), 1.0,
                                 correlations=False)
            assert fit.e_samples[i, j] == pytest.approx(ex.ground_energy / n, abs=1e-12)
    assert np.all(fit.confirmed)
    assert np.isfinite(fit.e_inf) and fit.e_inf_stderr > 0
    assert fit.published == SK_GROUND_STATE


@pytest.mark.slow
def test_sk_ground_state_extrapolation_to_parisi():
    fit = sk_ground_state_extrapolation([32, 64, 128, 256], 48, seed=1, n_sweeps=4000)
    assert fit.e_inf_stderr < 0.02
    assert abs(fit.e_inf - SK_GROUND_STATE) < Z_TOL * fit.e_inf_stderr, fit
    assert np.mean(fit.confirmed) > 0.8


# ------------------------------------------------------------------------------ reproducibility


def test_reproducible_any_thread_count():
    """Counter-based streams: serial and parallel drivers, and 1 or all threads, give bitwise
    identical runs; another seed gives another run."""
    model = sk_model(40, seed=1)
    betas = np.array([0.5, 1.0, 1.5])
    with forced("serial"):
        a = parallel_tempering(model, betas, 300, n_copies=2, seed=3)
    with forced("parallel"):
        b = parallel_tempering(model, betas, 300, n_copies=2, seed=3)
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            c = parallel_tempering(model, betas, 300, n_copies=2, seed=3)
        finally:
            numba.set_num_threads(old)
    for x in (b, c):
        np.testing.assert_array_equal(a.energies, x.energies)
        np.testing.assert_array_equal(a.overlaps, x.overlaps)
        np.testing.assert_array_equal(a.states, x.states)
    d = parallel_tempering(model, betas, 300, n_copies=2, seed=4)
    assert not np.array_equal(a.energies, d.energies)
    with forced("serial"):
        e = metropolis(IsingLattice(8, 2), 0.4, 200, 3, seed=0)
    with forced("parallel"):
        f = metropolis(IsingLattice(8, 2), 0.4, 200, 3, seed=0)
    np.testing.assert_array_equal(e.energies, f.energies)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("beta, match", [(-0.1, "beta"), (np.nan, "beta"), (np.inf, "beta"),
                                         ([], "empty"), ([[0.1, 0.2]], "beta")])
def test_bad_beta(beta, match):
    with pytest.raises(ValueError, match=match):
        metropolis(sk_model(6), beta, 100)


def test_bad_input():
    m = sk_model(6)
    with pytest.raises(ValueError, match="betas.*empty"):
        parallel_tempering(m, [], 100)
    with pytest.raises(ValueError, match="betas"):
        parallel_tempering(m, [0.5, -1.0], 100)
    with pytest.raises(ValueError, match="distinct"):
        parallel_tempering(m, [0.5, 0.5], 100)
    with pytest.raises(ValueError, match="L"):
        IsingLattice(1, 2)
    with pytest.raises(ValueError, match="init"):
        metropolis(m, 1.0, 100, 2, init=np.ones((2, 1, 5)))
    with pytest.raises(ValueError, match="J"):
        SKModel(np.zeros((3, 4)))

    class Bad:
        def couplings(self):
            return np.zeros((3, 4))

        def field(self):
            return np.zeros(3)

    with pytest.raises(ValueError, match="couplings"):
        metropolis(Bad(), 1.0, 100)
    with pytest.raises(TypeError, match="model"):
        metropolis("sk", 1.0, 100)
    with pytest.raises(ValueError, match="n_sweeps"):
        metropolis(m, 1.0, 0)
    with pytest.raises(ValueError, match="measurements"):
        metropolis(m, 1.0, 10, measure_every=5)
    with pytest.raises(ValueError, match="start at 0"):
        log_partition_ti(m, [0.1, 0.5], 100)
    with pytest.raises(ValueError, match="increasing"):
        log_partition_ti(m, [0.0, 0.5, 0.4], 100)
    with pytest.raises(ValueError, match="beta_range"):
        temperature_ladder(m, (1.0, 0.5))
    with pytest.raises(ValueError, match="target_swap"):
        temperature_ladder(m, (0.5, 1.0), target_swap=1.5)
    with pytest.raises(ValueError, match="method"):
        metropolis(sample_hamiltonian(3, 3), 1.0, 100, method="hmc")
    with pytest.raises(ValueError, match="Ns"):
        sk_ground_state_extrapolation([8, 8], 2)
    with pytest.raises(ValueError, match="max_work"):
        metropolis(sk_model(64), 1.0, 10**6, 8, max_work=1e6)


@pytest.mark.parametrize("dense", [False, True])
def test_ring_at_zero_field_is_ergodic(dense):
    """Regression: with dE = 0 flips always accepted, a fixed-order sweep of the h = 0 ring
    conserves (walls on even bonds) - (walls on odd bonds) and the energy settled 10
    standard errors away from the transfer matrix.  Zero-energy moves are now accepted with
    probability 1/2 (kernels.spin_mc.ZERO_MOVE_ACCEPT)."""
    import deeptheory.spinglass as sg

    lat = sg.IsingLattice(32, 1)
    model = sg.SKModel(lat.couplings()) if dense else lat
    exact = sg.ising_1d(1 / 3, L=32).energy
    for seed in (0, 1):
        r = sg.metropolis(model, 1 / 3, n_sweeps=20000, n_replicas=2, seed=seed)
        z = (float(r.energy.value[0]) - exact) / float(r.energy.stderr[0])
        assert abs(z) < 4.0, (seed, z)
