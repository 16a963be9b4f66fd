"""Matplotlib figures: complexity curves of the spherical p-spin model."""

from __future__ import annotations

from typing import Any

import numpy as np

from .complexity import e_inf, e_k, theta, theta_k

__all__ = ["plot_complexity"]


def plot_complexity(p: int, ks: Any = (0, 1, 2, 5), ax: Any = None,
                    u_range: tuple[float, float] | None = None) -> Any:
    """Theta_p(u) (all critical points below u) and Theta_{k,p}(u) (index k) against the
    energy per site u (Auffinger, Ben Arous & Cerny 2013), with -E_0 and -E_inf marked.
    Zoomed near the bottom of the landscape by default, where the curves separate."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    einf = float(e_inf(p))
    e0 = float(e_k(p, 0))
    lo, hi = u_range if u_range is not None else (-e0 - 0.02, -einf + 0.05)
    u = np.linspace(lo, hi, 600)
    ax.plot(u, theta(u, p), "k-", lw=2, label=r"$\Theta_p(u)$ (all indices)")
    for k in ks:
        ax.plot(u, theta_k(u, p, k), "-", lw=1, label=rf"$\Theta_{{{k},p}}(u)$")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.axvline(-einf, color="C3", ls=":", label=rf"$-E_\infty$ = {-einf:.5f}")
    ax.axvline(-e0, color="C0", ls="--", label=rf"$-E_0$ = {-e0:.5f}")
    ax.set_xlim(lo, hi)
    th = np.asarray(theta(u, p))
    ax.set_ylim(min(-0.002, float(th.min())), float(th.max()) * 1.1 + 1e-3)
    ax.set_xlabel("energy per site u = H/N")
    ax.set_ylabel("complexity [nats per site]")
    ax.set_title(f"spherical {p}-spin: complexity of critical points", fontsize=9)
    ax.legend(fontsize=7)
    return ax
