"""Finite random networks against the wide-network NNGP and NTK (Monte Carlo).

* The empirical NTK of :mod:`deeptheory.meanfield.empirical` (numpy backprop) equals
  J J^T with J the finite-difference Jacobian of the network output with respect
  to every trained parameter (NTK parameterisation), for the very network the
  shared sampler draws.
* Means over independent networks converge to the infinite-width kernels.  The
  references are computed here, independently of the library: closed forms for
  relu (arc-cosine kernel) and erf (Williams 1997), a 2-D Gauss-Hermite rule for
  tanh at moderate q; and the library's ``nngp_kernel`` / ``ntk_kernel`` are
  compared with the same references and with the Monte Carlo.

Tolerance of a Monte Carlo mean (per kernel entry): |mean - theory| <=
t * stderr + bias, with stderr = std(ddof=1)/sqrt(n) over independent networks,
t the Student-t quantile with n - 1 degrees of freedom at two-sided level 1e-4
(the networks are independent, so the mean is a sum of iid terms; with n = 24 the
per-network kernels are close enough to Gaussian for t), and a finite-width bias
allowance bias = 2 (depth - 1) / N * sqrt(K_ii K_jj).  The bias is O(depth / N)
(Hanin & Nica 2019, "Finite depth and width corrections to the neural tangent
kernel"; Yaida 2020) and exactly 0 at depth 1 (h^1 is exactly Gaussian and the
readout is independent of it); the constant 2 is a measured upper bound:
|mean - theory| * N / sqrt(K_ii K_jj) was at most 0.45 (standard error 0.24) for relu
and erf at depth 3, width 48, 12000 networks (``test_finite_width_bias_allowance``,
slow, re-checks this), and at most 2.1 with standard errors up to 0.9 at depths 2-3,
widths 32-128, 1500 networks.  At width 512 the allowance is well below the standard
error, so the fast tests are essentially "within t standard errors".
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats
from test_widekernels_reference import nt_recursion

from deeptheory.kernels.montecarlo import sample_parameters
from deeptheory.meanfield.empirical import empirical_nngp, empirical_ntk

# --- independent references -----------------------------------------------------------


def _gh_pair_tables(n=400):
    z, w = special.roots_hermitenorm(n)
    return z, w / w.sum()


def gh_kernels(x, activation, depth, sigma_w2, sigma_b2):
    """NNGP and NTK (NTK parameterisation) by the layer recursion with a tensor
    Gauss-Hermite rule (400^2 nodes) for each 2-D expectation; smooth phi, moderate q
    (96 nodes left errors of 1e-8 in E[tanh'(u)^2] at q = 1.5; 400 reach 1e-15)."""
    phi = {"tanh": (np.tanh, lambda u: 1.0 / np.cosh(u) ** 2),
           "erf": (special.erf, lambda u: 2 / np.sqrt(np.pi) * np.exp(-u * u))}[activation]
    z, w = _gh_pair_tables()
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    ww = np.outer(w, w)
    x = np.asarray(x, dtype=float)
    s = sigma_w2 * (x @ x.T) / x.shape[1] + sigma_b2
    th = s.copy()
    n = len(x)
    for _ in range(depth):
        e, de = np.empty((n, n)), np.empty((n, n))
        for i in range(n):
            for j in range(n):
                a = math.sqrt(s[i, i])
                c = s[i, j] / a
                b = math.sqrt(max(s[j, j] - c * c, 0.0))
                u, v = a * z1, c * z1 + b * z2
                e[i, j] = np.sum(ww * phi[0](u) * phi[0](v))
                de[i, j] = np.sum(ww * phi[1](u) * phi[1](v))
        s = sigma_w2 * e + sigma_b2
        th = th * sigma_w2 * de + s
    return s, th


def reference(x, activation, depth, sigma_w2, sigma_b2):
    if activation in ("relu", "erf"):
        return nt_recursion(x, activation, depth, math.sqrt(sigma_w2), math.sqrt(sigma_b2),
                            "ntk", 1)
    return gh_kernels(x, activation, depth, sigma_w2, sigma_b2)


def test_gauss_hermite_reference_matches_closed_form():
    """The tanh reference's rule, checked on erf where the closed form is known."""
    x = INPUTS
    for depth in (1, 3):
        a = gh_kernels(x, "erf", depth, 1.7, 0.2)
        b = nt_recursion(x, "erf", depth, math.sqrt(1.7), math.sqrt(0.2), "ntk", 1)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-11)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-11)


def _widekernels():
    try:
        from deeptheory.meanfield import widekernels
    except ImportError as exc:  # pragma: no cover - until the module lands
        pytest.skip(f"deeptheory.meanfield.widekernels not importable: {exc}")
    return widekernels


# --- the empirical NTK is the tangent kernel of the sampled network --------------------


def _forward(x, params, phi, sigma_w2):
    """Output f(x) (one per row of x) of the network: hidden layers params[:-1],
    readout = first row / first bias entry of params[-1]."""
    a = x.T
    for w, b in params[:-1]:
        a = phi(w @ a + b[:, None])
    w, b = params[-1]
    return w[0] @ a + b[0]


def _fd_tangent_kernel(x, params, phi, sigma_w2, sigma_b2, eps=1e-5):
    """J J^T with J[p, k] = df(x_p)/dtheta_k by central differences, theta = all
    omega, beta of the NTK parameterisation W = sqrt(sigma_w2/fan_in) omega,
    b = sqrt(sigma_b2) beta (readout: only its first row and first bias entry)."""
    cols = []
    for li, (w, b) in enumerate(params):
        rows = 1 if li == len(params) - 1 else w.shape[0]
        sw = math.sqrt(sigma_w2 / w.shape[1])
        for arr, scale, idx in [(w, sw, [(i, j) for i in range(rows)
                                         for j in range(w.shape[1])]),
                                (b, math.sqrt(sigma_b2), [(i,) for i in range(rows)])]:
            for ix in idx:
                old = arr[ix]
                arr[ix] = old + eps * scale
                fp = _forward(x, params, phi, sigma_w2)
                arr[ix] = old - eps * scale
                fm = _forward(x, params, phi, sigma_w2)
                arr[ix] = old
                cols.append((fp - fm) / (2 * eps))
    jac = np.array(cols).T
    return jac @ jac.T


@pytest.mark.parametrize("activation, phi", [("tanh", np.tanh),
                                             ("relu", lambda u: np.maximum(u, 0.0))])
@pytest.mark.parametrize("depth, sigma_b2", [(1, 0.3), (3, 0.3), (2, 0.0)])
def test_empirical_ntk_is_jacobian_gram(activation, phi, depth, sigma_b2):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3))
    width, sw2, seed = 6, 1.7, 11
    est = empirical_ntk(x, depth=depth, sigma_w2=sw2, sigma_b2=sigma_b2,
                        activation=activation, width=width, n_networks=2, seed=seed)
    for k in range(2):
        params = sample_parameters(3, width=width, depth=depth + 1, sigma_w2=sw2,
                                   sigma_b2=sigma_b2, seed=seed + k)
        fd = _fd_tangent_kernel(x, params, phi, sw2, sigma_b2)
        scale = np.sqrt(np.outer(np.diag(fd), np.diag(fd)))
        assert np.max(np.abs(est.samples[k] - fd) / scale) < 1e-7


def test_empirical_ntk_readout_term_is_empirical_nngp():
    """Orthogonal inputs and sigma_b2 = 0 at depth 1: the first-layer term
    (x.x') (delta.delta') vanishes off the diagonal, leaving the readout term, which
    is the per-network NNGP estimate of the same network."""
    x = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.5]])
    kw = dict(depth=1, sigma_w2=2.0, sigma_b2=0.0, activation="tanh", width=40,
              n_networks=3, seed=4)
    ntk = empirical_ntk(x, **kw).samples
    nngp = empirical_nngp(x, **kw).samples
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(ntk[:, off], nngp[:, off], rtol=1e-12)
    assert np.all(ntk[:, ~off] > nngp[:, ~off])


def test_empirical_is_reproducible_and_seeded_per_network():
    x = INPUTS
    kw = dict(depth=2, sigma_w2=1.5, sigma_b2=0.1, activation="tanh", width=30)
    a = empirical_ntk(x, n_networks=3, seed=5, **kw)
    b = empirical_ntk(x, n_networks=2, seed=6, **kw)
    np.testing.assert_array_equal(a.samples[1:], b.samples)  # network k uses seed + k
    c = empirical_nngp(x, n_networks=3, seed=5, **kw)
    assert c.n == 3 and c.value.shape == (3, 3) and c.stderr.shape == (3, 3)
    np.testing.assert_allclose(c.value, c.samples.mean(0), rtol=1e-14)
    np.testing.assert_allclose(c.stderr, c.samples.std(0, ddof=1) / np.sqrt(3), rtol=1e-12)


@pytest.mark.parametrize("fn", [empirical_nngp, empirical_ntk])
def test_empirical_bad_input(fn):
    x = np.ones((2, 3))
    kw = dict(depth=1, sigma_w2=1.0, sigma_b2=0.0, width=4, n_networks=2)
    with pytest.raises(ValueError, match="x must be finite"):
        fn(np.array([[1.0, np.nan]]), **kw)
    with pytest.raises(ValueError, match="x must be a non-empty 2-D"):
        fn(np.ones(3), **kw)
    with pytest.raises(ValueError, match="x must be a non-empty 2-D"):
        fn(np.ones((0, 3)), **kw)
    with pytest.raises(ValueError, match="depth"):
        fn(x, **{**kw, "depth": 0})
    with pytest.raises(ValueError, match="width"):
        fn(x, **{**kw, "width": 0})
    with pytest.raises(ValueError, match="n_networks"):
        fn(x, **{**kw, "n_networks": 1})
    with pytest.raises(ValueError, match="sigma_w2"):
        fn(x, **{**kw, "sigma_w2": -1.0})
    with pytest.raises(ValueError, match="sigma_b2"):
        fn(x, **{**kw, "sigma_b2": -0.1})
    with pytest.raises(TypeError, match="sigma_b2"):
        fn(x, **{**kw, "sigma_b2": [0.1, 0.2]})
    with pytest.raises(TypeError, match="depth"):
        fn(x, **{**kw, "depth": 1.5})
    with pytest.raises(ValueError, match="seed"):
        fn(x, **{**kw, "seed": 2**32 - 1})
    with pytest.raises(ValueError):
        fn(x, **{**kw, "activation": "no_such_activation"})


# --- convergence to the infinite-width kernels -----------------------------------------

#: three inputs in d = 4 with different norms and angles (|x|^2 / d = 0.35, 0.44, 0.94)
INPUTS = np.array([[1.0, 0.5, -0.3, 0.2], [0.2, -1.1, 0.7, 0.1], [-0.8, 0.4, 1.5, -0.5]])


def _check_mc(est, theory, depth, width, what):
    t = stats.t.ppf(1 - 0.5e-4, est.n - 1)
    dg = np.sqrt(np.diag(theory))
    bias = 2.0 * (depth - 1) / width * np.outer(dg, dg)
    err = np.abs(est.value - theory)
    bad = err > t * est.stderr + bias
    assert not bad.any(), (
        f"{what}: |mean - theory| = {err[bad]} > {t:.2f} stderr {est.stderr[bad]} "
        f"+ bias {bias[bad]}")


PARAMS = {"relu": (2.0, 0.1), "tanh": (1.5, 0.05), "erf": (1.7, 0.2)}


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_mc_converges_to_theory(activation, depth):
    sw2, sb2 = PARAMS[activation]
    width, n = 512, 24
    nngp, ntk = reference(INPUTS, activation, depth, sw2, sb2)
    kw = dict(depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation=activation, width=width,
              n_networks=n, seed=1000 * depth)
    _check_mc(empirical_nngp(INPUTS, **kw), nngp, depth, width, "nngp")
    _check_mc(empirical_ntk(INPUTS, **kw), ntk, depth, width, "ntk")


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_library_matches_independent_reference(activation, depth):
    wk = _widekernels()
    sw2, sb2 = PARAMS[activation]
    nngp, ntk = reference(INPUTS, activation, depth, sw2, sb2)
    kw = dict(depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation=activation)
    np.testing.assert_allclose(wk.nngp_kernel(INPUTS, **kw), nngp, rtol=1e-9)
    np.testing.assert_allclose(wk.ntk_kernel(INPUTS, **kw), ntk, rtol=1e-9)
    res = wk.network_kernels(INPUTS, **kw)
    np.testing.assert_allclose(res.nngp, nngp, rtol=1e-9)
    np.testing.assert_allclose(res.ntk, ntk, rtol=1e-9)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mc_converges_to_library(activation):
    wk = _widekernels()
    sw2, sb2 = PARAMS[activation]
    depth, width = 3, 512
    kw = dict(depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation=activation)
    est = empirical_ntk(INPUTS, width=width, n_networks=24, seed=77, **kw)
    _check_mc(est, np.asarray(wk.ntk_kernel(INPUTS, **kw)), depth, width, "ntk")
    est = empirical_nngp(INPUTS, width=width, n_networks=24, seed=77, **kw)
    _check_mc(est, np.asarray(wk.nngp_kernel(INPUTS, **kw)), depth, width, "nngp")


def test_mc_detects_a_wrong_kernel():
    """The tolerance is tight enough to reject a plausible mistake: the last layer's
    dSigma without its sigma_w2 factor (here sigma_w2 = 2)."""
    sw2, sb2, depth, width = 2.0, 0.1, 2, 512
    nngp3, ntk = reference(INPUTS, "relu", depth, sw2, sb2)  # Sigma^3, Theta^3
    # Theta^3 = Theta^2 dSigma^3 + Sigma^3, with dSigma^3 / sigma_w2 in place of dSigma^3
    wrong = (ntk - nngp3) / sw2 + nngp3
    assert not np.allclose(wrong, ntk, rtol=0.05)
    est = empirical_ntk(INPUTS, depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation="relu",
                        width=width, n_networks=24, seed=3)
    _check_mc(est, ntk, depth, width, "ntk")
    with pytest.raises(AssertionError):
        _check_mc(est, wrong, depth, width, "wrong ntk")


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("depth", [1, 3, 5])
def test_mc_converges_to_theory_wide(activation, depth):
    sw2, sb2 = PARAMS[activation]
    width, n = 2048, 48
    nngp, ntk = reference(INPUTS, activation, depth, sw2, sb2)
    kw = dict(depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation=activation, width=width,
              n_networks=n, seed=5000 + depth)
    _check_mc(empirical_nngp(INPUTS, **kw), nngp, depth, width, "nngp")
    _check_mc(empirical_ntk(INPUTS, **kw), ntk, depth, width, "ntk")


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_finite_width_bias_allowance(activation):
    """At a small width many networks resolve the O(depth/N) bias: it must stay within
    the allowance 2 (depth - 1) / N of the fast tests."""
    sw2, sb2 = 2.0, 0.1
    depth, width, n = 3, 48, 12_000
    nngp, ntk = nt_recursion(INPUTS, activation, depth, math.sqrt(sw2), math.sqrt(sb2),
                             "ntk", 1)
    kw = dict(depth=depth, sigma_w2=sw2, sigma_b2=sb2, activation=activation, width=width,
              n_networks=n, seed=90_000)
    _check_mc(empirical_nngp(INPUTS, **kw), nngp, depth, width, "nngp")
    _check_mc(empirical_ntk(INPUTS, **kw), ntk, depth, width, "ntk")


# --- relu at the edge of chaos: normalised NTK -> 1/4 ----------------------------------


def relu_critical_ntk_ratio(c0, levels, dps=30):
    """Theta^L(x, x') / Theta^L(x, x) for relu at sigma_w2 = 2, sigma_b2 = 0 and inputs
    of equal norm with cosine c0, for each L in ``levels`` (Theta^1 = Sigma^1).

    On the diagonal Sigma^l = q and dSigma = 1, so Theta^L(x, x) = L q; off the
    diagonal, with rho_l the correlation of Sigma^l and t_l = angle(rho_l):
    rho_{l+1} = (sin t_l + (pi - t_l) cos t_l) / pi, dSigma^{l+1} = (pi - t_l) / pi,
    Theta^{l+1} = Theta^l dSigma^{l+1} + q rho_{l+1} (Cho & Saul 2009; Arora et al. 2019).
    """
    out = {}
    with mp.workdps(dps):
        rho = mp.mpf(c0)
        th = rho
        for level in range(1, max(levels) + 1):
            if level in levels:
                out[level] = th / level
            t = 2 * mp.asin(mp.sqrt((1 - rho) / 2))
            rho_next = (mp.sin(t) + (mp.pi - t) * mp.cos(t)) / mp.pi
            th = th * (mp.pi - t) / mp.pi + rho_next
            rho = rho_next
    return {k: float(v) for k, v in out.items()}


def test_relu_critical_ntk_ratio_numbers():
    """THEORY.md's 0.316, 0.273, 0.253 are Theta^L for L = 10, 100, 1000, i.e. networks
    of depth L - 1 hidden layers in the library's convention (Theta^{depth+1}): at
    depth = 100 (Theta^101) the ratio is 0.2725, which rounds to 0.272."""
    r = relu_critical_ntk_ratio(0.0, {10, 11, 100, 101, 1000})
    assert (round(r[10], 3), round(r[100], 3), round(r[1000], 3)) == (0.316, 0.273, 0.253)
    assert round(r[101], 3) == 0.272


def test_relu_critical_ntk_ratio_tends_to_quarter():
    levels = {10, 100, 1000, 10_000}
    for c0 in (-0.9, 0.0, 0.5, 0.95):
        r = relu_critical_ntk_ratio(c0, levels, dps=20)
        gaps = [r[k] - 0.25 for k in sorted(levels)]
        assert all(g > 0 for g in gaps)
        assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
        assert gaps[-1] < 2e-3


@pytest.mark.parametrize("depth", [9, 99, 999])
def test_library_relu_critical_ntk_ratio(depth):
    wk = _widekernels()
    x = np.eye(2)  # Sigma^1 = sigma_w2 x.x'/d = identity
    ntk = np.asarray(wk.ntk_kernel(x, depth=depth, sigma_w2=2.0, sigma_b2=0.0,
                                   activation="relu"))
    expected = relu_critical_ntk_ratio(0.0, {depth + 1})[depth + 1]
    assert ntk[0, 1] / ntk[0, 0] == pytest.approx(expected, rel=1e-10)
    assert ntk[0, 0] == pytest.approx(depth + 1, rel=1e-12)
