"""Infinite-width kernels: compiled series, closed forms, recursions, slopes, diagnostics.

Independent truths: numpy polynomial evaluation (series_gram), the 2-D panel quadrature
``kernels.expect2`` at order 16 (relative error < 1e-13, used layer by layer for the
recursion), the arc-cosine closed forms derived by hand (relu), central finite
differences (slopes), numpy eigenvalues (condition numbers).  The mpmath checks are in
test_widekernels_mpmath.py, Monte Carlo in test_widekernels_mc.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deeptheory.kernels import expect2, get_activation, series_gram
from deeptheory.meanfield import (
    DegenerateKernelWarning,
    dot_product_kernel,
    kernel_diagnostics,
    network_kernels,
    nngp_kernel,
    ntk_kernel,
)
from deeptheory.meanfield._gauss import closed_pair
from deeptheory.meanfield._pairmaps import pair_maps

# ----------------------------------------------------------------------------- series


@pytest.mark.parametrize("upper", [False, True])
def test_series_gram_matches_polyval(upper):
    rng = np.random.default_rng(3)
    n, k = 37, 21  # not multiples of the tile shape
    a = rng.normal(size=(2, n, k)) / np.arange(1, k + 1)
    c = rng.uniform(-1, 1, (n, n))
    if upper:
        c = (c + c.T) / 2
        b = np.ascontiguousarray(a.transpose(0, 2, 1))
    else:
        b = rng.normal(size=(2, k, n))
    g = series_gram(a, b, c, upper=upper)
    for s in range(2):
        for i, j in [(0, 0), (3, 30), (36, 1), (17, 17), (20, 35)]:
            ref = np.polynomial.polynomial.polyval(c[i, j], a[s, i] * b[s, :, j])
            assert g[s, i, j] == pytest.approx(ref, rel=1e-13, abs=1e-15)
    if upper:
        assert np.array_equal(g, g.transpose(0, 2, 1))


def test_series_gram_errors():
    with pytest.raises(ValueError, match="shapes"):
        series_gram(np.ones((2, 3)), np.ones((4, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        series_gram(np.ones((2, 3)), np.ones((3, 2)), np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="square"):
        series_gram(np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4)), upper=True)


# ----------------------------------------------------------------------- closed forms

CASES = [(0.7, 1.9, 0.37), (2.0, 2.0, -0.8), (0.3, 5.0, 0.999999), (1.0, 1.0, -0.999999),
         (4.0, 0.5, 0.0), (1.3, 1.3, 1 - 1e-9)]


@pytest.mark.parametrize("name,level", [("relu", 0), ("relu", 1), ("erf", 0), ("erf", 1),
                                        ("erf", 2), ("linear", 0), ("linear", 1)])
def test_closed_pair_against_quadrature(name, level):
    for q11, q22, c in CASES:
        got = closed_pair(name, q11, q22, c, level)
        ref = expect2(name, q11, q22, c, (level, level), order=16)
        scale = np.sqrt(expect2(name, q11, q11, 1.0, (level, level), order=16)
                        * expect2(name, q22, q22, 1.0, (level, level), order=16))
        assert abs(got - ref) <= 1e-12 * max(scale, 1e-300) + 1e-15, (q11, q22, c)


@pytest.mark.parametrize("name", ["erf", "relu"])
def test_closed_path_equals_series_path(name):
    """The fast path (closed forms) and the general path (Mehler series, sparse re-sum,
    2-D quadrature) agree to 1e-12 normwise on a grid with nearly parallel pairs."""
    act = get_activation(name)
    rng = np.random.default_rng(0)
    q1 = rng.uniform(0.2, 3.0, 7)
    q2 = np.concatenate([q1[:3], rng.uniform(0.2, 3.0, 4)])
    c = rng.uniform(-1, 1, (7, 7))
    c[0, 0], c[1, 1], c[2, 2] = 1.0, 1 - 1e-9, -1 + 1e-7
    g1, m1, _ = pair_maps(act, q1, q2, c, (0, 1), closed=True)
    g2, m2, _ = pair_maps(act, q1, q2, c, (0, 1), closed=False, rtol=1e-13)
    for lv in range(2):
        scale = np.sqrt(np.outer(m1[lv], m1[lv][:1].repeat(7)))  # order of magnitude
        assert np.all(np.abs(g1[lv] - g2[lv]) <= 1e-12 * scale + 1e-14)
        np.testing.assert_allclose(m1[lv], m2[lv], rtol=1e-12)


# -------------------------------------------------------------------------- recursion


def _reference(act, x, sw2, sb2, depth):
    """Sigma, Theta for every pair by the layer recursion with expect2 (order 16)."""
    n, d = x.shape
    s = sw2 * x @ x.T / d + sb2
    th = s.copy()
    for _ in range(depth):
        dg = np.diag(s).copy()
        q1, q2 = np.meshgrid(dg, dg, indexing="ij")
        c = np.clip(s / np.sqrt(q1 * q2), -1, 1)
        c = np.where(1 - np.abs(c) < 1e-12, np.sign(c), c)  # the rule's own limit
        e = expect2(act, q1, q2, c, (0, 0), order=16)
        de = expect2(act, q1, q2, c, (1, 1), order=16)
        s = sw2 * e + sb2
        th = th * sw2 * de + s
    return s, th


def _normwise(k, ref):
    d = np.sqrt(np.abs(np.outer(np.diag(ref), np.diag(ref))))
    return np.max(np.abs(k - ref) / d)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3))
    x[1] = x[0] * (1 + 1e-9)  # parallel, different norm
    x[2] = 3 * x[0] + 1e-7 * rng.normal(size=3)  # nearly parallel, large q
    x[4] = -x[3]  # anti-parallel
    return x


@pytest.mark.parametrize("act", ["tanh", "gelu", "silu", "erf", "relu", "sigmoid"])
def test_network_kernels_against_layerwise_quadrature(inputs, act):
    for depth in (1, 3):
        k = network_kernels(inputs, depth=depth, sigma_w2=1.5, sigma_b2=0.05, activation=act)
        s, th = _reference(act, inputs, 1.5, 0.05, depth)
        assert _normwise(k.nngp, s) < 1e-11
        assert _normwise(k.ntk, th) < 1e-11


def test_symmetric_equals_cross_and_psd(inputs):
    kw = dict(depth=4, sigma_w2=2.5, sigma_b2=0.1, activation="tanh")
    a = network_kernels(inputs, **kw)
    b = network_kernels(inputs, inputs, **kw)
    assert np.array_equal(a.nngp, a.nngp.T) and np.array_equal(a.ntk, a.ntk.T)
    assert _normwise(b.nngp, a.nngp) < 1e-12 and _normwise(b.ntk, a.ntk) < 1e-12
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 4))
    k = nngp_kernel(x, **kw)
    assert np.linalg.eigvalsh(k)[0] > -1e-12 * np.trace(k)
    t = ntk_kernel(x, **kw)
    assert np.linalg.eigvalsh(t)[0] > -1e-12 * np.trace(t)


def test_layers_history_ends_with_result(inputs):
    k = network_kernels(inputs, depth=3, sigma_w2=1.2, sigma_b2=0.0, activation="gelu",
                        layers=True)
    assert k.nngp_layers.shape == (3, 6, 6)
    np.testing.assert_array_equal(k.nngp_layers[-1], k.nngp)
    np.testing.assert_array_equal(k.ntk_layers[-1], k.ntk)
    one = network_kernels(inputs, depth=1, sigma_w2=1.2, sigma_b2=0.0, activation="gelu")
    assert _normwise(k.nngp_layers[0], one.nngp) < 1e-13


def test_relu_closed_recursion_edge_of_chaos():
    """Unit-diagonal relu at sigma_w2 = 2: the diagonal stays q0 and the NTK diagonal is
    (L + 1) q0 exactly (Theta^{l+1} = Theta^l * 1 + q0); off-diagonals by the arc-cosine map
    written out here."""
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) * np.sqrt(2.0)  # |x|^2 / d = 1 or 2
    L = 7
    k = network_kernels(x[:2], depth=L, sigma_w2=2.0, sigma_b2=0.0, activation="relu")
    np.testing.assert_allclose(np.diag(k.nngp), 2.0, rtol=1e-14)
    np.testing.assert_allclose(np.diag(k.ntk), 2.0 * (L + 1), rtol=1e-14)
    c, th = 0.0, 0.0
    for _ in range(L):
        t = np.arccos(c)
        dot = (np.pi - t) / np.pi  # sigma_w2 E[phi' phi'] with sigma_w2 = 2
        c_new = (np.sin(t) + (np.pi - t) * np.cos(t)) / np.pi
        th = th * dot + c_new
        c = c_new
    assert k.nngp[0, 1] == pytest.approx(2.0 * c, rel=1e-13)
    assert k.ntk[0, 1] == pytest.approx(2.0 * th, rel=1e-13)


# ----------------------------------------------------------------------------- resnet


def test_resnet_relu_full_closed_form():
    """Full relu resnet, sigma_b2 = sigma_a2 = 0: p^l = p^{l-1} (1 + a) exactly with
    a = alpha^2 sigma_v2 sigma_w2 / 2 (E[relu^2] = S/2), and the stream tangent kernel
    P^l = P^{l-1} (1 + a) + alpha^2 sigma_v2 (S/2 + S/2) = P^{l-1} (1 + a) + 2 a p^{l-1},
    i.e. P^L = 2 a L p^0 (1 + a)^{L-1}."""
    x = np.array([[1.0, 2.0, -1.0]])
    p0 = float(x[0] @ x[0]) / 3
    for alpha, L in [(1.0, 5), ("1/sqrt(L)", 50)]:
        al = 1.0 if alpha == 1.0 else 1 / np.sqrt(L)
        a = al**2 * 0.7 * 1.3 / 2
        k = network_kernels(x, depth=L, sigma_w2=1.3, activation="relu", network="resnet",
                            kind="full", sigma_v2=0.7, alpha=alpha)
        pl = p0 * (1 + a) ** L
        assert k.nngp[0, 0] == pytest.approx(1.3 * pl, rel=1e-13)
        big = 2 * a * L * p0 * (1 + a) ** (L - 1)
        assert k.ntk[0, 0] == pytest.approx(1.3 * big + 1.3 * pl, rel=1e-12)


@pytest.mark.parametrize("act", ["relu", "tanh", "gelu"])
def test_resnet_reduced_nngp_matches_resnet_recursion(act):
    """The kernel matrix of a reduced resnet against the two-input recursion of
    :func:`deeptheory.meanfield.resnet_recursion` (written separately, checked by Monte
    Carlo in test_resnet.py; it carries the stream's mean component for non-odd phi)."""
    from deeptheory.meanfield.resnet import resnet_recursion

    x = np.array([[1.0, 0.5, -1.0, 0.2], [0.3, -1.2, 0.4, 1.0]])
    d = x.shape[1]
    p1, p2 = x[0] @ x[0] / d, x[1] @ x[1] / d
    c0 = x[0] @ x[1] / d / np.sqrt(p1 * p2)
    k = network_kernels(x, depth=6, sigma_w2=0.9, sigma_b2=0.1, activation=act,
                        network="resnet", alpha=0.7)
    r = resnet_recursion(0.9, 0.1, act, depth=6, alpha=0.7, p0=p1, p0_2=p2, c0=c0)
    ref = 0.9 * np.array([[r.p1[-1], r.p12[-1]], [r.p12[-1], r.p2[-1]]]) + 0.1
    assert _normwise(k.nngp, ref) < 1e-11


def test_resnet_full_against_layerwise_quadrature(inputs):
    sw2, sb2, sv2, sa2, al, L = 1.1, 0.05, 0.8, 0.02, 0.5, 3
    k = network_kernels(inputs, depth=L, sigma_w2=sw2, sigma_b2=sb2, activation="tanh",
                        network="resnet", kind="full", alpha=al, sigma_v2=sv2, sigma_a2=sa2)
    d = inputs.shape[1]
    p = inputs @ inputs.T / d
    big = np.zeros_like(p)
    for _ in range(L):
        s = sw2 * p + sb2
        dg = np.diag(s).copy()
        q1, q2 = np.meshgrid(dg, dg, indexing="ij")
        c = np.clip(s / np.sqrt(q1 * q2), -1, 1)
        c = np.where(1 - np.abs(c) < 1e-12, np.sign(c), c)
        e = expect2("tanh", q1, q2, c, (0, 0), order=16)
        de = expect2("tanh", q1, q2, c, (1, 1), order=16)
        big = big * (1 + al**2 * sv2 * sw2 * de) + al**2 * (sv2 * e + sa2 + sv2 * de * s)
        p = p + al**2 * (sv2 * e + sa2)
    assert _normwise(k.nngp, sw2 * p + sb2) < 1e-11
    assert _normwise(k.ntk, sw2 * big + sw2 * p + sb2) < 1e-11


# ------------------------------------------------------------------------ dot product


@pytest.mark.parametrize("act", ["relu", "erf", "tanh", "gelu"])
@pytest.mark.parametrize("kernel", ["nngp", "ntk"])
def test_dot_product_kernel_value_and_slope(act, kernel):
    kw = dict(depth=3, sigma_w2=1.7, sigma_b2=0.1, activation=act, kernel=kernel)
    c = np.array([-0.9, -0.3, 0.0, 0.5, 0.95])
    r = dot_product_kernel(c, **kw)
    d = 4
    for cc, v in zip(c, r.value, strict=True):
        x = np.zeros((2, d))
        x[0, 0] = np.sqrt(d)
        x[1, 0], x[1, 1] = cc * np.sqrt(d), np.sqrt(1 - cc * cc) * np.sqrt(d)
        k = network_kernels(x, depth=3, sigma_w2=1.7, sigma_b2=0.1, activation=act)
        ref = k.nngp[0, 1] if kernel == "nngp" else k.ntk[0, 1]
        assert v == pytest.approx(ref, rel=1e-11, abs=1e-12 * k.ntk[0, 0])
    h = 1e-5
    fd = (dot_product_kernel(c + h, **kw).value - dot_product_kernel(c - h, **kw).value) / (2 * h)
    np.testing.assert_allclose(r.slope, fd, rtol=1e-7)


def test_dot_product_relu_slope_closed_form():
    """Depth 1 relu: kappa = sigma_w2^2 q0 J(c) / (2 pi), d kappa / dc = sigma_w2^2 q0 (pi - t)
    / (2 pi) (dJ/dc = pi - t); NTK slope diverges at c = 1."""
    c = np.array([-0.5, 0.0, 0.7])
    r = dot_product_kernel(c, depth=1, sigma_w2=2.0, q0=1.5, activation="relu")
    t = np.arccos(c)
    np.testing.assert_allclose(r.slope, 4.0 * 1.5 * (np.pi - t) / (2 * np.pi), rtol=1e-13)
    top = dot_product_kernel(1.0, depth=2, sigma_w2=2.0, activation="relu", kernel="ntk")
    assert np.isinf(top.slope)


# ------------------------------------------------------------------------ diagnostics


def test_kernel_diagnostics_phases_and_warning():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4))
    with pytest.warns(DegenerateKernelWarning, match=r"ordered phase.*xi_c"):
        r = kernel_diagnostics(x, depth=40, sigma_w2=0.8, sigma_b2=0.05, activation="tanh")
    assert r.phase == "ordered" and r.chi_1 < 1 and r.c_star == 1.0
    k = network_kernels(x, depth=5, sigma_w2=0.8, sigma_b2=0.05, activation="tanh")
    assert r.cond_ntk[4] == pytest.approx(np.linalg.cond(k.ntk), rel=1e-6)
    assert r.cond_nngp[-1] > 1e8 and r.cond_nngp[-1] > r.cond_nngp[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ch = kernel_diagnostics(x, depth=5, sigma_w2=3.0, sigma_b2=0.05, activation="tanh")
    assert ch.phase == "chaotic" and ch.c_star < 1 and ch.message == ""
    with pytest.warns(DegenerateKernelWarning, match=r"chaotic phase.*identity"):
        kernel_diagnostics(x, depth=200, sigma_w2=3.0, sigma_b2=0.05, activation="tanh",
                           spread_limit=0.05)


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs,match", [
    (dict(depth=0), "depth"),
    (dict(sigma_w2=-1.0), "sigma_w2"),
    (dict(sigma_b2=np.nan), "sigma_b2"),
    (dict(network="cnn"), "network"),
    (dict(kind="half"), "kind"),
    (dict(parameterization="mup"), "parameterization"),
    (dict(network="resnet", sigma_v2=2.0), "sigma_v2"),
    (dict(alpha="1/L^2"), "alpha"),
    (dict(activation="nosuch"), "nosuch"),
    (dict(rtol=0.0), "rtol"),
])
def test_bad_arguments(kwargs, match):
    kw = dict(depth=2, sigma_w2=1.0, sigma_b2=0.0, activation="tanh")
    kw.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        network_kernels(np.ones((2, 3)), **kw)


def test_bad_data():
    kw = dict(depth=2, sigma_w2=1.0)
    with pytest.raises(ValueError, match="x1"):
        network_kernels(np.ones((0, 3)), **kw)
    with pytest.raises(ValueError, match="x1"):
        network_kernels(np.array([[1.0, np.inf]]), **kw)
    with pytest.raises(ValueError, match="features"):
        network_kernels(np.ones((2, 3)), np.ones((2, 4)), **kw)
    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        network_kernels(np.ones((6000, 1)), np.ones((6000, 1)), **kw)
    with pytest.raises(ValueError, match="c"):
        dot_product_kernel(1.5, **kw)
    with pytest.raises(ValueError, match="q0"):
        dot_product_kernel(0.5, q0=0.0, **kw)
    with pytest.raises(ValueError, match="phi''"):
        dot_product_kernel(0.5, activation="hard_tanh", kernel="ntk", **kw)


def test_standard_parameterisation_arguments():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="width"):
        network_kernels(x, depth=2, sigma_w2=1.0, parameterization="standard")
    with pytest.raises(ValueError, match="width"):
        network_kernels(x, depth=2, sigma_w2=1.0, width=10)
    with pytest.raises(ValueError, match="plain"):
        network_kernels(x, depth=2, sigma_w2=1.0, parameterization="standard", width=10,
                        network="resnet")
    # the NTK grows linearly with the width, the NNGP does not depend on it
    a = network_kernels(x, depth=2, sigma_w2=1.0, parameterization="standard", width=10)
    b = network_kernels(x, depth=2, sigma_w2=1.0, parameterization="standard", width=20)
    np.testing.assert_array_equal(a.nngp, b.nngp)
    c = network_kernels(x, depth=2, sigma_w2=1.0, parameterization="standard", width=30)
    np.testing.assert_allclose(c.ntk - b.ntk, b.ntk - a.ntk, rtol=1e-12)


def test_user_activation(inputs):
    """A registered user activation goes through the same engine (Mehler series with the
    generic compiled activation) and matches the layerwise 2-D quadrature."""
    from deeptheory.kernels import register_activation

    act = register_activation("wk_test_act", "tanh(x) + 0.1*x", overwrite=True)
    k = network_kernels(inputs, depth=2, sigma_w2=1.3, sigma_b2=0.02, activation=act)
    s, th = _reference(act, inputs, 1.3, 0.02, 2)
    assert _normwise(k.nngp, s) < 1e-11
    assert _normwise(k.ntk, th) < 1e-11
    r = dot_product_kernel([0.3], depth=2, sigma_w2=1.3, sigma_b2=0.02, activation=act,
                           kernel="ntk")
    assert np.isfinite(r.slope).all()


def test_overflow_is_a_clear_error():
    """relu with sigma_w2 = 3 multiplies the diagonal by 1.5 per layer, so float64 (max
    ~2^1024) overflows near layer 1024 / log2(1.5) ~ 1750 < 3000; the error names the layer."""
    x = np.ones((2, 3))
    with warnings.catch_warnings():  # inf * 0 on the way to the error
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="overflows float64 at layer"):
            network_kernels(x, depth=3000, sigma_w2=3.0, activation="relu")
        with pytest.raises(ValueError, match="overflows float64 at layer"):
            network_kernels(x, depth=3000, sigma_w2=2.0, activation="relu", network="resnet")
    k = network_kernels(x, depth=3, sigma_w2=0.0, sigma_b2=0.0, activation="tanh")
    assert np.array_equal(k.ntk, np.zeros((2, 2)))  # all-zero network: zero kernels, no nan
