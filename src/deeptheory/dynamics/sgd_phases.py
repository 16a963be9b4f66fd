"""SGD drift and diffusion phases beside the information plane (Shwartz-Ziv & Tishby 2017).

Shwartz-Ziv & Tishby (2017, fig. 4) plot, per layer and epoch, the norm of the mean and
the norm of the standard deviation of the minibatch gradients of the weights, both
divided by the norm of the weights, and report a switch from a *drift* phase (mean
dominates, signal-to-noise ratio SNR > 1) to a *diffusion* phase (noise dominates,
SNR < 1) that coincides with the start of compression, the epoch where I(X;T) of the
layers starts to fall.  Saxe et al. (2018) repeated the measurement and found that with
relu layers the same gradient transition occurs without compression.

Definitions used here (all on the same epoch axis; epoch e = the e-th pass over the
training split, epoch 0 = initialisation):

* Gradient statistics (:func:`gradient_snr_history`), recorded by the infotheory trainer
  (:func:`deeptheory.infotheory.mlp.train_mlp` with ``record_gradients=True``): for
  layer l and epoch e, g_1..g_B are the gradients of the minibatch mean cross-entropy
  with respect to the weight matrix W_l (biases excluded) on the B minibatches of the
  epoch, each at the weights the optimiser used it at;
  ``mean_norm`` = |(1/B) sum_b g_b|_F / |W_l|_F, ``std_norm`` = |s|_F / |W_l|_F with
  s_ij the standard deviation over b of (g_b)_ij (ddof 0), |W_l|_F the Frobenius norm
  at the end of the epoch, as in the code of Saxe et al. (2018); SNR = |<g>|_F / |s|_F
  (the normalisation cancels).  With pure noise (zero-mean i.i.d. gradients) the
  expected SNR is about 1/sqrt(B - 1), not 0: with the default batch 512 on 3277
  training patterns B = 7 and the noise floor is about 0.41, so the crossing of 1
  depends on B.
* Smoothing (:func:`log_running_median`): the running median over a window of fixed
  width in log10(epoch + 1), i.e. over the epochs within a factor 10^(width/2) of
  e + 1, the natural window for the log-log axes of the paper's figure.
* Phase transition (:func:`phase_transition_epoch`): the first epoch of the final
  stretch on which the smoothed SNR stays below 1 until the end of the run, provided
  it was >= 1 before (``which="last"``), or the first down-crossing (``"first"``).
* Compression start (:func:`compression_start_epoch`): the epoch of the highest point
  of the smoothed I(X;T) that is preceded by a rise of at least ``min_rise`` and
  followed by a fall of at least ``min_drop`` (a prominent maximum: the start of the
  compression that follows fitting).
* :func:`sgd_phases` trains once and returns both trajectories, the two epochs per
  layer and whether they coincide within a factor ``factor`` (:class:`SGDPhases`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._progress import check_progress
from .._validation import as_float, as_int
from ..infotheory.mlp import GradientRecord, TrainingRun, train_mlp
from ..infotheory.plane import InformationPlane, information_plane
from ..infotheory.task12 import twelve_bit_task

__all__ = [
    "GradientSNR",
    "SGDPhases",
    "compression_start_epoch",
    "gradient_snr_history",
    "log_running_median",
    "phase_transition_epoch",
    "sgd_phases",
]


@dataclass(frozen=True)
class GradientSNR(Result):
    """Per-epoch gradient statistics of every layer (:func:`gradient_snr_history`).

    ``epochs`` (E,); ``mean_norm``, ``std_norm``: (E, layers) norms of the mean and of
    the per-component standard deviation of the minibatch gradients of W_l, divided by
    the Frobenius norm ``weight_norm`` of W_l (Shwartz-Ziv & Tishby 2017, fig. 4);
    ``snr`` = mean_norm / std_norm (inf where the standard deviation is 0);
    ``n_batches``: minibatches per epoch.
    """

    epochs: np.ndarray
    mean_norm: np.ndarray
    std_norm: np.ndarray
    snr: np.ndarray
    weight_norm: np.ndarray
    n_batches: int


@dataclass(frozen=True)
class SGDPhases(Result):
    """Result of :func:`sgd_phases`: one training run seen two ways on one epoch axis.

    ``activation``; ``gradients``: :class:`GradientSNR` (epochs 1..E); ``snr_smooth``:
    (E, layers) its smoothed SNR; ``plane``: the :class:`~deeptheory.infotheory.plane.
    InformationPlane` at the recorded epochs (bits); ``ixt_smooth``: (R, layers) the
    smoothed I(X;T); ``snr_epoch``, ``compression_epoch``: (layers,) floats, nan where
    there is no transition / no compression; ``coincide``: (layers,) bool, both finite
    and within a factor ``factor`` of each other; ``loss``, ``train_accuracy``,
    ``test_accuracy``: at ``plane.epochs``; ``settings``: the detection parameters.
    Layer l is the l-th weight matrix and the activity it produces (the last one is the
    softmax output).
    """

    activation: str
    gradients: GradientSNR
    snr_smooth: np.ndarray
    plane: InformationPlane
    ixt_smooth: np.ndarray
    snr_epoch: np.ndarray
    compression_epoch: np.ndarray
    coincide: np.ndarray
    factor: float
    loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    settings: dict


def gradient_snr_history(run: Any) -> GradientSNR:
    """Normalised mean and standard-deviation norms of the minibatch gradients and their
    ratio, per epoch and layer (Shwartz-Ziv & Tishby 2017, fig. 4; module docstring).

    ``run``: a :class:`~deeptheory.infotheory.mlp.TrainingRun` trained with
    ``record_gradients=True``, or its :class:`~deeptheory.infotheory.mlp.GradientRecord`.
    Raises ValueError when the run has no gradient record, has fewer than 2 minibatches
    per epoch (no standard deviation), or a weight matrix of norm 0.
    """
    rec = run.gradients if isinstance(run, TrainingRun) else run
    if rec is None:
        raise ValueError("the run has no gradient record: train it with "
                         "train_mlp(..., record_gradients=True)")
    if not isinstance(rec, GradientRecord):
        raise TypeError(f"run must be a TrainingRun or a GradientRecord, got {type(rec)!r}")
    if rec.n_batches < 2:
        raise ValueError(f"the gradient standard deviation needs >= 2 minibatches per epoch, "
                         f"got {rec.n_batches}: use a smaller batch_size")
    m = np.asarray(as_float("mean_norm", rec.mean_norm, lo=0.0))
    s = np.asarray(as_float("std_norm", rec.std_norm, lo=0.0))
    w = np.asarray(as_float("weight_norm", rec.weight_norm, lo=0.0))
    if np.any(w == 0):
        raise ValueError("a weight matrix has norm 0: the normalised norms are undefined")
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(s > 0, m / np.where(s > 0, s, 1.0), np.where(m > 0, np.inf, np.nan))
    return GradientSNR(np.asarray(rec.epochs), m / w, s / w, snr, w, int(rec.n_batches))


def _epochs_values(epochs: Any, values: Any, vname: str) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float)
    if v.ndim not in (1, 2) or v.shape[0] == 0:
        raise ValueError(f"{vname} must be a non-empty (E,) or (E, layers) array, "
                         f"got shape {v.shape}")
    if np.any(np.isnan(v)):
        raise ValueError(f"{vname} must not contain NaN")
    if epochs is None:
        e = np.arange(1, v.shape[0] + 1, dtype=float)
    else:
        e = np.asarray(as_float("epochs", epochs, lo=0.0))
        if e.shape != (v.shape[0],):
            raise ValueError(f"epochs must have shape ({v.shape[0]},) like {vname}, "
                             f"got {e.shape}")
        if np.any(np.diff(e) <= 0):
            raise ValueError("epochs must be strictly increasing")
    return e, v


def _width(width: Any) -> float:
    w = float(as_float("width", width, lo=0.0))
    return w


def log_running_median(epochs: Any, values: Any, width: float = 0.2) -> np.ndarray:
    """Running median of ``values`` (E,) or (E, layers) over a window of ``width``
    decades in log10(epoch + 1): point i is replaced by the median of the points j with
    |log10(e_j + 1) - log10(e_i + 1)| <= width / 2 (the window shrinks at the ends;
    width 0 returns the values).  ``epochs``: strictly increasing, >= 0, or None for
    1..E.  A median filter (Tukey 1977) keeps a step's location, unlike a mean; the
    log window suits the log-log axes of Shwartz-Ziv & Tishby (2017), fig. 4.
    """
    e, v = _epochs_values(epochs, values, "values")
    w = _width(width)
    u = np.log10(e + 1.0)
    lo = np.searchsorted(u, u - w / 2 - 1e-12, side="left")
    hi = np.searchsorted(u, u + w / 2 + 1e-12, side="right")
    out = np.empty_like(v)
    for i in range(u.size):
        out[i] = np.median(v[lo[i]:hi[i]], axis=0)
    return out


def phase_transition_epoch(
    snr: Any,
    epochs: Any = None,
    *,
    width: float = 0.2,
    level: float = 1.0,
    which: str = "last",
) -> np.ndarray | float:
    """Epoch where the smoothed gradient SNR crosses ``level`` (default 1) from above, per
    layer: the drift-to-diffusion transition of Shwartz-Ziv & Tishby (2017).

    ``snr``: (E,) or (E, layers) SNR values (inf allowed, NaN not) or a
    :class:`GradientSNR` (its epochs are used); ``epochs``: strictly increasing epochs
    (default 1..E).  Smoothing: :func:`log_running_median` with ``width`` decades
    (0: none).  ``which="last"``: the first epoch of the final stretch of epochs on which
    the smoothed SNR is < level through the end of the run, provided some earlier epoch
    has smoothed SNR >= level (the diffusion phase is the one the run ends in);
    ``which="first"``: the first epoch with smoothed SNR < level after one >= level.
    The epoch is that of the first smoothed point below the level (no interpolation).
    Returns nan for a layer whose smoothed SNR never crosses (always below, or, for
    "last", ending at or above the level); a float for 1-D input, else a (layers,) array.
    """
    if isinstance(snr, GradientSNR):
        if epochs is not None:
            raise ValueError("give epochs only with an array snr (a GradientSNR has them)")
        epochs, snr = snr.epochs, snr.snr
    e, v = _epochs_values(epochs, snr, "snr")
    if np.any(v < 0):
        raise ValueError("snr must be >= 0")
    lev = float(as_float("level", level))
    if not lev > 0:
        raise ValueError(f"level must be > 0, got {level!r}")
    if which not in ("first", "last"):
        raise ValueError(f"which must be 'first' or 'last', got {which!r}")
    one = v.ndim == 1
    sm = log_running_median(e, v.reshape(v.shape[0], -1), width)
    out = np.full(sm.shape[1], math.nan)
    for k in range(sm.shape[1]):
        below = sm[:, k] < lev
        above_idx = np.nonzero(~below)[0]
        if above_idx.size == 0:
            continue
        if which == "last":
            last_above = above_idx[-1]
            if last_above + 1 < below.size:
                out[k] = e[last_above + 1]
        else:
            down = np.nonzero(below[1:] & ~below[:-1])[0]
            if down.size:
                out[k] = e[down[0] + 1]
    return float(out[0]) if one else out


def compression_start_epoch(
    plane: Any,
    *,
    width: float = 0.1,
    min_rise: float = 0.1,
    min_drop: float = 0.1,
) -> np.ndarray:
    """Epoch at which I(X;T) of each layer starts to decrease: the start of the
    compression phase of Shwartz-Ziv & Tishby (2017).

    ``plane``: an :class:`~deeptheory.infotheory.plane.InformationPlane` (or any object
    with ``epochs`` (R,) and ``i_xt`` (R, layers)).  I(X;T) is smoothed by
    :func:`log_running_median` with ``width`` decades; the compression start is the
    epoch of the highest smoothed point r that rises by >= ``min_rise`` above the
    lowest earlier point (min_rise = 0 admits record 0) and falls by >= ``min_drop``
    to the lowest later point, both in the plane's units (bits by default).  A plain
    maximum would pick the initial record when I(X;T) first dips and then rises (as
    it does for the 12-bit network's deep tanh layers); the rise condition picks the
    maximum after fitting.  nan for a layer with no such point (flat, or
    monotone; saturated layers at log2 N bits are flat).  Returns a (layers,) array.
    """
    ep = getattr(plane, "epochs", None)
    ixt = getattr(plane, "i_xt", None)
    if ep is None or ixt is None:
        raise TypeError("plane must have epochs and i_xt (an InformationPlane)")
    e, v = _epochs_values(ep, ixt, "i_xt")
    if not np.all(np.isfinite(v)):
        raise ValueError("i_xt must be finite")
    rise_min = float(as_float("min_rise", min_rise, lo=0.0))
    drop_min = float(as_float("min_drop", min_drop, lo=0.0))
    sm = log_running_median(e, v.reshape(v.shape[0], -1), width)
    out = np.full(sm.shape[1], math.nan)
    n = sm.shape[0]
    for k in range(sm.shape[1]):
        s = sm[:, k]
        prev_min = np.minimum.accumulate(np.concatenate(([np.inf], s[:-1])))
        next_min = np.minimum.accumulate(np.concatenate((s[1:], [np.inf]))[::-1])[::-1]
        rise = np.where(np.isfinite(prev_min), s - prev_min, 0.0)
        drop = s - next_min  # -inf at the last record
        ok = (rise >= rise_min) & (drop >= drop_min) & (drop > 0) & (np.arange(n) < n - 1)
        if ok.any():
            cand = np.nonzero(ok)[0]
            out[k] = e[cand[np.argmax(s[cand])]]
    return out


def sgd_phases(
    activation: str = "tanh",
    epochs: int = 2000,
    seed: Any = 0,
    *,
    hidden: tuple[int, ...] = (10, 7, 5, 4, 3),
    lr: float = 4e-4,
    batch_size: int = 512,
    optimizer: str = "adam",
    n_record: int = 80,
    estimator: str = "binning",
    snr_width: float = 0.2,
    ixt_width: float = 0.1,
    which: str = "last",
    min_rise: float = 0.1,
    min_drop: float = 0.1,
    factor: float = 2.0,
    kappa: float = 0.5,
    progress: bool = False,
) -> SGDPhases:
    """Train the 12-bit network once with the infotheory trainer and compare the SNR
    transition with the start of compression, per layer (Shwartz-Ziv & Tishby 2017;
    Saxe et al. 2018 for relu, where compression is absent).

    Trains :func:`deeptheory.infotheory.mlp.train_mlp` on
    :func:`deeptheory.infotheory.task12.twelve_bit_task` (``kappa``) with
    ``record_gradients=True``; the information plane (:func:`deeptheory.infotheory.
    plane.information_plane`, ``estimator``, bits) at ``n_record`` log-spaced epochs;
    :func:`gradient_snr_history` every epoch.  ``snr_epoch`` =
    :func:`phase_transition_epoch` (``snr_width``, ``which``), ``compression_epoch`` =
    :func:`compression_start_epoch` (``ixt_width``, ``min_rise``, ``min_drop``);
    ``coincide`` is True for a layer when both are finite and
    max / min <= ``factor`` (default 2: within a factor 2 on the log epoch axis).
    ``epochs`` >= 2; at least 2 minibatches per epoch are required.
    progress : progress bars (tqdm on stderr) of the epochs trained (``train_mlp``) and
    of the records measured (``information_plane``); off by default.
    """
    n_ep = as_int("epochs", epochs, lo=2)
    fac = float(as_float("factor", factor))
    if not fac >= 1.0:
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    task = twelve_bit_task(kappa)
    n_tr = max(1, int(round(0.8 * task.x.shape[0])))
    bs = as_int("batch_size", batch_size, lo=1)
    if -(-n_tr // bs) < 2:
        raise ValueError(f"batch_size {bs} leaves fewer than 2 minibatches per epoch on "
                         f"{n_tr} training patterns: no gradient standard deviation")
    # validate the detection parameters before the (long) training
    for name, val in (("snr_width", snr_width), ("ixt_width", ixt_width),
                      ("min_rise", min_rise), ("min_drop", min_drop)):
        as_float(name, val, lo=0.0)
    if which not in ("first", "last"):
        raise ValueError(f"which must be 'first' or 'last', got {which!r}")
    if estimator not in ("binning", "kde"):
        raise ValueError(f"estimator must be 'binning' or 'kde', got {estimator!r}")
    prog = check_progress(progress)
    run = train_mlp(task.x, task.y, hidden, activation, epochs=n_ep, lr=lr, batch_size=bs,
                    optimizer=optimizer, n_record=n_record, seed=seed, record_gradients=True,
                    progress=prog)
    plane = information_plane(run, task.y, estimator=estimator, progress=prog)
    grads = gradient_snr_history(run)
    snr_smooth = log_running_median(grads.epochs, grads.snr, snr_width)
    snr_ep = phase_transition_epoch(grads, width=snr_width, which=which)
    ixt_smooth = log_running_median(plane.epochs, plane.i_xt, ixt_width)
    comp_ep = compression_start_epoch(plane, width=ixt_width, min_rise=min_rise,
                                      min_drop=min_drop)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.maximum(snr_ep, comp_ep) / np.minimum(snr_ep, comp_ep)
    coincide = np.isfinite(ratio) & (ratio <= fac)
    settings = {"snr_width": float(snr_width), "ixt_width": float(ixt_width), "which": which,
                "min_rise": float(min_rise), "min_drop": float(min_drop), "factor": fac,
                "epochs": n_ep, "seed": seed, "lr": float(lr), "batch_size": bs,
                "optimizer": optimizer, "hidden": tuple(hidden), "n_record": n_record,
                "estimator": estimator, "n_batches": grads.n_batches}
    return SGDPhases(run.activation, grads, snr_smooth, plane, ixt_smooth, snr_ep, comp_ep,
                     coincide, fac, run.loss, run.train_accuracy, run.test_accuracy, settings)
