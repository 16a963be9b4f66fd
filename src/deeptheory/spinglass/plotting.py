"""Matplotlib figures: complexity curves of the spherical p-spin model."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_k, check_p
from .complexity import e_inf, e_k, theta, theta_k

__all__ = ["MAX_PLOT_INDICES", "plot_complexity"]

#: most index curves :func:`plot_complexity` draws.  Each curve costs ~1 ms (one colour-coded
#: line collection above 8 curves; before, one legend entry per curve made matplotlib's legend
#: placement quadratic: 60 curves ~4 s, 1000 curves did not finish).  More curves than this are
#: unreadable; the CLI's ``--max-index`` must stay below MAX_PLOT_INDICES.
MAX_PLOT_INDICES = 100
#: up to this many index curves get a legend entry each; more are coloured by k (colour bar)
_LEGEND_MAX = 8


def plot_complexity(p: int, ks: Any = (0, 1, 2, 5), ax: Any = None,
                    u_range: tuple[float, float] | None = None) -> Any:
    """Plot the complexities of the spherical p-spin model against the energy per site u.

        Theta_p(u)     = 1/2 log(p-1) - (p-2) u^2/(4(p-1)) - I_1(u)        (all indices),
        Theta_{k,p}(u) = 1/2 log(p-1) - (p-2) u^2/(4(p-1)) - (k+1) I_1(u)  (index k),

    for u <= -E_inf (Auffinger, Ben Arous & Cerny 2013, Theorems 2.5 and 2.8; see
    :func:`theta` and :func:`theta_k` for the other branches), with -E_0 and -E_inf marked.
    Zoomed near the bottom of the landscape by default, where the curves separate.  ``p`` is an
    integer >= 2; ``ks`` at most :data:`MAX_PLOT_INDICES` distinct integers >= 0 (checked
    before anything is drawn; ValueError above it).  Up to 8 curves get legend entries, more
    are coloured by k with a colour bar.  Returns the axes.
    """
    pp = check_p(p)
    if pp.ndim != 0:
        raise TypeError(f"p must be one integer >= 2, got {p!r}")
    kk = check_k(list(ks) if not np.isscalar(ks) else [ks]).ravel()
    if kk.size > MAX_PLOT_INDICES:
        raise ValueError(
            f"ks has {kk.size} index curves; plot_complexity draws at most "
            f"{MAX_PLOT_INDICES} (MAX_PLOT_INDICES, the curves would be unreadable); "
            "pick fewer k, e.g. ks=range(0, K, step)")
    p = int(pp)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    einf = float(e_inf(p))
    e0 = float(e_k(p, 0))
    lo, hi = u_range if u_range is not None else (-e0 - 0.02, -einf + 0.05)
    u = np.linspace(lo, hi, 600)
    ax.plot(u, theta(u, p), "k-", lw=2, label=r"$\Theta_p(u)$ (all indices)")
    curves = np.asarray(theta_k(u[None, :], p, kk[:, None])) if kk.size else np.empty((0, 600))
    if kk.size <= _LEGEND_MAX:
        for k, c in zip(kk, curves, strict=True):
            ax.plot(u, c, "-", lw=1, label=rf"$\Theta_{{{k},p}}(u)$")
    else:
        from matplotlib.collections import LineCollection

        segs = np.stack([np.broadcast_to(u, curves.shape), curves], axis=-1)
        lc = LineCollection(segs, array=kk.astype(float), cmap="viridis", lw=0.8)
        ax.add_collection(lc)
        ax.figure.colorbar(lc, ax=ax, label=r"index k of $\Theta_{k,p}$")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.axvline(-einf, color="C3", ls=":", label=rf"$-E_\infty$ = {-einf:.5f}")
    ax.axvline(-e0, color="C0", ls="--", label=rf"$-E_0$ = {-e0:.5f}")
    ax.set_xlim(lo, hi)
    th = np.asarray(theta(u, p))
    ax.set_ylim(min(-0.002, float(th.min())), float(th.max()) * 1.1 + 1e-3)
    ax.set_xlabel("energy per site u = H/N")
    ax.set_ylabel("complexity [nats per site]")
    ax.set_title(f"spherical {p}-spin: complexity of critical points", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return ax
