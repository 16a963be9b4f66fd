"""progress= on the long loops of deeptheory.spinglass and dynamics.lyapunov_spectrum.

For every function: the result with the bar is bitwise the one without it (same seed), the
bar (tqdm on stderr) names the function and reaches its total, nothing is written to
stderr without it, and a progress that is not a bool raises TypeError.
"""

from __future__ import annotations

import numpy as np
import pytest
from _equality import _equal  # noqa: E402

import deeptheory.dynamics as dyn
import deeptheory.spinglass as sg


def _same(capsys, fn, *args, bar: str, **kw):
    """fn(*args, **kw) with the bar off and on: bitwise equal results, the bar's text."""
    a = fn(*args, **kw)
    assert capsys.readouterr().err == ""
    b = fn(*args, progress=True, **kw)
    _equal(a, b)
    err = capsys.readouterr().err
    assert fn.__name__ in err and bar in err, err[-400:]
    with pytest.raises(TypeError, match="progress"):
        fn(*args, progress="yes", **kw)
    return a


def test_gradient_descent(capsys):
    h = sg.sample_hamiltonian(12, 3, seed=1)
    r = _same(capsys, sg.gradient_descent, h, 20, 2, tol=0.0, max_iter=40, chunk=7,
              bar="40/40")
    assert np.all(r.n_iter == 40)
    # early stopping at different steps (starts compacted across calls); the bar still ends
    r = _same(capsys, sg.gradient_descent, h, 16, 3, tol=1e-4, max_iter=3000, bar="3000/3000")
    assert r.converged.all() and len(set(r.n_iter.tolist())) > 3
    _same(capsys, sg.gradient_descent, sg.sample_hamiltonian(7, 4, seed=2), 9, 1, tol=0.0,
          max_iter=7, bar="7/7")
    _equal(sg.gradient_descent(h, 3, 0, max_iter=0), sg.gradient_descent(h, 3, 0, max_iter=0,
                                                                          progress=True))


def test_critical_points(capsys):
    h = sg.sample_hamiltonian(5, 3, seed=1)
    r = _same(capsys, sg.critical_points, h, 40, 2, max_newton=30, bar="31/31")
    assert r.n_converged > 0
    _equal(sg.critical_points(h, 12, 3, use_gd=True),
           sg.critical_points(h, 12, 3, use_gd=True, progress=True))
    err = capsys.readouterr().err
    assert "gradient_descent" in err and "critical_points" in err


def test_enumerate_gibbs(capsys):
    _same(capsys, sg.enumerate_gibbs, sg.sk_model(11, seed=3), [0.3, 1.0, 4.0], bar="64/64")
    _same(capsys, sg.enumerate_gibbs, sg.sample_hamiltonian(8, 3, seed=2), 1.5,
          correlations=False, bar="64/64")
    _same(capsys, sg.enumerate_gibbs, sg.sk_model(4, seed=1), 1.0, bar="8/8")  # 2^(N-1) chunks


def test_choromanska_experiment(capsys):
    _same(capsys, sg.choromanska_experiment, (2, 5), n_inits=3, dim=3, n_train=16, n_test=16,
          steps=20, seed=4, bar="40/40")


def test_critical_point_counts(capsys):
    _same(capsys, sg.expected_critical_points_mc, 4, 3, n_samples=500, batch=128, seed=1,
          bar="500/500")
    _same(capsys, sg.expected_critical_points, [3, 4], 3, bar="2/2")
    _same(capsys, sg.expected_critical_points_total, [5, 10, 20], 3, -0.5, bar="3/3")


def test_parisi(capsys):
    _same(capsys, sg.sk_parisi, 0.5, 0.0, 2, bar="2/2")
    _same(capsys, sg.sk_ground_state, 0.0, 4, tol=1e-6, bar="4/4")


def test_log_partition_ti(capsys):
    sk = sg.sk_model(10, seed=1)
    r = _same(capsys, sg.log_partition_ti, sk, 1.2, 320, n_grid=4, n_copies=2,
              bar="400/400")  # burn-in 80 + 320 sweeps
    # the same run as parallel_tempering on the grid
    _equal(r.mc, sg.parallel_tempering(sk, r.betas, 320, n_copies=2))


def _henon_f(x):
    return np.array([1.0 - 1.4 * x[0] ** 2 + x[1], 0.3 * x[0]])


def _henon_jac(x):
    return np.array([[-2.8 * x[0], 1.0], [0.3, 0.0]])


def test_lyapunov_spectrum(capsys):
    kw = dict(n_steps=300, on_fail="ignore")
    _same(capsys, dyn.lyapunov_spectrum, dyn.random_rnn(8, 2.0, seed=1), bar="330/330", **kw)
    # fresh weights per layer: Numba's generator carries the draws from block to block
    _same(capsys, dyn.lyapunov_spectrum, dyn.DeepMap(6, 2.0, 0.1), seed=3, bar="330/330",
          **kw)
    _same(capsys, dyn.lyapunov_spectrum, dyn.DeepMap(5, 1.5, weights="orthogonal"), seed=2,
          qr_every=2, transient=7, bar="307/307", **kw)
    _same(capsys, dyn.lyapunov_spectrum, dyn.random_rate_network(6, 2.0, seed=2), k=3,
          bar="330/330", **kw)
    inputs = np.random.default_rng(0).standard_normal((330, 8))
    net = dyn.random_rnn(8, 1.5, seed=4)
    _same(capsys, dyn.lyapunov_spectrum, dyn.DiscreteRNN(net.w, net.b, "tanh", inputs),
          bar="330/330", **kw)
    _same(capsys, dyn.lyapunov_spectrum, dyn.MapSystem(_henon_f, _henon_jac), x0=[0.1, 0.1],
          n_steps=120, transient=5, on_fail="ignore", bar="125/125")
