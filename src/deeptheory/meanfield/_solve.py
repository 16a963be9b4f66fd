"""Vectorised safeguarded Newton iteration (Newton inside a bracket, else bisection)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._api import ConvergenceError, check_on_fail, report_nonconvergence  # noqa: F401


def bracketed_newton(
    fdf: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    x0: np.ndarray | None = None,
    *,
    rtol: float = 1e-13,
    atol: float = 1e-300,
    maxiter: int = 100,
    sign_lo: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve f(x) = 0 on [lo, hi] elementwise, f(lo) and f(hi) of opposite sign.

    ``fdf(x, idx)`` returns f and f' at ``x`` for the flat points ``idx`` (so a
    caller evaluates its kernel once per iteration for all unfinished points).
    A Newton step is taken when it stays strictly inside the bracket and is at
    most half the step before last (as in Numerical Recipes' ``rtsafe``); otherwise
    the step bisects (geometrically when a positive bracket spans a factor > 4).  Stops where
    the step or the bracket is below ``atol + rtol * |x|``.

    ``sign_lo`` (optional) is the known sign of f at ``lo``, which saves an evaluation.

    Returns (x, converged mask, iterations used).
    """
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    x = 0.5 * (lo + hi) if x0 is None else np.clip(np.array(x0, dtype=float), lo, hi)
    n = x.size
    idx = np.arange(n)
    if sign_lo is None:
        flo, _ = fdf(lo, idx)
        slo = np.sign(flo)
        done = flo == 0.0
        x[done] = lo[done]
    else:  # the caller knows the sign of f at lo: save one evaluation
        slo = np.broadcast_to(np.sign(np.asarray(sign_lo, dtype=float)), (n,)).copy()
        done = np.zeros(n, dtype=bool)
    dx_prev = np.full(n, np.inf)  # step before last (rtsafe-style safeguard)
    dx_last = np.full(n, np.inf)
    it = 0
    for it in range(1, maxiter + 1):  # noqa: B007
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        xa = x[act]
        f, df = fdf(xa, act)
        zero = f == 0.0
        same = np.sign(f) == slo[act]
        lo[act] = np.where(same, xa, lo[act])
        hi[act] = np.where(same, hi[act], xa)
        a, b = lo[act], hi[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = xa - f / df
        inside = np.isfinite(xn) & (xn > np.minimum(a, b)) & (xn < np.maximum(a, b))
        fast = np.abs(xn - xa) <= 0.5 * dx_prev[act]
        use_newton = inside & fast
        # bisect geometrically when a positive bracket spans orders of magnitude
        lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
        geo = (lo_ > 0) & (hi_ > 4.0 * lo_)
        mid = np.where(geo, np.sqrt(np.abs(a * b)), 0.5 * (a + b))
        xn = np.where(use_newton, xn, mid)
        dx_prev[act] = dx_last[act]
        dx_last[act] = np.abs(xn - xa)
        width = np.abs(b - a)
        tol = atol + rtol * np.abs(xn)
        conv = zero | (np.abs(xn - xa) <= tol) | (width <= tol)
        x[act] = np.where(zero, xa, xn)
        done[act] = conv
    return x, done, it


def report(converged: np.ndarray, what: str, maxiter: int, on_fail: str,
           reason: str | None = None) -> None:
    """Raise or warn about points that did not converge (on_fail: "raise", "warn", "ignore")."""
    bad = int(np.size(converged) - np.count_nonzero(converged))
    if bad == 0 or on_fail == "ignore":
        return
    if reason is None:
        reason = (f"did not converge in {maxiter} iterations (raise maxiter or loosen rtol)")
    msg = f"{what}: {bad} of {np.size(converged)} points {reason}; those entries are NaN"
    report_nonconvergence(msg, on_fail, stacklevel=4)
