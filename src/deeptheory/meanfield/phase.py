"""The order-to-chaos line and phase diagrams over (sigma_w^2, sigma_b^2).

Critical line (Poole et al. 2016; Schoenholz et al. 2017): chi_1 = 1.  Without
nested root finding it is traced parametrically by q* > 0:

    sigma_w^2(q) = 1 / E[phi'(sqrt(q) z)^2],
    sigma_b^2(q) = q - sigma_w^2(q) E[phi(sqrt(q) z)^2],

(so that V(q) = q and chi_1 = 1 at once); ``critical_line`` inverts the
second relation for the requested sigma_b^2.  For sin, E[sin^2] = (1 - e^{-2q}) / 2 and
E[cos^2] = (1 + e^{-2q}) / 2 give the line in closed form:
sigma_w^2 = 2 / (1 + e^{-2q}), sigma_b^2 = q - tanh q.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._api import Result, report_nonconvergence
from .._validation import as_float
from ..kernels import Activation, get_activation
from ..kernels.quadrature import expect_moments, order_for_rtol
from ._gauss import E1, check_quad
from ._params import check_solver
from ._solve import bracketed_newton, check_on_fail
from .cmap import fixed_point_state, phi1_sq_at_zero
from .depth import _depth_scale_nan, _q_slope_at_fixed_point
from .qmap import Q_INF, _fused, q_cap

#: grids with more points than this raise (with a time estimate) unless ``force=True``
PHASE_DIAGRAM_MAX_POINTS = 250_000
#: approximate cost per grid point used for the estimate (measured on a 60 x 60 grid on
#: the shared 2-core machine: tanh 0.33 ms, sin 0.26, gelu 0.43, elu 0.54, hard_tanh 1.6)
_SECONDS_PER_POINT = 2e-3

__all__ = ["critical_line", "phase_diagram", "PhaseDiagram"]

_QLADDER = 10.0 ** np.arange(-12.0, 8.01, 0.25)


def _sb2_of_q(act, q, quad):
    if _fused(act, quad):
        m = expect_moments(act, q, [(0, 0), (1, 1)], **quad)
        e0, e1 = m[..., 0], m[..., 1]
    else:
        e0 = E1(act, q, (0, 0), **quad)
        e1 = E1(act, q, (1, 1), **quad)
    return q - e0 / e1, 1.0 / e1


def critical_line(
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    rtol: float = 1e-13,
    maxiter: int = 100,
    **quad: Any,
) -> np.ndarray | float:
    """sigma_w^2 on the order-to-chaos line chi_1 = 1 for each sigma_b^2 (>= 0).

    At sigma_b^2 = 0 the line starts at sigma_w^2 = 1 / phi'(0)^2: 1 for tanh,
    pi/4 for erf(x) (erf'(0)^2 = 4/pi; erf(sqrt(pi) x / 2) gives 1); for homogeneous
    activations (relu, linear) E[phi'^2] does not depend on q and the line is
    sigma_w^2 = 1 / E[phi'^2] (= 2 for relu) for every sigma_b^2 (for relu with
    sigma_b^2 > 0 the length q* diverges there).  At sigma_b^2 = 0 with phi(0) = 0 the
    value is the exact limit 1 / E[phi'(0)^2] (mean of the one-sided values at a kink;
    1 for elu and sin).  sin: sigma_w^2 = 2 / (1 + e^{-2q}) at sigma_b^2 = q - tanh q.
    The parametric scan covers q* in [1e-12, 1e8], or up to :func:`q_cap` for
    oscillating activations (the largest q the quadrature rule resolves).  Where no
    point of the line has the requested sigma_b^2 (e.g. softplus, whose sigma_b^2(q)
    is negative) the result is NaN and a ``RuntimeWarning`` says so.
    """
    act = get_activation(activation)
    act.require(1, "the critical line (chi_1)")
    quad = check_quad(quad)
    rtol, maxiter = check_solver(rtol, maxiter)
    sb = as_float("sigma_b2", sigma_b2, lo=0.0)
    flat = sb.ravel()
    cap = q_cap(act, quad)
    L = _QLADDER[_QLADDER < cap]
    if cap < _QLADDER[-1]:
        L = np.append(L, cap)
    s, w = _sb2_of_q(act, L, quad)
    out = np.full(flat.size, np.nan)
    if np.ptp(w) <= 1e-10 * abs(w[0]):
        out[:] = w[0]
        return out.reshape(sb.shape) if sb.ndim else float(out[0])
    # s(q) = O(q^3) as q -> 0 for odd phi: allow rounding noise so sigma_b2 = 0 maps to q -> 0
    above = s[None, :] >= flat[:, None] - 1e-9 * L[None, :]
    has = above.any(axis=1)
    j = np.argmax(above, axis=1)
    at0 = has & (j == 0)
    # the q -> 0 end: exact 1 / phi'(0)^2 when phi(0) = 0 (else the first rung's value)
    out[at0] = 1.0 / phi1_sq_at_zero(act) if act(0.0) == 0.0 else w[0]
    sol = np.flatnonzero(has & (j > 0))
    if sol.size:
        tgt = flat[sol]
        lo, hi = np.log(L[j[sol] - 1]), np.log(L[j[sol]])

        def fdf(x, idx):
            h = 1e-6
            q = np.exp(x)
            both = _sb2_of_q(act, np.concatenate([q, q * np.exp(h)]), quad)[0]  # one launch
            f = both[: q.size] - tgt[idx]
            fp = both[q.size:] - tgt[idx]
            return f, (fp - f) / h

        x, conv, _ = bracketed_newton(fdf, lo, hi, rtol=rtol, maxiter=maxiter)
        out[sol] = np.where(conv, _sb2_of_q(act, np.exp(x), quad)[1], np.nan)
    if np.isnan(out).any():
        warnings.warn(
            f"critical_line: {int(np.isnan(out).sum())} sigma_b2 values have no point with "
            f"chi_1 = 1 for activation {act.name!r} (q* in [1e-12, {L[-1]:.3g}]); returned NaN "
            "there",
            RuntimeWarning, stacklevel=2)
    return out.reshape(sb.shape) if sb.ndim else float(out[0])


@dataclass(frozen=True)
class PhaseDiagram(Result):
    """Mean-field quantities on a (sigma_b^2, sigma_w^2) grid.

    Arrays have shape (len(sigma_b2), len(sigma_w2)) (rows: sigma_b^2), so
    ``plt.pcolormesh(pd.sigma_w2, pd.sigma_b2, pd.xi_c)`` plots them directly.
    ``critical_sigma_w2[i]`` is the chi_1 = 1 line at ``sigma_b2[i]``.
    """

    activation: str
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    chi1: np.ndarray
    c_star: np.ndarray
    chi_c: np.ndarray
    xi_c: np.ndarray
    xi_q: np.ndarray
    chi2: np.ndarray | None
    critical_sigma_w2: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def chaotic(self) -> np.ndarray:
        """Boolean mask of the chaotic phase (chi_1 > 1)."""
        return self.chi1 > 1.0


def phase_diagram(
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    rtol: float = 1e-10,
    maxiter: int = 100,
    on_fail: str = "warn",
    order: int | None = None,
    force: bool = False,
    progress: Callable[[int, int], Any] | bool | None = None,
    **quad: Any,
) -> PhaseDiagram:
    """Compute q*, chi_1, c*, chi_c, xi_c, xi_q (and chi_2 if phi'' exists) on a grid.

    Poole et al. 2016; Schoenholz et al. 2017 (quantities as in :func:`q_star`,
    :func:`chi_c`, :func:`xi_q`, :func:`xi_c`).  ``sigma_w2`` and ``sigma_b2`` are 1-D
    grids (the diagram is their outer product).  All points are solved together: each
    Newton iteration is one compiled-kernel call over the whole grid (or over a chunk of
    rows when ``progress`` is given).  In the chaotic phase c* and chi_c come from the
    Mehler series of the C-map (one sweep of 1-D quadrature per point, see
    :func:`deeptheory.kernels.hermite_coefficients`), with the 2-D quadrature only where
    the series' error bound exceeds ``rtol`` (next to the critical line).

    ``rtol`` (default 1e-10) is the requested relative accuracy of q*, chi_1 and chi_c
    (absolute for c*): it sets the Newton tolerances and, unless ``order`` is given, the
    panel order (:func:`deeptheory.kernels.order_for_rtol`: 8 at 1e-10, 6 at 1e-6, 4 at
    1e-4; measured errors 2e-11, 4e-8 and 5e-5 over seven activations).  Use ``rtol=1e-6``
    for plots.  Next to the critical line c* is ill-conditioned (the error of 1 - c* grows
    like eps / ((1 - chi_c) (1 - c*))), whatever the rule.

    ``on_fail``: "warn" (default: a grid keeps going; points whose q* or c* did not
    converge are NaN and one ``RuntimeWarning`` gives their count), "raise"
    (:class:`ConvergenceError` after the grid is computed, with the count) or "ignore".

    Work bound: a grid of more than ``PHASE_DIAGRAM_MAX_POINTS`` = 250,000 points raises
    ``ValueError`` with a time estimate (2 ms per point; measured 0.3 ms for tanh and
    1.6 ms for hard_tanh) unless ``force=True``.  ``progress``: a callable ``progress(rows_done,
    rows_total)`` called after each chunk of rows, or True to print that to stderr.
    """
    act = get_activation(activation)
    sw = np.atleast_1d(as_float("sigma_w2", sigma_w2, lo=0.0))
    sb = np.atleast_1d(as_float("sigma_b2", sigma_b2, lo=0.0))
    if sw.ndim != 1 or sb.ndim != 1:
        raise ValueError("sigma_w2 and sigma_b2 must be 1-D grids")
    if sw.size == 0 or sb.size == 0:
        raise ValueError("sigma_w2 and sigma_b2 must be non-empty")
    on_fail = check_on_fail(on_fail)
    rtol, maxiter = check_solver(rtol, maxiter)
    if not isinstance(force, bool):
        raise TypeError(f"force must be True or False, got {force!r}")
    if progress is True:
        def progress(done, total):  # noqa: F811
            print(f"phase_diagram: {done}/{total} rows", file=sys.stderr, flush=True)
    elif progress is not None and progress is not False and not callable(progress):
        raise TypeError(f"progress must be a callable(rows_done, rows_total), True or None, "
                        f"got {progress!r}")
    npts = sw.size * sb.size
    if npts > PHASE_DIAGRAM_MAX_POINTS and not force:
        est = npts * _SECONDS_PER_POINT
        raise ValueError(
            f"phase_diagram: {sb.size} x {sw.size} = {npts} points exceeds "
            f"{PHASE_DIAGRAM_MAX_POINTS}; estimated {est:.3g} s (~{est / 3600:.2g} h at about "
            f"{_SECONDS_PER_POINT * 1e3:.0f} ms per point); pass force=True to run")
    if order is None:
        order = order_for_rtol(rtol)
    quad = check_quad({**quad, "order": order})
    shape = (sb.size, sw.size)
    if progress:
        rows_per = max(1, 2000 // sw.size)
    else:
        rows_per = sb.size
    keys = ("q_star", "chi1", "c_star", "chi_c", "xi_q", "chi2")
    res = {k: np.empty(shape) for k in keys}
    for r0 in range(0, sb.size, rows_per):
        rows = slice(r0, min(sb.size, r0 + rows_per))
        SW, SB = np.meshgrid(sw, sb[rows])
        w, b = SW.ravel(), SB.ravel()
        st = fixed_point_state(act, w, b, quad, rtol, maxiter, "ignore")
        qs = st["q_star"]
        qe = np.where(np.isinf(qs), Q_INF, np.where(np.isnan(qs), 1.0, np.maximum(qs, 1e-300)))
        if st["moments"] is not None:
            # V'(q*) = sigma_w^2 E[phi'^2 + phi phi''] and chi_2 from the pass that gave chi_1
            m = st["moments"]
            fin = np.isfinite(qs) & (qs > 0)
            slope = np.where(fin, w * (m[:, 0] + m[:, 1]), np.nan)
            lim = ~fin & ~np.isnan(qs)
            slope[lim] = _q_slope_at_fixed_point(act, qs[lim], qe[lim], w[lim], b[lim], quad)
            c2 = w * m[:, 2]
            # chi_2 at q* = inf is evaluated at Q_INF, at q* = 0 at q = 1e-300
            if (lim := np.isinf(qs) | (qs == 0.0)).any():
                c2[lim] = w[lim] * E1(act, qe[lim], (2, 2), **quad)
        else:
            slope = _q_slope_at_fixed_point(act, qs, qe, w, b, quad)
            c2 = w * E1(act, qe, (2, 2), **quad) if act.max_deriv >= 2 else None
        res["xi_q"][rows] = _depth_scale_nan(slope).reshape(SW.shape)
        if c2 is not None:
            res["chi2"][rows] = np.where(np.isnan(qs), np.nan, c2).reshape(SW.shape)
        for k in ("q_star", "chi1", "c_star", "chi_c"):
            res[k][rows] = st[k].reshape(SW.shape)
        if progress:
            progress(rows.stop, sb.size)
    bad = int(np.count_nonzero(np.isnan(res["q_star"]) | np.isnan(res["c_star"])))
    if bad:
        report_nonconvergence(
            f"phase_diagram: {bad} of {npts} points did not converge (q* or c*; raise maxiter, "
            "loosen rtol or change order); their entries are NaN", on_fail, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        crit = np.atleast_1d(critical_line(sb, act, **quad))
    return PhaseDiagram(
        activation=act.name,
        sigma_w2=sw,
        sigma_b2=sb,
        q_star=res["q_star"],
        chi1=res["chi1"],
        c_star=res["c_star"],
        chi_c=res["chi_c"],
        xi_c=_depth_scale_nan(res["chi_c"]),
        xi_q=res["xi_q"],
        chi2=res["chi2"] if act.max_deriv >= 2 else None,
        critical_sigma_w2=crit,
    )
