"""Spherical p-spin statics (deeptheory.spinglass.spherical_statics) against independent truths.

References used (never constants produced by the module itself):

* published p = 3 values (Crisanti & Sommers 1992; Castellani & Cavagna 2005), CS units:
  T_d = sqrt(3/8) = 0.612372 with q_d = 1/2, T_s = 0.586054 with q_s = 0.645007; ABC units
  (x sqrt 2): 0.866025 and 0.828805;
* mpmath root finding of the m = 1 static condition q^2/(p(1-q)) + ln(1-q) + q = 0 and a
  numerical maximisation of p q^{p-2} (1-q) / 2 for T_d (not the module's x* route or closed
  form);
* the complexity functions of :mod:`deeptheory.spinglass.complexity` (Auffinger, Ben Arous &
  Cerny 2013): the 1RSB ground state is -E_0(p), the T = 0 threshold energy is -E_inf(p)
  (ABC units);
* stationarity of the 1RSB functional, thermodynamic identities u = d(beta f)/d beta and
  s = -df/dT, and the replicon condition, all by finite differences;
* the exact surface area of the sphere of radius sqrt(N) (gammaln) for the entropy constant.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar, root
from scipy.special import gammaln

from deeptheory.spinglass import e_0, e_inf
from deeptheory.spinglass.spherical_statics import (
    SPHERICAL_MEASURES,
    abc_to_cs,
    cs_to_abc,
    spherical_1rsb,
    spherical_1rsb_functional,
    spherical_dynamic_transition,
    spherical_ground_state,
    spherical_rs_free_energy,
    spherical_static_transition,
    spherical_threshold,
    spherical_x_star,
)


def test_published_p3_transitions():
    d = spherical_dynamic_transition(3)
    s = spherical_static_transition(3)
    assert d.T == pytest.approx(np.sqrt(3 / 8), abs=1e-15) and d.q == 0.5
    assert d.T == pytest.approx(0.612372, abs=1e-6)
    assert s.T == pytest.approx(0.586054, abs=1e-6)
    assert s.q == pytest.approx(0.645007, abs=1e-6)
    assert cs_to_abc(d.T) == pytest.approx(0.866025, abs=1e-6)
    assert cs_to_abc(s.T) == pytest.approx(0.828805, abs=1e-6)
    assert abc_to_cs(cs_to_abc(0.3)) == pytest.approx(0.3, abs=1e-16)


@pytest.mark.parametrize("p", [3, 4, 5, 8])
def test_transitions_vs_direct_conditions(p):
    # T_d: largest T with a root of beta^2 p q^{p-2} (1-q) / 2 = 1
    best = minimize_scalar(lambda q: -p * q ** (p - 2) * (1 - q) / 2, bounds=(0, 1),
                           method="bounded", options={"xatol": 1e-12})
    d = spherical_dynamic_transition(p)
    assert d.T == pytest.approx(np.sqrt(-best.fun), abs=1e-12)
    assert d.q == pytest.approx(best.x, abs=1e-6)
    # T_s: mpmath root of q^2/(p(1-q)) + ln(1-q) + q = 0, beta_s^2/2 = 1/(p q^{p-2} (1-q))
    mp.mp.dps = 30
    qs = mp.findroot(lambda q: q**2 / (p * (1 - q)) + mp.log(1 - q) + q,
                     (mp.mpf("0.3"), mp.mpf("0.995")), solver="illinois")
    Ts = mp.sqrt(p * qs ** (p - 2) * (1 - qs) / 2)
    s = spherical_static_transition(p)
    assert s.q == pytest.approx(float(qs), abs=1e-12)
    assert s.T == pytest.approx(float(Ts), abs=1e-12)
    assert s.T < d.T and s.energy == pytest.approx(-0.5 / s.T)
    x = spherical_x_star(p)
    assert x / (1 + x) == pytest.approx(float(qs), abs=1e-12)


def test_vectorised_transitions():
    s = spherical_static_transition([3, 4, 5])
    d = spherical_dynamic_transition(np.array([3, 4, 5]))
    assert np.all(s.T < d.T) and np.all(np.diff(d.T) < 0)


def test_paramagnet_and_entropy_constant():
    T = np.array([0.3, 1.0, 4.0])
    r = spherical_rs_free_energy(T)
    c = 0.5 * (1 + np.log(2 * np.pi))
    np.testing.assert_allclose(-r.f / T, 0.25 / T**2 + c, rtol=1e-15)
    np.testing.assert_allclose(r.energy, -0.5 / T)
    u = spherical_rs_free_energy(T, measure="uniform")
    np.testing.assert_allclose(-u.f / T, 0.25 / T**2, rtol=1e-15)   # (1/N) ln E Z
    np.testing.assert_allclose(r.entropy - u.entropy, c)
    # (1/N) ln |S^{N-1}(sqrt N)| -> (1 + ln 2 pi) / 2
    N = 1e7
    area = np.log(2) + N / 2 * np.log(np.pi) + (N - 1) / 2 * np.log(N) - gammaln(N / 2)
    assert area / N == pytest.approx(SPHERICAL_MEASURES["lebesgue"], abs=1e-5)


@pytest.mark.parametrize("p", [3, 4])
def test_1rsb_is_a_stationary_point_and_thermodynamic(p):
    Ts = spherical_static_transition(p).T
    for T in (0.3 * Ts, 0.7 * Ts, 0.95 * Ts):
        r = spherical_1rsb(T, p)
        assert 0 < r.m < 1 and r.q > spherical_dynamic_transition(p).q
        assert r.f == pytest.approx(spherical_1rsb_functional(T, r.q, r.m, p), abs=1e-14)
        e = 1e-6
        dq = (spherical_1rsb_functional(T, r.q + e, r.m, p)
              - spherical_1rsb_functional(T, r.q - e, r.m, p)) / (2 * e)
        dm = (spherical_1rsb_functional(T, r.q, r.m + e, p)
              - spherical_1rsb_functional(T, r.q, r.m - e, p)) / (2 * e)
        assert abs(dq) < 1e-8 and abs(dm) < 1e-8
        assert r.f > spherical_rs_free_energy(T).f          # RSB raises f below T_s
        d = 1e-5
        fp, fm = spherical_1rsb([T + d, T - d], p).f
        assert r.entropy == pytest.approx(-(fp - fm) / (2 * d), abs=1e-7)
        bp, bm = 1 / T + d, 1 / T - d
        bf = bp * spherical_1rsb(1 / bp, p).f - bm * spherical_1rsb(1 / bm, p).f
        assert r.energy == pytest.approx(bf / (2 * d), abs=1e-7)
    # continuity at T_s: m -> 1, f -> paramagnet; above T_s the paramagnet
    below = spherical_1rsb(Ts * (1 - 1e-9), p)
    assert below.m == pytest.approx(1.0, abs=1e-7)
    assert below.q == pytest.approx(spherical_static_transition(p).q, abs=1e-7)
    assert below.f == pytest.approx(spherical_rs_free_energy(Ts).f, abs=1e-9)
    above = spherical_1rsb(Ts * 1.01, p)
    assert above.q == 0 and above.m == 1


@pytest.mark.parametrize("p", [3, 4, 5, 6, 8])
def test_ground_state_is_minus_e0_and_threshold_is_minus_einf(p):
    g = spherical_ground_state(p)
    assert abs(cs_to_abc(g.energy) + e_0(p)) < 1e-6
    th = spherical_threshold(0.0, p)
    assert abs(cs_to_abc(th.energy) + e_inf(p)) < 1e-12
    assert th.energy == pytest.approx(-np.sqrt(2 * (p - 1) / p), abs=1e-14)

    # the T = 0 1RSB energy e(chi, y) is stationary at (chi, y) (solved here with scipy)
    def e(v):
        chi, y = v
        return -(p * chi + y) / 4 - np.log((chi + y) / chi) / (2 * y)

    def grad(w, h=1e-7):   # in log variables, so that chi, y stay positive
        return [(e(np.exp(w + h * d)) - e(np.exp(w - h * d))) / (2 * h) for d in np.eye(2)]

    sol = root(grad, np.log([0.8 * np.sqrt(2 / p), 1.0]), tol=1e-12)
    assert sol.success
    assert e(np.exp(sol.x)) == pytest.approx(g.energy, abs=1e-9)
    np.testing.assert_allclose(np.exp(sol.x), [g.chi, g.y], atol=1e-5)
    # T -> 0 of the finite-T solution
    low = spherical_1rsb(1e-4, p)
    assert low.energy == pytest.approx(g.energy, abs=1e-3)
    assert spherical_1rsb(0.0, p).f == g.energy


def test_threshold_curve():
    p = 3
    d = spherical_dynamic_transition(p)
    T = np.array([0.1, 0.3, 0.5, 0.6])
    th = spherical_threshold(T, p)
    # replicon condition beta^2 p (p-1) q^{p-2} (1-q)^2 / 2 = 1 and x = p - 2
    np.testing.assert_allclose(p * (p - 1) * th.q ** (p - 2) * (1 - th.q) ** 2 / (2 * T**2), 1.0,
                               atol=1e-12)
    np.testing.assert_allclose(th.m * th.q / (1 - th.q), p - 2, atol=1e-12)
    assert np.all(np.diff(th.energy) > 0) and np.all(th.m < 1)
    # at T_d the threshold states carry the paramagnetic energy -1/(2 T_d), m = 1, q = q_d
    at = spherical_threshold(d.T, p)
    assert at.energy == pytest.approx(-0.5 / d.T) and at.m == 1.0 and at.q == d.q
    near = spherical_threshold(d.T * (1 - 1e-8), p)
    assert near.energy == pytest.approx(at.energy, abs=1e-3)
    assert near.m == pytest.approx(1, abs=1e-3)
    # threshold states lie above the equilibrium states for T < T_s
    assert np.all(th.energy[:2] > spherical_1rsb(T[:2], p).energy)


def test_bad_input():
    with pytest.raises(ValueError, match="p"):
        spherical_static_transition(2)
    with pytest.raises(ValueError, match="p"):
        spherical_dynamic_transition(2.5)
    with pytest.raises(ValueError, match="p"):
        spherical_threshold(0.1, 2)
    with pytest.raises(ValueError, match="T"):
        spherical_1rsb(-0.1, 3)
    with pytest.raises(ValueError, match="T"):
        spherical_rs_free_energy(0.0)
    with pytest.raises(ValueError, match="T"):
        spherical_rs_free_energy(np.inf)
    with pytest.raises(ValueError, match="measure"):
        spherical_rs_free_energy(1.0, measure="haar")
    with pytest.raises(ValueError, match="q"):
        spherical_1rsb_functional(0.5, 1.0, 0.5, 3)
    with pytest.raises(ValueError, match="m"):
        spherical_1rsb_functional(0.5, 0.5, 0.0, 3)
    with pytest.raises(ValueError, match="m"):
        spherical_1rsb_functional(0.5, 0.5, 1.5, 3)
    with pytest.raises(ValueError, match="T_d"):
        spherical_threshold(0.7, 3)
    with pytest.raises(ValueError, match="x"):
        cs_to_abc(np.nan)
