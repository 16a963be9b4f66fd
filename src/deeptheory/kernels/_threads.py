"""Serial or parallel: launch a compiled loop on one thread when its batch is small.

Why.  A Numba ``parallel=True`` loop forks and joins the thread pool at every launch.
Measured on a 2-core x86-64 machine with Numba's default (GNU OpenMP) threading layer
and libgomp's default wait policy, the launch of an empty 64-iteration ``prange`` loop
costs 2-4 us while the second core is idle, but 1-16 ms (mean; median 16 ms with 0.2 ms
of other work between launches) while other processes keep the cores busy: the calling
thread spin-waits at the join (libgomp spins for milliseconds before it sleeps) while
the worker waits for a core.  A solver that launches a kernel thousands of times on a
handful of points then spends seconds in fork-joins (the Jacobian density of a depth-32
network took 66 s with two threads against 1.1 s with one).  A serial loop of the same
body has no such cost.

Wait policy.  Importing this module sets ``OMP_WAIT_POLICY=passive`` in the environment
unless it is already set (``os.environ.setdefault``): threads then sleep at a join
instead of spinning, and the same loaded-machine launch measured 12-14 us (median; mean
0.03-0.23 ms) instead, while an idle launch costs about 11 us instead of 3 us.  libgomp
reads the variable once, when Numba first starts its pool, so this acts only if no
OpenMP pool was started before deeptheory was imported, and it applies to every OpenMP
library the process loads afterwards; set ``OMP_WAIT_POLICY`` yourself (e.g. to
``active``) to override it.

Policy.  Every caller estimates the serial time of its batch in nanoseconds (items times
a per-item cost measured for that kernel) and :func:`use_parallel` says whether to launch
the ``parallel=True`` driver: only when that estimate is at least :data:`MIN_PARALLEL_NS`
and Numba has more than one thread.  The default, 2 ms, keeps the mean cost of a loaded
launch (at most 0.23 ms with the passive policy) near a tenth of the batch, and its rare
worst cases (a few ms) within a small multiple, while batches of 2 ms and more still gain
up to the thread count on an idle machine.  Override with the environment variable
``DEEPTHEORY_MIN_PARALLEL_NS`` (read at import; 0 means "parallel whenever Numba has
several threads") or assign :data:`MIN_PARALLEL_NS` at run time.

Pattern: one source of truth for the loop body, two compiled drivers::

    @njit(cache=True)
    def _body(i, z, out):              # one iteration
        ...

    @njit(cache=True)
    def _run_serial(z, out):
        for i in range(z.shape[0]):
            _body(i, z, out)

    @njit(cache=True, parallel=True)
    def _run_parallel(z, out):
        for i in prange(z.shape[0]):
            _body(i, z, out)

    pick(_run_serial, _run_parallel, z.shape[0] * NS_PER_ITEM)(z, out)

Each iteration does the same arithmetic in the same order on either driver (no
reductions across iterations, no ``fastmath``), so the two give bitwise equal results
and the choice never changes a value.  :func:`forced` pins the choice (tests, benchmarks).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import numba

__all__ = ["MIN_PARALLEL_NS", "forced", "pick", "thread_count", "use_parallel"]

F = TypeVar("F", bound=Callable)

# before Numba starts its OpenMP pool (libgomp reads this once, when it is loaded)
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

#: estimated serial time (ns) from which a batch is launched on the thread pool
MIN_PARALLEL_NS: float = float(os.environ.get("DEEPTHEORY_MIN_PARALLEL_NS", "2e6"))

_MODES = ("auto", "serial", "parallel")
_FORCED: ContextVar[str] = ContextVar("deeptheory_thread_mode", default="auto")


def use_parallel(work_ns: float) -> bool:
    """Whether a batch with an estimated serial time of ``work_ns`` nanoseconds should run
    on the thread pool: at least :data:`MIN_PARALLEL_NS` and ``numba.get_num_threads()``
    above 1 (unless :func:`forced` pins the answer)."""
    mode = _FORCED.get()
    if mode != "auto":
        return mode == "parallel"
    return work_ns >= MIN_PARALLEL_NS and numba.get_num_threads() > 1


def thread_count() -> int:
    """Numba's thread count (``numba.get_num_threads()``): the block size from which a
    chunked ``prange`` call still fills the pool (used with ``progress=`` bars)."""
    return int(numba.get_num_threads())


def pick(serial: F, parallel: F, work_ns: float) -> F:
    """``parallel`` if :func:`use_parallel` (``work_ns``) holds, else ``serial``."""
    return parallel if use_parallel(work_ns) else serial


@contextmanager
def forced(mode: str | None) -> Iterator[None]:
    """Pin the dispatch inside the block: ``"serial"``, ``"parallel"`` or ``"auto"``/None
    (the size rule).  Context-local (threads and asyncio tasks keep their own setting)."""
    m = "auto" if mode is None else mode
    if m not in _MODES:
        raise ValueError(f"mode must be one of {_MODES} or None, got {mode!r}")
    token = _FORCED.set(m)
    try:
        yield
    finally:
        _FORCED.reset(token)
