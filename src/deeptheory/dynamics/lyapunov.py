"""Lyapunov spectra by the QR (re-orthonormalisation) method.

lambda_i = lim (1/T) sum_t ln |R_t[i, i]|,  Q_{t+1} R_{t+1} = J_t Q_t
(Shimada & Nagashima 1979; Benettin, Galgani, Giorgilli & Strelcyn 1980), with J_t the
Jacobian of one step of a map, or the tangent propagator of one fixed step of a flow.
The loops are compiled (:mod:`deeptheory.kernels.lyapunov`); this module checks the
arguments, picks the re-orthonormalisation interval, and turns the accumulated logs into
exponents, running estimates, batch-means standard errors and convergence diagnostics.
"""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._api import Result, as_rng, as_seed, check_on_fail, report_nonconvergence
from .._progress import check_progress, progress_ranges
from .._validation import as_float, as_int
from ..kernels.lyapunov import INTEGRATORS, callable_lyapunov, network_lyapunov
from ..kernels.montecarlo import single_thread_blas
from .systems import DeepMap, DiscreteRNN, FlowSystem, MapSystem, RateNetwork
from .theory import kaplan_yorke_dimension, ks_entropy

__all__ = ["FrameCollapseWarning", "LyapunovSpectrum", "lyapunov_spectrum"]

SYSTEMS = (DiscreteRNN, RateNetwork, DeepMap, MapSystem, FlowSystem)
#: largest estimated work (floating-point operations) of one call: about 30 min at 60 GFLOP/s
MAX_FLOPS = 1e14
#: ln |R_ii| spread of one interval above which the lowest directions are lost to rounding
#: (ln(1/eps) = 36; warn with some margin)
SPAN_WARN = 30.0
#: target spread per interval when ``qr_every="auto"`` picks the interval
SPAN_AUTO = 20.0


class FrameCollapseWarning(RuntimeWarning):
    """The frame was re-orthonormalised too rarely: the lowest exponents are unreliable."""


@dataclass(frozen=True)
class LyapunovSpectrum(Result):
    """Estimated Lyapunov spectrum (descending, nats per step for maps, per unit time for flows).

    exponents : (k,) estimates lambda_1 >= ... >= lambda_k over the measured window.
    stderr : (k,) batch-means standard errors (independent blocks of the window).
    times : (n_blocks,) elapsed measured time at the end of each block.
    running : (n_blocks, k) the running estimate at those times (for convergence plots).
    kaplan_yorke : Kaplan-Yorke dimension of the returned exponents (meaningful when k covers
        every exponent down to the first negative partial sum).
    ks_entropy : sum of the positive exponents (Pesin; an upper bound on the KS entropy).
    participation_ratio : time average of 1 / (N sum_i v_i^4) for the leading Gram-Schmidt
        vector v (= the leading covariant Lyapunov vector), in [1/N, 1].
    qr_every, dt, n_steps, transient : what was run.  ``dt`` is None for maps.
    span : largest spread max_i ln|R_ii| - min_i ln|R_ii| of one interval (>= 30 warns).
    converged : False when the standard error exceeds ``tol`` or the estimate drifts.
    state : the final state (continue a run with ``x0=res.state``).
    """

    exponents: np.ndarray
    stderr: np.ndarray
    times: np.ndarray = field(repr=False)
    running: np.ndarray = field(repr=False)
    kaplan_yorke: float
    ks_entropy: float
    participation_ratio: float
    qr_every: int
    dt: float | None
    n_steps: int
    transient: int
    span: float
    converged: bool
    state: np.ndarray = field(repr=False)

    @property
    def lambda_max(self) -> float:
        return float(self.exponents[0])


def _frame(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """A random orthonormal n x k frame (QR of a Gaussian matrix)."""
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return q


def _x0(system: Any, x0: Any, rng: np.random.Generator) -> np.ndarray:
    if isinstance(system, (MapSystem, FlowSystem)):
        if x0 is None:
            raise ValueError("x0 (the initial state) is required for a user map or flow")
    n = _dim(system, x0)
    if x0 is None:
        return rng.standard_normal(n)
    a = as_float("x0", x0)
    if a.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {a.shape}")
    return a.copy()


def _dim(system: Any, x0: Any) -> int:
    if isinstance(system, (DiscreteRNN, RateNetwork, DeepMap)):
        return system.width
    a = np.asarray(x0, dtype=float)
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"x0 must be a 1-D array with N >= 1 entries, got shape {a.shape}")
    return a.size


def _check_callable(system: MapSystem | FlowSystem, x: np.ndarray) -> None:
    """Call f and jac once at x0: shapes (n,) and (n, n), finite."""
    n = x.size
    fx = np.asarray(system.f(x.copy()), dtype=float)
    if fx.shape != (n,):
        raise ValueError(f"f(x0) must have shape ({n},), got {fx.shape}")
    jx = np.asarray(system.jac(x.copy()), dtype=float)
    if jx.shape != (n, n):
        raise ValueError(f"jac(x0) must have shape ({n}, {n}) (the Jacobian), got {jx.shape}")
    if not (np.all(np.isfinite(fx)) and np.all(np.isfinite(jx))):
        raise ValueError("f(x0) and jac(x0) must be finite")


def _scheme(system: Any, dt: Any, method: str) -> tuple[int, float | None]:
    flow = isinstance(system, (RateNetwork, FlowSystem))
    if not flow:
        if dt is not None:
            raise ValueError("dt is only for flows (RateNetwork, FlowSystem); maps step by 1")
        return INTEGRATORS["map"], None
    if method not in ("rk4", "euler"):
        raise ValueError(f"method must be 'rk4' or 'euler', got {method!r}")
    if dt is None:
        if isinstance(system, FlowSystem):
            raise ValueError("dt (the integration step, > 0) is required for a flow")
        dt = 0.05 * system.tau
    d = float(as_float("dt", dt))
    if d <= 0.0:
        raise ValueError(f"dt must be > 0, got {d}")
    return INTEGRATORS[method], d


def _run(system: Any, z: np.ndarray, scheme: int, dt: float | None, seed: int, *,
         n_transient: int, n_steps: int, qr_every: int, ipb: int,
         n_blocks: int, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One call of the compiled loop for ``system`` on Z = [x | Q] (in place); with
    ``progress``, about 50 calls over consecutive blocks of steps that carry the state
    (bitwise the same result) and a bar of the steps done."""
    ranges = None
    if progress:
        ranges = progress_ranges(n_transient + n_steps, "lyapunov_spectrum", True, unit="step")
    kw = dict(n_transient=n_transient, n_steps=n_steps, qr_every=qr_every, ipb=ipb,
              n_blocks=n_blocks, ranges=ranges)
    n = z.shape[0]
    if isinstance(system, (MapSystem, FlowSystem)):
        return callable_lyapunov(system.f, system.jac, z, dt=dt or 0.0, scheme=scheme, **kw)
    if isinstance(system, DeepMap):
        return network_lyapunov(
            system.activation, np.empty((n, n)), np.zeros(n), np.zeros((0, n)), z,
            fresh=True, sw=math.sqrt(system.sigma_w2), sb=math.sqrt(system.sigma_b2),
            orth=int(system.weights == "orthogonal"), seed=seed, **kw)
    w = system.w if isinstance(system, DiscreteRNN) else system.j
    tau = system.tau if isinstance(system, RateNetwork) else 1.0
    u = np.zeros((0, n)) if system.inputs is None else system.inputs
    return network_lyapunov(system.activation, w, system.b, u, z, tau=tau, dt=dt or 0.0,
                            scheme=scheme, **kw)


def _auto_interval(system, z, scheme, dt, seed, pilot: int) -> int:
    """Pilot ``pilot`` steps with QR every step on a *copy* of Z (the run itself starts from
    Z unchanged, with its inputs from row 0); pick the interval whose expected spread of
    ln|R_ii| is about SPAN_AUTO (between 1 and 10 steps)."""
    _, stats = _run(system, z.copy(), scheme, dt, seed, n_transient=0, n_steps=pilot,
                    qr_every=1, ipb=pilot, n_blocks=1)
    span = stats[2]
    if not math.isfinite(span) or span <= 0.0:
        return 1
    return int(min(10, max(1, math.floor(SPAN_AUTO / span))))


def _work(system: Any, n: int, k: int, steps: int, scheme: int) -> float:
    stages = 4 if scheme == INTEGRATORS["rk4"] else 1
    flops = steps * stages * 2.0 * n * n * (k + 1)
    if isinstance(system, DeepMap):
        flops += steps * (n * n * 20.0 + (4.0 * n**3 if system.weights == "orthogonal" else 0))
    return flops


def lyapunov_spectrum(
    system: DiscreteRNN | RateNetwork | DeepMap | MapSystem | FlowSystem,
    *,
    n_steps: int,
    k: int | None = None,
    qr_every: int | str = "auto",
    transient: int | None = None,
    dt: float | None = None,
    method: str = "rk4",
    x0: Any = None,
    seed: Any = 0,
    n_blocks: int = 50,
    tol: float = 0.02,
    on_fail: str = "warn",
    blas_threads: str = "one",
    progress: bool = False,
) -> LyapunovSpectrum:
    """Leading ``k`` (default all N) Lyapunov exponents of ``system`` by the QR method.

    lambda_i = (1/T) sum over re-orthonormalisations of ln |R[i, i]|, where J Q = Q' R is
    the QR factorisation of the frame after ``qr_every`` steps (Shimada & Nagashima 1979;
    Benettin et al. 1980).  Units: nats per step for maps (:class:`DiscreteRNN`,
    :class:`DeepMap`, :class:`MapSystem`), nats per unit time for flows
    (:class:`RateNetwork`, :class:`FlowSystem`), sorted descending.

    Parameters
    ----------
    system : the dynamical system (see :mod:`deeptheory.dynamics.systems`).
    n_steps : measured steps after the transient (>= 1).  For a flow the measured time is
        n_steps * dt.
    k : number of leading exponents (1 <= k <= N); all N by default.
    qr_every : re-orthonormalise every this many steps, or "auto": a 20-step pilot with QR
        every step, run on a copy of the initial state and frame (for a
        :class:`DeepMap` with its own weights), measures the spread of ln|R_ii| per step
        and picks the largest
        interval (<= 10) that keeps the spread per interval near 20 nats.  An interval
        whose spread exceeds 30 nats (ln(1/eps) = 36) has lost its lowest directions to
        rounding: that raises :class:`FrameCollapseWarning`.
    transient : steps run (and re-orthonormalised) before measuring; default n_steps // 10.
    dt, method : integration step (> 0) and scheme ("rk4" or "euler") of a flow; a
        :class:`RateNetwork` defaults to dt = 0.05 tau.  With "euler" the result is the
        spectrum of the Euler map, divided by dt.  ``method`` is validated for maps too, and
        ignored there.
    x0 : initial state (length N); default N(0, 1) entries from ``seed`` (required for
        user systems).
    seed : int, numpy Generator or None: the initial state and frame, and the weights of a
        :class:`DeepMap` (drawn per layer by the compiled network sampler).
    n_blocks : the measured window is cut into this many blocks (>= 2) of whole QR
        intervals for the running estimate and the batch-means standard error.
    tol, on_fail : the estimate counts as converged when every standard error is <= tol
        and the two halves of the window agree within 4 standard errors + tol; otherwise
        ``on_fail`` ("warn", default; "raise": :class:`deeptheory.ConvergenceError`;
        "ignore") says so, naming the worst exponent.
    blas_threads : "one" (default) runs the matrix products and QRs with BLAS pinned to one
        thread (:func:`deeptheory.kernels.montecarlo.single_thread_blas`); "default"
        leaves BLAS's own thread count.  On an idle multi-core machine "default" is up to
        the core count faster for N >= 300, but on a loaded 2-core machine OpenBLAS's
        threads made a full N = 200 run 100x slower (185 s against 1.1 s).
    progress : a progress bar (tqdm on stderr) of the steps done (transient + n_steps; not
        the 20-step pilot of ``qr_every="auto"``); off by default.  The steps then run in
        about 50 calls of the compiled loop, each continuing from the state, frame and sums
        the last one left (and, for a :class:`DeepMap`, from Numba's generator), so the
        result is bit for bit that of the single call made without the bar.

    The exponents are returned sorted descending (with their standard errors and running
    estimates permuted alike); the QR order can differ where two exponents are within
    their statistical error of each other.

    Returns
    -------
    :class:`LyapunovSpectrum`.
    """
    prog = check_progress(progress)
    check_on_fail(on_fail)
    if method not in ("rk4", "euler"):
        raise ValueError(f"method must be 'rk4' or 'euler', got {method!r}")
    if blas_threads not in ("one", "default"):
        raise ValueError(f"blas_threads must be 'one' or 'default', got {blas_threads!r}")
    if not isinstance(system, SYSTEMS):
        raise TypeError(f"system must be one of {[c.__name__ for c in SYSTEMS]}, "
                        f"got {type(system).__name__}")
    n_steps = as_int("n_steps", n_steps, lo=1)
    scheme, dt = _scheme(system, dt, method)
    rng = as_rng(seed)
    x = _x0(system, x0, rng)
    n = x.size
    k = n if k is None else as_int("k", k, lo=1, hi=n)
    transient = n_steps // 10 if transient is None else as_int("transient", transient, lo=0)
    n_blocks = as_int("n_blocks", n_blocks, lo=2)
    tol = float(as_float("tol", tol, lo=0.0))
    if isinstance(system, (MapSystem, FlowSystem)):
        _check_callable(system, x)
    if isinstance(system, (DiscreteRNN, RateNetwork)) and system.inputs is not None:
        rows = system.inputs.shape[0]
        if rows > 1 and rows < transient + n_steps:
            raise ValueError(f"inputs has {rows} rows but the run takes transient + n_steps = "
                             f"{transient + n_steps} steps")
    work = _work(system, n, k, transient + n_steps, scheme)
    if work > MAX_FLOPS:
        raise ValueError(
            f"this run needs about {work:.2e} flops (N = {n}, k = {k}, {transient + n_steps} "
            f"steps), above the limit {MAX_FLOPS:.0e} (about 30 min): lower n_steps, k or N")
    if qr_every != "auto":
        qr = as_int("qr_every", qr_every, lo=1)
        if n_steps < qr:
            raise ValueError(f"n_steps ({n_steps}) must be >= qr_every ({qr}): no interval "
                             "would be measured")
    with single_thread_blas() if blas_threads == "one" else nullcontext():
        z = np.empty((n, k + 1))
        z[:, 0] = x
        z[:, 1:] = _frame(rng, n, k)
        base = as_seed(rng) if isinstance(system, DeepMap) else 0
        if qr_every == "auto":
            pilot_seed = as_seed(rng) if isinstance(system, DeepMap) else 0
            pilot = min(20, transient + n_steps)
            qr = min(_auto_interval(system, z, scheme, dt, pilot_seed, pilot), n_steps)
        n_int = -(-n_steps // qr)
        ipb = -(-n_int // n_blocks)
        nb = -(-n_int // ipb)
        blocks, stats = _run(system, z, scheme, dt, base, n_transient=transient,
                             n_steps=n_steps, qr_every=qr, ipb=ipb, n_blocks=nb,
                             progress=prog)
    unit = dt if dt is not None else 1.0
    ends = np.minimum((np.arange(nb) + 1) * ipb * qr, n_steps)
    lengths = np.diff(np.concatenate([[0], ends])) * unit
    times = ends * unit
    with np.errstate(invalid="ignore"):
        running = np.cumsum(blocks, axis=0) / times[:, None]
        order = np.argsort(-running[-1], kind="stable")
        running = running[:, order]
        blocks = blocks[:, order]
        exps = running[-1].copy()
        stderr, drift = _batch_stats(blocks, lengths)
    span = float(stats[2])
    pr = float(stats[0] / stats[1]) if stats[1] > 0 else math.nan
    valid = not np.any(np.isnan(exps) | np.isposinf(exps))
    if not (valid and np.all(np.isfinite(z))):
        report_nonconvergence(
            "the trajectory or its frame left the floating-point range (non-finite state or "
            "frame at the end of the run): the exponents are not estimates; check the system "
            "(a diverging map or flow) or lower dt", on_fail, stacklevel=3)
        converged = False
    else:
        converged = _check(exps, stderr, drift, nb, tol, on_fail)
    if span > SPAN_WARN:
        fix = ("lower qr_every" if qr > 1 else "even one step exceeds what double precision "
               "resolves; request fewer exponents (k) or treat the lowest as lower bounds")
        warnings.warn(
            f"ln|R_ii| spread {span:.1f} nats within one re-orthonormalisation interval "
            f"(qr_every = {qr}): the lowest exponents are lost to rounding (double precision "
            f"keeps about 36 nats); {fix}", FrameCollapseWarning, stacklevel=2)
    return LyapunovSpectrum(
        exponents=exps, stderr=stderr, times=times, running=running,
        kaplan_yorke=float(kaplan_yorke_dimension(exps)) if valid else math.nan,
        ks_entropy=float(ks_entropy(exps)) if valid else math.nan,
        participation_ratio=pr, qr_every=qr, dt=dt, n_steps=n_steps, transient=transient,
        span=span, converged=converged, state=z[:, 0].copy())


def _batch_stats(blocks: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batch-means standard error of the time-weighted mean rate, and the z-like drift
    between the two halves of the window (difference / combined standard error)."""
    rates = blocks / lengths[:, None]
    nb = rates.shape[0]
    w = lengths / lengths.sum()
    mean = (w[:, None] * rates).sum(axis=0)
    neff = 1.0 / np.sum(w**2)
    var = (w[:, None] * (rates - mean) ** 2).sum(axis=0) * neff / max(neff - 1.0, 1.0)
    se = np.sqrt(var / neff)
    h = nb // 2
    if h < 2:
        return se, np.zeros_like(se)
    a = rates[:h].mean(axis=0)
    b = rates[h:].mean(axis=0)
    sa = rates[:h].std(axis=0, ddof=1) / math.sqrt(h)
    sb = rates[h:].std(axis=0, ddof=1) / math.sqrt(nb - h)
    return se, np.abs(a - b) - 4.0 * np.sqrt(sa**2 + sb**2)


def _check(exps, stderr, drift, nb, tol, on_fail) -> bool:
    finite = np.isfinite(exps)
    if not np.any(finite):
        return False
    bad_se = np.where(finite & (stderr > tol))[0]
    bad_drift = np.where(finite & (drift > tol))[0]
    if bad_se.size == 0 and bad_drift.size == 0:
        return True
    if bad_se.size:
        i = bad_se[np.argmax(stderr[bad_se])]
        msg = (f"Lyapunov estimate not converged: exponent {i + 1} = {exps[i]:.5g} has standard "
               f"error {stderr[i]:.3g} > tol = {tol:g} ({nb} blocks); raise n_steps")
    else:
        i = bad_drift[np.argmax(drift[bad_drift])]
        msg = (f"Lyapunov estimate not converged: exponent {i + 1} = {exps[i]:.5g} differs "
               "between the two halves of the window by more than 4 standard errors + tol: the "
               "transient has not been left; raise transient or n_steps")
    report_nonconvergence(msg, on_fail, stacklevel=4)
    return False
