"""One API across the pillars: the estimate type, the convergence error, seeds.

Every Monte Carlo or resampling estimate in deeptheory is an :class:`Estimate`;
every iteration that stops at its cap raises (or, with ``on_fail="warn"``,
warns about) :class:`ConvergenceError`; every ``seed`` argument takes an int
>= 0, a :class:`numpy.random.Generator` or None (fresh entropy).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

__all__ = [
    "ConvergenceError",
    "Estimate",
    "Result",
    "ON_FAIL",
    "as_rng",
    "as_seed",
    "check_on_fail",
    "report_nonconvergence",
]

ON_FAIL = ("raise", "warn", "ignore")


class ConvergenceError(RuntimeError):
    """An iteration stopped at its cap (or lost its branch) before reaching its tolerance."""


def check_on_fail(on_fail: Any) -> str:
    """Validate an ``on_fail`` argument: "raise" (default everywhere), "warn" or "ignore"."""
    if on_fail not in ON_FAIL:
        raise ValueError(f"on_fail must be 'raise', 'warn' or 'ignore', got {on_fail!r}")
    return on_fail


def report_nonconvergence(msg: str, on_fail: str = "raise", *, stacklevel: int = 3) -> None:
    """Raise :class:`ConvergenceError` (``"raise"``), warn (``"warn"``) or stay silent."""
    check_on_fail(on_fail)
    if on_fail == "raise":
        raise ConvergenceError(msg)
    if on_fail == "warn":
        warnings.warn(msg, RuntimeWarning, stacklevel=stacklevel)


class Result:
    """Base of every result type in deeptheory: a frozen dataclass with named fields.

    Fields are read by name (``res.q1``); a result also unpacks like a tuple in field
    order (``a, b = res``), indexes by position, and offers ``_asdict()`` and
    ``_replace(**changes)``.  Subclasses are declared ``@dataclass(frozen=True)``.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return sum(1 for _ in self.__iter__())

    def __getitem__(self, i: int) -> Any:
        return tuple(self.__iter__())[i]

    def _asdict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def _replace(self, **changes: Any) -> Any:
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class Estimate(Result):
    """A statistical estimate: ``value``, its standard error ``stderr`` and sample size ``n``.

    ``stderr`` is std(ddof=1) / sqrt(n) for a mean over ``n`` independent trials
    (or the bootstrap standard deviation, where a function says so).  ``samples``
    (optional) holds the per-trial values, trials on axis 0.  Unpacks as
    ``value, stderr = estimate``; ``mean`` is an alias of ``value``.
    """

    value: np.ndarray | float
    stderr: np.ndarray | float
    n: int
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def mean(self) -> np.ndarray | float:
        return self.value

    @property
    def n_trials(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[np.ndarray | float]:
        yield self.value
        yield self.stderr

    def zscore(self, value: Any) -> np.ndarray | float:
        """(self.value - value) / stderr: how many standard errors ``value`` lies away."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.asarray(self.value) - np.asarray(value, dtype=float)) / np.asarray(self.stderr)
        return z if z.ndim else float(z)

    @classmethod
    def from_samples(cls, samples: Any) -> Estimate:
        """Mean over axis 0 and its standard error std(ddof=1)/sqrt(n); keeps the samples."""
        s = np.asarray(samples, dtype=float)
        n = s.shape[0]
        if n < 2:
            raise ValueError(f"an estimate needs at least 2 samples, got {n}")
        mean = s.mean(axis=0)
        se = s.std(axis=0, ddof=1) / np.sqrt(n)
        if mean.ndim == 0:
            mean, se = float(mean), float(se)
        return cls(value=mean, stderr=se, n=n, samples=s)


def as_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """A Generator from ``seed``: an int >= 0, a Generator (used as is) or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"{name} must be an int >= 0, a numpy.random.Generator or None, got {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def as_seed(seed: Any, name: str = "seed") -> int:
    """An int seed for the compiled samplers (which take integer seeds).

    An int >= 0 is returned as is (the samplers check their own upper bound,
    seed + n_trials - 1 < 2**32); a Generator or None draws one in [0, 2**31),
    leaving room for the per-trial seeds above it (a Generator advances).
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"{name} must be >= 0, got {seed}")
        if seed >= 2**63:
            raise ValueError(f"{name} must be < 2**63, got {seed}")
        return int(seed)
    return int(as_rng(seed, name).integers(0, 2**31))
