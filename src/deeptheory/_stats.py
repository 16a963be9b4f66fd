"""Error bars for the mean of a correlated time series (Markov-chain Monte Carlo output).

* :func:`blocking`: the blocking (renormalisation) method of Flyvbjerg & Petersen (1989):
  replace the series by the means of consecutive pairs, again and again; the naive variance
  of the mean, s_k^2 / (n_k - 1), grows with the level k until the blocks are longer than the
  correlation time, then stays on a plateau, which is Var(mean).  The level is chosen by the
  automatic rule of Jonsson (2018): the smallest k at which the lag-1 autocorrelations of all
  coarser levels are compatible with zero, M_k = sum_{j >= k} n_j rho_j^2 below the 99 %
  quantile of chi^2 with (number of levels - k) degrees of freedom (n rho^2 is ~chi^2_1 for an
  uncorrelated series).  The blocked variance approaches its plateau like 1 - a / b (b the
  block length), so the variance returned is max(v_k, 2 v_{k+1} - v_k) at the chosen level k
  (one Richardson step; without it the error bar of an AR(1) series with tau_int = 50 and
  n = 330 tau_int came out 17 % low, with it within 1 %).
* :func:`integrated_autocorr_time`: tau_int = 1/2 + sum_{t=1}^{W} rho(t) with Sokal's automatic
  window, the smallest W >= c tau_int(W), c = 5, and its error
  tau_int sqrt(2 (2 W + 1) / n) (Madras & Sokal 1988; Sokal 1997, sections 3-4).
  Var(mean) = 2 tau_int Var(x) / n.

A series far shorter than its correlation time has no plateau: ``plateau`` is then False and
the error bar is a lower bound (callers report it as not converged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["BlockingResult", "blocking", "integrated_autocorr_time"]

#: Jonsson's significance: the chosen level passes a chi^2 test at this level
BLOCKING_ALPHA = 0.01
#: Sokal's window constant c (W >= c tau_int)
SOKAL_C = 5.0


@dataclass(frozen=True)
class BlockingResult:
    """Blocking analysis of one series (Flyvbjerg & Petersen 1989; Jonsson 2018).

    ``stderr``: standard error of the mean at the chosen level (Richardson-corrected, see the
    module docstring); ``level``: that level (block
    length 2**level); ``n_blocks``: blocks at that level; ``plateau``: whether the
    chi^2 criterion was met at a level with at least 4 blocks; ``levels`` (k,) the naive
    standard errors s_k / sqrt(n_k - 1) of every level (for plots); ``tau``: the integrated
    autocorrelation time implied, n stderr^2 / (2 var).
    """

    stderr: float
    level: int
    n_blocks: int
    plateau: bool
    levels: np.ndarray
    tau: float


def blocking(x: np.ndarray, alpha: float = BLOCKING_ALPHA) -> BlockingResult:
    """Standard error of the mean of the 1-D series ``x`` by blocking (Flyvbjerg & Petersen
    1989), the level chosen by Jonsson's (2018) chi^2 rule; see the module docstring.

    A series of fewer than 4 points raises ValueError.  An odd point at the end of a level is
    dropped before pairing.  A constant series has stderr 0.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    n0 = a.size
    if n0 < 4:
        raise ValueError(f"blocking needs at least 4 points, got {n0}")
    var0 = float(a.var())
    if not var0 > 0:
        return BlockingResult(0.0, 0, n0, True, np.zeros(1), 0.5)
    se_lv, rho2n, ns = [], [], []
    cur = a
    while cur.size >= 4:
        n = cur.size
        mu = cur.mean()
        d = cur - mu
        s2 = float(d @ d) / n
        if s2 > 0:
            g = float(d[:-1] @ d[1:]) / n
            # Jonsson's statistic, with the O(1/n) bias of the lag-1 covariance removed
            rho2n.append(n * ((n - 1) * s2 / (n * n) + g) ** 2 / (s2 * s2))
        else:
            rho2n.append(0.0)
        se_lv.append(math.sqrt(s2 / (n - 1)))
        ns.append(n)
        m = n - (n % 2)
        cur = 0.5 * (cur[0:m:2] + cur[1:m:2])
    d = len(se_lv)
    tail = np.cumsum(np.asarray(rho2n)[::-1])[::-1]  # M_k = sum_{j >= k}
    q = _chi2_quantiles(1.0 - alpha, d)
    level, plateau = d - 1, False
    for k in range(d):
        if tail[k] < q[d - k - 1]:
            level, plateau = k, True
            break
    v = se_lv[level] ** 2
    if level + 1 < d:  # remove the leading 1/b approach to the plateau (Richardson)
        v = max(v, 2.0 * se_lv[level + 1] ** 2 - v)
    se = math.sqrt(v)
    return BlockingResult(stderr=se, level=level, n_blocks=ns[level], plateau=plateau,
                          levels=np.asarray(se_lv), tau=float(n0 * v / (2.0 * var0)))


@lru_cache(maxsize=64)
def _chi2_quantiles(p: float, d: int) -> np.ndarray:
    from scipy.stats import chi2  # deferred: scipy.stats is slow to import

    return chi2.ppf(p, np.arange(1, d + 1))


def _autocorr(a: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation rho(t), t = 0..n-1, by FFT (biased estimator, 1/n)."""
    n = a.size
    d = a - a.mean()
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(d, m)
    acf = np.fft.irfft(f * np.conj(f), m)[:n]
    return acf / acf[0]


def integrated_autocorr_time(x: np.ndarray, c: float = SOKAL_C) -> tuple[float, float, int]:
    """Integrated autocorrelation time of the 1-D series ``x`` with Sokal's window (Sokal
    1997; Madras & Sokal 1988): tau_int(W) = 1/2 + sum_{t=1}^{W} rho(t) at the smallest W with
    W >= c tau_int(W).  Returns (tau_int, its standard error tau sqrt(2 (2W + 1) / n), W), in
    units of the series' spacing; tau = 1/2 for uncorrelated data.  A constant series gives
    (0.5, 0.0, 0); W = n - 1 (no window found) means the series is too short."""
    a = np.asarray(x, dtype=np.float64).ravel()
    n = a.size
    if n < 4:
        raise ValueError(f"an autocorrelation time needs at least 4 points, got {n}")
    if not float(a.var()) > 0:
        return 0.5, 0.0, 0
    rho = _autocorr(a)
    taus = 0.5 + np.cumsum(rho[1:])  # tau(W) for W = 1..n-1
    w_all = np.arange(1, n)
    ok = w_all >= c * taus
    w = int(w_all[np.argmax(ok)]) if np.any(ok) else n - 1
    tau = float(max(taus[w - 1], 0.5 / n))
    return tau, tau * math.sqrt(2.0 * (2 * w + 1) / n), w
