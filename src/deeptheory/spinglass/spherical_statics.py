"""Statics of the spherical pure p-spin glass: Crisanti-Sommers RS and 1RSB, T_s, T_d, threshold.

Conventions (every function here; Crisanti & Sommers 1992, "CS units"):

* s on the sphere |s|^2 = N, H(s) = -sum_{i_1<...<i_p} J_{i_1..i_p} s_{i_1} ... s_{i_p} with
  E[H(s) H(s')] = (N/2) (s.s'/N)^p.  The complexity functions of :mod:`.complexity` use the
  units of Auffinger, Ben Arous & Cerny (2013, "ABC units"), E[H H'] = N (s.s'/N)^p: the
  Hamiltonian is sqrt(2) times larger, so energies, free energies and temperatures in ABC
  units are sqrt(2) times the CS values (entropies and overlaps are the same);
  :func:`cs_to_abc` and :func:`abc_to_cs` convert.
* Quantities per spin (k_B = 1): f = -(T/N) E log Z, internal energy u = E<H>/N, entropy
  s = beta (u - f) in nats.  Entropy constant (``measure``): "lebesgue" (default) integrates
  over the sphere's surface measure, whose volume is e^{N (1 + ln 2 pi)/2 + o(N)}, so the
  paramagnet has -beta f = beta^2/4 + (1 + ln 2 pi)/2 (Crisanti & Sommers 1992); "uniform"
  uses the normalised uniform probability measure, -beta f = beta^2/4 (the annealed
  (1/N) ln E Z).  Energies and transition temperatures do not depend on this choice.

The 1RSB free energy with overlap q and Parisi breakpoint m (Crisanti & Sommers 1992;
Castellani & Cavagna 2005):

    -beta f(q, m) = c + beta^2/4 [1 - (1 - m) q^p] + (m - 1)/(2 m) ln(1 - q)
                    + 1/(2 m) ln(1 - (1 - m) q).

Writing x = m q / (1 - q), its stationarity equations become
    q:  beta^2 p q^{p-2} (1 - q)^2 (1 + x) / 2 = 1,
    m:  x^2 / p + x - (1 + x) ln(1 + x) = 0,
so the equilibrium 1RSB phase has a temperature-independent x* (p) (Crisanti & Sommers 1992),
m = x* (1 - q)/q, and the replicon (marginal) condition beta^2 p (p-1) q^{p-2} (1-q)^2 / 2 = 1
picks x = p - 2: the threshold states that the aging dynamics reaches (Cugliandolo & Kurchan
1993).  Temperatures: T_d^2 = p (p-2)^{p-2} / (2 (p-1)^{p-1}) (q_d = (p-2)/(p-1)), T_s where
m = 1 (q_s = x*/(1 + x*)): p = 3 gives T_d = sqrt(3/8) = 0.612372 and T_s = 0.586054
(q_s = 0.645007).  Zero temperature: the 1RSB ground state energy (x* branch) is -E_0(p) and
the threshold energy (x = p - 2 branch) is -E_inf(p) of Auffinger, Ben Arous & Cerny (2013),
both in ABC units; in CS units -E_0 / sqrt(2) and -E_inf / sqrt(2) = -sqrt(2 (p-1) / p).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from .._api import ConvergenceError, Result
from .._validation import as_float, broadcast, scalar_or_array
from ._checks import check_p

__all__ = [
    "SPHERICAL_MEASURES",
    "SphericalStatics",
    "SphericalTransition",
    "SphericalGroundState",
    "SphericalThreshold",
    "cs_to_abc",
    "abc_to_cs",
    "spherical_rs_free_energy",
    "spherical_1rsb_functional",
    "spherical_1rsb",
    "spherical_x_star",
    "spherical_static_transition",
    "spherical_dynamic_transition",
    "spherical_threshold",
    "spherical_ground_state",
]

#: entropy constants per spin of the sphere's measures (see the module docstring)
SPHERICAL_MEASURES = {"lebesgue": 0.5 * (1.0 + np.log(2.0 * np.pi)), "uniform": 0.0}
_SQRT2 = float(np.sqrt(2.0))


# --------------------------------------------------------------------------- checks, units


def _c(measure: Any) -> float:
    if measure not in SPHERICAL_MEASURES:
        raise ValueError(f"measure must be one of {sorted(SPHERICAL_MEASURES)}, got {measure!r}")
    return float(SPHERICAL_MEASURES[measure])


def _check_p3(p: Any) -> np.ndarray:
    pp = check_p(p)
    if np.any(pp < 3):
        raise ValueError(f"p must be an integer >= 3 for a 1RSB phase and transitions, got "
                         f"{pp.min():g} (p = 2 has a continuous transition)")
    return pp


def _check_T(T: Any, *, allow_zero: bool) -> np.ndarray:
    t = as_float("T", T)
    if allow_zero and np.any(t < 0):
        raise ValueError(f"T must be >= 0, got min {t.min()}")
    if not allow_zero and np.any(t <= 0):
        raise ValueError(f"T must be > 0, got min {t.min()}")
    return t


def cs_to_abc(x: Any) -> np.ndarray | float:
    """Energy, free energy or temperature in Crisanti-Sommers units -> ABC units (x sqrt 2).

    Crisanti & Sommers (1992) normalise E[H H'] = (N/2) (s.s'/N)^p, Auffinger, Ben Arous &
    Cerny (2013) E[H H'] = N (s.s'/N)^p: H_ABC = sqrt(2) H_CS, and Z is unchanged when
    T_ABC = sqrt(2) T_CS.  Entropies and overlaps are unit-free.
    """
    return scalar_or_array(np.sqrt(2.0) * as_float("x", x))


def abc_to_cs(x: Any) -> np.ndarray | float:
    """Energy, free energy or temperature in ABC units -> Crisanti-Sommers units:
    x_CS = x_ABC / sqrt 2.

    Inverse of :func:`cs_to_abc` (Auffinger, Ben Arous & Cerny 2013; Crisanti & Sommers 1992).
    """
    return scalar_or_array(as_float("x", x) / np.sqrt(2.0))


# --------------------------------------------------------------------------- free energies


@dataclass(frozen=True)
class SphericalStatics(Result):
    """Thermodynamics of the spherical p-spin (Crisanti & Sommers 1992), CS units, per spin.

    ``f`` free energy, ``q`` overlap (0 in the paramagnet), ``m`` Parisi breakpoint (1 in the
    paramagnet), ``energy`` u, ``entropy`` s = beta (u - f) (with the chosen ``measure``).
    """

    f: np.ndarray | float
    q: np.ndarray | float
    m: np.ndarray | float
    energy: np.ndarray | float
    entropy: np.ndarray | float


def spherical_rs_free_energy(T: Any, *, measure: str = "lebesgue") -> SphericalStatics:
    """Replica-symmetric (paramagnetic, q = 0) free energy of the spherical p-spin model.

        -beta f = beta^2 / 4 + c,   u = -beta / 2,   s = c - beta^2 / 4,

    for every p (Crisanti & Sommers 1992, CS units E[H H'] = (N/2) (s.s'/N)^p, per spin), with
    c = (1 + ln 2 pi)/2 for ``measure="lebesgue"`` and c = 0 for "uniform" (module docstring).
    Exact for T >= T_s (:func:`spherical_static_transition`).  ``T`` > 0, array ok.
    """
    t = _check_T(T, allow_zero=False)
    c = _c(measure)
    beta = 1.0 / t
    f = -t * (beta**2 / 4.0 + c)
    z = np.zeros_like(t)
    return SphericalStatics(scalar_or_array(f), scalar_or_array(z), scalar_or_array(z + 1.0),
                            scalar_or_array(-beta / 2.0), scalar_or_array(c - beta**2 / 4.0))


def _mbf_1rsb(beta, q, m, p, c):
    """-beta f(q, m): the 1RSB Crisanti-Sommers functional (m -> 0 safe through log1p)."""
    one_q = 1.0 - q
    return (c + beta**2 / 4.0 * (1.0 - (1.0 - m) * q**p) + 0.5 * np.log(one_q)
            + np.log1p(m * q / one_q) / (2.0 * m))


def spherical_1rsb_functional(T: Any, q: Any, m: Any, p: Any, *, measure: str = "lebesgue"
                              ) -> np.ndarray | float:
    """1RSB free energy f(q, m) per spin of the spherical p-spin (Crisanti & Sommers 1992).

        -beta f = c + beta^2/4 [1 - (1 - m) q^p] + (m-1)/(2m) ln(1 - q) + ln(1 - (1-m) q) / (2m)

    (Castellani & Cavagna 2005; CS units; c as in :func:`spherical_rs_free_energy`).
    q = 0 or m = 1 give the paramagnet.  The equilibrium value is the stationary point
    (:func:`spherical_1rsb`).  ``T`` > 0, 0 <= ``q`` < 1, 0 < ``m`` <= 1, ``p`` integer >= 2;
    all broadcast.
    """
    t = _check_T(T, allow_zero=False)
    qq = as_float("q", q, lo=0.0)
    if np.any(qq >= 1):
        raise ValueError(f"q must be < 1, got max {qq.max()}")
    mm = as_float("m", m, hi=1.0)
    if np.any(mm <= 0):
        raise ValueError(f"m must be > 0, got min {mm.min()}")
    t, qq, mm, pp = broadcast(T=t, q=qq, m=mm, p=check_p(p))
    return scalar_or_array(-t * _mbf_1rsb(1.0 / t, qq, mm, pp, _c(measure)))


def _x_star(p: float) -> float:
    """Root x > 0 of x^2/p + x - (1 + x) ln(1 + x) = 0 (the 1RSB m-equation)."""
    def g(x: float) -> float:
        return x * x / p + x - (1.0 + x) * np.log1p(x)
    # g ~ -x^2 (p - 2)/(2p) < 0 near 0 and g -> +inf (x^2/p beats x ln x)
    hi = 1.0
    while g(hi) < 0:
        hi *= 2.0
    return float(brentq(g, 1e-3 * hi, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def spherical_x_star(p: Any) -> np.ndarray | float:
    """x*(p) = m q / (1 - q) of the equilibrium 1RSB phase of the spherical p-spin.

    The positive root of x^2/p + x - (1 + x) ln(1 + x) = 0, which is the 1RSB m-equation of
    Crisanti & Sommers (1992) after the q-equation is used (module docstring); it does not
    depend on T.  x*(3) = 1.816961..., and q_s = x*/(1 + x*).  ``p`` integer >= 3.
    """
    pp = _check_p3(p)
    return scalar_or_array(np.vectorize(_x_star, otypes=[float])(pp))


def _q_root(beta: float, p: float, a: float) -> float:
    """Largest q in ((p-2)/p, 1) with beta^2 p q^{p-2} (1-q)^2 a / 2 = 1 (nan if none).

    Solved for w = 1 - q in (0, 2/p), where the left side increases from 0, so that 1 - q
    keeps full relative precision at low T (1 - q ~ T).
    """
    def g(w: float) -> float:
        return np.log(beta**2 * p * a / 2.0) + (p - 2.0) * np.log1p(-w) + 2.0 * np.log(w)
    w_hi = 2.0 / p                  # maximiser of q^{p-2} (1-q)^2
    if g(w_hi) < 0:
        return float("nan")
    w = brentq(g, 1e-300, w_hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=2000)
    return float(1.0 - w)


def spherical_1rsb(T: Any, p: Any = 3, *, measure: str = "lebesgue") -> SphericalStatics:
    """Equilibrium free energy of the spherical p-spin: paramagnet above T_s, 1RSB below.

    Crisanti & Sommers 1992 (CS units, per spin; module docstring): for T < T_s the
    stationary point of :func:`spherical_1rsb_functional` has x = m q/(1 - q) = x*(p)
    (:func:`spherical_x_star`), q the largest root of beta^2 p q^{p-2} (1-q)^2 (1 + x*) / 2 = 1
    and m = x* (1 - q)/q < 1; energy u = -(beta/2) [1 - (1 - m) q^p], entropy s = beta (u - f).
    For T >= T_s the paramagnet (q = 0, m = 1).  As T -> 0, f and u tend to the ground state
    energy -E_0(p)/sqrt(2) (:func:`spherical_ground_state`), f like T ln T, since the entropy
    of continuous spins diverges like (1/2) ln T.  ``T`` >= 0 (T = 0 returns the ground state
    with q = 1, m = 0, s = -inf), ``p`` integer >= 3; both broadcast.
    """
    t, pp = broadcast(T=_check_T(T, allow_zero=True), p=_check_p3(p))
    c = _c(measure)
    out = np.empty((*t.shape, 5))
    for idx in np.ndindex(t.shape):
        out[idx] = _1rsb_scalar(float(t[idx]), float(pp[idx]), c)
    return SphericalStatics(*(scalar_or_array(out[..., i]) for i in range(5)))


def _1rsb_scalar(t: float, p: float, c: float) -> tuple[float, ...]:
    xs = _x_star(p)
    if t == 0.0:  # continuous spins: s ~ (1/2) ln T -> -inf
        e = _ground_scalar(p)[0]
        return e, 1.0, 0.0, e, -np.inf
    beta = 1.0 / t
    T_s = _static_scalar(p)[0]
    if t >= T_s:
        return -t * (beta**2 / 4.0 + c), 0.0, 1.0, -beta / 2.0, c - beta**2 / 4.0
    q = _q_root(beta, p, 1.0 + xs)
    if not np.isfinite(q):  # pragma: no cover - T < T_s always has a root
        raise ConvergenceError(f"spherical_1rsb: no 1RSB overlap at T={t}, p={p}")
    m = min(xs * (1.0 - q) / q, 1.0)
    f = -t * float(_mbf_1rsb(beta, q, m, p, c))
    u = -beta / 2.0 * (1.0 - (1.0 - m) * q**p)
    return f, q, m, u, beta * (u - f)


# --------------------------------------------------------------------------- transitions


@dataclass(frozen=True)
class SphericalTransition(Result):
    """A transition of the spherical p-spin (Crisanti & Sommers 1992), CS units.

    ``T`` the temperature, ``q`` the overlap of the states that appear there, ``energy`` the
    paramagnetic energy -1/(2T) at T, ``p``.  :func:`cs_to_abc` converts T and energy.
    """

    T: np.ndarray | float
    q: np.ndarray | float
    energy: np.ndarray | float
    p: np.ndarray | float


def _static_scalar(p: float) -> tuple[float, float]:
    xs = _x_star(p)
    q = xs / (1.0 + xs)
    return float(np.sqrt(p * q ** (p - 2.0) * (1.0 - q) / 2.0)), float(q)


def spherical_static_transition(p: Any = 3) -> SphericalTransition:
    """Static (Kauzmann) transition T_s of the spherical p-spin, where the 1RSB phase sets in.

    Crisanti & Sommers 1992 (CS units): m = 1 at T_s, where q_s solves
    q^2 / (p (1-q)) + ln(1-q) + q = 0 (equivalently q_s = x*/(1 + x*), :func:`spherical_x_star`)
    and beta_s^2 / 2 = 1 / (p q_s^{p-2} (1 - q_s)).  p = 3: T_s = 0.586054, q_s = 0.645007
    (0.828805 in ABC units).  The transition is continuous in f (m = 1) but q jumps from 0 to
    q_s.  ``p`` integer >= 3 (array ok).
    """
    pp = _check_p3(p)
    res = np.array([_static_scalar(float(a)) for a in pp.ravel()]).reshape(*pp.shape, 2)
    T = res[..., 0]
    return SphericalTransition(scalar_or_array(T), scalar_or_array(res[..., 1]),
                               scalar_or_array(-0.5 / T), scalar_or_array(pp))


def spherical_dynamic_transition(p: Any = 3) -> SphericalTransition:
    """Dynamic (mode-coupling) transition T_d of the spherical p-spin, closed form.

        T_d^2 = p (p-2)^{p-2} / (2 (p-1)^{p-1}),   q_d = (p - 2)/(p - 1)

    (Crisanti & Sommers 1992; Cugliandolo & Kurchan 1993; Castellani & Cavagna 2005, CS units):
    the highest T where the m = 1 equation beta^2 p q^{p-2} (1-q) / 2 = 1 has a root, which is
    marginal there (replicon zero); below it the paramagnet splits into exponentially many
    metastable states and equilibrium dynamics freezes.  p = 3: T_d = sqrt(3/8) = 0.612372,
    q_d = 1/2 (0.866025 in ABC units).  At T_d the energy -1/(2 T_d) is the threshold energy
    there (:func:`spherical_threshold`).  ``p`` integer >= 3 (array ok).
    """
    pp = _check_p3(p)
    T = np.sqrt(pp * (pp - 2.0) ** (pp - 2.0) / (2.0 * (pp - 1.0) ** (pp - 1.0)))
    return SphericalTransition(scalar_or_array(T), scalar_or_array((pp - 2.0) / (pp - 1.0)),
                               scalar_or_array(-0.5 / T), scalar_or_array(pp))


# --------------------------------------------------------------------------- T -> 0, threshold


@dataclass(frozen=True)
class SphericalGroundState(Result):
    """1RSB zero-temperature solution of the spherical p-spin (Crisanti & Sommers 1992).

    ``energy`` (CS units; ABC units: :func:`cs_to_abc`), ``chi`` = lim beta (1 - q),
    ``y`` = lim m / T, ``p``.
    """

    energy: np.ndarray | float
    chi: np.ndarray | float
    y: np.ndarray | float
    p: np.ndarray | float


def _ground_scalar(p: float, x: float | None = None) -> tuple[float, float, float]:
    """T -> 0 of a 1RSB branch with x = m q/(1 - q) fixed: chi^2 (1 + x) = 2/p, y = x chi."""
    if x is None:
        x = _x_star(p)
    chi = float(np.sqrt(2.0 / (p * (1.0 + x))))
    y = x * chi
    return -0.5 * chi * (p + x), chi, y


def spherical_ground_state(p: Any = 3) -> SphericalGroundState:
    """Ground-state energy of the spherical pure p-spin from the T -> 0 limit of 1RSB.

    With 1 - q = T chi and m = T y (Crisanti & Sommers 1992; CS units) the 1RSB free energy
    tends to e(chi, y) = -(p chi + y)/4 - ln((chi + y)/chi) / (2 y); its stationary point has
    chi (chi + y) = 2/p and y = x* chi (:func:`spherical_x_star`), where
    e = -(p chi + y)/2 = -chi (p + x*)/2.  In ABC units (:func:`cs_to_abc`) this equals
    -E_0(p) of Auffinger, Ben Arous & Cerny (2013), the zero of the index-0 complexity
    (:func:`deeptheory.spinglass.e_0`): p = 3 gives -1.171672 (CS) = -1.656998 (ABC).
    ``p`` integer >= 3 (array ok).
    """
    pp = _check_p3(p)
    res = np.array([_ground_scalar(float(a)) for a in pp.ravel()]).reshape(*pp.shape, 3)
    return SphericalGroundState(*(scalar_or_array(res[..., i]) for i in range(3)),
                                scalar_or_array(pp))


@dataclass(frozen=True)
class SphericalThreshold(Result):
    """Threshold (marginal) states of the spherical p-spin (Cugliandolo & Kurchan 1993).

    ``energy`` their energy per spin (CS units), ``q`` their self-overlap, ``m`` the
    breakpoint (= the fluctuation-dissipation ratio x of the aging dynamics), ``T``, ``p``.
    """

    energy: np.ndarray | float
    q: np.ndarray | float
    m: np.ndarray | float
    T: np.ndarray | float
    p: np.ndarray | float


def _threshold_scalar(t: float, p: float) -> tuple[float, float, float]:
    if t == 0.0:
        e, chi, y = _ground_scalar(p, p - 2.0)
        return e, 1.0, 0.0
    beta = 1.0 / t
    q = _q_root(beta, p, p - 1.0)
    m = (p - 2.0) * (1.0 - q) / q
    return -beta / 2.0 * (1.0 - (1.0 - m) * q**p), q, m


def spherical_threshold(T: Any = 0.0, p: Any = 3) -> SphericalThreshold:
    """Energy of the threshold states of the spherical p-spin at temperature T <= T_d.

    The marginal 1RSB solution (replicon zero: beta^2 p (p-1) q^{p-2} (1-q)^2 / 2 = 1, the
    largest root, and x = m q/(1-q) = p - 2), whose energy u = -(beta/2) [1 - (1 - m) q^p] is
    the asymptotic energy of the aging dynamics after a quench from high temperature
    (Cugliandolo & Kurchan 1993; Crisanti & Sommers 1992; Castellani & Cavagna 2005), CS
    units.  At T = T_d it is the paramagnetic energy -1/(2 T_d) (m = 1, q = q_d); at T = 0 it
    is -sqrt(2 (p-1)/p), which in ABC units is -E_inf(p) = -2 sqrt((p-1)/p) of Auffinger,
    Ben Arous & Cerny (2013) (:func:`deeptheory.spinglass.e_inf`): the energy below which
    critical points are dominated by minima.  ``T`` in [0, T_d(p)] and ``p`` integer >= 3
    broadcast.
    """
    t, pp = broadcast(T=_check_T(T, allow_zero=True), p=_check_p3(p))
    Td = np.sqrt(pp * (pp - 2.0) ** (pp - 2.0) / (2.0 * (pp - 1.0) ** (pp - 1.0)))
    if np.any(t > Td * (1.0 + 1e-12)):
        raise ValueError("T must be <= T_d(p) (no threshold states above the dynamic transition)"
                         f", got T = {t[t > Td * (1 + 1e-12)].flat[0]}")
    out = np.empty((*t.shape, 3))
    for idx in np.ndindex(t.shape):
        tt = min(float(t[idx]), float(Td[idx]))
        if tt >= Td[idx] * (1.0 - 1e-12):
            p_ = float(pp[idx])
            out[idx] = (-0.5 / tt, (p_ - 2.0) / (p_ - 1.0), 1.0)
        else:
            out[idx] = _threshold_scalar(tt, float(pp[idx]))
    return SphericalThreshold(*(scalar_or_array(out[..., i]) for i in range(3)),
                              scalar_or_array(t), scalar_or_array(pp))
