"""The loss-concentration experiment of Choromanska et al. (2015), small and seeded.

Choromanska, Henaff, Mathieu, Ben Arous & LeCun, "The loss surfaces of multilayer networks"
(AISTATS 2015), relate the losses of (idealised) relu networks to spherical p-spin glasses
(Auffinger, Ben Arous & Cerny 2013) and observe that the losses reached by training from
many initialisations concentrate in a band that narrows as the network grows, like the
p-spin minima concentrating near -E_inf.  This module repeats the experiment in miniature
(numpy, full-batch gradient descent, no numba):

* task: inputs x ~ N(0, I_d) (``n_train`` training and ``n_test`` test points), targets
  y = teacher(x) + noise * N(0, 1), the teacher a fixed random one-hidden-layer relu network
  of width ``teacher_width`` (v_j ~ N(0, 1/teacher_width), rows of U ~ N(0, I_d / d));
* student: f(x) = a . relu(W x + b), W_ij ~ N(0, 1/d), b = 0, a_j ~ N(0, 1/h) at
  initialisation, h in ``hidden_sizes``; all students see the same data;
* loss: mean squared error L = (1/2n) sum_i (f(x_i) - y_i)^2, minimised by ``steps``
  full-batch GD steps of size ``lr`` on (W, b, a) from ``n_inits`` initialisations per width.

The returned final losses per width have a spread (sample standard deviation,
:meth:`ChoromanskaResult.spread`) that shrinks with h, as in Choromanska et al.'s Figure 2
(they used MNIST and SGD).  The default run (5 widths x 20 inits x 2000 steps) took 37.8 s
on an idle 2-core x86-64 machine (measured 2026-11-30).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result, as_seed
from .._progress import check_progress, progress_bar
from .._validation import as_float, as_int

__all__ = ["ChoromanskaResult", "choromanska_experiment"]


@dataclass(frozen=True)
class ChoromanskaResult(Result):
    """Final losses of :func:`choromanska_experiment`.

    ``hidden_sizes`` (S,); ``train_loss`` and ``test_loss`` (S, n_inits): the final mean
    squared error (1/2n) sum (f - y)^2 for each width and initialisation.
    """

    hidden_sizes: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray

    def spread(self, which: str = "test") -> np.ndarray:
        """Sample standard deviation of the final losses per width (``"train"`` or ``"test"``)."""
        if which not in ("train", "test"):
            raise ValueError(f"which must be 'train' or 'test', got {which!r}")
        loss = self.train_loss if which == "train" else self.test_loss
        return loss.std(axis=1, ddof=1)


def _relu_net(w: np.ndarray, b: np.ndarray, a: np.ndarray, x: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Batched over initialisations: w (I, h, d), b (I, h), a (I, h), x (n, d) -> f (I, n)."""
    pre = np.einsum("ihd,nd->inh", w, x) + b[:, None, :]
    act = np.maximum(pre, 0.0)
    return np.einsum("inh,ih->in", act, a), pre


def choromanska_experiment(hidden_sizes: Any = (2, 4, 8, 16, 64), *, n_inits: int = 20,
                           dim: int = 8, n_train: int = 256, n_test: int = 1024,
                           teacher_width: int = 6, noise: float = 0.1, steps: int = 2000,
                           lr: float = 0.1, seed: Any = 0,
                           progress: bool = False) -> ChoromanskaResult:
    """Train one-hidden-layer relu students of each width from ``n_inits`` seeded inits.

        f(x) = a . relu(W x + b),  L = (1/2n) sum_i (f(x_i) - y_i)^2,  theta <- theta - lr dL/dtheta

    (Choromanska, Henaff, Mathieu, Ben Arous & LeCun, "The loss surfaces of multilayer
    networks", AISTATS 2015, Figure 2 in miniature; see the module docstring for the task and
    the parametrisation).  ``seed`` is an int >= 0, a :class:`numpy.random.Generator` or None
    (a Generator or None is first turned into one integer s).  The data and the teacher are
    drawn from ``numpy.random.default_rng(s)``, the students' initialisations from
    ``default_rng([s, h])`` (so each width's inits are reproducible on their own).
    Returns :class:`ChoromanskaResult`.  Integers: ``hidden_sizes`` entries, ``dim``,
    ``n_train``, ``n_test``, ``teacher_width`` >= 1, ``n_inits`` >= 2, ``steps`` >= 0;
    ``noise`` >= 0, ``lr`` > 0.

    progress : a progress bar (tqdm on stderr) of the gradient steps done (``steps`` per
        width, all ``n_inits`` students at once); off by default.
    """
    prog = check_progress(progress)
    sizes = [as_int("hidden_sizes", int(v) if isinstance(v, np.integer) else v, lo=1)
             for v in np.atleast_1d(np.asarray(hidden_sizes, dtype=object))]
    if not sizes:
        raise ValueError("hidden_sizes must not be empty")
    ni = as_int("n_inits", n_inits, lo=2)
    d = as_int("dim", dim, lo=1)
    ntr = as_int("n_train", n_train, lo=1)
    nte = as_int("n_test", n_test, lo=1)
    tw = as_int("teacher_width", teacher_width, lo=1)
    nz = float(as_float("noise", noise, lo=0.0))
    st = as_int("steps", steps, lo=0)
    eta = float(as_float("lr", lr, lo=0.0))
    if eta <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    sd = as_seed(seed)

    rng = np.random.default_rng(sd)
    u = rng.standard_normal((tw, d)) / np.sqrt(d)
    v = rng.standard_normal(tw) / np.sqrt(tw)
    x_tr = rng.standard_normal((ntr, d))
    x_te = rng.standard_normal((nte, d))
    y_tr = np.maximum(x_tr @ u.T, 0.0) @ v + nz * rng.standard_normal(ntr)
    y_te = np.maximum(x_te @ u.T, 0.0) @ v + nz * rng.standard_normal(nte)

    train = np.empty((len(sizes), ni))
    test = np.empty((len(sizes), ni))
    with progress_bar(len(sizes) * st, "choromanska_experiment", prog, unit="step") as bar:
        for row, h in enumerate(sizes):
            r = np.random.default_rng([sd, h])
            w = r.standard_normal((ni, h, d)) / np.sqrt(d)
            b = np.zeros((ni, h))
            a = r.standard_normal((ni, h)) / np.sqrt(h)
            for _ in range(st):
                f, pre = _relu_net(w, b, a, x_tr)
                err = (f - y_tr[None, :]) / ntr  # dL/df
                act = np.maximum(pre, 0.0)
                ga = np.einsum("in,inh->ih", err, act)
                gpre = err[:, :, None] * a[:, None, :] * (pre > 0)
                gw = np.einsum("inh,nd->ihd", gpre, x_tr)
                gb = gpre.sum(axis=1)
                a -= eta * ga
                w -= eta * gw
                b -= eta * gb
                bar.update(1)
            f_tr, _ = _relu_net(w, b, a, x_tr)
            f_te, _ = _relu_net(w, b, a, x_te)
            train[row] = 0.5 * np.mean((f_tr - y_tr[None, :]) ** 2, axis=1)
            test[row] = 0.5 * np.mean((f_te - y_te[None, :]) ** 2, axis=1)
    return ChoromanskaResult(np.array(sizes), train, test)
