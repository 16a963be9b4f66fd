"""Spin models with given couplings: Ising lattices, the SK model, spherical p-spin models.

Ising-spin models (s_i = +-1), one quadratic form plus a uniform field,

    H(s) = -1/2 s.C.s - h sum_i s_i,    C symmetric, zero diagonal,

* :class:`IsingLattice`: nearest-neighbour ferromagnet on a periodic chain (dim = 1) or square
  lattice (dim = 2) of side L (Ising 1925; Onsager 1944), H = -J sum_<ij> s_i s_j - h sum s_i,
  one bond from every site to its +x (and +y) neighbour, so dim N bonds in all; spins are
  indexed i = x + L y.  At L = 2 a site's +x and -x neighbours coincide and the pair carries
  two bonds (C_ij = 2 J): the energy is still sum over sites and directions, as the transfer
  matrix and Kaufman's formula count it.
* :class:`SKModel`: the Sherrington-Kirkpatrick model (Sherrington & Kirkpatrick 1975),
  H = -sum_{i<j} J_ij s_i s_j - h sum s_i with J_ij ~ N(0, 1/N) (:func:`sk_model`), so that
  T_c = 1 and, above it, -beta f = ln 2 + beta^2 / 4.

Spherical models (|s|^2 = N): the pure p-spin :class:`deeptheory.spinglass.PSpinHamiltonian`
(H(s) = T(s, ..., s), E[H(s) H(s')] = N (s.s'/N)^p, Auffinger, Ben Arous & Cerny 2013) and the
mixture :class:`MixedSpherical`, H = sum_p a_p H_p with independent H_p, so that
E[H(s) H(s')] = N xi(s.s'/N), xi(t) = sum_p a_p^2 t^p.  These are the ABC units; the
Crisanti-Sommers units (Crisanti & Sommers 1992) have E[H H'] = (N/2) (s.s'/N)^p, so energies
and temperatures in ABC units are sqrt 2 times the CS ones.

Energies are totals, not per spin.  All contractions of the p-spin tensors go through the
compiled kernels of :mod:`deeptheory.kernels.tensor`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, as_rng
from .._validation import as_float, as_int
from ._checks import SPHERE_RTOL
from .sample import PSpinHamiltonian, sample_hamiltonian

__all__ = [
    "IsingLattice",
    "MixedSpherical",
    "SKModel",
    "ising_energy",
    "mixed_spherical",
    "sk_model",
    "spherical_energy",
    "spherical_gradient",
]


def _real(name: str, v: Any) -> float:
    a = as_float(name, v)
    if a.ndim != 0:
        raise ValueError(f"{name} must be one real number, got shape {a.shape}")
    return float(a)


@dataclass(frozen=True)
class IsingLattice(Result):
    """Nearest-neighbour Ising model on a periodic L (dim = 1) or L x L (dim = 2) lattice.

        H(s) = -J sum_<ij> s_i s_j - h sum_i s_i,   s_i = +-1,

    the bond sum running over every site and each of its +x (and +y) neighbours (dim N bonds;
    Ising 1925, Onsager 1944).  Spins are indexed i = x + L y (row-major, y slowest).  ``L``
    an integer >= 2, ``dim`` 1 or 2, ``J`` and ``h`` finite reals.  At L = 2 the +x and -x
    neighbours coincide and that pair carries two bonds.
    """

    L: int
    dim: int
    J: float = 1.0
    h: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "L", as_int("L", self.L, lo=2))
        object.__setattr__(self, "dim", as_int("dim", self.dim, lo=1, hi=2))
        object.__setattr__(self, "J", _real("J", self.J))
        object.__setattr__(self, "h", _real("h", self.h))

    @property
    def n_spins(self) -> int:
        """N = L**dim."""
        return self.L**self.dim

    def neighbours(self) -> np.ndarray:
        """(N, 2 dim) int64 array: the +x, -x (then +y, -y) neighbours of every site.

        At L = 2 the +x and -x entries are the same site (two bonds).
        """
        L = self.L
        i = np.arange(self.n_spins, dtype=np.int64)
        x = i % L
        cols = [i - x + (x + 1) % L, i - x + (x - 1) % L]
        if self.dim == 2:
            y = i // L
            cols += [x + L * ((y + 1) % L), x + L * ((y - 1) % L)]
        return np.stack(cols, axis=1)

    def couplings(self) -> np.ndarray:
        """Dense symmetric (N, N) coupling matrix C with H = -1/2 s.C.s - h sum s.

        C_ij = J times the number of bonds between i and j (1, or 2 for L = 2); zero diagonal.
        """
        n = self.n_spins
        c = np.zeros((n, n))
        nb = self.neighbours()
        i = np.arange(n)
        for d in range(self.dim):
            j = nb[:, 2 * d]  # +direction: each bond once
            np.add.at(c, (i, j), self.J)
            np.add.at(c, (j, i), self.J)
        return c

    def field(self) -> np.ndarray:
        """(N,) array of the uniform field h."""
        return np.full(self.n_spins, self.h)

    def energy(self, s: Any) -> np.ndarray:
        """Total energy of spin configurations s (..., N); see :func:`ising_energy`."""
        return ising_energy(self, s)


@dataclass(frozen=True, eq=False)
class SKModel(Result):
    """Sherrington-Kirkpatrick model with given couplings (Sherrington & Kirkpatrick 1975).

        H(s) = -sum_{i<j} J_ij s_i s_j - h sum_i s_i = -1/2 s.J.s - h sum_i s_i.

    ``J``: (N, N) real array, N >= 2, finite, symmetric (to 1e-12 relative to max |J|; stored
    exactly symmetrised, read-only) with zero diagonal; ``h`` a finite real.  The ensemble
    J_ij ~ N(0, 1/N) of :func:`sk_model` has T_c = 1.  Compared by identity.
    """

    J: np.ndarray
    h: float = 0.0

    def __post_init__(self) -> None:
        j = np.array(as_float("J", self.J), dtype=np.float64)
        if j.ndim != 2 or j.shape[0] != j.shape[1] or j.shape[0] < 2:
            raise ValueError(f"J must be a square (N, N) matrix with N >= 2, got shape {j.shape}")
        scale = float(np.max(np.abs(j))) if j.size else 0.0
        asym = float(np.max(np.abs(j - j.T)))
        if asym > 1e-12 * scale:
            raise ValueError(f"J must be symmetric (max |J - J^T| <= 1e-12 max |J|), "
                             f"got max |J - J^T| = {asym:.3g}")
        if np.any(np.diag(j) != 0):
            raise ValueError("J must have a zero diagonal (s_i^2 = 1 makes it a constant)")
        j = 0.5 * (j + j.T)
        j.setflags(write=False)
        object.__setattr__(self, "J", j)
        object.__setattr__(self, "h", _real("h", self.h))

    @property
    def n_spins(self) -> int:
        return int(self.J.shape[0])

    def couplings(self) -> np.ndarray:
        """The (N, N) coupling matrix J (a copy)."""
        return self.J.copy()

    def field(self) -> np.ndarray:
        """(N,) array of the uniform field h."""
        return np.full(self.n_spins, self.h)

    def energy(self, s: Any) -> np.ndarray:
        """Total energy of spin configurations s (..., N); see :func:`ising_energy`."""
        return ising_energy(self, s)


def sk_model(N: int, seed: Any = 0, h: float = 0.0) -> SKModel:
    """Sample an SK model: J_ij = J_ji ~ N(0, 1/N) for i < j, J_ii = 0 (Sherrington &
    Kirkpatrick 1975).

    H = -sum_{i<j} J_ij s_i s_j - h sum s_i; T_c = 1, ground-state energy per spin -0.7632 as
    N -> inf (Parisi 1980; Crisanti & Rizzo 2002).  ``N`` an integer >= 2, ``seed`` an int >= 0,
    a :class:`numpy.random.Generator` or None; the upper triangle is the upper triangle of one
    (N, N) standard-normal draw, divided by sqrt N.
    """
    n = as_int("N", N, lo=2)
    rng = as_rng(seed)
    g = np.triu(rng.standard_normal((n, n)), k=1) / math.sqrt(n)
    return SKModel(g + g.T, _real("h", h))


def _spins(model: Any, s: Any) -> np.ndarray:
    n = model.n_spins
    a = np.asarray(s)
    if a.ndim == 0 or a.shape[-1] != n:
        raise ValueError(f"s must have shape (..., {n}), got {a.shape}")
    a = as_float("s", a)
    if not np.all(np.abs(a) == 1.0):
        raise ValueError("s must contain only +1 and -1 (Ising spins)")
    return a


def ising_energy(model: IsingLattice | SKModel, s: Any) -> np.ndarray:
    """Total energy H(s) = -1/2 s.C.s - h sum s of Ising configurations s (..., N) of +-1.

    For :class:`IsingLattice` (Ising 1925) -J sum over bonds - h sum s; for :class:`SKModel`
    -sum_{i<j} J_ij s_i s_j - h sum s (Sherrington & Kirkpatrick 1975).  Returns an array of
    shape s.shape[:-1] (0-d for one configuration); not divided by N.
    """
    if isinstance(model, IsingLattice):
        a = _spins(model, s)
        nb = model.neighbours()
        bond = np.zeros(a.shape[:-1])
        for d in range(model.dim):
            bond += np.sum(a * a[..., nb[:, 2 * d]], axis=-1)
        return np.asarray(-model.J * bond - model.h * np.sum(a, axis=-1))
    if isinstance(model, SKModel):
        a = _spins(model, s)
        return np.asarray(-0.5 * np.einsum("...i,ij,...j->...", a, model.J, a)
                          - model.h * np.sum(a, axis=-1))
    raise TypeError(f"model must be an IsingLattice or SKModel, got {type(model).__name__}")


@dataclass(frozen=True, eq=False)
class MixedSpherical(Result):
    """Mixed spherical p-spin model H = sum_p a_p H_p on |s|^2 = N (ABC units).

    ``components``: a tuple of (a_p, :class:`deeptheory.spinglass.PSpinHamiltonian`) pairs with
    the same N; each H_p is an independent pure model with E[H_p(s) H_p(s')] = N (s.s'/N)^p,
    so E[H(s) H(s')] = N xi(s.s'/N), xi(t) = sum_p a_p^2 t^p (Auffinger & Ben Arous 2013).  In
    Crisanti-Sommers units (Crisanti & Sommers 1992) energies are 1/sqrt 2 of these.
    """

    components: tuple

    def __post_init__(self) -> None:
        comps = tuple(self.components)
        if not comps:
            raise ValueError("components must be a non-empty tuple of (a_p, PSpinHamiltonian)")
        out = []
        for k, c in enumerate(comps):
            try:
                a, hp = c
            except (TypeError, ValueError):
                raise TypeError(f"components[{k}] must be a pair (a_p, PSpinHamiltonian), "
                                f"got {c!r}") from None
            if not isinstance(hp, PSpinHamiltonian):
                raise TypeError(f"components[{k}][1] must be a PSpinHamiltonian, "
                                f"got {type(hp).__name__}")
            out.append((_real(f"components[{k}][0]", a), hp))
        ns = {hp.N for _, hp in out}
        if len(ns) != 1:
            raise ValueError(f"all components must have the same N, got {sorted(ns)}")
        object.__setattr__(self, "components", tuple(out))

    @property
    def N(self) -> int:
        return int(self.components[0][1].N)

    @property
    def n_spins(self) -> int:
        return self.N

    def xi(self, t: Any) -> np.ndarray | float:
        """xi(t) = sum_p a_p^2 t^p, the covariance function: E[H(s) H(s')] = N xi(s.s'/N)."""
        tt = as_float("t", t)
        out = sum(a * a * tt**hp.p for a, hp in self.components)
        return out if np.ndim(out) else float(out)

    def energy(self, s: Any) -> np.ndarray:
        """Total energy sum_p a_p T_p(s, ..., s) of points s (..., N) on the sphere; see
        :func:`spherical_energy`."""
        return spherical_energy(self, s)


def mixed_spherical(N: int, coefficients: Any, seed: Any = 0) -> MixedSpherical:
    """Sample a mixed spherical model H = sum_p a_p H_p (Auffinger & Ben Arous 2013).

    ``coefficients``: a mapping {p: a_p} (or pairs (p, a_p)); each H_p is drawn with
    :func:`deeptheory.spinglass.sample_hamiltonian` from one generator made from ``seed``, in
    increasing p.  xi(t) = sum_p a_p^2 t^p.
    """
    items = sorted(dict(coefficients).items())
    rng = as_rng(seed)
    return MixedSpherical(tuple((a, sample_hamiltonian(N, p, rng)) for p, a in items))


def _sphere_points(n: int, s: Any) -> np.ndarray:
    a = np.asarray(s)
    if a.ndim == 0 or a.shape[-1] != n:
        raise ValueError(f"s must have shape (..., {n}), got {a.shape}")
    a = np.ascontiguousarray(as_float("s", a), dtype=np.float64)
    r2 = np.sum(a * a, axis=-1)
    bad = np.abs(r2 - n) > SPHERE_RTOL * n
    if np.any(bad):
        raise ValueError(
            f"s must lie on the sphere |s|^2 = N = {n} (relative tolerance {SPHERE_RTOL:g}), "
            f"got |s|^2 = {float(np.asarray(r2)[bad].flat[0])!r}; rescale with s sqrt(N) / |s|")
    return a


def _components(model: Any) -> tuple:
    if isinstance(model, PSpinHamiltonian):
        return ((1.0, model),)
    if isinstance(model, MixedSpherical):
        return model.components
    raise TypeError(f"model must be a PSpinHamiltonian or MixedSpherical, "
                    f"got {type(model).__name__}")


def spherical_energy(model: PSpinHamiltonian | MixedSpherical, s: Any) -> np.ndarray:
    """Total energy H(s) = sum_p a_p T_p(s, ..., s) of points s (..., N) on |s|^2 = N.

    Pure model (a PSpinHamiltonian): H = T(s, ..., s), E[H(s) H(s')] = N (s.s'/N)^p (Auffinger,
    Ben Arous & Cerny 2013, eq. 1.1); mixed: see :class:`MixedSpherical`.  Every row must lie on
    the sphere to relative tolerance 1e-8 (ValueError otherwise).  Returns shape s.shape[:-1].
    Compiled contraction: :func:`deeptheory.kernels.tensor.tensor_value`.
    """
    comps = _components(model)
    n = comps[0][1].N
    a = _sphere_points(n, s)
    from ..kernels import tensor as kt

    rows = a.reshape(-1, n)
    out = np.zeros(rows.shape[0])
    for coef, hp in comps:
        flat = hp.flat
        for r in range(rows.shape[0]):
            out[r] += coef * kt.tensor_value(flat, n, hp.p, rows[r])
    return out.reshape(a.shape[:-1])


def spherical_gradient(model: PSpinHamiltonian | MixedSpherical, s: Any) -> np.ndarray:
    """Euclidean gradient sum_p a_p p T_p(s, ..., s, .) of H at points s (..., N) on the sphere.

    Project with P = I - s s^T / N for the Riemannian gradient (Auffinger, Ben Arous & Cerny
    2013, section 3).  Compiled contraction: :func:`deeptheory.kernels.tensor.tensor_grad`.
    """
    comps = _components(model)
    n = comps[0][1].N
    a = _sphere_points(n, s)
    from ..kernels import tensor as kt

    rows = a.reshape(-1, n)
    out = np.zeros_like(rows)
    for coef, hp in comps:
        flat = hp.flat
        for r in range(rows.shape[0]):
            out[r] += coef * kt.tensor_grad(flat, n, hp.p, rows[r])
    return out.reshape(a.shape)
