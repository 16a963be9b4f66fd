"""Mean field of random residual networks (Yang & Schoenholz 2017; Hayou et al. 2021).

Networks (width N everywhere, the input x^0 included), layer l = 1..L:

    h^l = W^l x^{l-1} + b^l,
    reduced:  x^l = x^{l-1} + alpha phi(h^l),
    full:     x^l = x^{l-1} + alpha (V^l phi(h^l) + a^l),

W_ij ~ N(0, sigma_w^2 / N), V_ij ~ N(0, sigma_v^2 / N), b_i ~ N(0, sigma_b^2),
a_i ~ N(0, sigma_a^2); alpha is the branch scale (1, 1/sqrt(L), 1/L, or any number >= 0).
p^l = |x^l|^2 / N is the squared length of the residual stream, q^l = |h^l|^2 / N that of
the pre-activation (G. Yang and S. S. Schoenholz, "Mean field residual networks: on the
edge of chaos", NeurIPS 2017; S. Hayou et al., "Stable ResNet", AISTATS 2021).

Mean field (N -> infinity; z ~ N(0, 1)):

    q^l  = sigma_w^2 p^{l-1} + sigma_b^2,
    p^l  = p^{l-1} + alpha^2 (sigma_v^2 E[phi(sqrt(q^l) z)^2] + sigma_a^2),
    p_12^l = p_12^{l-1} + alpha^2 (sigma_v^2 E[phi(u1) phi(u2)] + sigma_a^2),

with (u1, u2) centred Gaussian of covariance sigma_w^2 p_ab^{l-1} + sigma_b^2, and
c^l = p_12^l / sqrt(p_1^l p_2^l); the reduced network is sigma_v^2 = 1, sigma_a^2 = 0.
Backward, for g^l = dE/dx^l (gradient independence, as in the papers):

    r^l = |g^{l-1}|^2 / |g^l|^2 = 1 + alpha^2 sigma_v^2 sigma_w^2 E[phi'(sqrt(q^l) z)^2].

The cross term 2 alpha x^{l-1} . branch / N behind these formulas vanishes as N -> inf
in the *full* network (V^l, a^l have mean zero) and in the reduced one when
E[phi(sqrt(q) z)] = 0 (odd phi: tanh, erf, linear).  For a reduced network with a
non-odd phi (relu, ...) it does *not*: given x^{l-1} the h_i^l are i.i.d. and
independent of x_i^{l-1}, so (1/N) sum_i x_i^{l-1} phi(h_i^l) -> m^{l-1} e^l, with
m = sum_i x_i / N the mean component of the stream and e^l = E[phi(sqrt(q^l) z)].
:func:`resnet_recursion` carries that term (exact in the limit; zero in the cases above):

    p^l = p^{l-1} + 2 alpha m^{l-1} e^l + alpha^2 E[phi^2],   m^l = m^{l-1} + alpha e^l,

and likewise for p_12 (alpha (m_1 e_2 + m_2 e_1)).  For relu it is large: with
sigma_w^2 = 1, alpha = 1 and a zero-mean input, p^6 = 46.8 instead of 11.4 (a width-2000
network gave 51).  The closed forms below therefore hold for the *full* relu network.

1 - c is carried without cancellation through the squared distance
D^l = |x_1^l - x_2^l|^2 / N, D^l = D^{l-1} + 2 alpha (m_1 - m_2)(e_1 - e_2)
+ alpha^2 sigma_v^2 E[(phi(u1) - phi(u2))^2] (a^l cancels), and
1 - c = (D - (sqrt(p_1) - sqrt(p_2))^2) / (2 sqrt(p_1 p_2)), exact for equal lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._api import Result
from .._validation import as_float, as_int, broadcast
from ..kernels import Activation, get_activation
from ._gauss import E1, check_quad
from .recursion import _one_minus_c, _sqdiff

__all__ = [
    "ALPHA_RULES",
    "RESNET_KINDS",
    "ResNetRecursion",
    "branch_scale",
    "resnet_linear_growth",
    "resnet_linear_slope",
    "resnet_recursion",
    "resnet_relu_factor",
    "resnet_relu_length",
    "resnet_relu_scaled_limit",
]

#: branch-scale rules by name: alpha as a function of the depth L
ALPHA_RULES = {
    "1": lambda depth: 1.0,
    "1/sqrt(L)": lambda depth: 1.0 / math.sqrt(depth),
    "1/L": lambda depth: 1.0 / depth,
}
RESNET_KINDS = ("reduced", "full")


def branch_scale(alpha: Any, depth: int | None = None) -> np.ndarray | float:
    """The branch scale alpha as a number: a number >= 0 (array-like, returned as floats) or
    one of the rules ``"1"``, ``"1/sqrt(L)"``, ``"1/L"`` evaluated at L = ``depth``
    (alpha = 1: Yang & Schoenholz 2017; 1/sqrt(L) and 1/L: Hayou et al. 2021).

    >>> branch_scale("1/sqrt(L)", 100)
    0.1
    """
    if isinstance(alpha, str):
        if alpha not in ALPHA_RULES:
            raise ValueError(f"alpha must be a number >= 0 or one of {sorted(ALPHA_RULES)}, "
                             f"got {alpha!r}")
        if depth is None:
            raise ValueError(f"alpha={alpha!r} needs the depth L: pass depth")
        return float(ALPHA_RULES[alpha](as_int("depth", depth, lo=1)))
    a = as_float("alpha", alpha, lo=0.0)
    return a if a.ndim else float(a)


def _kind(kind: Any) -> str:
    if kind not in RESNET_KINDS:
        raise ValueError(f"kind must be one of {list(RESNET_KINDS)}, got {kind!r}")
    return kind


@dataclass(frozen=True)
class ResNetRecursion(Result):
    """Mean-field residual-network quantities, layer index on axis 0 (other axes: the
    broadcast shape of the parameters).

    Residual stream, l = 0..depth (shape (depth + 1, ...); row 0 is the input):
    ``p1``, ``p2`` = |x_a^l|^2 / N, ``p12`` = x_1^l . x_2^l / N, ``c`` = p12 / sqrt(p1 p2),
    ``one_minus_c`` (1 - c to full relative accuracy for equal lengths), ``m1``, ``m2``
    (mean component sum_i x_{a,i}^l / N; constant unless reduced with non-odd phi),
    ``grad_growth`` = |g^l|^2 / |g^L|^2 (row 0: the total growth |g^0|^2 / |g^L|^2; row L: 1).
    Per layer, l = 1..depth (shape (depth, ...); row l - 1 is layer l): ``q1``, ``q2`` =
    pre-activation variances sigma_w^2 p_a^{l-1} + sigma_b^2, ``grad_ratio`` = r^l =
    |g^{l-1}|^2 / |g^l|^2.  ``layers`` = 0..depth; ``alpha``: the branch scale used.
    """

    layers: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    p12: np.ndarray
    c: np.ndarray
    one_minus_c: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    q1: np.ndarray
    q2: np.ndarray
    grad_ratio: np.ndarray
    grad_growth: np.ndarray
    alpha: np.ndarray | float

    @property
    def p(self) -> np.ndarray:
        """Alias of ``p1``."""
        return self.p1

    @property
    def q(self) -> np.ndarray:
        """Alias of ``q1``."""
        return self.q1


def _mean_phi(act: Activation, q: np.ndarray, quad: dict[str, Any]) -> np.ndarray:
    """E[phi(sqrt(q) z)] (0 for odd phi; sqrt(q / 2 pi) for relu)."""
    if act.odd:
        return np.zeros_like(q)
    if act.builtin and act.name == "relu":
        return np.sqrt(q / (2.0 * np.pi))
    return np.asarray(E1(act, q, (0, None), **quad), dtype=float)


def resnet_recursion(
    sigma_w2: Any,
    sigma_b2: Any,
    activation: str | Activation = "tanh",
    *,
    depth: int,
    alpha: Any = 1.0,
    kind: str = "reduced",
    sigma_v2: Any = 1.0,
    sigma_a2: Any = 0.0,
    p0: Any = 1.0,
    c0: Any = 0.5,
    p0_2: Any = None,
    m0: Any = 0.0,
    m0_2: Any = None,
    **quad: Any,
) -> ResNetRecursion:
    """Layer-by-layer mean field of a random residual network, two inputs and the gradient.

    Yang & Schoenholz 2017 (NeurIPS, "Mean field residual networks: on the edge of chaos"),
    with the branch scale alpha of Hayou et al. 2021 ("Stable ResNet"):

        q_a^l  = sigma_w^2 p_a^{l-1} + sigma_b^2,
        p_a^l  = p_a^{l-1} + 2 alpha m_a^{l-1} e_a^l
                 + alpha^2 (sigma_v^2 E[phi(sqrt(q_a^l) z)^2] + sigma_a^2),
        p_12^l = p_12^{l-1} + alpha (m_1^{l-1} e_2^l + m_2^{l-1} e_1^l)
                 + alpha^2 (sigma_v^2 E[phi(u1) phi(u2)] + sigma_a^2),
        r^l    = 1 + alpha^2 sigma_v^2 sigma_w^2 E[phi'(sqrt(q_1^l) z)^2],

    where the mean terms (e_a = E[phi(sqrt(q_a) z)], m_a^l = m_a^{l-1} + alpha e_a^l) are
    present only for ``kind="reduced"`` with a non-odd phi (see the module docstring; in
    the full network and for odd phi they vanish and these are the paper's equations).

    Parameters
    ----------
    sigma_w2, sigma_b2 : weight and bias variances of h^l (>= 0).
    activation : name or :class:`Activation` (phi' must exist for the gradient).
    depth : L >= 1.
    alpha : branch scale: number(s) >= 0 or ``"1"``, ``"1/sqrt(L)"``, ``"1/L"``.
    kind : ``"reduced"`` (x + alpha phi(h); requires sigma_v2 = 1, sigma_a2 = 0) or
        ``"full"`` (x + alpha (V phi(h) + a)).
    sigma_v2, sigma_a2 : variances of V and a (>= 0; full network).
    p0, p0_2 : |x_a^0|^2 / N of the two inputs (>= 0; default p0_2 = p0).
    c0 : correlation of the inputs, in [-1, 1].
    m0, m0_2 : mean components sum_i x_{a,i}^0 / N (default 0 and m0_2 = m0), with
        m^2 <= p; they matter only for reduced networks with non-odd phi.
    quad : ``rule``/``order``/``target`` of :func:`deeptheory.kernels.expect`.

    Every numeric argument broadcasts (numpy rules); outputs have shape
    ``(depth + 1, *shape)`` (stream, l = 0..L) or ``(depth, *shape)`` (per layer,
    l = 1..L): see :class:`ResNetRecursion`.  Expectations use the closed forms of
    linear, relu and erf and the panelled quadrature otherwise; with equal inputs' lengths
    (p0_2 and m0_2 not given) 1 - c has full relative accuracy as c -> 1.
    """
    act = get_activation(activation)
    act.require(1, "the gradient ratio")
    depth = as_int("depth", depth, lo=1, hi=10**7)
    kind = _kind(kind)
    quad = check_quad(quad)
    same = p0_2 is None and m0_2 is None
    arrs = {
        "sigma_w2": as_float("sigma_w2", sigma_w2, lo=0.0),
        "sigma_b2": as_float("sigma_b2", sigma_b2, lo=0.0),
        "alpha": np.asarray(branch_scale(alpha, depth), dtype=float),
        "sigma_v2": as_float("sigma_v2", sigma_v2, lo=0.0),
        "sigma_a2": as_float("sigma_a2", sigma_a2, lo=0.0),
        "p0": as_float("p0", p0, lo=0.0),
        "p0_2": as_float("p0" if p0_2 is None else "p0_2", p0 if p0_2 is None else p0_2,
                         lo=0.0),
        "c0": as_float("c0", c0, lo=-1.0, hi=1.0),
        "m0": as_float("m0", m0),
        "m0_2": as_float("m0" if m0_2 is None else "m0_2", m0 if m0_2 is None else m0_2),
    }
    if kind == "reduced" and (np.any(arrs["sigma_v2"] != 1.0) or np.any(arrs["sigma_a2"] != 0.0)):
        raise ValueError("kind='reduced' has no V, a: sigma_v2 must be 1 and sigma_a2 0; "
                         "use kind='full'")
    for m, p in (("m0", "p0"), ("m0_2", "p0_2")):
        if np.any(arrs[m] ** 2 > arrs[p] * (1.0 + 1e-12)):
            raise ValueError(f"{m}^2 must be <= {p} (the mean of a vector's components is at "
                             "most its root mean square)")
    bc = broadcast(**arrs)
    shape = bc[0].shape
    sw2, sb2, al, sv2, sa2, p1, p2, cc, m1, m2 = (
        np.ascontiguousarray(a, dtype=float).ravel() for a in bc)
    if same:
        same = bool(np.array_equal(p1, p2) and np.array_equal(m1, m2))
    means = kind == "reduced" and not act.odd
    n = sw2.size
    # D = |x1 - x2|^2 / N from p1, p2 and c0 (no cancellation for equal lengths)
    s1, s2 = np.sqrt(p1), np.sqrt(p2)
    D = (s1 - s2) ** 2 + 2.0 * s1 * s2 * (1.0 - cc)
    stream = np.empty((5, depth + 1, n))  # p1, p2, 1 - c, m1, m2
    per = np.empty((3, depth, n))  # q1, q2, r
    stream[:, 0] = p1, p2, _one_minus_c(p1, p2, 1.0, D), m1, m2
    a2 = al * al
    for layer in range(depth):
        q1 = sw2 * p1 + sb2
        q2 = q1 if same else sw2 * p2 + sb2
        dh = _one_minus_c(q1, q2, sw2, D)  # 1 - correlation of the pre-activations
        S = _sqdiff(act, q1, q2, dh, same, quad)
        f1 = E1(act, q1, (0, 0), **quad)
        f2 = f1 if same else E1(act, q2, (0, 0), **quad)
        r = 1.0 + a2 * sv2 * sw2 * E1(act, q1, (1, 1), **quad)
        if means:
            e1 = _mean_phi(act, q1, quad)
            e2 = e1 if same else _mean_phi(act, q2, quad)
            n1 = p1 + 2.0 * al * m1 * e1 + a2 * (sv2 * f1 + sa2)
            n2 = n1 if same else p2 + 2.0 * al * m2 * e2 + a2 * (sv2 * f2 + sa2)
            D = D + 2.0 * al * (m1 - m2) * (e1 - e2) + a2 * sv2 * S
            m1 = m1 + al * e1
            m2 = m1 if same else m2 + al * e2
        else:
            n1 = p1 + a2 * (sv2 * f1 + sa2)
            n2 = n1 if same else p2 + a2 * (sv2 * f2 + sa2)
            D = D + a2 * sv2 * S
        p1, p2 = n1, n2
        stream[:, layer + 1] = p1, p2, _one_minus_c(p1, p2, 1.0, D), m1, m2
        per[:, layer] = q1, q2, r
    growth = np.ones((depth + 1, n))
    growth[:-1] = np.cumprod(per[2, ::-1], axis=0)[::-1]
    stream = stream.reshape((5, depth + 1, *shape))
    per = per.reshape((3, depth, *shape))
    growth = growth.reshape((depth + 1, *shape))
    p1s, p2s, omc = stream[0], stream[1], stream[2]
    c = 1.0 - omc
    return ResNetRecursion(
        layers=np.arange(depth + 1),
        p1=p1s,
        p2=p2s,
        p12=c * np.sqrt(p1s * p2s),
        c=c,
        one_minus_c=omc,
        m1=stream[3],
        m2=stream[4],
        q1=per[0],
        q2=per[1],
        grad_ratio=per[2],
        grad_growth=growth,
        alpha=al.reshape(shape) if shape else float(al[0]),
    )


def resnet_relu_factor(
    sigma_w2: Any, alpha: Any = 1.0, sigma_v2: Any = 1.0, *, depth: int | None = None
) -> np.ndarray | float:
    """Per-layer growth factor 1 + alpha^2 sigma_v^2 sigma_w^2 / 2 of a relu residual network.

    For the full relu network (Yang & Schoenholz 2017; Hayou et al. 2021) E[relu(sqrt(q) z)^2]
    = q / 2 and E[relu'(sqrt(q) z)^2] = 1 / 2, so

        p^l = p^{l-1} (1 + alpha^2 sigma_v^2 sigma_w^2 / 2)      (sigma_b^2 = sigma_a^2 = 0),
        |g^{l-1}|^2 / |g^l|^2 = 1 + alpha^2 sigma_v^2 sigma_w^2 / 2   (any sigma_b^2,
                                                                  sigma_a^2; q > 0)

    exactly in mean field.  The gradient ratio holds for the reduced network too
    (sigma_v^2 = 1); its length does not (the relu branch has a nonzero mean, see
    :func:`resnet_recursion`), and at finite width its gradient departs from this law
    after enough layers (see docs/resnet_kernels.md).  ``alpha``: number(s) or a rule name
    (then pass ``depth``).  Broadcasts.
    """
    al = np.asarray(branch_scale(alpha, depth), dtype=float)
    sw2 = as_float("sigma_w2", sigma_w2, lo=0.0)
    sv2 = as_float("sigma_v2", sigma_v2, lo=0.0)
    out = 1.0 + al * al * sv2 * sw2 / 2.0
    return out if out.ndim else float(out)


def resnet_relu_length(
    sigma_w2: Any, depth: int, *, alpha: Any = 1.0, sigma_v2: Any = 1.0, p0: Any = 1.0
) -> np.ndarray:
    """p^l = p^0 (1 + alpha^2 sigma_v^2 sigma_w^2 / 2)^l for l = 0..depth (full relu network,
    sigma_b^2 = sigma_a^2 = 0; Yang & Schoenholz 2017, Hayou et al. 2021).

    Exponential in l for fixed alpha (alpha = 1: factor 1 + sigma_v^2 sigma_w^2 / 2); with
    alpha = 1/sqrt(L), p^L / p^0 = (1 + sigma_v^2 sigma_w^2 / (2L))^L, bounded in L
    (:func:`resnet_relu_scaled_limit`).  ``alpha`` may be a rule name (evaluated at L =
    ``depth``).  Returns shape (depth + 1, *broadcast shape); also the gradient growth
    |g^{L-l}|^2 / |g^L|^2 for l = 0..depth (any sigma_b^2, sigma_a^2).
    """
    depth = as_int("depth", depth, lo=1, hi=10**7)
    f = np.asarray(resnet_relu_factor(sigma_w2, alpha, sigma_v2, depth=depth))
    p0 = as_float("p0", p0, lo=0.0)
    f, p0 = np.broadcast_arrays(f, p0)
    ls = np.arange(depth + 1).reshape((depth + 1,) + (1,) * f.ndim)
    return p0 * f**ls


def resnet_relu_scaled_limit(sigma_w2: Any, sigma_v2: Any = 1.0) -> np.ndarray | float:
    """lim_{L -> inf} p^L / p^0 = exp(sigma_v^2 sigma_w^2 / 2) for the full relu network with
    alpha = 1/sqrt(L), sigma_b^2 = sigma_a^2 = 0 (the limit of (1 + sigma_v^2 sigma_w^2 /
    (2L))^L; Hayou et al. 2021, "Stable ResNet").  Also the limit of |g^0|^2 / |g^L|^2.
    Approached from below, with relative error about (sigma_v^2 sigma_w^2)^2 / (8 L)."""
    sw2 = as_float("sigma_w2", sigma_w2, lo=0.0)
    sv2 = as_float("sigma_v2", sigma_v2, lo=0.0)
    out = np.exp(sv2 * sw2 / 2.0)
    return out if out.ndim else float(out)


def resnet_linear_slope(alpha: Any = 1.0, sigma_v2: Any = 1.0, sigma_a2: Any = 0.0,
                        *, depth: int | None = None) -> np.ndarray | float:
    """lim_{l -> inf} p^l / l = alpha^2 (sigma_v^2 + sigma_a^2) for a bounded phi with
    phi(x)^2 -> 1 as |x| -> inf (tanh, erf, hard_tanh), fixed alpha and sigma_w^2 > 0.

    Yang & Schoenholz 2017 (tanh residual networks grow linearly): q^l = sigma_w^2 p^{l-1}
    + sigma_b^2 -> inf, so E[phi(sqrt(q^l) z)^2] -> 1 (dominated convergence) and every
    layer adds alpha^2 (sigma_v^2 + sigma_a^2) in the limit.  Holds for the full network
    and for the reduced one (sigma_v^2 = 1, sigma_a^2 = 0) when phi is odd.  The
    approach is slow, p^l / l = slope - O(l^{-1/2}): see :func:`resnet_linear_growth`.
    Broadcasts.
    """
    al = np.asarray(branch_scale(alpha, depth), dtype=float)
    sv2 = as_float("sigma_v2", sigma_v2, lo=0.0)
    sa2 = as_float("sigma_a2", sigma_a2, lo=0.0)
    out = al * al * (sv2 + sa2)
    return out if out.ndim else float(out)


def resnet_linear_growth(
    layers: Any,
    sigma_w2: Any,
    *,
    alpha: Any = 1.0,
    sigma_v2: Any = 1.0,
    sigma_a2: Any = 0.0,
    tail: Any = 2.0,
) -> np.ndarray | float:
    """Two-term asymptotics p^l = A l - B sqrt(l) + O(log l) of a bounded-phi residual network.

    With A = alpha^2 (sigma_v^2 + sigma_a^2) (:func:`resnet_linear_slope`) and
    tail = integral of (1 - phi(x)^2) dx over the real line (2 for tanh), the large-q
    expansion 1 - E[phi(sqrt(q) z)^2] = tail / sqrt(2 pi q) + O(q^{-3/2}) and
    q^l ~ sigma_w^2 A l give increments A - alpha^2 sigma_v^2 tail / sqrt(2 pi sigma_w^2 A l),
    whose sum is

        B = 2 alpha^2 sigma_v^2 tail / sqrt(2 pi sigma_w^2 A).

    Same assumptions as :func:`resnet_linear_slope` (and sigma_w^2 > 0, A > 0).  The
    remainder is O(log l) (it depends on p^0 and sigma_b^2), so the relative error is
    O(log(l) / l).  ``alpha`` is numeric here.  Broadcasts.
    """
    ls = as_float("layers", layers, lo=0.0)
    al = as_float("alpha", alpha, lo=0.0)
    sw2 = as_float("sigma_w2", sigma_w2, lo=0.0)
    sv2 = as_float("sigma_v2", sigma_v2, lo=0.0)
    sa2 = as_float("sigma_a2", sigma_a2, lo=0.0)
    tl = as_float("tail", tail, lo=0.0)
    A = al * al * (sv2 + sa2)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = 2.0 * al * al * sv2 * tl / np.sqrt(2.0 * np.pi * sw2 * A)
    out = A * ls - B * np.sqrt(ls)
    return out if out.ndim else float(out)
