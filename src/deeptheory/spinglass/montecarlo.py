"""Monte Carlo of spin models: Metropolis, parallel tempering, thermodynamic integration.

Models (:mod:`deeptheory.spinglass.models`): :class:`IsingLattice` (checkerboard sweeps of the
neighbour table), :class:`SKModel` and any object with ``couplings()`` and ``field()`` (dense
single-spin Metropolis with local fields), spherical :class:`PSpinHamiltonian` and
:class:`MixedSpherical` (Metropolis or Langevin moves on |s|^2 = N).  Energies are totals H
divided by N (per spin) in every result; temperatures in the model's own units (ABC units for
the spherical models: E[H(s) H(s')] = N xi(s.s'/N)).

* :func:`metropolis`: independent chains at each beta (Metropolis, Rosenbluth, Rosenbluth,
  Teller & Teller 1953).
* :func:`parallel_tempering`: replica exchange (Swendsen & Wang 1986; Hukushima & Nemoto 1996)
  with measured swap rates per pair and an automatic ladder (:func:`temperature_ladder`).
* :func:`log_partition_ti`: (1/N) ln Z(beta) by thermodynamic integration over beta.
* :func:`sk_ground_state_extrapolation`: SK ground-state energies for several N by parallel
  tempering, extrapolated with e(N) = e_inf + a N^{-2/3}.

Error bars.  Every mean is an :class:`deeptheory.Estimate` whose standard error comes from
blocking the time series of the measurements (Flyvbjerg & Petersen 1989; level by Jonsson's
2018 rule, see :mod:`deeptheory._stats`), after averaging it over the independent copies at
each time; nonlinear quantities (specific heat) block their influence series.  The integrated
autocorrelation time of the energy uses Sokal's (1997) automatic window.  A temperature is
``converged`` when the blocking plateau was reached and the run lasts at least
:data:`MIN_TAU_MULTIPLE` autocorrelation times.

Random numbers: counter-based streams, one per replica and one per copy's exchanges
(:mod:`deeptheory.kernels.spin_mc`), keyed by ``numpy.random.SeedSequence(seed)``: a run is
bit for bit reproducible for a seed, whatever the number of threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erfcinv

from .._api import Estimate, Result, as_seed
from .._progress import check_progress, progress_bar
from .._stats import blocking, integrated_autocorr_time
from .._validation import as_float, as_int
from ._checks import check_work
from .models import IsingLattice, MixedSpherical, SKModel, sk_model
from .sample import PSpinHamiltonian

__all__ = [
    "GroundStateFit",
    "MAX_MC_SWEEP_WORK",
    "MIN_TAU_MULTIPLE",
    "SK_GROUND_STATE",
    "SpinMCResult",
    "TIResult",
    "log_partition_ti",
    "metropolis",
    "parallel_tempering",
    "sk_ground_state_extrapolation",
    "temperature_ladder",
]

#: a temperature counts as converged when the measured series spans this many tau_int
MIN_TAU_MULTIPLE = 50.0
#: default work limit (estimated spin-update operations: replicas x sweeps x N x cost per
#: update, the cost N / 20 + 1 for dense couplings, N^(p-1) for spherical moves); 1e12 is
#: roughly an hour on 2 shared cores
MAX_MC_SWEEP_WORK = 1.0e12
_MC_RATE = 3.0e8  # spin-update operations per second, 2 shared cores
#: largest memory of the recorded series (bytes)
MAX_RECORD_BYTES = 2**30
#: full-RSB SK ground-state energy per spin (Parisi 1980; Crisanti & Rizzo 2002: -0.763166)
SK_GROUND_STATE = -0.7632
#: default beta range of the automatic ladder
BETA_RANGE = (0.25, 3.0)
#: most temperatures the automatic ladder will place
MAX_TEMPS = 128
_SPHERE_KINDS = {"metropolis": 3, "langevin": 4}
#: default Langevin step eta (bias O(eta)) and initial Metropolis step delta (tuned in burn-in)
LANGEVIN_STEP = 1e-3
SPHERE_STEP = 0.1


# --------------------------------------------------------------------------------------------
# models -> kernel arrays


@dataclass(frozen=True)
class _System:
    kind: int  # 0 dense, 1 lattice table, 2 square lattice, 3/4 sphere (set by method)
    n: int
    cmat: np.ndarray
    h: np.ndarray
    nb: np.ndarray
    order: np.ndarray
    jc: float
    hc: float
    flat: np.ndarray
    offs: np.ndarray
    ps: np.ndarray
    coefs: np.ndarray
    cost: float  # operations per spin update
    log_z0: float  # (1/N) ln Z(0): ln 2 for Ising spins, 0 for the normalised sphere measure

    @property
    def spherical(self) -> bool:
        return self.kind >= 3


_E2 = np.zeros((0, 0))
_I2 = np.zeros((0, 0), dtype=np.int32)


def _system(model: Any, method: str = "metropolis") -> _System:
    """Kernel arrays for ``model`` (see the module docstring for the accepted types)."""
    if isinstance(model, IsingLattice):
        from ..kernels.spin_mc import checkerboard_order

        nb = np.ascontiguousarray(model.neighbours(), dtype=np.int32)
        return _System(2 if model.dim == 2 else 1, model.n_spins, _E2, np.zeros(0), nb,
                       checkerboard_order(nb), float(model.J), float(model.h), np.zeros(0),
                       np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), 1.0,
                       math.log(2.0))
    if isinstance(model, (PSpinHamiltonian, MixedSpherical)):
        if method not in _SPHERE_KINDS:
            raise ValueError(f"method must be one of {sorted(_SPHERE_KINDS)} for a spherical "
                             f"model, got {method!r}")
        comps = ((1.0, model),) if isinstance(model, PSpinHamiltonian) else model.components
        n = comps[0][1].N
        flat = np.ascontiguousarray(np.concatenate([hp.flat for _, hp in comps]))
        offs = np.cumsum([0] + [hp.flat.size for _, hp in comps]).astype(np.int64)
        ps = np.array([hp.p for _, hp in comps], dtype=np.int64)
        coefs = np.array([a for a, _ in comps], dtype=np.float64)
        cost = float(sum(n ** (hp.p - 1) for _, hp in comps)) + 20.0
        return _System(_SPHERE_KINDS[method], n, _E2, np.zeros(0), _I2,
                       np.zeros(0, np.int32), 0.0, 0.0, flat, offs, ps, coefs, cost, 0.0)
    if isinstance(model, SKModel) or (hasattr(model, "couplings") and hasattr(model, "field")):
        c = np.array(model.couplings(), dtype=np.float64, order="C")  # writable copy
        n = c.shape[0]
        if c.ndim != 2 or c.shape != (n, n) or n < 2:
            raise ValueError(f"model.couplings() must be a square (N, N) matrix with N >= 2, "
                             f"got shape {c.shape}")
        if not np.all(np.isfinite(c)) or np.max(np.abs(c - c.T)) > 1e-12 * np.max(np.abs(c)):
            raise ValueError("model.couplings() must be finite and symmetric")
        if np.any(np.diag(c) != 0):
            raise ValueError("model.couplings() must have a zero diagonal")
        h = np.ascontiguousarray(as_float("model.field()", model.field()), dtype=np.float64)
        if h.shape != (n,):
            raise ValueError(f"model.field() must have shape ({n},), got {h.shape}")
        return _System(0, n, c, h, _I2, np.zeros(0, np.int32), 0.0, 0.0, np.zeros(0),
                       np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0),
                       1.0 + n / 20.0, math.log(2.0))
    raise TypeError("model must be an IsingLattice, SKModel (or have couplings() and field()), "
                    f"PSpinHamiltonian or MixedSpherical, got {type(model).__name__}")


def _energies(sy: _System, spins: np.ndarray, xs: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total energies, magnetisations (sum of spins) and local fields of every replica."""
    if sy.kind == 0:
        s = spins.astype(np.float64)
        lf = s @ sy.cmat + sy.h
        e = -0.5 * np.sum(s * (lf - sy.h), axis=1) - s @ sy.h
        return e, s.sum(axis=1), np.ascontiguousarray(lf)
    if sy.kind in (1, 2):
        s = spins.astype(np.float64)
        m = s[:, sy.nb].sum(axis=2)
        e = -0.5 * sy.jc * np.sum(s * m, axis=1) - sy.hc * s.sum(axis=1)
        return e, s.sum(axis=1), _E2
    from ..kernels.spin_mc import sphere_energy

    e = np.array([sphere_energy(sy.flat, sy.offs, sy.ps, sy.coefs, sy.n, x) for x in xs])
    return e, xs.sum(axis=1), _E2


# --------------------------------------------------------------------------------------------
# argument checks


def _betas(name: str, b: Any, *, allow_scalar: bool = True) -> np.ndarray:
    try:
        a = np.asarray(b, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be real numbers, got {b!r}") from exc
    if a.ndim == 0 and allow_scalar:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of inverse temperatures, got shape "
                         f"{a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must be non-empty (an empty temperature ladder)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {a}")
    if np.any(a < 0):
        raise ValueError(f"{name} must be >= 0 (inverse temperatures), got min {a.min()}")
    return np.ascontiguousarray(a)


def _init(sy: _System, init: Any, n_copies: int, k: int, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray]:
    """Starting configurations (C K, N): uniform random (hot start) unless ``init`` given."""
    r = n_copies * k
    if init is None:
        if sy.spherical:
            x = rng.standard_normal((r, sy.n))
            x *= (math.sqrt(sy.n) / np.linalg.norm(x, axis=1))[:, None]
            return np.zeros((r, 0), np.int8), np.ascontiguousarray(x)
        s = (2 * rng.integers(0, 2, (r, sy.n)) - 1).astype(np.int8)
        return s, np.zeros((r, 0))
    a = as_float("init", init)
    if a.shape != (n_copies, k, sy.n):
        raise ValueError(f"init must have shape ({n_copies}, {k}, {sy.n}) (copies, "
                         f"temperatures, spins), got {a.shape}")
    a = a.reshape(r, sy.n)
    if sy.spherical:
        nrm = np.linalg.norm(a, axis=1)
        if np.any(nrm == 0):
            raise ValueError("init rows must be non-zero")
        return np.zeros((r, 0), np.int8), np.ascontiguousarray(a * (math.sqrt(sy.n) / nrm)[:, None])
    if not np.all(np.abs(a) == 1):
        raise ValueError("init must contain only +1 and -1 for Ising spins")
    return np.ascontiguousarray(a.astype(np.int8)), np.zeros((r, 0))


# --------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class SpinMCResult(Result):
    """Result of :func:`metropolis` or :func:`parallel_tempering` (Metropolis et al. 1953;
    Hukushima & Nemoto 1996).

    Per temperature (ascending ``betas``, K of them), estimates over the measurements after
    burn-in, pooled over the ``n_copies`` independent copies:

    * ``energy``: <H>/N; ``specific_heat``: beta^2 (<H^2> - <H>^2) / N;
    * ``magnetisation``: <|m|>, ``m2``: <m^2>, m = sum_i s_i / N (None for spherical models);
    * ``q2``: <q^2> of the overlap q = s^a.s^b / N of copies (2p, 2p + 1) (None for one copy);
    * ``tau_int``, ``tau_int_err``: integrated autocorrelation time of the energy in sweeps
      (Sokal 1997; the recorded series' tau times ``measure_every``); ``converged``: blocking
      plateau reached and the run >= MIN_TAU_MULTIPLE tau_int;
    * ``acceptance``: single-spin (sphere: move) acceptance rate; ``swap_rates`` (K - 1,):
      accepted / attempted exchanges of the pairs (k, k + 1) (None without exchanges).

    Series: ``energies`` and ``magnetisations`` (C, K, T) per spin, ``overlaps`` (P, K, T),
    ``configs`` (C, K, T, N) when recorded; ``states`` (C, K, N) the final configurations;
    ``min_energy`` (C,) lowest H/N met by each copy and ``best_states`` (C, N) (with
    ``track_minimum``).  ``steps``: sphere step per temperature (Metropolis: tuned in burn-in).
    """

    betas: np.ndarray
    n_spins: int
    energy: Estimate
    specific_heat: Estimate
    magnetisation: Estimate | None
    m2: Estimate | None
    q2: Estimate | None
    tau_int: np.ndarray
    tau_int_err: np.ndarray
    converged: np.ndarray
    acceptance: np.ndarray
    swap_rates: np.ndarray | None
    energies: np.ndarray = field(repr=False)
    magnetisations: np.ndarray | None = field(repr=False)
    overlaps: np.ndarray | None = field(repr=False)
    configs: np.ndarray | None = field(repr=False)
    states: np.ndarray = field(repr=False)
    min_energy: np.ndarray | None
    best_states: np.ndarray | None = field(repr=False)
    steps: np.ndarray | None
    n_sweeps: int
    burn_in: int
    measure_every: int
    seed: int

    def overlap_distribution(self, k: int | None = None, bins: Any = None
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Histogram estimate of P(q) at temperature index ``k`` (default the lowest
        temperature), pooled over copy pairs and measurements (Parisi 1983).  ``bins``: edges
        (default N + 1 bins centred on the values q = -1, -1 + 2/N, ..., 1 of Ising spins,
        51 bins on [-1, 1] for spherical models).  Returns (edges, density), density
        integrating to 1."""
        if self.overlaps is None:
            raise ValueError("no overlaps recorded: run with n_copies >= 2")
        kk = len(self.betas) - 1 if k is None else as_int("k", k, lo=0, hi=len(self.betas) - 1)
        q = self.overlaps[:, kk, :].ravel()
        if bins is None:
            if self.magnetisations is not None:
                n = self.n_spins
                bins = (np.arange(n + 2) * 2.0 - 1.0) / n - 1.0
            else:
                bins = np.linspace(-1.0, 1.0, 52)
        dens, edges = np.histogram(q, bins=bins, density=True)
        return edges, dens


def _work(sy: _System, n_rep: int, sweeps: int) -> float:
    return float(n_rep) * sweeps * sy.n * sy.cost


def _keys(seed: int, n: int) -> np.ndarray:
    return np.random.SeedSequence(seed).generate_state(n, dtype=np.uint64)


def _run(sy: _System, betas: np.ndarray, n_copies: int, n_sweeps: int, burn_in: int,
         block_len: int, swaps: bool, seed: int, *, init: Any = None, steps: Any = None,
         track: bool = False, record_configs: bool = False, max_work: float = MAX_MC_SWEEP_WORK,
         progress: bool = False, desc: str = "") -> dict[str, Any]:
    """Run the compiled driver; return the raw arrays.

    With ``progress`` the burn-in runs in one call and the measured blocks in about 100
    calls (a bar of sweeps done): the random streams are numbered by the global block
    index and the burn-in step adaptation ends with the burn-in, so the result is bitwise
    that of one call."""
    from ..kernels import spin_mc
    from ..kernels._threads import pick

    k = betas.size
    r = n_copies * k
    n_rec = n_sweeps // block_len
    n_skip = -(-burn_in // block_len)
    if n_rec < 4:
        raise ValueError(f"n_sweeps // {'swap_every' if swaps else 'measure_every'} must be "
                         f">= 4 measurements, got {n_sweeps} // {block_len} = {n_rec}")
    check_work("spin Monte Carlo", _work(sy, r, (n_rec + n_skip) * block_len), max_work,
               "spin-update operations (replicas x sweeps x N x cost)", _MC_RATE)
    n_pairs = n_copies // 2
    rec_bytes = 8 * n_rec * k * (2 * n_copies + n_pairs)
    if record_configs:
        rec_bytes += n_rec * r * sy.n * (8 if sy.spherical else 1)
    if rec_bytes > MAX_RECORD_BYTES:
        raise ValueError(f"the recorded series would take {rec_bytes / 2**20:.0f} MiB (limit "
                         f"{MAX_RECORD_BYTES / 2**20:.0f} MiB): raise measure_every, lower "
                         "n_sweeps or leave record_configs off")
    ss = np.random.SeedSequence(seed)
    keys = ss.generate_state(r + n_copies + 2, dtype=np.uint64)
    rng = np.random.default_rng(ss.spawn(1)[0])
    spins, xs = _init(sy, init, n_copies, k, rng)
    energy, mag, lf = _energies(sy, spins, xs)
    if sy.kind != 0:
        lf = np.zeros((r, 0))
    temp_of = np.tile(np.arange(k, dtype=np.int64), n_copies)
    copy_of = np.repeat(np.arange(n_copies, dtype=np.int64), k)
    rep_at = np.arange(r, dtype=np.int64).reshape(n_copies, k)
    if steps is None:
        st = np.full(k, LANGEVIN_STEP if sy.kind == 4 else SPHERE_STEP)
    else:
        st = np.array(np.broadcast_to(as_float("step", steps), (k,)), dtype=np.float64)
        if np.any(st <= 0):
            raise ValueError(f"step must be > 0, got {steps!r}")
    z = sy.nb.shape[1] if sy.kind in (1, 2) else 0
    table = np.zeros((r, 2 * (z + 1)))
    work = np.zeros((r, 2, sy.n if sy.spherical else 0))
    acc_blk = np.zeros((n_copies, k), dtype=np.int64)
    acc = np.zeros((n_copies, k), dtype=np.int64)
    sw_acc = np.zeros(max(k - 1, 0), dtype=np.int64)
    sw_try = np.zeros(max(k - 1, 0), dtype=np.int64)
    min_e = energy.copy() if track else np.zeros(r)
    best = (xs.copy() if sy.spherical else spins.copy()) if track else (
        np.zeros((r, 0)) if sy.spherical else np.zeros((r, 0), np.int8))
    rec_e = np.zeros((n_copies, k, n_rec))
    rec_m = np.zeros((n_copies, k, n_rec))
    rec_q = np.zeros((n_pairs, k, n_rec))
    if record_configs:
        rec_s = np.zeros((n_copies, k, n_rec, sy.n), np.float64 if sy.spherical else np.int8)
    else:
        rec_s = np.zeros((0, 0, 0, 0), np.float64 if sy.spherical else np.int8)
    run = pick(spin_mc.run_serial, spin_mc.run_parallel,
               _work(sy, r, block_len) * 3.0)  # ~3 ns per operation
    rep_keys, swap_keys = keys[:r].copy(), keys[r:r + n_copies].copy()

    def blocks(n_blocks: int, block0: int, skip: int, re: np.ndarray, rm: np.ndarray,
               rq: np.ndarray, rs: np.ndarray) -> None:
        run(sy.kind, n_blocks, block_len, block0, skip, swaps and k > 1, sy.cmat, sy.nb,
            sy.order, sy.jc, sy.hc, sy.flat, sy.offs, sy.ps, sy.coefs, spins, lf, xs, energy,
            mag, temp_of, copy_of, rep_at, betas, st, rep_keys, swap_keys, table, work,
            acc_blk, acc, sw_acc, sw_try, track, min_e, best, re, rm, rq, rs)

    if not progress:
        blocks(n_rec + n_skip, 0, n_skip, rec_e, rec_m, rec_q, rec_s)
    else:
        with progress_bar((n_rec + n_skip) * block_len, desc, True, unit="sweep") as bar:
            if n_skip:  # burn-in: measures nothing
                blocks(n_skip, 0, n_skip, rec_e, rec_m, rec_q, rec_s)
                bar.update(n_skip * block_len)
            step = max(1, -(-n_rec // 100))
            for s0 in range(0, n_rec, step):
                m = min(step, n_rec - s0)
                te, tm = np.zeros((n_copies, k, m)), np.zeros((n_copies, k, m))
                tq = np.zeros((n_pairs, k, m))
                ts = (np.zeros((n_copies, k, m, sy.n), rec_s.dtype) if record_configs
                      else rec_s)
                blocks(m, n_skip + s0, 0, te, tm, tq, ts)
                rec_e[:, :, s0:s0 + m], rec_m[:, :, s0:s0 + m] = te, tm
                rec_q[:, :, s0:s0 + m] = tq
                if record_configs:
                    rec_s[:, :, s0:s0 + m] = ts
                bar.update(m * block_len)
    # the incremental energies must match a fresh evaluation
    e_chk, _, _ = _energies(sy, spins, xs)
    drift = float(np.max(np.abs(e_chk - energy))) if r else 0.0
    scale = max(1.0, float(np.max(np.abs(e_chk))))
    if drift > 1e-8 * scale:  # pragma: no cover - a kernel bug
        raise RuntimeError(f"energy bookkeeping drifted by {drift:.3g}")
    order = rep_at.ravel()
    states = (xs if sy.spherical else spins)[order].reshape(n_copies, k, sy.n)
    return dict(rec_e=rec_e, rec_m=rec_m, rec_q=rec_q if n_pairs else None,
                rec_s=rec_s if record_configs else None, states=states,
                acc=acc, sw_acc=sw_acc, sw_try=sw_try, min_e=min_e, best=best,
                copy_of=copy_of, steps=st, n_rec=n_rec)


def _series_estimate(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, blocking standard errors and plateau flags of the rows of y (K, T)."""
    val = y.mean(axis=1)
    se = np.empty(y.shape[0])
    ok = np.empty(y.shape[0], dtype=bool)
    for i, row in enumerate(y):
        b = blocking(row)
        se[i], ok[i] = b.stderr, b.plateau
    return val, se, ok


def _summarise(sy: _System, betas: np.ndarray, raw: dict[str, Any], n_copies: int,
               n_sweeps: int, burn_in: int, block_len: int, seed: int, swaps: bool,
               track: bool) -> SpinMCResult:
    n = sy.n
    e = raw["rec_e"] / n  # (C, K, T)
    t = e.shape[2]
    ecop = e.mean(axis=0)  # (K, T)
    ev, ese, eok = _series_estimate(ecop)
    energy = Estimate(ev, ese, t * n_copies)
    dev = e - ev[None, :, None]
    ych = (betas**2)[:, None] * n * (dev**2).mean(axis=0)
    cv, cse, _ = _series_estimate(ych)
    heat = Estimate(cv, cse, t * n_copies)
    taus = np.empty(betas.size)
    tau_err = np.empty(betas.size)
    conv = np.empty(betas.size, dtype=bool)
    for k in range(betas.size):
        tau, terr, _ = integrated_autocorr_time(ecop[k])
        taus[k], tau_err[k] = tau * block_len, terr * block_len
        conv[k] = bool(eok[k]) and t >= MIN_TAU_MULTIPLE * tau
    if sy.spherical:
        mag = m2 = None
        mser = None
    else:
        mser = raw["rec_m"] / n
        v, s, _ = _series_estimate(np.abs(mser).mean(axis=0))
        mag = Estimate(v, s, t * n_copies)
        v, s, _ = _series_estimate((mser**2).mean(axis=0))
        m2 = Estimate(v, s, t * n_copies)
    q = raw["rec_q"]
    if q is not None:
        v, s, _ = _series_estimate((q**2).mean(axis=0))
        q2 = Estimate(v, s, t * q.shape[0])
    else:
        q2 = None
    acc = raw["acc"].sum(axis=0) / (n_copies * t * block_len * (1 if sy.spherical else n))
    swap = None
    if swaps and betas.size > 1:
        swap = raw["sw_acc"] / np.maximum(raw["sw_try"], 1)
    min_energy = best = None
    if track:
        me = raw["min_e"].reshape(n_copies, -1)
        arg = np.argmin(me, axis=1)
        min_energy = me[np.arange(n_copies), arg] / n
        b = raw["best"].reshape(n_copies, betas.size, n)
        best = b[np.arange(n_copies), arg].copy()
    return SpinMCResult(
        betas=betas.copy(), n_spins=n, energy=energy, specific_heat=heat, magnetisation=mag,
        m2=m2, q2=q2, tau_int=taus, tau_int_err=tau_err, converged=conv, acceptance=acc,
        swap_rates=swap, energies=e, magnetisations=mser, overlaps=q, configs=raw["rec_s"],
        states=raw["states"], min_energy=min_energy, best_states=best,
        steps=raw["steps"] if sy.spherical else None, n_sweeps=n_sweeps, burn_in=burn_in,
        measure_every=block_len, seed=seed)


def _common(n_sweeps: Any, burn_in: Any, every: Any, every_name: str, seed: Any
            ) -> tuple[int, int, int, int]:
    ns = as_int("n_sweeps", n_sweeps, lo=1)
    bi = ns // 4 if burn_in is None else as_int("burn_in", burn_in, lo=0)
    ev = as_int(every_name, every, lo=1)
    return ns, bi, ev, as_seed(seed)


def metropolis(model: Any, beta: Any, n_sweeps: int = 10000, n_replicas: int = 2,
               seed: Any = 0, *, burn_in: int | None = None, measure_every: int = 1,
               method: str = "metropolis", step: Any = None, init: Any = None,
               record_configs: bool = False, track_minimum: bool = False,
               max_work: float = MAX_MC_SWEEP_WORK, progress: bool = False) -> SpinMCResult:
    """Single-spin Metropolis sampling of exp(-beta H) (Metropolis, Rosenbluth, Rosenbluth,
    Teller & Teller 1953), ``n_replicas`` independent chains at each beta.

    ``model``: :class:`IsingLattice` (checkerboard order), :class:`SKModel` or an object with
    ``couplings()`` and ``field()`` (H = -1/2 s.C.s - h.s), or a spherical
    :class:`PSpinHamiltonian` / :class:`MixedSpherical` (``method`` "metropolis": proposal
    x + step xi projected back onto |x|^2 = N, the step tuned to acceptance 0.35 during
    burn-in, then fixed; "langevin": projected Euler-Maruyama of dx = -beta grad_R H dt +
    sqrt 2 dW with step eta = ``step`` (default 1e-3), O(eta) bias).  ``beta``: one inverse
    temperature or a 1-D array (each >= 0, finite).  One sweep = N single-spin updates
    (spherical: one move).  ``burn_in`` sweeps (default n_sweeps // 4) precede ``n_sweeps``
    measured ones; measurements (and overlaps of replicas (2p, 2p + 1)) every
    ``measure_every`` sweeps.  ``init``: starting configurations (n_replicas, K, N) (default
    uniform random; when continuing from ``res.states`` use another seed).
    Returns :class:`SpinMCResult`; ``seed``: int >= 0, Generator or None.  The estimated work
    is checked against ``max_work`` (ValueError above it).  ``progress``: a bar of the sweeps
    done (tqdm, stderr); the result is the same bit for bit.
    """
    prog = check_progress(progress)
    b = _betas("beta", beta)
    nr = as_int("n_replicas", n_replicas, lo=1)
    ns, bi, ev, sd = _common(n_sweeps, burn_in, measure_every, "measure_every", seed)
    sy = _system(model, method)
    raw = _run(sy, b, nr, ns, bi, ev, False, sd, init=init, steps=step, track=track_minimum,
               record_configs=record_configs, max_work=max_work, progress=prog,
               desc="metropolis")
    return _summarise(sy, b, raw, nr, ns, bi, ev, sd, False, track_minimum)


# --------------------------------------------------------------------------------------------
# parallel tempering and the ladder


def _spread_ladder(betas: np.ndarray, sigma: np.ndarray, n_new: int) -> np.ndarray:
    """Place n_new temperatures at equal increments of int sigma_E(beta) d beta between the
    ends of ``betas`` (log sigma interpolated linearly in beta)."""
    sig = np.maximum(sigma, 1e-3 * max(float(sigma.max()), 1e-300))
    grid = np.linspace(betas[0], betas[-1], 4001)
    g = np.exp(np.interp(grid, betas, np.log(sig)))
    lam = np.concatenate([[0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(grid))])
    new = np.interp(np.linspace(0.0, lam[-1], n_new), lam, grid)
    new[0], new[-1] = betas[0], betas[-1]
    return new


def _ladder_length(betas: np.ndarray, sigma: np.ndarray, target: float) -> float:
    sig = np.maximum(sigma, 1e-300)
    grid = np.linspace(betas[0], betas[-1], 4001)
    g = np.exp(np.interp(grid, betas, np.log(sig)))
    return float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(grid))) / (2.0 * erfcinv(target))


def temperature_ladder(model: Any, beta_range: Any = BETA_RANGE, n_temps: int | None = None,
                       *, target_swap: float = 0.3, tune_sweeps: int = 500, rounds: int = 2,
                       n_copies: int = 1, seed: Any = 0, method: str = "metropolis",
                       max_work: float = MAX_MC_SWEEP_WORK) -> tuple[np.ndarray, np.ndarray]:
    """An inverse-temperature ladder for :func:`parallel_tempering` with roughly uniform swap
    rates (Katzgraber, Trebst, Huse & Troyer 2006 discuss this baseline and its refinement).

    Start: a geometric ladder between ``beta_range`` = (beta_min, beta_max) (linear if
    beta_min = 0) with n_temps temperatures (default max(4, 0.5 sqrt(N) ln(beta_max/beta_min)
    + 1), at most 128).  Each of ``rounds`` short parallel-tempering runs (``tune_sweeps``
    sweeps) measures the energy spread sigma_E(beta_k); for Gaussian energy histograms the
    swap rate of a pair is erfc(d beta sigma_E / 2) (Kofke 2002), so the temperatures are moved
    to equal increments of int sigma_E d beta, and, when ``n_temps`` is None, their number is
    set so that each increment gives ``target_swap``.  Returns (betas ascending, swap rates
    measured in the last round on the previous ladder).
    """
    br = as_float("beta_range", beta_range)
    if br.shape != (2,) or not (0 <= br[0] < br[1]):
        raise ValueError(f"beta_range must be (beta_min, beta_max) with 0 <= beta_min < "
                         f"beta_max, finite, got {beta_range!r}")
    tgt = float(as_float("target_swap", target_swap))
    if not 0.0 < tgt < 1.0:
        raise ValueError(f"target_swap must be in (0, 1), got {target_swap!r}")
    sy = _system(model, method)
    ts = as_int("tune_sweeps", tune_sweeps, lo=8)
    nr = as_int("rounds", rounds, lo=1)
    nc = as_int("n_copies", n_copies, lo=1)
    sd = as_seed(seed)
    auto = n_temps is None
    if auto:
        span = math.log(br[1] / br[0]) if br[0] > 0 else 3.0
        k = int(min(MAX_TEMPS, max(4, math.ceil(0.5 * math.sqrt(sy.n) * span) + 1)))
    else:
        k = as_int("n_temps", n_temps, lo=2, hi=MAX_TEMPS)
    b = np.geomspace(br[0], br[1], k) if br[0] > 0 else np.linspace(br[0], br[1], k)
    rates = np.zeros(k - 1)
    for i in range(nr):
        raw = _run(sy, b, nc, ts, ts // 4, 1, True, sd + i, max_work=max_work)
        sigma = raw["rec_e"].std(axis=(0, 2))
        rates = raw["sw_acc"] / np.maximum(raw["sw_try"], 1)
        if auto:
            k = int(min(MAX_TEMPS, max(2, math.ceil(_ladder_length(b, sigma, tgt)) + 1)))
        b = _spread_ladder(b, sigma, k)
    return b, rates


def parallel_tempering(model: Any, betas: Any = None, n_sweeps: int = 10000, *,
                       n_copies: int = 2, beta_range: Any = BETA_RANGE,
                       n_temps: int | None = None, target_swap: float = 0.3,
                       tune_sweeps: int | None = None, swap_every: int = 1,
                       burn_in: int | None = None, seed: Any = 0, method: str = "metropolis",
                       step: Any = None, init: Any = None, record_configs: bool = False,
                       track_minimum: bool = False, max_work: float = MAX_MC_SWEEP_WORK,
                       progress: bool = False) -> SpinMCResult:
    """Parallel tempering / replica exchange (Swendsen & Wang 1986; Hukushima & Nemoto 1996).

    ``n_copies`` independent copies of a ladder of K temperatures; every ``swap_every`` sweeps
    the configurations at neighbouring temperatures (even pairs, then odd pairs, alternating)
    are exchanged with probability min(1, exp((beta_k - beta_{k+1}) (E_a - E_b))), and the
    energies, magnetisations and overlaps of copies (2p, 2p + 1) at each temperature are
    measured.  ``betas``: the ladder (1-D, each >= 0 and finite, distinct; sorted ascending in
    the result), or None for the automatic ladder of :func:`temperature_ladder` over
    ``beta_range`` (``n_temps``, ``target_swap``, ``tune_sweeps`` default max(200,
    n_sweeps // 10)).  Sweeps, burn-in, spherical ``method``/``step``, ``init``,
    ``record_configs``, ``track_minimum`` and ``progress`` (a bar of the production run) as
    in :func:`metropolis`.  Returns :class:`SpinMCResult` with the measured ``swap_rates`` of
    every pair.
    """
    prog = check_progress(progress)
    ns, bi, ev, sd = _common(n_sweeps, burn_in, swap_every, "swap_every", seed)
    nc = as_int("n_copies", n_copies, lo=1)
    if betas is None:
        ts = max(200, ns // 10) if tune_sweeps is None else as_int("tune_sweeps", tune_sweeps,
                                                                     lo=8)
        b, _ = temperature_ladder(model, beta_range, n_temps, target_swap=target_swap,
                                  tune_sweeps=ts, n_copies=1, seed=sd + 1000003, method=method,
                                  max_work=max_work)
    else:
        b = np.sort(_betas("betas", betas))
        if np.any(np.diff(b) == 0):
            raise ValueError("betas must be distinct")
    sy = _system(model, method)
    raw = _run(sy, b, nc, ns, bi, ev, True, sd, init=init, steps=step, track=track_minimum,
               record_configs=record_configs, max_work=max_work, progress=prog,
               desc="parallel_tempering")
    return _summarise(sy, b, raw, nc, ns, bi, ev, sd, True, track_minimum)


# --------------------------------------------------------------------------------------------
# thermodynamic integration


@dataclass(frozen=True)
class TIResult(Result):
    """(1/N) ln Z(beta) by thermodynamic integration, :func:`log_partition_ti` (Kirkwood 1935).

    ``betas`` (K,) the grid (betas[0] = 0); ``log_z`` (K,) (1/N) ln Z at each node (Ising
    spins: Z = sum_s exp(-beta H), ln Z(0) = N ln 2; spherical: Z = E_uniform exp(-beta H),
    ln Z(0) = 0); ``stderr`` (K,) Monte Carlo standard error (blocking of the influence
    series); ``quad_error`` (K,) quadrature error estimate; ``mc``: the
    :class:`SpinMCResult` of the parallel-tempering run on the grid.
    """

    betas: np.ndarray
    log_z: np.ndarray
    stderr: np.ndarray
    quad_error: np.ndarray
    mc: SpinMCResult = field(repr=False)

    @property
    def free_energy(self) -> np.ndarray:
        """f = -(1/(beta N)) ln Z per spin (nan at beta = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.betas > 0, -self.log_z / self.betas, np.nan)


def _hermite_weights(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights (K, K) a, c with int_0^{b_j} f = sum_i a[j, i] f_i + c[j, i] f'_i, exact for
    cubics on each interval: (d/2)(f_l + f_r) + (d^2/12)(f'_l - f'_r)."""
    k = b.size
    a = np.zeros((k, k))
    c = np.zeros((k, k))
    for j in range(1, k):
        d = b[j] - b[j - 1]
        a[j] = a[j - 1]
        c[j] = c[j - 1]
        a[j, j - 1] += 0.5 * d
        a[j, j] += 0.5 * d
        c[j, j - 1] += d * d / 12.0
        c[j, j] -= d * d / 12.0
    return a, c


def log_partition_ti(model: Any, betas: Any, n_sweeps: int = 20000, *, n_grid: int = 17,
                     n_copies: int = 1, swap_every: int = 1, burn_in: int | None = None,
                     seed: Any = 0, method: str = "metropolis", step: Any = None,
                     max_work: float = MAX_MC_SWEEP_WORK, progress: bool = False) -> TIResult:
    """(1/N) ln Z(beta) = (1/N) ln Z(0) - int_0^beta <H>/N d beta' (Kirkwood 1935), <H> from
    one parallel-tempering run (Hukushima & Nemoto 1996) on the quadrature grid.

    ``betas``: the grid, 1-D, strictly increasing, starting at 0 (K >= 2 nodes), or one
    beta > 0 (grid linspace(0, beta, n_grid)).  Ising spins: ln Z(0) = N ln 2; spherical
    models: Z is the average of exp(-beta H) over the uniform measure on the sphere
    (ln Z(0) = 0).  Quadrature: on each interval the corrected trapezoid rule
    (d/2)(f_l + f_r) + (d^2/12)(f'_l - f'_r), exact for cubics, with f = <H>/N and
    f' = -Var(H)/N measured at the nodes (error O(d^4)).  ``quad_error``: |I_d - I_2d| / 15
    (Richardson; the same rule on every second node) at the even nodes, carried forward as a
    running maximum (an estimate, exact in order only on a uniform grid).  ``stderr``:
    blocking standard error of the per-sweep influence series of the whole integral
    (correlations between temperatures included).  Returns :class:`TIResult`.

    progress : a progress bar (tqdm on stderr) of the sweeps done in the parallel-tempering
        run (as in :func:`parallel_tempering`); off by default.
    """
    prog = check_progress(progress)
    b = _betas("betas", betas)
    if b.size == 1:
        if not b[0] > 0:
            raise ValueError(f"betas must be > 0 when one value is given, got {b[0]}")
        b = np.linspace(0.0, b[0], as_int("n_grid", n_grid, lo=3))
    if b[0] != 0.0:
        raise ValueError(f"betas must start at 0 (the grid of the integral), got {b[0]}")
    if np.any(np.diff(b) <= 0):
        raise ValueError("betas must be strictly increasing")
    sy = _system(model, method)
    # parallel_tempering(model, b, n_sweeps, ...) on this ladder, with the bar named here
    ns, bi, ev, sd = _common(n_sweeps, burn_in, swap_every, "swap_every", seed)
    nc = as_int("n_copies", n_copies, lo=1)
    raw = _run(sy, b, nc, ns, bi, ev, True, sd, steps=step, max_work=max_work, progress=prog,
               desc="log_partition_ti")
    res = _summarise(sy, b, raw, nc, ns, bi, ev, sd, True, False)
    n = sy.n
    e = res.energies  # (C, K, T) per spin
    f = res.energy.value
    dev = e - f[None, :, None]
    # influence series of f_i and of f'_i = -N Var(e_i)
    inf_f = e.mean(axis=0)
    inf_d = -n * (dev**2).mean(axis=0)
    fp = inf_d.mean(axis=1)
    a, c = _hermite_weights(b)
    integral = a @ f + c @ fp
    ser = a @ inf_f + c @ inf_d  # (K, T)
    se = np.zeros(b.size)
    for j in range(1, b.size):
        se[j] = blocking(ser[j]).stderr
    # Richardson on the even nodes
    qerr = np.zeros(b.size)
    if b.size >= 3:
        ev = np.arange(0, b.size, 2)
        a2, c2 = _hermite_weights(b[ev])
        coarse = a2 @ f[ev] + c2 @ fp[ev]
        qerr[ev] = np.abs(integral[ev] - coarse) / 15.0
        qerr = np.maximum.accumulate(qerr)
    else:
        qerr[:] = np.nan
    return TIResult(betas=b, log_z=sy.log_z0 - integral, stderr=se, quad_error=qerr, mc=res)


# --------------------------------------------------------------------------------------------
# SK ground states


@dataclass(frozen=True)
class GroundStateFit(Result):
    """Finite-size extrapolation of SK ground-state energies, :func:`sk_ground_state_extrapolation`.

    ``Ns``; ``e_mean``, ``e_stderr`` (per N): disorder average of the lowest H/N found and its
    standard error over samples; ``e_samples`` (len(Ns), n_samples); ``sample_seeds`` (same
    shape): the seed of each sample's couplings, ``sk_model(N, seed=...)``; ``confirmed``
    (len(Ns), n_samples): both copies reached the same lowest energy; ``e_inf``,
    ``e_inf_stderr``, ``slope``, ``slope_stderr``: the fit e(N) = e_inf + slope N^{-exponent};
    ``chi2``, ``dof``: its chi^2; ``published``: -0.7632 (Parisi 1980; Crisanti & Rizzo 2002).
    """

    Ns: np.ndarray
    e_mean: np.ndarray
    e_stderr: np.ndarray
    e_samples: np.ndarray = field(repr=False)
    sample_seeds: np.ndarray = field(repr=False)
    confirmed: np.ndarray = field(repr=False)
    e_inf: float
    e_inf_stderr: float
    slope: float
    slope_stderr: float
    chi2: float
    dof: int
    exponent: float
    published: float = SK_GROUND_STATE


def sk_ground_state_extrapolation(Ns: Any, n_samples: int = 16, *, seed: Any = 0,
                                  n_sweeps: int = 2000, beta_range: Any = (0.5, 5.0),
                                  n_temps: int | None = None, exponent: float = 2.0 / 3.0,
                                  max_work: float = MAX_MC_SWEEP_WORK,
                                  progress: bool = False) -> GroundStateFit:
    """SK ground-state energy per spin extrapolated to N -> inf from parallel-tempering minima
    (Hukushima & Nemoto 1996), e(N) = e_inf + a N^{-2/3} (finite-size exponent: Bouchaud,
    Krzakala & Martin 2003; Boettcher 2005; published e_inf = -0.7632, Parisi 1980, Crisanti &
    Rizzo 2002).

    For each N in ``Ns`` (integers >= 2, at least 2 distinct) ``n_samples`` couplings are drawn
    (:func:`deeptheory.spinglass.sk_model`, seeds from ``seed``); each is run with two copies
    of a parallel-tempering ladder over ``beta_range`` (tuned once per N on the first sample:
    :func:`temperature_ladder`) for ``n_sweeps`` sweeps, and its ground-state energy estimate is
    the lowest H/N either copy met; ``confirmed`` records whether both copies met it (a run
    that finds the ground state twice independently has very likely found it).  Error bar:
    e(N) is the sample mean, its standard error the sample standard deviation / sqrt(n_samples);
    e_inf and the slope come from weighted least squares with those errors, their standard
    errors from the fit's covariance, scaled by sqrt(chi^2 / dof) when that exceeds 1.  The
    error bar is statistical: it omits the bias of unfound ground states (see ``confirmed``)
    and of higher-order finite-size terms (N^{-1} and beyond), which matter for N below ~50.
    ``progress``: a bar of the parallel-tempering runs done (tqdm, stderr).
    """
    prog = check_progress(progress)
    ns = np.array([as_int("Ns", int(v) if float(v) == int(v) else v, lo=2)
                   for v in np.atleast_1d(np.asarray(Ns))], dtype=np.int64)
    if np.unique(ns).size < 2:
        raise ValueError(f"Ns must contain at least 2 distinct sizes, got {Ns!r}")
    m = as_int("n_samples", n_samples, lo=2)
    sw = as_int("n_sweeps", n_sweeps, lo=16)
    ex = float(as_float("exponent", exponent, lo=0.0))
    sd = as_seed(seed)
    seeds = np.random.SeedSequence(sd).generate_state(ns.size * m + ns.size, dtype=np.uint32)
    es = np.empty((ns.size, m))
    conf = np.zeros((ns.size, m), dtype=bool)
    bar = progress_bar(ns.size * m, "sk_ground_state_extrapolation", prog, unit="run")
    for i, n in enumerate(ns):
        ladder = None
        for j in range(m):
            mdl = sk_model(int(n), seed=int(seeds[i * m + j]))
            if ladder is None:
                ladder, _ = temperature_ladder(mdl, beta_range, n_temps, tune_sweeps=max(
                    100, sw // 10), seed=int(seeds[ns.size * m + i]), max_work=max_work)
            r = parallel_tempering(mdl, ladder, sw, n_copies=2, swap_every=1, burn_in=0,
                                   seed=int(seeds[i * m + j]), track_minimum=True,
                                   max_work=max_work)
            me = r.min_energy
            es[i, j] = float(me.min())
            conf[i, j] = bool(abs(me[0] - me[1]) * n < 1e-9 * max(1.0, n))
            bar.update(1)
    bar.close()
    mean = es.mean(axis=1)
    se = es.std(axis=1, ddof=1) / math.sqrt(m)
    x = np.stack([np.ones(ns.size), ns.astype(float) ** (-ex)], axis=1)
    w = 1.0 / np.maximum(se, 1e-12) ** 2
    cov = np.linalg.inv(x.T @ (w[:, None] * x))
    coef = cov @ (x.T @ (w * mean))
    resid = mean - x @ coef
    chi2 = float(np.sum(w * resid**2))
    dof = ns.size - 2
    if dof > 0 and chi2 / dof > 1.0:
        cov = cov * (chi2 / dof)
    return GroundStateFit(Ns=ns, e_mean=mean, e_stderr=se, e_samples=es,
                          sample_seeds=seeds[:ns.size * m].astype(np.int64).reshape(ns.size, m),
                          confirmed=conf,
                          e_inf=float(coef[0]), e_inf_stderr=float(math.sqrt(cov[0, 0])),
                          slope=float(coef[1]), slope_stderr=float(math.sqrt(cov[1, 1])),
                          chi2=chi2, dof=dof, exponent=ex)
