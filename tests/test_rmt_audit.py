"""Audit fixes in deeptheory.rmt (issue 9): edge accuracy of the closed-form CDFs, empty
input, one default activation / weight ensemble, ConvergenceError with on_fail,
broadcasting over the network parameters, and the seed convention."""

from __future__ import annotations

import functools
import inspect
import warnings

import mpmath as mp
import numpy as np
import pytest

from deeptheory import rmt
from deeptheory._api import ConvergenceError
from deeptheory.rmt import free, spectrum

# --------------------------------------------------------------------------- MP and semicircle


def _mp_cdf_ref(x: float, c: float, v: float) -> mp.mpf:
    """Marchenko-Pastur CDF at 50 digits from the textbook antiderivative
    sqrt((b-x)(x-a)) + m (asin u + pi/2) - sqrt(ab) (asin w + pi/2) (Bai & Silverstein
    2010), whose cancellation is harmless at 50 digits."""
    with mp.workdps(50):
        x, c, v = mp.mpf(x), mp.mpf(c), mp.mpf(v)
        a = v * (1 - mp.sqrt(c)) ** 2
        b = v * (1 + mp.sqrt(c)) ** 2
        atom = (1 - 1 / c) if (c > 1 and x >= 0) else mp.mpf(0)
        if x <= a:
            return atom
        if x >= b:
            return atom + min(mp.mpf(1), 1 / c)
        u = (2 * x - a - b) / (b - a)
        w = ((a + b) * x - 2 * a * b) / (x * (b - a))
        integral = (mp.sqrt((b - x) * (x - a)) + (a + b) / 2 * (mp.asin(u) + mp.pi / 2)
                    - mp.sqrt(a * b) * (mp.asin(w) + mp.pi / 2))
        return atom + integral / (2 * mp.pi * v * c)


@pytest.mark.parametrize("c", [0.25, 0.5, 0.999, 1.0, 1.001, 4.0])
@pytest.mark.parametrize("v", [1.0, 2.5])
def test_marchenko_pastur_cdf_edges_mpmath(c, v):
    """Left edge: relative accuracy of F - atom limited only by the conditioning
    1.5 x / (x - a) of the float input; right edge: absolute error of a few ulp.
    The old arcsin form was off by ~1e-11 absolutely and returned 0 for 2e-14."""
    a = v * (1 - np.sqrt(c)) ** 2
    b = v * (1 + np.sqrt(c)) ** 2
    atom = max(0.0, 1.0 - 1.0 / c)
    for d in (1e-14, 1e-12, 1e-10, 1e-7, 1e-4, 0.3):
        x = a + d * (b - a)
        ref = _mp_cdf_ref(x, c, v)
        cont_ref = float(ref - atom)
        got = float(rmt.marchenko_pastur_cdf(x, c, v))
        cond = x / (x - a) if x > a else 1.0
        assert cont_ref > 0.0
        tol = (1e-14 + 8e-16 * cond) * cont_ref + 2.5e-16 * atom + 4e-17
        assert abs((got - atom) - cont_ref) <= tol, (d,)
        xr = b - d * (b - a)
        assert abs(float(rmt.marchenko_pastur_cdf(xr, c, v)) - float(_mp_cdf_ref(xr, c, v))) \
            <= 2e-15, (d,)


def test_marchenko_pastur_cdf_monotone_and_atom():
    x = np.linspace(-1.0, 10.0, 20001)
    for c in (0.3, 1.0, 3.0):
        f = np.asarray(rmt.marchenko_pastur_cdf(x, c))
        assert np.all(np.diff(f) >= 0.0) and f.min() >= 0.0 and f.max() <= 1.0
    assert rmt.marchenko_pastur_cdf(0.0, 3.0) == pytest.approx(2.0 / 3.0, abs=2.3e-16)
    assert rmt.marchenko_pastur_cdf(-1e-300, 3.0) == 0.0


@pytest.mark.parametrize("var", [1.0, 0.25, 0.7, 3.0])
def test_semicircle_cdf_tails_mpmath(var):
    """F = 1/2 + (u sqrt(1-u^2) + asin u)/pi at 50 digits: left tail to relative accuracy
    (up to the conditioning 1.5 |x| / (x + 2 s)), right edge to a few ulp absolute."""
    s = np.sqrt(var)
    for d in (1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.5, 1.0, 1.7):
        x = -2.0 * s + d * s
        with mp.workdps(50):
            u = mp.mpf(x) / (2 * mp.sqrt(mp.mpf(var)))
            ref = mp.mpf(1) / 2 + (u * mp.sqrt(1 - u * u) + mp.asin(u)) / mp.pi
        got = float(rmt.semicircle_cdf(x, var))
        cond = abs(x) / (x + 2.0 * s)
        assert abs(got - float(ref)) <= (1e-14 + 8e-16 * cond) * float(ref), (d,)
        # right edge: symmetric point
        got_r = float(rmt.semicircle_cdf(-x, var))
        assert abs(got_r - float(1 - ref)) <= 2e-15, (d,)


# --------------------------------------------------------------------------- jacobian_cdf


def test_jacobian_cdf_in_unit_interval_and_monotone():
    """Below the smallest singular value of an orthogonal tanh network F is ~0; the 1e-8
    bias of the density must not make it negative or decreasing (it gave -1.3e-8)."""
    sw2, sb2, L = 1.5, 0.05, 2
    lam = rmt.jacobian_max_eigenvalue(sw2, sb2, L, "tanh", "orthogonal")
    x = lam * np.array([1e-30, 1e-20, 1e-3, 0.01, 0.5])
    f = np.asarray(rmt.jacobian_cdf(x, sw2, sb2, L, "tanh", "orthogonal"))
    assert np.all(f >= 0.0) and np.all(f <= 1.0)
    assert np.all(np.diff(f) >= 0.0)
    assert f[0] <= 1e-7  # no mass below the spectrum's lower edge (within the accuracy)


# --------------------------------------------------------------------------- empty input


@pytest.mark.parametrize("shape", [(0,), (0, 3)])
def test_free_convolutions_empty_x(shape):
    x = np.zeros(shape)
    sc = rmt.SemicircleLaw(1.0)
    mpl = rmt.MarchenkoPasturLaw(0.5)
    for res in (rmt.free_additive_convolution(sc, sc, x),
                rmt.free_multiplicative_convolution(mpl, mpl, x),
                rmt.free_multiplicative_power(mpl, 2, x)):
        assert res.density.shape == shape and res.stieltjes.shape == shape
        assert res.z.shape == shape
    assert rmt.free_additive_convolution(sc, sc, []).density.shape == (0,)


# --------------------------------------------------------------------------- defaults


def test_one_default_activation_and_weights():
    """Every rmt function with an activation defaults to "tanh", every one with weights to
    "gaussian" (jacobian_density & co. defaulted to relu, the plots to orthogonal)."""
    seen = 0
    for name in rmt.__all__:
        fn = getattr(rmt, name)
        if not callable(fn) or inspect.isclass(fn):
            continue
        params = inspect.signature(fn).parameters
        if "activation" in params and params["activation"].default is not inspect._empty:
            assert params["activation"].default == "tanh", name
            seen += 1
        if "weights" in params and params["weights"].default is not inspect._empty:
            assert params["weights"].default == "gaussian", name
    assert seen >= 10


# --------------------------------------------------------------------------- convergence


def test_convergence_error_raised_and_on_fail(monkeypatch):
    """No Newton step (iters=0) cannot converge: ConvergenceError (a RuntimeError), or with
    on_fail="warn" a RuntimeWarning and NaN where it failed."""
    monkeypatch.setattr(spectrum, "_solve_u", functools.partial(spectrum._solve_u, iters=0))
    x = np.array([0.5, 2.0])
    with pytest.raises(ConvergenceError):
        rmt.jacobian_density(x, 2.0, 0.0, 4, "relu")
    assert issubclass(ConvergenceError, RuntimeError)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        r = rmt.jacobian_density(x, 2.0, 0.0, 4, "relu", on_fail="warn")
    assert np.all(np.isnan(r.density))
    with pytest.raises(ValueError, match="on_fail"):
        rmt.jacobian_density(x, 2.0, 0.0, 4, "relu", on_fail="maybe")


def test_free_convergence_error(monkeypatch):
    """The subordination solver with no Newton iterations leaves the points unsolved."""
    orig = free._newton
    monkeypatch.setattr(free, "_newton",
                        lambda u, res, adm, iters, **kw: orig(u, res, adm, 0, **kw))
    sc = rmt.SemicircleLaw(1.0)
    with pytest.raises(ConvergenceError, match="did not converge"):
        rmt.free_additive_convolution(sc, sc, [0.3, 1.0], eps=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = rmt.free_additive_convolution(sc, sc, [0.3, 1.0], eps=1e-3, on_fail="ignore")
    assert np.all(np.isnan(r.density))
    with pytest.raises(ValueError, match="on_fail"):
        rmt.free_additive_convolution(sc, sc, [0.3], on_fail="never")


# --------------------------------------------------------------------------- broadcasting


def test_dphi_moment_broadcasts():
    q = np.array([[0.1], [1.0], [5.0]])
    k = np.array([1, 2])
    got = rmt.dphi_moment("tanh", q, k)
    assert got.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert got[i, j] == rmt.dphi_moment("tanh", float(q[i, 0]), int(k[j]))


def test_jacobian_moments_and_isometry_broadcast():
    sw2 = np.array([1.2, 1.5, 2.0])
    depth = np.array([[2], [8]])
    m = rmt.jacobian_moments(sw2, 0.05, depth, "tanh", "orthogonal")
    di = rmt.dynamical_isometry(sw2, 0.05, depth, "tanh")
    assert m.m1.shape == (2, 3) and di.critical.dtype == bool
    for i in range(2):
        for j in range(3):
            ref = rmt.jacobian_moments(float(sw2[j]), 0.05, int(depth[i, 0]), "tanh",
                                       "orthogonal")
            assert (m.m1[i, j], m.m2[i, j], m.variance[i, j]) == tuple(ref)
            r2 = rmt.dynamical_isometry(float(sw2[j]), 0.05, int(depth[i, 0]), "tanh")
            assert (di.critical[i, j], di.chi1[i, j], di.m1[i, j],
                    di.relative_variance[i, j]) == tuple(r2)


def test_max_eigenvalue_broadcasts_and_scalar_only_errors():
    sb2 = np.array([0.0, 0.1])
    got = rmt.jacobian_max_eigenvalue(np.array([[1.0], [2.0]]), sb2, 3, "relu")
    for i, sw in enumerate((1.0, 2.0)):
        for j in range(2):
            assert got[i, j] == rmt.jacobian_max_eigenvalue(sw, float(sb2[j]), 3, "relu")
    with pytest.raises(ValueError, match="sigma_w2"):
        rmt.jacobian_density(1.0, np.array([1.0, 2.0]), 0.0, 3, "relu")
    with pytest.raises(TypeError, match="depth"):
        rmt.jacobian_moments(2.0, 0.0, np.array([2.5]), "relu")
    with pytest.raises(ValueError, match="broadcast"):
        rmt.jacobian_moments(np.ones(2), np.zeros(3), 2, "relu")


# --------------------------------------------------------------------------- seeds


def test_sample_jacobian_seed_convention():
    kw = dict(width=12, n_trials=2, weights="orthogonal")
    a = rmt.sample_jacobian_singular_values(1.5, 0.05, 3, "tanh", seed=7, **kw)
    b = rmt.sample_jacobian_singular_values(1.5, 0.05, 3, "tanh",
                                            seed=np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(a, b)
    c = rmt.sample_jacobian_singular_values(1.5, 0.05, 3, "tanh", seed=None, **kw)
    assert c.shape == (2, 12)
    with pytest.raises(ValueError, match="seed"):
        rmt.sample_jacobian_singular_values(1.5, 0.05, 3, "tanh", seed=-1, **kw)
    for bad in (1.5, "0", True):
        with pytest.raises(TypeError, match="seed"):
            rmt.sample_jacobian_singular_values(1.5, 0.05, 3, "tanh", seed=bad, **kw)
