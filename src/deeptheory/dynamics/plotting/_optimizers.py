"""Training as a dynamical system (issue 14): stability regions and rates of GD, heavy
ball and Nesterov on quadratics :func:`plot_stability_region` (Polyak 1964), the local
error order of GD against the plain and modified flows :func:`plot_local_error_order`
(Barrett & Dherin 2021), and the energy of leapfrog and explicit Euler
:func:`plot_energy` (Hairer, Lubich & Wanner 2006)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import _as_1d

#: levels of the rate contours of :func:`plot_stability_region`
RATE_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def plot_stability_region(
    grid: Any,
    ax: Any = None,
    *,
    optimal: Any = None,
    optimal_label: str | None = None,
    scaled: bool = False,
    levels: Any = RATE_LEVELS,
    vmin: float | None = None,
    cmap: str = "viridis",
) -> Any:
    """Stability region and convergence rate of an optimiser on a quadratic, from a
    :class:`~deeptheory.dynamics.StabilityGrid` (:func:`~deeptheory.dynamics.stability_grid`).

    Two or more momenta: the rate (spectral radius of the linear iteration, Polyak 1964)
    as an image over (eta, beta) (``QuadMesh``, gid ``"rate"``, colour scale [vmin, 1]
    with vmin the smallest rate rounded down to 0.1 unless given, rates >= 1 grey:
    divergence), its contours at ``levels`` (gid ``"contours"``) and the
    closed-form boundary eta_max(beta) (:func:`~deeptheory.dynamics.max_stable_step`:
    2 (1 + beta)/lambda_max for heavy ball, 2 (1 + beta)/((1 + 2 beta) lambda_max) for
    Nesterov 1983) as a white dashed line (gid ``"boundary"``).  One momentum (gradient
    descent, ``betas = [0]``): the rate against eta (gid ``"rate"``), the root modulus of
    each eigenvalue of a spectrum of at most 10 (thin grey, gid ``"rate_eigenvalue"``),
    the line rate = 1 and the boundary as a vertical dashed line (gid ``"boundary"``).

    optimal : None, an :class:`~deeptheory.dynamics.OptimalParameters`
        (:func:`~deeptheory.dynamics.optimal_heavy_ball`, :func:`~deeptheory.dynamics.
        optimal_gd`) or a pair (eta, beta): drawn as a red star (gid ``"optimal"``),
        labelled ``optimal_label`` (default "optimal (eta, beta) = ...").
    scaled : the x axis is eta lambda_max (lambda_max the largest eigenvalue of the grid's
        spectrum, which must be > 0) instead of eta.
    """
    import matplotlib.pyplot as plt

    try:
        etas, betas = grid.etas, grid.betas
        rate, eta_max = grid.rate, grid.eta_max
        lam, method = grid.eigenvalues, str(grid.method)
    except AttributeError:
        raise TypeError("grid must be a StabilityGrid (etas, betas, rate, eta_max, "
                        f"eigenvalues, method), got {type(grid).__name__}") from None
    e = _as_1d("etas", etas, 2)
    b = _as_1d("betas", betas, 1)
    r = np.asarray(rate, dtype=float)
    em = _as_1d("eta_max", eta_max, 1)
    lam = _as_1d("eigenvalues", lam, 1)
    if r.shape != (b.size, e.size):
        raise ValueError(f"rate must have shape (n_beta, n_eta) = ({b.size}, {e.size}), "
                         f"got {r.shape}")
    if em.shape != b.shape:
        raise ValueError(f"eta_max must have the shape of betas {b.shape}, got {em.shape}")
    if not (np.all(np.isfinite(e)) and np.all(e > 0) and np.all(np.isfinite(b))):
        raise ValueError("etas must be finite and > 0, betas finite")
    if not np.all(np.isfinite(r)):
        raise ValueError("rate must be finite")
    scale = 1.0
    if scaled:
        if not lam.max() > 0:
            raise ValueError("scaled=True needs a largest eigenvalue > 0")
        scale = float(lam.max())
    opt = None
    if optimal is not None:
        if hasattr(optimal, "eta") and hasattr(optimal, "beta"):
            opt = (float(optimal.eta), float(optimal.beta), getattr(optimal, "rate", None))
        else:
            try:
                oe, ob = optimal
            except (TypeError, ValueError):
                raise ValueError("optimal must be an OptimalParameters or a pair (eta, beta)") \
                    from None
            opt = (float(oe), float(ob), None)
        if not (math.isfinite(opt[0]) and math.isfinite(opt[1])):
            raise ValueError(f"optimal (eta, beta) must be finite, got {opt[:2]}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    x = e * scale
    xlabel = r"$\eta\,\lambda_{\max}$" if scaled else r"step $\eta$"
    names = {"gd": "gradient descent", "heavy_ball": "heavy ball (Polyak 1964)",
             "nesterov": "Nesterov (constant momentum)"}
    if b.size == 1:
        ax.plot(x, r[0], "-", color="C0", lw=1.6, gid="rate", label="rate (spectral radius)")
        if lam.size <= 10:
            from ..optimizers import quadratic_rate

            bb = None if method == "gd" else b[0]
            for i, li in enumerate(lam):
                ax.plot(x, np.asarray(quadratic_rate(e, bb, li, method)), "-", color="0.55",
                        lw=0.7, gid="rate_eigenvalue",
                        label="root modulus per eigenvalue" if i == 0 else None)
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        if math.isfinite(em[0]):
            ax.axvline(em[0] * scale, color="k", ls="--", lw=1.1, gid="boundary",
                       label=f"stable for {xlabel} < {em[0] * scale:.4g}")
        if opt is not None:
            ry = opt[2] if opt[2] is not None else float(np.interp(opt[0] * scale, x, r[0]))
            lab = optimal_label or rf"optimal $\eta$ = {opt[0]:.4g}, rate {ry:.4g}"
            ax.plot([opt[0] * scale], [ry], "*", color="C3", ms=12, mec="k", mew=0.5,
                    gid="optimal", label=lab)
        ax.set_ylabel("rate (spectral radius)")
        ax.set_ylim(0.0, min(max(1.2, float(r[0].min()) + 0.2), float(r[0].max()) * 1.05 + 0.05))
        ax.set_title(f"{names.get(method, method)}, " + rf"$\beta$ = {b[0]:g}", fontsize=9)
    else:
        cm = plt.get_cmap(cmap).with_extremes(over="0.82")
        lo = math.floor(10.0 * float(r.min())) / 10.0 if vmin is None else float(vmin)
        lo = min(lo, 0.9)
        mesh = ax.pcolormesh(x, b, r, shading="nearest", cmap=cm, vmin=lo, vmax=1.0)
        mesh.set_gid("rate")
        plt.colorbar(mesh, ax=ax, extend="max", label="rate (spectral radius); grey: >= 1")
        lv = sorted(float(v) for v in np.atleast_1d(levels) if 0 < float(v) < 1)
        if lv and r.min() < lv[-1]:
            cs = ax.contour(x, b, r, levels=lv, colors="k", linewidths=0.5, alpha=0.6)
            cs.set_gid("contours")
            ax.clabel(cs, fontsize=6, fmt="%.2g")
        if np.any(np.isfinite(em)):
            ax.plot(em * scale, b, "--", color="w", lw=1.5, gid="boundary",
                    label="closed-form boundary")
        if opt is not None:
            lab = rf"optimal ($\eta$, $\beta$) = ({opt[0]:.3g}, {opt[1]:.3g})"
            if opt[2] is not None:
                lab += f", rate {opt[2]:.3g}"
            lab = optimal_label or lab
            ax.plot([opt[0] * scale], [opt[1]], "*", color="C3", ms=13, mec="w", mew=0.7,
                    gid="optimal", label=lab)
        ax.set_xlim(x.min(), x.max())
        ax.set_ylim(b.min(), b.max())
        ax.set_ylabel(r"momentum $\beta$")
        ax.set_title(names.get(method, method), fontsize=9)
    ax.set_xlabel(xlabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best" if b.size == 1 else "lower left")
    return ax


def plot_local_error_order(res: Any, ax: Any = None) -> Any:
    """Local error of one gradient-descent step against the gradient flow (slope 2) and
    against the modified flow of L + (eta/4)|grad L|^2 (slope 3), log-log against eta
    (backward error analysis, Barrett & Dherin 2021), from a
    :class:`~deeptheory.dynamics.LocalErrorOrder`
    (:func:`~deeptheory.dynamics.local_error_order`).

    Errors as markers (plain: circles C0, gid ``"plain"``; modified: squares C1, gid
    ``"modified"``) and the fitted power laws C eta^p with the result's slopes as dashed
    lines of the same colour (gids ``"plain_fit"``, ``"modified_fit"``; the intercept is
    the mean of log error - p log eta over the positive errors).  Errors <= 0 are left
    out.
    """
    import matplotlib.pyplot as plt

    try:
        etas, pe, me = res.etas, res.plain_error, res.modified_error
        ps, ms = float(res.plain_slope), float(res.modified_slope)
    except AttributeError:
        raise TypeError("res must be a LocalErrorOrder (etas, plain_error, modified_error, "
                        f"plain_slope, modified_slope), got {type(res).__name__}") from None
    e = _as_1d("etas", etas, 2)
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise ValueError("etas must be finite and > 0")
    pe, me = np.asarray(pe, dtype=float), np.asarray(me, dtype=float)
    if pe.shape != e.shape or me.shape != e.shape:
        raise ValueError(f"plain_error and modified_error must have the shape of etas "
                         f"{e.shape}, got {pe.shape} and {me.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.0))
    for err, p, col, mk, gid, name, want in (
            (pe, ps, "C0", "o", "plain", "gradient flow", 2),
            (me, ms, "C1", "s", "modified", r"modified flow of $L + \frac{\eta}{4}|\nabla L|^2$",
             3)):
        ok = np.isfinite(err) & (err > 0)
        ax.loglog(e[ok], err[ok], mk, color=col, ms=5, gid=gid, label=name)
        if math.isfinite(p) and ok.any():
            logc = float(np.mean(np.log(err[ok]) - p * np.log(e[ok])))
            hh = np.array([e[ok].min(), e[ok].max()])
            ax.loglog(hh, np.exp(logc) * hh ** p, "--", color=col, lw=1.1, gid=f"{gid}_fit",
                      label=f"fitted slope {p:.3f} (theory {want})")
    ax.set_xlabel(r"step $\eta$")
    ax.set_ylabel(r"$|x_1 - X(\eta)|$, one GD step against the flow")
    ax.legend(fontsize=7)
    return ax


def plot_energy(trajs: Any, ax: Any = None, *, relative: bool = False, time: bool = False,
                labels: Any = None, block: int = 1) -> Any:
    """Energy H = |p|^2/2 + L(x) along frictionless-momentum trajectories
    (:class:`~deeptheory.dynamics.HamiltonianTrajectory` from
    :func:`~deeptheory.dynamics.leapfrog` or :func:`~deeptheory.dynamics.explicit_euler`,
    run with ``loss=``): a symplectic integrator keeps it bounded, explicit Euler does not
    (Hairer, Lubich & Wanner 2006, ch. IX).

    ``trajs``: one trajectory or a sequence; one line per trajectory (gid ``"energy"``),
    colour C0, C1, ... in turn, solid for leapfrog and dashed otherwise, labelled
    "method, h = ..." unless ``labels`` are given.  relative : draw |H_k - H_0| / |H_0| on
    a log axis (points where it is 0 are left out) instead of H_k.  time : the x axis is
    t = k h instead of the step k.  block : for long oscillating runs, draw the maximum of
    the quantity over consecutive blocks of ``block`` steps (after the initial point), at
    each block's last step (1: every step).
    """
    import matplotlib.pyplot as plt

    items = [trajs] if hasattr(trajs, "energy") else list(trajs) if isinstance(
        trajs, (list, tuple)) else None
    if items is None:
        raise TypeError(f"trajs must be a HamiltonianTrajectory or a list of them, got "
                        f"{type(trajs).__name__}")
    if not items:
        raise ValueError("trajs is empty")
    if isinstance(block, bool) or int(block) != block or block < 1:
        raise ValueError(f"block must be an integer >= 1, got {block!r}")
    block = int(block)
    labs = None if labels is None else list(labels)
    if labs is not None and len(labs) != len(items):
        raise ValueError(f"labels must have one entry per trajectory ({len(items)}), got "
                         f"{len(labs)}")
    data = []
    for k, t in enumerate(items):
        en = getattr(t, "energy", None)
        if not hasattr(t, "h") or not hasattr(t, "method"):
            raise TypeError(f"trajs[{k}] must be a HamiltonianTrajectory, got "
                            f"{type(t).__name__}")
        if en is None:
            raise ValueError(f"trajs[{k}] has no energy: run leapfrog / explicit_euler with "
                             "loss=")
        en = np.asarray(en, dtype=float)
        if en.ndim != 1 or en.size < 1:
            raise ValueError(f"trajs[{k}].energy must be 1-D and non-empty, got {en.shape}")
        if relative and en[0] == 0.0:
            raise ValueError(f"trajs[{k}]: H_0 = 0, the relative error is undefined")
        data.append((t, en))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    for k, (t, en) in enumerate(data):
        steps = np.arange(en.size, dtype=float)
        xx = steps * float(t.h) if time else steps
        if relative:
            y = np.abs(en - en[0]) / abs(en[0])
            y = np.where(y > 0, y, np.nan)
        else:
            y = en
        if block > 1 and y.size > 1:
            m = (y.size - 1) // block
            rest = y[1:1 + m * block].reshape(m, block)
            with np.errstate(all="ignore"):
                mx = np.where(np.all(np.isnan(rest), axis=1), np.nan,
                              np.nanmax(np.where(np.isnan(rest), -np.inf, rest), axis=1))
            xx = np.concatenate([xx[:1], xx[block:1 + m * block:block]])
            y = np.concatenate([y[:1], mx])
        name = {"explicit_euler": "explicit Euler"}.get(t.method, t.method.replace("_", " "))
        lab = labs[k] if labs is not None else f"{name}, h = {t.h:g}"
        ls = "-" if t.method == "leapfrog" else "--"
        ax.plot(xx, y, ls, color=f"C{k % 10}", lw=1.2, gid="energy", label=lab)
    if relative:
        ax.set_yscale("log")
        ax.set_ylabel(r"$|H_k - H_0| \,/\, |H_0|$")
    else:
        ax.set_ylabel(r"energy $H = |p|^2/2 + L(x)$")
    ax.set_xlabel("time $t = k h$" if time else "step $k$")
    ax.legend(fontsize=7)
    return ax
