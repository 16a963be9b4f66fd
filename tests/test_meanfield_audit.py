"""deeptheory.meanfield: regression tests for the audit (issue 9) against independent truths.

Closed forms are derived here with sympy / mpmath, never taken from the library:
the sin critical line, the q* = inf limits, the arc-cosine (relu) map iterated in
mpmath, and the gelu layer recursion iterated in mpmath with a product Gauss-Hermite rule.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numba
import numpy as np
import pytest
import sympy as sp

import deeptheory.meanfield as mf
from deeptheory._api import ConvergenceError
from deeptheory.kernels import gaussian_rule, get_activation
from deeptheory.meanfield import qmap


@pytest.fixture(autouse=True, scope="module")
def _serial_kernels():
    """One Numba thread: many small kernel calls (a parallel launch costs ms under load)."""
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


# --------------------------------------------------------------------------------------
# item 2: sin has a critical line (closed form), and the q ladder never overflows the rule


def _sin_line():
    """sympy: E[sin^2(sqrt(q) z)], E[cos^2(sqrt(q) z)] -> (sigma_b^2(q), sigma_w^2(q))."""
    q, z = sp.symbols("q z", positive=True)
    pdf = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    es = sp.integrate(sp.sin(sp.sqrt(q) * z) ** 2 * pdf, (z, -sp.oo, sp.oo))
    ec = sp.integrate(sp.cos(sp.sqrt(q) * z) ** 2 * pdf, (z, -sp.oo, sp.oo))
    sb2 = q - es / ec  # V(q) = q and chi_1 = sigma_w^2 E[cos^2] = 1
    sw2 = 1 / ec
    assert sp.simplify((sb2 - (q - sp.tanh(q))).rewrite(sp.exp)) == 0
    assert sp.simplify(sw2 - 2 / (1 + sp.exp(-2 * q))) == 0
    return sp.lambdify(q, sb2, "mpmath"), sp.lambdify(q, sw2, "mpmath")


def test_sin_critical_line_closed_form():
    mp.mp.dps = 30
    sb2_of, sw2_of = _sin_line()
    targets = [0.0, 1e-6, 0.05, 0.5, 2.0, 10.0]
    got = mf.critical_line(targets, "sin")
    for t, g in zip(targets, got, strict=True):
        if t == 0.0:
            ref = mp.mpf(1)  # q -> 0
        else:
            qq = mp.findroot(lambda x, t=t: sb2_of(x) - t, mp.cbrt(3 * t) if t < 0.1 else t + 1)
            ref = sw2_of(qq)
        assert g == pytest.approx(float(ref), rel=1e-12, abs=0), t
    assert got[0] == 1.0
    assert got[2] == pytest.approx(1.5020701025579, rel=1e-12)
    # on the line chi_1 = 1 (and V(q*) = q*)
    assert mf.chi1(got[2], 0.05, "sin") == pytest.approx(1.0, abs=1e-10)


def test_sin_phase_diagram_runs():
    sw = np.linspace(0.5, 3.0, 5)
    sb = np.array([0.0, 0.05, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd = mf.phase_diagram(sw, sb, "sin")
    assert np.all(np.isfinite(pd.q_star)) and np.all(np.isfinite(pd.chi1))
    assert pd.critical_sigma_w2[1] == pytest.approx(1.5020701025579, rel=1e-10)


def test_oscillating_q_star_stops_at_rule_capacity():
    sin = get_activation("sin")
    cap = qmap.q_cap(sin, {})
    assert np.isfinite(cap)
    gaussian_rule(sin, cap)  # fits the node buffer
    with pytest.raises(ValueError, match="node"):
        gaussian_rule(sin, 4 * cap)  # the kernels' own limit is a factor < 4 above
    # q* = sw2 (1 - e^{-2q*}) / 2 + sb2 ~ 1e4 is beyond the rule: a clear report, not the
    # kernels' "non-finite value"
    with pytest.raises(ConvergenceError, match="largest variance"):
        mf.q_star(2e4, 0.1, "sin")
    with pytest.warns(RuntimeWarning, match="largest variance"):
        assert np.isnan(mf.q_star(2e4, 0.1, "sin", on_fail="warn"))
    # a lower order resolves larger q: q* = sw2 / 2 + sb2 (e^{-2000} = 0)
    assert mf.q_star(2000.0, 0.1, "sin", order=6) == pytest.approx(1000.1, rel=1e-9)


# --------------------------------------------------------------------------------------
# item 3: depth scales at exact criticality and in the q* = inf limit


def test_tanh_exact_criticality_is_infinite():
    # q* = 0 at (1, 0) and chi_1 = sigma_w^2 tanh'(0)^2 = 1 exactly
    assert mf.chi1(1.0, 0.0, "tanh") == 1.0
    assert mf.xi_c(1.0, 0.0, "tanh") == np.inf
    assert mf.xi_grad(1.0, 0.0, "tanh") == np.inf
    assert mf.xi_q(1.0, 0.0, "tanh") == np.inf


def test_depth_scale_tolerance_is_a_few_ulp():
    eps = np.finfo(float).eps
    assert mf.depth_scale(1.0 + eps) == np.inf
    assert mf.depth_scale(1.0 - eps) == np.inf
    assert mf.depth_scale(1.0 + 4 * eps) == np.inf
    x = 1.0 + 1e-12
    assert mf.depth_scale(x) == pytest.approx(-1.0 / math.log1p(1e-12), rel=1e-3)
    assert mf.depth_scale(0.0) == 0.0
    assert mf.depth_scale(np.e**-2) == pytest.approx(0.5, rel=1e-15)


@pytest.mark.parametrize("bad", [-0.5, np.nan, [0.5, -1.0]])
def test_depth_scale_rejects_bad_chi(bad):
    with pytest.raises(ValueError, match="chi"):
        mf.depth_scale(bad)


def _slopes(expr_fn):
    """(lim phi/x at -inf, at +inf) with sympy, from the textbook formula of phi."""
    x = sp.Symbol("x", real=True)
    e = expr_fn(x)
    return (float(sp.limit(e / x, x, -sp.oo)), float(sp.limit(e / x, x, sp.oo)))


FORMULAS = {
    "silu": lambda x: x / (1 + sp.exp(-x)),
    "gelu": lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
    "softplus": lambda x: sp.log(1 + sp.exp(x)),
    "elu_neg": lambda x: sp.exp(x) - 1,  # elu for x < 0 (x for x > 0)
}


@pytest.mark.parametrize("act", ["silu", "gelu", "elu", "softplus", "relu"])
@pytest.mark.parametrize("sw2, sb2", [(3.0, 0.1), (4.0, 1.0)])
def test_q_star_inf_limits(act, sw2, sb2):
    """q* = inf: E[phi^2] / q -> a2 = (a_-^2 + a_+^2) / 2 = 1/2 for these phi, so
    chi_1 = V'(inf) = sw2 / 2; the normalised C-map tends to the arc-cosine map
    (C(c) >= c, C'(1) = 1): c* = 1, chi_c = 1, xi_c = inf."""
    if act == "elu":
        am, ap = _slopes(FORMULAS["elu_neg"])[0], 1.0
    elif act == "relu":
        am, ap = 0.0, 1.0
    else:
        am, ap = _slopes(FORMULAS[act])
    a2 = (am * am + ap * ap) / 2
    assert a2 == 0.5
    assert mf.q_star(sw2, sb2, act) == np.inf
    for order in (8, 16):  # no dependence on the quadrature (the old q = 1e10 artefact did)
        assert mf.chi1(sw2, sb2, act, order=order) == pytest.approx(sw2 * a2, rel=1e-15)
        assert mf.xi_q(sw2, sb2, act, order=order) == pytest.approx(-1 / math.log(sw2 * a2),
                                                                    rel=1e-14)
        assert mf.chi_c(sw2, sb2, act, order=order) == 1.0
        assert mf.c_star(sw2, sb2, act, order=order) == 1.0
        assert mf.xi_c(sw2, sb2, act, order=order) == np.inf


def test_c_map_tends_to_arc_cosine_map_as_q_grows():
    """The q* = inf limit: at large q the normalised silu C-map (sigma_b^2 = 0) is the
    arc-cosine map C(c) = (sqrt(1 - c^2) + (pi - acos c) c) / pi (Cho & Saul 2009, mpmath),
    which has C(c) > c for c < 1 and C'(1) = 1 -- hence c* = 1, chi_c = 1 in the limit."""
    mp.mp.dps = 30

    def C(c):
        return (mp.sqrt(1 - c * c) + (mp.pi - mp.acos(c)) * c) / mp.pi

    cs = np.array([-0.9, -0.3, 0.2, 0.7, 0.99])
    got = mf.c_map(cs, 3.0, 0.0, "silu", q=1e8)
    for c, g in zip(cs, got, strict=True):
        assert g == pytest.approx(float(C(mp.mpf(c))), abs=1e-3)  # O(q^-1/2) corrections
        assert float(C(mp.mpf(c))) > c
    assert mf.c_map_slope(1.0, 3.0, 0.0, "silu", q=1e8) == pytest.approx(1.0, abs=1e-3)
    assert float(mp.diff(C, 1 - mp.mpf(10) ** -20)) == pytest.approx(1.0, abs=1e-9)


def test_relu_xi_q_at_linear_growth_is_infinite():
    # sw2 = 2, sb2 > 0: q^l = q + l sb2 grows linearly, V' = 1
    assert mf.xi_q(2.0, 0.1, "relu") == np.inf


# --------------------------------------------------------------------------------------
# item 8: critical_line(0, elu) exactly 1; relu / hard_tanh V' analytic


@pytest.mark.parametrize("act, ref", [("elu", 1.0), ("sin", 1.0), ("tanh", 1.0),
                                      ("gelu", 4.0)])
def test_critical_line_at_zero_bias_is_exact(act, ref):
    # sigma_b^2 = 0, phi(0) = 0: the line starts at 1 / phi'(0)^2 (gelu'(0) = 1/2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = mf.critical_line(0.0, act)
    assert got == ref


def test_hard_tanh_q_map_slope_against_mpmath():
    """V(q) = sw2 E[hard_tanh(sqrt(q) z)^2]; V'(q) by mpmath differentiation of the exact
    V(q) = sw2 (erf(s) - sqrt(2/pi) s' e^{-1/2q} ... ) computed by mp.quad."""
    mp.mp.dps = 30
    sw2, sb2 = 1.7, 0.2

    def V(q):
        s = mp.sqrt(q)
        inner = mp.quad(lambda z: (s * z) ** 2 * mp.npdf(z), [-1 / s, 0, 1 / s])
        return sw2 * (inner + 2 * mp.ncdf(-1 / s)) + sb2

    for q in (0.3, 1.0, 4.0):
        ref = mp.diff(V, mp.mpf(q))
        assert mf.q_map_slope(q, sw2, sb2, "hard_tanh") == pytest.approx(float(ref), rel=1e-12)


# --------------------------------------------------------------------------------------
# item 5 / 7: layer_recursion accuracy near c = 1, speed path, broadcasting


def _gh(n):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    return [mp.mpf(float(v)) for v in z], [mp.mpf(float(v)) for v in w]


def _gelu(x):
    return x * mp.ncdf(x)


def _gelu_recursion_mp(sw2, sb2, q0, d0, depth, n=80):
    """1 - c^l from the full 2-D map in mpmath (product Gauss-Hermite, n nodes per axis):
    u_{1,2} = sqrt(q) (a s +- b t), a = sqrt(1 - d/2), b = sqrt(d/2), so that
    1 - c' = sw2 E[(phi(u1) - phi(u2))^2] / (2 q')."""
    Z, W = _gh(n)
    pos = [(t, w) for t, w in zip(Z, W, strict=True) if t > 0]  # even in t
    sw2, sb2 = mp.mpf(sw2), mp.mpf(sb2)
    q = sw2 * q0 + sb2
    d = sw2 * q0 * d0 / q  # first layer: identity map, D = 2 q0 d0
    out = [d]
    for _ in range(depth - 1):
        s = mp.sqrt(q)
        a, b = mp.sqrt(1 - d / 2), mp.sqrt(d / 2)
        D = mp.fsum(2 * ws * wt * (_gelu(s * (a * x + b * t)) - _gelu(s * (a * x - b * t))) ** 2
                    for x, ws in zip(Z, W, strict=True) for t, wt in pos)
        q = sw2 * mp.fsum(w * _gelu(s * x) ** 2 for x, w in zip(Z, W, strict=True)) + sb2
        d = sw2 * D / (2 * q)
        out.append(d)
    return out


def test_layer_recursion_gelu_near_one_against_mpmath():
    mp.mp.dps = 20
    c0 = 1 - 1e-6
    ref = _gelu_recursion_mp(1.5, 0.1, mp.mpf(1), 1 - mp.mpf(c0), 3)
    r = mf.layer_recursion(1.5, 0.1, 3, "gelu", c0=c0)
    for got, want in zip(r.one_minus_c, ref, strict=True):
        assert got == pytest.approx(float(want), rel=1e-9)
    np.testing.assert_array_equal(r.c, 1.0 - r.one_minus_c)


def test_layer_recursion_gelu_30_layers_keeps_digits():
    """30 ordered layers from c0 = 1 - 1e-6 (1 - c falls to ~1e-13).  For d = 1 - c
    <= 1e-6 the map is linear up to a relative O(q d) term:
    d' = sw2 q E[phi'(sqrt(q) z)^2] d / q', q' = sw2 E[phi(sqrt(q) z)^2] + sb2 (mpmath)."""
    mp.mp.dps = 20
    Z, W = _gh(80)

    def dgelu(x):
        return mp.ncdf(x) + x * mp.npdf(x)

    sw2, sb2, c0 = 1.5, 0.1, 1 - 1e-6
    q = sw2 + sb2
    d = sw2 * (1 - mp.mpf(c0)) / q
    ref = [d]
    for _ in range(29):
        s = mp.sqrt(q)
        e1 = mp.fsum(w * dgelu(s * x) ** 2 for x, w in zip(Z, W, strict=True))
        qn = sw2 * mp.fsum(w * _gelu(s * x) ** 2 for x, w in zip(Z, W, strict=True)) + sb2
        d = sw2 * q * e1 * d / qn
        q = qn
        ref.append(d)
    r = mf.layer_recursion(sw2, sb2, 30, "gelu", c0=c0)
    assert float(ref[-1]) < 1e-12
    for got, want in zip(r.one_minus_c, ref, strict=True):
        assert got == pytest.approx(float(want), rel=2e-5)


@pytest.mark.parametrize("sw2, sb2", [(2.0, 0.0), (1.5, 0.1), (3.0, 0.2)])
def test_layer_recursion_relu_against_arc_cosine_mpmath(sw2, sb2):
    """relu: q' = sw2 q / 2 + sb2, q_12' = sw2 q J(theta) / (2 pi) + sb2 (Cho & Saul 2009),
    J = sin t + (pi - t) cos t, t = acos c; iterated in mpmath at 50 digits."""
    mp.mp.dps = 50
    c0, depth = 1 - 1e-6, 60
    q = mp.mpf(sw2) + sb2
    d = mp.mpf(sw2) * (1 - mp.mpf(c0)) / q
    ref = [d]
    for _ in range(depth - 1):
        t = mp.acos(1 - d)
        J = mp.sin(t) + (mp.pi - t) * mp.cos(t)
        qn = sw2 * q / 2 + sb2
        d = 1 - (sw2 * q * J / (2 * mp.pi) + sb2) / qn
        q = qn
        ref.append(d)
    r = mf.layer_recursion(sw2, sb2, depth, "relu", c0=c0)
    for got, want in zip(r.one_minus_c, ref, strict=True):
        assert got == pytest.approx(float(want), rel=1e-11)


def test_layer_recursion_broadcasts():
    sw = np.array([[0.8], [1.5], [3.0]])
    sb = np.array([0.05, 0.5])
    r = mf.layer_recursion(sw, sb, 12, "tanh", q1_0=2.0, q2_0=0.5, c0=0.3)
    assert r.q1.shape == r.q2.shape == r.c.shape == r.one_minus_c.shape == (12, 3, 2)
    for i in range(3):
        for j in range(2):
            s = mf.layer_recursion(float(sw[i, 0]), float(sb[j]), 12, "tanh",
                                   q1_0=2.0, q2_0=0.5, c0=0.3)
            np.testing.assert_allclose(r.q1[:, i, j], s.q1, rtol=1e-14)
            np.testing.assert_allclose(r.c[:, i, j], s.c, rtol=1e-13)


def test_layer_recursion_fixed_point_shortcut_is_exact():
    """Once (q, 1 - c) repeat bitwise the rest are copies: a deep run equals a shallow one
    on its first layers, and reaches the mean-field fixed point."""
    deep = mf.layer_recursion(1.5, 0.3, 3000, "erf", c0=0.2)
    shallow = mf.layer_recursion(1.5, 0.3, 200, "erf", c0=0.2)
    np.testing.assert_array_equal(deep.q1[:200], shallow.q1)
    np.testing.assert_array_equal(deep.c[:200], shallow.c)
    assert deep.q1[-1] == pytest.approx(mf.q_star(1.5, 0.3, "erf"), rel=1e-13)


# --------------------------------------------------------------------------------------
# items 5 / 6: tolerances, caps and phase_diagram's on_fail, work bound, progress


SOLVERS = ["q_star", "c_star", "chi_c", "chi1", "chi2", "xi_q", "xi_c", "xi_grad"]


@pytest.mark.parametrize("fn", SOLVERS)
@pytest.mark.parametrize("kw", [dict(rtol=-1), dict(rtol=0.0), dict(rtol=1.0),
                                dict(rtol=np.nan), dict(maxiter=0)])
def test_solver_options_validated(fn, kw):
    with pytest.raises(ValueError, match="rtol|maxiter"):
        getattr(mf, fn)(1.5, 0.05, "tanh", **kw)


@pytest.mark.parametrize("kw", [dict(rtol="a"), dict(maxiter=2.5), dict(rtol=True)])
def test_solver_option_types(kw):
    with pytest.raises((TypeError, ValueError), match="rtol|maxiter"):
        mf.q_star(1.5, 0.05, "tanh", **kw)


def test_critical_line_and_phase_diagram_validate_tolerances():
    with pytest.raises(ValueError, match="rtol"):
        mf.critical_line(0.05, "tanh", rtol=-1)
    with pytest.raises(ValueError, match="maxiter"):
        mf.phase_diagram([1.0, 2.0], [0.1], maxiter=0)


def test_phase_diagram_on_fail():
    sw, sb = np.linspace(1.5, 4.0, 4), np.array([0.05, 0.5])
    with pytest.warns(RuntimeWarning, match=r"phase_diagram: \d+ of 8 points"):
        pd = mf.phase_diagram(sw, sb, "tanh", maxiter=1)
    assert np.isnan(pd.q_star).any()
    with pytest.raises(ConvergenceError, match="of 8 points"):
        mf.phase_diagram(sw, sb, "tanh", maxiter=1, on_fail="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mf.phase_diagram(sw, sb, "tanh", maxiter=1, on_fail="ignore")
    with pytest.raises(ValueError, match="on_fail"):
        mf.phase_diagram(sw, sb, "tanh", on_fail="maybe")


def test_phase_diagram_work_bound():
    grid = np.linspace(0.1, 4, 600)
    with pytest.raises(ValueError, match=r"360000 points.*estimated.*force=True"):
        mf.phase_diagram(grid, grid, "tanh")


def test_phase_diagram_progress_chunks_agree():
    sw, sb = np.linspace(0.5, 4.0, 7), np.linspace(0.0, 1.0, 5)
    calls = []
    # 2000 // 7 = 285 rows per chunk: one chunk here; use a wider sw to force several
    sw_wide = np.linspace(0.5, 4.0, 700)
    pd = mf.phase_diagram(sw_wide, sb, "erf", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    ref = mf.phase_diagram(sw_wide, sb, "erf")
    np.testing.assert_array_equal(pd.q_star, ref.q_star)
    np.testing.assert_array_equal(pd.chi_c, ref.chi_c)
    with pytest.raises(TypeError, match="progress"):
        mf.phase_diagram(sw, sb, "erf", progress="yes")


# --------------------------------------------------------------------------------------
# items 7 / 8: simulate_* take scalars; seeds accept int / Generator / None


def test_simulate_rejects_arrays():
    with pytest.raises(TypeError, match="sigma_w2 must be a scalar"):
        mf.simulate_q_star([1.0, 2.0], 0.1, width=20, depth=3, n_trials=2)
    with pytest.raises(TypeError, match="sigma_b2 must be a scalar"):
        mf.simulate_layers(1.0, np.array([0.1, 0.2]), width=20, depth=3, n_trials=2)
    with pytest.raises(TypeError, match="q0 must be a scalar"):
        mf.simulate_chi1(1.0, 0.1, q0=[1.0, 2.0], width=20, depth=3, n_trials=2)


def test_simulate_seed_generator_and_none():
    kw = dict(width=30, depth=4, n_trials=3)
    a = mf.simulate_q_star(1.5, 0.1, seed=np.random.default_rng(7), **kw)
    b = mf.simulate_q_star(1.5, 0.1, seed=np.random.default_rng(7), **kw)
    assert a.value == b.value and a.stderr == b.stderr
    c = mf.simulate_q_star(1.5, 0.1, seed=None, **kw)
    assert np.isfinite(c.value)
    with pytest.raises(ValueError, match="seed"):
        mf.simulate_q_star(1.5, 0.1, seed=-1, **kw)
    with pytest.raises(TypeError, match="seed"):
        mf.simulate_q_star(1.5, 0.1, seed=True, **kw)
    with pytest.raises(ValueError, match="seed"):
        mf.simulate_q_star(1.5, 0.1, seed=2**32 - 2, **kw)
    cur = mf.simulate_curvature(1.5, 0.1, depth=2, width=20, n_points=8, n_trials=2,
                                seed=np.random.default_rng(1))
    assert np.all(np.isfinite(cur.g.value))
