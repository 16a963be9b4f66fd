"""Optimal transport between point clouds and the geodesic view of residual networks.

Cost: squared Euclidean, c(x, y) = |x - y|^2.  Distances are W2 (not squared) unless a
name or a docstring says otherwise.

* :func:`ot_assignment`: exact OT between two uniform clouds of the same size n, an
  assignment problem (Kantorovich 1942; the Birkhoff-von Neumann theorem makes a
  permutation optimal among all plans), solved by ``scipy.optimize.linear_sum_assignment``
  (for n >= 500 with POT installed, by POT's network simplex ``ot.emd``, 6-7x faster at
  n = 2000, kept only when it reports optimality and returns a permutation).
* :func:`wasserstein2`: W2 between empirical measures; weighted or unequal-size measures go
  to POT's exact network-simplex solver ``ot.emd2`` (Flamary et al. 2021), imported lazily.
* :func:`gaussian_w2`: the closed form between Gaussians (Dowson & Landau 1982; Olkin &
  Pukelsheim 1982; Givens & Shortt 1984).
* :func:`displacement_interpolation`: McCann's (1997) geodesic mu_t = ((1 - t) I + t T)_# mu_0.
* Scores of recorded layer outputs x^(0), ..., x^(n) of m points (a ``tracks`` array of shape
  (n + 1, m, d)) from Gai & Zhang (2021), "A mathematical principle of deep learning: learn
  the geodesic curve in the Wasserstein space": :func:`line_shape_score`, :func:`ot_score`,
  :func:`track_distance` and its lower bound :func:`track_distance_bound`.  On a displacement
  interpolation LSS = 1 and OTS = 1 exactly, and the track distance is at least the bound.

numpy/scipy only; POT (``pip install pot``) is needed only for weighted or unequal sizes
(and speeds up large assignments).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from .._validation import as_float

__all__ = [
    "ot_assignment",
    "wasserstein2",
    "gaussian_w2",
    "displacement_interpolation",
    "line_shape_score",
    "ot_score",
    "track_distance",
    "track_distance_bound",
]

#: relative tolerance for symmetry and positive semi-definiteness of a covariance
_PSD_RTOL = 1e-10


# --------------------------------------------------------------------------- helpers


def _cloud(name: str, v: Any) -> np.ndarray:
    """A point cloud as an (n, d) float array; a 1-D array is n points on the line."""
    a = as_float(name, v)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d) (or (n,) for d = 1), got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one point of dimension >= 1, got {a.shape}")
    return a


def _pair(x: Any, y: Any, *, yname: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Two clouds of the same dimension (sizes may differ)."""
    xa = _cloud("x", x)
    ya = _cloud(yname, y)
    if xa.shape[1] != ya.shape[1]:
        raise ValueError(
            f"x and {yname} must have the same dimension d, got x{xa.shape} and {yname}{ya.shape}"
        )
    return xa, ya


def _same_size(xa: np.ndarray, ya: np.ndarray, yname: str = "y") -> None:
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(
            f"x and {yname} must have the same number of points for the assignment, got "
            f"{xa.shape[0]} and {ya.shape[0]}; for unequal sizes or weights use "
            "wasserstein2(x, y, a, b), which calls POT (pip install pot)"
        )


#: smallest n for which the assignment goes to POT's network simplex (``ot.emd``) when POT
#: is installed; below it ``linear_sum_assignment`` is as fast or faster (2-D Gaussian clouds
#: on 2 cores: n = 200 6 ms against 5 ms, n = 800 0.22 s against 0.09 s, n = 2000 3.7 s
#: against 0.8 s; importing POT costs about 1 s once per process)
_EMD_MIN_N = 500


def _assign(xa: np.ndarray, ya: np.ndarray) -> tuple[np.ndarray, float]:
    """Optimal assignment perm and its cost (1/n) sum_i |x_i - y_perm(i)|^2 (see
    :func:`ot_assignment`): sorting for d = 1; for n >= ``_EMD_MIN_N`` POT's exact network
    simplex when POT is installed, accepted only if it reports optimality and its plan is a
    0/1 permutation matrix; otherwise ``scipy.optimize.linear_sum_assignment``."""
    n = xa.shape[0]
    perm = np.empty(n, dtype=np.intp)
    if xa.shape[1] == 1:
        # on the line the monotone (sorted) matching is optimal for a convex cost
        perm[np.argsort(xa[:, 0], kind="stable")] = np.argsort(ya[:, 0], kind="stable")
    else:
        cost = cdist(xa, ya, "sqeuclidean")
        found = False
        if n >= _EMD_MIN_N:
            try:
                import ot
            except ImportError:
                ot = None
            if ot is not None:
                # unit masses: the simplex moves whole units, so an optimal vertex plan is
                # exactly 0/1 (a permutation matrix, Birkhoff-von Neumann)
                ones = np.ones(n)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    plan, log = ot.emd(ones, ones, cost, numItermax=max(100_000, 50 * n * n),
                                       log=True)
                plan = np.asarray(plan)
                if log.get("result_code") == 1 and plan.shape == (n, n):
                    rows, cols = np.nonzero(plan)
                    found = (rows.size == n and bool(np.all(plan[rows, cols] == 1.0))
                             and np.array_equal(rows, np.arange(n))
                             and np.array_equal(np.sort(cols), np.arange(n)))
                    if found:
                        perm[:] = cols
        if not found:
            rows, cols = linear_sum_assignment(cost)
            perm[rows] = cols
    # recompute the cost from the coordinates (not from the matrix) for exactness
    diff = xa - ya[perm]
    return perm, float(np.mean(np.sum(diff * diff, axis=1)))


def _tracks(v: Any) -> np.ndarray:
    a = as_float("tracks", v)
    if a.ndim != 3:
        raise ValueError(f"tracks must have shape (n_layers + 1, m, d), got {a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 1 or a.shape[2] < 1:
        raise ValueError(
            "tracks must have at least 2 layers (n_layers >= 1), 1 point and dimension 1, "
            f"got {a.shape}"
        )
    return a


def _pairs(pairs: Any, m: int) -> np.ndarray:
    try:
        p = np.asarray(pairs)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise TypeError(f"pairs must be integer index pairs, got {pairs!r}") from exc
    if p.ndim == 1 and p.shape[0] == 2:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"pairs must have shape (k, 2), got {p.shape}")
    if p.size and not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"pairs must be integers, got dtype {p.dtype}")
    p = p.astype(np.intp)
    if p.size and (p.min() < 0 or p.max() >= m):
        raise ValueError(f"pairs must index points in [0, {m - 1}], got {p.min()}..{p.max()}")
    return p


def _sym_psd(name: str, v: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric PSD d x d matrix -> (eigenvalues clipped at 0, eigenvectors)."""
    s = as_float(name, v)
    if s.ndim == 0:
        s = s.reshape(1, 1)
    if s.shape != (d, d):
        raise ValueError(f"{name} must have shape ({d}, {d}) to match the mean, got {s.shape}")
    scale = max(float(np.max(np.abs(s))), np.finfo(float).tiny)
    if np.max(np.abs(s - s.T)) > _PSD_RTOL * scale:
        raise ValueError(f"{name} must be symmetric, max |S - S^T| = {np.max(np.abs(s - s.T))}")
    w, u = np.linalg.eigh(0.5 * (s + s.T))
    if w[0] < -_PSD_RTOL * scale * d:
        raise ValueError(f"{name} must be positive semi-definite, got smallest eigenvalue {w[0]}")
    return np.clip(w, 0.0, None), u


# --------------------------------------------------------------------------- exact OT


def ot_assignment(x: Any, y: Any) -> tuple[np.ndarray, float]:
    """Exact optimal transport between two uniform clouds of equal size (an assignment).

    For mu = (1/n) sum_i delta_{x_i} and nu = (1/n) sum_j delta_{y_j} and cost
    |x - y|^2, the Kantorovich problem (Kantorovich 1942) is a linear programme over the
    doubly stochastic matrices (times 1/n), whose extreme points are the permutation
    matrices (Birkhoff 1946; von Neumann 1953), so an optimal plan is a permutation::

        perm = argmin_sigma (1/n) sum_i |x_i - y_sigma(i)|^2,     cost = W2(mu, nu)^2,

    found exactly.  For n >= 500 with POT installed (an optional dependency, imported only
    then): POT's network simplex ``ot.emd`` (Bonneel et al. 2011; Flamary et al. 2021) on unit
    masses, whose optimal vertex plan is a 0/1 permutation matrix; it is used only when POT
    reports optimality and the plan is such a matrix (checked), else, and for smaller n or
    without POT: ``scipy.optimize.linear_sum_assignment`` (Crouse 2016, a shortest augmenting
    path Hungarian method, O(n^3)).  On 2-D Gaussian clouds with n = 2000 on 2 cores the
    network simplex took about 0.8 s against 3.7-7 s (``benchmarks/bench_dynamics.py --part
    ot``); both are exact (to rounding of the cost matrix).  For d = 1 the monotone
    rearrangement (sort both clouds and match in order) is optimal for any convex cost
    (Rachev & Rueschendorf 1998, "Mass Transportation Problems"; Villani 2003, Thm 2.18) and
    is used instead, O(n log n).  When several permutations are optimal (ties) one of them is
    returned (which one may depend on the solver, hence on whether POT is installed).

    Parameters
    ----------
    x, y : array_like
        Point clouds of shape (n, d) (or (n,) for points on the line), finite, same n and d.

    Returns
    -------
    perm : numpy.ndarray
        Integer array of length n: x[i] is sent to y[perm[i]].
    cost : float
        The optimal mean squared displacement (1/n) sum_i |x_i - y_perm(i)|^2 = W2^2
        (squared, unlike :func:`wasserstein2`).

    Raises
    ------
    ValueError, TypeError
        Non-finite or badly shaped ``x`` / ``y``, different dimensions, or different numbers
        of points (use :func:`wasserstein2` with weights, which calls POT).
    """
    xa, ya = _pair(x, y)
    _same_size(xa, ya)
    return _assign(xa, ya)


def _weights(name: str, v: Any, n: int) -> np.ndarray:
    if v is None:
        return np.full(n, 1.0 / n)
    w = as_float(name, v, lo=0.0)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one weight per point), got {w.shape}")
    total = float(w.sum())
    if total <= 0.0:
        raise ValueError(f"{name} must have a positive sum, got {total}")
    return w / total


def wasserstein2(x: Any, y: Any, a: Any = None, b: Any = None) -> float:
    """W2 distance between two empirical measures (not squared).

    For mu = sum_i a_i delta_{x_i} and nu = sum_j b_j delta_{y_j} (Kantorovich 1942;
    Villani 2003, "Topics in Optimal Transportation")::

        W2(mu, nu) = ( min_{P >= 0, P 1 = a, P^T 1 = b} sum_ij P_ij |x_i - y_j|^2 )^{1/2}.

    Uniform weights and equal sizes: the exact assignment of :func:`ot_assignment` (POT's
    ``ot.emd`` for n >= 500 when POT is installed, else ``linear_sum_assignment``).
    Otherwise the exact network-simplex solver ``ot.emd2`` of POT (Flamary et al. 2021,
    "POT: Python Optimal Transport", JMLR 22), imported only then.  Weights are normalised to
    sum 1 each.

    Parameters
    ----------
    x, y : array_like
        Point clouds (n, d) and (k, d) (or 1-D for points on the line), finite.
    a, b : array_like, optional
        Non-negative weights of length n and k with positive sums; None = uniform.

    Returns
    -------
    float
        W2(mu, nu) >= 0 (the square root of the optimal cost).

    Raises
    ------
    ValueError, TypeError
        Non-finite or badly shaped input, negative weights, weights of the wrong length.
    ImportError
        Weights or unequal sizes given and POT is not installed (``pip install pot``).
    """
    xa, ya = _pair(x, y)
    n, k = xa.shape[0], ya.shape[0]
    if a is None and b is None and n == k:
        return float(np.sqrt(_assign(xa, ya)[1]))
    wa = _weights("a", a, n)
    wb = _weights("b", b, k)
    try:
        import ot
    except ImportError as exc:
        raise ImportError(
            "wasserstein2 with weights or unequal sizes needs POT: pip install pot"
        ) from exc
    cost = cdist(xa, ya, "sqeuclidean")
    val = float(ot.emd2(wa, wb, cost, numItermax=max(100_000, 50 * n * k)))
    return float(np.sqrt(max(val, 0.0)))


def gaussian_w2(m1: Any, S1: Any, m2: Any, S2: Any) -> float:
    """Closed-form W2 between two Gaussians (the Bures-Wasserstein distance), not squared.

    For N(m1, S1) and N(m2, S2) (Dowson & Landau 1982; Olkin & Pukelsheim 1982; Givens &
    Shortt 1984)::

        W2^2 = |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}),

    in 1-D sqrt((m1 - m2)^2 + (s1 - s2)^2) with s the standard deviations, and for
    commuting covariances |m1 - m2|^2 + |S1^{1/2} - S2^{1/2}|_F^2.  Matrix square roots come
    from symmetric eigendecompositions with eigenvalues clipped at 0 (rounding), so singular
    covariances are allowed.  Absolute accuracy of W2^2 is about 1e-15 tr(S1 + S2), i.e. of
    W2 about 3e-8 sqrt(tr) when the two Gaussians nearly coincide.

    Parameters
    ----------
    m1, m2 : array_like
        Means of shape (d,) (or scalars for d = 1).
    S1, S2 : array_like
        Covariances (not standard deviations) of shape (d, d) (or scalar variances for d = 1),
        symmetric positive semi-definite.  No broadcasting over several Gaussians.

    Returns
    -------
    float
        W2 >= 0.

    Raises
    ------
    ValueError, TypeError
        Non-finite input, shapes that do not match, a covariance that is not symmetric or has
        an eigenvalue below -1e-10 d max|S|.
    """
    ma = np.atleast_1d(as_float("m1", m1))
    mb = np.atleast_1d(as_float("m2", m2))
    if ma.ndim != 1:
        raise ValueError(f"m1 must have shape (d,), got {ma.shape}")
    if mb.shape != ma.shape:
        raise ValueError(f"m2 must have the shape of m1 {ma.shape}, got {mb.shape}")
    d = ma.shape[0]
    w1, u1 = _sym_psd("S1", S1, d)
    w2, u2 = _sym_psd("S2", S2, d)
    r1 = (u1 * np.sqrt(w1)) @ u1.T  # S1^{1/2}
    s2 = (u2 * w2) @ u2.T
    mid = r1 @ s2 @ r1
    mu = np.linalg.eigvalsh(0.5 * (mid + mid.T))
    cross = float(np.sum(np.sqrt(np.clip(mu, 0.0, None))))
    dm = ma - mb
    w2sq = float(dm @ dm) + float(w1.sum() + w2.sum()) - 2.0 * cross
    return float(np.sqrt(max(w2sq, 0.0)))


def displacement_interpolation(x: Any, y: Any, t: Any) -> np.ndarray:
    """McCann's displacement interpolation between two uniform clouds of equal size.

    With perm the optimal assignment of :func:`ot_assignment` (McCann 1997, "A convexity
    principle for interacting gases", Adv. Math. 128)::

        x_i(t) = (1 - t) x_i + t y_perm(i),        mu_t = (1/n) sum_i delta_{x_i(t)},

    the constant-speed W2 geodesic: W2(mu_s, mu_t) = |t - s| W2(mu_0, mu_1), in particular
    W2(mu_0, mu_t) = t W2(mu_0, mu_1), and the map x_i -> x_i(t) is optimal for every t.
    With ``t = np.linspace(0, 1, n_layers + 1)`` the result is a ``tracks`` array for
    :func:`line_shape_score`, :func:`ot_score` and :func:`track_distance`.

    Parameters
    ----------
    x, y : array_like
        Clouds (n, d) (or (n,)) with the same n and d, finite.
    t : array_like
        Times in [0, 1], a scalar or any shape.

    Returns
    -------
    numpy.ndarray
        Shape ``np.shape(t) + (n, d)``; for 1-D t of length L, (L, n, d), row l the cloud at
        t[l] with point i in row i (the image of x[i]).

    Raises
    ------
    ValueError, TypeError
        Non-finite or badly shaped x / y, different sizes, t outside [0, 1].
    """
    xa, ya = _pair(x, y)
    _same_size(xa, ya)
    ta = as_float("t", t, lo=0.0, hi=1.0)
    perm, _ = _assign(xa, ya)
    yp = ya[perm]
    tt = ta[..., None, None]
    return (1.0 - tt) * xa + tt * yp


# --------------------------------------------------------------------------- scores


def line_shape_score(tracks: Any, *, mean: bool = False, atol: float = 0.0) -> np.ndarray | float:
    """Line-shape score of each recorded track (Gai & Zhang 2021).

    For one track x^(0), ..., x^(n) (layer outputs of one input), unit steps are summed
    (Gai & Zhang 2021, "A mathematical principle of deep learning: learn the geodesic curve
    in the Wasserstein space")::

        x~^(0) = x^(0),   x~^(l) = x~^(l-1) + (x^(l) - x^(l-1)) / |x^(l) - x^(l-1)|,
        LSS = n / |x~^(n) - x~^(0)|,

    so LSS >= 1 (triangle inequality), with equality iff all steps point the same way (a
    straight, monotone track); only the step directions matter, not their lengths.

    Conventions beyond the paper: a step with |x^(l) - x^(l-1)| <= ``atol`` (zero length,
    no direction) is skipped and n counts only the remaining steps, so a straight track that
    pauses still scores 1; a track with no remaining step (a point that never moves) scores
    1; if the unit steps cancel exactly (e.g. one step forward and one back) the score is
    +inf.

    Parameters
    ----------
    tracks : array_like
        Shape (n_layers + 1, m, d): ``tracks[l, i]`` is x_i^(l), n_layers >= 1, finite.
    mean : bool, optional
        Return the mean over the m tracks instead of the per-track scores (+inf if any is).
    atol : float, optional
        Step lengths at or below this (>= 0) count as zero.  Default 0 (exact zeros only).

    Returns
    -------
    numpy.ndarray or float
        Per-track scores, shape (m,), each in [1, inf]; or their mean.

    Raises
    ------
    ValueError, TypeError
        ``tracks`` not finite or not 3-D with >= 2 layers, ``atol`` negative.
    """
    a = _tracks(tracks)
    tol = float(as_float("atol", atol, lo=0.0))
    steps = np.diff(a, axis=0)  # (n, m, d)
    lengths = np.linalg.norm(steps, axis=2)  # (n, m)
    keep = lengths > tol
    safe = np.where(keep, lengths, 1.0)
    unit = np.where(keep[..., None], steps / safe[..., None], 0.0)
    n_eff = keep.sum(axis=0).astype(float)
    span = np.linalg.norm(unit.sum(axis=0), axis=1)
    lss = np.full(n_eff.shape, np.inf)
    moving = span > 0
    lss[moving] = n_eff[moving] / span[moving]
    lss[n_eff == 0] = 1.0
    # rounding: a straight track may give n / |sum| = 1 - 1 ulp
    lss = np.maximum(lss, 1.0)
    return float(np.mean(lss)) if mean else lss


def ot_score(x: Any, fx: Any) -> float:
    """Optimal-transport score of a map on a point cloud (Gai & Zhang 2021).

    With T the optimal assignment (:func:`ot_assignment`, squared Euclidean cost) between
    {x_i} and {f(x_j)} (Gai & Zhang 2021, "A mathematical principle of deep learning: learn
    the geodesic curve in the Wasserstein space")::

        OTS = #{i : T(x_i) = f(x_i)} / m,

    1 iff the map x_i -> f(x_i) is itself an optimal assignment (the one the solver picks).
    T(x_i) = f(x_i) is tested on the images (exact equality of points), so coincident images
    f(x_i) = f(x_j) do not lower the score.  When the optimum is not unique (e.g. two
    orthogonal displacements) the score depends on which optimum the solver returns.

    Parameters
    ----------
    x, fx : array_like
        Clouds (m, d) (or (m,)): inputs and their images, row i of ``fx`` = f(x_i).

    Returns
    -------
    float
        OTS in [0, 1].

    Raises
    ------
    ValueError, TypeError
        Non-finite input, different shapes of ``x`` and ``fx``.
    """
    xa, fa = _pair(x, fx, yname="fx")
    if fa.shape != xa.shape:
        raise ValueError(
            f"fx must have the shape of x {xa.shape} (one image per point), got {fa.shape}"
        )
    perm, _ = _assign(xa, fa)
    hit = np.all(fa[perm] == fa, axis=1)
    return float(np.mean(hit))


def track_distance(tracks: Any, pairs: Any = None) -> np.ndarray:
    """Distance of tracks: the closest approach of two inputs over the layers.

    For tracks x_i^(0..n) and x_j^(0..n) (Gai & Zhang 2021, "A mathematical principle of
    deep learning: learn the geodesic curve in the Wasserstein space")::

        d(track(x_i), track(x_j)) = min_{l = 0..n} |x_i^(l) - x_j^(l)|.

    Compare with :func:`track_distance_bound`.

    Parameters
    ----------
    tracks : array_like
        Shape (n_layers + 1, m, d), finite.
    pairs : array_like of int, optional
        Shape (k, 2) (or one pair (2,)): return only these pairs.  None: the full (m, m)
        symmetric matrix with zero diagonal.

    Returns
    -------
    numpy.ndarray
        (m, m) matrix, or (k,) distances for ``pairs``.

    Raises
    ------
    ValueError, TypeError
        Bad ``tracks``; ``pairs`` not integer, not (k, 2), or out of range.
    """
    a = _tracks(tracks)
    m = a.shape[1]
    if pairs is None:
        out = np.full((m, m), np.inf)
        for layer in a:
            np.minimum(out, cdist(layer, layer), out=out)
        np.fill_diagonal(out, 0.0)
        return out
    p = _pairs(pairs, m)
    diff = a[:, p[:, 0], :] - a[:, p[:, 1], :]  # (L, k, d)
    return np.linalg.norm(diff, axis=2).min(axis=0)


def track_distance_bound(x: Any, fx: Any, pairs: Any = None) -> np.ndarray:
    """Lower bound on the distance of tracks of a geodesic (Gai & Zhang 2021).

    For inputs x_i, x_j with images f(x_i), f(x_j), a = x_i - x_j, b = f(x_i) - f(x_j)
    (Gai & Zhang 2021, "A mathematical principle of deep learning: learn the geodesic curve
    in the Wasserstein space", theorem on the distance of tracks)::

        bound_ij = |a| |b| / sqrt(|a|^2 + |b|^2)      (0 if a = b = 0).

    If f is an OT map for the squared cost, cyclical monotonicity of its graph (Knott &
    Smith 1984; Rueschendorf 1996) gives a . b >= 0, and if the tracks are the displacement
    interpolation x(t) = (1 - t) x + t f(x) at any layer times t_l in [0, 1]
    (:func:`displacement_interpolation`), then for every t
    |(1 - t) a + t b|^2 >= (1 - t)^2 |a|^2 + t^2 |b|^2 >= |a|^2 |b|^2 / (|a|^2 + |b|^2),
    so :func:`track_distance` >= bound.  Equality needs a . b = 0 and a layer at
    t = |a|^2 / (|a|^2 + |b|^2).  Not a bound for maps or tracks that are not of this form.

    Parameters
    ----------
    x, fx : array_like
        Clouds (m, d) (or (m,)), row i of ``fx`` = f(x_i), finite.
    pairs : array_like of int, optional
        Shape (k, 2) or (2,); None: the full (m, m) matrix (zero diagonal).

    Returns
    -------
    numpy.ndarray
        (m, m) matrix or (k,) values.

    Raises
    ------
    ValueError, TypeError
        Non-finite input, different shapes of ``x`` and ``fx``, bad ``pairs``.
    """
    xa, fa = _pair(x, fx, yname="fx")
    if fa.shape != xa.shape:
        raise ValueError(f"fx must have the shape of x {xa.shape}, got {fa.shape}")
    m = xa.shape[0]
    if pairs is None:
        da = cdist(xa, xa)
        db = cdist(fa, fa)
    else:
        p = _pairs(pairs, m)
        da = np.linalg.norm(xa[p[:, 0]] - xa[p[:, 1]], axis=1)
        db = np.linalg.norm(fa[p[:, 0]] - fa[p[:, 1]], axis=1)
    den = np.hypot(da, db)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, da * db / np.where(den > 0, den, 1.0), 0.0)
    return out
