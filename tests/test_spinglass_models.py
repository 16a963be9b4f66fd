"""Spin models with given couplings (deeptheory.spinglass.models).

Independent truths: explicit Python loops over the bonds of the lattice (geometry and energies),
numpy einsum contractions of the stored p-spin tensor (spherical energies and gradients),
central finite differences (gradients), the Gaussian law of the sampled couplings (SK variance
1/N; spherical E[H(s)^2] = N xi(1), the input of the annealed free energy), and the clear
ValueErrors of the bad-input contract.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deeptheory.spinglass import sample as sg_sample
from deeptheory.spinglass import sample_hamiltonian
from deeptheory.spinglass.models import (
    IsingLattice,
    MixedSpherical,
    SKModel,
    ising_energy,
    mixed_spherical,
    sk_model,
    spherical_energy,
    spherical_gradient,
)


def _bond_loop_energy(L, dim, J, h, s):
    """H by an explicit loop over sites and +x (+y) bonds, s indexed x + L y."""
    e = 0.0
    for y in range(L if dim == 2 else 1):
        for x in range(L):
            i = x + L * y
            e -= J * s[i] * s[(x + 1) % L + L * y]
            if dim == 2:
                e -= J * s[i] * s[x + L * ((y + 1) % L)]
            e -= h * s[i]
    return e


@pytest.mark.parametrize("L,dim", [(2, 1), (5, 1), (2, 2), (3, 2), (4, 2)])
def test_lattice_geometry_and_couplings(L, dim):
    m = IsingLattice(L, dim, J=0.7, h=-0.2)
    n = m.n_spins
    assert n == L**dim
    nb = m.neighbours()
    assert nb.shape == (n, 2 * dim) and nb.dtype.kind == "i"
    for i in range(n):
        x, y = i % L, i // L
        assert nb[i, 0] == (x + 1) % L + L * y and nb[i, 1] == (x - 1) % L + L * y
        if dim == 2:
            assert nb[i, 2] == x + L * ((y + 1) % L) and nb[i, 3] == x + L * ((y - 1) % L)
    c = m.couplings()
    assert c.shape == (n, n) and np.array_equal(c, c.T) and np.all(np.diag(c) == 0)
    np.testing.assert_allclose(c.sum(1), 2 * dim * 0.7)  # every site has 2 dim bond ends
    if L == 2:
        assert c[0, 1] == pytest.approx(2 * 0.7)  # two bonds between the pair
    np.testing.assert_array_equal(m.field(), np.full(n, -0.2))


@pytest.mark.parametrize("L,dim", [(2, 1), (7, 1), (2, 2), (3, 2), (5, 2)])
def test_ising_energy_matches_bond_loop(L, dim):
    rng = np.random.default_rng(L + 10 * dim)
    m = IsingLattice(L, dim, J=1.3, h=0.4)
    s = rng.choice([-1.0, 1.0], size=(6, L**dim))
    ref = np.array([_bond_loop_energy(L, dim, 1.3, 0.4, row) for row in s])
    np.testing.assert_allclose(ising_energy(m, s), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.energy(s[0]), ref[0], atol=1e-12)
    c, h = m.couplings(), m.field()
    np.testing.assert_allclose(-0.5 * np.einsum("si,ij,sj->s", s, c, s) - s @ h, ref, atol=1e-12)
    # all up: -dim N J - h N
    assert float(ising_energy(m, np.ones(L**dim))) == pytest.approx(-(dim * 1.3 + 0.4) * L**dim)


def test_sk_model_sampling_and_energy():
    m = sk_model(6, seed=3, h=0.25)
    assert isinstance(m, SKModel) and m.n_spins == 6
    j = m.couplings()
    assert np.array_equal(j, j.T) and np.all(np.diag(j) == 0)
    np.testing.assert_array_equal(j, sk_model(6, seed=3).J)  # reproducible, h does not matter
    g = np.random.default_rng(3).standard_normal((6, 6))
    iu = np.triu_indices(6, 1)
    np.testing.assert_allclose(j[iu], g[iu] / math.sqrt(6))
    rng = np.random.default_rng(0)
    s = rng.choice([-1.0, 1.0], size=(5, 6))
    ref = [-sum(j[a, b] * r[a] * r[b] for a in range(6) for b in range(a + 1, 6)) - 0.25 * r.sum()
           for r in s]
    np.testing.assert_allclose(ising_energy(m, s), ref, atol=1e-12)
    assert ising_energy(m, s[0]).shape == ()
    with pytest.raises(ValueError, match="read-only"):
        m.J[0, 1] = 5.0


def test_sk_coupling_variance_is_one_over_n():
    n = 400
    j = sk_model(n, seed=1).J
    off = j[np.triu_indices(n, 1)]
    # sample variance of 79800 N(0, 1/N) draws: relative standard error sqrt(2/79800) = 0.5 %
    assert abs(off.var() * n - 1.0) < 0.03
    assert abs(off.mean()) < 4 / math.sqrt(n * off.size)


def _einsum_energy(h, s):
    t = h.tensor
    for _ in range(h.p):
        t = t @ s
    return t


def test_spherical_energy_matches_einsum_and_sample_energy():
    rng = np.random.default_rng(5)
    for p in (2, 3, 4):
        h = sample_hamiltonian(5, p, seed=p)
        x = rng.standard_normal((3, 2, 5))
        x *= math.sqrt(5) / np.linalg.norm(x, axis=-1, keepdims=True)
        e = spherical_energy(h, x)
        assert e.shape == (3, 2)
        ref = np.array([[_einsum_energy(h, x[a, b]) for b in range(2)] for a in range(3)])
        np.testing.assert_allclose(e, ref, rtol=1e-12, atol=1e-12)
        assert e[1, 1] == pytest.approx(sg_sample.energy(h, x[1, 1]), abs=1e-12)
    mm = mixed_spherical(5, {2: 0.5, 3: 1.5}, seed=2)
    assert mm.N == mm.n_spins == 5 and [hp.p for _, hp in mm.components] == [2, 3]
    x = rng.standard_normal((4, 5))
    x *= math.sqrt(5) / np.linalg.norm(x, axis=-1, keepdims=True)
    ref = sum(a * np.array([_einsum_energy(hp, r) for r in x]) for a, hp in mm.components)
    np.testing.assert_allclose(mm.energy(x), ref, atol=1e-12)
    assert mm.xi(1.0) == pytest.approx(0.25 + 2.25)
    assert mm.xi(0.5) == pytest.approx(0.25 * 0.25 + 2.25 * 0.125)


def test_spherical_gradient_finite_differences():
    mm = MixedSpherical(((1.0, sample_hamiltonian(4, 2, 0)), (0.7, sample_hamiltonian(4, 3, 1))))
    x = np.array([1.0, -0.5, 1.2, 0.3])
    x *= 2.0 / np.linalg.norm(x)
    g = spherical_gradient(mm, x)

    def full(y):  # the polynomial off the sphere, by einsum
        return sum(a * _einsum_energy(hp, y) for a, hp in mm.components)

    eps = 1e-6
    fd = np.array([(full(x + eps * e) - full(x - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-7)


def test_spherical_energy_variance_is_n_xi1():
    """E[H(s)^2] = N xi(1) at a fixed point (over Hamiltonians): the annealed free energy's
    only input (Auffinger, Ben Arous & Cerny 2013)."""
    n, reps = 4, 3000
    rng = np.random.default_rng(11)
    x = np.ones(n)
    e = np.array([float(spherical_energy(mixed_spherical(n, {2: 0.6, 3: 0.8}, seed=rng), x))
                  for _ in range(reps)])
    # variance estimate of a Gaussian with 3000 draws: relative se sqrt(2/3000) = 2.6 %
    assert abs(e.var() / (n * 1.0) - 1.0) < 0.11
    assert abs(e.mean()) < 4 * math.sqrt(n / reps)


def test_one_interface_n_spins_and_energy():
    """Every model has n_spins and a batched energy(s) (total H)."""
    h = sample_hamiltonian(4, 3, seed=1)
    models = [IsingLattice(2, 2), sk_model(4), h, MixedSpherical(((1.0, h),))]
    s = np.array([[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, 1.0, -1.0]])  # on the cube and sphere
    for m in models:
        assert m.n_spins == 4
        e = m.energy(s)
        assert e.shape == (2,) and np.all(np.isfinite(e))
    np.testing.assert_allclose(h.energy(s), [sg_sample.energy(h, r) for r in s], atol=1e-12)


# ------------------------------------------------------------------------------ bad input


def test_bad_lattice_input():
    with pytest.raises(ValueError, match="L must be >= 2"):
        IsingLattice(1, 2)
    with pytest.raises(ValueError, match=r"dim must be in \[1, 2\]"):
        IsingLattice(4, 3)
    with pytest.raises(TypeError, match="L must be an integer"):
        IsingLattice(4.0, 2)
    with pytest.raises(ValueError, match="J must be finite"):
        IsingLattice(4, 2, J=np.inf)
    with pytest.raises(ValueError, match="h must be finite"):
        IsingLattice(4, 2, h=np.nan)
    m = IsingLattice(3, 1)
    with pytest.raises(ValueError, match=r"s must have shape \(\.\.\., 3\)"):
        ising_energy(m, np.ones(4))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        ising_energy(m, [1.0, 0.5, -1.0])
    with pytest.raises(TypeError, match="IsingLattice or SKModel"):
        ising_energy(sample_hamiltonian(3, 2), np.ones(3))


def test_bad_sk_input():
    with pytest.raises(ValueError, match="square"):
        SKModel(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="square"):
        SKModel(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="N >= 2"):
        SKModel(np.zeros((1, 1)))
    a = np.array([[0.0, 1.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match="symmetric"):
        SKModel(a)
    with pytest.raises(ValueError, match="zero diagonal"):
        SKModel(np.array([[1.0, 0.2], [0.2, 0.0]]))
    with pytest.raises(ValueError, match="J must be finite"):
        SKModel(np.array([[0.0, np.nan], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="N must be >= 2"):
        sk_model(1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        sk_model(4, seed=-1)


def test_bad_spherical_input():
    h = sample_hamiltonian(4, 3)
    with pytest.raises(ValueError, match="sphere"):
        spherical_energy(h, np.ones(4) * 1.1)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        spherical_energy(h, np.ones(3))
    with pytest.raises(TypeError, match="PSpinHamiltonian or MixedSpherical"):
        spherical_energy(sk_model(4), np.ones(4))
    with pytest.raises(ValueError, match="same N"):
        MixedSpherical(((1.0, h), (1.0, sample_hamiltonian(5, 2))))
    with pytest.raises(ValueError, match="non-empty"):
        MixedSpherical(())
    with pytest.raises(TypeError, match="PSpinHamiltonian"):
        MixedSpherical(((1.0, "x"),))
