"""Closed-form spectral laws and free-probability transforms.

Conventions (as in Mingo & Speicher 2017, "Free Probability and Random Matrices", with
the sign of ``G`` fixed below):

* Stieltjes transform ``G(z) = integral rho(t) / (z - t) dt``; ``G(z) ~ 1/z`` at infinity and
  ``Im G < 0`` for ``Im z > 0``; density ``rho(x) = -(1/pi) lim_{eps -> 0+} Im G(x + i eps)``.
  (Some packages use ``m(z) = -G(z)``; we do not.)
* Moment generating function ``M(z) = z G(z) - 1 = sum_{k >= 1} m_k z^{-k}``.
* R-transform: ``R(G(z)) + 1/G(z) = z``.
* S-transform: ``S(m) = (1 + m) / (m M^{-1}(m))``; ``S_{AB} = S_A S_B`` for free ``A, B``.

Sources: Wigner (1955, 1958) for the semicircle; Marchenko & Pastur (1967) for the law of
``X X^T / M``; Voiculescu (1986, 1987) for the R- and S-transforms; Pennington, Schoenholz &
Ganguli (2017), "Resurrecting the sigmoid in deep learning through dynamical isometry", for the
S-transforms of Bernoulli ``D^2`` and scaled Haar ``W^T W``.

Branches: every Stieltjes transform here is written with a *product* of principal square roots,
``sqrt(z - a) sqrt(z - b)``, which has its cut exactly on ``[a, b]`` (the cuts of the two factors
cancel on ``(-inf, a)``) and behaves like ``z - (a + b)/2`` at infinity in every direction. This
gives the physical branch for every complex ``z`` off the support, above, below or on the real
axis. We also use the rationalised form ``2 / (... + sqrt sqrt)`` of the root, which has no
cancellation at large ``|z|`` or at the removable point ``z = 0`` of Marchenko-Pastur with
``c < 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb
from typing import Any

import numpy as np

from deeptheory._validation import as_float, as_int, scalar_or_array

__all__ = [
    "semicircle_pdf",
    "semicircle_cdf",
    "semicircle_moment",
    "semicircle_stieltjes",
    "semicircle_r",
    "marchenko_pastur_support",
    "marchenko_pastur_pdf",
    "marchenko_pastur_cdf",
    "marchenko_pastur_moment",
    "marchenko_pastur_stieltjes",
    "marchenko_pastur_r",
    "marchenko_pastur_s",
    "bernoulli_moment",
    "bernoulli_stieltjes",
    "bernoulli_s",
    "haar_s",
    "density_from_stieltjes",
    "moments_to_stieltjes",
]


# --------------------------------------------------------------------------- helpers


def _positive(name: str, v: Any) -> np.ndarray:
    a = as_float(name, v)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got min {a.min()}")
    return a


def _prob(name: str, v: Any) -> np.ndarray:
    a = as_float(name, v)
    if np.any((a <= 0) | (a > 1)):
        raise ValueError(f"{name} must lie in (0, 1], got values in [{a.min()}, {a.max()}]")
    return a


def _as_complex(name: str, v: Any) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=complex)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be (complex) numbers, got {v!r}") from exc
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    # canonical +0.0 imaginary part on the real axis (avoids -0.0 branch-cut subtleties)
    return np.where(a.imag == 0, a.real + 0j, a)


def _complex_out(a: np.ndarray) -> np.ndarray | complex:
    return a if np.ndim(a) else complex(a)


def _sqrt_prod(z: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """``sqrt(z - a) sqrt(z - b)`` with principal roots: cut on [a, b], ~ z - (a+b)/2."""
    return np.sqrt(z - a) * np.sqrt(z - b)


# --------------------------------------------------------------------------- semicircle


def semicircle_pdf(x: Any, var: Any = 1.0) -> np.ndarray | float:
    """Wigner semicircle density of variance ``s^2 = var`` (Wigner 1955, 1958).

    ``rho(x) = sqrt(4 s^2 - x^2) / (2 pi s^2)`` on ``[-2 s, 2 s]``, zero outside. It is the limit
    of the eigenvalue distribution of a symmetric ``N x N`` matrix with independent entries of
    variance ``s^2 / N`` (e.g. GOE scaled so).
    """
    x = as_float("x", x)
    v = _positive("var", var)
    x, v = np.broadcast_arrays(x, v)
    inside = np.clip(4.0 * v - x * x, 0.0, None)
    return scalar_or_array(np.sqrt(inside) / (2.0 * np.pi * v))


def _t_minus_sincos(t: np.ndarray) -> np.ndarray:
    """``t - sin t cos t`` for t in [0, pi] without cancellation (Taylor series for t < 0.5).

    ``t - sin(2t)/2 = sum_{n >= 1} (-1)^(n+1) (2t)^(2n+1) / (2 (2n+1)!)``; every term
    of the sum for t >= 0.5 is a difference of O(1) numbers with a result >= 0.08.
    """
    t = np.asarray(t, dtype=float)
    out = np.empty(t.shape)
    small = t < 0.5
    ts = t[small]
    s2 = (2.0 * ts) ** 2
    acc = np.zeros_like(ts)
    term = (2.0 * ts) ** 3 / 12.0
    for n in range(1, 14):
        acc += term
        term = -term * s2 / ((2 * n + 2) * (2 * n + 3))
    out[small] = acc
    tb = t[~small]
    out[~small] = tb - np.sin(tb) * np.cos(tb)
    return out


def _t_minus_arctan(t: np.ndarray) -> np.ndarray:
    """``T - arctan T`` for T >= 0 without cancellation (series ``sum (-1)^(n+1)
    T^(2n+1)/(2n+1)`` for T < 0.5, direct above, where the result is >= 0.036 T)."""
    t = np.asarray(t, dtype=float)
    out = np.empty(t.shape)
    small = t < 0.5
    ts = t[small]
    t2 = ts * ts
    acc = np.zeros_like(ts)
    power = ts * t2
    for n in range(1, 40):
        acc += (1.0 if n % 2 else -1.0) * power / (2 * n + 1)
        power = power * t2
    out[small] = acc
    tb = t[~small]
    out[~small] = tb - np.arctan(tb)
    return out


def semicircle_cdf(x: Any, var: Any = 1.0) -> np.ndarray | float:
    """Distribution function of the Wigner semicircle of variance ``s^2 = var`` (Wigner 1958).

    Support ``[-2 s, 2 s]``, ``s = sqrt(var)``; with ``u = x / (2 s)`` clipped to [-1, 1],

    ``F(x) = 1/2 + (u sqrt(1 - u^2) + arcsin u) / pi = (t - sin t cos t) / pi``,
    ``t = arccos(-u) = 2 arcsin(sqrt((x + 2 s) / (4 s)))``.

    ``t`` is computed from ``x + 2 s`` (not from ``u``, whose arccos near -1 loses half the
    digits) and ``t - sin t cos t`` by its Taylor series for t < 0.5, so the left tail
    ``F ~ (4 sqrt(2) / (3 pi)) (1 + u)^(3/2)`` keeps full relative accuracy down to the
    underflow (the index law of spin glasses needs it; Bray & Dean 2007): the relative
    error is a few ulp times the condition number ``1.5 |x| / (x + 2 s)``.  Near the right
    edge ``F = 1 - O((1 - u)^(3/2))`` is accurate to a few ulp in absolute terms (for the
    right tail itself use ``1 - F(x) = F(-x)``, the law being symmetric).  This is the
    single semicircle distribution function of the package (``spinglass`` uses it with
    ``var = 1/4``, support [-1, 1]).
    """
    x = as_float("x", x)
    v = _positive("var", var)
    x, v = np.broadcast_arrays(x, v)
    s = np.sqrt(v)
    d = np.clip((x + 2.0 * s) / (4.0 * s), 0.0, 1.0)  # (1 + u) / 2
    th = 2.0 * np.arcsin(np.sqrt(d))  # in [0, pi]
    out = _t_minus_sincos(th) / np.pi
    return scalar_or_array(np.clip(out, 0.0, 1.0))


def semicircle_moment(k: int, var: Any = 1.0) -> np.ndarray | float:
    """``E[x^k]`` for the semicircle: ``0`` for odd ``k``, ``Catalan(k/2) s^k`` for even ``k``.

    ``Catalan(j) = C(2j, j) / (j + 1)`` counts non-crossing pair partitions (Wigner).

    (Wigner 1955.)
    """
    k = as_int("k", k, lo=0)
    v = _positive("var", var)
    if k % 2:
        return scalar_or_array(np.zeros_like(v))
    j = k // 2
    return scalar_or_array(float(comb(2 * j, j) // (j + 1)) * v**j)


def semicircle_stieltjes(z: Any, var: Any = 1.0) -> np.ndarray | complex:
    """Stieltjes transform of the semicircle, ``G(z) = integral rho(t) / (z - t) dt``.

    ``G(z) = (z - sqrt(z - 2 s) sqrt(z + 2 s)) / (2 s^2) = 2 / (z + sqrt(z - 2 s) sqrt(z + 2 s))``,
    the root of ``s^2 G^2 - z G + 1 = 0`` with ``G ~ 1/z``; the product of principal square roots
    gives the physical branch for every complex ``z`` off ``[-2 s, 2 s]``. Raises ValueError for
    real ``z`` in the (closed) support, where ``G`` is not defined.

    (Wigner 1958; Mingo & Speicher 2017, ch. 2.)
    """
    z = _as_complex("z", z)
    v = _positive("var", var)
    z, v = np.broadcast_arrays(z, v)
    s = np.sqrt(v)
    on = (z.imag == 0) & (np.abs(z.real) <= 2.0 * s)
    if np.any(on):
        raise ValueError("z lies on the real support [-2 s, 2 s] of the semicircle; G is undefined "
                         "there (use z + i eps and density_from_stieltjes)")
    return _complex_out(2.0 / (z + _sqrt_prod(z, 2.0 * s, -2.0 * s)))


def semicircle_r(w: Any, var: Any = 1.0) -> np.ndarray | complex | float:
    """R-transform of the semicircle of variance ``s^2``: ``R(w) = s^2 w`` (Voiculescu 1986)."""
    wa = np.asarray(w)
    w = _as_complex("w", w) if np.iscomplexobj(wa) else as_float("w", w)
    v = _positive("var", var)
    r = v * w
    return _complex_out(r) if np.iscomplexobj(r) else scalar_or_array(r)


# --------------------------------------------------------------------------- Marchenko-Pastur


def _mp_args(pt: np.ndarray, ratio: Any, var: Any):
    """Validate and broadcast (point, ratio c, var s^2); return them with the edges a, b."""
    c = _positive("ratio", ratio)
    v = _positive("var", var)
    pt, c, v = np.broadcast_arrays(pt, c, v)
    r = np.sqrt(c)
    return pt, c, v, v * (1.0 - r) ** 2, v * (1.0 + r) ** 2


def marchenko_pastur_support(ratio: Any, var: Any = 1.0) -> tuple[Any, Any]:
    """Edges ``(a, b) = s^2 (1 -+ sqrt c)^2`` of the continuous part (Marchenko & Pastur 1967)."""
    _, _, _, a, b = _mp_args(np.zeros(()), ratio, var)
    return scalar_or_array(a), scalar_or_array(b)


def marchenko_pastur_pdf(x: Any, ratio: Any, var: Any = 1.0) -> np.ndarray | float:
    """Continuous part of the Marchenko-Pastur law (Marchenko & Pastur 1967).

    Law of the eigenvalues of ``A = X X^T / M`` with ``X`` of size ``N x M``, i.i.d. entries of
    variance ``s^2 = var``, ``c = ratio = N / M``:

    ``rho(x) = sqrt((b - x)(x - a)) / (2 pi s^2 c x)`` on ``[a, b]``,
    ``a, b = s^2 (1 -+ sqrt c)^2``.

    Its mass is ``min(1, 1/c)``. When ``c > 1`` the law also has an **atom** of mass ``1 - 1/c``
    at ``0`` which this function does *not* include (see :func:`marchenko_pastur_cdf`). For
    ``c = 1`` the density diverges like ``x^{-1/2}`` at ``0``; ``inf`` is returned at ``x = 0``.
    """
    x = as_float("x", x)
    x, c, v, a, b = _mp_args(x, ratio, var)
    inside = (x > a) & (x < b)
    xs = np.where(inside, x, 1.0)
    q = np.clip((b - xs) * (xs - a), 0.0, None)
    out = np.where(inside, np.sqrt(q) / (2.0 * np.pi * v * c * xs), 0.0)
    out = np.where((x == 0) & (c == 1), np.inf, out)
    return scalar_or_array(out)


def marchenko_pastur_cdf(x: Any, ratio: Any, var: Any = 1.0) -> np.ndarray | float:
    """Distribution function of the full Marchenko-Pastur law, atom at ``0`` included.

    ``F(x) = max(0, 1 - 1/c) [x >= 0] + I(x) / (2 pi s^2 c)`` with
    ``I(x) = integral_a^x sqrt((b - t)(t - a)) / t dt`` (Marchenko & Pastur 1967;
    Bai & Silverstein 2010, sec. 3.1).  With ``A = sqrt a = s |1 - sqrt c|``,
    ``B = sqrt b = s (1 + sqrt c)``, ``x = a + (b - a) sin^2 alpha`` (alpha in [0, pi/2]),
    the substitution ``t = (a + b)/2 - (b - a)/2 cos phi`` gives the closed form

    ``I = (B - A)^2 [A cos^2(alpha) (alpha - sin alpha cos alpha) + B sin^2(alpha) (alpha +
    sin alpha cos alpha)] / (A cos^2 alpha + B sin^2 alpha) + 2 A B (T - arctan T)``,
    ``T = (B - A) sin alpha cos alpha / (A cos^2 alpha + B sin^2 alpha)``,

    a sum of non-negative terms (``alpha - sin cos`` and ``T - arctan T`` by their Taylor
    series where small), so there is no cancellation near either edge:
    ``F - F(a) ~ (4 / (3 pi)) sqrt(b - a) (x - a)^(3/2) / (4 s^2 c a)`` keeps full relative
    accuracy (relative error a few ulp times the condition number
    ``1.5 x / (x - a)`` of the float inputs), and near ``b`` the absolute error is a few
    ulp.  ``sin^2 alpha = (x - a)/(b - a)`` and ``cos^2 alpha = (b - x)/(b - a)`` are
    formed from ``a = s^2 (1 - c)^2 / (1 + sqrt c)^2``, which avoids the cancellation in
    ``1 - sqrt c`` for c near 1.
    """
    x = as_float("x", x)
    x, c, v, _, _ = _mp_args(x, ratio, var)
    r = np.sqrt(c)
    s = np.sqrt(v)
    big_a = s * np.abs(1.0 - c) / (1.0 + r)  # s |1 - sqrt c| without cancellation
    big_b = s * (1.0 + r)
    bma = 2.0 * s * np.minimum(1.0, r)  # B - A
    a = big_a * big_a
    b = big_b * big_b
    width = bma * (big_a + big_b)  # b - a
    xc = np.clip(x, a, b)
    sn2 = np.clip((xc - a) / width, 0.0, 1.0)
    cs2 = np.clip((b - xc) / width, 0.0, 1.0)
    sn, cs = np.sqrt(sn2), np.sqrt(cs2)
    alpha = np.arctan2(sn, cs)
    den = big_a * cs2 + big_b * sn2
    ok = den > 0.0  # den = 0 only at x = a = 0 (c = 1), where I = 0
    dens = np.where(ok, den, 1.0)
    first = (big_a * cs2 * _t_minus_sincos(alpha)
             + big_b * sn2 * (alpha + sn * cs)) / dens
    tt = np.where(ok, bma * sn * cs / dens, 0.0)
    integral = np.where(ok, bma * bma * first + 2.0 * big_a * big_b * _t_minus_arctan(tt), 0.0)
    cont = integral / (2.0 * np.pi * v * c)
    cont = np.where(x >= b, np.minimum(1.0, 1.0 / c), np.where(x <= a, 0.0, cont))
    atom = np.where(x >= 0, np.maximum(0.0, 1.0 - 1.0 / c), 0.0)
    return scalar_or_array(np.clip(atom + cont, 0.0, 1.0))


def marchenko_pastur_moment(k: int, ratio: Any, var: Any = 1.0) -> np.ndarray | float:
    """``E[x^k]`` for Marchenko-Pastur (atom included): Narayana polynomials.

    ``m_k = s^{2k} sum_{j=0}^{k-1} N(k, j + 1) c^j`` with ``N(k, r) = C(k, r) C(k, r - 1) / k``;
    ``m_0 = 1``. E.g. ``m_1 = s^2``, ``m_2 = s^4 (1 + c)``, ``m_3 = s^6 (1 + 3c + c^2)``.

    (Bai & Silverstein 2010, sec. 3.1.)
    """
    k = as_int("k", k, lo=0)
    c = _positive("ratio", ratio)
    v = _positive("var", var)
    c, v = np.broadcast_arrays(c, v)
    if k == 0:
        return scalar_or_array(np.ones_like(c))
    poly = sum(float(comb(k, j + 1) * comb(k, j) // k) * c**j for j in range(k))
    return scalar_or_array(v**k * poly)


def marchenko_pastur_stieltjes(z: Any, ratio: Any, var: Any = 1.0) -> np.ndarray | complex:
    """Stieltjes transform of the full Marchenko-Pastur law (atom included).

    Root of ``c s^2 z G^2 - (z - s^2 (1 - c)) G + 1 = 0`` with ``G ~ 1/z``:

    ``G(z) = (z - s^2 (1 - c) - sqrt(z - a) sqrt(z - b)) / (2 c s^2 z)
           = 2 / (z - s^2 (1 - c) + sqrt(z - a) sqrt(z - b))``.

    The product of principal roots fixes the branch for all ``z`` off the support (see module
    docstring); the second (rationalised) form is what is evaluated, which keeps full accuracy
    at large ``|z|`` and at ``z = 0`` when ``c < 1`` (a removable point: ``G(0) = -1/(s^2 (1 -
    c))``). When ``c > 1`` the atom gives a pole with residue ``1 - 1/c`` at ``0``. Raises
    ValueError for real ``z`` in ``[a, b]`` or at ``z = 0`` when ``c >= 1``.

    (Marchenko & Pastur 1967; Bai & Silverstein 2010, sec. 3.3.)
    """
    z = _as_complex("z", z)
    z, c, v, a, b = _mp_args(z, ratio, var)
    real = z.imag == 0
    on = real & (((z.real >= a) & (z.real <= b)) | ((z.real == 0) & (c >= 1)))
    if np.any(on):
        raise ValueError("z lies on the real support of the Marchenko-Pastur law ([a, b], plus "
                         "the atom at 0 when ratio >= 1); G is undefined there")
    return _complex_out(2.0 / (z - v * (1.0 - c) + _sqrt_prod(z, a, b)))


def marchenko_pastur_r(w: Any, ratio: Any, var: Any = 1.0) -> np.ndarray | complex | float:
    """R-transform of Marchenko-Pastur: ``R(w) = s^2 / (1 - c s^2 w)`` (Voiculescu).

    Pole at ``w = 1 / (c s^2)``.

    (Voiculescu 1986.)
    """
    wa = np.asarray(w)
    w = _as_complex("w", w) if np.iscomplexobj(wa) else as_float("w", w)
    c = _positive("ratio", ratio)
    v = _positive("var", var)
    r = v / (1.0 - c * v * w)
    return _complex_out(r) if np.iscomplexobj(r) else scalar_or_array(r)


def marchenko_pastur_s(m: Any, ratio: Any, var: Any = 1.0) -> np.ndarray | complex | float:
    """S-transform of Marchenko-Pastur: ``S(m) = 1 / (s^2 (1 + c m))`` (Voiculescu; PSG 2017).

    For Gaussian weights ``W`` of variance ``sigma_w^2 / N`` (square, ``c = 1``) this is
    ``S_{W W^T} = 1 / (sigma_w^2 (1 + m))``.
    """
    ma = np.asarray(m)
    m = _as_complex("m", m) if np.iscomplexobj(ma) else as_float("m", m)
    c = _positive("ratio", ratio)
    v = _positive("var", var)
    s = 1.0 / (v * (1.0 + c * m))
    return _complex_out(s) if np.iscomplexobj(s) else scalar_or_array(s)


# --------------------------------------------------------------------------- Bernoulli, Haar


def bernoulli_moment(k: int, p: Any) -> np.ndarray | float:
    """Moments of the Bernoulli(p) spectral law ``(1 - p) delta_0 + p delta_1``.

    ``m_0 = 1`` and ``m_k = p`` for ``k >= 1``. This is the law of ``D^2`` for relu
    (``p = 1/2``) and hard_tanh (Pennington, Schoenholz & Ganguli 2017).
    """
    k = as_int("k", k, lo=0)
    p = _prob("p", p)
    return scalar_or_array(np.ones_like(p) if k == 0 else p.copy())


def bernoulli_stieltjes(z: Any, p: Any) -> np.ndarray | complex:
    """``G(z) = (1 - p)/z + p/(z - 1)`` for the Bernoulli(p) law; ValueError at the atoms.

    (Pennington, Schoenholz & Ganguli 2017.)
    """
    z = _as_complex("z", z)
    p = _prob("p", p)
    z, p = np.broadcast_arrays(z, p)
    at = (z == 1) | ((z == 0) & (p < 1))
    if np.any(at):
        raise ValueError("z lies on an atom (0 or 1) of the Bernoulli law; G is undefined there")
    zs = np.where(z == 0, 1j, z)  # p == 1 there, so the 1/z term has weight 0
    return _complex_out((1.0 - p) / zs + p / (z - 1.0))


def bernoulli_s(m: Any, p: Any) -> np.ndarray | complex | float:
    """S-transform of Bernoulli(p): ``S(m) = (1 + m) / (m + p)`` (PSG 2017).

    From ``M(z) = p / (z - 1)``, ``M^{-1}(m) = (m + p) / m``.
    """
    ma = np.asarray(m)
    m = _as_complex("m", m) if np.iscomplexobj(ma) else as_float("m", m)
    p = _prob("p", p)
    s = (1.0 + m) / (m + p)
    return _complex_out(s) if np.iscomplexobj(s) else scalar_or_array(s)


def haar_s(m: Any, var: Any = 1.0) -> np.ndarray | complex | float:
    """S-transform of ``W^T W`` for scaled Haar orthogonal ``W`` (``W^T W = var I``): ``1 / var``.

    The spectral law is a point mass at ``var``; ``M(z) = var / (z - var)``, ``M^{-1}(m) =
    var (1 + m) / m`` and ``S = 1 / var`` for every ``m`` (PSG 2017, ``s_1 = 0``). The result
    has the broadcast shape of ``m`` and ``var``.
    """
    ma = np.asarray(m)
    m = _as_complex("m", m) if np.iscomplexobj(ma) else as_float("m", m)
    v = _positive("var", var)
    s = np.broadcast_to(1.0 / v, np.broadcast_shapes(np.shape(m), np.shape(v))).astype(m.dtype)
    return _complex_out(s) if np.iscomplexobj(s) else scalar_or_array(s)


# --------------------------------------------------------------------------- generic transforms


def density_from_stieltjes(
    G: Callable[[np.ndarray], Any], x: Any, eps: float = 1e-9
) -> np.ndarray | float:
    """Density recovered from a Stieltjes transform: ``rho(x) ~ -Im G(x + i eps) / pi``.

    ``G`` follows this module's sign convention (``Im G < 0`` above the axis). The error is
    ``O(eps)`` where the density is smooth and ``O(sqrt(eps))`` at square-root edges; atoms
    contribute ``mass * eps / (pi ((x - x0)^2 + eps^2))`` and should be subtracted first.

    Stieltjes-Perron inversion, rho(x) = -(1/pi) lim_{eps -> 0+} Im G(x + i eps)
    (Akhiezer 1965).
    """
    x = as_float("x", x)
    e = _positive("eps", eps)
    g = np.asarray(G(x + 1j * e), dtype=complex)
    if not np.all(np.isfinite(g)):
        raise ValueError("G returned non-finite values")
    return scalar_or_array(-g.imag / np.pi)


def moments_to_stieltjes(moments: Any, z: Any) -> np.ndarray | complex:
    """Truncated large-``|z|`` series ``G(z) ~ sum_{k=0}^{K-1} m_k z^{-k-1}``.

    ``moments = [m_0, m_1, ..., m_{K-1}]`` (``m_0`` is the total mass, normally 1). The series
    converges for ``|z| > max |support|``; the truncation error is ``O(m_K |z|^{-K-1})``.
    Evaluated by Horner's rule in ``1/z``.

    (Akhiezer 1965.)
    """
    mom = as_float("moments", moments)
    if mom.ndim != 1 or mom.size == 0:
        raise ValueError("moments must be a non-empty 1-d sequence")
    z = _as_complex("z", z)
    if np.any(z == 0):
        raise ValueError("z must be nonzero (the moment series is an expansion at infinity)")
    iz = 1.0 / z
    acc = np.zeros_like(z)
    for mk in mom[::-1]:
        acc = acc * iz + mk
    return _complex_out(acc * iz)
