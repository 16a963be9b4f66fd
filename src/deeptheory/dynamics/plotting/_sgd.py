"""SGD's drift and diffusion phases (issue 14; Shwartz-Ziv & Tishby 2017):
:func:`plot_sgd_phases`, :func:`plot_gradient_snr`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import _as_1d


def plot_sgd_phases(res: Any, axes: Any = None, *, smooth: float = 0.0) -> Any:
    """Three panels on one log epoch axis, as Shwartz-Ziv & Tishby (2017), figs. 3-4:
    the normalised mean (solid) and standard deviation (dashed) of the minibatch
    gradients per layer, with the SNR transition epochs (vertical lines); I(X;T) per
    layer against epoch with the compression starts (markers); and the information
    plane (:func:`deeptheory.infotheory.plane.plot_information_plane`).  ``res``: an
    :class:`~deeptheory.dynamics.sgd_phases.SGDPhases`; ``axes``: three Axes (a new figure
    when None).  ``smooth`` > 0: the gradient norms are drawn as running medians over
    ``smooth`` decades of epoch (:func:`~deeptheory.dynamics.log_running_median`) on top
    of the raw curves (faint).  Returns the axes.
    """
    import matplotlib.pyplot as plt

    from ...infotheory.plane import plot_information_plane
    from ..sgd_phases import log_running_median

    sm = float(smooth)
    if not sm >= 0:
        raise ValueError(f"smooth must be >= 0 (decades), got {smooth!r}")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 4))
    g = res.gradients
    n_lay = g.mean_norm.shape[1]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, n_lay))
    ax = axes[0]
    mean_n, std_n = g.mean_norm, g.std_norm
    if sm > 0:
        for k in range(n_lay):
            ax.loglog(g.epochs, g.mean_norm[:, k], "-", color=colors[k], lw=0.4, alpha=0.2)
            ax.loglog(g.epochs, g.std_norm[:, k], "--", color=colors[k], lw=0.4, alpha=0.2)
        mean_n = log_running_median(g.epochs, g.mean_norm, sm)
        std_n = log_running_median(g.epochs, g.std_norm, sm)
    for k in range(n_lay):
        ax.loglog(g.epochs, mean_n[:, k], "-", color=colors[k], lw=0.8 if sm == 0 else 1.3,
                  label=f"L{k + 1}")
        ax.loglog(g.epochs, std_n[:, k], "--", color=colors[k], lw=0.8 if sm == 0 else 1.3)
        if math.isfinite(res.snr_epoch[k]):
            ax.axvline(res.snr_epoch[k], color=colors[k], lw=0.6, alpha=0.6)
    ax.set_xlabel("epoch")
    ax.set_ylabel("|<g>| / |W| (solid), |std g| / |W| (dashed)")
    ax.set_title(f"{res.activation}: minibatch gradients", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    ep = np.maximum(res.plane.epochs, 1)
    for k in range(n_lay):
        ax.semilogx(ep, res.plane.i_xt[:, k], "-", color=colors[k], lw=0.8, label=f"L{k + 1}")
        c = res.compression_epoch[k]
        if math.isfinite(c):
            i = int(np.searchsorted(res.plane.epochs, c))
            ax.plot(max(c, 1), res.plane.i_xt[i, k], "v", color=colors[k], ms=6)
        if math.isfinite(res.snr_epoch[k]):
            ax.axvline(res.snr_epoch[k], color=colors[k], lw=0.6, alpha=0.6)
    ax.set_xlabel("epoch")
    unit = "bits" if res.plane.base == 2.0 else "nats"
    ax.set_ylabel(f"I(X;T) [{unit}]")
    ax.set_title("I(X;T); triangles: compression start; lines: SNR = 1", fontsize=9)
    plot_information_plane(res.plane, axes[2], f"{res.activation}: information plane")
    return axes


def plot_gradient_snr(res: Any, ax: Any = None, *, level: float = 1.0) -> Any:
    """Signal-to-noise ratio |<g>| / |std g| of the minibatch gradients per layer against
    epoch (log-log), with the detected drift-to-diffusion transition epochs (Shwartz-Ziv &
    Tishby 2017, fig. 4; Saxe et al. 2018).

    ``res``: an :class:`~deeptheory.dynamics.SGDPhases` (its smoothed SNR and
    ``snr_epoch``), or a :class:`~deeptheory.dynamics.GradientSNR` (then smoothed and
    detected with the defaults of :func:`~deeptheory.dynamics.log_running_median` and
    :func:`~deeptheory.dynamics.phase_transition_epoch`).  Per layer: the raw SNR faint
    (gid ``"snr_raw"``), the smoothed SNR solid (gid ``"snr_smooth"``), the transition
    as a marker on the level line (gid ``"transition"``); the level (default 1) dashed and
    the pure-noise floor 1/sqrt(B - 1) (B minibatches per epoch) dotted (gid
    ``"noise_floor"``).  Colours as in :func:`plot_sgd_phases`.
    """
    import matplotlib.pyplot as plt

    from ..sgd_phases import log_running_median, phase_transition_epoch

    if hasattr(res, "gradients") and hasattr(res, "snr_smooth"):
        g = res.gradients
        sm = np.asarray(res.snr_smooth, dtype=float)
        tr = np.asarray(res.snr_epoch, dtype=float)
        title = f"{res.activation}: gradient SNR"
    elif hasattr(res, "snr") and hasattr(res, "epochs"):
        g = res
        sm = log_running_median(g.epochs, g.snr)
        tr = np.atleast_1d(np.asarray(phase_transition_epoch(g, level=level), dtype=float))
        title = "gradient SNR"
    else:
        raise TypeError(f"res must be an SGDPhases or a GradientSNR, got {type(res).__name__}")
    ep = _as_1d("epochs", g.epochs, 1)
    snr = np.asarray(g.snr, dtype=float)
    if snr.ndim != 2 or snr.shape[0] != ep.size or sm.shape != snr.shape:
        raise ValueError(f"snr and its smoothed version must have shape ({ep.size}, layers), "
                         f"got {snr.shape} and {sm.shape}")
    if tr.shape != (snr.shape[1],):
        raise ValueError(f"one transition epoch per layer expected ({snr.shape[1]}), got "
                         f"shape {tr.shape}")
    lev = float(level)
    if not lev > 0:
        raise ValueError(f"level must be > 0, got {level!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.0))
    n_lay = snr.shape[1]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, n_lay))
    for k in range(n_lay):
        raw = np.where(np.isfinite(snr[:, k]) & (snr[:, k] > 0), snr[:, k], np.nan)
        ax.loglog(ep, raw, "-", color=colors[k], lw=0.5, alpha=0.3, gid="snr_raw")
        ax.loglog(ep, sm[:, k], "-", color=colors[k], lw=1.4, gid="snr_smooth",
                  label=f"L{k + 1}" + (f": {tr[k]:g}" if math.isfinite(tr[k]) else ": none"))
        if math.isfinite(tr[k]):
            ax.plot([tr[k]], [lev], "o", color=colors[k], ms=6, mec="k", mew=0.5,
                    gid="transition")
    ax.axhline(lev, color="k", ls="--", lw=0.9)
    nb = int(getattr(g, "n_batches", 0))
    if nb >= 2:
        ax.axhline(1.0 / math.sqrt(nb - 1), color="0.4", ls=":", lw=1.0, gid="noise_floor",
                   label=f"noise floor $1/\\sqrt{{B-1}}$, B = {nb}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"SNR $|\langle g\rangle|_F \,/\, |{\rm std}\, g|_F$")
    ax.set_title(title + f" (dots: transition epoch, SNR = {lev:g})", fontsize=9)
    ax.legend(fontsize=7, ncol=2, title="layer: transition epoch", title_fontsize=7)
    return ax
