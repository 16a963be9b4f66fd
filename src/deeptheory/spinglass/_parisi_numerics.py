"""Field-grid numerics of Parisi's k-step functional for the SK model (private).

The recursion phi_{l-1}(x) = (1/mu_l) ln E exp(mu_l phi_l(x + s_l z)) of Parisi (1979, 1980),
in the zero-temperature-safe variables phi_l = g_l / beta, mu_l = beta m_l of :mod:`.parisi`
(the variational form of Guerra 2003), evaluated on a uniform field grid: the Gaussian
smoothing of one level with its derivatives and its adjoint (:func:`_smooth`, :func:`_pull`),
the innermost level ln cosh(beta y) / beta (:func:`_lncosh_smooth`) and its T = 0 limit |y|
in closed form (:func:`_abs_inner`), and the grid and its spacing (:func:`_grid`,
:func:`_dx_for`).  Conventions as in :mod:`.replica` (Sherrington & Kirkpatrick 1975).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import log_ndtr, ndtr

from .replica import _LN2, _ZMAX, _kink_nodes

# --------------------------------------------------------------------------- Parisi functional
#
# phi_{l-1}(x) = (1/mu_l) ln E exp(mu_l phi_l(x + s_l z)), s_l = sqrt(q_l - q_{l-1}), is computed
# on a uniform grid as a trapezoid sum over grid offsets (no interpolation), with phi continued
# linearly beyond the grid.  Each level also returns d phi_{l-1} / d s_l, d phi_{l-1} / d mu_l
# and the tilted transition weights P(i, i + d) = d phi_{l-1}(x_i) / d phi_l(x_{i+d}); pulling
# the outer Gaussian weights back through the P's gives the exact gradient of the discretised
# functional (an adjoint pass; the weights are Parisi's tilted measures on the fields).

_S_TINY = 0.015   # narrower kernels: second-order cumulant expansion (error ~ s^4 phi'''' / 8)
_DX_MIN = 0.01    # = _S_TINY / 1.5
_MAX_CELLS = 3e7  # largest (grid x kernel) array of one level (240 MB)
_DX_MAX = 0.05    # field-grid spacing cap (the trapezoid error is exp(-2 pi^2 s^2 / dx^2))


def _grid(h: float, dx: float) -> tuple[np.ndarray, int]:
    """Uniform field grid through h covering [-9, 9] and [h - 9, h + 9]; returns (x, index of h)."""
    lo = min(h - _ZMAX, -_ZMAX)
    hi = max(h + _ZMAX, _ZMAX)
    jlo = int(np.floor((lo - h) / dx))
    jhi = int(np.ceil((hi - h) / dx))
    return h + dx * np.arange(jlo, jhi + 1), -jlo


def _extend(phi: np.ndarray, x: np.ndarray, npad: int) -> np.ndarray:
    """phi continued npad points beyond both ends with the asymptotic slope -1 (left), +1 (right).

    Every phi_l is |y| + const + O(exp(-y^2 / 2)) for |y| >> 1 (each level is a Gaussian
    smoothing of ln cosh(beta y) / beta with total variance <= 1), and the grid edges sit at
    |y| >= 9.
    """
    if npad == 0:
        return phi
    steps = (x[1] - x[0]) * np.arange(1, npad + 1)
    left = phi[0] + np.sign(-x[0]) * steps[::-1]
    right = phi[-1] + np.sign(x[-1]) * steps
    return np.concatenate([left, phi, right])


def _smooth(phi: np.ndarray, x: np.ndarray, s: float, mu: float, grad: bool):
    """(1/mu) ln E exp(mu phi(x + s z)) on the grid (E phi(x + s z) as mu -> 0).

    Returns (phi_new, level) with level = (P, W, d phi_new/ds, d phi_new/dmu) when ``grad``.
    """
    n = x.size
    dx = x[1] - x[0]
    if s <= 0.0:
        z = np.zeros(n)
        return phi, ((np.ones((n, 1)), 0, z, z) if grad else None)
    if s < _S_TINY:  # cumulant expansion: phi + s^2/2 (phi'' + mu phi'^2)
        pe = _extend(phi, x, 1)
        d1 = (pe[2:] - pe[:-2]) / (2.0 * dx)
        d2 = (pe[2:] - 2.0 * phi + pe[:-2]) / dx**2
        new = phi + 0.5 * s * s * (d2 + mu * d1 * d1)
        if not grad:
            return new, None
        c = 0.5 * s * s
        P = np.stack([c * (1.0 / dx**2 - mu * d1 / dx), 1.0 - s * s / dx**2 + 0.0 * d1,
                      c * (1.0 / dx**2 + mu * d1 / dx)], axis=1)
        return new, (P, 1, s * (d2 + mu * d1 * d1), c * d1 * d1)
    # the tilt exp(mu phi), |phi'| <= 1, moves the weight by up to mu s standard deviations
    W = int(np.ceil((_ZMAX + mu * s) * s / dx))
    if n * (2 * W + 1) > _MAX_CELLS:
        raise ValueError(f"a level with mu sqrt(q_l - q_(l-1)) = {mu * s:.3g} needs a kernel of "
                         f"{2 * W + 1} grid points on {n}: beyond the {_MAX_CELLS:.0e}-cell limit")
    off2 = (dx * np.arange(-W, W + 1)) ** 2
    w = np.exp(-0.5 * off2 / (s * s))
    w /= w.sum()
    w = np.maximum(w, 1e-300)
    r = off2 / s**3
    r -= w @ r                     # d ln w_d / ds
    dev = sliding_window_view(_extend(phi, x, W), 2 * W + 1) - phi[:, None]
    if mu * float(np.abs(dev).max()) < 1e-6:  # (1/mu) ln E e^{mu X} = E X + mu Var X / 2
        mean = dev @ w
        m2 = (dev * dev) @ w
        new = phi + mean + 0.5 * mu * (m2 - mean * mean)
        if not grad:
            return new, None
        wr = w * r
        dmean = dev @ wr
        ds = dmean + 0.5 * mu * ((dev * dev) @ wr - 2.0 * mean * dmean)
        P = w[None, :] * (1.0 + mu * (dev - mean[:, None]))
        return new, (P, W, ds, 0.5 * (m2 - mean * mean))
    la = mu * dev + np.log(w)       # log-domain weights (w underflows far out in the window)
    amax = la.max(axis=1)
    e = np.exp(la - amax[:, None])
    Z = e.sum(axis=1)
    new = phi + (amax + np.log(Z)) / mu
    if not grad:
        return new, None
    P = e / Z[:, None]
    ds = (P @ r) / mu
    dmu = (np.einsum("ij,ij->i", P, dev) + phi - new) / mu
    return new, (P, W, ds, dmu)


def _pull(rho: np.ndarray, P: np.ndarray, W: int) -> np.ndarray:
    """Adjoint of one level: rho_l(j) = sum_i rho_{l-1}(i) d phi_{l-1}(x_i) / d phi_l(x_j)."""
    n = rho.size
    idx = np.arange(n)[:, None] + np.arange(2 * W + 1)[None, :]
    ext = np.bincount(idx.ravel(), weights=(rho[:, None] * P).ravel(), minlength=n + 2 * W)
    out = ext[W:W + n].copy()
    out[0] += ext[:W].sum()      # the padding is phi[0] + const, phi[-1] + const
    out[-1] += ext[W + n:].sum()
    return out


def _abs_smooth(x: np.ndarray, s: float, mu: float) -> np.ndarray:
    """(1/mu) ln E exp(mu |x + s z|) in closed form (E |x + s z| as mu -> 0)."""
    if s <= 0.0:
        return np.abs(x)
    mean = s * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * (x / s) ** 2) + x * (1.0 - 2.0 * ndtr(-x / s))
    if mu * s < 1e-7:
        return mean + 0.5 * mu * (x * x + s * s - mean**2)
    la = mu * x + log_ndtr(x / s + mu * s)
    lb = -mu * x + log_ndtr(-x / s + mu * s)
    return 0.5 * mu * s * s + np.logaddexp(la, lb) / mu


def _lncosh(y: np.ndarray, beta: float) -> np.ndarray:
    ay = np.abs(beta * y)
    return (ay + np.log1p(np.exp(-2.0 * ay)) - _LN2) / beta


def _lncosh_smooth(x: np.ndarray, s: float, mu: float, beta: float):
    """(1/mu) ln E exp(mu ln cosh(beta (x + s z)) / beta) and its d/ds, d/dmu.

    A trapezoid sum in z (not on the field grid) over |z| <= 9 + mu s (the tilted weight sits
    near z = +-mu s): the integrand is analytic in a strip of half-width pi / (2 beta s) and
    Gaussian, so the spacing dz = min(2/3, 0.3 / (beta s)) gives errors below exp(-30).
    """
    ref = _lncosh(x, beta)
    if s <= 0.0:
        return ref, np.zeros_like(x), np.zeros_like(x)
    if beta * s >= 3.0 and mu > 1e-6:
        return _lncosh_split(x, s, mu, beta)
    dz = min(2.0 / 3.0, 0.3 / (beta * s))
    zmax = _ZMAX + mu * s           # the tilt moves the weight to z ~ +-mu s
    nz = int(np.ceil(zmax / dz))
    z = np.linspace(-zmax, zmax, 2 * nz + 1)
    w = np.exp(-0.5 * z * z)
    w_sum = w.sum()
    w /= w_sum
    y = x[:, None] + s * z[None, :]
    dev = _lncosh(y, beta) - ref[:, None]
    tz = np.tanh(beta * y) * z[None, :]          # d phi(y) / ds
    if mu * float(np.abs(dev).max()) < 1e-6:
        mean = dev @ w
        m2 = (dev * dev) @ w
        dmean = tz @ w
        ds = dmean + mu * ((dev * tz) @ w - mean * dmean)
        return ref + mean + 0.5 * mu * (m2 - mean * mean), ds, 0.5 * (m2 - mean * mean)
    la = mu * dev - 0.5 * z * z     # log-domain weights
    amax = la.max(axis=1)
    e = np.exp(la - amax[:, None])
    Z = e.sum(axis=1)
    new = ref + (amax + np.log(Z / w_sum)) / mu
    P = e / Z[:, None]
    ds = np.einsum("ij,ij->i", P, tz)
    dmu = (np.einsum("ij,ij->i", P, dev) + ref - new) / mu
    return new, ds, dmu


def _lncosh_split(x: np.ndarray, s: float, mu: float, beta: float):
    """:func:`_lncosh_smooth` for beta s >= 3, as |y| plus a correction localised at y = 0.

    ln cosh(beta y) / beta = |y| - ln 2 / beta + L(y) / beta, L = ln(1 + exp(-2 beta |y|)), so
    E exp(mu phi) = 2^{-m} [A + B] with A = E exp(mu |x + s z|) in closed form
    (:func:`_abs_smooth`) and B = E exp(mu |y|) ((1 + e^{-2 beta |y|})^m - 1), y = x + s z,
    m = mu / beta, an integral over |y| <= 18 / beta (the rest is below e^{-36}) done by
    12-point Gauss-Legendre on panels of width 2 / beta on each side of the kink at y = 0
    (the integrand is analytic within pi / (2 beta) of each half: errors ~1e-13).
    """
    m = mu / beta
    a, a_s, a_mu = _abs_inner(x, s, mu)          # a = (1/mu) ln A
    y, wy = _kink_nodes(beta)
    L = np.log1p(np.exp(-2.0 * beta * np.abs(y)))
    em = np.expm1(m * L)                          # (1 + e^{-2 beta |y|})^m - 1
    d = y[None, :] - x[:, None]
    base = wy * np.exp(mu * (np.abs(y)[None, :] - a[:, None]) - 0.5 * (d / s) ** 2
                       - np.log(s * np.sqrt(2.0 * np.pi)))   # e^{mu |y|} N(y; x, s^2) / A
    R = (base * em).sum(axis=1)                   # B / A
    l1 = np.log1p(R)
    new = -_LN2 / beta + a + l1 / mu
    R_s = (base * em * (d * d / s**3 - 1.0 / s)).sum(axis=1) - R * mu * a_s
    R_mu = (base * (np.abs(y) * em + (L / beta) * (1.0 + em))).sum(axis=1) - R * (a + mu * a_mu)
    ds = a_s + R_s / (mu * (1.0 + R))
    dmu = a_mu + R_mu / (mu * (1.0 + R)) - l1 / mu**2
    return new, ds, dmu


def _abs_inner(x: np.ndarray, s: float, mu: float):
    """:func:`_abs_smooth` F = mu s^2/2 + ln A / mu and its d/ds, d/dmu in closed form.

    A = e^{mu x} Phi(x/s + mu s) + e^{-mu x} Phi(-x/s + mu s); with G = 2 phi(x/s) e^{-mu^2 s^2/2}:
    dA/ds = mu G, dA/dmu = x (e^{mu x} Phi(x/s + mu s) - e^{-mu x} Phi(-x/s + mu s)) + s G.
    """
    val = _abs_smooth(x, s, mu)
    if s <= 0.0:
        z = np.zeros_like(x)
        return val, z, z
    mean = s * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * (x / s) ** 2) + x * (1.0 - 2.0 * ndtr(-x / s))
    # small mu: F = E|y| + mu Var|y|/2, dE|y|/ds = 2 phi(x/s), dVar/ds = 2 s - 2 E|y| dE|y|/ds
    if mu * s < 1e-7:
        dmean = 2.0 * np.exp(-0.5 * (x / s) ** 2) / np.sqrt(2.0 * np.pi)
        var = x * x + s * s - mean**2
        return val, dmean + mu * (s - mean * dmean), 0.5 * var
    la = mu * x + log_ndtr(x / s + mu * s)
    lb = -mu * x + log_ndtr(-x / s + mu * s)
    lA = np.logaddexp(la, lb)
    lg = np.log(2.0 / np.sqrt(2.0 * np.pi)) - 0.5 * (x / s) ** 2 - 0.5 * (mu * s) ** 2
    g_over_a = np.exp(lg - lA)
    diff = np.exp(la - lA) - np.exp(lb - lA)      # (e^{mu x} Phi+ - e^{-mu x} Phi-) / A
    ds = mu * s + g_over_a
    dmu = 0.5 * s * s - lA / mu**2 + (x * diff + s * g_over_a) / mu
    return val, ds, dmu


def _dx_for(s: np.ndarray, mu: np.ndarray) -> float:
    """Grid spacing: <= s / 1.5 for every kernel wider than _S_TINY and <= 0.5 / max(mu).

    A Gaussian kernel of width s costs exp(-2 pi^2 s^2 / dx^2) in the trapezoid sum; a level
    with a large mu s sharpens phi to ~ln cosh(mu y) / mu (analytic in |Im y| < pi / (2 mu)),
    which costs ~exp(-pi^2 / (mu dx)) (measured: 1e-10 at mu dx = 0.5).  Never below 0.01.
    """
    dx = _DX_MAX
    wide = s[s >= _S_TINY]
    if wide.size:
        dx = min(dx, float(wide.min()) / 1.5)
    if mu.size and mu.max() > 0:
        dx = min(dx, 0.5 / float(mu.max()))
    return max(dx, _DX_MIN)
