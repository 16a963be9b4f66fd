"""Exact statics: transfer matrices, Onsager, Kaufman, Yang, enumeration, annealed free energies.

Conventions (k_B = 1; every quantity per spin unless it says total):

* Ising models: H = -1/2 s.C.s - h sum s (:mod:`deeptheory.spinglass.models`); the 1-D and 2-D
  Ising models have coupling J on nearest-neighbour bonds of a periodic lattice.  Gibbs measure
  exp(-beta H) / Z, free energy per spin f = -(1 / (beta N)) ln Z, energy u = <H> / N, specific
  heat c = beta^2 Var(H) / N, magnetisation m = <sum s_i> / N.
* 1-D chain (Ising 1925): transfer matrix T(s, s') = exp(K s s' + b (s + s') / 2), K = beta J,
  b = beta h; Z_L = tr T^L = lambda_+^L + lambda_-^L on a ring of L spins, with
  lambda_+- = e^K cosh b +- sqrt(e^{2K} sinh^2 b + e^{-2K}); as L -> inf, ln Z / L -> ln lambda_+
  and the correlation length is xi = 1 / ln(lambda_+ / |lambda_-|).
* 2-D square lattice, h = 0 (Onsager 1944): with K = beta J and kappa = 2 sinh 2K / cosh^2 2K,

      -beta f = ln(2 cosh 2K) + (1/pi) int_0^{pi/2} ln[(1 + sqrt(1 - kappa^2 sin^2 t)) / 2] dt,

  T_c = 2 J / ln(1 + sqrt 2) = 2.269185 J; the energy and the specific heat are closed forms in
  the complete elliptic integrals K(kappa) and E(kappa) (Onsager 1944), the specific heat with a
  logarithmic singularity c ~ -(8 K_c^2 / pi) ln|1 - T / T_c|.  Spontaneous magnetisation (Yang
  1952): m_0 = (1 - sinh(2K)^{-4})^{1/8} below T_c, 0 above.
* Finite L x M torus (Kaufman 1949): Z = (1/2) (2 sinh 2K)^{LM/2} (Z_1 + Z_2 + Z_3 + Z_4), products
  of 2 cosh(M gamma_k / 2) and 2 sinh(M gamma_k / 2) over odd and even k < 2L, with
  cosh gamma_k = cosh 2K coth 2K - cos(pi k / L) and gamma_0 = 2K + ln tanh K (negative below
  T_c).  Exact for every L, M >= 2 (checked against enumeration).
* SK annealed free energy (Sherrington & Kirkpatrick 1975): with J_ij ~ N(0, 1/N), i < j, and a
  field h, E Z_N = (2 cosh beta h)^N exp(beta^2 N (N - 1) / (4 N)) exactly, so

      (1/N) ln E Z_N = ln(2 cosh beta h) + beta^2 / 4 - beta^2 / (4 N),

  the last term the diagonal correction (the sum runs over the N (N - 1) / 2 pairs i < j, each
  with E exp(beta J_ij s_i s_j) = exp(beta^2 / (2 N))).  Above T_c = 1 (h = 0) the quenched
  (1/N) E ln Z_N has the same limit ln 2 + beta^2 / 4.
* Spherical p-spin annealed free energy with the uniform probability measure on |s|^2 = N:
  E[H(s)^2] = N xi(1) gives (1/N) ln E Z_N = beta^2 xi(1) / 2 exactly for every N in ABC units
  (Auffinger, Ben Arous & Cerny 2013), beta^2 xi(1) / 4 in Crisanti-Sommers units (Crisanti &
  Sommers 1992); xi(1) = 1 for a pure model.

Enumeration (:func:`enumerate_gibbs`) sums all 2^N states exactly with the compiled Gray-code
loop of :mod:`deeptheory.kernels.enumerate`, for N <= :data:`MAX_ENUM_N` = 24.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, special

from .._api import Result
from .._progress import check_progress
from .._validation import as_float, as_int
from .models import IsingLattice, MixedSpherical, SKModel
from .sample import PSpinHamiltonian

__all__ = [
    "MAX_ENUM_N",
    "ONSAGER_BETA_C",
    "ONSAGER_TC",
    "GibbsEnumeration",
    "Ising1D",
    "Ising2D",
    "enumerate_gibbs",
    "ising_1d",
    "ising_1d_correlation",
    "ising_2d_finite",
    "onsager",
    "onsager_free_energy",
    "sk_annealed",
    "spherical_annealed",
    "yang_magnetisation",
]

#: largest number of spins :func:`enumerate_gibbs` sums over (2^24 = 1.7e7 states, seconds)
MAX_ENUM_N = 24
#: critical temperature of the square-lattice Ising model, J = 1 (Onsager 1944)
ONSAGER_TC = 2.0 / math.log1p(math.sqrt(2.0))
#: 1 / ONSAGER_TC = ln(1 + sqrt 2) / 2
ONSAGER_BETA_C = 0.5 * math.log1p(math.sqrt(2.0))


def _beta(beta: Any) -> np.ndarray:
    """beta as a float array, finite and >= 0 (ValueError naming beta otherwise)."""
    return as_float("beta", beta, lo=0.0)


def _coupling(name: str, v: Any) -> float:
    a = as_float(name, v)
    if a.ndim != 0:
        raise ValueError(f"{name} must be one real number, got shape {a.shape}")
    return float(a)


def _out(a: np.ndarray) -> np.ndarray | float:
    return a if np.ndim(a) else float(a)


# ------------------------------------------------------------------------------ 1-D Ising


@dataclass(frozen=True)
class Ising1D(Result):
    """Per-spin thermodynamics of the 1-D Ising ring from :func:`ising_1d` (arrays like beta).

    ``log_z`` = ln Z / N (= -beta f), ``free_energy`` f (-inf at beta = 0), ``energy`` u,
    ``specific_heat`` c = beta^2 Var(H) / N, ``magnetisation`` m = <sum s> / N,
    ``susceptibility`` chi = dm/dh = beta Var(sum s) / N, ``correlation_length``
    xi = 1 / ln(lambda_+ / |lambda_-|) (of the infinite chain; 0 at beta = 0).
    """

    log_z: np.ndarray | float
    free_energy: np.ndarray | float
    energy: np.ndarray | float
    specific_heat: np.ndarray | float
    magnetisation: np.ndarray | float
    susceptibility: np.ndarray | float
    correlation_length: np.ndarray | float


def _tm_1d(beta: np.ndarray, J: float, h: float) -> dict[str, Any]:
    """Scaled transfer-matrix eigenvalues mu_+- = lambda_+- e^{-K} and their derivatives with
    respect to (a, b) = (K, beta h), stable forms (mu_- = (1 - e^{-4a}) / (cosh b + rho))."""
    a = beta * J
    b = beta * h
    if np.any(a < -75.0) or np.any(np.abs(b) > 300.0):
        raise ValueError("beta J must be >= -75 and |beta h| <= 300 (overflow of the "
                         f"transfer-matrix eigenvalues), got beta J = {np.min(a)!r}, "
                         f"|beta h| = {np.max(np.abs(b))!r}")
    ea = np.exp(-4.0 * a)
    sh, ch = np.sinh(b), np.cosh(b)
    rho2 = sh * sh + ea
    rho = np.sqrt(rho2)
    # derivatives of rho^2 = sinh^2 b + e^{-4a}
    r2 = {"a": -4.0 * ea, "b": np.sinh(2.0 * b), "aa": 16.0 * ea, "ab": np.zeros_like(a),
          "bb": 2.0 * np.cosh(2.0 * b)}
    rd = {k: r2[k] / (2.0 * rho) for k in ("a", "b")}
    rdd = {k: r2[k] / (2.0 * rho) - r2[k[0]] * r2[k[1]] / (4.0 * rho**3)
           for k in ("aa", "ab", "bb")}
    p = {"a": 0.0 * a, "b": sh, "aa": 0.0 * a, "ab": 0.0 * a, "bb": ch}  # cosh b
    mup = ch + rho
    dp = {k: p[k] + rd[k] for k in ("a", "b")}
    ddp = {k: p[k] + rdd[k] for k in ("aa", "ab", "bb")}
    num = -np.expm1(-4.0 * a)  # 1 - e^{-4a}
    nd = {"a": 4.0 * ea, "b": 0.0 * a, "aa": -16.0 * ea, "ab": 0.0 * a, "bb": 0.0 * a}
    den = mup  # cosh b + rho
    mum = num / den
    dm = {k: (nd[k] - mum * dp[k]) / den for k in ("a", "b")}
    ddm = {}
    for k in ("aa", "ab", "bb"):
        i, j = k[0], k[1]
        # (N/D)_ij = (N_ij - (N/D) D_ij - (N/D)_i D_j - (N/D)_j D_i) / D
        ddm[k] = (nd[k] - mum * ddp[k] - dm[i] * dp[j] - dm[j] * dp[i]) / den
    # eigenvectors: cos 2phi = sinh b / rho, sin 2phi = e^{-2a} / rho
    return {"a": a, "mup": mup, "mum": mum, "dp": dp, "ddp": ddp, "dm": dm, "ddm": ddm,
            "c2": sh / rho, "s2": np.exp(-2.0 * a) / rho}


def _dir(d: dict, dd: dict, va: Any, vb: Any) -> tuple[np.ndarray, np.ndarray]:
    """First and second directional derivatives along (va, vb)."""
    return (d["a"] * va + d["b"] * vb,
            dd["aa"] * va * va + 2.0 * dd["ab"] * va * vb + dd["bb"] * vb * vb)


def ising_1d(beta: Any, J: float = 1.0, h: float = 0.0, L: int | None = None) -> Ising1D:
    """Exact thermodynamics of the 1-D Ising model by the transfer matrix (Ising 1925).

        H = -J sum_i s_i s_{i+1} - h sum_i s_i (periodic),  Z_L = lambda_+^L + lambda_-^L,
        lambda_+- = e^{beta J} cosh(beta h) +- sqrt(e^{2 beta J} sinh^2(beta h) + e^{-2 beta J}).

    ``L`` an integer >= 2 (a ring of L spins, Z = tr T^L exactly; at L = 2 the two spins share
    two bonds) or None (the limit L -> inf, ln Z / L = ln lambda_+).  ``beta`` >= 0 (array),
    ``J``, ``h`` finite (beta J >= -75, |beta h| <= 300).  Derivatives are analytic (no finite
    differences).  Returns :class:`Ising1D`; at h = 0 and L = inf: u = -J tanh(beta J),
    c = (beta J)^2 / cosh^2(beta J), xi = -1 / ln tanh(beta J).
    """
    b = _beta(beta)
    jj = _coupling("J", J)
    hh = _coupling("h", h)
    n = None if L is None else as_int("L", L, lo=2)
    t = _tm_1d(b, jj, hh)
    mup, mum = t["mup"], t["mum"]
    q = mum / mup  # |q| < 1 unless beta J = 0 (q = 0)
    res = {}
    # ln Z / N and its derivatives along beta (direction (J, h)) and along b (direction (0, 1))
    for name, va, vb in (("beta", jj, hh), ("b", 0.0, 1.0)):
        dp1, dp2 = _dir(t["dp"], t["ddp"], va, vb)
        dm1, dm2 = _dir(t["dm"], t["ddm"], va, vb)
        lp1 = dp1 / mup
        if n is None:
            g1 = va + lp1
            g2 = dp2 / mup - lp1 * lp1
        else:
            qn = q**n
            z0 = 1.0 + qn
            # derivatives of Zs / mu_+^L with Zs = mu_+^L + mu_-^L, divided by N = L
            z1 = lp1 + q ** (n - 1) * dm1 / mup
            z2 = ((n - 1) * (lp1 * lp1 + q ** (n - 2) * (dm1 / mup) ** 2)
                  + dp2 / mup + q ** (n - 1) * dm2 / mup)
            g1 = va + z1 / z0
            g2 = z2 / z0 - n * (z1 / z0) ** 2
        res[name] = (g1, g2)
    logz = t["a"] + np.log(mup) + (0.0 if n is None else np.log1p(q**n) / n)
    with np.errstate(divide="ignore"):
        f = np.where(b > 0, -logz / np.where(b > 0, b, 1.0), -np.inf)
        # 1 / xi = ln(mu_+ / |mu_-|) = log1p((mu_+ - |mu_-|) / |mu_-|), with
        # mu_+ - mu_- = 2 rho (mu_- > 0) and mu_+ + mu_- = 2 cosh b (mu_- < 0): no cancellation
        gap = np.where(mum > 0, 2.0 * np.sqrt(np.sinh(b * hh) ** 2 + np.exp(-4.0 * b * jj)),
                       2.0 * np.cosh(b * hh))
        am = np.abs(mum)
        xi = np.where(am > 0, 1.0 / np.log1p(gap / np.where(am > 0, am, 1.0)), 0.0)
    return Ising1D(log_z=_out(logz), free_energy=_out(f), energy=_out(-res["beta"][0]),
                   specific_heat=_out(b * b * res["beta"][1]),
                   magnetisation=_out(res["b"][0] + 0.0 * b),
                   susceptibility=_out(b * res["b"][1]), correlation_length=_out(xi))


def ising_1d_correlation(beta: Any, r: Any, J: float = 1.0, h: float = 0.0,
                         L: int | None = None, *, connected: bool = False
                         ) -> np.ndarray | float:
    """Two-point function <s_0 s_r> of the 1-D Ising ring, exact (Ising 1925; transfer matrix).

        <s_0 s_r> = [c^2 (1 + q^L) + s^2 (q^r + q^{L-r})] / (1 + q^L),  q = lambda_- / lambda_+,

    with c = cos 2phi = sinh(beta h) / rho, s = sin 2phi = e^{-2 beta J} / rho,
    rho = sqrt(sinh^2(beta h) + e^{-4 beta J}) (the eigenvectors of T); L = None: c^2 + s^2 q^r.
    At h = 0 this is (t^r + t^{L-r}) / (1 + t^L), t = tanh(beta J).  ``connected=True`` subtracts
    <s>^2 = [c (1 - q^L) / (1 + q^L)]^2.  ``r`` integers in [0, L] (>= 0 for L = None);
    ``beta``, ``r`` broadcast.
    """
    b = _beta(beta)
    jj = _coupling("J", J)
    hh = _coupling("h", h)
    n = None if L is None else as_int("L", L, lo=2)
    ra = np.asarray(r)
    if ra.dtype.kind not in "iu" or np.any(ra < 0) or (n is not None and np.any(ra > n)):
        lim = "[0, L]" if n is not None else ">= 0"
        raise ValueError(f"r must be integers in {lim}, got {r!r}")
    b, ra = np.broadcast_arrays(b, ra)
    t = _tm_1d(b, jj, hh)
    q = t["mum"] / t["mup"]
    c2, s2 = t["c2"] ** 2, t["s2"] ** 2
    if n is None:
        out = c2 + s2 * q ** ra.astype(float)
        m = t["c2"]
    else:
        qn = q**n
        out = (c2 * (1.0 + qn) + s2 * (q ** ra.astype(float) + q ** (n - ra).astype(float))) \
            / (1.0 + qn)
        m = t["c2"] * (1.0 - qn) / (1.0 + qn)
    if connected:
        out = out - m * m
    return _out(out)


# ------------------------------------------------------------------------------ 2-D Ising


@dataclass(frozen=True)
class Ising2D(Result):
    """Per-spin thermodynamics of the square-lattice Ising model (:func:`onsager`,
    :func:`ising_2d_finite`; arrays like beta).

    ``log_z`` = ln Z / N (= -beta f), ``free_energy`` f (-inf at beta = 0), ``energy`` u,
    ``specific_heat`` c = beta^2 Var(H) / N, ``magnetisation`` Yang's spontaneous m_0 (infinite
    lattice; None for finite tori, where <m> = 0 by symmetry).
    """

    log_z: np.ndarray | float
    free_energy: np.ndarray | float
    energy: np.ndarray | float
    specific_heat: np.ndarray | float
    magnetisation: np.ndarray | float | None


def _onsager_integral(k: float, omk2: float) -> float:
    """(1/pi) int_0^{pi/2} ln[(1 + sqrt(1 - kappa^2 sin^2 t)) / 2] dt, kappa = k (0 <= k <= 1),
    omk2 = 1 - kappa^2; adaptive Gauss-Kronrod to ~1e-14 absolute.  Near T_c the integrand
    turns sharply within w = sqrt(1 - kappa^2) of pi/2: break points at pi/2 - w 10^j."""
    if k == 0.0:
        return 0.0
    w = math.sqrt(max(omk2, 0.0))
    pts = [0.5 * math.pi - w * 10.0**j for j in range(8) if w * 10.0**j < 1.0]

    def g(t: float) -> float:
        s = math.sin(t)
        # 1 - k^2 sin^2 t = cos^2 t + (1 - k^2) sin^2 t (no cancellation near k = 1)
        v = math.sqrt(math.cos(t) ** 2 + omk2 * s * s)
        return math.log1p(v) - math.log(2.0)

    val, _ = integrate.quad(g, 0.0, 0.5 * math.pi, epsabs=1e-14, epsrel=1e-13, limit=400,
                            points=pts or None)
    return val / math.pi


def _kappa(kk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kappa = 2 sinh 2K / cosh^2 2K and 1 - kappa^2 (stable: 1 - kappa = (sinh 2K - 1)^2 /
    cosh^2 2K)."""
    sh = np.sinh(2.0 * kk)
    c2 = np.cosh(2.0 * kk) ** 2
    kap = 2.0 * sh / c2
    omk = (sh - 1.0) ** 2 / c2
    return kap, omk * (1.0 + kap)


def onsager_free_energy(beta: Any, J: float = 1.0) -> np.ndarray | float:
    """-beta f of the infinite square-lattice Ising model at h = 0 (Onsager 1944), per spin.

        -beta f = ln(2 cosh 2K) + (1/pi) int_0^{pi/2} ln[(1 + sqrt(1 - kappa^2 sin^2 t)) / 2] dt,

    K = beta J, kappa = 2 sinh 2K / cosh^2 2K; the integral by adaptive quadrature to about
    1e-15 (1e-12 or better on -beta f, checked against mpmath).  ``beta`` >= 0 (array),
    ``J`` finite (the result is even in J: the square lattice is bipartite).
    """
    b = _beta(beta)
    jj = _coupling("J", J)
    kk = np.abs(b * jj)
    kap, omk2 = _kappa(kk)
    integ = np.vectorize(_onsager_integral, otypes=[float])(np.minimum(kap, 1.0), omk2)
    # ln(2 cosh 2K) without overflow
    val = np.log(2.0) + 2.0 * kk + np.log1p(np.exp(-4.0 * kk)) - np.log(2.0) + integ
    return _out(val)


def yang_magnetisation(beta: Any, J: float = 1.0) -> np.ndarray | float:
    """Spontaneous magnetisation of the square-lattice Ising model (Yang 1952; J > 0).

        m_0 = (1 - sinh(2 beta J)^{-4})^{1/8} for beta > beta_c = ln(1 + sqrt 2) / (2 J),
        m_0 = 0 otherwise;

    near T_c, m_0 ~ (8 sqrt 2 K_c (1 - T/T_c))^{1/8} (exponent 1/8).  ``beta`` >= 0 (array),
    ``J`` > 0.
    """
    b = _beta(beta)
    jj = _coupling("J", J)
    if not jj > 0:
        raise ValueError(f"J must be > 0 (ferromagnet) for the spontaneous magnetisation, "
                         f"got {J!r}")
    sh = np.sinh(2.0 * b * jj)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = 1.0 - sh ** (-4.0)
        m = np.where(x > 0, np.abs(x) ** 0.125, 0.0)
    return _out(m)


def _ellipk_minus(m: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """K(m) - pi/2 (parameter m = kappa^2): the series (pi/2) sum_{n>=1} [(2n-1)!!/(2n)!!]^2 m^n
    for m < 0.1 (to 1e-16 relative), else k1 - pi/2."""
    small = m < 0.1
    ms = np.where(small, m, 0.0)
    acc = np.zeros_like(ms)
    coef = 1.0
    term = np.ones_like(ms)
    for n in range(1, 20):
        coef *= ((2.0 * n - 1.0) / (2.0 * n)) ** 2
        term = term * ms
        acc = acc + coef * term
    return np.where(small, 0.5 * math.pi * acc, k1 - 0.5 * math.pi)


def onsager(beta: Any, J: float = 1.0) -> Ising2D:
    """Infinite square-lattice Ising model at h = 0 (Onsager 1944; Yang 1952), per spin.

    With K = beta J, kappa = 2 sinh 2K / cosh^2 2K, kappa' = 2 tanh^2 2K - 1 and the complete
    elliptic integrals K1 = K(kappa), E1 = E(kappa) (modulus kappa):

        u = -J coth 2K [1 + (2/pi) kappa' K1],
        c = (4/pi) (K coth 2K)^2 [K1 - E1 - (1 - tanh^2 2K) (pi/2 + kappa' K1)],

    -beta f from :func:`onsager_free_energy` and m_0 from :func:`yang_magnetisation` (J > 0).
    At T_c: u = -sqrt 2 J, c = inf (c ~ -(8 K_c^2 / pi) ln|1 - T/T_c|).  u is accurate to
    ~1e-15 relative at every K (a series for K(kappa) - pi/2 at small kappa); c to ~1e-15
    absolute (relative ~1e-16 / K^2 as K -> 0 and ~1e-15 e^{8K} as K -> inf, where c -> 0).
    ``beta`` >= 0 (array), ``J`` > 0.
    """
    b = _beta(beta)
    jj = _coupling("J", J)
    if not jj > 0:
        raise ValueError(f"J must be > 0, got {J!r}")
    kk = b * jj
    logz = np.asarray(onsager_free_energy(b, jj), dtype=float)
    kap, omk2 = _kappa(kk)
    with np.errstate(divide="ignore", invalid="ignore"):
        k1 = special.ellipkm1(omk2)  # K(m = kappa^2) from 1 - m, accurate near T_c
        e1 = special.ellipe(kap * kap)
        th2 = np.tanh(2.0 * kk) ** 2
        kp = 2.0 * th2 - 1.0
        coth = 1.0 / np.tanh(2.0 * kk)
        # 1 + (2/pi) kappa' K1 = 2 tanh^2 2K + kappa' (2/pi) (K1 - pi/2): no cancellation at
        # small K, with K1 - pi/2 from its power series in m = kappa^2 for m < 0.1
        u = -jj * coth * (2.0 * th2 + kp * (2.0 / math.pi) * _ellipk_minus(kap * kap, k1))
        c = (4.0 / math.pi) * (kk * coth) ** 2 * (
            k1 - e1 - (1.0 - th2) * (0.5 * math.pi + kp * k1))
        at_c = omk2 == 0.0
        u = np.where(at_c, -math.sqrt(2.0) * jj, u)
        c = np.where(at_c, np.inf, c)
        u = np.where(kk == 0.0, 0.0, u)
        c = np.where(kk == 0.0, 0.0, c)
        f = np.where(b > 0, -logz / np.where(b > 0, b, 1.0), -np.inf)
    return Ising2D(log_z=_out(logz), free_energy=_out(f), energy=_out(u),
                   specific_heat=_out(c), magnetisation=yang_magnetisation(b, jj))


def _log2cosh(y: np.ndarray) -> np.ndarray:
    ay = np.abs(y)
    return ay + np.log1p(np.exp(-2.0 * ay))


def _log2sinh_abs(y: np.ndarray) -> np.ndarray:
    ay = np.abs(y)
    with np.errstate(divide="ignore"):
        return ay + np.log(-np.expm1(-2.0 * ay))


def ising_2d_finite(beta: Any, L: int, M: int | None = None, J: float = 1.0) -> Ising2D:
    """Exact Ising model on a finite periodic L x M square lattice at h = 0 (Kaufman 1949).

        Z = (1/2) (2 sinh 2K)^{LM/2} [prod_{k odd} 2 cosh(M g_k / 2)
            + prod_{k odd} 2 sinh(M g_k / 2) + prod_{k even} 2 cosh(M g_k / 2)
            + prod_{k even} 2 sinh(M g_k / 2)],

    k over 0 <= k < 2L, K = beta J, cosh g_k = cosh 2K coth 2K - cos(pi k / L) (g_k > 0) and
    g_0 = 2K + ln tanh K (negative below T_c: the fourth product changes sign).  ``L`` rows of
    ``M`` (default L) columns, both integers >= 2 (at 2 a pair of sites shares two bonds, as in
    :class:`deeptheory.spinglass.IsingLattice`), ``beta`` >= 0 (array), ``J`` > 0.  Evaluated in
    logarithms (no overflow at L = M = 64 and beyond); u and c from analytic derivatives of
    each product, accurate to ~1e-13 except at very high temperature, where the prefactor's
    derivative N coth 2K cancels against the products' (absolute error ~2e-17 / K in u).
    Returns :class:`Ising2D` per spin (magnetisation None: <m> = 0 on a torus);
    as L, M -> inf it tends to :func:`onsager`.
    """
    b = _beta(beta)
    nl = as_int("L", L, lo=2)
    nm = nl if M is None else as_int("M", M, lo=2)
    jj = _coupling("J", J)
    if not jj > 0:
        raise ValueError(f"J must be > 0, got {J!r}")
    shape = b.shape
    kk = np.atleast_1d(b * jj).astype(float)
    zero = kk == 0.0
    kk = np.where(zero, 1.0, kk)  # placeholder, replaced below
    ntot = nl * nm
    s2k, c2k = np.sinh(2.0 * kk), np.cosh(2.0 * kk)
    # c(K) = cosh^2 2K / sinh 2K and its K-derivatives
    cK = c2k * c2k / s2k
    d1c = 2.0 * c2k * (s2k * s2k - 1.0) / (s2k * s2k)
    # d/dK of 2 cosh 2K (sinh^2 2K - 1) / sinh^2 2K = 2 cosh 2K (1 - 1/sinh^2 2K)
    d2c = 4.0 * s2k * (1.0 - 1.0 / s2k**2) + 2.0 * c2k * (4.0 * c2k / s2k**3)
    k_idx = np.arange(2 * nl)
    cosk = np.cos(np.pi * k_idx / nl)
    ch = cK[:, None] - cosk[None, :]  # cosh g_k, (nb, 2L)
    g = np.arccosh(np.maximum(ch, 1.0))
    shg = np.sqrt(np.maximum(ch * ch - 1.0, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):  # shg = 0 only at k = 0, T_c
        g1 = d1c[:, None] / shg
        g2 = (d2c[:, None] - ch * g1 * g1) / shg
    # k = 0: g_0 = 2K + ln tanh K (signed)
    g[:, 0] = 2.0 * kk + np.log(np.tanh(kk))
    g1[:, 0] = 2.0 + 2.0 / s2k
    g2[:, 0] = -4.0 * c2k / s2k**2
    y = 0.5 * nm * g
    y1 = 0.5 * nm * g1
    y2 = 0.5 * nm * g2
    # factors k >= 1 (y_k >= M pi / (2L) > 0): logs and their derivatives
    y, y1, y2 = y[:, 1:], y1[:, 1:], y2[:, 1:]
    th = np.tanh(y)
    lc, lc1, lc2 = _log2cosh(y), th * y1, (1.0 - th * th) * y1 * y1 + th * y2
    ls, ls1, ls2 = _log2sinh_abs(y), y1 / th, (1.0 - 1.0 / th**2) * y1 * y1 + y2 / th
    # the k = 0 factor 2 cosh(y0) or 2 sinh(y0) = e^{|y0|} F, y0 of either sign (0 at T_c),
    # kept as a factor (never divided by): F, F', F''
    y0, y01, y02 = 0.5 * nm * g[:, 0], 0.5 * nm * g1[:, 0], 0.5 * nm * g2[:, 0]
    ex = np.exp(-2.0 * np.abs(y0))
    sg0 = np.sign(y0)
    fc = (1.0 + ex, sg0 * (1.0 - ex) * y01,
          (1.0 + ex) * y01 * y01 + sg0 * (1.0 - ex) * y02)
    fs = (sg0 * (1.0 - ex), (1.0 + ex) * y01,
          sg0 * (1.0 - ex) * y01 * y01 + (1.0 + ex) * y02)
    one = (np.ones_like(y0), np.zeros_like(y0), np.zeros_like(y0))
    terms = []
    odd = (k_idx[1:] % 2) == 1
    for sel, has0 in ((odd, False), (~odd, True)):
        for lg, l1, l2, fk in ((lc, lc1, lc2, fc), (ls, ls1, ls2, fs)):
            la = lg[:, sel].sum(1) + (np.abs(y0) if has0 else 0.0)
            terms.append((la, l1[:, sel].sum(1), l2[:, sel].sum(1), fk if has0 else one))
    lmax = np.max([tt[0] for tt in terms], axis=0)
    wsum = np.zeros_like(kk)
    w1 = np.zeros_like(kk)
    w2 = np.zeros_like(kk)
    for la, d1, d2, (f0, f1, f2) in terms:
        w = np.exp(la - lmax)
        wsum += w * f0
        w1 += w * (d1 * f0 + f1)
        w2 += w * ((d2 + d1 * d1) * f0 + 2.0 * d1 * f1 + f2)
    # ln Z = ln(1/2) + (LM/2) ln(2 sinh 2K) + lmax + ln(sum w)
    logz = (-math.log(2.0) + 0.5 * ntot * np.log(2.0 * s2k) + lmax + np.log(wsum))
    dl = 0.5 * ntot * 2.0 * c2k / s2k + w1 / wsum
    d2l = -0.5 * ntot * 4.0 / s2k**2 + w2 / wsum - (w1 / wsum) ** 2
    logz = np.where(zero, ntot * math.log(2.0), logz)
    dl = np.where(zero, 0.0, dl)
    d2l = np.where(zero, 2.0 * ntot, d2l)  # Var(sum of 2N bonds) at beta = 0
    kk = np.where(zero, 0.0, kk)
    bb = np.atleast_1d(b).astype(float)
    u = -jj * dl / ntot
    c = kk * kk * d2l / ntot
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(bb > 0, -logz / ntot / np.where(bb > 0, bb, 1.0), -np.inf)
    r = [(logz / ntot).reshape(shape), f.reshape(shape), u.reshape(shape), c.reshape(shape)]
    return Ising2D(*[_out(x) for x in r], magnetisation=None)


# ------------------------------------------------------------------------------ enumeration


@dataclass(frozen=True)
class GibbsEnumeration(Result):
    """Exact Gibbs averages from :func:`enumerate_gibbs` (leading axes: those of beta).

    ``beta``; ``log_z`` ln Z (total); ``free_energy`` f = -ln Z / (beta N) (-inf at beta = 0);
    ``energy`` <H> / N; ``specific_heat`` beta^2 Var(H) / N; ``magnetisation`` <M> / N,
    ``abs_magnetisation`` <|M|> / N, ``m2`` <M^2> / N^2, ``m4`` <M^4> / N^4 (M = sum s_i);
    ``spin_mean`` (..., N) <s_i> and ``spin_corr`` (..., N, N) <s_i s_j> (None when not
    requested); ``ground_energy`` min H (total) and ``ground_state`` (N,) one minimiser.
    """

    beta: np.ndarray | float
    log_z: np.ndarray | float
    free_energy: np.ndarray | float
    energy: np.ndarray | float
    specific_heat: np.ndarray | float
    magnetisation: np.ndarray | float
    abs_magnetisation: np.ndarray | float
    m2: np.ndarray | float
    m4: np.ndarray | float
    spin_mean: np.ndarray | None
    spin_corr: np.ndarray | None
    ground_energy: float
    ground_state: np.ndarray


def _hypercube_terms(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    """(C, h, K or None, E_const) with H(s) = E_const - 1/2 s.C.s - h.s - sum_{i<j<k} K s s s
    on s in {-1, 1}^N, for every supported model."""
    if isinstance(model, (IsingLattice, SKModel)):
        return model.couplings(), model.field(), None, 0.0
    if isinstance(model, PSpinHamiltonian):
        comps = ((1.0, model),)
    elif isinstance(model, MixedSpherical):
        comps = model.components
    else:
        raise TypeError("model must be an IsingLattice, SKModel, PSpinHamiltonian or "
                        f"MixedSpherical, got {type(model).__name__}")
    n = comps[0][1].N
    c = np.zeros((n, n))
    h = np.zeros(n)
    k3 = None
    const = 0.0
    idx = np.arange(n)
    for a, hp in comps:
        t = hp.tensor
        if hp.p == 2:
            # T(s, s) = sum_{i != j} T_ij s_i s_j + tr T
            off = t.copy()
            off[idx, idx] = 0.0
            c -= 2.0 * a * off
            const += a * float(np.trace(t))
        elif hp.p == 3:
            # T(s,s,s) = 6 sum_{i<j<k} T_ijk s s s + sum_k (3 sum_{i != k} T_iik + T_kkk) s_k
            kt = -6.0 * a * t
            k3 = kt if k3 is None else k3 + kt
            diag = t[idx, idx, :]  # T_iik (i, k)
            lin = 3.0 * (diag.sum(0) - t[idx, idx, idx]) + t[idx, idx, idx]
            h -= a * lin
        else:
            raise ValueError(f"enumeration supports spherical components with p <= 3 on the "
                             f"hypercube, got p = {hp.p}")
    return c, h, k3, const


def enumerate_gibbs(model: Any, beta: Any, *, correlations: bool = True,
                    progress: bool = False) -> GibbsEnumeration:
    """Exact Gibbs measure exp(-beta H) / Z of an Ising-spin model by summing all 2^N states.

    Models: :class:`deeptheory.spinglass.IsingLattice` (Ising 1925; Onsager 1944),
    :class:`deeptheory.spinglass.SKModel` (Sherrington & Kirkpatrick 1975), and a pure or mixed
    spherical model with p <= 3 restricted to the hypercube s in {-1, 1}^N (which lies on
    |s|^2 = N: the Ising p-spin model with the same tensor, H(s) = T(s, ..., s); Gardner 1985).
    ``N`` <= :data:`MAX_ENUM_N` = 24 (ValueError above it); ``beta`` >= 0, finite, any shape:
    every beta in one compiled Gray-code pass (:func:`deeptheory.kernels.enumerate.gibbs_sums`,
    O(N) work per state and beta, stable streaming log-sum-exp); ``correlations=False`` skips
    <s_i> and <s_i s_j> (4x faster at N = 24).  About 3 s at N = 24 with 10 betas and
    correlations on 2 cores.  Returns :class:`GibbsEnumeration`.

    progress : a progress bar (tqdm on stderr) of the chunks of states done (2^min(6, N-1)
        chunks of 2^(N-6) states, run in about 50 calls that each fill the threads); off by
        default.  Each chunk keeps its own sums, so the result is bitwise the same.
    """
    prog = check_progress(progress)
    if not isinstance(model, (IsingLattice, SKModel, PSpinHamiltonian, MixedSpherical)):
        raise TypeError("model must be an IsingLattice, SKModel, PSpinHamiltonian or "
                        f"MixedSpherical, got {type(model).__name__}")
    n = model.N if isinstance(model, (PSpinHamiltonian, MixedSpherical)) else model.n_spins
    if n > MAX_ENUM_N:
        raise ValueError(f"enumeration is limited to N <= {MAX_ENUM_N} spins (MAX_ENUM_N; "
                         f"2^N states), got N = {n}; use Monte Carlo for larger systems")
    b = _beta(beta)
    from ..kernels.enumerate import gibbs_sums

    c, h, k3, const = _hypercube_terms(model)
    bf = np.ascontiguousarray(b.reshape(-1))
    r = gibbs_sums(c, h, bf, k3, correlations=correlations, progress=prog,
                   desc="enumerate_gibbs")
    logz = r.log_z - bf * const
    mean_e = r.mean_e + const
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(bf > 0, -logz / (n * np.where(bf > 0, bf, 1.0)), -np.inf)
    sh = b.shape

    def rs(x: np.ndarray) -> np.ndarray | float:
        return _out(np.asarray(x).reshape(sh))

    si = None if r.si is None else r.si.reshape(sh + (n,))
    sisj = None if r.sisj is None else r.sisj.reshape(sh + (n, n))
    return GibbsEnumeration(
        beta=_out(b), log_z=rs(logz), free_energy=rs(f), energy=rs(mean_e / n),
        specific_heat=rs(bf * bf * r.var_e / n), magnetisation=rs(r.m1 / n),
        abs_magnetisation=rs(r.mabs / n), m2=rs(r.m2 / n**2), m4=rs(r.m4 / float(n) ** 4),
        spin_mean=si, spin_corr=sisj, ground_energy=r.e_min + const,
        ground_state=r.ground_state)


# ------------------------------------------------------------------------------ annealed


def sk_annealed(beta: Any, N: int | None = None, h: float = 0.0) -> np.ndarray | float:
    """Annealed free energy (1/N) ln E Z_N of the SK model (Sherrington & Kirkpatrick 1975).

        (1/N) ln E Z_N = ln(2 cosh beta h) + beta^2 / 4 - beta^2 / (4 N)    (exact, finite N),

    for H = -sum_{i<j} J_ij s_i s_j - h sum s_i, J_ij ~ N(0, 1/N): each of the N (N - 1) / 2
    pairs contributes E exp(beta J_ij s_i s_j) = exp(beta^2 / (2N)), and the missing diagonal
    i = j gives the -beta^2 / (4N) correction.  ``N`` None gives the limit ln(2 cosh beta h) +
    beta^2 / 4, equal to the quenched -beta f for T > 1 at h = 0.  ``beta`` >= 0 (array),
    ``N`` an integer >= 2 or None, ``h`` finite.
    """
    b = _beta(beta)
    hh = _coupling("h", h)
    x = np.abs(b * hh)
    val = x + np.log1p(np.exp(-2.0 * x)) + b * b / 4.0
    if N is not None:
        val = val - b * b / (4.0 * as_int("N", N, lo=2))
    return _out(val)


def spherical_annealed(beta: Any, model: Any = None, *, units: str = "abc"
                       ) -> np.ndarray | float:
    """Annealed free energy (1/N) ln E Z_N of a spherical p-spin model, exact for every N.

    Z_N = int exp(-beta H(s)) dsigma(s) with sigma the uniform probability measure on
    |s|^2 = N, and H Gaussian with E[H(s)^2] = N xi(1), so E Z_N = exp(beta^2 N xi(1) / 2):

        units="abc" (Auffinger, Ben Arous & Cerny 2013, E[H H'] = N xi(q)): beta^2 xi(1) / 2,
        units="cs"  (Crisanti & Sommers 1992, E[H H'] = (N/2) xi(q)):       beta^2 xi(1) / 4.

    ``model``: None or a pure :class:`deeptheory.spinglass.PSpinHamiltonian` (xi(1) = 1) or a
    :class:`deeptheory.spinglass.MixedSpherical` (xi(1) = sum a_p^2).  ``beta`` >= 0 (array) in
    the chosen units.
    """
    b = _beta(beta)
    if units not in ("abc", "cs"):
        raise ValueError(f"units must be 'abc' or 'cs', got {units!r}")
    if model is None or isinstance(model, PSpinHamiltonian):
        xi1 = 1.0
    elif isinstance(model, MixedSpherical):
        xi1 = float(model.xi(1.0))
    else:
        raise TypeError(f"model must be None, a PSpinHamiltonian or a MixedSpherical, "
                        f"got {type(model).__name__}")
    return _out(b * b * xi1 / (2.0 if units == "abc" else 4.0))
