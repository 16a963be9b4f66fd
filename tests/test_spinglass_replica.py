"""SK replica theory (deeptheory.spinglass.replica) against independent truths.

References used (never constants produced by the library itself):

* closed forms: the SK paramagnet -beta f = ln 2 + beta^2/4 above T_c = 1 (Sherrington &
  Kirkpatrick 1975), the RS ground state -sqrt(2/pi) and RS zero-temperature entropy
  -exp(-h^2)/(2 pi) (SK 1975), the T = 0 1RSB functional with q0 = 0,
  -mu/4 - ln(2 Phi(mu))/mu, whose maximum is -0.768828 (-0.7688 in the literature);
* mpmath quadrature (30 digits) of the RS Gaussian integrals and of the AT condition
  beta^2 E sech^4 = 1 (de Almeida & Thouless 1978), and scipy dblquad of the 1RSB functional;
* the small-field AT asymptote T_AT = 1 - (3/4)^{1/3} h^{2/3} (de Almeida & Thouless 1978);
* published ground-state energies: 1RSB about -0.7653 (Parisi 1979), full RSB -0.763166
  (Crisanti & Rizzo 2002);
* Guerra's (2003) bound: every Parisi functional value is <= the free energy (so <= the
  paramagnet above T_c, and <= the k-step optimum for k-step parameters), and the ordering
  f_RS <= f_1 <= ... <= f_k;
* thermodynamic identities u = d(beta f)/d beta and s = -df/dT, checked by finite differences,
  and u = -(beta/2)(1 - int q(x)^2 dx) at h = 0.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from deeptheory import ConvergenceError
from deeptheory.spinglass.parisi import (
    SK_GROUND_STATE_PARISI,
    _functional,
    sk_1rsb,
    sk_ground_state,
    sk_parisi,
    sk_parisi_functional,
)
from deeptheory.spinglass.replica import (
    SK_GROUND_STATE_RS,
    sk_at_temperature,
    sk_replicon,
    sk_rs_free_energy,
)

LN2 = np.log(2.0)


def _para_f(T):
    b = 1.0 / np.asarray(T, dtype=float)
    return -(LN2 + b * b / 4.0) / b


# --------------------------------------------------------------------------- mpmath references


def _mp_gauss(f):
    """E f(z), z ~ N(0, 1), by mpmath quad at 30 digits (split at 0 for kinks)."""
    mp.mp.dps = 30
    g = lambda z: f(z) * mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    return mp.quad(g, [-mp.inf, -3, 0, 3, mp.inf])


def _mp_rs_terms(T, h, q):
    b = mp.mpf(1) / T
    sq = mp.sqrt(q)
    t2 = _mp_gauss(lambda z: mp.tanh(b * (sq * z + h)) ** 2)
    lc = _mp_gauss(lambda z: mp.log(mp.cosh(b * (sq * z + h))))
    f = -T * (mp.log(2) + b**2 * (1 - q) ** 2 / 4 + lc)
    return float(t2), float(f)


# --------------------------------------------------------------------------- replica symmetry


def test_rs_high_temperature_is_the_paramagnet():
    T = np.array([1.05, 1.5, 3.0, 10.0])
    r = sk_rs_free_energy(T)
    np.testing.assert_allclose(r.f, _para_f(T), rtol=0, atol=1e-13)
    np.testing.assert_allclose(r.q, 0.0, atol=1e-12)
    np.testing.assert_allclose(r.energy, -0.5 / T, atol=1e-12)
    np.testing.assert_allclose(r.entropy, LN2 - 0.25 / T**2, atol=1e-12)
    np.testing.assert_allclose(r.replicon, 1.0 - 1.0 / T**2, atol=1e-12)


def test_rs_at_and_just_below_the_critical_temperature():
    # T = 1, h = 0: q = 0 is the only fixed point (E tanh^2(beta sqrt(q) z) < beta^2 q), and
    # exactly so (the plain iteration would approach it only algebraically)
    r = sk_rs_free_energy(1.0)
    assert r.q == 0.0 and r.replicon == pytest.approx(0.0, abs=1e-15)
    assert r.f == pytest.approx(float(_para_f(1.0)), rel=0, abs=1e-15)
    # just below: the nonzero root, q = (beta^2 - 1) / (2 beta^4) (1 + O(1 - T)), checked
    # as a fixed point at high precision
    for T in (0.9999, 0.999, 0.99):
        q = float(sk_rs_free_energy(T).q)
        b = 1.0 / T
        assert q == pytest.approx((b * b - 1.0) / (2.0 * b**4), rel=5.0 * (1.0 - T))
        t2, _ = _mp_rs_terms(T, 0.0, q)
        assert abs(t2 - q) < 1e-13 * max(1.0, q / 1e-3)


@pytest.mark.parametrize("T,h", [(0.5, 0.3), (0.2, 0.0), (0.8, 1.2)])
def test_rs_fixed_point_and_free_energy_vs_mpmath(T, h):
    r = sk_rs_free_energy(T, h)
    t2, f = _mp_rs_terms(T, h, r.q)
    assert abs(t2 - r.q) < 1e-12          # q = E tanh^2 at the returned q
    assert abs(f - r.f) < 1e-12
    # energy = d(beta f)/d beta along the solution (envelope theorem)
    d = 1e-5
    bf = [sk_rs_free_energy(1.0 / b, h).f * b for b in (1.0 / T + d, 1.0 / T - d)]
    assert abs((bf[0] - bf[1]) / (2 * d) - r.energy) < 1e-7


def test_rs_zero_temperature_limits():
    r0 = sk_rs_free_energy(0.0)
    assert r0.f == pytest.approx(-np.sqrt(2.0 / np.pi), abs=1e-15)
    assert SK_GROUND_STATE_RS == pytest.approx(-0.797885, abs=1e-6)
    # continuity in T, and the famous negative RS entropy -1/(2 pi) (-exp(-h^2)/(2 pi))
    r = sk_rs_free_energy([1e-3, 1e-3], [0.0, 0.5])
    e0 = -(np.sqrt(2 / np.pi) * np.exp(-0.125) + 0.5 * (1 - 2 * ndtr(-0.5)))
    np.testing.assert_allclose(r.f, [r0.f, e0], atol=2e-3)
    np.testing.assert_allclose(sk_rs_free_energy(0.0, [0.0, 0.5]).entropy,
                               [-1 / (2 * np.pi), -np.exp(-0.25) / (2 * np.pi)], atol=1e-15)
    assert abs(r.entropy[0] + 1 / (2 * np.pi)) < 3e-3


def test_rs_broadcasts_and_magnetisation_is_odd():
    r = sk_rs_free_energy([[0.5], [2.0]], [-0.4, 0.0, 0.4])
    assert np.shape(r.f) == (2, 3)
    np.testing.assert_allclose(r.magnetization[:, 0], -r.magnetization[:, 2], atol=1e-15)
    np.testing.assert_allclose(r.f[:, 0], r.f[:, 2], atol=1e-15)
    assert np.all(r.magnetization[:, 2] > 0)


# --------------------------------------------------------------------------- AT line


def test_at_line():
    assert sk_at_temperature(0.0) == 1.0
    assert sk_replicon(1.0) == pytest.approx(0.0, abs=1e-6)   # q ~ 0 at T_c
    hs = np.array([0.1, 0.5, 1.0])
    T = sk_at_temperature(hs)
    assert np.all(np.diff(T) < 0) and np.all((T > 0) & (T < 1))
    for h, t in zip(hs, T, strict=True):   # beta^2 E sech^4 = 1 at the RS q, by mpmath
        q = sk_rs_free_energy(t, h).q
        b, sq = 1.0 / t, np.sqrt(q)
        s4 = _mp_gauss(lambda z, b=b, sq=sq, h=h: mp.sech(b * (sq * z + h)) ** 4)
        assert abs(b * b * float(s4) - 1.0) < 1e-9
    # small-field asymptote 1 - T_AT ~ (3/4)^{1/3} h^{2/3}
    h = 1e-3
    assert (1 - sk_at_temperature(h)) / ((0.75 * h * h) ** (1 / 3)) == pytest.approx(1, abs=0.02)
    # large fields: beta^2 E sech^4 ~ beta phi(h) int sech^4 = (4/3) beta phi(h) at q -> 1
    big = np.array([4.0, 6.0])
    np.testing.assert_allclose(sk_at_temperature(big), 4 / 3 * np.exp(-big**2 / 2)
                               / np.sqrt(2 * np.pi), rtol=1e-5)
    # replica symmetry is stable above the line, unstable below
    assert sk_replicon(T[1] * 1.01, 0.5) > 0 > sk_replicon(T[1] * 0.99, 0.5)


# --------------------------------------------------------------------------- Parisi functional


def test_functional_reductions_to_rs():
    T, h = 0.6, 0.25
    for q in (0.1, 0.45, 0.8):
        _, f_rs = _mp_rs_terms(T, h, q)
        assert sk_parisi_functional(T, [q], [], h) == pytest.approx(f_rs, abs=1e-12)
        # 1RSB with q0 = q1, with m = 1 (x = 1 above q0) and with m = 0 (x = 0 below q1)
        assert sk_parisi_functional(T, [q, q], [0.37], h) == pytest.approx(f_rs, abs=1e-11)
        assert sk_parisi_functional(T, [q, 0.9], [1.0], h) == pytest.approx(f_rs, abs=1e-11)
        assert sk_parisi_functional(T, [0.05, q], [0.0], h) == pytest.approx(f_rs, abs=1e-11)
    # a repeated overlap removes a level: 3-step == 2-step
    f3 = sk_parisi_functional(T, [0.1, 0.3, 0.3, 0.7], [0.2, 0.4, 0.6], h)
    f2 = sk_parisi_functional(T, [0.1, 0.3, 0.7], [0.2, 0.6], h)
    assert f3 == pytest.approx(f2, abs=1e-11)


def test_functional_1rsb_vs_dblquad():
    T, h, q0, q1, m = 0.5, 0.2, 0.2, 0.6, 0.4
    b = 1.0 / T
    pdf = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731

    def inner(z0):
        g = lambda z1: (np.cosh(b * (h + np.sqrt(q0) * z0 + np.sqrt(q1 - q0) * z1)) ** m  # noqa: E731
                        * pdf(z1))
        return np.log(integrate.quad(g, -12, 12, epsabs=0, epsrel=1e-13, limit=200)[0]) / m

    outer = integrate.quad(lambda z0: inner(z0) * pdf(z0), -12, 12, epsabs=1e-14,
                           epsrel=1e-13, limit=200)[0]
    mbf = LN2 + b * b / 4 * (1 - 2 * q1 + (1 - m) * q1**2 + m * q0**2) + outer
    assert sk_parisi_functional(T, [q0, q1], [m], h) == pytest.approx(-T * mbf, abs=1e-11)


def test_functional_zero_temperature_1rsb_closed_form():
    def closed(mu):
        return -mu / 4 - np.log(2 * ndtr(mu)) / mu

    for mu in (0.3, 0.82, 2.5):
        assert sk_parisi_functional(0.0, [0.0, 1.0], [mu]) == pytest.approx(closed(mu), abs=1e-12)
    best = minimize_scalar(lambda mu: -closed(mu), bounds=(0.1, 3), method="bounded",
                           options={"xatol": 1e-10})
    assert -best.fun == pytest.approx(-0.7688, abs=5e-5)   # 1RSB with q0 forced to 0
    # k = 0 at T = 0 is the RS ground state E|z + h|
    assert sk_parisi_functional(0.0, [1.0], []) == pytest.approx(SK_GROUND_STATE_RS, abs=1e-14)


@pytest.mark.parametrize("beta,h,q,mu", [
    (np.inf, 0.0, [0.2, 0.5, 0.7, 1.0], [0.3, 0.8, 2.0]),
    (np.inf, 0.3, [0.2, 0.5, 0.5001, 1.0], [0.3, 0.8, 2.0]),   # a level below the tiny-s cut
    (3.0, 0.2, [0.2, 0.5, 0.7, 0.9], [0.3, 0.8, 2.0]),
    (20.0, 0.1, [0.3, 0.8, 0.97], [1.0, 4.0]),                # the split ln cosh level
])
def test_functional_gradient_matches_finite_differences(beta, h, q, mu):
    q, mu = np.array(q), np.array(mu)
    f, gq, gmu = _functional(beta, h, q, mu, grad=True)
    e = 1e-6
    for i in range(q.size - (1 if np.isinf(beta) else 0)):
        dq = np.zeros_like(q)
        dq[i] = e
        fd = (_functional(beta, h, q + dq, mu) - _functional(beta, h, q - dq, mu)) / (2 * e)
        assert gq[i] == pytest.approx(fd, abs=2e-8)
    for i in range(mu.size):
        dm = np.zeros_like(mu)
        dm[i] = e
        fd = (_functional(beta, h, q, mu + dm) - _functional(beta, h, q, mu - dm)) / (2 * e)
        assert gmu[i] == pytest.approx(fd, abs=2e-8)


def test_guerra_bound_random_parameters():
    rng = np.random.default_rng(7)
    for _ in range(5):   # above T_c every functional value is below the paramagnet
        q = np.sort(rng.uniform(0, 1, 3))
        m = np.sort(rng.uniform(0, 1, 2))
        assert sk_parisi_functional(1.5, q, m) <= _para_f(1.5) + 1e-12
    best = sk_parisi(0.5, 0.0, 2)
    for _ in range(5):   # and below the 2-step optimum for 2-step parameters
        q = np.sort(rng.uniform(0, 0.9, 3))
        m = np.sort(rng.uniform(0, 1, 2))
        assert sk_parisi_functional(0.5, q, m) <= best.f + 1e-10


# --------------------------------------------------------------------------- solutions


def test_parisi_above_tc_and_above_at_line_is_rs():
    for k in (1, 3):
        r = sk_parisi(1.3, 0.0, k)
        assert r.f == pytest.approx(_para_f(1.3), abs=1e-13) and r.n_iter == 0
    # h = 0.5: T_AT = 0.535; above it RS is exact
    r = sk_parisi(0.7, 0.5, 2)
    assert r.f == pytest.approx(sk_rs_free_energy(0.7, 0.5).f, abs=1e-14)


def test_ground_state_k_steps_published_values():
    r = sk_parisi(0.0, 0.0, 4)
    e = r.f_by_k
    assert e[0] == pytest.approx(-np.sqrt(2 / np.pi), abs=1e-12)       # RS
    assert e[1] == pytest.approx(-0.7653, abs=1e-4)                    # 1RSB (Parisi 1979)
    assert np.all(np.diff(e) > 0)                 # Guerra: f_RS < f_1 < f_2 < ...
    assert np.all(np.diff(np.diff(e)) < 0)        # ... with shrinking increments
    assert np.all(e <= SK_GROUND_STATE_PARISI + 1e-6)
    assert abs(e[4] - SK_GROUND_STATE_PARISI) < 1e-4                   # -0.7632 full RSB
    assert r.q[-1] == 1.0 and np.all(np.diff(r.q) > 0) and np.all(np.diff(r.mu) > 0)
    one = sk_1rsb(0.0)
    assert one.f == pytest.approx(e[1], abs=1e-9) and 0.4 < one.q0 < 0.55


def test_finite_temperature_thermodynamics():
    T = 0.5
    r = sk_parisi(T, 0.0, 3)
    assert np.all(np.diff(r.f_by_k) > -1e-12)
    assert r.f_by_k[0] == pytest.approx(sk_rs_free_energy(T).f, abs=1e-12)
    # u = -(beta/2) (1 - int_0^1 q(x)^2 dx) at h = 0, x(q) = m_l on (q_{l-1}, q_l]
    x = np.concatenate([[0.0], r.m, [1.0]])
    u = -(1 / T) / 2 * (1 - np.sum(np.diff(x) * r.q**2))
    assert r.energy == pytest.approx(u, abs=1e-7)
    assert r.entropy == pytest.approx((r.energy - r.f) / T, abs=1e-12)
    # s = -df/dT (1RSB, central difference)
    d = 1e-3
    fp, fm = sk_1rsb(T + d).f, sk_1rsb(T - d).f
    assert sk_1rsb(T).entropy == pytest.approx(-(fp - fm) / (2 * d), abs=1e-6)


def test_field_and_low_temperature():
    r = sk_parisi(0.3, 0.3, 2)                    # below the AT line (T_AT(0.3) = 0.652)
    assert r.f > sk_rs_free_energy(0.3, 0.3).f + 1e-4
    assert np.all(np.diff(r.f_by_k) > 0) and r.q[0] > 0.3
    # T -> 0: the finite-T 1RSB approaches the T = 0 formulation
    assert abs(sk_1rsb(0.02).f - sk_1rsb(0.0).f) < 5e-4


def test_bad_input():
    with pytest.raises(ValueError, match="T"):
        sk_rs_free_energy(-0.1)
    with pytest.raises(ValueError, match="T"):
        sk_rs_free_energy(np.nan)
    with pytest.raises(ValueError, match="h"):
        sk_rs_free_energy(0.5, np.inf)
    with pytest.raises(ValueError, match="T"):
        sk_replicon(0.0)
    with pytest.raises(ValueError, match="T"):
        sk_parisi(-1.0)
    with pytest.raises(ValueError, match="k"):
        sk_parisi(0.5, 0.0, -1)
    with pytest.raises(ValueError, match="tol"):
        sk_parisi(0.5, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        sk_parisi(0.5, max_iter=0)
    with pytest.raises(ValueError, match="m"):
        sk_parisi_functional(0.5, [0.1, 0.2], [1.5])
    with pytest.raises(ValueError, match="non-decreasing"):
        sk_parisi_functional(0.5, [0.3, 0.2], [0.5])
    with pytest.raises(ValueError, match="q_k must be 1"):
        sk_parisi_functional(0.0, [0.3, 0.9], [0.5])
    with pytest.raises(ValueError, match="k \\+ 1"):
        sk_parisi_functional(0.5, [0.3, 0.9], [0.5, 0.6])
    with pytest.raises(ValueError, match="h"):
        sk_at_temperature(np.nan)
    with pytest.raises(ValueError, match="k_max"):
        sk_ground_state(k_max=2)
    with pytest.raises(ConvergenceError):
        sk_parisi(0.5, 0.0, 2, max_iter=1)
    with pytest.raises(ConvergenceError):
        sk_rs_free_energy(0.5, max_iter=1)


@pytest.mark.slow
def test_ground_state_extrapolation_matches_crisanti_rizzo():
    g = sk_ground_state(k_max=8)
    assert np.all(np.diff(g.by_k) > 0)
    assert g.uncertainty < 5e-6
    assert abs(g.energy - SK_GROUND_STATE_PARISI) < g.uncertainty + 1e-6
    assert abs(g.by_k[-1] - SK_GROUND_STATE_PARISI) < 1e-5
