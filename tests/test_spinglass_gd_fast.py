"""The packed gradient-descent kernel (kernels.tensor.sphere_gd_batch, spinglass.gradient_descent)
against an independent numpy evaluation on the full tensor.

The kernel evaluates v = T(s, ..., s, .) as one packed product X P per step (monomials of the
sorted index multisets times the weighted rows of T); the reference here contracts the dense
tensor with s p - 1 times and runs the same projected gradient descent in plain numpy.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from deeptheory.kernels import tensor as kt
from deeptheory.spinglass.sample import (
    energy,
    gradient_descent,
    riemannian_gradient,
    sample_hamiltonian,
)


def _v_ref(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """T(s, ..., s, .) by contracting the dense tensor's leading indices with s, one by one."""
    v = t
    for _ in range(t.ndim - 1):
        v = np.tensordot(s, v, axes=(0, 0))
    return v


def _gd_ref(t: np.ndarray, s0: np.ndarray, step: float, tol: float, max_iter: int):
    """Plain numpy projected GD on |s|^2 = N, one start at a time, same stopping rule."""
    n, p = t.shape[0], t.ndim
    pts, es, gns, its = [], [], [], []
    for s in s0:
        s = s.copy()
        it = 0
        while True:
            v = _v_ref(t, s)
            e = float(s @ v)
            gr = p * (v - (s @ v) / (s @ s) * s)
            gn = float(np.linalg.norm(gr))
            if gn < tol or it >= max_iter:
                break
            y = s - step * gr
            s = y * math.sqrt(n / (y @ y))
            it += 1
        pts.append(s)
        es.append(e)
        gns.append(gn)
        its.append(it)
    return np.array(pts), np.array(es), np.array(gns), np.array(its)


def _starts(n: int, b: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((b, n))
    return x * (math.sqrt(n) / np.linalg.norm(x, axis=1))[:, None]


def _run_kernel(t, s0, step, tol, max_iter, *, block=kt.GD_BLOCK, chunk=None, nslices=2):
    n, p = t.shape[0], t.ndim
    pk = kt.pack_symmetric(t, p, block)
    b = s0.shape[0]
    s = s0.copy()
    e, gn, it = np.empty(b), np.empty(b), np.empty(b, dtype=np.int64)
    kt.sphere_gd_batch(pk.tensor, pk.cnt, pk.blocks, pk.segs, n, p, s, float(n), step, tol,
                       max_iter, b if chunk is None else chunk, nslices, e, gn, it)
    return s, e, gn, it


@pytest.mark.parametrize(("n", "p"), [(7, 2), (9, 3), (6, 4), (4, 5), (3, 7)])
@pytest.mark.parametrize("block", [1, 5, 256])
def test_packed_product_is_the_contraction(n, p, block):
    """X P = T(s, ..., s, .) for every start; the packed rows cover each multiset once."""
    t = sample_hamiltonian(n, p, 3).tensor
    pk = kt.pack_symmetric(t, p, block)
    assert pk.tensor.shape == (math.comb(n + p - 2, p - 1), n)
    assert pk.blocks[-1, 0] == pk.tensor.shape[0]
    assert np.all(np.diff(pk.blocks[:, 0]) <= max(block, 1))
    s = _starts(n, 5, 1)
    idx, _ = kt._multisets(n, p - 1)
    x = np.prod(s[:, idx], axis=2)
    ref = np.stack([_v_ref(t, si) for si in s])
    np.testing.assert_allclose(x @ pk.tensor, ref, rtol=0, atol=1e-13 * max(1.0, np.abs(ref).max()))
    # the weights are the multinomial coefficients: they sum to n^(p-1) (all ordered tuples)
    w = pk.tensor[:, 0] / t.reshape(n ** (p - 1), n)[
        np.ravel_multi_index(idx.T, (n,) * (p - 1)), 0]
    assert round(float(w.sum())) == n ** (p - 1)


@pytest.mark.parametrize(("n", "p", "b"), [(8, 2, 5), (15, 3, 7), (7, 4, 6), (5, 5, 4)])
@pytest.mark.parametrize("block", [3, 256])
def test_fixed_steps_match_numpy(n, p, b, block):
    """tol = 0: exactly max_iter steps; points, energies, gradient norms as plain numpy."""
    t = sample_hamiltonian(n, p, 1).tensor
    s0 = _starts(n, b, 2)
    step = 0.5 / (p + 2 * math.sqrt(p * (p - 1)))
    s, e, gn, it = _run_kernel(t, s0, step, 0.0, 40, block=block)
    rs, re, rgn, rit = _gd_ref(t, s0, step, 0.0, 40)
    np.testing.assert_array_equal(it, rit)
    np.testing.assert_allclose(s, rs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(e, re, rtol=0, atol=1e-12 * n)
    np.testing.assert_allclose(gn, rgn, rtol=1e-10, atol=1e-12)


def test_early_stopping_and_compaction_match_numpy():
    """tol > 0: starts stop at different steps (compacted away); each matches its own numpy run."""
    n, p, b = 10, 3, 12
    t = sample_hamiltonian(n, p, 4).tensor
    s0 = _starts(n, b, 5)
    s, e, gn, it = _run_kernel(t, s0, 0.1, 1e-7, 5000, chunk=4, nslices=3)
    rs, re, rgn, rit = _gd_ref(t, s0, 0.1, 1e-7, 5000)
    assert len(set(it.tolist())) > 3  # really different stopping steps
    assert np.all(gn < 1e-7)
    np.testing.assert_array_equal(it, rit)
    np.testing.assert_allclose(s, rs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(e, re, rtol=0, atol=1e-12 * n)


def test_slice_longer_than_the_work_buffers():
    """One slice of more than GD_ROWS starts runs several products; same result as numpy."""
    n, p, b = 6, 3, kt.GD_ROWS + 37
    t = sample_hamiltonian(n, p, 8).tensor
    s0 = _starts(n, b, 9)
    s, e, gn, it = _run_kernel(t, s0, 0.1, 0.0, 15, nslices=1)
    rs, re, rgn, rit = _gd_ref(t, s0, 0.1, 0.0, 15)
    np.testing.assert_allclose(s, rs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(e, re, rtol=0, atol=1e-12 * n)


def test_gradient_descent_reports_true_energy_and_gradient():
    """GDResult fields against the library's independent point evaluators."""
    h = sample_hamiltonian(30, 3, 6)
    r = gradient_descent(h, 9, 7, tol=0.0, max_iter=25)
    assert np.all(r.n_iter == 25)
    for x, u, g in zip(r.points, r.u, r.grad_norm, strict=True):
        assert energy(h, x) / h.N == pytest.approx(u, abs=1e-13)
        assert np.linalg.norm(riemannian_gradient(h, x)) == pytest.approx(g, rel=1e-9)


def test_parallel_path_is_reproducible_and_thread_independent():
    """Above GD_PAR_MIN_WORK the slices run in prange: bit-identical for 1 and 2 threads and
    from run to run; within 1e-12 of other slicings and of single-start runs."""
    h = sample_hamiltonian(80, 3, 0)
    ns = 40
    assert ns * (80 * 81 // 2) * 80 >= kt.GD_PAR_MIN_WORK
    old = numba.get_num_threads()
    try:
        runs = []
        for k in (1, min(2, numba.config.NUMBA_NUM_THREADS), 1):
            numba.set_num_threads(k)
            runs.append(gradient_descent(h, ns, 3, tol=1e-5, max_iter=400))
    finally:
        numba.set_num_threads(old)
    for r in runs[1:]:
        np.testing.assert_array_equal(r.points, runs[0].points)
        np.testing.assert_array_equal(r.u, runs[0].u)
        np.testing.assert_array_equal(r.n_iter, runs[0].n_iter)
    a = runs[0]
    assert len(set(a.n_iter.tolist())) > 1  # starts stop at different steps
    c = gradient_descent(h, ns, 3, tol=1e-5, max_iter=400, chunk=7)
    np.testing.assert_allclose(c.u, a.u, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(c.n_iter, a.n_iter)
    for i in (0, 17):  # a start alone follows the same trajectory
        one = gradient_descent(h, 1, starts=_first(h, ns, i), tol=1e-5, max_iter=400)
        assert one.u[0] == pytest.approx(a.u[i], abs=1e-12)
        assert one.n_iter[0] == a.n_iter[i]


def _first(h, ns, i):
    """Start i of gradient_descent(h, ns, 3): the same uniform draw."""
    x = np.random.default_rng(3).standard_normal((ns, h.N))
    return x[i:i + 1] * (math.sqrt(h.N) / np.linalg.norm(x[i]))


def test_pack_symmetric_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        kt.pack_symmetric(np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match="block"):
        kt.pack_symmetric(np.zeros((3, 3)), 2, block=0)
