"""Predictions of infinitely wide networks from their kernel matrices.

Matrix-level functions: the inputs are kernel matrices (NNGP K, NTK Theta), so they
work with any kernel, e.g. those of :func:`deeptheory.meanfield.network_kernels`.

* :func:`gp_posterior` -- exact Bayesian inference with the NNGP kernel (Lee et al.
  2018; Rasmussen & Williams 2006, algorithm 2.1):

      mean = K_*X (K_XX + s^2 I)^{-1} Y,
      cov  = K_** - K_*X (K_XX + s^2 I)^{-1} K_X*.

* :func:`ntk_mean_prediction` -- gradient flow on the squared loss of an infinitely
  wide network, which evolves as its linearisation (Jacot et al. 2018; Lee et al.
  2019, section 2):

      f_t(X)  = Y + exp(-eta Theta t) (f_0(X) - Y),
      f_t(X*) = f_0(X*) + Theta_*X Theta^{-1} (I - exp(-eta Theta t)) (Y - f_0(X)).

* :func:`ntk_gp_prediction` -- the Gaussian process of the outputs of an ensemble of
  such networks, f_0 ~ GP(0, K) at initialisation (Lee et al. 2019, section 2.3).

Loss convention (all of this module): the squared loss is the *sum*
L = 1/2 sum_{i, k} (f_k(x_i) - y_ik)^2, so gradient flow in function space reads
df/dt = -eta Theta (f - Y).  A loss averaged over the n training points (or over the
n k entries, as in neural-tangents' ``predict.gradient_descent_mse``) is the same flow
with ``learning_rate`` = eta / n (or eta / (n k)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float

__all__ = [
    "GPPosterior",
    "NTKGPPrediction",
    "NTKPrediction",
    "gp_posterior",
    "ntk_gp_prediction",
    "ntk_mean_prediction",
]

#: relative asymmetry |K - K^T| / max|K| accepted (and removed) in a kernel matrix
SYMMETRY_RTOL = 1e-8
#: automatic jitters, in units of mean(diag K), tried in turn after no jitter
JITTERS = (1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6)
#: a Cholesky factor whose reciprocal condition estimate (1-norm, LAPACK dpocon) is below
#: this is treated as numerically singular
RCOND_MIN = 1e-15
#: eigenvalues of Theta down to -PSD_RTOL * lambda_max are round-off (set to zero)
PSD_RTOL = 1e-8


@dataclass(frozen=True)
class GPPosterior(Result):
    """Posterior of a GP regression: ``mean`` (n_test[, k]), ``cov`` (n_test, n_test) or None.

    ``log_marginal_likelihood`` is log p(Y | X) summed over the k independent outputs;
    ``jitter`` is the absolute value added to the diagonal of K_XX + s^2 I (0 if none).
    """

    mean: np.ndarray
    cov: np.ndarray | None
    log_marginal_likelihood: float
    jitter: float

    @property
    def var(self) -> np.ndarray | None:
        """The posterior variances, diag(cov) (None without ``k_test``)."""
        return None if self.cov is None else np.diag(self.cov).copy()


@dataclass(frozen=True)
class NTKPrediction(Result):
    """Mean outputs after gradient flow for time(s) ``t``.

    ``test`` has shape (n_test[, k]) for a scalar ``t`` and (len(t), n_test[, k]) for a
    1-D ``t`` (None without ``theta_cross``); ``train`` likewise with n_train.
    """

    test: np.ndarray | None
    train: np.ndarray
    t: np.ndarray | float


@dataclass(frozen=True)
class NTKGPPrediction(Result):
    """Test outputs of the trained ensemble: ``mean`` ([len(t),] n_test[, k]) and
    ``cov`` ([len(t),] n_test, n_test); the covariance is shared by the k outputs."""

    mean: np.ndarray
    cov: np.ndarray
    t: np.ndarray | float

    @property
    def var(self) -> np.ndarray:
        """The variances, the diagonal of ``cov`` (last axis n_test)."""
        return np.diagonal(self.cov, axis1=-2, axis2=-1).copy()


# ------------------------------------------------------------------ validation
def _matrix(name: str, v: Any, shape: tuple[int | None, int | None]) -> np.ndarray:
    a = as_float(name, v)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {a.shape}")
    for got, want, what in zip(a.shape, shape, ("rows", "columns"), strict=True):
        if want is not None and got != want:
            raise ValueError(f"{name} must have {want} {what} (shape {_fmt(shape)}), "
                             f"got shape {a.shape}")
    return a


def _fmt(shape: tuple[int | None, int | None]) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def _symmetric(name: str, v: Any, n: int | None = None) -> np.ndarray:
    a = _matrix(name, v, (n, n))
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    scale = float(np.max(np.abs(a)))
    asym = float(np.max(np.abs(a - a.T)))
    if asym > SYMMETRY_RTOL * scale:
        raise ValueError(f"{name} must be symmetric: max |{name} - {name}.T| = {asym:.3g} "
                         f"exceeds {SYMMETRY_RTOL:g} * max |{name}| = {SYMMETRY_RTOL * scale:.3g}")
    return 0.5 * (a + a.T)


def _targets(name: str, v: Any, n: int) -> np.ndarray:
    y = as_float(name, v)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, k) to match the "
                         f"{n} training points, got shape {y.shape}")
    return y


def _nonneg_scalar(name: str, v: Any) -> float:
    a = as_float(name, v, lo=0.0)
    if a.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    return float(a)


# ------------------------------------------------------------------ GP posterior
def _cholesky(a: np.ndarray, jitter: float | None, name: str, noise_var: float
              ) -> tuple[tuple[np.ndarray, bool], float]:
    """cho_factor of a (+ jitter I), the jitter chosen as in :func:`gp_posterior`."""
    from scipy import linalg  # lazy: keeps ``import deeptheory.meanfield`` light

    scale = float(np.mean(np.diag(a)))
    if jitter is None:
        tries = [0.0] + [e * scale for e in JITTERS] if scale > 0 else [0.0]
    else:
        tries = [jitter]
    anorm = float(np.max(np.sum(np.abs(a), axis=0)))
    for jit in tries:
        m = a + jit * np.eye(a.shape[0]) if jit else a
        try:
            c, lower = linalg.cho_factor(m, lower=True, check_finite=False)
        except linalg.LinAlgError:
            continue
        rcond, info = linalg.lapack.dpocon(c, anorm + jit, uplo="L")
        if info == 0 and rcond >= RCOND_MIN:
            return (c, lower), jit
    lam = linalg.eigvalsh(a)
    what = name if noise_var == 0.0 else f"{name} + noise_var * I"
    tried = ("no jitter and jitters up to "
             f"{JITTERS[-1]:g} * mean(diag) = {JITTERS[-1] * scale:.3g}" if jitter is None
             else f"jitter = {jitter:.3g}")
    raise ValueError(
        f"{what} is not numerically positive definite (tried {tried}): its eigenvalues "
        f"range from {lam[0]:.3g} to {lam[-1]:.3g} (condition estimate "
        f"{lam[-1] / max(abs(lam[0]), 1e-300):.3g}); pass noise_var > 0, or use a shallower "
        "or less degenerate kernel (deep kernels approach a constant matrix)")


def gp_posterior(
    k_train: Any,
    y_train: Any,
    k_cross: Any,
    k_test: Any = None,
    *,
    noise_var: float = 0.0,
    jitter: float | None = None,
) -> GPPosterior:
    """Posterior mean and covariance of GP regression from kernel matrices.

    Rasmussen & Williams 2006, algorithm 2.1; with the NNGP kernel this is exact
    Bayesian inference in an infinitely wide network (Lee et al. 2018):

        mean = K_*X A^{-1} Y,   cov = K_** - K_*X A^{-1} K_X*,   A = K_XX + s^2 I,
        log p(Y) = -1/2 Y^T A^{-1} Y - 1/2 log det A - n/2 log(2 pi)  (per output).

    Parameters
    ----------
    k_train : (n, n) symmetric positive (semi-)definite K_XX (asymmetry up to 1e-8
        relative is removed).
    y_train : (n,) or (n, k) targets; the k outputs are independent GPs with this kernel.
    k_cross : (n_test, n) matrix K_*X.
    k_test : (n_test, n_test) K_** for the posterior covariance, or None (no ``cov``).
    noise_var : observation noise variance s^2 >= 0.
    jitter : None (default) first tries A itself and then A + eps mean(diag A) I for
        eps = 1e-12, 1e-11, ..., 1e-6 until the Cholesky factorisation succeeds with a
        reciprocal condition estimate (LAPACK dpocon, 1-norm) >= 1e-15; a number uses
        exactly that absolute jitter (0 for none).  The jitter used is returned.

    Returns
    -------
    GPPosterior
        ``mean`` (n_test[, k]), ``cov`` (or None), ``log_marginal_likelihood``, ``jitter``.

    Raises
    ------
    ValueError
        For bad shapes or values, and when A is not numerically positive definite (the
        message gives its eigenvalue range): pass ``noise_var`` > 0 or use a less
        degenerate kernel.
    """
    kxx = _symmetric("k_train", k_train)
    n = kxx.shape[0]
    y = _targets("y_train", y_train, n)
    kx = _matrix("k_cross", k_cross, (None, n))
    noise = _nonneg_scalar("noise_var", noise_var)
    jit = None if jitter is None else _nonneg_scalar("jitter", jitter)
    kss = None if k_test is None else _symmetric("k_test", k_test, kx.shape[0])

    a = kxx + noise * np.eye(n) if noise else kxx
    cf, used = _cholesky(a, jit, "k_train", noise)
    from scipy import linalg

    alpha = linalg.cho_solve(cf, y, check_finite=False)
    mean = kx @ alpha
    cov = None
    if kss is not None:
        v = linalg.solve_triangular(cf[0], kx.T, lower=True, check_finite=False)
        cov = kss - v.T @ v
        cov = 0.5 * (cov + cov.T)
    k = 1 if y.ndim == 1 else y.shape[1]
    logdet = 2.0 * float(np.sum(np.log(np.diag(cf[0]))))
    lml = float(-0.5 * np.sum(y * alpha) - 0.5 * k * logdet - 0.5 * k * n * np.log(2 * np.pi))
    return GPPosterior(mean=mean, cov=cov, log_marginal_likelihood=lml, jitter=used)


# ------------------------------------------------------------ NTK gradient flow
def _times(v: Any) -> tuple[np.ndarray, bool]:
    try:
        t = np.asarray(v, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"t must be real numbers, got {v!r}") from exc
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or a 1-D array, got shape {t.shape}")
    if np.any(np.isnan(t)):
        raise ValueError("t must not be NaN")
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (np.inf for the end of training), got min {t.min()}")
    return np.atleast_1d(t), t.ndim == 0


def _ntk_eig(theta_train: Any, need_inverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (round-off negatives set to 0) and eigenvectors of Theta."""
    from scipy import linalg

    th = _symmetric("theta_train", theta_train)
    lam, vec = linalg.eigh(th, check_finite=False)
    top = max(float(lam[-1]), 0.0)
    if lam[0] < -PSD_RTOL * top or top == 0.0:
        raise ValueError(
            f"theta_train must be positive semi-definite: its eigenvalues range from "
            f"{lam[0]:.3g} to {lam[-1]:.3g} (round-off allowance -{PSD_RTOL:g} * largest)")
    lam = np.maximum(lam, 0.0)
    if need_inverse and lam[0] <= th.shape[0] * np.finfo(float).eps * top:
        raise ValueError(
            f"theta_train is singular to working precision (eigenvalues from {lam[0]:.3g} "
            f"to {top:.3g}), so the t = inf (kernel regression) prediction is not determined; "
            "use a finite t, or gp_posterior with noise_var > 0")
    return lam, vec


def _flow_factor(lam: np.ndarray, t: float, eta: float) -> np.ndarray:
    """(1 - exp(-eta lam t)) / lam, computed as eta t (-expm1(-x)) / x, x = eta lam t."""
    if np.isinf(t):
        return 1.0 / lam
    x = eta * lam * t
    out = np.full_like(lam, eta * t)
    pos = x > 0
    out[pos] = -np.expm1(-x[pos]) / lam[pos]
    return out


def ntk_mean_prediction(
    theta_train: Any,
    y_train: Any,
    theta_cross: Any,
    t: Any,
    *,
    learning_rate: float = 1.0,
    f0_train: Any = None,
    f0_test: Any = None,
) -> NTKPrediction:
    """Mean outputs of an infinitely wide network trained by gradient flow on the squared loss.

    Lee et al. 2019 ("Wide neural networks of any depth evolve as linear models under
    gradient descent"), section 2: with the NTK Theta and the loss
    L = 1/2 sum (f - Y)^2 (a sum; for a mean over n points pass learning_rate = eta / n),

        f_t(X)  = f_0(X) + (I - exp(-eta Theta t)) (Y - f_0(X)),
        f_t(X*) = f_0(X*) + Theta_*X Theta^{-1} (I - exp(-eta Theta t)) (Y - f_0(X)),

    which for f_0 = 0 (the mean over initialisations) is
    mu_t(X*) = Theta_*X Theta^{-1} (I - exp(-eta Theta t)) Y, and at t = inf the kernel
    regression solution Theta_*X Theta^{-1} Y (training outputs = Y).  Theta = V diag(lam)
    V^T is diagonalised once (``scipy.linalg.eigh``); each t then costs one product with
    (1 - exp(-eta lam t)) / lam, evaluated as -expm1(-x) / lam (-> eta t for lam -> 0).

    Parameters
    ----------
    theta_train : (n, n) symmetric positive semi-definite NTK on the training inputs.
    y_train : (n,) or (n, k) targets (every output has the same NTK).
    theta_cross : (n_test, n) NTK between test and training inputs, or None (no ``test``).
    t : training time(s) >= 0, a scalar or a 1-D array; ``np.inf`` allowed.
    learning_rate : eta > 0 (only eta t enters).
    f0_train, f0_test : the outputs at initialisation (shapes of ``y_train`` and
        (n_test[, k])); None means zero.

    Returns
    -------
    NTKPrediction
        ``test`` and ``train`` with a leading time axis when ``t`` is 1-D; ``t``.

    Raises
    ------
    ValueError
        For bad shapes, negative or NaN ``t``, a ``theta_train`` with eigenvalues below
        -1e-8 times its largest, and for t = inf a singular ``theta_train``.
    """
    ts, scalar, eta, lam, vec, y = _flow_setup(t, learning_rate, theta_train, y_train)
    n = lam.size
    f0x = 0.0 if f0_train is None else _f0("f0_train", f0_train, y.shape)
    r = vec.T @ (y - f0x)  # eigen-coordinates of Y - f_0(X)
    b = None
    f0s: np.ndarray | float = 0.0
    if theta_cross is not None:
        tx = _matrix("theta_cross", theta_cross, (None, n))
        b = tx @ vec
        if f0_test is not None:
            f0s = _f0("f0_test", f0_test, (tx.shape[0],) + y.shape[1:])
    elif f0_test is not None:
        raise ValueError("f0_test needs theta_cross (the test kernel)")
    col = (slice(None),) + (None,) * (y.ndim - 1)
    train, test = [], []
    for tt in ts:
        if np.isinf(tt):
            train.append(y.copy())
        else:
            grown = -np.expm1(-eta * lam * tt)  # 1 - exp(-eta lam t): exact f_0 at t = 0
            train.append(f0x + vec @ (grown[col] * r))
        if b is not None:
            test.append(f0s + b @ (_flow_factor(lam, float(tt), eta)[col] * r))
    tr = train[0] if scalar else np.stack(train)
    te = None if b is None else (test[0] if scalar else np.stack(test))
    return NTKPrediction(test=te, train=tr, t=float(ts[0]) if scalar else ts)


def _flow_setup(t: Any, learning_rate: Any, theta_train: Any, y_train: Any):
    """Validated times, learning rate, eigendecomposition of Theta and targets."""
    ts, scalar = _times(t)
    eta = as_float("learning_rate", learning_rate)
    if eta.ndim or not eta > 0:
        raise ValueError(f"learning_rate must be a positive scalar, got {learning_rate!r}")
    lam, vec = _ntk_eig(theta_train, need_inverse=bool(np.any(np.isinf(ts))))
    return ts, scalar, float(eta), lam, vec, _targets("y_train", y_train, lam.size)


def _f0(name: str, v: Any, shape: tuple[int, ...]) -> np.ndarray:
    a = as_float(name, v)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


def ntk_gp_prediction(
    theta_train: Any,
    y_train: Any,
    theta_cross: Any,
    k_train: Any,
    k_cross: Any,
    k_test: Any,
    t: Any = np.inf,
    *,
    learning_rate: float = 1.0,
) -> NTKGPPrediction:
    """Gaussian process of the test outputs of gradient-flow-trained wide networks.

    Lee et al. 2019, section 2.3: with f_0 ~ GP(0, K) (K the NNGP kernel) the
    linearised network's test outputs after training time t are Gaussian with

        mean = A_t Y,   cov = K_** - A_t K_X* - K_*X A_t^T + A_t K_XX A_t^T,
        A_t = Theta_*X Theta^{-1} (I - exp(-eta Theta t)),

    where t = inf gives their eq. 16 (A = Theta_*X Theta^{-1}).  Same loss convention as
    :func:`ntk_mean_prediction` (a summed squared loss).

    Parameters
    ----------
    theta_train, y_train, theta_cross : as in :func:`ntk_mean_prediction` (here
        ``theta_cross`` is required).
    k_train : (n, n) NNGP kernel K_XX.
    k_cross : (n_test, n) NNGP kernel K_*X.
    k_test : (n_test, n_test) NNGP kernel K_**.
    t : time(s) >= 0, scalar or 1-D, default ``np.inf``.
    learning_rate : eta > 0.

    Returns
    -------
    NTKGPPrediction
        ``mean`` ([len(t),] n_test[, k]) and ``cov`` ([len(t),] n_test, n_test).
    """
    ts, scalar, eta, lam, vec, y = _flow_setup(t, learning_rate, theta_train, y_train)
    n = lam.size
    if theta_cross is None:
        raise ValueError("theta_cross is required (the test-train NTK)")
    tx = _matrix("theta_cross", theta_cross, (None, n))
    m = tx.shape[0]
    kxx = _symmetric("k_train", k_train, n)
    kx = _matrix("k_cross", k_cross, (m, n))
    kss = _symmetric("k_test", k_test, m)
    b = tx @ vec  # Theta_*X V
    r = vec.T @ y
    kv = vec.T @ kxx @ vec  # K_XX in the eigenbasis
    kxv = kx @ vec  # K_*X V
    col = (slice(None),) + (None,) * (y.ndim - 1)
    means, covs = [], []
    for tt in ts:
        g = _flow_factor(lam, float(tt), eta)
        a = b * g  # A_t V = Theta_*X V diag(g)
        means.append(b @ (g[col] * r))
        cross = a @ kxv.T
        cov = kss - cross - cross.T + a @ kv @ a.T
        covs.append(0.5 * (cov + cov.T))
    if scalar:
        return NTKGPPrediction(mean=means[0], cov=covs[0], t=float(ts[0]))
    return NTKGPPrediction(mean=np.stack(means), cov=np.stack(covs), t=ts)
