"""Phase planes of min-max game methods (issue 14): :func:`plot_game_trajectories` on
the bilinear game and the Dirac-GAN (Mescheder et al. 2018, fig. 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: colours of the game methods (:func:`plot_game_trajectories`)
METHOD_COLOURS = {"simultaneous": "C3", "alternating": "C1", "extragradient": "C0",
                  "optimistic": "C2", "sga": "C4"}
#: line widths: extragradient and optimistic GD nearly coincide on the bilinear game, so
#: extragradient is drawn wide and translucent under a thin optimistic line
METHOD_WIDTHS = {"extragradient": 2.4, "optimistic": 0.8}
METHOD_NAMES = {"simultaneous": "simultaneous GD", "alternating": "alternating GD",
                "extragradient": "extragradient", "optimistic": "optimistic GD",
                "sga": "SGA"}


def _game_panel(ax: Any, trajs: list, xlabel: str, ylabel: str, title: str | None,
                equilibrium: Any) -> None:
    from matplotlib.lines import Line2D

    for k, t in enumerate(trajs):
        x = np.asarray(t.x, dtype=float).reshape(len(t.x), -1)[:, 0]
        y = np.asarray(t.y, dtype=float).reshape(len(t.y), -1)[:, 0]
        col = METHOD_COLOURS.get(t.method, f"C{(k + 5) % 10}")
        lab = METHOD_NAMES.get(t.method, t.method)
        if t.diverged_at is not None:
            lab += f" (diverged at step {t.diverged_at})"
        else:
            lab += f": |z| {float(t.distance[0]):.2g} -> {float(t.distance[-1]):.2g}"
        lw = METHOD_WIDTHS.get(t.method, 1.0)
        ax.plot(x, y, "-", color=col, lw=lw, alpha=0.45 if lw > 2 else 0.9, gid="trajectory",
                label=lab)
        ax.plot([x[-1]], [y[-1]], "o", color=col, ms=5, mec="k", mew=0.5, gid="end")
    x0 = np.asarray(trajs[0].x, dtype=float).reshape(len(trajs[0].x), -1)[0, 0]
    y0 = np.asarray(trajs[0].y, dtype=float).reshape(len(trajs[0].y), -1)[0, 0]
    ax.plot([x0], [y0], "ks", ms=5, gid="start")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="", marker="s", color="k", ms=4))
    labels.append("start")
    if equilibrium is not None:
        ex, ey = equilibrium
        ax.plot([float(ex)], [float(ey)], "k+", ms=10, mew=1.5, gid="equilibrium")
        handles.append(Line2D([], [], ls="", marker="+", color="k", ms=8, mew=1.5))
        labels.append("equilibrium")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(handles, labels, fontsize=6.5, loc="best")


def plot_game_trajectories(data: Any, ax: Any = None, *, game: str | None = None,
                           equilibrium: Any = (0.0, 0.0)) -> Any:
    """Phase planes (x, y) of min-max game methods: simultaneous and alternating gradient
    descent-ascent, extragradient (Korpelevich 1976), optimistic GD (Daskalakis et al.
    2018) and symplectic gradient adjustment (Balduzzi et al. 2018), as in Mescheder et
    al. 2018, fig. 1.

    data : a :class:`~deeptheory.dynamics.GameFigureData`
        (:func:`~deeptheory.dynamics.game_trajectories`): two panels, the bilinear game
        f = a x y and the Dirac-GAN (theta, psi), or the one named by ``game``
        ("bilinear" or "dirac"); or a dict method -> :class:`~deeptheory.dynamics.
        GameTrajectory`, or a list of them: one panel.  Players with several coordinates
        are drawn by their first coordinates.
    ax : None (a new figure), one Axes for one panel, two Axes for both games.
    equilibrium : the point drawn as "+" (gid ``"equilibrium"``), None for none; the
        games of :func:`~deeptheory.dynamics.game_trajectories` have theirs at 0.

    Every trajectory is a line (gid ``"trajectory"``, colour per method, label with
    |z_0| -> |z_n| or the divergence step) ending in a dot (gid ``"end"``); the common
    start is a black square (gid ``"start"``).  Returns the Axes, or an array of two.
    """
    import matplotlib.pyplot as plt

    panels = []
    if hasattr(data, "bilinear") and hasattr(data, "dirac"):
        if game not in (None, "bilinear", "dirac"):
            raise ValueError(f"game must be None, 'bilinear' or 'dirac', got {game!r}")
        dg = data.dirac_game
        reg = []
        if getattr(dg, "gamma", 0.0):
            reg.append(rf"R1 $\gamma$ = {dg.gamma:g}")
        if getattr(dg, "noise_std", 0.0):
            reg.append(rf"noise $\sigma$ = {dg.noise_std:g}")
        dname = f"Dirac-GAN ({dg.loss} loss{', ' + ', '.join(reg) if reg else ''})"
        if game in (None, "bilinear"):
            btitle = f"bilinear game f = {data.a:g} x y, " + rf"$\eta$ = {data.bilinear_eta:g}"
            panels.append((list(data.bilinear.values()), "x (minimises)", "y (maximises)",
                           btitle))
        if game in (None, "dirac"):
            panels.append((list(data.dirac.values()), r"generator $\theta$",
                           r"discriminator $\psi$", f"{dname}, " + rf"$\eta$ = {data.dirac_eta:g}"))
    else:
        if game is not None:
            raise ValueError("game selects a panel of a GameFigureData only")
        trajs = list(data.values()) if isinstance(data, dict) else (
            list(data) if isinstance(data, (list, tuple)) else None)
        if trajs is None:
            raise TypeError("data must be a GameFigureData, a dict method -> GameTrajectory "
                            f"or a list of GameTrajectory, got {type(data).__name__}")
        panels.append((trajs, "$x_1$", "$y_1$", None))
    for trajs, *_ in panels:
        if not trajs:
            raise ValueError("no trajectories to draw")
        for t in trajs:
            if not all(hasattr(t, a) for a in ("x", "y", "method", "distance", "diverged_at")):
                raise TypeError(f"expected GameTrajectory objects, got {type(t).__name__}")
            if len(t.x) < 1 or len(t.x) != len(t.y):
                raise ValueError(f"trajectory {t.method!r}: x and y must have the same "
                                 f"non-zero length, got {len(t.x)} and {len(t.y)}")
    if equilibrium is not None:
        try:
            ex, ey = equilibrium
            equilibrium = (float(ex), float(ey))
        except (TypeError, ValueError):
            raise ValueError("equilibrium must be None or a pair (x*, y*)") from None
    if ax is None:
        _, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
        axes = axes[0]
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != len(panels):
            raise ValueError(f"ax must hold {len(panels)} Axes (one per panel), got {axes.size}")
    for a, (trajs, xl, yl, title) in zip(axes, panels, strict=True):
        _game_panel(a, trajs, xl, yl, title, equilibrium)
    return axes[0] if len(panels) == 1 else axes
