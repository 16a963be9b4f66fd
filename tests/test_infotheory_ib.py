"""Information bottleneck: iterative algorithm and Gaussian closed form, against
independent truths (the binary symmetric transition, the beta-parametrised Gaussian
solution, data-processing bounds, a discretised Gaussian)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from deeptheory.infotheory.bottleneck import (
    gaussian_ib_critical_betas,
    gaussian_ib_curve,
    ib_curve,
    information_bottleneck,
)


def _bsc(e: float) -> np.ndarray:
    """X uniform on {0, 1}, Y = X flipped with probability e."""
    return 0.5 * np.array([[1 - e, e], [e, 1 - e]])


def _mi(p: np.ndarray) -> float:
    """Brute-force I(X;Y) in nats (double loop)."""
    px, py = p.sum(1), p.sum(0)
    return sum(p[i, j] * math.log(p[i, j] / (px[i] * py[j]))
               for i in range(p.shape[0]) for j in range(p.shape[1]) if p[i, j] > 0)


@pytest.mark.parametrize("e", [0.1, 0.25])
def test_binary_symmetric_first_transition(e):
    """Below beta_c = 1/(1 - 2e)^2 the only solution is trivial (I(X;T) = 0); above it
    T carries information (linear stability of the trivial solution; Tishby et al. 1999)."""
    bc = 1.0 / (1.0 - 2.0 * e) ** 2
    betas = bc * np.array([0.5, 0.9, 0.97, 1.03, 1.1, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        c = ib_curve(_bsc(e), betas, n_t=2, tol=1e-12, max_iter=200_000)
    below = c.i_xt[betas < bc]
    above = c.i_xt[betas > bc]
    assert np.all(below < 1e-6), below
    assert np.all(above > 1e-4), above


def test_curve_bounds_and_limit():
    """0 <= I(T;Y) <= min(I(X;T), I(X;Y)) (data processing), both monotone in beta, and
    I(T;Y) -> I(X;Y) at large beta with |T| = |X|."""
    rng = np.random.default_rng(1)
    p = rng.random((6, 4)) ** 3
    p /= p.sum()
    betas = np.geomspace(0.5, 1e4, 40)
    c = ib_curve(p, betas, tol=1e-11)
    assert c.converged.all()
    assert np.all(c.i_ty <= c.i_xt + 1e-10)
    assert np.all(c.i_ty <= _mi(p) + 1e-10)
    assert np.all(np.diff(c.i_xt) > -1e-7) and np.all(np.diff(c.i_ty) > -1e-7)
    assert c.i_ty[-1] == pytest.approx(_mi(p), rel=1e-6)


def test_fixed_point_satisfies_the_equations():
    """The returned encoder satisfies p(t|x) ~ p(t) exp(-beta KL[p(y|x) || p(y|t)])."""
    rng = np.random.default_rng(2)
    p = rng.random((5, 3))
    p /= p.sum()
    beta = 7.0
    s = information_bottleneck(p, beta, n_t=3, tol=1e-13)
    assert s.converged
    py_x = p / p.sum(1, keepdims=True)
    kl = np.array([[np.sum(py_x[x] * np.log(py_x[x] / s.decoder[t])) for t in range(3)]
                   for x in range(5)])
    rhs = s.p_t[None, :] * np.exp(-beta * kl)
    rhs /= rhs.sum(1, keepdims=True)
    np.testing.assert_allclose(s.encoder, rhs, atol=1e-10)
    assert s.i_ty == pytest.approx(s.i_ty)  # finite
    assert information_bottleneck(p, beta, n_t=3, base=2).i_xt == pytest.approx(
        s.i_xt / math.log(2), rel=1e-6)


def _beta_form(beta, lam):
    """Chechik et al. (2005) solution in beta: active directions beta (1 - lambda_i) > 1,
    I_X = 1/2 sum ln((beta - 1)(1 - lambda_i)/lambda_i), I_Y = I_X - 1/2 sum ln(beta (1 -
    lambda_i)) (derived from T_i = alpha_i v_i.X + noise, SNR (beta(1 - lambda_i) - 1)/lambda_i)."""
    act = beta * (1 - lam) > 1
    ix = 0.5 * np.sum(np.log((beta - 1) * (1 - lam[act]) / lam[act]))
    iy = ix - 0.5 * np.sum(np.log(beta * (1 - lam[act])))
    return ix, iy


def test_gaussian_curve_matches_beta_parametrisation():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T + 0.5 * np.eye(5)
    sxx, sxy, syy = cov[:3, :3], cov[:3, 3:], cov[3:, 3:]
    bc = gaussian_ib_critical_betas(sxx, sxy, syy)
    lam = 1 - 1 / bc
    # lambda_i are the eigenvalues of S_x|y S_xx^-1 (independent check)
    sxgy = sxx - sxy @ np.linalg.inv(syy) @ sxy.T
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(sxgy @ np.linalg.inv(sxx)).real),
                               lam, atol=1e-12)
    for beta in np.concatenate([bc[:1] * 1.001, np.geomspace(bc[0] * 1.01, 500, 25)]):
        ix, iy = _beta_form(beta, lam)
        assert gaussian_ib_curve(ix, sxx, sxy, syy) == pytest.approx(iy, rel=1e-10, abs=1e-14)
    # the curve saturates at I(X;Y) = 1/2 ln(det S_xx det S_yy / det S)
    ixy = 0.5 * (np.linalg.slogdet(sxx)[1] + np.linalg.slogdet(syy)[1]
                 - np.linalg.slogdet(cov)[1])
    assert gaussian_ib_curve(60.0, sxx, sxy, syy) == pytest.approx(ixy, rel=1e-9)
    assert gaussian_ib_curve(60.0, sxx, sxy, syy, base=2) == pytest.approx(ixy / math.log(2),
                                                                           rel=1e-9)


def test_iterative_ib_on_discretised_gaussian_approaches_closed_form():
    """Bivariate Gaussian, rho = 0.8, discretised on a 30 x 30 grid over +-4.5 sd: the
    annealed iterative IB curve lies within the discretisation error of Chechik's curve
    I_Y = I_X - 1/2 ln(rho^2 + (1 - rho^2) e^(2 I_X)).  The discretisation error is
    measured, |I(X;Y)_grid - I(X;Y)_Gauss| (0.005 nats), plus 0.01 nats for points near
    transitions that stop at the iteration cap (convergence slows there by orders of
    magnitude; 60 x 60 with 20,000 iterations halves both errors)."""
    rho, n = 0.8, 30
    edges = np.linspace(-4.5, 4.5, n + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    w = np.diff(norm.cdf(edges))
    xx, yy = np.meshgrid(mid, mid, indexing="ij")
    dens = np.exp(-(xx**2 - 2 * rho * xx * yy + yy**2) / (2 * (1 - rho**2)))
    p = dens * np.outer(w, w) / np.outer(norm.pdf(mid), norm.pdf(mid))
    p /= p.sum()
    disc = abs(_mi(p) - (-0.5 * math.log(1 - rho**2)))
    betas = np.geomspace(1.2, 60, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        c = ib_curve(p, betas, n_t=n, tol=1e-7, max_iter=5_000)
    ref = gaussian_ib_curve(c.i_xt, [[1.0]], [[rho]], [[1.0]])
    assert np.max(np.abs(c.i_ty - ref)) < disc + 0.01
    # and it is not trivially close: the curve spans most of I(X;Y)
    assert c.i_ty.max() > 0.8 * _mi(p)


def test_ib_bad_input():
    p = _bsc(0.1)
    with pytest.raises(ValueError, match="pxy"):
        information_bottleneck(np.array([[0.5, 0.6], [0.0, 0.0]]), 2.0)
    with pytest.raises(ValueError, match="pxy"):
        information_bottleneck(np.array([[-0.5, 1.0], [0.5, 0.0]]), 2.0)
    with pytest.raises(ValueError, match="beta"):
        information_bottleneck(p, -1.0)
    with pytest.raises(ValueError, match="n_t"):
        information_bottleneck(p, 2.0, n_t=0)
    with pytest.raises(ValueError, match="betas"):
        ib_curve(p, [3.0, 2.0])
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_ib_curve(1.0, [[1.0]], [[2.0]], [[1.0]])
    with pytest.raises(ValueError, match="i_x"):
        gaussian_ib_curve(-1.0, [[1.0]], [[0.5]], [[1.0]])
    with pytest.warns(RuntimeWarning, match="not converged"):
        ib_curve(p, [1.0 / (1 - 0.2) ** 2], max_iter=3, ltol=0.0)


def _plain_ib(p: np.ndarray, enc: np.ndarray, beta: float, tol: float,
              max_iter: int) -> tuple[np.ndarray, int]:
    """Independent plain iterative IB: p(t|x) ∝ p(t) exp(-beta KL[p(y|x) || p(y|t)]),
    until max |change of p(t|x)| < tol; (encoder, iterations)."""
    px = p.sum(1)
    pyx = p / px[:, None]
    for it in range(1, max_iter + 1):
        pt = px @ enc
        pyt = (enc.T @ p) / pt[:, None]
        kl = np.array([[np.sum(pyx[x] * np.log(pyx[x] / pyt[t])) for t in range(enc.shape[1])]
                       for x in range(enc.shape[0])])
        new = pt[None, :] * np.exp(-beta * (kl - kl.min(1, keepdims=True)))
        new /= new.sum(1, keepdims=True)
        done = np.max(np.abs(new - enc)) < tol
        enc = new
        if done:
            return enc, it
    return enc, max_iter


def _lag(p: np.ndarray, enc: np.ndarray, beta: float) -> float:
    pxt = p.sum(1)[:, None] * enc
    pty = enc.T @ p
    return _mi(pxt) - beta * _mi(pty)


def test_accelerated_iteration_reaches_the_plain_fixed_point():
    """SQUAREM-accelerated iteration (Varadhan & Roland 2008): the same fixed point as
    many plain iterations (L to 1e-10, encoder to the tolerance scale) on a random
    joint, and at least 5x fewer iterations near the first transition of a binary
    symmetric channel, where the plain iteration slows down."""
    from deeptheory.infotheory import bottleneck as bn

    rng = np.random.default_rng(5)
    p = rng.random((5, 3))
    p /= p.sum()
    start = rng.random((5, 3)) + 0.5
    start /= start.sum(1, keepdims=True)
    beta = 20.0
    ref, n_ref = _plain_ib(p, start, beta, 1e-13, 200_000)
    pp, px, py_x = bn._setup(p)
    enc, n_acc, ok = bn._iterate(start, px, pp, py_x, beta, 1e-12, 200_000)
    assert ok and n_acc < n_ref
    assert _lag(p, enc, beta) == pytest.approx(_lag(p, ref, beta), abs=1e-10)
    np.testing.assert_allclose(enc, ref, atol=1e-9)
    assert _lag(p, enc, beta) < -1e-3  # a non-trivial (isolated) fixed point
    # binary symmetric channel just above beta_c = 1/(1 - 2e)^2
    e = 0.1
    b = 1.02 / (1.0 - 2.0 * e) ** 2
    p = _bsc(e)
    start = np.array([[0.6, 0.4], [0.45, 0.55]])
    ref, n_ref = _plain_ib(p, start, b, 1e-10, 200_000)
    pp, px, py_x = bn._setup(p)
    enc, n_acc, ok = bn._iterate(start, px, pp, py_x, b, 1e-10, 200_000)
    assert ok and n_ref < 200_000
    assert 5 * n_acc <= n_ref, (n_acc, n_ref)
    assert _lag(p, enc, b) == pytest.approx(_lag(p, ref, b), abs=1e-10)
    np.testing.assert_allclose(enc, ref, atol=1e-7)
    assert _lag(p, enc, b) < -1e-4  # the non-trivial solution, not T independent of X
    # the library's own plain mode counts the same iterations as the independent loop
    _, n_plain, _ = bn._iterate(start, px, pp, py_x, b, 1e-10, 200_000, accelerate=False)
    assert abs(n_plain - n_ref) <= 1
    print(f"BSC at 1.02 beta_c: plain {n_ref} iterations, accelerated {n_acc}")
