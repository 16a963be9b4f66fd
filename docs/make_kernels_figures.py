"""Regenerate the figure of docs/kernels.md into docs/figures/.

    python docs/make_kernels_figures.py        # about 1 min (mpmath references)

``quadrature_accuracy.png``: relative error of E[tanh(sqrt(q) z)^2],
E[tanh'(sqrt(q) z)^2] and E[silu(sqrt(q) z)^2] against mpmath (30 digits) as q
grows from 0.1 to 1e10, for fixed Gauss-Hermite rules and for the panel rule.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

from deeptheory.kernels import expect  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"


def reference(f, q: float) -> float:
    """E[f(x)], x ~ N(0, q), by mpmath with breakpoints at both scales."""
    s = mp.sqrt(q)
    pts = sorted({0, *[k * s for k in (-8, -3, -1, 1, 3, 8)], -64, -32, -16, -8, -4, -1, -0.3,
                  0.3, 1, 4, 8, 16, 32, 64})
    g = lambda x: f(x) * mp.exp(-x * x / (2 * q)) / mp.sqrt(2 * mp.pi * q)  # noqa: E731
    return float(mp.quad(g, [-mp.inf, *pts, mp.inf]))


def main() -> None:
    mp.mp.dps = 30
    OUT.mkdir(exist_ok=True)
    qs = np.logspace(-1, 10, 23)
    funcs = {
        r"$E[\tanh^2]$": ((0, 0), lambda x: mp.tanh(x) ** 2),
        r"$E[\tanh'^2]$": ((1, 1), lambda x: mp.sech(x) ** 4),
        r"$E[\mathrm{silu}^2]$": ((0, 0), lambda x: (x / (1 + mp.exp(-x))) ** 2),
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, (title, (derivs, f)) in zip(axes, funcs.items(), strict=True):
        name = "silu" if "silu" in title else "tanh"
        ref = np.array([reference(f, q) for q in qs])
        for label, kw in (("Gauss-Hermite, 64 nodes", {"rule": "hermite", "order": 64}),
                          ("Gauss-Hermite, 400 nodes", {"rule": "hermite", "order": 400}),
                          ("panel rule (default, order 12)", {}),
                          ("panel rule, order 8", {"order": 8})):
            err = np.abs(expect(name, qs, derivs, **kw) / ref - 1)
            ax.loglog(qs, np.maximum(err, 1e-17), "o-", ms=3, label=label)
        ax.axhline(1e-10, color="k", lw=0.8, ls=":")
        ax.set_xlabel("q")
        ax.set_title(title)
    axes[0].set_ylabel("relative error vs mpmath")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "quadrature_accuracy.png", dpi=100)
    print(f"wrote {OUT / 'quadrature_accuracy.png'}")


if __name__ == "__main__":
    main()
