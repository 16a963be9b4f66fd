"""Seeded Monte Carlo of random deep networks (compiled CPU loop and its Python wrapper).

:func:`sample_network` propagates two inputs x1, x2 and a tangent vector v
(all of length N0) through independent random networks of width N and depth L,

    h^1 = W^1 x + b^1,              h^l = W^l phi(h^{l-1}) + b^l,
    t^1 = W^1 v,                    t^l = W^l (phi'(h_1^{l-1}) * t^{l-1}),

with the *same* W^l, b^l for both inputs (t is the Jacobian of the map x1 -> h_1^l
applied to v), and records per trial and layer

    q1^l = |h_1^l|^2 / N,   q2^l = |h_2^l|^2 / N,   q12^l = h_1^l . h_2^l / N,
    g^l = |t^l|^2 / N,      d12^l = (1/N) sum_i phi'(h_{1,i}^l) phi'(h_{2,i}^l).

These are the finite-width counterparts of the mean-field q-map, C-map,
chi_1 and chi_c (Poole et al. 2016; Schoenholz et al. 2017); the statistics are in
:mod:`deeptheory.meanfield.simulate`.

:func:`propagate_batch` pushes a whole batch of inputs (the columns of an N0 x P
matrix) through *one* seeded network of the same ensemble and returns every
layer's pre-activations, for statistics that need more than two inputs (e.g. the
geometry of a curve of inputs).  Its network for ``seed`` is trial 0 of
:func:`sample_network` with the same seed; :func:`sample_parameters` returns that
network's weights and biases (bitwise, by replaying the same draws).

:func:`sample_resnet` is the residual-network counterpart (Yang & Schoenholz 2017):
x^l = x^{l-1} + alpha phi(W^l x^{l-1} + b^l) or x^{l-1} + alpha (V^l phi(.) + a^l), two
inputs forward and a true backward pass, with per-layer re-seeding so that the backward
pass regenerates the weights instead of storing them (see its docstring);
:func:`sample_resnet_parameters` replays its draws.

Weights
-------
``"gaussian"``: W_ij ~ N(0, sigma_w^2 / fan_in), b_i ~ N(0, sigma_b^2).

``"orthogonal"``: W = sigma_w Q with Q Haar-distributed on the orthogonal group,
sampled as the Q factor of a Gaussian matrix with its columns multiplied by
sign(diag R) (without the sign fix, QR is not Haar).  Layers 2..L are square.
For the first layer (N x N0) the same construction gives a scaled *Haar isometry*:
Q has orthonormal columns (N0 <= N) or orthonormal rows (N0 > N), and
W^1 = sigma_w sqrt(max(1, N / N0)) Q, so that every entry again has variance
sigma_w^2 / N0 and |W^1 x|^2 / N = sigma_w^2 |x|^2 / N0 exactly when N0 <= N.
For N0 = N this is the plain scaled Haar orthogonal matrix.  (We chose this over
forcing N0 == N or silently switching the first layer to Gaussian: it keeps the
first layer "orthogonal" in the only sense available for a rectangular matrix.)

Reproducibility
---------------
Trial k re-seeds Numba's generator with ``np.random.seed(seed + k)`` at the start
of its loop body, so trial k's networks depend only on ``seed + k``: results are
bitwise identical for any number of threads (``numba.set_num_threads``) and any
scheduling, and the first m trials of a run with n_trials > m equal a run with
n_trials = m.  Numba's generator is *separate* from NumPy's: ``numpy.random.seed``
or a ``numpy.random.Generator`` in Python code has no effect on these samples, and
the streams differ from NumPy's ``RandomState`` only in how normals are drawn, so do
not expect equality with a pure-NumPy re-implementation.  Consecutive seeds give
independent Mersenne-Twister streams (as far as MT19937 seeding allows); use
non-overlapping ranges ``[seed, seed + n_trials)`` for independent runs.

Threads: trials run in a ``prange`` loop (``numba.set_num_threads``) when their
estimated serial time reaches the threshold of :mod:`deeptheory.kernels._threads`, else
in a plain loop over the same seeded trial body (bitwise the same samples); the matrix
products and QR inside call SciPy's BLAS/LAPACK.  BLAS threads on top of Numba's
made a 500 x 500 orthogonal run 10-20x slower on a 2-core machine, so
:func:`sample_network` sets OpenBLAS to one thread for the duration of the call
(via ``threadpoolctl`` if installed, else the OpenBLAS libraries already loaded,
found through ``/proc/self/maps``) and restores the previous count afterwards.
With another BLAS (MKL, Accelerate) this is a no-op: set its thread count to 1.
"""

from __future__ import annotations

import ctypes
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numba import prange

from .._api import Result, as_seed
from .._progress import check_progress, progress_ranges
from .._validation import as_float as _as_float
from .._validation import as_int
from ._builtin_eval import act_eval
from ._specialise import kernel
from ._threads import pick, thread_count
from .activations import Activation, get_activation

__all__ = [
    "NetworkSample",
    "ResNetSample",
    "RESNET_KINDS",
    "WEIGHT_KINDS",
    "propagate_batch",
    "sample_network",
    "sample_resnet",
    "sample_resnet_parameters",
    "sample_parameters",
    "single_thread_blas",
]

#: weight ensembles understood by :func:`sample_network` (name -> kernel flag)
WEIGHT_KINDS = {"gaussian": 0, "orthogonal": 1}
#: largest seed + n_trials - 1 (numba's np.random.seed takes a uint32)
MAX_SEED = 2**32 - 1
#: residual branch kinds understood by :func:`sample_resnet` (name -> kernel flag)
RESNET_KINDS = {"reduced": 0, "full": 1}


@kernel()
def mc_weights(n_out, n_in, sw, orth):  # pragma: no cover - compiled
    """One weight matrix (n_out x n_in, C order): Gaussian or scaled Haar isometry."""
    if orth == 0:
        return np.random.standard_normal((n_out, n_in)) * (sw / math.sqrt(n_in))
    w = np.empty((n_out, n_in))
    if n_out >= n_in:
        # Q: n_out x n_in with orthonormal columns
        qm, r = np.linalg.qr(np.random.standard_normal((n_out, n_in)))
        s = sw * math.sqrt(n_out / n_in)
        for j in range(n_in):
            sj = -s if r[j, j] < 0.0 else s
            for i in range(n_out):
                w[i, j] = sj * qm[i, j]
    else:
        # Q: n_in x n_out with orthonormal columns; W = sw Q^T has orthonormal rows
        qm, r = np.linalg.qr(np.random.standard_normal((n_in, n_out)))
        for i in range(n_out):
            si = -sw if r[i, i] < 0.0 else sw
            for j in range(n_in):
                w[i, j] = si * qm[j, i]
    return w


@kernel()
def mc_trial(code, x1, x2, v, sw, sb, width, orth, trial, q1, q2, q12, g, d12):  # pragma: no cover
    """One network (Numba's generator already seeded): fill row ``trial`` of q1, q2, q12, g, d12."""
    depth = q1.shape[1]
    n0 = x1.shape[0]
    # columns: phi(h_1), phi(h_2), phi'(h_1) * t of the previous layer (the inputs at l = 1)
    a = np.empty((n0, 3))
    for i in range(n0):
        a[i, 0] = x1[i]
        a[i, 1] = x2[i]
        a[i, 2] = v[i]
    for layer in range(depth):
        w = mc_weights(width, a.shape[0], sw, orth)
        h = np.dot(w, a)
        b = np.random.standard_normal(width)
        nxt = np.empty((width, 3))
        s1 = 0.0
        s2 = 0.0
        s12 = 0.0
        sg = 0.0
        sd = 0.0
        for i in range(width):
            bi = sb * b[i]
            y1 = h[i, 0] + bi
            y2 = h[i, 1] + bi
            t = h[i, 2]
            s1 += y1 * y1
            s2 += y2 * y2
            s12 += y1 * y2
            sg += t * t
            d1 = act_eval(code, 1, y1)
            sd += d1 * act_eval(code, 1, y2)
            nxt[i, 0] = act_eval(code, 0, y1)
            nxt[i, 1] = act_eval(code, 0, y2)
            nxt[i, 2] = d1 * t
        q1[trial, layer] = s1 / width
        q2[trial, layer] = s2 / width
        q12[trial, layer] = s12 / width
        g[trial, layer] = sg / width
        d12[trial, layer] = sd / width
        a = nxt


@kernel()
def mc_seeded_trial(
    code, x1, x2, v, sw, sb, width, orth, seed, trial, q1, q2, q12, g, d12
):  # pragma: no cover - compiled
    """Seed Numba's generator with ``seed + trial`` and run :func:`mc_trial` (the loop body
    shared by the serial and the parallel driver)."""
    np.random.seed(seed + trial)
    mc_trial(code, x1, x2, v, sw, sb, width, orth, trial, q1, q2, q12, g, d12)


@kernel(role="cpu", parallel=True)
def mc_network_trials(
    code, x1, x2, v, sw, sb, width, orth, seed, q1, q2, q12, g, d12
):  # pragma: no cover - compiled
    """Fill q1, q2, q12, g, d12 (n_trials x depth) with per-layer statistics of random networks.

    The trial body lives in :func:`mc_trial` (a separate function keeps parfors'
    array analysis away from the layer loop, whose input changes shape N0 -> N).
    """
    for trial in prange(q1.shape[0]):
        mc_seeded_trial(code, x1, x2, v, sw, sb, width, orth, seed, trial, q1, q2, q12, g, d12)


@kernel(role="cpu")
def mc_network_trials_serial(
    code, x1, x2, v, sw, sb, width, orth, seed, q1, q2, q12, g, d12
):  # pragma: no cover - compiled
    """:func:`mc_network_trials` on the calling thread (small batches; bitwise the same)."""
    for trial in range(q1.shape[0]):
        mc_seeded_trial(code, x1, x2, v, sw, sb, width, orth, seed, trial, q1, q2, q12, g, d12)


@kernel()
def mc_batch(code, x, preact, sw, sb, width, orth, out):  # pragma: no cover - compiled
    """Push the columns of x (N0 x P) through one network (generator already seeded).

    out[l] (width x P) receives the pre-activations of layer l + 1.  The weights and
    biases are drawn in the same order as in :func:`mc_trial` (W^l, then b^l, layer by
    layer), so the network equals trial 0 of :func:`mc_network_trials` with this seed.
    With ``preact`` the columns of x are pre-activations: phi is applied before layer 1.
    """
    depth = out.shape[0]
    n0 = x.shape[0]
    p = x.shape[1]
    a = np.empty((n0, p))
    for i in range(n0):
        for j in range(p):
            a[i, j] = act_eval(code, 0, x[i, j]) if preact else x[i, j]
    for layer in range(depth):
        w = mc_weights(width, a.shape[0], sw, orth)
        h = np.dot(w, a)
        b = np.random.standard_normal(width)
        nxt = np.empty((width, p))
        for i in range(width):
            bi = sb * b[i]
            for j in range(p):
                y = h[i, j] + bi
                out[layer, i, j] = y
                nxt[i, j] = act_eval(code, 0, y)
        a = nxt


@kernel(role="cpu")
def mc_batch_network(code, x, preact, sw, sb, width, orth, seed, out):  # pragma: no cover
    """Seed Numba's generator with ``seed`` and run :func:`mc_batch` (one network)."""
    np.random.seed(seed)
    mc_batch(code, x, preact, sw, sb, width, orth, out)


@kernel()
def mc_parameters(sw, sb, orth, seed, w1, ws, bs):  # pragma: no cover - compiled
    """Seed Numba's generator with ``seed`` and replay the draws of :func:`mc_batch`:
    W^1 into w1 (width x N0), W^l into ws[l - 2] (width x width), sb * b^l into bs[l - 1]."""
    np.random.seed(seed)
    width = w1.shape[0]
    for layer in range(bs.shape[0]):
        w = mc_weights(width, w1.shape[1] if layer == 0 else width, sw, orth)
        b = np.random.standard_normal(width)
        if layer == 0:
            w1[:, :] = w
        else:
            ws[layer - 1, :, :] = w
        for i in range(width):
            bs[layer, i] = sb * b[i]


@kernel()
def mc_res_layer(width, sw, sv, orth, full, forward):  # pragma: no cover - compiled
    """The draws of one residual layer (generator already seeded with the layer's seed).

    Returns (W, b, V, a): W = W^l (width x width) and, with ``full``, V = V^l and
    a = N(0, 1)^width (unscaled); b = N(0, 1)^width (unscaled).  With ``forward`` False
    (the backward pass) the biases are still drawn (so V^l is the same matrix) but the
    unneeded arrays are returned empty.  Without ``full``, V and a are empty.
    """
    w = mc_weights(width, width, sw, orth)
    b = np.random.standard_normal(width)
    if full:
        v = mc_weights(width, width, sv, orth)
        a = np.random.standard_normal(width) if forward else np.empty(0)
    else:
        v = np.empty((0, 0))
        a = np.empty(0)
    return w, b, v, a


@kernel()
def mc_res_trial(
    code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, trial, p1, p2, p12, q1, gr
):  # pragma: no cover - compiled
    """One residual network (Numba's generator already seeded): fill row ``trial``.

    Forward (two inputs, the same weights): h^l = W^l x^{l-1} + b^l and
    x^l = x^{l-1} + alpha phi(h^l) (reduced) or x^{l-1} + alpha (V^l phi(h^l) + a^l) (full);
    p1, p2, p12 (columns l = 0..L) get |x_1^l|^2 / N, |x_2^l|^2 / N, x_1^l . x_2^l / N and
    q1 (column l - 1) |h_1^l|^2 / N.  Backward from g^L = gl for input 1:
    g^{l-1} = g^l + alpha W^T (phi'(h_1^l) * V^T g^l) (V = I when reduced); gr (column
    l - 1) gets |g^{l-1}|^2 / |g^l|^2.  Layer l's parameters come from Numba's generator
    re-seeded with a per-layer seed (drawn first, from the trial's stream), so the
    backward pass regenerates W^l, V^l instead of storing them: memory is
    O(depth * width + width^2), not O(depth * width^2).
    """
    width = x1.shape[0]
    depth = q1.shape[1]
    seeds = np.random.randint(0, 4294967296, depth)
    x = np.empty((width, 2))
    s1 = 0.0
    s2 = 0.0
    s12 = 0.0
    for i in range(width):
        x[i, 0] = x1[i]
        x[i, 1] = x2[i]
        s1 += x1[i] * x1[i]
        s2 += x2[i] * x2[i]
        s12 += x1[i] * x2[i]
    p1[trial, 0] = s1 / width
    p2[trial, 0] = s2 / width
    p12[trial, 0] = s12 / width
    hs = np.empty((depth, width))
    for layer in range(depth):
        np.random.seed(seeds[layer])
        w, b, v, a = mc_res_layer(width, sw, sv, orth, full, True)
        h = np.dot(w, x)
        f = np.empty((width, 2))
        sq = 0.0
        for i in range(width):
            bi = sb * b[i]
            y1 = h[i, 0] + bi
            y2 = h[i, 1] + bi
            sq += y1 * y1
            hs[layer, i] = y1
            f[i, 0] = act_eval(code, 0, y1)
            f[i, 1] = act_eval(code, 0, y2)
        q1[trial, layer] = sq / width
        if full:
            f = np.dot(v, f)
            for i in range(width):
                ai = sa * a[i]
                f[i, 0] += ai
                f[i, 1] += ai
        s1 = 0.0
        s2 = 0.0
        s12 = 0.0
        for i in range(width):
            y1 = x[i, 0] + alpha * f[i, 0]
            y2 = x[i, 1] + alpha * f[i, 1]
            x[i, 0] = y1
            x[i, 1] = y2
            s1 += y1 * y1
            s2 += y2 * y2
            s12 += y1 * y2
        p1[trial, layer + 1] = s1 / width
        p2[trial, layer + 1] = s2 / width
        p12[trial, layer + 1] = s12 / width
    g = gl.copy()
    sg = 0.0
    for i in range(width):
        sg += g[i] * g[i]
    for layer in range(depth - 1, -1, -1):
        np.random.seed(seeds[layer])
        w, b, v, a = mc_res_layer(width, sw, sv, orth, full, False)
        u = np.dot(g, v) if full else g.copy()  # V^T g
        for i in range(width):
            u[i] *= act_eval(code, 1, hs[layer, i])
        d = np.dot(u, w)  # W^T (phi' * V^T g)
        sn = 0.0
        for i in range(width):
            gi = g[i] + alpha * d[i]
            g[i] = gi
            sn += gi * gi
        gr[trial, layer] = sn / sg
        sg = sn


@kernel()
def mc_res_parameters(sw, sb, sv, sa, full, orth, seed, ws, bs, vs, as_):  # pragma: no cover
    """Replay the parameter draws of trial ``seed`` of :func:`mc_res_trial` into
    ws[l - 1] = W^l, bs[l - 1] = sb b^l and, with ``full``, vs[l - 1] = V^l, as_[l - 1] = sa a^l."""
    np.random.seed(seed)
    depth = ws.shape[0]
    width = ws.shape[1]
    seeds = np.random.randint(0, 4294967296, depth)
    for layer in range(depth):
        np.random.seed(seeds[layer])
        w, b, v, a = mc_res_layer(width, sw, sv, orth, full, True)
        ws[layer, :, :] = w
        for i in range(width):
            bs[layer, i] = sb * b[i]
        if full:
            vs[layer, :, :] = v
            for i in range(width):
                as_[layer, i] = sa * a[i]


@kernel()
def mc_res_seeded_trial(
    code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, seed, trial, p1, p2, p12, q1, gr
):  # pragma: no cover - compiled
    """Seed Numba's generator with ``seed + trial`` and run :func:`mc_res_trial`."""
    np.random.seed(seed + trial)
    mc_res_trial(code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, trial, p1, p2, p12, q1, gr)


@kernel(role="cpu", parallel=True)
def mc_resnet_trials(
    code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, seed, p1, p2, p12, q1, gr
):  # pragma: no cover - compiled
    """Residual-network trials on Numba's thread pool (see :func:`mc_res_trial`)."""
    for trial in prange(q1.shape[0]):
        mc_res_seeded_trial(code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, seed, trial,
                            p1, p2, p12, q1, gr)


@kernel(role="cpu")
def mc_resnet_trials_serial(
    code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, seed, p1, p2, p12, q1, gr
):  # pragma: no cover - compiled
    """:func:`mc_resnet_trials` on the calling thread (bitwise the same)."""
    for trial in range(q1.shape[0]):
        mc_res_seeded_trial(code, x1, x2, gl, sw, sb, sv, sa, alpha, full, orth, seed, trial,
                            p1, p2, p12, q1, gr)


@dataclass(frozen=True)
class NetworkSample(Result):
    """Per-trial, per-layer statistics of :func:`sample_network`, each (n_trials, depth).

    Column l - 1 holds layer l.  ``q1``, ``q2``: |h_a^l|^2 / N; ``q12``: h_1^l . h_2^l / N;
    ``g``: |t^l|^2 / N for the tangent t^l = (d h_1^l / d x) v;
    ``d12``: (1/N) sum_i phi'(h_{1,i}^l) phi'(h_{2,i}^l), from the pre-activations of layer l
    (sigma_w^2 d12 is the finite-width counterpart of the C-map slope at c^l).
    """

    q1: np.ndarray
    q2: np.ndarray
    q12: np.ndarray
    g: np.ndarray
    d12: np.ndarray

    @property
    def c(self) -> np.ndarray:
        """Per-trial correlation q12 / sqrt(q1 q2) (1 where either length is 0)."""
        return _correlation(self.q12, self.q1, self.q2)


def _correlation(p12: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """p12 / sqrt(p1 p2) clipped to [-1, 1] (1 where either length is 0)."""
    den = np.sqrt(p1 * p2)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, p12 / np.where(den > 0, den, 1.0), 1.0)
    return np.clip(c, -1.0, 1.0)


@dataclass(frozen=True)
class ResNetSample(Result):
    """Per-trial, per-layer statistics of :func:`sample_resnet`.

    ``p1``, ``p2``, ``p12`` (n_trials, depth + 1), column l = 0..L: |x_1^l|^2 / N,
    |x_2^l|^2 / N, x_1^l . x_2^l / N of the residual stream (column 0: the inputs).
    ``q1`` (n_trials, depth), column l - 1: |h_1^l|^2 / N (pre-activation of layer l).
    ``grad_ratio`` (n_trials, depth), column l - 1: |g^{l-1}|^2 / |g^l|^2 for the backward
    pass of input 1 (g^l = dE/dx^l with dE/dx^L = the given vector).
    """

    p1: np.ndarray
    p2: np.ndarray
    p12: np.ndarray
    q1: np.ndarray
    grad_ratio: np.ndarray

    @property
    def c(self) -> np.ndarray:
        """Per-trial correlation p12 / sqrt(p1 p2) of the residual stream, (n_trials, depth + 1)."""
        return _correlation(self.p12, self.p1, self.p2)

    @property
    def grad_growth(self) -> np.ndarray:
        """Per-trial |g^l|^2 / |g^L|^2 for l = 0..L, (n_trials, depth + 1) (last column 1)."""
        r = self.grad_ratio
        out = np.ones((r.shape[0], r.shape[1] + 1))
        out[:, :-1] = np.cumprod(r[:, ::-1], axis=1)[:, ::-1]
        return out


@lru_cache(maxsize=1)
def _openblas_controls() -> tuple[tuple[Any, Any], ...]:
    """(get, set) ctypes functions of every OpenBLAS mapped into this process (Linux)."""
    # numba's np.dot / np.linalg.qr call SciPy's BLAS and LAPACK: make sure they are mapped
    import scipy.linalg.cython_blas  # noqa: F401
    import scipy.linalg.cython_lapack  # noqa: F401

    try:
        with open("/proc/self/maps") as fh:
            paths = {ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return ()
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_", "_64_"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype = ctypes.c_int
                    set_.argtypes = [ctypes.c_int]
                    out.append((get, set_))
                    break
            else:
                continue
            break
    return tuple(out)


@contextmanager
def single_thread_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (best effort; restores on exit)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    controls = _openblas_controls()
    saved = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(controls, saved, strict=True):
            set_(max(1, int(n)))


def _vector(name: str, x: Any) -> np.ndarray:
    a = _as_float(name, x)
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float64)


def _scalar(name: str, x: Any) -> float:
    a = _as_float(name, x, lo=0.0)
    if a.ndim != 0:
        raise ValueError(f"{name} must be a scalar >= 0, got shape {a.shape}")
    return float(a)


def _warn_nonfinite(func: str, arrays: list[np.ndarray]) -> None:
    """RuntimeWarning (attributed to the caller of ``func``) if any array holds inf/nan."""
    if not all(np.isfinite(o).all() for o in arrays):
        warnings.warn(
            f"{func}: non-finite values (overflow in a deep expanding network); "
            "reduce depth or sigma_w2",
            RuntimeWarning,
            stacklevel=3,
        )


def sample_network(
    activation: str | Activation,
    x1: Any,
    x2: Any,
    v: Any,
    sigma_w2: float,
    sigma_b2: float,
    *,
    width: int,
    depth: int,
    n_trials: int,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
    desc: str = "sample_network",
) -> NetworkSample:
    """Propagate x1, x2 and the tangent v through ``n_trials`` random networks.

    Parameters
    ----------
    activation : name or :class:`Activation`; phi' must exist as a function
        (``max_deriv >= 1``) because the tangent is propagated.
    x1, x2, v : 1-D inputs of a common length N0 (finite).
    sigma_w2, sigma_b2 : weight and bias variances (>= 0, finite);
        W_ij has variance sigma_w2 / fan_in.
    width : N >= 1.  depth : L >= 1.  n_trials : >= 1 independent networks.
    weights : "gaussian" or "orthogonal" (scaled Haar; see the module docstring
        for the rectangular first layer).
    seed : integer >= 0 with seed + n_trials - 1 <= 2**32 - 1, a numpy Generator or
        None (an integer base seed is then drawn from it, below 2**31); trial k uses
        Numba's generator seeded with seed + k (reproducible for any thread count).
    progress : a progress bar (tqdm on stderr, labelled ``desc``) of the trials done; off
        by default.  The trials then run in about 50 compiled calls of at least the
        thread count each, trials [a, b) with rows a..b - 1 and seed + a: since trial k
        depends only on seed + k, the result is bitwise that of the single call made
        without it.

    Returns
    -------
    :class:`NetworkSample` with arrays q1, q2, q12, g, d12 of shape (n_trials, depth).
    Values overflow to inf for very deep expanding networks (e.g. relu with
    sigma_w2 > 2); a ``RuntimeWarning`` says so.
    """
    act = get_activation(activation)
    act.require(1, "the tangent propagation")
    a1 = _vector("x1", x1)
    a2 = _vector("x2", x2)
    av = _vector("v", v)
    if a2.shape != a1.shape or av.shape != a1.shape:
        raise ValueError(
            f"x1, x2 and v must have the same length N0, got {a1.size}, {a2.size}, {av.size}"
        )
    n_trials = as_int("n_trials", n_trials, lo=1)
    progress = check_progress(progress)
    sw, sb, width, depth, orth, seed = _network_args(
        sigma_w2, sigma_b2, width, depth, weights, seed, n_trials
    )
    out = [np.zeros((n_trials, depth)) for _ in range(5)]
    fam = act.family("cpu")
    per_trial = _trial_ns(a1.size, width, depth, orth)
    with single_thread_blas():
        for a, b in progress_ranges(n_trials, desc, progress, unit="trial",
                                    min_size=thread_count()):
            # rows a..b - 1 are trials a..b - 1: a C-contiguous row block seeded with seed + a
            run = pick(fam.mc_network_trials_serial, fam.mc_network_trials,
                       (b - a) * per_trial)
            run(act.code, a1, a2, av, sw, sb, width, orth, seed + a, *(o[a:b] for o in out))
    _warn_nonfinite("sample_network", out)
    return NetworkSample(q1=out[0], q2=out[1], q12=out[2], g=out[3], d12=out[4])


#: serial cost of one trial, ns: per weight entry drawn and multiplied (3 columns), per
#: Householder QR flop (orthogonal) and per unit and layer (activations, statistics);
#: measured on a 2-core x86-64 machine (55-90 ns per entry, 0.3-0.5 ns per QR flop)
NS_PER_WEIGHT = 50.0
NS_PER_QR_FLOP = 0.35
NS_PER_UNIT = 100.0


def _trial_ns(n0: int, width: int, depth: int, orth: int) -> float:
    """Estimated serial time of one trial of :func:`sample_network` (ns)."""
    entries = width * (n0 + (depth - 1) * width)
    qr = 0.0
    if orth:
        m, n = max(width, n0), min(width, n0)
        qr = 2.0 * m * n * n - 2.0 * n**3 / 3.0 + (depth - 1) * 4.0 * width**3 / 3.0
    return NS_PER_WEIGHT * entries + NS_PER_QR_FLOP * qr + NS_PER_UNIT * width * depth


def _network_args(sigma_w2, sigma_b2, width, depth, weights, seed, n_trials=1):
    sw2 = _scalar("sigma_w2", sigma_w2)
    sb2 = _scalar("sigma_b2", sigma_b2)
    width = as_int("width", width, lo=1)
    depth = as_int("depth", depth, lo=1)
    seed = as_int("seed", as_seed(seed), lo=0, hi=MAX_SEED - (n_trials - 1))
    if weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {sorted(WEIGHT_KINDS)}, got {weights!r}")
    return math.sqrt(sw2), math.sqrt(sb2), width, depth, WEIGHT_KINDS[weights], seed


def sample_parameters(
    n0: int,
    *,
    width: int,
    depth: int,
    sigma_w2: float,
    sigma_b2: float,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights and biases of the network :func:`propagate_batch` draws for ``seed``.

    Returns ``[(W^1, b^1), ..., (W^L, b^L)]`` with W^1 of shape (width, n0), W^l
    (width, width) for l >= 2 and b^l of shape (width,) *as added*, i.e. already
    multiplied by sigma_b.  They are bitwise the parameters of
    ``propagate_batch(act, x, sigma_w2, sigma_b2, width=width, depth=depth,
    weights=weights, seed=seed)`` for any input x with n0 rows (and of trial 0 of
    :func:`sample_network`): a compiled loop replays the same Numba generator stream
    (seed, then per layer W^l via :func:`mc_weights` and sigma_b * N(0, 1)^width).
    So in numpy ``h^1 = W^1 @ x + b^1[:, None]``, ``h^l = W^l @ phi(h^{l-1}) + b^l[:, None]``
    reproduces ``propagate_batch`` up to the rounding of the matrix products.

    Memory: width * (n0 + (depth - 1) * width) doubles (1.6 GB for width 1000, depth 200).
    Arguments are validated as in :func:`propagate_batch`; ``n0`` is an int >= 1.
    """
    n0 = as_int("n0", n0, lo=1)
    sw, sb, width, depth, orth, seed = _network_args(
        sigma_w2, sigma_b2, width, depth, weights, seed
    )
    w1 = np.empty((width, n0))
    ws = np.empty((depth - 1, width, width))
    bs = np.empty((depth, width))
    with single_thread_blas():
        mc_parameters(sw, sb, orth, seed, w1, ws, bs)
    return [(w1, bs[0])] + [(ws[k], bs[k + 1]) for k in range(depth - 1)]


def propagate_batch(
    activation: str | Activation,
    x: Any,
    sigma_w2: float,
    sigma_b2: float,
    *,
    width: int,
    depth: int,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    preactivation: bool = False,
) -> np.ndarray:
    """Pre-activations of every layer for a batch of inputs through one random network.

    With the columns x_p of ``x`` (N0 x P) as inputs, computes
    h^1 = W^1 x_p + b^1 (or W^1 phi(x_p) + b^1 with ``preactivation=True``, i.e. when
    the columns are themselves pre-activations of a "layer 0") and
    h^l = W^l phi(h^{l-1}) + b^l, with the same W^l, b^l for every column.

    Parameters
    ----------
    activation : name or :class:`Activation` (only phi itself is evaluated).
    x : 2-D array N0 x P (finite), one input per column.
    sigma_w2, sigma_b2, width, depth, weights : as in :func:`sample_network`.
    seed : integer in [0, 2**32 - 1] (or a numpy Generator / None, from which one is
        drawn): Numba's generator is seeded with it, and the
        network is the one trial 0 of :func:`sample_network` draws with the same seed
        (bitwise the same weights and biases).
    preactivation : apply phi to the inputs before the first layer.

    Returns
    -------
    array (depth, width, P): element [l - 1, i, p] is h_i^l for input p.  It holds
    depth * width * P doubles: batch the inputs if that is too much.  BLAS runs on one
    thread here too: on a 2-core machine that was about 2x (Gaussian) and 2.5x
    (orthogonal) faster than OpenBLAS's own threading for width 1000, P = 128.
    """
    act = get_activation(activation)
    a = _as_float("x", x)
    if a.ndim != 2 or a.size < 1:
        raise ValueError(f"x must be a non-empty 2-D array (N0 x P), got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    sw, sb, width, depth, orth, seed = _network_args(
        sigma_w2, sigma_b2, width, depth, weights, seed
    )
    out = np.zeros((depth, width, a.shape[1]))
    fam = act.family("cpu")
    with single_thread_blas():
        fam.mc_batch_network(act.code, a, bool(preactivation), sw, sb, width, orth, seed, out)
    _warn_nonfinite("propagate_batch", [out])
    return out


def _resnet_trial_ns(width: int, depth: int, orth: int, full: int) -> float:
    """Estimated serial time of one trial of :func:`sample_resnet` (ns): every weight
    matrix is drawn twice (forward, then regenerated in the backward pass)."""
    mats = 2 * (2 if full else 1) * depth
    qr = mats * 4.0 * width**3 / 3.0 if orth else 0.0
    return NS_PER_WEIGHT * mats * width * width + NS_PER_QR_FLOP * qr + NS_PER_UNIT * width * depth


def sample_resnet(
    activation: str | Activation,
    x1: Any,
    x2: Any,
    g: Any,
    sigma_w2: float,
    sigma_b2: float,
    *,
    depth: int,
    n_trials: int,
    alpha: float = 1.0,
    kind: str = "reduced",
    sigma_v2: float = 1.0,
    sigma_a2: float = 0.0,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
    desc: str = "sample_resnet",
) -> ResNetSample:
    """Push x1, x2 forward and g back through ``n_trials`` random residual networks.

    Width N = len(x1) (every layer, the input included).  Layer l = 1..L
    (Yang & Schoenholz 2017, "Mean field residual networks: on the edge of chaos"):

        h^l = W^l x^{l-1} + b^l,
        reduced:  x^l = x^{l-1} + alpha phi(h^l),
        full:     x^l = x^{l-1} + alpha (V^l phi(h^l) + a^l),

    W_ij ~ N(0, sigma_w2 / N), V_ij ~ N(0, sigma_v2 / N) (or scaled Haar orthogonal with
    ``weights="orthogonal"``), b_i ~ N(0, sigma_b2), a_i ~ N(0, sigma_a2); both inputs
    see the same parameters.  The backward pass is the true gradient of E = g . x^L
    with respect to the residual stream of input 1: g^L = g,
    g^{l-1} = g^l + alpha W^T (phi'(h_1^l) * (V^T g^l)) (V = I for ``reduced``).

    Parameters
    ----------
    activation : name or :class:`Activation` (phi' must exist: the backward pass).
    x1, x2, g : 1-D arrays of a common length N (finite).
    sigma_w2, sigma_b2, sigma_v2, sigma_a2 : variances (>= 0, finite); ``reduced``
        requires sigma_v2 = 1 and sigma_a2 = 0 (no V, a in that network).
    depth : L >= 1.  n_trials : >= 1.  alpha : branch scale (finite, >= 0).
    kind : "reduced" or "full".  weights : "gaussian" or "orthogonal".
    seed : as in :func:`sample_network` (trial k seeds Numba's generator with seed + k;
        bitwise reproducible for any thread count).
    progress, desc : a progress bar of the trials done, as in :func:`sample_network`
        (bitwise the same result); off by default.

    Seeding within a trial: after ``np.random.seed(seed + k)`` the trial draws L layer
    seeds (uniform 32-bit integers); layer l re-seeds with its own before drawing W^l,
    b^l (then V^l, a^l), and the backward pass re-seeds again to regenerate W^l, V^l, so
    no weight matrix is stored (memory O(width^2 + depth * width) per thread).  The
    price is drawing each matrix twice.  BLAS runs single-threaded, trials in parallel.

    Returns
    -------
    :class:`ResNetSample`: p1, p2, p12 (n_trials, depth + 1); q1, grad_ratio
    (n_trials, depth).  Non-finite values (overflow) give a ``RuntimeWarning``.
    """
    act = get_activation(activation)
    act.require(1, "the backward pass")
    a1 = _vector("x1", x1)
    a2 = _vector("x2", x2)
    ag = _vector("g", g)
    if a2.shape != a1.shape or ag.shape != a1.shape:
        raise ValueError(
            f"x1, x2 and g must have the same length N, got {a1.size}, {a2.size}, {ag.size}"
        )
    if not np.any(ag != 0.0):
        raise ValueError("g must not be the zero vector")
    n_trials = as_int("n_trials", n_trials, lo=1)
    progress = check_progress(progress)
    full, sv2, sa2 = _resnet_args(kind, sigma_v2, sigma_a2)
    alpha = _scalar("alpha", alpha)
    sw, sb, width, depth, orth, seed = _network_args(
        sigma_w2, sigma_b2, a1.size, depth, weights, seed, n_trials
    )
    p1, p2, p12 = (np.zeros((n_trials, depth + 1)) for _ in range(3))
    q1, gr = (np.zeros((n_trials, depth)) for _ in range(2))
    fam = act.family("cpu")
    per_trial = _resnet_trial_ns(width, depth, orth, full)
    with single_thread_blas():
        for a, b in progress_ranges(n_trials, desc, progress, unit="trial",
                                    min_size=thread_count()):
            run = pick(fam.mc_resnet_trials_serial, fam.mc_resnet_trials, (b - a) * per_trial)
            run(act.code, a1, a2, ag, sw, sb, math.sqrt(sv2), math.sqrt(sa2), alpha, full,
                orth, seed + a, p1[a:b], p2[a:b], p12[a:b], q1[a:b], gr[a:b])
    _warn_nonfinite("sample_resnet", [p1, p2, p12, q1, gr])
    return ResNetSample(p1=p1, p2=p2, p12=p12, q1=q1, grad_ratio=gr)


def _resnet_args(kind: Any, sigma_v2: Any, sigma_a2: Any) -> tuple[int, float, float]:
    """(full flag, sigma_v2, sigma_a2) validated for a residual block of ``kind``."""
    if kind not in RESNET_KINDS:
        raise ValueError(f"kind must be one of {sorted(RESNET_KINDS)}, got {kind!r}")
    full = RESNET_KINDS[kind]
    sv2 = _scalar("sigma_v2", sigma_v2)
    sa2 = _scalar("sigma_a2", sigma_a2)
    if not full and (sv2 != 1.0 or sa2 != 0.0):
        raise ValueError(
            "kind='reduced' has no V, a: sigma_v2 must be 1 and sigma_a2 0 "
            f"(got {sv2}, {sa2}); use kind='full'"
        )
    return full, sv2, sa2


def sample_resnet_parameters(
    width: int,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float,
    kind: str = "reduced",
    sigma_v2: float = 1.0,
    sigma_a2: float = 0.0,
    weights: str = "gaussian",
    seed: int | np.random.Generator | None = 0,
) -> list[tuple[np.ndarray, ...]]:
    """The parameters of the residual network that trial 0 of :func:`sample_resnet` draws.

    Returns ``[(W^l, b^l), ...]`` (``kind="reduced"``) or ``[(W^l, b^l, V^l, a^l), ...]``
    (``"full"``) for l = 1..depth, biases as added (multiplied by sigma_b, sigma_a); bitwise
    the parameters of ``sample_resnet(..., seed=seed)``'s first network (trial k of a call
    with seed s is the network of ``seed=s + k`` here), replayed by a compiled loop from the
    same generator stream.  For checks and small experiments: it stores every matrix
    (width^2 * depth doubles, twice that for ``full``).
    """
    full, sv2, sa2 = _resnet_args(kind, sigma_v2, sigma_a2)
    sw, sb, width, depth, orth, seed = _network_args(
        sigma_w2, sigma_b2, width, depth, weights, seed
    )
    ws = np.empty((depth, width, width))
    bs = np.empty((depth, width))
    vs = np.empty((depth if full else 0, width, width))
    as_ = np.empty((depth if full else 0, width))
    with single_thread_blas():
        mc_res_parameters(sw, sb, math.sqrt(sv2), math.sqrt(sa2), full, orth, seed, ws, bs, vs,
                          as_)
    if full:
        return [(ws[k], bs[k], vs[k], as_[k]) for k in range(depth)]
    return [(ws[k], bs[k]) for k in range(depth)]
