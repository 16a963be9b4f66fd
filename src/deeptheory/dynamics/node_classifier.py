"""Small neural-ODE / ResNet classifiers trained with numpy.

The model (Chen et al. 2018; Dupont et al. 2019): inputs x in R^d0 are padded with zeros
to R^d (:func:`~deeptheory.dynamics.toydata.augment`), flowed through the residual network
that discretises z' = f(z, t), f an :class:`~deeptheory.dynamics.odeflow.MLPField`, with
``depth`` Euler or RK4 blocks on [0, T] (:func:`~deeptheory.dynamics.resnet_ode.resnet_flow`),
and read out linearly, s(x) = w . z(T) + c, label sign(s).  Training minimises

    L = (1/n) sum_i log(1 + exp(-y_i s(x_i))) + (l2 / 2) sum_theta |theta|^2

(logistic loss; ``l2`` is the L2 regulariser of the residual branch's weights, the one of
Gai & Zhang 2021) with Adam (Kingma & Ba 2015) on exact gradients of the
discrete network (:func:`~deeptheory.dynamics.resnet_ode.backprop_gradients`); full
batch, seeded, deterministic.

Diagnostics: :func:`readout_margin` (the geometric margin of the linear read-out),
:func:`ring_separation` (the topological obstruction for 2-D flows of the ring problem) and
:func:`geodesic_scores` (line-shape and OT scores of the tracks, Gai & Zhang 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from .._api import Result, as_rng
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int
from ..kernels import get_activation
from .odeflow import MLPField
from .resnet_ode import _check_block, backprop_gradients, resnet_flow
from .theorems import flow_map_lipschitz, winding_number
from .toydata import augment
from .transport import line_shape_score, ot_assignment, ot_score

__all__ = [
    "GeodesicScores",
    "OdeClassifier",
    "TrainConfig",
    "geodesic_scores",
    "readout_margin",
    "ring_separation",
    "RingCheck",
    "train_ode_classifier",
]


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings of :func:`train_ode_classifier` (Adam, Kingma & Ba 2015).

    epochs : full-batch steps.  lr : step size.  beta1, beta2, eps : Adam's moment decays
    and denominator guard.  l2 : L2 regulariser (l2 / 2) |theta|^2 on the field's weights
    and biases (not the read-out).  record_every : keep loss, accuracy and (with
    ``scores``) LSS / OTS every this many epochs (and at the last).  scores : compute
    :func:`geodesic_scores` at the recorded epochs.  seed : initial weights.
    """

    epochs: int = 300
    lr: float = 0.02
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    l2: float = 0.0
    record_every: int = 10
    scores: bool = False
    seed: Any = 0

    def __post_init__(self) -> None:
        as_int("epochs", self.epochs, lo=1, hi=10**6)
        as_int("record_every", self.record_every, lo=1)
        if not float(as_float("lr", self.lr)) > 0.0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for k in ("beta1", "beta2"):
            v = float(as_float(k, getattr(self, k)))
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{k} must be in [0, 1), got {v}")
        if not float(as_float("eps", self.eps)) > 0.0:
            raise ValueError(f"eps must be > 0, got {self.eps}")
        as_float("l2", self.l2, lo=0.0)


@dataclass(frozen=True)
class OdeClassifier(Result):
    """A trained classifier (:func:`train_ode_classifier`).

    field : the trained :class:`~deeptheory.dynamics.odeflow.MLPField` in R^dim.
    w, c : read-out s = w . z(T) + c.  dim : state dimension (input dimension + augmented
    zeros).  t_end, depth, block : the network z(T) = resnet_flow(field, x, depth, t_end).
    history : dict of arrays over the recorded epochs: "epoch", "loss" (data term),
    "objective" (with the L2 term), "accuracy", and with scores "lss", "ots",
    "cost_ratio" (:class:`GeodesicScores`).
    """

    field: MLPField
    w: np.ndarray
    c: float
    dim: int
    t_end: float
    depth: int
    block: str
    history: dict[str, np.ndarray] = field(repr=False)

    def tracks(self, x: Any) -> np.ndarray:
        """Layer outputs (depth + 1, n, dim) of inputs x (n, d0), augmented to dim."""
        return resnet_flow(self.field, augment(x, self.dim), self.depth, self.t_end, self.block)

    def decision(self, x: Any) -> np.ndarray:
        """s(x) = w . z(T) + c, shape (n,)."""
        return self.tracks(x)[-1] @ self.w + self.c

    def predict(self, x: Any) -> np.ndarray:
        """Labels in {-1, +1} (s = 0 counts as +1)."""
        return np.where(self.decision(x) >= 0.0, 1.0, -1.0)

    def accuracy(self, x: Any, y: Any) -> float:
        """Fraction of points with predict(x) == y."""
        return float(np.mean(self.predict(x) == _labels(y, len(x))))

    def flow_lipschitz(self) -> float:
        """Bound on the Lipschitz constant of x -> z(T)
        (:func:`~deeptheory.dynamics.theorems.flow_map_lipschitz`)."""
        return flow_map_lipschitz(self.field, self.t_end, self.depth, self.block)


def _labels(y: Any, n: int) -> np.ndarray:
    ya = as_float("y", y)
    if ya.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {ya.shape}")
    if not np.all(np.abs(ya) == 1.0):
        raise ValueError("y must contain only the labels -1 and +1")
    return ya


def _init_field(dim: int, hidden: int, n_nodes: int, t_end: float, activation: Any,
                rng: np.random.Generator) -> MLPField:
    """Small random weights (fan-in variance 1 for W1, 0.1 / H for W2; zero biases), the
    same at every node."""
    w1 = rng.standard_normal((hidden, dim)) / math.sqrt(dim)
    w2 = rng.standard_normal((dim, hidden)) * math.sqrt(0.1 / hidden)
    k = n_nodes
    tn = np.linspace(0.0, t_end, k) if k > 1 else None
    rep = (lambda a: np.repeat(a[None], k, axis=0)) if k > 1 else (lambda a: a)
    return MLPField(rep(w1), rep(np.zeros(hidden)), rep(w2), rep(np.zeros(dim)),
                    activation=activation, times=tn)


@dataclass(frozen=True)
class GeodesicScores(Result):
    """Result of :func:`geodesic_scores` (Gai & Zhang 2021).

    lss : mean line-shape score of the tracks (>= 1; 1 for straight tracks).
    ots : OT score, the fraction of points the optimal assignment sends where the network
        does (1 when x -> z(T) is the optimal matching).
    cost_ratio : mean |z(T) - x|^2 / W2^2(empirical x, empirical z(T)) (>= 1; 1 when the
        network's matching is optimal; a continuous companion of OTS).
    """

    lss: float
    ots: float
    cost_ratio: float


def _scores(tracks: np.ndarray) -> GeodesicScores:
    x0, x1 = tracks[0], tracks[-1]
    _, w2sq = ot_assignment(x0, x1)
    diff = x1 - x0
    cost = float(np.mean(np.sum(diff * diff, axis=1)))
    ratio = cost / w2sq if w2sq > 0.0 else 1.0
    return GeodesicScores(lss=float(line_shape_score(tracks, mean=True, atol=1e-12)),
                          ots=float(ot_score(x0, x1)), cost_ratio=ratio)


def train_ode_classifier(
    x: Any, y: Any, *, dim: int | None = None, hidden: int = 32, depth: int = 10,
    t_end: float = 1.0, block: str = "rk4", n_nodes: int = 1, activation: Any = "tanh",
    config: TrainConfig | None = None, progress: bool = False,
) -> OdeClassifier:
    """Train a neural-ODE / ResNet binary classifier (Chen et al. 2018; Dupont et al. 2019)
    by full-batch Adam on the regularised logistic loss (module docstring).

    x : (n, d0) inputs; y : (n,) labels in {-1, +1}.  dim : the state dimension, >= d0
    (default d0; d0 + 1 is the augmented neural ODE of Dupont et al. 2019).  hidden : width
    H of the field.  depth, t_end, block : ``depth`` Euler or RK4 blocks of step t_end /
    depth.  n_nodes : weights at this many equally spaced times in [0, t_end] (1: the
    same weights in every block, a time-independent field; depth + 1 with Euler blocks:
    one weight set per layer, a plain ResNet).  activation : any registered activation.
    config : a :class:`TrainConfig` (epochs, lr, l2, recording, seed).  progress : a bar of
    the epochs (tqdm, stderr).

    Returns an :class:`OdeClassifier` with the history of the loss, accuracy and (with
    ``config.scores``) the mean line-shape score and the OT score of the tracks.
    """
    xa = as_float("x", x)
    if xa.ndim != 2 or xa.shape[0] < 2:
        raise ValueError(f"x must have shape (n, d0) with n >= 2, got {xa.shape}")
    n, d0 = xa.shape
    ya = _labels(y, n)
    p = d0 if dim is None else as_int("dim", dim, lo=d0, hi=10**4)
    hdim = as_int("hidden", hidden, lo=1, hi=10**5)
    L = as_int("depth", depth, lo=1, hi=10**5)
    k = as_int("n_nodes", n_nodes, lo=1, hi=10**5)
    T = float(as_float("t_end", t_end))
    if T <= 0.0:
        raise ValueError(f"t_end must be > 0, got {T}")
    blk = _check_block(block)
    act = get_activation(activation)
    cfg = TrainConfig() if config is None else config
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(cfg).__name__}")
    prog = check_progress(progress)
    rng = as_rng(cfg.seed)
    f = _init_field(p, hdim, k, T, act, rng)
    w = rng.standard_normal(p) * 0.1
    c = 0.0
    z0 = augment(xa, p)
    params = [np.array(f.w1), np.array(f.b1), np.array(f.w2), np.array(f.b2), w, np.array([c])]
    m1 = [np.zeros_like(a) for a in params]
    m2 = [np.zeros_like(a) for a in params]
    l2 = float(cfg.l2)
    hist: dict[str, list[float]] = {"epoch": [], "loss": [], "objective": [], "accuracy": []}
    if cfg.scores:
        hist["lss"], hist["ots"], hist["cost_ratio"] = [], [], []
    tn = f.times if k > 1 else None

    def field_of(ps: list[np.ndarray]) -> MLPField:
        return MLPField(ps[0], ps[1], ps[2], ps[3], activation=act, times=tn)

    def record(epoch: int, ps: list[np.ndarray], loss: float, s_vals: np.ndarray) -> None:
        pen = 0.5 * l2 * sum(float(np.sum(a * a)) for a in ps[:4])
        hist["epoch"].append(epoch)
        hist["loss"].append(loss)
        hist["objective"].append(loss + pen)
        # as predict(): s >= 0 is labelled +1
        hist["accuracy"].append(float(np.mean(np.where(s_vals >= 0.0, 1.0, -1.0) == ya)))
        if cfg.scores:
            sc = _scores(resnet_flow(field_of(ps), z0, L, T, blk))
            hist["lss"].append(sc.lss)
            hist["ots"].append(sc.ots)
            hist["cost_ratio"].append(sc.cost_ratio)

    state: dict[str, Any] = {}

    def dldz(zT: np.ndarray) -> np.ndarray:
        s = zT @ params[4] + params[5][0]
        ys = ya * s
        state["zT"], state["ys"] = zT, ys
        g = -ya * expit(-ys) / n  # dL/ds
        state["g"] = g
        return g[:, None] * params[4][None, :]

    bar = progress_bar(cfg.epochs, "train_ode_classifier", prog, unit="epoch")
    for epoch in range(cfg.epochs + 1):
        fi = field_of(params)
        gr = backprop_gradients(fi, z0, T, L, dldz, block=blk)
        ys = state["ys"]
        loss = float(np.mean(np.logaddexp(0.0, -ys)))
        if epoch % cfg.record_every == 0 or epoch == cfg.epochs:
            record(epoch, params, loss, ys * ya)  # = s (y^2 = 1)
        if epoch == cfg.epochs:
            break
        g = state["g"]
        grads = [gr.dw1, gr.db1, gr.dw2, gr.db2, state["zT"].T @ g, np.array([g.sum()])]
        for i in range(4):
            grads[i] = grads[i] + l2 * params[i]
        t1 = epoch + 1
        bc1 = 1.0 - cfg.beta1 ** t1
        bc2 = 1.0 - cfg.beta2 ** t1
        for i, gi in enumerate(grads):
            m1[i] = cfg.beta1 * m1[i] + (1.0 - cfg.beta1) * gi
            m2[i] = cfg.beta2 * m2[i] + (1.0 - cfg.beta2) * gi * gi
            params[i] = params[i] - cfg.lr * (m1[i] / bc1) / (np.sqrt(m2[i] / bc2) + cfg.eps)
        bar.update(1)
    bar.close()
    return OdeClassifier(field=field_of(params), w=params[4].copy(), c=float(params[5][0]),
                         dim=p, t_end=T, depth=L, block=blk,
                         history={k_: np.asarray(v) for k_, v in hist.items()})


def readout_margin(model: OdeClassifier, x: Any, y: Any) -> float:
    """Geometric margin of the read-out in the output space: min_i y_i s(x_i) / |w|, the
    distance of the closest flowed point z_i(T) to the separating hyperplane (negative
    when a point is misclassified; the margin of a linear classifier, Vapnik 1998, applied
    to the features z(T) of :func:`train_ode_classifier`)."""
    if not isinstance(model, OdeClassifier):
        raise TypeError(f"model must be an OdeClassifier, got {type(model).__name__}")
    xa = as_float("x", x)
    ya = _labels(y, xa.shape[0])
    nw = float(np.linalg.norm(model.w))
    if nw == 0.0:
        raise ValueError("the read-out weight is zero: the margin is undefined")
    return float(np.min(ya * model.decision(xa)) / nw)


@dataclass(frozen=True)
class RingCheck(Result):
    """Result of :func:`ring_separation`.

    radii : (k,) circles |x| = r through the outer class.
    worst : (k,) min over each circle's vertices of s(Phi(c)) / |w| (the read-out's signed
        distance; > 0: the whole circle is classified outer).
    disk_worst : min over a polar grid of the inner disk of -s(Phi(x)) / |w|.
    winding : (k,) winding number of the flowed circle about the flowed origin (2-D models;
        +-1 for a homeomorphism, which forces worst <= 0 or disk_worst <= 0); empty for
        augmented models, where it is undefined.
    separated : every circle and the disk grid are on their own side (worst > 0 and
        disk_worst > 0).
    lipschitz, cover, margin_bound : 2-D models: Lip(Phi) bound, the covering radius of
        the loops by the outer training points, and the a priori margin bound
        Lip * cover on the training points (nan for augmented models).
    """

    radii: np.ndarray
    worst: np.ndarray
    disk_worst: float
    winding: np.ndarray
    separated: bool
    lipschitz: float
    cover: float
    margin_bound: float


def ring_separation(
    model: OdeClassifier, *, r1: float = 0.5, r2: float = 1.0, r3: float = 1.5,
    n_radii: int = 5, n_loop: int = 2000, x_outer: Any = None,
) -> RingCheck:
    """Does the trained flow separate the continuous ring problem of
    :func:`~deeptheory.dynamics.toydata.ring_data` (disk |x| <= r1 from annulus
    r2 <= |x| <= r3)?  Evaluates the read-out on ``n_radii`` circles through the annulus
    (``n_loop`` vertices each) and on a polar grid of the disk.

    The theorem (Dupont et al. 2019): the flow map Phi of a 2-D ODE (or of an
    invertible 2-D ResNet) is a homeomorphism, so the flowed circle Phi(C) winds once
    about Phi(0).  If the read-out put all of Phi(C) on the positive side, Phi(C) would lie
    in an open half-plane (convex) that misses Phi(0) (negative), and its winding number
    would be 0.  So for a 2-D model with winding != 0, some vertex of every flowed circle
    has s <= 0 (a linear s is smallest on a segment at an end) or the origin is
    misclassified: the ring is never separated.  An augmented flow in R^3 has no such
    obstruction.

    With the outer training points ``x_outer`` (2-D model) the same argument bounds the
    training margin a priori: the outer point q nearest the vertex c_k with s <= 0 is
    within cover = max_k min_q |c_k - q|, so margin <= Lip(Phi) * cover
    (:func:`~deeptheory.dynamics.theorems.flow_map_lipschitz`).  The bound is rigorous but
    loose once training has grown the weights (the spectral-norm product overestimates
    the flow's Lipschitz constant by many orders of magnitude).
    """
    if not isinstance(model, OdeClassifier):
        raise TypeError(f"model must be an OdeClassifier, got {type(model).__name__}")
    a, b, c = (float(as_float(k, v, lo=0.0)) for k, v in (("r1", r1), ("r2", r2), ("r3", r3)))
    if not 0.0 < a < b < c:
        raise ValueError(f"radii must satisfy 0 < r1 < r2 < r3, got {a}, {b}, {c}")
    k = as_int("n_radii", n_radii, lo=1, hi=10**4)
    m = as_int("n_loop", n_loop, lo=8, hi=10**6)
    radii = np.linspace(b, c, k)
    th = np.linspace(0.0, 2.0 * math.pi, m, endpoint=False)
    circle = np.stack([np.cos(th), np.sin(th)], axis=1)
    loops = (radii[:, None, None] * circle[None]).reshape(-1, 2)
    rd = np.linspace(0.0, a, 11)[1:]
    spokes = (rd[:, None, None] * circle[None, ::10]).reshape(-1, 2)
    disk = np.concatenate([np.zeros((1, 2)), spokes])
    pts = np.concatenate([loops, disk])
    zt = model.tracks(pts)[-1]
    nw = float(np.linalg.norm(model.w))
    if nw == 0.0:
        raise ValueError("the read-out weight is zero: the margin is undefined")
    s = (zt @ model.w + model.c) / nw
    worst = s[:k * m].reshape(k, m).min(axis=1)
    disk_worst = float(np.min(-s[k * m:]))
    nan = float("nan")
    lip = cover = bound = nan
    if model.dim == 2:
        zl = zt[:k * m].reshape(k, m, 2)
        z0 = zt[k * m]
        wind = np.array([int(winding_number(zl[i], z0)) for i in range(k)])
        if x_outer is not None:
            q = as_float("x_outer", x_outer)
            if q.ndim != 2 or q.shape[1] != 2 or q.shape[0] < 1:
                raise ValueError(f"x_outer must have shape (n, 2), got {q.shape}")
            d2 = (np.sum(loops * loops, axis=1)[:, None] + np.sum(q * q, axis=1)[None, :]
                  - 2.0 * loops @ q.T)
            cover = float(np.sqrt(max(float(np.max(np.min(d2, axis=1))), 0.0)))
            lip = model.flow_lipschitz()
            bound = lip * cover
    else:
        if x_outer is not None:
            raise ValueError(f"x_outer (the a priori margin bound) applies to 2-D models "
                             f"(model.dim = {model.dim})")
        wind = np.zeros(0, dtype=np.int64)
    return RingCheck(radii=radii, worst=worst, disk_worst=disk_worst, winding=wind,
                     separated=bool(np.all(worst > 0.0) and disk_worst > 0.0),
                     lipschitz=lip, cover=cover, margin_bound=bound)


def geodesic_scores(model: OdeClassifier, x: Any) -> GeodesicScores:
    """Mean line-shape score, OT score and transport-cost ratio of the tracks of inputs x
    (n, d0) through the trained network (Gai & Zhang 2021;
    :func:`~deeptheory.dynamics.transport.line_shape_score`,
    :func:`~deeptheory.dynamics.transport.ot_score`): LSS >= 1 with equality for straight
    tracks; OTS in [0, 1] with 1 when x -> z(T) is the optimal assignment; cost ratio
    mean |z(T) - x|^2 / W2^2 >= 1 with 1 for an optimal matching.  For an augmented model
    x is padded with zeros first (the tracks live in R^dim)."""
    if not isinstance(model, OdeClassifier):
        raise TypeError(f"model must be an OdeClassifier, got {type(model).__name__}")
    return _scores(model.tracks(x))
