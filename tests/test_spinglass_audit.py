"""Audit (issue 9) fixes in deeptheory.spinglass: seeds, argument checks, ConvergenceError, one
estimate type, one semicircle CDF, broadcasting, work limits, docstrings.

Independent truths: numpy's own Generator stream for the GOE construction, the closed form
E Crt_2(R) = 2 sqrt(3p - 2) (N = 2: a random trigonometric polynomial of degree p on a circle;
Auffinger, Ben Arous & Cerny 2013, section 2), the semicircle closed form
1/2 + (x sqrt(1-x^2) + arcsin x)/pi, and elementwise loops of the scalar functions (for the
broadcasting contract).
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deeptheory.spinglass as sg
from deeptheory import ConvergenceError, Estimate

# --------------------------------------------------------------------------- 1. seeds


def test_sample_goe_accepts_int_generator_none_and_rng_alias():
    ref_a = np.random.default_rng(0).standard_normal((2, 3, 3))
    ref = (ref_a + np.swapaxes(ref_a, 1, 2)) / (2.0 * np.sqrt(3))
    np.testing.assert_array_equal(sg.sample_goe(3, 2, rng=0), ref)  # AttributeError before
    np.testing.assert_array_equal(sg.sample_goe(3, 2, seed=0), ref)
    np.testing.assert_array_equal(sg.sample_goe(3, 2, np.random.default_rng(0)), ref)
    m = sg.sample_goe(4, 3)  # None: fresh entropy
    assert m.shape == (3, 4, 4) and np.array_equal(m, np.swapaxes(m, 1, 2))
    with pytest.raises(ValueError, match="rng"):
        sg.sample_goe(3, 2, rng=-1)
    with pytest.raises(TypeError, match="seed"):
        sg.sample_goe(3, 2, seed="x")
    with pytest.raises(TypeError, match="seed= or rng="):
        sg.sample_goe(3, 2, 1, rng=1)
    with pytest.raises(ValueError, match="N"):
        sg.sample_goe(0, 2, 0)


def test_sample_goe_entry_variances():
    n, m = 6, 4000
    a = sg.sample_goe(n, m, seed=3)
    off, diag = a[:, 0, 1], a[:, 2, 2]
    for x, var in ((off, 1 / (2 * n)), (diag, 1 / n)):
        # Var of the sample variance of a Gaussian: 2 var^2 / (m - 1)
        assert abs(x.var(ddof=1) - var) < 4.5 * var * np.sqrt(2 / (m - 1))


def test_every_seed_argument_takes_a_generator():
    h_int = sg.sample_hamiltonian(6, 3, seed=4)
    h_gen = sg.sample_hamiltonian(6, 3, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(h_int.tensor, h_gen.tensor)
    assert h_int.seed == 4 and h_gen.seed is None
    assert sg.sample_hamiltonian(4, 3, seed=None).tensor.shape == (4, 4, 4)
    a = sg.gradient_descent(h_int, 4, 2, max_iter=50)
    b = sg.gradient_descent(h_int, 4, np.random.default_rng(2), max_iter=50)
    np.testing.assert_array_equal(a.points, b.points)
    c1 = sg.critical_points(sg.sample_hamiltonian(3, 3, 0), 20, 5)
    c2 = sg.critical_points(sg.sample_hamiltonian(3, 3, 0), 20, np.random.default_rng(5))
    np.testing.assert_array_equal(c1.u, c2.u)
    e1 = sg.expected_critical_points_mc(3, 3, n_samples=50, seed=9)
    e2 = sg.expected_critical_points_mc(3, 3, n_samples=50, seed=np.random.default_rng(9))
    assert e1.value == e2.value
    r = sg.choromanska_experiment((2,), n_inits=2, steps=2, n_train=8, n_test=8,
                                  seed=np.random.default_rng(0))
    assert r.test_loss.shape == (1, 2)
    for f in (lambda s: sg.sample_hamiltonian(4, 3, s), lambda s: sg.gradient_descent(h_int, 2, s),
              lambda s: sg.critical_points(h_int, 2, s),
              lambda s: sg.expected_critical_points_mc(3, 3, n_samples=4, seed=s),
              lambda s: sg.choromanska_experiment((2,), n_inits=2, steps=1, seed=s)):
        with pytest.raises(ValueError, match="seed"):
            f(-1)
        with pytest.raises(TypeError, match="seed"):
            f(1.5)


# --------------------------------------------------------------------------- 2. silent inputs

_P_CALLS = [
    lambda p: sg.theta(-1.0, p),
    lambda p: sg.theta_k(-1.7, p, 1),
    lambda p: sg.e_0(p),
    lambda p: sg.e_k(p, 2),
    lambda p: sg.e_inf(p),
    lambda p: sg.rate_i1(-2.0, p),
    lambda p: sg.index_fraction(-1.0, p),
    lambda p: sg.hessian_radius(p),
    lambda p: sg.hessian_spectrum_pdf(0.5, -1.0, p),
    lambda p: sg.expected_critical_points(3, p),
    lambda p: sg.expected_critical_points_total(3, p),
    lambda p: sg.expected_critical_points_mc(3, p, n_samples=4),
    lambda p: sg.sample.default_step(p),
    lambda p: sg.plot_complexity(p, ks=()),
]


@pytest.mark.parametrize("call", _P_CALLS)
def test_non_integer_p_is_refused(call):
    with pytest.raises(ValueError, match=r"p must be an integer >= 2"):
        call(2.5)
    with pytest.raises(ValueError, match=r"p must be an integer >= 2"):
        call(1)


def test_integer_valued_float_p_is_the_integer():
    u = np.linspace(-2.0, 0.5, 7)
    np.testing.assert_array_equal(sg.theta(u, 3.0), sg.theta(u, 3))
    assert sg.e_0(4.0) == sg.e_0(4)
    with pytest.raises(ValueError, match="p"):
        sg.theta(u, [3, 3.5])
    with pytest.raises(TypeError, match="p"):
        sg.theta(u, True)


def test_energy_requires_the_sphere():
    n = 5
    h = sg.sample_hamiltonian(n, 3, 1)
    s = np.random.default_rng(0).standard_normal(n)
    s *= np.sqrt(n) / np.linalg.norm(s)
    sg.energy(h, s)  # on the sphere: fine
    sg.energy(h, s * (1 + 1e-12))
    for bad in (s * (1 + 1e-6), s / np.sqrt(n), np.ones(n) * 2):
        with pytest.raises(ValueError, match=r"\|s\|\^2 = N = 5.*got \|s\|\^2 = "):
            sg.energy(h, bad)
        with pytest.raises(ValueError, match="sphere"):
            sg.riemannian_gradient(h, bad)
        with pytest.raises(ValueError, match="sphere"):
            sg.riemannian_hessian(h, bad)
    with pytest.raises(ValueError, match="finite"):
        sg.energy(h, np.full(n, np.nan))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sg.theta_k(-1.7, 3, 1.5), "k must be an integer"),
        (lambda: sg.theta_k(-1.7, 3, [0, -1]), "k must be an integer >= 0"),
        (lambda: sg.e_k(3, np.nan), "k"),
        (lambda: sg.theta(np.nan, 3), "u"),
        (lambda: sg.index_fraction(np.nan, 3), "u"),
        (lambda: sg.expected_critical_points(3, 3, None, np.nan), "u_max"),
        (lambda: sg.expected_critical_points(13, 3), r"N must be in \[2, 12\].*total"),
        (lambda: sg.expected_critical_points_total(401, 3), r"N must be in \[2, 400\]"),
        (lambda: sg.expected_critical_points([3, 4], 3, 3), r"k must be in \[0, 2\]"),
        (lambda: sg.sample_hamiltonian(100, 5), r"2\*\*25"),
        (lambda: sg.gradient_descent(sg.sample_hamiltonian(4, 3, 0), 2, tol=-1.0),
         "tol must be >= 0"),
        (lambda: sg.critical_points(sg.sample_hamiltonian(4, 3, 0), 2, tol=0.0),
         "tol must be > 0"),
        (lambda: sg.critical_points(sg.sample_hamiltonian(4, 3, 0), 2, dedup_tol=0.0),
         "dedup_tol must be > 0"),
    ],
)
def test_out_of_range_inputs_name_the_argument_and_limit(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --------------------------------------------------------------------------- 3. convergence


def test_e_k_non_convergence_is_convergence_error():
    with pytest.raises(ConvergenceError, match="maxiter"):
        sg.e_k(3, 0, maxiter=2)
    assert sg.e_k(3, 0, maxiter=200) == pytest.approx(1.656998, abs=1e-6)  # ABC: 1.657


# --------------------------------------------------------------------------- 4. estimate type


def test_monte_carlo_returns_the_shared_estimate():
    est = sg.expected_critical_points_mc(2, 3, n_samples=400, seed=1)
    assert isinstance(est, Estimate) and sg.MCEstimate is Estimate
    assert est.n == 400 and est.mean == est.value
    assert est.stderr == pytest.approx(np.std(est.samples, ddof=1) / 20.0, rel=1e-12)
    # N = 2 closed form 2 sqrt(3p - 2)
    assert abs(est.value - 2 * np.sqrt(7)) < 4.5 * est.stderr
    value, stderr = est
    assert (value, stderr) == (est.value, est.stderr)


# --------------------------------------------------------------------------- 5. one semicircle


def test_one_semicircle_cdf():
    assert not hasattr(sg, "semicircle_cdf") and "semicircle_cdf" not in sg.__all__
    p = 3
    E = 2 * np.sqrt((p - 1) / p)
    u = np.array([-0.9, -0.3, 0.0, 0.5, 1.2]) * E
    x = np.clip(u / E, -1.0, 1.0)
    ref = 0.5 + (x * np.sqrt(1 - x**2) + np.arcsin(x)) / np.pi
    np.testing.assert_allclose(sg.index_fraction(u, p), ref, rtol=1e-13, atol=1e-15)


def test_import_is_light():
    code = ("import sys, deeptheory.spinglass as sg; "
            "print('numba' in sys.modules, 'deeptheory.rmt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


# --------------------------------------------------------------------------- 6. broadcasting


def test_theta_k_and_e_k_broadcast_in_k():
    u = np.linspace(-1.8, -1.5, 4)[:, None]
    k = np.array([0, 1, 5])
    got = sg.theta_k(u, 3, k)  # TypeError ("k must be an integer") before
    assert got.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert got[i, j] == sg.theta_k(float(u[i, 0]), 3, int(k[j]))
    ek = sg.e_k(np.array([3, 4])[:, None], k)
    assert ek.shape == (2, 3)
    for i, p in enumerate((3, 4)):
        for j in range(3):
            assert ek[i, j] == sg.e_k(p, int(k[j]))


def test_expected_critical_points_broadcast_over_n():
    ns = np.array([2, 3, 4])
    got = sg.expected_critical_points(ns, 3)  # TypeError ("N must be an integer") before
    assert got.shape == (3,)
    for n, g in zip(ns, got, strict=True):
        assert g == sg.expected_critical_points(int(n), 3)
    # N = 2, all p: the closed form 2 sqrt(3p - 2)
    ps = np.array([2, 3, 5, 8])
    np.testing.assert_allclose(sg.expected_critical_points(2, ps), 2 * np.sqrt(3 * ps - 2),
                               rtol=1e-12)
    # (N, k) grid and u_max
    grid = sg.expected_critical_points(np.array([3, 4])[:, None], 3, np.array([0, 1]), -1.0)
    for i, n in enumerate((3, 4)):
        for j in range(2):
            assert grid[i, j] == sg.expected_critical_points(n, 3, j, -1.0)
    tot = sg.expected_critical_points_total(np.array([[2], [30]]), np.array([3, 4]),
                                            np.array([-1.7, np.inf]))
    for i, n in enumerate((2, 30)):
        for j, (p, um) in enumerate(((3, -1.7), (4, np.inf))):
            assert tot[i, j] == sg.expected_critical_points_total(n, p, um)
    assert isinstance(sg.expected_critical_points(3, 3), float)
    with pytest.raises(ValueError, match="broadcast"):
        sg.expected_critical_points([2, 3], [3, 4, 5])


# --------------------------------------------------------------------------- 7. work limits


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sg.expected_critical_points(np.full(20, 12), 3), "expected_critical_points"),
        (lambda: sg.expected_critical_points_mc(300, 3, n_samples=10**6), "n_samples N\\^3"),
        (lambda: sg.gradient_descent(sg.sample_hamiltonian(50, 3, 0), 10**5, max_iter=10**5),
         "gradient_descent"),
        (lambda: sg.critical_points(sg.sample_hamiltonian(50, 3, 0), 10**6), "critical_points"),
        (lambda: sg.plot_complexity(3, ks=range(1001)), "MAX_PLOT_INDICES"),
    ],
)
def test_work_is_estimated_and_refused_up_front(call, match):
    t = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        call()
    assert time.perf_counter() - t < 5.0  # refused before computing


def test_work_limit_can_be_raised():
    with pytest.raises(ValueError, match="max_work"):
        sg.expected_critical_points(8, 3, max_work=100)
    assert sg.expected_critical_points(8, 3, max_work=np.inf) > 0
    with pytest.raises(ValueError, match="max_work must be > 0"):
        sg.expected_critical_points(3, 3, max_work=0)


def test_many_index_curves_use_a_colour_bar():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    sg.plot_complexity(3, ks=range(sg.MAX_PLOT_INDICES), ax=ax)
    assert len(fig.axes) == 2  # the axes and its colour bar
    assert len(ax.get_legend().get_texts()) == 3  # Theta_p, -E_inf, -E_0
    plt.close(fig)


# --------------------------------------------------------------------------- 8. docstrings

def _public_callables():
    for name in sg.__all__:
        obj = getattr(sg, name)
        if callable(obj) and not isinstance(obj, type):
            yield name, obj


@pytest.mark.parametrize("name", [n for n, _ in _public_callables()])
def test_public_functions_have_equation_and_citation(name):
    doc = inspect.getdoc(getattr(sg, name)) or ""
    assert "=" in doc, f"{name}: no equation"
    authors = ("Auffinger|Bray|Mehta|Choromanska|Onsager|Yang|Kaufman|Ising|Sherrington|"
               "Parisi|Crisanti|Almeida|Metropolis|Hukushima|Katzgraber|Swendsen|Guerra|"
               "Castellani|Flyvbjerg|Sokal|Baxter|Kramers")
    assert re.search(rf"({authors})", doc), f"{name}: no author"
    assert re.search(r"(19|20)\d\d", doc), f"{name}: no year"


def test_no_internal_references_in_sources_or_docs():
    root = Path(sg.__file__).parent
    files = [*root.glob("*.py")]
    repo = root.parents[2]
    files += [repo / "docs" / "spinglass.md", repo / "docs" / "make_spinglass_figures.py"]
    for f in files:
        if not f.exists():
            continue
        text = f.read_text()
        for bad in ("THEORY.md", "seed 00", "seed's slide", "/work/"):
            assert bad not in text, f"{f.name} mentions {bad!r}"
