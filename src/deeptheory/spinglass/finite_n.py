"""Exact finite-N mean number of critical points of the spherical pure p-spin model.

Conventions as in :mod:`deeptheory.spinglass.complexity` (E[H_N(s) H_N(s')] = N (s.s'/N)^p on
|s|^2 = N, u = H_N / N, index = number of negative Riemannian Hessian eigenvalues).

ABC (Auffinger, Ben Arous & Cerny 2013, section 2) reduce the Kac-Rice formula to an exact
GOE expectation: for a Borel set B and 0 <= k <= N - 1,

    E Crt_{N,k}(B) = 2 sqrt(2/p) (p-1)^{N/2}
                     E_GOE_N[ exp(-N (p-2) lambda_k^2 / (2p)) 1{lambda_k in sqrt(p/(2(p-1))) B} ],

where GOE_N is the N x N real symmetric matrix with independent centred Gaussian entries of
variance (1 + delta_ij)/(2N) (semicircle on [-sqrt 2, sqrt 2]) and lambda_0 <= ... <= lambda_{N-1}
its ordered eigenvalues; lambda_k is the (k+1)-th smallest.  Summing over k gives E Crt_N(B).

Exact evaluation (:func:`expected_critical_points`).  The GOE eigenvalue density is
Z^{-1} prod_{i<j} |x_j - x_i| prod_i exp(-N x_i^2 / 2).  On the ordered region x_0 < ... <
x_{N-1} the Vandermonde product is det[P_j(x_i)] with monic Hermite polynomials
P_j(x) = N^{-j/2} He_j(sqrt(N) x); expanding the determinant and integrating the positions in
increasing order is a dynamic programme over the subsets of used polynomial degrees (2^N states),
each state a function on a grid of Gauss-Legendre panels (16 nodes each, spectral integration
matrices for the running integrals, the cut sqrt(p/(2(p-1))) u_max as a panel edge).  Cost
~N 2^N grid functions: allowed for N <= 12 (a fraction of a second at N = 10).  For larger N,
the count summed over all indices is exact for N <= 400 through Mehta's GOE one-point density
(:func:`expected_critical_points_total`); a fixed index k at larger N is only available from the
seeded Monte Carlo estimator :func:`expected_critical_points_mc`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from .._api import Estimate, as_rng
from .._progress import check_progress, progress_bar
from .._validation import as_int, broadcast, scalar_or_array
from ._checks import check_p, check_work

__all__ = [
    "MAX_EXACT_N",
    "MAX_EXACT_WORK",
    "MAX_MC_WORK",
    "MAX_TOTAL_N",
    "MCEstimate",
    "expected_critical_points",
    "expected_critical_points_mc",
    "expected_critical_points_total",
    "sample_goe",
]

#: largest N for which :func:`expected_critical_points` runs the exact (2^N-state) programme
MAX_EXACT_N = 12
#: largest N of :func:`expected_critical_points_total` (Mehta's one-point density)
MAX_TOTAL_N = 400
#: default work limit of :func:`expected_critical_points` (units: N 2^N grid functions; one
#: call at N = 12 is 12 * 2^12 = 49152 units, ~8 s on 2 shared cores)
MAX_EXACT_WORK = 2.0e5
#: default work limit of :func:`expected_critical_points_mc` (n_samples * N^3 multiply-adds of
#: the eigenvalue solver; 1e10 is ~1 min on 2 shared cores)
MAX_MC_WORK = 1.0e10
_EXACT_RATE = 49152 / 8.0  # grid-function units per second (N = 12: 7.7 s, 2 loaded cores)
_MC_RATE = 2.0e8  # multiply-adds per second of batched eigvalsh (single-threaded, loaded)

_M = 16  # Gauss-Legendre nodes per panel
_T, _W = np.polynomial.legendre.leggauss(_M)


def _integration_matrix() -> np.ndarray:
    """A[i, j] = int_{-1}^{t_i} l_j(s) ds for the Lagrange basis l_j on the Legendre nodes."""
    from numpy.polynomial import legendre as L

    V = L.legvander(_T, _M - 1)  # V[i, n] = P_n(t_i)
    W = np.empty((_M, _M))
    for n in range(_M):
        c = np.zeros(n + 1)
        c[n] = 1.0
        ci = L.legint(c, lbnd=-1.0)
        W[:, n] = L.legval(_T, ci)
    return W @ np.linalg.inv(V)


_A = _integration_matrix()


#: the former Monte Carlo result type, now the package-wide :class:`deeptheory.Estimate`
#: (``value``, ``stderr``, ``n``; ``.mean`` is an alias of ``value``)
MCEstimate = Estimate


def _check_common(N: Any, p: Any, k: Any, max_n: int | None) -> tuple[int, int, int | None]:
    n = as_int("N", N, lo=2)
    if max_n is not None and n > max_n:
        hint = {MAX_EXACT_N: "the exact index-resolved programme costs N 2^N; use "
                "expected_critical_points_total (all indices, N <= 400) or "
                "expected_critical_points_mc",
                MAX_TOTAL_N: "use expected_critical_points_mc"}.get(max_n, "")
        raise ValueError(f"N must be in [2, {max_n}], got {n} ({hint})")
    if np.ndim(p) != 0:
        raise TypeError(f"p must be one integer >= 2 here, got {p!r}")
    pp = int(check_p(p))
    kk = None if k is None else as_int("k", k, lo=0, hi=n - 1)
    return n, pp, kk


def _check_umax(u_max: Any) -> float:
    try:
        v = float(u_max)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"u_max must be a real number, got {u_max!r}") from exc
    if np.isnan(v) or v == -np.inf:
        raise ValueError(f"u_max must be a number or +inf, got {u_max!r}")
    return v


def _grid(N: int, cut: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Panel edges on [-L, L] (with ``cut`` as an edge) and the nodes (P, M)."""
    L = np.sqrt(2.0) + 7.0 / np.sqrt(N)
    edges = np.linspace(-L, L, 65)
    if cut is not None and -L < cut < L:
        edges = np.unique(np.concatenate([edges, [cut]]))
        gaps = np.diff(edges)
        keep = np.concatenate([[True], gaps > 1e-9 * L])
        edges = edges[keep]
        if not np.any(edges == cut):
            edges[np.argmin(np.abs(edges - cut))] = cut
    mid = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * np.diff(edges)
    nodes = mid[:, None] + half[:, None] * _T[None, :]
    return half, nodes


def _basis(N: int, x: np.ndarray) -> np.ndarray:
    """phi_j(x) = P_j(x) exp(-N x^2/2) / ||P_j||, j < N, with ||P_j||^2 = j! N^{-j} sqrt(2 pi/N)."""
    y = np.sqrt(N) * x
    he = np.empty((N,) + x.shape)
    he[0] = 1.0
    if N > 1:
        he[1] = y
    for j in range(1, N - 1):
        he[j + 1] = y * he[j] - j * he[j - 1]
    # He_j(y) / sqrt(j!) is the orthonormal-size combination; norm of P_j is sqrt(j!) N^{-j/2} c
    fact = np.exp(0.5 * gammaln(np.arange(N) + 1.0))
    w = np.exp(-0.5 * N * x**2) / (2.0 * np.pi / N) ** 0.25
    return he / fact[:, None, None] * w[None]


def _log_norm_product(N: int) -> float:
    """log prod_j ||P_j||: det[phi_j(x_i)] = Vandermonde * prod_i w(x_i) / prod_j ||P_j||."""
    j = np.arange(N)
    return float(np.sum(0.5 * (gammaln(j + 1.0) - j * np.log(N)) + 0.25 * np.log(2 * np.pi / N)))


def _ordered_integrals(N: int, special: np.ndarray | None, k: int | None,
                       cut: float | None) -> tuple[float, float]:
    """(Z0, Zs): ordered-region integrals of det[phi_j(x_i)] without / with the special weight.

    ``special`` holds the extra weight on the grid (cut applied); ``k`` is the ordered position
    carrying it, or None for the sum over all positions.  Z0 * exp(_log_norm_product(N)) is
    int_{x_0 < ... < x_{N-1}} prod_{i<j} (x_j - x_i) prod_i exp(-N x_i^2 / 2) dx.
    """
    half, nodes = _grid(N, cut)
    phi = _basis(N, nodes)  # (N, P, M)
    hw = half[:, None]

    def cumint(F: np.ndarray) -> np.ndarray:
        within = (F @ _A.T) * hw
        tot = (F @ _W) * half
        off = np.cumsum(tot, axis=-1) - tot
        return within + off[..., None]

    def total(F: np.ndarray) -> np.ndarray:
        return np.sum((F @ _W) * half, axis=-1)

    popcount = np.array([bin(s).count("1") for s in range(1 << N)])
    layers = [np.flatnonzero(popcount == m) for m in range(N + 1)]
    pos_in_layer = np.empty(1 << N, dtype=int)
    for lay in layers:
        pos_in_layer[lay] = np.arange(lay.size)

    shape = nodes.shape
    G0 = np.ones((1,) + shape)  # special weight not used yet
    G1 = np.zeros((1,) + shape) if special is not None else None
    for m in range(N):
        targets = layers[m + 1]
        src_pos, jj, sgn = [], [], []
        for T in targets:
            for j in range(N):
                if T >> j & 1:
                    S = T ^ (1 << j)
                    src_pos.append(pos_in_layer[S])
                    jj.append(j)
                    sgn.append(-1.0 if bin(S >> (j + 1)).count("1") % 2 else 1.0)
        src_pos, jj, sgn = np.array(src_pos), np.array(jj), np.array(sgn)
        fac = sgn[:, None, None] * phi[jj]
        last = m == N - 1
        op = total if last else cumint
        grp = (targets.size, m + 1)

        def step(F: np.ndarray, grp: tuple[int, int] = grp, op: Any = op) -> np.ndarray:
            out = op(F)
            return out.reshape(grp + out.shape[1:]).sum(axis=1)

        new0 = step(fac * G0[src_pos])
        if special is not None:
            new1 = np.zeros_like(new0)
            if k is None or k == m:
                new1 = new1 + step(fac * G0[src_pos] * special)
            if k is None or k < m:
                new1 = new1 + step(fac * G1[src_pos])
            G1 = new1
        G0 = new0
    z0 = float(G0[0])
    zs = float(G1[0]) if special is not None else float("nan")
    return z0, zs


def _ecp_scalar(n: int, pp: int, kk: int | None, um: float) -> float:
    """One exact E Crt_{N,k}((-inf, u_max]) (arguments already checked)."""
    cut = None if um == np.inf else um * np.sqrt(pp / (2.0 * (pp - 1.0)))
    half, nodes = _grid(n, cut)
    special = np.exp(-n * (pp - 2.0) * nodes**2 / (2.0 * pp))
    if cut is not None:
        special = np.where(nodes <= cut, special, 0.0)
        if cut <= nodes.min():
            return 0.0
    z0, zs = _ordered_integrals(n, special, kk, cut)
    return float(2.0 * np.sqrt(2.0 / pp) * (pp - 1.0) ** (n / 2.0) * zs / z0)


def _broadcast_finite_n(N: Any, p: Any, k: Any, u_max: Any, max_n: int
                        ) -> tuple[tuple[int, ...], list[tuple[int, int, int | None, float]]]:
    """Broadcast (N, p, k, u_max) by numpy rules and check every element; k may be None."""
    arrs = {"N": np.asarray(N, dtype=object), "p": np.asarray(p, dtype=object),
            "u_max": np.asarray(u_max, dtype=object)}
    if k is not None:
        arrs["k"] = np.asarray(k, dtype=object)
    b = broadcast(**arrs)
    shape = b[0].shape
    items = []
    for i in range(int(np.prod(shape, dtype=int))):
        idx = np.unravel_index(i, shape) if shape else ()
        vals = [a[idx] for a in b]
        n, pp, kk = _check_common(vals[0], vals[1], None if k is None else vals[3], max_n)
        items.append((n, pp, kk, _check_umax(vals[2])))
    return shape, items


def expected_critical_points(N: Any, p: Any, k: Any = None, u_max: Any = np.inf, *,
                             max_work: float = MAX_EXACT_WORK,
                             progress: bool = False) -> np.ndarray | float:
    """Exact E Crt_{N,k}((-inf, u_max]) for the spherical pure p-spin model.

    Auffinger, Ben Arous & Cerny 2013, section 2 (their exact Kac-Rice/GOE identity):

        E Crt_{N,k}(B) = 2 sqrt(2/p) (p-1)^{N/2}
                         E_GOE_N[exp(-N (p-2) lambda_k^2 / (2p)) 1{lambda_k <= c u_max}],
        c = sqrt(p / (2 (p-1))),

    the mean number of critical points of index ``k`` with H_N <= N u_max (``k=None``: all
    indices, the sum over k = 0..N-1).  Convention: E[H_N(s) H_N(s')] = N (s.s'/N)^p, |s|^2 = N,
    u = H_N/N; GOE_N entries of variance (1 + delta_ij)/(2N).  The GOE expectation is computed by
    exact integration over the ordered eigenvalue density (module docstring), relative accuracy
    ~1e-12; ``N`` is an integer in [2, 12] (see :func:`expected_critical_points_mc` beyond),
    ``p`` an integer >= 2, ``k`` in [0, N-1] or None, ``u_max`` a real number or +inf.  The
    eigenvalues are integrated over [-L, L], L = sqrt(2) + 7/sqrt(N) (mass outside below
    ~1e-15); a cut below -L returns 0.

    Checks: N = 2 gives E Crt_2(R) = 2 sqrt(3p - 2) (a random trigonometric polynomial of degree
    p on a circle), p = 2 gives exactly 2 critical points of each index.

    ``N``, ``p``, ``k`` and ``u_max`` broadcast (numpy rules; ``k=None`` for all indices).  The
    exact programme runs once per element (its cost depends on N), so an array is a loop over
    its elements.  The work is estimated up front as the sum of N 2^N grid functions (N = 12:
    49152, ~8 s on 2 shared cores); above ``max_work`` (default :data:`MAX_EXACT_WORK` = 2e5,
    ~30 s) a ValueError with the estimate is raised before any computation.

    progress : a progress bar (tqdm on stderr) of the broadcast elements done; off by
        default.
    """
    prog = check_progress(progress)
    shape, items = _broadcast_finite_n(N, p, k, u_max, MAX_EXACT_N)
    work = float(sum(n * 2.0**n for n, _, _, _ in items))
    check_work("expected_critical_points", work, max_work, "grid functions (N 2^N)",
               _EXACT_RATE)
    out = np.array(_each(_ecp_scalar, items, "expected_critical_points", prog),
                   dtype=float).reshape(shape)
    return scalar_or_array(out)


def _each(fn: Any, items: list, desc: str, progress: bool) -> list[float]:
    """[fn(*item) for item in items], with a bar of the elements done (``progress``)."""
    out = []
    with progress_bar(len(items), desc, progress, unit="value") as bar:
        for it in items:
            out.append(fn(*it))
            bar.update(1)
    return out


_UNSET: Any = object()


def sample_goe(N: int, size: int = 1, seed: Any = None, *, rng: Any = _UNSET) -> np.ndarray:
    """``size`` GOE_N matrices with entry variances (1 + delta_ij)/(2N), shape (size, N, N).

        M = (A + A^T) / (2 sqrt(N)),   A_ij iid N(0, 1),

    so E M_ij^2 = (1 + delta_ij)/(2N) and the spectrum fills the semicircle on [-sqrt 2, sqrt 2]:
    the normalisation of Auffinger, Ben Arous & Cerny 2013 (section 2) and of Mehta, Random
    Matrices (3rd ed., 2004), chapter 3, up to the scale 1/sqrt(N).  ``N`` >= 1 and ``size``
    >= 1 are integers; ``seed`` is an int >= 0, a :class:`numpy.random.Generator` (used and
    advanced) or None (fresh entropy).  ``rng=`` is accepted as a keyword alias of ``seed``.
    """
    if rng is not _UNSET:
        if seed is not None:
            raise TypeError("sample_goe: pass the seed as seed= or rng=, not both")
        seed, name = rng, "rng"
    else:
        name = "seed"
    n = as_int("N", N, lo=1)
    m = as_int("size", size, lo=1)
    if float(m) * n * n > 2.0**27:
        raise ValueError(f"size * N^2 = {m * n * n} exceeds 2^27 entries (1 GiB); "
                         "draw in smaller batches")
    g = as_rng(seed, name)
    a = g.standard_normal((m, n, n))
    return (a + np.swapaxes(a, 1, 2)) / (2.0 * np.sqrt(n))


def expected_critical_points_mc(N: int, p: int, k: int | None = None, u_max: float = np.inf,
                                *, n_samples: int = 10000, seed: Any = 0, batch: int = 2000,
                                max_work: float = MAX_MC_WORK,
                                progress: bool = False) -> Estimate:
    """Seeded Monte Carlo estimate of E Crt_{N,k}((-inf, u_max]) (ABC 2013, section 2).

        E Crt_{N,k}((-inf, u]) = 2 sqrt(2/p) (p-1)^{N/2}
                                 E_GOE_N[exp(-N (p-2) lambda_k^2/(2p)) 1{lambda_k <= c u}],
        c = sqrt(p/(2(p-1)))

    (Auffinger, Ben Arous & Cerny 2013, section 2).  Samples ``n_samples`` GOE_N matrices
    (:func:`sample_goe`) and averages the bracket (summed over all eigenvalues when ``k`` is
    None).  Returns a :class:`deeptheory.Estimate` (``value``, ``stderr`` = sample standard
    deviation / sqrt(n_samples), ``n`` = n_samples, and the per-sample values in ``samples``).
    This is an estimator, not an exact value: for energies below -E_inf the indicator is a rare
    event and the relative error grows exponentially in N.  ``N`` >= 2, ``p`` >= 2 and
    ``0 <= k <= N-1`` are integers; ``seed`` an int >= 0, a Generator or None.  The work
    n_samples * N^3 is checked up front against ``max_work`` (default :data:`MAX_MC_WORK` =
    1e10, ~1 min on 2 shared cores; ValueError with the estimate above it).

    progress : a progress bar (tqdm on stderr) of the GOE samples done (advancing by
        ``batch``); off by default.
    """
    prog = check_progress(progress)
    n, pp, kk = _check_common(N, p, k, None)
    um = _check_umax(u_max)
    ns = as_int("n_samples", n_samples, lo=2)
    bs = as_int("batch", batch, lo=1)
    rng = as_rng(seed)
    check_work("expected_critical_points_mc", float(ns) * n**3, max_work,
               "multiply-adds (n_samples N^3)", _MC_RATE)
    bs = max(1, min(bs, 2**27 // (n * n)))
    t = um * np.sqrt(pp / (2.0 * (pp - 1.0)))
    pref = 2.0 * np.sqrt(2.0 / pp) * (pp - 1.0) ** (n / 2.0)
    from ..kernels.montecarlo import single_thread_blas  # batched LAPACK: one thread is faster

    vals = np.empty(ns)
    done = 0
    with progress_bar(ns, "expected_critical_points_mc", prog, unit="sample") as bar:
        while done < ns:
            b = min(bs, ns - done)
            with single_thread_blas():
                lam = np.linalg.eigvalsh(sample_goe(n, b, rng))
            if kk is not None:
                lam = lam[:, kk : kk + 1]
            f = np.exp(-n * (pp - 2.0) * lam**2 / (2.0 * pp)) * (lam <= t)
            vals[done : done + b] = pref * f.sum(axis=1)
            done += b
            bar.update(b)
    return Estimate.from_samples(vals)


def _hermite_functions(n_max: int, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K(y) = sum_{j<n_max} phi_j(y)^2, phi_{n_max-1}(y), phi_{n_max}(y)) for the orthonormal
    Hermite functions phi_j(y) = (2^j j! sqrt(pi))^{-1/2} H_j(y) e^{-y^2/2}.

    Three-term recurrence phi_{j+1} = sqrt(2/(j+1)) y phi_j - sqrt(j/(j+1)) phi_{j-1} carried
    with a per-point logarithmic scale, so that e^{-y^2/2} may underflow without harm.
    """
    logs = -0.5 * y**2 - 0.25 * np.log(np.pi)  # phi_j = (a_j) * exp(logs)
    a_prev = np.zeros_like(y)
    a = np.ones_like(y)
    ksum = np.zeros_like(y)  # sum phi_j^2 * exp(-2 logs)
    phi_nm1 = None
    for j in range(n_max):
        ksum += a * a
        if j == n_max - 1:
            phi_nm1 = a * np.exp(logs)
        a_prev, a = a, np.sqrt(2.0 / (j + 1)) * y * a - np.sqrt(j / (j + 1.0)) * a_prev
        big = np.abs(a) > 1e100
        if np.any(big):
            a[big] *= 1e-100
            a_prev[big] *= 1e-100
            ksum[big] *= 1e-200
            logs[big] += 100.0 * np.log(10.0)
    return ksum * np.exp(2.0 * logs), phi_nm1, a * np.exp(logs)


def _goe_density_y(N: int, lo: float, hi: float, cut: float | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes (P, M), half-widths and the GOE one-point density (integrating to N) in y = sqrt(N) x.

    Mehta's formula for the GOE with weight exp(-y^2/2) (off-diagonal variance 1/2):
    rho(y) = sum_{j<N} phi_j(y)^2 + sqrt(N/2) phi_{N-1}(y) (1/2) int sgn(y - t) phi_N(t) dt
             + [N odd] phi_{N-1}(y) / int phi_{N-1}(t) dt.
    """
    h = min(0.5, 3.0 / np.sqrt(N))
    edges = np.linspace(lo, hi, int(np.ceil((hi - lo) / h)) + 1)
    if cut is not None and lo < cut < hi:
        edges = np.unique(np.concatenate([edges, [cut]]))
        edges = edges[np.concatenate([[True], np.diff(edges) > 1e-9])]
        if not np.any(edges == cut):
            edges[np.argmin(np.abs(edges - cut))] = cut
    mid = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * np.diff(edges)
    y = mid[:, None] + half[:, None] * _T[None, :]
    K, phi_nm1, phi_n = _hermite_functions(N, y)
    tot = (phi_n @ _W) * half
    cum = (phi_n @ _A.T) * half[:, None] + (np.cumsum(tot) - tot)[:, None]
    eps_int = cum - 0.5 * tot.sum()  # (1/2) int sgn(y - t) phi_N(t) dt
    rho = K + np.sqrt(N / 2.0) * phi_nm1 * eps_int
    if N % 2 == 1:
        rho = rho + phi_nm1 / np.sum((phi_nm1 @ _W) * half)
    return y, half, rho


def _ecp_total_scalar(n: int, pp: int, um: float) -> float:
    t = None if um == np.inf else um * np.sqrt(pp / (2.0 * (pp - 1.0))) * np.sqrt(n)
    edge = np.sqrt(2.0 * n)
    reach = edge if t is None else max(edge, abs(t))
    lo, hi = -(reach + 12.0), reach + 12.0
    y, half, rho = _goe_density_y(n, lo, hi, t)
    f = rho * np.exp(-(pp - 2.0) * y**2 / (2.0 * pp))
    if t is not None:
        f = np.where(y <= t, f, 0.0)
    integral = float(np.sum((f @ _W) * half))
    return float(2.0 * np.sqrt(2.0 / pp) * (pp - 1.0) ** (n / 2.0) * integral)


def expected_critical_points_total(N: Any, p: Any, u_max: Any = np.inf, *,
                                   progress: bool = False) -> np.ndarray | float:
    """Exact E Crt_N((-inf, u_max]) (all indices) for N <= 400, via the GOE one-point density.

    Summing the identity of Auffinger, Ben Arous & Cerny 2013 (section 2; see
    :func:`expected_critical_points`) over k gives

        E Crt_N(B) = 2 sqrt(2/p) (p-1)^{N/2} int_{c B} rho_N(x) exp(-N (p-2) x^2 / (2p)) dx,
        c = sqrt(p / (2 (p-1))),

    with rho_N the GOE_N one-point density normalised to N (entry variance (1+delta_ij)/(2N)).
    rho_N is Mehta's exact finite-N formula (Random Matrices, 3rd ed., section 7.2; Hermite
    functions by a rescaled three-term recurrence, the sign integral by spectral panel
    quadrature), so the result is exact up to quadrature error (~1e-12 relative, also deep in
    the tail u_max < -E_inf).  ``N`` integer in [2, 400] (:data:`MAX_TOTAL_N`), ``p`` integer
    >= 2, ``u_max`` real or +inf; the three broadcast (numpy rules; a loop over elements, each
    ~0.1 s at N = 400).  Conventions as in :func:`expected_critical_points`, which it equals
    for N <= 12.

    progress : a progress bar (tqdm on stderr) of the broadcast elements done; off by
        default.
    """
    prog = check_progress(progress)
    shape, items = _broadcast_finite_n(N, p, None, u_max, MAX_TOTAL_N)
    out = np.array(_each(_ecp_total_scalar, [(n, pp, um) for n, pp, _, um in items],
                         "expected_critical_points_total", prog), dtype=float).reshape(shape)
    return scalar_or_array(out)
