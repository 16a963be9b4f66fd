"""Configurations, the check registry, the verdict rule and :func:`verify` itself."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .._api import as_seed

__all__ = [
    "Check",
    "CheckOutput",
    "Comparison",
    "K_DEFAULT",
    "PILLARS",
    "Profile",
    "QUICK_LIMITS",
    "Row",
    "Skip",
    "VerifyConfig",
    "list_checks",
    "register_check",
    "unregister_check",
    "verdict",
    "verify",
]

#: default number of standard errors in the verdict rule
K_DEFAULT = 4.0

#: the pillars, in report order
PILLARS = ("meanfield", "rmt", "dynamics", "spinglass", "infotheory")

RULE = ("PASS iff |simulation - theory| <= k * stderr + allowance; stderr is the standard "
        "error of the simulation mean over independent samples (networks, Hamiltonians, "
        "data sets) or of a Markov chain (blocking / batch means); allowance is the stated "
        "finite-size term of each quantity (0 where the simulation is unbiased)")


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class VerifyConfig:
    """One configuration of :func:`verify`: the network and the sizes of every simulation.

    Network (mean field, random matrices, dynamics): ``activation`` (a registered name),
    ``sigma_w2``, ``sigma_b2`` (variances), ``weights`` ("gaussian" or "orthogonal").
    Mean-field Monte Carlo: ``width`` N, ``depth`` L (layer profiles, residual networks),
    ``n_samples`` independent networks per estimate (>= 8; the standard errors are over
    them), inputs ``q0``, ``c0`` of the layer profiles, ``kernel_depth`` hidden layers of
    the NNGP/NTK check, ``curvature_depth`` and ``curvature_points`` of the curvature check.
    Jacobian spectrum: ``jacobian_width``, ``jacobian_depth``, ``jacobian_samples``
    networks.  Lyapunov exponent of the fresh-weights depth map: ``lyapunov_width``,
    ``lyapunov_steps``.  Spin glasses:
    ``spin_n``, ``spin_p`` (p-spin critical points by multistart Newton on ``spin_samples``
    Hamiltonians with ``spin_starts`` starts each), ``goe_n`` and ``goe_samples`` (the
    Kac-Rice GOE average), ``sk_n``, ``sk_betas``, ``mc_sweeps`` (Gibbs averages of an SK
    sample).  Information theory: ``info_samples`` points per data set, ``info_repeats``
    data sets, ``info_rho`` (correlation of the Gaussian pair).  ``label``: the name shown
    in reports (default from the network parameters).

    Every field is validated on construction (``ValueError``/``TypeError`` naming it).
    """

    activation: str = "tanh"
    sigma_w2: float = 1.5
    sigma_b2: float = 0.05
    weights: str = "gaussian"
    width: int = 500
    depth: int = 10
    n_samples: int = 24
    q0: float = 1.0
    c0: float = 0.5
    kernel_depth: int = 3
    curvature_depth: int = 4
    curvature_points: int = 96
    jacobian_width: int = 200
    jacobian_depth: int = 4
    jacobian_samples: int = 64
    lyapunov_width: int = 100
    lyapunov_steps: int = 2000
    spin_n: int = 4
    spin_p: int = 3
    spin_samples: int = 96
    spin_starts: int = 200
    goe_n: int = 8
    goe_samples: int = 20000
    sk_n: int = 10
    sk_betas: tuple[float, ...] = (0.5, 1.5)
    mc_sweeps: int = 20000
    info_samples: int = 1000
    info_repeats: int = 24
    info_rho: float = 0.6
    label: str | None = None

    def __post_init__(self) -> None:
        from .._validation import as_float, as_int
        from ..kernels import get_activation

        if not isinstance(self.activation, str):
            raise TypeError(f"activation must be a registered name (str), got {self.activation!r}")
        get_activation(self.activation)  # ValueError naming the activation if unknown
        for name, lo, hi in (("sigma_w2", 0.0, 1e4), ("sigma_b2", 0.0, 1e4), ("q0", 0.0, 1e4),
                             ("c0", -1.0, 1.0), ("info_rho", -0.99, 0.99)):
            v = getattr(self, name)
            if isinstance(v, bool) or np.ndim(v) != 0:
                raise TypeError(f"{name} must be a real number, got {v!r}")
            object.__setattr__(self, name, float(as_float(name, v, lo=lo, hi=hi)))
        if self.q0 <= 0.0:
            raise ValueError(f"q0 must be > 0, got {self.q0}")
        if self.weights not in ("gaussian", "orthogonal"):
            raise ValueError(f"weights must be 'gaussian' or 'orthogonal', got {self.weights!r}")
        for name, lo, hi in (("width", 8, 10**5), ("depth", 2, 1000), ("n_samples", 8, 10**6),
                             ("kernel_depth", 1, 100), ("curvature_depth", 1, 50),
                             ("curvature_points", 16, 4096), ("jacobian_width", 8, 4000),
                             ("jacobian_depth", 1, 200), ("jacobian_samples", 8, 10**5),
                             ("lyapunov_width", 8, 4000),
                             ("lyapunov_steps", 500, 10**7), ("spin_n", 2, 8), ("spin_p", 2, 4),
                             ("spin_samples", 8, 10**5), ("spin_starts", 10, 10**5),
                             ("goe_n", 2, 12), ("goe_samples", 100, 10**7), ("sk_n", 2, 20),
                             ("mc_sweeps", 1000, 10**8), ("info_samples", 100, 10**6),
                             ("info_repeats", 8, 10**5)):
            as_int(name, getattr(self, name), lo=lo, hi=hi)
        betas = as_float("sk_betas", self.sk_betas, lo=0.0, hi=20.0)
        if betas.ndim != 1 or betas.size < 1:
            raise ValueError(f"sk_betas must be a non-empty 1-D sequence, got {self.sk_betas!r}")
        object.__setattr__(self, "sk_betas", tuple(float(b) for b in betas))
        if self.label is not None and not isinstance(self.label, str):
            raise TypeError(f"label must be a string or None, got {self.label!r}")

    @property
    def name(self) -> str:
        """The label of reports: ``label`` or "activation sw2=.. sb2=.." (+ the weights)."""
        if self.label:
            return self.label
        s = f"{self.activation} sw2={self.sigma_w2:g} sb2={self.sigma_b2:g}"
        return s if self.weights == "gaussian" else s + f" {self.weights}"

    def quick(self) -> VerifyConfig:
        """The same configuration with every size capped at :data:`QUICK_LIMITS`."""
        ch = {k: min(getattr(self, k), v) for k, v in QUICK_LIMITS.items()}
        return dataclasses.replace(self, **ch)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: ``quick=True`` caps these sizes (smaller values in a configuration are kept); the
#: sample counts stay >= 16 so that the standard errors, and hence the verdicts, stay honest
QUICK_LIMITS = dict(width=200, depth=8, n_samples=16, curvature_points=96,
                    jacobian_width=100, jacobian_samples=32, lyapunov_width=64,
                    lyapunov_steps=1000, spin_n=4, spin_samples=32, spin_starts=100,
                    goe_samples=4000, sk_n=10, mc_sweeps=5000, info_samples=500,
                    info_repeats=16)


# ------------------------------------------------------------------------------ rows


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a check whose quantity is not defined for the configuration (the reason)."""


@dataclass(frozen=True)
class Comparison:
    """One quantity as a check measures it: the theory value, the simulation mean, its
    standard error, the finite-size ``allowance``, the sample size ``n`` and a note."""

    quantity: str
    theory: float
    simulation: float
    stderr: float
    allowance: float = 0.0
    n: int = 0
    note: str = ""


@dataclass(frozen=True)
class Profile:
    """Data for a figure: theory curve and simulation points (mean, stderr) against x."""

    title: str
    x: np.ndarray
    theory: np.ndarray
    simulation: np.ndarray
    stderr: np.ndarray
    xlabel: str = "layer l"
    allowance: np.ndarray | None = None
    log: bool = False


@dataclass
class CheckOutput:
    """What a check returns: its comparisons, optional figure data, and skipped quantities."""

    comparisons: list[Comparison] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (quantity, reason)


def verdict(theory: float, simulation: float, stderr: float, allowance: float,
            k: float = K_DEFAULT) -> tuple[float, bool]:
    """(z, passed): z = (simulation - theory) / stderr and the verdict of :func:`verify`,
    |simulation - theory| <= k stderr + allowance (False for any non-finite value)."""
    d = simulation - theory
    if not (math.isfinite(d) and math.isfinite(stderr) and math.isfinite(allowance)):
        return float("nan"), False
    if stderr > 0:
        z = d / stderr
    else:
        z = 0.0 if d == 0 else math.copysign(math.inf, d)
    return z, abs(d) <= k * stderr + allowance


@dataclass(frozen=True)
class Row:
    """One line of a report (see :data:`RULE` for the verdict)."""

    config: str
    pillar: str
    check: str
    quantity: str
    theory: float
    simulation: float
    stderr: float
    z: float
    allowance: float
    passed: bool
    note: str
    n: int

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


# ------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Check:
    """A registered check: ``func(config, seed) -> CheckOutput | list[Comparison]``.

    ``uses``: the :class:`VerifyConfig` fields it reads (checks that agree on them run once
    per :func:`verify` call); ``theory`` and ``simulation``: the functions compared.
    """

    name: str
    pillar: str
    func: Callable[[VerifyConfig, int], Any]
    uses: tuple[str, ...]
    theory: str = ""
    simulation: str = ""
    description: str = ""


_REGISTRY: dict[str, Check] = {}


def register_check(name: str, pillar: str, *, uses: Sequence[str], theory: str = "",
                   simulation: str = "", description: str = "") -> Callable:
    """Decorator registering ``func(config, seed)`` as check ``name`` of ``pillar`` (a
    :class:`Check`; ``uses`` lists the :class:`VerifyConfig` fields it reads).  The function
    returns a :class:`CheckOutput` or a list of :class:`Comparison`; raise :class:`Skip`
    when the quantity is not defined for the configuration."""
    if pillar not in PILLARS:
        raise ValueError(f"pillar must be one of {list(PILLARS)}, got {pillar!r}")
    known = {f.name for f in fields(VerifyConfig)}
    bad = [u for u in uses if u not in known]
    if bad:
        raise ValueError(f"uses: unknown VerifyConfig fields {bad}")

    def deco(func: Callable) -> Callable:
        _REGISTRY[name] = Check(name, pillar, func, tuple(uses), theory, simulation,
                                description or (func.__doc__ or "").strip().split("\n")[0])
        return func

    return deco


def unregister_check(name: str) -> None:
    """Remove check ``name`` (see :func:`register_check`) from the registry (KeyError if
    absent)."""
    del _REGISTRY[name]


def list_checks() -> list[Check]:
    """Every registered :class:`Check`, in pillar order, then registration order."""
    from . import _checks  # noqa: F401  (registers the built-in checks)

    return sorted(_REGISTRY.values(), key=lambda c: PILLARS.index(c.pillar))


def _select(pillars: Any) -> list[Check]:
    checks = list_checks()
    if pillars is None:
        return checks
    if isinstance(pillars, str):
        pillars = [p.strip() for p in pillars.split(",")]
    items = [p for p in pillars if isinstance(p, str)]
    if len(items) != len(list(pillars)):
        raise TypeError(f"pillars must be names (str), got {pillars!r}")
    items = [p for p in items if p]
    if not items:
        raise ValueError("pillars is empty: name at least one pillar or check "
                         f"({', '.join(PILLARS)})")
    names = {c.name for c in checks}
    bad = [p for p in items if p not in PILLARS and p not in names]
    if bad:
        raise ValueError(f"unknown pillar or check {bad[0]!r}; pillars: {', '.join(PILLARS)}; "
                         f"checks: {', '.join(sorted(names))}")
    return [c for c in checks if c.pillar in items or c.name in items]


def _check_seed(seed: int, name: str) -> int:
    """The seed of one check: derived from the run's seed and the check's name, so each
    check is reproducible on its own and independent of which others run."""
    ss = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    return int(ss.generate_state(1)[0] % (2**30))


def _as_configs(config: Any) -> list[VerifyConfig]:
    if config is None:
        return [VerifyConfig()]
    if isinstance(config, (VerifyConfig, dict)):
        config = [config]
    if not isinstance(config, Iterable) or isinstance(config, (str, bytes)):
        raise TypeError("config must be a VerifyConfig, a dict of its fields, or a list of "
                        f"them, got {type(config).__name__}")
    out = []
    for c in config:
        if isinstance(c, dict):
            known = {f.name for f in fields(VerifyConfig)}
            bad = sorted(set(c) - known)
            if bad:
                raise ValueError(f"unknown VerifyConfig field {bad[0]!r}")
            c = VerifyConfig(**c)
        if not isinstance(c, VerifyConfig):
            raise TypeError(f"config entries must be VerifyConfig or dict, got {type(c).__name__}")
        out.append(c)
    if not out:
        raise ValueError("config is an empty list: give at least one configuration")
    return out


def _unique_names(configs: list[VerifyConfig]) -> list[str]:
    names = [c.name for c in configs]
    return [n if names.count(n) == 1 else f"{n} #{i}" for i, n in enumerate(names)]


def _run_check(chk: Check, cfg: VerifyConfig, seed: int) -> CheckOutput:
    try:
        out = chk.func(cfg, seed)
    except Skip as s:
        return CheckOutput(skipped=[("*", str(s))])
    except Exception as exc:  # a broken check is a failure of the report, not a crash
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return CheckOutput([Comparison("(error)", math.nan, math.nan, math.nan, 0.0, 0, msg)])
    if isinstance(out, CheckOutput):
        return out
    return CheckOutput(list(out))


def _timed_check(chk: Check, cfg: VerifyConfig, seed: int) -> tuple[CheckOutput, float]:
    """One check and its wall time (the task a Dask worker runs)."""
    t0 = time.perf_counter()
    out = _run_check(chk, cfg, seed)
    return out, time.perf_counter() - t0


def _tag(out: CheckOutput, k: float) -> str:
    """The progress word of one finished check: skipped, FAIL or ok."""
    if not out.comparisons:
        return "skipped"
    bad = [c for c in out.comparisons
           if not verdict(float(c.theory), float(c.simulation), float(c.stderr),
                          float(c.allowance), k)[1]]
    return "FAIL" if bad else "ok"


def verify(config: Any = None, *, pillars: Any = None, seed: Any = 0, quick: bool = False,
           progress: bool = False, k: float = K_DEFAULT, scheduler: Any = None,
           timeout: float = 30.0) -> Any:
    """Every quantity the toolkit both predicts and measures, theory beside simulation.

    ``config``: a :class:`VerifyConfig`, a dict of its fields, a list of either (a sweep
    of configurations), or None (the defaults: tanh at sigma_w^2 = 1.5, sigma_b^2 = 0.05).
    ``pillars``: None (all), or pillar names ("meanfield", "rmt", "dynamics", "spinglass",
    "infotheory") and/or check names (``[c.name for c in list_checks()]``), as a list or a
    comma-separated string.  ``seed``: int >= 0 (each check derives its own seed from it
    and its name).  ``quick``: cap the sizes at :data:`QUICK_LIMITS` (seconds per
    configuration instead of about a minute; the verdicts use the same rule).
    ``progress``: print one line per check to stderr.  ``k``: standard errors in the rule.
    ``scheduler``: None or "serial" (this process, the default), or as in
    :func:`deeptheory.sweep.sweep`: "local" (an embedded Dask cluster), an address
    "tcp://host:8786" or a ``distributed.Client``; each (check, configuration) is then one
    Dask task (Rocklin 2015), with the same seeds, so the rows are the same as serially.
    ``timeout``: seconds to reach the scheduler.

    Verdict of each row: PASS iff |simulation - theory| <= k * stderr + allowance, with
    the stated finite-size allowance of each quantity (see the module docstring).
    Checks that do not depend on the network (spin glasses, information theory) run once
    per distinct set of the fields they use and are listed under the first configuration.
    Returns a :class:`VerifyReport`; bad arguments raise ValueError/TypeError.
    """
    from ._report import VerifyReport

    configs = _as_configs(config)
    checks = _select(pillars)
    seed = as_seed(seed)
    if seed >= 2**32:
        raise ValueError(f"seed must be < 2**32, got {seed}")
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (0 < k < 100):
        raise ValueError(f"k must be a number in (0, 100), got {k!r}")
    k = float(k)
    sched = _scheduler(scheduler)
    tmo = _timeout(timeout)
    run_cfgs = [c.quick() if quick else c for c in configs]
    names = _unique_names(configs)
    tasks: list[tuple[str, Check, VerifyConfig]] = []  # (listed under, check, config)
    done: set[tuple] = set()
    for chk in checks:
        for name, cfg in zip(names, run_cfgs, strict=True):
            key = (chk.name,) + tuple(repr(getattr(cfg, u)) for u in chk.uses)
            if key in done:
                continue
            group = [n for n, c in zip(names, run_cfgs, strict=True)
                     if (chk.name,) + tuple(repr(getattr(c, u)) for u in chk.uses) == key]
            done.add(key)
            if len(group) > 1:  # a check that does not depend on what the configs vary
                name = "all" if len(group) == len(names) else ", ".join(group)
            tasks.append((name, chk, cfg))
    outs: list[Any] = [None] * len(tasks)

    def report(j: int, n_done: int) -> None:
        if progress:
            name, chk, _ = tasks[j]
            out, dt = outs[j]
            print(f"verify [{n_done}/{len(tasks)}] {chk.name} ({name}): {_tag(out, k)}, "
                  f"{dt:.1f} s", file=sys.stderr, flush=True)

    if sched == "serial":
        for j, (_, chk, cfg) in enumerate(tasks):
            outs[j] = _timed_check(chk, cfg, _check_seed(seed, chk.name))
            report(j, j + 1)
    else:
        from distributed import as_completed

        from ..sweep._engine import dask_client

        with dask_client(sched, tmo) as client:
            futs = {client.submit(_timed_check, chk, cfg, _check_seed(seed, chk.name),
                                  pure=False): j for j, (_, chk, cfg) in enumerate(tasks)}
            try:
                for n_done, f in enumerate(as_completed(list(futs), loop=client.loop), 1):
                    j = futs[f]
                    try:
                        outs[j] = f.result()
                    except Exception as exc:  # noqa: BLE001 - a task lost on the cluster
                        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
                        outs[j] = (CheckOutput([Comparison("(error)", math.nan, math.nan,
                                                           math.nan, 0.0, 0, msg)]), 0.0)
                    report(j, n_done)
            finally:
                for f in futs:
                    if not f.done():
                        f.cancel()
    rows: list[Row] = []
    profiles: list[tuple[str, str, Profile]] = []
    skipped: list[tuple[str, str, str, str]] = []
    timings: list[tuple[str, str, float]] = []
    for (name, chk, _), (out, dt) in zip(tasks, outs, strict=True):
        timings.append((name, chk.name, dt))
        for c in out.comparisons:
            z, ok = verdict(float(c.theory), float(c.simulation), float(c.stderr),
                            float(c.allowance), k)
            rows.append(Row(name, chk.pillar, chk.name, c.quantity, float(c.theory),
                            float(c.simulation), float(c.stderr), z, float(c.allowance),
                            ok, c.note, int(c.n)))
        for p in out.profiles:
            profiles.append((name, chk.name, p))
        for q, why in out.skipped:
            skipped.append((name, chk.name, q, why))
    return VerifyReport(rows=tuple(rows), configs=tuple(configs), config_names=tuple(names),
                        k=k, seed=seed, quick=bool(quick), skipped=tuple(skipped),
                        timings=tuple(timings), profiles=tuple(profiles))


def _scheduler(scheduler: Any) -> Any:
    """"serial" for None / "serial", else the scheduler as :func:`deeptheory.sweep.sweep`
    resolves it (the environment variable is not consulted: verify is serial by default)."""
    if scheduler is None:
        return "serial"
    from ..sweep._engine import _resolve_scheduler

    return _resolve_scheduler(scheduler)


def _timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not (0 < timeout < math.inf):
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)
