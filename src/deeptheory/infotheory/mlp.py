"""A small numpy multilayer perceptron trainer that records every layer's activity.

Architecture as in Shwartz-Ziv & Tishby (2017): inputs -> hidden layers (default
12-10-7-5-4-3) with a registered activation (tanh, relu, ...; phi and phi' from
:mod:`deeptheory.kernels`) -> a 2-unit softmax output; cross-entropy loss (nats);
weights initialised N(0, 1/fan_in), biases 0; Adam (Kingma & Ba 2015; lr 4e-4,
betas 0.9, 0.999, eps 1e-8) or plain SGD on minibatches of a seeded 80 % training split.

At ``n_record`` log-spaced epochs (epoch 0 = initialisation included) the activity of
every layer (hidden layers and the softmax output) on *all* inputs is stored, for the
information plane (:mod:`deeptheory.infotheory.plane`).  With ``record_gradients=True``
the trainer also keeps, for every epoch and layer, the statistics of the minibatch
gradients of the weight matrix (:class:`GradientRecord`; Shwartz-Ziv & Tishby 2017,
fig. 4).  A non-finite loss or gradient stops training with a ValueError naming the
epoch and minibatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, as_rng
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ..kernels import get_activation

__all__ = ["GradientRecord", "TrainingRun", "init_mlp", "mlp_forward", "mlp_gradients",
           "train_mlp"]


@dataclass(frozen=True)
class GradientRecord(Result):
    """Per-epoch statistics of the minibatch gradients (Shwartz-Ziv & Tishby 2017, fig. 4).

    For epoch e (1-based) and layer l, let g_1..g_B be the gradients of the mean
    cross-entropy with respect to the weight matrix W_l (biases excluded) on the B
    minibatches of that epoch, each taken at the weights the optimiser saw when it used
    that minibatch.  ``mean_norm[e-1, l]`` = |(1/B) sum_b g_b|_F; ``std_norm[e-1, l]`` =
    |s|_F with s the per-component standard deviation over the B minibatches (ddof 0,
    unweighted even when the last minibatch is smaller); ``weight_norm[e-1, l]`` =
    |W_l|_F at the end of epoch e.  This is the quantity logged by Saxe et al. (2018) in
    their re-implementation.  ``epochs``: (E,) = 1..E; arrays (E, layers); ``n_batches``: B.
    """

    epochs: np.ndarray
    mean_norm: np.ndarray
    std_norm: np.ndarray
    weight_norm: np.ndarray
    n_batches: int


@dataclass(frozen=True)
class TrainingRun(Result):
    """Result of :func:`train_mlp`.

    ``epochs``: recorded epochs (ascending, 0 = before training); ``activity[r][l]``:
    (N, units_l) float array of layer l (hidden layers, then the softmax output) on all
    N inputs at record r; ``loss``: training cross-entropy (nats) at each record;
    ``train_accuracy``, ``test_accuracy`` at each record; ``train_index``: the inputs
    used for training; ``activation``, ``sizes``: the architecture; ``gradients``: a
    :class:`GradientRecord` when trained with ``record_gradients=True``, else None.
    """

    epochs: np.ndarray
    activity: list
    loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    train_index: np.ndarray
    activation: str
    sizes: tuple
    gradients: GradientRecord | None = None


def init_mlp(sizes: tuple[int, ...], rng: np.random.Generator) -> list[list[np.ndarray]]:
    """[[W, b], ...] with W ~ N(0, 1/fan_in) of shape (fan_in, fan_out), b = 0
    (LeCun et al. 1998 scaling, Var W = 1/fan_in)."""
    return [[rng.standard_normal((a, b)) / math.sqrt(a), np.zeros(b)]
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)]


def mlp_forward(params, x: np.ndarray, act) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations h_l = a_{l-1} W_l + b_l and activities a_l = phi(h_l) of every
    layer; the last is a softmax, a = e^h / sum e^h (Goodfellow et al. 2016, ch. 6)."""
    hs, outs = [], []
    a = x
    for k, (w, b) in enumerate(params):
        h = a @ w + b
        hs.append(h)
        if k == len(params) - 1:
            z = h - h.max(axis=1, keepdims=True)
            e = np.exp(z)
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = np.asarray(act(h), dtype=float)
        outs.append(a)
    return hs, outs


def mlp_gradients(params, x: np.ndarray, y: np.ndarray, act) -> tuple[float, list]:
    """Mean cross-entropy -(1/n) sum ln p(y_i|x_i) (nats) of labels ``y`` (ints) and its
    gradients by backpropagation (Rumelhart, Hinton & Williams 1986):
    delta_L = p - onehot(y), delta_l = (delta_{l+1} W_{l+1}^T) * phi'(h_l)."""
    hs, outs = mlp_forward(params, x, act)
    n = x.shape[0]
    p = outs[-1]
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(n), y], 1e-300))))
    delta = p.copy()
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads = [None] * len(params)
    for k in range(len(params) - 1, -1, -1):
        a_prev = x if k == 0 else outs[k - 1]
        grads[k] = [a_prev.T @ delta, delta.sum(axis=0)]
        if k > 0:
            delta = (delta @ params[k][0].T) * np.asarray(act(hs[k - 1], 1), dtype=float)
    return loss, grads


def train_mlp(
    x: Any,
    y: Any,
    hidden: tuple[int, ...] = (10, 7, 5, 4, 3),
    activation: str = "tanh",
    *,
    epochs: int = 2000,
    lr: float = 4e-4,
    batch_size: int = 512,
    optimizer: str = "adam",
    train_fraction: float = 0.8,
    n_record: int = 60,
    seed: Any = 0,
    progress: bool = False,
    record_gradients: bool = False,
) -> TrainingRun:
    """Train the MLP on (x, y) and record every layer's activity (module docstring).

    ``x``: (N, d) inputs; ``y``: N labels in {0, 1}; ``hidden``: hidden widths;
    ``activation``: a registered activation with a first derivative; ``optimizer``:
    ``"adam"`` or ``"sgd"`` (Adam: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    w <- w - lr m_hat / (sqrt(v_hat) + eps); Kingma & Ba 2015).  ``seed``: an int >= 0,
    a numpy Generator or None; equal int seeds give equal runs.  ``progress`` shows a
    bar of the epochs with the last recorded loss (tqdm, stderr).  ``record_gradients``:
    also return the per-epoch minibatch-gradient statistics of every layer
    (:class:`GradientRecord`); the training itself (and its random stream) is unchanged.
    A non-finite loss or gradient raises ValueError naming the epoch and minibatch.
    Shwartz-Ziv & Tishby (2017), sec. 3.
    """
    xa = np.asarray(as_float("x", x))
    if xa.ndim != 2:
        raise ValueError(f"x must be (N, d), got shape {xa.shape}")
    ya = np.asarray(y)
    if ya.shape != (xa.shape[0],):
        raise ValueError(f"y must have shape ({xa.shape[0]},), got {ya.shape}")
    if not np.all(np.isin(ya, (0, 1))):
        raise ValueError("y must contain labels 0 and 1 only")
    ya = ya.astype(int)
    act = get_activation(activation)
    act.require(1, "backpropagation")
    sizes = (xa.shape[1], *[as_int("hidden", h, lo=1) for h in hidden], 2)
    n_ep = as_int("epochs", epochs, lo=1)
    lr_ = float(as_float("lr", lr))
    if not lr_ > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    bs = as_int("batch_size", batch_size, lo=1)
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    frac = float(as_float("train_fraction", train_fraction))
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {train_fraction!r}")
    prog = check_progress(progress)
    rng = as_rng(seed)
    n = xa.shape[0]
    perm = rng.permutation(n)
    n_tr = max(1, int(round(frac * n)))
    tr, te = np.sort(perm[:n_tr]), np.sort(perm[n_tr:])
    params = init_mlp(sizes, rng)
    rec = np.unique(np.concatenate(([0], np.geomspace(1, n_ep, as_int("n_record", n_record,
                                                                       lo=2) - 1).astype(int))))
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    out_epochs, activity, losses, acc_tr, acc_te = [], [], [], [], []
    n_lay = len(params)
    g_mean, g_std, w_norm = [], [], []

    def record(ep: int) -> None:
        _, outs = mlp_forward(params, xa, act)
        pred = outs[-1].argmax(axis=1)
        p_true = outs[-1][tr, ya[tr]]
        out_epochs.append(ep)
        activity.append([o.copy() for o in outs])
        losses.append(float(-np.mean(np.log(np.maximum(p_true, 1e-300)))))
        acc_tr.append(float(np.mean(pred[tr] == ya[tr])))
        acc_te.append(float(np.mean(pred[te] == ya[te])) if te.size else math.nan)

    record(0)
    bar = progress_bar(n_ep, "train_mlp", prog, unit="epoch")
    for ep in range(1, n_ep + 1):
        order = tr[rng.permutation(tr.size)]
        batch_w: list[list[np.ndarray]] = [[] for _ in range(n_lay)]
        for s in range(0, order.size, bs):
            idx = order[s:s + bs]
            loss_b, grads = mlp_gradients(params, xa[idx], ya[idx], act)
            if not (math.isfinite(loss_b)
                    and all(np.isfinite(g).all() for gl in grads for g in gl)):
                raise ValueError(f"non-finite loss or gradient at epoch {ep}, minibatch "
                                 f"{s // bs + 1} (loss {loss_b}); lower lr")
            if record_gradients:
                for k in range(n_lay):
                    batch_w[k].append(grads[k][0])
            step += 1
            for k, layer in enumerate(params):
                for j in range(2):
                    g = grads[k][j]
                    if optimizer == "sgd":
                        layer[j] -= lr_ * g
                        continue
                    m[k][j] = b1 * m[k][j] + (1 - b1) * g
                    v[k][j] = b2 * v[k][j] + (1 - b2) * g * g
                    mh = m[k][j] / (1 - b1**step)
                    vh = v[k][j] / (1 - b2**step)
                    layer[j] -= lr_ * mh / (np.sqrt(vh) + eps)
        if record_gradients:
            stacked = [np.stack(bw) for bw in batch_w]
            g_mean.append([float(np.linalg.norm(g.mean(axis=0))) for g in stacked])
            g_std.append([float(np.linalg.norm(g.std(axis=0))) for g in stacked])
            w_norm.append([float(np.linalg.norm(layer[0])) for layer in params])
        if ep in rec:
            record(ep)
        bar.update(1)
        if ep in rec:
            bar.set_postfix_str(f"loss {losses[-1]:.4f}", refresh=False)
    bar.close()
    gradients = None
    if record_gradients:
        gradients = GradientRecord(np.arange(1, n_ep + 1), np.array(g_mean), np.array(g_std),
                                   np.array(w_norm), -(-tr.size // bs))
    return TrainingRun(np.array(out_epochs), activity, np.array(losses), np.array(acc_tr),
                       np.array(acc_te), tr, act.name, sizes, gradients)
