"""The information plane of a training network (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018).

For every recorded epoch and every layer T of a :class:`~deeptheory.infotheory.mlp.
TrainingRun`, the pair (I(X;T), I(T;Y)) over all inputs (X uniform over the distinct
inputs, Y the labels), by one of two estimators:

* ``"binning"`` (Shwartz-Ziv & Tishby): each unit's activity snapped to
  ``n_bins`` equal-width levels on [lo, hi] (:func:`~deeptheory.infotheory.binned_mi`);
  the default range is [-1, 1] for tanh layers as in the paper, [0, 1] for the softmax
  output, and for other activations (relu) [0, the layer's largest activity over the
  whole run], as Saxe et al. did.  Every input occurs once, so I(X;T) = H(T) <= ln N.
* ``"kde"`` (Saxe et al.): T = h(X) + N(0, s^2 I) with ``noise_var`` s^2 (1e-3 for the
  12-bit network); I(X;T) is the Kolchinsky-Tracey upper bound and I(T;Y) their
  difference of upper bounds, which is an estimate, not a bound
  (:mod:`deeptheory.infotheory.kde`).  Cost O(N^2) per layer and record: choose
  ``records``.

Both depend on their parameter (bins, noise): they describe the binned or noisy
variable, not the (infinite) mutual information of a deterministic network.
Units: bits by default here (``base=2``), as in the papers' figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ._common import log_base
from .binning import bin_layer, binned_mi
from .discrete import _h
from .kde import kde_mi_ty, kde_mi_upper
from .mlp import TrainingRun

__all__ = ["InformationPlane", "information_plane", "plot_information_plane"]


@dataclass(frozen=True)
class InformationPlane(Result):
    """``epochs`` (R,); ``i_xt``, ``i_ty``: (R, layers) arrays; ``estimator``; ``base``.

    ``ixt`` and ``ity`` are read-only aliases of ``i_xt`` and ``i_ty`` (former names).
    """

    epochs: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    estimator: str
    base: float


def _ranges(run: TrainingRun, layer: int, lo: Any, hi: Any) -> tuple[float, float]:
    last = layer == len(run.activity[0]) - 1
    if lo is not None and hi is not None:
        return float(lo), float(hi)
    if last:
        return 0.0, 1.0
    if run.activation == "tanh":
        return -1.0, 1.0
    top = max(float(rec[layer].max()) for rec in run.activity)
    return 0.0, max(top, 1e-12)


def _binned_plane_point(t: np.ndarray, y: np.ndarray, nb: int, lo: float, hi: float,
                        lb: float) -> tuple[float, float]:
    """I(X;T) = H(T) and I(T;Y) = H(T) + H(Y) - H(T, Y) for distinct inputs X: the binned
    state of each row (:func:`bin_layer`) is encoded exactly as one integer (base n_bins),
    so the entropies are counts of unique integers."""
    edges_idx = np.rint((bin_layer(t, nb, lo=lo, hi=hi) - lo) / ((hi - lo) / max(nb - 1, 1)))
    codes = (edges_idx.astype(np.int64) * (nb ** np.arange(t.shape[1], dtype=np.int64))).sum(1)
    n = codes.size
    _, ct = np.unique(codes, return_counts=True)
    _, cy = np.unique(y, return_counts=True)
    _, cty = np.unique(codes * 2 + (y == y.max()), return_counts=True)
    ht, hy, hty = _h(ct / n), _h(cy / n), _h(cty / n)
    return ht / lb, max(ht + hy - hty, 0.0) / lb


def information_plane(
    run: TrainingRun,
    y: Any,
    *,
    estimator: str = "binning",
    n_bins: int = 30,
    lo: float | None = None,
    hi: float | None = None,
    noise_var: float = 1e-3,
    records: Any = None,
    base: float = 2.0,
    progress: bool = False,
) -> InformationPlane:
    """(I(X;T), I(T;Y)) per recorded epoch and layer (module docstring); bits by default.

    Binning: I(X;T) = H(T), I(T;Y) = H(T) + H(Y) - H(T,Y) of the binned layer
    (Shwartz-Ziv & Tishby 2017); KDE: I(X;T) <= -(1/N) sum_i ln (1/N) sum_j
    exp(-|h_i - h_j|^2 / (2 s^2)) (Kolchinsky & Tracey 2017; Saxe et al. 2018).

    ``y``: the labels of all N inputs (the run's activity rows); ``records``: indices
    of the records to use (default all).  ``lo``/``hi`` override the binning range.
    progress : a progress bar (tqdm on stderr) of the records done (every layer of one
    recorded epoch); off by default.
    """
    if estimator not in ("binning", "kde"):
        raise ValueError(f"estimator must be 'binning' or 'kde', got {estimator!r}")
    ya = np.asarray(y)
    n = run.activity[0][0].shape[0]
    if ya.shape != (n,):
        raise ValueError(f"y must have shape ({n},) like the run's activity, got {ya.shape}")
    idx = (np.arange(len(run.epochs)) if records is None
           else np.unique(np.asarray(records, dtype=int)))
    if idx.size == 0 or idx.min() < 0 or idx.max() >= len(run.epochs):
        raise ValueError(f"records must index the {len(run.epochs)} records")
    nb = as_int("n_bins", n_bins, lo=1)
    s2 = float(as_float("noise_var", noise_var))
    prog = check_progress(progress)
    xid = np.arange(n)
    n_layers = len(run.activity[0])
    lb = log_base(base)
    widest = max(a.shape[1] for a in run.activity[0])
    # exact integer codes need n_bins^units < 2^62; two label values
    fast = widest * math.log2(max(nb, 2)) < 62 and np.unique(ya).size <= 2
    i_xt = np.empty((idx.size, n_layers))
    i_ty = np.empty((idx.size, n_layers))
    with progress_bar(idx.size, "information_plane", prog, unit="record") as bar:
        for r, k in enumerate(idx):
            for layer in range(n_layers):
                t = run.activity[k][layer]
                if estimator == "binning":
                    a, b = _ranges(run, layer, lo, hi)
                    if fast:
                        i_xt[r, layer], i_ty[r, layer] = _binned_plane_point(t, ya, nb, a, b,
                                                                             lb)
                    else:
                        res = binned_mi(xid, t, ya, nb, lo=a, hi=b, base=base)
                        i_xt[r, layer], i_ty[r, layer] = res.i_xt, res.i_ty
                else:
                    i_xt[r, layer] = kde_mi_upper(t, s2, base=base)
                    i_ty[r, layer] = kde_mi_ty(t, ya, s2, base=base)
            bar.update(1)
    return InformationPlane(run.epochs[idx], i_xt, i_ty, estimator, float(base))


def plot_information_plane(plane: InformationPlane, ax: Any = None, title: str = "") -> Any:
    """Trajectories of every layer in the (I(X;T), I(T;Y)) plane, coloured by epoch
    (log scale), as in Shwartz-Ziv & Tishby (2017), fig. 3: one point
    (I(X;T_l), I(T_l;Y)) per record and layer l, from :func:`information_plane`."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    ep = np.maximum(plane.epochs, 1)
    norm = LogNorm(vmin=ep.min(), vmax=max(ep.max(), 2))
    for layer in range(plane.i_xt.shape[1]):
        ax.plot(plane.i_xt[:, layer], plane.i_ty[:, layer], "-", color="0.7", lw=0.6, zorder=1)
        sc = ax.scatter(plane.i_xt[:, layer], plane.i_ty[:, layer], c=ep, cmap="viridis",
                        norm=norm, s=12, zorder=2)
        ax.annotate(f"L{layer + 1}", (plane.i_xt[-1, layer], plane.i_ty[-1, layer]),
                    fontsize=7, xytext=(3, -8), textcoords="offset points")
    plt.colorbar(sc, ax=ax, label="epoch")
    unit = "bits" if plane.base == 2.0 else ("nats" if plane.base == math.e else
                                             f"log base {plane.base:g}")
    ax.set_xlabel(f"I(X;T) [{unit}]")
    ax.set_ylabel(f"I(T;Y) [{unit}]")
    ax.set_title(title or f"information plane ({plane.estimator})", fontsize=9)
    return ax
