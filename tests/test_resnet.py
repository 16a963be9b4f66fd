"""Mean field of residual networks: closed forms, an independent quadrature, the sampler
and Monte Carlo against the recursion (meanfield.resnet, meanfield.simulate_resnet)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from deeptheory.kernels._threads import forced
from deeptheory.kernels.montecarlo import sample_resnet, sample_resnet_parameters
from deeptheory.meanfield.resnet import (
    branch_scale,
    resnet_linear_growth,
    resnet_linear_slope,
    resnet_recursion,
    resnet_relu_factor,
    resnet_relu_length,
    resnet_relu_scaled_limit,
)
from deeptheory.meanfield.simulate_resnet import resnet_inputs, simulate_resnet

# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("alpha", [1.0, "1", "1/sqrt(L)", "1/L", 0.3])
@pytest.mark.parametrize("sigma_v2", [1.0, 1.7])
def test_relu_full_length_and_gradient_exact(alpha, sigma_v2):
    depth, sw2 = 30, 1.3
    r = resnet_recursion(sw2, 0.0, "relu", depth=depth, alpha=alpha, kind="full",
                         sigma_v2=sigma_v2, p0=0.7)
    p = resnet_relu_length(sw2, depth, alpha=alpha, sigma_v2=sigma_v2, p0=0.7)
    np.testing.assert_allclose(r.p1, p, rtol=1e-12, atol=0)
    f = resnet_relu_factor(sw2, alpha, sigma_v2, depth=depth)
    np.testing.assert_allclose(r.grad_ratio, f, rtol=1e-14)
    np.testing.assert_allclose(r.grad_growth[0], f**depth, rtol=1e-12)
    np.testing.assert_allclose(r.grad_growth[::-1], p / 0.7, rtol=1e-12)
    assert r.alpha == branch_scale(alpha, depth)


def test_relu_gradient_ratio_any_bias():
    # E[relu'(sqrt(q) z)^2] = 1/2 for every q > 0: the ratio ignores sigma_b2, sigma_a2
    r = resnet_recursion(0.8, 0.4, "relu", depth=12, alpha=0.5, kind="full", sigma_v2=2.0,
                         sigma_a2=0.3)
    np.testing.assert_allclose(r.grad_ratio, 1.0 + 0.25 * 2.0 * 0.8 / 2.0, rtol=1e-14)
    r = resnet_recursion(0.8, 0.4, "relu", depth=12, alpha=0.5, kind="reduced")
    np.testing.assert_allclose(r.grad_ratio, 1.0 + 0.25 * 0.8 / 2.0, rtol=1e-14)


@pytest.mark.parametrize("x", [0.5, 2.0, 3.0])
def test_relu_scaled_limit(x):
    # alpha = 1/sqrt(L): p^L / p^0 = (1 + x / (2L))^L -> exp(x / 2), x = sigma_v2 sigma_w2;
    # the relative gap is x^2 / (8 L) + O(L^-2)
    lim = resnet_relu_scaled_limit(x, 1.0)
    assert lim == pytest.approx(math.exp(x / 2.0), rel=1e-15)
    for depth in (100, 10_000):
        pl = resnet_relu_length(x, depth, alpha="1/sqrt(L)")[-1]
        assert pl == pytest.approx((1.0 + x / (2.0 * depth)) ** depth, rel=1e-12)
        gap = 1.0 - pl / lim
        assert gap == pytest.approx(x * x / (8.0 * depth), rel=3.0 * x / depth + 1e-6)
    r = resnet_recursion(x / 1.5, 0.0, "relu", depth=400, alpha="1/sqrt(L)", kind="full",
                         sigma_v2=1.5)
    assert r.p1[-1] == pytest.approx((1.0 + x / 800.0) ** 400, rel=1e-12)
    assert r.grad_growth[0] == pytest.approx(r.p1[-1], rel=1e-12)


def test_relu_reduced_has_mean_term():
    # reduced relu: p^l = p + 2 alpha m e + alpha^2 q / 2, m^l = m + alpha e, e = sqrt(q / 2 pi)
    sw2, sb2, al, depth = 1.0, 0.3, 0.9, 8
    r = resnet_recursion(sw2, sb2, "relu", depth=depth, alpha=al, kind="reduced", m0=0.2)
    p, m = 1.0, 0.2
    for layer in range(1, depth + 1):
        q = sw2 * p + sb2
        e = math.sqrt(q / (2.0 * math.pi))
        p, m = p + 2.0 * al * m * e + al * al * q / 2.0, m + al * e
        assert r.p1[layer] == pytest.approx(p, rel=1e-13)
        assert r.m1[layer] == pytest.approx(m, rel=1e-13)
    # the full network (V has mean zero) has no such term
    f = resnet_recursion(sw2, 0.0, "relu", depth=depth, alpha=al, kind="full", m0=0.2)
    np.testing.assert_allclose(f.p1, resnet_relu_length(sw2, depth, alpha=al), rtol=1e-13)
    np.testing.assert_array_equal(f.m1, 0.2)


@pytest.mark.parametrize("act, tail", [("erf", 2.0 * math.sqrt(2.0 / math.pi)), ("tanh", 2.0)])
def test_bounded_linear_growth(act, tail):
    # p^l = A l - B sqrt(l) + O(log l), A = alpha^2 (sigma_v2 + sigma_a2); tail = int (1 - phi^2)
    sw2, al, sv2, sa2 = 1.5, 0.8, 1.2, 0.3
    depth = 1200 if act == "erf" else 300
    r = resnet_recursion(sw2, 0.1, act, depth=depth, alpha=al, kind="full", sigma_v2=sv2,
                         sigma_a2=sa2, c0=1.0)
    slope = resnet_linear_slope(al, sv2, sa2)
    assert slope == pytest.approx(al * al * (sv2 + sa2), rel=1e-15)
    ls = np.array([depth // 16, depth // 4, depth])
    two_term = resnet_linear_growth(ls, sw2, alpha=al, sigma_v2=sv2, sigma_a2=sa2, tail=tail)
    B = (slope * ls - two_term) / np.sqrt(ls)  # the predicted sqrt coefficient
    measured = (slope * ls - r.p1[ls]) / np.sqrt(ls)
    rel = np.abs(measured / B - 1.0)
    # measured at 1.5% (tanh, l = 1200) and 2.7% (erf): the O(log l / sqrt l) remainder
    assert rel[-1] < 0.08 and np.all(np.diff(rel) < 0)
    assert np.all(np.abs(r.p1[ls] - two_term) < 2.0)  # the O(log l) remainder, here O(1)
    # p^l / l -> slope from below
    ratio = r.p1[ls] / ls
    assert np.all(np.diff(ratio) > 0) and np.all(ratio < slope)
    # identical inputs stay identical: c = 1 exactly
    np.testing.assert_array_equal(r.c, 1.0)


def test_linear_activation_one_minus_c_without_cancellation():
    # linear phi: D^l = D^{l-1} (1 + alpha^2 sv2 sw2), p^l = p + alpha^2 (sv2 (sw2 p + sb2) + sa2)
    sw2, sb2, al, sv2, sa2, depth, d0 = 1.1, 0.2, 0.7, 1.3, 0.4, 10, 1e-13
    r = resnet_recursion(sw2, sb2, "linear", depth=depth, alpha=al, kind="full", sigma_v2=sv2,
                         sigma_a2=sa2, c0=1.0 - d0)
    p, D = 1.0, 2.0 * d0
    for layer in range(1, depth + 1):
        p = p + al * al * (sv2 * (sw2 * p + sb2) + sa2)
        D = D * (1.0 + al * al * sv2 * sw2)
        assert r.p1[layer] == pytest.approx(p, rel=1e-13)
        assert r.one_minus_c[layer] == pytest.approx(D / (2.0 * p), rel=1e-12)


def test_unequal_lengths_path_agrees():
    # the general (expect2) path with p0_2 = p0 given explicitly equals the equal-length path
    kw = dict(depth=6, alpha=0.8, kind="full", sigma_v2=1.4, sigma_a2=0.1, c0=0.3)
    a = resnet_recursion(1.2, 0.1, "tanh", **kw)
    b = resnet_recursion(1.2, 0.1, "tanh", p0_2=1.0, **kw)
    np.testing.assert_allclose(b.c, a.c, rtol=1e-9)
    np.testing.assert_allclose(b.p2, a.p1, rtol=1e-12)
    c = resnet_recursion(1.2, 0.1, "tanh", p0_2=2.5, **kw)
    assert np.all(c.p2 > c.p1) and np.all(np.abs(c.c) <= 1.0)


def test_broadcasting():
    r = resnet_recursion(np.array([1.0, 2.0]), np.array([[0.0], [0.1], [0.2]]), "relu",
                         depth=5, alpha=np.array([1.0, 0.5]), kind="full")
    assert r.p1.shape == (6, 3, 2) and r.q1.shape == (5, 3, 2) and r.c.shape == (6, 3, 2)
    assert r.grad_growth.shape == (6, 3, 2) and r.alpha.shape == (3, 2)
    one = resnet_recursion(2.0, 0.2, "relu", depth=5, alpha=0.5, kind="full")
    np.testing.assert_allclose(r.p1[:, 2, 1], one.p1, rtol=1e-15)
    assert one.p1.shape == (6,) and isinstance(one.alpha, float)
    assert resnet_relu_length([1.0, 2.0], 4).shape == (5, 2)


# ------------------------------------------------- independent quadrature (tanh)


def _gauss1(f, q):
    s = math.sqrt(q)
    val, _ = integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                            -40, 40, epsabs=1e-14, epsrel=1e-13, limit=400)
    return val


def _gauss2(f, q11, q22, q12):
    s1 = math.sqrt(q11)
    rho = q12 / math.sqrt(q11 * q22)
    s2 = math.sqrt(q22)
    w = math.sqrt(1 - rho * rho)

    def inner(z1):
        g = lambda z2: f(s2 * (rho * z1 + w * z2)) * math.exp(-z2 * z2 / 2)  # noqa: E731
        return integrate.quad(g, -12, 12, epsabs=1e-13, epsrel=1e-12, limit=200)[0]

    val, _ = integrate.quad(lambda z1: math.tanh(s1 * z1) * math.exp(-z1 * z1 / 2) * inner(z1),
                            -12, 12, epsabs=1e-13, epsrel=1e-12, limit=200)
    return val / (2 * math.pi)


def test_tanh_against_direct_quadrature():
    sw2, sb2, al, sv2, sa2, c0 = 1.3, 0.2, 0.8, 1.4, 0.1, 0.3
    depth = 3
    r = resnet_recursion(sw2, sb2, "tanh", depth=depth, alpha=al, kind="full", sigma_v2=sv2,
                         sigma_a2=sa2, c0=c0)
    p, p12 = 1.0, c0
    for layer in range(1, depth + 1):
        q, q12 = sw2 * p + sb2, sw2 * p12 + sb2
        e2 = _gauss1(lambda x: math.tanh(x) ** 2, q)
        e12 = _gauss2(math.tanh, q, q, q12)
        d2 = _gauss1(lambda x: (1 - math.tanh(x) ** 2) ** 2, q)
        p, p12 = p + al * al * (sv2 * e2 + sa2), p12 + al * al * (sv2 * e12 + sa2)
        assert r.q1[layer - 1] == pytest.approx(q, rel=1e-14)
        assert r.p1[layer] == pytest.approx(p, rel=1e-11)
        assert r.p12[layer] == pytest.approx(p12, rel=1e-9)
        assert r.c[layer] == pytest.approx(p12 / p, rel=1e-9)
        assert r.grad_ratio[layer - 1] == pytest.approx(1 + al * al * sv2 * sw2 * d2, rel=1e-11)


# ----------------------------------------------------------- the sampler itself


def _numpy_resnet(params, x1, x2, g, alpha, full, act=np.tanh, dact=None):
    """Forward/backward in numpy from explicit parameters (the reference)."""
    n = x1.size
    x = np.stack([x1, x2], axis=1)
    hs, stats, q1 = [], [(x1 @ x1 / n, x2 @ x2 / n, x1 @ x2 / n)], []
    for par in params:
        h = par[0] @ x + par[1][:, None]
        hs.append(h[:, 0])
        q1.append(h[:, 0] @ h[:, 0] / n)
        f = act(h)
        if full:
            f = par[2] @ f + par[3][:, None]
        x = x + alpha * f
        stats.append((x[:, 0] @ x[:, 0] / n, x[:, 1] @ x[:, 1] / n, x[:, 0] @ x[:, 1] / n))
    gg, ratios = g.copy(), []
    for par, h in zip(params[::-1], hs[::-1], strict=True):
        u = par[2].T @ gg if full else gg.copy()
        u = u * dact(h)
        gn = gg + alpha * par[0].T @ u
        ratios.append(gn @ gn / (gg @ gg))
        gg = gn
    return np.array(stats), np.array(q1), np.array(ratios[::-1]), gg, x[:, 0]


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("kind", ["reduced", "full"])
def test_sampler_matches_numpy(kind, weights):
    n, depth, al = 40, 5, 0.7
    kw = dict(sigma_v2=1.5, sigma_a2=0.2) if kind == "full" else {}
    x1, x2, g = resnet_inputs(n, 1.3, 0.4)
    s = sample_resnet("tanh", x1, x2, g, 1.2, 0.1, depth=depth, n_trials=2, alpha=al,
                      kind=kind, weights=weights, seed=11, **kw)
    for t in range(2):
        params = sample_resnet_parameters(n, depth=depth, sigma_w2=1.2, sigma_b2=0.1,
                                          kind=kind, weights=weights, seed=11 + t, **kw)
        stats, q1, ratios, _, _ = _numpy_resnet(
            params, x1, x2, g, al, kind == "full", dact=lambda h: 1 - np.tanh(h) ** 2)
        np.testing.assert_allclose(s.p1[t], stats[:, 0], rtol=1e-12)
        np.testing.assert_allclose(s.p2[t], stats[:, 1], rtol=1e-12)
        np.testing.assert_allclose(s.p12[t], stats[:, 2], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s.q1[t], q1, rtol=1e-12)
        np.testing.assert_allclose(s.grad_ratio[t], ratios, rtol=1e-12)


@pytest.mark.parametrize("kind", ["reduced", "full"])
def test_backward_pass_is_the_gradient(kind):
    # g^0 . v = d/de (g^L . x^L(x1 + e v)) by central differences
    n, depth, al = 30, 4, 0.9
    kw = dict(sigma_v2=1.2, sigma_a2=0.1) if kind == "full" else {}
    params = sample_resnet_parameters(n, depth=depth, sigma_w2=1.5, sigma_b2=0.1, kind=kind,
                                      seed=5, **kw)
    x1, x2, g = resnet_inputs(n, 1.0, 0.2)
    dact = lambda h: 1 - np.tanh(h) ** 2  # noqa: E731
    _, _, _, g0, _ = _numpy_resnet(params, x1, x2, g, al, kind == "full", dact=dact)
    v = np.random.default_rng(0).standard_normal(n)
    eps = 1e-5

    def energy(x):
        return g @ _numpy_resnet(params, x, x2, g, al, kind == "full", dact=dact)[4]

    fd = (energy(x1 + eps * v) - energy(x1 - eps * v)) / (2 * eps)
    assert g0 @ v == pytest.approx(fd, rel=1e-8)


def test_sampler_threads_and_prefix():
    x1, x2, g = resnet_inputs(24, 1.0, 0.5)
    kw = dict(depth=4, alpha=1.0, kind="full", sigma_v2=1.1, seed=3)
    with forced("serial"):
        a = sample_resnet("relu", x1, x2, g, 1.0, 0.1, n_trials=4, **kw)
    with forced("parallel"):
        b = sample_resnet("relu", x1, x2, g, 1.0, 0.1, n_trials=4, **kw)
    c = sample_resnet("relu", x1, x2, g, 1.0, 0.1, n_trials=2, **kw)
    for f in ("p1", "p2", "p12", "q1", "grad_ratio"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        np.testing.assert_array_equal(getattr(a, f)[:2], getattr(c, f))
    assert not np.array_equal(a.p1[0], a.p1[1])
    np.testing.assert_allclose(a.grad_growth[:, 0], np.prod(a.grad_ratio, axis=1), rtol=1e-13)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(sigma_w2=-1.0), ValueError, "sigma_w2"),
        (dict(sigma_b2=float("nan")), ValueError, "sigma_b2"),
        (dict(sigma_v2=-0.1, kind="full"), ValueError, "sigma_v2"),
        (dict(sigma_a2=float("inf"), kind="full"), ValueError, "sigma_a2"),
        (dict(sigma_v2=2.0), ValueError, "reduced"),
        (dict(sigma_a2=0.1), ValueError, "reduced"),
        (dict(c0=1.5), ValueError, "c0"),
        (dict(p0=-1.0), ValueError, "p0"),
        (dict(depth=0), ValueError, "depth"),
        (dict(depth=2.5), TypeError, "depth"),
        (dict(alpha=-0.5), ValueError, "alpha"),
        (dict(alpha="1/L^2"), ValueError, "alpha"),
        (dict(alpha=float("nan")), ValueError, "alpha"),
        (dict(kind="wide"), ValueError, "kind"),
        (dict(m0=2.0), ValueError, "m0"),
        (dict(order=5, bogus=1), TypeError, "bogus"),
    ],
)
def test_recursion_bad_input(kwargs, exc, match):
    args = dict(sigma_w2=1.0, sigma_b2=0.1, depth=3)
    args.update(kwargs)
    sw2, sb2 = args.pop("sigma_w2"), args.pop("sigma_b2")
    with pytest.raises(exc, match=match):
        resnet_recursion(sw2, sb2, "tanh", **args)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(sigma_w2=-1.0), ValueError, "sigma_w2"),
        (dict(sigma_w2=np.array([1.0, 2.0])), TypeError, "sigma_w2"),
        (dict(sigma_b2=float("nan")), ValueError, "sigma_b2"),
        (dict(sigma_v2=-1.0, kind="full"), ValueError, "sigma_v2"),
        (dict(sigma_a2=-1.0, kind="full"), ValueError, "sigma_a2"),
        (dict(sigma_v2=2.0), ValueError, "reduced"),
        (dict(c0=-1.01), ValueError, "c0"),
        (dict(p0=float("inf")), ValueError, "p0"),
        (dict(depth=0), ValueError, "depth"),
        (dict(width=3), ValueError, "width"),
        (dict(n_trials=1), ValueError, "n_trials"),
        (dict(alpha="sqrt"), ValueError, "alpha"),
        (dict(alpha=-1.0), ValueError, "alpha"),
        (dict(alpha=None), TypeError, "alpha"),
        (dict(kind="half"), ValueError, "kind"),
        (dict(weights="uniform"), ValueError, "weights"),
        (dict(seed=-3), ValueError, "seed"),
    ],
)
def test_simulate_bad_input(kwargs, exc, match):
    args = dict(sigma_w2=1.0, sigma_b2=0.1, depth=2, width=8, n_trials=2)
    args.update(kwargs)
    sw2, sb2 = args.pop("sigma_w2"), args.pop("sigma_b2")
    with pytest.raises(exc, match=match):
        simulate_resnet(sw2, sb2, "tanh", **args)


def test_sampler_bad_input():
    x1, x2, g = resnet_inputs(8)
    with pytest.raises(ValueError, match="same length"):
        sample_resnet("tanh", x1, x2[:5], g, 1.0, 0.0, depth=2, n_trials=1)
    with pytest.raises(ValueError, match="zero vector"):
        sample_resnet("tanh", x1, x2, 0 * g, 1.0, 0.0, depth=2, n_trials=1)
    with pytest.raises(ValueError, match="kind"):
        sample_resnet("tanh", x1, x2, g, 1.0, 0.0, depth=2, n_trials=1, kind="x")
    with pytest.raises(ValueError, match="reduced"):
        sample_resnet_parameters(8, depth=2, sigma_w2=1.0, sigma_b2=0.0, sigma_a2=1.0)
    with pytest.raises(ValueError, match="depth"):
        branch_scale("1/L")


# ----------------------------------------------------- Monte Carlo vs mean field
#
# Tolerance: |mean - theory| <= 4 stderr + K (l / N) |theory|.  The bias term: every
# measured quantity is a smooth function of the previous layers' empirical second moments,
# which fluctuate by O(N^-1/2); their second-order (Jensen) effect biases each layer by
# O(1/N), and a residual map has slope ~1 (nothing contracts the error), so the biases of
# l layers add up to O(l / N).  (The gradient growth |g^l|^2 / |g^L|^2 is a product over
# the L - l layers above l, so l -> L - l there.)  Runs with 96 trials at N = 256, L = 24
# (tanh and relu, reduced and full, alpha = 1 and 1/sqrt(L)) resolved no bias in p, c, q
# or the per-layer ratio beyond their noise (max |z| <= 3.5 over the 24 layers), while the
# cumulative growth of the alpha = 1 networks drifted by ~0.5% per layer (+12.5% over 24
# layers for tanh full, i.e. ~1.3 (L - l) / N): K = 2.  Exception: the full relu network
# has E[p^l] equal to the mean field *exactly* at any width (the map
# p -> p + alpha^2 (sigma_v2 (sigma_w2 p + sigma_b2) / 2 + sigma_a2) is linear and the
# cross term has mean zero), so its p gets no bias allowance.
#
# Regimes: depth 12 at width 256 keeps l / N small.  Reduced relu with alpha = 1 is the
# limit of validity for the gradient: the stream's mean component makes W^l and
# phi'(h^l) correlate along the mean direction, and the gradient's component there,
# seeded at O(N^-1/2), grows faster than the rest (by about 1.115 per layer at
# sigma_w2 = 0.5); the mean-field ratio holds while 1.244^l / N << 1 (5% at l = 12,
# N = 256; at l = 24 the deepest ratios were 1.46 (N = 128) and 1.37 (N = 512) against 1.25).

MC_WIDTH, MC_DEPTH, MC_TRIALS, K_BIAS = 256, 12, 10, 2.0

MC_CASES = [
    ("tanh", "reduced", 1.0, 1.0, 0.1, {}),
    ("tanh", "reduced", "1/sqrt(L)", 1.0, 0.1, {}),
    ("tanh", "full", 1.0, 1.0, 0.1, dict(sigma_v2=1.5, sigma_a2=0.2)),
    ("tanh", "full", "1/sqrt(L)", 1.0, 0.1, dict(sigma_v2=1.5, sigma_a2=0.2)),
    ("relu", "reduced", 1.0, 0.5, 0.0, {}),
    ("relu", "reduced", "1/sqrt(L)", 1.0, 0.1, {}),
    ("relu", "full", 1.0, 0.5, 0.0, dict(sigma_v2=1.5)),
    ("relu", "full", "1/sqrt(L)", 2.0, 0.1, dict(sigma_v2=1.0, sigma_a2=0.1)),
]


def _assert_close(name, est, theory, nlayers, n, k=K_BIAS):
    v, se, th = np.asarray(est.value), np.asarray(est.stderr), np.asarray(theory)
    allow = 4.0 * se + k * nlayers / n * np.abs(th) + 1e-12
    bad = np.abs(v - th) > allow
    assert not bad.any(), (f"{name}: layers {np.flatnonzero(bad)}: mc {v[bad]} +- {se[bad]}, "
                           f"theory {th[bad]}")


@pytest.mark.parametrize("act, kind, alpha, sw2, sb2, kw", MC_CASES)
def test_monte_carlo_matches_recursion(act, kind, alpha, sw2, sb2, kw):
    n, depth = MC_WIDTH, MC_DEPTH
    s = simulate_resnet(sw2, sb2, act, depth=depth, alpha=alpha, kind=kind, width=n,
                        n_trials=MC_TRIALS, seed=100, p0=1.0, c0=0.5, **kw)
    r = resnet_recursion(sw2, sb2, act, depth=depth, alpha=alpha, kind=kind, p0=1.0, c0=0.5,
                         **kw)
    assert s.alpha == pytest.approx(r.alpha, rel=1e-15)
    ls = np.arange(depth + 1)
    # the inputs are exact
    assert s.p.value[0] == pytest.approx(1.0, rel=1e-12)
    assert s.c.value[0] == pytest.approx(0.5, rel=1e-12)
    exact_p = act == "relu" and kind == "full"
    _assert_close("p", s.p, r.p1, ls, n, k=0.0 if exact_p else K_BIAS)
    _assert_close("p12", s.p12, r.p12, ls, n)
    _assert_close("c", s.c, r.c, ls, n)
    _assert_close("q", s.q, r.q1, ls[1:], n)
    _assert_close("grad_ratio", s.grad_ratio, r.grad_ratio, ls[1:], n)
    _assert_close("grad_growth", s.grad_growth, r.grad_growth, depth - ls, n)
    if act == "relu" and kind == "reduced" and alpha == 1.0:
        # without the mean term (cross term dropped) the recursion is far outside the
        # error: p^12 = 307 (with) vs 14.6 (without) at sigma_w2 = 0.5, alpha = 1
        naive = resnet_relu_length(sw2, depth)
        assert np.all(np.asarray(s.p.zscore(naive))[3:] > 10.0)


@pytest.mark.slow
def test_monte_carlo_wide_deep():
    # width 1000, depth 200 (the size the sampler is built for), full relu network with
    # alpha = 1/sqrt(L) (Stable ResNet): every quantity stays O(1); p^L -> e^{sw2 sv2 / 2}.
    # With 4 trials the sample standard error has 3 degrees of freedom (it was 2x too small
    # at some layers in a first run), so the tolerance uses max(stderr, a derived one): in
    # this network each layer adds relative variance kappa / N to p, kappa =
    # 2 alpha^2 sv2 sw2 (cross term x . V phi) + 7/4 alpha^4 sv2^2 sw2^2 (chi^2 terms), and
    # these add up over layers (Var(p^l) / p^2 = kappa l / N); the same scale is used for
    # c and the gradient (per layer for the ratio, over L - l layers for the growth).
    # About 4-5 minutes on 2 busy cores.
    n, depth, trials, sw2, sv2 = 1000, 200, 4, 2.0, 1.0
    kw = dict(depth=depth, alpha="1/sqrt(L)", kind="full", sigma_v2=sv2, sigma_a2=0.0)
    s = simulate_resnet(sw2, 0.0, "relu", width=n, n_trials=trials, seed=7, **kw)
    r = resnet_recursion(sw2, 0.0, "relu", **kw)
    a2 = 1.0 / depth
    kappa = 2.0 * a2 * sv2 * sw2 + 1.75 * (a2 * sv2 * sw2) ** 2
    ls = np.arange(depth + 1)
    assert r.p1[-1] == pytest.approx((1.0 + sv2 * sw2 / (2.0 * depth)) ** depth, rel=1e-12)

    def check(name, est, th, nl, k):
        th = np.asarray(th)
        floor = np.abs(th) * np.sqrt(kappa * np.maximum(nl, 1) / (n * trials))
        se = np.maximum(np.asarray(est.stderr), floor)
        bad = np.abs(np.asarray(est.value) - th) > 4.0 * se + k * nl / n * np.abs(th) + 1e-12
        return f"{name}: layers {np.flatnonzero(bad)}" if bad.any() else None

    errors = [check("p", s.p, r.p1, ls, 0.0), check("c", s.c, r.c, ls, K_BIAS),
              check("grad_ratio", s.grad_ratio, r.grad_ratio, np.ones(depth), K_BIAS),
              check("grad_growth", s.grad_growth, r.grad_growth, depth - ls, K_BIAS)]
    assert not any(errors), errors
    # at the bottom of the network: within a few percent of the mean field
    assert abs(s.p.value[-1] / r.p1[-1] - 1.0) < 0.1
    assert abs(s.grad_growth.value[0] / r.grad_growth[0] - 1.0) < 0.1
