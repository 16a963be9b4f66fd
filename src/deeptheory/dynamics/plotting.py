"""Matplotlib figures of the dynamics pillar.

* Lyapunov spectra against the large-width theory: :func:`plot_lyapunov_spectrum`,
  :func:`plot_running_exponents`, :func:`plot_lambda_max`.
* ODE flows of networks (issue 13): trajectories of a trained classifier
  :func:`plot_trajectories`, convergence order of ResNets to the ODE
  :func:`plot_resnet_order`, the Gronwall envelope :func:`plot_gronwall`, and line-shape /
  OT scores over training :func:`plot_geodesic_history`.
* Training as a dynamical system (issue 14): stability regions and rates of GD, heavy
  ball and Nesterov on quadratics :func:`plot_stability_region`, the local error order of
  GD against the plain and modified flows :func:`plot_local_error_order`, the energy of
  leapfrog and explicit Euler :func:`plot_energy`, phase planes of min-max game methods
  :func:`plot_game_trajectories`, and SGD's drift and diffusion phases
  :func:`plot_sgd_phases`, :func:`plot_gradient_snr`; diffusion models: generated
  samples over the target's density contours :func:`plot_diffusion_samples` and the
  error of the probability-flow ODE against the number of steps :func:`plot_flow_order`.

matplotlib is imported inside the functions (``import deeptheory.dynamics`` does not load
it); each function draws on ``ax`` (a new figure when None) and returns the Axes (an array
of Axes for :func:`plot_geodesic_history`, :func:`plot_sgd_phases` and the two-game
panels of :func:`plot_game_trajectories`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .theory import critical_gain, fresh_weights_exponents, rnn_max_exponent

__all__ = [
    "plot_energy",
    "plot_game_trajectories",
    "plot_gradient_snr",
    "plot_local_error_order",
    "plot_sgd_phases",
    "plot_stability_region",
    "plot_lyapunov_spectrum",
    "plot_running_exponents",
    "plot_lambda_max",
    "plot_trajectories",
    "plot_resnet_order",
    "plot_gronwall",
    "plot_geodesic_history",
    "plot_diffusion_samples",
    "plot_flow_order",
]


def _act_name(activation: Any) -> str:
    return activation if isinstance(activation, str) else getattr(activation, "name",
                                                                   str(activation))


def _exponents(spectrum: Any) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(exponents, stderr or None, N) of a LyapunovSpectrum or an array of exponents."""
    if hasattr(spectrum, "exponents"):
        ex = np.asarray(spectrum.exponents, dtype=float)
        se = np.asarray(spectrum.stderr, dtype=float)
        n = int(np.asarray(spectrum.state).size)
        return ex, se, n
    ex = np.asarray(spectrum, dtype=float)
    if ex.ndim != 1 or ex.size == 0:
        raise ValueError(f"exponents must be a non-empty 1-D array, got shape {ex.shape}")
    return ex, None, ex.size


def plot_lyapunov_spectrum(
    spectrum: Any,
    gain: float | None = None,
    sigma_b2: float = 0.0,
    activation: Any = "tanh",
    weights: str = "gaussian",
    *,
    width: int | None = None,
    ax: Any = None,
    label: str | None = None,
    color: str = "C0",
    fresh: bool = True,
    mean_field: bool = True,
    band: bool = True,
) -> Any:
    """Lyapunov exponents lambda_i against their index i, with the large-width theory.

    ``spectrum`` is a :class:`~deeptheory.dynamics.LyapunovSpectrum` (drawn with a band of
    2 batch-means standard errors when ``band``) or an array of exponents (descending).
    With ``gain`` = g given, the theory of the random network h_{t+1} = W phi(h_t) + b,
    W ~ N(0, g^2/N), is drawn on top:

    * ``fresh``: the fresh-weights spectrum at sigma_w2 = g^2,
      :func:`~deeptheory.dynamics.fresh_weights_exponents` (free probability: Kargin 2008;
      Tucci 2010), i.e. what the exponents would be if every step drew new weights;
    * ``mean_field``: the mean-field largest exponent 1/2 ln chi_1,
      :func:`~deeptheory.dynamics.rnn_max_exponent` (Molgedey, Schuchhardt & Schuster
      1992), as a horizontal line.

    ``width`` (N, for the theory's N quantiles) defaults to the length of the spectrum's
    final state, or to the number of exponents for an array.  Units: nats per step (maps)
    or per unit time (flows).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    ex, se, n = _exponents(spectrum)
    n = int(width) if width is not None else n
    k = ex.size
    i = np.arange(1, k + 1)
    lab = label if label is not None else f"estimate ({k} of N = {n})"
    ax.plot(i, ex, "-", color=color, lw=1.4, label=lab)
    if band and se is not None and np.all(np.isfinite(se)):
        ax.fill_between(i, ex - 2 * se, ex + 2 * se, color=color, alpha=0.25, lw=0)
    if gain is not None:
        name = _act_name(activation)
        if fresh:
            th = np.asarray(fresh_weights_exponents(n, gain * gain, sigma_b2, activation,
                                                    weights), dtype=float)[:k]
            ax.plot(i, th, "k--", lw=1.1,
                    label=rf"fresh weights, free probability ($\sigma_w^2 = g^2$ = {gain**2:.4g})")
        if mean_field:
            lm = float(rnn_max_exponent(gain, sigma_b2, activation))
            if math.isfinite(lm):
                ax.axhline(lm, color="C3", lw=1.0, ls=":",
                           label=rf"mean field $\frac{{1}}{{2}}\ln\chi_1$ = {lm:.4g}")
        ax.set_title(f"{name}, {weights}, g = {gain:.4g}, "
                     rf"$\sigma_b^2$ = {sigma_b2:.4g}, N = {n}", fontsize=9)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"Lyapunov exponent $\lambda_i$")
    ax.legend(fontsize=7)
    return ax


def plot_running_exponents(
    spectrum: Any,
    indices: Any = (0,),
    *,
    reference: Any = None,
    ax: Any = None,
    logx: bool = True,
    unit: str = "steps",
) -> Any:
    """Running estimates (1/t) sum ln|R_ii| of the chosen exponents against the measured
    time t (the QR method of Benettin et al. 1980), for judging convergence by eye.

    ``spectrum``: a :class:`~deeptheory.dynamics.LyapunovSpectrum` (its ``times`` and
    ``running``); ``indices``: 0-based exponent indices; ``reference``: None or one value
    per index (e.g. a known or theoretical exponent), drawn as dashed lines of the same
    colour.  ``unit`` labels the time axis ("steps" for maps, "time" for flows).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    t = np.asarray(spectrum.times, dtype=float)
    run = np.asarray(spectrum.running, dtype=float)
    idx = [int(j) for j in np.atleast_1d(indices)]
    ref = None if reference is None else np.broadcast_to(
        np.asarray(reference, dtype=float), (len(idx),))
    for c, j in enumerate(idx):
        col = f"C{c % 10}"
        ax.plot(t, run[:, j], "-", color=col, lw=1.3,
                label=rf"$\lambda_{{{j + 1}}}$: {spectrum.exponents[j]:.4g} "
                rf"$\pm$ {spectrum.stderr[j]:.2g}")
        if ref is not None and math.isfinite(ref[c]):
            ax.axhline(ref[c], color=col, lw=0.9, ls="--")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"measured {unit}")
    ax.set_ylabel("running estimate")
    ax.legend(fontsize=7)
    return ax


def plot_lambda_max(
    gains: Any,
    sigma_b2: float = 0.0,
    activation: Any = "tanh",
    *,
    samples: dict[str, tuple[Any, Any]] | None = None,
    ax: Any = None,
    theory: bool = True,
    points: int = 300,
) -> Any:
    """Largest Lyapunov exponent against the gain g across the order-to-chaos transition.

    Theory (``theory``): the mean-field lambda_max = 1/2 ln chi_1 of the discrete-time
    random network (:func:`~deeptheory.dynamics.rnn_max_exponent`; Molgedey, Schuchhardt
    & Schuster 1992), equal to ln(g |phi'(0)|) below the transition, on ``points`` gains
    spanning ``gains``; the critical gain :func:`~deeptheory.dynamics.critical_gain` as a
    vertical line (drawn also with ``theory=False``, e.g. for the rate network, whose
    transition for odd phi at sigma_b2 = 0 is at the same g |phi'(0)| = 1: Sompolinsky,
    Crisanti & Sommers 1988).

    ``samples`` maps a label to (values, stderr) at ``gains`` (stderr may be None): drawn
    as markers with 2-standard-error bars, one colour per entry.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    g = np.asarray(gains, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(g <= 0) or not np.all(np.isfinite(g)):
        raise ValueError("gains must be a non-empty 1-D array of finite gains > 0")
    if theory:
        grid = np.linspace(g.min(), g.max(), points)
        ax.plot(grid, np.asarray(rnn_max_exponent(grid, sigma_b2, activation)), "k-", lw=1.3,
                label=r"mean field $\frac{1}{2}\ln\chi_1$")
    gc = float(critical_gain(sigma_b2, activation))
    if math.isfinite(gc):
        ax.axvline(gc, color="0.5", lw=0.8, ls=":", label=f"critical gain {gc:.4g}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    for c, (lab, (val, err)) in enumerate((samples or {}).items()):
        v = np.asarray(val, dtype=float)
        e = None if err is None else 2.0 * np.asarray(err, dtype=float)
        ax.errorbar(g, v, yerr=e, fmt="os^vDp"[c % 6], ms=4, color=f"C{c % 10}",
                    capsize=2, elinewidth=0.8, lw=0, label=lab)
    ax.set_xlabel("gain $g$")
    ax.set_ylabel(r"$\lambda_{\max}$")
    ax.set_title(f"{_act_name(activation)}, " + rf"$\sigma_b^2$ = {sigma_b2:.4g}", fontsize=9)
    ax.legend(fontsize=7)
    return ax


# ---------------------------------------------------------------- ODE flows (issue 13)

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

    from ..infotheory.plane import plot_information_plane
    from .sgd_phases import log_running_median

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


# ---------------------------------------------------------------- training dynamics (issue 14)

#: colours of the game methods (:func:`plot_game_trajectories`)
METHOD_COLOURS = {"simultaneous": "C3", "alternating": "C1", "extragradient": "C0",
                  "optimistic": "C2", "sga": "C4"}
#: line widths: extragradient and optimistic GD nearly coincide on the bilinear game, so
#: extragradient is drawn wide and translucent under a thin optimistic line
METHOD_WIDTHS = {"extragradient": 2.4, "optimistic": 0.8}
METHOD_NAMES = {"simultaneous": "simultaneous GD", "alternating": "alternating GD",
                "extragradient": "extragradient", "optimistic": "optimistic GD",
                "sga": "SGA"}
#: levels of the rate contours of :func:`plot_stability_region`
RATE_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def _as_1d(name: str, v: Any, min_size: int = 1) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or a.size < min_size:
        raise ValueError(f"{name} must be 1-D with at least {min_size} entries, got shape "
                         f"{a.shape}")
    return a


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
            from .optimizers import quadratic_rate

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

    from .sgd_phases import log_running_median, phase_transition_epoch

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


# ------------------------------------------------------------ diffusion models (issue 14)

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
