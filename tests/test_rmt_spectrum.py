"""Full density of J J^T (Pennington, Schoenholz & Ganguli 2017/2018): closed forms, moments,
total mass, Monte Carlo.

Truths are independent of the solver: Marchenko-Pastur (laws.marchenko_pastur_pdf),
the moment formulas of ``jacobian_moments`` (derived from the S-transform series, not from
the density), the Fuss-Catalan edge (L + 1)^(L + 1) / L^L, and finite-width networks sampled
by ``sample_jacobian_singular_values``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf
from scipy.stats import norm

import deeptheory.meanfield as mf
from deeptheory.rmt import laws
from deeptheory.rmt.jacobian import jacobian_moments, sample_jacobian_singular_values
from deeptheory.rmt.spectrum import (
    jacobian_atoms,
    jacobian_density,
    jacobian_max_eigenvalue,
)


def _nodes(lam: float, power: int, panels: int = 64, n: int = 16):
    """Gauss-Legendre nodes/weights for integrals over [0, lam] with x = lam (1 - (1 - t)^2)^power.

    The density behaves like x^(1/power - 1) at 0 (power = L for Bernoulli D^2, L + 1 for
    linear Gaussian networks) and like a square root at a soft upper edge; in t both are
    smooth, so composite Gauss-Legendre converges fast.
    """
    g, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(0.0, 1.0, panels + 1)
    h = np.diff(e)[:, None] / 2
    t = ((e[1:] + e[:-1])[:, None] / 2 + h * g).ravel()
    wt = (h * w).ravel()
    b = 1.0 - (1.0 - t) ** 2
    return lam * b**power, wt * lam * power * b ** (power - 1) * 2.0 * (1.0 - t)


CASES = [
    (2.0, 0.0, 4, "relu", "gaussian"),
    (2.0, 0.0, 8, "relu", "gaussian"),
    (1.2, 0.0, 3, "linear", "gaussian"),
    (1.5, 0.1, 6, "hard_tanh", "orthogonal"),
    (1.1, 0.05, 2, "hard_tanh", "orthogonal"),  # atom at sigma_w^(2L) of mass 0.76
    (2.0, 0.0, 2, "relu", "orthogonal"),  # 1 - L (1 - p) = 0: no atom at sigma_w^(2L)
    (1.3, 0.2, 5, "hard_tanh", "gaussian"),
]


def _power(case) -> int:
    return case[2] + 1 if case[3] == "linear" else case[2]


def test_linear_gaussian_depth1_is_marchenko_pastur():
    x = np.linspace(1e-4, 4.5 * 1.3, 301)
    r = jacobian_density(x, 1.3, 0.0, 1, "linear")
    assert r.atoms == ()
    np.testing.assert_allclose(r.density, laws.marchenko_pastur_pdf(x, 1.0, 1.3), atol=1e-12)


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_linear_gaussian_edge_fuss_catalan(L):
    edge = jacobian_max_eigenvalue(0.9, 0.0, L, "linear")
    assert edge == pytest.approx(0.9**L * (L + 1) ** (L + 1) / L**L, rel=1e-10)
    rho = jacobian_density(np.array([0.99, 1.01]) * edge, 0.9, 0.0, L, "linear").density
    assert rho[0] > 1e-3 and rho[1] < 1e-30


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[3]}-{c[4]}-L{c[2]}")
def test_mass_and_moments(case):
    """integral rho + atoms = 1 and m1, m2 match jacobian_moments, all to 1e-5."""
    lam = jacobian_max_eigenvalue(*case)
    x, w = _nodes(lam * (1.0 + 1e-12), _power(case), panels=128)
    r = jacobian_density(x, *case)
    assert np.all(np.isfinite(r.density)) and np.all(r.density >= 0.0)
    mass = w @ r.density + sum(m for _, m in r.atoms)
    m1 = w @ (x * r.density) + sum(a * m for a, m in r.atoms)
    m2 = w @ (x * x * r.density) + sum(a * a * m for a, m in r.atoms)
    jm = jacobian_moments(*case)
    assert mass == pytest.approx(1.0, abs=1e-5)
    assert m1 == pytest.approx(jm.m1, rel=1e-5)
    assert m2 == pytest.approx(jm.m2, rel=1e-5)


def test_atoms():
    assert jacobian_atoms(2.0, 0.0, 4, "relu") == ((0.0, 0.5),)
    assert jacobian_atoms(1.0, 0.0, 3, "linear") == ()
    # orthogonal linear: J J^T = sigma_w^(2L) I, all mass in one atom, no continuous part
    assert jacobian_atoms(1.1, 0.0, 3, "linear", "orthogonal") == ((1.1**3, 1.0),)
    rho = jacobian_density(np.linspace(0, 3, 7), 1.1, 0.0, 3, "linear", "orthogonal").density
    assert rho.max() == 0.0
    sw2, sb2, L = 1.1, 0.05, 2
    p = erf(1.0 / math.sqrt(2.0 * float(mf.q_star(sw2, sb2, "hard_tanh"))))
    atoms = jacobian_atoms(sw2, sb2, L, "hard_tanh", "orthogonal")
    assert atoms[0] == (0.0, pytest.approx(1.0 - p, rel=1e-12))
    assert atoms[1] == (pytest.approx(sw2**L), pytest.approx(1.0 - L * (1.0 - p), rel=1e-12))
    assert len(jacobian_atoms(1.5, 0.1, 6, "hard_tanh", "orthogonal")) == 1  # 1 - L(1-p) < 0


def test_branch_and_shape():
    """Physical branch: rho >= 0, rho ~ x^(1/L - 1) at 0 (Bernoulli D^2), 0 for x < 0 and
    above the edge; the output keeps x's shape and scalar x gives a float."""
    x = np.logspace(-24, -16, 5)
    rho = jacobian_density(x, 2.0, 0.0, 4, "relu").density
    c = rho * x ** (1 - 1 / 4)
    assert np.ptp(c) < 1e-3 * c.mean()
    assert jacobian_density(-1.0, 2.0, 0.0, 4, "relu").density == 0.0
    assert isinstance(jacobian_density(1.0, 2.0, 0.0, 4, "relu").density, float)
    assert jacobian_density(np.ones((2, 3)), 2.0, 0.0, 4, "relu").density.shape == (2, 3)
    # eps > 0 gives the Cauchy-smoothed density, close to eps = 0 in the bulk
    a = jacobian_density(np.array([2.0, 5.0]), 2.0, 0.0, 4, "relu").density
    b = jacobian_density(np.array([2.0, 5.0]), 2.0, 0.0, 4, "relu", eps=1e-6).density
    np.testing.assert_allclose(a, b, rtol=1e-4)


def _cdf(case, xs):
    """Distribution function (atoms included) from integrating the density on a t-grid."""
    lam = jacobian_max_eigenvalue(*case)
    t = np.linspace(0.0, 1.0, 6001)[1:]
    power = _power(case)
    b = 1.0 - (1.0 - t) ** 2
    x = lam * b**power
    f = jacobian_density(x, *case).density * lam * power * b ** (power - 1) * 2.0 * (1.0 - t)
    # integrand in t is bounded near t = 0 (rho ~ x^(1/L - 1)): trapezoid from (0, f[0])
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(t))))
    cum += 0.5 * f[0] * t[0]
    return np.interp(xs, x, cum, left=0.0, right=cum[-1])


def _ks_with_atom(case, ev, p0):
    """KS distance between the eigenvalues ev and atom p0 at 0 + integral of rho."""
    zero = ev < 1e-12 * ev.max()  # exact rank deficit: these are ~1e-30 in float64
    k0, total = int(zero.sum()), ev.size
    x = np.sort(ev[~zero])
    j = np.arange(1, x.size + 1)
    f = p0 + _cdf(case, x)  # continuous above 0
    return max(
        abs(k0 / total - p0),
        float(np.max(np.abs((k0 + j) / total - f))),
        float(np.max(np.abs((k0 + j - 1) / total - f))),
    )


def test_monte_carlo_ks_linear():
    """Linear Gaussian, L = 4, N = 300, 2 trials: no rank fluctuations, so the KS distance
    is the finite-width error seen at N = 300-400 (about 0.003-0.015)
    (eigenvalues are far more rigid than i.i.d. samples); measured 0.007-0.008 (seeds 0-4)."""
    case = (1.0, 0.0, 4, "linear", "gaussian")
    ev = sample_jacobian_singular_values(1.0, 0.0, 4, "linear", width=300, n_trials=2, seed=1)
    assert _ks_with_atom(case, ev.ravel(), 0.0) < 0.015


@pytest.mark.parametrize(
    "case",
    [(2.0, 0.0, 4, "relu", "gaussian"), (1.5, 0.1, 6, "hard_tanh", "orthogonal")],
    ids=["relu-gaussian-L4", "hard_tanh-orthogonal-L6"],
)
def test_monte_carlo_ks(case):
    """Bernoulli D^2, N = 300, 2 trials, vs atom at 0 + integral of the continuous density.

    Bound.  At width N the rank of J is min_l r_l with r_l ~ Binomial(N, p) active units
    in layer l, so the atom at 0 holds 1 - min_l r_l / N instead of 1 - p: an
    O(N^(-1/2)) finite-width error of typical size sd * E[max of L standard normals],
    sd = sqrt(p (1 - p) / N) (0.029 for relu at N = 300), taken from the x^(1/L - 1)
    peak of the continuous part, and the dominant term of the KS distance (seeds 0-4:
    KS 0.015-0.030 for relu L = 4, 0.017-0.044 for hard_tanh L = 6, 0.033-0.057 for relu
    L = 8).  We require KS < sd (E max + 1) + 0.015 (the last term: the finite-width error
    without rank effects, test above): 0.074 and 0.073 here.  Loose, but it does catch a
    wrong branch or a wrong S-transform (a wrong law moves the CDF by O(0.1-0.5)).
    """
    sw2, sb2, L, act, weights = case
    n, trials = 300, 2
    ev = sample_jacobian_singular_values(
        sw2, sb2, L, act, width=n, weights=weights, n_trials=trials, seed=1
    ).ravel()
    p = 1.0 - jacobian_atoms(*case)[0][1]
    sd = math.sqrt(p * (1.0 - p) / n)
    emax = quad(lambda t: t * L * norm.pdf(t) * norm.cdf(t) ** (L - 1), -12, 12)[0]
    assert _ks_with_atom(case, ev, 1.0 - p) < sd * (emax + 1.0) + 0.015


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="no_such_activation"), "activation"),
        (dict(activation="tanh", sigma_b2=-0.1), "sigma_b2"),
        (dict(weights="unitary"), "weights"),
        (dict(depth=0), "depth"),
        (dict(eps=-1.0), "eps"),
        (dict(x=np.nan), "finite"),
        (dict(sigma_w2=-1.0), "sigma_w2"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(x=1.0, sigma_w2=2.0, sigma_b2=0.0, depth=3, activation="relu", weights="gaussian")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        jacobian_density(**args)
