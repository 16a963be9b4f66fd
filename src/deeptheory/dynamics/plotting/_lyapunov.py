"""Lyapunov spectra against the large-width theory, and the largest exponent across the
order-to-chaos transition (Benettin et al. 1980; Molgedey, Schuchhardt & Schuster 1992):
:func:`plot_lyapunov_spectrum`, :func:`plot_running_exponents`, :func:`plot_lambda_max`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..theory import critical_gain, fresh_weights_exponents, rnn_max_exponent


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
