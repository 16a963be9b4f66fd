"""Serial and parallel kernel launches agree bitwise; small batches run serially."""

from __future__ import annotations

import os

import numba
import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory import rmt
from deeptheory.infotheory import pairwise_mi_bounds
from deeptheory.kernels import (
    _threads,
    get_activation,
    montecarlo,
    pairwise,
    sample_network,
    stieltjes,
)
from deeptheory.rmt import free

MULTI = numba.config.NUMBA_NUM_THREADS >= 2


@pytest.fixture
def two_threads():
    """Numba on 2 threads (where available) for the test, restored afterwards."""
    old = numba.get_num_threads()
    numba.set_num_threads(2 if MULTI else 1)
    yield
    numba.set_num_threads(old)


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


# ------------------------------------------------------------------ the dispatch rule


def test_small_work_is_serial_large_is_parallel(two_threads):
    assert not _threads.use_parallel(0.0)
    assert not _threads.use_parallel(_threads.MIN_PARALLEL_NS * 0.99)
    assert _threads.use_parallel(_threads.MIN_PARALLEL_NS) == MULTI
    s, p = object(), object()
    assert _threads.pick(s, p, 10.0) is s
    assert _threads.pick(s, p, 1e12) is (p if MULTI else s)


def test_one_thread_is_always_serial():
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert not _threads.use_parallel(1e15)
    finally:
        numba.set_num_threads(old)


def test_forced_modes_nest_and_restore(two_threads):
    with _threads.forced("parallel"):
        assert _threads.use_parallel(0.0)
        with _threads.forced("serial"):
            assert not _threads.use_parallel(1e15)
        with _threads.forced(None):
            assert not _threads.use_parallel(0.0)
        assert _threads.use_parallel(0.0)
    assert not _threads.use_parallel(0.0)
    with pytest.raises(ValueError, match="mode"):
        with _threads.forced("fast"):
            pass


def test_threshold_is_adjustable(two_threads, monkeypatch):
    monkeypatch.setattr(_threads, "MIN_PARALLEL_NS", 0.0)
    assert _threads.use_parallel(1.0) == MULTI


def test_wait_policy_default():
    # set at import unless the user chose one (the test run may set it itself)
    assert os.environ.get("OMP_WAIT_POLICY")


class _Spy:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def test_stieltjes_small_batch_runs_serially(two_threads, monkeypatch):
    ser, par = _Spy(stieltjes._sums_serial), _Spy(stieltjes._sums_parallel)
    monkeypatch.setattr(stieltjes, "_sums_serial", ser)
    monkeypatch.setattr(stieltjes, "_sums_parallel", par)
    x = np.linspace(0.0, 1.0, 100)
    w = np.full(100, 0.01)
    stieltjes.stieltjes_sum(np.array([0.5 + 1j, 2.0 + 0.1j]), x, w)
    assert (ser.calls, par.calls) == (1, 0)
    big = 2 + int(_threads.MIN_PARALLEL_NS / (stieltjes.NS_PER_TERM * x.size))
    stieltjes.stieltjes_sum(np.linspace(-1, 2, big) + 0.5j, x, w)
    assert (ser.calls, par.calls) == ((1, 1) if MULTI else (2, 0))


def test_pairwise_small_batch_runs_serially(two_threads, monkeypatch):
    ser, par = _Spy(pairwise._lse_serial), _Spy(pairwise._lse_parallel)
    monkeypatch.setattr(pairwise, "_lse_serial", ser)
    monkeypatch.setattr(pairwise, "_lse_parallel", par)
    rng = np.random.default_rng(0)
    pairwise.pairwise_logsumexp(rng.standard_normal((20, 3)), 1.0)
    assert (ser.calls, par.calls) == (1, 0)
    pairwise.pairwise_logsumexp(rng.standard_normal((1500, 3)), 1.0)
    assert (ser.calls, par.calls) == ((1, 1) if MULTI else (2, 0))


def test_network_trials_small_batch_runs_serially(two_threads, monkeypatch):
    fam = get_activation("tanh").family("cpu")
    ser, par = _Spy(fam.mc_network_trials_serial), _Spy(fam.mc_network_trials)
    monkeypatch.setattr(fam, "mc_network_trials_serial", ser)
    monkeypatch.setattr(fam, "mc_network_trials", par)
    x = np.linspace(-1.0, 1.0, 8)
    sample_network("tanh", x, x[::-1], x, 1.5, 0.05, width=8, depth=2, n_trials=2)
    assert (ser.calls, par.calls) == (1, 0)
    assert montecarlo._trial_ns(8, 8, 2, 0) * 2 < _threads.MIN_PARALLEL_NS
    n = 2 + int(_threads.MIN_PARALLEL_NS / montecarlo._trial_ns(8, 64, 4, 1))
    sample_network("tanh", x, x[::-1], x, 1.5, 0.05, width=64, depth=4, n_trials=n,
                   weights="orthogonal")
    assert (ser.calls, par.calls) == ((1, 1) if MULTI else (2, 0))


# ------------------------------------------------------------------ bitwise agreement


@pytest.mark.parametrize("n", [1, 3, 17, 1000])
def test_stieltjes_drivers_bitwise(n, two_threads):
    rng = np.random.default_rng(n)
    x = np.sort(rng.random(57))
    w = rng.random(57)
    w /= w.sum()
    z = rng.standard_normal(n) + 1j * rng.random(n)
    out = []
    for fn in (stieltjes._sums_serial, stieltjes._sums_parallel):
        g, dg = np.empty_like(z), np.empty_like(z)
        fn(z, x, w, g, dg)
        out.append((g, dg))
    assert _same(out[0][0], out[1][0]) and _same(out[0][1], out[1][1])


@pytest.mark.parametrize("n,d", [(1, 1), (7, 3), (300, 5)])
def test_pairwise_drivers_bitwise(n, d, two_threads):
    h = np.random.default_rng(d).standard_normal((n, d))
    a, b = np.empty(n), np.empty(n)
    pairwise._lse_serial(h, 0.7, 0, a)
    pairwise._lse_parallel(h, 0.7, 0, b)
    assert _same(a, b)


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_sample_network_forced_modes_bitwise(weights, two_threads):
    x = np.linspace(-1.0, 1.0, 12)
    res = []
    for mode in ("serial", "parallel"):
        with _threads.forced(mode):
            res.append(sample_network("tanh", x, x[::-1], np.ones(12), 1.5, 0.05, width=16,
                                      depth=3, n_trials=5, weights=weights, seed=11))
    for f in ("q1", "q2", "q12", "g", "d12"):
        assert _same(getattr(res[0], f), getattr(res[1], f))


def test_simulate_forced_modes_bitwise(two_threads):
    out = []
    for mode in ("serial", "parallel"):
        with _threads.forced(mode):
            out.append(mf.simulate_q_star(1.5, 0.05, "tanh", width=32, depth=6, n_trials=4,
                                          seed=3))
    assert _same(out[0].value, out[1].value) and _same(out[0].stderr, out[1].stderr)


def test_kde_forced_modes_bitwise(two_threads):
    h = np.random.default_rng(5).standard_normal((200, 4))
    a = []
    for mode in ("serial", "parallel"):
        with _threads.forced(mode):
            a.append(tuple(pairwise_mi_bounds(h, 0.3)))
    assert a[0] == a[1]


def test_jacobian_density_forced_modes_bitwise(two_threads):
    sw2 = float(mf.critical_line(0.01, "tanh"))
    x = np.geomspace(1e-4, 2.0, 40)
    out = []
    for mode in ("serial", "parallel"):
        with _threads.forced(mode):
            out.append(rmt.jacobian_density(x, sw2, 0.01, 4, "tanh", "orthogonal").density)
    assert _same(out[0], out[1])


def test_jacobian_density_thread_counts_bitwise():
    sw2 = float(mf.critical_line(0.01, "tanh"))
    x = np.geomspace(1e-4, 2.0, 40)
    old = numba.get_num_threads()
    out = []
    try:
        for n in (1, 2 if MULTI else 1):
            numba.set_num_threads(n)
            with _threads.forced("parallel"):
                out.append(rmt.jacobian_density(x, sw2, 0.01, 4, "tanh", "gaussian").density)
    finally:
        numba.set_num_threads(old)
    assert _same(out[0], out[1])


def test_batched_line_search_equals_one_halving_at_a_time(monkeypatch):
    """The stragglers' halvings in one residual call take exactly the steps that halving
    one at a time takes."""
    monkeypatch.setattr(free, "COMPILED_POWER", False)  # the vectorised power solver
    sw2 = float(mf.critical_line(0.01, "tanh"))
    x = np.geomspace(1e-5, 3.0, 60)
    a = rmt.jacobian_density(x, sw2, 0.01, 8, "tanh", "orthogonal").density
    semi = rmt.SemicircleLaw(1.0)
    d2 = rmt.dphi2_law("tanh", 0.5)
    xs = np.linspace(-2.5, 2.5, 41)
    fa = rmt.free_additive_convolution(semi, rmt.SemicircleLaw(2.0), xs).stieltjes
    fm = rmt.free_multiplicative_convolution(rmt.MarchenkoPasturLaw(0.5), d2,
                                             np.geomspace(1e-3, 4, 30)).stieltjes
    monkeypatch.setattr(free, "_LINE_BATCH", 1)
    assert _same(a, rmt.jacobian_density(x, sw2, 0.01, 8, "tanh", "orthogonal").density)
    assert _same(fa, rmt.free_additive_convolution(semi, rmt.SemicircleLaw(2.0), xs).stieltjes)
    assert _same(fm, rmt.free_multiplicative_convolution(rmt.MarchenkoPasturLaw(0.5), d2,
                                                         np.geomspace(1e-3, 4, 30)).stieltjes)


@pytest.mark.parametrize("depth,weights", [(2, "gaussian"), (8, "orthogonal"),
                                           (32, "orthogonal")])
def test_compiled_power_solver_matches_vectorised(depth, weights, monkeypatch):
    """The compiled per-point continuation runs the vectorised solver's algorithm: the
    densities agree to rounding (relative 1e-9 where the density is above 1e-4 of its
    maximum, 1e-12 of the maximum everywhere: the logarithms differ in the last bits,
    and near the lower edge of the orthogonal spectra the density is ~1e-7 and carries
    ~1e-13 of noise from the quadrature law's nodes)."""
    sw2 = float(mf.critical_line(0.01, "tanh"))
    lam = rmt.jacobian_max_eigenvalue(sw2, 0.01, depth, "tanh", weights)
    x = lam * np.geomspace(1e-6, 0.999, 80)
    a = np.asarray(rmt.jacobian_density(x, sw2, 0.01, depth, "tanh", weights).density)
    d2 = rmt.dphi2_law("tanh", 0.5)
    xs = np.geomspace(1e-3, 1.2, 30)
    pa = rmt.free_multiplicative_power(d2, 3, xs).stieltjes
    monkeypatch.setattr(free, "COMPILED_POWER", False)
    b = np.asarray(rmt.jacobian_density(x, sw2, 0.01, depth, "tanh", weights).density)
    pb = rmt.free_multiplicative_power(d2, 3, xs).stieltjes
    big = b > 1e-4 * b.max()
    assert big.sum() > 30
    np.testing.assert_allclose(a[big], b[big], rtol=1e-9)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * b.max())
    np.testing.assert_allclose(pa, pb, rtol=1e-11)
