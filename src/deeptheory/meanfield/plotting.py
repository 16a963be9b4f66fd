"""Matplotlib figures: phase diagrams and theory-vs-simulation layer plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from .phase import PhaseDiagram

__all__ = ["plot_phase_diagram", "plot_layers", "plot_dot_product_kernels", "SPECIAL_COLOURS"]

#: colours of the points that have no place on the colour scale (none of them occurs in
#: the sequential map viridis or the diverging map RdBu_r used for the finite values)
SPECIAL_COLOURS = {
    "nan": (0.55, 0.55, 0.55, 1.0),  # grey: the solver failed (NaN)
    "posinf": (1.0, 0.0, 1.0, 1.0),  # magenta: +inf (e.g. a depth scale on chi = 1)
    "neginf": (0.0, 1.0, 1.0, 1.0),  # cyan: -inf
}

_SPECIAL_LABELS = {"nan": "failed (NaN)", "posinf": "+inf", "neginf": "-inf"}


def _scale(finite: np.ndarray, quantity: str, vmin: float | None, vmax: float | None,
           clip_percentile: float) -> tuple[Any, str, float, float]:
    """Norm, colour map name and the colour limits for the finite values ``finite``.

    Signed data get a diverging map centred at 0 (symmetric log where the values span
    more than two decades beyond ``linthresh``, 1 layer for depth scales); data of one
    sign a sequential map (log where positive and spanning more than two decades).  The
    limits are the ``clip_percentile``-th percentile of |z| unless given.
    """
    from matplotlib.colors import LogNorm, Normalize, SymLogNorm

    if finite.size == 0:
        lo = 0.0 if vmin is None else vmin
        hi = 1.0 if vmax is None else vmax
        return Normalize(lo, hi), "viridis", lo, hi
    signed = bool(finite.min() < 0 < finite.max())
    if signed:
        big = float(np.percentile(np.abs(finite), clip_percentile))
        hi = big if vmax is None else float(vmax)
        lo = -big if vmin is None else float(vmin)
        m = max(abs(lo), abs(hi)) or 1.0
        lo, hi = (-m, m) if vmin is None and vmax is None else (lo, hi)
        nz = np.abs(finite[finite != 0])
        lin = 1.0 if quantity.startswith("xi") else max(float(nz.min()) if nz.size else m,
                                                        m * 1e-3)
        lin = min(lin, m)
        if m / lin > 100:
            return SymLogNorm(linthresh=lin, vmin=lo, vmax=hi, base=10), "RdBu_r", lo, hi
        return Normalize(lo, hi), "RdBu_r", lo, hi
    hi = float(np.percentile(finite, clip_percentile)) if vmax is None else float(vmax)
    lo = float(finite.min()) if vmin is None else float(vmin)
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0) * 1e-6
    if lo > 0 and hi / lo > 100:
        return LogNorm(lo, hi), "viridis", lo, hi
    return Normalize(lo, hi), "viridis", lo, hi


def plot_phase_diagram(pd: PhaseDiagram, quantity: str = "xi_c", ax: Any = None,
                       vmax: float | None = None, cmap: str | None = None, *,
                       vmin: float | None = None, clip_percentile: float = 98.0) -> Any:
    """Heat map of ``quantity`` (default the correlation depth scale xi_c) over
    (sigma_w^2, sigma_b^2), with the chi_1 = 1 order-to-chaos line drawn on top
    (Poole et al. 2016; Schoenholz et al. 2017, fig. 1).

    Scale: values of both signs (depth scales are xi = -1/ln chi, negative where a
    quantity grows) use a diverging map centred at 0, symmetric-log where they span
    decades; positive values spanning more than two decades a log scale; otherwise
    linear.  Colours are clipped at the ``clip_percentile``-th percentile of |value|
    (or at ``vmin``/``vmax``): the colour bar then has an ``extend`` arrow and the
    legend says how many points lie beyond.  Points with no finite value are drawn in
    :data:`SPECIAL_COLOURS`, each with a legend entry: NaN (the solver failed) grey,
    +inf (e.g. xi on the critical line) magenta, -inf cyan.
    """
    import matplotlib.pyplot as plt
    from matplotlib import patheffects
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not (0 < clip_percentile <= 100):
        raise ValueError(f"clip_percentile must be in (0, 100], got {clip_percentile!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    z = getattr(pd, quantity, None)
    if z is None:
        raise ValueError(f"quantity {quantity!r} is not available in this phase diagram")
    z = np.asarray(z, dtype=float)
    fin = np.isfinite(z)
    finite = z[fin]
    norm, auto_cmap, lo, hi = _scale(finite, quantity, vmin, vmax, clip_percentile)
    # non-finite cells are transparent here: drawn by the layers below
    cm = plt.get_cmap(cmap or auto_cmap).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    mesh = ax.pcolormesh(pd.sigma_w2, pd.sigma_b2, np.ma.masked_where(~fin, z),
                         shading="auto", cmap=cm, norm=norm)
    n_over = int(np.sum(finite > hi))
    n_under = int(np.sum(finite < lo))
    extend = {(False, False): "neither", (True, False): "max", (False, True): "min",
              (True, True): "both"}[(n_over > 0, n_under > 0)]
    plt.colorbar(mesh, ax=ax, label=quantity, extend=extend)

    handles: list[Any] = []
    masks = {"nan": np.isnan(z), "posinf": z == np.inf, "neginf": z == -np.inf}
    for key, mask in masks.items():
        k = int(mask.sum())
        if not k:
            continue
        ax.pcolormesh(pd.sigma_w2, pd.sigma_b2, np.ma.masked_where(~mask, np.ones_like(z)),
                      shading="auto", cmap=ListedColormap([SPECIAL_COLOURS[key]]),
                      vmin=0.0, vmax=2.0)
        handles.append(Patch(color=SPECIAL_COLOURS[key], label=f"{_SPECIAL_LABELS[key]}: {k}"))
    if n_over or n_under:
        parts = []
        if n_over:
            parts.append(f"{n_over} above {hi:.3g}")
        if n_under:
            parts.append(f"{n_under} below {lo:.3g}")
        handles.append(Line2D([], [], ls="none",
                              label="colour clipped: " + ", ".join(parts)))

    crit = np.asarray(pd.critical_sigma_w2, dtype=float)
    ok = np.isfinite(crit)
    (line,) = ax.plot(crit[ok], pd.sigma_b2[ok], "w-", lw=2, label=r"$\chi_1 = 1$",
                      path_effects=[patheffects.withStroke(linewidth=3.5, foreground="k")])
    chi1 = np.asarray(pd.chi1, dtype=float)
    c1 = chi1[np.isfinite(chi1)]
    if c1.size and c1.min() < 1.0 < c1.max():
        ax.contour(pd.sigma_w2, pd.sigma_b2, np.ma.masked_invalid(chi1), levels=[1.0],
                   colors="r", linestyles="--", linewidths=1)
    ax.set_xlim(pd.sigma_w2.min(), pd.sigma_w2.max())
    ax.set_ylim(pd.sigma_b2.min(), pd.sigma_b2.max())
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.set_title(f"{pd.activation}: {quantity} (ordered left, chaotic right)")
    ax.legend(handles=[line, *handles], loc="upper left", fontsize=7, framealpha=0.8)
    return ax


def plot_layers(theory: np.ndarray, mc_mean: np.ndarray | None = None,
                mc_stderr: np.ndarray | None = None, ax: Any = None, label: str = "q",
                **kw: Any) -> Any:
    """Theory curve (line) and Monte Carlo means with 2-sigma error bars, per layer 1..L."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    layers = np.arange(1, len(theory) + 1)
    (line,) = ax.plot(layers, theory, "-", label=f"{label} theory", **kw)
    if mc_mean is not None:
        err = None if mc_stderr is None else 2 * np.asarray(mc_stderr)
        ax.errorbar(layers, mc_mean, yerr=err, fmt="o", ms=3, color=line.get_color(),
                    label=f"{label} Monte Carlo")
    ax.set_xlabel("layer $l$")
    ax.legend()
    return ax


def plot_dot_product_kernels(c: np.ndarray, curves: dict[str, np.ndarray], axes: Any = None,
                             title: str = "") -> Any:
    """kappa^l(c) / kappa^l(1) against c, one line per layer l (colour: depth), one panel per
    kernel in ``curves`` (name -> array (depth, len(c)), e.g. from
    :func:`deeptheory.meanfield.dot_product_kernel`)."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.8))
    axes = np.atleast_1d(axes)
    cmap = plt.get_cmap("viridis")
    for ax, (name, k) in zip(axes, curves.items(), strict=True):
        depth = k.shape[0]
        for layer in range(depth):
            ax.plot(c, k[layer] / k[layer, -1], color=cmap(layer / max(depth - 1, 1)), lw=1.2)
        ax.set_xlabel("input cosine $c$")
        ax.set_ylabel(rf"$\kappa(c) / \kappa(1)$  ({name.upper()})")
        ax.set_title(f"{name.upper()} {title}".strip())
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(1, depth))
        ax.figure.colorbar(sm, ax=ax, label="depth (hidden layers)")
    return axes
