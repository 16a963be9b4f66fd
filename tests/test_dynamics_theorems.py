"""Theorems about ResNets as ODEs (deeptheory.dynamics.theorems).

Independent truths: sup|phi'| on a dense NumPy grid; empirical Lipschitz ratios over
random pairs; the exact flow e^{Ct} of f(z) = C z; Gronwall run backwards as a floor on
distances; a depth-1 residual map z -> z - 2 z that swaps points; the linear branch
g(x) = -c x whose fixed-point iteration contracts at exactly rate c.
"""

from __future__ import annotations

import inspect
import math
import re
import uuid
import warnings

import numpy as np
import pytest

from deeptheory import ConvergenceError
from deeptheory.dynamics import theorems as thm
from deeptheory.dynamics.odeflow import MLPField, odeint_batch, random_mlp_field
from deeptheory.dynamics.theorems import (
    activation_lipschitz,
    gronwall_check,
    iresblock_forward,
    iresblock_inverse,
    lipschitz_bound,
    spectral_normalise,
    trajectories_cross,
)
from deeptheory.kernels import get_activation, register_activation

BUILTINS = ["linear", "tanh", "erf", "relu", "hard_tanh", "sigmoid", "silu", "gelu", "elu",
            "softplus", "sin"]


def _uniq(base: str) -> str:
    return f"{base}_{uuid.uuid4().hex[:10]}"


def _orthonormal_cols(h, d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((h, d)))
    return q  # (h, d), Q^T Q = I


def _scaled_identity_field(c, d=3, h=5, a=0.7, seed=0):
    """f(z) = C z through the network: W1 = a Q, W2 = (C / a) Q^T, phi linear."""
    q = _orthonormal_cols(h, d, seed)
    return MLPField(a * q, None, (c / a) * q.T, None, activation="linear")


def _empirical_lip(field, t, n=4000, seed=0, scale=3.0, eps=None):
    rng = np.random.default_rng(seed)
    z1 = scale * rng.standard_normal((n, field.dim))
    if eps is None:
        z2 = scale * rng.standard_normal((n, field.dim))
    else:
        z2 = z1 + eps * rng.standard_normal((n, field.dim))
    num = np.linalg.norm(field(z1, t) - field(z2, t), axis=1)
    return float(np.max(num / np.linalg.norm(z1 - z2, axis=1)))


# ---------------------------------------------------------------- sup |phi'|


@pytest.mark.parametrize("name", BUILTINS)
def test_activation_lipschitz_builtin_matches_dense_grid(name):
    act = get_activation(name)
    x = np.linspace(-40.0, 40.0, 800001)
    grid = float(np.max(np.abs(act(x, 1))))
    sup = activation_lipschitz(name)
    assert grid <= sup * (1 + 1e-12)
    assert sup - grid <= 1e-9


def test_activation_lipschitz_closed_values():
    assert activation_lipschitz("erf") == 2 / math.sqrt(math.pi)
    assert activation_lipschitz("sigmoid") == 0.25
    assert activation_lipschitz("gelu") == pytest.approx(1.1289041451851547, rel=1e-14)
    assert activation_lipschitz("silu") == pytest.approx(1.0998393201288670, rel=1e-13)
    # the numeric path agrees with the closed values
    for name in BUILTINS:
        assert thm._numeric_sup(get_activation(name)) == pytest.approx(
            activation_lipschitz(name), rel=1e-9)


def test_activation_lipschitz_user_activations():
    assert activation_lipschitz(register_activation(_uniq("tl"), "tanh(x) + 0.1*x")) == \
        pytest.approx(1.1, rel=1e-12)
    assert activation_lipschitz(register_activation(_uniq("sp"), "log(1 + exp(x))")) == \
        pytest.approx(1.0, rel=1e-12)
    assert activation_lipschitz(register_activation(_uniq("bump"), "x*exp(-x**2)")) == \
        pytest.approx(1.0, rel=1e-12)
    for expr in ("x**2", "x*log(1 + x**2)", "exp(x)"):
        assert activation_lipschitz(register_activation(_uniq("unb"), expr)) == math.inf
    with pytest.raises(TypeError, match="activation"):
        activation_lipschitz(3.0)
    with pytest.raises(ValueError):
        activation_lipschitz("no_such_activation")


# ---------------------------------------------------------------- Lipschitz bound


@pytest.mark.parametrize("act", ["tanh", "relu", "sin", "gelu"])
def test_lipschitz_bound_dominates_empirical_ratio(act):
    f = random_mlp_field(4, 24, sigma_w2=2.0, sigma_b2=0.3, activation=act, n_nodes=4,
                         t_max=1.0, seed=3)
    c = lipschitz_bound(f)
    for t in np.linspace(0.0, 1.0, 7):
        ct = lipschitz_bound(f, t)
        assert ct <= c * (1 + 1e-12)
        for eps in (None, 1e-4):
            emp = _empirical_lip(f, t, eps=eps, seed=int(10 * t))
            assert emp <= ct * (1 + 1e-9)
            assert emp > 0.05 * ct  # not vacuous


def test_lipschitz_bound_covers_interior_times():
    """Norms moving in opposite directions: the product peaks between the nodes."""
    q = _orthonormal_cols(6, 3, 1)
    w1 = np.stack([0.1 * q, 2.0 * q])
    w2 = np.stack([2.0 * q.T, 0.1 * q.T])
    f = MLPField(w1, None, w2, None, activation="tanh", times=[0.0, 1.0])
    c = lipschitz_bound(f)
    nodes = max(lipschitz_bound(f, 0.0), lipschitz_bound(f, 1.0))
    inner = max(lipschitz_bound(f, t) for t in np.linspace(0, 1, 1001))
    assert nodes == pytest.approx(0.2)
    assert inner == pytest.approx(1.05**2, rel=1e-6)  # at s = 1/2
    assert c >= inner * (1 - 1e-12)
    assert c == pytest.approx(1.05**2, rel=1e-12)


def test_lipschitz_bound_tight_for_scaled_identity():
    f = _scaled_identity_field(1.7)
    assert lipschitz_bound(f) == pytest.approx(1.7, rel=1e-13)
    assert _empirical_lip(f, 0.0) == pytest.approx(1.7, rel=1e-12)


def test_lipschitz_bound_loose_product_for_generic_linear():
    rng = np.random.default_rng(4)
    w1, w2 = rng.standard_normal((5, 3)), rng.standard_normal((3, 5))
    f = MLPField(w1, None, w2, None, activation="linear")
    exact = float(np.linalg.norm(w2 @ w1, 2))
    assert _empirical_lip(f, 0.0, n=20000) <= exact * (1 + 1e-12)
    assert lipschitz_bound(f) >= exact


def test_lipschitz_bound_bad_inputs():
    with pytest.raises(TypeError, match="field"):
        lipschitz_bound(np.eye(2))
    f = random_mlp_field(2, 3, activation=register_activation(_uniq("sq"), "x**2"))
    assert lipschitz_bound(f) == math.inf
    with pytest.raises(ValueError, match="t must be finite"):
        lipschitz_bound(random_mlp_field(2, 3), float("nan"))


# ---------------------------------------------------------------- Gronwall


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gronwall_holds_for_random_tanh_fields(seed):
    f = random_mlp_field(3, 16, sigma_w2=2.5, sigma_b2=0.2, n_nodes=5, t_max=2.0, seed=seed)
    rng = np.random.default_rng(seed + 10)
    x1 = rng.standard_normal((40, 3))
    x2 = x1 + 10.0 ** rng.uniform(-4, 0, (40, 1)) * rng.standard_normal((40, 3))
    times = np.linspace(0.0, 2.0, 21)
    r = gronwall_check(f, x1, x2, times)
    assert r.holds and r.max_ratio <= 1.0 + 1e-6
    assert r.distance.shape == r.envelope.shape == (21, 40)
    assert r.lipschitz == lipschitz_bound(f)
    for method in ("euler", "rk4"):
        rf = gronwall_check(f, x1, x2, times, method=method, n_steps=200)
        assert rf.holds and rf.slack == 1e-12
    # backward in time
    rb = gronwall_check(f, x1, x2, times[::-1])
    assert rb.holds


def test_gronwall_equality_for_linear_field():
    c = 0.8
    f = _scaled_identity_field(c, d=2, h=4)
    x1 = np.array([[0.3, -1.0], [2.0, 0.5]])
    x2 = np.array([[0.31, -1.02], [-1.0, 0.0]])
    times = np.linspace(0.0, 3.0, 7)
    r = gronwall_check(f, x1, x2, times, rtol=1e-10, atol=1e-12)
    assert r.holds
    np.testing.assert_allclose(r.distance / r.envelope, 1.0, rtol=1e-8)
    d0 = np.linalg.norm(x1 - x2, axis=1)
    np.testing.assert_allclose(r.envelope, d0 * np.exp(c * times)[:, None], rtol=1e-14)
    # a single pair gives 1-D arrays
    r1 = gronwall_check(f, x1[0], x2[0], times)
    assert r1.distance.shape == (7,)
    # too small a constant is caught: the check is not vacuous
    assert not gronwall_check(f, x1, x2, times, lipschitz=0.5 * c).holds


def test_gronwall_bad_inputs():
    f = random_mlp_field(3, 4)
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="same shape"):
        gronwall_check(f, x, np.zeros((3, 3)), [0, 1])
    with pytest.raises(ValueError, match="x1 must have shape"):
        gronwall_check(f, np.zeros((2, 2)), np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="lipschitz"):
        gronwall_check(f, x, x + 1, [0, 1], lipschitz=-1.0)
    with pytest.raises(ValueError, match="slack"):
        gronwall_check(f, x, x + 1, [0, 1], slack=-1.0)
    with pytest.raises(TypeError, match="field"):
        gronwall_check("f", x, x + 1, [0, 1])
    g = random_mlp_field(3, 4, activation=register_activation(_uniq("sq"), "x**2"))
    with pytest.raises(ValueError, match="unbounded"):
        gronwall_check(g, x, x + 1, [0, 1])


# ---------------------------------------------------------------- non-crossing


def test_flow_trajectories_never_cross():
    f = random_mlp_field(2, 32, sigma_w2=3.0, sigma_b2=0.5, n_nodes=4, t_max=3.0, seed=7)
    x0 = np.random.default_rng(0).uniform(-2, 2, (40, 2))
    sol = odeint_batch(f, x0, np.linspace(0, 3, 61))
    r = trajectories_cross(sol.states)
    assert not r.crossed
    floor = math.exp(-lipschitz_bound(f) * 3.0)  # Gronwall backwards
    assert r.min_ratio >= floor * (1 - 1e-6)
    assert r.ratios.shape == (40, 40) and np.all(np.diag(r.ratios) == np.inf)
    i, j = r.pair
    assert i < j and r.ratios[i, j] == r.min_ratio
    assert 0.0 <= r.position <= 60.0


def test_one_dimensional_flow_keeps_order_but_resnet_swaps():
    # f(z) = -z: as a flow over [0, 2], z(t) = x e^{-t}; as one Euler step h = 2, z -> -z
    f = MLPField([[1.0]], None, [[-1.0]], None, activation="linear")
    x0 = np.array([[-1.0], [0.5], [2.0]])
    flow = odeint_batch(f, x0, np.linspace(0, 2, 21))
    rf = trajectories_cross(flow.states)
    assert not rf.crossed
    assert rf.min_ratio == pytest.approx(math.exp(-2.0), rel=1e-7)
    resnet = odeint_batch(f, x0, [0.0, 2.0], method="euler", n_steps=1)
    np.testing.assert_allclose(resnet.states[-1], -x0)
    rr = trajectories_cross(resnet.states)
    assert rr.crossed and rr.min_ratio < 1e-12
    assert rr.position == pytest.approx(0.5)
    # the samples alone do not see a swap (distances are preserved)
    assert not trajectories_cross(resnet.states, interpolate=False).crossed


def test_resnet_step_collapses_points():
    # h = 1: z -> z - z = 0 maps every point to the origin (not injective)
    f = MLPField(np.eye(2), None, -np.eye(2), None, activation="linear")
    x0 = np.array([[1.0, 0.0], [-1.0, 2.0], [0.3, 0.3]])
    res = odeint_batch(f, x0, [0.0, 1.0], method="euler", n_steps=1)
    r = trajectories_cross(res.states, interpolate=False)
    assert r.crossed and r.min_distance == 0.0 and r.position == 1.0
    # a 2-D swap through the origin
    sw = odeint_batch(f, np.array([[1.0, 0.0], [-1.0, 0.0]]), [0.0, 2.0], method="euler",
                      n_steps=1)
    assert trajectories_cross(sw.states).crossed


def test_trajectories_cross_bad_inputs():
    with pytest.raises(ValueError, match="states"):
        trajectories_cross(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="states"):
        trajectories_cross(np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="coincident"):
        trajectories_cross(np.zeros((3, 2, 2)))
    s = np.random.default_rng(0).standard_normal((3, 4, 2))
    with pytest.raises(ValueError, match="tol"):
        trajectories_cross(s, tol=-1.0)
    with pytest.raises(TypeError, match="interpolate"):
        trajectories_cross(s, interpolate="yes")
    with pytest.raises(ValueError, match="states must be finite"):
        trajectories_cross(np.full((2, 3, 1), np.nan))


# ---------------------------------------------------------------- invertible blocks


def _iblock(c, d=5, hid=32, seed=0, act="tanh", bias=0.3):
    rng = np.random.default_rng(seed)
    w1 = spectral_normalise(rng.standard_normal((hid, d)), 1.0)
    w1 = w1 / np.linalg.norm(w1, 2)
    w2 = rng.standard_normal((d, hid))
    w2 = c / activation_lipschitz(act) * w2 / np.linalg.norm(w2, 2)
    b1 = bias * rng.standard_normal(hid)
    b2 = bias * rng.standard_normal(d)
    return w1, b1, w2, b2


def test_spectral_normalise():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 4))
    v = spectral_normalise(w, 0.5)
    assert np.linalg.norm(v, 2) == pytest.approx(0.5, rel=1e-14)
    np.testing.assert_allclose(v / np.linalg.norm(v), w / np.linalg.norm(w), rtol=1e-14)
    small = 0.01 * w
    out = spectral_normalise(small, 10.0)
    np.testing.assert_array_equal(out, small)
    assert out is not small
    with pytest.raises(ValueError, match="w must"):
        spectral_normalise(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="c must"):
        spectral_normalise(w, 0.0)
    with pytest.raises(TypeError, match="w must"):
        spectral_normalise("abc", 1.0)


@pytest.mark.parametrize("act,c", [("tanh", 0.9), ("relu", 0.5), ("elu", 0.97)])
def test_iresblock_round_trip_rate_and_lipschitz(act, c):
    w1, b1, w2, b2 = _iblock(c, act=act, seed=1)
    rng = np.random.default_rng(2)
    x = 2.0 * rng.standard_normal((300, 5))
    y = iresblock_forward(x, w1, b1, w2, b2, act)
    inv = iresblock_inverse(y, w1, b1, w2, b2, act, tol=1e-14)
    assert inv.converged and inv.lipschitz == pytest.approx(c, rel=1e-12)
    assert np.max(np.abs(inv.x - x)) < 1e-12
    assert inv.rate <= c * (1 + 1e-6)
    assert np.all(inv.error_bound <= 1e-11)
    # bi-Lipschitz: Lip(F) <= 1 + c, Lip(F^{-1}) <= 1 / (1 - c)
    x1, x2 = x[:150], x[150:] + 1e-3 * rng.standard_normal((150, 5))
    x2 = np.concatenate([x2[:75], x1[75:] + 1e-3 * rng.standard_normal((75, 5))])
    dx = np.linalg.norm(x1 - x2, axis=1)
    dy = np.linalg.norm(iresblock_forward(x1, w1, b1, w2, b2, act)
                        - iresblock_forward(x2, w1, b1, w2, b2, act), axis=1)
    assert np.all(dy <= (1 + c) * dx * (1 + 1e-12))
    y1, y2 = 3.0 * rng.standard_normal((2, 200, 5))
    xi1 = iresblock_inverse(y1, w1, b1, w2, b2, act).x
    xi2 = iresblock_inverse(y2, w1, b1, w2, b2, act).x
    ratio = np.linalg.norm(xi1 - xi2, axis=1) / np.linalg.norm(y1 - y2, axis=1)
    assert np.all(ratio <= 1 / (1 - c) * (1 + 1e-9))


@pytest.mark.parametrize("c", [0.3, 0.7, 0.95])
def test_iresblock_rate_and_iterations_match_contraction_bound(c):
    """g(x) = -c x (linear phi): x_{k+1} = y + c x_k contracts at exactly rate c."""
    q = _orthonormal_cols(4, 3, 5)
    w1, w2 = q, -c * q.T
    rng = np.random.default_rng(3)
    y = rng.standard_normal((50, 3))
    tol = 1e-10
    inv = iresblock_inverse(y, w1, None, w2, None, "linear", tol=tol)
    np.testing.assert_allclose(inv.x, y / (1 - c), rtol=1e-8, atol=1e-12)
    assert inv.rate == pytest.approx(c, rel=1e-6)
    d0 = np.linalg.norm(-c * y, axis=1)  # |x_1 - x_0| = h |g(y)|
    bound = 1 + np.ceil(np.log(tol / d0) / np.log(c))
    assert np.all(inv.n_iter <= bound)
    # the bound is attained up to the max(1, |x|) scaling of the tolerance
    scale = np.maximum(1.0, np.linalg.norm(inv.x, axis=1))
    tight = 1 + np.ceil(np.log(tol * scale / d0) / np.log(c))
    assert np.all(np.abs(inv.n_iter - tight) <= 1)


def test_iresblock_step_h_and_single_point():
    w1, b1, w2, b2 = _iblock(0.8, d=3, hid=8, seed=4)
    x = np.array([0.2, -1.0, 0.7])
    y = iresblock_forward(x, w1, b1, w2, b2, "tanh", h=1.2)
    inv = iresblock_inverse(y, w1, b1, w2, b2, "tanh", h=1.2)
    assert inv.x.shape == (3,) and isinstance(inv.n_iter, int)
    assert inv.lipschitz == pytest.approx(0.96, rel=1e-12)
    np.testing.assert_allclose(inv.x, x, atol=1e-12)
    with pytest.raises(ValueError, match="Lip >= 1"):
        iresblock_inverse(y, w1, b1, w2, b2, "tanh", h=1.3)


def test_iresblock_inverse_failures_and_bad_inputs():
    w1, b1, w2, b2 = _iblock(0.9, d=3, hid=6, seed=5)
    y = np.ones((4, 3))
    with pytest.raises(ValueError, match="Lip >= 1"):
        iresblock_inverse(y, w1, b1, 2 * w2, b2)
    sq = register_activation(_uniq("sq"), "x**2")
    with pytest.raises(ValueError, match="Lip >= 1"):
        iresblock_inverse(y, w1, b1, 0.01 * w2, b2, sq)
    with pytest.raises(ConvergenceError, match="max_iter=3"):
        iresblock_inverse(y, w1, b1, w2, b2, max_iter=3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = iresblock_inverse(y, w1, b1, w2, b2, max_iter=3, on_fail="warn")
    assert not r.converged and any(issubclass(w.category, RuntimeWarning) for w in rec)
    # a good starting point converges at once
    x = iresblock_inverse(y, w1, b1, w2, b2).x
    r0 = iresblock_inverse(y, w1, b1, w2, b2, x0=x)
    assert np.all(r0.n_iter <= 2)
    bad = [
        (dict(w2=np.ones((2, 6))), ValueError, "w2 must have shape"),
        (dict(w1=np.ones(3)), ValueError, "w1 must"),
        (dict(b1=np.ones(5)), ValueError, "b1 must"),
        (dict(b2=np.ones(2)), ValueError, "b2 must"),
        (dict(h=0.0), ValueError, "h must"),
        (dict(tol=0.0), ValueError, "tol must"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(max_iter=2.5), TypeError, "max_iter"),
        (dict(on_fail="loud"), ValueError, "on_fail"),
        (dict(y=np.ones((4, 2))), ValueError, "y must have shape"),
        (dict(y=np.full(3, np.nan)), ValueError, "y must be finite"),
        (dict(x0=np.ones((3, 3))), ValueError, "x0 must"),
        (dict(activation="nope"), ValueError, "nope"),
    ]
    base = dict(y=y, w1=w1, b1=b1, w2=w2, b2=b2)
    for change, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            iresblock_inverse(**{**base, **change})
    with pytest.raises(ValueError, match="x must have shape"):
        iresblock_forward(np.ones(2), w1, b1, w2, b2)


# ---------------------------------------------------------------- docstrings

_CITE = re.compile(r"(1[89]\d\d|20[0-4]\d)|et al\.|:func:`|:class:`")
_BANNED = re.compile(r"THEORY\.md|seed\s*0\d\d|seeds?/|the seed's|/work/|/home/|/tmp/", re.I)


def test_public_docstrings_cite_sources():
    assert not _BANNED.search(thm.__doc__)
    for name in thm.__all__:
        obj = getattr(thm, name)
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 20 and not _BANNED.search(doc), name
        if inspect.isfunction(obj):
            assert _CITE.search(doc), name
