"""ODE flows of networks (issue 13): trajectories of a neural ODE / ResNet
:func:`plot_trajectories`, convergence order of ResNets to the ODE
:func:`plot_resnet_order` (Hairer, Norsett & Wanner 1993), the Gronwall envelope
:func:`plot_gronwall` (Gronwall 1919), and line-shape / OT scores over training
:func:`plot_geodesic_history` (Gai & Zhang 2021)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: colours of the labels -1 and +1, and of unlabelled tracks
LABEL_COLOURS = {-1: "C0", 1: "C3"}
UNLABELLED_COLOUR = "0.35"
#: y-axis names of the recorded training scores (:func:`plot_geodesic_history`)
SCORE_NAMES = {
    "lss": "line-shape score (1: straight tracks)",
    "ots": "OT score (1: optimal matching)",
    "cost_ratio": r"$\overline{|z(T) - x|^2}\; /\; W_2^2$ (1: optimal)",
    "loss": "logistic loss",
    "objective": "loss + L2 term",
    "accuracy": "training accuracy",
}


def _is_3d(ax: Any) -> bool:
    return getattr(ax, "name", "") == "3d"


def _unit_normal_basis(w: np.ndarray) -> np.ndarray:
    """(d - 1, d) orthonormal rows spanning the hyperplane orthogonal to w."""
    q, _ = np.linalg.qr(np.column_stack([w, np.eye(w.size)]))
    return q[:, 1:w.size].T


def plot_trajectories(
    tracks: Any,
    labels: Any = None,
    *,
    ax: Any = None,
    n_show: int = 200,
    readout: tuple[Any, float] | None = None,
    seed: Any = 0,
) -> Any:
    """Trajectories z_i(t_0), ..., z_i(t_L) of a neural ODE / ResNet in 2-D or 3-D.

    ``tracks`` : (n_layers + 1, n, d) layer outputs with d = 2 or 3 (e.g.
    :meth:`~deeptheory.dynamics.OdeClassifier.tracks` or
    :func:`~deeptheory.dynamics.resnet_flow`); every track is a line (one ``Line2D`` /
    ``Line3D`` per track, gid ``"track"``), its start a small dot (gid ``"start"``) and its
    end a larger marker with a black edge (gid ``"end"``).  ``labels`` : None or (n,)
    labels in {-1, +1}, coloured C0 (-1) and C3 (+1).  For d = 3 the Axes is 3-D: a new
    one when ``ax`` is None, and a 2-D ``ax`` is a ValueError (create it with
    ``fig.add_subplot(projection="3d")``).

    n_show : at most this many tracks are drawn, a random subset (``seed``) when there are
    more (in their original order).  readout : (w, c) of a linear read-out s = w . z + c;
    its zero set at the end of the flow is drawn, a dashed line (2-D) or a translucent
    plane with a dashed outline (3-D), both gid ``"readout"``: the line clipped to the
    bounding box of the drawn points (5% margin), the plane over the range of the drawn
    points projected onto it (plus 5%).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    a = np.asarray(tracks, dtype=float)
    if a.ndim != 3 or a.shape[0] < 2 or a.shape[1] < 1 or a.shape[2] not in (2, 3):
        raise ValueError("tracks must have shape (n_layers + 1 >= 2, n >= 1, d) with d = 2 or 3, "
                         f"got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("tracks must be finite")
    _, n, d = a.shape
    lab = None
    if labels is not None:
        lab = np.asarray(labels, dtype=float)
        if lab.shape != (n,):
            raise ValueError(f"labels must have shape ({n},) (one per track), got {lab.shape}")
        if not np.all(np.abs(lab) == 1.0):
            raise ValueError("labels must contain only -1 and +1")
    if isinstance(n_show, bool) or int(n_show) != n_show or n_show < 1:
        raise ValueError(f"n_show must be an integer >= 1, got {n_show!r}")
    w = c = None
    if readout is not None:
        try:
            w_, c_ = readout
        except (TypeError, ValueError):
            raise ValueError("readout must be a pair (w, c)") from None
        w = np.asarray(w_, dtype=float)
        c = float(c_)
        if w.shape != (d,):
            raise ValueError(f"readout w must have shape ({d},), got {w.shape}")
        if not (np.all(np.isfinite(w)) and np.isfinite(c)) or not np.any(w != 0.0):
            raise ValueError("readout (w, c) must be finite with w != 0")
    if ax is None:
        fig = plt.figure(figsize=(5.5, 4.8))
        ax = fig.add_subplot(projection="3d" if d == 3 else None)
    elif (d == 3) != _is_3d(ax):
        raise ValueError(f"tracks of dimension {d} need a {'3-D' if d == 3 else '2-D'} Axes "
                         "(3-D: fig.add_subplot(projection='3d'))")

    idx = np.arange(n)
    if n > n_show:
        idx = np.sort(np.random.default_rng(seed).choice(n, int(n_show), replace=False))
    cols = [UNLABELLED_COLOUR if lab is None else LABEL_COLOURS[int(lab[i])] for i in idx]
    for i, col in zip(idx, cols, strict=True):
        ax.plot(*a[:, i].T, "-", color=col, lw=0.7, alpha=0.55, gid="track")
    ax.scatter(*a[0, idx].T, s=6, c=cols, alpha=0.8, linewidths=0, gid="start")
    ax.scatter(*a[-1, idx].T, s=26, c=cols, edgecolors="k", linewidths=0.4, gid="end")

    handles = []
    if lab is None:
        handles.append(Line2D([], [], color=UNLABELLED_COLOUR, lw=1, label="tracks"))
    else:
        for v in (-1, 1):
            if np.any(lab[idx] == v):
                handles.append(Line2D([], [], color=LABEL_COLOURS[v], lw=1, label=f"y = {v:+d}"))
    handles.append(Line2D([], [], ls="", marker="o", ms=3, color="0.3", label="start"))
    handles.append(Line2D([], [], ls="", marker="o", ms=6, color="0.6", mec="k", mew=0.5,
                          label="end"))
    if w is not None:
        ends = a[-1, idx]
        centre = ends.mean(axis=0)
        p = centre - (w @ centre + c) * w / (w @ w)
        basis = _unit_normal_basis(w / np.linalg.norm(w))
        drawn = a[:, idx].reshape(-1, d)
        # in-plane coordinates of the drawn points: the zero set is drawn over their range
        coords = (drawn - p) @ basis.T
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-12)
        lo, hi = lo - pad, hi + pad
        if d == 2:
            # the part of the line inside the bounding box of the drawn points (5% margin)
            blo, bhi = drawn.min(axis=0), drawn.max(axis=0)
            m = 0.05 * np.maximum(bhi - blo, 1e-12)
            blo, bhi = blo - m, bhi + m
            u0 = basis[0]
            s_lo, s_hi = -np.inf, np.inf
            for i in range(2):
                if abs(u0[i]) > 1e-15:
                    t1, t2 = sorted(((blo[i] - p[i]) / u0[i], (bhi[i] - p[i]) / u0[i]))
                    s_lo, s_hi = max(s_lo, t1), min(s_hi, t2)
                elif not blo[i] <= p[i] <= bhi[i]:
                    s_lo, s_hi = np.inf, -np.inf
            if s_lo < s_hi:
                lo, hi = np.array([s_lo]), np.array([s_hi])
            seg = p + np.outer([lo[0], hi[0]], basis[0])
            ax.plot(seg[:, 0], seg[:, 1], "k--", lw=1.3, gid="readout")
        else:
            u, v = basis
            gs, gt = np.meshgrid([lo[0], hi[0]], [lo[1], hi[1]])
            plane = p + gs[..., None] * u + gt[..., None] * v
            ax.plot_surface(plane[..., 0], plane[..., 1], plane[..., 2], color="0.5", alpha=0.2,
                            linewidth=0, gid="readout")
            rim = np.array([p + x * u + y * v for x, y in
                            ((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1]),
                             (lo[0], lo[1]))])
            ax.plot(rim[:, 0], rim[:, 1], rim[:, 2], "k--", lw=0.9, gid="readout")
        handles.append(Line2D([], [], color="k", ls="--", lw=1.2,
                              label=r"read-out $w\cdot z + c = 0$"))
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if d == 3:
        ax.set_zlabel("$z_3$")
    else:
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(handles=handles, fontsize=6 if d == 3 else 7, loc="best")
    return ax


def plot_resnet_order(*errors: Any, ax: Any = None) -> Any:
    """Global error of residual networks against the ODE flow, log-log against the step h.

    Each argument is a :class:`~deeptheory.dynamics.ResNetOdeError`
    (:func:`~deeptheory.dynamics.resnet_ode_error`): its errors as markers (colour C0, C1,
    ... in turn) and the least-squares line C h^p of its fitted order p (``order``) as a
    dashed line of the same colour over the measured steps, p in the legend.  About 1 for
    Euler blocks, 4 for RK4 blocks (Hairer, Norsett & Wanner 1993, sec. II.3).  Errors
    that are 0 (or not finite) are left out of the plot and of the line's intercept.
    """
    import matplotlib.pyplot as plt

    if not errors:
        raise ValueError("plot_resnet_order needs at least one ResNetOdeError")
    data = []
    for k, e in enumerate(errors):
        try:
            h = np.asarray(e.steps, dtype=float)
            err = np.asarray(e.errors, dtype=float)
            p = float(e.order)
            block = str(e.block)
        except AttributeError:
            raise TypeError(f"argument {k} must be a ResNetOdeError (steps, errors, order, "
                            f"block), got {type(e).__name__}") from None
        if h.ndim != 1 or h.size < 2 or err.shape != h.shape:
            raise ValueError(f"argument {k}: steps and errors must be 1-D of the same length "
                             f">= 2, got {h.shape} and {err.shape}")
        data.append((h, err, p, block))
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    for k, (h, err, p, block) in enumerate(data):
        col = f"C{k % 10}"
        ok = np.isfinite(err) & (err > 0) & (h > 0)
        ax.loglog(h[ok], err[ok], "o", color=col, ms=5, label=f"{block} blocks")
        if np.isfinite(p) and ok.any():
            logc = float(np.mean(np.log(err[ok]) - p * np.log(h[ok])))
            hh = np.array([h[ok].min(), h[ok].max()])
            ax.loglog(hh, np.exp(logc) * hh ** p, "--", color=col, lw=1.1,
                      label=f"fit $C h^p$, order p = {p:.2f}")
    ax.set_xlabel("step $h = T / L$")
    ax.set_ylabel(r"global error $\max_i |x_L(i) - z_i(T)|$")
    ax.legend(fontsize=7)
    return ax


def plot_gronwall(check: Any, ax: Any = None) -> Any:
    """Distances |z1(t) - z2(t)| of pairs of trajectories against the Gronwall envelope
    |x1 - x2| e^{C |t - t0|} (log y), from a :class:`~deeptheory.dynamics.GronwallCheck`
    (:func:`~deeptheory.dynamics.gronwall_check`; Gronwall 1919).  Pair j is drawn in
    colour C{j}: distance solid, envelope dashed; the legend gives C, the title the largest
    ratio distance / envelope after the start (at t0 it is 1 by construction) and whether
    the check held.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    try:
        t = np.asarray(check.times, dtype=float)
        dist = np.asarray(check.distance, dtype=float)
        env = np.asarray(check.envelope, dtype=float)
    except AttributeError:
        raise TypeError("check must be a GronwallCheck (times, distance, envelope), got "
                        f"{type(check).__name__}") from None
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"times must be 1-D with >= 2 entries, got shape {t.shape}")
    if dist.ndim not in (1, 2) or dist.shape[0] != t.size or dist.size == 0:
        raise ValueError(f"distance must have shape ({t.size},) or ({t.size}, n), got {dist.shape}")
    if env.shape != dist.shape:
        raise ValueError(f"envelope must have the shape of distance {dist.shape}, got {env.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    d2 = dist.reshape(t.size, -1)
    e2 = env.reshape(t.size, -1)
    for j in range(d2.shape[1]):
        col = f"C{j % 10}"
        ax.semilogy(t, d2[:, j], "-", color=col, lw=1.3)
        ax.semilogy(t, e2[:, j], "--", color=col, lw=1.0)
    c = float(getattr(check, "lipschitz", np.nan))
    handles = [Line2D([], [], color="k", lw=1.3, label=r"$|z_1(t) - z_2(t)|$"),
               Line2D([], [], color="k", ls="--", lw=1.0,
                      label=rf"$|x_1 - x_2|\, e^{{C t}}$, C = {c:.4g}")]
    ax.legend(handles=handles, fontsize=7)
    ax.set_xlabel("t")
    ax.set_ylabel("distance")
    with np.errstate(divide="ignore", invalid="ignore"):
        later = d2[1:] / e2[1:]
    later = later[np.isfinite(later)]
    if later.size:
        ax.set_title(f"max distance / envelope over t > t0: {float(later.max()):.3g}, "
                     f"holds = {bool(getattr(check, 'holds', False))}", fontsize=9)
    return ax


def plot_geodesic_history(
    histories: dict[str, dict[str, Any]],
    ax: Any = None,
    keys: tuple[str, ...] = ("lss", "ots", "cost_ratio"),
) -> np.ndarray:
    """Line-shape score, OT score and transport-cost ratio over training (Gai & Zhang 2021),
    one panel per key and one line per run.

    histories : label -> :attr:`~deeptheory.dynamics.OdeClassifier.history` (a dict of
    arrays with "epoch" and the keys; trained with ``TrainConfig(scores=True)`` for "lss",
    "ots", "cost_ratio").  keys : the history entries to draw (any recorded one, e.g.
    "loss" or "accuracy").  ax : None (a new figure with one row of len(keys) panels) or
    len(keys) Axes.  The optimum 1 of the three scores is a grey dotted line.  Returns the
    array of Axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict label -> history")
    ks = (keys,) if isinstance(keys, str) else tuple(keys)
    if not ks or not all(isinstance(k, str) for k in ks):
        raise ValueError(f"keys must be a non-empty sequence of history names, got {keys!r}")
    runs = []
    for lab, hist in histories.items():
        if "epoch" not in hist:
            raise ValueError(f"history {lab!r} has no 'epoch' entry")
        ep = np.asarray(hist["epoch"], dtype=float)
        if ep.ndim != 1 or ep.size < 1:
            raise ValueError(f"history {lab!r}: 'epoch' must be 1-D and non-empty, got {ep.shape}")
        vals = []
        for k in ks:
            if k not in hist:
                raise ValueError(f"history {lab!r} has no {k!r} entry (scores need "
                                 "TrainConfig(scores=True))")
            v = np.asarray(hist[k], dtype=float)
            if v.shape != ep.shape:
                raise ValueError(f"history {lab!r}: {k!r} has shape {v.shape}, 'epoch' {ep.shape}")
            vals.append(v)
        runs.append((str(lab), ep, vals))
    if ax is None:
        _, axes = plt.subplots(1, len(ks), figsize=(4.2 * len(ks), 3.6), squeeze=False)
        axes = axes[0]
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != len(ks):
            raise ValueError(f"ax must hold {len(ks)} Axes (one per key), got {axes.size}")
    for j, (lab, ep, vals) in enumerate(runs):
        for a, v in zip(axes, vals, strict=True):
            a.plot(ep, v, "-", color=f"C{j % 10}", lw=1.3, label=lab)
    for a, k in zip(axes, ks, strict=True):
        if k in ("lss", "ots", "cost_ratio"):
            a.axhline(1.0, color="0.6", lw=0.8, ls=":")
        a.set_xlabel("epoch")
        a.set_ylabel(SCORE_NAMES.get(k, k))
    axes[0].legend(fontsize=7)
    return axes
