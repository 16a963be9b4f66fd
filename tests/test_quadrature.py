"""Tests of the Gaussian-expectation kernels (deeptheory.kernels.quadrature).

Truths: mpmath quadrature at 25+ digits with explicit breakpoints, closed forms
(relu arc-cosine kernel, erf arcsine kernel, sin, linear), exact Gaussian
moments, and structural identities (independence at c = 0, symmetry).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import uuid

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from _reference_activations import REFERENCE, Y  # noqa: E402

from deeptheory.kernels import (
    expect,
    expect2,
    expect2_sqdiff,
    hermite_rule,
    legendre_rule,
    register_activation,
)

DPS = 25


def _uniq(base: str) -> str:
    return f"{base}_{uuid.uuid4().hex[:10]}"


def _mp_func(expr: sp.Expr | None, d: int | None):
    """mpmath callable for the d-th derivative of expr (None: the constant 1)."""
    if d is None:
        return lambda x: mp.mpf(1)
    e = sp.diff(expr, Y, d).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    return sp.lambdify(Y, e, modules="mpmath")


def mp_gauss(f, q, kinks=(-1.0, 0.0, 1.0)):
    """E[f(x)], x ~ N(0, q), by mpmath with breakpoints at both the Gaussian's and x's scale."""
    with mp.workdps(DPS):
        q = mp.mpf(q)
        s = mp.sqrt(q)
        pts = {k * s for k in (-12, -8, -5, -3, -2, -1, 1, 2, 3, 5, 8, 12)}
        pts |= {mp.mpf(v) for v in (-8, -4, -2, -0.5, 0.5, 2, 4, 8)}
        pts |= {mp.mpf(k) for k in kinks}
        pts = [-mp.inf, *sorted(pts), mp.inf]
        v = mp.quad(lambda x: f(x) * mp.exp(-x * x / (2 * q)), pts) / mp.sqrt(2 * mp.pi * q)
        return float(v)


def mp_expect(expr, q, derivs, kinks=(-1.0, 0.0, 1.0)):
    fa, fb = _mp_func(expr, derivs[0]), _mp_func(expr, derivs[1])
    return mp_gauss(lambda x: fa(x) * fb(x), q, kinks)


def _rel(got, want):
    return abs(got - want) / abs(want)


# ----------------------------------------------------------- expect vs mpmath


@pytest.mark.parametrize("name", ["tanh", "erf"])
@pytest.mark.parametrize("derivs", [(0, 0), (1, 1), (2, 2), (0, 2)])
def test_expect_smooth_vs_mpmath(name, derivs):
    qs = np.array([0.01, 0.5, 2.0, 10.0, 100.0])
    got = expect(name, qs, derivs)
    assert got.shape == qs.shape
    for g, q in zip(got, qs, strict=True):
        want = mp_expect(REFERENCE[name], q, derivs)
        assert _rel(g, want) < 1e-10, (name, derivs, q, g, want)


@pytest.mark.parametrize(
    "name, derivs",
    [
        ("relu", (0, 0)),
        ("relu", (1, 1)),
        ("relu", (0, 1)),
        ("hard_tanh", (0, 0)),
        ("hard_tanh", (1, 1)),
        ("elu", (0, 0)),
        ("elu", (1, 1)),
        ("elu", (2, 2)),
        ("gelu", (0, 0)),
        ("gelu", (2, 2)),
        ("silu", (0, 0)),
        ("silu", (1, 1)),
        ("softplus", (0, 0)),
        ("softplus", (2, 2)),
        ("sin", (0, 0)),
        ("sin", (1, 1)),
        ("sigmoid", (0, 0)),
        ("sigmoid", (2, 2)),
        ("sigmoid", (None, 0)),
    ],
)
def test_expect_other_activations_vs_mpmath(name, derivs):
    for q in (0.3, 3.0):
        got = expect(name, q, derivs)
        want = mp_expect(REFERENCE[name], q, derivs)
        assert _rel(got, want) < 1e-10, (name, derivs, q, got, want)


def test_expect_q_zero_is_point_mass():
    assert expect("tanh", 0.0, (1, 1)) == pytest.approx(1.0, abs=1e-15)
    assert expect("sigmoid", 0.0, (0, None)) == pytest.approx(0.5, abs=1e-15)
    assert expect("elu", 0.0) == pytest.approx(0.0, abs=1e-15)


# ----------------------------------------------------------- closed forms


def test_relu_second_moment_and_linear():
    qs = np.array([0.0, 1e-3, 0.3, 1.0, 7.0, 250.0])
    np.testing.assert_allclose(expect("relu", qs), qs / 2, rtol=1e-12, atol=0)
    np.testing.assert_allclose(expect("relu", qs[1:], (1, 1)), 0.5, rtol=1e-12)
    np.testing.assert_allclose(expect("linear", qs), qs, rtol=1e-12, atol=0)
    np.testing.assert_allclose(expect("linear", qs, (1, 1)), 1.0, rtol=1e-14)
    np.testing.assert_allclose(expect("linear", qs, (None, 0)), 0.0, atol=1e-12)
    # E[relu(u)] = sqrt(q / (2 pi))
    np.testing.assert_allclose(
        expect("relu", qs, (0, None)), np.sqrt(qs / (2 * np.pi)), rtol=1e-12, atol=0
    )


PAIRS = [
    (1.0, 1.0, 0.5),
    (0.3, 2.0, -0.7),
    (2.0, 0.5, 1.0),
    (1.5, 1.5, -1.0),
    (1.0, 1.0, 1.0),
    (4.0, 0.1, 0.99),
    (0.7, 0.7, 0.0),
    (10.0, 3.0, -0.999),
    (25.0, 0.05, 0.2),
]


def _angle(c):
    return 2 * math.asin(math.sqrt((1 - c) / 2))


@pytest.mark.parametrize("q11, q22, c", PAIRS)
def test_erf_arcsine_kernel(q11, q22, c):
    q12 = c * math.sqrt(q11 * q22)
    ab = (1 + 2 * q11) * (1 + 2 * q22)
    want = 2 / math.pi * math.asin(2 * q12 / math.sqrt(ab))
    assert expect2("erf", q11, q22, c) == pytest.approx(want, rel=1e-12, abs=1e-14)
    # Price's theorem: d/dq12 of the above = E[erf'(u1) erf'(u2)]
    want1 = 4 / math.pi / math.sqrt(ab - 4 * q12**2)
    assert expect2("erf", q11, q22, c, (1, 1)) == pytest.approx(want1, rel=1e-12)


@pytest.mark.parametrize("q11, q22, c", PAIRS)
def test_relu_arccosine_kernel(q11, q22, c):
    t = _angle(c)
    assert t == pytest.approx(math.atan2(math.sqrt(1 - c * c), c), abs=1e-12)
    scale = math.sqrt(q11 * q22)
    want0 = scale / (2 * math.pi) * (math.sin(t) + (math.pi - t) * math.cos(t))
    want1 = (math.pi - t) / (2 * math.pi)
    got0 = expect2("relu", q11, q22, c)
    got1 = expect2("relu", q11, q22, c, (1, 1))
    assert abs(got0 - want0) <= 1e-12 * max(abs(want0), 1e-3 * scale)
    assert abs(got1 - want1) <= 1e-12 * max(abs(want1), 1e-3)


@pytest.mark.parametrize("q11, q22, c", PAIRS)
def test_sin_kernel(q11, q22, c):
    q12 = c * math.sqrt(q11 * q22)
    want = math.exp(-(q11 + q22) / 2) * math.sinh(q12)
    got = expect2("sin", q11, q22, c)
    assert abs(got - want) <= 1e-12 * max(abs(want), 1e-3)
    # cos: E[cos u1 cos u2] = exp(-(q11+q22)/2) cosh(q12)
    want_c = math.exp(-(q11 + q22) / 2) * math.cosh(q12)
    assert expect2("sin", q11, q22, c, (1, 1)) == pytest.approx(want_c, rel=1e-12)


def test_expect2_special_structure():
    # c = 0: independence, E[f(u1) g(u2)] = E[f(u1)] E[g(u2)] (mpmath 1-D truths)
    e1 = mp_expect(REFERENCE["softplus"], 0.8, (0, None))
    e2 = mp_expect(REFERENCE["softplus"], 2.5, (1, None))
    assert _rel(expect2("softplus", 0.8, 2.5, 0.0, (0, 1)), e1 * e2) < 1e-12
    # c = 1 and q11 = q22: a single Gaussian
    want = mp_expect(REFERENCE["gelu"], 1.7, (1, 2))
    assert _rel(expect2("gelu", 1.7, 1.7, 1.0, (1, 2)), want) < 1e-12
    # c = -1, odd phi: E[phi(u) phi(-u)] = -E[phi^2]
    want = mp_expect(REFERENCE["tanh"], 3.0, (0, 0))
    assert _rel(expect2("tanh", 3.0, 3.0, -1.0), -want) < 1e-12
    # constants
    assert expect2("tanh", 1.0, 2.0, 0.3, (None, None)) == pytest.approx(1.0, rel=1e-14)
    assert abs(expect2("tanh", 1.0, 2.0, 0.3, (None, 0))) < 1e-15
    # symmetry: (q11, q22, a, b) <-> (q22, q11, b, a)
    a = expect2("elu", 0.4, 3.0, 0.6, (1, 0))
    b = expect2("elu", 3.0, 0.4, 0.6, (0, 1))
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("c", [-1.0, -0.5, 0.0, 0.6, 0.99, 1.0])
def test_expect2_degenerate_q11_zero(c):
    # u1 = 0 exactly: u2 ~ N(0, q22) whatever c is
    q22 = 2.0
    assert expect2("relu", 0.0, q22, c, (None, 0)) == pytest.approx(
        math.sqrt(q22 / (2 * math.pi)), rel=1e-12
    )
    assert expect2("tanh", 0.0, q22, c, (1, 1)) == pytest.approx(
        expect("tanh", q22, (None, 1)), rel=1e-12
    )
    # and q22 = 0: u2 = 0 exactly
    assert expect2("sigmoid", 1.3, 0.0, c, (0, 0)) == pytest.approx(
        0.5 * expect("sigmoid", 1.3, (0, None)), rel=1e-12
    )


# ----------------------------------------------------------- expect2_sqdiff


@pytest.mark.parametrize("name", ["tanh", "erf", "relu", "elu", "sin", "hard_tanh"])
def test_sqdiff_identity(name):
    for q, c in [(0.5, 0.3), (2.0, 0.8), (3.0, -0.5)]:
        got = expect2_sqdiff(name, q, q, c)
        want = 2 * (expect(name, q) - expect2(name, q, q, c))
        assert got == pytest.approx(want, rel=1e-12)


def _series_sqdiff(expr, q, c):
    """E[(phi(u1) - phi(u2))^2] for c -> 1 from the expansion in b = sqrt((1-c)/2).

    u1,2 = sqrt(q)(a s +- b t): phi(u1) - phi(u2) = 2 h phi'(x) + h^3 phi'''(x)/3 + O(h^5),
    h = sqrt(q) b t, x = sqrt(q) a s; averaging over t gives
    4 q b^2 E[phi'(x)^2] + 4 q^2 b^4 E[phi'(x) phi'''(x)] + O(b^6).
    """
    with mp.workdps(40):
        cc = mp.mpf(c)
        a2, b2 = (1 + cc) / 2, (1 - cc) / 2
        p1 = sp.lambdify(Y, sp.diff(expr, Y, 1), "mpmath")
        p3 = sp.lambdify(Y, sp.diff(expr, Y, 3), "mpmath")
        e11 = mp_gauss(lambda x: p1(x) ** 2, q * a2)
        e13 = mp_gauss(lambda x: p1(x) * p3(x), q * a2)
        return float(4 * q * b2 * e11 + 4 * q * q * b2 * b2 * e13)


@pytest.mark.parametrize("q", [0.5, 2.0])
def test_sqdiff_near_one_no_cancellation(q):
    c = 1 - 1e-8
    with mp.workdps(50):
        cc, qq = mp.mpf(c), mp.mpf(q)
        erf_w = 4 / mp.pi * (mp.asin(2 * qq / (1 + 2 * qq)) - mp.asin(2 * cc * qq / (1 + 2 * qq)))
        sin_w = 2 * mp.exp(-qq) * (mp.sinh(qq) - mp.sinh(cc * qq))
        erf_w, sin_w = float(erf_w), float(sin_w)
    assert _rel(expect2_sqdiff("erf", q, q, c), erf_w) < 1e-8
    assert _rel(expect2_sqdiff("sin", q, q, c), sin_w) < 1e-8
    tanh_w = _series_sqdiff(REFERENCE["tanh"], q, c)
    assert _rel(expect2_sqdiff("tanh", q, q, c), tanh_w) < 1e-8
    # derivative version: E[(phi'(u1) - phi'(u2))^2] for erf = 2 (E[phi'^2] - E[phi' phi'])
    with mp.workdps(50):
        k = lambda r: 4 / mp.pi / mp.sqrt((1 + 2 * qq) ** 2 - 4 * (r * qq) ** 2)  # noqa: E731
        erf_w1 = float(2 * (k(mp.mpf(1)) - k(cc)))
    assert _rel(expect2_sqdiff("erf", q, q, c, 1), erf_w1) < 1e-8


def test_sqdiff_near_one_relu():
    q, c = 0.5, 1 - 1e-8
    with mp.workdps(50):
        cc, qq = mp.mpf(c), mp.mpf(q)
        t = 2 * mp.asin(mp.sqrt((1 - cc) / 2))
        w0 = float(2 * (qq / 2 - qq / (2 * mp.pi) * (mp.sin(t) + (mp.pi - t) * mp.cos(t))))
        w1 = float(t / mp.pi)  # P(sign u1 != sign u2)
    assert _rel(expect2_sqdiff("relu", q, q, c, 1), w1) < 1e-8
    assert _rel(expect2_sqdiff("relu", q, q, c), w0) < 1e-8


# ----------------------------------------------------------- rules


@pytest.mark.parametrize("n", [1, 2, 5, 12, 30])
def test_hermite_rule_moments(n):
    z, w = hermite_rule(n)
    assert z.shape == w.shape == (n,)
    assert np.all(w > 0)
    assert w.sum() == pytest.approx(1.0, rel=1e-14)
    for k in range(n):  # degree 2k < 2n
        want = float(sp.factorial2(2 * k - 1)) if k else 1.0
        assert np.sum(w * z ** (2 * k)) == pytest.approx(want, rel=1e-11)
        assert abs(np.sum(w * z ** (2 * k + 1))) <= 1e-11 * max(1.0, want)
    if n <= 12:  # degree 2n is not integrated exactly
        assert np.sum(w * z ** (2 * n)) != pytest.approx(float(sp.factorial2(2 * n - 1)))


@pytest.mark.parametrize("n", [1, 3, 12, 64])
def test_legendre_rule_moments(n):
    t, w = legendre_rule(n)
    assert w.sum() == pytest.approx(2.0, rel=1e-14)
    for k in range(0, 2 * n):
        want = 2.0 / (k + 1) if k % 2 == 0 else 0.0
        assert np.sum(w * t**k) == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_hermite_agrees_with_panel():
    h = expect("tanh", 0.5, rule="hermite", order=100)
    p = expect("tanh", 0.5)
    assert h == pytest.approx(p, rel=1e-12)
    want = mp_expect(REFERENCE["tanh"], 0.5, (0, 0))
    assert _rel(h, want) < 1e-12
    # also through the 2-D kernel
    q11, q22, c = 0.4, 0.6, 0.3
    want2 = 2 / math.pi * math.asin(2 * c * math.sqrt(q11 * q22) / math.sqrt(1.8 * 2.2))
    assert expect2("erf", q11, q22, c, rule="hermite", order=60) == pytest.approx(want2, rel=1e-12)


def test_hermite_degrades_for_tanh_at_large_q():
    # the reason the panel rule is the default: tanh(sqrt(q) z) tends to a step
    want = mp_expect(REFERENCE["tanh"], 100.0, (0, 0))
    assert _rel(expect("tanh", 100.0, rule="hermite", order=25), want) > 1e-6
    assert _rel(expect("tanh", 100.0), want) < 1e-12


# ----------------------------------------------------------- broadcasting


def test_broadcasting_matches_scalar_calls():
    q11 = np.array([0.2, 1.0, 5.0]).reshape(3, 1)
    c = np.array([-0.9, -0.1, 0.4, 0.95]).reshape(1, 4)
    out = expect2("tanh", q11, 2.0, c, (0, 1))
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            s = expect2("tanh", float(q11[i, 0]), 2.0, float(c[0, j]), (0, 1))
            assert isinstance(s, float)
            assert out[i, j] == pytest.approx(s, rel=1e-15, abs=1e-17)
    sq = expect2_sqdiff("tanh", q11, q11, c)
    assert sq.shape == (3, 4)
    q = np.array([[0.1, 0.5, 2.0], [3.0, 8.0, 40.0]])
    e = expect("erf", q, (1, 1))
    assert e.shape == (2, 3)
    for idx in np.ndindex(q.shape):
        assert e[idx] == pytest.approx(expect("erf", float(q[idx]), (1, 1)), rel=1e-15)


def test_scalar_in_float_out():
    for qv in (0.5, np.float64(0.5), np.array(0.5), 1):
        assert type(expect("tanh", qv)) is float
    assert type(expect2("tanh", 0.5, 0.5, 0.2)) is float
    assert type(expect2_sqdiff("tanh", 0.5, 0.5, 0.2)) is float
    assert expect("tanh", [0.5]).shape == (1,)
    assert expect("tanh", np.zeros((0,))).shape == (0,)


def test_parallel_target_equals_cpu():
    q = np.linspace(0.05, 20.0, 17)
    np.testing.assert_array_equal(
        expect("tanh", q, (1, 2), target="parallel"), expect("tanh", q, (1, 2), target="cpu")
    )
    c = np.linspace(-1.0, 1.0, 9)
    np.testing.assert_array_equal(
        expect2("elu", 1.5, 0.7, c, target="parallel"), expect2("elu", 1.5, 0.7, c)
    )


# ----------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, exc, pattern",
    [
        (lambda: expect("tanh", -0.1), ValueError, r"\bq\b"),
        (lambda: expect("tanh", [1.0, np.nan]), ValueError, r"\bq\b"),
        (lambda: expect("tanh", np.inf), ValueError, r"\bq\b"),
        (lambda: expect("tanh", "abc"), TypeError, r"\bq\b"),
        (lambda: expect2("tanh", -1.0, 1.0, 0.5), ValueError, r"q11"),
        (lambda: expect2("tanh", 1.0, np.nan, 0.5), ValueError, r"q22"),
        (lambda: expect2("tanh", 1.0, 1.0, 1.5), ValueError, r"\bc\b"),
        (lambda: expect2("tanh", 1.0, 1.0, -1.0 - 1e-9), ValueError, r"\bc\b"),
        (lambda: expect2_sqdiff("tanh", 1.0, 1.0, 2.0), ValueError, r"\bc\b"),
        (lambda: expect2("tanh", np.ones(3), np.ones(4), 0.5), ValueError, r"q11.*q22"),
        (lambda: expect("no_such_act", 1.0), ValueError, r"no_such_act.*tanh"),
        (lambda: expect("relu", 1.0, (2, 0)), ValueError, r"(?i)delta"),
        (lambda: expect("relu", 1.0, (0, 2)), ValueError, r"(?i)delta"),
        (lambda: expect2("hard_tanh", 1.0, 1.0, 0.2, (1, 2)), ValueError, r"(?i)delta"),
        (lambda: expect2_sqdiff("relu", 1.0, 1.0, 0.2, 2), ValueError, r"(?i)delta"),
        (lambda: expect("tanh", 1.0, (3, 0)), ValueError, r"deriv"),
        (lambda: expect("tanh", 1.0, (1.5, 0)), TypeError, r"deriv"),
        (lambda: expect("tanh", 1.0, rule="gauss"), ValueError, r"rule"),
        (lambda: expect("tanh", 1.0, target="gpu"), ValueError, r"target"),
        (lambda: expect("tanh", 1.0, order=0), ValueError, r"order"),
        (lambda: expect("tanh", 1.0, order=65), ValueError, r"order"),
        (lambda: expect("tanh", 1.0, order=2.5), TypeError, r"order"),
        (lambda: expect("tanh", 1.0, rule="hermite", order=10**6), ValueError, r"order"),
        (lambda: expect2("tanh", 1.0, 1.0, 0.5, order=-3), ValueError, r"order"),
        (lambda: hermite_rule(0), ValueError, r"order"),
        (lambda: expect("sin", 1e6), ValueError, r"node buffer"),
    ],
)
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ----------------------------------------------------------- user activations


def test_user_activation_through_expect():
    act = register_activation(_uniq("mytanh_x"), "tanh(x) + 0.1*x")
    truth = sp.tanh(Y) + Y / 10
    for q in (0.3, 5.0):
        for derivs in [(0, 0), (1, 1), (0, 2)]:
            assert _rel(expect(act, q, derivs), mp_expect(truth, q, derivs)) < 1e-10
    # by name, through the 2-D kernel: c = 0 factorises, c = 1 is one Gaussian
    e1 = mp_expect(truth, 0.7, (1, None)) * mp_expect(truth, 2.0, (1, None))
    assert _rel(expect2(act.name, 0.7, 2.0, 0.0, (1, 1)), e1) < 1e-10
    assert _rel(expect2(act.name, 2.0, 2.0, 1.0, (0, 2)), mp_expect(truth, 2.0, (0, 2))) < 1e-10


def test_user_kink_at_origin_through_expect():
    act = register_activation(_uniq("leaky"), "Max(x, 0.1*x)")
    qs = np.array([0.3, 2.0, 30.0])
    np.testing.assert_allclose(expect(act, qs), 1.01 * qs / 2, rtol=1e-12)
    np.testing.assert_allclose(expect(act, qs, (1, 1)), 1.01 / 2, rtol=1e-12)
    with pytest.raises(ValueError, match="(?i)delta"):
        expect(act, 1.0, (2, 2))


def test_user_kink_off_grid_through_expect():
    act = register_activation(_uniq("shifted"), "Max(x, 0.3)")
    truth = sp.Piecewise((sp.Rational(3, 10), Y < sp.Rational(3, 10)), (Y, True))
    for q in (0.3, 3.0):
        for derivs in [(0, 0), (1, 1)]:
            want = mp_expect(truth, q, derivs, kinks=(0.3,))
            assert _rel(expect(act, q, derivs), want) < 1e-10


# ----------------------------------------------------------- CUDA simulator

_CUDA_SCRIPT = textwrap.dedent(
    """
    import json, sys
    try:
        from numba import cuda  # noqa: F401  (numba-cuda, simulator)
    except Exception as exc:  # pragma: no cover
        print("NO_NUMBA_CUDA", repr(exc))
        sys.exit(0)
    import numpy as np
    from deeptheory.kernels import expect, expect2, expect2_sqdiff, register_activation
    from deeptheory.kernels.quadrature import expect2_pair, expect_moments, hermite_coefficients

    q = np.array([0.3, 1.0, 4.0])
    c = np.array([-0.4, 0.7])
    act = register_activation("cudasim_user_act", "tanh(x) + 0.1*x")

    def run(target):
        return [
            expect("tanh", q, (1, 1), order=6, target=target),
            expect("relu", q, order=6, target=target),
            expect("sin", q, (0, 2), rule="hermite", order=8, target=target),
            expect2("tanh", q[:, None], q[:, None], c, order=6, target=target),
            expect2("erf", q[:, None], 2.0, c, (0, 1), rule="hermite", order=6, target=target),
            expect2_sqdiff("tanh", 1.0, 1.0, 0.9, order=4, target=target),
            expect(act, q, (0, 2), order=6, target=target),
            expect2(act, q[:2, None], q[:2, None], c, (1, 0), order=4, target=target),
            expect_moments("tanh", q, [(0, 0), (1, 1), (0, 2)], order=6, target=target),
            np.stack(expect2_pair("tanh", q, q, 0.8, order=4, target=target)),
            hermite_coefficients("tanh", q[:2], 24, order=6, target=target)[0],
        ]

    out = {t: [np.asarray(v).tolist() for v in run(t)] for t in ("cuda", "cpu")}
    print("RESULT" + json.dumps(out))
    """
)


def test_cuda_simulator_matches_cpu():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-c", _CUDA_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "NO_NUMBA_CUDA" in proc.stdout:
        pytest.skip(f"numba.cuda (numba-cuda) cannot be imported: {proc.stdout.strip()}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    out = json.loads(line[len("RESULT") :])
    assert len(out["cuda"]) == len(out["cpu"]) == 11
    for k, (g, w) in enumerate(zip(out["cuda"], out["cpu"], strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, k
        assert np.all(np.isfinite(g)), k
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"result {k}")
    # shapes of the grids
    assert np.shape(out["cuda"][3]) == (3, 2)
    assert np.shape(out["cuda"][7]) == (2, 2)


@pytest.mark.parametrize("c", [0.3, 0.99, 1 - 1e-6, 1 - 1e-10])
def test_hard_tanh_slope_kernel_near_one(c):
    """E[phi'(u1) phi'(u2)] for hard_tanh = P(|u1| < 1, |u2| < 1): a 1-D mpmath integral of
    normal cdfs, with breakpoints where the conditional mean c x1 crosses the kinks +-1."""
    q = 0.8
    with mp.workdps(30):
        cc, qq = mp.mpf(c), mp.mpf(q)
        s = mp.sqrt(qq * (1 - cc) * (1 + cc))

        def f(x):
            mu = cc * x
            return mp.npdf(x, 0, mp.sqrt(qq)) * (mp.ncdf((1 - mu) / s) - mp.ncdf((-1 - mu) / s))

        lay = [1 / cc + k * s / cc for k in (-8, -3, -1, 0, 1, 3, 8)]
        pts = sorted({mp.mpf(-1), mp.mpf(1), *[p for p in lay if abs(p) < 1],
                      *[-p for p in lay if abs(p) < 1]})
        want = float(mp.quad(f, pts))
    got = expect2("hard_tanh", q, q, c, (1, 1))
    assert _rel(got, want) < 1e-10
