"""Residual networks as ODE discretisations and neural-ODE gradients
(deeptheory.dynamics.resnet_ode).

Independent truths: an explicit NumPy loop x + h f(x, t_l); global error orders 1 (Euler)
and 4 (RK4) against DOPRI5 at rtol 1e-12; central finite differences of the loss computed
by an adaptive solve at rtol 1e-13; for a linear field f = A z, dL/dx0 = expm(A T)^T r and
dL/dA from the Frechet derivative of expm; the adjoint and backprop-through-solver
gradients agreeing at order 4 as the steps shrink.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm, expm_frechet

from deeptheory.dynamics.odeflow import MLPField, odeint_batch, random_mlp_field
from deeptheory.dynamics.resnet_ode import (
    FieldGradients,
    ResNetOdeError,
    adjoint_gradients,
    backprop_gradients,
    resnet_flow,
    resnet_ode_error,
)

T = 1.0


def _field(n_nodes=5, seed=3, activation="tanh"):
    return random_mlp_field(3, 6, sigma_w2=2.0, sigma_b2=0.1, n_nodes=n_nodes, t_max=T,
                            activation=activation, seed=seed)


def _x0(n=4, d=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def _target(n=4, d=3):
    return np.random.default_rng(1).standard_normal((n, d))


def _loss(field, xs, target, **change):
    d = {"w1": field.w1, "b1": field.b1, "w2": field.w2, "b2": field.b2}
    x0 = change.pop("x0", xs)
    d.update(change)
    g = MLPField(activation=field.activation, times=field.times, **d)
    z = odeint_batch(g, x0, [0.0, T], rtol=1e-13, atol=1e-15).states[-1]
    return 0.5 * float(np.sum((z - target) ** 2))


# ----------------------------------------------------------------------------- ResNet = ODE


@pytest.mark.parametrize("block", ["euler", "rk4"])
def test_resnet_equals_explicit_loop(block):
    f, x, L = _field(), _x0(), 12
    out = resnet_flow(f, x, L, T, block)
    assert out.shape == (L + 1, 4, 3)
    h = T / L
    ref = [x]
    z = x
    for ll in range(L):
        t = ll * h
        if block == "euler":
            z = z + h * f(z, t)
        else:
            k1 = f(z, t)
            k2 = f(z + h / 2 * k1, t + h / 2)
            k3 = f(z + h / 2 * k2, t + h / 2)
            k4 = f(z + h * k3, t + h)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ref.append(z)
    np.testing.assert_allclose(out, np.array(ref), rtol=0, atol=1e-12)
    single = resnet_flow(f, x[1], L, T, block)
    assert single.shape == (L + 1, 3)
    np.testing.assert_allclose(single, out[:, 1], rtol=0, atol=1e-14)


@pytest.mark.parametrize("block,lo,hi", [("euler", 0.95, 1.05), ("rk4", 3.85, 4.1)])
def test_global_error_order(block, lo, hi):
    # one linear piece (nodes at 0 and T): every step grid contains the nodes, so
    # theta(t) is smooth between steps and the classical orders hold
    f = _field(n_nodes=2)
    r = resnet_ode_error(f, _x0(), [8, 16, 32, 64, 128], T, block)
    assert isinstance(r, ResNetOdeError)
    assert lo < r.order < hi
    assert np.all(np.diff(r.errors) < 0)
    # the finest pair: the slope between depths 64 and 128, by hand
    fine = math.log(r.errors[-2] / r.errors[-1]) / math.log(2.0)
    assert r.order_finest == pytest.approx(fine, rel=1e-12)
    assert lo < r.order_finest < hi
    # 5 nodes: depths that are multiples of 4 keep the order
    r5 = resnet_ode_error(_field(n_nodes=5), _x0(), [8, 16, 32, 64], T, block)
    assert lo - 0.1 < r5.order < hi + 0.1


def test_off_grid_nodes_rejected():
    with pytest.raises(ValueError, match="depths"):
        resnet_ode_error(_field(n_nodes=5), _x0(), [8, 10], T, "euler")


# ----------------------------------------------------------------------------- gradients


@pytest.fixture(scope="module")
def adj():
    return adjoint_gradients(_field(), _x0(), T, target=_target(), rtol=1e-12, atol=1e-14)


def test_adjoint_vs_finite_differences(adj):
    f, x, tg = _field(), _x0(), _target()
    assert isinstance(adj, FieldGradients)
    assert adj.loss == pytest.approx(_loss(f, x, tg), rel=1e-10)
    eps = 1e-5
    base = {"w1": f.w1, "b1": f.b1, "w2": f.w2, "b2": f.b2, "x0": x}
    grads = {"w1": adj.dw1, "b1": adj.db1, "w2": adj.dw2, "b2": adj.db2, "x0": adj.dx0}
    cases = [("w1", (2, 1, 0)), ("w1", (0, 5, 2)), ("b1", (0, 3)), ("b1", (4, 1)),
             ("w2", (4, 2, 5)), ("w2", (1, 0, 3)), ("b2", (1, 1)), ("x0", (2, 1)),
             ("x0", (0, 0))]
    for name, idx in cases:
        p, m = base[name].copy(), base[name].copy()
        p[idx] += eps
        m[idx] -= eps
        fd = (_loss(f, x, tg, **{name: p}) - _loss(f, x, tg, **{name: m})) / (2 * eps)
        assert grads[name][idx] == pytest.approx(fd, rel=1e-6, abs=1e-9), (name, idx)


def test_backprop_converges_to_adjoint(adj):
    f, x, tg = _field(), _x0(), _target()
    errs = []
    for n in (8, 16, 32, 64):  # multiples of 4: the 5 nodes lie on every grid
        gb = backprop_gradients(f, x, T, n, target=tg)
        errs.append(max(float(np.max(np.abs(u - v))) for u, v in zip(adj[:5], gb[:5], strict=True)))
    errs = np.array(errs)
    assert np.all(errs[1:] < errs[:-1] / 10)  # ~ 16x per halving (order 4)
    assert errs[-1] < 1e-6


def test_backprop_is_exact_for_the_discrete_network():
    # finite differences of the discrete RK4 / Euler network's own loss
    f, x, tg = _field(), _x0(), _target()
    for block in ("euler", "rk4"):
        gb = backprop_gradients(f, x, T, 8, target=tg, block=block)

        def loss(w1, block=block):
            g = MLPField(w1, f.b1, f.w2, f.b2, activation=f.activation, times=f.times)
            z = resnet_flow(g, x, 8, T, block)[-1]
            return 0.5 * float(np.sum((z - tg) ** 2))

        idx, eps = (3, 2, 1), 1e-6
        p, m = f.w1.copy(), f.w1.copy()
        p[idx] += eps
        m[idx] -= eps
        assert gb.dw1[idx] == pytest.approx((loss(p) - loss(m)) / (2 * eps), rel=1e-6)
        assert gb.loss == pytest.approx(loss(f.w1), rel=1e-13)


def test_linear_field_exact_gradients():
    rng = np.random.default_rng(5)
    d, h = 3, 4
    w1 = rng.standard_normal((h, d)) * 0.7 / np.sqrt(d)
    w2 = rng.standard_normal((d, h)) * 0.7 / np.sqrt(h)
    f = MLPField(w1, None, w2, None, activation="linear")
    x, tg = _x0(2, d), _target(2, d)
    a = w2 @ w1
    e = expm(a * T)
    r = x @ e.T - tg
    g = adjoint_gradients(f, x, T, target=tg, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.dx0, r @ e, rtol=1e-9, atol=1e-12)  # expm(AT)^T r per row
    # dL/dA_ij = sum_n r_n . (D expm(AT)[T E_ij]) x_n; dL/dW2 = dL/dA W1^T, dL/dW1 = W2^T dL/dA
    dla = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            ed = np.zeros((d, d))
            ed[i, j] = T
            dla[i, j] = np.sum(r * (x @ expm_frechet(a * T, ed, compute_expm=False).T))
    np.testing.assert_allclose(g.dw2[0], dla @ w1.T, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(g.dw1[0], w2.T @ dla, rtol=1e-8, atol=1e-11)


def test_user_gradient_and_single_point():
    f, x = _field(), _x0()
    g1 = adjoint_gradients(f, x[0], T, lambda z: 2.0 * z)  # L = |z(T)|^2
    g2 = adjoint_gradients(f, x[:1], T, target=np.zeros(3))
    assert g1.dx0.shape == (3,) and np.isnan(g1.loss)
    np.testing.assert_allclose(g1.dx0, 2.0 * g2.dx0[0], rtol=1e-8)
    np.testing.assert_allclose(g1.dw1, 2.0 * g2.dw1, rtol=1e-7, atol=1e-12)


def test_constant_weights_and_nodes_beyond_span():
    # K = 0, and nodes extending past T (clamped / partially used intervals)
    x, tg = _x0(), _target()
    f0 = random_mlp_field(3, 5, n_nodes=1, seed=2)
    f3 = random_mlp_field(3, 5, n_nodes=3, t_max=2.0, seed=2)  # nodes 0, 1, 2; T = 0.5
    for f, t_end, n in ((f0, 1.0, 64), (f3, 0.5, 64)):
        ga = adjoint_gradients(f, x, t_end, target=tg, rtol=1e-12, atol=1e-14)
        gb = backprop_gradients(f, x, t_end, n, target=tg)
        for u, v in zip(ga[:5], gb[:5], strict=True):
            np.testing.assert_allclose(u, v, rtol=0, atol=1e-7)
    assert np.all(ga.dw1[2] == 0)  # node at t = 2 is never reached from [0, 0.5]


# ----------------------------------------------------------------------------- bad input


def test_bad_input():
    f, x = _field(), _x0()
    with pytest.raises(ValueError, match="depth"):
        resnet_flow(f, x, 0, T)
    with pytest.raises(ValueError, match="t_end"):
        resnet_flow(f, x, 4, 0.0)
    with pytest.raises(ValueError, match="t_end"):
        adjoint_gradients(f, x, -1.0)
    with pytest.raises(ValueError, match="block"):
        resnet_flow(f, x, 4, T, "midpoint")
    with pytest.raises(ValueError, match="block"):
        backprop_gradients(f, x, T, 4, block="rk2")
    with pytest.raises(ValueError, match="x0"):
        resnet_flow(f, np.zeros((2, 4)), 4, T)
    with pytest.raises(ValueError, match="x0"):
        adjoint_gradients(f, np.array([[np.nan, 0.0, 0.0]]), T)
    with pytest.raises(ValueError, match="t_end"):
        backprop_gradients(f, x, np.inf, 4)
    with pytest.raises(ValueError, match="target"):
        adjoint_gradients(f, x, T, target=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="dLdz_T"):
        adjoint_gradients(f, x, T, lambda z: z[:1])
    with pytest.raises(ValueError, match="dLdz_T"):
        backprop_gradients(f, x, T, 4, lambda z: z * np.nan)
    with pytest.raises(ValueError, match="n_steps"):
        backprop_gradients(f, x, T, 0)
    with pytest.raises(ValueError, match="depths"):
        resnet_ode_error(f, x, [8], T)
    with pytest.raises(ValueError, match="method"):
        adjoint_gradients(f, x, T, method="LSODA")
    with pytest.raises(TypeError, match="field"):
        resnet_flow(lambda z, t: z, x, 4, T)
