"""Infinite-width kernels of fully connected networks: NNGP and NTK, plain and residual.

Plain network (Neal 1996; Lee et al. 2018, "Deep neural networks as Gaussian processes";
Jacot et al. 2018, "Neural tangent kernel"), inputs x in R^d, ``depth`` = L hidden layers,
scalar output f = h^{L+1}:

    h^1 = W^1 x + b^1,   h^{l+1} = W^{l+1} phi(h^l) + b^{l+1},   l = 1..L,
    W^l_ij ~ N(0, sigma_w2 / fan_in),  b^l_i ~ N(0, sigma_b2).

    Sigma^1(x, x')   = sigma_w2 x.x' / d + sigma_b2
    Sigma^{l+1}      = sigma_w2 E[phi(u) phi(v)] + sigma_b2
    dSigma^{l+1}     = sigma_w2 E[phi'(u) phi'(v)]
    (u, v) ~ N(0, [[Sigma^l(x, x), Sigma^l(x, x')], [Sigma^l(x, x'), Sigma^l(x', x')]])
    Theta^1 = Sigma^1,   Theta^{l+1} = Theta^l dSigma^{l+1} + Sigma^{l+1}     (NTK param.)

The functions return Sigma^{L+1} and Theta^{L+1}: the kernels of the output of
``stax.serial(*[Dense(N, W_std, b_std), Act] * L, Dense(1, W_std, b_std))`` in
neural-tangents, with W_std = sqrt(sigma_w2), b_std = sqrt(sigma_b2).  In the NTK
parameterisation the trained parameters are omega, beta ~ N(0, 1) with
W = sqrt(sigma_w2 / fan_in) omega and b = sqrt(sigma_b2) beta.

Residual network (Yang & Schoenholz 2017, "Mean field residual networks: on the edge of
chaos"; Hayou et al. 2021, "Stable ResNet"): a stream x^l of width N with

    reduced:  x^l = x^{l-1} + alpha phi(h^l),
    full:     x^l = x^{l-1} + alpha (V^l phi(h^l) + a^l),    h^l = W^l x^{l-1} + b^l,

V ~ N(0, sigma_v2 / N), a ~ N(0, sigma_a2), and a linear readout f = W^{out} x^L + b^{out}
with the same sigma_w2, sigma_b2.  The stream starts from a fixed (untrained) isometric
embedding of the input, so p^0(x, x') = x.x' / d and its mean component m^0 = 0.  With
S^l = sigma_w2 p^{l-1} + sigma_b2 (the pre-activation kernel), E^l = E[phi(u) phi(v)] and
dE^l = E[phi'(u) phi'(v)] under S^l, e^l(x) = E[phi(u)] (u ~ N(0, S^l(x, x))):

    p^l(x, x') = p^{l-1} + alpha^2 (sigma_v2 E^l + sigma_a2)
                 + alpha (m^{l-1}(x) e^l(x') + m^{l-1}(x') e^l(x))     [reduced only]
    m^l(x)     = m^{l-1}(x) + alpha e^l(x)                             [reduced only]
    P^l        = P^{l-1} (1 + alpha^2 sigma_v2 sigma_w2 dE^l)
                 + alpha^2 (sigma_v2 E^l [full only] + sigma_a2 + sigma_v2 dE^l S^l)
    Sigma = sigma_w2 p^L + sigma_b2,    Theta = sigma_w2 P^L + sigma_w2 p^L + sigma_b2,

with P^0 = 0 the tangent kernel of the stream (reduced: sigma_v2 = 1, sigma_a2 = 0 and
no V, a parameters, so no E^l term).  The cross terms x^{l-1}.phi(h^l) / N vanish as
N -> inf except through the stream's mean component m = sum_i x_i / N, which a reduced
block with a non-odd phi (relu, gelu, ...) accumulates: then (1/N) sum_i x_i phi(h'_i)
-> m(x) e(x') (see :mod:`deeptheory.meanfield.resnet`, where this was measured; the
tangent of the stream has no mean component, so P is unchanged).

Every layer evaluates the two 2-D Gaussian expectations for all pairs of inputs at once,
diagonal included, with :func:`._pairmaps.pair_maps` (closed forms for relu, erf, linear;
Mehler series in one compiled call; 2-D panel quadrature for the few pairs the series
does not resolve).  Accuracy: entries carry a normwise relative error below about
``rtol`` per layer, |K_ij - K*_ij| <= rtol sqrt(K_ii K_jj).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int
from ..kernels import Activation, get_activation, order_for_rtol
from ._gauss import CLOSED_2D
from ._pairmaps import pair_maps
from .resnet import _mean_phi, branch_scale

__all__ = [
    "DotProductKernel",
    "NetworkKernels",
    "dot_product_kernel",
    "network_kernels",
    "nngp_kernel",
    "ntk_kernel",
]

#: largest kernel matrix (entries) one call builds: several (n1, n2) float arrays per layer
MAX_ENTRIES = 25_000_000
#: deepest network (layers are evaluated one after another)
MAX_DEPTH = 100_000
NETWORKS = ("plain", "resnet")
KINDS = ("reduced", "full")
PARAMETERISATIONS = ("ntk", "standard")


@dataclass(frozen=True)
class NetworkKernels(Result):
    """NNGP and NTK matrices (n1, n2) of the network's output; with ``layers=True`` also
    their values after each layer (axis 0: the kernels of a network with 1..depth hidden
    layers, so ``nngp_layers[-1] == nngp``)."""

    nngp: np.ndarray
    ntk: np.ndarray
    nngp_layers: np.ndarray | None = None
    ntk_layers: np.ndarray | None = None


def _data(name: str, x: Any) -> np.ndarray:
    a = as_float(name, x)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array of inputs, got shape "
                         f"{np.shape(x)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (found nan or inf)")
    return a


@dataclass(frozen=True)
class _Net:
    act: Activation
    depth: int
    sw2: float
    sb2: float
    network: str
    kind: str
    alpha: float
    sv2: float
    sa2: float
    parameterization: str
    width: int = 0
    bias: bool = True


def _scalar(name: str, v: Any) -> float:
    a = as_float(name, v, lo=0.0)
    if a.ndim or not np.isfinite(a):
        raise ValueError(f"{name} must be a finite scalar >= 0, got {v!r}")
    return float(a)


def _branch(alpha: Any, depth: int) -> float:
    a = branch_scale(alpha, depth)
    if np.ndim(a) or not np.isfinite(a):
        raise ValueError(f"alpha must be a finite scalar, got {alpha!r}")
    return float(a)


def _net(depth, sigma_w2, sigma_b2, activation, network, kind, alpha, sigma_v2, sigma_a2,
         parameterization, width=None, bias=True) -> _Net:
    depth = as_int("depth", depth, lo=1, hi=MAX_DEPTH)
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if parameterization not in PARAMETERISATIONS:
        raise ValueError(f"parameterization must be one of {PARAMETERISATIONS}, got "
                         f"{parameterization!r}")
    if parameterization == "standard":
        if network != "plain":
            raise ValueError("parameterization='standard' is implemented for plain networks "
                             "only (network='plain')")
        if width is None:
            raise ValueError("parameterization='standard' needs the hidden width: its NTK "
                             "grows with it (Sohl-Dickstein et al. 2020); pass width")
        width = as_int("width", width, lo=1)
    elif width is not None:
        raise ValueError("width only enters the 'standard' parameterisation; the NTK "
                         "parameterisation's kernels do not depend on it")
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    sv2, sa2 = _scalar("sigma_v2", sigma_v2), _scalar("sigma_a2", sigma_a2)
    if network == "resnet" and kind == "reduced" and (sv2 != 1.0 or sa2 != 0.0):
        raise ValueError("the reduced residual network has no V, a: sigma_v2 must be 1 and "
                         "sigma_a2 0 (use kind='full')")
    act = get_activation(activation)
    act.require(1, "the NTK (E[phi'(u) phi'(v)])")
    return _Net(act, depth, _scalar("sigma_w2", sigma_w2), _scalar("sigma_b2", sigma_b2),
                network, kind, _branch(alpha, depth), sv2, sa2, parameterization,
                width or 0, bool(bias))


class _Dual:
    """An off-diagonal block with its derivative in the input correlation c (forward mode)."""

    def __init__(self, v: np.ndarray, d: np.ndarray):
        self.v, self.d = v, d

    def __add__(self, o: Any) -> _Dual:
        return _Dual(self.v + o.v, self.d + o.d) if isinstance(o, _Dual) else _Dual(
            self.v + o, self.d)

    __radd__ = __add__

    def __mul__(self, o: Any) -> _Dual:
        if isinstance(o, _Dual):
            return _Dual(self.v * o.v, _times(self.v, o.d) + _times(o.v, self.d))
        return _Dual(self.v * o, _times(o, self.d))

    __rmul__ = __mul__


def _times(a: Any, b: np.ndarray) -> np.ndarray:
    """a * b with 0 * inf = 0 (an exactly zero factor, e.g. the tangent kernel before the
    first layer, times the infinite relu slope at c = 1)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(a) == 0.0, 0.0, a * b)


def _value(off: Any) -> np.ndarray:
    return off.v if isinstance(off, _Dual) else off


class _Pairs:
    """A kernel on two input sets: diagonals d1 (n1,), d2 (n2,) and the block off (n1, n2)."""

    def __init__(self, d1: np.ndarray, d2: np.ndarray, off: np.ndarray, symmetric: bool):
        self.d1, self.d2, self.off, self.symmetric = d1, d2, off, symmetric

    def maps(self, act: Activation, rtol: float, order: int) -> tuple[_Pairs, _Pairs]:
        """(E[phi(u) phi(v)], E[phi'(u) phi'(v)]) under this covariance, as _Pairs."""
        den = np.sqrt(np.outer(self.d1, self.d2))
        off = _value(self.off)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(den > 0, off / np.where(den > 0, den, 1.0), 0.0)
        dual = isinstance(self.off, _Dual)
        # phi'' where it exists as a function (or in closed form: relu), else the NTK's
        # slope is undefined (nan)
        second = dual and (act.max_deriv >= 2 or (act.builtin and act.name in CLOSED_2D))
        # the truncation bound of pair_maps is tight for nearly parallel inputs: a tenth
        # of rtol per layer leaves room for the error to pass through the next layers
        g, m1, m2 = pair_maps(act, self.d1, self.d2, c, (0, 1, 2) if second else (0, 1),
                              symmetric=self.symmetric, rtol=0.1 * rtol, order=order)
        e, de = g[0], g[1]
        if dual:  # Price's theorem: d E[f(u) g(v)] / d Cov(u, v) = E[f'(u) g'(v)]
            g2 = g[2] if second else np.full(g[1].shape, np.nan)
            e, de = _Dual(g[0], g[1] * self.off.d), _Dual(g[1], g2 * self.off.d)
        return (_Pairs(m1[0], m2[0], e, self.symmetric),
                _Pairs(m1[1], m2[1], de, self.symmetric))


def _apply(f, *ks: _Pairs) -> _Pairs:
    """f applied to the diagonals and to the block of the kernels ``ks`` (elementwise)."""
    return _Pairs(f(*(k.d1 for k in ks)), f(*(k.d2 for k in ks)), f(*(k.off for k in ks)),
                  ks[0].symmetric)


def _check_finite(layer: int, *ks: _Pairs) -> None:
    """ValueError once a kernel overflows (instead of nan in the next layer)."""
    for k in ks:
        if not (np.isfinite(k.d1).all() and np.isfinite(k.d2).all()
                and np.isfinite(_value(k.off)).all()):
            raise ValueError(
                f"the kernel overflows float64 at layer {layer} (it grows exponentially with "
                f"depth in this network, e.g. relu with sigma_w2 > 2 or a residual network with "
                f"alpha = 1): reduce depth, sigma_w2 or alpha")


def _order(rtol: float) -> int:
    """Panel order behind the Hermite coefficients and the 2-D quadrature."""
    return max(8, order_for_rtol(rtol))


def _plain(net: _Net, s: _Pairs, rtol: float, layers: bool, k0: _Pairs | None = None,
           d_in: int = 0):
    """Sigma^{L+1}, Theta^{L+1} from Sigma^1 (module docstring); history per layer.

    Standard parameterisation (``k0`` = x.x'/d, the input kernel): Theta^1 = d k0 + b,
    Theta^{l+1} = N E^l + sigma_w2 dE^l Theta^l + b with b = 1 for trained biases.
    """
    sw2, sb2 = net.sw2, net.sb2
    standard = net.parameterization == "standard"
    one = 1.0 if net.bias else 0.0
    dim = float(net.width)
    theta = _apply(lambda v: d_in * v + one, k0) if standard else s
    hist: list[tuple[_Pairs, _Pairs]] = []
    order = _order(rtol)
    for layer in range(net.depth):
        e, de = s.maps(net.act, rtol, order)
        s_next = _apply(lambda ev: sw2 * ev + sb2, e)
        if standard:
            theta = _apply(lambda th, dev, ev: th * (sw2 * dev) + dim * ev + one, theta, de, e)
        else:
            theta = _apply(lambda th, dev, sn: th * (sw2 * dev) + sn, theta, de, s_next)
        s = s_next
        _check_finite(layer + 1, s, theta)
        if layers:
            hist.append((s, theta))
    return s, theta, hist


def _resnet(net: _Net, p: _Pairs, rtol: float, layers: bool):
    """Readout kernels of the residual stream from p^0 (module docstring)."""
    a2, sw2, sb2, sv2, sa2 = net.alpha**2, net.sw2, net.sb2, net.sv2, net.sa2
    al = net.alpha
    full = net.kind == "full"
    e_on = 1.0 if full else 0.0
    big = _apply(lambda v: 0.0 * v, p)
    # mean component of the stream (reduced networks with non-odd phi; 0 otherwise)
    m1, m2 = np.zeros_like(p.d1), np.zeros_like(p.d2)
    track_mean = not full and not net.act.odd
    hist: list[tuple[_Pairs, _Pairs]] = []
    order = _order(rtol)

    def readout(p: _Pairs, big: _Pairs) -> tuple[_Pairs, _Pairs]:
        sig = _apply(lambda pv: sw2 * pv + sb2, p)
        return sig, _apply(lambda bv, sv: sw2 * bv + sv, big, sig)

    for layer in range(net.depth):
        s = _apply(lambda pv: sw2 * pv + sb2, p)
        e, de = s.maps(net.act, rtol, order)
        big = _apply(lambda bv, ev, dev, sv: bv * (1.0 + a2 * sv2 * sw2 * dev)
                     + a2 * (e_on * sv2 * ev + sa2 + sv2 * dev * sv), big, e, de, s)
        p = _apply(lambda pv, ev: pv + a2 * (sv2 * ev + sa2), p, e)
        if track_mean:
            mu1, mu2 = _mean_phi(net.act, s.d1, {}), _mean_phi(net.act, s.d2, {})
            p = _Pairs(p.d1 + 2.0 * al * m1 * mu1, p.d2 + 2.0 * al * m2 * mu2,
                       p.off + al * (np.outer(m1, mu2) + np.outer(mu1, m2)), p.symmetric)
            m1, m2 = m1 + al * mu1, m2 + al * mu2
        _check_finite(layer + 1, p, big)
        if layers:
            hist.append(readout(p, big))
    sig, th = readout(p, big)
    return sig, th, hist


def network_kernels(
    x1: Any,
    x2: Any = None,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    activation: str | Activation = "relu",
    network: str = "plain",
    kind: str = "reduced",
    alpha: float | str = 1.0,
    sigma_v2: float = 1.0,
    sigma_a2: float = 0.0,
    parameterization: str = "ntk",
    width: int | None = None,
    bias: bool = True,
    rtol: float = 1e-10,
    layers: bool = False,
) -> NetworkKernels:
    """NNGP Sigma(x1_i, x2_j) and NTK Theta(x1_i, x2_j) of an infinitely wide network.

    Parameters
    ----------
    x1 : (n1, d) inputs (a 1-D array is one input).  x2 : (n2, d) inputs, or None for
        the Gram matrices of x1 (symmetric; only the upper triangle is computed).
    depth : number of hidden layers L >= 1 (plain: L nonlinearities between L + 1 dense
        layers; resnet: L residual blocks).
    sigma_w2, sigma_b2 : weight and bias variances (W_ij ~ N(0, sigma_w2 / fan_in)).
    activation : registered name or :class:`deeptheory.kernels.Activation` (phi' needed).
    network : "plain" or "resnet"; for "resnet": ``kind`` ("reduced" or "full"),
        ``alpha`` (branch scale: a number, or "1", "1/sqrt(L)", "1/L"), ``sigma_v2``,
        ``sigma_a2`` (full only).
    parameterization : "ntk" (NTK parameterisation, Jacot et al. 2018) or "standard"
        (plain networks; Sohl-Dickstein et al. 2020, as neural-tangents computes it):
        the trained parameters are W, b themselves, so with trained biases (``bias``)
        Theta^1 = x.x' + 1 and Theta^{l+1} = N E[phi(u) phi(v)] + sigma_w2
        E[phi'(u) phi'(v)] Theta^l + 1, where N = ``width`` (the hidden width, required:
        this NTK grows with it); the NNGP is the same in both.
    width, bias : the hidden width and whether biases are trained ("standard" only; a
        bias with sigma_b2 = 0 is initialised at 0 but still adds 1 per layer).
    rtol : normwise relative accuracy per layer of each entry (module docstring).
    layers : also return the kernels after every layer.

    The formulas and conventions are in the module docstring.  Cost: one compiled
    series evaluation over all n1 n2 pairs per layer (plus Hermite coefficients for each
    distinct squared norm); closed forms for relu, erf and linear.
    """
    net = _net(depth, sigma_w2, sigma_b2, activation, network, kind, alpha, sigma_v2,
               sigma_a2, parameterization, width, bias)
    a1 = _data("x1", x1)
    symmetric = x2 is None
    a2 = a1 if symmetric else _data("x2", x2)
    if a2.shape[1] != a1.shape[1]:
        raise ValueError(f"x1 and x2 must have the same number of features d, got "
                         f"{a1.shape[1]} and {a2.shape[1]}")
    if a1.shape[0] * a2.shape[0] > MAX_ENTRIES:
        raise ValueError(f"the kernel matrix would have {a1.shape[0] * a2.shape[0]} entries, "
                         f"more than MAX_ENTRIES = {MAX_ENTRIES}: split x1 / x2 into blocks")
    rtol = float(as_float("rtol", rtol, lo=1e-15, hi=1e-2))
    d = a1.shape[1]
    k0 = _Pairs(np.einsum("ij,ij->i", a1, a1) / d, np.einsum("ij,ij->i", a2, a2) / d,
                a1 @ a2.T / d, symmetric)
    if symmetric:
        np.fill_diagonal(k0.off, k0.d1)
    if net.network == "plain":
        sig, th, hist = _plain(net, _apply(lambda v: net.sw2 * v + net.sb2, k0), rtol, layers,
                               k0, d)
    else:
        sig, th, hist = _resnet(net, k0, rtol, layers)
    out: dict[str, Any] = {"nngp": sig.off, "ntk": th.off}
    if layers:
        out["nngp_layers"] = np.stack([h[0].off for h in hist])
        out["ntk_layers"] = np.stack([h[1].off for h in hist])
    return NetworkKernels(**out)


def nngp_kernel(x1: Any, x2: Any = None, **network: Any) -> np.ndarray:
    """NNGP kernel matrix Sigma(x1_i, x2_j) (n1, n2); keywords as :func:`network_kernels`.

    The Gaussian-process limit of the network's output (Neal 1996; Lee et al. 2018).
    """
    return network_kernels(x1, x2, **network).nngp


def ntk_kernel(x1: Any, x2: Any = None, **network: Any) -> np.ndarray:
    """Neural tangent kernel matrix Theta(x1_i, x2_j) (n1, n2) (Jacot et al. 2018); keywords
    as :func:`network_kernels`."""
    return network_kernels(x1, x2, **network).ntk


@dataclass(frozen=True)
class DotProductKernel(Result):
    """kappa(c) and d kappa / dc on the sphere (see :func:`dot_product_kernel`); with
    ``layers=True`` also ``value_layers`` (depth, *c.shape): kappa after 1..depth layers."""

    value: np.ndarray
    slope: np.ndarray
    value_layers: np.ndarray | None = None


def dot_product_kernel(
    c: Any,
    *,
    depth: int,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    activation: str | Activation = "relu",
    kernel: str = "nngp",
    q0: float = 1.0,
    network: str = "plain",
    kind: str = "reduced",
    alpha: float | str = 1.0,
    sigma_v2: float = 1.0,
    sigma_a2: float = 0.0,
    rtol: float = 1e-10,
    layers: bool = False,
) -> DotProductKernel:
    """The scalar map kappa(c) = K(x, x') of two inputs of equal norm with cosine c, and
    its derivative d kappa / dc.

    For inputs on a sphere, |x|^2 / d = |x'|^2 / d = ``q0`` (1: radius sqrt(d), the
    usual normalisation; |x| = 1 is q0 = 1/d), every entry of the NNGP (``kernel="nngp"``)
    or NTK (``"ntk"``) depends on the inputs only through c = x.x' / |x||x'|: the kernel
    is a dot-product kernel kappa(c) (Daniely, Frostig & Singer 2016; neural-tangents
    issue #143).  The network and the conventions are those of :func:`network_kernels`.

    The slope follows the layers in forward mode: by Price's theorem
    d E[phi(u) phi(v)] / d Sigma_uv = E[phi'(u) phi'(v)] and
    d E[phi'(u) phi'(v)] / d Sigma_uv = E[phi''(u) phi''(v)], so the NTK slope needs phi''
    (for relu it is +inf at c = 1, the arc-cosine kernel's square-root singularity).

    Parameters
    ----------
    c : cosines in [-1, 1] (any shape; the result has the same shape).
    depth, sigma_w2, sigma_b2, activation, network, kind, alpha, sigma_v2, sigma_a2,
    rtol : as in :func:`network_kernels`.
    kernel : "nngp" or "ntk" (NTK parameterisation).  q0 : squared norm per input
        coordinate (> 0).  layers : also return kappa after every layer (one pass).
    """
    if kernel not in ("nngp", "ntk"):
        raise ValueError(f"kernel must be 'nngp' or 'ntk', got {kernel!r}")
    net = _net(depth, sigma_w2, sigma_b2, activation, network, kind, alpha, sigma_v2,
               sigma_a2, "ntk")
    if kernel == "ntk" and not (net.act.builtin and net.act.name in CLOSED_2D):
        net.act.require(2, "the slope of the NTK's kappa (E[phi''(u) phi''(v)])")
    ca = as_float("c", c, lo=-1.0, hi=1.0)
    if not np.isfinite(ca).all():
        raise ValueError("c must be finite")
    q0 = _scalar("q0", q0)
    if not q0 > 0.0:
        raise ValueError(f"q0 must be > 0, got {q0!r}")
    rtol = float(as_float("rtol", rtol, lo=1e-15, hi=1e-2))
    flat = ca.reshape(1, -1)
    m = flat.shape[1]
    k0 = _Pairs(np.array([q0]), np.full(m, q0), _Dual(q0 * flat, np.full(flat.shape, q0)),
                False)
    if net.network == "plain":
        sig, th, hist = _plain(net, _apply(lambda v: net.sw2 * v + net.sb2, k0), rtol, layers)
    else:
        sig, th, hist = _resnet(net, k0, rtol, layers)
    pick = 0 if kernel == "nngp" else 1
    out = (sig, th)[pick].off
    per = (np.stack([h[pick].off.v.reshape(ca.shape) for h in hist]) if layers else None)
    return DotProductKernel(value=out.v.reshape(ca.shape), slope=out.d.reshape(ca.shape),
                            value_layers=per)
