"""progress= on the Monte Carlo samplers of meanfield and rmt: a bar on stderr, same result.

Each sampler is run with progress=False and progress=True on the same seed and the two
results compared bitwise.  The blocked samplers (simulate_layers and friends,
simulate_resnet, sample_network, sample_resnet) run their trials in blocks of at least
the thread count when the bar is on: n_trials = 9 with the thread pool pinned to two
threads gives several blocks (and an odd last one), so the block seeds are exercised.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from _equality import _equal  # noqa: E402

import deeptheory.meanfield as mf
import deeptheory.rmt as rmt
from deeptheory.kernels.montecarlo import sample_network, sample_resnet
from deeptheory.meanfield.simulate import make_inputs
from deeptheory.meanfield.simulate_resnet import resnet_inputs

N_TRIALS = 9
NET = dict(width=32, n_trials=N_TRIALS, seed=5)


@pytest.fixture
def two_threads():
    """Two Numba threads (blocks of >= 2 trials: several blocks for 9 trials)."""
    old = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _same(capsys, fn, *args, desc, total, **kw):
    a = fn(*args, **kw)
    capsys.readouterr()
    b = fn(*args, progress=True, **kw)
    err = capsys.readouterr().err
    _equal(a, b)
    assert desc in err and f"{total}/{total}" in err, err
    with pytest.raises(TypeError, match="progress"):
        fn(*args, progress="yes", **kw)
    return a


@pytest.mark.parametrize("name,kw", [
    ("simulate_layers", dict(depth=6)),
    ("simulate_q_star", dict(depth=6)),
    ("simulate_c_star", dict(depth=6)),
    ("simulate_chi1", dict(depth=6)),
    ("simulate_chi_c", dict(depth=6)),
])
def test_simulate_blocks_are_bitwise_the_same(capsys, two_threads, name, kw):
    _same(capsys, getattr(mf, name), 1.5, 0.05, "tanh", desc=name, total=N_TRIALS, **NET, **kw)


def test_simulate_orthogonal_blocks(capsys, two_threads):
    res = _same(capsys, mf.simulate_layers, 1.2, 0.1, "relu", depth=4, weights="orthogonal",
                desc="simulate_layers", total=N_TRIALS, **NET)
    assert res.sample.q1.shape == (N_TRIALS, 4)


def test_simulate_curvature(capsys):
    _same(capsys, mf.simulate_curvature, 2.0, 0.1, "tanh", depth=3, width=32, n_points=16,
          n_trials=3, seed=1, desc="simulate_curvature", total=3)


def test_simulate_transition(capsys):
    _same(capsys, mf.simulate_transition, [0.8, 1.0, 1.2], 0.0, "tanh", width=32, depth=6,
          n_trials=3, seed=2, desc="simulate_transition", total=3)


def test_simulate_resnet(capsys, two_threads):
    for kind in ("reduced", "full"):
        _same(capsys, mf.simulate_resnet, 1.0, 0.1, "tanh", depth=5, kind=kind, alpha=0.5,
              desc="simulate_resnet", total=N_TRIALS, **NET)


@pytest.mark.parametrize("name", ["empirical_nngp", "empirical_ntk"])
def test_empirical_kernels(capsys, name):
    x = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5], [0.6, 0.8, 0.0]])
    _same(capsys, getattr(mf, name), x, depth=2, sigma_w2=2.0, sigma_b2=0.1, width=32,
          n_networks=4, seed=3, desc=name, total=4)


def test_sample_jacobian_singular_values(capsys):
    for weights in ("gaussian", "orthogonal"):
        _same(capsys, rmt.sample_jacobian_singular_values, 1.0, 0.05, 3, "tanh", width=32,
              weights=weights, n_trials=4, seed=7, desc="sample_jacobian_singular_values",
              total=4)
    # a Generator is advanced the same way with and without the bar
    g1, g2 = np.random.default_rng(11), np.random.default_rng(11)
    a = rmt.sample_jacobian_singular_values(1.0, 0.05, 2, width=16, n_trials=3, seed=g1)
    b = rmt.sample_jacobian_singular_values(1.0, 0.05, 2, width=16, n_trials=3, seed=g2,
                                            progress=True)
    _equal(a, b)
    _equal(g1.random(4), g2.random(4))


def test_kernel_samplers_blocks(capsys, two_threads):
    """The compiled samplers themselves: blocks of rows, seed + start, equal to one call."""
    x1, x2, v = make_inputs(16, 1.0, 0.3)
    kw = dict(width=24, depth=4, n_trials=N_TRIALS, seed=9)
    a = sample_network("tanh", x1, x2, v, 1.3, 0.1, **kw)
    b = sample_network("tanh", x1, x2, v, 1.3, 0.1, progress=True, desc="my_net", **kw)
    _equal(a, b)
    # rows a..b-1 of a run are the run with seed + a and b - a trials
    _equal(sample_network("tanh", x1, x2, v, 1.3, 0.1, width=24, depth=4, n_trials=3,
                          seed=12).q1, a.q1[3:6])
    r1, r2, g = resnet_inputs(24, 1.0, 0.4)
    kr = dict(depth=4, n_trials=N_TRIALS, seed=4, alpha=0.7)
    _equal(sample_resnet("tanh", r1, r2, g, 1.0, 0.1, **kr),
           sample_resnet("tanh", r1, r2, g, 1.0, 0.1, progress=True, desc="my_res", **kr))
    err = capsys.readouterr().err
    assert "my_net" in err and "my_res" in err and f"{N_TRIALS}/{N_TRIALS}" in err
    with pytest.raises(TypeError, match="progress"):
        sample_network("tanh", x1, x2, v, 1.3, 0.1, progress="yes", **kw)
    with pytest.raises(TypeError, match="progress"):
        sample_resnet("tanh", r1, r2, g, 1.0, 0.1, progress="yes", **kr)


def test_quiet_by_default(capsys):
    mf.simulate_q_star(1.5, 0.05, width=16, depth=4, n_trials=2)
    rmt.sample_jacobian_singular_values(1.0, 0.05, 2, width=8)
    assert capsys.readouterr().err == ""
