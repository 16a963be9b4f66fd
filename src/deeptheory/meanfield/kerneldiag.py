"""How deep kernels degenerate: condition numbers vs depth, named by the mean-field phase.

Deep NNGP and NTK matrices lose their information at the rate set by the correlation
depth scale xi_c = -1 / ln chi_c (Schoenholz et al. 2017, "Deep information
propagation"; Xiao, Pennington & Schoenholz 2020, "Disentangling trainability and
generalization in deep neural networks"):

* ordered phase (chi_1 < 1, the correlation map's fixed point c* = 1): every
  correlation tends to 1, the kernel to a constant matrix q* 1 1^T of rank one, and its
  condition number grows without bound (in float32 it soon stops being positive definite:
  neural-tangents issues #36, #197);
* chaotic phase (chi_1 > 1, c* < 1): the correlations tend to c*, the kernel to
  q* ((1 - c*) I + c* 1 1^T), a multiple of the identity plus a constant, which is well
  conditioned but no longer tells the inputs apart;
* on the critical line (chi_1 = 1) both happen only algebraically in depth.

:func:`kernel_diagnostics` computes the kernels after every layer, their condition numbers
and the spread of their normalised off-diagonal entries, and warns (a
:class:`DegenerateKernelWarning`) when the last layer's matrix is ill-conditioned or its
correlations have collapsed, naming the phase and xi_c.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float
from ..kernels import Activation
from .cmap import c_star
from .depth import chi1, xi_c
from .widekernels import network_kernels

__all__ = ["DegenerateKernelWarning", "KernelDiagnostics", "kernel_diagnostics"]

#: the kernel matrices of every layer are kept: (depth, n, n) floats, twice
MAX_POINTS = 3000


class DegenerateKernelWarning(UserWarning):
    """A deep kernel matrix is numerically rank one or has lost its input dependence."""


@dataclass(frozen=True)
class KernelDiagnostics(Result):
    """Per layer l = 1..depth (axis 0): condition numbers lambda_max / lambda_min of the
    NNGP and NTK matrices (inf where lambda_min <= 0 in floating point) and the spread
    max |rho_ij - mean rho| of the normalised off-diagonal NNGP entries
    rho_ij = K_ij / sqrt(K_ii K_jj).  ``phase``: "ordered", "chaotic", "critical" (plain
    networks, from chi_1) or "residual"; ``chi_1``, ``c_star``, ``xi_c`` of the
    mean-field fixed point (nan for residual networks); ``message``: the explanation
    (empty when nothing degenerated)."""

    depth: np.ndarray
    cond_nngp: np.ndarray
    cond_ntk: np.ndarray
    corr_spread: np.ndarray
    phase: str
    chi_1: float
    c_star: float
    xi_c: float
    message: str


def _cond(k: np.ndarray) -> float:
    lam = np.linalg.eigvalsh(k)
    return float(lam[-1] / lam[0]) if lam[0] > 0.0 else float("inf")


def _spread(k: np.ndarray) -> float:
    d = np.sqrt(np.diag(k))
    rho = k / np.outer(d, d)
    off = rho[~np.eye(k.shape[0], dtype=bool)]
    return float(np.max(np.abs(off - off.mean()))) if off.size else 0.0


def kernel_diagnostics(
    x: Any,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    activation: str | Activation = "relu",
    cond_limit: float = 1e8,
    spread_limit: float = 1e-3,
    warn: bool = True,
    **network: Any,
) -> KernelDiagnostics:
    """Condition numbers of the NNGP and NTK matrices of ``x`` after each layer, with the
    phase that explains how they degenerate (module docstring).

    Parameters
    ----------
    x : (n, d) inputs, 2 <= n <= MAX_POINTS.
    depth, sigma_w2, sigma_b2, activation, **network : as in :func:`network_kernels`.
    cond_limit : warn when the last NTK or NNGP condition number exceeds this (1e8: about
        where float32 kernels stop being positive definite).
    spread_limit : warn when the normalised off-diagonal NNGP entries at the last layer
        differ by less than this (the kernel no longer separates the inputs).
    warn : emit :class:`DegenerateKernelWarning` (else only ``message`` says it).
    """
    xa = as_float("x", x)
    if xa.ndim != 2 or not 2 <= xa.shape[0] <= MAX_POINTS:
        raise ValueError(f"x must be (n, d) with 2 <= n <= {MAX_POINTS} (the kernels of every "
                         f"layer are kept), got shape {xa.shape}")
    cond_limit = float(as_float("cond_limit", cond_limit, lo=1.0))
    spread_limit = float(as_float("spread_limit", spread_limit, lo=0.0))
    k = network_kernels(xa, depth=depth, sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                        activation=activation, layers=True, **network)
    cn = np.array([_cond(m) for m in k.nngp_layers])
    ct = np.array([_cond(m) for m in k.ntk_layers])
    sp = np.array([_spread(m) for m in k.nngp_layers])
    if network.get("network", "plain") == "plain":
        x1 = float(chi1(sigma_w2, sigma_b2, activation))
        cs = float(c_star(sigma_w2, sigma_b2, activation))
        xc = float(xi_c(sigma_w2, sigma_b2, activation))
        phase = "critical" if abs(x1 - 1.0) < 1e-9 else ("ordered" if x1 < 1.0 else "chaotic")
    else:
        x1 = cs = xc = float("nan")
        phase = "residual"
    problems = []
    if max(cn[-1], ct[-1]) > cond_limit:
        problems.append(f"condition number {max(cn[-1], ct[-1]):.3g} > {cond_limit:.3g}")
    if sp[-1] < spread_limit:
        problems.append(f"normalised off-diagonal entries within {sp[-1]:.3g} of each other")
    message = ""
    if problems:
        why = {
            "ordered": f"ordered phase (chi_1 = {x1:.4g} < 1): correlations tend to c* = 1 "
                       f"over xi_c = {xc:.4g} layers, so the kernel tends to a rank-one "
                       f"constant matrix",
            "chaotic": f"chaotic phase (chi_1 = {x1:.4g} > 1): correlations tend to "
                       f"c* = {cs:.4g} over xi_c = {xc:.4g} layers, so the kernel tends to "
                       f"a multiple of the identity plus a constant",
            "critical": "critical line (chi_1 = 1): correlations approach their fixed point "
                        "only algebraically in depth",
            "residual": "residual network: see docs/resnet_kernels.md for its depth laws",
        }[phase]
        message = (f"deep kernel degenerates at depth {k.nngp_layers.shape[0]}: "
                   f"{'; '.join(problems)}. {why}; use depth well below xi_c, move toward "
                   f"the critical line, or add noise_var in GP regression")
        if warn:
            warnings.warn(message, DegenerateKernelWarning, stacklevel=2)
    return KernelDiagnostics(depth=np.arange(1, cn.size + 1), cond_nngp=cn, cond_ntk=ct,
                             corr_spread=sp, phase=phase, chi_1=x1, c_star=cs, xi_c=xc,
                             message=message)
