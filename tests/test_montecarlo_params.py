"""sample_parameters returns bitwise the network of propagate_batch (kernels.montecarlo)."""

from __future__ import annotations

import numpy as np
import pytest

from deeptheory.kernels.montecarlo import propagate_batch, sample_parameters


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("n0", [7, 40])
def test_parameters_reproduce_propagate_batch(weights, n0):
    width, depth, sw2, sb2, seed = 24, 4, 1.7, 0.3, 123
    x = np.random.default_rng(0).standard_normal((n0, 5))
    hs = propagate_batch("tanh", x, sw2, sb2, width=width, depth=depth, weights=weights,
                         seed=seed)
    params = sample_parameters(n0, width=width, depth=depth, sigma_w2=sw2, sigma_b2=sb2,
                               weights=weights, seed=seed)
    assert len(params) == depth
    assert params[0][0].shape == (width, n0)
    assert all(w.shape == (width, width) for w, _ in params[1:])
    assert all(b.shape == (width,) for _, b in params)
    a = x
    for layer, (w, b) in enumerate(params):
        h = w @ a + b[:, None]
        np.testing.assert_allclose(h, hs[layer], rtol=0, atol=1e-12)
        a = np.tanh(h)


def test_parameters_statistics_and_seed():
    p = sample_parameters(300, width=300, depth=2, sigma_w2=2.0, sigma_b2=0.5, seed=5)
    w, b = p[1]
    assert abs(w.var() * 300 - 2.0) < 0.05
    assert abs(b.var() - 0.5) < 0.15
    q = sample_parameters(300, width=300, depth=2, sigma_w2=2.0, sigma_b2=0.5, seed=5)
    assert all(np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1])
               for a, c in zip(p, q, strict=True))
    r = sample_parameters(300, width=300, depth=2, sigma_w2=2.0, sigma_b2=0.5, seed=6)
    assert not np.array_equal(p[0][0], r[0][0])


def test_parameters_orthogonal_is_orthogonal():
    p = sample_parameters(16, width=16, depth=2, sigma_w2=1.5, sigma_b2=0.0,
                          weights="orthogonal", seed=1)
    for w, b in p:
        np.testing.assert_allclose(w @ w.T, 1.5 * np.eye(16), atol=1e-12)
        assert np.all(b == 0)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(n0=0), ValueError),
        (dict(width=0), ValueError),
        (dict(depth=0), ValueError),
        (dict(sigma_w2=-1.0), ValueError),
        (dict(sigma_b2=float("nan")), ValueError),
        (dict(weights="uniform"), ValueError),
        (dict(seed=-1), ValueError),
        (dict(n0=2.5), (TypeError, ValueError)),
    ],
)
def test_parameters_bad_input(kwargs, exc):
    args = dict(n0=3, width=4, depth=2, sigma_w2=1.0, sigma_b2=0.1)
    args.update(kwargs)
    n0 = args.pop("n0")
    with pytest.raises(exc):
        sample_parameters(n0, **args)


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_parameters_bitwise(weights):
    # x = [I | 0] with sigma_b2 = 0 reads W^1 exactly; a zero column with sigma_b2 > 0 reads b^1
    n0, width = 6, 10
    x = np.hstack([np.eye(n0), np.zeros((n0, 1))])
    h = propagate_batch("linear", x, 1.3, 0.0, width=width, depth=1, weights=weights, seed=9)
    (w1, b1), = sample_parameters(n0, width=width, depth=1, sigma_w2=1.3, sigma_b2=0.0,
                                  weights=weights, seed=9)
    assert np.array_equal(h[0][:, :n0], w1) and np.all(b1 == 0)
    h = propagate_batch("linear", x, 1.3, 0.4, width=width, depth=2, weights=weights, seed=9)
    p = sample_parameters(n0, width=width, depth=2, sigma_w2=1.3, sigma_b2=0.4,
                          weights=weights, seed=9)
    assert np.array_equal(h[0][:, n0], p[0][1])
    assert np.array_equal(p[0][0], w1)
