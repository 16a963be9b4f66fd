"""Progress bars for the long loops of the toolkit (tqdm, imported only when one is shown).

Every long operation that takes ``progress=`` (off by default in library calls; the
command line turns it on for long runs) calls :func:`progress_bar` or
:func:`progress_ranges`; when disabled they cost nothing and tqdm is not imported, so
``import deeptheory.meanfield`` and a quiet call stay free of it.  Bars write to stderr.
The rule every caller keeps: a bar never changes a result.  A batch that one compiled call
would run (trials with per-trial seeds, points integrated independently, rows of a
pairwise sum, steps whose state the kernel carries) runs in blocks of
:func:`progress_ranges` only when the bar is on, and the tests compare both ways bitwise.

Users (see ``docs/sweeps.md`` for what each bar counts): :func:`deeptheory.sweep.sweep`;
the ``simulate_*`` / ``empirical_*`` samplers of :mod:`deeptheory.meanfield` and
:func:`deeptheory.rmt.sample_jacobian_singular_values` (trials); spin-glass Monte Carlo,
gradient descent, critical points, enumeration, Parisi steps and GOE counts;
:func:`deeptheory.dynamics.lyapunov_spectrum` (steps), the diffusion samplers, the
optimisers and game dynamics, the trainers; the KDE / KSG estimators, the information
bottleneck and the information plane of :mod:`deeptheory.infotheory`.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["check_progress", "progress_bar", "progress_ranges"]


class _NoBar:
    """The bar when progress is off: every method does nothing."""

    n = 0

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def check_progress(progress: Any, name: str = "progress") -> bool:
    """Validate a ``progress`` argument: True or False (None, 0, 1 and numpy bools too)."""
    if progress is None or progress is True or progress is False:
        return bool(progress)
    if isinstance(progress, np.bool_) or (isinstance(progress, int) and progress in (0, 1)):
        return bool(progress)
    raise TypeError(f"{name} must be True or False, got {progress!r}")


def progress_bar(total: int | None, desc: str = "", enabled: bool = False, *,
                 unit: str = "it", leave: bool = True) -> Any:
    """A tqdm bar on stderr over ``total`` units (``enabled``), or a no-op bar.

    Use as a context manager (``with progress_bar(n, "train_mlp", progress) as bar:
    bar.update()``); the bar offers ``update(n)``, ``set_postfix_str(s)`` and ``close()``
    either way.  tqdm is imported here, on the first enabled bar only.
    """
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)


def progress_ranges(total: int, desc: str = "", enabled: bool = False, *, unit: str = "it",
                    n_chunks: int = 50, min_size: int = 1) -> Any:
    """Split ``range(total)`` into consecutive ``(start, stop)`` blocks, with a bar.

    For a long batch that one compiled call would run at once (trials, samples, starts,
    steps): disabled, this yields the single block ``(0, total)`` (no bar, no extra calls);
    enabled, it yields about ``n_chunks`` blocks of at least ``min_size`` items (pass the
    thread count for a ``prange`` loop, so each call still fills the pool) and advances a
    bar by each block once the caller has processed it.  Callers whose items use
    per-item seeds (seed + k, or a key per item) get bitwise the same result either way.
    """
    total = int(total)
    if not enabled:
        if total > 0:
            yield 0, total
        return
    size = max(int(min_size), -(-total // max(int(n_chunks), 1)), 1)
    with progress_bar(total, desc, True, unit=unit) as bar:
        for a in range(0, total, size):
            b = min(total, a + size)
            yield a, b
            bar.update(b - a)
