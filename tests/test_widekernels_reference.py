"""Wide-network kernels against neural-tangents' numbers (stored in tests/data).

``tests/data/neural_tangents_reference.json`` holds float64 ``kernel_fn`` outputs of
neural-tangents 0.6.5 for stax.serial(*[Dense(width, W_std, b_std,
parameterization=P), Relu() | Erf()] * L, Dense(1, W_std, b_std, parameterization=P))
(made by ``tests/data/make_neural_tangents_reference.py``).  Two checks:

1. The stored numbers satisfy the recursion written out below, evaluated here in
   mpmath with the closed forms (arc-cosine kernel for relu, Cho & Saul 2009;
   Williams 1997 for erf).  This pins down what neural-tangents computes, in
   particular its "standard" parameterisation (read off neural_tangents/_src/stax/
   linear.py, ``Dense.kernel_fn``): per Dense layer with input width n_in
   (n_in = d for the first layer, the hidden width after),

       NNGP (both):  K  <- W_std^2 K + b_std^2
       NTK "ntk":    Th <- W_std^2 Th + (W_std^2 K + b_std^2)
       NTK "standard": Th <- W_std^2 Th + n_in K + [1 if a bias exists]

   starting from K = x.x'/d, Th = 0, and per nonlinearity K <- E[phi(u) phi(v)],
   Th <- Th E[phi'(u) phi'(v)] with (u, v) ~ N(0, K).
2. deeptheory.meanfield.widekernels reproduces them (skipped where the module or
   an argument it would need does not exist yet).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

DATA = json.loads(
    (Path(__file__).parent / "data" / "neural_tangents_reference.json").read_text())
X = np.array(DATA["x"], dtype=float)
CASES = DATA["cases"]


def _id(c: dict) -> str:
    return (f"{c['activation']}-L{c['depth']}-{c['parameterization']}-w{c['width']}"
            f"-W{c['W_std']:.3g}-b{c['b_std']}")


# --- independent mpmath recursion --------------------------------------------------


def _relu_pair(s11, s22, s12):
    """(E[relu(u) relu(v)], E[relu'(u) relu'(v)]) (arc-cosine kernel, degree 1 and 0)."""
    r = mp.sqrt(s11 * s22)
    c = max(min(s12 / r, mp.mpf(1)), mp.mpf(-1))
    t = 2 * mp.asin(mp.sqrt((1 - c) / 2))  # the angle, accurate near c = 1
    return r / (2 * mp.pi) * (mp.sin(t) + (mp.pi - t) * c), (mp.pi - t) / (2 * mp.pi)


def _erf_pair(s11, s22, s12):
    """(E[erf(u) erf(v)], E[erf'(u) erf'(v)]) (Williams 1997)."""
    den = (1 + 2 * s11) * (1 + 2 * s22)
    return (2 / mp.pi * mp.asin(2 * s12 / mp.sqrt(den)),
            4 / mp.pi / mp.sqrt(den - 4 * s12 * s12))


PAIR = {"relu": _relu_pair, "erf": _erf_pair}


def nt_recursion(x, activation, depth, w_std, b_std, parameterization, width):
    """NNGP and NTK matrices of neural-tangents' stax network, by the recursion above."""
    with mp.workdps(30):
        xs = [[mp.mpf(float(v)) for v in row] for row in x]
        n, d = len(xs), len(xs[0])
        k = mp.matrix(n, n)
        for i in range(n):
            for j in range(n):
                k[i, j] = mp.fsum(a * b for a, b in zip(xs[i], xs[j], strict=True)) / d
        th = mp.zeros(n, n)
        sw2 = mp.mpf(w_std) ** 2
        sb2 = mp.mpf(0) if b_std is None else mp.mpf(b_std) ** 2
        n_in = d
        for layer in range(depth + 1):
            kk = k * sw2 + sb2 * mp.ones(n, n)
            if parameterization == "ntk":
                th = th * sw2 + kk
            else:
                th = th * sw2 + k * n_in + (0 if b_std is None else 1) * mp.ones(n, n)
            k, n_in = kk, width
            if layer == depth:
                break
            e, de = mp.matrix(n, n), mp.matrix(n, n)
            for i in range(n):
                for j in range(n):
                    e[i, j], de[i, j] = PAIR[activation](k[i, i], k[j, j], k[i, j])
            k = e
            th = mp.matrix([[th[i, j] * de[i, j] for j in range(n)] for i in range(n)])
        return (np.array(k.tolist(), dtype=float), np.array(th.tolist(), dtype=float))


def _normwise(a, ref):
    """max |a - ref| / sqrt(ref_ii ref_jj)."""
    dg = np.sqrt(np.diag(ref))
    return float(np.max(np.abs(a - ref) / np.outer(dg, dg)))


#: measured agreement: 1.7e-15 (relu) and 8e-16 (erf), the exactly parallel pair
#: (rows 0 and 3 of X) included
NT_RTOL = 1e-13


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_stored_numbers_follow_the_recursion(case):
    nngp, ntk = nt_recursion(X, case["activation"], case["depth"], case["W_std"],
                             case["b_std"], case["parameterization"], case["width"])
    assert _normwise(np.array(case["nngp"]), nngp) < NT_RTOL
    assert _normwise(np.array(case["ntk"]), ntk) < NT_RTOL


def test_standard_ntk_grows_with_width_and_nngp_does_not():
    by = {(c["activation"], c["depth"], c["W_std"], c["b_std"], c["width"]): c
          for c in CASES if c["parameterization"] == "standard"}
    for (act, depth, w, b, width), c in by.items():
        if width != 512:
            continue
        small = by[(act, depth, w, b, 100)]
        np.testing.assert_allclose(c["nngp"], small["nngp"], rtol=1e-14)
        assert np.all(np.diag(c["ntk"]) > np.diag(small["ntk"]))


# --- the library against the stored numbers -----------------------------------------


def _widekernels():
    try:
        from deeptheory.meanfield import widekernels
    except ImportError as exc:  # pragma: no cover - until the module lands
        pytest.skip(f"deeptheory.meanfield.widekernels not importable: {exc}")
    return widekernels


def _kwargs(case):
    return dict(depth=case["depth"], sigma_w2=case["sigma_w2"], sigma_b2=case["sigma_b2"],
                activation=case["activation"])


NTK_CASES = [c for c in CASES if c["parameterization"] == "ntk"]
STANDARD_CASES = [c for c in CASES if c["parameterization"] == "standard"]
LIB_RTOL = 1e-12


@pytest.mark.parametrize("case", NTK_CASES, ids=_id)
def test_library_matches_neural_tangents_ntk_parameterisation(case):
    wk = _widekernels()
    nngp = wk.nngp_kernel(X, **_kwargs(case))
    ntk = wk.ntk_kernel(X, **_kwargs(case))
    assert np.shape(nngp) == np.shape(ntk) == (len(X), len(X))
    assert _normwise(np.asarray(nngp), np.array(case["nngp"])) < LIB_RTOL
    assert _normwise(np.asarray(ntk), np.array(case["ntk"])) < LIB_RTOL


@pytest.mark.parametrize("case", STANDARD_CASES, ids=_id)
def test_library_matches_neural_tangents_standard_parameterisation(case):
    wk = _widekernels()
    params = inspect.signature(wk.network_kernels).parameters
    if "width" not in params:
        pytest.skip("network_kernels has no width= argument: the standard-parameterisation "
                    "NTK depends on the hidden width (see the module docstring)")
    kw = _kwargs(case)
    if not case["bias"]:
        if "bias" not in params:
            pytest.skip("network_kernels cannot express 'no bias' (neural-tangents' "
                        "b_std=None), which differs from sigma_b2=0 in the standard "
                        "parameterisation")
        kw["bias"] = False
    res = wk.network_kernels(X, parameterization="standard", width=case["width"], **kw)
    assert _normwise(np.asarray(res.nngp), np.array(case["nngp"])) < LIB_RTOL
    assert _normwise(np.asarray(res.ntk), np.array(case["ntk"])) < LIB_RTOL
