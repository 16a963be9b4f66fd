"""Diffusion models (issue 14; Song et al. 2021): generated samples over the target's
density contours :func:`plot_diffusion_samples` and the error of the probability-flow
ODE against the number of steps :func:`plot_flow_order`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: probability mass inside the target's density contours of :func:`plot_diffusion_samples`
HDR_MASSES = (0.5, 0.9, 0.99)
#: colours of the probability-flow schemes in :func:`plot_flow_order`
FLOW_COLOURS = {"euler": "C1", "rk4": "C0"}
#: display names of the diffusion samplers' schemes
SCHEME_NAMES = {"euler": "Euler", "rk4": "RK4", "dopri5": "Dormand-Prince 5(4)",
                "euler_maruyama": "Euler-Maruyama"}


def _hdr_levels(target: Any, masses: Any = HDR_MASSES, *, n: int = 20000,
                seed: Any = 0) -> np.ndarray:
    """Log-density levels of the highest-density regions of a mixture: the level c_q with
    P(ln p(Y) >= c_q) = q for Y ~ p, estimated as the (1 - q) quantile of ln p over ``n``
    exact draws (Hyndman 1996, "Computing and graphing highest density regions", Amer.
    Stat. 50, 120-126), in the order of ``masses`` (each in (0, 1)).  ``target`` is a
    :class:`~deeptheory.dynamics.GaussianMixture` (its ``sample`` and ``log_density``)."""
    q = np.asarray(masses, dtype=float).ravel()
    if q.size < 1 or np.any(~(q > 0)) or np.any(~(q < 1)):
        raise ValueError(f"masses must lie in (0, 1), got {np.asarray(masses).tolist()}")
    if not (hasattr(target, "sample") and hasattr(target, "log_density")):
        raise TypeError(f"target must be a GaussianMixture, got {type(target).__name__}")
    lp = np.asarray(target.log_density(target.sample(int(n), seed)), dtype=float)
    return np.quantile(lp, 1.0 - q)


def plot_diffusion_samples(
    samples: Any,
    target: Any = None,
    ax: Any = None,
    *,
    paths: Any = None,
    n_show: int | None = 4000,
    masses: Any = HDR_MASSES,
    grid: int = 200,
    color: str = "C0",
    size: float = 2.0,
    label: str | None = None,
    target_label: str = "target",
    legend_loc: str | None = "upper right",
    seed: Any = 0,
) -> Any:
    """Generated samples of a 2-D diffusion model as a scatter over the density contours of
    the target mixture (score-based generative modelling, Song et al. 2021; samplers of
    Anderson 1982 and Song et al. 2021, eq. 13).

    samples : a :class:`~deeptheory.dynamics.DiffusionSamples` (its ``samples``; its
        ``target`` when ``target`` is None; a title naming the sampler) or an (n, 2) array.
        Rows that are not finite (failed points) are left out; at most ``n_show`` points
        are drawn (a seeded random subset, in their original order; None: all), as one
        scatter (gid ``"samples"``).
    target : a :class:`~deeptheory.dynamics.GaussianMixture` in 2-D, or None (no
        contours).  Its log density on a ``grid`` x ``grid`` mesh is drawn as contour
        lines (gid ``"target"``, thicker for smaller regions) at the levels of the
        highest-density regions holding the fractions ``masses`` of the mass (default 50,
        90 and 99 %; Hyndman 1996): c_q with P(ln p(Y) >= c_q) = q, the 1 - q quantile of
        ln p over 20000 exact draws.
    paths : None or (n_times, m, 2) trajectories of m points (e.g. the probability-flow
        ODE from p_T to p_t0), drawn as lines (gid ``"path"``) with their first points
        (gid ``"path_start"``, open circles) and last points (gid ``"path_end"``).
    The limits cover the drawn points, the paths and the 99.9 % region of the target,
    with equal aspect; the legend (``label`` for the points, ``target_label`` for the
    contours) goes to ``legend_loc`` (None: no legend).  Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    proxy = []
    title = None
    if hasattr(samples, "samples") and hasattr(samples, "sampler"):
        res = samples
        x = np.asarray(res.samples, dtype=float)
        if target is None:
            target = getattr(res, "target", None)
        steps = np.asarray(getattr(res, "n_steps", [0]))
        ns = f", {int(steps.max())} steps" if steps.size and res.method != "dopri5" else ""
        name = {"probability_flow": "probability-flow ODE",
                "reverse_sde": "reverse SDE"}.get(res.sampler, str(res.sampler))
        title = f"{name} ({SCHEME_NAMES.get(res.method, res.method)}{ns}), t0 = {res.t0:g}"
    else:
        x = np.asarray(samples, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {x.shape}")
    x = x[np.all(np.isfinite(x), axis=1)]
    if n_show is not None:
        k = int(n_show)
        if k < 1:
            raise ValueError(f"n_show must be >= 1 or None, got {n_show!r}")
        if x.shape[0] > k:
            keep = np.sort(np.random.default_rng(seed).choice(x.shape[0], k, replace=False))
            x = x[keep]
    if target is not None:
        if not (hasattr(target, "log_density") and hasattr(target, "dim")):
            raise TypeError(f"target must be a GaussianMixture, got {type(target).__name__}")
        if target.dim != 2:
            raise ValueError(f"target must be 2-D, got dimension {target.dim}")
    pts = None
    if paths is not None:
        pts = np.asarray(paths, dtype=float)
        if pts.ndim != 3 or pts.shape[2] != 2 or pts.shape[0] < 2:
            raise ValueError(f"paths must have shape (n_times >= 2, m, 2), got {pts.shape}")
    g = int(grid)
    if g < 10:
        raise ValueError(f"grid must be >= 10, got {grid!r}")
    levels = None
    if target is not None:
        levels = _hdr_levels(target, masses, seed=seed)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 5.0))
    boxes = [x] if x.size else []
    if pts is not None:
        boxes.append(pts.reshape(-1, 2)[np.all(np.isfinite(pts.reshape(-1, 2)), axis=1)])
    if target is not None:
        ref = target.sample(20000, seed)
        lp = np.asarray(target.log_density(ref))
        boxes.append(ref[lp >= np.quantile(lp, 0.001)])
    allp = np.concatenate(boxes) if boxes else np.zeros((1, 2))
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = 0.05 * float(np.max(hi - lo)) + 1e-9
    lo, hi = lo - pad, hi + pad
    ax.scatter(x[:, 0], x[:, 1], s=size, color=color, alpha=0.5, linewidths=0, gid="samples",
               rasterized=True)
    proxy.append(Line2D([], [], ls="none", marker="o", ms=4, color=color,
                        label=label if label is not None else f"samples ({x.shape[0]} shown)"))
    if target is not None:
        gx, gy = np.linspace(lo[0], hi[0], g), np.linspace(lo[1], hi[1], g)
        xx, yy = np.meshgrid(gx, gy)
        zz = np.asarray(target.log_density(np.column_stack([xx.ravel(), yy.ravel()])))
        order = np.argsort(levels)
        lev = levels[order]
        mass = np.asarray(masses, dtype=float).ravel()[order]
        widths = 0.6 + 1.2 * (1.0 - mass)
        cs = ax.contour(xx, yy, zz.reshape(xx.shape), levels=lev, colors="k",
                        linewidths=widths, linestyles="solid")
        cs.set_gid("target")
        proxy.append(Line2D([], [], color="k", lw=1.0, label=f"{target_label}: "
                            + ", ".join(f"{100 * m:g}" for m in mass[::-1])
                            + " % density regions"))
    if pts is not None:
        for i in range(pts.shape[1]):
            ax.plot(pts[:, i, 0], pts[:, i, 1], "-", color="C3", lw=0.9, alpha=0.85,
                    gid="path")
        ax.scatter(pts[0, :, 0], pts[0, :, 1], s=22, facecolors="none", edgecolors="C3",
                   linewidths=0.9, gid="path_start", zorder=3)
        ax.scatter(pts[-1, :, 0], pts[-1, :, 1], s=16, color="C3", gid="path_end", zorder=3)
        proxy += [Line2D([], [], color="C3", lw=0.9, label="trajectories"),
                  Line2D([], [], ls="none", marker="o", ms=5, mfc="none", color="C3",
                         label="first point"),
                  Line2D([], [], ls="none", marker="o", ms=4, color="C3", label="last point")]
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$y_1$")
    ax.set_ylabel("$y_2$")
    if title is not None:
        ax.set_title(title, fontsize=9)
    if legend_loc is not None:
        ax.legend(handles=proxy, fontsize=7, loc=legend_loc)
    return ax


def plot_flow_order(*orders: Any, ax: Any = None, labels: Any = None) -> Any:
    """Global error of the probability-flow ODE against the number of steps N, log-log,
    with the measured orders (Song et al. 2021, eq. 13; a method of order p has error
    C N^{-p}, Hairer, Norsett & Wanner 1993, thm. II.3.6).

    Each argument is a :class:`~deeptheory.dynamics.FlowOrder`
    (:func:`~deeptheory.dynamics.flow_error_order`): its errors as markers (gid
    ``"errors"``; colour by scheme, orange for Euler and blue for RK4, then C2, C3, ... for
    further results of the same scheme) and the least-squares line C N^{-p} of its
    ``order`` over the measured counts, dashed (gid ``"fit"``); the legend gives p, the
    slope of the two finest counts and the expected order.  ``labels``: one prefix per
    result (e.g. the forward process).  Errors <= 0 or not finite are left out.
    """
    import matplotlib.pyplot as plt

    if not orders:
        raise ValueError("plot_flow_order needs at least one FlowOrder")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(orders):
            raise ValueError(f"labels must have one entry per result ({len(orders)}), got "
                             f"{len(labels)}")
    data = []
    for k, o in enumerate(orders):
        try:
            st = np.asarray(o.steps, dtype=float)
            err = np.asarray(o.errors, dtype=float)
            p, pf, exp_ = float(o.order), float(o.order_finest), int(o.expected)
            method = str(o.method)
        except AttributeError:
            raise TypeError(f"argument {k} must be a FlowOrder (steps, errors, order, "
                            f"order_finest, expected, method), got {type(o).__name__}") from None
        if st.ndim != 1 or st.size < 2 or err.shape != st.shape:
            raise ValueError(f"argument {k}: steps and errors must be 1-D of the same length "
                             f">= 2, got {st.shape} and {err.shape}")
        data.append((st, err, p, pf, exp_, method))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    used: set[str] = set()
    spare = iter(f"C{j}" for j in range(2, 100))
    for k, (st, err, p, pf, exp_, method) in enumerate(data):
        col = FLOW_COLOURS.get(method)
        if col is None or col in used:
            col = next(spare)
        used.add(col)
        pre = f"{labels[k]}, " if labels is not None else ""
        ok = np.isfinite(err) & (err > 0) & (st > 0)
        ax.loglog(st[ok], err[ok], "o", color=col, ms=5, gid="errors",
                  label=f"{pre}{SCHEME_NAMES.get(method, method)}")
        if math.isfinite(p) and ok.any():
            logc = float(np.mean(np.log(err[ok]) + p * np.log(st[ok])))
            nn = np.array([st[ok].min(), st[ok].max()])
            ax.loglog(nn, np.exp(logc) * nn ** (-p), "--", color=col, lw=1.1, gid="fit",
                      label=f"fit $C N^{{-p}}$: p = {p:.2f} (finest pair {pf:.2f}; "
                            f"theory {exp_})")
    ax.set_xlabel("number of steps N")
    ax.set_ylabel(r"global error $\max_i |y_N(i) - y_{\rm ref}(i)|$ at $t_0$")
    ax.legend(fontsize=7)
    return ax
