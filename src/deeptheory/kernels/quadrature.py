"""Gaussian expectations of activation functions (Python layer over :mod:`.gauss`).

    expect(act, q, derivs=(a, b))        = E[phi^(a)(sqrt(q) z) phi^(b)(sqrt(q) z)]
    expect2(act, q11, q22, c, (a, b))    = E[phi^(a)(u1) phi^(b)(u2)]
    expect2_sqdiff(act, q11, q22, c, a)  = E[(phi^(a)(u1) - phi^(a)(u2))^2]

with z ~ N(0, 1), u1 = sqrt(q11) z1, u2 = sqrt(q22) (c z1 + sqrt(1 - c^2) z2).
An entry of ``derivs`` may be ``None`` for the constant 1.  All arguments
broadcast like numpy ufuncs; the kernel is called once for the whole grid.

Rules (``rule=``)
-----------------
"panel" (default)
    Composite Gauss-Legendre with ``order`` nodes per panel (default 12), panel
    edges at the Gaussian's scale, at the activation's scale (0, +-0.5, ..., +-64)
    and at its kinks; relative error below 1e-14 for sigmoid, softplus, silu,
    tanh, erf, gelu, elu, relu for q from 0.1 to 1e10 (largest seen 2e-15;
    order 8: 5e-11), below 1e-13 for the pair at c -> +-1, and exact kinks for
    relu, hard_tanh, elu (see tests/test_quadrature.py and
    tests/test_kernels_audit.py).  ``sin`` (panels of width <= 2) exceeds the
    node buffer from q ~ 2000 on.
"hermite"
    Probabilists' Gauss-Hermite with ``order`` nodes (default 64), from
    ``scipy.special.roots_hermitenorm`` (stable to at least 400 nodes).  Cheap
    and spectrally accurate for smooth phi at q <~ 1, but tanh(sqrt(q) z) tends
    to a step as q grows: with 400 nodes the error is still ~1e-7 at q = 10.

Divergent integrals
-------------------
A user activation is checked at every call: if the Gaussian tail beyond 8.5
standard deviations carries more than ``TAIL_TOL`` (1e-9) of E[phi^(d)(x)^2]
for a requested derivative d, ``ValueError`` says that the integral diverges
(phi grows like exp(x^2/(4q)) or faster) or is not resolved (e.g. exp(x)
from q of a few on: its mass sits 2 sqrt(q) standard deviations out).
Poles and undefined points are refused by :func:`register_activation`.

Targets (``target=``): "cpu" runs a serial loop for a small batch and the Numba
``prange`` kernel for a large one (estimated serial work of 2 ms or more, see
:mod:`deeptheory.kernels._threads`; threads follow ``numba.set_num_threads``); "parallel"
always runs the ``prange`` kernel; both give bitwise equal results.  "cuda" runs the
same device code as a CUDA kernel (one thread per grid point; under ``NUMBA_ENABLE_CUDASIM=1``
it runs in the simulator).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import roots_hermitenorm, roots_legendre

from .._validation import as_float as _as_float
from .._validation import as_int
from .._validation import broadcast as _broadcast_kw
from . import gauss
from ._specialise import MAXN_CUDA, cuda_simulator
from ._threads import pick
from .activations import Activation, get_activation

__all__ = [
    "expect",
    "expect_moments",
    "expect2",
    "expect2_sqdiff",
    "expect2_pair",
    "expect2_joint",
    "hermite_coefficients",
    "order_for_rtol",
    "gaussian_rule",
    "hermite_rule",
    "legendre_rule",
    "DEFAULT_ORDER",
]

DEFAULT_ORDER = {"panel": 12, "hermite": 64}
_RULES = {"panel": 0, "hermite": 1}
_TARGETS = ("cpu", "parallel", "cuda")


@lru_cache(maxsize=32)
def hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum 1.

    sum_k w_k f(z_k) ~= E[f(z)], z ~ N(0, 1); exact for polynomials of degree < 2n.
    """
    n = _check_order(n, 1, gauss.MAXN)
    z, w = roots_hermitenorm(n)
    w = w / w.sum()
    z.flags.writeable = False
    w.flags.writeable = False
    return z, w


@lru_cache(maxsize=32)
def legendre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    n = _check_order(n, 1, 64)
    t, w = roots_legendre(n)
    t.flags.writeable = False
    w.flags.writeable = False
    return t, w


def _check_order(n: Any, lo: int, hi: int) -> int:
    return as_int("order", n, lo=lo, hi=hi)


def _pair(derivs: Any) -> tuple:
    if not isinstance(derivs, (tuple, list)) or len(derivs) != 2:
        raise ValueError(f"derivs must be a pair (a, b) of 0, 1, 2 or None, got {derivs!r}")
    return tuple(derivs)


def _deriv_code(act: Activation, d: int | None, what: str) -> int:
    if d is None:
        return -1
    act.require(as_int("deriv", d, lo=0, hi=2), what)
    return int(d)


def _setup(act: Activation, rule: str, order: int | None, target: str):
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {sorted(_RULES)}, got {rule!r}")
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
    if order is None:
        order = DEFAULT_ORDER[rule]
    if rule == "panel":
        t, wt = legendre_rule(order)
    else:
        t, wt = hermite_rule(order)
    maxw = act.max_panel if np.isfinite(act.max_panel) else 1e300
    return _RULES[rule], float(maxw), t, wt


#: body and tail samples (in standard deviations) of the growth check, and its limit
_ZBODY = np.linspace(-8.5, 8.5, 341)
_ZTAIL = np.linspace(8.5, 40.0, 631)[1:]
TAIL_TOL = 1e-9


def _check_growth(act: Activation, derivs: tuple, qs: list[np.ndarray]) -> None:
    """Raise ``ValueError`` if a user activation grows too fast for E[phi^(d)(x)^2] at some q.

    The rule truncates at 8.5 standard deviations, which is right when the integrand
    phi(sqrt(q) z)^2 e^{-z^2/2} decays there.  For phi ~ e^{a x^2} it does not decay when
    a >= 1/(4q) (the integral diverges: ``exp(x^2/4)`` at q >= 1), and for phi ~ e^{b|x|}
    its mass moves out of the window as q grows.  The check compares a Riemann sum of
    the integrand over |z| in [8.5, 40] with the one over |z| < 8.5, in logarithms (no
    overflow), for each requested derivative d at up to 9 values of q (the extremes
    included), and raises when the tail exceeds ``TAIL_TOL`` of the body.  Built-in
    activations are bounded by |x| + 1 and skip it.  By Cauchy-Schwarz, finite
    E[phi^(a)^2] and E[phi^(b)^2] bound every E[phi^(a)(u1) phi^(b)(u2)].
    """
    if act.builtin:
        return
    ds = sorted({d for d in derivs if d is not None})
    if not ds:
        return
    qv = np.unique(np.concatenate([np.asarray(q, dtype=float).ravel() for q in qs]))
    qv = qv[qv > 0.0]
    if qv.size > 9:
        qv = qv[np.unique(np.linspace(0, qv.size - 1, 9).round().astype(int))]
    for qq in qv:
        s = math.sqrt(qq)
        for d in ds:
            with np.errstate(all="ignore"):
                lb = 2.0 * np.log(np.abs(act(s * _ZBODY, d))) - 0.5 * _ZBODY**2
                lt = np.logaddexp(
                    2.0 * np.log(np.abs(act(s * _ZTAIL, d))),
                    2.0 * np.log(np.abs(act(-s * _ZTAIL, d))),
                ) - 0.5 * _ZTAIL**2
                body, tail = _logsumexp(lb), _logsumexp(lt)
                if np.isnan(body) or np.isnan(tail) or np.inf in (body, tail):
                    ratio = math.inf
                elif tail == -np.inf:
                    ratio = 0.0
                else:
                    ratio = math.exp(min(tail - body, 700.0))
            if ratio > TAIL_TOL:
                deriv = ("phi", "phi'", "phi''")[d]
                if ratio >= 1.0:
                    what = (
                        f"diverges or lies mostly beyond 8.5 standard deviations: activation "
                        f"{act.name!r} grows like exp(x^2/(4q)) or faster at this q (the "
                        f"integrand {deriv}(sqrt(q) z)^2 e^(-z^2/2) does not decay within the "
                        "rule's window)"
                    )
                else:
                    what = (
                        f"is not resolved: the Gaussian tail beyond 8.5 standard deviations "
                        f"carries {ratio:.1e} of it (limit {TAIL_TOL:g}); activation "
                        f"{act.name!r} grows too fast for the quadrature at this q"
                    )
                raise ValueError(f"E[{deriv}(x)^2], x ~ N(0, q = {qq:.6g}), {what}")


def _logsumexp(v: np.ndarray) -> float:
    m = float(np.max(v))
    if not np.isfinite(m):
        return m
    return m + math.log(float(np.sum(np.exp(v - m))))


def _finish(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
    if np.isnan(out).any():
        raise ValueError(
            "quadrature gave a non-finite value: either the activation is not finite on the "
            "real line, or the rule exceeded its node buffer (q too large for this order and "
            "activation; lower order or use rule='hermite')"
        )
    res = out.reshape(shape)
    return res if res.ndim else float(res)


def _launch(act: Activation, target: str, name: str, args: tuple, n: int,
            ns_per_item: float | None = None) -> None:
    if target == "cuda":
        from numba import cuda

        fam = act.family("cuda")
        k = getattr(fam, name.replace("_grid", "_cuda"))
        # the simulator runs the threads of a block as contending Python threads (three
        # threads took 60x as long as one) and blocks one after another: one thread a block
        tpb = 1 if cuda_simulator() else 64
        # inputs are copied in only: some are read-only (the cached rules), out is last
        ins = [cuda.In(a) if isinstance(a, np.ndarray) else a for a in args[:-1]]
        k[(n + tpb - 1) // tpb, tpb](*ins, args[-1])
        cuda.synchronize()
    else:
        fam = act.family("cpu")
        serial = getattr(fam, name.replace("_grid", "_serial"))
        parallel = getattr(fam, name)
        if target == "parallel":
            parallel(*args)
        else:
            per = _NS_PER_ITEM[name] if ns_per_item is None else ns_per_item
            pick(serial, parallel, n * per)(*args)


#: rough serial cost of one grid point (ns) per kernel, for the serial/parallel choice
#: (1-D: ~200 nodes; pair: ~200 x 200 nodes; Hermite: ~600 ns per coefficient)
_NS_PER_ITEM = {"moments1_grid": 8e3, "pair_grid": 1.5e6}


def expect(
    activation: str | Activation,
    q: Any,
    derivs: tuple[int | None, int | None] = (0, 0),
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> np.ndarray | float:
    """E[phi^(a)(sqrt(q) z) phi^(b)(sqrt(q) z)], z ~ N(0, 1), for (a, b) = ``derivs``.

    Parameters
    ----------
    activation : name or :class:`Activation`.
    q : variance(s) of the Gaussian, >= 0 (array-like, broadcast).
    derivs : derivative orders (0, 1, 2, or None for the constant 1).
    rule, order, target : see the module docstring.
    """
    act = get_activation(activation)
    derivs = _pair(derivs)
    a = _deriv_code(act, derivs[0], f"E[phi^({derivs[0]}) ...]")
    b = _deriv_code(act, derivs[1], f"E[... phi^({derivs[1]})]")
    qa = _as_float("q", q, lo=0.0)
    r, maxw, t, wt = _setup(act, rule, order, target)
    _check_growth(act, (a if a >= 0 else None, b if b >= 0 else None), [qa])
    flat = np.ascontiguousarray(qa, dtype=float).ravel()
    out = np.empty((flat.size, 1))
    pab = (np.array([a], dtype=np.int64), np.array([b], dtype=np.int64))
    args = (act.code, *pab, flat, r, maxw, t, wt, gauss.GEDGES, act.edges, act.kinks, out)
    _launch(act, target, "moments1_grid", args, flat.size)
    return _finish(out[:, 0], qa.shape)


def gaussian_rule(
    activation: str | Activation,
    q: float,
    *,
    rule: str = "panel",
    order: int | None = None,
    max_panel: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_k and weights w_k with sum_k w_k f(x_k) ~= E[f(x)], x ~ N(0, q).

    The same rule that :func:`expect` uses for ``activation`` at variance ``q`` (panel
    edges at the Gaussian's scale, the activation's scale and its kinks; or
    Gauss-Hermite), returned as arrays so that other expectations (powers of phi',
    laws of phi'(x)^2, ...) use one quadrature path.  ``max_panel`` (in x) caps the
    panel width below the activation's own cap, for integrands that vary faster than
    phi does.  The weights include the Gaussian density and sum to 1 up to the tail
    mass beyond 8.5 standard deviations (2e-17).
    """
    act = get_activation(activation)
    qf = float(_as_float("q", q, lo=0.0))
    if not np.isfinite(qf):
        raise ValueError(f"q must be finite, got {q!r}")
    r, maxw, t, wt = _setup(act, rule, order, "cpu")
    if max_panel is not None:
        mp = float(_as_float("max_panel", max_panel))
        if not mp > 0.0:
            raise ValueError(f"max_panel must be > 0, got {max_panel!r}")
        maxw = min(maxw, mp)
    xs = np.empty(gauss.MAXN)
    ws = np.empty(gauss.MAXN)
    eb = np.empty(gauss.MAXE)
    n = gauss.build_rule(
        0.0, math.sqrt(qf), r, maxw, t, wt, gauss.GEDGES, act.edges, act.kinks, 0.0, 0.0,
        eb, xs, ws,
    )
    if n < 0:
        raise ValueError(
            f"the rule needs more than {gauss.MAXN} nodes (q = {qf}, order {len(t)}, "
            f"max_panel {maxw}): lower the order or raise max_panel"
        )
    return xs[:n].copy(), ws[:n].copy()


def _pair_call(act, q11, q22, c, a, b, mode, a2, b2, rule, order, target):
    """Validate, broadcast and run the pair kernel; returns (out (n, 2), shape)."""
    q11a = _as_float("q11", q11, lo=0.0)
    q22a = _as_float("q22", q22, lo=0.0)
    ca = _as_float("c", c, lo=-1.0, hi=1.0)
    q11a, q22a, ca = _broadcast_kw(q11=q11a, q22=q22a, c=ca)
    r, maxw, t, wt = _setup(act, rule, order, target)
    _check_growth(act, tuple(d for d in {a, b, a2, b2} if d >= 0), [q11a, q22a])
    f = [np.ascontiguousarray(v, dtype=float).ravel() for v in (q11a, q22a, ca)]
    out = np.empty((f[0].size, 2))
    args = (act.code, a, b, mode, a2, b2, *f, r, maxw, t, wt, gauss.GEDGES, act.edges,
            act.kinks, out)
    _launch(act, target, "pair_grid", args, f[0].size)
    if np.isnan(out).any():
        _finish(out, out.shape)
    return out, q11a.shape


def _expect2(activation, q11, q22, c, a, b, mode, rule, order, target):
    act = get_activation(activation)
    a = _deriv_code(act, a, f"E[phi^({a})(u1) ...]")
    b = _deriv_code(act, b, f"E[... phi^({b})(u2)]")
    out, shape = _pair_call(act, q11, q22, c, a, b, mode, -2, -2, rule, order, target)
    return _finish(out[:, 0], shape)


def expect2(
    activation: str | Activation,
    q11: Any,
    q22: Any,
    c: Any,
    derivs: tuple[int | None, int | None] = (0, 0),
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> np.ndarray | float:
    """E[phi^(a)(u1) phi^(b)(u2)] for the correlated pair with variances q11, q22, correlation c.

    u1 = sqrt(q11) z1, u2 = sqrt(q22) (c z1 + sqrt(1 - c^2) z2), z1, z2 iid N(0, 1);
    ``c`` must lie in [-1, 1].  Computed as an outer integral over u1 and an inner
    one over u2 | u1 (both with the rule of :func:`expect`).
    """
    derivs = _pair(derivs)
    return _expect2(activation, q11, q22, c, derivs[0], derivs[1], 0, rule, order, target)


def expect2_sqdiff(
    activation: str | Activation,
    q11: Any,
    q22: Any,
    c: Any,
    deriv: int = 0,
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> np.ndarray | float:
    """E[(phi^(d)(u1) - phi^(d)(u2))^2] for the correlated pair, without cancellation.

    With q11 = q22 = q this equals 2 (E[phi^2] - E[phi(u1) phi(u2)]), so
    1 - C(c) follows to full relative accuracy as c -> 1 (the correlation map of Poole et al.,
    "Exponential expressivity in deep neural networks through transient chaos", NeurIPS 2016).
    """
    return _expect2(activation, q11, q22, c, deriv, deriv, 2, rule, order, target)


def expect_moments(
    activation: str | Activation,
    q: Any,
    pairs: Any,
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> np.ndarray:
    """Several E[phi^(a)(x) phi^(b)(x)], x ~ N(0, q), in one pass over shared nodes.

    ``pairs`` is a sequence of (a, b) as in :func:`expect`.  Returns an array of shape
    ``np.shape(q) + (len(pairs),)`` whose entry j equals ``expect(activation, q, pairs[j])``
    (same rule, same nodes; each derivative order is evaluated once per node).
    """
    act = get_activation(activation)
    pl = [_pair(p) for p in pairs]
    if not pl:
        raise ValueError("pairs must hold at least one (a, b)")
    codes = np.array([[_deriv_code(act, d, f"E[phi^({d}) ...]") for d in p] for p in pl],
                     dtype=np.int64)
    qa = _as_float("q", q, lo=0.0)
    r, maxw, t, wt = _setup(act, rule, order, target)
    _check_growth(act, tuple(int(d) for d in np.unique(codes) if d >= 0), [qa])
    flat = np.ascontiguousarray(qa, dtype=float).ravel()
    out = np.empty((flat.size, len(pl)))
    pa, pb = np.ascontiguousarray(codes[:, 0]), np.ascontiguousarray(codes[:, 1])
    args = (act.code, pa, pb, flat, r, maxw, t, wt, gauss.GEDGES, act.edges, act.kinks, out)
    _launch(act, target, "moments1_grid", args, flat.size)
    if np.isnan(out).any():
        _finish(out, out.shape)
    return out.reshape(qa.shape + (len(pl),))


def expect2_pair(
    activation: str | Activation,
    q11: Any,
    q22: Any,
    c: Any,
    deriv: int = 0,
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """``expect2_sqdiff(.., deriv)`` and ``expect2(.., (deriv + 1, deriv + 1))`` in one pass.

    Returns (E[(phi^(d)(u1) - phi^(d)(u2))^2], E[phi^(d+1)(u1) phi^(d+1)(u2)]) for the
    correlated pair of :func:`expect2`, from the same nodes (one rule per outer node, both
    integrands evaluated there): what one Newton step on a correlation map needs.
    """
    act = get_activation(activation)
    d = _deriv_code(act, deriv, f"E[(phi^({deriv})(u1) - phi^({deriv})(u2))^2]")
    act.require(d + 1, f"E[phi^({d + 1})(u1) phi^({d + 1})(u2)]")
    out, shape = _pair_call(act, q11, q22, c, d, d, 2, d + 1, d + 1, rule, order, target)
    return out[:, 0].reshape(shape), out[:, 1].reshape(shape)


def expect2_joint(
    activation: str | Activation,
    q11: Any,
    q22: Any,
    c: Any,
    derivs: tuple[int | None, int | None] = (0, 0),
    derivs2: tuple[int | None, int | None] = (1, 1),
    *,
    rule: str = "panel",
    order: int | None = None,
    target: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Two expectations of the correlated pair of :func:`expect2` in one pass over its nodes.

    Returns (E[phi^(a)(u1) phi^(b)(u2)], E[phi^(a2)(u1) phi^(b2)(u2)]) for
    (a, b) = ``derivs`` and (a2, b2) = ``derivs2``: e.g. the kernel and its derivative
    kernel E[phi'(u1) phi'(u2)] (the two maps of one layer of a neural tangent kernel).
    Each equals the corresponding :func:`expect2` call (same rule, same nodes).
    """
    act = get_activation(activation)
    a, b = (_deriv_code(act, d, "E[phi^(a)(u1) phi^(b)(u2)]") for d in _pair(derivs))
    a2, b2 = (_deriv_code(act, d, "E[phi^(a)(u1) phi^(b)(u2)]") for d in _pair(derivs2))
    out, shape = _pair_call(act, q11, q22, c, a, b, 0, a2, b2, rule, order, target)
    return _finish(out[:, 0], shape), _finish(out[:, 1], shape)


#: Hermite coefficients: panel width in z is HERMITE_SPAN / sqrt(kmax) (at most 1), which
#: with 8 (6) Gauss-Legendre nodes per panel resolves He_k up to k = kmax to ~1e-13 (1e-10)
#: (measured for tanh, silu, hard_tanh at q = 0.5-10 against panels 10x narrower, order 12)
HERMITE_SPAN = 8.0
#: most coefficients one call may ask for (the rule needs ~ 17 sqrt(kmax) / 8 panels)
HERMITE_KMAX = 2048


def hermite_coefficients(
    activation: str | Activation,
    q: Any,
    kmax: int,
    *,
    deriv: int = 0,
    tail_rtol: float = 0.0,
    order: int | None = None,
    target: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised Hermite coefficients a_k of f(z) = phi^(d)(sqrt(q) z), z ~ N(0, 1).

        a_k = E[f(z) He_k(z)] / sqrt(k!),  k = 0 .. kmax,   sum_k a_k^2 = E[f(z)^2],

    with He_k the probabilists' Hermite polynomials.  By Mehler's formula (Mehler 1866;
    the "dual activation" of Daniely, Frostig & Singer 2016, "Toward deeper understanding
    of neural networks", Lemma 11) the correlated pair of :func:`expect2` with
    q11 = q22 = q has

        E[f(u1) f(u2)] = sum_k a_k^2 c^k,

    a power series in c with non-negative coefficients.  Returns ``(a, second)``: ``a`` of
    shape ``np.shape(q) + (kmax + 1,)`` and ``second`` = E[f^2] from the same nodes (so
    the tail E[f^2] - sum_{j<=k} a_j^2 is known).  With ``tail_rtol > 0`` a point stops at
    the first k whose tail is at most ``tail_rtol`` E[f^2]; later entries are 0.

    The rule is the panel rule of :func:`expect` (``order`` nodes per panel, at least 6),
    truncated at 13 instead of 8.5 standard deviations (He_k(z) e^{-z^2/2} / sqrt(k!)
    decays only like e^{-z^2/4} inside its turning points), with panels at most
    ``HERMITE_SPAN / sqrt(kmax)`` wide in z (He_k oscillates on the scale 1 / sqrt(k));
    ``kmax`` is at most ``HERMITE_KMAX`` = 2048.  Measured against
    panels ten times narrower at order 12 (tanh, silu, hard_tanh, q = 0.5-10, k <= 512), the
    tails E[f^2] - sum_{j<=k} a_j^2 agree to 1e-13 at order 8 and 1e-10 at order 6.
    """
    act = get_activation(activation)
    d = _deriv_code(act, deriv, f"the Hermite coefficients of phi^({deriv})")
    kmax = as_int("kmax", kmax, lo=0, hi=HERMITE_KMAX)
    tail_rtol = float(_as_float("tail_rtol", tail_rtol, lo=0.0))
    qa = _as_float("q", q, lo=0.0)
    if not np.all(np.isfinite(qa)):
        raise ValueError("q must be finite")
    r, maxw, t, wt = _setup(act, "panel", max(order or DEFAULT_ORDER["panel"], 6), target)
    _check_growth(act, (d,), [qa])
    hz = min(1.0, HERMITE_SPAN / math.sqrt(max(kmax, 1)))
    flat = np.ascontiguousarray(qa, dtype=float).ravel()
    out = np.empty((flat.size, kmax + 2))
    args = (act.code, d, flat, kmax, tail_rtol, hz, r, maxw, t, wt, gauss.HEDGES, act.edges,
            act.kinks, out)
    _launch(act, target, "hermite_grid", args, flat.size, ns_per_item=600.0 * (kmax + 1))
    if np.isnan(out).any():
        raise ValueError(
            f"hermite_coefficients: the rule needs more than the node buffer ({gauss.MAXN}) "
            f"at some q (largest {flat.max():.4g}); lower kmax")
    return out[:, :-1].reshape(qa.shape + (kmax + 1,)), out[:, -1].reshape(qa.shape)


#: panel order for a requested relative accuracy: the largest error measured over the
#: phase-diagram quantities (q*, chi_1, chi_c relative; c* absolute) of tanh, silu, gelu,
#: sigmoid, softplus, elu and hard_tanh on a 24 x 24 grid, sigma_w^2 in [0.05, 3.9],
#: sigma_b^2 in [0, 2], against order 16, was 5e-5 (order 4), 3e-6 (5), 4e-8 (6),
#: 2e-10 (7), 2e-11 (8), 1e-12 (9); from there the conditioning of c* next to the
#: critical line, not the rule, sets the error
_ORDER_TABLE = ((1e-4, 4), (1e-5, 5), (1e-7, 6), (1e-9, 7), (1e-10, 8), (1e-11, 9))


def order_for_rtol(rtol: float) -> int:
    """Order of the panel rule of :func:`expect` whose measured relative error is below ``rtol``.

    ``rtol`` >= 1e-4: 4, >= 1e-5: 5, >= 1e-7: 6, >= 1e-9: 7, >= 1e-10: 8, >= 1e-11: 9,
    else the default 12 (the measurements are in the comment above ``_ORDER_TABLE``).
    """
    rtol = float(rtol)
    if not rtol > 0.0:
        raise ValueError(f"rtol must be > 0, got {rtol!r}")
    for tol, order in _ORDER_TABLE:
        if rtol >= tol:
            return order
    return DEFAULT_ORDER["panel"]


assert MAXN_CUDA <= gauss.MAXN
