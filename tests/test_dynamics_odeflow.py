"""Batched ODE flows of one-hidden-layer fields (deeptheory.dynamics.odeflow).

Independent truths: the matrix exponential for a linear field, scipy's DOP853 at
rtol 1e-12 for a time-dependent tanh field, explicit NumPy Euler / RK4 loops, and the
global error orders 1 and 4 measured on halved steps.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from deeptheory import ConvergenceError
from deeptheory.dynamics.odeflow import (
    MLPField,
    OdeSolution,
    StepUnderflowWarning,
    odeint_batch,
    random_mlp_field,
)
from deeptheory.kernels._threads import forced


def _linear_field(d=3, h=4, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((h, d)) * scale / np.sqrt(d)
    w2 = rng.standard_normal((d, h)) * scale / np.sqrt(h)
    return MLPField(w1, None, w2, None, activation="linear"), w2 @ w1


def _x0(n, d, seed=1):
    return np.random.default_rng(seed).standard_normal((n, d))


def _dop853(field, x0, times):
    out = np.empty((len(times), x0.shape[0], x0.shape[1]))
    for i, x in enumerate(x0):
        sol = solve_ivp(lambda t, z: field(z, t), (times[0], times[-1]), x, method="DOP853",
                        rtol=1e-12, atol=1e-14, t_eval=times)
        out[:, i, :] = sol.y.T
    return out


# ---------------------------------------------------------------- linear field vs expm


@pytest.mark.parametrize("method,kw,tol", [
    ("rk4", {"n_steps": 400}, 1e-9),
    ("dopri5", {"rtol": 1e-10, "atol": 1e-12}, 1e-8),
])
def test_linear_field_matches_expm(method, kw, tol):
    field, a = _linear_field()
    x0 = _x0(20, 3)
    times = np.array([0.0, 0.5, 1.25, 2.0])
    res = odeint_batch(field, x0, times, method=method, **kw)
    assert isinstance(res, OdeSolution) and res.success
    assert res.states.shape == (4, 20, 3)
    for k, t in enumerate(times):
        exact = x0 @ expm(a * t).T
        np.testing.assert_allclose(res.states[k], exact, rtol=0, atol=tol)


def test_linear_field_backward_in_time():
    field, a = _linear_field(seed=3)
    x0 = _x0(5, 3)
    res = odeint_batch(field, x0, [1.0, 0.0, -0.5], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.states[1], x0 @ expm(-a).T, atol=1e-8)
    np.testing.assert_allclose(res.states[2], x0 @ expm(-1.5 * a).T, atol=1e-8)


# ---------------------------------------------------------------- DOPRI5 vs DOP853


def test_dopri5_matches_dop853_time_dependent_tanh():
    field = random_mlp_field(3, 16, sigma_w2=2.0, sigma_b2=0.2, n_nodes=5, t_max=2.0, seed=4)
    x0 = _x0(12, 3, seed=5)
    times = np.array([0.0, 0.3, 0.5, 1.0, 1.7, 2.0])  # 0.5, 1.0 are weight nodes
    ref = _dop853(field, x0, times)
    rtol = 1e-8
    res = odeint_batch(field, x0, times, rtol=rtol, atol=1e-12)
    assert res.success and np.all(res.n_steps_taken > 0)
    scale = np.maximum(np.abs(ref), 1.0)
    assert np.max(np.abs(res.states - ref) / scale) < 10 * rtol
    # a tighter tolerance takes more steps and gets closer
    tight = odeint_batch(field, x0, times, rtol=1e-11, atol=1e-14)
    assert np.all(tight.n_steps_taken >= res.n_steps_taken)
    assert np.max(np.abs(tight.states - ref) / scale) < 1e-9


def test_single_point_and_serial_parallel_agree():
    field = random_mlp_field(2, 8, n_nodes=3, seed=7)
    x0 = _x0(40, 2, seed=8)
    outs = {}
    for mode in ("serial", "parallel"):
        with forced(mode):
            outs[mode] = (odeint_batch(field, x0, [0.0, 1.0]).states,
                          odeint_batch(field, x0, [0.0, 1.0], method="rk4", n_steps=8).states)
    for a, b in zip(outs["serial"], outs["parallel"], strict=True):
        np.testing.assert_array_equal(a, b)
    one = odeint_batch(field, x0[3], [0.0, 1.0])
    assert one.states.shape == (2, 2)
    np.testing.assert_array_equal(one.states, outs["serial"][0][:, 3])


def test_serial_parallel_agree_wide_field_and_odd_widths():
    # width 64 (the benchmark's) and 13 (tails of the 4-way sums): many 16-point chunks
    for hidden, act in ((64, "tanh"), (13, "tanh"), (13, "erf")):
        field = random_mlp_field(2, hidden, sigma_b2=0.1, n_nodes=4, activation=act, seed=2)
        x0 = _x0(70, 2, seed=3)
        outs = []
        for mode in ("serial", "parallel"):
            with forced(mode):
                outs.append(odeint_batch(field, x0, [0.0, 0.4, 1.0]))
        np.testing.assert_array_equal(outs[0].states, outs[1].states)
        np.testing.assert_array_equal(outs[0].n_fev, outs[1].n_fev)


# ---------------------------------------------------------------- the compiled field


@pytest.mark.parametrize("act", ["tanh", "erf", "relu", "linear"])
@pytest.mark.parametrize("hidden", [1, 3, 4, 13, 64])
@pytest.mark.parametrize("n_nodes", [1, 3])
def test_compiled_field_equals_numpy(act, hidden, n_nodes):
    # one Euler step of length 1 from t0 gives x0 + f(x0, t0): f at a node and between nodes
    field = random_mlp_field(3, hidden, sigma_w2=2.0, sigma_b2=0.3, n_nodes=n_nodes,
                             t_max=1.0, activation=act, smooth=False, seed=hidden)
    x0 = _x0(9, 3, seed=hidden + 1)
    for t0 in (0.0, 0.3, 0.5):
        res = odeint_batch(field, x0, [t0, t0 + 1.0], method="euler", n_steps=1)
        np.testing.assert_allclose(res.states[1] - x0, field(x0, t0), rtol=1e-13, atol=1e-14)


def test_vectorised_tanh_within_1_5_ulp():
    # the field's tanh (kernels.odeint.ode_tanh, Cephes' algorithm without branches) against
    # an extended-precision reference; libm's tanh measures about 1.2 ulp the same way
    if np.finfo(np.longdouble).nmant < 60:
        pytest.skip("needs an 80-bit or wider long double for the reference")
    from deeptheory.kernels.odeint import ode_tanh_array

    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.normal(size=200_000) * 2.0, rng.uniform(-25.0, 25.0, 100_000),
        np.linspace(-1.5, 1.5, 100_001), rng.uniform(0.62, 0.63, 50_000),
        np.exp(rng.uniform(-40.0, 3.2, 50_000)) * rng.choice([-1.0, 1.0], 50_000),
    ])
    y = x.copy()
    ode_tanh_array(y)
    ref = np.tanh(x.astype(np.longdouble))
    ulp = np.spacing(np.abs(ref).astype(float)).astype(np.longdouble)
    err = np.abs((y.astype(np.longdouble) - ref) / ulp).astype(float)
    assert err.max() <= 1.5, err.max()
    assert err.mean() < 0.35
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-300, 0.625, -0.625,
                   19.5, 20.0, 21.0, 710.0, -1e308])
    out = sp.copy()
    ode_tanh_array(out)
    np.testing.assert_array_equal(out[[0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14]],
                                  np.tanh(sp[[0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14]]))
    num = ~np.isnan(sp)
    np.testing.assert_array_equal(np.signbit(out[num]), np.signbit(sp[num]))
    np.testing.assert_allclose(out[8:10], np.tanh(sp[8:10]), rtol=2.3e-16)


# ---------------------------------------------------------------- fixed steps


def _numpy_fixed(field, x0, t0, t1, n_steps, method):
    h = (t1 - t0) / n_steps
    z = x0.copy()
    for k in range(n_steps):
        t = t0 + k * h
        k1 = field(z, t)
        if method == "euler":
            z = z + h * k1
            continue
        k2 = field(z + 0.5 * h * k1, t + 0.5 * h)
        k3 = field(z + 0.5 * h * k2, t + 0.5 * h)
        k4 = field(z + h * k3, t0 + (k + 1) * h)
        z = z + h / 6.0 * (k1 + 2.0 * (k2 + k3) + k4)
    return z


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_fixed_steps_equal_numpy_loop(method):
    field = random_mlp_field(3, 10, sigma_b2=0.3, n_nodes=4, t_max=1.5, seed=9)
    x0 = _x0(7, 3, seed=10)
    res = odeint_batch(field, x0, [0.0, 0.75, 1.5], method=method, n_steps=30)
    np.testing.assert_allclose(res.states[1], _numpy_fixed(field, x0, 0.0, 0.75, 15, method),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.states[2], _numpy_fixed(field, x0, 0.0, 1.5, 30, method),
                               rtol=1e-12, atol=1e-14)
    assert np.all(res.n_steps_taken == 30)
    assert np.all(res.n_fev == 30 * (1 if method == "euler" else 4))


@pytest.mark.parametrize("method,order", [("euler", 1.0), ("rk4", 4.0)])
def test_fixed_step_global_order(method, order):
    # smooth weights sampled at nodes 0, 0.5, 1 (on every grid below, so no kink inside a step)
    field = random_mlp_field(2, 12, sigma_w2=1.5, sigma_b2=0.2, n_nodes=3, t_max=1.0, seed=11)
    x0 = _x0(6, 2, seed=12)
    ref = odeint_batch(field, x0, [0.0, 1.0], rtol=1e-13, atol=1e-15).states[-1]
    ns = [16, 32, 64, 128] if method == "rk4" else [32, 64, 128, 256]
    errs = [np.max(np.abs(odeint_batch(field, x0, [0.0, 1.0], method=method,
                                       n_steps=n).states[-1] - ref)) for n in ns]
    slopes = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    # measured (this seed): euler 1.08, 1.04, 1.02; rk4 3.96, 3.98, 3.99
    assert np.all(np.abs(slopes - order) < 0.15 * order), slopes


def test_fixed_step_grid_and_n_steps_checks():
    field = random_mlp_field(2, 4, seed=0)
    x0 = _x0(3, 2)
    with pytest.raises(ValueError, match="n_steps"):
        odeint_batch(field, x0, [0.0, 1.0], method="rk4")
    with pytest.raises(ValueError, match="n_steps"):
        odeint_batch(field, x0, [0.0, 1.0], method="euler", n_steps=0)
    with pytest.raises(ValueError, match="times must lie on the grid"):
        odeint_batch(field, x0, [0.0, 0.33, 1.0], method="euler", n_steps=10)
    with pytest.raises(ValueError, match="n_steps"):
        odeint_batch(field, x0, [0.0, 1.0], n_steps=10)


# ---------------------------------------------------------------- failure modes


def test_max_steps_raises_or_warns():
    field = random_mlp_field(2, 8, sigma_w2=4.0, seed=2)
    x0 = _x0(4, 2)
    with pytest.raises(ConvergenceError, match="max_steps"):
        odeint_batch(field, x0, [0.0, 5.0], max_steps=3)
    with pytest.warns(RuntimeWarning, match="max_steps"):
        res = odeint_batch(field, x0, [0.0, 2.5, 5.0], max_steps=3, on_fail="warn")
    assert not res.success and np.all(res.status == 1)
    assert np.all(np.isnan(res.states[1:])) and np.all(res.states[0] == x0)


def test_step_underflow_warns_not_hangs():
    # z' = 1e6 z from 1e300 overflows near t = 7e-4: the stages turn inf, the step shrinks
    # until it underflows; the other point is fine
    big = MLPField(np.array([[1e3]]), None, np.array([[1e3]]), None, activation="linear")
    with pytest.warns(StepUnderflowWarning, match="underflow"):
        res = odeint_batch(big, np.array([[1e300], [1e-300]]), [0.0, 1e-6, 1e-3], atol=0.0)
    assert list(res.status) == [2, 0]
    assert np.isnan(res.states[-1, 0, 0]) and np.isfinite(res.states[1, 0, 0])
    exact = np.exp(np.log(1e-300) + np.array([0.0, 1.0, 1e3]))
    np.testing.assert_allclose(res.states[:, 1, 0], exact, rtol=1e-5)


def test_overflow_gives_nonfinite_warning():
    big = MLPField(np.array([[1e3]]), None, np.array([[1e3]]), None, activation="linear")
    with pytest.warns(RuntimeWarning, match="non-finite"):
        res = odeint_batch(big, np.array([[1e300]]), [0.0, 1.0], method="euler", n_steps=4)
    assert res.status[0] == 3 and np.isnan(res.states[-1, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        odeint_batch(big, np.array([[1.0]]), [0.0, 1e-3], method="euler", n_steps=4)


# ---------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    field = random_mlp_field(2, 4, n_nodes=3, seed=0)
    x0 = _x0(3, 2)
    cases = [
        ({"x0": np.array([[np.nan, 0.0]])}, "x0"),
        ({"x0": np.zeros((3, 3))}, "x0"),
        ({"times": [0.0, 0.0]}, "times"),
        ({"times": [0.0, 1.0, 0.5]}, "times"),
        ({"times": [0.0]}, "times"),
        ({"times": [0.0, np.inf]}, "times"),
        ({"rtol": 0.0}, "rtol"),
        ({"rtol": -1e-6}, "rtol"),
        ({"rtol": 1e-300}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"max_steps": 0}, "max_steps"),
        ({"method": "rk45"}, "method"),
        ({"first_step": 0.0}, "first_step"),
    ]
    for kw, name in cases:
        args = {"x0": x0, "times": [0.0, 1.0], **kw}
        with pytest.raises(ValueError, match=name):
            odeint_batch(field, args.pop("x0"), args.pop("times"), **args)
    with pytest.raises(TypeError, match="field"):
        odeint_batch(lambda z, t: z, x0, [0.0, 1.0])


def test_field_validation():
    w1, w2 = np.ones((4, 2)), np.ones((2, 4))
    with pytest.raises(ValueError, match="w1"):
        MLPField(np.array([[np.nan, 0.0]]), None, np.ones((2, 1)), None)
    with pytest.raises(ValueError, match="w2"):
        MLPField(w1, None, np.ones((3, 4)), None)
    with pytest.raises(ValueError, match="b1"):
        MLPField(w1, np.ones(3), w2, None)
    with pytest.raises(ValueError, match="b2"):
        MLPField(w1, None, w2, np.ones(3))
    with pytest.raises(ValueError, match="times"):
        MLPField(np.ones((3, 4, 2)), None, np.ones((3, 2, 4)), None)  # nodes need times
    with pytest.raises(ValueError, match="times"):
        MLPField(np.ones((3, 4, 2)), None, np.ones((3, 2, 4)), None, times=[0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="w2"):
        MLPField(np.ones((3, 4, 2)), None, np.ones((2, 2, 4)), None, times=[0, 1, 2])
    with pytest.raises(ValueError, match="activation"):
        MLPField(w1, None, w2, None, activation="no_such_activation")
    f = MLPField(w1, None, w2, None)
    assert (f.dim, f.hidden, f.n_nodes) == (2, 4, 1)
    with pytest.raises(ValueError):
        f.w1[0, 0, 0] = 2.0  # read-only


def test_random_field_is_seeded_and_interpolates():
    a = random_mlp_field(2, 5, n_nodes=4, sigma_b2=0.1, seed=3)
    b = random_mlp_field(2, 5, n_nodes=4, sigma_b2=0.1, seed=3)
    np.testing.assert_array_equal(a.w1, b.w1)
    assert a.w1.shape == (4, 5, 2) and np.allclose(a.times, np.linspace(0, 1, 4))
    # smooth and periodic: theta(0) = theta(t_max)
    np.testing.assert_allclose(a.w1[0], a.w1[-1], atol=1e-12)
    w1, _, _, _ = a.weights_at(0.5)
    np.testing.assert_allclose(w1, 0.5 * (a.w1[1] + a.w1[2]))


def test_output_time_within_rounding_of_a_node_is_one_stop():
    """Node 0.6 and output time 0.6000000000000001 (linspace): no step-size underflow,
    and the result equals the run whose output grid hits the nodes exactly."""
    from deeptheory.dynamics.odeflow import odeint_batch, random_mlp_field

    f = random_mlp_field(2, 8, n_nodes=6, t_max=3.0, seed=4)
    x0 = np.random.default_rng(0).standard_normal((5, 2))
    times = np.linspace(0.0, 3.0, 61)
    assert np.any((np.abs(times - 0.6) < 1e-15) & (times != 0.6))
    sol = odeint_batch(f, x0, times, rtol=1e-10, atol=1e-12)
    assert np.all(sol.status == 0) and np.all(np.isfinite(sol.states))
    ref = odeint_batch(f, x0, [0.0, 0.6, 3.0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.states[-1], ref.states[-1], atol=1e-8)
