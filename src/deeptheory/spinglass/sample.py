"""Sampled spherical pure p-spin Hamiltonians: energies, Riemannian derivatives, critical points.

Conventions (as in :mod:`deeptheory.spinglass`): on the sphere |s|^2 = N,

    H_N(s) = N^{-(p-1)/2} sum_{i_1..i_p} J_{i_1..i_p} s_{i_1} ... s_{i_p},   J iid N(0, 1),

summed over all ordered p-tuples, so that E[H_N(s) H_N(s')] = N (s.s'/N)^p.  Energies are per
site, u = H_N / N; minima sit at negative u (ground state near -E_0(p), threshold -E_inf(p)).
The Hamiltonian is stored as the *symmetrised* tensor T = N^{-(p-1)/2} Sym(J) (average of J
over the p! index permutations): H_N(s) = T(s, ..., s) is unchanged, and the derivatives are
grad H = p T(s, ..., s, .) and Hess H = p (p-1) T(s, ..., s, ., .) (contracting the
unsymmetrised J would be wrong).

Riemannian quantities, with P = I - s s^T / N the tangent projector:

    grad_R H = P grad H,
    Hess_R H = P (Hess H) P - (s . grad H / N) P = P (Hess H) P - (p H / N) P,

the Hessian restricted to the (N-1)-dimensional tangent space (the radial direction is a
spurious zero mode and is dropped).  The index of a critical point is the number of negative
eigenvalues of that (N-1) x (N-1) matrix.

References: A. Auffinger, G. Ben Arous, J. Cerny, "Random matrices and complexity of spin
glasses", Comm. Pure Appl. Math. 66 (2013) 165-201; A. Choromanska, M. Henaff, M. Mathieu,
G. Ben Arous, Y. LeCun, "The loss surfaces of multilayer networks", AISTATS 2015 (gradient
descent on sampled p-spin models, minima in a narrow band above the ground state).
Finite-N caveat: for p = 3 and N <= 200 gradient-descent minima sit 0.04-0.18 above -E_inf;
compare small-N counts with :func:`deeptheory.spinglass.expected_critical_points`.

The compiled loops live in :mod:`deeptheory.kernels.tensor`; this module does not import numba.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, as_rng
from .._progress import check_progress, progress_bar, progress_ranges
from .._validation import as_float, as_int
from ._checks import SPHERE_RTOL, check_p, check_work

__all__ = [
    "MAX_ENTRIES",
    "MAX_GD_WORK",
    "MAX_NEWTON_WORK",
    "CriticalPoints",
    "GDResult",
    "PSpinHamiltonian",
    "critical_points",
    "default_step",
    "energy",
    "gradient_descent",
    "riemannian_gradient",
    "riemannian_hessian",
    "sample_hamiltonian",
]

#: largest number of tensor entries N**p that :func:`sample_hamiltonian` will allocate
MAX_ENTRIES = 2**25
#: default work limit of :func:`gradient_descent`: n_starts * max_iter * N^p multiply-adds
#: (the docs benchmark, 1000 starts x 100 steps at N = 200, p = 3, is 8e11 in ~11 s: the
#: kernel does about N^p / (p-1)! of them, the packed product)
MAX_GD_WORK = 1.0e14
#: default work limit of :func:`critical_points`: n_starts * (max_newton + 1) * (N^p + N^4)
#: operations of the batched numpy Newton iteration, plus 4 n_starts^2 N for the deduplication
#: (N = 12, 2000 starts: 3.9e9, measured 48 s on 2 cores under load ~10)
MAX_NEWTON_WORK = 2.0e10
_GD_RATE = 7.0e10  # N^p multiply-adds per second, compiled kernel, p = 3, 2 shared cores
_NEWTON_RATE = 1.0e8  # operations per second, batched numpy Newton, 2 shared cores


def _kernels() -> Any:
    """The compiled tensor kernels and the BLAS guard, imported on first use (numba is heavy)."""
    from ..kernels import tensor
    from ..kernels.montecarlo import single_thread_blas

    return tensor, single_thread_blas


@dataclass(frozen=True)
class PSpinHamiltonian(Result):
    """A sampled spherical pure p-spin Hamiltonian H_N(s) = T(s, ..., s).

    ``tensor``: the symmetrised, normalised coupling tensor N^{-(p-1)/2} Sym(J), shape (N,)*p,
    float64, C order.  ``N``, ``p``, ``seed`` as passed to :func:`sample_hamiltonian` (an int,
    or None when a Generator or None was passed: such a draw cannot be replayed from a number).
    H_N(s) = T(s, ..., s) with E[H_N(s) H_N(s')] = N (s.s'/N)^p (Auffinger, Ben Arous & Cerny
    2013, section 1).
    """

    N: int
    p: int
    seed: int | None
    tensor: np.ndarray

    @property
    def flat(self) -> np.ndarray:
        return self.tensor.reshape(-1)

    @property
    def n_spins(self) -> int:
        """N (the interface shared with the Ising-spin models of :mod:`.models`)."""
        return self.N

    def energy(self, s: Any) -> np.ndarray:
        """Total energies T(s, ..., s) of points s (..., N) on |s|^2 = N (batched); see
        :func:`deeptheory.spinglass.models.spherical_energy`."""
        from .models import spherical_energy

        return spherical_energy(self, s)


def sample_hamiltonian(N: int, p: int, seed: Any = 0) -> PSpinHamiltonian:
    """Sample a spherical pure p-spin Hamiltonian (Auffinger, Ben Arous & Cerny 2013, eq. 1.1).

        H_N(s) = N^{-(p-1)/2} sum_{i1..ip} J_{i1..ip} s_i1 ... s_ip,   J iid N(0, 1),

    so E[H(s) H(s')] = N (s.s'/N)^p.  The stored tensor is N^{-(p-1)/2} times the average of J
    over the p! permutations of its indices.  ``N`` >= 2 and ``p`` >= 2 are integers with
    N**p <= 2**25 (:data:`MAX_ENTRIES`, dense storage); ``seed`` is an int >= 0, a
    :class:`numpy.random.Generator` or None.
    """
    n = as_int("N", N, lo=2)
    pp = as_int("p", p, lo=2)
    rng = as_rng(seed)
    sd = int(seed) if isinstance(seed, (int, np.integer)) else None
    if float(n) ** pp > MAX_ENTRIES:
        raise ValueError(f"N**p = {n}**{pp} exceeds the dense-storage limit {MAX_ENTRIES} "
                         f"(MAX_ENTRIES = 2**25, 256 MiB); reduce N or p")
    j = rng.standard_normal((n,) * pp)
    perms = list(itertools.permutations(range(pp)))
    t = np.zeros_like(j)
    for perm in perms:
        t += j.transpose(perm)
    t *= 1.0 / (len(perms) * n ** ((pp - 1) / 2.0))
    return PSpinHamiltonian(n, pp, sd, np.ascontiguousarray(t))


def _check_h(h: Any) -> PSpinHamiltonian:
    if not isinstance(h, PSpinHamiltonian):
        raise TypeError(f"h must be a PSpinHamiltonian (see sample_hamiltonian), got {type(h)}")
    return h


def _positive(name: str, v: Any) -> float:
    x = float(as_float(name, v, lo=0.0))
    if not x > 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    return x


def _point(h: PSpinHamiltonian, s: Any) -> np.ndarray:
    a = np.ascontiguousarray(as_float("s", s), dtype=np.float64)
    if a.shape != (h.N,):
        raise ValueError(f"s must have shape ({h.N},), got {a.shape}")
    r2 = float(a @ a)
    if abs(r2 - h.N) > SPHERE_RTOL * h.N:
        raise ValueError(
            f"s must lie on the sphere |s|^2 = N = {h.N} (relative tolerance {SPHERE_RTOL:g}), "
            f"got |s|^2 = {r2!r}; rescale with s * sqrt(N) / |s|")
    return a


def energy(h: PSpinHamiltonian, s: Any) -> float:
    """H_N(s) = T(s, ..., s) = N^{-(p-1)/2} sum J_{i1..ip} s_i1 ... s_ip on |s|^2 = N.

    The total energy, not per site (divide by N for u); Auffinger, Ben Arous & Cerny 2013,
    eq. (1.1).  ``s`` must lie on the sphere: |s|^2 = N to relative tolerance 1e-8
    (ValueError naming the value found otherwise); it is used as given, not projected.
    """
    h = _check_h(h)
    kt, _ = _kernels()
    return float(kt.tensor_value(h.flat, h.N, h.p, _point(h, s)))


def _tangent_basis(s: np.ndarray) -> np.ndarray:
    """An orthonormal basis (N, N-1) of the complement of s (Householder reflector)."""
    n = s.size
    e = s / np.linalg.norm(s)
    v = e.copy()
    sign = 1.0 if e[0] >= 0 else -1.0
    v[0] += sign
    refl = np.eye(n) - 2.0 * np.outer(v, v) / (v @ v)
    return refl[:, 1:]


def riemannian_gradient(h: PSpinHamiltonian, s: Any) -> np.ndarray:
    """Riemannian gradient of H_N on the sphere |s|^2 = N (length N, orthogonal to s).

        grad_R H = P grad H,   P = I - s s^T / N,   grad H = p T(s, ..., s, .)

    (Auffinger, Ben Arous & Cerny 2013, section 3).  ``s`` on the sphere (relative tolerance
    1e-8).
    """
    h = _check_h(h)
    a = _point(h, s)
    kt, _ = _kernels()
    g = kt.tensor_grad(h.flat, h.N, h.p, a)
    return g - (a @ g) / (a @ a) * a


def riemannian_hessian(h: PSpinHamiltonian, s: Any, *, eigenvalues: bool = False
                       ) -> np.ndarray:
    """Riemannian Hessian of H_N on the sphere through s, as an (N-1) x (N-1) matrix.

        Hess_R = Q^T (Hess H) Q - (s . grad H / |s|^2) I,

    with Q an orthonormal basis of the tangent space (columns orthogonal to s); on |s|^2 = N
    this is P (Hess H) P - (p H / N) P restricted to the tangent space (Auffinger, Ben Arous &
    Cerny 2013, section 3).  The matrix depends on the (arbitrary, deterministic) choice of Q;
    its eigenvalues do not.  ``eigenvalues=True`` returns the ascending eigenvalues instead.
    The index of a critical point is the number of negative eigenvalues.  ``s`` on the sphere
    (relative tolerance 1e-8).
    """
    h = _check_h(h)
    a = _point(h, s)
    kt, _ = _kernels()
    g = kt.tensor_grad(h.flat, h.N, h.p, a)
    hess = kt.tensor_hess(h.flat, h.N, h.p, a)
    q = _tangent_basis(a)
    m = q.T @ hess @ q - (a @ g) / (a @ a) * np.eye(h.N - 1)
    m = 0.5 * (m + m.T)
    return np.linalg.eigvalsh(m) if eigenvalues else m


def default_step(p: int) -> float:
    """Default gradient-descent step eta = 1 / (p + 2 sqrt(p (p-1))).

    The Riemannian Hessian spectrum at energy u is a semicircle of radius 2 sqrt(p(p-1))
    centred at -p u (Auffinger, Ben Arous & Cerny 2013, section 3), so with |u| <~ 2 the step
    is below 2 / (largest eigenvalue).  ``p`` integer >= 2.
    """
    pp = check_p(p)
    if pp.ndim != 0:
        raise TypeError(f"p must be one integer >= 2, got {p!r}")
    p = float(pp)
    return 1.0 / (p + 2.0 * math.sqrt(p * (p - 1.0)))


@dataclass(frozen=True)
class GDResult(Result):
    """Result of :func:`gradient_descent` (one entry per start).

    ``u``: energies per site H_N/N of the final points; ``points`` (n_starts, N) on |s|^2 = N;
    ``grad_norm``: final Riemannian gradient norm |grad_R H_N|; ``n_iter``: steps taken;
    ``converged``: grad_norm < tol.
    """

    u: np.ndarray
    points: np.ndarray
    grad_norm: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def _random_sphere(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    x = rng.standard_normal((m, n))
    return x * (math.sqrt(n) / np.linalg.norm(x, axis=1))[:, None]


def gradient_descent(h: PSpinHamiltonian, n_starts: int, seed: Any = 0, *,
                     step: float | None = None, tol: float = 1e-6, max_iter: int = 20000,
                     starts: Any = None, chunk: int | None = None,
                     max_work: float = MAX_GD_WORK, progress: bool = False) -> GDResult:
    """Projected gradient descent of H_N on |s|^2 = N from ``n_starts`` uniform random starts.

        s <- sqrt(N) (s - step grad_R H) / |s - step grad_R H|,

    stopped when |grad_R H| < ``tol`` (``tol=0``: after exactly ``max_iter`` steps, as in the
    benchmark) or after ``max_iter`` steps.  Compiled
    (:func:`deeptheory.kernels.tensor.sphere_gd_batch`): each step is one matrix product of
    the active starts' monomials with the packed symmetric tensor (C(N+p-2, p-1), about
    N^{p-1} / (p-1)!, rows instead of N^{p-1}), over slices of starts (two per CPU, at most
    ``chunk`` starts each, default no cap) that run in parallel when a step is big enough.
    Bit for bit reproducible for a fixed seed, for any number of threads; a start's trajectory
    depends on the other starts and on ``chunk`` only through the last bits of a BLAS product.
    Starts are uniform on the sphere, drawn from ``seed`` (an int >= 0, a
    :class:`numpy.random.Generator` or None) unless ``starts`` (n_starts, N) is given (then
    rescaled onto the sphere).  ``step`` defaults to
    :func:`default_step`.  Returns :class:`GDResult` with energies per site u = H_N / N (minima
    at negative u; cf. the gradient-descent experiments of Choromanska et al., AISTATS 2015).
    The worst-case work n_starts * max_iter * N^p is checked up front against ``max_work``
    (default :data:`MAX_GD_WORK` = 1e14, ~25 min on 2 shared cores; ValueError above it).

    progress : a progress bar (tqdm on stderr) of the steps done (of ``max_iter``, for all
        starts at once; it jumps to the end when every start has stopped); off by default.
        The steps then run in about 50 compiled calls that carry the run's state, so the
        result is bit for bit that of the single call made without the bar.
    """
    prog = check_progress(progress)
    h = _check_h(h)
    ns = as_int("n_starts", n_starts, lo=1)
    rng = as_rng(seed)
    st = default_step(h.p) if step is None else float(as_float("step", step, lo=0.0))
    if st <= 0:
        raise ValueError(f"step must be > 0, got {step!r}")
    tl = float(as_float("tol", tol, lo=0.0))  # tol = 0: exactly max_iter steps
    mi = as_int("max_iter", max_iter, lo=0)
    check_work("gradient_descent", float(ns) * mi * float(h.N) ** h.p, max_work,
               "multiply-adds (n_starts max_iter N^p)", _GD_RATE)
    ch = ns if chunk is None else as_int("chunk", chunk, lo=1)
    if starts is None:
        s = _random_sphere(rng, ns, h.N)
    else:
        s = np.array(as_float("starts", starts), dtype=np.float64)
        if s.shape != (ns, h.N):
            raise ValueError(f"starts must have shape ({ns}, {h.N}), got {s.shape}")
        nrm = np.linalg.norm(s, axis=1)
        if np.any(nrm == 0):
            raise ValueError("starts must be non-zero rows")
        s = s * (math.sqrt(h.N) / nrm)[:, None]
    s = np.ascontiguousarray(s)
    e = np.empty(ns)
    gn = np.empty(ns)
    it = np.empty(ns, dtype=np.int64)
    kt, single_thread_blas = _kernels()
    pk = kt.pack_symmetric(h.tensor, h.p)
    stops = None  # one call: steps 0 .. max_iter
    if prog and mi > 0:  # about 50 calls; the last one also evaluates the final points
        stops = (b + 1 if b == mi else b
                 for _, b in progress_ranges(mi, "gradient_descent", True, unit="step"))
    with single_thread_blas():
        kt.run_sphere_gd(pk, s, float(h.N), st, tl, mi, ch, e, gn, it, stops=stops)
    return GDResult(u=e / h.N, points=s, grad_norm=gn, n_iter=it, converged=gn < tl)


@dataclass(frozen=True)
class CriticalPoints(Result):
    """Distinct critical points found by :func:`critical_points`.

    ``points`` (K, N) on |s|^2 = N, sorted by energy; ``u`` energies per site; ``index`` number
    of negative Riemannian Hessian eigenvalues; ``grad_norm`` final |grad_R H_N|;
    ``n_converged`` number of Newton runs that converged (before deduplication).
    """

    points: np.ndarray
    u: np.ndarray
    index: np.ndarray
    grad_norm: np.ndarray
    n_converged: int

    def counts(self) -> np.ndarray:
        """Number of critical points of each index k = 0..N-1 (length N)."""
        return np.bincount(self.index, minlength=self.points.shape[1])


def _batch_derivs(t: np.ndarray, n: int, p: int, s: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched (B, n) values T(s..s), gradients and Hessians (numpy, for small n)."""
    b = s.shape[0]
    if p == 2:
        w = np.broadcast_to(t.reshape(1, n * n), (b, n * n))
    else:
        w = (t.reshape(-1, n) @ s.T).T  # (B, n**(p-1)): one contraction
        for _ in range(p - 3):
            w = np.einsum("bak,bk->ba", w.reshape(b, -1, n), s)
    # w = T(s..s, ., .) after p-2 contractions
    hess = p * (p - 1) * w.reshape(b, n, n)
    g = np.einsum("bij,bj->bi", hess, s) / (p - 1)
    val = np.einsum("bi,bi->b", g, s) / p
    return val, g, hess


def _batch_tangent(s: np.ndarray) -> np.ndarray:
    """(B, n, n-1) orthonormal tangent bases (Householder)."""
    b, n = s.shape
    e = s / np.linalg.norm(s, axis=1)[:, None]
    v = e.copy()
    v[:, 0] += np.where(e[:, 0] >= 0, 1.0, -1.0)
    refl = np.eye(n)[None] - 2.0 * v[:, :, None] * v[:, None, :] / np.sum(v * v, 1)[:, None, None]
    return refl[:, :, 1:]


def _newton(h: PSpinHamiltonian, s: np.ndarray, tol: float, max_iter: int, max_step: float,
            bar: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched Newton on the sphere: returns points, gradient norms, Riemannian Hessians.

    ``bar`` (optional) advances by one per iteration (max_iter + 1 of them; the rest at once
    when every start has converged)."""
    n, p = h.N, h.p
    t = h.tensor
    eye = np.eye(n - 1)
    for i in range(max_iter + 1):
        val, g, hess = _batch_derivs(t, n, p, s)
        q = _batch_tangent(s)
        gt = np.einsum("bia,bi->ba", q, g)
        gn = np.linalg.norm(gt, axis=1)
        hr = np.einsum("bia,bij,bjc->bac", q, hess, q) - (p * val / n)[:, None, None] * eye
        todo = gn >= tol
        if not np.any(todo):
            if bar is not None:
                bar.update(max_iter + 1 - i)  # the iterations left: none is needed
            break
        try:
            x = -np.linalg.solve(hr[todo], gt[todo][:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            x = -np.stack([np.linalg.lstsq(m, r, rcond=None)[0]
                           for m, r in zip(hr[todo], gt[todo], strict=True)])
        step = np.einsum("bia,ba->bi", q[todo], x)
        sn = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, max_step / np.maximum(sn, 1e-300))[:, None]
        y = s[todo] + step
        s = s.copy()
        s[todo] = y * (math.sqrt(n) / np.linalg.norm(y, axis=1))[:, None]
        if bar is not None:
            bar.update(1)
    return s, gn, hr


def critical_points(h: PSpinHamiltonian, n_starts: int, seed: Any = 0, *,
                    use_gd: bool = False, tol: float = 1e-10, max_newton: int = 60,
                    dedup_tol: float = 1e-6, progress: bool = False,
                    max_work: float = MAX_NEWTON_WORK) -> CriticalPoints:
    """Critical points of H_N on |s|^2 = N by multistart Newton on the sphere.

    ``n_starts`` uniform random starts (from ``seed``: an int >= 0, a Generator or None; with
    ``use_gd`` they are first run through :func:`gradient_descent`, which finds minima only)
    are refined by Riemannian Newton steps (tangent solve Hess_R x = -grad_R, step length
    capped at 0.3 sqrt(N), retraction s <- sqrt(N) s/|s|) until |grad_R H_N| < ``tol``.  Since
    H_N(-s) = (-1)^p H_N(s), the antipode of every critical point is one too and is added.
    Points closer than ``dedup_tol`` sqrt(N) are merged (distinct points of the sphere are
    counted, so s and -s count twice for every p, as in ABC's counts).  The index is the number
    of negative eigenvalues of the tangent Hessian.  Batched numpy: meant for small N (<~ 20).
    Multistart search can miss critical points with small basins; more starts find more.  The
    counts estimate E Crt_{N,k} of Auffinger, Ben Arous & Cerny 2013 (compare with
    :func:`deeptheory.spinglass.expected_critical_points`).  The work
    n_starts (max_newton + 1) (N^p + N^4) + 4 n_starts^2 N (Newton, then deduplication) is
    checked up front against ``max_work`` (default :data:`MAX_NEWTON_WORK` = 2e10, ~3 min on 2
    shared cores; ValueError with the estimate above it).

    progress : a progress bar (tqdm on stderr) of the Newton iterations done (max_newton + 1,
        each one over every start; it jumps to the end once all have converged), with
        ``use_gd`` also the bar of :func:`gradient_descent`; off by default.  The bar only
        watches the loop: the result is the same with it.
    """
    prog = check_progress(progress)
    h = _check_h(h)
    ns = as_int("n_starts", n_starts, lo=1)
    rng = as_rng(seed)
    tl = _positive("tol", tol)
    mi = as_int("max_newton", max_newton, lo=1)
    dt = _positive("dedup_tol", dedup_tol)
    n = h.N
    work = float(ns) * (mi + 1) * (float(n) ** h.p + float(n) ** 4) + 4.0 * float(ns) ** 2 * n
    check_work("critical_points", work, max_work,
               "multiply-adds (Newton and deduplication)", _NEWTON_RATE)
    s0 = _random_sphere(rng, ns, n)
    if use_gd:
        s0 = gradient_descent(h, ns, None, starts=s0, tol=1e-4, max_iter=2000,
                              progress=prog).points
    with progress_bar(mi + 1, "critical_points", prog, unit="iteration") as bar:
        s, gn, _ = _newton(h, s0, tl, mi, 0.3 * math.sqrt(n), bar if prog else None)
        ok = np.isfinite(gn) & (gn < tl)
        bar.set_postfix_str(f"{int(ok.sum())}/{ns} converged")
    found = s[ok]
    cand = np.concatenate([found, -found]) if found.size else np.empty((0, n))
    kept = np.empty_like(cand)
    m = 0
    for x in cand:  # greedy: keep x unless within dedup_tol sqrt(N) of a point already kept
        if m == 0 or np.min(np.linalg.norm(kept[:m] - x, axis=1)) >= dt * math.sqrt(n):
            kept[m] = x
            m += 1
    if m == 0:
        z = np.empty((0, n))
        return CriticalPoints(z, np.empty(0), np.empty(0, dtype=int), np.empty(0), 0)
    pts = kept[:m].copy()
    # one more Newton sweep on the antipodes etc. to report exact gradient norms / Hessians
    pts, gn, hr = _newton(h, pts, tl, 3, 0.3 * math.sqrt(n))
    val, _, _ = _batch_derivs(h.tensor, n, h.p, pts)
    idx = np.array([int(np.sum(np.linalg.eigvalsh(0.5 * (m + m.T)) < 0)) for m in hr])
    order = np.argsort(val)
    return CriticalPoints(points=pts[order], u=val[order] / n, index=idx[order],
                          grad_norm=gn[order], n_converged=int(ok.sum()))
